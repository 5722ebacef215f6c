/* Float pooling, 1-D to 3-D: aten::max_pool{1,2,3}d, avg_pool{1,2,3}d and
 * adaptive_avg_pool{1,2,3}d, with PyTorch's output-size rules (ceil_mode included) and window
 * semantics (count_include_pad, divisor_override, dilation for max).
 *
 * Input [N, C, *spatial] or unbatched [C, *spatial], f32 or f64, any strides; the result is a
 * new contiguous tensor of the same rank owned by the caller. Int lists follow the schemas:
 * kernel_size of 1 or nspatial values, stride empty (= kernel_size), 1 or nspatial values,
 * padding and dilation 1 or nspatial values. Errors (QG_STATUS_INVALID_ARGUMENT) use PyTorch's
 * messages: "pad should be at most half of kernel size, but got pad=2 and kernel_size=3",
 * "Given input size: (1x2x2). Calculated output size: (1x0x0). Output size is too small". */
#ifndef QG_OPS_CPU_POOL_H
#define QG_OPS_CPU_POOL_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* NaN in a window gives NaN, as PyTorch's max pooling. */
qg_status qg_cpu_max_pool_nd(int nspatial, qg_tensor *input, const int64_t *kernel_size,
                             int nkernel, const int64_t *stride, int nstride,
                             const int64_t *padding, int npadding, const int64_t *dilation,
                             int ndilation, int ceil_mode, qg_tensor **out) QG_MUST_USE;

/* divisor_override <= 0 means None (divide by the window size as count_include_pad says);
 * PyTorch rejects 0, and so does this (pass a negative value for None). */
qg_status qg_cpu_avg_pool_nd(int nspatial, qg_tensor *input, const int64_t *kernel_size,
                             int nkernel, const int64_t *stride, int nstride,
                             const int64_t *padding, int npadding, int ceil_mode,
                             int count_include_pad, int64_t divisor_override,
                             qg_tensor **out) QG_MUST_USE;
#define QG_POOL_NO_DIVISOR (-1)

/* Output cell o of size `out` covers input [floor(o*in/out), ceil((o+1)*in/out)). */
qg_status qg_cpu_adaptive_avg_pool_nd(int nspatial, qg_tensor *input, const int64_t *output_size,
                                      int noutput_size, qg_tensor **out) QG_MUST_USE;

#endif
