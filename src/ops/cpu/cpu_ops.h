/* CPU reference kernels: the contract every kernel follows.
 *
 * - A kernel is a plain C function `qg_cpu_<op>(inputs..., params..., qg_tensor **out)` that
 *   returns qg_status and gives the caller one reference to a NEW contiguous output (in-place
 *   variants are named `qg_cpu_<op>_` and write into their first argument, which may be a view).
 * - Inputs may have any strides; a kernel calls qg_tensor_contiguous() when it needs dense data.
 * - Supported dtypes: f32 and f64 for every float op (computed in the input's precision;
 *   accumulations in f64 for f32 where PyTorch's CPU path does so is NOT required — match
 *   PyTorch within the parity tolerance: f32 max relative error <= 1e-5 with an absolute floor,
 *   f64 <= 1e-12). Mixed dtypes follow PyTorch's type promotion where the op allows it.
 * - Shape or argument errors return QG_STATUS_INVALID_ARGUMENT with a message naming the op and
 *   the sizes, worded like PyTorch's where PyTorch has a well-known message
 *   ("conv2d: expected input with 4 dims, got 3", "mat1 and mat2 shapes cannot be multiplied
 *   (2x3 and 4x5)"). NaN and Inf propagate as in PyTorch; kernels never crash on them.
 * - Kernels never print and allocate only through qg__malloc & co (via tensor creation).
 * One header per op family lives beside this one (conv.h, linalg.h, pool.h, norm.h,
 * activation.h, elementwise.h, shape.h, reduce.h, embedding.h, upsample.h). */
#ifndef QG_OPS_CPU_CPU_OPS_H
#define QG_OPS_CPU_CPU_OPS_H

#include "base/status.h"
#include "tensor/tensor.h"
#include "tensor/tensor_ops.h"

#endif
