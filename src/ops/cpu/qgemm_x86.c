/* x86 kernels of the integer GEMM (qgemm.h): AVX2 (vpmaddwd + vpaddd, 4 rows x 16 columns) and
 * AVX-512 VNNI (vpdpwssd, 8 rows x 32 columns). Compiled for the baseline ISA with per-function
 * target attributes and chosen at run time, so one binary runs everywhere.
 *
 * Each kernel is an always-inline body specialised for a constant row count (a switch over
 * 1..MR), so a linear layer with one input row does one row of work, not MR. */
#include "ops/cpu/qgemm.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define QG_INLINE static inline __attribute__((always_inline))

/* Two int16 of a P row as one int32 lane (memcpy: no aliasing or alignment assumptions). */
static inline int32_t pair_at(const int16_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* ---- AVX2: 4 x 16 ------------------------------------------------------------------------ */
#define AVX2_MR 4
#define AVX2_TARGET __attribute__((target("avx2")))

QG_INLINE AVX2_TARGET void avx2_kernel(const int nr, int64_t kp2, const int16_t *P, int64_t ldp, const int16_t *panel,
                                       int32_t *C, int64_t ldc, int nc) {
  __m256i acc[AVX2_MR][2];
  for (int r = 0; r < nr; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (int64_t kk = 0; kk < kp2; kk++) {
    const __m256i b0 = _mm256_loadu_si256((const __m256i *)(panel + kk * 32));
    const __m256i b1 = _mm256_loadu_si256((const __m256i *)(panel + kk * 32 + 16));
    for (int r = 0; r < nr; r++) {
      const __m256i a = _mm256_set1_epi32(pair_at(P + r * ldp + 2 * kk));
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(a, b0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(a, b1));
    }
  }
  for (int r = 0; r < nr; r++) {
    if (nc == QG_QGEMM_NR) {
      _mm256_storeu_si256((__m256i *)(C + r * ldc), acc[r][0]);
      _mm256_storeu_si256((__m256i *)(C + r * ldc + 8), acc[r][1]);
    } else {
      int32_t tmp[QG_QGEMM_NR];
      _mm256_storeu_si256((__m256i *)tmp, acc[r][0]);
      _mm256_storeu_si256((__m256i *)(tmp + 8), acc[r][1]);
      memcpy(C + r * ldc, tmp, (size_t)nc * sizeof *tmp);
    }
  }
}

AVX2_TARGET void qg__qgemm_avx2(int64_t I, int64_t J, int64_t kp, const int16_t *P, int64_t ldp, const int16_t *Q,
                                int32_t *C, int64_t ldc) {
  int64_t kp2 = kp / 2;
  for (int64_t j0 = 0; j0 < J; j0 += QG_QGEMM_NR) {
    const int16_t *panel = Q + (j0 / QG_QGEMM_NR) * kp * QG_QGEMM_NR;
    int nc = J - j0 < QG_QGEMM_NR ? (int)(J - j0) : QG_QGEMM_NR;
    for (int64_t i = 0; i < I; i += AVX2_MR) {
      const int16_t *p = P + i * ldp;
      int32_t *c = C + i * ldc + j0;
      switch (I - i < AVX2_MR ? (int)(I - i) : AVX2_MR) {
      case 4: avx2_kernel(4, kp2, p, ldp, panel, c, ldc, nc); break;
      case 3: avx2_kernel(3, kp2, p, ldp, panel, c, ldc, nc); break;
      case 2: avx2_kernel(2, kp2, p, ldp, panel, c, ldc, nc); break;
      default: avx2_kernel(1, kp2, p, ldp, panel, c, ldc, nc); break;
      }
    }
  }
}

/* ---- AVX-512 VNNI: 8 x 32 (two panels) ------------------------------------------------------ */
#define VNNI_MR 8
#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))

QG_INLINE VNNI_TARGET void vnni_store(__m512i v, int32_t *c, int nc) {
  if (nc == QG_QGEMM_NR) {
    _mm512_storeu_si512((void *)c, v);
  } else if (nc > 0) {
    _mm512_mask_storeu_epi32(c, (__mmask16)((1u << nc) - 1u), v);
  }
}

/* np: panels (1 or 2); nc0 / nc1: valid columns of each. */
QG_INLINE VNNI_TARGET void vnni_kernel(const int nr, const int np, int64_t kp2, const int16_t *P, int64_t ldp,
                                       const int16_t *panel0, const int16_t *panel1, int32_t *C, int64_t ldc, int nc0,
                                       int nc1) {
  __m512i acc[VNNI_MR][2];
  for (int r = 0; r < nr; r++) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  for (int64_t kk = 0; kk < kp2; kk++) {
    const __m512i b0 = _mm512_loadu_si512((const void *)(panel0 + kk * 32));
    const __m512i b1 = np > 1 ? _mm512_loadu_si512((const void *)(panel1 + kk * 32)) : b0;
    for (int r = 0; r < nr; r++) {
      const __m512i a = _mm512_set1_epi32(pair_at(P + r * ldp + 2 * kk));
      acc[r][0] = _mm512_dpwssd_epi32(acc[r][0], a, b0);
      if (np > 1) acc[r][1] = _mm512_dpwssd_epi32(acc[r][1], a, b1);
    }
  }
  for (int r = 0; r < nr; r++) {
    vnni_store(acc[r][0], C + r * ldc, nc0);
    if (np > 1) vnni_store(acc[r][1], C + r * ldc + QG_QGEMM_NR, nc1);
  }
}

#define VNNI_ROWS(np_)                                                                             \
  switch (nr) {                                                                                    \
  case 8: vnni_kernel(8, np_, kp2, p, ldp, panel0, panel1, c, ldc, nc0, nc1); break;               \
  case 7: vnni_kernel(7, np_, kp2, p, ldp, panel0, panel1, c, ldc, nc0, nc1); break;               \
  case 6: vnni_kernel(6, np_, kp2, p, ldp, panel0, panel1, c, ldc, nc0, nc1); break;               \
  case 5: vnni_kernel(5, np_, kp2, p, ldp, panel0, panel1, c, ldc, nc0, nc1); break;               \
  case 4: vnni_kernel(4, np_, kp2, p, ldp, panel0, panel1, c, ldc, nc0, nc1); break;               \
  case 3: vnni_kernel(3, np_, kp2, p, ldp, panel0, panel1, c, ldc, nc0, nc1); break;               \
  case 2: vnni_kernel(2, np_, kp2, p, ldp, panel0, panel1, c, ldc, nc0, nc1); break;               \
  default: vnni_kernel(1, np_, kp2, p, ldp, panel0, panel1, c, ldc, nc0, nc1); break;              \
  }

VNNI_TARGET void qg__qgemm_avx512vnni(int64_t I, int64_t J, int64_t kp, const int16_t *P, int64_t ldp,
                                      const int16_t *Q, int32_t *C, int64_t ldc) {
  int64_t kp2 = kp / 2;
  for (int64_t j0 = 0; j0 < J; j0 += 2 * QG_QGEMM_NR) {
    const int16_t *panel0 = Q + (j0 / QG_QGEMM_NR) * kp * QG_QGEMM_NR, *panel1 = panel0 + kp * QG_QGEMM_NR;
    int64_t left = J - j0;
    int nc0 = left < QG_QGEMM_NR ? (int)left : QG_QGEMM_NR;
    int nc1 = left - nc0 < QG_QGEMM_NR ? (int)(left - nc0) : QG_QGEMM_NR;
    for (int64_t i = 0; i < I; i += VNNI_MR) {
      const int16_t *p = P + i * ldp;
      int32_t *c = C + i * ldc + j0;
      int nr = I - i < VNNI_MR ? (int)(I - i) : VNNI_MR;
      if (nc1 > 0) {
        VNNI_ROWS(2)
      } else {
        VNNI_ROWS(1)
      }
    }
  }
}

int qg__qgemm_have_avx2(void) { return __builtin_cpu_supports("avx2"); }

int qg__qgemm_have_avx512vnni(void) {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vnni");
}

#else /* not x86-64: the portable kernel only */

void qg__qgemm_avx2(int64_t I, int64_t J, int64_t kp, const int16_t *P, int64_t ldp, const int16_t *Q, int32_t *C,
                    int64_t ldc) {
  (void)I, (void)J, (void)kp, (void)P, (void)ldp, (void)Q, (void)C, (void)ldc;
}
void qg__qgemm_avx512vnni(int64_t I, int64_t J, int64_t kp, const int16_t *P, int64_t ldp, const int16_t *Q,
                          int32_t *C, int64_t ldc) {
  (void)I, (void)J, (void)kp, (void)P, (void)ldp, (void)Q, (void)C, (void)ldc;
}
int qg__qgemm_have_avx2(void) { return 0; }
int qg__qgemm_have_avx512vnni(void) { return 0; }

#endif
