/* Reductions: aten::sum and aten::mean over all dims or a dim list, with keepdim and an
 * optional dtype.
 *
 * Input: any non-quantized dtype (mean: float, or an explicit float dtype), any strides. dims:
 * ndims entries (negative wrap; duplicates are INVALID_ARGUMENT "dim 1 appears multiple times in
 * the list of dims"); ndims == 0 reduces every dim, as PyTorch's sum(x, dim=[]). keepdim keeps
 * reduced dims as size 1. dtype: QG_REDUCE_NO_DTYPE or the dtype to convert the input to
 * first (then also the result's dtype). Default result dtype: sum of bool/integers is int64,
 * otherwise the input's dtype. Accumulation: int64 (wrapping) for integers, double for f32,
 * long double for f64. An empty reduction sums to 0; its mean is NaN. The result is a NEW
 * contiguous tensor owned by the caller. Cost: O(numel). */
#ifndef QG_OPS_CPU_REDUCE_H
#define QG_OPS_CPU_REDUCE_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

#define QG_REDUCE_NO_DTYPE (-1)

qg_status qg_cpu_sum(qg_tensor *x, const int64_t *dims, int ndims, int keepdim, int dtype,
                     qg_tensor **out) QG_MUST_USE;
/* sum / count of reduced elements. Non-float results are INVALID_ARGUMENT: "mean(): could not
 * infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Long". */
qg_status qg_cpu_mean(qg_tensor *x, const int64_t *dims, int ndims, int keepdim, int dtype,
                      qg_tensor **out) QG_MUST_USE;

#endif
