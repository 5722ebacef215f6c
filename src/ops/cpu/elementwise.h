/* Elementwise arithmetic: aten::add, sub, mul, div (Tensor and Scalar overloads, and the
 * in-place `_` forms), with PyTorch's broadcasting and type promotion.
 *
 * Type promotion is PyTorch's result_type: dimensioned tensors decide the result unless a 0-dim
 * tensor or scalar is of a higher category (bool < integer < float); a float Python scalar
 * counts as the default dtype float32 (so int_tensor + 2.5 is float32, f64_tensor + 2.5 is
 * float64). The computation runs in the common dtype: bool and integer dtypes compute in int64
 * with two's-complement wrap-around and are then narrowed (as PyTorch's wrapping narrow
 * arithmetic); f32 in float; f64 in double. f16/bf16 results and quantized inputs are
 * UNSUPPORTED.
 *
 * Out-of-place forms return a NEW contiguous tensor of the broadcast shape and the common
 * dtype, owned by the caller. In-place forms write into `a` (any strides, e.g. a transposed
 * view): the broadcast shape must equal a's shape ("output with shape [3] doesn't match the
 * broadcast shape [2, 3]") and the common dtype must be castable to a's dtype ("result type
 * Float can't be cast to the desired output type Long"). Errors: INVALID_ARGUMENT for shapes
 * ("The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension
 * 1"), bad alpha or integer division by zero ("ZeroDivisionError"); TYPE for casts; OOM.
 * Cost: O(numel of the result). */
#ifndef QG_OPS_CPU_ELEMENTWISE_H
#define QG_OPS_CPU_ELEMENTWISE_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* A Python-style number argument: an int (is_float = 0, value in i) or a float (value in f). */
typedef struct qg_scalar {
  int is_float;
  int64_t i;
  double f;
} qg_scalar;

static inline qg_scalar qg_scalar_int(int64_t v) {
  qg_scalar s = {0, v, (double)v};
  return s;
}
static inline qg_scalar qg_scalar_float(double v) {
  qg_scalar s = {1, 0, v};
  return s;
}

/* a + alpha * b. An integral result needs an integer alpha ("For integral input tensors,
 * argument alpha must not be a floating point number."). */
qg_status qg_cpu_add(qg_tensor *a, qg_tensor *b, qg_scalar alpha, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_add_scalar(qg_tensor *a, qg_scalar b, qg_scalar alpha, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_add_(qg_tensor *a, qg_tensor *b, qg_scalar alpha) QG_MUST_USE;
qg_status qg_cpu_add_scalar_(qg_tensor *a, qg_scalar b, qg_scalar alpha) QG_MUST_USE;

/* a - alpha * b. Bool operands are rejected with PyTorch's message ("Subtraction, the `-`
 * operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator
 * instead."). */
qg_status qg_cpu_sub(qg_tensor *a, qg_tensor *b, qg_scalar alpha, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_sub_scalar(qg_tensor *a, qg_scalar b, qg_scalar alpha, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_sub_(qg_tensor *a, qg_tensor *b, qg_scalar alpha) QG_MUST_USE;
qg_status qg_cpu_sub_scalar_(qg_tensor *a, qg_scalar b, qg_scalar alpha) QG_MUST_USE;

/* a * b */
qg_status qg_cpu_mul(qg_tensor *a, qg_tensor *b, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_mul_scalar(qg_tensor *a, qg_scalar b, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_mul_(qg_tensor *a, qg_tensor *b) QG_MUST_USE;
qg_status qg_cpu_mul_scalar_(qg_tensor *a, qg_scalar b) QG_MUST_USE;

/* a / b. QG_DIV_TRUE (rounding_mode=None) always computes in floating point: integer and bool
 * operands promote to float32. QG_DIV_TRUNC: trunc(a / b). QG_DIV_FLOOR: floor division with
 * PyTorch's div_floor_floating correction for floats (fmod-based, so -0.0 and b == 0 follow
 * IEEE) and Python semantics for integers. Integer division by zero is an error. */
typedef enum qg_div_mode { QG_DIV_TRUE = 0, QG_DIV_TRUNC = 1, QG_DIV_FLOOR = 2 } qg_div_mode;
/* The schema's `str? rounding_mode`: NULL -> TRUE, "trunc", "floor", else INVALID_ARGUMENT. */
qg_status qg_div_mode_parse(const char *s, qg_div_mode *out) QG_MUST_USE;
qg_status qg_cpu_div(qg_tensor *a, qg_tensor *b, qg_div_mode mode, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_div_scalar(qg_tensor *a, qg_scalar b, qg_div_mode mode, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_div_(qg_tensor *a, qg_tensor *b, qg_div_mode mode) QG_MUST_USE;
qg_status qg_cpu_div_scalar_(qg_tensor *a, qg_scalar b, qg_div_mode mode) QG_MUST_USE;

/* PyTorch's result_type(a, b) (b_is_scalar: b is a wrapped Python number held in a 0-dim
 * tensor: int64 for ints, float64 for floats counted as float32). */
qg_dtype qg_cpu_result_type(const qg_tensor *a, const qg_tensor *b, int b_is_scalar);

#endif
