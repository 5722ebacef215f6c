/* The integer GEMM behind quantized conv and linear: uint8 activations times int8 weights, four
 * products per int32 lane (AVX-512 VNNI vpdpbusd, the non-saturating form), exact in int32 with
 * FBGEMM's wrap-around past 2^31. Zero points are applied after the product, with sums:
 *     sum_k (a - za)(w - zw) = sum_k a*w - zw * sum_k a - za * sum_k w + K * za * zw
 * so an output is   raw = acc + corr[ch] - zw[ch] * asum   with corr[ch] = K*za*zw[ch] -
 * za*wsum[ch] per output channel (wsum computed when the weight is packed) and asum the sum of
 * the activations it multiplies (only needed when some zw is not 0; PyTorch's weight qconfigs
 * are symmetric). The identity holds mod 2^32, so raw is bit-identical to the sum of centred
 * products, wrap-around included (docs/numerics.md "The integer product").
 *
 * Operands come in "quads", 4 consecutive k as 4 bytes (K padded with zeros to a multiple of 4):
 *   rows     I rows of nq = ncq * ntaps quads, broadcast; in groups of rb rows (1, or
 *            QG_QMM_RB for packed weights: the rows a tile reads together form one stream):
 *              quad q of row i at rows + (i / rb) * ldr + q * 4 * rb + (i % rb) * 4
 *   columns  J columns in blocks of 64 (4 vectors of 16); quad q = cq * ntaps + t of column j,
 *            in block b = j / 64, vector v = j % 64 / 16, is the 4 bytes at
 *              cols + b * bstride + v * vstride + cq * cq_stride + tap[t] + (j % 16) * 4
 *            so a quad of 16 consecutive columns is one 64-byte vector. Two users:
 *            - panels (linear weights, qg__qmm_pack_panels): a block's 4 vectors interleaved
 *              per quad (ntaps 1, tap {0}, vstride 64, cq_stride 256, bstride nq * 256);
 *            - implicit convolution (qgemm_grid.h): the input rearranged once per call into
 *              channel quads on a padded, stride-phase-split grid; columns are grid positions
 *              (vstride 64, bstride 256) and a kernel tap is a constant byte offset, so there
 *              is no im2col.
 * Two forms:
 *   WEIGHT_ROWS  rows: int8 weights, one per output channel; columns: uint8 activations (conv:
 *                grid positions). A column is an output when, on the grid, j % gw < ow and
 *                j / gw % gh < oh; outputs are numbered in column order (the grid's padding
 *                positions are skipped). Output n of channel ch at ch * ld + n.
 *   ACT_ROWS     rows: uint8 activations; columns: int8 weights, one per output channel (linear).
 *                Output (row i, channel j) at i * ld + j.
 * Results are stored as int32 (c) or requantized to uint8 in the same pass (rq, y).
 *
 * Kernels: AVX-512 VNNI (vpdpbusd, tiles of 6 rows x 64 columns), AVX2 (both operands
 * widened to int16, vpmaddwd: exact, unlike vpmaddubsw; 3 x 16) and portable C, chosen once from
 * the CPU's features; all give identical results. Single-threaded: callers run one GEMM per
 * image and group. */
#ifndef QG_OPS_CPU_QGEMM_H
#define QG_OPS_CPU_QGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "ops/cpu/qrequant.h"

#define QG_QMM_NR 16                      /* columns per vector */
#define QG_QMM_NV 4                       /* vectors per column block */
#define QG_QMM_JB (QG_QMM_NR * QG_QMM_NV) /* columns per block */
#define QG_QMM_RB 6                       /* rows per group of packed weights (the AVX-512 tile height) */

static inline int64_t qg__qmm_k4(int64_t k) { return (k + 3) & ~(int64_t)3; }

typedef enum qg__qmm_form { QG_QMM_WEIGHT_ROWS = 0, QG_QMM_ACT_ROWS = 1 } qg__qmm_form;

typedef struct qg__qmm {
  qg__qmm_form form;
  int64_t I, J;
  const uint8_t *rows; /* int8 (WEIGHT_ROWS) or uint8 */
  int64_t ldr;
  int rb;
  const uint8_t *cols;
  int64_t ncq, cq_stride, vstride, bstride;
  int ntaps;
  const int64_t *tap; /* ntaps byte offsets */
  /* Zero-point correction; ch is the output channel (the row or the column, by form). */
  const int32_t *corr; /* per channel; NULL: 0 */
  const int32_t *zw;   /* per channel; NULL: all 0 */
  const int32_t *asum; /* ACT_ROWS with zw: per row */
  const uint8_t *ones; /* WEIGHT_ROWS with zw: nq * 4 bytes of 1 (column sums by the kernel) */
  int64_t gw, ow, gh, oh;
  /* Output: requantized (rq != NULL, channel ch0 + ch of rq) into y, else int32 into c, where
   * the form says. */
  const qg__requant *rq;
  int64_t ch0;
  uint8_t *y;
  int32_t *c;
  int64_t ld;
} qg__qmm;

void qg__qmm_run(const qg__qmm *m);

/* ---- packing ------------------------------------------------------------------------------- */
/* Packed weight rows (rb = QG_QMM_RB): bytes of `rows` rows of k4 bytes, and where byte e of
 * quad q of row i goes. Padding rows and bytes must be zero. */
static inline size_t qg__qmm_rows_bytes(int64_t rows, int64_t k4) {
  return (size_t)((rows + QG_QMM_RB - 1) / QG_QMM_RB * QG_QMM_RB * k4);
}
static inline size_t qg__qmm_row_at(int64_t i, int64_t q, int64_t k4) {
  return (size_t)((i / QG_QMM_RB) * QG_QMM_RB * k4 + q * 4 * QG_QMM_RB + (i % QG_QMM_RB) * 4);
}
/* Weight panels (the columns of ACT_ROWS): bytes of n columns of k bytes, and
 * where byte e of quad q of column j goes (a block's 4 vectors interleaved per quad). */
static inline size_t qg__qmm_panel_bytes(int64_t n, int64_t k) {
  return (size_t)((n + QG_QMM_JB - 1) / QG_QMM_JB * QG_QMM_JB * qg__qmm_k4(k));
}
static inline size_t qg__qmm_panel_at(int64_t j, int64_t q, int64_t k4) {
  return (size_t)((j / QG_QMM_JB) * QG_QMM_JB * k4 + q * 256 + (j % QG_QMM_JB / QG_QMM_NR) * 64 + (j % QG_QMM_NR) * 4);
}
/* Linear weights (n rows of k int8, row stride ldw) as panels; wsum[j] = sum_k w[j][k]. */
void qg__qmm_pack_panels(const int8_t *w, int64_t n, int64_t k, int64_t ldw, uint8_t *panels, int32_t *wsum);
/* corr[ch] = k * za * zw[ch] - za * wsum[ch] (wrapping); zw[ch] or, zw_per_channel 0, zw[0]. */
void qg__qmm_corr(int64_t n, int64_t k, int32_t za, const int32_t *zw, int zw_per_channel, const int32_t *wsum,
                  int32_t *corr);

/* ---- kernel selection (tests) ------------------------------------------------------------- */
typedef enum qg__qgemm_isa { QG_QGEMM_GENERIC = 0, QG_QGEMM_AVX2 = 1, QG_QGEMM_AVX512VNNI = 2 } qg__qgemm_isa;
/* The best kernel this CPU runs. */
qg__qgemm_isa qg__qgemm_isa_best(void);
/* Forces a kernel (tests compare them); one the CPU lacks is ignored and returns 0; -1 restores
 * the automatic choice. Returns 1 when applied. Not thread-safe. */
int qg__qgemm_force_isa(int isa);
qg__qgemm_isa qg__qgemm_isa_current(void);

/* ---- per-ISA column blocks (qgemm_generic.c, qgemm_avx2.c, qgemm_avx512.c) ----------------- */
/* Columns j0 .. j0 + 16 * nv (the last vector may be partial) of every row. Vector v's outputs
 * are its lanes set in mask[v], stored to consecutive destinations from dst[v]. asum: the 64
 * column sums of the block (WEIGHT_ROWS with zw), else NULL. */
typedef struct qg__qmm_blk {
  int64_t j0;
  int nv;
  uint16_t mask[QG_QMM_NV];
  int64_t dst[QG_QMM_NV];
  const int32_t *asum;
} qg__qmm_blk;

void qg__qmm_block_generic(const qg__qmm *m, const qg__qmm_blk *b);
void qg__qmm_block_avx2(const qg__qmm *m, const qg__qmm_blk *b);
void qg__qmm_block_avx512vnni(const qg__qmm *m, const qg__qmm_blk *b);
/* 1 when the compiler and the CPU support them. */
int qg__qgemm_have_avx2(void);
int qg__qgemm_have_avx512vnni(void);

/* The portable epilogue: corrects, then requantizes or stores, rows i0 .. i0 + nr of the
 * block from acc (row r's 64 column sums at acc + r * QG_QMM_JB). */
void qg__qmm_epilogue_generic(const qg__qmm *m, const qg__qmm_blk *b, int64_t i0, int nr, const uint32_t *acc);

#endif
