/* convert parity with PyTorch: tests/fixtures/convert/ (tools/fixtures/gen_convert.py, torch
 * 1.13, qnnpack engine) records, for every seed model and every qconfig dict the seed quantizes
 * it with, PyTorch's final converted forward graph and its outputs on the recorded inputs.
 * quantgraph quantizes the same bundle the same way (prepare, calibrate on the same batches,
 * convert; quantized kernels with qnnpack semantics, HistogramObserver as in 1.13) and must
 * produce the same sequence of quantization ops (aten::quantize_per_*, quantized::*,
 * aten::dequantize) and outputs within one quantization step of PyTorch's (the smallest gap
 * between distinct values of PyTorch's dequantized output; float outputs of dynamic ops within
 * 1e-3 of their range). */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/convert.h"
#include "ir/text.h"
#include "ops/cpu/quant_engine.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/quanttest.h"
#include "util/testutil.h"


/* The quantization ops of a printed graph, in order, joined by spaces. */
static void quant_ops(const char *text, char *out, size_t size) {
  size_t o = 0;
  out[0] = 0;
  for (const char *p = text; (p = strstr(p, " = ")) != NULL; p += 3) {
    const char *k = p + 3;
    size_t n = strcspn(k, "(\n ");
    int q = (n > 11 && !strncmp(k, "quantized::", 11)) || (n > 19 && !strncmp(k, "aten::quantize_per_", 19)) ||
            (n == 16 && !strncmp(k, "aten::dequantize", 16));
    if (!q || o + n + 2 >= size) continue;
    if (o) out[o++] = ' ';
    memcpy(out + o, k, n);
    o += n;
    out[o] = 0;
  }
}


/* The smallest gap between distinct values of t (a dequantized tensor: its scale). */
static double grid_step(const qg_tensor *t) {
  int64_t n = qg_tensor_numel(t);
  double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
  for (int64_t k = 0; k < n; k++) v[k] = qg_tensor_get_flat(t, k);
  double step = INFINITY;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = i + 1; j < n && j < i + 4096; j++) {
      double d = fabs(v[i] - v[j]);
      if (d > 0 && d < step) step = d;
    }
  free(v);
  return step;
}

/* forward on copies of the named tensors (models with in-place ops write to their inputs). */
static qg_status run(qg_module *m, const char *fixture, const qg_named_tensors *io, const qg_named_tensors *ref,
                     const char *const *names, size_t n, qg_ival *res) {
  qg_ival args[16] = {{0}};
  for (size_t i = 0; i < n; i++) {
    qg_tensor *x = qg_named_tensors_get(io, names[i]);
    if (!x) x = qg_named_tensors_get(ref, names[i]);
    cr_assert(x, "%s: tensor %s not found", fixture, names[i]);
    qg_tensor *c = NULL;
    QG_ASSERT_OK(qg_tensor_to_dtype(x, x->dtype, &c));
    args[i] = qg_ival_tensor(c);
  }
  qg_status st = qg_run_method(m, NULL, "forward", args, n, NULL, res);
  for (size_t i = 0; i < n; i++) qg_ival_release(&args[i]);
  return st;
}

typedef struct tally {
  size_t compared, graph_mismatch, output_mismatch, skipped, known;
} tally;

/* Fixtures whose outputs differ for a reason not resolved yet. Each must still differ (the test
 * fails when one starts to match, so the list cannot go stale). */
static const struct {
  const char *fixture, *reason;
} k_known[] = {
    /* F.hardswish(input, inplace=True) rewrites the model input. The recorded debug output
     * agrees with ours within one step and the prepare fixture's qparams are bit-identical, but
     * the final flow's input scale (0.0032 vs 0.0079) says PyTorch calibrated it on inputs the
     * in-place op had already rewritten: likely an artifact of the fixture generator reusing
     * its calibration tensors; not confirmed yet. */
    {"hardswish__functional_inplace_trace__fbgemm", "in-place op on the model input (see above)"},
    {"hardswish__functional_inplace_script__fbgemm", "in-place op on the model input (see above)"},
    /* The recorded final output is stored in NHWC memory order under an NCHW shape (PyTorch's
     * quantized conv output is channels-last): read as NHWC it equals PyTorch's debug output
     * exactly, which ours matches to 1.5e-8. A fixture-writer issue, to fix in gen_convert.py. */
    {"clamp__trace__fbgemm", "reference stored in NHWC order (see above)"},
    {"clamp__script__fbgemm", "reference stored in NHWC order (see above)"},
};

static const char *known_reason(const char *fixture) {
  for (size_t i = 0; i < sizeof k_known / sizeof k_known[0]; i++)
    if (!strcmp(k_known[i].fixture, fixture)) return k_known[i].reason;
  return NULL;
}

static void check_fixture(const char *name, tally *t) {
  char rel[512];
  snprintf(rel, sizeof rel, "convert/%s.json", name);
  cJSON *j = qg_test_load_json(rel);
  if (getenv("QG_PARITY_VERBOSE")) fprintf(stderr, "fixture %s\n", name);
  const char *flow = cJSON_GetObjectItem(j, "flow")->valuestring;
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  const cJSON *final = cJSON_GetObjectItem(j, "final");
  if (!strcmp(flow, "standalone") || !final || !cJSON_GetObjectItem(final, "forward") ||
      !qg_test_qconfig_dict(cJSON_GetObjectItem(j, "qconfig_dict"), QG_HISTOGRAM_LEGACY_113, &d)) {
    t->skipped++;
    qg_qconfig_dict_free(&d);
    cJSON_Delete(j);
    return;
  }
  int dynamic = cJSON_IsTrue(cJSON_GetObjectItem(j, "dynamic"));
  snprintf(rel, sizeof rel, "seed/%s", cJSON_GetObjectItem(j, "bundle")->valuestring);
  qg_module *m = NULL, *out = NULL;
  QG_ASSERT_OK(qg_module_load(qg_test_fixture(rel), &m));
  /* Inputs and calibration batches name tensors of the seed io file or of the fixture's own
   * file (where gen_convert.py made its own inputs, `source` describes them instead). */
  snprintf(rel, sizeof rel, "convert/%s.safetensors", name);
  qg_named_tensors ref = {0}, io = {0};
  QG_ASSERT_OK(qg_named_tensors_load(qg_test_fixture(rel), &ref));
  const cJSON *inputs = cJSON_GetObjectItem(j, "inputs");
  const cJSON *src = cJSON_GetObjectItem(inputs, "source"), *file = cJSON_GetObjectItem(inputs, "file");
  if (file && cJSON_IsString(file)) snprintf(rel, sizeof rel, "%s", file->valuestring);
  else snprintf(rel, sizeof rel, "seed/%s", src && cJSON_IsString(src) ? src->valuestring : "");
  if (qg_named_tensors_load(qg_test_fixture(rel), &io) != QG_OK) io = (qg_named_tensors){0};
  size_t nargs = 0;
  const char *arg_names[16];
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(inputs, "tensors")) {
    cr_assert(nargs < 16);
    arg_names[nargs++] = e->valuestring;
  }
  QG_ASSERT_OK(qg_prepare(m, &d, dynamic, 1, &out, NULL));
  const cJSON *cal = cJSON_GetObjectItem(j, "calibration");
  const cJSON *batches = cal ? cJSON_GetObjectItem(cal, "tensors") : NULL, *batch;
  cJSON_ArrayForEach(batch, batches) {
    const char *bn[16];
    size_t nb = 0;
    cJSON_ArrayForEach(e, batch) {
      cr_assert(nb < 16);
      bn[nb++] = e->valuestring;
    }
    qg_ival r = qg_ival_none();
    run(m, name, &io, &ref, bn, nb, &r);
    qg_ival_release(&r);
  }
  qg_status st = qg_convert(m, dynamic, 0, 1, &out, NULL);
  if (st != QG_OK) {
    cr_log_error("%s: convert failed: %s", name, qg_last_error());
    t->graph_mismatch++;
  } else {
    char ours[4096], theirs[4096];
    char *text = qg_graph_to_string(qg_class_find_method(m->root.u.obj->type, "forward")->graph, NULL);
    quant_ops(text, ours, sizeof ours);
    quant_ops(cJSON_GetObjectItem(final, "forward")->valuestring, theirs, sizeof theirs);
    if (strcmp(ours, theirs)) {
      cr_log_error("%s: quantized ops differ\n   ours:    %s\n   PyTorch: %s", name, ours, theirs);
      t->graph_mismatch++;
    }
    free(text);
    /* outputs */
    qg_ival res = qg_ival_none();
    st = run(m, name, &io, &ref, arg_names, nargs, &res);
    if (st != QG_OK) {
      cr_log_error("%s: running the converted model failed: %s", name, qg_last_error());
      t->output_mismatch++;
    } else {
      const cJSON *outs = cJSON_GetObjectItem(cJSON_GetObjectItem(final, "outputs"), "tensors");
      size_t k = 0;
      cJSON_ArrayForEach(e, outs) {
        const qg_tensor *want = qg_named_tensors_get(&ref, e->valuestring);
        const qg_ival *got = res.kind == QG_IVAL_TENSOR ? &res
                             : (res.kind == QG_IVAL_TUPLE || res.kind == QG_IVAL_LIST) && k < res.u.list->len
                                 ? &res.u.list->items[k]
                                 : NULL;
        k++;
        if (!want || !got || got->kind != QG_IVAL_TENSOR || qg_tensor_numel(got->u.tensor) != qg_tensor_numel(want)) {
          cr_log_error("%s: output %s missing or of another size", name, e->valuestring);
          t->output_mismatch++;
          continue;
        }
        const qg_tensor *g = got->u.tensor;
        double step = grid_step(want), maxd = 0, range = 0;
        for (int64_t i = 0; i < qg_tensor_numel(want); i++) {
          double a = qg_tensor_get_flat(want, i), b = qg_tensor_get_flat(g, i);
          if (fabs(a - b) > maxd) maxd = fabs(a - b);
          if (fabs(a) > range) range = fabs(a);
        }
        double tol = dynamic ? 1e-3 * fmax(range, 1e-6) : step * 1.001;
        if (dynamic && isfinite(step) && step * 1.001 > tol) tol = step * 1.001;
        const char *why = known_reason(name);
        if (!(maxd <= tol) && why) {
          fprintf(stderr, "known difference: %s: output %s differs by %.6g (%s)\n", name, e->valuestring, maxd, why);
          t->known++;
        } else if (!(maxd <= tol)) {
          cr_log_error("%s: output %s differs by %.6g (tolerance %.6g)", name, e->valuestring, maxd, tol);
          t->output_mismatch++;
        } else if (why) {
          cr_log_error("%s matches PyTorch now: remove it from k_known", name);
          t->output_mismatch++;
        }
      }
    }
    qg_ival_release(&res);
  }
  qg_named_tensors_free(&ref);
  t->compared++;
  qg_named_tensors_free(&io);
  qg_module_free(m);
  qg_qconfig_dict_free(&d);
  cJSON_Delete(j);
}

Test(convert_parity, every_recorded_quantization_matches_pytorch, .timeout = 900) {
  qg_quant_engine_set(QG_ENGINE_QNNPACK);
  cJSON *index = qg_test_load_json("convert/index.json");
  const cJSON *test;
  tally t = {0};
  cJSON_ArrayForEach(test, cJSON_GetObjectItem(index, "tests")) {
    const cJSON *fx;
    cJSON_ArrayForEach(fx, cJSON_GetObjectItem(test, "fixtures")) check_fixture(fx->valuestring, &t);
  }
  cr_log_info("convert parity: %zu compared (%zu skipped: standalone passes or custom QConfigs); %zu graph and %zu "
              "output mismatches; %zu known differences",
              t.compared, t.skipped, t.graph_mismatch, t.output_mismatch, t.known);
  cr_assert_eq(t.known, sizeof k_known / sizeof k_known[0], "every known difference is still seen");
  cr_assert_eq(t.graph_mismatch + t.output_mismatch, 0, "see the log");
  cJSON_Delete(index);
}
