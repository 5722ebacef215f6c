/* prepare parity with PyTorch: for every model of the seed file and every qconfig dict the seed
 * prepares it with, tests/fixtures/prepare/ (tools/fixtures/gen_prepare.py, torch 1.13) records
 * what PyTorch's prepare_jit produced: the number of observers in every module, and, after
 * running the recorded inputs, every observer's qparams. quantgraph must insert the same number
 * of observers in every module and, after the same calibration, produce the same multiset of
 * qparams per module (observer numbering is arbitrary in PyTorch, so observers are compared as a
 * multiset per module). Observers that see exactly PyTorch's data (graph inputs, weights) must
 * match bit for bit; observers of computed activations see our float kernels' outputs, which
 * differ from PyTorch's in the last bits (different summation order, docs/runtime.md), so their
 * scales may differ by 1e-5 relative (zero points by one step). Fixtures with the seed's own
 * custom QConfigs are built from their recorded descriptions (tests/util/quanttest.h). */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/prepare.h"
#include "quant/observer.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/quanttest.h"
#include "util/testutil.h"

#define MAX_QP 4096

typedef struct qp {
  int direct; /* PyTorch side: observes a graph input or an attribute (weight) */
  size_t n;
  double scale[64];
  int64_t zp[64];
} qp;

static int qp_cmp(const void *a, const void *b) {
  const qp *x = a, *y = b;
  if (x->n != y->n) return x->n < y->n ? -1 : 1;
  for (size_t i = 0; i < x->n; i++) {
    if (x->scale[i] != y->scale[i]) return x->scale[i] < y->scale[i] ? -1 : 1;
    if (x->zp[i] != y->zp[i]) return x->zp[i] < y->zp[i] ? -1 : 1;
  }
  return 0;
}


/* qconfig dict of the fixture in quantgraph names; 0 if it uses a custom QConfig. */

static size_t observer_count(const qg_ival *obj) {
  const qg_type_t *cls = obj->u.obj->type;
  size_t n = 0;
  for (size_t i = 0; i < cls->nslots && i < obj->u.obj->nslots; i++)
    if (!strncmp(cls->slots[i].name, "_observer_", 10) && obj->u.obj->slots[i].kind == QG_IVAL_OBJECT) n++;
  return n;
}

/* Our qparams of every non-placeholder observer of obj. */
static size_t our_qparams(const qg_ival *obj, qp *out, size_t max) {
  const qg_type_t *cls = obj->u.obj->type;
  size_t n = 0;
  for (size_t i = 0; i < cls->nslots && i < obj->u.obj->nslots; i++) {
    const qg_ival *o = &obj->u.obj->slots[i];
    if (strncmp(cls->slots[i].name, "_observer_", 10) || o->kind != QG_IVAL_OBJECT) continue;
    int kind = qg_observer_kind_of(o->u.obj->type);
    if (kind == QG_OBSERVER_PLACEHOLDER || kind == QG_OBSERVER_NOOP) continue;
    qg_tensor *s = NULL, *z = NULL;
    QG_ASSERT_OK(qg_observer_calculate_qparams(o, &s, &z));
    cr_assert(n < max && qg_tensor_numel(s) <= 64);
    out[n].n = (size_t)qg_tensor_numel(s);
    for (size_t k = 0; k < out[n].n; k++) {
      out[n].scale[k] = qg_tensor_get_flat(s, (int64_t)k);
      out[n].zp[k] = (int64_t)qg_tensor_get_flat(z, (int64_t)k);
    }
    n++;
    qg_tensor_release(s);
    qg_tensor_release(z);
  }
  return n;
}

static size_t torch_qparams(const cJSON *observers, qp *out, size_t max) {
  size_t n = 0;
  const cJSON *o;
  cJSON_ArrayForEach(o, observers) {
    const cJSON *q = cJSON_GetObjectItem(o, "qparams");
    const cJSON *sh = q ? cJSON_GetObjectItem(q, "scale_hex") : NULL, *zp = q ? cJSON_GetObjectItem(q, "zero_point") : NULL;
    if (!sh || !zp) continue;
    cr_assert(n < max && cJSON_GetArraySize(sh) <= 64);
    const cJSON *obs = cJSON_GetObjectItem(o, "observed");
    const cJSON *prod = obs ? cJSON_GetObjectItem(obs, "producer") : NULL;
    out[n].direct = obs && (cJSON_GetObjectItem(obs, "graph_input") ||
                            (prod && cJSON_IsString(prod) && !strcmp(prod->valuestring, "prim::GetAttr")));
    out[n].n = (size_t)cJSON_GetArraySize(sh);
    for (size_t k = 0; k < out[n].n; k++) {
      out[n].scale[k] = strtod(cJSON_GetArrayItem(sh, (int)k)->valuestring, NULL);
      out[n].zp[k] = (int64_t)cJSON_GetArrayItem(zp, (int)k)->valuedouble;
    }
    n++;
  }
  return n;
}

static int close_qp(const qp *x, const qp *y) {
  if (x->n != y->n) return 0;
  for (size_t i = 0; i < x->n; i++) {
    double rel = fabs(x->scale[i] - y->scale[i]) / fmax(fabs(y->scale[i]), 1e-30);
    if (rel > 1e-5 || llabs(x->zp[i] - y->zp[i]) > 1) return 0;
  }
  return 1;
}

/* Multiset comparison: exact pairs first (every direct PyTorch observer must find one), then
 * the rest pairwise within close_qp. */
static int same_qparams(qp *ours, size_t a, qp *theirs, size_t b) {
  if (a != b) return 0;
  int used_o[MAX_QP / 64] = {0}, used_t[MAX_QP / 64] = {0};
  for (size_t i = 0; i < b; i++)
    for (size_t k = 0; k < a && !used_t[i]; k++)
      if (!used_o[k] && qp_cmp(&ours[k], &theirs[i]) == 0) used_o[k] = used_t[i] = 1;
  for (size_t i = 0; i < b; i++)
    if (theirs[i].direct && !used_t[i]) return 0;
  for (size_t i = 0; i < b; i++)
    for (size_t k = 0; k < a && !used_t[i]; k++)
      if (!used_o[k] && close_qp(&ours[k], &theirs[i])) used_o[k] = used_t[i] = 1;
  for (size_t i = 0; i < b; i++)
    if (!used_t[i]) return 0;
  return 1;
}

/* Runs forward `runs` times on the recorded inputs "in.0", "in.1", ... */
static void calibrate(qg_module *m, const char *io, int runs) {
  char rel[512];
  snprintf(rel, sizeof rel, "seed/%s", io);
  qg_named_tensors nt = {0};
  QG_ASSERT_OK(qg_named_tensors_load(qg_test_fixture(rel), &nt));
  qg_ival args[16];
  size_t nargs = 0;
  for (; nargs < 16; nargs++) {
    char name[16];
    snprintf(name, sizeof name, "in.%zu", nargs);
    qg_tensor *t = qg_named_tensors_get(&nt, name);
    if (!t) break;
    args[nargs] = qg_ival_tensor(t);
  }
  for (int r = 0; r < runs; r++) {
    qg_ival res = qg_ival_none();
    QG_ASSERT_OK(qg_run_method(m, NULL, "forward", args, nargs, NULL, &res));
    qg_ival_release(&res);
  }
  qg_named_tensors_free(&nt);
}

typedef struct tally {
  size_t fixtures, compared_counts, compared_qparams, custom, failures;
} tally;

static void check_fixture(const char *name, const cJSON *qconfigs, tally *t) {
  char rel[512];
  snprintf(rel, sizeof rel, "prepare/%s.json", name);
  cJSON *j = qg_test_load_json(rel);
  t->fixtures++;
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  const char *why =
      qg_test_qconfig_dict_described(cJSON_GetObjectItem(j, "qconfig_dict"), qconfigs, QG_HISTOGRAM_LEGACY_113, &d);
  cr_assert(!why, "%s: the recorded qconfig dict cannot be expressed: %s", name, why);
  const cJSON *entry;
  cJSON_ArrayForEach(entry, cJSON_GetObjectItem(j, "qconfig_dict")) if (cJSON_GetObjectItem(entry, "custom")) {
    t->custom++;
    break;
  }
  snprintf(rel, sizeof rel, "seed/%s", cJSON_GetObjectItem(j, "bundle")->valuestring);
  qg_module *m = NULL, *out = NULL;
  QG_ASSERT_OK(qg_module_load(qg_test_fixture(rel), &m));
  int dynamic = cJSON_IsTrue(cJSON_GetObjectItem(j, "dynamic"));
  QG_ASSERT_OK(qg_prepare(m, &d, dynamic, 1, &out, NULL));
  const cJSON *modules = cJSON_GetObjectItem(j, "modules"), *mod;
  cJSON_ArrayForEach(mod, modules) {
    const char *path = cJSON_GetObjectItem(mod, "path")->valuestring;
    const qg_ival *obj = NULL;
    QG_ASSERT_OK(qg_module_find(m, path, &obj));
    size_t want = (size_t)cJSON_GetObjectItem(mod, "observer_count")->valuedouble, got = observer_count(obj);
    if (want != got) {
      cr_log_error("%s: module '%s': %zu observers, PyTorch has %zu", name, path, got, want);
      t->failures++;
    }
  }
  t->compared_counts++;
  const cJSON *cal = cJSON_GetObjectItem(j, "calibration");
  const cJSON *inputs = cal ? cJSON_GetObjectItem(cal, "inputs") : NULL;
  if (inputs && cJSON_IsString(inputs) && !cJSON_GetObjectItem(cal, "error")) {
    calibrate(m, inputs->valuestring, (int)cJSON_GetObjectItem(cal, "runs")->valuedouble);
    static qp ours[MAX_QP / 64], theirs[MAX_QP / 64];
    cJSON_ArrayForEach(mod, modules) {
      const char *path = cJSON_GetObjectItem(mod, "path")->valuestring;
      const qg_ival *obj = NULL;
      QG_ASSERT_OK(qg_module_find(m, path, &obj));
      size_t a = our_qparams(obj, ours, MAX_QP / 64);
      size_t b = torch_qparams(cJSON_GetObjectItem(mod, "observers"), theirs, MAX_QP / 64);
      if (!same_qparams(ours, a, theirs, b)) {
        cr_log_error("%s: module '%s': qparams differ (%zu observers with qparams here, %zu in PyTorch)", name,
                     path, a, b);
        qsort(ours, a, sizeof *ours, qp_cmp);
        qsort(theirs, b, sizeof *theirs, qp_cmp);
        for (size_t k = 0; k < a && k < b; k++)
          cr_log_error("   ours scale %a zp %lld / PyTorch scale %a zp %lld%s", ours[k].scale[0],
                       (long long)ours[k].zp[0], theirs[k].scale[0], (long long)theirs[k].zp[0],
                       theirs[k].direct ? " (direct)" : "");
        t->failures++;
      }
    }
    t->compared_qparams++;
  }
  qg_module_free(m);
  qg_qconfig_dict_free(&d);
  cJSON_Delete(j);
}

Test(prepare_parity, every_recorded_prepare_matches_pytorch, .timeout = 600) {
  cJSON *index = qg_test_load_json("prepare/index.json");
  const cJSON *tests = cJSON_GetObjectItem(index, "tests"), *test;
  tally t = {0};
  cJSON_ArrayForEach(test, tests) {
    const cJSON *fx;
    cJSON_ArrayForEach(fx, cJSON_GetObjectItem(test, "fixtures"))
      check_fixture(fx->valuestring, cJSON_GetObjectItem(index, "qconfigs"), &t);
  }
  cr_log_info("%zu fixtures (%zu with the seed's custom QConfigs): observer counts compared in %zu, qparams in %zu",
              t.fixtures, t.custom, t.compared_counts, t.compared_qparams);
  cr_assert_eq(t.compared_counts, t.fixtures, "observer counts compared in %zu of %zu fixtures", t.compared_counts,
               t.fixtures);
  cr_assert_eq(t.failures, 0, "%zu mismatches (see the log)", t.failures);
  cr_assert(t.compared_qparams > 100, "only %zu fixtures had qparams compared", t.compared_qparams);
  cJSON_Delete(index);
}
