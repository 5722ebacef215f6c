/* The table of passes `quantgraph opt` can run by name (pass.h). */
#include <string.h>

#include "passes/pass.h"
#include "passes/passes.h"

static const qg_pass_info k_passes[] = {
    /* entries: {"name", "one-line help", qg_pass_xxx_module}, kept in pipeline order */
    {"fold_conv_bn", "fold BatchNorm2d/3d modules into the Conv2d/3d before them (fuse_conv_bn_jit)", qg_fold_conv_bn},
    /* InsertObservers preprocessing (reference §2.3), in PyTorch's order */
    {"swap_functional_linear", "calls of functions named `linear` become aten::linear", qg_swap_functional_linear_module},
    {"inline_fork_wait", "inline prim::fork bodies and drop their aten::wait", qg_inline_fork_wait_module},
    {"fuse_linear", "addmm / matmul(+add_) with a transposed weight become aten::linear", qg_fuse_linear_module},
    {"replace_convolution", "constant propagation, then aten::_convolution becomes conv{1,2,3}d / conv_transpose{1,2,3}d",
     qg_replace_convolution_module},
    {"remove_list_mutation", "fold append/insert/_set_item on fresh lists into their ListConstruct",
     qg_remove_list_mutation_module},
    {"constant_propagation", "run nodes with constant inputs once and keep their results as constants",
     qg_constant_propagation_module},
    {"dce", "remove nodes whose results are unused and that have no side effects", qg_dce_module},
    /* Finalize's steps (reference §4) and the standalone quantization passes (§6.6, §6.7) */
    {"insert_prepack_unpack", "prepack/unpack the dequantized weight of linear and conv ops",
     qg_insert_prepack_unpack_module},
    {"cse", "merge equal nodes (common subexpression elimination)", qg_cse_module},
    {"constant_pooling", "merge equal constants and move them to the top of the graph", qg_constant_pooling_module},
    {"freeze", "fold attributes into constants, optimise, remove what is no longer used (freeze_module)",
     qg_freeze_module},
    {"fold_prepack", "run constant prepack ops once and keep the packed weights as attributes",
     qg_fold_quantized_prepacking_ops},
    {"dedup_module_uses", "give each extra call of a submodule its own copy", qg_dedup_module_uses},
    {"fuse_quantized_add_relu", "quantized::add(_scalar)(_out) followed by relu become the fused ops",
     qg_fuse_quantized_add_relu_module},
    {NULL, NULL, NULL},
};

const qg_pass_info *qg_passes(size_t *n) {
  *n = sizeof k_passes / sizeof k_passes[0] - 1;
  return k_passes;
}

const qg_pass_info *qg_pass_find(const char *name) {
  for (size_t i = 0; k_passes[i].name; i++)
    if (strcmp(k_passes[i].name, name) == 0) return &k_passes[i];
  return NULL;
}

/* insert_observers with the qconfig dict and mode of `quantgraph opt --qconfig ... [--dynamic]`. */
static qg_status insert_observers_pass(qg_module *m, const qg_pass_args *args, qg_pass_report *report) {
  if (!args || !args->qconfig)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "insert_observers needs a qconfig (--qconfig NAME)");
  return qg_insert_observers(m, "forward", args->qconfig, args->dynamic, report);
}

static qg_status quant_fusion_pass(qg_module *m, const qg_pass_args *args, qg_pass_report *report) {
  return qg_quant_fusion_module(m, args ? args->dynamic : 0, report);
}

/* Finalize with nothing preserved; --dynamic for the dynamic patterns. */
static qg_status finalize_pass(qg_module *m, const qg_pass_args *args, qg_pass_report *report) {
  return qg_finalize(m, args ? args->dynamic : 0, NULL, 0, report);
}

static const qg_pass_args_info k_args_passes[] = {
    {"insert_observers", "insert observers for the qconfig dict (prepare_jit without conv-bn folding)",
     insert_observers_pass},
    {"quant_fusion", "fuse dequantize -> op -> quantize chains into quantized ops (--dynamic: dynamic linear)",
     quant_fusion_pass},
    {"finalize", "insert_prepack_unpack, quant_fusion, freeze, fold_prepack (convert_jit's Finalize)", finalize_pass},
};

const qg_pass_args_info *qg_passes_with_args(size_t *n) {
  *n = sizeof k_args_passes / sizeof k_args_passes[0];
  return k_args_passes;
}

const qg_pass_args_info *qg_pass_with_args_find(const char *name) {
  for (size_t i = 0; i < sizeof k_args_passes / sizeof k_args_passes[0]; i++)
    if (strcmp(k_args_passes[i].name, name) == 0) return &k_args_passes[i];
  return NULL;
}

qg_status qg_for_each_method_graph(qg_module *m, qg_status (*fn)(qg_graph_t *g, void *ud, qg_pass_report *r),
                                   void *ud, qg_pass_report *report) {
  size_t n = qg_cu_ntypes(m->cu);
  for (size_t i = 0; i < n; i++) {
    qg_type_t *t = qg_cu_type_at(m->cu, i);
    if (t->kind != QG_TYPE_CLASS && t->kind != QG_TYPE_FUNCTION) continue;
    for (size_t k = 0; k < t->nmethods; k++) {
      if (!t->methods[k].graph) continue;
      qg_status st = fn(t->methods[k].graph, ud, report);
      if (st != QG_OK)
        return st == QG_STATUS_OOM ? st : qg_error_prefix(st, "%s.%s", t->qualname, t->methods[k].name);
    }
  }
  return QG_OK;
}
