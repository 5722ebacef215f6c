/* forward / calculate_qparams / reset_min_max_vals of every observer kind, the state buffer
 * helpers they share, and the native method wrappers listed in observer_classes.c. */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "quant/observer_impl.h"
#include "runtime/native.h"
#include "tensor/tensor_ops.h"

float *qg__obs_buffer(const qg__obs *o, long slot, int64_t *numel, int *ndim) {
  const qg_ival_object *obj = o->self->u.obj;
  if (slot < 0 || (size_t)slot >= obj->nslots) return NULL;
  const qg_ival *v = &obj->slots[slot];
  if (v->kind != QG_IVAL_TENSOR || v->u.tensor->dtype != QG_DTYPE_F32 || !qg_tensor_is_contiguous(v->u.tensor))
    return NULL;
  *numel = qg_tensor_numel(v->u.tensor);
  if (ndim) *ndim = v->u.tensor->ndim;
  static float empty;
  float *p = qg_tensor_data(v->u.tensor);
  return p ? p : &empty;
}

static qg_status buffer_error(const qg__obs *o, long slot) {
  const qg_type_t *cls = o->self->u.obj->type;
  return qg_set_error(QG_STATUS_TYPE, "%s.%s must be a contiguous float32 tensor", cls->qualname,
                      slot >= 0 ? cls->slots[slot].name : "?");
}

qg_status qg__obs_store(const qg__obs *o, long slot, const float *v, int64_t n, int ndim) {
  int64_t have = 0;
  int hdim = -1;
  float *p = qg__obs_buffer(o, slot, &have, &hdim);
  if (p && hdim == ndim && have == n) {
    if (n) memmove(p, v, (size_t)n * sizeof *v);
    return QG_OK;
  }
  int64_t shape[1] = {n};
  qg_tensor *t;
  QG_TRY(qg_tensor_from_data(QG_DTYPE_F32, ndim, shape, v, &t));
  return qg_ival_object_put(o->self, o->self->u.obj->type->slots[slot].name, qg_ival_tensor(t));
}

qg_status qg__obs_float_input(const char *who, const qg_tensor *x, int keep_f64, qg_tensor **out) {
  *out = NULL;
  if (qg_dtype_info(x->dtype)->is_quantized)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: quantized input (%s) cannot be observed", who,
                        qg_dtype_info(x->dtype)->name);
  if (x->dtype == QG_DTYPE_F32 || (keep_f64 && x->dtype == QG_DTYPE_F64))
    return qg_tensor_contiguous((qg_tensor *)x, out);
  return qg_tensor_to_dtype(x, QG_DTYPE_F32, out);
}

/* ---- forward ------------------------------------------------------------------------------ */

qg_status qg_observer_observe(qg_ival *obs, const qg_tensor *x) {
  qg__obs o;
  QG_TRY(qg__obs_read(obs, &o));
  switch (o.spec.kind) {
  case QG_OBSERVER_PLACEHOLDER:
  case QG_OBSERVER_NOOP:
    return QG_OK; /* identity */
  case QG_OBSERVER_HISTOGRAM:
    return qg_tensor_numel(x) == 0 ? QG_OK : qg__obs_histogram_forward(&o, x);
  default:
    return qg_tensor_numel(x) == 0 ? QG_OK : qg__obs_minmax_forward(&o, x);
  }
}

/* ---- calculate_qparams -------------------------------------------------------------------- */

static qg_status qparams_tensors(const qg__obs *o, const float *mn, const float *mx, int64_t n, qg_tensor **scale,
                                 qg_tensor **zero_point) {
  qg_qparams_args a;
  qg__obs_qparams_args(o, &a);
  int64_t m = n ? n : 1;
  float *s = qg__calloc((size_t)m, sizeof *s), *zf = qg__calloc((size_t)m, sizeof *zf);
  int64_t *zi = qg__calloc((size_t)m, sizeof *zi);
  qg_status st = s && zf && zi ? QG_OK : qg_oom("calculate_qparams");
  int warned = 0;
  if (st == QG_OK) st = qg_calculate_qparams(&a, mn, mx, (size_t)n, s, zi, zf, &warned);
  /* the default ([1.0], [0]) is `torch.tensor([0])`: int64 whatever the scheme */
  qg_dtype zdt = warned ? QG_DTYPE_I64 : qg_qparams_zero_point_dtype(a.qscheme);
  int64_t shape[1] = {warned ? 1 : m};
  if (st == QG_OK) st = qg_tensor_from_data(QG_DTYPE_F32, 1, shape, s, scale);
  if (st == QG_OK) st = qg_tensor_create(zdt, 1, shape, zero_point);
  if (st == QG_OK)
    for (int64_t i = 0; i < shape[0]; i++) qg_tensor_set_flat(*zero_point, i, zdt == QG_DTYPE_F32 ? zf[i] : (double)zi[i]);
  if (st != QG_OK) {
    qg_tensor_release(*scale);
    *scale = NULL;
  }
  qg__free(s);
  qg__free(zf);
  qg__free(zi);
  return st;
}

qg_status qg_observer_calculate_qparams(const qg_ival *obs, qg_tensor **scale, qg_tensor **zero_point) {
  *scale = *zero_point = NULL;
  qg__obs o;
  QG_TRY(qg__obs_read((qg_ival *)obs, &o));
  if (o.spec.kind == QG_OBSERVER_PLACEHOLDER || o.spec.kind == QG_OBSERVER_NOOP)
    return qg_set_error(QG_STATUS_RUNTIME, "calculate_qparams should not be called for %s",
                        qg_observer_kind_name(o.spec.kind));
  int64_t nmin = 0, nmax = 0;
  float *mn = qg__obs_buffer(&o, o.s_min, &nmin, NULL), *mx = qg__obs_buffer(&o, o.s_max, &nmax, NULL);
  if (!mn) return buffer_error(&o, o.s_min);
  if (!mx) return buffer_error(&o, o.s_max);
  if (o.spec.kind != QG_OBSERVER_HISTOGRAM) {
    if (nmin != nmax && nmin && nmax)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "min_val has %lld elements but max_val has %lld",
                          (long long)nmin, (long long)nmax);
    return qparams_tensors(&o, mn, mx, nmin && nmax ? nmin : 0, scale, zero_point);
  }
  if (nmin != 1 || nmax != 1)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "histogram min/max values must be scalar.");
  if (*mn == INFINITY && *mx == -INFINITY) return qparams_tensors(&o, mn, mx, 0, scale, zero_point);
  int64_t nh = 0;
  if (!qg__obs_buffer(&o, o.s_hist, &nh, NULL)) return buffer_error(&o, o.s_hist);
  if (nh != o.spec.bins)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "The number of bins in histogram should be equal to the number of bins supplied while "
                        "making this observer");
  float new_min, new_max;
  QG_TRY(qg__obs_histogram_search(&o, &new_min, &new_max));
  return qparams_tensors(&o, &new_min, &new_max, 1, scale, zero_point);
}

/* ---- native methods ----------------------------------------------------------------------- */

qg_status qg__obs_native_forward(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  if (nargs != 1 || args[0].kind != QG_IVAL_TENSOR)
    return qg_set_error(QG_STATUS_TYPE, "forward(Tensor x_orig) expects one tensor argument, got %zu argument%s%s%s",
                        nargs, nargs == 1 ? "" : "s", nargs == 1 ? " of type " : "",
                        nargs == 1 ? qg_ival_kind_name(args[0].kind) : "");
  QG_TRY(qg_observer_observe(self, args[0].u.tensor));
  *out = qg_ival_copy(args[0]); /* forward returns x_orig itself */
  return QG_OK;
}

qg_status qg__obs_native_calculate_qparams(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args;
  if (nargs != 0) return qg_set_error(QG_STATUS_TYPE, "calculate_qparams() takes no arguments, got %zu", nargs);
  qg_tensor *s, *z;
  QG_TRY(qg_observer_calculate_qparams(self, &s, &z));
  qg_status st = qg_ival_list_new(QG_IVAL_TUPLE, 2, out);
  if (st != QG_OK) {
    qg_tensor_release(s);
    qg_tensor_release(z);
    return st;
  }
  st = qg_ival_list_push(out, qg_ival_tensor(s));
  if (st == QG_OK) st = qg_ival_list_push(out, qg_ival_tensor(z));
  else qg_tensor_release(z);
  if (st != QG_OK) qg_ival_release(out);
  return st;
}

qg_status qg__obs_native_reset_min_max_vals(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args;
  *out = qg_ival_none();
  if (nargs != 0) return qg_set_error(QG_STATUS_TYPE, "reset_min_max_vals() takes no arguments, got %zu", nargs);
  qg__obs o;
  QG_TRY(qg__obs_read(self, &o));
  return qg__obs_minmax_reset(&o);
}
