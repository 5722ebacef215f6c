/* Shared checks of the quantized conv / linear kernels (qcommon.h). */
#include "ops/cpu/qcommon.h"

#include <math.h>

#include "base/alloc.h"

qg_status qg__qw_init(qg__qw *q, const char *op, const qg_tensor *w, int64_t n, int allow_per_channel) {
  q->n = n;
  q->per_channel = 0;
  q->scales = NULL;
  q->zps = NULL;
  if (w->dtype != QG_DTYPE_QINT8 || !w->quantizer)
    return qg_set_error(QG_STATUS_TYPE, "%s: expected a qint8 weight, got %s", op, qg_dtype_info(w->dtype)->name);
  const qg_quantizer *wq = w->quantizer;
  if (wq->scheme == QG_QSCHEME_PER_CHANNEL_AFFINE) {
    if (!allow_per_channel)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: Per Channel Quantization is currently disabled for transposed conv",
                          op);
    if (wq->axis != 0 || wq->scales->shape[0] != n)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: a per-channel weight needs one scale per output channel along axis 0 (got axis %d with "
                          "%lld scales for %lld output channels)",
                          op, wq->axis, (long long)wq->scales->shape[0], (long long)n);
    q->per_channel = 1;
  }
  q->scales = qg__calloc((size_t)(n ? n : 1), sizeof *q->scales);
  q->zps = qg__calloc((size_t)(n ? n : 1), sizeof *q->zps);
  if (!q->scales || !q->zps) {
    qg__qw_free(q);
    return qg_oom("weight qparams");
  }
  for (int64_t j = 0; j < n; j++) {
    if (q->per_channel) {
      q->scales[j] = ((const double *)qg_tensor_data(wq->scales))[j];
      q->zps[j] = (int32_t)((const int64_t *)qg_tensor_data(wq->zero_points))[j];
    } else {
      q->scales[j] = wq->scale;
      q->zps[j] = (int32_t)wq->zero_point;
    }
    if (q->zps[j] < -128 || q->zps[j] > 127) {
      int32_t z = q->zps[j];
      qg__qw_free(q);
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: weight zero point %d is outside qint8's [-128, 127]", op, z);
    }
  }
  return QG_OK;
}

void qg__qw_free(qg__qw *q) {
  qg__free(q->scales);
  qg__free(q->zps);
  q->scales = NULL;
  q->zps = NULL;
}

qg_status qg__q_act(const char *op, const qg_tensor *x, double *scale, int32_t *zp) {
  if (x->dtype != QG_DTYPE_QUINT8 || !x->quantizer)
    return qg_set_error(QG_STATUS_TYPE, "%s: Expected activation data type quint8 but got %s", op,
                        qg_dtype_info(x->dtype)->name);
  if (x->quantizer->scheme != QG_QSCHEME_PER_TENSOR_AFFINE)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: the activation must be quantized per tensor", op);
  *scale = x->quantizer->scale;
  int64_t z = x->quantizer->zero_point;
  if (z < 0 || z > 255)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: activation zero point %lld is outside quint8's [0, 255]", op,
                        (long long)z);
  *zp = (int32_t)z;
  return QG_OK;
}

qg_status qg__q_check_bias(const char *op, const qg_tensor *bias, int64_t n) {
  if (!bias) return QG_OK;
  if (bias->dtype != QG_DTYPE_F32)
    return qg_set_error(QG_STATUS_TYPE, "%s: The 'bias' tensor must have 'torch.float' dtype, got %s", op,
                        qg_dtype_info(bias->dtype)->name);
  if (bias->ndim != 1 || bias->shape[0] != n)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: bias should be a vector (1D Tensor) with %lld elements", op,
                        (long long)n);
  return QG_OK;
}

qg_status qg__q_bias(const char *op, qg_tensor *bias, int64_t n, qg_tensor **contig, const float **data) {
  *contig = NULL;
  *data = NULL;
  QG_TRY(qg__q_check_bias(op, bias, n));
  if (!bias) return QG_OK;
  QG_TRY(qg_tensor_contiguous(bias, contig));
  *data = qg_tensor_data(*contig);
  return QG_OK;
}

qg_status qg__q_out(const char *op, int ndim, const int64_t *shape, double scale, int64_t zp, qg_tensor **out) {
  *out = NULL;
  if (!(isfinite(scale) && scale > 0))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: output scale must be finite and positive, got %g", op, scale);
  if (zp < 0 || zp > 255)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: output zero point %lld is outside quint8's [0, 255]", op,
                        (long long)zp);
  qg_quantizer *q;
  QG_TRY(qg_quantizer_per_tensor(scale, zp, &q));
  qg_status st = qg_tensor_create_quantized(QG_DTYPE_QUINT8, ndim, shape, q, out);
  qg_quantizer_release(q);
  return st;
}
