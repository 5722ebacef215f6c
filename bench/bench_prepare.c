/* prepare / convert benchmark: time of prepare_jit in C (conv-bn folding + InsertObservers) on a
 * bundle, in place and with the copy PyTorch's default (inplace=False) makes, calibration of
 * batches, convert_jit of the calibrated model (in place and with a copy, in the same process
 * as PyTorch's benchmark converts: weights already in memory), and peak memory. Compare with
 * bench/bench_torch_prepare.py on the same machine.
 *
 *   bench_prepare BUNDLE [--qconfig NAME] [--dynamic] [--repeat N] [--batches B] [--shape 1,3,224,224]
 *                 [--json FILE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_util.h"
#include "api/convert.h"
#include "api/prepare.h"
#include "base/alloc.h"
#include "quant/observer.h"

static int count_observer(const char *path, const qg_ival *obj, int depth, void *ud) {
  (void)path;
  (void)depth;
  if (qg_observer_kind_of(obj->u.obj->type) >= 0) ++*(size_t *)ud;
  return 0;
}

static int fail(qg_status st) {
  fprintf(stderr, "bench_prepare: %s\n", qg_last_error());
  return st == QG_OK ? 0 : 1;
}

/* One timed prepare: in place on a fresh clone (clone time excluded) or with the copy. */
static qg_status once(const qg_module *src, const qg_qconfig_dict *d, int dynamic, int inplace, double *secs,
                      size_t *nobs) {
  qg_module *m = NULL, *out = NULL;
  QG_TRY(qg_module_clone(src, &m));
  double t0 = now_s();
  qg_status st = qg_prepare(m, d, dynamic, inplace, &out, NULL);
  *secs = now_s() - t0;
  *nobs = 0;
  if (st == QG_OK) st = qg_module_walk(out, count_observer, nobs);
  if (out != m) qg_module_free(out);
  qg_module_free(m);
  return st;
}

/* One timed convert of a fresh clone of the calibrated model (clone time excluded). */
static qg_status convert_once(const qg_module *calibrated, int dynamic, int inplace, double *secs) {
  qg_module *m = NULL, *out = NULL;
  QG_TRY(qg_module_clone(calibrated, &m));
  double t0 = now_s();
  qg_status st = qg_convert(m, dynamic, 0, inplace, &out, NULL);
  *secs = now_s() - t0;
  if (out != m) qg_module_free(out);
  qg_module_free(m);
  return st;
}

int main(int argc, char **argv) {
  const char *path = NULL, *qname = "fbgemm", *json = NULL, *shape_s = "1,3,224,224";
  int dynamic = 0, repeat = 10, batches = 2;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--qconfig") && i + 1 < argc) qname = argv[++i];
    else if (!strcmp(argv[i], "--dynamic")) dynamic = 1;
    else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--batches") && i + 1 < argc) batches = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--shape") && i + 1 < argc) shape_s = argv[++i];
    else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else if (!path && argv[i][0] != '-') path = argv[i];
    else {
      fprintf(stderr, "usage: bench_prepare BUNDLE [--qconfig NAME] [--dynamic] [--repeat N] [--batches B] "
                      "[--shape 1,3,224,224] [--json FILE]\n");
      return 2;
    }
  }
  if (!path || repeat < 1) return fail(qg_set_error(QG_STATUS_INVALID_ARGUMENT, "no bundle given"));
  qg_module *src = NULL;
  qg_status st = qg_module_load(path, &src);
  if (st != QG_OK) return fail(st);
  qg_qconfig qc;
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  st = qg_qconfig_named(qname, QG_HISTOGRAM_CURRENT, &qc);
  if (st == QG_OK) st = qg_qconfig_dict_set(&d, "", &qc);
  double *t_in = calloc((size_t)repeat, sizeof *t_in), *t_copy = calloc((size_t)repeat, sizeof *t_copy);
  size_t nobs = 0;
  for (int r = 0; st == QG_OK && r < repeat; r++) st = once(src, &d, dynamic, 1, &t_in[r], &nobs);
  for (int r = 0; st == QG_OK && r < repeat; r++) st = once(src, &d, dynamic, 0, &t_copy[r], &nobs);
  if (st != QG_OK) return fail(st);
  double med_in = median_of(t_in, repeat), med_copy = median_of(t_copy, repeat);

  /* Calibration: prepare once, run `batches` random inputs of the given shape. */
  int64_t shape[8];
  int nd = 0;
  for (const char *p = shape_s; *p && nd < 8; nd++) {
    shape[nd] = strtoll(p, (char **)&p, 10);
    if (*p == ',') p++;
  }
  qg_module *m = NULL, *prepared = NULL;
  st = qg_module_clone(src, &m);
  if (st == QG_OK) st = qg_prepare(m, &d, dynamic, 1, &prepared, NULL);
  qg_named_tensors data = {0};
  data.n = (size_t)batches;
  data.names = qg__calloc(data.n, sizeof *data.names);
  data.tensors = qg__calloc(data.n, sizeof *data.tensors);
  srand(0);
  for (size_t b = 0; st == QG_OK && b < data.n; b++) {
    data.names[b] = qg__malloc(32);
    snprintf(data.names[b], 32, "%zu.0", b);
    st = qg_tensor_create(QG_DTYPE_F32, nd, shape, &data.tensors[b]);
    if (st != QG_OK) break;
    float *x = qg_tensor_data(data.tensors[b]);
    for (int64_t k = 0; k < qg_tensor_numel(data.tensors[b]); k++) x[k] = (float)rand() / (float)RAND_MAX;
  }
  qg_calibration_stats cs = {0};
  if (st == QG_OK) st = qg_calibrate(prepared, &data, 1, NULL, NULL, &cs);
  double *c_in = calloc((size_t)repeat, sizeof *c_in), *c_copy = calloc((size_t)repeat, sizeof *c_copy);
  for (int r = 0; st == QG_OK && r < repeat; r++) st = convert_once(prepared, dynamic, 1, &c_in[r]);
  for (int r = 0; st == QG_OK && r < repeat; r++) st = convert_once(prepared, dynamic, 0, &c_copy[r]);
  if (st != QG_OK) return fail(st);
  double cmed_in = median_of(c_in, repeat), cmed_copy = median_of(c_copy, repeat);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("bundle %s, qconfig %s%s: %zu observers\n", path, qname, dynamic ? " (dynamic)" : "", nobs);
  printf("prepare in place   median %8.3f ms (min %.3f, %d runs)\n", med_in * 1e3, t_in[0] * 1e3, repeat);
  printf("prepare with copy  median %8.3f ms (min %.3f, %d runs)\n", med_copy * 1e3, t_copy[0] * 1e3, repeat);
  printf("calibration        %d batches %8.1f ms (%zu of %zu observers updated)\n", batches, cs.seconds * 1e3,
         cs.observers_updated, cs.observers);
  printf("convert in place   median %8.3f ms (min %.3f, %d runs)\n", cmed_in * 1e3, c_in[0] * 1e3, repeat);
  printf("convert with copy  median %8.3f ms (min %.3f, %d runs)\n", cmed_copy * 1e3, c_copy[0] * 1e3, repeat);
  printf("peak RSS           %ld MB\n", ru.ru_maxrss / 1024);
  if (json) {
    FILE *f = fopen(json, "w");
    if (f) {
      fprintf(f,
              "{\"bundle\": \"%s\", \"qconfig\": \"%s\", \"dynamic\": %d, \"observers\": %zu, "
              "\"prepare_inplace_ms\": %.4f, \"prepare_copy_ms\": %.4f, \"calibrate_ms\": %.3f, \"batches\": %d, "
              "\"convert_inplace_ms\": %.4f, \"convert_copy_ms\": %.4f, \"peak_rss_mb\": %ld}\n",
              path, qname, dynamic, nobs, med_in * 1e3, med_copy * 1e3, cs.seconds * 1e3, batches, cmed_in * 1e3,
              cmed_copy * 1e3, ru.ru_maxrss / 1024);
      fclose(f);
    }
  }
  qg_named_tensors_free(&data);
  qg_module_free(prepared == m ? m : prepared);
  if (prepared != m) qg_module_free(m);
  qg_module_free(src);
  qg_qconfig_dict_free(&d);
  free(t_in);
  free(t_copy);
  free(c_in);
  free(c_copy);
  return 0;
}
