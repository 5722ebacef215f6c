/* QuantFusion (reference §4.3 static, §4.4 dynamic; passes.h), as PyTorch's finalize.cpp: the
 * rules of quant_fusion_patterns.c, each a fresh rewrite over the whole graph in table order,
 * with PyTorch's filters. Also the rule runner the other table-driven passes share
 * (insert_prepack_unpack.c, fuse_quantized_add_relu.c). */
#include "ir/subgraph.h"
#include "passes/passes.h"
#include "passes/quant_fusion_patterns.h"
#include "passes/quant_helper.h"

/* PyTorch's aten_add_alpha_is_one: %alpha is an int constant equal to 1 (a bool True is not). */
static int alpha_is_one(const qg_match_t *m, void *ud) {
  (void)ud;
  int64_t v;
  return qg_match_int_constant(m, "alpha", &v) && v == 1;
}

/* PyTorch's input_b_is_scalar: %b_scalar is a number, or a 0-dim tensor constant (traced
 * models carry scalars as tensors). */
static int b_is_scalar(const qg_match_t *m, void *ud) {
  (void)ud;
  const qg_value_t *b = qg_match_value(m, "b_scalar");
  return b && qg_qh_is_scalar(b);
}

qg_status qg__quant_rules_run(qg_graph_t *g, const qg_quant_fusion_rule *rules, size_t nrules,
                              qg_pass_report *report) {
  for (size_t i = 0; i < nrules; i++) {
    qg_match_filter filters[2];
    size_t nfilters = 0, n = 0;
    if (rules[i].filters & QG_QF_ALPHA_IS_ONE) filters[nfilters++] = (qg_match_filter){alpha_is_one, NULL};
    if (rules[i].filters & QG_QF_B_IS_SCALAR) filters[nfilters++] = (qg_match_filter){b_is_scalar, NULL};
    qg_status st = qg_rewrite_graph(g, rules[i].pattern, rules[i].replacement, NULL, 0, filters, nfilters, &n);
    if (st != QG_OK) return st == QG_STATUS_OOM ? st : qg_error_prefix(st, "rule %zu (%s)", i, rules[i].op);
    if (report) report->changed += n;
  }
  return QG_OK;
}

qg_status qg_quant_fusion_graph(qg_graph_t *g, int dynamic, qg_pass_report *report) {
  size_t n = 0;
  const qg_quant_fusion_rule *rules = qg__quant_fusion_rules(dynamic, &n);
  return qg__quant_rules_run(g, rules, n, report);
}

static qg_status fusion_on(qg_graph_t *g, void *ud, qg_pass_report *report) {
  return qg_quant_fusion_graph(g, *(const int *)ud, report);
}

qg_status qg_quant_fusion_module(qg_module *m, int dynamic, qg_pass_report *report) {
  return qg_for_each_method_graph(m, fusion_on, &dynamic, report);
}
