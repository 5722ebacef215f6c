/* The portable kernel of the integer GEMM (qgemm.h) and its scalar epilogue: the reference the
 * vector kernels (qgemm_avx2.c, qgemm_avx512.c) reproduce bit for bit. */
#include <string.h>

#include "ops/cpu/qgemm.h"

#define GMR 3 /* rows per tile (divides QG_QMM_RB) */

void qg__qmm_epilogue_generic(const qg__qmm *m, const qg__qmm_blk *b, int64_t i0, int nr, const uint32_t *acc) {
  const int wrows = m->form == QG_QMM_WEIGHT_ROWS;
  for (int r = 0; r < nr; r++) {
    int64_t i = i0 + r;
    for (int v = 0; v < b->nv; v++) {
      int64_t n = b->dst[v];
      for (int l = 0; l < QG_QMM_NR; l++) {
        if (!(b->mask[v] >> l & 1)) continue;
        int col = v * QG_QMM_NR + l; /* within the block */
        int64_t ch = wrows ? i : b->j0 + col;
        uint32_t raw = acc[r * QG_QMM_JB + col]; /* unsigned: wraps like the vector adds */
        if (m->corr) raw += (uint32_t)m->corr[ch];
        if (m->zw) raw -= (uint32_t)m->zw[ch] * (uint32_t)(wrows ? b->asum[col] : m->asum[i]);
        int64_t at = (wrows ? ch : i) * m->ld + n++;
        if (m->rq) m->y[at] = qg__requant_value(m->rq, m->ch0 + ch, (int32_t)raw);
        else m->c[at] = (int32_t)raw;
      }
    }
  }
}

/* Four products of a signed and an unsigned quad (exact: |sum| <= 4 * 255 * 128). */
static inline int32_t dot4(const int8_t *s, const uint8_t *u) {
  return s[0] * u[0] + s[1] * u[1] + s[2] * u[2] + s[3] * u[3];
}

void qg__qmm_block_generic(const qg__qmm *m, const qg__qmm_blk *b) {
  const int wrows = m->form == QG_QMM_WEIGHT_ROWS;
  const uint8_t *cb = m->cols + b->j0 / QG_QMM_JB * m->bstride;
  uint32_t acc[GMR * QG_QMM_JB];
  for (int64_t i0 = 0; i0 < m->I; i0 += GMR) {
    int nr = m->I - i0 < GMR ? (int)(m->I - i0) : GMR;
    memset(acc, 0, sizeof acc);
    for (int64_t cq = 0; cq < m->ncq; cq++)
      for (int t = 0; t < m->ntaps; t++) {
        const uint8_t *cv = cb + cq * m->cq_stride + m->tap[t];
        int64_t q = cq * m->ntaps + t;
        for (int r = 0; r < nr; r++) {
          int64_t i = i0 + r;
          const uint8_t *rw = m->rows + i / m->rb * m->ldr + q * 4 * m->rb + i % m->rb * 4;
          uint32_t *a = acc + r * QG_QMM_JB;
          for (int v = 0; v < b->nv; v++)
            for (int l = 0; l < QG_QMM_NR; l++) {
              const uint8_t *c4 = cv + v * m->vstride + l * 4;
              int32_t s = wrows ? dot4((const int8_t *)rw, c4) : dot4((const int8_t *)c4, rw);
              a[v * QG_QMM_NR + l] += (uint32_t)s;
            }
        }
      }
    qg__qmm_epilogue_generic(m, b, i0, nr, acc);
  }
}
