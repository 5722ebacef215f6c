/* The integer GEMM (qgemm.h): packing helpers, the portable kernel and the kernel choice. */
#include "ops/cpu/qgemm.h"

#include <string.h>

void qg__qgemm_rows_u8(const uint8_t *x, int64_t rows, int64_t k, int64_t ldx, int32_t zp, int16_t *P, int64_t ldp) {
  int64_t kp = qg__qgemm_kpad(k);
  for (int64_t i = 0; i < rows; i++) {
    const uint8_t *src = x + i * ldx;
    int16_t *dst = P + i * ldp;
    for (int64_t c = 0; c < k; c++) dst[c] = (int16_t)((int32_t)src[c] - zp);
    for (int64_t c = k; c < kp; c++) dst[c] = 0;
  }
}

void qg__qgemm_rows_s8(const int8_t *w, int64_t rows, int64_t k, int64_t ldw, const int32_t *zp, int zp_per_row,
                       int16_t *P, int64_t ldp) {
  int64_t kp = qg__qgemm_kpad(k);
  for (int64_t i = 0; i < rows; i++) {
    const int8_t *src = w + i * ldw;
    int16_t *dst = P + i * ldp;
    int32_t z = zp[zp_per_row ? i : 0];
    for (int64_t c = 0; c < k; c++) dst[c] = (int16_t)((int32_t)src[c] - z);
    for (int64_t c = k; c < kp; c++) dst[c] = 0;
  }
}

void qg__qgemm_panels_s8(const int8_t *w, int64_t cols, int64_t k, int64_t ldw, const int32_t *zp, int zp_per_row,
                         int16_t *Q) {
  int64_t kp = qg__qgemm_kpad(k);
  int64_t npanel = (cols + QG_QGEMM_NR - 1) / QG_QGEMM_NR;
  memset(Q, 0, (size_t)(npanel * QG_QGEMM_NR * kp) * sizeof *Q);
  for (int64_t j = 0; j < cols; j++) {
    const int8_t *src = w + j * ldw;
    int32_t z = zp[zp_per_row ? j : 0];
    int16_t *dst = Q + (j / QG_QGEMM_NR) * kp * QG_QGEMM_NR + (j % QG_QGEMM_NR) * 2;
    for (int64_t c = 0; c < k; c++) dst[(c >> 1) * (2 * QG_QGEMM_NR) + (c & 1)] = (int16_t)((int32_t)src[c] - z);
  }
}

/* Portable kernel: one row against one panel at a time, 16 accumulators the compiler can keep
 * in vector registers. */
static void qgemm_generic(int64_t I, int64_t J, int64_t kp, const int16_t *P, int64_t ldp, const int16_t *Q, int32_t *C,
                          int64_t ldc) {
  for (int64_t jb = 0; jb * QG_QGEMM_NR < J; jb++) {
    const int16_t *panel = Q + jb * kp * QG_QGEMM_NR;
    int64_t nc = J - jb * QG_QGEMM_NR < QG_QGEMM_NR ? J - jb * QG_QGEMM_NR : QG_QGEMM_NR;
    for (int64_t i = 0; i < I; i++) {
      const int16_t *p = P + i * ldp;
      uint32_t acc[QG_QGEMM_NR] = {0}; /* wraps like the vector kernels (no signed overflow) */
      for (int64_t kk = 0; kk < kp / 2; kk++) {
        int32_t a0 = p[2 * kk], a1 = p[2 * kk + 1];
        const int16_t *q = panel + kk * 2 * QG_QGEMM_NR;
        for (int c = 0; c < QG_QGEMM_NR; c++) acc[c] += (uint32_t)(a0 * q[2 * c] + a1 * q[2 * c + 1]);
      }
      memcpy(C + i * ldc + jb * QG_QGEMM_NR, acc, (size_t)nc * sizeof *acc);
    }
  }
}

static int g_forced = -1;

qg__qgemm_isa qg__qgemm_isa_best(void) {
  if (qg__qgemm_have_avx512vnni()) return QG_QGEMM_AVX512VNNI;
  if (qg__qgemm_have_avx2()) return QG_QGEMM_AVX2;
  return QG_QGEMM_GENERIC;
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

void qg__qgemm(int64_t I, int64_t J, int64_t kp, const int16_t *P, int64_t ldp, const int16_t *Q, int32_t *C,
               int64_t ldc) {
  if (I <= 0 || J <= 0) return;
  switch (qg__qgemm_isa_current()) {
  case QG_QGEMM_AVX512VNNI: qg__qgemm_avx512vnni(I, J, kp, P, ldp, Q, C, ldc); return;
  case QG_QGEMM_AVX2: qg__qgemm_avx2(I, J, kp, P, ldp, Q, C, ldc); return;
  case QG_QGEMM_GENERIC: break;
  }
  qgemm_generic(I, J, kp, P, ldp, Q, C, ldc);
}
