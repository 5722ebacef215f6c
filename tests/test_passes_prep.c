/* The InsertObservers preprocessing passes (passes.h: swap_functional_linear, inline_fork_wait,
 * fuse_linear, constant_propagation, dce, replace_convolution, remove_list_mutation).
 *
 * - torch_graph_cases / torch_seed_cases: every case of tests/fixtures/prep/<pass>.json
 *   (tools/fixtures/gen_prep.py, torch 1.13): our pass on PyTorch's graph gives PyTorch's graph
 *   (value numbers aside, see tests/util/graph_compare.h) and lints clean. Seed cases run on the
 *   method graph of the committed bundle (tests/fixtures/seed/<fixture>.safetensors), which must
 *   first print exactly as PyTorch printed it. k_deviations lists the two deliberate
 *   differences (a fragment of PyTorch's text that quantgraph prints otherwise, and why).
 * - The seed's assertions (test_fuse_linear, test_swap_functional_linear, the graph-prep part
 *   of test_conv_trace, test_convtranspose_trace, test_conv_with_benchmark_flag and
 *   test_quantize_fork_wait), verbatim where the seed checks graphs.
 * - Numerics: the module runs through the interpreter on the recorded inputs
 *   (tests/fixtures/seed/<fixture>.io.safetensors) before and after the module form of the pass;
 *   the outputs must be identical (bitwise).
 * - Our own cases for what PyTorch's output cannot show (side effects kept, callee names,
 *   errors), OOM at every allocation, and the `quantgraph opt` registry rows. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/filecheck.h"
#include "module/module.h"
#include "module/safetensors.h"
#include "passes/passes.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/graph_compare.h"
#include "util/testutil.h"

typedef struct known_pass {
  const char *name;
  qg_graph_pass_fn graph;
  qg_module_pass_fn module;
} known_pass;

static const known_pass k_passes[] = {
    {"swap_functional_linear", qg_swap_functional_linear_graph, qg_swap_functional_linear_module},
    {"inline_fork_wait", qg_inline_fork_wait_graph, qg_inline_fork_wait_module},
    {"fuse_linear", qg_fuse_linear_graph, qg_fuse_linear_module},
    {"constant_propagation", qg_constant_propagation_graph, qg_constant_propagation_module},
    {"dce", qg_dce_graph, qg_dce_module},
    {"replace_convolution", qg_replace_convolution_graph, qg_replace_convolution_module},
    {"remove_list_mutation", qg_remove_list_mutation_graph, qg_remove_list_mutation_module},
};

static const known_pass *find_pass(const char *name) {
  for (size_t i = 0; i < sizeof k_passes / sizeof k_passes[0]; i++)
    if (strcmp(k_passes[i].name, name) == 0) return &k_passes[i];
  cr_assert_fail("no pass %s", name);
  return NULL;
}

/* Deliberate differences from PyTorch's printed result, each one fragment of PyTorch's text
 * that quantgraph prints otherwise: the test substitutes ours into PyTorch's text and then
 * requires equality, so everything else in the case is still checked exactly. */
static const struct {
  const char *pass, *name, *pytorch, *ours, *reason;
} k_deviations[] = {
    {"constant_propagation", "dequantize_skipped",
     "prim::Constant[value= 1  1  1  1 [ QuantizedCPUQUInt8Type{4}, qscheme: per_tensor_affine, scale: 0.5, "
     "zero_point: 0 ]]()",
     "prim::Constant[value=<Tensor>]()",
     "quantized tensor constants print as <Tensor> at any size (their data and qparams live in the bundle, "
     "docs/formats.md), not as ATen's quantized repr; the folded value itself is checked by "
     "quantize_fold_value"},
    {"constant_propagation", "empty_lists", "prim::Constant[value=[<Tensors>]]()", "prim::ListConstruct()",
     "PyTorch also folds the empty Tensor[] ListConstruct, into a constant it prints as `[<Tensors>]`, which "
     "graph text (and so a saved bundle) cannot read back; quantgraph leaves tensor lists alone (the int[] and "
     "float[] ones fold as in PyTorch)"},
};

/* PyTorch's expected text with the deviation of (pass, name), if any, applied (malloc'd). */
static char *expected_text(const char *pass, const char *name, const char *pytorch) {
  for (size_t i = 0; i < sizeof k_deviations / sizeof k_deviations[0]; i++) {
    if (strcmp(k_deviations[i].pass, pass) != 0 || strcmp(k_deviations[i].name, name) != 0) continue;
    const char *at = strstr(pytorch, k_deviations[i].pytorch);
    cr_assert(at, "%s/%s: PyTorch's text no longer contains the deviation's fragment %s", pass, name,
              k_deviations[i].pytorch);
    size_t pre = (size_t)(at - pytorch), ol = strlen(k_deviations[i].pytorch), nl = strlen(k_deviations[i].ours);
    char *r = malloc(strlen(pytorch) - ol + nl + 1);
    cr_assert(r);
    memcpy(r, pytorch, pre);
    memcpy(r + pre, k_deviations[i].ours, nl);
    strcpy(r + pre + nl, at + ol);
    return r;
  }
  return strdup(pytorch);
}

static const char *const k_groups[] = {"swap_functional_linear", "inline_fork_wait", "fuse_linear",
                                       "constant_propagation",   "dce",              "replace_convolution",
                                       "remove_list_mutation"};

/* Compares with PyTorch's result, k_deviations applied. */
static void check_case(const qg_graph_t *g, const char *pass, const char *name, const char *pytorch) {
  char *expected = expected_text(pass, name, pytorch);
  char *got = qg_graph_to_string(g, NULL);
  cr_assert(got);
  char *a = qg_test_renumber(got), *b = qg_test_renumber(expected);
  cr_expect(strcmp(a, b) == 0, "%s/%s: graph differs from PyTorch's\n--- got:\n%s\n--- PyTorch (deviations applied):\n%s",
            pass, name, got, expected);
  free(a);
  free(b);
  free(expected);
  qg__free(got);
}

static void lint_module(const qg_module *m) {
  for (size_t i = 0; i < qg_cu_ntypes(m->cu); i++) {
    const qg_type_t *t = qg_cu_type_at(m->cu, i);
    for (size_t k = 0; k < t->nmethods; k++)
      if (t->methods[k].graph) QG_ASSERT_OK(qg_graph_lint(t->methods[k].graph));
  }
}

static qg_module *load_seed(const char *fixture) {
  char rel[256];
  snprintf(rel, sizeof rel, "seed/%s.safetensors", fixture);
  qg_module *m = NULL;
  QG_ASSERT_OK(qg_module_load(qg_test_fixture(rel), &m));
  return m;
}

static qg_graph_t *method_graph(const qg_module *m, const char *path, const char *method) {
  const qg_ival *obj;
  QG_ASSERT_OK(qg_module_find(m, path, &obj));
  qg_method *me = qg_class_find_method(qg_object_class(obj), method);
  cr_assert(me && me->graph, "%s has no method %s", path, method);
  return me->graph;
}

/* ---- PyTorch's results ------------------------------------------------------------------------ */

Test(passes_prep, torch_graph_cases) {
  size_t n = 0;
  for (size_t gi = 0; gi < sizeof k_groups / sizeof k_groups[0]; gi++) {
    char rel[128];
    snprintf(rel, sizeof rel, "prep/%s.json", k_groups[gi]);
    cJSON *doc = qg_test_load_json(rel);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
      if (qg_test_json_str(c, "fixture")) continue;
      const char *pass = qg_test_json_str(c, "pass"), *name = qg_test_json_str(c, "name");
      qg_graph_t *g = qg_test_parse(qg_test_json_str(c, "before"));
      qg_pass_report r = {0};
      qg_status st = find_pass(pass)->graph(g, &r);
      cr_assert_eq(st, QG_OK, "%s/%s: %s", pass, name, qg_last_error());
      QG_ASSERT_OK(qg_graph_lint(g));
      check_case(g, pass, name, qg_test_json_str(c, "after"));
      qg_graph_destroy(g);
      n++;
    }
    cJSON_Delete(doc);
  }
  cr_assert(n >= 18, "only %zu cases", n);
}

Test(passes_prep, torch_seed_cases) {
  size_t n = 0;
  for (size_t gi = 0; gi < sizeof k_groups / sizeof k_groups[0]; gi++) {
    char rel[128];
    snprintf(rel, sizeof rel, "prep/%s.json", k_groups[gi]);
    cJSON *doc = qg_test_load_json(rel);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
      const char *fixture = qg_test_json_str(c, "fixture");
      if (!fixture) continue;
      const char *pass = qg_test_json_str(c, "pass"), *name = qg_test_json_str(c, "name");
      cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "before_matches_seed")), "%s: stale fixture", name);
      qg_module *m = load_seed(fixture);
      qg_graph_t *g = method_graph(m, qg_test_json_str(c, "module"), qg_test_json_str(c, "method"));
      char *before = qg_graph_to_string(g, NULL);
      cr_assert_str_eq(before, qg_test_json_str(c, "before"), "%s: the bundle's graph prints differently", name);
      qg__free(before);
      QG_ASSERT_OK(find_pass(pass)->graph(g, NULL));
      QG_ASSERT_OK(qg_graph_lint(g));
      check_case(g, pass, name, qg_test_json_str(c, "after"));
      qg_module_free(m);
      n++;
    }
    cJSON_Delete(doc);
  }
  cr_assert(n >= 18, "only %zu seed cases", n);
}

/* ---- numerics ---------------------------------------------------------------------------------- */

typedef struct io_args {
  qg_ival v[8];
  size_t n;
} io_args;

static void load_inputs(const char *fixture, io_args *a) {
  char rel[256];
  snprintf(rel, sizeof rel, "seed/%s.io.safetensors", fixture);
  qg_safetensors *io;
  QG_ASSERT_OK(qg_safetensors_open(qg_test_fixture(rel), &io));
  a->n = 0;
  for (;;) {
    char nm[16];
    snprintf(nm, sizeof nm, "in.%zu", a->n);
    const qg_st_tensor *e = qg_safetensors_find(io, nm);
    if (!e) break;
    cr_assert(a->n < 8);
    qg_tensor *copy;
    QG_ASSERT_OK(qg_tensor_to_dtype(e->tensor, e->tensor->dtype, &copy));
    a->v[a->n++] = qg_ival_tensor(copy);
  }
  cr_assert(a->n > 0, "%s has no inputs", rel);
  qg_safetensors_close(io);
}

static void free_inputs(io_args *a) {
  for (size_t i = 0; i < a->n; i++) qg_ival_release(&a->v[i]);
}

/* Runs `fixture` before and after the module pass and requires identical outputs. */
static void check_numerics(const char *fixture, qg_module_pass_fn pass) {
  io_args in;
  load_inputs(fixture, &in);
  qg_module *m = load_seed(fixture);
  qg_ival before = qg_ival_none(), after = qg_ival_none();
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", in.v, in.n, NULL, &before));
  qg_pass_report r = {0};
  QG_ASSERT_OK(pass(m, &r));
  lint_module(m);
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", in.v, in.n, NULL, &after));
  cr_expect(qg_ival_equal(&before, &after), "%s: outputs changed", fixture);
  qg_ival_release(&before);
  qg_ival_release(&after);
  qg_module_free(m);
  free_inputs(&in);
}

Test(passes_prep, numerics_unchanged) {
  static const char *const fuse[] = {"fuse_linear__bias_1d",   "fuse_linear__bias_2d",   "fuse_linear__bias_3d",
                                     "fuse_linear__nobias_1d", "fuse_linear__nobias_2d", "fuse_linear__nobias_3d",
                                     "fuse_linear__matmul"};
  for (size_t i = 0; i < sizeof fuse / sizeof fuse[0]; i++) check_numerics(fuse[i], qg_fuse_linear_module);
  static const char *const conv[] = {"conv_trace", "convtranspose_trace", "conv_with_benchmark_flag"};
  for (size_t i = 0; i < sizeof conv / sizeof conv[0]; i++) {
    check_numerics(conv[i], qg_replace_convolution_module);
    check_numerics(conv[i], qg_constant_propagation_module);
  }
  check_numerics("module_list", qg_remove_list_mutation_module);
  check_numerics("module_list", qg_dce_module);
}

/* ---- the seed's assertions --------------------------------------------------------------------- */

static void file_check(const qg_graph_t *g, const char *check, const char *check_not) {
  qg_filecheck_t *fc;
  QG_ASSERT_OK(qg_filecheck_create(&fc));
  if (check) qg_fc_check(fc, check);
  if (check_not) qg_fc_check_not(fc, check_not);
  qg_status st = qg_filecheck_run_graph(fc, g);
  cr_expect(st == QG_OK, "%s", qg_filecheck_message(fc));
  qg_filecheck_destroy(fc);
}

/* The source comment of the (last) node of `kind` in g's top block. */
static const char *source_of(const qg_graph_t *g, const char *kind) {
  const char *found = NULL;
  const qg_block_t *b = qg_graph_block(g);
  for (const qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next)
    if (strcmp(qg_sym_str(n->kind), kind) == 0) found = n->source.comment ? n->source.comment : "";
  return found;
}

Test(passes_prep, test_fuse_linear) {
  static const char *const cases[] = {"fuse_linear__bias_1d",   "fuse_linear__bias_2d",   "fuse_linear__bias_3d",
                                      "fuse_linear__nobias_1d", "fuse_linear__nobias_2d", "fuse_linear__nobias_3d"};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    qg_module *m = load_seed(cases[i]);
    qg_graph_t *g = method_graph(m, "", "forward");
    const char *source_range_1 = source_of(g, "aten::matmul");
    cr_assert(source_range_1 && *source_range_1);
    QG_ASSERT_OK(qg_fuse_linear_graph(g, NULL));
    const char *source_range_2 = source_of(g, "aten::linear");
    file_check(g, "aten::linear", NULL);
    static const char *const check_not[] = {"aten::matmul", "aten::addmm", "aten::add_", "aten::t("};
    for (size_t k = 0; k < 4; k++) file_check(g, NULL, check_not[k]);
    cr_expect(source_range_2 && strcmp(source_range_1, source_range_2) == 0, "%s: %s vs %s", cases[i],
              source_range_1, source_range_2 ? source_range_2 : "(none)");
    io_args in;
    load_inputs(cases[i], &in);
    qg_ival out = qg_ival_none();
    QG_ASSERT_OK(qg_run_method(m, NULL, "forward", in.v, in.n, NULL, &out)); /* model(x) */
    qg_ival_release(&out);
    free_inputs(&in);
    qg_module_free(m);
  }
  /* matmul with a 3-d weight (no aten::t) is not fused */
  qg_module *m = load_seed("fuse_linear__matmul");
  qg_graph_t *g = method_graph(m, "", "forward");
  QG_ASSERT_OK(qg_fuse_linear_graph(g, NULL));
  file_check(g, "aten::matmul", NULL);
  file_check(g, NULL, "aten::linear");
  qg_module_free(m);
}

/* aten::quantize_per_tensor(x, scale, zero_point, dtype) of deterministic data, through a graph. */
static qg_ival quantized_input(int ndim, const int64_t *shape, double scale, int zp, int dtype) {
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, ndim, shape, &t));
  for (int64_t i = 0; i < qg_tensor_numel(t); i++) qg_tensor_set_flat(t, i, (double)((i * 7) % 11) / 11.0);
  char text[512];
  snprintf(text, sizeof text,
           "graph(%%x : Tensor):\n  %%s : float = prim::Constant[value=%g]()\n  %%z : int = prim::Constant[value=%d]()\n"
           "  %%d : int = prim::Constant[value=%d]()\n  %%q : Tensor = aten::quantize_per_tensor(%%x, %%s, %%z, %%d)\n"
           "  return (%%q)\n",
           scale, zp, dtype);
  qg_graph_t *g = qg_test_parse(text);
  qg_ival x = qg_ival_tensor(t), q = qg_ival_none();
  qg_status st = qg_run_graph(g, &x, 1, NULL, &q);
  qg_ival_release(&x);
  qg_graph_destroy(g);
  return st == QG_OK ? q : qg_ival_none();
}

Test(passes_prep, test_swap_functional_linear) {
  qg_module *m = load_seed("swap_functional_linear");
  qg_graph_t *g = method_graph(m, "", "forward");
  file_check(g, "CallFunction", NULL);
  int64_t xs[2] = {10, 5}, ws[2] = {5, 5}, bs[1] = {5};
  qg_ival args[3] = {quantized_input(2, xs, 0.5, 1, 13), quantized_input(2, ws, 0.5, 1, 12), qg_ival_none()};
  qg_tensor *bias;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 1, bs, &bias));
  for (int i = 0; i < 5; i++) qg_tensor_set_flat(bias, i, 0.1 * i);
  args[2] = qg_ival_tensor(bias);
  qg_ival ref_res = qg_ival_none(), res = qg_ival_none();
  cr_assert_eq(args[0].kind, QG_IVAL_TENSOR);
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", args, 3, NULL, &ref_res));
  QG_ASSERT_OK(qg_swap_functional_linear_graph(g, NULL));
  qg_filecheck_t *fc;
  QG_ASSERT_OK(qg_filecheck_create(&fc));
  qg_fc_check_not(qg_fc_check(fc, "aten::linear"), "CallFunction");
  cr_expect(qg_filecheck_run_graph(fc, g) == QG_OK, "%s", qg_filecheck_message(fc));
  qg_filecheck_destroy(fc);
  QG_ASSERT_OK(qg_graph_lint(g));
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", args, 3, NULL, &res));
  cr_assert(qg_ival_equal(&res, &ref_res), "self.assertEqual(res, ref_res)");
  for (int i = 0; i < 3; i++) qg_ival_release(&args[i]);
  qg_ival_release(&ref_res);
  qg_ival_release(&res);
  qg_module_free(m);
}

/* FileCheck().check(op).check_not("aten::_convolution") on each conv module's forward graph after
 * the graph preparation (the seed runs prepare_jit; observers do not change this check). */
static void check_convs(const char *fixture, const char *const *paths, const char *const *ops, size_t n) {
  qg_module *m = load_seed(fixture);
  qg_pass_report r = {0};
  QG_ASSERT_OK(qg_replace_convolution_module(m, &r));
  cr_expect_eq(r.changed, n);
  lint_module(m);
  for (size_t i = 0; i < n; i++) {
    qg_filecheck_t *fc;
    QG_ASSERT_OK(qg_filecheck_create(&fc));
    qg_fc_check_not(qg_fc_check(fc, ops[i]), "aten::_convolution");
    cr_expect(qg_filecheck_run_graph(fc, method_graph(m, paths[i], "forward")) == QG_OK, "%s: %s", paths[i],
              qg_filecheck_message(fc));
    qg_filecheck_destroy(fc);
  }
  qg_module_free(m);
}

Test(passes_prep, test_conv_trace) {
  const char *paths[] = {"conv1d", "conv2d", "conv3d"};
  const char *ops[] = {"aten::conv1d", "aten::conv2d", "aten::conv3d"};
  check_convs("conv_trace", paths, ops, 3);
}

Test(passes_prep, test_convtranspose_trace) {
  const char *paths[] = {"convtranspose1d", "convtranspose2d", "convtranspose3d"};
  const char *ops[] = {"aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d"};
  check_convs("convtranspose_trace", paths, ops, 3);
}

Test(passes_prep, test_conv_with_benchmark_flag) {
  /* traced under cudnn flags: benchmark / cudnn_enabled constants do not stop the rewrite */
  const char *paths[] = {"0"};
  const char *ops[] = {"aten::conv2d"};
  check_convs("conv_with_benchmark_flag", paths, ops, 1);
}

Test(passes_prep, test_quantize_fork_wait) {
  io_args in;
  load_inputs("quantize_fork_wait", &in);
  qg_module *m = load_seed("quantize_fork_wait");
  qg_ival before = qg_ival_none(), after = qg_ival_none();
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", in.v, in.n, NULL, &before));
  qg_pass_report r = {0};
  QG_ASSERT_OK(qg_inline_fork_wait_module(m, &r));
  cr_expect_eq(r.changed, 1);
  lint_module(m);
  qg_graph_t *fork_ops = method_graph(m, "fork_ops", "forward"), *root = method_graph(m, "", "forward");
  file_check(fork_ops, "aten::linear", "prim::fork");
  /* As in PyTorch: the wait in the caller stays and now receives a Tensor (the seed's docstring),
   * which a run rejects exactly as PyTorch's aten::wait would. */
  file_check(root, "aten::wait", NULL);
  qg_status st = qg_run_method(m, NULL, "forward", in.v, in.n, NULL, &after);
  cr_expect_eq(st, QG_STATUS_TYPE);
  cr_expect(strstr(qg_last_error(), "aten::wait needs a Future, got Tensor"), "%s", qg_last_error());
  /* the inlined body computes what the forked call did */
  QG_ASSERT_OK(qg_run_method(m, "fork_ops", "forward", in.v, in.n, NULL, &after));
  cr_expect(qg_ival_equal(&before, &after), "the inlined fork computes something else");
  qg_ival_release(&after);
  /* the rest of the preparation folds the inlined ones / zeros into tensor constants, as
   * PyTorch's prepare_dynamic_jit graph of fork_ops shows, and computes the same */
  QG_ASSERT_OK(qg_fuse_linear_module(m, NULL));
  QG_ASSERT_OK(qg_replace_convolution_module(m, NULL));
  QG_ASSERT_OK(qg_remove_list_mutation_module(m, NULL));
  lint_module(m);
  file_check(fork_ops, "Float(5, 5, strides=[5, 1], requires_grad=0, device=cpu) = prim::Constant[value=<Tensor>]()",
             "aten::ones");
  file_check(fork_ops, "prim::Constant[value= 0  0  0  0  0 [ CPUFloatType{5} ]]()\n  %", "aten::zeros");
  file_check(fork_ops, "aten::linear(%x, %", "prim::ListConstruct");
  QG_ASSERT_OK(qg_run_method(m, "fork_ops", "forward", in.v, in.n, NULL, &after));
  cr_expect(qg_ival_equal(&before, &after), "constant propagation changed the result");
  qg_ival_release(&before);
  qg_ival_release(&after);
  qg_module_free(m);
  free_inputs(&in);
}

/* ---- our own cases ------------------------------------------------------------------------------ */

static char *run_on_text(qg_graph_pass_fn pass, const char *text) {
  qg_graph_t *g = qg_test_parse(text);
  QG_ASSERT_OK(pass(g, NULL));
  QG_ASSERT_OK(qg_graph_lint(g));
  char *s = qg_graph_to_string(g, NULL);
  cr_assert(s);
  qg_graph_destroy(g);
  return s;
}

Test(passes_prep, swap_only_functions_named_linear) {
  char *s = run_on_text(qg_swap_functional_linear_graph,
                        "graph(%x : Tensor, %w : Tensor, %b : Tensor):\n"
                        "  %f : Function = prim::Constant[name=\"linear\"]()\n"
                        "  %g : Function = prim::Constant[name=\"linear_relu\"]()\n"
                        "  %1 : Tensor = prim::CallFunction(%f, %x, %w, %b)\n"
                        "  %2 : Tensor = prim::CallFunction(%g, %1, %w, %b)\n"
                        "  %3 : Tensor = prim::CallFunction(%f, %2, %w)\n"
                        "  return (%3)\n");
  cr_assert(strstr(s, "aten::linear(%x, %w, %b)"), "%s", s);
  cr_assert(strstr(s, "prim::CallFunction(%g, %"), "linear_relu is not linear: %s", s);
  cr_assert(strstr(s, "prim::CallFunction(%f, %2, %w)"), "two arguments do not match the pattern: %s", s);
  qg__free(s);
}

Test(passes_prep, dce_keeps_side_effects_and_writes) {
  char *s = run_on_text(qg_dce_graph, "graph(%x : Tensor, %l : int[]):\n"
                                      "  %1 : Tensor = aten::relu(%x)\n"
                                      "  %m : str = prim::Constant[value=\"boom\"]()\n"
                                      "  %n : NoneType = prim::Constant()\n"
                                      "   = prim::RaiseException(%m, %n)\n"
                                      "  %k : int = prim::Constant[value=1]()\n"
                                      "  %2 : int[] = aten::append(%l, %k)\n"
                                      "  %3 : Tensor = aten::relu_(%x)\n"
                                      "  %4 : Tensor = aten::neg(%x)\n"
                                      "  return (%x)\n");
  cr_assert(!strstr(s, "aten::relu(") && !strstr(s, "aten::neg"), "%s", s);
  cr_assert(strstr(s, "prim::RaiseException") && strstr(s, "aten::append") && strstr(s, "aten::relu_"), "%s", s);
  qg__free(s);
  /* a fork's body is not looked into: an unused fork stays */
  s = run_on_text(qg_dce_graph, "graph(%x : Tensor):\n"
                                "  %f : Future[Tensor] = prim::fork_0(%x)\n"
                                "  return (%x)\n"
                                "with prim::fork_0 = graph(%y : Tensor):\n"
                                "  %1 : Tensor = aten::relu(%y)\n"
                                "  return (%1)\n");
  cr_assert(strstr(s, "prim::fork_0(%x)"), "%s", s);
  qg__free(s);
}

Test(passes_prep, dequantize_never_folded) {
  char *s = run_on_text(qg_constant_propagation_graph, "graph():\n"
                                                      "  %1 : int = prim::Constant[value=2]()\n"
                                                      "  %2 : int[] = prim::ListConstruct(%1)\n"
                                                      "  %n : NoneType = prim::Constant()\n"
                                                      "  %d : Device = prim::Constant[value=\"cpu\"]()\n"
                                                      "  %f : bool = prim::Constant[value=0]()\n"
                                                      "  %3 : Tensor = aten::ones(%2, %n, %n, %d, %f)\n"
                                                      "  %4 : Tensor = aten::dequantize(%3)\n"
                                                      "  %5 : Tensor = aten::relu_(%3)\n"
                                                      "  return (%4)\n");
  /* ones is written by relu_ later: not folded either */
  cr_assert(strstr(s, "aten::dequantize") && strstr(s, "aten::ones") && !strstr(s, "ListConstruct"), "%s", s);
  qg__free(s);
}

/* The dequantize_skipped case's folded constant holds what PyTorch printed: 1 1 1 1 as quint8
 * with scale 0.5 and zero point 0 (stored integers 2). */
Test(passes_prep, quantize_fold_value) {
  cJSON *doc = qg_test_load_json("prep/constant_propagation.json");
  const char *before = NULL;
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
    const char *name = qg_test_json_str(c, "name");
    if (name && strcmp(name, "dequantize_skipped") == 0) before = qg_test_json_str(c, "before");
  }
  cr_assert(before);
  qg_graph_t *g = qg_test_parse(before);
  cJSON_Delete(doc);
  QG_ASSERT_OK(qg_constant_propagation_graph(g, NULL));
  const qg_tensor *t = NULL;
  for (qg_node_t *n = qg_block_first(qg_graph_block(g)); n != qg_graph_block(g)->ret; n = n->next) {
    const qg_attr *a = qg_node_attr(n, qg_sym_lookup("value"));
    if (n->kind == QG_SYM_prim_Constant && a && a->kind == QG_ATTR_TENSOR) t = a->t;
  }
  cr_assert(t, "no tensor constant after folding");
  cr_assert_eq(t->dtype, QG_DTYPE_QUINT8);
  cr_assert(t->quantizer && t->quantizer->scheme == QG_QSCHEME_PER_TENSOR_AFFINE);
  cr_expect_eq(t->quantizer->scale, 0.5);
  cr_expect_eq(t->quantizer->zero_point, 0);
  cr_assert_eq(qg_tensor_numel(t), 4);
  for (int k = 0; k < 4; k++) cr_expect_eq(((const uint8_t *)qg_tensor_data(t))[k], 2);
  qg_graph_destroy(g);
}

Test(passes_prep, constant_propagation_values) {
  char *s = run_on_text(qg_constant_propagation_graph,
                        "graph(%x : Tensor):\n"
                        "  %a : float = prim::Constant[value=1.5]()\n"
                        "  %b : int = prim::Constant[value=2]()\n"
                        "  %c : float = aten::mul(%a, %b)\n"
                        "  %t : bool = aten::gt(%c, %a)\n"
                        "  %l : float[] = prim::ListConstruct(%a, %c)\n"
                        "  %u : bool[] = prim::ListConstruct(%t, %t)\n"
                        "  %s : str = prim::Constant[value=\"ab\"]()\n"
                        "  %s2 : str = aten::add(%s, %s)\n"
                        "  %o : (float[], bool[], str, Tensor) = prim::TupleConstruct(%l, %u, %s2, %x)\n"
                        "  return (%o)\n");
  cr_assert(strstr(s, "float[] = prim::Constant[value=[1.5, 3.]]()"), "%s", s);
  cr_assert(strstr(s, "bool[] = prim::Constant[value=[True, True]]()"), "%s", s);
  cr_assert(strstr(s, "str = prim::Constant[value=\"abab\"]()"), "%s", s);
  cr_assert(!strstr(s, "aten::mul") && !strstr(s, "aten::gt"), "%s", s);
  qg__free(s);
  s = run_on_text(qg_constant_propagation_graph, "graph(%x : Tensor):\n"
                                                 "  %1 : int[] = prim::ListConstruct()\n"
                                                 "  %2 : float[] = prim::ListConstruct()\n"
                                                 "  %3 : Tensor[] = prim::ListConstruct(%x)\n"
                                                 "  %4 : (int[], float[], Tensor[]) = prim::TupleConstruct(%1, %2, %3)\n"
                                                 "  return (%4)\n");
  cr_assert(strstr(s, "int[] = prim::Constant[value=annotate(List[int], [])]()"), "%s", s);
  cr_assert(strstr(s, "float[] = prim::Constant[value=annotate(List[float], [])]()"), "%s", s);
  cr_assert(strstr(s, "Tensor[] = prim::ListConstruct(%x)"), "%s", s);
  qg__free(s);
}

Test(passes_prep, convolution_with_non_constant_parameters_left_alone) {
  char *s = run_on_text(qg_replace_convolution_graph,
                        "graph(%x : Tensor, %w : Tensor, %st : int[]):\n"
                        "  %n : NoneType = prim::Constant()\n"
                        "  %p : int[] = prim::Constant[value=[0, 0]]()\n"
                        "  %f : bool = prim::Constant[value=0]()\n"
                        "  %g : int = prim::Constant[value=1]()\n"
                        "  %1 : Tensor = aten::_convolution(%x, %w, %n, %st, %p, %p, %f, %p, %g, %f, %f, %f, %f)\n"
                        "  %2 : Tensor = aten::_convolution(%1, %w, %n, %p, %p, %p, %f, %p, %g, %f, %f, %f)\n"
                        "  %q : int[] = prim::Constant[value=[0]]()\n"
                        "  %3 : Tensor = aten::_convolution(%2, %w, %n, %p, %p, %p, %f, %q, %g, %f, %f, %f)\n"
                        "  return (%3)\n");
  /* stride is a graph input: PyTorch would fail, we leave it; ranks must agree too */
  cr_assert(strstr(s, "aten::_convolution(%x, %w, %n, %st"), "%s", s);
  cr_assert(strstr(s, "aten::conv2d(%1, %w, %n, %p, %p, %p, %g)"), "%s", s);
  cr_assert(strstr(s, "%p, %p, %f, %q, %g, %f, %f, %f)"), "mixed ranks stay: %s", s);
  qg__free(s);
}

Test(passes_prep, remove_list_mutation_blocked_by_calls) {
  char *s = run_on_text(qg_remove_list_mutation_graph,
                        "graph(%x : int, %f : Function):\n"
                        "  %l : int[] = prim::ListConstruct()\n"
                        "  %y : int = prim::CallFunction(%f, %x)\n"
                        "  %1 : int[] = aten::append(%l, %y)\n"
                        "  %m : int[] = prim::ListConstruct(%x)\n"
                        "  %2 : int[] = aten::append(%m, %x)\n"
                        "  %3 : int[] = aten::append(%2, %x)\n"
                        "  return (%l, %m)\n");
  cr_assert(strstr(s, "aten::append(%l, %y)"), "a call in between blocks the fold: %s", s);
  cr_assert(strstr(s, "%m : int[] = prim::ListConstruct(%x, %x, %x)"), "append's output is the list: %s", s);
  qg__free(s);
}

Test(passes_prep, inline_fork_wait_bad_fork) {
  /* a fork without a Subgraph (hand-written text) is an error naming the line */
  qg_graph_t *g = NULL;
  const char *text = "graph(%x : Tensor):\n  %f : Future[Tensor] = prim::fork(%x)\n  return (%f)\n";
  QG_ASSERT_OK(qg_graph_parse(text, strlen(text), NULL, &g));
  cr_assert_eq(qg_inline_fork_wait_graph(g, NULL), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "inline_fork_wait: line 2: prim::fork needs a Subgraph"), "%s", qg_last_error());
  QG_ASSERT_OK(qg_graph_lint(g));
  qg_graph_destroy(g);
}

Test(passes_prep, registry_rows) {
  static const char *const names[] = {"swap_functional_linear", "inline_fork_wait", "fuse_linear", "replace_convolution",
                                      "remove_list_mutation",   "constant_propagation", "dce"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const qg_pass_info *p = qg_pass_find(names[i]);
    cr_assert(p && p->run && p->help, "%s is not registered", names[i]);
  }
  /* the module form through the table */
  qg_module *m = load_seed("fuse_linear__bias_2d");
  qg_pass_report r = {0};
  QG_ASSERT_OK(qg_pass_find("fuse_linear")->run(m, &r));
  cr_assert_eq(r.changed, 1);
  file_check(method_graph(m, "", "forward"), "aten::linear", "aten::matmul");
  qg_module_free(m);
}

/* ---- OOM ---------------------------------------------------------------------------------------- */

typedef struct oom_case {
  const char *text;
  qg_graph_pass_fn pass;
  long run; /* the helper injects at allocation 0, 1, 2, ... of successive runs */
} oom_case;

/* Parses outside the injection window, lets allocation `run` of the pass fail; whatever
 * happened, the graph lints clean and nothing leaks. */
static qg_status pass_under_oom(void *ud) {
  oom_case *c = ud;
  long at = c->run++;
  qg__alloc_fail_after(-1);
  qg_graph_t *g = qg_test_parse(c->text);
  qg__alloc_fail_after(at);
  qg_status st = c->pass(g, NULL);
  int failed = qg_test_injection_end();
  cr_assert_eq(qg_graph_lint(g), QG_OK, "allocation %ld: lint after %s: %s", at, qg_status_name(st), qg_last_error());
  qg_graph_destroy(g);
  qg_test_injection_report(failed);
  return st;
}

static void every_alloc_failure(const char *group, const char *name, qg_graph_pass_fn pass) {
  char rel[128];
  snprintf(rel, sizeof rel, "prep/%s.json", group);
  cJSON *doc = qg_test_load_json(rel);
  char *text = strdup(qg_test_json_str(qg_test_prep_case(doc, name), "before"));
  cJSON_Delete(doc);
  oom_case c = {text, pass, -1};
  QG_ASSERT_OK(pass_under_oom(&c)); /* warm up: registries and symbols are built once per process */
  c.run = 0;
  size_t runs = qg_test_every_alloc_failure(pass_under_oom, &c);
  cr_assert(runs > 20, "%s: only %zu allocations", name, runs);
  free(text);
}

Test(passes_prep, oom_fuse_linear) { every_alloc_failure("fuse_linear", "fuse_linear__bias_2d:<root>", qg_fuse_linear_graph); }

Test(passes_prep, oom_replace_convolution) {
  /* constant propagation runs nodes through the interpreter: its OOM paths are covered too */
  every_alloc_failure("replace_convolution", "conv_trace:conv2d", qg_replace_convolution_graph);
}

Test(passes_prep, oom_inline_fork_wait) {
  every_alloc_failure("inline_fork_wait", "quantize_fork_wait:fork_ops", qg_inline_fork_wait_graph);
}
