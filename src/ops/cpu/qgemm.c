/* The integer GEMM (qgemm.h): the column-block driver, the kernel choice and weight packing. */
#include "ops/cpu/qgemm.h"

#include <string.h>

/* ---- packing ------------------------------------------------------------------------------- */

void qg__qmm_pack_panels(const int8_t *w, int64_t n, int64_t k, int64_t ldw, uint8_t *panels, int32_t *wsum) {
  int64_t k4 = qg__qmm_k4(k), nq = k4 / 4;
  memset(panels, 0, qg__qmm_panel_bytes(n, k));
  for (int64_t j = 0; j < n; j++) {
    const int8_t *src = w + j * ldw;
    int32_t s = 0;
    for (int64_t q = 0; q < nq; q++) {
      int64_t m = k - 4 * q < 4 ? k - 4 * q : 4;
      memcpy(panels + qg__qmm_panel_at(j, q, k4), src + 4 * q, (size_t)m);
    }
    for (int64_t c = 0; c < k; c++) s += src[c];
    wsum[j] = s;
  }
}

void qg__qmm_corr(int64_t n, int64_t k, int32_t za, const int32_t *zw, int zw_per_channel, const int32_t *wsum,
                  int32_t *corr) {
  /* unsigned arithmetic: the terms wrap exactly as the int32 accumulators do */
  uint32_t kza = (uint32_t)k * (uint32_t)za;
  for (int64_t j = 0; j < n; j++) {
    uint32_t z = (uint32_t)zw[zw_per_channel ? j : 0];
    corr[j] = (int32_t)(kza * z - (uint32_t)za * (uint32_t)wsum[j]);
  }
}

/* ---- kernel choice ------------------------------------------------------------------------- */

static int g_forced = -1;

qg__qgemm_isa qg__qgemm_isa_best(void) {
  static int best = -1; /* a benign race: every thread computes the same value */
  if (best < 0)
    best = qg__qgemm_have_avx512vnni() ? QG_QGEMM_AVX512VNNI : qg__qgemm_have_avx2() ? QG_QGEMM_AVX2 : QG_QGEMM_GENERIC;
  return (qg__qgemm_isa)best;
}

int qg__qgemm_force_isa(int isa) {
  if (isa < 0) {
    g_forced = -1;
    return 1;
  }
  if ((isa == QG_QGEMM_AVX2 && !qg__qgemm_have_avx2()) ||
      (isa == QG_QGEMM_AVX512VNNI && !qg__qgemm_have_avx512vnni()) || isa > QG_QGEMM_AVX512VNNI)
    return 0;
  g_forced = isa;
  return 1;
}

qg__qgemm_isa qg__qgemm_isa_current(void) { return g_forced >= 0 ? (qg__qgemm_isa)g_forced : qg__qgemm_isa_best(); }

typedef void (*block_fn)(const qg__qmm *m, const qg__qmm_blk *b);

static block_fn block_for(qg__qgemm_isa isa) {
  switch (isa) {
  case QG_QGEMM_AVX512VNNI: return qg__qmm_block_avx512vnni;
  case QG_QGEMM_AVX2: return qg__qmm_block_avx2;
  case QG_QGEMM_GENERIC: break;
  }
  return qg__qmm_block_generic;
}

/* ---- the driver ---------------------------------------------------------------------------- */

/* Which of vector v's 16 columns are outputs, and the destination of the first: columns walk
 * the grid (x, y, z) = (j % gw, j / gw % gh, j / (gw * gh)); outputs are numbered in order. */
static void plan_vector(const qg__qmm *m, int64_t j, uint16_t *mask, int64_t *dst) {
  if (m->form != QG_QMM_WEIGHT_ROWS) { /* columns are channels: all but those past J */
    *mask = (uint16_t)(m->J - j >= QG_QMM_NR ? 0xffffu : (1u << (m->J - j)) - 1u);
    *dst = j;
    return;
  }
  int64_t x = j % m->gw, yz = j / m->gw, y = yz % m->gh, z = yz / m->gh;
  int64_t n = y < m->oh ? (z * m->oh + y) * m->ow + (x < m->ow ? x : m->ow) : (z + 1) * m->oh * m->ow; /* before j */
  uint16_t bits = 0;
  for (int l = 0; l < QG_QMM_NR && j + l < m->J; l++) {
    if (x < m->ow && y < m->oh) bits |= (uint16_t)(1u << l);
    if (++x == m->gw) {
      x = 0;
      if (++y == m->gh) y = 0;
    }
  }
  *mask = bits;
  *dst = n;
}

void qg__qmm_run(const qg__qmm *m) {
  if (m->I <= 0 || m->J <= 0) return;
  block_fn block = block_for(qg__qgemm_isa_current());
  int32_t asum[QG_QMM_JB];
  for (int64_t j0 = 0; j0 < m->J; j0 += QG_QMM_JB) {
    qg__qmm_blk b = {.j0 = j0, .nv = (int)((m->J - j0 < QG_QMM_JB ? m->J - j0 : QG_QMM_JB) + QG_QMM_NR - 1) / QG_QMM_NR};
    for (int v = 0; v < b.nv; v++) plan_vector(m, j0 + v * QG_QMM_NR, &b.mask[v], &b.dst[v]);
    if (m->form == QG_QMM_WEIGHT_ROWS && m->zw) {
      /* the block's column sums: one more GEMM row, of ones, into asum */
      qg__qmm s = *m;
      s.I = 1;
      s.rows = m->ones;
      s.rb = 1;
      s.corr = s.zw = NULL;
      s.rq = NULL;
      s.c = asum;
      s.ld = 0;
      qg__qmm_blk sb = b;
      for (int v = 0; v < b.nv; v++) {
        sb.mask[v] = 0xffff; /* every lane: the epilogue reads whole vectors */
        sb.dst[v] = v * QG_QMM_NR;
      }
      block(&s, &sb);
      b.asum = asum;
    }
    block(m, &b);
  }
}
