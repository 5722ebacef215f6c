/* The subgraph matcher and rewriter (src/ir/subgraph.h).
 *
 * - torch_cases: every case of tests/fixtures/prep/rewrite.json (tools/fixtures/gen_prep.py:
 *   torch 1.13's SubgraphRewriter through _jit_pass_custom_pattern_based_rewrite_graph) gives
 *   PyTorch's graph: overlapping matches, an intermediate value escaping, matches in both
 *   branches of an If (one hoisted out of it, as PyTorch inserts after the last input's
 *   definition), attribute (constant value) matching, two pattern outputs, new constants in the
 *   replacement, the insertion point.
 * - matcher unit tests: match order and counts, attribute rules, match::module, regex
 *   attributes, the value/node lookups filters use, filters rejecting, source comments through
 *   value-name pairs, bad patterns and rules (each error checked with its message), OOM at every
 *   allocation, and a large graph. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "ir/subgraph.h"
#include "ir/text.h"
#include "util/graph_compare.h"
#include "util/testutil.h"

static const char k_relu2[] = "graph(%x):\n  %a = aten::relu(%x)\n  %b = aten::relu(%a)\n  return (%b)\n";
static const char k_sigmoid[] = "graph(%x):\n  %b = aten::sigmoid(%x)\n  return (%b)\n";

static char *print(const qg_graph_t *g) {
  char *s = qg_graph_to_string(g, NULL);
  cr_assert(s != NULL);
  return s;
}

static size_t count_matches(const char *pattern, const qg_graph_t *g) {
  qg_pattern_t *p;
  qg_matches_t *ms;
  QG_ASSERT_OK(qg_pattern_create(pattern, &p));
  QG_ASSERT_OK(qg_pattern_find(p, (qg_graph_t *)g, &ms));
  size_t n = qg_matches_count(ms);
  qg_matches_destroy(ms);
  qg_pattern_destroy(p);
  return n;
}

/* ---- PyTorch's own rewrites ---------------------------------------------------------------- */

Test(subgraph, torch_cases) {
  cJSON *doc = qg_test_load_json("prep/rewrite.json");
  const cJSON *c;
  size_t n = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
    const char *name = qg_test_json_str(c, "name");
    qg_graph_t *g = qg_test_parse(qg_test_json_str(c, "before"));
    qg_name_pair pairs[8];
    size_t npairs = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(c, "pairs")) {
      cr_assert(npairs < 8);
      pairs[npairs].replacement = cJSON_GetArrayItem(p, 0)->valuestring;
      pairs[npairs++].pattern = cJSON_GetArrayItem(p, 1)->valuestring;
    }
    size_t done = 0;
    QG_ASSERT_OK(qg_rewrite_graph(g, qg_test_json_str(c, "pattern"), qg_test_json_str(c, "replacement"), pairs,
                                  npairs, NULL, 0, &done));
    QG_ASSERT_OK(qg_graph_lint(g));
    qg_test_assert_graph_text(g, qg_test_json_str(c, "after"), name);
    qg_graph_destroy(g);
    n++;
  }
  cr_assert(n >= 8, "only %zu cases", n);
  cJSON_Delete(doc);
}

/* ---- matching -------------------------------------------------------------------------------- */

Test(subgraph, overlapping_matches_all_found_first_wins) {
  qg_graph_t *g = qg_test_parse("graph(%x : Tensor):\n  %1 : Tensor = aten::relu(%x)\n  %2 : Tensor = aten::relu(%1)\n"
                                "  %3 : Tensor = aten::relu(%2)\n  return (%3)\n");
  qg_pattern_t *p;
  qg_matches_t *ms;
  QG_ASSERT_OK(qg_pattern_create(k_relu2, &p));
  QG_ASSERT_OK(qg_pattern_find(p, g, &ms));
  cr_assert_eq(qg_matches_count(ms), 2, "both (1,2) and (2,3) match");
  /* The anchor is the pattern's last node: relu %2, then relu %3. */
  cr_assert_str_eq(qg_match_anchor(qg_matches_at(ms, 0))->outputs[0]->name, "2");
  cr_assert_str_eq(qg_match_value(qg_matches_at(ms, 1), "x")->name, "1");
  cr_assert_null(qg_matches_at(ms, 2));
  qg_matches_destroy(ms);
  qg_pattern_destroy(p);
  size_t n = 0;
  QG_ASSERT_OK(qg_rewrite_graph(g, k_relu2, k_sigmoid, NULL, 0, NULL, 0, &n));
  cr_assert_eq(n, 1, "overlapping matches are rewritten once");
  qg_graph_destroy(g);
}

Test(subgraph, intermediate_value_may_not_escape) {
  qg_graph_t *g = qg_test_parse("graph(%x : Tensor):\n  %1 : Tensor = aten::relu(%x)\n  %2 : Tensor = aten::relu(%1)\n"
                                "  return (%2, %1)\n");
  cr_assert_eq(count_matches(k_relu2, g), 0, "%%1 is also returned");
  qg_graph_destroy(g);
  g = qg_test_parse("graph(%x : Tensor):\n  %1 : Tensor = aten::relu(%x)\n  %2 : Tensor = aten::relu(%1)\n"
                    "  return (%2, %2)\n");
  cr_assert_eq(count_matches(k_relu2, g), 1, "outputs may have any number of uses");
  qg_graph_destroy(g);
}

Test(subgraph, matches_inside_blocks_never_span_them) {
  qg_graph_t *g = qg_test_parse("graph(%x : Tensor, %c : bool):\n"
                                "  %1 : Tensor = aten::relu(%x)\n"
                                "  %y : Tensor = prim::If(%c)\n"
                                "    block0():\n"
                                "      %2 : Tensor = aten::relu(%1)\n"
                                "      -> (%2)\n"
                                "    block1():\n"
                                "      %3 : Tensor = aten::relu(%x)\n"
                                "      %4 : Tensor = aten::relu(%3)\n"
                                "      -> (%4)\n"
                                "  return (%y)\n");
  /* relu(%1) in block0 would continue into the top block: not a match. */
  qg_pattern_t *p;
  qg_matches_t *ms;
  QG_ASSERT_OK(qg_pattern_create(k_relu2, &p));
  QG_ASSERT_OK(qg_pattern_find(p, g, &ms));
  cr_assert_eq(qg_matches_count(ms), 1);
  cr_assert_str_eq(qg_match_anchor(qg_matches_at(ms, 0))->outputs[0]->name, "4");
  qg_matches_destroy(ms);
  qg_pattern_destroy(p);
  qg_graph_destroy(g);
}

Test(subgraph, attributes_must_match_exactly) {
  qg_graph_t *g = qg_test_parse("graph(%x : Tensor):\n"
                                "  %t : bool = prim::Constant[value=1]()\n"
                                "  %one : int = prim::Constant[value=1]()\n"
                                "  %two : int = prim::Constant[value=2]()\n"
                                "  %f : float = prim::Constant[value=1.]()\n"
                                "  %n : NoneType = prim::Constant()\n"
                                "  %s : str = prim::Constant[value=\"abc\"]()\n"
                                "  %l : int[] = prim::Constant[value=[1, 2]]()\n"
                                "  return (%x)\n");
  /* ints and bools are both int attributes, as in PyTorch; types are not compared */
  cr_assert_eq(count_matches("graph():\n  %c = prim::Constant[value=1]()\n  return (%c)\n", g), 2);
  cr_assert_eq(count_matches("graph():\n  %c = prim::Constant[value=2]()\n  return (%c)\n", g), 1);
  cr_assert_eq(count_matches("graph():\n  %c = prim::Constant[value=1.]()\n  return (%c)\n", g), 1);
  cr_assert_eq(count_matches("graph():\n  %c = prim::Constant()\n  return (%c)\n", g), 1, "None only");
  cr_assert_eq(count_matches("graph():\n  %c = prim::Constant[value=\"abc\"]()\n  return (%c)\n", g), 1);
  cr_assert_eq(count_matches("graph():\n  %c = prim::Constant[value=\"a.c\"]()\n  return (%c)\n", g), 1, "regex");
  cr_assert_eq(count_matches("graph():\n  %c = prim::Constant[value=\"b\"]()\n  return (%c)\n", g), 0,
               "a regex must match the whole string");
  cr_assert_eq(count_matches("graph():\n  %c = prim::Constant[value=[1, 2]]()\n  return (%c)\n", g), 0,
               "list attributes never match (PyTorch's matcher compares i, f, c and s only)");
  qg_graph_destroy(g);
}

Test(subgraph, match_module_by_class_name_suffix) {
  qg_graph_t *g = qg_test_parse("graph(%self : __torch__.M, %x : Tensor):\n"
                                "  %conv : __torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d = "
                                "prim::GetAttr[name=\"conv\"](%self)\n"
                                "  %bn : __torch__.torch.nn.modules.batchnorm.BatchNorm2d = prim::GetAttr[name=\"bn\"](%self)\n"
                                "  %y : Tensor = prim::CallMethod[name=\"forward\"](%conv, %x)\n"
                                "  %z : Tensor = prim::CallMethod[name=\"forward\"](%bn, %y)\n"
                                "  return (%z)\n");
  const char *pat = "graph(%self, %x):\n"
                    "  %conv = match::module[name=\"Conv2d\"](%self)\n"
                    "  %y = prim::CallMethod[name=\"forward\"](%conv, %x)\n"
                    "  %bn = match::module[name=\"BatchNorm2d\"](%self)\n"
                    "  %z = prim::CallMethod[name=\"forward\"](%bn, %y)\n"
                    "  return (%z)\n";
  cr_assert_eq(count_matches(pat, g), 1);
  qg_pattern_t *p;
  qg_matches_t *ms;
  QG_ASSERT_OK(qg_pattern_create(pat, &p));
  QG_ASSERT_OK(qg_pattern_find(p, g, &ms));
  const qg_match_t *m = qg_matches_at(ms, 0);
  cr_assert_str_eq(qg_match_value(m, "conv")->name, "conv");
  cr_assert_str_eq(qg_match_value(m, "y")->name, "y");
  cr_assert_str_eq(qg_match_value(m, "self")->name, "self");
  cr_assert_null(qg_match_value(m, "nope"));
  const qg_value_t *py = qg_pattern_value(p, "y");
  cr_assert_not_null(py);
  cr_assert_eq(qg_match_node_of(m, py->node), qg_match_value(m, "y")->node);
  cr_assert_eq(qg_match_value_of(m, py), qg_match_value(m, "y"));
  cr_assert_eq(qg_match_pattern(m), p);
  qg_matches_destroy(ms);
  qg_pattern_destroy(p);
  cr_assert_eq(count_matches("graph(%self):\n  %m = match::module[name=\"Conv3d\"](%self)\n  return (%m)\n", g), 0);
  qg_graph_destroy(g);
}

/* ---- filters --------------------------------------------------------------------------------- */

static int alpha_is_one(const qg_match_t *m, void *ud) {
  (void)ud;
  int64_t v;
  return qg_match_int_constant(m, "alpha", &v) && v == 1;
}

static int reject_all(const qg_match_t *m, void *ud) {
  (*(int *)ud)++;
  (void)m;
  return 0;
}

static const char k_add_text[] = "graph(%x : Tensor, %y : Tensor):\n"
                                 "  %one : int = prim::Constant[value=1]()\n"
                                 "  %two : int = prim::Constant[value=2]()\n"
                                 "  %1 : Tensor = aten::add(%x, %y, %two)\n"
                                 "  %2 : Tensor = aten::add(%1, %y, %one)\n"
                                 "  return (%2)\n";
static const char k_add_pat[] = "graph(%a, %b, %alpha):\n  %r = aten::add(%a, %b, %alpha)\n  return (%r)\n";
static const char k_sub_repl[] = "graph(%a, %b, %alpha):\n  %r = aten::sub(%a, %b, %alpha)\n  return (%r)\n";

Test(subgraph, filter_reads_constant_inputs) {
  qg_graph_t *g = qg_test_parse(k_add_text);
  qg_match_filter f = {alpha_is_one, NULL};
  size_t n = 0;
  QG_ASSERT_OK(qg_rewrite_graph(g, k_add_pat, k_sub_repl, NULL, 0, &f, 1, &n));
  cr_assert_eq(n, 1);
  QG_ASSERT_OK(qg_graph_lint(g));
  char *s = print(g);
  cr_assert(strstr(s, "aten::add(%x, %y, %two)") && strstr(s, "aten::sub(%1, %y, %one)"), "%s", s);
  qg__free(s);
  qg_graph_destroy(g);
}

Test(subgraph, rejecting_filter_leaves_graph_alone) {
  qg_graph_t *g = qg_test_parse(k_add_text);
  char *before = print(g);
  int calls = 0;
  qg_match_filter f[2] = {{alpha_is_one, NULL}, {reject_all, &calls}};
  size_t n = 7;
  QG_ASSERT_OK(qg_rewrite_graph(g, k_add_pat, k_sub_repl, NULL, 0, f, 2, &n));
  cr_assert_eq(n, 0);
  cr_assert_eq(calls, 1, "the second filter runs only when the first accepts");
  char *after = print(g);
  cr_assert_str_eq(after, before);
  qg__free(before);
  qg__free(after);
  qg_graph_destroy(g);
}

Test(subgraph, pairs_carry_source_comments) {
  qg_graph_t *g = qg_test_parse("graph(%x : Tensor, %w : Tensor):\n"
                                "  %1 : Tensor = aten::t(%w) # m.py:3:4\n"
                                "  %2 : Tensor = aten::matmul(%x, %1), scope: __module.fc # m.py:5:6\n"
                                "  return (%2)\n");
  qg_name_pair pairs[] = {{"res", "out"}};
  size_t n = 0;
  QG_ASSERT_OK(qg_rewrite_graph(g,
                                "graph(%x, %wt):\n  %out = aten::matmul(%x, %wt)\n  return (%out)\n",
                                "graph(%x, %wt):\n  %none : Tensor? = prim::Constant()\n"
                                "  %res = aten::linear(%x, %wt, %none)\n  return (%res)\n",
                                pairs, 1, NULL, 0, &n));
  cr_assert_eq(n, 1);
  char *s = print(g);
  /* the linear takes the matmul's comment (not its scope); the None constant has none; the new
   * values are unnamed (PyTorch's parser keeps no names) and the linear has the matmul's type */
  char *r = qg_test_renumber(s);
  cr_assert(strstr(r, "  %#1 : Tensor? = prim::Constant()\n  %#2 : Tensor = aten::linear(%x, %#0, %#1) # m.py:5:6\n"),
            "%s", s);
  free(r);
  qg__free(s);
  qg_graph_destroy(g);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void expect_pattern_error(const char *text, qg_status want, const char *msg) {
  qg_pattern_t *p = (qg_pattern_t *)1;
  qg_status st = qg_pattern_create(text, &p);
  cr_assert_eq(st, want, "%s: got %s: %s", text, qg_status_name(st), qg_last_error());
  cr_assert_null(p);
  cr_assert(strstr(qg_last_error(), msg), "message '%s' lacks '%s'", qg_last_error(), msg);
}

Test(subgraph, bad_patterns) {
  expect_pattern_error("graph(%x):\n  %y = aten::relu(%x\n  return (%y)\n", QG_STATUS_PARSE, "pattern:3:3: expected");
  expect_pattern_error("graph(%x):\n  %y = aten::reluu(%x)\n  return (%y)\n", QG_STATUS_UNKNOWN_OP,
                       "pattern line 2: unknown operator 'aten::reluu'");
  expect_pattern_error("graph(%x):\n  return (%x)\n", QG_STATUS_INVALID_ARGUMENT, "pattern has no nodes");
  expect_pattern_error("graph(%x):\n  %y = aten::relu(%x)\n  return ()\n", QG_STATUS_INVALID_ARGUMENT,
                       "pattern returns nothing");
  expect_pattern_error("graph(%x):\n  %y = aten::relu(%x)\n  return (%x, %y)\n", QG_STATUS_INVALID_ARGUMENT,
                       "pattern output 0 is a pattern input");
  expect_pattern_error("graph(%x):\n  %y = aten::relu(%x)\n  %z = aten::neg(%x)\n  return (%y)\n",
                       QG_STATUS_INVALID_ARGUMENT, "pattern line 3: aten::neg is not connected to the anchor");
  expect_pattern_error("graph(%x, %c):\n  %y = prim::If(%c)\n    block0():\n      -> (%x)\n    block1():\n"
                       "      -> (%x)\n  return (%y)\n",
                       QG_STATUS_INVALID_ARGUMENT, "pattern line 2: prim::If has blocks");
  expect_pattern_error("graph(%x):\n  %y = prim::GetAttr[name=\"a(\"](%x)\n  return (%y)\n",
                       QG_STATUS_INVALID_ARGUMENT, "not a valid regular expression");
}

static void expect_rule_error(const char *pattern, const char *repl, const qg_name_pair *pairs, size_t npairs,
                              const char *msg) {
  qg_rewrite_t *rw = (qg_rewrite_t *)1;
  qg_status st = qg_rewrite_create(pattern, repl, pairs, npairs, &rw);
  cr_assert_eq(st, QG_STATUS_INVALID_ARGUMENT, "got %s: %s", qg_status_name(st), qg_last_error());
  cr_assert_null(rw);
  cr_assert(strstr(qg_last_error(), msg), "message '%s' lacks '%s'", qg_last_error(), msg);
}

Test(subgraph, bad_rules) {
  expect_rule_error(k_relu2, "graph(%y):\n  %b = aten::sigmoid(%y)\n  return (%b)\n", NULL, 0,
                    "replacement input %y is not an input of the pattern");
  expect_rule_error(k_relu2, "graph(%x):\n  %b = aten::sigmoid(%x)\n  return (%b, %b)\n", NULL, 0,
                    "replacement returns 2 values, the pattern 1");
  expect_rule_error("graph():\n  %c = prim::Constant[value=1]()\n  return (%c)\n",
                    "graph():\n  %c = prim::Constant[value=2]()\n  return (%c)\n", NULL, 0, "pattern has no inputs");
  qg_name_pair bad1[] = {{"b", "x"}};
  expect_rule_error(k_relu2, k_sigmoid, bad1, 1, "%x is not produced by a pattern node");
  qg_name_pair bad2[] = {{"zz", "b"}};
  expect_rule_error(k_relu2, k_sigmoid, bad2, 1, "%zz is not produced by a replacement node");
  qg_rewrite_t *rw = (qg_rewrite_t *)1;
  cr_assert_eq(qg_rewrite_create(k_relu2, "graph(%x):\n  %b = aten::sigmoid(\n", NULL, 0, &rw), QG_STATUS_PARSE);
  cr_assert(strstr(qg_last_error(), "replacement:"), "%s", qg_last_error());
  cr_assert_null(rw);
  cr_assert_eq(qg_pattern_create(NULL, (qg_pattern_t **)&rw), QG_STATUS_INVALID_ARGUMENT);
}

/* ---- OOM and scale ----------------------------------------------------------------------------- */

/* Parses outside the injection window, injects a failure at allocation `run` of the rewrite
 * (pattern compilation included); whatever happened, the graph lints clean. */
static qg_status rewrite_under_oom(void *ud) {
  long *run = ud, at = (*run)++;
  qg__alloc_fail_after(-1);
  qg_graph_t *g;
  const char *text = "graph(%x : Tensor, %c : bool):\n"
                     "  %1 : Tensor = aten::relu(%x) # a.py:1:1\n"
                     "  %2 : Tensor = aten::relu(%1) # a.py:2:1\n"
                     "  %y : Tensor = prim::If(%c)\n"
                     "    block0():\n"
                     "      %3 : Tensor = aten::relu(%2)\n"
                     "      %4 : Tensor = aten::relu(%3)\n"
                     "      -> (%4)\n"
                     "    block1():\n"
                     "      -> (%2)\n"
                     "  return (%y, %2)\n";
  QG_ASSERT_OK(qg_graph_parse(text, strlen(text), NULL, &g));
  qg_name_pair pairs[] = {{"b", "b"}};
  qg__alloc_fail_after(at);
  qg_status st = qg_rewrite_graph(g, k_relu2, k_sigmoid, pairs, 1, NULL, 0, NULL);
  int failed = qg_test_injection_end();
  cr_assert_eq(qg_graph_lint(g), QG_OK, "allocation %ld: lint after %s: %s", at, qg_status_name(st), qg_last_error());
  if (st == QG_OK) {
    /* the match in block0 reads %2, defined outside the If: its replacement is hoisted out, as
     * PyTorch does, and reads the first replacement's output */
    char *s = print(g), *r = qg_test_renumber(s);
    cr_assert(strstr(r, "  %#0 : Tensor = aten::sigmoid(%x) # a.py:2:1\n  %#1 : Tensor = aten::sigmoid(%#0)\n"), "%s", s);
    free(r);
    qg__free(s);
  }
  qg_graph_destroy(g);
  qg_test_injection_report(failed);
  return st;
}

Test(subgraph, oom_at_every_allocation) {
  long warm = -1; /* builds the op registry and interns symbols, once per process */
  QG_ASSERT_OK(rewrite_under_oom(&warm));
  long run = 0;
  size_t runs = qg_test_every_alloc_failure(rewrite_under_oom, &run);
  cr_assert(runs > 20, "only %zu allocations", runs);
}

Test(subgraph, large_graph) {
  /* 20000 relus in a chain: 10000 rewrites; the matcher touches each node once per pattern. */
  enum { N = 20000 };
  qg_strbuf b = QG_STRBUF_INIT;
  qg_strbuf_append(&b, "graph(%x : Tensor):\n  %v0 : Tensor = aten::relu(%x)\n");
  for (int i = 1; i < N; i++) qg_strbuf_printf(&b, "  %%v%d : Tensor = aten::relu(%%v%d)\n", i, i - 1);
  qg_strbuf_printf(&b, "  return (%%v%d)\n", N - 1);
  QG_ASSERT_OK(qg_strbuf_ok(&b));
  qg_graph_t *g = qg_test_parse(qg_strbuf_cstr(&b));
  qg_strbuf_free(&b);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  size_t n = 0;
  QG_ASSERT_OK(qg_rewrite_graph(g, k_relu2, k_sigmoid, NULL, 0, NULL, 0, &n));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  cr_assert_eq(n, N / 2);
  QG_ASSERT_OK(qg_graph_lint(g));
  double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  fprintf(stderr, "subgraph large_graph: %d nodes, %zu rewrites in %.1f ms\n", N, n, ms);
  cr_assert(ms < 5000, "%.1f ms", ms);
  qg_graph_destroy(g);
}
