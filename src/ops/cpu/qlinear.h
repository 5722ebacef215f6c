/* Quantized linear: static (quint8 in and out), dynamic (float in and out, the activation
 * quantized on the fly) and fp16-weight linear. Reference numerics: docs/numerics.md
 * "Quantized conv, linear and embedding_bag"; the engine (quant_engine.h) is read per call.
 *
 * Layout as PyTorch: x [..., K] (at least 2-D), weight [N, K] (qint8, per-tensor or per-channel
 * along axis 0; fp16 linear: F16), bias [N] float32 or NULL, output [..., N]. Inputs may have
 * any strides. Errors: QG_STATUS_TYPE for dtypes, QG_STATUS_INVALID_ARGUMENT for shapes and
 * qparams, QG_STATUS_OOM. Implementation: qlinear.c (int8) and qlinear_fp16.c; the int8 GEMM is
 * qgemm.h, the requantization qrequant.h. */
#ifndef QG_OPS_CPU_QLINEAR_H
#define QG_OPS_CPU_QLINEAR_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* quantized::linear / linear_relu: x quint8 (per-tensor), output quint8 (out_scale, out_zp). */
qg_status qg_cpu_qlinear(qg_tensor *x, qg_tensor *weight, qg_tensor *bias, double out_scale, int64_t out_zp, int relu,
                         qg_tensor **out) QG_MUST_USE;

/* quantized::linear_dynamic / linear_relu_dynamic: x float32. FBGEMM: the input's qparams are
 * ChooseQuantizationParams(min, max, 0, 255, reduce_range) and it is quantized with FBGEMM's
 * LEGACY formula; QNNPACK ignores reduce_range and quantizes with the plain one. */
qg_status qg_cpu_qlinear_dynamic(qg_tensor *x, qg_tensor *weight, qg_tensor *bias, int reduce_range, int relu,
                                 qg_tensor **out) QG_MUST_USE;

/* quantized::linear_prepack_fp16's weight: w (float32 [N, K]) saturated to +-65504 and rounded
 * to fp16 (round to nearest even). *saturated: how many values were clamped (PyTorch warns).
 * in_place: also write the clamped values back into w, as fbgemm's HandleWeightsSaturation
 * does to the caller's tensor (only when something was clamped). */
qg_status qg_cpu_fp16_weight(qg_tensor *w, int in_place, qg_tensor **out, int64_t *saturated) QG_MUST_USE;

/* quantized::linear_dynamic_fp16 / linear_relu_dynamic_fp16: x float32, w16 F16 [N, K].
 * Each output is one fused-multiply-add chain over k in order (FBGEMM's fp16 GEMM for K up to
 * its k-block), then + bias, then relu. */
qg_status qg_cpu_qlinear_fp16(qg_tensor *x, qg_tensor *w16, qg_tensor *bias, int relu, qg_tensor **out) QG_MUST_USE;

#endif
