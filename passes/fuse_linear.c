/* FuseLinear (reference §6.2; passes.h), as PyTorch's fuse_linear.cpp: three rewrites to
 * aten::linear, each only when the weight comes from aten::t (so that the linear weight is
 * t(t(w)), which the cleanup rewrite reduces to w), then SwapFunctionalLinear. The value-name
 * pairs give the new nodes the source comment of the matmul / addmm they replace. */
#include "ir/subgraph.h"
#include "passes/passes.h"

static const char k_addmm[] =
    "graph(%input, %weight_t, %bias, %beta, %alpha):\n"
    "  %res = aten::addmm(%bias, %input, %weight_t, %beta, %alpha)\n"
    "  return (%res)\n";
static const char k_addmm_linear[] =
    "graph(%input, %weight_t, %bias, %beta, %alpha):\n"
    "  %weight = aten::t(%weight_t)\n"
    "  %res = aten::linear(%input, %weight, %bias)\n"
    "  return (%res)\n";
static const char k_matmul_add[] =
    "graph(%input, %weight_t, %bias, %alpha):\n"
    "  %output = aten::matmul(%input, %weight_t)\n"
    "  %res = aten::add_(%output, %bias, %alpha)\n"
    "  return (%res)\n";
static const char k_matmul_add_linear[] =
    "graph(%input, %weight_t, %bias, %alpha):\n"
    "  %weight = aten::t(%weight_t)\n"
    "  %res = aten::linear(%input, %weight, %bias)\n"
    "  return (%res)\n";
static const char k_matmul[] =
    "graph(%input, %weight_t):\n"
    "  %output = aten::matmul(%input, %weight_t)\n"
    "  return (%output)\n";
static const char k_matmul_linear[] =
    "graph(%input, %weight_t):\n"
    "  %weight = aten::t(%weight_t)\n"
    "  %bias : Tensor? = prim::Constant()\n"
    "  %res = aten::linear(%input, %weight, %bias)\n"
    "  return (%res)\n";
static const char k_double_transpose[] =
    "graph(%input, %weight, %bias):\n"
    "  %weight_t1 = aten::t(%weight)\n"
    "  %weight_t2 = aten::t(%weight_t1)\n"
    "  %res = aten::linear(%input, %weight_t2, %bias)\n"
    "  return (%res)\n";
static const char k_no_transpose[] =
    "graph(%input, %weight, %bias):\n"
    "  %res = aten::linear(%input, %weight, %bias)\n"
    "  return (%res)\n";

static int int_constant_is_one(const qg_match_t *m, void *name) {
  int64_t v;
  return qg_match_int_constant(m, name, &v) && v == 1;
}

static int weight_transposed(const qg_match_t *m, void *ud) {
  (void)ud;
  const qg_value_t *w = qg_match_value(m, "weight_t");
  return w && w->node->kind == QG_SYM_aten_t;
}

qg_status qg_fuse_linear_graph(qg_graph_t *g, qg_pass_report *report) {
  static const qg_name_pair addmm_pairs[] = {{"weight", "res"}, {"res", "res"}};
  static const qg_name_pair matmul_pairs[] = {{"weight", "output"}, {"res", "output"}};
  static const qg_name_pair cleanup_pairs[] = {{"res", "res"}};
  const qg_match_filter addmm_filters[] = {
      {int_constant_is_one, "alpha"}, {int_constant_is_one, "beta"}, {weight_transposed, NULL}};
  const qg_match_filter add_filters[] = {{int_constant_is_one, "alpha"}, {weight_transposed, NULL}};
  const qg_match_filter t_filter[] = {{weight_transposed, NULL}};
  size_t n[4] = {0};
  QG_TRY(qg_rewrite_graph(g, k_addmm, k_addmm_linear, addmm_pairs, 2, addmm_filters, 3, &n[0]));
  QG_TRY(qg_rewrite_graph(g, k_matmul_add, k_matmul_add_linear, matmul_pairs, 2, add_filters, 2, &n[1]));
  QG_TRY(qg_rewrite_graph(g, k_matmul, k_matmul_linear, matmul_pairs, 2, t_filter, 1, &n[2]));
  QG_TRY(qg_rewrite_graph(g, k_double_transpose, k_no_transpose, cleanup_pairs, 1, NULL, 0, &n[3]));
  if (report) report->changed += n[0] + n[1] + n[2];
  return qg_swap_functional_linear_graph(g, report);
}

qg_status qg_fuse_linear_module(qg_module *m, qg_pass_report *report) {
  return qg_run_graph_pass_on_module(m, qg_fuse_linear_graph, report);
}
