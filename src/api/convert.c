/* convert_jit and the quantize_jit entry points; see convert.h. */
#include "api/convert.h"

#include "passes/passes.h"

/* model.eval(): every module's `training` attribute becomes False (freezing folds only what
 * eval mode fixes; PyTorch's convert_jit calls eval() first). */
static int set_eval(const char *path, const qg_ival *obj, int depth, void *ud) {
  (void)path;
  (void)depth;
  long i = qg_class_find_slot(obj->u.obj->type, "training");
  if (i >= 0 && (size_t)i < obj->u.obj->nslots && obj->u.obj->slots[i].kind == QG_IVAL_BOOL)
    qg_ival_object_set((qg_ival *)obj, (size_t)i, qg_ival_bool(0));
  (void)ud;
  return 0;
}

/* The part of convert that works on one module in place. */
static qg_status convert_in_place(qg_module *m, int dynamic, int debug, qg_pass_report *report) {
  QG_TRY(qg_module_walk(m, set_eval, NULL));
  QG_TRY(qg_insert_quant_dequant(m, "forward", dynamic, report));
  QG_TRY(qg_propagate_quantization(m, "forward", dynamic, report));
  if (!debug) QG_TRY(qg_finalize(m, dynamic, NULL, 0, report));
  /* quantize_jit.py's _convert_jit ends with these in both modes */
  const qg_method *f = qg_class_find_method(m->root.u.obj->type, "forward");
  if (!f || !f->graph) return qg_set_error(QG_STATUS_NOT_FOUND, "convert: the root module lost its forward method");
  QG_TRY(qg_constant_propagation_graph(f->graph, report));
  return qg_dce_graph(f->graph, report);
}

qg_status qg_convert(qg_module *m, int dynamic, int debug, int inplace, qg_module **out, qg_pass_report *report) {
  qg_module *work = m;
  if (!inplace) QG_TRY(qg_module_clone(m, &work));
  qg_status st = convert_in_place(work, dynamic, debug, report);
  if (st != QG_OK) {
    if (work != m) qg_module_free(work);
    *out = NULL;
    return st;
  }
  *out = work;
  return QG_OK;
}

qg_status qg_quantize(qg_module *m, const qg_qconfig_dict *dict, const qg_named_tensors *data, int debug, int inplace,
                      int num_threads, qg_module **out, qg_calibration_stats *stats, qg_pass_report *report) {
  qg_module *p = NULL;
  QG_TRY(qg_prepare(m, dict, 0, inplace, &p, report));
  qg_status st = qg_calibrate(p, data, num_threads, NULL, NULL, stats);
  if (st == QG_OK) st = convert_in_place(p, 0, debug, report);
  if (st != QG_OK) {
    if (p != m) qg_module_free(p);
    *out = NULL;
    return st;
  }
  *out = p;
  return QG_OK;
}

qg_status qg_quantize_dynamic(qg_module *m, const qg_qconfig_dict *dict, int debug, int inplace, qg_module **out,
                              qg_pass_report *report) {
  qg_module *p = NULL;
  QG_TRY(qg_prepare(m, dict, 1, inplace, &p, report));
  qg_status st = convert_in_place(p, 1, debug, report);
  if (st != QG_OK) {
    if (p != m) qg_module_free(p);
    *out = NULL;
    return st;
  }
  *out = p;
  return QG_OK;
}
