/* FuseQuantizedAddRelu (reference §6.7; passes.h), PyTorch's fusion_passes.cpp: a quantized
 * add whose output only feeds aten::relu becomes the fused op (add -> add_relu, add_out ->
 * add_relu_out, add_scalar -> add_scalar_relu, add_scalar_out -> add_scalar_relu_out).
 * Standalone: convert does not call it (QuantFusion has its own add + relu rules). */
#include "passes/passes.h"
#include "passes/quant_fusion_patterns.h"

qg_status qg_fuse_quantized_add_relu_graph(qg_graph_t *g, qg_pass_report *report) {
  size_t n = 0;
  const qg_quant_fusion_rule *rules = qg__add_relu_rules(&n);
  return qg__quant_rules_run(g, rules, n, report);
}

qg_status qg_fuse_quantized_add_relu_module(qg_module *m, qg_pass_report *report) {
  return qg_run_graph_pass_on_module(m, qg_fuse_quantized_add_relu_graph, report);
}
