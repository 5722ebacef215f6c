/* Argument access for op implementations (runtime.h): each helper checks the value's kind
 * against what the implementation needs and, if it does not fit, fails with a message that
 * names the op, the argument (by its schema name) and what was found, e.g.
 *   "aten::conv2d argument 'stride' must be int[], got Tensor".
 * The interpreter prefixes module, method and node when the error unwinds. */
#include <stdio.h>

#include "runtime/runtime.h"

/* "aten::conv2d argument 'stride'" (or "argument #3" past the schema's named arguments). */
static qg_status arg_error(const qg_op_call *c, size_t i, const char *want) {
  const char *op = c->schema ? qg_sym_str(c->schema->name) : "op";
  const char *got = i < c->nargs ? qg_ival_kind_name(c->args[i].kind) : "nothing";
  if (c->schema && i < c->schema->nargs && c->schema->args[i].name)
    return qg_set_error(QG_STATUS_TYPE, "%s argument '%s' must be %s, got %s", op, c->schema->args[i].name,
                        want, got);
  return qg_set_error(QG_STATUS_TYPE, "%s argument #%zu must be %s, got %s", op, i, want, got);
}

static const qg_ival *arg_at(const qg_op_call *c, size_t i) { return i < c->nargs ? &c->args[i] : NULL; }

qg_status qg_arg_tensor(const qg_op_call *c, size_t i, qg_tensor **out) {
  const qg_ival *v = arg_at(c, i);
  if (!v || v->kind != QG_IVAL_TENSOR) return arg_error(c, i, "Tensor");
  *out = v->u.tensor;
  return QG_OK;
}

qg_status qg_arg_opt_tensor(const qg_op_call *c, size_t i, qg_tensor **out) {
  const qg_ival *v = arg_at(c, i);
  if (v && v->kind == QG_IVAL_NONE) {
    *out = NULL;
    return QG_OK;
  }
  if (!v || v->kind != QG_IVAL_TENSOR) return arg_error(c, i, "Tensor?");
  *out = v->u.tensor;
  return QG_OK;
}

qg_status qg_arg_int(const qg_op_call *c, size_t i, int64_t *out) {
  const qg_ival *v = arg_at(c, i);
  if (v && v->kind == QG_IVAL_INT) *out = v->u.i;
  else if (v && v->kind == QG_IVAL_BOOL) *out = v->u.b; /* bool is an int in Python */
  else return arg_error(c, i, "int");
  return QG_OK;
}

qg_status qg_arg_opt_int(const qg_op_call *c, size_t i, int64_t *out, int *present) {
  const qg_ival *v = arg_at(c, i);
  if (v && v->kind == QG_IVAL_NONE) {
    *present = 0;
    return QG_OK;
  }
  if (!v || (v->kind != QG_IVAL_INT && v->kind != QG_IVAL_BOOL)) return arg_error(c, i, "int?");
  *out = v->kind == QG_IVAL_INT ? v->u.i : v->u.b;
  *present = 1;
  return QG_OK;
}

qg_status qg_arg_double(const qg_op_call *c, size_t i, double *out) {
  const qg_ival *v = arg_at(c, i);
  if (v && v->kind == QG_IVAL_DOUBLE) *out = v->u.d;
  else if (v && v->kind == QG_IVAL_INT) *out = (double)v->u.i;
  else if (v && v->kind == QG_IVAL_BOOL) *out = v->u.b;
  else return arg_error(c, i, "float");
  return QG_OK;
}

qg_status qg_arg_opt_double(const qg_op_call *c, size_t i, double *out, int *present) {
  const qg_ival *v = arg_at(c, i);
  if (v && v->kind == QG_IVAL_NONE) {
    *present = 0;
    return QG_OK;
  }
  if (!v || (v->kind != QG_IVAL_DOUBLE && v->kind != QG_IVAL_INT && v->kind != QG_IVAL_BOOL))
    return arg_error(c, i, "float?");
  *out = v->kind == QG_IVAL_DOUBLE ? v->u.d : v->kind == QG_IVAL_INT ? (double)v->u.i : v->u.b;
  *present = 1;
  return QG_OK;
}

qg_status qg_arg_bool(const qg_op_call *c, size_t i, int *out) {
  const qg_ival *v = arg_at(c, i);
  if (!v || v->kind != QG_IVAL_BOOL) return arg_error(c, i, "bool");
  *out = v->u.b;
  return QG_OK;
}

/* int[] arguments: a list (or tuple) of ints; a single int is accepted for a fixed-size `int[N]`
 * argument and repeated N times, as PyTorch's IntArrayRef conversion does. */
qg_status qg_arg_int_list(const qg_op_call *c, size_t i, int64_t *vals, size_t max, size_t *n) {
  const qg_ival *v = arg_at(c, i);
  if (v && (v->kind == QG_IVAL_INT || v->kind == QG_IVAL_BOOL) && c->schema && i < c->schema->nargs &&
      c->schema->args[i].fixed_list_len > 0) {
    size_t len = (size_t)c->schema->args[i].fixed_list_len;
    if (len > max) return arg_error(c, i, "a shorter int[]");
    for (size_t k = 0; k < len; k++) vals[k] = v->kind == QG_IVAL_INT ? v->u.i : v->u.b;
    *n = len;
    return QG_OK;
  }
  if (!v || (v->kind != QG_IVAL_LIST && v->kind != QG_IVAL_TUPLE)) return arg_error(c, i, "int[]");
  const qg_ival_list *l = v->u.list;
  for (size_t k = 0; k < l->len; k++)
    if (l->items[k].kind != QG_IVAL_INT && l->items[k].kind != QG_IVAL_BOOL) return arg_error(c, i, "int[]");
  if (l->len > max) {
    const char *op = c->schema ? qg_sym_str(c->schema->name) : "op";
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s argument #%zu: at most %zu values supported, got %zu", op,
                        i, max, l->len);
  }
  for (size_t k = 0; k < l->len; k++)
    vals[k] = l->items[k].kind == QG_IVAL_INT ? l->items[k].u.i : l->items[k].u.b;
  *n = l->len;
  return QG_OK;
}

qg_status qg_arg_double_list(const qg_op_call *c, size_t i, double *vals, size_t max, size_t *n) {
  const qg_ival *v = arg_at(c, i);
  if (!v || (v->kind != QG_IVAL_LIST && v->kind != QG_IVAL_TUPLE)) return arg_error(c, i, "float[]");
  const qg_ival_list *l = v->u.list;
  for (size_t k = 0; k < l->len; k++) {
    qg_ival_kind ik = l->items[k].kind;
    if (ik != QG_IVAL_INT && ik != QG_IVAL_DOUBLE && ik != QG_IVAL_BOOL) return arg_error(c, i, "float[]");
  }
  if (l->len > max) {
    const char *op = c->schema ? qg_sym_str(c->schema->name) : "op";
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s argument #%zu: at most %zu values supported, got %zu", op,
                        i, max, l->len);
  }
  for (size_t k = 0; k < l->len; k++) {
    const qg_ival *it = &l->items[k];
    vals[k] = it->kind == QG_IVAL_DOUBLE ? it->u.d : it->kind == QG_IVAL_INT ? (double)it->u.i : it->u.b;
  }
  *n = l->len;
  return QG_OK;
}

qg_status qg_arg_list(const qg_op_call *c, size_t i, const qg_ival **items, size_t *n) {
  const qg_ival *v = arg_at(c, i);
  if (!v || (v->kind != QG_IVAL_LIST && v->kind != QG_IVAL_TUPLE)) return arg_error(c, i, "a list");
  *items = v->u.list->items;
  *n = v->u.list->len;
  return QG_OK;
}

qg_status qg_arg_tensor_list(const qg_op_call *c, size_t i, const qg_ival **items, size_t *n) {
  QG_TRY(qg_arg_list(c, i, items, n));
  for (size_t k = 0; k < *n; k++)
    if ((*items)[k].kind != QG_IVAL_TENSOR) return arg_error(c, i, "Tensor[]");
  return QG_OK;
}

qg_status qg_arg_str(const qg_op_call *c, size_t i, const char **out) {
  const qg_ival *v = arg_at(c, i);
  if (!v || v->kind != QG_IVAL_STRING) return arg_error(c, i, "str");
  *out = qg_ival_str(v);
  return QG_OK;
}

int qg_arg_is_none(const qg_op_call *c, size_t i) { return i >= c->nargs || c->args[i].kind == QG_IVAL_NONE; }

void qg_out_tensor(qg_op_call *c, size_t i, qg_tensor *t) { qg_out_ival(c, i, qg_ival_tensor(t)); }

void qg_out_ival(qg_op_call *c, size_t i, qg_ival v) {
  QG_ASSERT(i < c->nouts);
  qg_ival_release(&c->outs[i]);
  c->outs[i] = v;
}
