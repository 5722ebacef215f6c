/* Quantization parameter math (reference §5.2, §5.3, §5.8): utils.py::calculate_qmin_qmax,
 * UniformQuantizationObserverBase._calculate_qparams and ATen's ChooseQuantizationParams.
 *
 * _calculate_qparams is float32 tensor arithmetic in PyTorch: every Python scalar meets a float32
 * tensor and is cast to float32 first (`float(quant_max - quant_min)` becomes (float)(double)),
 * and each tensor op rounds to float32. The code below performs exactly those operations in the
 * same order, one float operation per tensor op (the build does not contract into FMAs: ISO C,
 * no -ffast-math). Conversions that PyTorch does with x86 instructions are reproduced with their
 * x86 results (float -> int32 of NaN or out-of-range values is INT32_MIN, int32 arithmetic
 * wraps). */
#include "quant/qparams.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *qg_qscheme_name(qg_qscheme_kind q) {
  switch (q) {
  case QG_QS_PER_TENSOR_AFFINE: return "torch.per_tensor_affine";
  case QG_QS_PER_CHANNEL_AFFINE: return "torch.per_channel_affine";
  case QG_QS_PER_TENSOR_SYMMETRIC: return "torch.per_tensor_symmetric";
  case QG_QS_PER_CHANNEL_SYMMETRIC: return "torch.per_channel_symmetric";
  case QG_QS_PER_CHANNEL_AFFINE_FLOAT_QPARAMS: return "torch.per_channel_affine_float_qparams";
  }
  return "torch.<unknown qscheme>";
}

int qg_qscheme_is_per_channel(qg_qscheme_kind q) {
  return q == QG_QS_PER_CHANNEL_AFFINE || q == QG_QS_PER_CHANNEL_SYMMETRIC || q == QG_QS_PER_CHANNEL_AFFINE_FLOAT_QPARAMS;
}

int qg_qscheme_is_symmetric(qg_qscheme_kind q) {
  return q == QG_QS_PER_TENSOR_SYMMETRIC || q == QG_QS_PER_CHANNEL_SYMMETRIC;
}

qg_dtype qg_qparams_zero_point_dtype(qg_qscheme_kind q) {
  if (qg_qscheme_is_symmetric(q)) return QG_DTYPE_I64;
  return q == QG_QS_PER_CHANNEL_AFFINE_FLOAT_QPARAMS ? QG_DTYPE_F32 : QG_DTYPE_I32;
}

static int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

static int is_qint8_like(qg_dtype d) { return d == QG_DTYPE_QINT8 || d == QG_DTYPE_I8; }
static int is_quint8_like(qg_dtype d) { return d == QG_DTYPE_QUINT8 || d == QG_DTYPE_U8; }
static int is_qint32_like(qg_dtype d) { return d == QG_DTYPE_QINT32 || d == QG_DTYPE_I32; }

qg_status qg_qrange(qg_dtype dtype, int has_custom, int64_t quant_min, int64_t quant_max, int reduce_range,
                    int64_t *qmin, int64_t *qmax) {
  if (has_custom) {
    /* UniformQuantizationObserverBase._validate_qmin_qmax (the typo is PyTorch's). */
    if (!(quant_min <= 0 && 0 <= quant_max))
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Used-specified quantization range must include 0.");
    if (quant_min >= quant_max)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "qmin must be strictly less than qmax for user-specified quantization range.");
    int64_t len = quant_max - quant_min + 1;
    if (is_qint8_like(dtype) && !(len > 0 && len <= 256))
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "quantization range should be positive and not exceed the maximum bit range (=256).");
    /* torch 2.x's bound (1.13 checked 2**31 while printing 2**32). */
    if (is_qint32_like(dtype) && !(len > 0 && len <= ((int64_t)1 << 32)))
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "quantization range should be positive and not exceed the maximum bit range (=4294967296).");
    *qmin = reduce_range ? floor_div2(quant_min) : quant_min;
    *qmax = reduce_range ? floor_div2(quant_max) : quant_max;
    return QG_OK;
  }
  if (is_qint8_like(dtype)) {
    *qmin = reduce_range ? -64 : -128;
    *qmax = reduce_range ? 63 : 127;
  } else if (is_quint8_like(dtype)) {
    *qmin = 0;
    *qmax = reduce_range ? 127 : 255;
  } else if (is_qint32_like(dtype)) {
    *qmin = INT32_MIN;
    *qmax = INT32_MAX;
  } else if (dtype == QG_DTYPE_I16) {
    *qmin = -32768;
    *qmax = 32767;
  } else {
    *qmin = 0; /* PyTorch's fallback (quint4x2 and anything else) */
    *qmax = 15;
  }
  return QG_OK;
}

/* torch.minimum / torch.maximum: NaN if either operand is NaN, else std::min / std::max. */
static float t_min(float a, float b) { return (isnan(a) || isnan(b)) ? NAN : (b < a ? b : a); }
static float t_max(float a, float b) { return (isnan(a) || isnan(b)) ? NAN : (a < b ? b : a); }

/* Tensor.to(torch.int) of a float on x86 (cvttss2si): NaN and out-of-range give INT32_MIN. */
static int32_t f2i32(float v) {
  if (!(v >= -2147483648.0f && v < 2147483648.0f)) return INT32_MIN;
  return (int32_t)v;
}

static int32_t wrap_sub_i32(int64_t a, int32_t b) { return (int32_t)(uint32_t)((uint64_t)a - (uint64_t)(int64_t)b); }

/* Python's repr of a float value (what "{}".format(0-dim tensor) prints), into buf. */
static const char *py_repr(double d, char *buf, size_t cap) {
  if (isnan(d)) return "nan";
  if (isinf(d)) return d < 0 ? "-inf" : "inf";
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  if (!strpbrk(buf, ".eEn") && strlen(buf) + 2 < cap) strcat(buf, ".0");
  return buf;
}

static qg_status min_max_error(const float *min_val, const float *max_val, size_t n, int per_channel) {
  char a[40], b[40];
  if (!per_channel)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "min %s should be less than max %s",
                        py_repr(min_val[0], a, sizeof a), py_repr(max_val[0], b, sizeof b));
  /* PyTorch prints both tensors; name the first offending channel instead. */
  size_t i = 0;
  while (i + 1 < n && min_val[i] <= max_val[i] && !(min_val[i] > max_val[i])) i++;
  return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "min %s should be less than max %s (channel %zu of %zu)",
                      py_repr(min_val[i], a, sizeof a), py_repr(max_val[i], b, sizeof b), i, n);
}

qg_status qg_calculate_qparams(const qg_qparams_args *a, const float *min_val, const float *max_val, size_t n,
                               float *scale, int64_t *zero_point, float *zero_point_f, int *warned) {
  int per_channel = qg_qscheme_is_per_channel(a->qscheme);
  if (warned) *warned = 0;
  /* utils.py::check_min_max_valid */
  int invalid = n == 0 || (!per_channel && min_val[0] == INFINITY && max_val[0] == -INFINITY);
  if (invalid) {
    if (warned) *warned = 1;
    if (n == 0) n = 1;
    for (size_t i = 0; i < n; i++) {
      if (scale) scale[i] = 1.0f;
      if (zero_point) zero_point[i] = 0;
      if (zero_point_f) zero_point_f[i] = 0.0f;
    }
    return QG_OK;
  }
  for (size_t i = 0; i < n; i++) {
    int bad = a->nan_check_113 ? !(min_val[i] <= max_val[i]) : min_val[i] > max_val[i];
    if (bad) return min_max_error(min_val, max_val, n, per_channel);
  }
  int64_t qmin = a->quant_min, qmax = a->quant_max;
  float range = (float)(double)(qmax - qmin);
  float half_range = (float)((double)(qmax - qmin) / 2);
  for (size_t i = 0; i < n; i++) {
    float min_neg = t_min(min_val[i], 0.0f), max_pos = t_max(max_val[i], 0.0f);
    float s;
    int64_t zp = 0;
    float zpf = 0.0f;
    if (qg_qscheme_is_symmetric(a->qscheme)) {
      max_pos = t_max(-min_neg, max_pos);
      s = t_max(max_pos / half_range, a->eps);
      if (is_quint8_like(a->dtype)) zp = a->has_customized_qrange ? floor_div2(qmin + qmax) : 128;
    } else if (a->qscheme == QG_QS_PER_CHANNEL_AFFINE_FLOAT_QPARAMS) {
      s = (max_val[i] - min_val[i]) / range;
      if (!(s > a->eps)) s = 1.0f;
      zpf = (-1.0f * min_val[i]) / s;
    } else {
      s = t_max((max_pos - min_neg) / range, a->eps);
      int32_t z = wrap_sub_i32(qmin, f2i32(nearbyintf(min_neg / s)));
      if (z < qmin) z = (int32_t)qmin; /* clamp_min then clamp_max, in int32 */
      if (z > qmax) z = (int32_t)qmax;
      zp = z;
    }
    if (scale) scale[i] = s;
    if (zero_point) zero_point[i] = zp;
    if (zero_point_f) zero_point_f[i] = zpf;
  }
  return QG_OK;
}

/* FLT16_MIN-ish cut-off of ATen's QuantUtils.h. */
#define SMALL_SCALE_THRESHOLD 6.1e-5f

qg_status qg_choose_qparams_dynamic(float min, float max, int32_t qmin, int32_t qmax, int preserve_sparsity,
                                    int force_scale_power_of_two, int reduce_range, double *scale,
                                    int32_t *zero_point) {
  if (!(min <= max))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "In ChooseQuantizationParams, min should be less than or equal to max");
  if (reduce_range) {
    qmin = qmin / 2;
    qmax = qmax / 2;
  }
  if (min < 0 && max > 0 && preserve_sparsity) {
    int symmetric_qmin = -((qmax - qmin) / 2 + 1);
    int symmetric_qmax = (qmax - qmin) / 2;
    double max_scale = fmax(fabs((double)(min / (float)symmetric_qmin)), fabs((double)(max / (float)symmetric_qmax)));
    min = (float)(max_scale * symmetric_qmin);
    max = (float)(max_scale * symmetric_qmax);
  }
  min = 0.f < min ? 0.f : min; /* std::min / std::max (keep -0.0 as ATen does) */
  max = max < 0.f ? 0.f : max;
  if (!(qmin < qmax))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "In ChooseQuantizationParams, qmin should be less than qmax");
  double s = ((double)max - min) / (qmax - qmin);
  if ((float)s == 0.0f || isinf(1.0f / (float)s)) s = 0.1;
  if (!(s > 0)) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "quantization scale should be > 0");
  if (force_scale_power_of_two) {
    if (s < 1) s = 1.0 / (1 << (int)floor(log(1.0 / s) / log(2)));
    else s = 1 << (int)ceil(log(s) / log(2));
  }
  if (s < SMALL_SCALE_THRESHOLD) {
    float org_scale = (float)s;
    s = SMALL_SCALE_THRESHOLD;
    if (min == 0.0f) {
      max = SMALL_SCALE_THRESHOLD * (float)(qmax - qmin);
    } else if (max == 0.0f) {
      min = -SMALL_SCALE_THRESHOLD * (float)(qmax - qmin);
    } else {
      float amplifier = SMALL_SCALE_THRESHOLD / org_scale;
      min *= amplifier;
      max *= amplifier;
    }
  }
  /* The zero point from whichever end adds the smaller terms (ATen subtracts the magnitudes). */
  double zp_from_min = qmin - min / s, zp_from_max = qmax - max / s;
  double err_min = fabs((double)qmin) - fabs(min / s), err_max = fabs((double)qmax) - fabs(max / s);
  double initial = err_min < err_max ? zp_from_min : zp_from_max;
  if (min < 0 && max > 0 && preserve_sparsity) initial = (double)(qmin + qmax) / 2;
  int32_t nudged;
  if (initial < qmin) nudged = qmin;
  else if (initial > qmax) nudged = qmax;
  else nudged = (int32_t)nearbyint(initial);
  *scale = s;
  *zero_point = nudged;
  return QG_OK;
}
