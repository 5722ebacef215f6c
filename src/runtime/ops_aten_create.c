/* aten tensor creation, conversion and filling, and tensor -> number conversions
 * -> src/ops/cpu/misc.h and src/tensor/tensor_ops.h.
 *
 * Factory arguments follow PyTorch: dtype None means the default dtype float32 (integer-valued
 * factories such as arange(5) or full([2], 7) infer int64 from their Scalar), layout must be
 * strided, device must be the CPU (pin_memory is ignored). aten::to returns its input itself
 * when nothing changes and copy=False, as PyTorch does. */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/misc.h"
#include "runtime/ops_aten_impl.h"

#define MAXL QG_MAX_DIMS

/* The `dtype?, layout?, device?, pin_memory?` group starting at argument i. */
static qg_status factory_opts(const qg_op_call *c, size_t i, qg_dtype *dt, int *has_dt) {
  QG_TRY(qg__aten_arg_dtype(c, i, dt, has_dt));
  QG_TRY(qg__aten_check_layout(c, i + 1));
  QG_TRY(qg__aten_check_device(c, i + 2));
  return QG_OK;
}

/* The dtype PyTorch infers for a Scalar fill value: bool, int64 or the default float32. */
static qg_dtype scalar_dtype(const qg_ival *v) {
  return v->kind == QG_IVAL_BOOL ? QG_DTYPE_BOOL : v->kind == QG_IVAL_INT ? QG_DTYPE_I64 : QG_DTYPE_F32;
}

/* zeros / ones / empty.memory_format (size, *, dtype?, layout?, device?, pin_memory?[, mf?]) */
static qg_status filled(qg_op_call *c, qg_scalar v) {
  int64_t shape[MAXL];
  size_t n;
  qg_dtype dt = QG_DTYPE_F32;
  int has;
  qg_tensor *y;
  QG_TRY(qg_arg_int_list(c, 0, shape, MAXL, &n));
  QG_TRY(factory_opts(c, 1, &dt, &has));
  QG_TRY(qg_cpu_full((int)n, shape, v, has ? dt : QG_DTYPE_F32, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status zeros(qg_op_call *c) { return filled(c, qg_scalar_int(0)); }
static qg_status ones(qg_op_call *c) { return filled(c, qg_scalar_int(1)); }

/* full(size, Scalar fill_value, *, dtype?, layout?, device?, pin_memory?) */
static qg_status full(qg_op_call *c) {
  int64_t shape[MAXL];
  size_t n;
  qg_scalar v;
  qg_dtype dt;
  int has;
  qg_tensor *y;
  QG_TRY(qg_arg_int_list(c, 0, shape, MAXL, &n));
  QG_TRY(qg__aten_arg_scalar(c, 1, &v));
  QG_TRY(factory_opts(c, 2, &dt, &has));
  QG_TRY(qg_cpu_full((int)n, shape, v, has ? dt : scalar_dtype(&c->args[1]), &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* zeros_like / ones_like(self, *, dtype?, layout?, device?, pin_memory?, memory_format?) */
static qg_status filled_like(qg_op_call *c, qg_scalar v) {
  qg_tensor *x, *y;
  qg_dtype dt;
  int has;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(factory_opts(c, 1, &dt, &has));
  QG_TRY(qg_cpu_full(x->ndim, x->shape, v, has ? dt : x->dtype, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status zeros_like(qg_op_call *c) { return filled_like(c, qg_scalar_int(0)); }
static qg_status ones_like(qg_op_call *c) { return filled_like(c, qg_scalar_int(1)); }

/* scalar_tensor(Scalar s, *, dtype?, layout?, device?, pin_memory?): float32 by default. */
static qg_status scalar_tensor(qg_op_call *c) {
  qg_scalar v;
  qg_dtype dt;
  int has;
  qg_tensor *y;
  QG_TRY(qg__aten_arg_scalar(c, 0, &v));
  QG_TRY(factory_opts(c, 1, &dt, &has));
  QG_TRY(qg_cpu_full(0, NULL, v, has ? dt : QG_DTYPE_F32, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* ---- aten::tensor ------------------------------------------------------------------------ */

/* Shape of a nested list of numbers (descending first elements), checked for raggedness while
 * copying. */
typedef struct nested {
  int ndim;
  int64_t shape[MAXL];
  int has_float, has_int, has_bool;
  int64_t n;
} nested;

static qg_status nested_shape(const qg_ival *v, nested *s) {
  s->ndim = 0;
  while (v->kind == QG_IVAL_LIST || v->kind == QG_IVAL_TUPLE) {
    if (s->ndim == MAXL) return qg_set_error(QG_STATUS_UNSUPPORTED, "aten::tensor: more than %d dims", MAXL);
    s->shape[s->ndim++] = (int64_t)v->u.list->len;
    if (v->u.list->len == 0) break;
    v = &v->u.list->items[0];
  }
  return QG_OK;
}

static qg_status nested_fill(const qg_ival *v, nested *s, int d, qg_tensor *t) {
  if (d == s->ndim) {
    switch (v->kind) {
      case QG_IVAL_INT: s->has_int = 1; qg_tensor_set_flat(t, s->n++, (double)v->u.i); return QG_OK;
      case QG_IVAL_DOUBLE: s->has_float = 1; qg_tensor_set_flat(t, s->n++, v->u.d); return QG_OK;
      case QG_IVAL_BOOL: s->has_bool = 1; qg_tensor_set_flat(t, s->n++, v->u.b); return QG_OK;
      default:
        return qg_set_error(QG_STATUS_TYPE, "aten::tensor: expected a number in the data, got %s",
                            qg_ival_kind_name(v->kind));
    }
  }
  if ((v->kind != QG_IVAL_LIST && v->kind != QG_IVAL_TUPLE) || (int64_t)v->u.list->len != s->shape[d])
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "aten::tensor: expected sequence of length %lld at dim %d (the data is ragged)",
                        (long long)s->shape[d], d);
  for (size_t k = 0; k < v->u.list->len; k++) QG_TRY(nested_fill(&v->u.list->items[k], s, d + 1, t));
  return QG_OK;
}

/* tensor(t[] data, *, dtype?, device?, requires_grad) and tensor.int/.float/.bool(t, ...). The
 * inferred dtype is float32 for floats, int64 for ints, bool for bools (data is written through
 * an f64 staging tensor, exact for every value a TorchScript list can hold except ints beyond
 * 2^53). */
static qg_status tensor_op(qg_op_call *c) {
  qg_dtype dt;
  int has, rg;
  QG_TRY(qg__aten_arg_dtype(c, 1, &dt, &has));
  QG_TRY(qg__aten_check_device(c, 2));
  QG_TRY(qg_arg_bool(c, 3, &rg));
  nested s;
  memset(&s, 0, sizeof s);
  if (c->nargs < 1) return qg_set_error(QG_STATUS_TYPE, "aten::tensor: missing data");
  const qg_ival *data = &c->args[0];
  QG_TRY(nested_shape(data, &s));
  qg_tensor *stage, *y;
  QG_TRY(qg_tensor_create(QG_DTYPE_F64, s.ndim, s.shape, &stage));
  qg_status st = nested_fill(data, &s, 0, stage);
  if (st == QG_OK && data->kind == QG_IVAL_INT && data->u.i != (int64_t)(double)data->u.i) {
    /* an exact int64 scalar: skip the f64 staging */
    qg_tensor_release(stage);
    QG_TRY(qg_tensor_create(QG_DTYPE_I64, 0, NULL, &stage));
    *(int64_t *)qg_tensor_data(stage) = data->u.i;
  }
  if (st != QG_OK) {
    qg_tensor_release(stage);
    return st;
  }
  qg_dtype inferred = s.has_float ? QG_DTYPE_F32 : s.has_int ? QG_DTYPE_I64 : s.has_bool ? QG_DTYPE_BOOL : QG_DTYPE_F32;
  st = qg_tensor_to_dtype(stage, has ? dt : inferred, &y);
  qg_tensor_release(stage);
  QG_TRY(st);
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* arange(end), arange.start(start, end), arange.start_step(start, end, step=1), each followed by
 * (*, dtype?, layout?, device?, pin_memory?). Without a dtype: int64 if every bound is an int,
 * else float32. */
static qg_status arange(qg_op_call *c) {
  size_t nb = strcmp(c->schema->overload, "start_step") == 0 ? 3 : strcmp(c->schema->overload, "start") == 0 ? 2 : 1;
  double v[3] = {0, 0, 1};
  int any_float = 0;
  for (size_t k = 0; k < nb; k++) {
    qg_scalar s;
    QG_TRY(qg__aten_arg_scalar(c, k, &s));
    any_float |= s.is_float;
    v[nb == 1 ? 1 : k] = s.is_float ? s.f : (double)s.i;
  }
  qg_dtype dt;
  int has;
  QG_TRY(factory_opts(c, nb, &dt, &has));
  qg_tensor *y;
  QG_TRY(qg_cpu_arange(v[0], v[1], v[2], has ? dt : any_float ? QG_DTYPE_F32 : QG_DTYPE_I64, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* ---- conversion ------------------------------------------------------------------------- */

/* x itself when dtype is unchanged and no copy is asked for, else a converted copy. */
static qg_status convert(qg_op_call *c, qg_tensor *x, qg_dtype dt, int copy) {
  if (dt == x->dtype && !copy) {
    qg__aten_out_alias(c, 0, x);
    return QG_OK;
  }
  qg_tensor *y;
  QG_TRY(qg_tensor_to_dtype(x, dt, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* Every overload of aten::to (argument positions differ; see each case). */
static qg_status to(qg_op_call *c) {
  const char *ov = c->schema->overload;
  qg_tensor *x, *other;
  qg_dtype dt;
  int has = 0, copy = 0, nb;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  dt = x->dtype;
  if (strcmp(ov, "dtype") == 0) { /* (self, ScalarType dtype, non_blocking, copy, mf?) */
    QG_TRY(qg__aten_arg_dtype(c, 1, &dt, &has));
    QG_TRY(qg_arg_bool(c, 2, &nb));
    QG_TRY(qg_arg_bool(c, 3, &copy));
  } else if (strcmp(ov, "device") == 0) { /* (self, Device device, ScalarType dtype, nb, copy, mf?) */
    QG_TRY(qg__aten_check_device(c, 1));
    QG_TRY(qg__aten_arg_dtype(c, 2, &dt, &has));
    QG_TRY(qg_arg_bool(c, 3, &nb));
    QG_TRY(qg_arg_bool(c, 4, &copy));
  } else if (strcmp(ov, "other") == 0) { /* (self, Tensor other, nb, copy, mf?) */
    QG_TRY(qg_arg_tensor(c, 1, &other));
    dt = other->dtype;
    QG_TRY(qg_arg_bool(c, 2, &nb));
    QG_TRY(qg_arg_bool(c, 3, &copy));
  } else if (strcmp(ov, "dtype_layout") == 0) { /* (self, *, dtype?, layout?, device?, pin?, nb, copy, mf?) */
    QG_TRY(factory_opts(c, 1, &dt, &has));
    if (!has) dt = x->dtype;
    QG_TRY(qg_arg_bool(c, 5, &nb));
    QG_TRY(qg_arg_bool(c, 6, &copy));
  } else if (strcmp(ov, "prim_Device") == 0) { /* (self, Device? device, int? dtype, nb, copy) */
    QG_TRY(qg__aten_check_device(c, 1));
    QG_TRY(qg__aten_arg_dtype(c, 2, &dt, &has));
    if (!has) dt = x->dtype;
    QG_TRY(qg_arg_bool(c, 3, &nb));
    QG_TRY(qg_arg_bool(c, 4, &copy));
  } else if (strcmp(ov, "prim_dtype") == 0) { /* (self, int? dtype, nb, copy) */
    QG_TRY(qg__aten_arg_dtype(c, 1, &dt, &has));
    if (!has) dt = x->dtype;
    QG_TRY(qg_arg_bool(c, 2, &nb));
    QG_TRY(qg_arg_bool(c, 3, &copy));
  } else if (strcmp(ov, "prim_other") == 0) { /* (self, nb, copy) */
    QG_TRY(qg_arg_bool(c, 1, &nb));
    QG_TRY(qg_arg_bool(c, 2, &copy));
  } else {
    return qg_set_error(QG_STATUS_UNSUPPORTED, "aten::to.%s is not supported", ov);
  }
  return convert(c, x, dt, copy);
}

static qg_status type_as(qg_op_call *c) {
  qg_tensor *x, *other;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_tensor(c, 1, &other));
  return convert(c, x, other->dtype, 0);
}

/* detach(self): a new tensor object viewing the same storage (autograd does not exist here). */
static qg_status detach(qg_op_call *c) {
  qg_tensor *x, *y;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_tensor_expand(x, x->ndim, x->shape, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* clone(self, *, memory_format?): a contiguous copy. */
static qg_status clone(qg_op_call *c) {
  qg_tensor *x, *y;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_tensor_to_dtype(x, x->dtype, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* copy_(self, src, non_blocking=False), copy_.Tensor(self, other), copy_.int/.float(self, v) */
static qg_status copy_(qg_op_call *c) {
  qg_tensor *x, *src;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  if (c->nargs > 1 && c->args[1].kind == QG_IVAL_TENSOR) {
    QG_TRY(qg_arg_tensor(c, 1, &src));
    QG_TRY(qg_tensor_copy_(x, src));
  } else {
    qg_scalar v;
    QG_TRY(qg__aten_arg_scalar(c, 1, &v));
    QG_TRY(qg_cpu_fill_(x, v));
  }
  qg__aten_out_alias(c, 0, x);
  return QG_OK;
}

/* fill_.Scalar(self, value), fill_.Tensor(self, 0-dim value) */
static qg_status fill_(qg_op_call *c) {
  qg_tensor *x;
  qg_scalar v;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  if (c->nargs > 1 && c->args[1].kind == QG_IVAL_TENSOR) {
    qg_tensor *vt;
    QG_TRY(qg_arg_tensor(c, 1, &vt));
    if (vt->ndim != 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "fill_ only supports 0-dimension value tensor but got tensor with %d dimensions.", vt->ndim);
    QG_TRY(qg_cpu_tensor_to_scalar(vt, &v));
  } else {
    QG_TRY(qg__aten_arg_scalar(c, 1, &v));
  }
  QG_TRY(qg_cpu_fill_(x, v));
  qg__aten_out_alias(c, 0, x);
  return QG_OK;
}

static qg_status zero_(qg_op_call *c) {
  qg_tensor *x;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_cpu_fill_(x, qg_scalar_int(0)));
  qg__aten_out_alias(c, 0, x);
  return QG_OK;
}

/* ---- tensor -> number ------------------------------------------------------------------- */

static int is_floating(qg_dtype d) {
  return d == QG_DTYPE_F16 || d == QG_DTYPE_BF16 || d == QG_DTYPE_F32 || d == QG_DTYPE_F64;
}

/* Int.Tensor / Float.Tensor / Bool.Tensor(a), item(self), ScalarImplicit / IntImplicit /
 * FloatImplicit(a). The implicit forms (a tensor passed where a number is expected) need a 0-dim
 * tensor, and IntImplicit an integral one, as TorchScript's checkImplicitTensorToNum. */
typedef enum { TO_INT, TO_FLOAT, TO_BOOL, TO_SCALAR } num_kind;
static qg_status to_number(qg_op_call *c, num_kind k, int implicit) {
  qg_tensor *x;
  qg_scalar s;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  if (implicit && x->ndim != 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Cannot input a tensor of dimension other than 0 as a scalar argument");
  if (implicit && k == TO_INT && is_floating(x->dtype))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Cannot input a tensor of type %s as an integral argument",
                        qg_dtype_info(x->dtype)->ir_name);
  QG_TRY(qg_cpu_tensor_to_scalar(x, &s));
  qg_ival v;
  switch (k) {
    case TO_INT:
      if (s.is_float) {
        if (!isfinite(s.f) || fabs(s.f) >= 9.2233720368547758e18)
          return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: value %g cannot be converted to int",
                              qg__aten_op_name(c), s.f);
        v = qg_ival_int((int64_t)s.f); /* truncation toward zero, as int() */
      } else {
        v = qg_ival_int(s.i);
      }
      break;
    case TO_FLOAT: v = qg_ival_double(s.is_float ? s.f : (double)s.i); break;
    case TO_BOOL: v = qg_ival_bool(s.is_float ? s.f != 0.0 : s.i != 0); break;
    default:
      if (x->dtype == QG_DTYPE_BOOL) v = qg_ival_bool(s.i != 0);
      else v = s.is_float ? qg_ival_double(s.f) : qg_ival_int(s.i);
      break;
  }
  qg_out_ival(c, 0, v);
  return QG_OK;
}
static qg_status int_op(qg_op_call *c) { return to_number(c, TO_INT, 0); }
static qg_status float_op(qg_op_call *c) { return to_number(c, TO_FLOAT, 0); }
static qg_status bool_op(qg_op_call *c) { return to_number(c, TO_BOOL, 0); }
static qg_status item(qg_op_call *c) { return to_number(c, TO_SCALAR, 0); }
static qg_status scalar_implicit(qg_op_call *c) { return to_number(c, TO_SCALAR, 1); }
static qg_status int_implicit(qg_op_call *c) { return to_number(c, TO_INT, 1); }
static qg_status float_implicit(qg_op_call *c) { return to_number(c, TO_FLOAT, 1); }

static const qg_op_impl_entry table[] = {
    {"aten::zeros", "", zeros},
    {"aten::ones", "", ones},
    {"aten::empty", "memory_format", zeros},
    {"aten::full", "", full},
    {"aten::zeros_like", "", zeros_like},
    {"aten::ones_like", "", ones_like},
    {"aten::scalar_tensor", "", scalar_tensor},
    {"aten::tensor", "", tensor_op},
    {"aten::tensor", "int", tensor_op},
    {"aten::tensor", "float", tensor_op},
    {"aten::tensor", "bool", tensor_op},
    {"aten::arange", "", arange},
    {"aten::arange", "start", arange},
    {"aten::arange", "start_step", arange},
    {"aten::to", "*", to},
    {"aten::type_as", "", type_as},
    {"aten::detach", "", detach},
    {"aten::clone", "", clone},
    {"aten::copy_", "", copy_},
    {"aten::copy_", "Tensor", copy_},
    {"aten::copy_", "int", copy_},
    {"aten::copy_", "float", copy_},
    {"aten::fill_", "Scalar", fill_},
    {"aten::fill_", "Tensor", fill_},
    {"aten::zero_", "", zero_},
    {"aten::Int", "Tensor", int_op},
    {"aten::Float", "Tensor", float_op},
    {"aten::Bool", "Tensor", bool_op},
    {"aten::item", "", item},
    {"aten::ScalarImplicit", "", scalar_implicit},
    {"aten::IntImplicit", "", int_implicit},
    {"aten::FloatImplicit", "", float_implicit},
};

const qg_op_impl_entry *qg__ops_aten_create_table(size_t *n) {
  *n = sizeof table / sizeof table[0];
  return table;
}
