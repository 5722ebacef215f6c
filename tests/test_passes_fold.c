/* fold_conv_bn (passes/fold_conv_bn.c) against PyTorch's FoldConvBatchNorm.
 *
 * Fixtures: tests/fixtures/fold/<fixture>.json + .safetensors, written by
 * tools/fixtures/gen_fold.py from the seed models of test_foldbn_* (bundles in
 * tests/fixtures/seed/) and from a few extra models (bundles in tests/fixtures/fold/): what
 * torch.ao.quantization.quantize_jit.fuse_conv_bn_jit did to each.
 *
 * Every fixture is checked by check_fixture():
 *  - the seed's own assertions (FileCheck counts of prim::CallMethod[name="forward"] before and
 *    after, on the graph the seed looks at), ported verbatim;
 *  - qg_graph_lint on every method graph after the pass;
 *  - the forward graph of every module prints as PyTorch's folded graph. PyTorch folds a clone,
 *    which renames classes (gen_fold.py maps them back) and renumbers unnamed values (%12): texts
 *    are compared up to that renumbering (canonical_numbers, as gen_fold.py's); everything else,
 *    named values (%x.5, %bias) included, must be byte-identical;
 *  - the folded conv weights and biases are bit-identical to PyTorch's (FNV-1a 64 of the raw
 *    bytes, and the bytes themselves where the fixture stores them);
 *  - our interpreter's outputs of the folded module equal PyTorch's folded outputs within
 *    1e-6 * max(1, |ref|), and (seed models) the unfolded PyTorch outputs within the seed's
 *    assertEqual tolerance.
 * Seed fixtures without a committed bundle (test_foldbn_complex_cases' Conv3d models, over the
 * bundle size cap) have no fold fixture; each test checks that exactly those are missing. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "ir/filecheck.h"
#include "ir/ir.h"
#include "ir/text.h"
#include "module/module.h"
#include "module/safetensors.h"
#include "passes/passes.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

#define CALL_FORWARD "prim::CallMethod[name=\"forward\"]"

/* ---- helpers ------------------------------------------------------------------------------- */

static cJSON *read_json(const char *rel) {
  char *text = qg_test_read_file(qg_test_fixture(rel), NULL);
  cJSON *j = cJSON_Parse(text);
  free(text);
  cr_assert(j, "%s: not JSON", rel);
  return j;
}

static const char *json_str(const cJSON *j, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  cr_assert(cJSON_IsString(v), "fixture JSON lacks string '%s'", key);
  return v->valuestring;
}

static int fixture_exists(const char *rel) {
  FILE *f = fopen(qg_test_fixture(rel), "rb");
  if (f) fclose(f);
  return f != NULL;
}

static qg_module *load_module(const char *rel) {
  qg_module *m = NULL;
  QG_ASSERT_OK(qg_module_load(qg_test_fixture(rel), &m));
  return m;
}

static qg_ival *module_at(qg_module *m, const char *path) {
  const qg_ival *v = NULL;
  QG_ASSERT_OK(qg_module_find(m, path, &v));
  return (qg_ival *)v;
}

static qg_graph_t *forward_of(qg_module *m, const char *path) {
  const qg_type_t *cls = qg_object_class(module_at(m, path));
  qg_method *fw = qg_class_find_method(cls, "forward");
  cr_assert(fw && fw->graph, "module '%s' has no forward graph", path);
  return fw->graph;
}

static char *graph_text(const qg_graph_t *g) {
  char *s = qg_graph_to_string(g, NULL);
  cr_assert(s, "printing a graph ran out of memory");
  return s;
}

/* FileCheck().check_count(pattern, n, exactly=True).run(str(graph)) */
static void check_count_exactly(const qg_graph_t *g, const char *pattern, size_t n, const char *what) {
  qg_filecheck_t *fc = NULL;
  QG_ASSERT_OK(qg_filecheck_create(&fc));
  qg_fc_check_count(fc, pattern, n, 1);
  qg_status st = qg_filecheck_run_graph(fc, g);
  cr_assert(st == QG_OK, "%s: %s", what, qg_last_error());
  qg_filecheck_destroy(fc);
}

static qg_status lint_one(qg_graph_t *g, void *ud, qg_pass_report *r) {
  (void)ud;
  (void)r;
  return qg_graph_lint(g);
}

static void lint_all(qg_module *m, const char *what) {
  qg_status st = qg_for_each_method_graph(m, lint_one, NULL, NULL);
  cr_assert(st == QG_OK, "%s: lint after fold_conv_bn: %s", what, qg_last_error());
}

/* `%12` -> `%#k` (k: order of first appearance), as gen_fold.py's canonical_numbers: a numeric
 * name is a maximal digit run after '%' not followed by a name character or '.'. */
static char *canonical_numbers(const char *text) {
  qg_strbuf out = QG_STRBUF_INIT;
  const char *seen[4096];
  size_t seen_len[4096], nseen = 0;
  for (const char *p = text; *p;) {
    size_t d = 0;
    if (*p == '%')
      while (p[1 + d] >= '0' && p[1 + d] <= '9') d++;
    char next = d ? p[1 + d] : 0;
    int name_char = next == '_' || next == '.' || (next >= '0' && next <= '9') || (next >= 'a' && next <= 'z') ||
                    (next >= 'A' && next <= 'Z');
    if (!d || name_char) {
      qg_strbuf_putc(&out, *p++);
      continue;
    }
    size_t k = 0;
    while (k < nseen && !(seen_len[k] == d && memcmp(seen[k], p + 1, d) == 0)) k++;
    if (k == nseen) {
      cr_assert(nseen < 4096, "too many numbered values");
      seen[nseen] = p + 1;
      seen_len[nseen++] = d;
    }
    qg_strbuf_printf(&out, "%%#%zu", k);
    p += 1 + d;
  }
  QG_ASSERT_OK(qg_strbuf_ok(&out));
  return qg_strbuf_detach(&out);
}

static uint64_t fnv1a64(const unsigned char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static const char *dtype_name(qg_dtype dt) {
  return dt == QG_DTYPE_F32 ? "float32" : dt == QG_DTYPE_F64 ? "float64" : "other";
}

/* |got - ref| <= atol + rtol * |ref| elementwise (NaN never matches). */
static void assert_close(const qg_tensor *got, const qg_tensor *ref, double rtol, double atol, const char *what) {
  cr_assert_eq(got->dtype, ref->dtype, "%s: dtype differs", what);
  cr_assert_eq(got->ndim, ref->ndim, "%s: rank differs", what);
  for (int k = 0; k < ref->ndim; k++) cr_assert_eq(got->shape[k], ref->shape[k], "%s: shape differs", what);
  int64_t n = qg_tensor_numel(ref);
  for (int64_t i = 0; i < n; i++) {
    double g = qg_tensor_get_flat(got, i), r = qg_tensor_get_flat(ref, i);
    cr_assert(fabs(g - r) <= atol + rtol * fabs(r), "%s: element %lld: got %.17g, PyTorch %.17g", what, (long long)i,
              g, r);
  }
}

/* ---- one fixture ---------------------------------------------------------------------------- */

/* The seed's assertions on one fixture: count exact occurrences of `pattern` in the forward
 * graph of module `path`, `before` (-1: not checked) and `after` the pass. */
typedef struct seed_check {
  const char *path;
  const char *pattern;
  long before, after;
} seed_check;

typedef struct fold_stats {
  size_t fixtures, graphs, graphs_byte_identical, params, params_stored;
} fold_stats;

static void check_graphs(qg_module *m, const cJSON *graphs, char **before, const char *fx, fold_stats *stats) {
  size_t i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, graphs) {
    const char *path = json_str(e, "module");
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(e, "graph");
    const char *ref = cJSON_IsString(want) ? want->valuestring : before[i];
    char *got = graph_text(forward_of(m, path));
    char *cg = canonical_numbers(got), *cr = canonical_numbers(ref);
    cr_assert_str_eq(cg, cr, "%s: forward graph of module '%s' after folding:\n%s\nPyTorch (%s):\n%s", fx, path, got,
                     cJSON_IsString(want) ? "folded" : "unchanged by the fold", ref);
    if (cJSON_IsString(want)) { /* graphs PyTorch changed */
      stats->graphs++;
      stats->graphs_byte_identical += strcmp(got, ref) == 0;
    }
    free(cg);
    free(cr);
    qg__free(got);
    i++;
  }
}

static void check_params(qg_module *m, const cJSON *params, const qg_safetensors *fold, const char *fx,
                         fold_stats *stats) {
  const cJSON *e;
  cJSON_ArrayForEach(e, params) {
    const char *name = json_str(e, "name");
    const qg_ival *v = NULL;
    QG_ASSERT_OK(qg_module_attr(m, name, &v));
    cr_assert_eq(v->kind, QG_IVAL_TENSOR, "%s: %s is not a tensor after folding", fx, name);
    qg_tensor *t = NULL;
    QG_ASSERT_OK(qg_tensor_contiguous(v->u.tensor, &t));
    cr_assert_str_eq(dtype_name(t->dtype), json_str(e, "dtype"), "%s: %s dtype", fx, name);
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    cr_assert_eq(cJSON_GetArraySize(shape), t->ndim, "%s: %s rank", fx, name);
    for (int k = 0; k < t->ndim; k++)
      cr_assert_eq((int64_t)cJSON_GetArrayItem(shape, k)->valuedouble, t->shape[k], "%s: %s shape", fx, name);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "stored"))) {
      char key[256];
      snprintf(key, sizeof key, "param.%s", name);
      const qg_st_tensor *r = qg_safetensors_find(fold, key);
      cr_assert(r, "%s: fold fixture lacks %s", fx, key);
      const unsigned char *a = qg_tensor_data(t), *b = qg_tensor_data(r->tensor);
      size_t es = qg_tensor_nbytes(t) / (size_t)(qg_tensor_numel(t) ? qg_tensor_numel(t) : 1);
      for (int64_t i = 0; i < qg_tensor_numel(t); i++)
        cr_assert(memcmp(a + (size_t)i * es, b + (size_t)i * es, es) == 0,
                  "%s: %s element %lld: ours %.17g, PyTorch %.17g (not bit-identical)", fx, name, (long long)i,
                  qg_tensor_get_flat(t, i), qg_tensor_get_flat(r->tensor, i));
      stats->params_stored++;
    }
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx",
             (unsigned long long)fnv1a64(qg_tensor_data(t), qg_tensor_nbytes(t)));
    cr_assert_str_eq(hex, json_str(e, "fnv1a64"), "%s: %s is not bit-identical to PyTorch's (FNV-1a 64)", fx, name);
    stats->params++;
    qg_tensor_release(t);
  }
}

/* Runs forward on the recorded inputs; compares with PyTorch's folded outputs (fold file) and,
 * for seed models, with PyTorch's unfolded outputs (the seed's assertEqual(eager(x), folded(x))). */
static void check_outputs(qg_module *m, const cJSON *j, const qg_safetensors *fold, const char *fx) {
  qg_safetensors *io = NULL;
  QG_ASSERT_OK(qg_safetensors_open(qg_test_fixture(json_str(j, "inputs")), &io));
  qg_ival args[4], out = qg_ival_none();
  size_t nargs = 0;
  for (;; nargs++) {
    char nm[32];
    snprintf(nm, sizeof nm, "in.%zu", nargs);
    const qg_st_tensor *e = qg_safetensors_find(io, nm);
    if (!e) break;
    cr_assert(nargs < 4);
    qg_tensor *copy;
    QG_ASSERT_OK(qg_tensor_to_dtype(e->tensor, e->tensor->dtype, &copy));
    args[nargs] = qg_ival_tensor(copy);
  }
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", args, nargs, NULL, &out));
  const qg_ival *leaves[4];
  size_t nleaves = 0;
  if (out.kind == QG_IVAL_TUPLE)
    for (size_t i = 0; i < out.u.list->len && nleaves < 4; i++) leaves[nleaves++] = &out.u.list->items[i];
  else
    leaves[nleaves++] = &out;
  int seed = strcmp(json_str(j, "kind"), "seed") == 0;
  for (size_t i = 0; i < nleaves; i++) {
    char nm[32], what[300];
    snprintf(nm, sizeof nm, "out.%zu", i);
    cr_assert_eq(leaves[i]->kind, QG_IVAL_TENSOR, "%s: output %zu is not a tensor", fx, i);
    const qg_st_tensor *ref = qg_safetensors_find(fold, nm);
    cr_assert(ref, "%s: fold fixture lacks %s", fx, nm);
    snprintf(what, sizeof what, "%s: %s vs PyTorch's folded module", fx, nm);
    const qg_tensor *got = leaves[i]->u.tensor;
    /* 1e-6 * max(1, |ref|) */
    int64_t n = qg_tensor_numel(ref->tensor);
    cr_assert_eq(qg_tensor_numel(got), n, "%s: size", what);
    for (int64_t k = 0; k < n; k++) {
      double g = qg_tensor_get_flat(got, k), r = qg_tensor_get_flat(ref->tensor, k);
      cr_assert(fabs(g - r) <= 1e-6 * fmax(1.0, fabs(r)), "%s: element %lld: got %.17g, PyTorch %.17g", what,
                (long long)k, g, r);
    }
    assert_close(got, ref->tensor, 0, INFINITY, what); /* dtype and shape */
    if (seed) {
      const qg_st_tensor *unfolded = qg_safetensors_find(io, nm);
      cr_assert(unfolded, "%s: seed io file lacks %s", fx, nm);
      int f64 = got->dtype == QG_DTYPE_F64;
      snprintf(what, sizeof what, "%s: %s vs PyTorch's unfolded module (the seed's assertEqual)", fx, nm);
      assert_close(got, unfolded->tensor, f64 ? 1e-7 : 1.3e-6, f64 ? 1e-7 : 1e-5, what);
    }
  }
  qg_ival_release(&out);
  for (size_t i = 0; i < nargs; i++) qg_ival_release(&args[i]);
  qg_safetensors_close(io);
}

static void check_fixture(const char *fx, const seed_check *sc, size_t nsc, fold_stats *stats) {
  char rel[300];
  snprintf(rel, sizeof rel, "fold/%s.json", fx);
  cJSON *j = read_json(rel);
  snprintf(rel, sizeof rel, "fold/%s.safetensors", fx);
  qg_safetensors *fold = NULL;
  QG_ASSERT_OK(qg_safetensors_open(qg_test_fixture(rel), &fold));
  qg_module *m = load_module(json_str(j, "bundle"));
  const cJSON *graphs = cJSON_GetObjectItemCaseSensitive(j, "graphs");
  size_t ng = (size_t)cJSON_GetArraySize(graphs);
  char **before = calloc(ng ? ng : 1, sizeof *before);
  for (size_t i = 0; i < ng; i++)
    before[i] = graph_text(forward_of(m, json_str(cJSON_GetArrayItem(graphs, (int)i), "module")));
  for (size_t i = 0; i < nsc; i++)
    if (sc[i].before >= 0)
      check_count_exactly(forward_of(m, sc[i].path), sc[i].pattern, (size_t)sc[i].before, fx);

  qg_pass_report report = {0};
  QG_ASSERT_OK(qg_fold_conv_bn(m, &report));
  fold_stats st0 = *stats;

  for (size_t i = 0; i < nsc; i++) check_count_exactly(forward_of(m, sc[i].path), sc[i].pattern, (size_t)sc[i].after, fx);
  lint_all(m, fx);
  check_graphs(m, graphs, before, fx, stats);
  check_params(m, cJSON_GetObjectItemCaseSensitive(j, "params"), fold, fx, stats);
  check_outputs(m, j, fold, fx);
  /* the same number of forward calls in every module as PyTorch's folded module */
  const cJSON *cnt;
  cJSON_ArrayForEach(cnt, cJSON_GetObjectItemCaseSensitive(j, "callmethod_forward")) {
    qg_filecheck_t *fc = NULL;
    QG_ASSERT_OK(qg_filecheck_create(&fc));
    if (cnt->valueint == 0) qg_fc_check_not(fc, CALL_FORWARD);
    else qg_fc_check_count(fc, CALL_FORWARD, (size_t)cnt->valueint, 1);
    qg_status st = qg_filecheck_run_graph(fc, forward_of(m, cnt->string));
    cr_assert(st == QG_OK, "%s: module '%s': %s", fx, cnt->string, qg_last_error());
    qg_filecheck_destroy(fc);
  }
  stats->fixtures++;
  if (getenv("QG_FOLD_STATS")) /* a summary for humans: how close to byte-identical the texts are */
    fprintf(stderr, "%s: %zu rewrite(s); graphs changed %zu, byte-identical %zu; params %zu (bytes stored %zu)\n", fx,
            report.changed, stats->graphs - st0.graphs, stats->graphs_byte_identical - st0.graphs_byte_identical,
            stats->params - st0.params, stats->params_stored - st0.params_stored);
  for (size_t i = 0; i < ng; i++) qg__free(before[i]);
  free(before);
  qg_module_free(m);
  qg_safetensors_close(fold);
  cJSON_Delete(j);
}

/* Every fold fixture of a seed test (from the seed index), each checked with the seed's FileCheck
 * `sc` (NULL: none); with per_layer, sc's counts are multiplied by the number the fixture name
 * ends with (test_foldbn_complex_cases' num_layers). Fixtures without a fold fixture must be
 * those whose bundle is not committed. Returns how many ran. */
static size_t run_seed_test(const char *seed_test, const seed_check *sc, int per_layer, fold_stats *stats) {
  cJSON *index = read_json("seed/index.json");
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(index, "tests"), seed_test);
  cr_assert(t, "seed index has no %s", seed_test);
  size_t ran = 0;
  const cJSON *fx;
  cJSON_ArrayForEach(fx, cJSON_GetObjectItemCaseSensitive(t, "fixtures")) {
    const char *name = fx->valuestring;
    char rel[300], bundle[300];
    snprintf(rel, sizeof rel, "fold/%s.json", name);
    snprintf(bundle, sizeof bundle, "seed/%s.safetensors", name);
    if (!fixture_exists(rel)) {
      cr_assert(!fixture_exists(bundle), "%s has a bundle but no fold fixture: run tools/fixtures/gen_fold.py", name);
      continue;
    }
    seed_check c = sc ? *sc : (seed_check){0};
    if (sc && per_layer) {
      long n = name[strlen(name) - 1] - '0';
      c.before *= n;
      c.after *= n;
    }
    check_fixture(name, &c, sc ? 1 : 0, stats);
    ran++;
  }
  cJSON_Delete(index);
  return ran;
}

/* ---- the seed tests ------------------------------------------------------------------------- */

/* Two forward calls in the root's forward before, one after. */
static const seed_check k_root_pair = {"", CALL_FORWARD, 2, 1};

Test(passes_fold, test_foldbn_trivial) {
  fold_stats st = {0};
  cr_assert_eq(run_seed_test("test_foldbn_trivial", &k_root_pair, 0, &st), 4);
}

Test(passes_fold, test_foldbn_trivial_nobias) {
  fold_stats st = {0};
  cr_assert_eq(run_seed_test("test_foldbn_trivial_nobias", &k_root_pair, 0, &st), 4);
}

Test(passes_fold, test_foldbn_in_submodule) {
  fold_stats st = {0};
  seed_check sc = {"sub", CALL_FORWARD, 2, 1};
  cr_assert_eq(run_seed_test("test_foldbn_in_submodule", &sc, 0, &st), 4);
}

/* The seed only compares outputs (check_outputs; the call counts are PyTorch's, checked for
 * every fixture: traced, the second relu call is `forward1`). conv1 and conv2 share a class
 * when scripted; each gets its own parameters. */
Test(passes_fold, test_foldbn_shared_classtype) {
  fold_stats st = {0};
  cr_assert_eq(run_seed_test("test_foldbn_shared_classtype", NULL, 0, &st), 4);
  cr_assert_eq(st.params, 4 * 4, "conv1 and conv2, weight and bias, in 4 fixtures");
}

/* FileCheck().check_count("prim::CallMethod", 2, exactly=True).run(m.graph) */
Test(passes_fold, test_foldbn_no_fusion) {
  fold_stats st = {0};
  seed_check sc = {"", "prim::CallMethod", 2, 2};
  cr_assert_eq(run_seed_test("test_foldbn_no_fusion", &sc, 0, &st), 1);
  cr_assert_eq(st.params, 0);
}

/* num_layers * 2 forward calls in sub.layers before, num_layers after. */
Test(passes_fold, test_foldbn_complex_cases) {
  fold_stats st = {0};
  seed_check sc = {"sub.layers", CALL_FORWARD, 2, 1};
  /* 32 models; the 16 Conv3d ones have no committed bundle */
  cr_assert_eq(run_seed_test("test_foldbn_complex_cases", &sc, 1, &st), 16);
}

/* ---- extra models (gen_fold.py) ------------------------------------------------------------- */

Test(passes_fold, shared_class_instances_get_their_own_parameters) {
  fold_stats st = {0};
  seed_check sc[] = {{"", CALL_FORWARD, 2, 2}, {"sub1", CALL_FORWARD, 2, 1}};
  check_fixture("shared_sub__script", sc, 2, &st);
  /* the precondition the fixture is about: one class, one forward graph, two instances */
  qg_module *m = load_module("fold/shared_sub__script.model.safetensors");
  cr_assert_eq(qg_object_class(module_at(m, "sub1")), qg_object_class(module_at(m, "sub2")));
  qg_module_free(m);
  cr_assert_eq(st.params, 4);
}

Test(passes_fold, traced_conv1d_gets_a_bias_slot_but_is_not_folded) {
  fold_stats st = {0};
  seed_check sc[] = {{"", CALL_FORWARD, 2, 2}, {"conv", "prim::GetAttr[name=\"bias\"]", 0, 1}};
  check_fixture("conv1d_nobias__trace", sc, 2, &st);
  qg_module *m = load_module("fold/conv1d_nobias__trace.model.safetensors");
  qg_pass_report r = {0};
  QG_ASSERT_OK(qg_fold_conv_bn(m, &r));
  cr_assert_eq(r.changed, 1, "one bias slot added, nothing folded");
  const qg_type_t *cls = qg_object_class(module_at(m, "conv"));
  long i = qg_class_find_slot(cls, "bias");
  cr_assert(i >= 0 && cls->slots[i].kind == QG_SLOT_PARAMETER);
  cr_assert_str_eq(cls->slots[i].type->str, "Tensor?");
  const qg_ival *bias = NULL;
  QG_ASSERT_OK(qg_module_attr(m, "conv.bias", &bias));
  cr_assert_eq(bias->kind, QG_IVAL_NONE);
  qg_module_free(m);
}

Test(passes_fold, conv_output_with_two_uses_is_not_folded) {
  fold_stats st = {0};
  seed_check sc = {"", CALL_FORWARD, 2, 2};
  check_fixture("two_uses__script", &sc, 1, &st);
}

Test(passes_fold, pairs_2d_and_3d_in_one_module) {
  fold_stats st = {0};
  seed_check sc = {"", CALL_FORWARD, 4, 2};
  check_fixture("mixed_2d_3d__trace", &sc, 1, &st);
  cr_assert_eq(st.params, 4);
}

Test(passes_fold, every_fold_fixture_is_tested) {
  cJSON *index = read_json("fold/index.json");
  const cJSON *fx;
  size_t n = 0;
  cJSON_ArrayForEach(fx, cJSON_GetObjectItemCaseSensitive(index, "fixtures")) n++;
  cJSON_Delete(index);
  /* 4 trivial + 4 nobias + 4 submodule + 4 shared + 1 no_fusion + 16 complex + 4 extras */
  cr_assert_eq(n, 37);
}

Test(passes_fold, registered_by_name) {
  const qg_pass_info *p = qg_pass_find("fold_conv_bn");
  cr_assert(p && p->run == qg_fold_conv_bn && p->help && *p->help);
}

/* ---- variants made by editing a loaded fixture ---------------------------------------------- */

#define TRIVIAL_TRACE "seed/foldbn_trivial__trace_2d.safetensors"
#define NOBIAS_TRACE "seed/foldbn_trivial_nobias__trace_2d.safetensors"

static qg_node_t *find_node(const qg_graph_t *g, qg_sym_t kind) {
  qg_block_t *b = qg_graph_block(g);
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next)
    if (n->kind == kind) return n;
  cr_assert_fail("no %s node", qg_sym_str(kind));
  return NULL;
}

static void put_slot(qg_module *m, const char *module, const char *slot, qg_ival v) {
  QG_ASSERT_OK(qg_ival_object_put(module_at(m, module), slot, v));
}

static qg_tensor *new_tensor(qg_dtype dt, int64_t n, double fill) {
  qg_tensor *t = NULL;
  QG_ASSERT_OK(qg_tensor_create(dt, 1, &n, &t));
  for (int64_t i = 0; i < n; i++) qg_tensor_set_flat(t, i, fill);
  return t;
}

Test(passes_fold, deprecated_12_argument_convolution_reads_the_new_bias) {
  qg_module *m = load_module(NOBIAS_TRACE);
  qg_node_t *conv = find_node(forward_of(m, "conv"), QG_SYM_aten__convolution);
  qg_node_remove_input(conv, 12); /* drop allow_tf32: the 12-argument schema */
  QG_ASSERT_OK(qg_fold_conv_bn(m, NULL));
  lint_all(m, "12-argument _convolution");
  cr_assert_eq(conv->ninputs, 12);
  qg_node_t *ga = conv->inputs[2]->node;
  cr_assert_eq(ga->kind, QG_SYM_prim_GetAttr);
  cr_assert_str_eq(qg_node_s(ga, "name"), "bias");
  cr_assert_eq(ga->next, conv, "the GetAttr is inserted right before the convolution");
  check_count_exactly(forward_of(m, ""), CALL_FORWARD, 1, "12-argument _convolution");
  const qg_ival *b = NULL;
  QG_ASSERT_OK(qg_module_attr(m, "conv.bias", &b));
  cr_assert_eq(b->kind, QG_IVAL_TENSOR);
  qg_module_free(m);
}

/* eps from a module attribute `eps` is used before the batch_norm argument: a bn whose
 * attribute says 0.5 folds exactly as one whose batch_norm constant says 0.5. */
Test(passes_fold, eps_attribute_wins_over_the_batch_norm_argument) {
  qg_module *a = load_module(TRIVIAL_TRACE), *b = load_module(TRIVIAL_TRACE);
  qg_type_t *cls = (qg_type_t *)qg_object_class(module_at(a, "bn"));
  QG_ASSERT_OK(qg_class_add_slot(cls, "eps", qg_type_float(), QG_SLOT_ATTRIBUTE));
  put_slot(a, "bn", "eps", qg_ival_double(0.5));
  qg_node_t *bn = find_node(forward_of(b, "bn"), QG_SYM_aten_batch_norm);
  qg_node_t *eps = bn->inputs[7]->node;
  qg_sym_t value = qg_sym_lookup("value");
  QG_ASSERT_OK(qg_node_set_f(eps, value, 0.5));
  QG_ASSERT_OK(qg_fold_conv_bn(a, NULL));
  QG_ASSERT_OK(qg_fold_conv_bn(b, NULL));
  const char *names[] = {"conv.weight", "conv.bias"};
  for (int i = 0; i < 2; i++) {
    const qg_ival *x = NULL, *y = NULL;
    QG_ASSERT_OK(qg_module_attr(a, names[i], &x));
    QG_ASSERT_OK(qg_module_attr(b, names[i], &y));
    cr_assert(qg_ival_equal(x, y), "%s differs", names[i]);
  }
  const qg_ival *orig = NULL, *w = NULL;
  qg_module *c = load_module(TRIVIAL_TRACE);
  QG_ASSERT_OK(qg_module_attr(c, "conv.weight", &orig));
  QG_ASSERT_OK(qg_module_attr(a, "conv.weight", &w));
  cr_assert(!qg_ival_equal(orig, w), "eps 0.5 changes the weight");
  qg_module_free(a);
  qg_module_free(b);
  qg_module_free(c);
}

Test(passes_fold, two_batch_norm_calls_are_not_folded) {
  qg_module *m = load_module(TRIVIAL_TRACE);
  qg_graph_t *g = forward_of(m, "bn");
  qg_node_t *bn = find_node(g, QG_SYM_aten_batch_norm), *second = NULL;
  QG_ASSERT_OK(qg_graph_insert_new(g, QG_SYM_aten_batch_norm, bn->ninputs, bn->inputs, 1, &second));
  qg_pass_report r = {0};
  QG_ASSERT_OK(qg_fold_conv_bn(m, &r));
  cr_assert_eq(r.changed, 0);
  check_count_exactly(forward_of(m, ""), CALL_FORWARD, 2, "two batch_norm calls");
  qg_module_free(m);
}

Test(passes_fold, bn_without_running_stats_is_not_folded) {
  qg_module *m = load_module(TRIVIAL_TRACE);
  put_slot(m, "bn", "running_var", qg_ival_none());
  qg_pass_report r = {0};
  QG_ASSERT_OK(qg_fold_conv_bn(m, &r));
  cr_assert_eq(r.changed, 0);
  check_count_exactly(forward_of(m, ""), CALL_FORWARD, 2, "running_var None");
  qg_module_free(m);
}

/* ---- bad input ------------------------------------------------------------------------------ */

Test(passes_fold, null_module_is_an_error) {
  cr_assert_eq(qg_fold_conv_bn(NULL, NULL), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "fold_conv_bn"));
}

Test(passes_fold, statistics_of_the_wrong_size_are_an_error) {
  qg_module *m = load_module(TRIVIAL_TRACE);
  put_slot(m, "bn", "running_mean", qg_ival_tensor(new_tensor(QG_DTYPE_F32, 10, 0.0)));
  cr_assert_eq(qg_fold_conv_bn(m, NULL), QG_STATUS_INVALID_ARGUMENT);
  const char *e = qg_last_error();
  cr_assert(strstr(e, "'bn'") && strstr(e, "running_mean") && strstr(e, "[10]") && strstr(e, "[20]"), "%s", e);
  qg_module_free(m);
}

Test(passes_fold, conv_weight_that_is_not_a_tensor_is_an_error) {
  qg_module *m = load_module(TRIVIAL_TRACE);
  put_slot(m, "conv", "weight", qg_ival_int(3));
  cr_assert_eq(qg_fold_conv_bn(m, NULL), QG_STATUS_TYPE);
  const char *e = qg_last_error();
  cr_assert(strstr(e, "'conv'") && strstr(e, "weight") && strstr(e, "int"), "%s", e);
  qg_module_free(m);
}

Test(passes_fold, mixed_dtypes_are_an_error) {
  qg_module *m = load_module(TRIVIAL_TRACE);
  put_slot(m, "bn", "running_var", qg_ival_tensor(new_tensor(QG_DTYPE_F64, 20, 1.0)));
  cr_assert_eq(qg_fold_conv_bn(m, NULL), QG_STATUS_UNSUPPORTED);
  const char *e = qg_last_error();
  cr_assert(strstr(e, "'bn'") && strstr(e, "running_var") && strstr(e, "f64"), "%s", e);
  qg_module_free(m);
}

/* A conv reached from something else than self's GetAttr chain (here a graph input): PyTorch
 * fails ("Can't handle the access pattern of GetAttr"), so do we. */
Test(passes_fold, conv_not_reached_from_self_is_an_error) {
  qg_module *m = load_module(TRIVIAL_TRACE);
  qg_graph_t *g = forward_of(m, "");
  qg_node_t *call = NULL;
  for (qg_node_t *n = qg_block_first(qg_graph_block(g)); n != qg_graph_block(g)->ret; n = n->next)
    if (n->kind == QG_SYM_prim_CallMethod) {
      call = n;
      break;
    }
  qg_value_t *in = NULL;
  QG_ASSERT_OK(qg_graph_add_input(g, "other_conv", call->inputs[0]->type, &in));
  QG_ASSERT_OK(qg_node_replace_input(call, 0, in));
  cr_assert_eq(qg_fold_conv_bn(m, NULL), QG_STATUS_UNSUPPORTED);
  const char *e = qg_last_error();
  cr_assert(strstr(e, "access pattern of GetAttr") && strstr(e, "(forward)"), "%s", e);
  qg_module_free(m);
}

/* ---- out of memory -------------------------------------------------------------------------- */

typedef struct oom_case {
  const char *bundle;
  long run; /* the helper injects at allocation 0, 1, 2, ... of successive runs */
} oom_case;

/* Loads the fixture outside the injection window, then lets the run's allocation fail inside
 * the pass. Whether or not it failed, every graph must lint clean and nothing may leak. */
static qg_status fold_with_injection(void *ud) {
  oom_case *c = ud;
  long at = c->run++;
  qg__alloc_fail_after(-1);
  qg_module *m = NULL;
  qg_status st = qg_module_load(qg_test_fixture(c->bundle), &m);
  if (st != QG_OK) return st;
  qg__alloc_fail_after(at);
  st = qg_fold_conv_bn(m, NULL);
  int failed = qg__alloc_failed();
  qg__alloc_fail_after(-1);
  qg_status lint = qg_for_each_method_graph(m, lint_one, NULL, NULL);
  cr_assert(lint == QG_OK, "allocation %ld: lint after %s: %s", at, qg_status_name(st), qg_last_error());
  qg_module_free(m);
  if (failed) { /* tell the helper the injected failure happened (the flag was reset above) */
    qg__alloc_fail_after(0);
    cr_assert_null(qg__malloc(1));
  }
  return st;
}

Test(passes_fold, out_of_memory_fails_cleanly) {
  oom_case c = {NOBIAS_TRACE, 0};
  size_t runs = qg_test_every_alloc_failure(fold_with_injection, &c);
  cr_assert_gt(runs, 10, "the pass allocates (bias slot, GetAttr, new tensors, plan)");
  oom_case shared = {"fold/shared_sub__script.model.safetensors", 0};
  size_t runs_shared = qg_test_every_alloc_failure(fold_with_injection, &shared);
  cr_assert_gt(runs_shared, 10);
  if (getenv("QG_FOLD_STATS"))
    fprintf(stderr, "out of memory: %zu + %zu injection points\n", runs - 1, runs_shared - 1);
}
