/* Quantized normalization (reference §5.7; qbatch_norm.cpp, Normalization.cpp and the
 * q_batch_norm / quantized_normalize kernels of QuantizedOpKernels.cpp). Inputs are per-tensor
 * quantized, weights and statistics float32 (other float dtypes are converted); outputs are new
 * tensors with the given qparams.
 *   batch norm: per channel alpha = inv_sigma * w * (s_in / s_out), beta = (b - mean * inv_sigma *
 *     w) / s_out (float32 rounding points as PyTorch), q = z_out + round(alpha * (q - z_in) + beta),
 *     fused multiply-add in PyTorch's vector lanes (64 channels per block on AVX-512);
 *   layer / group / instance norm: integer sums of q and q^2 per group give mean and variance in
 *     float32, then ((q - z) - mean) * s_in / std, affine, requantized.
 * PyTorch computes batch norm in channels-last order and norms per row; the element forms are
 * chosen per channel / per row position as its kernels do. */
#ifndef QG_OPS_CPU_QUANTIZED_NORM_H
#define QG_OPS_CPU_QUANTIZED_NORM_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* quantized::batch_norm{,1d,2d,3d}{,_relu}: nspatial 1 (rank 2 or 3), 2 (rank 4), 3 (rank 5),
 * or 0 for the rank-dispatching quantized::batch_norm. weight and bias are required (PyTorch:
 * "Weight must be provided"). */
qg_status qg_cpu_qbatch_norm(int nspatial, qg_tensor *x, qg_tensor *weight, qg_tensor *bias, qg_tensor *mean,
                             qg_tensor *var, double eps, double scale, int64_t zero_point, int relu,
                             qg_tensor **out) QG_MUST_USE;
/* quantized::layer_norm (weight / bias optional, shaped like normalized_shape). */
qg_status qg_cpu_qlayer_norm(qg_tensor *x, const int64_t *normalized_shape, int nnorm, qg_tensor *weight,
                             qg_tensor *bias, double eps, double scale, int64_t zero_point, qg_tensor **out) QG_MUST_USE;
/* quantized::group_norm (weight / bias per channel, optional); instance norm is groups = C. */
qg_status qg_cpu_qgroup_norm(qg_tensor *x, int64_t groups, qg_tensor *weight, qg_tensor *bias, double eps,
                             double scale, int64_t zero_point, qg_tensor **out) QG_MUST_USE;

#endif
