/* Finalize (reference §1.2, §4; passes.h), PyTorch's quantization/finalize.cpp: what turns the
 * module InsertQuantDeQuant left (float ops between quantize / dequantize, qparams as module
 * attributes, forward inlined) into the quantized model:
 *
 *   ClearProfilingInformation on every method of the root (traced shapes must not leak into
 *   the quantized model) -> InsertPrepackUnpack(forward) -> QuantFusion(forward, static or
 *   dynamic) -> freeze (forward and the preserved names) -> FoldQuantizedPrepackingOps.
 *
 * convert_jit then runs constant propagation and dce on forward (the prepacks' inputs go);
 * qg_finalize leaves that to its caller, as PyTorch's Finalize does. In place (PyTorch
 * finalizes a clone: freezing clones). */
#include "passes/passes.h"

qg_status qg_finalize(qg_module *m, int dynamic, const char *const *preserved, size_t npreserved,
                      qg_pass_report *report) {
  if (m->root.kind != QG_IVAL_OBJECT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "finalize: the root is not an object");
  const qg_type_t *cls = m->root.u.obj->type;
  for (size_t i = 0; i < cls->nmethods; i++)
    if (cls->methods[i].graph) QG_TRY(qg_clear_profiling_graph(cls->methods[i].graph, NULL));
  const qg_method *fwd = qg_class_find_method(cls, "forward");
  if (!fwd || !fwd->graph)
    return qg_set_error(QG_STATUS_NOT_FOUND, "finalize: module %s has no forward method", cls->qualname);
  qg_status st = qg_insert_prepack_unpack_graph(fwd->graph, report);
  if (st == QG_OK) st = qg_quant_fusion_graph(fwd->graph, dynamic, report);
  if (st != QG_OK) return st == QG_STATUS_OOM ? st : qg_error_prefix(st, "finalize");
  QG_TRY(qg_freeze(m, preserved, npreserved, report));
  return qg_fold_quantized_prepacking_ops(m, report);
}
