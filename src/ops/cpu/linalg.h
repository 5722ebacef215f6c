/* Float matrix products: aten::linear, matmul (every rank case of torch.matmul), mm, addmm,
 * bmm, and aten::t. f32 and f64 (operands share one dtype; aten::t takes any dtype); inputs
 * may have any strides. Every product goes through qg__gemm (OpenBLAS).
 *
 * Errors use PyTorch's messages: "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)",
 * "both arguments to matmul need to be at least 1D, but they are 0D and 2D", "expected scalar
 * type Float but found Double", ... (QG_STATUS_INVALID_ARGUMENT or QG_STATUS_TYPE), and
 * QG_STATUS_OOM. Every result is a new contiguous tensor owned by the caller. */
#ifndef QG_OPS_CPU_LINALG_H
#define QG_OPS_CPU_LINALG_H

#include "ops/cpu/cpu_ops.h"

/* y = x W^T + b: input [*, in], weight [out, in], bias [out] or NULL -> [*, out]. */
qg_status qg_cpu_linear(qg_tensor *input, qg_tensor *weight, qg_tensor *bias,
                        qg_tensor **out) QG_MUST_USE;

/* torch.matmul: 1-D . 1-D (0-dim result), 2-D . 1-D, 1-D . 2-D, 2-D . 2-D, and batched
 * products broadcasting the batch dims (a 1-D operand is a row/column vector, its dim removed
 * from the result). A batched left operand times a matrix is one GEMM over all rows. */
qg_status qg_cpu_matmul(qg_tensor *a, qg_tensor *b, qg_tensor **out) QG_MUST_USE;

/* aten::mm: [n, k] x [k, m] -> [n, m]. */
qg_status qg_cpu_mm(qg_tensor *a, qg_tensor *b, qg_tensor **out) QG_MUST_USE;

/* aten::addmm: beta * self + alpha * (mat1 @ mat2); self broadcasts to [n, m]. With beta == 0
 * self is not read (its NaN/Inf do not propagate), as PyTorch documents. */
qg_status qg_cpu_addmm(qg_tensor *self, qg_tensor *mat1, qg_tensor *mat2, double beta,
                       double alpha, qg_tensor **out) QG_MUST_USE;

/* aten::bmm: [b, n, k] x [b, k, m] -> [b, n, m]. */
qg_status qg_cpu_bmm(qg_tensor *a, qg_tensor *b, qg_tensor **out) QG_MUST_USE;

/* aten::t: the transpose of a tensor with <= 2 dims, as a new contiguous tensor (0-D and 1-D:
 * a copy). Any non-quantized dtype. */
qg_status qg_cpu_t(qg_tensor *t, qg_tensor **out) QG_MUST_USE;

#endif
