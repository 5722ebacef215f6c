/* Quantize / dequantize kernels (quantized_quantize.h). */
#include "ops/cpu/quantized_quantize.h"

#include <math.h>
#include <string.h>

#include "base/cpu.h"
#include "ops/cpu/pointwise_common.h"
#include "ops/cpu/quant_engine.h"
#include "ops/cpu/quantized_common.h"
#include "quant/qparams.h"

/* PyTorch's name of a dtype in "ScalarType Float is not supported in new_qtensor." */
static const char *scalar_type_name(qg_dtype d) {
  switch (d) {
    case QG_DTYPE_QUINT8: return "QUInt8";
    case QG_DTYPE_QINT8: return "QInt8";
    case QG_DTYPE_QINT32: return "QInt32";
    case QG_DTYPE_QUINT4X2: return "QUInt4x2";
    default: return qg__pw_dtype_name(d);
  }
}

static qg_status check_quantize_args(const char *fn, const qg_tensor *x, qg_dtype dtype) {
  if (x->dtype != QG_DTYPE_F32)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Quantize only works on Float Tensor, got %s",
                        scalar_type_name(x->dtype));
  if (dtype != QG_DTYPE_QUINT8 && dtype != QG_DTYPE_QINT8 && dtype != QG_DTYPE_QINT32)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: ScalarType %s is not supported in new_qtensor.", fn,
                        scalar_type_name(dtype));
  return QG_OK;
}

static qg_status check_zero_point(const char *fn, qg_dtype dtype, int64_t zp) {
  int64_t qmin, qmax;
  qg_q_range(dtype, &qmin, &qmax);
  if (zp > qmax)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s zero_point %lld is above upper bound.", fn, (long long)zp);
  if (zp < qmin)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s zero_point %lld is below lower bound.", fn, (long long)zp);
  return QG_OK;
}

static qg_status check_scale(const char *fn, double scale) {
  if (!isfinite(scale) || scale <= 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: scale must be finite and positive, got %g (PyTorch would quantize with 1/scale "
                        "regardless)",
                        fn, scale);
  return QG_OK;
}

/* A quantized tensor whose every element the caller writes (no zero fill: weights are large). */
static qg_status new_quantized(qg_dtype dtype, const qg_tensor *like, qg_quantizer *q, qg_tensor **out) {
  qg_tensor *t;
  QG_TRY(qg_tensor_create_uninit(dtype, like->ndim, like->shape, &t));
  qg_status st = qg_tensor_set_quantizer(t, q);
  if (st != QG_OK) {
    qg_tensor_release(t);
    return st;
  }
  *out = t;
  return QG_OK;
}

/* ---- 8-bit quantize loops, AVX2 where the CPU has it (same values as the scalar loops) ---- */
static int force_scalar;
void qg__quantize_force_scalar(int on) { force_scalar = on; }

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QG__QUANTIZE_AVX2 1
#define AVX2 __attribute__((target("avx2")))

static int use_avx2(void) { return qg_cpu_has_avx2() && !force_scalar; }

/* Eight int32 lanes (already in the dtype's range) stored as eight bytes. */
AVX2 static inline void store8(__m256i v, int is_unsigned, uint8_t *dst) {
  __m256i w = _mm256_packs_epi32(v, v); /* int16: lanes 0-3 0-3 | 4-7 4-7 */
  w = is_unsigned ? _mm256_packus_epi16(w, w) : _mm256_packs_epi16(w, w);
  int32_t lo = _mm_cvtsi128_si32(_mm256_castsi256_si128(w)), hi = _mm_cvtsi128_si32(_mm256_extracti128_si256(w, 1));
  memcpy(dst, &lo, 4);
  memcpy(dst + 4, &hi, 4);
}

/* quantize_val: clamp(zp + nearbyint(x * inv)) in float, NaN -> 0. Returns elements done. */
AVX2 static int64_t quantize_val_avx2(const float *src, int64_t n, float inv, float zpf, float qmin, float qmax,
                                      int is_unsigned, uint8_t *dst) {
  const __m256 vinv = _mm256_set1_ps(inv), vzp = _mm256_set1_ps(zpf), lo = _mm256_set1_ps(qmin),
               hi = _mm256_set1_ps(qmax);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(src + i), vinv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 v = _mm256_add_ps(vzp, r);
    __m256 ordered = _mm256_cmp_ps(v, v, _CMP_ORD_Q);
    v = _mm256_and_ps(_mm256_min_ps(_mm256_max_ps(v, lo), hi), ordered);
    store8(_mm256_cvttps_epi32(v), is_unsigned, dst + i);
  }
  return i;
}

/* fbgemm's vector quantize (qg_q_quantize_vec): min(x * inv, clip) (NaN -> clip), cvtps2dq,
 * + zp wrapping, clamp. Returns elements done. */
AVX2 static int64_t quantize_vec_avx2(const float *src, int64_t n, float inv, int32_t zp, int32_t qmin, int32_t qmax,
                                      int is_unsigned, uint8_t *dst) {
  const __m256 vinv = _mm256_set1_ps(inv), clip = _mm256_set1_ps(2147483520.0f);
  const __m256i vzp = _mm256_set1_epi32(zp), lo = _mm256_set1_epi32(qmin), hi = _mm256_set1_epi32(qmax);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 y = _mm256_min_ps(_mm256_mul_ps(_mm256_loadu_ps(src + i), vinv), clip);
    __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(y), vzp);
    store8(_mm256_min_epi32(_mm256_max_epi32(r, lo), hi), is_unsigned, dst + i);
  }
  return i;
}
#endif

qg_status qg_cpu_quantize_per_tensor(qg_tensor *x, double scale, int64_t zero_point, qg_dtype dtype,
                                     qg_tensor **out) {
  static const char fn[] = "quantize_tensor_per_tensor_affine";
  QG_TRY(check_scale("quantize_per_tensor", scale));
  QG_TRY(check_quantize_args("quantize_per_tensor", x, dtype));
  QG_TRY(check_zero_point(fn, dtype, zero_point));
  qg_tensor *c = NULL, *r = NULL;
  qg_quantizer *q;
  QG_TRY(qg_quantizer_per_tensor(scale, zero_point, &q));
  qg_status st = qg_tensor_contiguous(x, &c);
  if (st == QG_OK) st = new_quantized(dtype, x, q, &r);
  qg_quantizer_release(q);
  if (st != QG_OK) {
    qg_tensor_release(c);
    return st;
  }
  /* fbgemm's TensorQuantizationParams hold the scale as float */
  const float inv = 1.0f / (float)scale;
  const float *src = qg_tensor_data(c);
  void *dst = qg_tensor_data(r);
  int64_t i = 0, n = qg_tensor_numel(c);
#if defined(QG__QUANTIZE_AVX2)
  if (dtype != QG_DTYPE_QINT32 && use_avx2()) {
    int64_t qmin, qmax;
    qg_q_range(dtype, &qmin, &qmax);
    i = quantize_vec_avx2(src, n, inv, (int32_t)zero_point, (int32_t)qmin, (int32_t)qmax, dtype == QG_DTYPE_QUINT8, dst);
  }
#endif
  for (; i < n; i++)
    qg_q_store(dtype, dst, i, qg_q_quantize_vec(dtype, inv, (float)scale, zero_point, src[i]));
  qg_tensor_release(c);
  *out = r;
  return QG_OK;
}

qg_status qg_cpu_quantize_per_channel(qg_tensor *x, const qg_tensor *scales, const qg_tensor *zero_points,
                                      int64_t axis, qg_dtype dtype, qg_tensor **out) {
  static const char fn[] = "quantize_tensor_per_channel_affine";
  QG_TRY(check_quantize_args("quantize_per_channel", x, dtype));
  int ax;
  QG_TRY(qg__pw_wrap_dim("quantize_per_channel", axis, x->ndim, &ax));
  if (x->ndim == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "quantize_per_channel: a 0-dim tensor has no channel axis");
  const int64_t channels = x->shape[ax];
  if (scales->ndim != 1 || scales->shape[0] != channels)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "length of scales must equal to channel, expected %lld got, %lld",
                        (long long)channels, (long long)qg_tensor_numel(scales));
  if (zero_points->ndim != 1 || zero_points->shape[0] != channels)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "length of zero_points must equal to channel expected %lld got, %lld", (long long)channels,
                        (long long)qg_tensor_numel(zero_points));
  for (int64_t c = 0; c < channels; c++) {
    QG_TRY(check_scale("quantize_per_channel", qg_tensor_get_flat(scales, c)));
    QG_TRY(check_zero_point(fn, dtype, (int64_t)qg_tensor_get_flat(zero_points, c)));
  }
  qg_quantizer *q;
  QG_TRY(qg_quantizer_per_channel(scales, zero_points, ax, &q));
  qg_tensor *cx = NULL, *r = NULL;
  qg_status st = qg_tensor_contiguous(x, &cx);
  if (st == QG_OK) st = new_quantized(dtype, x, q, &r);
  if (st == QG_OK) {
    const double *sc = qg_tensor_data(q->scales);
    const int64_t *zp = qg_tensor_data(q->zero_points);
    int64_t inner = 1;
    for (int d = ax + 1; d < x->ndim; d++) inner *= x->shape[d];
    const float *src = qg_tensor_data(cx);
    void *dst = qg_tensor_data(r);
    const int64_t n = qg_tensor_numel(cx), outer = channels && inner ? n / (channels * inner) : 0;
    /* (outer, channel, inner) loops: the per-element channel index (a division and a modulo)
     * cost more than the quantization itself; values are qg_q_quantize_scalar's, term by term */
    int64_t qmin, qmax;
    qg_q_range(dtype, &qmin, &qmax);
    const int64_t nan_value = dtype == QG_DTYPE_QINT32 ? INT32_MIN : 0;
    for (int64_t o = 0, i = 0; o < outer; o++)
      for (int64_t ch = 0; ch < channels; ch++) {
        const float inv = 1.0f / (float)sc[ch], zpf = (float)(int32_t)zp[ch];
        int64_t k = 0;
#if defined(QG__QUANTIZE_AVX2)
        if (dtype != QG_DTYPE_QINT32 && use_avx2()) {
          k = quantize_val_avx2(src + i, inner, inv, zpf, (float)qmin, (float)qmax, dtype == QG_DTYPE_QUINT8,
                                (uint8_t *)dst + i);
          i += k;
        }
#endif
        for (; k < inner; k++, i++) {
          double d = (double)(zpf + nearbyintf(src[i] * inv));
          int64_t v = isnan(d) ? nan_value : (int64_t)(d < (double)qmin ? (double)qmin : (double)qmax < d ? (double)qmax : d);
          if (dtype == QG_DTYPE_QINT8) ((int8_t *)dst)[i] = (int8_t)v;
          else if (dtype == QG_DTYPE_QUINT8) ((uint8_t *)dst)[i] = (uint8_t)v;
          else qg_q_store(dtype, dst, i, v);
        }
      }
    *out = r;
  }
  qg_tensor_release(cx);
  qg_quantizer_release(q);
  return st;
}

qg_status qg_cpu_dequantize(qg_tensor *x, qg_tensor **out) {
  if (!qg_dtype_info(x->dtype)->is_quantized) {
    /* dequantize_cpu_or_cuda: self.to(kFloat), which is self for a float32 tensor */
    if (x->dtype != QG_DTYPE_F32) return qg_tensor_to_dtype(x, QG_DTYPE_F32, out);
    qg_tensor_retain(x);
    *out = x;
    return QG_OK;
  }
  if (!x->quantizer || x->dtype == QG_DTYPE_QUINT4X2)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "dequantize: %s tensors without a per-tensor or per-channel affine "
                        "quantizer are not supported", qg_dtype_info(x->dtype)->name);
  qg_tensor *c, *r;
  QG_TRY(qg_tensor_contiguous(x, &c));
  qg_status st = qg_tensor_create(QG_DTYPE_F32, x->ndim, x->shape, &r);
  if (st != QG_OK) {
    qg_tensor_release(c);
    return st;
  }
  const qg_quantizer *q = x->quantizer;
  const void *src = qg_tensor_data(c);
  float *dst = qg_tensor_data(r);
  const int64_t n = qg_tensor_numel(c);
  if (q->scheme == QG_QSCHEME_PER_TENSOR_AFFINE) {
    /* fbgemm::Dequantize: float scale times the int difference converted to float */
    const float s = (float)q->scale;
    for (int64_t i = 0; i < n; i++) dst[i] = s * (float)(qg_q_load(x->dtype, src, i) - q->zero_point);
  } else {
    const double *sc = qg_tensor_data(q->scales);
    const int64_t *zp = qg_tensor_data(q->zero_points);
    const int64_t channels = x->shape[q->axis];
    int64_t inner = 1;
    for (int d = q->axis + 1; d < x->ndim; d++) inner *= x->shape[d];
    for (int64_t i = 0; i < n; i++) {
      const int64_t ch = i / inner % channels;
      dst[i] = qg_q_dequantize_scalar(sc[ch], zp[ch], qg_q_load(x->dtype, src, i));
    }
  }
  qg_tensor_release(c);
  *out = r;
  return QG_OK;
}

/* x.min() and x.max() as floats (NaN propagates, as torch.min does). */
static qg_status min_max(const char *op, qg_tensor *x, float *mn, float *mx) {
  if (x->dtype != QG_DTYPE_F32)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: expected a float32 tensor, got %s", op,
                        qg_dtype_info(x->dtype)->name);
  const int64_t n = qg_tensor_numel(x);
  if (n == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "min(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                        "reduction dim with the 'dim' argument.");
  qg_tensor *c;
  QG_TRY(qg_tensor_contiguous(x, &c));
  const float *p = qg_tensor_data(c);
  float lo = p[0], hi = p[0];
  for (int64_t i = 1; i < n; i++) {
    if (isnan(p[i]) || isnan(lo)) lo = NAN;
    else if (p[i] < lo) lo = p[i];
    if (isnan(p[i]) || isnan(hi)) hi = NAN;
    else if (p[i] > hi) hi = p[i];
  }
  qg_tensor_release(c);
  *mn = lo;
  *mx = hi;
  return QG_OK;
}

/* Both dynamic-qparams ops drop reduce_range under the qnnpack engine (QTensor.cpp; measured
 * with torch 1.13). */
static int engine_reduce_range(int reduce_range) { return reduce_range && qg_quant_engine_get() != QG_ENGINE_QNNPACK; }

qg_status qg_cpu_choose_qparams_per_tensor(qg_tensor *x, int reduce_range, double *scale, int64_t *zero_point) {
  reduce_range = engine_reduce_range(reduce_range);
  float mn, mx;
  QG_TRY(min_max("_choose_qparams_per_tensor", x, &mn, &mx));
  int32_t zp;
  QG_TRY(qg_choose_qparams_dynamic(mn, mx, 0, 255, 0, 0, reduce_range, scale, &zp));
  *zero_point = zp;
  return QG_OK;
}

qg_status qg_cpu_quantize_per_tensor_dynamic(qg_tensor *x, qg_dtype dtype, int reduce_range, qg_tensor **out) {
  if (dtype != QG_DTYPE_QINT8 && dtype != QG_DTYPE_QUINT8)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "quantize_per_tensor_dynamic: dtype %s not supported (quint8 or "
                        "qint8; float16 is not implemented)", qg_dtype_info(dtype)->name);
  reduce_range = engine_reduce_range(reduce_range);
  float mn, mx;
  QG_TRY(min_max("quantize_per_tensor_dynamic", x, &mn, &mx));
  double scale;
  int32_t zp;
  const int32_t qmin = dtype == QG_DTYPE_QINT8 ? -128 : 0, qmax = dtype == QG_DTYPE_QINT8 ? 127 : 255;
  QG_TRY(qg_choose_qparams_dynamic(mn, mx, qmin, qmax, 0, 0, reduce_range, &scale, &zp));
  return qg_cpu_quantize_per_tensor(x, scale, zp, dtype, out);
}

qg_status qg_cpu_saturate_weight_to_fp16(qg_tensor *w, int *saturated) {
  *saturated = 0;
  if (w->dtype != QG_DTYPE_F32)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "_saturate_weight_to_fp16: expected a float32 weight, got %s",
                        qg_dtype_info(w->dtype)->name);
  if (w->ndim < 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Dimension out of range (expected to be in range of [%d, %d], but got 1)",
                        w->ndim == 0 ? -1 : -w->ndim, w->ndim == 0 ? 0 : w->ndim - 1);
  if (!qg_tensor_is_contiguous(w)) return QG_OK;
  const float fp16_max = 65504.0f;
  float *p = qg_tensor_data(w);
  for (int64_t i = 0, n = w->shape[0] * w->shape[1]; i < n; i++) {
    if (p[i] > fp16_max) {
      p[i] = fp16_max;
      *saturated = 1;
    } else if (p[i] < -fp16_max) {
      p[i] = -fp16_max;
      *saturated = 1;
    }
  }
  return QG_OK;
}
