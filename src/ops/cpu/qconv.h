/* Quantized convolution and transposed convolution, 2-D and 3-D (quantized::conv2d/3d(_relu),
 * conv_transpose2d; conv1d / conv_transpose1d run as 2-D with a unit height, the way PyTorch
 * packs them). Reference numerics: docs/numerics.md; the engine (quant_engine.h) is read per
 * call.
 *
 * Layout is PyTorch's logical NC(D)HW: x quint8 [N, C_in, *spatial] (per-tensor), weight qint8
 * [C_out, C_in / groups, *kernel] (transposed: [C_in, C_out / groups, *kernel]), per-tensor or
 * per-channel along axis 0 (not for transposed, as FBGEMM), bias float32 [C_out] or NULL. The
 * output is a contiguous quint8 [N, C_out, *out_spatial] with (out_scale, out_zp) (PyTorch
 * returns channels-last strides; values are the same).
 *
 * Implementation (qconv.c): one uint8 x int8 GEMM (qgemm.h) per image and group, the weight
 * packed once (qpack_cache.h; a 1x1 convolution over a multiple of 4 channels uses it as it is),
 * the input rearranged into a padded channel-quad grid read in place (qgemm_grid.h: no im2col),
 * requantization (qrequant.h) in the GEMM's epilogue; the transposed form is a GEMM of the
 * weights against the input followed by an int32 col2im, then the same requantization.
 * Errors: QG_STATUS_TYPE (dtypes), QG_STATUS_INVALID_ARGUMENT (shapes, groups, parameters, with
 * PyTorch-like messages), QG_STATUS_UNSUPPORTED (per-channel transposed),
 * QG_STATUS_OOM. */
#ifndef QG_OPS_CPU_QCONV_H
#define QG_OPS_CPU_QCONV_H

#include <stdint.h>

#include "ops/cpu/conv.h"

/* p: nspatial 2 or 3, transposed, stride / padding / dilation / output_padding (transposed) /
 * groups; padding_mode must be explicit. relu is refused for the transposed form (PyTorch has
 * no fused conv_transpose + relu). */
qg_status qg_cpu_qconv(qg_tensor *x, qg_tensor *weight, qg_tensor *bias, const qg_conv_params *p, double out_scale,
                       int64_t out_zp, int relu, qg_tensor **out) QG_MUST_USE;

#endif
