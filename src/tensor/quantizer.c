/* Quantizer descriptions (per-tensor and per-channel affine) attached to quantized tensors. */
#include <math.h>

#include "base/alloc.h"
#include "tensor/tensor.h"
#include "tensor/tensor_ops.h"

qg_status qg_quantizer_per_tensor(double scale, int64_t zero_point, qg_quantizer **out) {
  if (!isfinite(scale) || scale <= 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "quantizer: scale must be finite and positive, got %g",
                        scale);
  qg_quantizer *q = qg__calloc(1, sizeof *q);
  if (!q) return qg_oom("a quantizer");
  q->refcount = 1;
  q->scheme = QG_QSCHEME_PER_TENSOR_AFFINE;
  q->scale = scale;
  q->zero_point = zero_point;
  *out = q;
  return QG_OK;
}

qg_status qg_quantizer_per_channel(const qg_tensor *scales, const qg_tensor *zero_points, int axis,
                                   qg_quantizer **out) {
  if (scales->ndim != 1 || zero_points->ndim != 1)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "quantizer: per-channel scales and zero_points must be 1-D, got %d-D and %d-D",
                        scales->ndim, zero_points->ndim);
  if (scales->shape[0] != zero_points->shape[0])
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "quantizer: %lld scales but %lld zero_points", (long long)scales->shape[0],
                        (long long)zero_points->shape[0]);
  if (axis < 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "quantizer: per-channel axis must be >= 0, got %d", axis);
  if (qg_dtype_info(scales->dtype)->is_quantized || qg_dtype_info(zero_points->dtype)->is_quantized)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "quantizer: scales and zero_points cannot be quantized");
  for (int64_t i = 0; i < scales->shape[0]; i++) {
    double s = qg_tensor_get_flat(scales, i);
    if (!isfinite(s) || s <= 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "quantizer: scale %lld must be finite and positive, got %g", (long long)i, s);
  }
  qg_quantizer *q = qg__calloc(1, sizeof *q);
  if (!q) return qg_oom("a quantizer");
  q->refcount = 1;
  q->scheme = QG_QSCHEME_PER_CHANNEL_AFFINE;
  q->axis = axis;
  qg_status st = qg_tensor_to_dtype(scales, QG_DTYPE_F64, &q->scales);
  if (st == QG_OK) st = qg_tensor_to_dtype(zero_points, QG_DTYPE_I64, &q->zero_points);
  if (st != QG_OK) {
    qg_quantizer_release(q);
    return st;
  }
  *out = q;
  return QG_OK;
}

void qg_quantizer_retain(qg_quantizer *q) { q->refcount++; }

void qg_quantizer_release(qg_quantizer *q) {
  if (!q || --q->refcount > 0) return;
  qg_tensor_release(q->scales);
  qg_tensor_release(q->zero_points);
  qg__free(q);
}

qg_status qg_tensor_set_quantizer(qg_tensor *t, qg_quantizer *q) {
  if (q) {
    if (!qg_dtype_info(t->dtype)->is_quantized)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "cannot attach a quantizer to a %s tensor",
                          qg_dtype_info(t->dtype)->name);
    if (q->scheme == QG_QSCHEME_PER_CHANNEL_AFFINE) {
      if (q->axis >= t->ndim)
        return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                            "per-channel quantizer axis %d is out of range for a %d-D tensor", q->axis,
                            t->ndim);
      if (q->scales->shape[0] != t->shape[q->axis])
        return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                            "per-channel quantizer has %lld scales but dimension %d has size %lld",
                            (long long)q->scales->shape[0], q->axis, (long long)t->shape[q->axis]);
    }
    qg_quantizer_retain(q);
  }
  qg_quantizer_release(t->quantizer);
  t->quantizer = q;
  return QG_OK;
}

qg_status qg_tensor_create_quantized(qg_dtype dtype, int ndim, const int64_t *shape, qg_quantizer *q,
                                     qg_tensor **out) {
  if (!qg_dtype_info(dtype)->is_quantized)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "create_quantized: %s is not a quantized dtype",
                        qg_dtype_info(dtype)->name);
  qg_tensor *t;
  QG_TRY(qg_tensor_create(dtype, ndim, shape, &t));
  qg_status st = qg_tensor_set_quantizer(t, q);
  if (st != QG_OK) {
    qg_tensor_release(t);
    return st;
  }
  *out = t;
  return QG_OK;
}
