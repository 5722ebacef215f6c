/* HistogramObserver.forward (reference §5.4), in its three generations:
 *
 *   QG_HISTOGRAM_CURRENT     torch >= 2.5 (PR #129387): inf filtering, reset only when
 *                            uninitialized, old histogram upscaled 16x and re-bucketed
 *                            (bucketize + bincount); checked against torch 2.15.
 *   QG_HISTOGRAM_LEGACY_113  torch 1.13 exactly: reset when uninitialized or min == max, histc
 *                            ranges truncated with int(), _adjust_min_max with
 *                            hist_bin_width, _combine_histograms by double cumsum; checked
 *                            against torch 1.13.
 *   QG_HISTOGRAM_LEGACY      torch 2.4 (the last release before the rewrite): inf filtering,
 *                            reset also for ranges under 1e-6, the division-free
 *                            _adjust_min_max, no int() truncation, the state left unchanged when
 *                            the combined range equals the old one, a reset instead of a
 *                            combined histogram over 1 GB; checked against torch 2.4.1 (earlier
 *                            2.x releases differ in some of these details).
 *
 * Precision: PyTorch mixes float32 tensors (the buffers, the default dtype) with the input's
 * dtype T (float32 or float64) and type promotion decides each op's precision. Values are kept
 * in doubles here and every op is rounded to the precision PyTorch computes it in (R32: float32,
 * RT: T); float32 +,-,*,/ computed in double and rounded once equal the float32 op. */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "quant/observer_impl.h"
#include "tensor/tensor_ops.h"

#define R32(v) ((double)(float)(v))

typedef struct hin {
  const void *data;
  int64_t n;
  int f64;           /* T = float64 */
  double xmin, xmax; /* torch.aminmax(x) (NaN if any element is NaN) */
} hin;

static double rt(const hin *x, double v) { return x->f64 ? v : R32(v); }

static void scan(hin *x) {
  int nan = 0;
  if (x->f64) {
    qg__minmax_f64(x->data, x->n, &x->xmin, &x->xmax, &nan);
  } else {
    float a, b;
    qg__minmax_f32(x->data, x->n, &a, &b, &nan);
    x->xmin = a;
    x->xmax = b;
  }
  if (nan) x->xmin = x->xmax = NAN;
}

/* torch.histc(x, bins, min, max) as counts (exact integers, in T). */
static qg_status histc(const hin *x, int64_t bins, double min, double max, int64_t *counts) {
  double lo = 0, hi = 0;
  QG_TRY(qg__histc_range(min, max, x->xmin, x->xmax, &lo, &hi));
  /* linspace's end points in T are the bin edges histc divides by */
  if (x->f64) qg__histc_f64(x->data, x->n, bins, lo, hi, counts);
  else qg__histc_f32(x->data, x->n, bins, (float)lo, (float)hi, counts);
  return QG_OK;
}

/* torch.minimum / maximum on 0-dim tensors (NaN wins). */
static double t_min(double a, double b) { return (isnan(a) || isnan(b)) ? NAN : (b < a ? b : a); }
static double t_max(double a, double b) { return (isnan(a) || isnan(b)) ? NAN : (a < b ? b : a); }

/* Python's int(float): truncation; NaN and infinities raise. */
static qg_status py_int(double v, double *out) {
  if (isnan(v)) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "cannot convert float NaN to integer");
  if (isinf(v)) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "cannot convert float infinity to integer");
  *out = trunc(v);
  return QG_OK;
}

typedef struct state {
  float *hist;
  int64_t bins;
  float *min_val, *max_val;
} state;

/* ---- the current rule ---------------------------------------------------------------------- */

/* torch.linspace(start, end, steps) element i in float32 (RangeFactoriesKernel.cpp, scalar
 * path). torch 2.x's CPU kernels are compiled with FMA and GCC contracts `start + step * i` into
 * one fused multiply-add: measured against torch 2.15 (the unfused form differs in a third of
 * the elements of a 32769-point linspace). */
static float linspace_at(float start, float end, float step, int64_t steps, int64_t i) {
  return i < steps / 2 ? fmaf(step, (float)i, start) : fmaf(-step, (float)(steps - i - 1), end);
}

/* _upscale_histogram: the old histogram's 16 sub-bins per bin, each carrying 1/16 of it, are
 * re-bucketed by their midpoints into the new range and summed in order (bincount). edges
 * (bins + 1 floats, scratch) holds the new range's linspace, computed once for the searches. */
static void upscale(const state *s, double umin, double umax, float *edges, float *out) {
  const int64_t bins = s->bins, up = 16, nf = bins * up;
  const float omin = *s->min_val, omax = *s->max_val;
  const float bin_size = (omax - omin) / (float)nf, half = 0.5f * bin_size;
  const float step = (omax - omin) / (float)nf; /* linspace(omin, omax, nf + 1) */
  const float bmin = (float)umin, bmax = (float)umax, bstep = (bmax - bmin) / (float)bins;
  for (int64_t m = 0; m <= bins; m++) edges[m] = linspace_at(bmin, bmax, bstep, bins + 1, m);
  memset(out, 0, (size_t)bins * sizeof *out);
  for (int64_t k = 0; k < nf; k++) {
    float mid = linspace_at(omin, omax, step, nf + 1, k) + half;
    /* bucketize(right=True) - 1: the last boundary <= mid (upper_bound) */
    int64_t lo = 0, hi = bins + 1;
    while (lo < hi) {
      int64_t m = lo + ((hi - lo) >> 1);
      if (!(edges[m] > mid)) lo = m + 1;
      else hi = m;
    }
    int64_t idx = lo - 1;
    if (idx >= bins) idx = bins - 1;
    if (idx < 0) idx = 0;
    out[idx] += s->hist[k / up] / 16.0f;
  }
}

/* torch >= 2.4: `x = x[x.abs() != inf]` (with a warning) when x holds an infinity. *filtered
 * receives the copy x then points into (NULL when nothing was dropped; the caller frees it);
 * x->n becomes 0 when every element was infinite (the observer then ignores the input). */
static qg_status drop_infinities(hin *x, void **filtered) {
  *filtered = NULL;
  if (x->xmin != -INFINITY && x->xmax != INFINITY) return QG_OK;
  size_t esz = x->f64 ? sizeof(double) : sizeof(float);
  char *f = qg__malloc((size_t)x->n * esz);
  if (!f) return qg_oom("HistogramObserver: finite elements");
  int64_t m = 0;
  for (int64_t i = 0; i < x->n; i++) {
    double v = x->f64 ? ((const double *)x->data)[i] : ((const float *)x->data)[i];
    if (isinf(v)) continue;
    memcpy(f + (size_t)m * esz, (const char *)x->data + (size_t)i * esz, esz);
    m++;
  }
  x->data = f;
  x->n = m;
  *filtered = f;
  if (m > 0) scan(x);
  return QG_OK;
}

static qg_status forward_current(const qg__obs *o, state *s, hin *x, double *hist_t, int64_t *counts) {
  void *filtered = NULL;
  QG_TRY(drop_infinities(x, &filtered));
  if (x->n == 0) {
    qg__free(filtered);
    return QG_OK;
  }
  qg_status st = QG_OK;
  const int64_t bins = s->bins;
  double cur_min = *s->min_val, cur_max = *s->max_val;
  if (cur_min == INFINITY || cur_max == -INFINITY) {
    /* reset_histogram: min/max are written before histc can fail */
    *s->min_val = (float)x->xmin;
    *s->max_val = (float)x->xmax;
    st = histc(x, bins, x->xmin, x->xmax, counts);
    if (st == QG_OK)
      for (int64_t i = 0; i < bins; i++) s->hist[i] = (float)counts[i];
    qg__free(filtered);
    return st;
  }
  double new_min = t_min(cur_min, x->xmin), new_max = t_max(cur_max, x->xmax);
  st = histc(x, bins, new_min, new_max, counts);
  if (st == QG_OK && new_min == cur_min && new_max == cur_max) {
    for (int64_t i = 0; i < bins; i++) s->hist[i] = (float)rt(x, (double)s->hist[i] + (double)counts[i]);
  } else if (st == QG_OK) {
    float *old = qg__malloc((size_t)(2 * bins + 1) * sizeof *old); /* + the upscale's edges */
    if (!old) st = qg_oom("HistogramObserver: combined histogram");
    if (st == QG_OK && cur_min == cur_max) {
      /* the old histogram is one value: histc([cur_min], new range) * sum(old) */
      float bin_value = qg__cascade_sum_f32(s->hist, bins, qg__obs_sum_lanes(o->spec.histogram_variant));
      hin one = {s->min_val, 1, 0, cur_min, cur_min};
      int64_t *one_counts = counts + bins + 1;
      st = histc(&one, bins, new_min, new_max, one_counts);
      for (int64_t i = 0; st == QG_OK && i < bins; i++) old[i] = (float)one_counts[i] * bin_value;
    } else if (st == QG_OK) {
      upscale(s, new_min, new_max, old + bins, old);
    }
    for (int64_t i = 0; st == QG_OK && i < bins; i++) hist_t[i] = rt(x, (double)counts[i] + (double)old[i]);
    if (st == QG_OK) {
      for (int64_t i = 0; i < bins; i++) s->hist[i] = (float)hist_t[i];
      *s->min_val = (float)new_min;
      *s->max_val = (float)new_max;
    }
    qg__free(old);
  }
  qg__free(filtered);
  return st;
}

/* ---- the legacy rules --------------------------------------------------------------------- */

/* _combine_histograms: the old histogram upsampled (each bin repeated upsample_rate times) and
 * placed at start_idx on a grid of bins * downsample_rate fine bins, integrated with a float64
 * cumsum sampled every downsample_rate bins, differenced against a float32 copy of the shifted
 * integral, divided by upsample_rate and added (as float32) to orig. */
static qg_status combine_legacy(const state *s, const hin *x, int64_t up, int64_t ds, int64_t start, double *orig) {
  const int64_t bins = s->bins, nup = bins * up, nfine = bins * ds;
  int64_t have = start < nfine ? (start + nup < nfine ? nup : nfine - start) : 0;
  if (have != nup)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "The expanded size of the tensor (%lld) must match the existing size (%lld) at non-singleton "
                        "dimension 0.  Target sizes: [%lld].  Tensor sizes: [%lld]",
                        (long long)have, (long long)nup, (long long)have, (long long)nup);
  double acc = 0, prev = 0;
  int64_t k = 0;
  for (int64_t j = 0; j < bins; j++) {
    int64_t p = j * ds + ds - 1;
    for (; k < nup && start + k <= p; k++) acc += (double)s->hist[k / up];
    double shifted = j ? R32(prev) : 0.0;
    prev = acc;
    float interp = (float)((acc - shifted) / (double)up);
    orig[j] = rt(x, orig[j] + (double)interp);
  }
  return QG_OK;
}

/* torch.histc into the state (reset_histogram): min/max are written before histc can fail, as
 * PyTorch does; histc's `out=` is the float32 histogram, so a float64 input is an error. */
static qg_status reset_legacy(state *s, const hin *x, double lo, double hi, int64_t *counts) {
  *s->min_val = (float)x->xmin;
  *s->max_val = (float)x->xmax;
  if (x->f64)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "torch.histogram: input tensor and hist tensor should have the "
                                                    "same dtype, but got input double and hist float");
  QG_TRY(histc(x, s->bins, lo, hi, counts));
  for (int64_t i = 0; i < s->bins; i++) s->hist[i] = (float)counts[i];
  return QG_OK;
}

/* torch 1.13's forward. */
static qg_status forward_113(const qg__obs *o, state *s, hin *x, double *hist_t, int64_t *counts) {
  const int64_t bins = s->bins, up = o->spec.upsample_rate;
  const double min_val = *s->min_val, max_val = *s->max_val;
  double lo = 0, hi = 0;
  if ((min_val == INFINITY && max_val == -INFINITY) || min_val == max_val) {
    *s->min_val = (float)x->xmin; /* before int() can fail */
    *s->max_val = (float)x->xmax;
    QG_TRY(py_int(x->xmin, &lo));
    QG_TRY(py_int(x->xmax, &hi));
    return reset_legacy(s, x, lo, hi, counts);
  }
  double cmin = t_min(x->xmin, min_val), cmax = t_max(x->xmax, max_val);
  double d = rt(x, cmax - cmin), ds_f = 0, start_f = 0;
  /* _adjust_min_max with hist_bin_width = (max - min) / (bins * upsample_rate) */
  double hbw = R32(R32(max_val - min_val) / (float)(bins * up));
  double bhw = R32((float)bins * hbw);
  QG_TRY(py_int(ceil(rt(x, d / bhw)), &ds_f));
  double e = rt(x, R32((float)ds_f * bhw) - d);
  QG_TRY(py_int(nearbyint(rt(x, rt(x, min_val - cmin) / hbw)), &start_f));
  if (ds_f < 1 || ds_f * (double)bins > 4e9)
    return qg_set_error(QG_STATUS_UNSUPPORTED,
                        "HistogramObserver: a combined histogram of %.0f x %lld fine bins (new range %g .. %g, old %g .. %g) "
                        "is out of range",
                        ds_f, (long long)bins, cmin, cmax, min_val, max_val);
  cmax = rt(x, cmax + e);
  QG_TRY(py_int(cmin, &lo));
  QG_TRY(py_int(cmax, &hi));
  QG_TRY(histc(x, bins, lo, hi, counts));
  for (int64_t i = 0; i < bins; i++) hist_t[i] = (double)counts[i];
  if (cmin == min_val && cmax == max_val) {
    for (int64_t i = 0; i < bins; i++) hist_t[i] = rt(x, hist_t[i] + (double)s->hist[i]);
  } else {
    QG_TRY(combine_legacy(s, x, up, (int64_t)ds_f, (int64_t)start_f, hist_t));
  }
  for (int64_t i = 0; i < bins; i++) s->hist[i] = (float)hist_t[i];
  *s->min_val = (float)cmin;
  *s->max_val = (float)cmax;
  return QG_OK;
}

static qg_status forward_24_finite(const qg__obs *o, state *s, hin *x, double *hist_t, int64_t *counts) {
  const int64_t bins = s->bins, up = o->spec.upsample_rate;
  const double min_val = *s->min_val, max_val = *s->max_val;
  const double r = R32(max_val - min_val); /* self.max_val - self.min_val, float32 */
  if ((min_val == INFINITY && max_val == -INFINITY) || min_val == max_val || (float)r < (float)1e-6)
    return reset_legacy(s, x, x->xmin, x->xmax, counts);
  double cmin = t_min(x->xmin, min_val), cmax = t_max(x->xmax, max_val);
  double d = rt(x, cmax - cmin), ds_f = 0, start_f = 0;
  QG_TRY(py_int(ceil(rt(x, rt(x, d / r) * (double)up)), &ds_f));
  double e = rt(x, R32(R32(ds_f / (double)up) * r) - d); /* Python float * float32 tensor: float32 */
  QG_TRY(py_int(nearbyint(rt(x, rt(x, rt(x, rt(x, min_val - cmin) / r) * (double)bins) * (double)up)), &start_f));
  cmax = rt(x, cmax + e);
  QG_TRY(histc(x, bins, cmin, cmax, counts));
  if (cmin == min_val && cmax == max_val) return QG_OK; /* `combined_histogram += self.histogram` only */
  if ((double)bins * ds_f * 4 > 1e9) return reset_legacy(s, x, x->xmin, x->xmax, counts);
  for (int64_t i = 0; i < bins; i++) hist_t[i] = (double)counts[i];
  QG_TRY(combine_legacy(s, x, up, (int64_t)ds_f, (int64_t)start_f, hist_t));
  for (int64_t i = 0; i < bins; i++) s->hist[i] = (float)hist_t[i];
  *s->min_val = (float)cmin;
  *s->max_val = (float)cmax;
  return QG_OK;
}

/* torch 2.4's forward (checked against torch 2.4.1): infinities dropped; reset also when the
 * range is narrower than 1e-6; the division-free _adjust_min_max; when the combined range is
 * the old one, the new counts are added to a temporary only, so the state does not change
 * (PyTorch's code as it is); a combined histogram over 1 GB falls back to a reset. */
static qg_status forward_24(const qg__obs *o, state *s, hin *x, double *hist_t, int64_t *counts) {
  void *filtered = NULL;
  QG_TRY(drop_infinities(x, &filtered));
  qg_status st = x->n == 0 ? QG_OK : forward_24_finite(o, s, x, hist_t, counts);
  qg__free(filtered);
  return st;
}

/* ---- entry point -------------------------------------------------------------------------- */

qg_status qg__obs_histogram_forward(const qg__obs *o, const qg_tensor *x) {
  if (x->dtype != QG_DTYPE_F32 && x->dtype != QG_DTYPE_F64)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "HistogramObserver: input dtype %s is not supported (float32, float64)",
                        qg_dtype_info(x->dtype)->name);
  int64_t nh = 0, n0 = 0, n1 = 0;
  float *hist = qg__obs_buffer(o, o->s_hist, &nh, NULL);
  float *mn = qg__obs_buffer(o, o->s_min, &n0, NULL), *mx = qg__obs_buffer(o, o->s_max, &n1, NULL);
  if (!hist || !mn || !mx || n0 != 1 || n1 != 1)
    return qg_set_error(QG_STATUS_TYPE, "HistogramObserver: histogram, min_val and max_val must be float32 tensors "
                                        "(min_val and max_val of one element)");
  if (nh != o->spec.bins)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "HistogramObserver: histogram has %lld bins, bins is %lld",
                        (long long)nh, (long long)o->spec.bins);
  qg_tensor *xc;
  QG_TRY(qg__obs_float_input("HistogramObserver", x, 1, &xc));
  hin in = {qg_tensor_data(xc), qg_tensor_numel(xc), xc->dtype == QG_DTYPE_F64, 0, 0};
  scan(&in);
  /* work on a copy of the state so that a failure leaves the buffers as PyTorch leaves them
   * (only the writes PyTorch makes before failing are kept) */
  int64_t bins = o->spec.bins;
  float *work = qg__malloc((size_t)(bins + 2) * sizeof *work);
  double *hist_t = qg__malloc((size_t)bins * sizeof *hist_t);
  int64_t *counts = qg__malloc((size_t)(bins + 1) * 2 * sizeof *counts);
  qg_status st = work && hist_t && counts ? QG_OK : qg_oom("HistogramObserver.forward");
  if (st == QG_OK) {
    memcpy(work, hist, (size_t)bins * sizeof *work);
    work[bins] = *mn;
    work[bins + 1] = *mx;
    state s = {work, bins, &work[bins], &work[bins + 1]};
    switch (o->spec.histogram_variant) {
      case QG_HISTOGRAM_LEGACY_113: st = forward_113(o, &s, &in, hist_t, counts); break;
      case QG_HISTOGRAM_LEGACY: st = forward_24(o, &s, &in, hist_t, counts); break;
      default: st = forward_current(o, &s, &in, hist_t, counts); break;
    }
    /* min/max are kept even on failure (PyTorch copies them before histc raises) */
    *mn = work[bins];
    *mx = work[bins + 1];
    if (st == QG_OK) memcpy(hist, work, (size_t)bins * sizeof *work);
  }
  qg__free(work);
  qg__free(hist_t);
  qg__free(counts);
  qg_tensor_release(xc);
  return st;
}
