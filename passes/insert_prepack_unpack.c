/* InsertPrepackUnpack (reference §4.2; passes.h), Finalize's first step: a weight that is
 * dequantized (or saturated to fp16) right before aten::linear / conv{1,2,3}d /
 * conv_transpose{1,2}d is packed with the matching quantized::*_prepack op and unpacked again
 * before the float op, so that QuantFusion can then match the unpack and use the packed value
 * directly, and freezing + FoldQuantizedPrepackingOps can pack the constant weight once. The
 * rules are PyTorch's (quant_fusion_patterns.c); the packed value is typed with the class the
 * prepack op returns (Conv2dPackedParamsBase for conv1d and the transposed convs). */
#include "passes/passes.h"
#include "passes/quant_fusion_patterns.h"

qg_status qg_insert_prepack_unpack_graph(qg_graph_t *g, qg_pass_report *report) {
  size_t n = 0;
  const qg_quant_fusion_rule *rules = qg__prepack_unpack_rules(&n);
  return qg__quant_rules_run(g, rules, n, report);
}

/* PyTorch's InsertPrepackUnpack(Module&): every method of every module. */
qg_status qg_insert_prepack_unpack_module(qg_module *m, qg_pass_report *report) {
  return qg_run_graph_pass_on_module(m, qg_insert_prepack_unpack_graph, report);
}
