/* The implicit convolution's column operand (qgemm_grid.h). */
#include "ops/cpu/qgemm_grid.h"

#include <string.h>

#include "base/alloc.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SLACK 256 /* bytes read past the last plane by the last block's vectors (16 positions) */

qg_status qg__qgrid_init(qg__qgrid *g, const int64_t in[3], const int64_t k[3], const int64_t stride[3],
                         const int64_t pad[3], const int64_t dil[3], const int64_t out[3], int64_t cin) {
  memset(g, 0, sizeof *g);
  for (int d = 0; d < 3; d++) {
    g->in[d] = in[d];
    g->stride[d] = stride[d];
    g->pad[d] = pad[d];
    g->out[d] = out[d];
    g->q[d] = (in[d] + 2 * pad[d] + stride[d] - 1) / stride[d];
  }
  g->cin = cin;
  g->ncq = (cin + 3) / 4;
  g->ntaps = (int)(k[0] * k[1] * k[2]);
  g->tap = qg__malloc((size_t)g->ntaps * 4 * sizeof *g->tap);
  if (!g->tap) return qg_oom("convolution input grid");
  g->slot = g->tap + g->ntaps;
  g->plane = g->q[0] * g->q[1] * g->q[2] * 4;
  int64_t shift[3];
  for (int t = 0; t < g->ntaps; t++) {
    int64_t kk[3] = {t / (k[1] * k[2]), t / k[2] % k[1], t % k[2]}, ph[3];
    for (int d = 0; d < 3; d++) {
      ph[d] = kk[d] * dil[d] % stride[d];
      shift[d] = kk[d] * dil[d] / stride[d];
    }
    int s = 0;
    while (s < g->nslot && memcmp(g->slot + 3 * s, ph, sizeof ph) != 0) s++;
    if (s == g->nslot) memcpy(g->slot + 3 * g->nslot++, ph, sizeof ph);
    g->tap[t] = s * g->plane + ((shift[0] * g->q[1] + shift[1]) * g->q[2] + shift[2]) * 4;
  }
  g->cq_stride = g->nslot * g->plane;
  g->bytes = (size_t)(g->ncq * g->cq_stride) + SLACK;
  g->J = ((out[0] - 1) * g->q[1] + out[1] - 1) * g->q[2] + out[2];
  return QG_OK;
}

void qg__qgrid_free(qg__qgrid *g) {
  qg__free(g->tap);
  g->tap = g->slot = NULL;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GRID_AVX512 __attribute__((target("avx512f,avx512bw")))

/* The first r <= 64 of the 64 samples from s, every step-th byte (step 1 or 2: a stride-2
 * phase keeps the even bytes of 128, narrowed with vpmovwb), 0 past r; reads only the bytes up
 * to the last sample (masked loads do not fault past them). */
static inline GRID_AVX512 __m512i load64(const uint8_t *s, int64_t step, int r) {
  if (step == 1) return _mm512_maskz_loadu_epi8(r == 64 ? ~0ull : (1ull << r) - 1, (const void *)s);
  int nb = 2 * r - 1; /* the bytes up to the last sample */
  __mmask64 m0 = nb >= 64 ? ~0ull : (1ull << nb) - 1, m1 = nb > 64 ? (1ull << (nb - 64)) - 1 : 0; /* nb < 128 */
  __m256i lo = _mm512_cvtepi16_epi8(_mm512_maskz_loadu_epi8(m0, (const void *)s));
  __m256i hi = _mm512_cvtepi16_epi8(_mm512_maskz_loadu_epi8(m1, (const void *)(s + 64)));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* interleave4 (below) with AVX-512, 64 samples at a time, the last group masked. The byte
 * unpacks work in 128-bit lanes, so after them vector k's lane L holds samples 16L + 4k ..
 * 16L + 4k + 3: a 4x4 transpose of lanes puts samples 16o .. 16o + 15 in output vector o. */
static GRID_AVX512 void interleave4_avx512(const uint8_t *const src[4], int nc, int64_t n, int64_t step,
                                           uint8_t *dst) {
  for (int64_t i = 0; i < n; i += 64) {
    int r = n - i < 64 ? (int)(n - i) : 64;
    __m512i x[4];
    for (int e = 0; e < 4; e++) x[e] = e < nc ? load64(src[e] + i * step, step, r) : _mm512_setzero_si512();
    __m512i a = _mm512_unpacklo_epi8(x[0], x[1]), b = _mm512_unpackhi_epi8(x[0], x[1]);
    __m512i c = _mm512_unpacklo_epi8(x[2], x[3]), d = _mm512_unpackhi_epi8(x[2], x[3]);
    __m512i v0 = _mm512_unpacklo_epi16(a, c), v1 = _mm512_unpackhi_epi16(a, c);
    __m512i v2 = _mm512_unpacklo_epi16(b, d), v3 = _mm512_unpackhi_epi16(b, d);
    __m512i t0 = _mm512_shuffle_i32x4(v0, v1, 0x44), t1 = _mm512_shuffle_i32x4(v2, v3, 0x44);
    __m512i t2 = _mm512_shuffle_i32x4(v0, v1, 0xee), t3 = _mm512_shuffle_i32x4(v2, v3, 0xee);
    __m512i o[4] = {_mm512_shuffle_i32x4(t0, t1, 0x88), _mm512_shuffle_i32x4(t0, t1, 0xdd),
                    _mm512_shuffle_i32x4(t2, t3, 0x88), _mm512_shuffle_i32x4(t2, t3, 0xdd)};
    for (int v = 0; v < 4; v++) {
      int left = 4 * r - 64 * v; /* output bytes of vector v */
      if (left <= 0) break;
      _mm512_mask_storeu_epi8(dst + 4 * i + 64 * v, left >= 64 ? ~0ull : (1ull << left) - 1, o[v]);
    }
  }
}
#endif

/* dst[4i + e] = src[e][i * step] for i < n, e < nc; 0 for the channels past nc. */
static void interleave4(const uint8_t *const src[4], int nc, int64_t n, int64_t step, uint8_t *dst) {
  int64_t i = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  /* with the AVX-512 GEMM (its CPU has AVX512BW); forcing another kernel (tests) also tests the
   * other copies */
  if ((step == 1 || step == 2) && qg__qgemm_isa_current() == QG_QGEMM_AVX512VNNI) {
    interleave4_avx512(src, nc, n, step, dst);
    return;
  }
#endif
#if defined(__SSE2__)
  if (step == 1 && nc == 4)
    for (; i + 16 <= n; i += 16) {
      __m128i r0 = _mm_loadu_si128((const __m128i *)(const void *)(src[0] + i));
      __m128i r1 = _mm_loadu_si128((const __m128i *)(const void *)(src[1] + i));
      __m128i r2 = _mm_loadu_si128((const __m128i *)(const void *)(src[2] + i));
      __m128i r3 = _mm_loadu_si128((const __m128i *)(const void *)(src[3] + i));
      __m128i a = _mm_unpacklo_epi8(r0, r1), b = _mm_unpackhi_epi8(r0, r1);
      __m128i c = _mm_unpacklo_epi8(r2, r3), d = _mm_unpackhi_epi8(r2, r3);
      __m128i *o = (__m128i *)(void *)(dst + 4 * i);
      _mm_storeu_si128(o, _mm_unpacklo_epi16(a, c));
      _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(a, c));
      _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(b, d));
      _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(b, d));
    }
#endif
  for (; i < n; i++)
    for (int e = 0; e < 4; e++) dst[4 * i + e] = e < nc ? src[e][i * step] : 0;
}

static void fill_quads(uint8_t *dst, int64_t n, uint32_t pattern) {
  for (int64_t i = 0; i < n; i++) memcpy(dst + 4 * i, &pattern, 4);
}

void qg__qgrid_fill(const qg__qgrid *g, const uint8_t *x, int64_t cstride, int32_t za, uint8_t *buf) {
  const int64_t H = g->in[1], W = g->in[2], Hq = g->q[1], Wq = g->q[2], sx = g->stride[2];
  /* no padding, stride 1 (a 1x1 convolution's grid): the grid is the input, one run per quad */
  int dense = 1;
  for (int d = 0; d < 3; d++) dense &= g->pad[d] == 0 && g->stride[d] == 1;
  for (int64_t cq = 0; cq < g->ncq; cq++) {
    int nc = g->cin - 4 * cq < 4 ? (int)(g->cin - 4 * cq) : 4;
    if (dense) {
      const uint8_t *src[4] = {NULL, NULL, NULL, NULL};
      for (int e = 0; e < nc; e++) src[e] = x + (4 * cq + e) * cstride;
      interleave4(src, nc, g->in[0] * H * W, 1, buf + cq * g->cq_stride);
      continue;
    }
    uint8_t pb[4] = {0};
    for (int e = 0; e < nc; e++) pb[e] = (uint8_t)za;
    uint32_t pattern; /* a padding sample: za in the real channels, 0 in the missing ones */
    memcpy(&pattern, pb, 4);
    for (int s = 0; s < g->nslot; s++) {
      const int64_t *ph = g->slot + 3 * s;
      uint8_t *plane = buf + cq * g->cq_stride + s * g->plane;
      /* the grid columns whose samples lie inside the input: ix = ox * sx + ph[2] - pad in [0, W) */
      int64_t off = ph[2] - g->pad[2];
      int64_t lo = off >= 0 ? 0 : (-off + sx - 1) / sx, hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sx + 1;
      hi = hi > Wq ? Wq : hi;
      lo = lo > hi ? hi : lo;
      for (int64_t iz = 0; iz < g->q[0]; iz++) {
        int64_t z = iz * g->stride[0] + ph[0] - g->pad[0];
        for (int64_t iy = 0; iy < Hq; iy++) {
          int64_t y = iy * g->stride[1] + ph[1] - g->pad[1];
          uint8_t *dst = plane + (iz * Hq + iy) * Wq * 4;
          if (z < 0 || z >= g->in[0] || y < 0 || y >= H || lo == hi) {
            fill_quads(dst, Wq, pattern);
            continue;
          }
          const uint8_t *src[4] = {NULL, NULL, NULL, NULL};
          for (int e = 0; e < nc; e++) src[e] = x + (4 * cq + e) * cstride + (z * H + y) * W + lo * sx + off;
          fill_quads(dst, lo, pattern);
          interleave4(src, nc, hi - lo, sx, dst + 4 * lo);
          fill_quads(dst + 4 * hi, Wq - hi, pattern);
        }
      }
    }
  }
  memset(buf + g->ncq * g->cq_stride, 0, SLACK);
}

void qg__qgrid_operand(const qg__qgrid *g, const uint8_t *buf, qg__qmm *m) {
  m->cols = buf;
  m->ncq = g->ncq;
  m->cq_stride = g->cq_stride;
  m->vstride = 64;
  m->bstride = QG_QMM_JB * 4;
  m->ntaps = g->ntaps;
  m->tap = g->tap;
  m->J = g->J;
  m->gw = g->q[2];
  m->ow = g->out[2];
  m->gh = g->q[1];
  m->oh = g->out[1];
}
