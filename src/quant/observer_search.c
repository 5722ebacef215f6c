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

static double quantization_error(const search *s, int64_t start, int64_t end) {
  double bw = ((double)s->max_val - (double)s->min_val) / (double)s->bins;
  double dbw = bw * (double)(end - start + 1) / s->dst_nbins;
  if (dbw == 0.0) return 0.0;
  const float fbw = (float)bw, fdbw = (float)dbw, half = (float)(dbw / 2), nhalf = (float)(-dbw / 2);
  const float top = (float)(s->dst_nbins - 1);
  const float mid = (half * half * half - nhalf * nhalf * nhalf) / 3.0f; /* _get_norm(-w/2, w/2) / density */
  const float ones_half = 1.0f * half;                                    /* torch.ones(bins) * (dbw / 2) */
  for (int64_t i = 0; i < s->bins; i++) {
    float begin = (float)(i - start) * fbw, end_ = begin + fbw;
    float db = clampf(div_floor(begin, fdbw), 0.0f, top);
    float db_center = (db + 0.5f) * fdbw;
    float de = clampf(div_floor(end_, fdbw), 0.0f, top);
    float density = s->hist[i] / fbw;
    float norm = 0.0f;
    norm += get_norm(begin - db_center, ones_half, density);
    norm += (de - db - 1.0f) * (density * mid);
    float de_center = de * fdbw + half;
    norm += get_norm(nhalf, end_ - de_center, density);
    s->norm[i] = norm;
  }
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
  search s;
  float *scratch;
  QG_TRY(search_of(o, &s, &scratch));
  *out = quantization_error(&s, start, end);
  qg__free(scratch);
  return QG_OK;
}

qg_status qg__obs_histogram_search(const qg__obs *o, float *new_min, float *new_max) {
  search s;
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
