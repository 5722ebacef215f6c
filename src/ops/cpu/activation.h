/* Float activations and softmax: aten::relu, relu6, hardtanh, clamp, hardswish, hardsigmoid,
 * elu, leaky_relu, sigmoid, tanh, gelu, silu, softmax, log_softmax.
 *
 * Input: f32 or f64, any strides (clamp also takes tensor bounds, broadcast against x). Each
 * out-of-place kernel returns a NEW contiguous tensor of x's shape and dtype, owned by the
 * caller. The `_` forms compute the same values and write them back into x (which may be a
 * view), as PyTorch's in-place ops. Formulas are PyTorch's (see each function); NaN
 * propagates (relu(NaN) = NaN, clamp(NaN) = NaN). Errors: UNSUPPORTED for other dtypes,
 * INVALID_ARGUMENT for bad dims or shapes, OOM. Cost: O(numel). */
#ifndef QG_OPS_CPU_ACTIVATION_H
#define QG_OPS_CPU_ACTIVATION_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* max(x, 0) */
qg_status qg_cpu_relu(qg_tensor *x, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_relu_(qg_tensor *x) QG_MUST_USE;
/* min(max(x, 0), 6) */
qg_status qg_cpu_relu6(qg_tensor *x, qg_tensor **out) QG_MUST_USE;
/* min(max(x, min_val), max_val) */
qg_status qg_cpu_hardtanh(qg_tensor *x, double min_val, double max_val, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_hardtanh_(qg_tensor *x, double min_val, double max_val) QG_MUST_USE;

/* clamp(x, min?, max?): min(max(x, lo), hi) with NaN in x kept; lo > hi gives hi everywhere.
 * Scalar bounds: has_min / has_max say whether each is given; at least one must be
 * ("clamp: At least one of 'min' or 'max' must not be None"). */
qg_status qg_cpu_clamp(qg_tensor *x, int has_min, double min, int has_max, double max,
                       qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_clamp_(qg_tensor *x, int has_min, double min, int has_max, double max) QG_MUST_USE;
/* Tensor bounds (NULL = None), broadcast with x; the result has the broadcast shape. A NaN
 * bound gives NaN, as PyTorch's clamp.Tensor. */
qg_status qg_cpu_clamp_tensor(qg_tensor *x, qg_tensor *min, qg_tensor *max,
                              qg_tensor **out) QG_MUST_USE;

/* x * min(max(x + 3, 0), 6) / 6 */
qg_status qg_cpu_hardswish(qg_tensor *x, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_hardswish_(qg_tensor *x) QG_MUST_USE;
/* min(max(x + 3, 0), 6) / 6 */
qg_status qg_cpu_hardsigmoid(qg_tensor *x, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_hardsigmoid_(qg_tensor *x) QG_MUST_USE;
/* x <= 0 ? (exp(x * input_scale) - 1) * alpha * scale : x * scale */
qg_status qg_cpu_elu(qg_tensor *x, double alpha, double scale, double input_scale,
                     qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_elu_(qg_tensor *x, double alpha, double scale, double input_scale) QG_MUST_USE;
/* x > 0 ? x : x * negative_slope */
qg_status qg_cpu_leaky_relu(qg_tensor *x, double negative_slope, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_leaky_relu_(qg_tensor *x, double negative_slope) QG_MUST_USE;
/* 1 / (1 + exp(-x)) */
qg_status qg_cpu_sigmoid(qg_tensor *x, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_sigmoid_(qg_tensor *x) QG_MUST_USE;
qg_status qg_cpu_tanh(qg_tensor *x, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_tanh_(qg_tensor *x) QG_MUST_USE;
/* approximate "none": x/2 * (1 + erf(x / sqrt(2)));
 * approximate "tanh": x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
typedef enum qg_gelu_approx { QG_GELU_NONE = 0, QG_GELU_TANH = 1 } qg_gelu_approx;
qg_status qg_cpu_gelu(qg_tensor *x, qg_gelu_approx approximate, qg_tensor **out) QG_MUST_USE;
/* The schema's string argument: "none" or "tanh", else INVALID_ARGUMENT. */
qg_status qg_gelu_approx_parse(const char *s, qg_gelu_approx *out) QG_MUST_USE;
/* x * sigmoid(x) */
qg_status qg_cpu_silu(qg_tensor *x, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_silu_(qg_tensor *x) QG_MUST_USE;

/* softmax / log_softmax along dim (negative wraps). dtype: QG_SOFTMAX_NO_DTYPE, or f32/f64 to
 * convert x first (the output then has that dtype). Numerically stable: the row maximum is
 * subtracted; log_softmax = x - max - log(sum(exp(x - max))). A row holding +Inf or NaN gives
 * NaN, as PyTorch. */
#define QG_SOFTMAX_NO_DTYPE (-1)
qg_status qg_cpu_softmax(qg_tensor *x, int64_t dim, int dtype, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_log_softmax(qg_tensor *x, int64_t dim, int dtype, qg_tensor **out) QG_MUST_USE;

#endif
