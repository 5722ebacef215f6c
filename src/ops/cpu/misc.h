/* Small CPU kernels the interpreter's aten ops need beyond the other families: comparisons,
 * negation, logical_or, masked_fill, fill, full, arange, repeat and constant padding.
 *
 * Inputs may have any strides and any non-quantized dtype unless said otherwise; results are NEW
 * contiguous tensors owned by the caller (in-place `_` forms write into their first argument,
 * which may be a view). Broadcasting and type promotion are PyTorch's (qg_cpu_result_type);
 * comparisons compute in the promoted dtype (so a float scalar compared with an f32 tensor is
 * rounded to f32 first, as PyTorch does). Errors: INVALID_ARGUMENT with PyTorch's messages for
 * shapes, UNSUPPORTED for quantized dtypes, OOM. Cost: O(numel of the result). */
#ifndef QG_OPS_CPU_MISC_H
#define QG_OPS_CPU_MISC_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"
#include "ops/cpu/elementwise.h"

typedef enum qg_cmp_op { QG_CMP_EQ, QG_CMP_NE, QG_CMP_LT, QG_CMP_GT, QG_CMP_LE, QG_CMP_GE } qg_cmp_op;

/* a <op> b elementwise over the broadcast shape; a bool tensor. NaN compares unequal. */
qg_status qg_cpu_compare(qg_cmp_op op, qg_tensor *a, qg_tensor *b, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_compare_scalar(qg_cmp_op op, qg_tensor *a, qg_scalar b, qg_tensor **out) QG_MUST_USE;

/* -x. Bool is rejected with PyTorch's message ("Negation, the `-` operator, on a bool tensor is
 * not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator
 * instead."). */
qg_status qg_cpu_neg(qg_tensor *x, qg_tensor **out) QG_MUST_USE;

/* (a != 0) | (b != 0), broadcast; a bool tensor. */
qg_status qg_cpu_logical_or(qg_tensor *a, qg_tensor *b, qg_tensor **out) QG_MUST_USE;

/* x with value where mask (bool, broadcastable to x's shape) is true: a new tensor of x's shape
 * and dtype, or written into x (masked_fill_). value is a Scalar or a 0-dim tensor ("masked_fill_
 * only supports a 0-dimensional value tensor, but got tensor with 1 dimension(s)."). */
qg_status qg_cpu_masked_fill(qg_tensor *x, qg_tensor *mask, qg_scalar value, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_masked_fill_(qg_tensor *x, qg_tensor *mask, qg_scalar value) QG_MUST_USE;
/* The Scalar held by a one-element tensor (int for integer/bool dtypes, float otherwise). */
qg_status qg_cpu_tensor_to_scalar(const qg_tensor *t, qg_scalar *out) QG_MUST_USE;

/* Writes v (converted to x's dtype) into every element of x. */
qg_status qg_cpu_fill_(qg_tensor *x, qg_scalar v) QG_MUST_USE;
/* A new tensor of `shape` filled with v, of dtype `dtype` (negative sizes: INVALID_ARGUMENT
 * "Trying to create tensor with negative dimension -1: [-1, 2]"). */
qg_status qg_cpu_full(int ndim, const int64_t *shape, qg_scalar v, qg_dtype dtype,
                      qg_tensor **out) QG_MUST_USE;
/* [start, end) by step as torch.arange: ceil((end - start) / step) values, computed as
 * start + i * step in double and converted to dtype. Errors: "step must be nonzero", "upper
 * bound and larger bound inconsistent with step sign". */
qg_status qg_cpu_arange(double start, double end, double step, qg_dtype dtype, qg_tensor **out) QG_MUST_USE;

/* x tiled repeats[i] times along each dim (nrep >= x->ndim: "Number of dimensions of repeat
 * dims can not be smaller than number of dimensions of tensor"); leading extra repeats add
 * dims, as torch.Tensor.repeat. */
qg_status qg_cpu_repeat(qg_tensor *x, const int64_t *repeats, int nrep, qg_tensor **out) QG_MUST_USE;

/* Constant padding as F.pad(mode="constant"): pad holds (lo, hi) pairs starting from the last
 * dim; negative values crop. */
qg_status qg_cpu_pad_constant(qg_tensor *x, const int64_t *pad, int npad, double value,
                              qg_tensor **out) QG_MUST_USE;

#endif
