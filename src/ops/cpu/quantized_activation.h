/* Quantized activations (reference §5.7; QuantizedOpKernels.cpp qrelu / qclamp / leaky_qrelu /
 * qsigmoid / qhardsigmoid / qtanh / qhardswish / qelu / qthreshold / qprelu kernels, SoftMax.cpp).
 * Inputs are per-tensor quantized; results are new contiguous tensors. The ReLU and clamp
 * families work on the stored integers with the input's qparams (bounds quantized with them);
 * the others dequantize, compute in float32 and requantize to their output qparams, in the
 * vector or scalar form per element (quantized_common.h). The vector forms of exp, expm1 and
 * tanh are SLEEF's 1-ULP routines in PyTorch; we use libm's, which can move a result that lands
 * within an ulp of a rounding tie by one step (docs/numerics.md). */
#ifndef QG_OPS_CPU_QUANTIZED_ACTIVATION_H
#define QG_OPS_CPU_QUANTIZED_ACTIVATION_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* max(q, zero_point): aten::relu on a quantized tensor. */
qg_status qg_cpu_qrelu(qg_tensor *x, qg_tensor **out) QG_MUST_USE;
/* clamp of the stored integers to [quantize(lo), quantize(hi)] (either bound optional):
 * aten::clamp / hardtanh / relu6 (0, 6), quantized::clamp / relu6. */
qg_status qg_cpu_qclamp(qg_tensor *x, int has_lo, double lo, int has_hi, double hi, qg_tensor **out) QG_MUST_USE;

typedef enum qg_qunary_kind {
  QG_QUNARY_LEAKY_RELU = 0, /* a = negative slope */
  QG_QUNARY_SIGMOID,
  QG_QUNARY_HARDSIGMOID,
  QG_QUNARY_TANH,
  QG_QUNARY_HARDSWISH,
  QG_QUNARY_ELU,       /* a = alpha, b = scale, c = input_scale (celu: alpha, 1, 1 / alpha) */
  QG_QUNARY_THRESHOLD  /* a = threshold, b = value */
} qg_qunary_kind;

/* Dequantize -> f -> requantize to (scale, zero_point). */
qg_status qg_cpu_qunary(qg_qunary_kind kind, qg_tensor *x, double a, double b, double c, double scale,
                        int64_t zero_point, qg_tensor **out) QG_MUST_USE;
/* The output qparams PyTorch fixes for aten::sigmoid / hardsigmoid / tanh on a quantized dtype:
 * sigmoid and hardsigmoid (1/256, 0) for quint8, (1/256, -128) for qint8, (2^-32, 0) for
 * qint32; tanh (2/256, 128) for quint8, (2/256, 0) for qint8, (2^-31, 0) for qint32. */
void qg_cpu_qunary_fixed_qparams(qg_qunary_kind kind, qg_dtype dtype, double *scale, int64_t *zero_point);

/* quantized::prelu: weight is a quantized tensor of x's dtype, broadcast along dim 1 when its
 * rank differs from x's. */
qg_status qg_cpu_qprelu(qg_tensor *x, qg_tensor *weight, double scale, int64_t zero_point, qg_tensor **out) QG_MUST_USE;
/* quantized::softmax: dequantize, float softmax along dim, quantize_per_tensor. (PyTorch routes
 * quint8 with (1/256, 0) output qparams to QNNPACK's table-based kernel, which is not
 * reproduced.) */
qg_status qg_cpu_qsoftmax(qg_tensor *x, int64_t dim, double scale, int64_t zero_point, qg_tensor **out) QG_MUST_USE;

/* The aten activations on a quantized x, by the float kernel's op name (activation.c hands
 * quantized inputs here): "relu", "relu6" / "hardtanh" / "clamp" (bounds a, b; +-inf for a
 * missing one), "leaky_relu" (slope a) keep x's qparams; "sigmoid", "tanh", "hardsigmoid" use
 * the fixed ones. Other names fail as PyTorch: "Could not run 'aten::silu' with arguments from
 * the 'QuantizedCPU' backend". The in-place form takes "relu_", "hardtanh_", "leaky_relu_",
 * "hardsigmoid_" (PyTorch rejects sigmoid_, tanh_ and clamp_ on quantized tensors). */
qg_status qg_cpu_qactivation(const char *op, qg_tensor *x, double a, double b, qg_tensor **out) QG_MUST_USE;
qg_status qg_cpu_qactivation_(const char *op, qg_tensor *x, double a, double b) QG_MUST_USE;

/* Makes t hold r's values and qparams (same dtype and shape): the in-place ops' copy_. */
qg_status qg_cpu_qassign(qg_tensor *t, qg_tensor *r) QG_MUST_USE;

#endif
