/* Quantize / dequantize and the qparams accessors -> src/ops/cpu/quantized_quantize.h:
 * aten::quantize_per_tensor (scalar, tensor and list qparams), quantize_per_channel,
 * quantize_per_tensor_dynamic, dequantize (a non-quantized tensor is returned as is),
 * q_scale / q_zero_point / q_per_channel_*, int_repr, _make_per_{tensor,channel}_quantized_tensor,
 * _choose_qparams_per_tensor, _saturate_weight_to_fp16, prim::is_quantized. */
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/quantized_common.h"
#include "ops/cpu/quantized_quantize.h"
#include "ops/cpu/shape.h"
#include "runtime/ops_quant_impl.h"

/* quantize_per_tensor(self, float scale, int zero_point, ScalarType dtype) and
 * .tensor_qparams(self, Tensor scale, Tensor zero_point, dtype) */
static qg_status quantize_per_tensor(qg_op_call *c) {
  qg_tensor *x = NULL, *y = NULL;
  double scale;
  int64_t zp;
  qg_dtype dt;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  if (c->args[1].kind == QG_IVAL_TENSOR) {
    QG_TRY(qg__quant_arg_number_or_tensor(c, 1, &scale));
    double z;
    QG_TRY(qg__quant_arg_number_or_tensor(c, 2, &z));
    zp = (int64_t)z;
  } else {
    QG_TRY(qg_arg_double(c, 1, &scale));
    QG_TRY(qg_arg_int(c, 2, &zp));
  }
  QG_TRY(qg__quant_arg_qdtype(c, 3, "quantize_per_tensor", &dt));
  QG_TRY(qg_cpu_quantize_per_tensor(x, scale, zp, dt, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* quantize_per_tensor.tensors(Tensor[] tensors, Tensor scales, Tensor zero_points, dtype) */
static qg_status quantize_per_tensor_list(qg_op_call *c) {
  qg_tensor **xs, *scales, *zps;
  size_t n;
  qg_dtype dt;
  QG_TRY(qg_arg_tensor(c, 1, &scales));
  QG_TRY(qg_arg_tensor(c, 2, &zps));
  QG_TRY(qg__quant_arg_qdtype(c, 3, "quantize_per_tensor", &dt));
  QG_TRY(qg__quant_arg_tensors(c, 0, &xs, &n));
  qg_status st = QG_OK;
  if ((size_t)qg_tensor_numel(scales) != n || (size_t)qg_tensor_numel(zps) != n)
    st = qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                      "quantize_per_tensor: %zu tensors but %lld scales and %lld zero points", n,
                      (long long)qg_tensor_numel(scales), (long long)qg_tensor_numel(zps));
  qg_tensor **ys = st == QG_OK ? qg__calloc(n ? n : 1, sizeof *ys) : NULL;
  if (st == QG_OK && !ys) st = qg_oom("quantize_per_tensor results");
  for (size_t k = 0; k < n && st == QG_OK; k++)
    st = qg_cpu_quantize_per_tensor(xs[k], qg_tensor_get_flat(scales, (int64_t)k),
                                    (int64_t)qg_tensor_get_flat(zps, (int64_t)k), dt, &ys[k]);
  qg__free(xs);
  if (st != QG_OK) {
    qg_cpu_tensor_list_free(ys, (int64_t)n);
    return st;
  }
  return qg__aten_out_tensor_list(c, 0, ys, (int64_t)n);
}

/* quantize_per_channel(self, Tensor scales, Tensor zero_points, int axis, ScalarType dtype) */
static qg_status quantize_per_channel(qg_op_call *c) {
  qg_tensor *x, *scales, *zps, *y;
  int64_t axis;
  qg_dtype dt;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_tensor(c, 1, &scales));
  QG_TRY(qg_arg_tensor(c, 2, &zps));
  QG_TRY(qg_arg_int(c, 3, &axis));
  QG_TRY(qg__quant_arg_qdtype(c, 4, "quantize_per_channel", &dt));
  QG_TRY(qg_cpu_quantize_per_channel(x, scales, zps, axis, dt, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* quantize_per_tensor_dynamic(self, ScalarType dtype, bool reduce_range) */
static qg_status quantize_per_tensor_dynamic(qg_op_call *c) {
  qg_tensor *x = NULL, *y = NULL;
  int rr;
  qg_dtype dt;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg__quant_arg_qdtype(c, 1, "quantize_per_tensor_dynamic", &dt));
  QG_TRY(qg_arg_bool(c, 2, &rr));
  QG_TRY(qg_cpu_quantize_per_tensor_dynamic(x, dt, rr, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* dequantize.self / .tensor (one tensor) and .tensors / .list (Tensor[] -> Tensor[]) */
static qg_status dequantize(qg_op_call *c) {
  if (c->nargs > 0 && c->args[0].kind == QG_IVAL_TENSOR) {
    qg_tensor *x, *y;
    QG_TRY(qg_arg_tensor(c, 0, &x));
    QG_TRY(qg_cpu_dequantize(x, &y));
    qg_out_tensor(c, 0, y);
    return QG_OK;
  }
  qg_tensor **xs;
  size_t n;
  QG_TRY(qg__quant_arg_tensors(c, 0, &xs, &n));
  qg_tensor **ys = qg__calloc(n ? n : 1, sizeof *ys);
  qg_status st = ys ? QG_OK : qg_oom("dequantize results");
  for (size_t k = 0; k < n && st == QG_OK; k++) st = qg_cpu_dequantize(xs[k], &ys[k]);
  qg__free(xs);
  if (st != QG_OK) {
    qg_cpu_tensor_list_free(ys, (int64_t)n);
    return st;
  }
  return qg__aten_out_tensor_list(c, 0, ys, (int64_t)n);
}

/* dequantize.any(Any tensors) -> Any: convert dequantizes tuples of quantized tensors
 * (test_dequantize_tuple): the same container with every tensor dequantized. */
static qg_status dequantize_any(qg_op_call *c) {
  const qg_ival *v = &c->args[0];
  if (v->kind == QG_IVAL_TENSOR) return dequantize(c);
  if (v->kind != QG_IVAL_TUPLE && v->kind != QG_IVAL_LIST)
    return qg_set_error(QG_STATUS_TYPE, "aten::dequantize: expected a tensor, list or tuple, got %s",
                        qg_ival_kind_name(v->kind));
  qg_ival out = qg_ival_none();
  QG_TRY(qg_ival_list_new(v->kind, v->u.list->len, &out));
  qg_status st = QG_OK;
  for (size_t i = 0; st == QG_OK && i < v->u.list->len; i++) {
    const qg_ival *item = &v->u.list->items[i];
    qg_tensor *y = NULL;
    if (item->kind != QG_IVAL_TENSOR) {
      st = qg_ival_list_push(&out, qg_ival_copy(*item));
      continue;
    }
    st = qg_cpu_dequantize(item->u.tensor, &y);
    if (st == QG_OK) st = qg_ival_list_push(&out, qg_ival_tensor(y));
  }
  if (st != QG_OK) {
    qg_ival_release(&out);
    return st;
  }
  qg_out_ival(c, 0, out);
  return QG_OK;
}

/* ---- qparams ---------------------------------------------------------------------------------- */

/* The quantized argument 0, whose scheme must be per-tensor (want 0) or per-channel (want 1);
 * messages as PyTorch's checks. */
static qg_status quantized_arg(const qg_op_call *c, int want, qg_tensor **out) {
  qg_tensor *x = NULL;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  const char *op = qg__aten_op_name(c);
  if (!qg_dtype_info(x->dtype)->is_quantized || !x->quantizer)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Could not run '%s' with arguments from the 'CPU' backend: %s needs a quantized tensor, "
                        "got %s", op, op, qg_dtype_info(x->dtype)->name);
  if (want == 0 && x->quantizer->scheme != QG_QSCHEME_PER_TENSOR_AFFINE)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: expected quantizer->qscheme() == kPerTensorAffine, got a "
                        "per-channel quantized tensor", op);
  if (want == 1 && x->quantizer->scheme != QG_QSCHEME_PER_CHANNEL_AFFINE)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: expected quantizer->qscheme() == kPerChannelAffine, got a "
                        "per-tensor quantized tensor", op);
  *out = x;
  return QG_OK;
}

static qg_status q_scale(qg_op_call *c) {
  qg_tensor *x = NULL;
  QG_TRY(quantized_arg(c, 0, &x));
  qg_out_ival(c, 0, qg_ival_double(x->quantizer->scale));
  return QG_OK;
}

static qg_status q_zero_point(qg_op_call *c) {
  qg_tensor *x = NULL;
  QG_TRY(quantized_arg(c, 0, &x));
  qg_out_ival(c, 0, qg_ival_int(x->quantizer->zero_point));
  return QG_OK;
}

static qg_status q_per_channel_tensor(qg_op_call *c, int zero_points) {
  qg_tensor *x = NULL, *y = NULL;
  QG_TRY(quantized_arg(c, 1, &x));
  const qg_tensor *src = zero_points ? x->quantizer->zero_points : x->quantizer->scales;
  QG_TRY(qg_tensor_to_dtype(src, src->dtype, &y)); /* a copy: the quantizer's own stays immutable */
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status q_per_channel_scales(qg_op_call *c) { return q_per_channel_tensor(c, 0); }
static qg_status q_per_channel_zero_points(qg_op_call *c) { return q_per_channel_tensor(c, 1); }

static qg_status q_per_channel_axis(qg_op_call *c) {
  qg_tensor *x = NULL;
  QG_TRY(quantized_arg(c, 1, &x));
  qg_out_ival(c, 0, qg_ival_int(x->quantizer->axis));
  return QG_OK;
}

static qg_status int_repr(qg_op_call *c) {
  qg_tensor *x = NULL, *y = NULL;
  QG_TRY(quantized_arg(c, -1, &x));
  QG_TRY(qg_q_int_repr(x, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

static qg_status is_quantized(qg_op_call *c) {
  qg_tensor *x = NULL;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  qg_out_ival(c, 0, qg_ival_bool(qg_dtype_info(x->dtype)->is_quantized));
  return QG_OK;
}

/* ---- making quantized tensors from integers ------------------------------------------------ */

/* The quantized dtype whose storage is x's integer dtype. */
static qg_status qdtype_of_ints(const qg_op_call *c, const qg_tensor *x, qg_dtype *out) {
  switch (x->dtype) {
    case QG_DTYPE_U8: *out = QG_DTYPE_QUINT8; return QG_OK;
    case QG_DTYPE_I8: *out = QG_DTYPE_QINT8; return QG_OK;
    case QG_DTYPE_I32: *out = QG_DTYPE_QINT32; return QG_OK;
    default:
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: expected a uint8, int8 or int32 tensor, got %s",
                          qg__aten_op_name(c), qg_dtype_info(x->dtype)->name);
  }
}

static qg_status make_quantized(qg_op_call *c, qg_tensor *x, qg_quantizer *q) {
  qg_dtype qd = QG_DTYPE_QUINT8;
  qg_tensor *y = NULL;
  qg_status st = qdtype_of_ints(c, x, &qd);
  if (st == QG_OK) st = qg_q_from_ints(x, qd, q, &y);
  qg_quantizer_release(q);
  QG_TRY(st);
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* _make_per_tensor_quantized_tensor(self, float scale, int zero_point) */
static qg_status make_per_tensor(qg_op_call *c) {
  qg_tensor *x = NULL;
  double scale;
  int64_t zp;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_double(c, 1, &scale));
  QG_TRY(qg_arg_int(c, 2, &zp));
  qg_quantizer *q;
  QG_TRY(qg_quantizer_per_tensor(scale, zp, &q));
  return make_quantized(c, x, q);
}

/* _make_per_channel_quantized_tensor(self, Tensor scale, Tensor zero_point, int axis) */
static qg_status make_per_channel(qg_op_call *c) {
  qg_tensor *x, *scales, *zps;
  int64_t axis;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_tensor(c, 1, &scales));
  QG_TRY(qg_arg_tensor(c, 2, &zps));
  QG_TRY(qg_arg_int(c, 3, &axis));
  if (axis < 0 || axis >= x->ndim)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: axis %lld is out of range for a %d-D tensor",
                        qg__aten_op_name(c), (long long)axis, x->ndim);
  qg_quantizer *q;
  QG_TRY(qg_quantizer_per_channel(scales, zps, (int)axis, &q));
  return make_quantized(c, x, q);
}

/* ---- dynamic qparams, fp16 saturation -------------------------------------------------------- */

/* _choose_qparams_per_tensor(self, bool reduce_range=False) -> (float, int) */
static qg_status choose_qparams(qg_op_call *c) {
  qg_tensor *x = NULL;
  int rr;
  double scale;
  int64_t zp;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_bool(c, 1, &rr));
  QG_TRY(qg_cpu_choose_qparams_per_tensor(x, rr, &scale, &zp));
  qg_out_ival(c, 0, qg_ival_double(scale));
  if (c->nouts > 1) qg_out_ival(c, 1, qg_ival_int(zp));
  return QG_OK;
}

/* _saturate_weight_to_fp16(Tensor weight) -> Tensor: clamps in place, returns the weight. */
static qg_status saturate_weight_to_fp16(qg_op_call *c) {
  qg_tensor *w;
  int saturated;
  QG_TRY(qg_arg_tensor(c, 0, &w));
  QG_TRY(qg_cpu_saturate_weight_to_fp16(w, &saturated));
  qg__aten_out_alias(c, 0, w);
  return QG_OK;
}

static const qg_op_impl_entry table[] = {
    {"aten::quantize_per_tensor", "", quantize_per_tensor},
    {"aten::quantize_per_tensor", "tensor_qparams", quantize_per_tensor},
    {"aten::quantize_per_tensor", "tensors", quantize_per_tensor_list},
    {"aten::quantize_per_channel", "", quantize_per_channel},
    {"aten::quantize_per_tensor_dynamic", "", quantize_per_tensor_dynamic},
    {"aten::dequantize", "self", dequantize},
    {"aten::dequantize", "tensor", dequantize},
    {"aten::dequantize", "tensors", dequantize},
    {"aten::dequantize", "any", dequantize_any},
    {"aten::dequantize", "list", dequantize},
    {"aten::q_scale", "", q_scale},
    {"aten::q_zero_point", "", q_zero_point},
    {"aten::q_per_channel_scales", "", q_per_channel_scales},
    {"aten::q_per_channel_zero_points", "", q_per_channel_zero_points},
    {"aten::q_per_channel_axis", "", q_per_channel_axis},
    {"aten::int_repr", "", int_repr},
    {"prim::is_quantized", "", is_quantized},
    {"aten::_make_per_tensor_quantized_tensor", "", make_per_tensor},
    {"aten::_make_per_channel_quantized_tensor", "", make_per_channel},
    {"aten::_choose_qparams_per_tensor", "", choose_qparams},
    {"aten::_saturate_weight_to_fp16", "", saturate_weight_to_fp16},
};

const qg_op_impl_entry *qg__ops_quant_tensor_table(size_t *n) {
  *n = sizeof table / sizeof table[0];
  return table;
}
