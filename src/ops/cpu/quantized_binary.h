/* Quantized add and mul (reference §5.7; QuantizedOpKernels.cpp qadd_kernel / qmul_kernel,
 * BinaryOps.cpp, qmul.cpp): tensor-tensor with given output qparams, tensor-scalar with qparams
 * derived from the input, each with an optional fused ReLU. Inputs are per-tensor quantized
 * tensors of one dtype; numerics are quantized_common.h's (add dequantizes each operand, adds in
 * float32 and requantizes, in the vector or scalar form per element; mul and the saturating
 * add_scalar requantize an int32 product / sum with a float32 multiplier, identical in both
 * forms). Messages are PyTorch's ("Add operands should have same data type.",
 * "Only per tensor quantization is supported in Add."). */
#ifndef QG_OPS_CPU_QUANTIZED_BINARY_H
#define QG_OPS_CPU_QUANTIZED_BINARY_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

typedef enum qg_qbinary_op { QG_QBINARY_ADD = 0, QG_QBINARY_MUL = 1 } qg_qbinary_op;

/* quantized::add / mul (and _relu): c = a op b requantized to (scale, zero_point). add's output
 * has a's shape (b must broadcast to it); mul's the broadcast shape. */
qg_status qg_cpu_qbinary(qg_qbinary_op op, qg_tensor *a, qg_tensor *b, double scale, int64_t zero_point, int relu,
                         qg_tensor **out) QG_MUST_USE;
/* The .out forms: writes into out (a quantized tensor of the result's shape whose qparams are
 * the output's). */
qg_status qg_cpu_qbinary_out(qg_qbinary_op op, qg_tensor *a, qg_tensor *b, int relu, qg_tensor *out) QG_MUST_USE;

/* quantized::add_scalar / mul_scalar (and _relu, add.Scalar, mul.Scalar): the output's qparams
 * follow from the input's and the constant (reference §5.7). */
qg_status qg_cpu_qbinary_scalar(qg_qbinary_op op, qg_tensor *a, double c, int relu, qg_tensor **out) QG_MUST_USE;
/* The scalar .out forms: computes as above, then stores the bytes and the derived qparams in
 * out (PyTorch sets out's quantizer). */
qg_status qg_cpu_qbinary_scalar_out(qg_qbinary_op op, qg_tensor *a, double c, int relu, qg_tensor *out) QG_MUST_USE;

/* Tests: 1 makes quantized add use its per-element loop instead of the AVX2 one (same values). */
void qg__qbinary_force_scalar(int on);
/* Tests: 1 makes it use the AVX2 loop where the CPU also has AVX-512 (same values). */
void qg__qbinary_force_avx2(int on);

#endif
