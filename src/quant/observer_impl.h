/* Internals shared by the observer files (observer_class.c: class, slots and spec;
 * observer_methods.c: forward / calculate_qparams and the native method wrappers;
 * observer_minmax.c: the min/max kinds; observer_histogram.c: HistogramObserver's update;
 * observer_search.c: _non_linear_param_search; observer_kernels.c: the vectorised loops). */
#ifndef QG_QUANT_OBSERVER_IMPL_H
#define QG_QUANT_OBSERVER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "quant/observer.h"

/* An observer object with its constructor arguments read back from its slots and the indices
 * of its state buffers (-1 when the class has no such slot). */
typedef struct qg__obs {
  qg_ival *self;
  qg_observer_spec spec;
  int64_t qmin, qmax; /* the quant_min / quant_max attributes (the effective range) */
  long s_min, s_max, s_hist;
} qg__obs;

/* Reads obs (any observer class, also one exported from PyTorch: quantgraph-only slots that are
 * absent take their defaults). TYPE if obs is not an observer object. */
qg_status qg__obs_read(qg_ival *obs, qg__obs *o) QG_MUST_USE;
/* The qparams arguments of an observer. */
void qg__obs_qparams_args(const qg__obs *o, qg_qparams_args *a);

/* The float32 data of a state buffer (NULL if the slot is not a contiguous f32 tensor) and its
 * element count. */
float *qg__obs_buffer(const qg__obs *o, long slot, int64_t *numel, int *ndim);
/* Stores n floats into slot as a new or reused f32 tensor of shape [n] (ndim 1) or [] (ndim 0).
 * The old tensor is written in place when it already has that shape (so aliases see the update,
 * as PyTorch's copy_ does). */
qg_status qg__obs_store(const qg__obs *o, long slot, const float *v, int64_t n, int ndim) QG_MUST_USE;

/* x as a contiguous tensor of f32 or f64 (kept as is when it already is one, else converted to
 * f32 as `x.to(torch.float)`); *out holds a reference. UNSUPPORTED for quantized tensors. */
qg_status qg__obs_float_input(const char *who, const qg_tensor *x, int keep_f64, qg_tensor **out) QG_MUST_USE;

/* The native methods (observer_methods.c; table in observer_classes.c). */
qg_status qg__obs_native_forward(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out);
qg_status qg__obs_native_calculate_qparams(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out);
qg_status qg__obs_native_reset_min_max_vals(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out);

/* ---- min/max kinds (observer_minmax.c) -------------------------------------------------- */
qg_status qg__obs_minmax_forward(const qg__obs *o, const qg_tensor *x) QG_MUST_USE;
qg_status qg__obs_minmax_reset(const qg__obs *o) QG_MUST_USE;

/* ---- histogram (observer_histogram.c, observer_search.c) -------------------------------- */
qg_status qg__obs_histogram_forward(const qg__obs *o, const qg_tensor *x) QG_MUST_USE;
/* _non_linear_param_search over the observer's histogram: the new (min, max). */
qg_status qg__obs_histogram_search(const qg__obs *o, float *new_min, float *new_max) QG_MUST_USE;
/* _compute_quantization_error(start, end) over the observer's histogram. */
qg_status qg__obs_quantization_error(const qg__obs *o, int64_t start, int64_t end, double *out) QG_MUST_USE;
/* Tests: 1 makes the search use its scalar loop instead of the AVX2 one (same results). */
void qg__obs_search_force_scalar(int on);
/* Lanes of PyTorch's vectorised float sum (Vectorized<float> in SumKernel.cpp) for a variant's
 * torch: 8 on x86-64 for both torch 1.13 (AVX2) and torch 2.15 (measured against torch.sum; 2.15
 * reports AVX-512 but its float sum still runs 8 lanes wide). */
int qg__obs_sum_lanes(qg_histogram_variant v);

/* ---- kernels (observer_kernels.c) ------------------------------------------------------- */
/* min and max of x[0..n) ignoring NaNs; *has_nan = whether any element is NaN. n > 0. */
void qg__minmax_f32(const float *x, int64_t n, float *mn, float *mx, int *has_nan);
void qg__minmax_f64(const double *x, int64_t n, double *mn, double *mx, int *has_nan);
/* Column-wise running min/max over a row-major [rows, nc] block: for c < nc and every row r,
 * mn[c] = min(mn[c], x[r][c]), same for mx, nan[c] = ~0 if any x[r][c] is NaN (NaNs do not enter
 * mn/mx). Keep rows * nc small enough for the block to stay in cache (each column strip is read
 * separately). */
void qg__minmax_rows_f32(const float *x, int64_t rows, int64_t nc, float *mn, float *mx, uint32_t *nan);
/* PyTorch's CPU float32 sum (SumKernel.cpp cascade_sum over a contiguous row) with `lanes`
 * vector lanes (1 = its scalar path). */
float qg__cascade_sum_f32(const float *x, int64_t n, int lanes);
/* torch.histc(x, bins, min, max) counts of contiguous f32 / f64 data (the range already chosen
 * by qg__histc_range) into counts[0..bins) (int64, zeroed here); counts[bins] receives the number
 * of skipped elements, so counts needs bins + 1 entries. */
void qg__histc_f32(const float *x, int64_t n, int64_t bins, float lo, float hi, int64_t *counts);
void qg__histc_f64(const double *x, int64_t n, int64_t bins, double lo, double hi, int64_t *counts);
/* histc's range choice (Histogram.cpp histc_select_outer_bin_edges): min == max takes the data's
 * min/max (dmin/dmax), still equal widens by 1 both ways; then INVALID_ARGUMENT with PyTorch's
 * messages when not finite or not increasing. */
qg_status qg__histc_range(double min, double max, double dmin, double dmax, double *lo, double *hi) QG_MUST_USE;

#endif
