/* MinMaxObserver, MovingAverageMinMaxObserver, PerChannelMinMaxObserver and
 * MovingAveragePerChannelMinMaxObserver: forward and reset_min_max_vals (reference §5.4).
 *
 * forward casts the input to the buffers' float32 (`x.to(self.min_val.dtype)`); a float64 input
 * is scanned in float64 and only the extremes are rounded, which gives the same values because
 * rounding is monotonic. The running update is torch.min/torch.max (NaN wins) or the moving
 * average `m + c * (cur - m)` in float32 with c cast to float32, as PyTorch's tensor-scalar
 * arithmetic does. */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "quant/observer_impl.h"
#include "tensor/tensor_ops.h"

/* torch.minimum / torch.maximum of (a, b) on the CPU's scalar path. */
static float t_min(float a, float b) { return (isnan(a) || isnan(b)) ? NAN : (b < a ? b : a); }
static float t_max(float a, float b) { return (isnan(a) || isnan(b)) ? NAN : (a < b ? b : a); }

/* One running update: MinMax kinds take the extremes, moving-average kinds blend. */
static void update(int moving, float c, float cur_min, float cur_max, float *mn, float *mx) {
  if (!moving) {
    *mn = t_min(cur_min, *mn);
    *mx = t_max(cur_max, *mx);
  } else {
    *mn = *mn + c * (cur_min - *mn);
    *mx = *mx + c * (cur_max - *mx);
  }
}

static int is_moving(qg_observer_kind k) {
  return k == QG_OBSERVER_MOVING_AVERAGE_MINMAX || k == QG_OBSERVER_MOVING_AVERAGE_PER_CHANNEL_MINMAX;
}

/* min/max of a whole contiguous f32/f64 tensor as float32 values (NaN if any element is). */
static void tensor_minmax(const qg_tensor *x, int64_t off, int64_t n, float *mn, float *mx) {
  int nan;
  if (x->dtype == QG_DTYPE_F64) {
    double a, b;
    qg__minmax_f64((const double *)qg_tensor_data(x) + off, n, &a, &b, &nan);
    *mn = (float)a;
    *mx = (float)b;
  } else {
    qg__minmax_f32((const float *)qg_tensor_data(x) + off, n, mn, mx, &nan);
  }
  if (nan) *mn = *mx = NAN;
}

static qg_status per_tensor(const qg__obs *o, const qg_tensor *x) {
  int64_t n0 = 0, n1 = 0;
  float *smin = qg__obs_buffer(o, o->s_min, &n0, NULL), *smax = qg__obs_buffer(o, o->s_max, &n1, NULL);
  if (!smin || !smax || n0 != 1 || n1 != 1)
    return qg_set_error(QG_STATUS_TYPE, "%s: min_val and max_val must be one-element float32 tensors",
                        qg_observer_kind_name(o->spec.kind));
  float cur_min, cur_max, mn = *smin, mx = *smax;
  tensor_minmax(x, 0, qg_tensor_numel(x), &cur_min, &cur_max);
  if (is_moving(o->spec.kind) && mn == INFINITY && mx == -INFINITY) {
    mn = cur_min; /* the first batch sets the average */
    mx = cur_max;
  } else {
    update(is_moving(o->spec.kind), (float)o->spec.averaging_constant, cur_min, cur_max, &mn, &mx);
  }
  *smin = mn;
  *smax = mx;
  return QG_OK;
}

/* Per-channel extremes of x along dim c into cmin/cmax[C]. */
static qg_status channel_minmax(const qg_tensor *x, int c, float *cmin, float *cmax) {
  int64_t outer = 1, inner = 1, C = x->shape[c];
  for (int d = 0; d < c; d++) outer *= x->shape[d];
  for (int d = c + 1; d < x->ndim; d++) inner *= x->shape[d];
  uint32_t *nan = qg__calloc((size_t)C, sizeof *nan);
  if (!nan) return qg_oom("per-channel observer");
  for (int64_t k = 0; k < C; k++) {
    cmin[k] = INFINITY;
    cmax[k] = -INFINITY;
  }
  if (inner == 1 && x->dtype == QG_DTYPE_F32) {
    /* [outer, C]: tiles of about 16 KB, so that each column strip is read from L1 */
    int64_t tile = C >= 4096 ? 1 : 4096 / C;
    for (int64_t i = 0; i < outer; i += tile)
      qg__minmax_rows_f32((const float *)qg_tensor_data(x) + i * C, outer - i < tile ? outer - i : tile, C, cmin,
                          cmax, nan);
  } else {
    for (int64_t i = 0; i < outer; i++)
      for (int64_t k = 0; k < C; k++) {
        float a, b;
        tensor_minmax(x, (i * C + k) * inner, inner, &a, &b);
        if (isnan(a)) {
          nan[k] = 1;
          continue;
        }
        cmin[k] = a < cmin[k] ? a : cmin[k];
        cmax[k] = b > cmax[k] ? b : cmax[k];
      }
  }
  for (int64_t k = 0; k < C; k++)
    if (nan[k]) cmin[k] = cmax[k] = NAN;
  qg__free(nan);
  return QG_OK;
}

static qg_status per_channel(const qg__obs *o, const qg_tensor *x) {
  int64_t axis = o->spec.ch_axis, nd = x->ndim;
  /* new_axis_list[ch_axis] = 0; new_axis_list[0] = ch_axis (Python list indexing) */
  if (nd == 0 || axis < -nd || axis >= nd)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: ch_axis %lld does not index a %lld-dimensional input (list assignment index out of range)",
                        qg_observer_kind_name(o->spec.kind), (long long)axis, (long long)nd);
  if (nd == 1) /* torch.flatten(y, start_dim=1) */
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
  int c = (int)(axis < 0 ? axis + nd : axis);
  int64_t C = x->shape[c], n0 = 0, n1 = 0;
  float *smin = qg__obs_buffer(o, o->s_min, &n0, NULL), *smax = qg__obs_buffer(o, o->s_max, &n1, NULL);
  if (!smin || !smax)
    return qg_set_error(QG_STATUS_TYPE, "%s: min_val and max_val must be float32 tensors",
                        qg_observer_kind_name(o->spec.kind));
  int first = n0 == 0 || n1 == 0;
  int64_t n = C;
  if (!first) {
    /* torch.min(cur, state) / cur - state broadcast [C] against [n0] */
    if (n0 != n1)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: min_val has %lld elements but max_val has %lld",
                          qg_observer_kind_name(o->spec.kind), (long long)n0, (long long)n1);
    if (C != n0 && C != 1 && n0 != 1)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "The size of tensor a (%lld) must match the size of tensor b (%lld) at non-singleton dimension 0",
                          (long long)C, (long long)n0);
    n = C > n0 ? C : n0;
  }
  float *cur = qg__calloc((size_t)(2 * C + 2 * n), sizeof *cur);
  if (!cur) return qg_oom("per-channel observer");
  float *cmin = cur, *cmax = cur + C, *mn = cur + 2 * C, *mx = mn + n;
  qg_status st = channel_minmax(x, c, cmin, cmax);
  if (st == QG_OK) {
    float ac = (float)o->spec.averaging_constant;
    for (int64_t i = 0; i < n; i++) {
      float a = cmin[C == 1 ? 0 : i], b = cmax[C == 1 ? 0 : i];
      if (first) {
        mn[i] = a;
        mx[i] = b;
        continue;
      }
      mn[i] = smin[n0 == 1 ? 0 : i];
      mx[i] = smax[n0 == 1 ? 0 : i];
      update(is_moving(o->spec.kind), ac, a, b, &mn[i], &mx[i]);
    }
    st = qg__obs_store(o, o->s_min, mn, n, 1);
    if (st == QG_OK) st = qg__obs_store(o, o->s_max, mx, n, 1);
  }
  qg__free(cur);
  return st;
}

qg_status qg__obs_minmax_forward(const qg__obs *o, const qg_tensor *x) {
  qg_tensor *xc;
  QG_TRY(qg__obs_float_input(qg_observer_kind_name(o->spec.kind), x, 1, &xc));
  int pc = o->spec.kind == QG_OBSERVER_PER_CHANNEL_MINMAX || o->spec.kind == QG_OBSERVER_MOVING_AVERAGE_PER_CHANNEL_MINMAX;
  qg_status st = pc ? per_channel(o, xc) : per_tensor(o, xc);
  qg_tensor_release(xc);
  return st;
}

qg_status qg__obs_minmax_reset(const qg__obs *o) {
  switch (o->spec.kind) {
  case QG_OBSERVER_MINMAX:
  case QG_OBSERVER_MOVING_AVERAGE_MINMAX: {
    float inf = INFINITY, ninf = -INFINITY;
    QG_TRY(qg__obs_store(o, o->s_min, &inf, 1, 0));
    return qg__obs_store(o, o->s_max, &ninf, 1, 0);
  }
  case QG_OBSERVER_PER_CHANNEL_MINMAX:
  case QG_OBSERVER_MOVING_AVERAGE_PER_CHANNEL_MINMAX:
    QG_TRY(qg__obs_store(o, o->s_min, NULL, 0, 1));
    return qg__obs_store(o, o->s_max, NULL, 0, 1);
  default:
    return qg_set_error(QG_STATUS_UNSUPPORTED, "Cannot reset min/max values in the given observer.");
  }
}
