/* HistogramObserver._non_linear_param_search and _compute_quantization_error (reference §5.4),
 * identical in every PyTorch version. The search walks quantile bounds in steps of 1e-5 and
 * keeps the narrowing [start_bin, end_bin] while the L2 quantization error does not grow.
 *
 * Numerics follow the tensor ops one by one: Python floats meeting float32 tensors are cast to
 * float32, each op rounds to float32, `torch.sum` is ATen's cascade sum (whose lane count is the
 * recording CPU's vector width, qg__obs_sum_lanes), `torch.cumsum` of float32 accumulates in
 * float64 on the CPU and rounds each prefix, and `cSum[l] < next_alpha * total` compares in
 * float32. */
#include <math.h>

#include "base/alloc.h"
#include "base/cpu.h"
#include "quant/observer_impl.h"

int qg__obs_sum_lanes(qg_histogram_variant v) {
  (void)v; /* measured: torch 1.13 (AVX2 build) and torch 2.15 (AVX-512 capable) both sum with 8 lanes */
  return 8;
}

/* c10::div_floor_floating: Python's floor division. */
static float div_floor(float a, float b) {
  if (b == 0) return a / b;
  float mod = fmodf(a, b);
  float div = (a - mod) / b;
  if (mod != 0 && (b < 0) != (mod < 0)) div -= 1.0f;
  float fl;
  if (div != 0) {
    fl = floorf(div);
    if (div - fl > 0.5f) fl += 1.0f;
  } else {
    fl = copysignf(0.0f, a / b);
  }
  return fl;
}

static float clampf(float v, float lo, float hi) {
  v = v < lo ? lo : v; /* clamp_min, then clamp_max (NaN passes through) */
  return v > hi ? hi : v;
}

/* _get_norm: density * (end^3 - begin^3) / 3, one float32 op at a time. */
static float get_norm(float begin, float end, float density) {
  return density * ((end * end * end - begin * begin * begin) / 3.0f);
}

typedef struct search {
  const float *hist;
  int64_t bins;
  double dst_nbins;
  float min_val, max_val;
  int lanes;
  float *norm; /* bins scratch floats */
} search;

/* The float32 constants of one _compute_quantization_error call. */
typedef struct error_consts {
  float fbw, fdbw, half, nhalf, top, mid, ones_half;
} error_consts;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QG__SEARCH_AVX2 1
#define AVX2 __attribute__((target("avx2")))

/* The vector path computes fmodf exactly in float64 (below), which needs the quotient
 * |begin / dbw| < 2^28 so that q * dbw is exact: bins * dst_nbins bounds it. Other cases
 * (qint32 histograms, a zero or non-finite width) stay scalar. */
static int avx2_applies(const search *s, const error_consts *c) {
  return qg_cpu_has_avx2() && c->fbw > 0 && c->fdbw > 0 && isfinite(c->fbw) && isfinite(c->fdbw) &&
         (double)(s->bins + 2) * s->dst_nbins < 268435456.0;
}

/* fmod(a, b) for b > 0, exact: q = trunc(a / b) in float64 may be one off when a / b rounds
 * across an integer, so the remainder a - q * b (exact: q * b has at most 52 bits) is moved back
 * into [0, b) (a >= 0) or (-b, 0] (a < 0) by one b. */
AVX2 static inline __m256d fmod_pd(__m256d a, __m256d b) {
  const __m256d zero = _mm256_setzero_pd();
  __m256d q = _mm256_round_pd(_mm256_div_pd(a, b), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  __m256d r = _mm256_sub_pd(a, _mm256_mul_pd(q, b));
  __m256d neg = _mm256_cmp_pd(a, zero, _CMP_LT_OQ);
  __m256d add = _mm256_blendv_pd(_mm256_cmp_pd(r, zero, _CMP_LT_OQ), _mm256_cmp_pd(r, _mm256_sub_pd(zero, b), _CMP_LE_OQ), neg);
  __m256d sub = _mm256_blendv_pd(_mm256_cmp_pd(r, b, _CMP_GE_OQ), _mm256_cmp_pd(r, zero, _CMP_GT_OQ), neg);
  r = _mm256_add_pd(r, _mm256_and_pd(add, b));
  return _mm256_sub_pd(r, _mm256_and_pd(sub, b));
}

/* div_floor(a, b) for b > 0 (the scalar function's steps; the sign of a zero result, which
 * the scalar version keeps, does not reach the error: it only meets + 0.5 and subtractions). */
AVX2 static inline __m256 div_floor_ps(__m256 a, __m256 b, __m256d bd) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
  __m256d lo = fmod_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)), bd);
  __m256d hi = fmod_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)), bd);
  __m256 mod = _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo)); /* exact: fmod is a float */
  __m256 div = _mm256_div_ps(_mm256_sub_ps(a, mod), b);
  div = _mm256_sub_ps(div, _mm256_and_ps(_mm256_cmp_ps(mod, zero, _CMP_LT_OQ), one));
  __m256 fl = _mm256_floor_ps(div);
  return _mm256_add_ps(fl, _mm256_and_ps(_mm256_cmp_ps(_mm256_sub_ps(div, fl), half, _CMP_GT_OQ), one));
}

AVX2 static inline __m256 clamp_ps(__m256 v, __m256 top) {
  return _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), top);
}

AVX2 static inline __m256 get_norm_ps(__m256 begin, __m256 end, __m256 density) {
  const __m256 three = _mm256_set1_ps(3.0f);
  __m256 e3 = _mm256_mul_ps(_mm256_mul_ps(end, end), end), b3 = _mm256_mul_ps(_mm256_mul_ps(begin, begin), begin);
  return _mm256_mul_ps(density, _mm256_div_ps(_mm256_sub_ps(e3, b3), three));
}

/* error_terms_scalar for bins [0, bins - bins % 8), eight at a time with the same float32
 * operations (no FMA); returns the number of bins done. */
AVX2 static int64_t error_terms_avx2(const search *s, const error_consts *c, int64_t start) {
  const __m256 fbw = _mm256_set1_ps(c->fbw), fdbw = _mm256_set1_ps(c->fdbw), top = _mm256_set1_ps(c->top);
  const __m256 halfw = _mm256_set1_ps(c->half), nhalf = _mm256_set1_ps(c->nhalf), mid = _mm256_set1_ps(c->mid);
  const __m256 ones_half = _mm256_set1_ps(c->ones_half), p5 = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  const __m256d bd = _mm256_set1_pd((double)c->fdbw);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int64_t n = s->bins - s->bins % 8;
  for (int64_t i = 0; i < n; i += 8) {
    __m256 k = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_set1_epi32((int32_t)(i - start)), lane));
    __m256 begin = _mm256_mul_ps(k, fbw), end_ = _mm256_add_ps(begin, fbw);
    __m256 db = clamp_ps(div_floor_ps(begin, fdbw, bd), top);
    __m256 db_center = _mm256_mul_ps(_mm256_add_ps(db, p5), fdbw);
    __m256 de = clamp_ps(div_floor_ps(end_, fdbw, bd), top);
    __m256 density = _mm256_div_ps(_mm256_loadu_ps(s->hist + i), fbw);
    __m256 norm = _mm256_add_ps(_mm256_setzero_ps(), get_norm_ps(_mm256_sub_ps(begin, db_center), ones_half, density));
    norm = _mm256_add_ps(norm, _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(de, db), one), _mm256_mul_ps(density, mid)));
    __m256 de_center = _mm256_add_ps(_mm256_mul_ps(de, fdbw), halfw);
    norm = _mm256_add_ps(norm, get_norm_ps(nhalf, _mm256_sub_ps(end_, de_center), density));
    _mm256_storeu_ps(s->norm + i, norm);
  }
  return n;
}
#endif

/* The per-bin L2 error terms of bins [from, to) into s->norm, one float32 op at a time. */
static void error_terms_scalar(const search *s, const error_consts *c, int64_t start, int64_t from, int64_t to) {
  for (int64_t i = from; i < to; i++) {
    float begin = (float)(i - start) * c->fbw, end_ = begin + c->fbw;
    float db = clampf(div_floor(begin, c->fdbw), 0.0f, c->top);
    float db_center = (db + 0.5f) * c->fdbw;
    float de = clampf(div_floor(end_, c->fdbw), 0.0f, c->top);
    float density = s->hist[i] / c->fbw;
    float norm = 0.0f;
    norm += get_norm(begin - db_center, c->ones_half, density);
    norm += (de - db - 1.0f) * (density * c->mid);
    float de_center = de * c->fdbw + c->half;
    norm += get_norm(c->nhalf, end_ - de_center, density);
    s->norm[i] = norm;
  }
}

static int force_scalar;
void qg__obs_search_force_scalar(int on) { force_scalar = on; }

static double quantization_error(const search *s, int64_t start, int64_t end) {
  double bw = ((double)s->max_val - (double)s->min_val) / (double)s->bins;
  double dbw = bw * (double)(end - start + 1) / s->dst_nbins;
  if (dbw == 0.0) return 0.0;
  error_consts c;
  c.fbw = (float)bw;
  c.fdbw = (float)dbw;
  c.half = (float)(dbw / 2);
  c.nhalf = (float)(-dbw / 2);
  c.top = (float)(s->dst_nbins - 1);
  c.mid = (c.half * c.half * c.half - c.nhalf * c.nhalf * c.nhalf) / 3.0f; /* _get_norm(-w/2, w/2) / density */
  c.ones_half = 1.0f * c.half;                                                  /* torch.ones(bins) * (dbw / 2) */
  int64_t done = 0;
#if defined(QG__SEARCH_AVX2)
  if (!force_scalar && avx2_applies(s, &c)) done = error_terms_avx2(s, &c, start);
#endif
  error_terms_scalar(s, &c, start, done, s->bins);
  return (double)qg__cascade_sum_f32(s->norm, s->bins, s->lanes);
}

/* The histogram state of o as a search (scratch: 2 * bins floats, owned by the caller). */
static qg_status search_of(const qg__obs *o, search *s, float **scratch) {
  int64_t bins = 0, one = 0;
  const float *hist = qg__obs_buffer(o, o->s_hist, &bins, NULL);
  const float *mn = qg__obs_buffer(o, o->s_min, &one, NULL), *mx = qg__obs_buffer(o, o->s_max, &one, NULL);
  if (!hist || !mn || !mx || bins < 1)
    return qg_set_error(QG_STATUS_TYPE, "HistogramObserver: histogram, min_val and max_val must be float32 tensors");
  *scratch = qg__malloc((size_t)bins * 2 * sizeof **scratch);
  if (!*scratch) return qg_oom("_non_linear_param_search");
  int64_t dst_bits = (int64_t)qg_dtype_info(o->spec.dtype)->size * 8; /* dst_nbins = 2 ** iinfo(dtype).bits */
  search t = {hist, bins, ldexp(1.0, (int)dst_bits), *mn, *mx, qg__obs_sum_lanes(o->spec.histogram_variant), *scratch};
  *s = t;
  return QG_OK;
}

qg_status qg__obs_quantization_error(const qg__obs *o, int64_t start, int64_t end, double *out) {
  search s = {0};
  float *scratch;
  QG_TRY(search_of(o, &s, &scratch));
  *out = quantization_error(&s, start, end);
  qg__free(scratch);
  return QG_OK;
}

qg_status qg__obs_histogram_search(const qg__obs *o, float *new_min, float *new_max) {
  search s = {0};
  float *scratch;
  QG_TRY(search_of(o, &s, &scratch));
  const int64_t bins = s.bins;
  const float *hist = s.hist;
  float *csum = scratch + bins;
  const float bin_width = (s.max_val - s.min_val) / (float)bins;
  const double total = qg__cascade_sum_f32(hist, bins, s.lanes);
  double acc = 0;
  for (int64_t i = 0; i < bins; i++) {
    acc += hist[i];
    csum[i] = (float)acc;
  }
  double alpha = 0.0, beta = 1.0, norm_min = INFINITY;
  const double step = 1e-5;
  int64_t start = 0, end = bins - 1;
  while (alpha < beta) {
    double next_alpha = alpha + step, next_beta = beta - step;
    const float lo_q = (float)(next_alpha * total), hi_q = (float)(next_beta * total);
    int64_t l = start, r = end;
    while (l < end && csum[l] < lo_q) l++;
    while (r > start && csum[r] > hi_q) r--;
    int64_t next_start = start, next_end = end;
    if ((l - start) > (end - r)) {
      next_start = l;
      alpha = next_alpha;
    } else {
      next_end = r;
      beta = next_beta;
    }
    if (next_start == start && next_end == end) continue;
    double norm = quantization_error(&s, next_start, next_end);
    if (norm > norm_min) break;
    norm_min = norm;
    start = next_start;
    end = next_end;
  }
  *new_min = s.min_val + bin_width * (float)start;
  *new_max = s.min_val + bin_width * (float)(end + 1);
  qg__free(scratch);
  return QG_OK;
}
