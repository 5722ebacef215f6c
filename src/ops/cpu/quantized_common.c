/* Quantized numerics primitives and tensor helpers (quantized_common.h). */
#include "ops/cpu/quantized_common.h"

#include <math.h>
#include <string.h>

void qg_q_range(qg_dtype dtype, int64_t *qmin, int64_t *qmax) {
  switch (dtype) {
    case QG_DTYPE_QUINT8: *qmin = 0; *qmax = 255; break;
    case QG_DTYPE_QINT8: *qmin = -128; *qmax = 127; break;
    default: *qmin = INT32_MIN; *qmax = INT32_MAX; break;
  }
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

int32_t qg_q_cvtps2dq(float v) {
  if (!(v >= -2147483648.0f && v < 2147483648.0f)) return INT32_MIN; /* x86 "integer indefinite" */
  return (int32_t)nearbyintf(v);
}

int64_t qg_q_quantize_scalar(qg_dtype dtype, double scale, int64_t zero_point, float x) {
  int64_t qmin, qmax;
  qg_q_range(dtype, &qmin, &qmax);
  const float inv = 1.0f / (float)scale;
  /* fbgemm adds the int32 zero point in float, then clamps in double */
  const float t = (float)(int32_t)zero_point + nearbyintf(x * inv);
  double d = t;
  /* std::max / std::min keep a NaN; converting it is x86's integer indefinite, whose low byte
   * is 0 for the 8-bit dtypes */
  if (isnan(d)) return dtype == QG_DTYPE_QINT32 ? INT32_MIN : 0;
  if (d < (double)qmin) d = (double)qmin;
  if ((double)qmax < d) d = (double)qmax;
  return (int64_t)d;
}

int64_t qg_q_quantize_vec(qg_dtype dtype, float inv_scale, double scale, int64_t zero_point, float x) {
  if (dtype == QG_DTYPE_QINT32) return qg_q_quantize_scalar(dtype, scale, zero_point, x);
  int64_t qmin, qmax;
  qg_q_range(dtype, &qmin, &qmax);
  float y = x * inv_scale;
  const float clip = 2147483520.0f; /* INT32_MAX - 127: the largest float below 2^31 */
  if (!(y < clip)) y = clip;        /* _mm512_min_ps(y, clip) returns clip for NaN too */
  /* the zero point is added as int32 (wrapping), then packs saturate */
  const int32_t r = (int32_t)((uint32_t)qg_q_cvtps2dq(y) + (uint32_t)(int32_t)zero_point);
  return clamp64(r, qmin, qmax);
}

float qg_q_dequantize_scalar(double scale, int64_t zero_point, int64_t q) {
  const float d = (float)q - (float)zero_point;
  return (float)((double)d * scale);
}

float qg_q_dequantize_vec(float scale, float premul, int64_t q) { return fmaf(scale, (float)q, premul); }

int64_t qg_q_requantize_from_int(qg_dtype dtype, float multiplier, int64_t zero_point, int64_t src) {
  int64_t qmin, qmax;
  qg_q_range(dtype, &qmin, &qmax);
  const float y = (float)src * multiplier;
  const long r = lrintf(y);
  return clamp64(zero_point + (int64_t)r, qmin, qmax);
}

int64_t qg_q_requantize_from_int_vec32(float multiplier, int64_t zero_point, int64_t src) {
  const int32_t r = qg_q_cvtps2dq((float)(int32_t)src * multiplier);
  return (int32_t)((uint32_t)r + (uint32_t)(int32_t)zero_point);
}

/* ---- elementwise iteration ------------------------------------------------------------------ */

/* 2 * Vectorized<T>::size() of PyTorch's AVX2 build: these kernels are registered with
 * REGISTER_DISPATCH, which leaves AVX-512 CPUs on the AVX2 code. */
int64_t qg_q_vec_block(qg_dtype dtype) { return dtype == QG_DTYPE_QINT32 ? 16 : 64; }

void qg_q_loop_plan(qg_q_loop *plan, qg_dtype dtype, int ndim, const int64_t *shape, int ninputs,
                    const int64_t (*strides)[QG_MAX_DIMS]) {
  /* TensorIterator::coalesce_dimensions from the innermost dim; the output is contiguous. */
  int64_t inner = 1, in_stride[QG__Q_MAX_INPUTS];
  int started = 0;
  QG_ASSERT(ninputs <= QG__Q_MAX_INPUTS);
  for (int k = 0; k < ninputs; k++) in_stride[k] = 0;
  for (int d = ndim - 1; d >= 0; d--) {
    const int64_t n = shape[d];
    if (n == 1) continue; /* size-1 dims always coalesce */
    if (!started) {
      started = 1;
      inner = n;
      for (int k = 0; k < ninputs; k++) in_stride[k] = strides[k][d];
      continue;
    }
    /* merging dim d under the current inner run needs stride[d] == inner * inner stride */
    int ok = 1;
    for (int k = 0; k < ninputs && ok; k++)
      ok = strides[k][d] == inner * in_stride[k];
    if (!ok) break;
    inner *= n;
  }
  plan->inner = inner;
  plan->vec_end = 0;
  int ncontig = 0, nscalar = 0;
  for (int k = 0; k < ninputs; k++) {
    if (in_stride[k] == 1) ncontig++;
    else if (in_stride[k] == 0) nscalar++;
  }
  const int vec_row = started && (ncontig == ninputs || (nscalar == 1 && ncontig == ninputs - 1));
  if (vec_row) {
    const int64_t b = qg_q_vec_block(dtype);
    plan->vec_end = inner / b * b;
  }
}

/* ---- tensors -------------------------------------------------------------------------------- */

qg_status qg_q_check_per_tensor(const char *op, const qg_tensor *t) {
  if (!qg_dtype_info(t->dtype)->is_quantized || !t->quantizer)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: expected a quantized tensor, got %s", op,
                        qg_dtype_info(t->dtype)->name);
  if (t->quantizer->scheme != QG_QSCHEME_PER_TENSOR_AFFINE)
    return qg_set_error(QG_STATUS_UNSUPPORTED,
                        "%s: only per-tensor quantized tensors are supported (qscheme == kPerTensorAffine), "
                        "got a per-channel quantized tensor",
                        op);
  if (t->dtype == QG_DTYPE_QUINT4X2)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: quint4x2 tensors are not supported", op);
  return QG_OK;
}

qg_status qg_q_new(qg_dtype dtype, int ndim, const int64_t *shape, double scale, int64_t zero_point,
                   qg_tensor **out) {
  qg_quantizer *q;
  QG_TRY(qg_quantizer_per_tensor(scale, zero_point, &q));
  qg_status st = qg_tensor_create_quantized(dtype, ndim, shape, q, out);
  qg_quantizer_release(q);
  return st;
}

qg_dtype qg_q_storage_dtype(qg_dtype qdtype) {
  switch (qdtype) {
    case QG_DTYPE_QINT8: return QG_DTYPE_I8;
    case QG_DTYPE_QINT32: return QG_DTYPE_I32;
    default: return QG_DTYPE_U8;
  }
}

qg_status qg_q_int_repr(const qg_tensor *t, qg_tensor **out) {
  qg_tensor *c, *r;
  QG_TRY(qg_tensor_contiguous((qg_tensor *)t, &c));
  qg_status st = qg_tensor_create(qg_q_storage_dtype(t->dtype), t->ndim, t->shape, &r);
  if (st == QG_OK) {
    if (qg_tensor_numel(c) > 0) memcpy(qg_tensor_data(r), qg_tensor_data(c), qg_tensor_nbytes(c));
    *out = r;
  }
  qg_tensor_release(c);
  return st;
}

qg_status qg_q_ints_as_float(const qg_tensor *t, qg_tensor **out) {
  qg_tensor *c, *r;
  QG_TRY(qg_tensor_contiguous((qg_tensor *)t, &c));
  qg_status st = qg_tensor_create_uninit(QG_DTYPE_F32, t->ndim, t->shape, &r);
  if (st == QG_OK) {
    const void *src = qg_tensor_data(c);
    float *dst = qg_tensor_data(r);
    const int64_t n = qg_tensor_numel(c);
    /* one loop per dtype: these run on every quantized max pool */
    if (t->dtype == QG_DTYPE_QUINT8)
      for (int64_t i = 0; i < n; i++) dst[i] = (float)((const uint8_t *)src)[i];
    else if (t->dtype == QG_DTYPE_QINT8)
      for (int64_t i = 0; i < n; i++) dst[i] = (float)((const int8_t *)src)[i];
    else
      for (int64_t i = 0; i < n; i++) dst[i] = (float)qg_q_load(t->dtype, src, i);
    *out = r;
  }
  qg_tensor_release(c);
  return st;
}

qg_status qg_q_from_ints(const qg_tensor *ints, qg_dtype dtype, qg_quantizer *q, qg_tensor **out) {
  qg_tensor *r;
  QG_TRY(qg_tensor_create_quantized(dtype, ints->ndim, ints->shape, q, &r));
  void *dst = qg_tensor_data(r);
  const int64_t n = qg_tensor_numel(r);
  if (ints->dtype == QG_DTYPE_F32 && qg_tensor_is_contiguous(ints)) { /* the pooling kernels' output */
    const float *f = qg_tensor_data(ints);
    if (dtype == QG_DTYPE_QUINT8)
      for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)f[i];
    else if (dtype == QG_DTYPE_QINT8)
      for (int64_t i = 0; i < n; i++) ((int8_t *)dst)[i] = (int8_t)f[i];
    else
      for (int64_t i = 0; i < n; i++) qg_q_store(dtype, dst, i, (int64_t)f[i]);
  } else {
    for (int64_t i = 0; i < n; i++) qg_q_store(dtype, dst, i, (int64_t)qg_tensor_get_flat(ints, i));
  }
  *out = r;
  return QG_OK;
}
