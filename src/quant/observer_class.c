/* Observer classes: names, constructor arguments (defaults and PyTorch's checks), the class
 * types with PyTorch's slot names, new objects in their initial state, and reading the
 * arguments back from an object.
 *
 * Slots follow torch 1.13's scripted observers (what `torch.jit.script(MinMaxObserver())`
 * declares), in its order; `_is_full_backward_hook` is left out. quantgraph-only slots, read
 * with defaults when absent (so observers exported from PyTorch work too):
 *   nan_check_113 : bool      (uniform observers) calculate_qparams rejects NaN min/max as
 *                             torch <= 2.4 does (checked against 1.13 and 2.4.1); False = later
 *                             torch 2.x, which returns NaN scales
 *   histogram_variant : int   (HistogramObserver) qg_histogram_variant: 0 current rule,
 *                             1 torch <= 2.4, 2 torch 1.13 exactly
 *   compute_dtype : int?, is_dynamic : bool, quant_min : int?, quant_max : int?
 *                             (PlaceholderObserver) 1.13 sets compute_dtype only when given,
 *                             2.x has is_dynamic and the optional range; one class holds all. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "quant/observer_impl.h"
#include "runtime/native.h"
#include "tensor/tensor_ops.h"

#define QG__OBS_PREFIX "__torch__.torch.ao.quantization.observer."

static const char *const k_kind_names[QG_OBSERVER_KIND_COUNT] = {
#define QG__OBS_NAME(e, name) name,
    QG_OBSERVER_KIND_LIST(QG__OBS_NAME)
#undef QG__OBS_NAME
};

static const char *const k_qualnames[QG_OBSERVER_KIND_COUNT] = {
#define QG__OBS_QUAL(e, name) QG__OBS_PREFIX name,
    QG_OBSERVER_KIND_LIST(QG__OBS_QUAL)
#undef QG__OBS_QUAL
};

const char *qg_observer_kind_name(qg_observer_kind k) {
  return (unsigned)k < QG_OBSERVER_KIND_COUNT ? k_kind_names[k] : NULL;
}

const char *qg_observer_qualname(qg_observer_kind k) {
  return (unsigned)k < QG_OBSERVER_KIND_COUNT ? k_qualnames[k] : NULL;
}

int qg_observer_kind_of(const qg_type_t *cls) {
  if (!cls || cls->kind != QG_TYPE_CLASS || !cls->qualname) return -1;
  char name[512];
  if (qg_type_demangle(cls->qualname, name, sizeof name) != QG_OK) return -1;
  for (int k = 0; k < QG_OBSERVER_KIND_COUNT; k++)
    if (strcmp(name, k_qualnames[k]) == 0) return k;
  return -1;
}

static int is_uniform(qg_observer_kind k) { return k != QG_OBSERVER_PLACEHOLDER && k != QG_OBSERVER_NOOP; }
static int is_per_channel_kind(qg_observer_kind k) {
  return k == QG_OBSERVER_PER_CHANNEL_MINMAX || k == QG_OBSERVER_MOVING_AVERAGE_PER_CHANNEL_MINMAX;
}
static int is_moving_average(qg_observer_kind k) {
  return k == QG_OBSERVER_MOVING_AVERAGE_MINMAX || k == QG_OBSERVER_MOVING_AVERAGE_PER_CHANNEL_MINMAX;
}

void qg_observer_spec_default(qg_observer_kind kind, qg_observer_spec *out) {
  memset(out, 0, sizeof *out);
  out->kind = kind;
  out->dtype = QG_DTYPE_QUINT8;
  out->qscheme = is_per_channel_kind(kind) ? QG_QS_PER_CHANNEL_AFFINE : QG_QS_PER_TENSOR_AFFINE;
  out->bins = 2048;
  out->upsample_rate = 128;
  out->histogram_variant = QG_HISTOGRAM_CURRENT;
  out->averaging_constant = 0.01;
  out->eps = FLT_EPSILON; /* torch.finfo(torch.float32).eps */
  out->custom_op_name = "";
  if (kind == QG_OBSERVER_PLACEHOLDER) out->dtype = QG_DTYPE_F32;
  if (kind == QG_OBSERVER_NOOP) out->dtype = QG_DTYPE_F16;
}

static int dtype_allowed(qg_dtype d) {
  /* torch 2.x's _ALLOWED_DTYPES that quantgraph has (1.13: the first four). */
  switch (d) {
  case QG_DTYPE_QINT8: case QG_DTYPE_QUINT8: case QG_DTYPE_QUINT4X2: case QG_DTYPE_QINT32:
  case QG_DTYPE_I8: case QG_DTYPE_U8: case QG_DTYPE_I16: case QG_DTYPE_I32:
    return 1;
  default:
    return 0;
  }
}

qg_status qg_observer_spec_check(const qg_observer_spec *s) {
  if ((unsigned)s->kind >= QG_OBSERVER_KIND_COUNT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "observer kind %d is not one of the %d kinds", (int)s->kind,
                        QG_OBSERVER_KIND_COUNT);
  if ((unsigned)s->dtype >= QG_DTYPE_COUNT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: dtype %d is out of range", k_kind_names[s->kind], (int)s->dtype);
  if (!is_uniform(s->kind)) return QG_OK;
  const char *name = k_kind_names[s->kind];
  int pc = qg_qscheme_is_per_channel(s->qscheme);
  if ((unsigned)s->qscheme > QG_QS_PER_CHANNEL_AFFINE_FLOAT_QPARAMS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Default Observer only works for per_tensor_affine, per_tensor_symmetric, per_channel_affine, "
                        "per_channel_symmetric and per_channel_float_qparams quantization scheme");
  if (is_per_channel_kind(s->kind) && !pc)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s's qscheme only support torch.per_channel_symmetric, torch.per_channel_affine and "
                        "torch.per_channel_affine_float_qparams.",
                        name);
  if (!is_per_channel_kind(s->kind) && pc)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s's qscheme only support torch.per_tensor_symmetric and torch.per_tensor_affine.", name);
  if (!dtype_allowed(s->dtype))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Default Observer only works for qint8, quint8 and quint4x2 data type (got %s)",
                        qg_dtype_info(s->dtype)->name);
  int64_t qmin, qmax;
  if (!(s->has_quant_range && s->quant_range_is_final))
    QG_TRY(qg_qrange(s->dtype, s->has_quant_range, s->quant_min, s->quant_max, s->reduce_range, &qmin, &qmax));
  if (s->kind != QG_OBSERVER_HISTOGRAM && qg_qscheme_is_symmetric(s->qscheme) && s->reduce_range &&
      s->dtype == QG_DTYPE_QUINT8)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Cannot reduce range for symmetric quantization for quint8");
  if (s->kind == QG_OBSERVER_HISTOGRAM) {
    if (s->bins < 1)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "HistogramObserver: bins must be > 0, got %lld",
                          (long long)s->bins);
    if ((unsigned)s->histogram_variant > QG_HISTOGRAM_LEGACY_113)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "HistogramObserver: unknown histogram variant %d",
                          (int)s->histogram_variant);
    if (s->histogram_variant != QG_HISTOGRAM_CURRENT && s->upsample_rate < 1)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "HistogramObserver: upsample_rate must be > 0, got %lld",
                          (long long)s->upsample_rate);
  }
  return QG_OK;
}

/* ---- slots -------------------------------------------------------------------------------- */

typedef enum slot_type { T_TENSOR, T_BOOL, T_INT, T_FLOAT, T_STR, T_OPT_INT } slot_type;

typedef struct slot_decl {
  const char *name;
  slot_type type;
  qg_slot_kind kind;
} slot_decl;

#define BUF(n) {n, T_TENSOR, QG_SLOT_BUFFER}
#define ATTR(n, t) {n, t, QG_SLOT_ATTRIBUTE}
#define UNIFORM_ATTRS                                                                           \
  ATTR("training", T_BOOL), ATTR("dtype", T_INT), ATTR("qscheme", T_INT), ATTR("reduce_range", T_BOOL), \
      ATTR("has_customized_qrange", T_BOOL), ATTR("quant_min", T_INT), ATTR("quant_max", T_INT)

static const slot_decl k_minmax[] = {BUF("eps"), BUF("min_val"), BUF("max_val"), UNIFORM_ATTRS,
                                     ATTR("nan_check_113", T_BOOL)};
static const slot_decl k_ma_minmax[] = {BUF("eps"), BUF("min_val"), BUF("max_val"), ATTR("averaging_constant", T_FLOAT),
                                        UNIFORM_ATTRS, ATTR("nan_check_113", T_BOOL)};
static const slot_decl k_pc_minmax[] = {BUF("eps"), BUF("min_val"), BUF("max_val"), UNIFORM_ATTRS,
                                        ATTR("ch_axis", T_INT), ATTR("nan_check_113", T_BOOL)};
static const slot_decl k_ma_pc_minmax[] = {BUF("eps"), BUF("min_val"), BUF("max_val"), UNIFORM_ATTRS, ATTR("ch_axis", T_INT),
                                           ATTR("averaging_constant", T_FLOAT), ATTR("nan_check_113", T_BOOL)};
static const slot_decl k_histogram[] = {BUF("eps"), BUF("histogram"), BUF("min_val"), BUF("max_val"), UNIFORM_ATTRS,
                                        ATTR("bins", T_INT), ATTR("dst_nbins", T_INT), ATTR("upsample_rate", T_INT),
                                        ATTR("nan_check_113", T_BOOL), ATTR("histogram_variant", T_INT)};
static const slot_decl k_placeholder[] = {ATTR("training", T_BOOL), ATTR("dtype", T_INT), ATTR("custom_op", T_STR),
                                          ATTR("compute_dtype", T_OPT_INT), ATTR("is_dynamic", T_BOOL),
                                          ATTR("quant_min", T_OPT_INT), ATTR("quant_max", T_OPT_INT)};
static const slot_decl k_noop[] = {ATTR("training", T_BOOL), ATTR("dtype", T_INT), ATTR("custom_op", T_STR)};

static const slot_decl *slots_of(qg_observer_kind k, size_t *n) {
#define RET(arr) do { *n = sizeof arr / sizeof arr[0]; return arr; } while (0)
  switch (k) {
  case QG_OBSERVER_MINMAX: RET(k_minmax);
  case QG_OBSERVER_MOVING_AVERAGE_MINMAX: RET(k_ma_minmax);
  case QG_OBSERVER_PER_CHANNEL_MINMAX: RET(k_pc_minmax);
  case QG_OBSERVER_MOVING_AVERAGE_PER_CHANNEL_MINMAX: RET(k_ma_pc_minmax);
  case QG_OBSERVER_HISTOGRAM: RET(k_histogram);
  case QG_OBSERVER_PLACEHOLDER: RET(k_placeholder);
  case QG_OBSERVER_NOOP: RET(k_noop);
  case QG_OBSERVER_KIND_COUNT: break;
  }
#undef RET
  *n = 0;
  return NULL;
}

static qg_status slot_type_of(qg_cu_t *cu, slot_type t, const qg_type_t **out) {
  switch (t) {
  case T_TENSOR: *out = qg_type_prim(QG_TYPE_TENSOR); return QG_OK;
  case T_BOOL: *out = qg_type_prim(QG_TYPE_BOOL); return QG_OK;
  case T_INT: *out = qg_type_prim(QG_TYPE_INT); return QG_OK;
  case T_FLOAT: *out = qg_type_prim(QG_TYPE_FLOAT); return QG_OK;
  case T_STR: *out = qg_type_prim(QG_TYPE_STR); return QG_OK;
  case T_OPT_INT: return qg_type_optional(cu, qg_type_prim(QG_TYPE_INT), out);
  }
  return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "bad observer slot type");
}

qg_status qg_observer_class(qg_cu_t *cu, qg_observer_kind kind, const qg_type_t **out) {
  if ((unsigned)kind >= QG_OBSERVER_KIND_COUNT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "observer kind %d is out of range", (int)kind);
  const char *qualname = k_qualnames[kind];
  qg_type_t *cls = qg_cu_find(cu, qualname);
  if (cls && !(cls->kind == QG_TYPE_CLASS && cls->is_opaque)) {
    if (cls->kind != QG_TYPE_CLASS)
      return qg_set_error(QG_STATUS_TYPE, "%s names a %s, not an observer class", qualname, cls->str);
    *out = cls;
    return QG_OK;
  }
  QG_TRY(qg_cu_define_class(cu, qualname, 1, &cls));
  size_t n;
  const slot_decl *decl = slots_of(kind, &n);
  for (size_t i = 0; i < n; i++) {
    const qg_type_t *t;
    QG_TRY(slot_type_of(cu, decl[i].type, &t));
    QG_TRY(qg_class_add_slot(cls, decl[i].name, t, decl[i].kind));
  }
  QG_TRY(qg_native_declare_methods(cls, qualname));
  *out = cls;
  return QG_OK;
}

/* ---- new objects ------------------------------------------------------------------------- */

static qg_status put_tensor_fill(qg_ival *obj, const char *slot, int ndim, int64_t n, float v) {
  int64_t shape[1] = {n};
  qg_tensor *t;
  QG_TRY(qg_tensor_create(QG_DTYPE_F32, ndim, shape, &t));
  float *p = qg_tensor_data(t);
  for (int64_t i = 0; p && i < (ndim ? n : 1); i++) p[i] = v;
  return qg_ival_object_put(obj, slot, qg_ival_tensor(t));
}

static int torch_dtype(qg_dtype d) { return qg_dtype_info(d)->torch_scalar_type; }

/* A quantgraph-only slot: skipped when obj's class (an observer class that came from PyTorch)
 * does not have it. */
static qg_status put_opt(qg_ival *obj, const char *slot, qg_ival v) {
  if (qg_class_find_slot(obj->u.obj->type, slot) < 0) {
    qg_ival_release(&v);
    return QG_OK;
  }
  return qg_ival_object_put(obj, slot, v);
}

static qg_status init_uniform(qg_ival *obj, const qg_observer_spec *s) {
  int64_t qmin = s->quant_min, qmax = s->quant_max;
  if (!(s->has_quant_range && s->quant_range_is_final))
    QG_TRY(qg_qrange(s->dtype, s->has_quant_range, s->quant_min, s->quant_max, s->reduce_range, &qmin, &qmax));
  QG_TRY(put_tensor_fill(obj, "eps", 1, 1, s->eps));
  int pc = is_per_channel_kind(s->kind);
  QG_TRY(put_tensor_fill(obj, "min_val", pc ? 1 : 0, 0, INFINITY));
  QG_TRY(put_tensor_fill(obj, "max_val", pc ? 1 : 0, 0, -INFINITY));
  QG_TRY(qg_ival_object_put(obj, "dtype", qg_ival_int(torch_dtype(s->dtype))));
  QG_TRY(qg_ival_object_put(obj, "qscheme", qg_ival_int(s->qscheme)));
  QG_TRY(qg_ival_object_put(obj, "reduce_range", qg_ival_bool(s->reduce_range)));
  QG_TRY(qg_ival_object_put(obj, "has_customized_qrange", qg_ival_bool(s->has_quant_range)));
  QG_TRY(qg_ival_object_put(obj, "quant_min", qg_ival_int(qmin)));
  QG_TRY(qg_ival_object_put(obj, "quant_max", qg_ival_int(qmax)));
  QG_TRY(put_opt(obj, "nan_check_113", qg_ival_bool(s->nan_check_113)));
  if (pc) QG_TRY(qg_ival_object_put(obj, "ch_axis", qg_ival_int(s->ch_axis)));
  if (is_moving_average(s->kind))
    QG_TRY(qg_ival_object_put(obj, "averaging_constant", qg_ival_double(s->averaging_constant)));
  if (s->kind == QG_OBSERVER_HISTOGRAM) {
    QG_TRY(put_tensor_fill(obj, "histogram", 1, s->bins, 0.0f));
    /* dst_nbins = 2 ** torch.iinfo(dtype).bits */
    int bits = (int)qg_dtype_info(s->dtype)->size * 8;
    if (s->dtype == QG_DTYPE_QUINT4X2) bits = 8; /* iinfo(quint4x2) is the byte's */
    QG_TRY(qg_ival_object_put(obj, "bins", qg_ival_int(s->bins)));
    QG_TRY(qg_ival_object_put(obj, "dst_nbins", qg_ival_int((int64_t)1 << bits)));
    /* the current rule fixes upsample_rate at 16 (an attribute set in __init__) */
    int64_t up = s->histogram_variant == QG_HISTOGRAM_CURRENT ? 16 : s->upsample_rate;
    QG_TRY(qg_ival_object_put(obj, "upsample_rate", qg_ival_int(up)));
    QG_TRY(put_opt(obj, "histogram_variant", qg_ival_int(s->histogram_variant)));
  }
  return QG_OK;
}

static qg_status init_placeholder(qg_ival *obj, const qg_observer_spec *s) {
  qg_ival str;
  const char *op = s->custom_op_name ? s->custom_op_name : "";
  QG_TRY(qg_ival_string_new(op, strlen(op), &str));
  QG_TRY(qg_ival_object_put(obj, "custom_op", str));
  if (s->kind == QG_OBSERVER_NOOP) return QG_OK;
  if (s->has_compute_dtype) QG_TRY(put_opt(obj, "compute_dtype", qg_ival_int(torch_dtype(s->compute_dtype))));
  QG_TRY(put_opt(obj, "is_dynamic", qg_ival_bool(s->is_dynamic)));
  if (s->has_quant_range) {
    QG_TRY(put_opt(obj, "quant_min", qg_ival_int(s->quant_min)));
    QG_TRY(put_opt(obj, "quant_max", qg_ival_int(s->quant_max)));
  }
  return QG_OK;
}

qg_status qg_observer_new(qg_cu_t *cu, const qg_observer_spec *spec, qg_ival *out) {
  *out = qg_ival_none();
  QG_TRY(qg_observer_spec_check(spec));
  const qg_type_t *cls;
  QG_TRY(qg_observer_class(cu, spec->kind, &cls));
  qg_ival obj;
  QG_TRY(qg_ival_object_new(cls, &obj));
  qg_status st = qg_ival_object_put(&obj, "training", qg_ival_bool(1));
  if (st == QG_OK) st = qg_ival_object_put(&obj, "dtype", qg_ival_int(torch_dtype(spec->dtype)));
  if (st == QG_OK) st = is_uniform(spec->kind) ? init_uniform(&obj, spec) : init_placeholder(&obj, spec);
  if (st != QG_OK) {
    qg_ival_release(&obj);
    return st;
  }
  *out = obj;
  return QG_OK;
}

/* ---- reading an object back -------------------------------------------------------------- */

static int64_t get_int(const qg_ival *obj, const char *slot, int64_t dflt, int *present) {
  const qg_ival *v = qg_ival_object_get(obj, slot);
  if (present) *present = v && (v->kind == QG_IVAL_INT || v->kind == QG_IVAL_BOOL);
  if (!v) return dflt;
  if (v->kind == QG_IVAL_INT) return v->u.i;
  if (v->kind == QG_IVAL_BOOL) return v->u.b;
  return dflt;
}

static qg_status dtype_slot(const qg_ival *obj, const char *slot, qg_dtype dflt, qg_dtype *out, int *present) {
  int have = 0;
  int64_t st = get_int(obj, slot, -1, &have);
  if (present) *present = have;
  *out = dflt;
  if (!have) return QG_OK;
  if (qg_dtype_from_torch((int)st, out) != 0)
    return qg_set_error(QG_STATUS_TYPE, "observer attribute %s = %lld is not a ScalarType quantgraph knows", slot,
                        (long long)st);
  return QG_OK;
}

qg_status qg_observer_spec_of(const qg_ival *obs, qg_observer_spec *out) {
  if (obs->kind != QG_IVAL_OBJECT)
    return qg_set_error(QG_STATUS_TYPE, "expected an observer object, got %s", qg_ival_kind_name(obs->kind));
  int kind = qg_observer_kind_of(obs->u.obj->type);
  if (kind < 0) return qg_set_error(QG_STATUS_TYPE, "%s is not an observer class", obs->u.obj->type->qualname);
  qg_observer_spec_default((qg_observer_kind)kind, out);
  QG_TRY(dtype_slot(obs, "dtype", out->dtype, &out->dtype, NULL));
  if (!is_uniform((qg_observer_kind)kind)) {
    const qg_ival *op = qg_ival_object_get(obs, "custom_op");
    if (op && op->kind == QG_IVAL_STRING) out->custom_op_name = qg_ival_str(op);
    QG_TRY(dtype_slot(obs, "compute_dtype", out->compute_dtype, &out->compute_dtype, &out->has_compute_dtype));
    out->is_dynamic = (int)get_int(obs, "is_dynamic", 0, NULL);
    int have_min = 0, have_max = 0;
    out->quant_min = get_int(obs, "quant_min", 0, &have_min);
    out->quant_max = get_int(obs, "quant_max", 0, &have_max);
    out->has_quant_range = have_min && have_max;
    return QG_OK;
  }
  out->qscheme = (qg_qscheme_kind)get_int(obs, "qscheme", out->qscheme, NULL);
  out->reduce_range = (int)get_int(obs, "reduce_range", 0, NULL);
  out->has_quant_range = (int)get_int(obs, "has_customized_qrange", 0, NULL);
  out->quant_min = get_int(obs, "quant_min", 0, NULL);
  out->quant_max = get_int(obs, "quant_max", 0, NULL);
  /* the stored range is the effective one: a reduce_range halving already happened */
  out->quant_range_is_final = out->has_quant_range && out->reduce_range;
  out->ch_axis = get_int(obs, "ch_axis", 0, NULL);
  out->bins = get_int(obs, "bins", out->bins, NULL);
  out->upsample_rate = get_int(obs, "upsample_rate", out->upsample_rate, NULL);
  out->histogram_variant = (qg_histogram_variant)get_int(obs, "histogram_variant", QG_HISTOGRAM_CURRENT, NULL);
  out->nan_check_113 = (int)get_int(obs, "nan_check_113", 0, NULL);
  const qg_ival *ac = qg_ival_object_get(obs, "averaging_constant");
  if (ac && ac->kind == QG_IVAL_DOUBLE) out->averaging_constant = ac->u.d;
  const qg_ival *eps = qg_ival_object_get(obs, "eps");
  if (eps && eps->kind == QG_IVAL_TENSOR && qg_tensor_numel(eps->u.tensor) == 1)
    out->eps = (float)qg_tensor_get_flat(eps->u.tensor, 0);
  return QG_OK;
}

qg_status qg__obs_read(qg_ival *obs, qg__obs *o) {
  memset(o, 0, sizeof *o);
  QG_TRY(qg_observer_spec_of(obs, &o->spec));
  o->self = obs;
  o->qmin = o->spec.quant_min;
  o->qmax = o->spec.quant_max;
  const qg_type_t *cls = obs->u.obj->type;
  o->s_min = qg_class_find_slot(cls, "min_val");
  o->s_max = qg_class_find_slot(cls, "max_val");
  o->s_hist = qg_class_find_slot(cls, "histogram");
  if (is_uniform(o->spec.kind) && (o->s_min < 0 || o->s_max < 0))
    return qg_set_error(QG_STATUS_TYPE, "observer class %s has no min_val / max_val buffers", cls->qualname);
  if (o->spec.kind == QG_OBSERVER_HISTOGRAM && o->s_hist < 0)
    return qg_set_error(QG_STATUS_TYPE, "observer class %s has no histogram buffer", cls->qualname);
  return QG_OK;
}

void qg__obs_qparams_args(const qg__obs *o, qg_qparams_args *a) {
  memset(a, 0, sizeof *a);
  a->dtype = o->spec.dtype;
  a->qscheme = o->spec.qscheme;
  a->quant_min = o->qmin;
  a->quant_max = o->qmax;
  a->has_customized_qrange = o->spec.has_quant_range;
  a->eps = o->spec.eps;
  a->nan_check_113 = o->spec.nan_check_113;
}
