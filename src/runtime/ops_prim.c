/* Structural prim ops (list / tuple / dict construction and unpacking, casts, isinstance,
 * exceptions, futures) and the tensor metadata ops the interpreter needs for control flow
 * (aten::size, dim, prim::dtype, device, NumToTensor). qg__ops_prim_table is the table
 * qg_op_impl_find searches first; it includes the scalar and list tables. */
#include <string.h>

#include "runtime/interp_impl.h"
#include "tensor/tensor_ops.h"

static const qg_type_t *out_type(const qg_op_call *c, size_t i) {
  return c->node && i < c->node->noutputs ? c->node->outputs[i]->type : NULL;
}

static qg_status construct(qg_op_call *c, qg_ival_kind kind) {
  qg_ival r;
  QG_TRY(qg_ival_list_new(kind, c->nargs, &r));
  r.u.list->type = out_type(c, 0);
  for (size_t i = 0; i < c->nargs; i++) {
    qg_status st = qg_ival_list_push(&r, qg_ival_copy(c->args[i]));
    if (st != QG_OK) {
      qg_ival_release(&r);
      return st;
    }
  }
  qg_out_ival(c, 0, r);
  return QG_OK;
}
static qg_status op_list_construct(qg_op_call *c) { return construct(c, QG_IVAL_LIST); }
static qg_status op_tuple_construct(qg_op_call *c) { return construct(c, QG_IVAL_TUPLE); }

static qg_status op_dict_construct(qg_op_call *c) {
  if (c->nargs % 2) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "prim::DictConstruct needs key/value pairs");
  qg_ival d;
  QG_TRY(qg_ival_dict_new(&d));
  d.u.dict->type = out_type(c, 0);
  for (size_t i = 0; i < c->nargs; i += 2) {
    qg_status st = qg_ival_dict_put(&d, qg_ival_copy(c->args[i]), qg_ival_copy(c->args[i + 1]));
    if (st != QG_OK) {
      qg_ival_release(&d);
      return st;
    }
  }
  qg_out_ival(c, 0, d);
  return QG_OK;
}

static qg_status op_unpack(qg_op_call *c) {
  const qg_ival *v = &c->args[0];
  if (v->kind != QG_IVAL_LIST && v->kind != QG_IVAL_TUPLE)
    return qg_set_error(QG_STATUS_TYPE, "cannot unpack a %s", qg_ival_kind_name(v->kind));
  if (v->u.list->len != c->nouts)
    return qg_set_error(QG_STATUS_RUNTIME, "Expected %zu elements in a %s but found %zu", c->nouts,
                        v->kind == QG_IVAL_LIST ? "list" : "tuple", v->u.list->len);
  for (size_t i = 0; i < c->nouts; i++) qg_out_ival(c, i, qg_ival_copy(v->u.list->items[i]));
  return QG_OK;
}

static qg_status op_tuple_index(qg_op_call *c) {
  const qg_ival *v = &c->args[0];
  int64_t idx = 0;
  QG_TRY(qg_arg_int(c, 1, &idx));
  if (v->kind != QG_IVAL_TUPLE && v->kind != QG_IVAL_LIST)
    return qg_set_error(QG_STATUS_TYPE, "prim::TupleIndex on a %s", qg_ival_kind_name(v->kind));
  int64_t n = (int64_t)v->u.list->len;
  if (idx < 0) idx += n;
  if (idx < 0 || idx >= n) return qg_set_error(QG_STATUS_RUNTIME, "tuple index out of range");
  qg_out_ival(c, 0, qg_ival_copy(v->u.list->items[idx]));
  return QG_OK;
}

static qg_status op_identity(qg_op_call *c) {
  for (size_t i = 0; i < c->nouts && i < c->nargs; i++) qg_out_ival(c, i, qg_ival_copy(c->args[i]));
  return QG_OK;
}

static qg_status op_unwrap_optional(qg_op_call *c) {
  if (c->args[0].kind == QG_IVAL_NONE) return qg_set_error(QG_STATUS_RUNTIME, "Unwrapping null optional");
  return op_identity(c);
}

static qg_status op_uninitialized(qg_op_call *c) {
  (void)c; /* outputs are None already */
  return QG_OK;
}

/* prim::isinstance[types=[...]](x): does the value fit one of the types? */
static qg_status op_isinstance(qg_op_call *c) {
  qg_sym_t types = qg_sym_lookup("types");
  const qg_attr *a = types ? qg_node_attr(c->node, types) : NULL;
  int r = 0;
  if (a && a->kind == QG_ATTR_TYPES) {
    for (size_t i = 0; i < a->n && !r; i++) r = qg_ival_fits_type(&c->args[0], a->tys[i]);
  } else if (a && a->kind == QG_ATTR_TYPE) {
    r = qg_ival_fits_type(&c->args[0], a->ty);
  } else {
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "prim::isinstance without a `types` attribute");
  }
  qg_out_ival(c, 0, qg_ival_bool(r));
  return QG_OK;
}

/* prim::RaiseException(str msg, str? cls): the message with Python's exception class name. */
static qg_status op_raise(qg_op_call *c) {
  const char *msg = c->nargs > 0 && c->args[0].kind == QG_IVAL_STRING ? qg_ival_str(&c->args[0]) : "";
  const char *cls = c->nargs > 1 && c->args[1].kind == QG_IVAL_STRING ? qg_ival_str(&c->args[1]) : NULL;
  if (cls) return qg_set_error(QG_STATUS_RUNTIME, "%s: %s", cls, msg);
  return qg_set_error(QG_STATUS_RUNTIME, "Exception: %s", msg);
}

static qg_status op_wait(qg_op_call *c) {
  const qg_ival *v = &c->args[0];
  if (v->kind != QG_IVAL_FUTURE) return qg_set_error(QG_STATUS_TYPE, "aten::wait needs a Future, got %s", qg_ival_kind_name(v->kind));
  qg_out_ival(c, 0, qg_ival_copy(v->u.list->items[0]));
  return QG_OK;
}

/* prim::RequiresGradCheck: quantgraph tensors never require grad, so the check passes when
 * the profiled types do not require it either. Outputs: the inputs, then the flag. */
static qg_status op_requires_grad_check(qg_op_call *c) {
  int ok = 1;
  for (size_t i = 0; i < c->nargs && i < c->nouts; i++) {
    qg_out_ival(c, i, qg_ival_copy(c->args[i]));
    const qg_type_t *t = out_type(c, i);
    if (t && t->kind == QG_TYPE_TENSOR_DETAILED && t->tensor.requires_grad == 1) ok = 0;
  }
  if (c->nouts > c->nargs) qg_out_ival(c, c->nouts - 1, qg_ival_bool(ok));
  return QG_OK;
}

/* ---- execution-mode queries ---------------------------------------------------------------
 * quantgraph runs inference only: there is no autograd, autocast or nested tensor, so these
 * answer as PyTorch does under torch.no_grad() with autocast off (library code such as
 * nn.MultiheadAttention branches on them). */
static qg_status op_false(qg_op_call *c) {
  qg_out_ival(c, 0, qg_ival_bool(0));
  return QG_OK;
}

static qg_status op_is_cuda(qg_op_call *c) {
  qg_tensor *t = NULL;
  QG_TRY(qg_arg_tensor(c, 0, &t));
  qg_out_ival(c, 0, qg_ival_bool(t->storage && t->storage->device.kind == QG_DEVICE_CUDA));
  return QG_OK;
}

/* ---- tensor metadata ----------------------------------------------------------------------- */

static qg_status op_size(qg_op_call *c) {
  qg_tensor *t = NULL;
  QG_TRY(qg_arg_tensor(c, 0, &t));
  if (c->nargs >= 2) {
    int64_t d;
    QG_TRY(qg_arg_int(c, 1, &d));
    int64_t nd = t->ndim;
    if (d < -nd || d >= (nd ? nd : 1) || nd == 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "Dimension out of range (expected to be in range of [%lld, %lld], but got %lld)",
                          (long long)(nd ? -nd : -1), (long long)(nd ? nd - 1 : 0), (long long)d);
    if (d < 0) d += nd;
    qg_out_ival(c, 0, qg_ival_int(t->shape[d]));
    return QG_OK;
  }
  qg_ival l;
  QG_TRY(qg_ival_list_new(QG_IVAL_LIST, (size_t)t->ndim, &l));
  for (int i = 0; i < t->ndim; i++) {
    qg_status st = qg_ival_list_push(&l, qg_ival_int(t->shape[i]));
    if (st != QG_OK) {
      qg_ival_release(&l);
      return st;
    }
  }
  l.u.list->type = out_type(c, 0);
  qg_out_ival(c, 0, l);
  return QG_OK;
}

static qg_status op_dim(qg_op_call *c) {
  qg_tensor *t = NULL;
  QG_TRY(qg_arg_tensor(c, 0, &t));
  qg_out_ival(c, 0, qg_ival_int(t->ndim));
  return QG_OK;
}

static qg_status op_dtype(qg_op_call *c) {
  qg_tensor *t = NULL;
  QG_TRY(qg_arg_tensor(c, 0, &t));
  qg_out_ival(c, 0, qg_ival_int(qg_dtype_info(t->dtype)->torch_scalar_type));
  return QG_OK;
}

static qg_status op_device(qg_op_call *c) {
  qg_tensor *t = NULL;
  QG_TRY(qg_arg_tensor(c, 0, &t));
  qg_device d = {QG_DEVICE_CPU, -1};
  if (t->storage) d = t->storage->device;
  qg_out_ival(c, 0, qg_ival_device(d));
  return QG_OK;
}

static qg_status op_is_floating_point(qg_op_call *c) {
  qg_tensor *t = NULL;
  QG_TRY(qg_arg_tensor(c, 0, &t));
  qg_out_ival(c, 0, qg_ival_bool(qg_dtype_info(t->dtype)->is_float));
  return QG_OK;
}

/* prim::NumToTensor: a 0-dim tensor (int -> Long, float -> Double, bool -> Bool, as
 * scalar_to_tensor). */
static qg_status op_num_to_tensor(qg_op_call *c) {
  const qg_ival *v = &c->args[0];
  qg_tensor *t = NULL;
  if (v->kind == QG_IVAL_INT) {
    QG_TRY(qg_tensor_scalar(QG_DTYPE_I64, 0, &t));
    *(int64_t *)qg_tensor_data(t) = v->u.i; /* exact, also beyond 2^53 */
  } else if (v->kind == QG_IVAL_DOUBLE) {
    QG_TRY(qg_tensor_scalar(QG_DTYPE_F64, v->u.d, &t));
  } else if (v->kind == QG_IVAL_BOOL) {
    QG_TRY(qg_tensor_scalar(QG_DTYPE_BOOL, v->u.b, &t));
  } else {
    return qg_set_error(QG_STATUS_TYPE, "prim::NumToTensor needs a number, got %s", qg_ival_kind_name(v->kind));
  }
  qg_out_tensor(c, 0, t);
  return QG_OK;
}

/* aten::_size_if_not_equal(int[] self_size, int[] other_size) -> int[]?: None when equal. */
static qg_status op_size_if_not_equal(qg_op_call *c) {
  const qg_ival *a = &c->args[0], *b = &c->args[1];
  if (!qg_ival_equal(a, b)) qg_out_ival(c, 0, qg_ival_copy(*a));
  return QG_OK;
}

/* aten::__is__ / __isnot__: identity for heap values, equality of payload for scalars (c10's
 * IValue::is). */
static int is_same(const qg_ival *a, const qg_ival *b) {
  if (a->kind != b->kind) return 0;
  switch (a->kind) {
  case QG_IVAL_NONE: return 1;
  case QG_IVAL_BOOL: return a->u.b == b->u.b;
  case QG_IVAL_INT: return a->u.i == b->u.i;
  case QG_IVAL_DOUBLE: return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;
  case QG_IVAL_DEVICE: return a->u.device.kind == b->u.device.kind && a->u.device.index == b->u.device.index;
  case QG_IVAL_TENSOR: return a->u.tensor == b->u.tensor;
  case QG_IVAL_STRING: return a->u.str == b->u.str;
  case QG_IVAL_DICT: return a->u.dict == b->u.dict;
  case QG_IVAL_OBJECT: return a->u.obj == b->u.obj;
  default: return a->u.list == b->u.list;
  }
}
static qg_status op_is(qg_op_call *c) {
  qg_out_ival(c, 0, qg_ival_bool(is_same(&c->args[0], &c->args[1])));
  return QG_OK;
}
static qg_status op_isnot(qg_op_call *c) {
  qg_out_ival(c, 0, qg_ival_bool(!is_same(&c->args[0], &c->args[1])));
  return QG_OK;
}

static const qg_op_impl_entry prim_table[] = {
    {"prim::ListConstruct", "", op_list_construct},
    {"prim::TupleConstruct", "", op_tuple_construct},
    {"prim::DictConstruct", "", op_dict_construct},
    {"prim::ListUnpack", "", op_unpack},
    {"prim::TupleUnpack", "", op_unpack},
    {"prim::TupleIndex", "", op_tuple_index},
    {"prim::unchecked_cast", "", op_identity},
    {"prim::unchecked_unwrap_optional", "", op_unwrap_optional},
    {"prim::data", "", op_identity},
    {"prim::Uninitialized", "", op_uninitialized},
    {"prim::isinstance", "", op_isinstance},
    {"prim::RaiseException", "", op_raise},
    {"prim::RequiresGradCheck", "", op_requires_grad_check},
    {"aten::wait", "", op_wait},
    {"aten::size", "", op_size},
    {"aten::size", "int", op_size},
    {"aten::dim", "", op_dim},
    {"prim::dtype", "", op_dtype},
    {"prim::device", "", op_device},
    {"aten::is_floating_point", "", op_is_floating_point},
    {"prim::NumToTensor", "Scalar", op_num_to_tensor},
    {"prim::NumToTensor", "bool", op_num_to_tensor},
    {"aten::_size_if_not_equal", "", op_size_if_not_equal},
    {"aten::__is__", "", op_is},
    {"aten::__isnot__", "", op_isnot},
    {"aten::is_grad_enabled", "", op_false},
    {"aten::is_autocast_enabled", "", op_false},
    {"aten::is_autocast_cpu_enabled", "", op_false},
    {"prim::requires_grad", "", op_false},
    {"prim::is_nested", "", op_false},
    {"prim::is_cuda", "", op_is_cuda},
};

const qg_op_impl_entry *qg__ops_prim_table(size_t *n) {
  *n = sizeof prim_table / sizeof prim_table[0];
  return prim_table;
}
