/* The one GEMM entry point of the CPU kernels: row-major C = alpha * op(A) * op(B) + beta * C,
 * computed by OpenBLAS (cblas_sgemm / cblas_dgemm). Conv, conv_transpose, linear, matmul,
 * addmm and bmm all come through here, so the thread count and any future blocking or packing
 * decision live in one place. */
#ifndef QG_OPS_CPU_GEMM_H
#define QG_OPS_CPU_GEMM_H

#include <stdint.h>

#include "base/status.h"
#include "tensor/dtype.h"

/* Row-major GEMM on f32 (dtype QG_DTYPE_F32, float pointers) or f64 (double pointers):
 * C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, op(X) = X or X^T as trans_*.
 * lda/ldb/ldc are row strides in elements of the matrices as stored. beta == 0 means C is
 * not read (NaN in C does not propagate), as BLAS specifies. k == 0 gives beta * C.
 * Errors: QG_STATUS_UNSUPPORTED for another dtype or a dimension above INT_MAX (the BLAS
 * integer), with the op name `op` in the message. Cost O(m n k). */
qg_status qg__gemm(const char *op, qg_dtype dtype, int trans_a, int trans_b, int64_t m, int64_t n,
                   int64_t k, double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                   double beta, void *c, int64_t ldc) QG_MUST_USE;

/* Sets the number of threads OpenBLAS uses for every later GEMM (n < 1 means 1). Process-wide;
 * benchmarks use 1 so that timings compare with single-threaded PyTorch. */
void qg_cpu_set_num_threads(int n);
/* The thread count last set (1 until qg_cpu_set_num_threads is called). */
int qg_cpu_get_num_threads(void);

/* OpenBLAS's kernel family ("SkylakeX", "Haswell", ...); static string, "unavailable" if
 * OpenBLAS cannot be loaded. OpenBLAS is loaded on first use with OPENBLAS_CORETYPE chosen from
 * the CPU's features unless the environment sets it (see Note [Loading OpenBLAS at first use]
 * in gemm.c): on VMs whose CPU model OpenBLAS does not know it would otherwise fall back to its
 * SSE3 "Prescott" kernels (~3-5x slower). */
const char *qg_cpu_blas_core(void);

#endif
