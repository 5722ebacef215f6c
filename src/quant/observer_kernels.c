/* The observers' inner loops: min/max scans (SSE2 on x86-64, four independent accumulators so
 * the loop runs at memory bandwidth), histc counting, and PyTorch's float32 cascade sum.
 *
 * NaN: the scans keep NaNs out of the running min/max (min(x, acc) returns acc when x is NaN)
 * and report them separately; the callers turn "has a NaN" into a NaN result as torch.aminmax
 * does. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/cpu.h"
#include "quant/observer_impl.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QG__OBS_AVX2 1
/* AVX2 versions are compiled for that target and chosen at run time (qg_cpu_has_avx2). */
#endif

#if defined(QG__OBS_AVX2)
/* The first n - n % 32 elements; returns how many it consumed. */
__attribute__((target("avx2"))) static int64_t minmax_f32_avx2(const float *x, int64_t n, float *lo, float *hi,
                                                                int *nan) {
  __m256 lo0 = _mm256_set1_ps(INFINITY), lo1 = lo0, hi0 = _mm256_set1_ps(-INFINITY), hi1 = hi0;
  __m256 un = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    __m256 c = _mm256_loadu_ps(x + i + 16), d = _mm256_loadu_ps(x + i + 24);
    lo0 = _mm256_min_ps(a, lo0);
    lo1 = _mm256_min_ps(b, lo1);
    hi0 = _mm256_max_ps(a, hi0);
    hi1 = _mm256_max_ps(b, hi1);
    lo0 = _mm256_min_ps(c, lo0);
    lo1 = _mm256_min_ps(d, lo1);
    hi0 = _mm256_max_ps(c, hi0);
    hi1 = _mm256_max_ps(d, hi1);
    un = _mm256_or_ps(un, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q), _mm256_cmp_ps(c, d, _CMP_UNORD_Q)));
  }
  float l[8], h[8];
  _mm256_storeu_ps(l, _mm256_min_ps(lo0, lo1));
  _mm256_storeu_ps(h, _mm256_max_ps(hi0, hi1));
  for (int k = 0; k < 8; k++) {
    *lo = l[k] < *lo ? l[k] : *lo;
    *hi = h[k] > *hi ? h[k] : *hi;
  }
  *nan |= _mm256_movemask_ps(un) != 0;
  return i;
}
#endif

void qg__minmax_f32(const float *x, int64_t n, float *mn, float *mx, int *has_nan) {
  int64_t i = 0;
  float lo = INFINITY, hi = -INFINITY;
  int nan = 0;
#if defined(QG__OBS_AVX2)
  if (n >= 32 && qg_cpu_has_avx2()) i = minmax_f32_avx2(x, n, &lo, &hi, &nan);
#endif
#if defined(__SSE2__)
  if (n - i >= 16) {
    __m128 lo0 = _mm_set1_ps(INFINITY), lo1 = lo0, hi0 = _mm_set1_ps(-INFINITY), hi1 = hi0;
    __m128 un = _mm_setzero_ps();
    for (; i + 16 <= n; i += 16) {
      __m128 a = _mm_loadu_ps(x + i), b = _mm_loadu_ps(x + i + 4);
      __m128 c = _mm_loadu_ps(x + i + 8), d = _mm_loadu_ps(x + i + 12);
      lo0 = _mm_min_ps(a, lo0); /* a NaN in the first operand returns the second */
      lo1 = _mm_min_ps(b, lo1);
      hi0 = _mm_max_ps(a, hi0);
      hi1 = _mm_max_ps(b, hi1);
      lo0 = _mm_min_ps(c, lo0);
      lo1 = _mm_min_ps(d, lo1);
      hi0 = _mm_max_ps(c, hi0);
      hi1 = _mm_max_ps(d, hi1);
      un = _mm_or_ps(un, _mm_or_ps(_mm_cmpunord_ps(a, b), _mm_cmpunord_ps(c, d)));
    }
    float l[4], h[4];
    _mm_storeu_ps(l, _mm_min_ps(lo0, lo1));
    _mm_storeu_ps(h, _mm_max_ps(hi0, hi1));
    for (int k = 0; k < 4; k++) {
      lo = l[k] < lo ? l[k] : lo;
      hi = h[k] > hi ? h[k] : hi;
    }
    nan |= _mm_movemask_ps(un) != 0;
  }
#endif
  for (; i < n; i++) {
    float v = x[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    nan |= v != v;
  }
  *mn = lo;
  *mx = hi;
  *has_nan = nan;
}

/* float64 inputs are rare (PyTorch casts them to the float32 buffers anyway): a plain loop. */
void qg__minmax_f64(const double *x, int64_t n, double *mn, double *mx, int *has_nan) {
  double lo = INFINITY, hi = -INFINITY;
  int nan = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = x[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    nan |= v != v;
  }
  *mn = lo;
  *mx = hi;
  *has_nan = nan;
}

#if defined(QG__OBS_AVX2)
/* Columns [c0, c0 + 8k) of all rows, 8 columns at a time, accumulators in registers. */
__attribute__((target("avx2"))) static int64_t minmax_rows_f32_avx2(const float *x, int64_t rows, int64_t nc,
                                                                     float *mn, float *mx, uint32_t *nan) {
  int64_t c = 0;
  for (; c + 8 <= nc; c += 8) {
    __m256 lo = _mm256_loadu_ps(mn + c), hi = _mm256_loadu_ps(mx + c);
    __m256 un = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(const void *)(nan + c)));
    for (int64_t r = 0; r < rows; r++) {
      __m256 v = _mm256_loadu_ps(x + r * nc + c);
      lo = _mm256_min_ps(v, lo);
      hi = _mm256_max_ps(v, hi);
      un = _mm256_or_ps(un, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    _mm256_storeu_ps(mn + c, lo);
    _mm256_storeu_ps(mx + c, hi);
    _mm256_storeu_si256((__m256i *)(void *)(nan + c), _mm256_castps_si256(un));
  }
  return c;
}
#endif

void qg__minmax_rows_f32(const float *x, int64_t rows, int64_t nc, float *mn, float *mx, uint32_t *nan) {
  int64_t c = 0;
#if defined(QG__OBS_AVX2)
  if (nc >= 8 && qg_cpu_has_avx2()) c = minmax_rows_f32_avx2(x, rows, nc, mn, mx, nan);
#endif
#if defined(__SSE2__)
  for (; c + 4 <= nc; c += 4) {
    __m128 lo = _mm_loadu_ps(mn + c), hi = _mm_loadu_ps(mx + c);
    __m128 un = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)(const void *)(nan + c)));
    for (int64_t r = 0; r < rows; r++) {
      __m128 v = _mm_loadu_ps(x + r * nc + c);
      lo = _mm_min_ps(v, lo);
      hi = _mm_max_ps(v, hi);
      un = _mm_or_ps(un, _mm_cmpunord_ps(v, v));
    }
    _mm_storeu_ps(mn + c, lo);
    _mm_storeu_ps(mx + c, hi);
    _mm_storeu_si128((__m128i *)(void *)(nan + c), _mm_castps_si128(un));
  }
#endif
  for (; c < nc; c++)
    for (int64_t r = 0; r < rows; r++) {
      float v = x[r * nc + c];
      mn[c] = v < mn[c] ? v : mn[c];
      mx[c] = v > mx[c] ? v : mx[c];
      if (v != v) nan[c] = ~0u;
    }
}

/* ---- cascade sum (ATen/native/cpu/SumKernel.cpp) ------------------------------------------
 * A row of n floats is read as n / lanes vectors; row_sum splits those 4 ways (ILP), and
 * multi_row_sum adds each way into a 4-level cascade whose levels flush every 2^level_power
 * rows. The lane-wise partial vectors are then summed ways 1..3 into way 0, the scalar tail is
 * added into a scalar accumulator, and finally the lanes in order. */
#define MAX_LANES 16

static int64_t ceil_log2(int64_t x) {
  if (x <= 2) return 1;
  uint64_t v = (uint64_t)x - 1;
  int last = 63;
  while (!(v >> last)) last--;
  return last + 1;
}

/* multi_row_sum<acc, 4>: rows of 4 "elements", each an element of `lanes` floats. */
static void multi_row_sum(const float *in, int64_t size, int lanes, float out[4][MAX_LANES]) {
  enum { NUM_LEVELS = 4 };
  int64_t level_power = ceil_log2(size) / NUM_LEVELS;
  if (level_power < 4) level_power = 4;
  const int64_t level_step = (int64_t)1 << level_power, level_mask = level_step - 1;
  float acc[NUM_LEVELS][4][MAX_LANES];
  memset(acc, 0, sizeof acc);
  int64_t i = 0;
  for (; i + level_step <= size;) {
    for (int64_t j = 0; j < level_step; j++, i++)
      for (int k = 0; k < 4; k++)
        for (int l = 0; l < lanes; l++) acc[0][k][l] += in[(i * 4 + k) * lanes + l];
    for (int j = 1; j < NUM_LEVELS; j++) {
      for (int k = 0; k < 4; k++)
        for (int l = 0; l < lanes; l++) {
          acc[j][k][l] += acc[j - 1][k][l];
          acc[j - 1][k][l] = 0;
        }
      if ((i & (level_mask << (j * level_power))) != 0) break;
    }
  }
  for (; i < size; i++)
    for (int k = 0; k < 4; k++)
      for (int l = 0; l < lanes; l++) acc[0][k][l] += in[(i * 4 + k) * lanes + l];
  for (int j = 1; j < NUM_LEVELS; j++)
    for (int k = 0; k < 4; k++)
      for (int l = 0; l < lanes; l++) acc[0][k][l] += acc[j][k][l];
  memcpy(out, acc[0], sizeof acc[0]);
}

/* row_sum over `size` elements of `lanes` floats: result lanes in out[0..lanes). */
static void row_sum(const float *in, int64_t size, int lanes, float *out) {
  float part[4][MAX_LANES];
  int64_t size_ilp = size / 4;
  multi_row_sum(in, size_ilp, lanes, part);
  for (int64_t i = size_ilp * 4; i < size; i++)
    for (int l = 0; l < lanes; l++) part[0][l] += in[i * lanes + l];
  for (int k = 1; k < 4; k++)
    for (int l = 0; l < lanes; l++) part[0][l] += part[k][l];
  memcpy(out, part[0], (size_t)lanes * sizeof(float));
}

float qg__cascade_sum_f32(const float *x, int64_t n, int lanes) {
  if (lanes < 1 || lanes > MAX_LANES) lanes = 1;
  float r;
  if (lanes > 1 && n >= lanes) {
    /* vectorized_inner_sum */
    int64_t vec_size = n / lanes;
    float v[MAX_LANES];
    row_sum(x, vec_size, lanes, v);
    float acc = 0;
    for (int64_t k = vec_size * lanes; k < n; k++) acc += x[k];
    for (int l = 0; l < lanes; l++) acc += v[l];
    r = acc;
  } else {
    row_sum(x, n, 1, &r); /* scalar_inner_sum */
  }
  return 0.0f + r; /* the output starts at 0 and is accumulated into */
}

/* ---- histc ---------------------------------------------------------------------------------- */

/* C++'s ostream << double (precision 6, %g-like), as TORCH_CHECK prints numbers. */
static const char *cxx_double(double d, char *buf, size_t cap) {
  if (isnan(d)) return "nan";
  if (isinf(d)) return d < 0 ? "-inf" : "inf";
  snprintf(buf, cap, "%g", d);
  return buf;
}

qg_status qg__histc_range(double min, double max, double dmin, double dmax, double *lo, double *hi) {
  double l = min, h = max;
  if (l == h) {
    l = dmin;
    h = dmax;
  }
  if (l == h) {
    l -= 1;
    h += 1;
  }
  char a[40], b[40];
  if (isinf(l) || isinf(h) || isnan(l) || isnan(h))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "torch.histc: range of [%s, %s] is not finite",
                        cxx_double(l, a, sizeof a), cxx_double(h, b, sizeof b));
  if (!(l < h)) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "torch.histc: max must be larger than min");
  *lo = l;
  *hi = h;
  return QG_OK;
}

/* HistogramKernel.cpp, LINEAR_INTERPOLATION: elements outside [lo, hi] and NaNs are skipped,
 * pos = (int64)((x - lo) * bins / (hi - lo)) in the input's precision, pos == bins goes to the
 * last bin. The counts are exact integers (PyTorch's float counts are exact below 2^24). The
 * loops are branch-free (a skipped element counts into counts[bins]), since the 1.13 rule's
 * truncated ranges skip many elements at random. */
#define HISTC_POS(v, lo, hi, fb, w, bins) \
  (!((v) >= (lo) && (v) <= (hi)) ? (bins) : histc_clamp((int64_t)(((v) - (lo)) * (fb) / (w)), (bins)))

static int64_t histc_clamp(int64_t pos, int64_t bins) {
  pos = pos >= bins ? bins - 1 : pos; /* == bins: the closed last bin */
  return pos < 0 ? 0 : pos;
}

#if defined(QG__OBS_AVX2)
__attribute__((target("avx2"))) static int64_t histc_f32_avx2(const float *x, int64_t n, int64_t bins, float lo,
                                                               float hi, int64_t *counts) {
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi), vfb = _mm256_set1_ps((float)bins),
               vw = _mm256_set1_ps(hi - lo);
  const __m256i last = _mm256_set1_epi32((int)bins - 1), skip = _mm256_set1_epi32((int)bins), zero = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 in = _mm256_and_ps(_mm256_cmp_ps(v, vlo, _CMP_GE_OQ), _mm256_cmp_ps(v, vhi, _CMP_LE_OQ));
    __m256i pos = _mm256_cvttps_epi32(_mm256_div_ps(_mm256_mul_ps(_mm256_sub_ps(v, vlo), vfb), vw));
    pos = _mm256_max_epi32(_mm256_min_epi32(pos, last), zero);
    pos = _mm256_blendv_epi8(skip, pos, _mm256_castps_si256(in));
    /* extracting the lanes is faster than storing and reloading them */
    __m128i a = _mm256_castsi256_si128(pos), b = _mm256_extracti128_si256(pos, 1);
    counts[_mm_cvtsi128_si32(a)]++;
    counts[_mm_extract_epi32(a, 1)]++;
    counts[_mm_extract_epi32(a, 2)]++;
    counts[_mm_extract_epi32(a, 3)]++;
    counts[_mm_cvtsi128_si32(b)]++;
    counts[_mm_extract_epi32(b, 1)]++;
    counts[_mm_extract_epi32(b, 2)]++;
    counts[_mm_extract_epi32(b, 3)]++;
  }
  return i;
}
#endif

void qg__histc_f32(const float *x, int64_t n, int64_t bins, float lo, float hi, int64_t *counts) {
  memset(counts, 0, (size_t)(bins + 1) * sizeof *counts);
  const float fb = (float)bins, w = hi - lo;
  int64_t i = 0;
#if defined(QG__OBS_AVX2)
  if (bins < ((int64_t)1 << 30) && qg_cpu_has_avx2()) i = histc_f32_avx2(x, n, bins, lo, hi, counts);
#endif
  for (; i < n; i++) counts[HISTC_POS(x[i], lo, hi, fb, w, bins)]++;
}

void qg__histc_f64(const double *x, int64_t n, int64_t bins, double lo, double hi, int64_t *counts) {
  memset(counts, 0, (size_t)(bins + 1) * sizeof *counts);
  const double fb = (double)bins, w = hi - lo;
  for (int64_t i = 0; i < n; i++) counts[HISTC_POS(x[i], lo, hi, fb, w, bins)]++;
}
