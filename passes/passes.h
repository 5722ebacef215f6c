/* Every pass's C entry points (one section per file of passes/). See pass.h for conventions. */
#ifndef QG_PASSES_PASSES_H
#define QG_PASSES_PASSES_H

#include "passes/pass.h"
#include "quant/qconfig.h"

/* ---- insert_observers.c (reference §2) ---- */
/* Inserts observers into `method` of m's root and every module it calls, as PyTorch's
 * InsertObservers (prepare_jit's core) with the qconfig dict `dict` (keys: module paths);
 * static or dynamic quantization. In place: class types are split and graphs edited on m. */
qg_status qg_insert_observers(qg_module *m, const char *method, const qg_qconfig_dict *dict, int dynamic,
                              qg_pass_report *report) QG_MUST_USE;

/* ---- fold_conv_bn.c (reference §6.1; docs/passes.md) ---- */
/* Folds every BatchNorm2d/3d module called right after a Conv2d/3d module (the conv's output
 * used only by it) into the conv, as PyTorch's FoldConvBatchNorm (fuse_conv_bn_jit): conv
 * modules without a `bias` slot first get one (None) read by their aten::_convolution, then
 * conv.weight / conv.bias become W * (gamma * rsqrt(var + eps)) and the folded bias
 * (per instance, shared class types included), bn's CallMethod and GetAttr are removed and its
 * uses read the conv's output. In place on m (PyTorch works on a clone: clone first to keep the
 * original). Pairs whose parameters cannot be extracted are left alone (as PyTorch);
 * malformed ones (a conv weight that is not a tensor, statistics that do not match the conv's
 * output channels, non-float or mixed dtypes) are errors naming the module. On OOM the module
 * may be half-modified (graphs stay lint-clean). report->changed counts the folds plus the
 * bias slots added. */
qg_status qg_fold_conv_bn(qg_module *m, qg_pass_report *report) QG_MUST_USE;

/* ---- InsertObservers preprocessing (reference §2.3, §6.2, §6.3, §6.5; docs/passes.md) ----
 * Each pass has a graph form, `qg_xxx_graph(g, report)`, and a module form,
 * `qg_xxx_module(m, report)`, that runs it on every method graph of m's compilation unit
 * (qg_for_each_method_graph). report may be NULL; report->changed counts the rewrites. All keep
 * graphs lint-clean, also on OOM (then possibly half-done). */
typedef qg_status (*qg_graph_pass_fn)(qg_graph_t *g, qg_pass_report *report);
/* graph_pass.c: runs a graph pass on every method graph of m. */
qg_status qg_run_graph_pass_on_module(qg_module *m, qg_graph_pass_fn fn, qg_pass_report *report) QG_MUST_USE;

/* dce.c: PyTorch's EliminateDeadCode: removes nodes whose outputs are unused and that have no
 * side effects and write no input (nested blocks included; unused prim::If outputs are
 * dropped; loops whose outputs are unused and whose bodies do nothing observable go). */
qg_status qg_dce_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_dce_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;

/* swap_functional_linear.c (§6.3): prim::CallFunction of any function whose unqualified name
 * is `linear` becomes aten::linear(input, weight, bias). */
qg_status qg_swap_functional_linear_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_swap_functional_linear_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;

/* inline_fork_wait.c: PyTorch's InlineForkWait: the body of every prim::fork (its Subgraph) is
 * inlined at the fork, aten::wait of such a fork's future is replaced by the inlined result,
 * the fork is removed and any other use of its future gets the result too. */
qg_status qg_inline_fork_wait_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_inline_fork_wait_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;

/* fuse_linear.c (§6.2): addmm(bias, x, t(w), 1, 1), matmul(x, t(w)) + add_(·, bias, 1) and
 * matmul(x, t(w)) become aten::linear; t(t(w)) weights are cleaned up; then
 * swap_functional_linear. */
qg_status qg_fuse_linear_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_fuse_linear_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;

/* constant_propagation.c: PyTorch's ConstantPropagation: deterministic, side-effect-free nodes
 * whose inputs are all constants and whose values nobody writes are run once (through the
 * interpreter) and their outputs replaced by prim::Constant (int, float, bool, str, Device,
 * None, tensors, int/float/bool/str lists); prim::If with a constant condition is
 * inlined, loops that never run are removed; then dce. aten::dequantize is never folded. */
qg_status qg_constant_propagation_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_constant_propagation_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;

/* replace_convolution.c (§6.5): constant propagation, then aten::_convolution (12 or 13
 * arguments) with constant int-list stride/padding/dilation/output_padding of length 1, 2 or
 * 3 and a constant `transposed` becomes aten::conv{1,2,3}d / aten::conv_transpose{1,2,3}d. */
qg_status qg_replace_convolution_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_replace_convolution_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;

/* remove_list_mutation.c: PyTorch's RemoveListMutation: aten::append, aten::insert and
 * aten::_set_item (constant in-range index) on a list made by prim::ListConstruct in the same
 * block are folded into the ListConstruct (moved down to the mutation) when nothing between
 * them reads the list, has side effects, or may write what the list holds. */
qg_status qg_remove_list_mutation_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_remove_list_mutation_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;

/* ---- insert_quant_dequant.c (reference §3.1-§3.5) ---- */
/* Replaces every observer call in `method` of m's root and the modules it calls by
 * quantize/dequantize (or the dynamic / fp16 / embedding_bag forms), with qparams as module
 * attributes named as PyTorch does, then removes the observers. The propagation of §3.6 is
 * qg_propagate_quantization (propagate_quant.c); qg_convert runs both. */
qg_status qg_insert_quant_dequant(qg_module *m, const char *method, int dynamic, qg_pass_report *report) QG_MUST_USE;

/* ---- propagate_quant.c, replicate_quant.c (reference §3.6) ---- */
/* The propagation after InsertQuantDeQuant: SwapFunctionalLinear, Inline(method),
 * ConstantPropagation, ReplicateChooseQParamsQuantDequant, RemoveRedundantQuantizationOps
 * (dynamic), ReplicateQuant, ReplicateDeQuant, ReplicateClampScalarArgs,
 * propagateQuantizationOps, RemoveRedundantDequantize. */
qg_status qg_propagate_quantization(qg_module *m, const char *method, int dynamic, qg_pass_report *report) QG_MUST_USE;
qg_status qg_propagate_quantization_ops_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_replicate_choose_qparams_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_remove_redundant_quantization_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_replicate_quant_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
/* Also PyTorch's standalone `_jit_pass_replicate_dequantize`. */
qg_status qg_replicate_dequant_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_replicate_clamp_scalar_args_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_remove_redundant_dequantize_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;

/* ---- inline.c ---- */
/* Inlines every prim::CallMethod (receiver of class type, non-native method) and
 * prim::CallFunction in g, recursively (PyTorch's Inliner). */
qg_status qg_inline_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;

/* ---- Finalize and friends (reference §4, §6.6, §6.7; docs/passes.md) ----
 * quant_fusion_patterns.c holds the rewrite tables; each table-driven pass runs its rules in
 * PyTorch's order, a fresh rewrite per rule over the whole graph. report may be NULL;
 * report->changed counts rewrites (freeze: folded attributes plus removed slots). Graphs stay
 * lint-clean, also on OOM (then possibly half-done). */
/* insert_prepack_unpack.c (§4.2): dequant(w) -> aten::linear / conv{1,2,3}d /
 * conv_transpose{1,2}d and _saturate_weight_to_fp16(w) -> linear get quantized::*_prepack +
 * *_unpack between the weight and the op. */
qg_status qg_insert_prepack_unpack_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_insert_prepack_unpack_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;
/* quant_fusion.c (§4.3, §4.4): dequantize -> float op -> quantize chains become quantized ops
 * (static), dynamic chains quantized::linear_dynamic(_fp16) (dynamic != 0). */
qg_status qg_quant_fusion_graph(qg_graph_t *g, int dynamic, qg_pass_report *report) QG_MUST_USE;
qg_status qg_quant_fusion_module(qg_module *m, int dynamic, qg_pass_report *report) QG_MUST_USE;
/* clear_profiling.c: detailed tensor types of graph inputs and node outputs become Tensor. */
qg_status qg_clear_profiling_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
/* cse.c: PyTorch's EliminateCommonSubexpression. */
qg_status qg_cse_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_cse_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;
/* constant_pooling.c: PyTorch's ConstantPooling (equal constants merged, all moved to the top). */
qg_status qg_constant_pooling_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_constant_pooling_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;
/* freeze.c (§4.5): PyTorch's freeze_module, in place: forward and the preserved root methods
 * inlined, attributes never written folded into constants, graphs optimised, attributes,
 * submodules and methods nobody needs removed. `preserved` names attributes ("sub.attr", kept
 * and never folded) or root methods (kept and frozen too); NOT_FOUND for an unknown name.
 * qg_freeze_module is qg_freeze with nothing preserved (the `freeze` opt pass). */
qg_status qg_freeze(qg_module *m, const char *const *preserved, size_t npreserved, qg_pass_report *report) QG_MUST_USE;
qg_status qg_freeze_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;
/* fold_prepack.c (§4.5): FoldQuantizedPrepackingOps: int8 prepack ops with constant inputs
 * run once; the packed params become root attributes quantized_<method>._jit_pass_packed_weight_<k>. */
qg_status qg_fold_quantized_prepacking_ops(qg_module *m, qg_pass_report *report) QG_MUST_USE;
/* finalize.c (§1.2): clear profiling -> insert_prepack_unpack -> quant_fusion -> freeze ->
 * fold_prepack, as PyTorch's Finalize (convert_jit's last C++ step). */
qg_status qg_finalize(qg_module *m, int dynamic, const char *const *preserved, size_t npreserved,
                      qg_pass_report *report) QG_MUST_USE;
/* dedup_module_uses.c (§6.6): every submodule instance called more than once gets a copy per
 * extra call (`relu`, `relu_0`). */
qg_status qg_dedup_module_uses(qg_module *m, qg_pass_report *report) QG_MUST_USE;
/* fuse_quantized_add_relu.c (§6.7): quantized::add(_out / _scalar / _scalar_out) -> aten::relu
 * become the fused ops. */
qg_status qg_fuse_quantized_add_relu_graph(qg_graph_t *g, qg_pass_report *report) QG_MUST_USE;
qg_status qg_fuse_quantized_add_relu_module(qg_module *m, qg_pass_report *report) QG_MUST_USE;

#endif
