/* The integer GEMM behind quantized conv and linear: C[i][j] = sum_k P[i][k] * Q[j][k] in exact
 * int32 arithmetic, on operands already centred by their zero points (a - zp_a, w - zp_w), so
 * no row sums or column offsets are needed and every engine's requantization (qrequant.h) starts
 * from the exact zero-point-corrected dot product. Centred uint8/int8 values fit in int16
 * ([-255, 255]); a product pair sums to at most 130050, so pmaddwd / vpdpwssd are exact (unlike
 * FBGEMM's AVX2 vpmaddubsw, docs/numerics.md). The int32 sum wraps past 2^31, as FBGEMM's does;
 * that needs K > 33000 at full range.
 *
 * Layout:
 *   P  "row operand": I rows of Kp int16 (row stride ldp elements, ldp >= Kp, both even);
 *      element k of row i at P[i * ldp + k]. Broadcast two at a time.
 *   Q  "panel operand": J columns packed in panels of QG_QGEMM_NR = 16: panel b holds columns
 *      16b .. 16b+15 as Kp/2 groups of 16 x 2 int16 (column c's pair (k, k+1) at offset
 *      b * Kp * 16 + (k / 2) * 32 + c * 2). Columns past J in the last panel are zero.
 *   Kp = K rounded up to even; the pad element is zero in P and Q.
 * Conv uses P = weights (rows: output channels), Q = im2col of the input (columns: output
 * pixels), so C comes out in NCHW order; linear uses P = input rows, Q = weights.
 *
 * Kernels: AVX-512 VNNI (vpdpwssd, 8 rows x 32 columns), AVX2 (vpmaddwd, 4 x 16) and portable C,
 * chosen once from the CPU's features; all give identical results (integers). Single-threaded:
 * callers run one GEMM per image and group. */
#ifndef QG_OPS_CPU_QGEMM_H
#define QG_OPS_CPU_QGEMM_H

#include <stddef.h>
#include <stdint.h>

#define QG_QGEMM_NR 16

static inline int64_t qg__qgemm_kpad(int64_t k) { return (k + 1) & ~(int64_t)1; }
/* Elements of the panel form of J columns with Kp (even) rows. */
static inline int64_t qg__qgemm_panel_elems(int64_t j, int64_t kp) {
  return (j + QG_QGEMM_NR - 1) / QG_QGEMM_NR * QG_QGEMM_NR * kp;
}
/* Offset of column j's element k (k even: first of the pair) in the panel form. */
static inline int64_t qg__qgemm_panel_at(int64_t j, int64_t k, int64_t kp) {
  return (j / QG_QGEMM_NR) * kp * QG_QGEMM_NR + (k >> 1) * (2 * QG_QGEMM_NR) + (j % QG_QGEMM_NR) * 2 + (k & 1);
}

/* C[i * ldc + j] = sum over k < Kp of P[i][k] * Q[j][k], for i < I, j < J (C overwritten). */
void qg__qgemm(int64_t I, int64_t J, int64_t kp, const int16_t *P, int64_t ldp, const int16_t *Q, int32_t *C,
               int64_t ldc);

/* ---- packing helpers ---------------------------------------------------------------------- */
/* Rows of P from uint8 rows x[i * ldx + k] (k < K) minus zp; the pad element zeroed. */
void qg__qgemm_rows_u8(const uint8_t *x, int64_t rows, int64_t k, int64_t ldx, int32_t zp, int16_t *P, int64_t ldp);
/* Rows of P from int8 rows minus zp[i] (zp_per_row) or zp[0]. */
void qg__qgemm_rows_s8(const int8_t *w, int64_t rows, int64_t k, int64_t ldw, const int32_t *zp, int zp_per_row,
                       int16_t *P, int64_t ldp);
/* The panel form of J int8 rows w[j * ldw + k] (k < K) minus zp[j] (zp_per_row) or zp[0]; Q
 * must have qg__qgemm_panel_elems(J, Kp) elements. */
void qg__qgemm_panels_s8(const int8_t *w, int64_t cols, int64_t k, int64_t ldw, const int32_t *zp, int zp_per_row,
                         int16_t *Q);

/* ---- kernel selection (tests) ------------------------------------------------------------- */
typedef enum qg__qgemm_isa { QG_QGEMM_GENERIC = 0, QG_QGEMM_AVX2 = 1, QG_QGEMM_AVX512VNNI = 2 } qg__qgemm_isa;
/* The best kernel this CPU runs. */
qg__qgemm_isa qg__qgemm_isa_best(void);
/* Forces a kernel (tests compare them); one the CPU lacks is ignored and returns 0; -1 restores
 * the automatic choice. Returns 1 when applied. Not thread-safe. */
int qg__qgemm_force_isa(int isa);
qg__qgemm_isa qg__qgemm_isa_current(void);

/* ISA kernels (qgemm_x86.c); same contract as qg__qgemm. */
void qg__qgemm_avx2(int64_t I, int64_t J, int64_t kp, const int16_t *P, int64_t ldp, const int16_t *Q, int32_t *C,
                    int64_t ldc);
void qg__qgemm_avx512vnni(int64_t I, int64_t J, int64_t kp, const int16_t *P, int64_t ldp, const int16_t *Q,
                          int32_t *C, int64_t ldc);
/* 1 when the compiler and CPU support them. */
int qg__qgemm_have_avx2(void);
int qg__qgemm_have_avx512vnni(void);

#endif
