/* SwapFunctionalLinear (reference §6.3; passes.h): a call of any function named `linear`
 * (torch.nn.functional.linear, or any other function of that name, as PyTorch matches it)
 * becomes aten::linear. */
#include <string.h>

#include "ir/subgraph.h"
#include "passes/passes.h"
#include "passes/quant_helper.h"

static const char k_functional_linear[] =
    "graph(%linear, %input, %weight, %bias):\n"
    "  %r = prim::CallFunction(%linear, %input, %weight, %bias)\n"
    "  return (%r)\n";
static const char k_aten_linear[] =
    "graph(%linear, %input, %weight, %bias):\n"
    "  %r = aten::linear(%input, %weight, %bias)\n"
    "  return (%r)\n";

static int callee_is_linear(const qg_match_t *m, void *ud) {
  (void)ud;
  const char *name = qg_qh_callee_name(qg_match_anchor(m));
  return name && strcmp(name, "linear") == 0;
}

qg_status qg_swap_functional_linear_graph(qg_graph_t *g, qg_pass_report *report) {
  qg_match_filter filter = {callee_is_linear, NULL};
  size_t n = 0;
  QG_TRY(qg_rewrite_graph(g, k_functional_linear, k_aten_linear, NULL, 0, &filter, 1, &n));
  if (report) report->changed += n;
  return QG_OK;
}

qg_status qg_swap_functional_linear_module(qg_module *m, qg_pass_report *report) {
  return qg_run_graph_pass_on_module(m, qg_swap_functional_linear_graph, report);
}
