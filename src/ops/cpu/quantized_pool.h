/* Pooling, mean and upsampling of quantized tensors (Pooling.cpp, q_avgpool.cpp,
 * q_avgpool3d.cpp, q_adaavgpool.cpp, ReduceOps.cpp, UpSample*.cpp). Inputs are per-tensor
 * quantized in PyTorch's default (contiguous) layout; outputs keep the input's qparams.
 *   max pooling, nearest upsampling: the stored integers move unchanged;
 *   avg_pool1d/2d: nearbyint((sum(q) - n * z) * float(1 / divisor) + z) per window;
 *   avg_pool3d: PyTorch's channels-last kernel (multiplier in vector channel blocks of 16,
 *     1 / (1 / multiplier) in the scalar remainder);
 *   adaptive_avg_pool1d/2d/3d: nearbyint(sum(q) * float(1 / kD / kH / kW));
 *   mean over trailing dims: nearbyint(float(sum(q)) / n); over other dims dequantize, float
 *     mean, quantize;
 *   upsample_bilinear2d: float32 lambdas as PyTorch's area_pixel helpers, requantized once.
 * Channels-last inputs take other kernels in PyTorch (not reproduced: quantgraph tensors carry
 * no memory format). */
#ifndef QG_OPS_CPU_QUANTIZED_POOL_H
#define QG_OPS_CPU_QUANTIZED_POOL_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* Arguments as qg_cpu_max_pool_nd / avg_pool_nd / adaptive_avg_pool_nd / upsample (pool.h,
 * upsample.h); the same shape rules and messages apply. */
qg_status qg_cpu_qmax_pool_nd(int nspatial, qg_tensor *x, const int64_t *kernel, int nk, const int64_t *stride, int ns,
                              const int64_t *padding, int np, const int64_t *dilation, int nd, int ceil_mode,
                              qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_qavg_pool_nd(int nspatial, qg_tensor *x, const int64_t *kernel, int nk, const int64_t *stride, int ns,
                              const int64_t *padding, int np, int ceil_mode, int count_include_pad,
                              int64_t divisor_override, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_qadaptive_avg_pool_nd(int nspatial, qg_tensor *x, const int64_t *output_size, int no,
                                       qg_tensor **out) QG_MUST_USE;
/* aten::mean on a quantized tensor (dims empty = all; dtype must be none or x's). */
qg_status qg_cpu_qmean(qg_tensor *x, const int64_t *dims, int ndims, int keepdim, qg_tensor **out) QG_MUST_USE;
/* Nearest (any rank) or bilinear (2-D only) upsampling; see upsample.h for the arguments. */
qg_status qg_cpu_qupsample_vec(int nspatial, int bilinear, qg_tensor *x, const int64_t *output_size, int nout,
                               const double *scale_factors, int nscale, int align_corners, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_qupsample(int nspatial, int bilinear, qg_tensor *x, const int64_t *output_size, const double *scales,
                           int align_corners, qg_tensor **out) QG_MUST_USE;

#endif
