/* Finalize and its passes (passes.h: insert_prepack_unpack, quant_fusion, cse, constant_pooling,
 * freeze, fold_prepack, finalize, dedup_module_uses, fuse_quantized_add_relu), against what
 * torch 1.13 recorded (tools/fixtures/gen_finalize.py -> tests/fixtures/finalize/):
 *
 * - fusion_rules_match_pytorch: minimal debug graphs for every rule family (and cases that must
 *   not fuse), our passes against PyTorch's on the same text, value numbers aside;
 *   every_rule_exercised: each rule of each table fires on at least one recorded input.
 * - module cases: modules as InsertQuantDeQuant left them (PyTorch's), finalized by us. The
 *   sequence of ops must be PyTorch's (constants, GetAttrs and what only feeds an int8 prepack
 *   left out), and the whole graph text, with the prepacks folded as PyTorch folds them.
 * - the seed's graph assertions (test_finalize_for_linear, test_quantized_conv, ...), verbatim,
 *   on our final graph (Finalize, then constant propagation + dce as convert_jit does).
 * - dedup_module_uses and freeze on their own, outputs before/after compared; errors; OOM. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "ops/cpu/quant_engine.h"

#include "base/alloc.h"
#include "ir/filecheck.h"
#include "ir/subgraph.h"
#include "module/module.h"
#include "module/safetensors.h"
#include "passes/passes.h"
#include "passes/quant_fusion_patterns.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/graph_compare.h"
#include "util/testutil.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* text with `___torch_mangle_N.` removed (PyTorch's freeze clones, renaming every class). */
static char *demangle(const char *text) {
  char *out = strdup(text);
  cr_assert(out);
  const char *tag = "___torch_mangle_";
  char *p;
  while ((p = strstr(out, tag)) != NULL) {
    char *q = p + strlen(tag);
    while (*q >= '0' && *q <= '9') q++;
    if (*q == '.') q++;
    memmove(p, q, strlen(q) + 1);
  }
  return out;
}

static char *unquantize_constants(const char *text);

/* Value numbers, class-name mangling and quantized tensor constants' values (which PyTorch
 * prints inline and graph text here as <Tensor>) aside. */
static char *normalized(const char *text) {
  char *u = unquantize_constants(text);
  char *d = demangle(u);
  free(u);
  char *r = qg_test_renumber(d);
  free(d);
  return r;
}

static char *graph_text(const qg_graph_t *g) {
  qg_print_opts o = {.no_source = 1};
  char *s = qg_graph_to_string(g, &o);
  cr_assert(s);
  char *copy = strdup(s);
  qg__free(s);
  return copy;
}

/* Our graph prints as PyTorch's `expected`, up to value numbers and class-name mangling. */
static int same_graph(const qg_graph_t *g, const char *expected, const char *what, int strict) {
  char *got = graph_text(g);
  char *a = normalized(got), *b = normalized(expected);
  int same = strcmp(a, b) == 0;
  if (strict) cr_expect(same, "%s: graph differs from PyTorch's\n--- got:\n%s\n--- PyTorch:\n%s", what, got, expected);
  free(a);
  free(b);
  free(got);
  return same;
}

static void lint_module(const qg_module *m) {
  for (size_t i = 0; i < qg_cu_ntypes(m->cu); i++) {
    qg_type_t *t = qg_cu_type_at(m->cu, i);
    for (size_t k = 0; k < t->nmethods; k++)
      if (t->methods[k].graph)
        cr_assert_eq(qg_graph_lint(t->methods[k].graph), QG_OK, "%s.%s: %s", t->qualname, t->methods[k].name,
                     qg_last_error());
  }
}

static qg_graph_t *forward_of(const qg_module *m) {
  qg_method *fwd = qg_class_find_method(qg_object_class(&m->root), "forward");
  cr_assert(fwd && fwd->graph);
  return fwd->graph;
}

static const cJSON *json_item(const cJSON *o, const char *key) {
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, key);
  cr_assert(e, "fixture lacks %s", key);
  return e;
}

static void check_directives(const qg_graph_t *g, const char *directives, const char *what) {
  qg_filecheck_t *fc;
  QG_ASSERT_OK(qg_filecheck_parse_directives(directives, &fc));
  qg_status st = qg_filecheck_run_graph(fc, g);
  if (st != QG_OK) {
    char *t = graph_text(g);
    cr_expect(0, "%s: %s\n%s", what, qg_last_error(), t);
    free(t);
  }
  qg_filecheck_destroy(fc);
}

/* ---- can the interpreter fold prepacks? --------------------------------------------------- */

/* Freezing folds quantize_per_tensor(constant weight) and FoldQuantizedPrepackingOps runs the
 * prepack ops: the interpreter must run them (checked once; every fold-dependent check needs it). */
static void assert_interpreter_folds(void) {
  static int checked;
  if (checked) return;
  static const char text[] =
      "graph(%w : Tensor):\n"
      "  %s : float = prim::Constant[value=0.10000000000000001]()\n"
      "  %z : int = prim::Constant[value=0]()\n"
      "  %t : int = prim::Constant[value=12]()\n"
      "  %q : Tensor = aten::quantize_per_tensor(%w, %s, %z, %t)\n"
      "  %none : NoneType = prim::Constant()\n"
      "  %p : __torch__.torch.classes.quantized.LinearPackedParamsBase = quantized::linear_prepack(%q, %none)\n"
      "  return (%p)\n";
  qg_graph_t *g = qg_test_parse(text);
  qg_tensor *w;
  int64_t shape[2] = {2, 2};
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 2, shape, &w));
  qg_ival in = qg_ival_tensor(w), out = qg_ival_none();
  QG_ASSERT_OK(qg_run_graph(g, &in, 1, NULL, &out));
  cr_assert_eq(out.kind, QG_IVAL_OBJECT, "linear_prepack returned no packed-params object");
  qg_ival_release(&out);
  qg_ival_release(&in);
  qg_graph_destroy(g);
  checked = 1;
}

/* ---- rule cases (fusion.json) ------------------------------------------------------------- */

static void run_rule_pass(qg_graph_t *g, const char *pass, qg_pass_report *r) {
  if (strcmp(pass, "fusion") == 0 || strcmp(pass, "prepack") == 0) {
    QG_ASSERT_OK(qg_insert_prepack_unpack_graph(g, r));
    QG_ASSERT_OK(qg_graph_lint(g));
    if (strcmp(pass, "fusion") == 0) QG_ASSERT_OK(qg_quant_fusion_graph(g, 0, r));
  } else if (strcmp(pass, "add_relu") == 0) {
    QG_ASSERT_OK(qg_fuse_quantized_add_relu_graph(g, r));
  } else if (strcmp(pass, "cse") == 0) {
    QG_ASSERT_OK(qg_cse_graph(g, r));
  } else if (strcmp(pass, "constant_pooling") == 0) {
    QG_ASSERT_OK(qg_constant_pooling_graph(g, r));
  } else {
    cr_assert_fail("unknown pass %s", pass);
  }
  QG_ASSERT_OK(qg_graph_lint(g));
}

Test(finalize, fusion_rules_match_pytorch) {
  cJSON *doc = qg_test_load_json("finalize/fusion.json");
  const cJSON *c;
  size_t n = 0;
  cJSON_ArrayForEach(c, json_item(doc, "cases")) {
    const char *name = qg_test_json_str(c, "name"), *pass = qg_test_json_str(c, "pass");
    qg_graph_t *g = qg_test_parse(qg_test_json_str(c, "input"));
    qg_pass_report r = {0};
    run_rule_pass(g, pass, &r);
    same_graph(g, qg_test_json_str(c, "output"), name, 1);
    /* a case PyTorch does not change must not be changed here either */
    if (strcmp(qg_test_json_str(c, "input"), qg_test_json_str(c, "output")) == 0 && strcmp(pass, "fusion") != 0)
      cr_expect_eq(r.changed, 0, "%s: changed %zu", name, r.changed);
    qg_graph_destroy(g);
    n++;
  }
  cr_assert(n > 90, "only %zu cases", n);
  cJSON_Delete(doc);
}

/* Runs rules one at a time on g, counting the matches rewritten per rule into hits[]. */
static void count_rules(qg_graph_t *g, const qg_quant_fusion_rule *rules, size_t n, size_t *hits) {
  for (size_t i = 0; i < n; i++) {
    qg_pass_report r = {0};
    QG_ASSERT_OK(qg__quant_rules_run(g, &rules[i], 1, &r));
    hits[i] += r.changed;
  }
  QG_ASSERT_OK(qg_graph_lint(g));
}

/* Rules that can never fire in sequence, as in PyTorch: the .vec overloads of
 * upsample_nearest1d / upsample_linear1d have as many inputs as the plain overloads, whose rules
 * come first and rewrite them the same way. They must match those inputs on their own. */
static int shadowed(const qg_quant_fusion_rule *r) {
  return strstr(r->pattern, "%scale_factors") &&
         (strstr(r->op, "upsample_nearest1d") || strstr(r->op, "upsample_linear1d"));
}

static void assert_all_hit(const qg_quant_fusion_rule *rules, size_t n, const size_t *hits, const char *table) {
  for (size_t i = 0; i < n; i++)
    cr_expect(hits[i] > 0 || shadowed(&rules[i]), "%s rule %zu (%s) never fired on the recorded inputs", table, i,
              rules[i].op);
}

/* A shadowed rule alone on the recorded inputs (after prepack insertion) fires somewhere. */
static void assert_shadowed_match(const qg_quant_fusion_rule *rules, size_t n, const cJSON *cases) {
  for (size_t i = 0; i < n; i++) {
    if (!shadowed(&rules[i])) continue;
    size_t hits = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
      if (strcmp(qg_test_json_str(c, "pass"), "fusion") != 0) continue;
      qg_graph_t *g = qg_test_parse(qg_test_json_str(c, "input"));
      count_rules(g, &rules[i], 1, &hits);
      qg_graph_destroy(g);
    }
    cr_expect(hits > 0, "rule %zu (%s) matches no recorded input", i, rules[i].op);
  }
}

Test(finalize, every_rule_exercised) {
  size_t nstatic, nprepack, nadd, ndyn;
  const qg_quant_fusion_rule *st = qg__quant_fusion_rules(0, &nstatic), *pp = qg__prepack_unpack_rules(&nprepack),
                             *ar = qg__add_relu_rules(&nadd), *dy = qg__quant_fusion_rules(1, &ndyn);
  size_t *hs = calloc(nstatic, sizeof *hs), *hp = calloc(nprepack, sizeof *hp), *ha = calloc(nadd, sizeof *ha),
         *hd = calloc(ndyn, sizeof *hd);
  cJSON *doc = qg_test_load_json("finalize/fusion.json");
  const cJSON *c;
  cJSON_ArrayForEach(c, json_item(doc, "cases")) {
    const char *pass = qg_test_json_str(c, "pass");
    qg_graph_t *g = qg_test_parse(qg_test_json_str(c, "input"));
    if (strcmp(pass, "add_relu") == 0) {
      count_rules(g, ar, nadd, ha);
    } else if (strcmp(pass, "fusion") == 0 || strcmp(pass, "prepack") == 0) {
      count_rules(g, pp, nprepack, hp);
      if (strcmp(pass, "fusion") == 0) count_rules(g, st, nstatic, hs);
    }
    qg_graph_destroy(g);
  }
  assert_shadowed_match(st, nstatic, json_item(doc, "cases"));
  cJSON_Delete(doc);
  /* dynamic rules: on the forward graphs of the dynamic module cases */
  static const char *const dyn[] = {"dynamic_linear", "dynamic_multi_op", "dynamic_fp16", "dynamic_float_input"};
  for (size_t i = 0; i < sizeof dyn / sizeof dyn[0]; i++) {
    char rel[128];
    snprintf(rel, sizeof rel, "finalize/%s.safetensors", dyn[i]);
    qg_module *m;
    QG_ASSERT_OK(qg_module_load(qg_test_fixture(rel), &m));
    count_rules(forward_of(m), pp, nprepack, hp);
    count_rules(forward_of(m), dy, ndyn, hd);
    qg_module_free(m);
  }
  assert_all_hit(st, nstatic, hs, "static");
  assert_all_hit(pp, nprepack, hp, "prepack");
  assert_all_hit(ar, nadd, ha, "add_relu");
  assert_all_hit(dy, ndyn, hd, "dynamic");
  cr_assert_gt(nstatic, 70);
  free(hs);
  free(hp);
  free(ha);
  free(hd);
}

/* ---- module cases ------------------------------------------------------------------------- */

static cJSON *case_json(const char *name) {
  char rel[160];
  snprintf(rel, sizeof rel, "finalize/%s.json", name);
  return qg_test_load_json(rel);
}

static qg_module *case_module(const cJSON *doc) {
  char rel[160];
  snprintf(rel, sizeof rel, "finalize/%s", qg_test_json_str(doc, "bundle"));
  qg_module *m;
  QG_ASSERT_OK(qg_module_load(qg_test_fixture(rel), &m));
  return m;
}

static int is_dynamic(const cJSON *doc) { return strcmp(qg_test_json_str(doc, "quant_type"), "dynamic") == 0; }

/* Finalize, then what convert_jit does after it (constant propagation + dce on forward). */
static qg_module *finalized(const cJSON *doc, int convert_steps) {
  qg_module *m = case_module(doc);
  qg_pass_report r = {0};
  QG_ASSERT_OK(qg_finalize(m, is_dynamic(doc), NULL, 0, &r));
  lint_module(m);
  if (convert_steps) {
    QG_ASSERT_OK(qg_constant_propagation_graph(forward_of(m), NULL));
    QG_ASSERT_OK(qg_dce_graph(forward_of(m), NULL));
    lint_module(m);
  }
  return m;
}

/* Finalize's steps one by one (what qg_finalize runs), linting everything after each. */
static qg_module *finalized_step_by_step(const cJSON *doc) {
  qg_module *m = case_module(doc);
  qg_method *fwd = qg_class_find_method(qg_object_class(&m->root), "forward");
  QG_ASSERT_OK(qg_clear_profiling_graph(fwd->graph, NULL));
  lint_module(m);
  QG_ASSERT_OK(qg_insert_prepack_unpack_graph(fwd->graph, NULL));
  lint_module(m);
  QG_ASSERT_OK(qg_quant_fusion_graph(fwd->graph, is_dynamic(doc), NULL));
  lint_module(m);
  QG_ASSERT_OK(qg_freeze(m, NULL, 0, NULL));
  lint_module(m);
  QG_ASSERT_OK(qg_fold_quantized_prepacking_ops(m, NULL));
  lint_module(m);
  return m;
}

static int is_int8_prepack(const qg_node_t *n) {
  const char *k = qg_sym_str(n->kind);
  return strncmp(k, "quantized::", 11) == 0 && strstr(k, "_prepack") && !strstr(k, "fp16");
}

/* Only feeds int8 prepacks (directly or through nodes that do): the weight chain PyTorch folds. */
static int feeds_prepack_only(const qg_node_t *n, int depth) {
  if (is_int8_prepack(n)) return 1;
  if (depth > 8 || n->noutputs == 0) return 0;
  for (uint32_t i = 0; i < n->noutputs; i++) {
    if (n->outputs[i]->nuses == 0) return 0;
    for (uint32_t u = 0; u < n->outputs[i]->nuses; u++)
      if (!feeds_prepack_only(n->outputs[i]->uses[u].user, depth + 1)) return 0;
  }
  return 1;
}

static int structure_node(qg_node_t *n, void *ud) {
  qg_strbuf *sb = ud;
  if (n->kind == QG_SYM_prim_Constant || n->kind == QG_SYM_prim_GetAttr || feeds_prepack_only(n, 0)) return 0;
  qg_strbuf_printf(sb, "%s/%u ", qg_sym_str(n->kind), n->ninputs);
  return 0;
}

/* The ops of g in order (with their arity), without constants, GetAttrs and weight packing. */
static char *structure(const qg_graph_t *g) {
  qg_strbuf sb = QG_STRBUF_INIT;
  qg_graph_walk(g, structure_node, &sb);
  cr_assert(qg_strbuf_ok(&sb) == QG_OK);
  char *s = strdup(qg_strbuf_cstr(&sb));
  qg_strbuf_free(&sb);
  return s;
}

/* PyTorch prints quantized tensor constants as `[value= 0  0 [ QuantizedCPUQUInt8Type{4},
 * qscheme: ..., zero_point: 0 ]]`, which graph text here does not read back: the value
 * becomes `<Tensor>` (the structure does not depend on it). */
static char *unquantize_constants(const char *text) {
  size_t n = strlen(text);
  char *out = malloc(n + 1), *o = out;
  cr_assert(out);
  for (const char *line = text; *line;) {
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line + 1) : strlen(line);
    const char *v = strstr(line, "[value="), *q = strstr(line, "[ Quantized"), *close = strstr(line, " ]]()");
    if (v && q && close && v < q && q < close && close < line + len) {
      memcpy(o, line, (size_t)(v - line));
      o += v - line;
      o += sprintf(o, "[value=<Tensor>]()");
      size_t rest = len - (size_t)(close + 5 - line);
      memcpy(o, close + 5, rest);
      o += rest;
    } else {
      memcpy(o, line, len);
      o += len;
    }
    line += len;
  }
  *o = '\0';
  return out;
}

static void check_structure(const qg_graph_t *g, const char *pytorch, const char *what) {
  char *text = unquantize_constants(pytorch);
  qg_graph_t *pg = qg_test_parse(text);
  free(text);
  char *a = structure(g), *b = structure(pg);
  cr_expect_str_eq(a, b, "%s: ops differ from PyTorch's\n  ours:    %s\n  PyTorch: %s", what, a, b);
  free(a);
  free(b);
  qg_graph_destroy(pg);
}

/* Root attribute names (slot order) and submodules, as PyTorch lists them. */
static void check_members(const qg_module *m, const cJSON *doc, const char *attrs_key, const char *subs_key,
                          const char *what) {
  const qg_type_t *cls = qg_object_class(&m->root);
  size_t na = 0, ns = 0;
  for (size_t i = 0; i < cls->nslots; i++) {
    const cJSON *list = json_item(doc, cls->slots[i].kind == QG_SLOT_MODULE ? subs_key : attrs_key);
    size_t *k = cls->slots[i].kind == QG_SLOT_MODULE ? &ns : &na;
    const cJSON *e = cJSON_GetArrayItem(list, (int)*k);
    cr_expect(e && strcmp(e->valuestring, cls->slots[i].name) == 0, "%s: slot %zu is %s, PyTorch has %s", what, i,
              cls->slots[i].name, e ? e->valuestring : "nothing");
    (*k)++;
  }
  cr_expect_eq(na, (size_t)cJSON_GetArraySize(json_item(doc, attrs_key)), "%s: %zu attributes", what, na);
  cr_expect_eq(ns, (size_t)cJSON_GetArraySize(json_item(doc, subs_key)), "%s: %zu submodules", what, ns);
}

Test(finalize, module_cases_match_pytorch) {
  cJSON *index = qg_test_load_json("finalize/index.json");
  const cJSON *e;
  size_t n = 0, exact = 0;
  assert_interpreter_folds();
  cJSON_ArrayForEach(e, json_item(index, "module_cases")) {
    cJSON *doc = case_json(e->valuestring);
    qg_module *m = finalized_step_by_step(doc);
    check_structure(forward_of(m), qg_test_json_str(doc, "finalize_graph"), e->valuestring);
    exact += same_graph(forward_of(m), qg_test_json_str(doc, "finalize_graph"), e->valuestring, 1);
    check_members(m, doc, "final_attributes", "final_submodules", e->valuestring);
    QG_ASSERT_OK(qg_constant_propagation_graph(forward_of(m), NULL));
    QG_ASSERT_OK(qg_dce_graph(forward_of(m), NULL));
    lint_module(m);
    check_structure(forward_of(m), qg_test_json_str(doc, "final_graph"), e->valuestring);
    same_graph(forward_of(m), qg_test_json_str(doc, "final_graph"), e->valuestring, 1);
    qg_module_free(m);
    cJSON_Delete(doc);
    n++;
  }
  cr_assert_geq(n, 40);
  cr_expect_eq(exact, n);
  cJSON_Delete(index);
}

/* ---- the seed's assertions ---------------------------------------------------------------- */

/* Runs `always` and `folded` (the checks that need the prepacks folded) on the final graph of
 * case `name`. */
static void seed_check(const char *name, const char *always, const char *folded) {
  cJSON *doc = case_json(name);
  qg_module *m = finalized(doc, 1);
  if (always) check_directives(forward_of(m), always, name);
  if (folded) {
    assert_interpreter_folds();
    check_directives(forward_of(m), folded, name);
  }
  qg_module_free(m);
  cJSON_Delete(doc);
}

#define ONE_QUANTIZE "# CHECK-COUNT-EXACTLY-1: aten::quantize_per_tensor\n"

Test(finalize, test_finalize_for_linear) {
  seed_check("finalize_for_linear", "# CHECK: quantized::linear\n",
             ONE_QUANTIZE "# CHECK-NOT: quantized::linear_prepack\n# CHECK: quantized::linear\n");
}

Test(finalize, test_finalize_debug) {
  /* the debug graph PyTorch made (InsertQuantDeQuant's job) passes the seed's check ... */
  cJSON *doc = case_json("finalize_debug");
  qg_graph_t *dbg = qg_test_parse(qg_test_json_str(doc, "debug_graph"));
  check_directives(dbg,
                   "# CHECK-NOT: quantized::conv2d\n# CHECK: aten::conv2d\n# CHECK: aten::avg_pool2d\n"
                   "# CHECK: aten::q_scale\n# CHECK-NEXT: aten::q_zero_point\n# CHECK-NEXT: prim::dtype\n"
                   "# CHECK-NEXT: aten::quantize_per_tensor\n# CHECK: aten::dequantize\n",
                   "debug graph");
  qg_graph_destroy(dbg);
  cJSON_Delete(doc);
  /* ... and finalizing (not debug) gives the quantized conv with avg_pool2d on the quantized tensor */
  seed_check("finalize_debug",
             "# CHECK-NOT: aten::conv2d\n# CHECK: quantized::conv2d\n# CHECK-NEXT: aten::avg_pool2d\n"
             "# CHECK-NEXT: aten::dequantize\n",
             NULL);
}

Test(finalize, test_quantized_conv) {
  static const char *const cases[] = {"conv1d", "conv2d", "conv3d", "conv2d__trace"};
  static const char *const ops[] = {"conv1d", "conv2d", "conv3d", "conv2d"};
  for (size_t i = 0; i < 4; i++) {
    char always[128], folded[256];
    snprintf(always, sizeof always, "# CHECK: quantized::%s\n", ops[i]);
    snprintf(folded, sizeof folded, ONE_QUANTIZE "# CHECK-NOT: quantized::%s_prepack\n", ops[i]);
    seed_check(cases[i], always, folded);
  }
}

Test(finalize, test_quantized_conv_relu) {
  static const char *const cases[] = {"conv1d_relu", "conv2d_relu", "conv3d_relu", "conv2d_relu_inplace",
                                      "conv2d_frelu", "conv2d_frelu_inplace"};
  static const int dims[] = {1, 2, 3, 2, 2, 2};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char always[512];
    snprintf(always, sizeof always,
             "# CHECK: quantized::conv%dd_relu(\n"
             "# CHECK-NOT: aten::conv%dd(\n# CHECK-NOT: aten::relu\n# CHECK-NOT: quantized::conv%dd(\n"
             "# CHECK-NOT: quantized::relu(\n",
             dims[i], dims[i], dims[i]);
    /* the seed runs check() and check_not() as separate FileChecks: split them */
    char *nots = strstr(always, "# CHECK-NOT");
    char first[128];
    snprintf(first, sizeof first, "%.*s", (int)(nots - always), always);
    seed_check(cases[i], first, NULL);
    seed_check(cases[i], nots, NULL);
  }
}

Test(finalize, test_quantized_add_alpha) {
  seed_check("add_alpha", "# CHECK: quantized::add\n", NULL);
  seed_check("add_alpha", "# CHECK-COUNT-EXACTLY-3: quantized::add\n", NULL);
  seed_check("add_alpha", "# CHECK-NOT: aten::add\n# CHECK-NOT: aten::add_\n", NULL);
}

Test(finalize, test_quantized_add) {
  static const char *const q[] = {"add", "add_inplace"};
  for (size_t i = 0; i < 2; i++) {
    seed_check(q[i], "# CHECK: quantized::add\n", NULL);
    seed_check(q[i], "# CHECK-NOT: aten::add\n# CHECK-NOT: aten::add_\n", NULL);
  }
  seed_check("add_not_quantized", "# CHECK: aten::add\n", NULL);
  seed_check("add_not_quantized", "# CHECK-NOT: quantized::add\n", NULL);
}

Test(finalize, test_quantized_add_scalar) {
  static const char *const q[] = {"add_scalar", "add_scalar_inplace"};
  for (size_t i = 0; i < 2; i++) {
    seed_check(q[i], "# CHECK: quantized::add_scalar\n", NULL);
    seed_check(q[i], "# CHECK-NOT: aten::add\n# CHECK-NOT: aten::add_\n", NULL);
  }
}

Test(finalize, test_quantized_add_relu) {
  seed_check("add_relu", "# CHECK: quantized::add_relu(\n", NULL);
  seed_check("add_relu", "# CHECK-NOT: aten::add\n# CHECK-NOT: aten::relu\n", NULL);
}

Test(finalize, test_quantized_cat) {
  seed_check("cat", "# CHECK: quantized::cat\n", NULL);
  seed_check("cat", "# CHECK-NOT: aten::cat\n", NULL);
  seed_check("cat_not_quantized", "# CHECK: aten::cat\n", NULL);
  seed_check("cat_not_quantized", "# CHECK-NOT: quantized::cat\n", NULL);
}

Test(finalize, test_qbatch_norm) {
  seed_check("bn2d", "# CHECK: quantized::batch_norm\n", NULL);
  seed_check("bn2d", "# CHECK-NOT: aten::batch_norm\n", NULL);
  static const char *const relu[] = {"bn2d_relu_inplace", "bn3d_frelu"};
  for (size_t i = 0; i < 2; i++) {
    seed_check(relu[i], "# CHECK: quantized::batch_norm_relu\n", NULL);
    seed_check(relu[i], "# CHECK-NOT: aten::batch_norm\n# CHECK-NOT: aten::relu\n# CHECK-NOT: aten::relu_\n", NULL);
  }
}

Test(finalize, test_quantized_mul) {
  static const char *const q[] = {"mul", "mul_inplace"};
  for (size_t i = 0; i < 2; i++) {
    seed_check(q[i], "# CHECK: quantized::mul\n", NULL);
    seed_check(q[i], "# CHECK-NOT: aten::mul\n# CHECK-NOT: aten::mul_\n", NULL);
  }
}

Test(finalize, test_quantized_mul_scalar) {
  static const char *const q[] = {"mul_scalar", "mul_scalar_inplace"};
  for (size_t i = 0; i < 2; i++) {
    seed_check(q[i], "# CHECK: quantized::mul_scalar\n", NULL);
    seed_check(q[i], "# CHECK-NOT: aten::mul\n# CHECK-NOT: aten::mul_\n", NULL);
  }
}

Test(finalize, test_hardswish_elu_norms) {
  static const struct {
    const char *name, *op;
  } k[] = {{"hardswish", "hardswish"}, {"elu", "elu"}, {"layer_norm", "layer_norm"},
           {"group_norm", "group_norm"}, {"instance_norm1d", "instance_norm"}};
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
    char always[96], nots[160];
    snprintf(always, sizeof always, "# CHECK: quantized::%s\n", k[i].op);
    snprintf(nots, sizeof nots, "# CHECK-NOT: aten::%s\n# CHECK-NOT: aten::%s_\n", k[i].op, k[i].op);
    seed_check(k[i].name, always, NULL);
    seed_check(k[i].name, nots, NULL);
  }
}

Test(finalize, test_linear) {
  static const char *const plain[] = {"linear", "linear__trace", "func_linear"};
  for (size_t i = 0; i < 3; i++)
    seed_check(plain[i], "# CHECK: quantized::linear\n", ONE_QUANTIZE "# CHECK-NOT: quantized::linear_prepack\n");
  static const char *const relu[] = {"linear_relu", "func_linear_frelu"};
  for (size_t i = 0; i < 2; i++) {
    seed_check(relu[i], "# CHECK: quantized::linear_relu\n", NULL);
    seed_check(relu[i],
               "# CHECK-NOT: aten::linear\n# CHECK-NOT: aten::relu\n# CHECK-NOT: quantized::linear(\n"
               "# CHECK-NOT: quantized::relu(\n",
               NULL);
  }
}

Test(finalize, general_ops_and_clamp) {
  /* reference §4.3's verified final graph */
  seed_check("general_ops",
             "# CHECK: aten::quantize_per_tensor\n# CHECK: quantized::conv2d\n# CHECK: quantized::conv2d\n"
             "# CHECK: quantized::add_relu\n# CHECK: quantized::cat\n# CHECK: quantized::add_scalar\n"
             "# CHECK: quantized::mul_scalar\n# CHECK: aten::avg_pool2d\n# CHECK: aten::sigmoid\n"
             "# CHECK: aten::dequantize\n",
             NULL);
  /* test_clamp: clamp / hardtanh run on the quantized tensor: one quantize, one dequantize */
  seed_check("clamp", "# CHECK-COUNT-EXACTLY-1: aten::dequantize\n# CHECK-NOT: aten::item\n",
             ONE_QUANTIZE);
}

Test(finalize, dynamic_linear) {
  /* test_single_linear_dynamic / quantize_dynamic_jit: one linear_dynamic per linear, no
   * leftover dynamic activation quantization */
  seed_check("dynamic_linear", "# CHECK-COUNT-EXACTLY-2: quantized::linear_dynamic(\n",
             "# CHECK-NOT: aten::_choose_qparams_per_tensor\n# CHECK-NOT: quantized::linear_prepack\n");
  seed_check("dynamic_multi_op", "# CHECK: aten::add\n# CHECK: quantized::linear_dynamic\n", NULL);
  /* fp16: the prepack is not folded (PyTorch folds only int8 prepacks) */
  seed_check("dynamic_fp16", "# CHECK: quantized::linear_prepack_fp16\n# CHECK: quantized::linear_dynamic_fp16\n",
             NULL);
  seed_check("dynamic_float_input", "# CHECK: quantized::linear_dynamic\n", NULL);
}

/* ---- dedup_module_uses -------------------------------------------------------------------- */

static size_t count_relu_modules(const qg_module *m) {
  const qg_type_t *cls = qg_object_class(&m->root);
  size_t n = 0;
  for (size_t i = 0; i < cls->nslots; i++)
    n += cls->slots[i].kind == QG_SLOT_MODULE && strncmp(cls->slots[i].name, "relu", 4) == 0;
  return n;
}

static qg_ival random_input(int ndim, const int64_t *shape, unsigned seed) {
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, ndim, shape, &t));
  float *d = qg_tensor_data(t);
  for (int64_t i = 0; i < qg_tensor_numel(t); i++) {
    seed = seed * 1103515245u + 12345u;
    d[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return qg_ival_tensor(t);
}

Test(finalize, test_dedup_module_uses) {
  cJSON *doc = qg_test_load_json("finalize/dedup_module_uses.json");
  qg_module *m = case_module(doc);
  int64_t shape[2] = {2, 2};
  qg_ival x = random_input(2, shape, 7), ref = qg_ival_none(), res = qg_ival_none();
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &x, 1, NULL, &ref));
  cr_assert_eq(count_relu_modules(m), 1, "Expected to have 1 relu modules after dedup module uses");
  same_graph(forward_of(m), qg_test_json_str(doc, "graph_before"), "dedup: before", 1);
  qg_pass_report r = {0};
  QG_ASSERT_OK(qg_dedup_module_uses(m, &r));
  lint_module(m);
  cr_assert_eq(r.changed, 1);
  cr_assert_eq(count_relu_modules(m), 2, "Expected to have 2 relu modules after dedup module uses");
  same_graph(forward_of(m), qg_test_json_str(doc, "graph_after"), "dedup: after", 1);
  const cJSON *subs = json_item(doc, "submodules_after");
  const qg_type_t *cls = qg_object_class(&m->root);
  cr_expect_str_eq(cls->slots[cls->nslots - 1].name, cJSON_GetArrayItem(subs, 1)->valuestring);
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &x, 1, NULL, &res));
  cr_assert(qg_ival_equal(&ref, &res), "outputs changed");
  /* a second run finds nothing left to dedup */
  r.changed = 0;
  QG_ASSERT_OK(qg_dedup_module_uses(m, &r));
  cr_assert_eq(r.changed, 0);
  qg_ival_release(&x);
  qg_ival_release(&ref);
  qg_ival_release(&res);
  qg_module_free(m);
  cJSON_Delete(doc);
}

/* ---- freeze ------------------------------------------------------------------------------- */

static void freeze_case(const char *name, int ndim, const int64_t *shape) {
  char rel[128];
  snprintf(rel, sizeof rel, "finalize/freeze__%s.json", name);
  cJSON *doc = qg_test_load_json(rel);
  qg_module *m = case_module(doc), *orig = case_module(doc);
  const cJSON *pl = json_item(doc, "preserved"), *e;
  const char *preserved[8];
  size_t np = 0;
  cJSON_ArrayForEach(e, pl) preserved[np++] = e->valuestring;
  /* the original runs once, the frozen copy once: the modules may mutate their state */
  qg_ival x = random_input(ndim, shape, 3), ref = qg_ival_none(), res = qg_ival_none();
  QG_ASSERT_OK(qg_run_method(orig, NULL, "forward", &x, 1, NULL, &ref));
  qg_module_free(orig);
  qg_pass_report r = {0};
  QG_ASSERT_OK(qg_freeze(m, preserved, np, &r));
  lint_module(m);
  same_graph(forward_of(m), qg_test_json_str(doc, "graph"), name, 1);
  check_members(m, doc, "attributes", "submodules", name);
  const char *other = qg_test_json_str(doc, "other_graph");
  if (other) {
    qg_method *mt = qg_class_find_method(qg_object_class(&m->root), "other");
    cr_assert(mt && mt->graph, "%s: preserved method `other` is gone", name);
    same_graph(mt->graph, other, "freeze: other", 1);
  }
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &x, 1, NULL, &res));
  cr_expect(qg_ival_equal(&ref, &res), "%s: outputs changed by freezing", name);
  qg_ival_release(&x);
  qg_ival_release(&ref);
  qg_ival_release(&res);
  qg_module_free(m);
  cJSON_Delete(doc);
}

Test(finalize, freeze_matches_pytorch) {
  int64_t img[4] = {1, 3, 4, 4}, mat[2] = {2, 3};
  freeze_case("setattr", 4, img);
  freeze_case("inplace", 2, mat);
  freeze_case("nested", 2, mat);
  freeze_case("nested_preserved", 2, mat);
}

/* ---- errors ------------------------------------------------------------------------------- */

Test(finalize, errors) {
  cJSON *doc = qg_test_load_json("finalize/freeze__nested.json");
  qg_module *m = case_module(doc);
  const char *bad[] = {"nope"};
  cr_assert_eq(qg_freeze(m, bad, 1, NULL), QG_STATUS_NOT_FOUND);
  cr_assert(strstr(qg_last_error(), "freeze: unknown name 'nope'"), "%s", qg_last_error());
  const char *bad_path[] = {"sub.nope"};
  cr_assert_eq(qg_freeze(m, bad_path, 1, NULL), QG_STATUS_NOT_FOUND);
  const char *sub_method[] = {"sub.helper"};
  cr_assert_eq(qg_freeze(m, sub_method, 1, NULL), QG_STATUS_UNSUPPORTED);
  cr_assert(strstr(qg_last_error(), "only graph methods of the root"), "%s", qg_last_error());
  qg_module_free(m);
  cJSON_Delete(doc);

  /* fold_prepack refuses to overwrite an attribute of the same name (Finalize's steps by hand:
   * freezing would remove an attribute nobody reads) */
  doc = case_json("finalize_for_linear");
  m = case_module(doc);
  QG_ASSERT_OK(qg_insert_prepack_unpack_graph(forward_of(m), NULL));
  QG_ASSERT_OK(qg_quant_fusion_graph(forward_of(m), 0, NULL));
  QG_ASSERT_OK(qg_freeze(m, NULL, 0, NULL));
  qg_type_t *cls = (qg_type_t *)qg_object_class(&m->root);
  QG_ASSERT_OK(qg_class_add_slot(cls, "quantized_forward._jit_pass_packed_weight_0", qg_type_int(), QG_SLOT_ATTRIBUTE));
  QG_ASSERT_OK(qg_ival_object_put(&m->root, "quantized_forward._jit_pass_packed_weight_0", qg_ival_int(1)));
  qg_status st = qg_fold_quantized_prepacking_ops(m, NULL);
  assert_interpreter_folds();
  cr_assert_eq(st, QG_STATUS_INVALID_ARGUMENT, "%s", qg_status_name(st));
  cr_assert(strstr(qg_last_error(), "already exists"), "%s", qg_last_error());
  lint_module(m);
  qg_module_free(m);
  cJSON_Delete(doc);

  /* dedup: a module reached other than through self's GetAttrs */
  static const char text[] =
      "graph(%self : __torch__.M, %x : Tensor, %o : __torch__.R):\n"
      "  %y : Tensor = prim::CallMethod[name=\"forward\"](%o, %x)\n"
      "  return (%y)\n";
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_type_t *mc, *rc;
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.R", 1, &rc));
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.M", 1, &mc));
  qg_parse_opts po = {.cu = cu};
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_parse(text, strlen(text), &po, &g));
  QG_ASSERT_OK(qg_class_add_method(mc, "forward", g));
  qg_ival root;
  QG_ASSERT_OK(qg_ival_object_new(mc, &root));
  QG_ASSERT_OK(qg_module_create(cu, root, &m));
  cr_assert_eq(qg_dedup_module_uses(m, NULL), QG_STATUS_UNSUPPORTED);
  cr_assert(strstr(qg_last_error(), "not self"), "%s", qg_last_error());
  /* finalize needs a forward */
  qg_module_free(m);
}

Test(finalize, finalize_without_forward) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_type_t *mc;
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.Empty", 1, &mc));
  qg_ival root;
  QG_ASSERT_OK(qg_ival_object_new(mc, &root));
  qg_module *m;
  QG_ASSERT_OK(qg_module_create(cu, root, &m));
  cr_assert_eq(qg_finalize(m, 0, NULL, 0, NULL), QG_STATUS_NOT_FOUND);
  cr_assert(strstr(qg_last_error(), "has no forward method"), "%s", qg_last_error());
  qg_module_free(m);
}

/* ---- registry ----------------------------------------------------------------------------- */

Test(finalize, registry_rows) {
  static const char *const plain[] = {"insert_prepack_unpack", "cse", "constant_pooling", "freeze", "fold_prepack",
                                      "dedup_module_uses", "fuse_quantized_add_relu"};
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) cr_expect(qg_pass_find(plain[i]), "%s", plain[i]);
  cr_expect(qg_pass_with_args_find("quant_fusion"));
  cr_expect(qg_pass_with_args_find("finalize"));
  /* `quantgraph opt --passes finalize` on a recorded case gives the quantized ops */
  cJSON *doc = case_json("conv2d_relu");
  qg_module *m = case_module(doc);
  qg_pass_args args = {NULL, 0};
  QG_ASSERT_OK(qg_pass_with_args_find("finalize")->run(m, &args, NULL));
  check_directives(forward_of(m), "# CHECK: quantized::conv2d_relu(\n", "opt finalize");
  qg_module_free(m);
  cJSON_Delete(doc);
}

/* ---- OOM ---------------------------------------------------------------------------------- */

typedef struct oom_case {
  const qg_module *orig;
  int dynamic;
  long run;
} oom_case;

/* Clones the module outside the injection window, lets allocation `run` of finalize fail;
 * whatever happened, every graph lints clean and nothing leaks. */
static qg_status finalize_under_oom(void *ud) {
  oom_case *c = ud;
  long at = c->run++;
  qg__alloc_fail_after(-1);
  qg_module *m;
  QG_ASSERT_OK(qg_module_clone(c->orig, &m));
  qg__alloc_fail_after(at);
  qg_status st = qg_finalize(m, c->dynamic, NULL, 0, NULL);
  if (st == QG_OK) st = qg_constant_propagation_graph(forward_of(m), NULL);
  int failed = qg_test_injection_end();
  lint_module(m);
  qg_module_free(m);
  qg_test_injection_report(failed);
  return st;
}

static void every_alloc_failure(const char *name) {
  cJSON *doc = case_json(name);
  qg_module *m = case_module(doc);
  oom_case c = {m, is_dynamic(doc), -1};
  QG_ASSERT_OK(finalize_under_oom(&c)); /* warm up: caches of compiled rewrites, symbols */
  c.run = 0;
  size_t runs = qg_test_every_alloc_failure(finalize_under_oom, &c);
  cr_assert(runs > 50, "%s: only %zu allocations", name, runs);
  qg_module_free(m);
  cJSON_Delete(doc);
}

Test(finalize, oom_static, .timeout = 240) { every_alloc_failure("general_ops"); }

Test(finalize, oom_dynamic, .timeout = 240) { every_alloc_failure("dynamic_linear"); }

/* ---- numerics ----------------------------------------------------------------------------- */

/* The finalized model (ours) on the recorded inputs against PyTorch's finalized model, both
 * with the qnnpack engine (torch 1.13 has no fbgemm): bit-exact, static and dynamic. */
static double grid_step(const float *v, int64_t n) {
  double step = 0;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = i + 1; j < n && j < i + 64; j++) {
      double d = v[i] > v[j] ? v[i] - v[j] : v[j] - v[i];
      if (d > 1e-9 && (step == 0 || d < step)) step = d;
    }
  return step;
}

Test(finalize, numerics_vs_pytorch) {
  qg_quant_engine_set(QG_ENGINE_QNNPACK); /* the fixtures' engine (torch 1.13) */
  static const char *const cases[] = {"finalize_for_linear", "conv2d", "conv2d_relu", "linear_relu", "add",
                                      "add_scalar", "cat", "mul", "bn2d", "hardswish", "general_ops",
                                      "dynamic_linear"};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    cJSON *doc = case_json(cases[c]);
    qg_module *m = finalized(doc, 1);
    char rel[160];
    snprintf(rel, sizeof rel, "finalize/%s", qg_test_json_str(doc, "io"));
    qg_safetensors *io;
    QG_ASSERT_OK(qg_safetensors_open(qg_test_fixture(rel), &io));
    qg_ival in[4];
    size_t nin = 0;
    for (; nin < 4; nin++) {
      char nm[16];
      snprintf(nm, sizeof nm, "in.%zu", nin);
      const qg_st_tensor *e = qg_safetensors_find(io, nm);
      if (!e) break;
      qg_tensor *copy;
      QG_ASSERT_OK(qg_tensor_to_dtype(e->tensor, e->tensor->dtype, &copy));
      in[nin] = qg_ival_tensor(copy);
    }
    qg_ival out = qg_ival_none();
    QG_ASSERT_OK(qg_run_method(m, NULL, "forward", in, nin, NULL, &out));
    const qg_st_tensor *ref = qg_safetensors_find(io, "out.0");
    cr_assert(ref && out.kind == QG_IVAL_TENSOR, "%s: no output", cases[c]);
    int64_t n = qg_tensor_numel(ref->tensor);
    cr_assert_eq(n, qg_tensor_numel(out.u.tensor), "%s: output size", cases[c]);
    const float *a = qg_tensor_data(out.u.tensor), *b = qg_tensor_data(ref->tensor);
    double max = 0, step = grid_step(b, n);
    int64_t differ = 0;
    for (int64_t i = 0; i < n; i++) {
      double d = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
      differ += d > 0;
      if (d > max) max = d;
    }
    cr_expect(differ == 0, "%s: %lld of %lld values differ from PyTorch's, max |diff| %g (grid step %g)", cases[c],
              (long long)differ, (long long)n, max, step);
    qg_ival_release(&out);
    for (size_t i = 0; i < nin; i++) qg_ival_release(&in[i]);
    qg_safetensors_close(io);
    qg_module_free(m);
    cJSON_Delete(doc);
  }
  qg_quant_engine_set(QG_ENGINE_FBGEMM);
}
