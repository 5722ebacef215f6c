/* AVX-512 VNNI kernel of the integer GEMM (qgemm.h): vpdpbusd (uint8 x int8, four products per
 * int32 lane, no saturation) on tiles of 6 rows x 4 vectors of 16 columns (24 accumulators, the
 * 4 column vectors in registers, the row quads broadcast), then the zero-point correction and
 * FBGEMM's requantization (qrequant.h) in vector registers.
 *
 * Blocking: a column block (64 columns) is read by every row tile. When it is larger than L1
 * (more than KQ quads: linear layers, deep convolutions) K is cut into chunks of KQ quads and
 * the row tiles of a group of RG rows run chunk by chunk, their partial sums kept in a stack
 * buffer, so a chunk of the columns is loaded from L2 once per group instead of once per tile.
 * Compiled for the baseline ISA with per-function target attributes and chosen at run time.
 *
 * The tile loop is an always-inline body specialised for constant (form, rows, vectors), one
 * function each through a table, so edge tiles do only their own work. */
#include <string.h>

#include "ops/cpu/qgemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define QG_INLINE static inline __attribute__((always_inline))
#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define MR 6    /* tile rows */
#define RG 60   /* rows per group (10 tiles); the group's sums take 15 KiB */
#define KQ 128  /* quads per K chunk: 64 columns x 128 quads = 32 KiB of the column operand */

static inline int32_t quad_at(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* acc[r][v] += rows quad x column vector v over channel quads cq0 .. cq0 + ncq (every tap),
 * starting from 0 or (acc_in) from tile[r][64], where the sums go. Tile row r at r * rstep from
 * `rows` (MR = QG_QMM_RB: one row group). */
QG_INLINE VNNI_TARGET void tile_body(const int wrows, const int nr, const int nv, const qg__qmm *m,
                                     const uint8_t *rows, const uint8_t *cb, int64_t cq0, int64_t ncq, int acc_in,
                                     int32_t *tile) {
  __m512i acc[MR][QG_QMM_NV];
  for (int r = 0; r < nr; r++)
    for (int v = 0; v < nv; v++)
      acc[r][v] = acc_in ? _mm512_loadu_si512((const void *)(tile + r * QG_QMM_JB + v * QG_QMM_NR))
                         : _mm512_setzero_si512();
  const int64_t rstep = m->rb > 1 ? 4 : m->ldr, qstep = 4 * m->rb;
  const int64_t vs = m->vstride, cqs = m->cq_stride;
  const int ntaps = m->ntaps;
  const int64_t *tap = m->tap;
  const uint8_t *rq = rows + cq0 * ntaps * qstep;
  cb += cq0 * cqs;
  for (int64_t cq = cq0; cq < cq0 + ncq; cq++, cb += cqs) {
    for (int t = 0; t < ntaps; t++, rq += qstep) {
      const uint8_t *cv = cb + tap[t];
      __m512i col[QG_QMM_NV];
      for (int v = 0; v < nv; v++) col[v] = _mm512_loadu_si512((const void *)(cv + v * vs));
      for (int r = 0; r < nr; r++) {
        const __m512i a = _mm512_set1_epi32(quad_at(rq + r * rstep));
        for (int v = 0; v < nv; v++)
          acc[r][v] = wrows ? _mm512_dpbusd_epi32(acc[r][v], col[v], a) : _mm512_dpbusd_epi32(acc[r][v], a, col[v]);
      }
    }
  }
  for (int r = 0; r < nr; r++)
    for (int v = 0; v < nv; v++) _mm512_storeu_si512((void *)(tile + r * QG_QMM_JB + v * QG_QMM_NR), acc[r][v]);
}

typedef void (*tile_fn)(const qg__qmm *m, const uint8_t *rows, const uint8_t *cb, int64_t cq0, int64_t ncq,
                        int acc_in, int32_t *tile);

#define TILE(w, r, v)                                                                                   \
  static VNNI_TARGET void tile_##w##_##r##_##v(const qg__qmm *m, const uint8_t *rows, const uint8_t *cb,   \
                                               int64_t cq0, int64_t ncq, int acc_in, int32_t *tile) {     \
    tile_body(w, r, v, m, rows, cb, cq0, ncq, acc_in, tile);                                            \
  }
#define TILE_ROWS(w, v) TILE(w, 1, v) TILE(w, 2, v) TILE(w, 3, v) TILE(w, 4, v) TILE(w, 5, v) TILE(w, 6, v)
#define TILE_FORM(w) TILE_ROWS(w, 1) TILE_ROWS(w, 2) TILE_ROWS(w, 3) TILE_ROWS(w, 4)
TILE_FORM(0)
TILE_FORM(1)
#define ROW_ENTRY(w, r) {tile_##w##_##r##_1, tile_##w##_##r##_2, tile_##w##_##r##_3, tile_##w##_##r##_4}
#define FORM_ENTRY(w) \
  {ROW_ENTRY(w, 1), ROW_ENTRY(w, 2), ROW_ENTRY(w, 3), ROW_ENTRY(w, 4), ROW_ENTRY(w, 5), ROW_ENTRY(w, 6)}
static const tile_fn g_tiles[2][MR][QG_QMM_NV] = {FORM_ENTRY(0), FORM_ENTRY(1)}; /* [wrows][nr - 1][nv - 1] */

/* ---- epilogue -------------------------------------------------------------------------------- */

/* qg__requant_value on 16 lanes, raw already offset by bq, up to the high clamp (store16's
 * saturating narrowing does it: lanes are >= lo >= 0 here). Only the high clamp of y is needed:
 * NaN (vminps returns its second operand, y), y < -65536 and y <= -2^31 (cvtps2dq's INT32_MIN)
 * all stay below 0 after the zero point, which the low clamp maps to lo as the scalar form's
 * -65536 is; cvtps2dq rounds half to even as the scalar form does. */
QG_INLINE VNNI_TARGET __m512i requant16(__m512i raw, __m512 badd, __m512 mult, __m512i zp, __m512i lo) {
  __m512 y = _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(raw), badd), mult);
  y = _mm512_min_ps(_mm512_set1_ps(65536.0f), y);
  return _mm512_max_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(y), zp), lo);
}

/* Stores vector v's outputs (the lanes set in mask, packed together) at base + dst; requantized
 * lanes narrowed with unsigned saturation (the clamp at 255). */
QG_INLINE VNNI_TARGET void store16(const qg__qmm *m, __m512i x, uint16_t mask, int64_t at) {
  if (mask != 0xffff) {
    if (!mask) return;
    x = _mm512_maskz_compress_epi32(mask, x);
  }
  int n = __builtin_popcount(mask);
  if (m->rq) {
    __m128i b = _mm512_cvtusepi32_epi8(x);
    if (n == QG_QMM_NR) _mm_storeu_si128((__m128i *)(void *)(m->y + at), b);
    else _mm_mask_storeu_epi8(m->y + at, (__mmask16)((1u << n) - 1u), b);
  } else {
    _mm512_mask_storeu_epi32(m->c + at, (__mmask16)((1u << n) - 1u), x);
  }
}

/* Rows i0 .. i0 + nr of a WEIGHT_ROWS block: the channel is the row, its parameters broadcast. */
static VNNI_TARGET void epilogue_wrows(const qg__qmm *m, const qg__qmm_blk *b, int64_t i0, int nr,
                                       const int32_t *tile) {
  const qg__requant *rq = m->rq;
  const __m512i zp = _mm512_set1_epi32(rq ? rq->zp : 0), lo = _mm512_set1_epi32(rq ? rq->lo : 0);
  for (int r = 0; r < nr; r++) {
    int64_t ch = i0 + r, rc = m->ch0 + ch;
    /* the correction and bq in one wrapping add, as the int32 sums wrap */
    uint32_t cb = (m->corr ? (uint32_t)m->corr[ch] : 0u) + (rq ? (uint32_t)rq->bq[rc] : 0u);
    const __m512i corr = _mm512_set1_epi32((int32_t)cb);
    const __m512i zw = _mm512_set1_epi32(m->zw ? m->zw[ch] : 0);
    __m512 badd = _mm512_setzero_ps(), mult = _mm512_setzero_ps();
    if (rq) {
      badd = _mm512_set1_ps(rq->badd[rc]);
      mult = _mm512_set1_ps(rq->mult[rc]);
    }
    for (int v = 0; v < b->nv; v++) {
      __m512i x = _mm512_loadu_si512((const void *)(tile + r * QG_QMM_JB + v * QG_QMM_NR));
      if (m->zw)
        x = _mm512_sub_epi32(x, _mm512_mullo_epi32(zw, _mm512_loadu_si512((const void *)(b->asum + v * QG_QMM_NR))));
      x = _mm512_add_epi32(x, corr);
      if (rq) x = requant16(x, badd, mult, zp, lo);
      store16(m, x, b->mask[v], ch * m->ld + b->dst[v]);
    }
  }
}

/* The same for ACT_ROWS: the channel is the column, its parameters loaded as vectors (masked at
 * the end of the row). */
static VNNI_TARGET void epilogue_arows(const qg__qmm *m, const qg__qmm_blk *b, int64_t i0, int nr,
                                       const int32_t *tile) {
  const qg__requant *rq = m->rq;
  const __m512i zp = _mm512_set1_epi32(rq ? rq->zp : 0), lo = _mm512_set1_epi32(rq ? rq->lo : 0);
  for (int v = 0; v < b->nv; v++) {
    int64_t j = b->j0 + v * QG_QMM_NR, rc = m->ch0 + j;
    __mmask16 k = b->mask[v];
    __m512i corr = m->corr ? _mm512_maskz_loadu_epi32(k, m->corr + j) : _mm512_setzero_si512();
    const __m512i zw = m->zw ? _mm512_maskz_loadu_epi32(k, m->zw + j) : _mm512_setzero_si512();
    __m512 badd = _mm512_setzero_ps(), mult = _mm512_setzero_ps();
    if (rq) {
      corr = _mm512_add_epi32(corr, _mm512_maskz_loadu_epi32(k, rq->bq + rc)); /* bq folded in */
      badd = _mm512_maskz_loadu_ps(k, rq->badd + rc);
      mult = _mm512_maskz_loadu_ps(k, rq->mult + rc);
    }
    for (int r = 0; r < nr; r++) {
      int64_t i = i0 + r;
      __m512i x = _mm512_loadu_si512((const void *)(tile + r * QG_QMM_JB + v * QG_QMM_NR));
      if (m->zw) x = _mm512_sub_epi32(x, _mm512_mullo_epi32(zw, _mm512_set1_epi32(m->asum[i])));
      x = _mm512_add_epi32(x, corr);
      if (rq) x = requant16(x, badd, mult, zp, lo);
      store16(m, x, b->mask[v], i * m->ld + b->dst[v]);
    }
  }
}

VNNI_TARGET void qg__qmm_block_avx512vnni(const qg__qmm *m, const qg__qmm_blk *b) {
  int32_t sums[RG * QG_QMM_JB] __attribute__((aligned(64)));
  const int w = m->form == QG_QMM_WEIGHT_ROWS, nv = b->nv;
  const uint8_t *cb = m->cols + b->j0 / QG_QMM_JB * m->bstride;
  /* channel quads per K chunk: all when the block fits, else about KQ quads (whole taps) */
  int64_t chunk = m->ncq * m->ntaps <= KQ ? m->ncq : KQ / m->ntaps;
  chunk = chunk > 0 ? chunk : 1;
  int64_t nchunk = m->ncq > 0 ? (m->ncq + chunk - 1) / chunk : 1; /* K = 0: one pass of zeros */
  for (int64_t g0 = 0; g0 < m->I; g0 += RG) {
    int64_t ng = m->I - g0 < RG ? m->I - g0 : RG;
    for (int64_t k = 0; k < nchunk; k++) {
      int64_t cq0 = k * chunk, nc = m->ncq - cq0 < chunk ? m->ncq - cq0 : chunk;
      for (int64_t i0 = g0; i0 < g0 + ng; i0 += MR) {
        int nr = g0 + ng - i0 < MR ? (int)(g0 + ng - i0) : MR;
        g_tiles[w][nr - 1][nv - 1](m, m->rows + i0 / m->rb * m->ldr + i0 % m->rb * 4, cb, cq0, nc, k > 0,
                                   sums + (i0 - g0) * QG_QMM_JB);
      }
    }
    for (int64_t i0 = g0; i0 < g0 + ng; i0 += MR) {
      int nr = g0 + ng - i0 < MR ? (int)(g0 + ng - i0) : MR;
      const int32_t *t = sums + (i0 - g0) * QG_QMM_JB;
      if (w) epilogue_wrows(m, b, i0, nr, t);
      else epilogue_arows(m, b, i0, nr, t);
    }
  }
}

int qg__qgemm_have_avx512vnni(void) {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

#else /* not x86-64 */

void qg__qmm_block_avx512vnni(const qg__qmm *m, const qg__qmm_blk *b) { qg__qmm_block_generic(m, b); }
int qg__qgemm_have_avx512vnni(void) { return 0; }

#endif
