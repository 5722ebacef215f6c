/* Quantize and dequantize (reference §5.1, §5.8 step 5, §5.9): float32 tensors to quantized ones
 * and back, dynamic qparams, fp16 weight saturation. Bit-exact with torch 2.x's fbgemm build
 * (quantized_common.h): per-tensor 8-bit quantize is fbgemm's AVX2 sequence for every element
 * (its remainder is masked, not scalar), qint32 and per-channel quantize the scalar
 * quantize_val; per-tensor dequantize is float(scale) * float(q - zp), per-channel
 * float((q - zp) * double scale). Messages follow PyTorch's ("Quantize only works on Float
 * Tensor, got Double", "quantize_tensor_per_tensor_affine zero_point 256 is above upper bound.").
 * Deliberate difference: a scale that is 0, negative, NaN or infinite is refused (PyTorch
 * quantizes with 1/scale anyway and stores the scale). */
#ifndef QG_OPS_CPU_QUANTIZED_QUANTIZE_H
#define QG_OPS_CPU_QUANTIZED_QUANTIZE_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* aten::quantize_per_tensor: x must be f32; dtype quint8, qint8 or qint32. */
qg_status qg_cpu_quantize_per_tensor(qg_tensor *x, double scale, int64_t zero_point, qg_dtype dtype,
                                     qg_tensor **out) QG_MUST_USE;
/* aten::quantize_per_channel: scales (converted to f64) and zero_points (to i64), one per entry
 * of dimension axis (negative wraps). */
qg_status qg_cpu_quantize_per_channel(qg_tensor *x, const qg_tensor *scales, const qg_tensor *zero_points,
                                      int64_t axis, qg_dtype dtype, qg_tensor **out) QG_MUST_USE;
/* aten::dequantize: a new f32 tensor. A non-quantized x is converted as x.to(float32), as
 * PyTorch does: a float32 x is returned itself (retained). */
qg_status qg_cpu_dequantize(qg_tensor *x, qg_tensor **out) QG_MUST_USE;

/* aten::_choose_qparams_per_tensor(x, reduce_range): ChooseQuantizationParams over x's min and
 * max with qmin 0, qmax 255; reduce_range is ignored under the qnnpack engine, as PyTorch does
 * (quantize_per_tensor_dynamic too). */
qg_status qg_cpu_choose_qparams_per_tensor(qg_tensor *x, int reduce_range, double *scale,
                                           int64_t *zero_point) QG_MUST_USE;
/* aten::quantize_per_tensor_dynamic: qparams chosen as above for dtype's range, then quantized. */
qg_status qg_cpu_quantize_per_tensor_dynamic(qg_tensor *x, qg_dtype dtype, int reduce_range,
                                             qg_tensor **out) QG_MUST_USE;
/* aten::_saturate_weight_to_fp16: clamps the first size(0) * size(1) elements of a contiguous
 * f32 weight to [-65504, 65504] in place (NaN stays); a non-contiguous weight is left alone, as
 * PyTorch saturates a contiguous copy it then drops. *saturated receives whether any element
 * was clamped (PyTorch warns "FOUND weight out of range"). */
/* Tests: 1 makes the 8-bit quantize loops scalar instead of AVX2 (the values are the same). */
void qg__quantize_force_scalar(int on);

qg_status qg_cpu_saturate_weight_to_fp16(qg_tensor *w, int *saturated) QG_MUST_USE;

#endif
