/* prepare_jit, fuse_conv_bn_jit and calibration; see prepare.h. */
#include "api/prepare.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "passes/passes.h"
#include "quant/observer.h"
#include "runtime/runtime.h"

/* inplace: work on m; else on a deep copy that replaces nothing until the work succeeded. */
static qg_status target(qg_module *m, int inplace, qg_module **work) {
  if (inplace) {
    *work = m;
    return QG_OK;
  }
  return qg_module_clone(m, work);
}

static qg_status finish(qg_module *m, qg_module *work, qg_status st, qg_module **out) {
  if (st != QG_OK) {
    if (work != m) qg_module_free(work);
    *out = NULL;
    return st;
  }
  *out = work;
  return QG_OK;
}

qg_status qg_fuse_conv_bn(qg_module *m, int inplace, qg_module **out) {
  qg_module *work = NULL;
  QG_TRY(target(m, inplace, &work));
  return finish(m, work, qg_fold_conv_bn(work, NULL), out);
}

qg_status qg_prepare(qg_module *m, const qg_qconfig_dict *dict, int dynamic, int inplace, qg_module **out,
                     qg_pass_report *report) {
  const qg_type_t *cls = qg_object_class(&m->root);
  const qg_method *fwd = cls ? qg_class_find_method(cls, "forward") : NULL;
  if (!fwd || !fwd->graph)
    return qg_set_error(QG_STATUS_NOT_FOUND, "prepare: the root module (%s) has no forward method",
                        cls ? cls->qualname : "?");
  qg_module *work = NULL;
  QG_TRY(target(m, inplace, &work));
  qg_status st = qg_fold_conv_bn(work, NULL);
  if (st == QG_OK) st = qg_insert_observers(work, "forward", dict, dynamic, report);
  return finish(m, work, st, out);
}

/* ---- calibration ------------------------------------------------------------------------- */

typedef QG_VEC(qg_ival) ival_vec;

static int collect_observer(const char *path, const qg_ival *obj, int depth, void *ud) {
  ival_vec *v = ud;
  (void)path;
  (void)depth;
  if (qg_observer_kind_of(obj->u.obj->type) < 0) return 0;
  return QG_VEC_PUSH(v, *obj) ? 1 : 0; /* borrowed; a push failure stops the walk */
}

/* "<batch>.<arg>" -> numbers; 0 on success. */
static int parse_name(const char *name, long *batch, long *arg) {
  char *end = NULL;
  *batch = strtol(name, &end, 10);
  if (end == name || *end != '.' || *batch < 0) return -1;
  const char *a = end + 1;
  *arg = strtol(a, &end, 10);
  return end == a || *end || *arg < 0 ? -1 : 0;
}

static qg_status batch_args(const qg_named_tensors *data, long batch, qg_ival *args, size_t *nargs, size_t max) {
  *nargs = 0;
  for (size_t i = 0; i < data->n; i++) {
    long b, a;
    if (parse_name(data->names[i], &b, &a) != 0 || b != batch) continue;
    if ((size_t)a >= max)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "calibration data: tensor \"%s\": argument index too large",
                          data->names[i]);
    /* A copy: a model with in-place ops (F.hardswish(x, inplace=True)) would otherwise rewrite
     * the caller's data, and a second calibration on it would see other values. */
    qg_tensor *copy = NULL;
    QG_TRY(qg_tensor_to_dtype(data->tensors[i], data->tensors[i]->dtype, &copy));
    qg_ival_release(&args[a]);
    args[a] = qg_ival_tensor(copy);
    if ((size_t)a + 1 > *nargs) *nargs = (size_t)a + 1;
  }
  for (size_t a = 0; a < *nargs; a++)
    if (args[a].kind != QG_IVAL_TENSOR)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "calibration data: batch %ld has no tensor \"%ld.%zu\"", batch,
                          batch, a);
  return QG_OK;
}

static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The distinct batch numbers of data, sorted; every name must have the "<b>.<a>" form. */
static qg_status batch_numbers(const qg_named_tensors *data, long **out, size_t *n) {
  *n = 0;
  *out = qg__malloc((data->n ? data->n : 1) * sizeof **out);
  if (!*out) return qg_oom("calibration");
  for (size_t i = 0; i < data->n; i++) {
    long b, a;
    if (parse_name(data->names[i], &b, &a) != 0) {
      qg__free(*out);
      *out = NULL;
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "calibration data: tensor name \"%s\" is not \"<batch>.<argument>\" (e.g. \"0.0\")",
                          data->names[i]);
    }
    (*out)[(*n)++] = b;
  }
  qsort(*out, *n, sizeof **out, cmp_long);
  size_t k = 0;
  for (size_t i = 0; i < *n; i++)
    if (k == 0 || (*out)[k - 1] != (*out)[i]) (*out)[k++] = (*out)[i];
  *n = k;
  return QG_OK;
}

qg_status qg_calibrate(qg_module *m, const qg_named_tensors *data, int num_threads, qg_progress_fn progress,
                       void *progress_ud, qg_calibration_stats *stats) {
  qg_calibration_stats s = {0};
  long *batches = NULL;
  size_t nb = 0;
  QG_TRY(batch_numbers(data, &batches, &nb));
  if (nb == 0) {
    qg__free(batches);
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "calibration data holds no batches");
  }
  ival_vec observers = {0};
  ival_vec before = {0};
  qg_status st = qg_module_walk(m, collect_observer, &observers);
  for (size_t i = 0; st == QG_OK && i < observers.len; i++) {
    qg_ival c;
    st = qg_ival_deepcopy(&observers.data[i], &c);
    if (st == QG_OK && QG_VEC_PUSH(&before, c)) {
      qg_ival_release(&c);
      st = qg_oom("calibration");
    }
  }
  qg_run_opts opts = {num_threads};
  qg_runner *r = NULL;
  size_t max_args = data->n + 1;
  qg_ival *args = qg__calloc(max_args, sizeof *args);
  if (st == QG_OK && !args) st = qg_oom("calibration");
  if (st == QG_OK) st = qg_runner_create(m, &opts, &r);
  double t0 = now_seconds();
  for (size_t b = 0; st == QG_OK && b < nb; b++) {
    size_t nargs = 0;
    for (size_t a = 0; a < max_args; a++) args[a] = qg_ival_none();
    st = batch_args(data, batches[b], args, &nargs, max_args);
    qg_ival res = qg_ival_none();
    if (st == QG_OK) st = qg_runner_run(r, NULL, "forward", args, nargs, &res);
    if (st != QG_OK && st != QG_STATUS_OOM) st = qg_error_prefix(st, "calibration batch %ld", batches[b]);
    qg_ival_release(&res);
    for (size_t a = 0; a < max_args; a++) qg_ival_release(&args[a]);
    if (st == QG_OK) {
      s.batches++;
      if (progress) progress(b + 1, nb, progress_ud);
    }
  }
  s.seconds = now_seconds() - t0;
  s.observers = observers.len;
  for (size_t i = 0; st == QG_OK && i < observers.len; i++)
    if (!qg_ival_equal(&observers.data[i], &before.data[i])) s.observers_updated++;
  qg_runner_free(r);
  qg__free(args);
  for (size_t i = 0; i < before.len; i++) qg_ival_release(&before.data[i]);
  QG_VEC_FREE(&before);
  QG_VEC_FREE(&observers);
  qg__free(batches);
  if (st == QG_OK && stats) *stats = s;
  return st;
}
