/* quantized::linear* ops and LinearPackedParamsBase prepack / unpack -> ops/cpu/qlinear.h. */
#include "ops/cpu/qlinear.h"
#include "ops/cpu/quant_engine.h"
#include "runtime/ops_qlinear_impl.h"

qg_status qg__qlin_linear_prepack(qg_op_call *c) {
  qg_tensor *w, *b;
  qg_cu_t *cu;
  QG_TRY(qg_arg_tensor(c, 0, &w));
  QG_TRY(qg_arg_opt_tensor(c, 1, &b));
  QG_TRY(qg__qlin_out_unit(c, &cu));
  qg_ival obj;
  QG_TRY(qg_packed_linear_new(cu, w, b, &obj));
  qg_out_ival(c, 0, obj);
  return QG_OK;
}

/* Weights beyond the fp16 range are saturated with a warning, as fbgemm's
 * HandleWeightsSaturation ("FOUND weight out of range"), which also clamps the caller's float
 * weight in place: quantgraph does the same, so later uses of that tensor see what PyTorch's do. */
qg_status qg__qlin_linear_prepack_fp16(qg_op_call *c) {
  qg_tensor *w, *b, *w16;
  qg_cu_t *cu;
  int64_t saturated = 0;
  QG_TRY(qg_arg_tensor(c, 0, &w));
  QG_TRY(qg_arg_opt_tensor(c, 1, &b));
  QG_TRY(qg__qlin_out_unit(c, &cu));
  QG_TRY(qg_cpu_fp16_weight(w, 1, &w16, &saturated));
  if (saturated) qg__qlin_warn(c);
  qg_ival obj;
  qg_status st = qg_packed_linear_new(cu, w16, b, &obj);
  qg_tensor_release(w16);
  if (st != QG_OK) return st;
  qg_out_ival(c, 0, obj);
  return QG_OK;
}

/* linear_unpack / linear_unpack_fp16 -> (weight, bias): the packed object's unpack(). */
qg_status qg__qlin_linear_unpack(qg_op_call *c) {
  const qg_ival *obj;
  qg_packed_linear p;
  QG_TRY(qg__qlin_arg_object(c, 0, &obj));
  QG_TRY(qg_packed_linear_get(qg__qlin_op_name(c), obj, &p));
  qg_ival t;
  QG_TRY(qg_call_method(NULL, (qg_ival *)obj, "unpack", NULL, 0, &t));
  /* unpack() returns a (weight, bias) tuple: move its items into the two outputs */
  qg_out_ival(c, 0, qg_ival_copy(t.u.list->items[0]));
  if (c->nouts > 1) qg_out_ival(c, 1, qg_ival_copy(t.u.list->items[1]));
  qg_ival_release(&t);
  return QG_OK;
}

static qg_status packed_int8(qg_op_call *c, qg_packed_linear *p) {
  const qg_ival *obj;
  QG_TRY(qg__qlin_arg_object(c, 1, &obj));
  QG_TRY(qg_packed_linear_get(qg__qlin_op_name(c), obj, p));
  if (p->fp16)
    return qg_set_error(QG_STATUS_TYPE, "%s: the packed params hold an fp16 weight (linear_prepack_fp16); use "
                        "quantized::linear_dynamic_fp16", qg__qlin_op_name(c));
  return QG_OK;
}

static qg_status linear(qg_op_call *c, int relu) {
  qg_tensor *x, *y;
  qg_packed_linear p;
  double scale;
  int64_t zp;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(packed_int8(c, &p));
  QG_TRY(qg_arg_double(c, 2, &scale));
  QG_TRY(qg_arg_int(c, 3, &zp));
  QG_TRY(qg_cpu_qlinear(x, p.weight, p.bias, scale, zp, relu, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
qg_status qg__qlin_linear(qg_op_call *c) { return linear(c, 0); }
qg_status qg__qlin_linear_relu(qg_op_call *c) { return linear(c, 1); }

static qg_status linear_dynamic(qg_op_call *c, int relu) {
  qg_tensor *x, *y;
  qg_packed_linear p;
  int reduce_range = 0;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(packed_int8(c, &p));
  if (c->nargs > 2) QG_TRY(qg_arg_bool(c, 2, &reduce_range));
  /* PyTorch: "Currently, qnnpack incorrectly ignores reduce_range when it is set to true" */
  if (reduce_range && qg_quant_engine_get() == QG_ENGINE_QNNPACK) qg__qlin_warn(c);
  QG_TRY(qg_cpu_qlinear_dynamic(x, p.weight, p.bias, reduce_range, relu, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
qg_status qg__qlin_linear_dynamic(qg_op_call *c) { return linear_dynamic(c, 0); }
qg_status qg__qlin_linear_relu_dynamic(qg_op_call *c) { return linear_dynamic(c, 1); }

static qg_status linear_fp16(qg_op_call *c, int relu) {
  qg_tensor *x, *y;
  const qg_ival *obj;
  qg_packed_linear p;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg__qlin_arg_object(c, 1, &obj));
  QG_TRY(qg_packed_linear_get(qg__qlin_op_name(c), obj, &p));
  if (!p.fp16)
    return qg_set_error(QG_STATUS_TYPE, "%s: the packed params hold a qint8 weight (linear_prepack); use "
                        "quantized::linear_dynamic", qg__qlin_op_name(c));
  QG_TRY(qg_cpu_qlinear_fp16(x, p.weight, p.bias, relu, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
qg_status qg__qlin_linear_dynamic_fp16(qg_op_call *c) { return linear_fp16(c, 0); }
qg_status qg__qlin_linear_relu_dynamic_fp16(qg_op_call *c) { return linear_fp16(c, 1); }
