/* Quantization parameter math (reference §5.2-§5.3), in float32 exactly as PyTorch orders it. */
#ifndef QG_QUANT_QPARAMS_H
#define QG_QUANT_QPARAMS_H

#include <stdint.h>

#include "base/status.h"
#include "tensor/tensor.h"

/* c10::QScheme numbers. */
typedef enum qg_qscheme_kind {
  QG_QS_PER_TENSOR_AFFINE = 0,
  QG_QS_PER_CHANNEL_AFFINE = 1,
  QG_QS_PER_TENSOR_SYMMETRIC = 2,
  QG_QS_PER_CHANNEL_SYMMETRIC = 3,
  QG_QS_PER_CHANNEL_AFFINE_FLOAT_QPARAMS = 4
} qg_qscheme_kind;

/* "torch.per_tensor_affine" etc. */
const char *qg_qscheme_name(qg_qscheme_kind q);
int qg_qscheme_is_per_channel(qg_qscheme_kind q);
int qg_qscheme_is_symmetric(qg_qscheme_kind q);

/* utils.py::calculate_qmin_qmax: the quantized range for dtype, with a custom range (validated,
 * halved with floor division under reduce_range) or the dtype's (halved under reduce_range).
 * INVALID_ARGUMENT with PyTorch's message for a bad custom range. */
qg_status qg_qrange(qg_dtype dtype, int has_custom, int64_t quant_min, int64_t quant_max, int reduce_range,
                    int64_t *qmin, int64_t *qmax) QG_MUST_USE;

typedef struct qg_qparams_args {
  qg_dtype dtype;
  qg_qscheme_kind qscheme;
  int64_t quant_min, quant_max; /* from qg_qrange */
  int has_customized_qrange;
  float eps;
  /* torch <= 2.4 checks `min <= max`, which a NaN fails (INVALID_ARGUMENT "min nan should be
   * less than max nan"); later torch checks `!(min > max)`, which lets NaN through to NaN
   * scales. 0 (the default) = later torch. */
  int nan_check_113;
} qg_qparams_args;

/* UniformQuantizationObserverBase._calculate_qparams over n (min, max) pairs (n = 1 for
 * per-tensor): writes scale[n] (float32) and zero_point[n] (the integer zero point, or the float
 * zero point stored in zero_point_f when qscheme is per_channel_affine_float_qparams; either
 * output may be NULL when unused). Invalid input (n == 0, or min=+inf and max=-inf per-tensor)
 * gives scale 1, zero point 0 and *warned = 1 (warned may be NULL). min > max is
 * INVALID_ARGUMENT ("min 2.0 should be less than max 1.0"). PyTorch's zero point tensor is int32
 * for the affine schemes and int64 for the symmetric ones (qg_qparams_zero_point_dtype). */
qg_status qg_calculate_qparams(const qg_qparams_args *a, const float *min_val, const float *max_val, size_t n,
                               float *scale, int64_t *zero_point, float *zero_point_f, int *warned) QG_MUST_USE;

/* The dtype of the zero point tensor PyTorch's _calculate_qparams returns for a scheme: I32
 * (affine: `quant_min - round(...).to(torch.int)`), I64 (symmetric: `zeros(..., int64)`), F32
 * (per_channel_affine_float_qparams). */
qg_dtype qg_qparams_zero_point_dtype(qg_qscheme_kind q);

/* quant_utils::ChooseQuantizationParams (ATen QuantUtils.h; dynamic quantization, reference
 * §5.8): double scale, nudged int32 zero point. INVALID_ARGUMENT with PyTorch's messages when
 * !(min <= max) (NaN included) or qmin >= qmax after reduce_range. */
qg_status qg_choose_qparams_dynamic(float min, float max, int32_t qmin, int32_t qmax, int preserve_sparsity,
                                    int force_scale_power_of_two, int reduce_range, double *scale,
                                    int32_t *zero_point) QG_MUST_USE;

#endif
