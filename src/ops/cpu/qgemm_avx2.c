/* AVX2 kernel of the integer GEMM (qgemm.h), for CPUs without AVX-512 VNNI. vpmaddubsw would
 * multiply the uint8 x int8 quads directly but saturates its int16 pair sums (FBGEMM's AVX2
 * deviation, docs/numerics.md), so both operands are widened to int16 and multiplied with
 * vpmaddwd, whose pair sums are exact: a 16-byte slice of a column vector (4 columns x 4 k)
 * becomes 16 int16, a row quad 4 int16 broadcast, and each int32 lane collects one column's
 * pairs (k0, k1) or (k2, k3); one horizontal add per tile joins them. Tiles of 3 rows x 16
 * columns (12 accumulators), then the correction and requantization 8 lanes at a time. */
#include <string.h>

#include "base/cpu.h"
#include "ops/cpu/qgemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define QG_INLINE static inline __attribute__((always_inline))
#define AVX2_TARGET __attribute__((target("avx2")))
#define MR 3 /* divides QG_QMM_RB */

static inline int32_t quad_at(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* Rows x one column vector (16 columns) over every quad; column c of row r to tile[r][c]. Row r
 * at r * rstep from `rows` (MR divides QG_QMM_RB). */
QG_INLINE AVX2_TARGET void tile_body(const int wrows, const int nr, const qg__qmm *m, const uint8_t *rows,
                                     const uint8_t *cb, int32_t *tile) {
  __m256i acc[MR][4];
  for (int r = 0; r < nr; r++) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm256_setzero_si256();
  const int64_t rstep = m->rb > 1 ? 4 : m->ldr, qstep = 4 * m->rb;
  const int64_t cqs = m->cq_stride, ncq = m->ncq;
  const int ntaps = m->ntaps;
  const int64_t *tap = m->tap;
  const uint8_t *rq = rows;
  for (int64_t cq = 0; cq < ncq; cq++, cb += cqs) {
    for (int t = 0; t < ntaps; t++, rq += qstep) {
      const uint8_t *cv = cb + tap[t];
      __m256i w[MR];
      for (int r = 0; r < nr; r++) {
        __m128i q = _mm_cvtsi32_si128(quad_at(rq + r * rstep));
        w[r] = _mm256_broadcastq_epi64(wrows ? _mm_cvtepi8_epi16(q) : _mm_cvtepu8_epi16(q));
      }
      for (int g = 0; g < 4; g++) {
        __m128i raw = _mm_loadu_si128((const __m128i *)(const void *)(cv + 16 * g));
        __m256i a = wrows ? _mm256_cvtepu8_epi16(raw) : _mm256_cvtepi8_epi16(raw);
        for (int r = 0; r < nr; r++) acc[r][g] = _mm256_add_epi32(acc[r][g], _mm256_madd_epi16(a, w[r]));
      }
    }
  }
  for (int r = 0; r < nr; r++) {
    /* lanes of acc[r][g]: (column 4g, pairs 01), (4g, 23), (4g+1, 01), ...: add neighbours */
    __m256i lo = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]), _MM_SHUFFLE(3, 1, 2, 0));
    __m256i hi = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][2], acc[r][3]), _MM_SHUFFLE(3, 1, 2, 0));
    _mm256_storeu_si256((__m256i *)(void *)(tile + r * QG_QMM_JB), lo);
    _mm256_storeu_si256((__m256i *)(void *)(tile + r * QG_QMM_JB + 8), hi);
  }
}

typedef void (*tile_fn)(const qg__qmm *m, const uint8_t *rows, const uint8_t *cb, int32_t *tile);
#define TILE(w, r)                                                                                         \
  static AVX2_TARGET void tile_##w##_##r(const qg__qmm *m, const uint8_t *rows, const uint8_t *cb, int32_t *tile) { \
    tile_body(w, r, m, rows, cb, tile);                                                                    \
  }
TILE(0, 1)
TILE(0, 2)
TILE(0, 3)
TILE(1, 1)
TILE(1, 2)
TILE(1, 3)
static const tile_fn g_tiles[2][MR] = {{tile_0_1, tile_0_2, tile_0_3}, {tile_1_1, tile_1_2, tile_1_3}}; /* [wrows] */

/* ---- epilogue -------------------------------------------------------------------------------- */

/* qg__requant_value on 8 lanes (see qgemm_avx512.c's requant16). */
QG_INLINE AVX2_TARGET __m256i requant8(__m256i raw, __m256i bq, __m256 badd, __m256 mult, __m256i zp, __m256i lo) {
  __m256 y = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(raw, bq)), badd), mult);
  y = _mm256_min_ps(_mm256_max_ps(y, _mm256_set1_ps(-65536.0f)), _mm256_set1_ps(65536.0f));
  __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(y), zp);
  return _mm256_min_epi32(_mm256_max_epi32(q, lo), _mm256_set1_epi32(255));
}

/* Corrects and requantizes 8 lanes; per-lane channel parameters come from chan (8 consecutive
 * channels) or, chan < 0, from the scalar channel ch. */
typedef struct lanes8 {
  __m256i corr, zw, bq, zp, lo;
  __m256 badd, mult;
} lanes8;

QG_INLINE AVX2_TARGET lanes8 params_scalar(const qg__qmm *m, int64_t ch) {
  const qg__requant *rq = m->rq;
  int64_t rc = m->ch0 + ch;
  lanes8 p = {_mm256_set1_epi32(m->corr ? m->corr[ch] : 0),
              _mm256_set1_epi32(m->zw ? m->zw[ch] : 0),
              _mm256_set1_epi32(rq ? rq->bq[rc] : 0),
              _mm256_set1_epi32(rq ? rq->zp : 0),
              _mm256_set1_epi32(rq ? rq->lo : 0),
              _mm256_set1_ps(rq ? rq->badd[rc] : 0.0f),
              _mm256_set1_ps(rq ? rq->mult[rc] : 0.0f)};
  return p;
}

/* Channels j .. j + 7, of which n (1..8) exist: copied into zero-padded buffers first. */
QG_INLINE AVX2_TARGET lanes8 params_vector(const qg__qmm *m, int64_t j, int n) {
  const qg__requant *rq = m->rq;
  int32_t corr[8] = {0}, zw[8] = {0}, bq[8] = {0};
  float badd[8] = {0}, mult[8] = {0};
  size_t bytes = (size_t)n * 4;
  if (m->corr) memcpy(corr, m->corr + j, bytes);
  if (m->zw) memcpy(zw, m->zw + j, bytes);
  if (rq) {
    memcpy(bq, rq->bq + m->ch0 + j, bytes);
    memcpy(badd, rq->badd + m->ch0 + j, bytes);
    memcpy(mult, rq->mult + m->ch0 + j, bytes);
  }
  lanes8 p = {_mm256_loadu_si256((const __m256i *)(void *)corr),
              _mm256_loadu_si256((const __m256i *)(void *)zw),
              _mm256_loadu_si256((const __m256i *)(void *)bq),
              _mm256_set1_epi32(rq ? rq->zp : 0),
              _mm256_set1_epi32(rq ? rq->lo : 0),
              _mm256_loadu_ps(badd),
              _mm256_loadu_ps(mult)};
  return p;
}

QG_INLINE AVX2_TARGET __m256i finish8(const qg__qmm *m, const lanes8 *p, __m256i x, __m256i asum) {
  if (m->zw) x = _mm256_sub_epi32(x, _mm256_mullo_epi32(p->zw, asum));
  x = _mm256_add_epi32(x, p->corr);
  return m->rq ? requant8(x, p->bq, p->badd, p->mult, p->zp, p->lo) : x;
}

/* Stores 16 results (int32 lanes; uint8 values when requantized): the lanes set in mask, packed
 * together, at element `at` of the output. */
static void store16(const qg__qmm *m, const int32_t *res, uint16_t mask, int64_t at) {
  if (m->rq) {
    for (int l = 0; l < QG_QMM_NR; l++)
      if (mask >> l & 1) m->y[at++] = (uint8_t)res[l];
  } else if (mask == 0xffff) {
    memcpy(m->c + at, res, QG_QMM_NR * sizeof *res);
  } else {
    for (int l = 0; l < QG_QMM_NR; l++)
      if (mask >> l & 1) m->c[at++] = res[l];
  }
}

static AVX2_TARGET void epilogue(const qg__qmm *m, const qg__qmm_blk *b, int64_t i0, int nr, const int32_t *tile) {
  const int wrows = m->form == QG_QMM_WEIGHT_ROWS;
  int32_t res[QG_QMM_NR];
  for (int r = 0; r < nr; r++) {
    int64_t i = i0 + r;
    lanes8 ps = wrows ? params_scalar(m, i) : params_scalar(m, 0); /* ACT_ROWS: only zp and lo */
    __m256i as = _mm256_set1_epi32(!wrows && m->zw ? m->asum[i] : 0);
    for (int v = 0; v < b->nv; v++) {
      const int32_t *t = tile + r * QG_QMM_JB + v * QG_QMM_NR;
      for (int h = 0; h < 2; h++) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(t + 8 * h)), s = as;
        lanes8 pv = ps;
        if (wrows) {
          if (m->zw) s = _mm256_loadu_si256((const __m256i *)(const void *)(b->asum + v * QG_QMM_NR + 8 * h));
        } else {
          int64_t j = b->j0 + v * QG_QMM_NR + 8 * h, n = m->J - j;
          if (n <= 0) break;
          pv = params_vector(m, j, n < 8 ? (int)n : 8);
        }
        _mm256_storeu_si256((__m256i *)(void *)(res + 8 * h), finish8(m, &pv, x, s));
      }
      if (m->rq && b->mask[v] == 0xffff) {
        /* the common case without the lane loop: 16 values in 0..255 to bytes */
        __m256i w16 = _mm256_packs_epi32(_mm256_loadu_si256((const __m256i *)(void *)res),
                                         _mm256_loadu_si256((const __m256i *)(void *)(res + 8)));
        __m128i b8 = _mm_packus_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1));
        /* packs works per 128-bit half: lanes 0-3, 8-11 | 4-7, 12-15 -> reorder */
        b8 = _mm_shuffle_epi32(b8, _MM_SHUFFLE(3, 1, 2, 0));
        _mm_storeu_si128((__m128i *)(void *)(m->y + i * m->ld + b->dst[v]), b8);
      } else {
        store16(m, res, b->mask[v], i * m->ld + b->dst[v]);
      }
    }
  }
}

AVX2_TARGET void qg__qmm_block_avx2(const qg__qmm *m, const qg__qmm_blk *b) {
  int32_t tile[MR * QG_QMM_JB];
  const int w = m->form == QG_QMM_WEIGHT_ROWS;
  for (int64_t i0 = 0; i0 < m->I; i0 += MR) {
    int nr = m->I - i0 < MR ? (int)(m->I - i0) : MR;
    for (int v = 0; v < b->nv; v++)
      g_tiles[w][nr - 1](m, m->rows + i0 / m->rb * m->ldr + i0 % m->rb * 4,
                         m->cols + b->j0 / QG_QMM_JB * m->bstride + v * m->vstride, tile + v * QG_QMM_NR);
    epilogue(m, b, i0, nr, tile);
  }
}

int qg__qgemm_have_avx2(void) { return qg_cpu_has_avx2(); }

#else /* not x86-64 */

void qg__qmm_block_avx2(const qg__qmm *m, const qg__qmm_blk *b) { qg__qmm_block_generic(m, b); }
int qg__qgemm_have_avx2(void) { return 0; }

#endif
