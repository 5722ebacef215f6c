/* convert parity with PyTorch: tests/fixtures/convert/ (tools/fixtures/gen_convert.py) records,
 * for every seed model and every qconfig dict the seed quantizes it with, what PyTorch's
 * convert_jit / quantize_jit / quantize_dynamic_jit make of it (the debug=True and the final
 * module: forward graph and outputs on the recorded inputs), and what the standalone passes the
 * seed calls do. Two recordings: torch 1.13 with the qnnpack engine (convert/) and torch 2.15
 * with fbgemm (convert/torch215/, quantgraph's numerics target); each is replayed with the
 * engine and HistogramObserver variant it was recorded with.
 *
 * quantgraph quantizes the same bundle the same way (prepare with the recorded qconfig dict,
 * custom QConfigs built from their recorded description, calibrate on copies of the same
 * batches, convert with debug on and off) and must produce, for both modules, the same sequence
 * of quantization ops (aten::quantize_per_*, quantized::*, aten::dequantize) and outputs within
 * one quantization step of PyTorch's (the smallest gap between distinct values of PyTorch's
 * output; float outputs of dynamic ops within 1e-3 of their range); where PyTorch fails to
 * convert, with PyTorch's message. Standalone passes run the same pass on the same model: every
 * graph the pass may change must print as PyTorch's (up to the numbering of unnamed values) and
 * the outputs before and after must agree (within 1e-5 of their range).
 *
 * Where PyTorch converted but could not run the converted module (an engine limitation, e.g.
 * qnnpack has no fp16 linear), there are no outputs to compare: the test counts and prints
 * these; everything else recorded is compared. Differences of the library that are not fixed
 * yet are listed in k_known with their reason (counted, printed, and each must still occur). */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/convert.h"
#include "ir/text.h"
#include "ops/cpu/quant_engine.h"
#include "passes/passes.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/quanttest.h"
#include "util/testutil.h"
/* graph_compare.h brings its own static qg_test_load_json; quanttest.h's is the one used here. */
#define qg_test_load_json qg_test_load_json_graph_compare
#include "util/graph_compare.h"
#undef qg_test_load_json

/* One recording: its directory under tests/fixtures and how it was made. */
typedef struct fx_set {
  const char *dir, *label;
  qg_quant_engine engine;
  qg_histogram_variant variant;
} fx_set;

typedef struct tally {
  size_t fixtures, stages, outputs, graphs, errors_matched, pytorch_run_failed, not_expressible, mismatches, known;
} tally;

/* Differences of the library from PyTorch that this test found and that are not fixed yet
 * (src/ and passes/ belong to other work): each must still be seen (the test fails when one
 * goes away, so the list cannot go stale). {set dir, fixture, stage, check, why}. */
#define WHY_PREPACK                                                                                               \
  "quantized::conv2d_prepack rejects at convert time weights that PyTorch's prepack accepts (quint8 weights under " \
  "qnnpack; per-channel weights quantized along axis 1, which qnnpack takes and fbgemm takes when the channel "     \
  "counts coincide): fold_prepack leaves the prepack op in the final graph, and running it fails"
#define WHY_CLAMP_ORDER                                                                                           \
  "the debug module quantizes the clamp / hardtanh scalar bounds with PyTorch's ops in PyTorch's order, but for a " \
  "clamp whose input was quantized by the previous clamp's propagation, PyTorch places that input's dequantize "  \
  "after the bounds' quantize groups and ours before them; outputs agree"
#define WHY_FP16_FOLD                                                                                             \
  "the final graph keeps quantized::linear_prepack_fp16 of the frozen weight; torch 2.15's freezing folds it "   \
  "into a packed-params constant (torch 1.13 with qnnpack cannot prepack fp16 and keeps it, as ours)"
#define T113 "convert"
#define T215 "convert/torch215"
static const struct {
  const char *set, *fixture, *stage, *check, *reason;
} k_known[] = {
    {T113, "skip_dequant_constant_prop__minmax_pc1_weight", "final", "ops", WHY_PREPACK},
    {T113, "insert_quant_dequant__minmax_both", "final", "ops", WHY_PREPACK},
    {T113, "insert_quant_dequant__pc1_both", "final", "ops", WHY_PREPACK},
    {T113, "insert_quant_dequant__pc1_both", "final", "run", WHY_PREPACK},
    {T113, "insert_quant_dequant_shared_class_type__minmax_both", "final", "ops", WHY_PREPACK},
    {T113, "insert_quant_dequant_shared_class_type__pc1_both", "final", "ops", WHY_PREPACK},
    {T113, "insert_quant_dequant_shared_class_type__pc1_both", "final", "run", WHY_PREPACK},
    {T215, "insert_quant_dequant_shared_class_type__pc1_both", "final", "ops", WHY_PREPACK},
    {T215, "insert_quant_dequant_shared_class_type__pc1_both", "final", "run", WHY_PREPACK},
    {T113, "clamp__trace__fbgemm", "debug", "ops", WHY_CLAMP_ORDER},
    {T113, "clamp__script__fbgemm", "debug", "ops", WHY_CLAMP_ORDER},
    {T215, "clamp__trace__fbgemm", "debug", "ops", WHY_CLAMP_ORDER},
    {T215, "clamp__script__fbgemm", "debug", "ops", WHY_CLAMP_ORDER},
    {T215, "convert_dynamic_fp16__float16_dynamic", "final", "ops", WHY_FP16_FOLD},
    {T215, "quantize_dynamic_fp16__float16_dynamic", "final", "ops", WHY_FP16_FOLD},
    {T215, "linear_dynamic_fp16__float16_dynamic", "final", "ops", WHY_FP16_FOLD},
};
#define K_NKNOWN (sizeof k_known / sizeof k_known[0])
static size_t k_known_seen[K_NKNOWN];

/* The tensor files one group of fixtures reads (its own, the seed's recorded inputs, the torch
 * 1.13 group's), loaded once. */
typedef struct tfiles {
  char path[64][160];
  qg_named_tensors t[64];
  size_t n;
} tfiles;

static const qg_tensor *tensor_at(tfiles *c, const char *file, const char *key) {
  size_t i = 0;
  while (i < c->n && strcmp(c->path[i], file) != 0) i++;
  if (i == c->n) {
    cr_assert(c->n < 64 && strlen(file) < sizeof c->path[0], "too many tensor files (%s)", file);
    QG_ASSERT_OK(qg_named_tensors_load(qg_test_fixture(file), &c->t[i]));
    snprintf(c->path[i], sizeof c->path[i], "%s", file);
    c->n++;
  }
  const qg_tensor *t = qg_named_tensors_get(&c->t[i], key);
  cr_assert(t, "%s: no tensor %s", file, key);
  return t;
}

static void tfiles_free(tfiles *c) {
  for (size_t i = 0; i < c->n; i++) qg_named_tensors_free(&c->t[i]);
  c->n = 0;
}

/* What one fixture's checks need. */
typedef struct fx {
  const fx_set *set;
  const char *name, *own_file;
  const cJSON *doc, *ref; /* ref: the torch 1.13 fixture of the same name (torch215 set), or NULL */
  const cJSON *qconfigs;  /* the index's qconfig descriptions */
  tfiles *files;
  tally *t;
} fx;

static const char *jstr(const cJSON *o, const char *key) {
  const cJSON *e = cJSON_GetObjectItem(o, key);
  return cJSON_IsString(e) ? e->valuestring : NULL;
}

/* A difference from PyTorch: `check` ("ops", "outputs", "run", "error", "graph") failed at
 * `stage` ("debug", "final", "debug_frozen", "prepare", "calibration", "pass"). Known ones (the
 * library's, listed in k_known with the reason) are counted and printed; others fail the test. */
__attribute__((format(printf, 4, 5))) static void mismatch(fx *f, const char *stage, const char *check, const char *fmt,
                                                           ...) {
  char msg[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (size_t i = 0; i < K_NKNOWN; i++) {
    if (strcmp(k_known[i].set, f->set->dir) || strcmp(k_known[i].fixture, f->name) || strcmp(k_known[i].stage, stage) ||
        strcmp(k_known[i].check, check))
      continue;
    fprintf(stderr, "known difference: %s [%s]: %s: %.*s\n    (%s)\n", f->name, f->set->label, stage,
            (int)strcspn(msg, "\n"), msg, k_known[i].reason);
    k_known_seen[i]++;
    f->t->known++;
    return;
  }
  cr_log_error("%s [%s]: %s: %s", f->name, f->set->label, stage, msg);
  f->t->mismatches++;
}

/* The quantization ops of a printed graph, in order, joined by spaces. */
static void quant_ops(const char *text, char *out, size_t size) {
  size_t o = 0;
  out[0] = 0;
  for (const char *p = text; (p = strstr(p, " = ")) != NULL; p += 3) {
    const char *k = p + 3;
    size_t n = strcspn(k, "(\n ");
    int q = (n > 11 && !strncmp(k, "quantized::", 11)) || (n > 19 && !strncmp(k, "aten::quantize_per_", 19)) ||
            (n == 16 && !strncmp(k, "aten::dequantize", 16));
    if (!q) continue;
    cr_assert(o + n + 2 < size, "too many quantization ops for the buffer");
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
  cr_assert(v);
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

/* The tensors named by a JSON array of keys in `file`. */
static size_t tensor_list(fx *f, const cJSON *keys, const char *file, const qg_tensor **out, size_t cap) {
  size_t n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, keys) {
    cr_assert(n < cap && cJSON_IsString(e), "%s: bad tensor list", f->name);
    out[n++] = tensor_at(f->files, file, e->valuestring);
  }
  return n;
}

/* forward on copies of args (models with in-place ops write to their inputs). */
static qg_status run(qg_module *m, const qg_tensor *const *args, size_t n, qg_ival *res) {
  qg_ival a[16] = {{0}};
  cr_assert(n <= 16);
  for (size_t i = 0; i < n; i++) {
    qg_tensor *c = NULL;
    QG_ASSERT_OK(qg_tensor_to_dtype(args[i], args[i]->dtype, &c));
    a[i] = qg_ival_tensor(c);
  }
  qg_status st = qg_run_method(m, NULL, "forward", a, n, NULL, res);
  for (size_t i = 0; i < n; i++) qg_ival_release(&a[i]);
  return st;
}

static qg_status run_inputs(fx *f, qg_module *m, qg_ival *res) {
  const cJSON *inputs = cJSON_GetObjectItem(f->doc, "inputs");
  const qg_tensor *args[16];
  size_t n = tensor_list(f, cJSON_GetObjectItem(inputs, "tensors"), jstr(inputs, "file"), args, 16);
  return run(m, args, n, res);
}

/* The leaves of an output value (tensors and scalars), in order. */
static void leaves(const qg_ival *v, const qg_ival **out, size_t *n, size_t cap) {
  if (v->kind == QG_IVAL_TUPLE || v->kind == QG_IVAL_LIST) {
    for (size_t i = 0; i < v->u.list->len; i++) leaves(&v->u.list->items[i], out, n, cap);
  } else if (v->kind != QG_IVAL_NONE && *n < cap) {
    out[(*n)++] = v;
  }
}

static double leaf_value(const qg_ival *v, int64_t i) {
  switch (v->kind) {
  case QG_IVAL_TENSOR: return qg_tensor_get_flat(v->u.tensor, i);
  case QG_IVAL_INT: return (double)v->u.i;
  case QG_IVAL_DOUBLE: return v->u.d;
  case QG_IVAL_BOOL: return v->u.b;
  default: return NAN;
  }
}

static int64_t leaf_numel(const qg_ival *v) {
  if (v->kind == QG_IVAL_TENSOR) return qg_tensor_numel(v->u.tensor);
  return v->kind == QG_IVAL_INT || v->kind == QG_IVAL_DOUBLE || v->kind == QG_IVAL_BOOL ? 1 : -1;
}

typedef enum tol_kind { TOL_STEP, TOL_DYNAMIC, TOL_FLOAT } tol_kind;

/* Compares res with a recorded OUTPUTS record (tensors in the fixture's own file). */
static void compare_outputs(fx *f, const char *what, const cJSON *rec, const qg_ival *res, tol_kind kind) {
  const qg_ival *got[64];
  size_t ngot = 0, k = 0;
  leaves(res, got, &ngot, 64);
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(rec, "tensors")) {
    const qg_tensor *want = tensor_at(f->files, f->own_file, e->valuestring);
    const qg_ival *g = k < ngot ? got[k] : NULL;
    k++;
    if (!g || leaf_numel(g) != qg_tensor_numel(want)) {
      mismatch(f, what, "outputs", "output %s missing or of another size", e->valuestring);
      continue;
    }
    double step = grid_step(want), maxd = 0, range = 0;
    for (int64_t i = 0; i < qg_tensor_numel(want); i++) {
      double a = qg_tensor_get_flat(want, i), b = leaf_value(g, i);
      if (!(fabs(a - b) <= maxd)) maxd = fabs(a - b);
      if (fabs(a) > range) range = fabs(a);
    }
    /* a constant output shows no step: then it must be equal (up to float rounding) */
    double tol = kind == TOL_STEP && isfinite(step) ? step * 1.001
                                                    : (kind == TOL_DYNAMIC ? 1e-3 : 1e-5) * fmax(range, 1e-6);
    if (kind == TOL_DYNAMIC && isfinite(step) && step * 1.001 > tol) tol = step * 1.001;
    if (!(maxd <= tol)) {
      mismatch(f, what, "outputs", "output %s differs by %.6g (tolerance %.6g)", e->valuestring, maxd, tol);
      for (int64_t i = 0; getenv("QG_PARITY_VERBOSE") && i < qg_tensor_numel(want) && i < 8; i++)
        fprintf(stderr, "  [%lld] ours %.8g PyTorch %.8g\n", (long long)i, leaf_value(g, i), qg_tensor_get_flat(want, i));
    }
    f->t->outputs++;
  }
  if (k != ngot) mismatch(f, what, "outputs", "ours returns %zu outputs, PyTorch %zu", ngot, k);
}

/* A graph text of the fixture: doc[stage][key], or the torch 1.13 fixture's where the torch215
 * fixture says `<key>_same_as_torch113`. */
static const char *recorded_graph(fx *f, const char *stage, const char *key) {
  const cJSON *c = cJSON_GetObjectItem(f->doc, stage);
  const char *s = jstr(c, key);
  if (s || !f->ref) return s;
  return jstr(cJSON_GetObjectItem(f->ref, stage), key);
}

static void compare_quant_ops(fx *f, const char *what, const qg_module *m, const char *theirs_text) {
  char ours[4096], theirs[4096];
  const qg_method *fwd = qg_class_find_method(m->root.u.obj->type, "forward");
  char *text = fwd ? qg_graph_to_string(fwd->graph, NULL) : NULL;
  cr_assert(text && theirs_text, "%s: %s: no forward graph", f->name, what);
  quant_ops(text, ours, sizeof ours);
  quant_ops(theirs_text, theirs, sizeof theirs);
  if (strcmp(ours, theirs)) {
    mismatch(f, what, "ops", "quantization ops differ\n   ours:    %s\n   PyTorch: %s", ours, theirs);
    if (getenv("QG_PARITY_VERBOSE")) fprintf(stderr, "--- ours:\n%s\n--- PyTorch:\n%s\n", text, theirs_text);
  }
  f->t->graphs++;
  qg__free(text);
}

/* PyTorch's failure at `what` ({"type", "message", ...}) against ours (st). */
static void expect_error(fx *f, const char *what, const cJSON *err, qg_status st) {
  const char *msg = jstr(err, "message");
  if (st == QG_OK) mismatch(f, what, "error", "PyTorch fails (%s), ours succeeds", msg);
  else if (!msg || !strstr(qg_last_error(), msg)) mismatch(f, what, "error", "ours fails with another message: %s", qg_last_error());
  else f->t->errors_matched++;
}

/* The debug or final module (ours: m) against the stage record. */
static void check_module(fx *f, const char *stage, qg_module *m, tol_kind kind) {
  const cJSON *rec = cJSON_GetObjectItem(f->doc, stage);
  compare_quant_ops(f, stage, m, recorded_graph(f, stage, "forward"));
  const cJSON *outs = cJSON_GetObjectItem(rec, "outputs");
  qg_ival res = qg_ival_none();
  qg_status st = run_inputs(f, m, &res);
  if (cJSON_GetObjectItem(outs, "error")) {
    /* PyTorch converted but could not run it: nothing to compare the outputs with */
    fprintf(stderr, "%s [%s]: %s: PyTorch could not run the converted module (%s); ours %s%s\n", f->name,
            f->set->label, stage, jstr(cJSON_GetObjectItem(outs, "error"), "last_line"),
            st == QG_OK ? "runs" : "fails too: ", st == QG_OK ? "" : qg_last_error());
    f->t->pytorch_run_failed++;
  } else if (st != QG_OK) {
    mismatch(f, stage, "run", "running ours failed: %s", qg_last_error());
  } else {
    compare_outputs(f, stage, outs, &res, kind);
  }
  qg_ival_release(&res);
  f->t->stages++;
}

static void check_conversion(fx *f) {
  const cJSON *doc = f->doc;
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  const char *why =
      qg_test_qconfig_dict_described(cJSON_GetObjectItem(doc, "qconfig_dict"), f->qconfigs, f->set->variant, &d);
  if (why) {
    fprintf(stderr, "%s [%s]: not compared: its qconfig has %s\n", f->name, f->set->label, why);
    f->t->not_expressible++;
    qg_qconfig_dict_free(&d);
    return;
  }
  int dynamic = cJSON_IsTrue(cJSON_GetObjectItem(doc, "dynamic"));
  char rel[256];
  snprintf(rel, sizeof rel, "seed/%s", jstr(doc, "bundle"));
  qg_module *m = NULL, *prepared = NULL;
  QG_ASSERT_OK(qg_module_load(qg_test_fixture(rel), &m));
  qg_status st = qg_prepare(m, &d, dynamic, 1, &prepared, NULL);
  const cJSON *perr = cJSON_GetObjectItem(doc, "prepare_error"), *cerr = cJSON_GetObjectItem(doc, "calibration_error");
  if (perr || st != QG_OK) {
    if (perr) expect_error(f, "prepare", perr, st);
    else mismatch(f, "prepare", "error", "ours fails: %s", qg_last_error());
    goto done;
  }
  /* PyTorch and quantgraph convert a prepared model the same way whatever the flow (quantize_jit
   * prepares and calibrates afresh for debug and final, on copies of the same batches). */
  const cJSON *cal = cJSON_GetObjectItem(doc, "calibration"), *batch;
  const cJSON *files = cJSON_GetObjectItem(cal, "files");
  int b = 0;
  st = QG_OK;
  cJSON_ArrayForEach(batch, cJSON_GetObjectItem(cal, "tensors")) {
    const qg_tensor *args[16];
    size_t n = tensor_list(f, batch, cJSON_GetArrayItem(files, b++)->valuestring, args, 16);
    qg_ival r = qg_ival_none();
    if (st == QG_OK) st = run(m, args, n, &r);
    qg_ival_release(&r);
  }
  if (cerr || st != QG_OK) {
    if (cerr) expect_error(f, "calibration", cerr, st);
    else mismatch(f, "calibration", "error", "ours fails: %s", qg_last_error());
    goto done;
  }
  tol_kind kind = dynamic ? TOL_DYNAMIC : TOL_STEP;
  for (int debug = 1; debug >= 0; debug--) {
    const char *stage = debug ? "debug" : "final";
    const cJSON *rec = cJSON_GetObjectItem(doc, stage);
    qg_module *out = NULL;
    st = qg_convert(m, dynamic, debug, 0, &out, NULL);
    if (cJSON_GetObjectItem(rec, "error")) {
      expect_error(f, stage, cJSON_GetObjectItem(rec, "error"), st);
    } else if (st != QG_OK) {
      mismatch(f, stage, "error", "convert fails: %s", qg_last_error());
    } else {
      check_module(f, stage, out, kind);
      if (debug && cJSON_GetObjectItem(doc, "debug_frozen")) { /* the seed freezes the debug module */
        QG_ASSERT_OK(qg_freeze_module(out, NULL));
        check_module(f, "debug_frozen", out, kind);
      }
    }
    qg_module_free(out);
  }
done:
  qg_module_free(m);
  qg_qconfig_dict_free(&d);
}

/* Removes the ` # file:line:col` comment that ends a graph text line, in place. */
static void strip_source_comments(char *text) {
  char *w = text;
  for (const char *r = text; *r;) {
    const char *eol = strchr(r, '\n'), *end = eol ? eol : r + strlen(r), *c = NULL;
    for (const char *p = r; p + 3 <= end; p++)
      if (p[0] == ' ' && p[1] == '#' && p[2] == ' ') c = p;
    size_t n = (size_t)((c ? c : end) - r);
    memmove(w, r, n);
    w += n;
    if (eol) *w++ = '\n';
    r = eol ? eol + 1 : end;
  }
  *w = 0;
}

/* The PyTorch standalone passes the seed calls and quantgraph's pass of the same job. The graph
 * passes PyTorch runs on m.graph (the root forward only). */
static const struct {
  const char *pytorch, *registry;
  qg_status (*graph_fn)(qg_graph_t *g, qg_pass_report *r);
} k_standalone[] = {
    {"_jit_pass_dedup_module_uses", "dedup_module_uses", NULL},
    {"_jit_pass_replicate_dequantize", NULL, qg_replicate_dequant_graph},
    {"_jit_pass_swap_functional_linear", NULL, qg_swap_functional_linear_graph},
};

static void check_standalone(fx *f) {
  const cJSON *sa = cJSON_GetObjectItem(f->doc, "standalone");
  const char *call = jstr(sa, "pass");
  size_t i = 0, n = sizeof k_standalone / sizeof k_standalone[0];
  while (i < n && !(call && strstr(call, k_standalone[i].pytorch))) i++;
  cr_assert(i < n, "%s: a pass this test does not know: %s", f->name, call ? call : "?");
  char rel[256];
  snprintf(rel, sizeof rel, "seed/%s", jstr(f->doc, "bundle"));
  qg_module *m = NULL;
  QG_ASSERT_OK(qg_module_load(qg_test_fixture(rel), &m));
  qg_ival res = qg_ival_none();
  QG_ASSERT_OK(run_inputs(f, m, &res));
  compare_outputs(f, "before the pass", cJSON_GetObjectItem(f->doc, "outputs_before"), &res, TOL_FLOAT);
  qg_ival_release(&res);
  if (k_standalone[i].registry) {
    const qg_pass_info *p = qg_pass_find(k_standalone[i].registry);
    cr_assert(p, "no pass %s", k_standalone[i].registry);
    QG_ASSERT_OK(p->run(m, NULL));
  } else {
    const qg_method *fwd = qg_class_find_method(m->root.u.obj->type, "forward");
    cr_assert(fwd && fwd->graph);
    QG_ASSERT_OK(k_standalone[i].graph_fn(fwd->graph, NULL));
  }
  const cJSON *g;
  cJSON_ArrayForEach(g, cJSON_GetObjectItem(sa, "graphs")) {
    const char *path = jstr(g, "module"), *method = jstr(g, "method"), *theirs = jstr(g, "graph");
    if (!theirs && f->ref) { /* torch215: the same text as torch 1.13's */
      const cJSON *rg;
      cJSON_ArrayForEach(rg, cJSON_GetObjectItem(cJSON_GetObjectItem(f->ref, "standalone"), "graphs"))
      if (!strcmp(jstr(rg, "module"), path) && !strcmp(jstr(rg, "method"), method)) theirs = jstr(rg, "graph");
    }
    const qg_ival *obj = NULL;
    const qg_method *meth = NULL;
    if (qg_module_find(m, path, &obj) == QG_OK) meth = qg_class_find_method(obj->u.obj->type, method);
    if (!meth || !theirs) {
      mismatch(f, "pass", "graph", "no graph %s.%s after the pass", path, method);
      continue;
    }
    char *ours = qg_graph_to_string(meth->graph, NULL);
    char *a = qg_test_renumber(ours), *b = qg_test_renumber(theirs);
    if (!cJSON_IsTrue(cJSON_GetObjectItem(f->doc, "source_graphs_match_seed"))) {
      /* PyTorch scripted its own copy of the model (torch 2.x): its source comments name its files */
      strip_source_comments(a);
      strip_source_comments(b);
    }
    if (strcmp(a, b)) mismatch(f, "pass", "graph", "graph differs\n--- ours:\n%s\n--- PyTorch:\n%s", ours, theirs);
    f->t->graphs++;
    free(a);
    free(b);
    qg__free(ours);
  }
  res = qg_ival_none();
  QG_ASSERT_OK(run_inputs(f, m, &res));
  compare_outputs(f, "after the pass", cJSON_GetObjectItem(f->doc, "outputs_after"), &res, TOL_FLOAT);
  qg_ival_release(&res);
  f->t->stages++;
  qg_module_free(m);
}

/* The fixture of the torch 1.13 group `ref_group` named `name`, or NULL. */
static const cJSON *fixture_named(const cJSON *ref_group, const char *name) {
  const cJSON *d;
  cJSON_ArrayForEach(d, cJSON_GetObjectItem(ref_group, "fixtures"))
  if (!strcmp(jstr(d, "fixture"), name)) return d;
  return NULL;
}

static void check_set(const fx_set *set, tally *t) {
  char rel[256];
  snprintf(rel, sizeof rel, "%s/index.json", set->dir);
  cJSON *index = qg_test_load_json(rel);
  qg_quant_engine_set(set->engine);
  int torch215 = strcmp(set->dir, "convert") != 0;
  const cJSON *test;
  cJSON_ArrayForEach(test, cJSON_GetObjectItem(index, "tests")) {
    const char *file = jstr(test, "file");
    if (!file) continue;
    snprintf(rel, sizeof rel, "%s/%s", set->dir, file);
    cJSON *group = qg_test_load_json(rel);
    cJSON *ref_group = NULL;
    if (torch215) {
      snprintf(rel, sizeof rel, "convert/%s", file);
      ref_group = qg_test_load_json(rel);
    }
    tfiles files = {0};
    cJSON *doc;
    size_t listed = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(test, "fixtures")), seen = 0;
    cJSON_ArrayForEach(doc, cJSON_GetObjectItem(group, "fixtures")) {
      fx f = {set,
              jstr(doc, "fixture"),
              jstr(group, "tensors"),
              doc,
              ref_group ? fixture_named(ref_group, jstr(doc, "fixture")) : NULL,
              cJSON_GetObjectItem(index, "qconfigs"),
              &files,
              t};
      if (getenv("QG_PARITY_VERBOSE")) fprintf(stderr, "fixture %s [%s]\n", f.name, set->label);
      if (!strcmp(jstr(doc, "flow"), "standalone")) check_standalone(&f);
      else check_conversion(&f);
      t->fixtures++;
      seen++;
    }
    cr_expect_eq(seen, listed, "%s: %zu fixtures, index.json lists %zu", file, seen, listed);
    tfiles_free(&files);
    cJSON_Delete(ref_group);
    cJSON_Delete(group);
  }
  cJSON_Delete(index);
}

/* Runs one recording and asserts the outcome: every fixture visited and expressible, no
 * difference but the known ones, each of those still seen. */
static void check_all(const fx_set *set) {
  tally t = {0};
  check_set(set, &t);
  fprintf(stderr, "convert parity [%s]: %zu fixtures compared (%zu not expressible); %zu modules/passes, %zu graphs, %zu "
              "outputs compared, %zu PyTorch errors matched, %zu modules PyTorch could not run; %zu mismatches, %zu "
              "known differences\n",
              set->label, t.fixtures - t.not_expressible, t.not_expressible, t.stages, t.graphs, t.outputs,
              t.errors_matched, t.pytorch_run_failed, t.mismatches, t.known);
  size_t stale = 0;
  for (size_t i = 0; i < K_NKNOWN; i++)
    if (!strcmp(k_known[i].set, set->dir) && !k_known_seen[i]) {
      cr_log_error("%s: %s %s matches PyTorch now: remove it from k_known", k_known[i].fixture, k_known[i].stage,
                   k_known[i].check);
      stale++;
    }
  cr_assert_eq(t.fixtures, 191, "every recorded fixture is visited");
  cr_assert_eq(t.not_expressible, 0);
  cr_assert_eq(t.mismatches + stale, 0, "see the log");
}

static const fx_set k_torch113 = {"convert", "torch 1.13, qnnpack", QG_ENGINE_QNNPACK, QG_HISTOGRAM_LEGACY_113};
static const fx_set k_torch215 = {"convert/torch215", "torch 2.15, fbgemm", QG_ENGINE_FBGEMM, QG_HISTOGRAM_CURRENT};

Test(convert_parity, every_torch113_conversion_matches_pytorch, .timeout = 900) { check_all(&k_torch113); }

Test(convert_parity, every_torch215_conversion_matches_pytorch, .timeout = 900) { check_all(&k_torch215); }
