/* Constant propagation's two primitives (constant_impl.h): running a node on constant inputs
 * and turning a value back into a prim::Constant. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "passes/constant_impl.h"
#include "passes/node_equal.h"
#include "runtime/runtime.h"

/* ---- copying nodes --------------------------------------------------------------------- */

static qg_status copy_attr(qg_node_t *dst, const qg_attr *a) {
  switch (a->kind) {
  case QG_ATTR_INT: return qg_node_set_i(dst, a->name, a->i);
  case QG_ATTR_FLOAT: return qg_node_set_f(dst, a->name, a->f);
  case QG_ATTR_COMPLEX: return qg_node_set_c(dst, a->name, a->f, a->f2);
  case QG_ATTR_STRING: return qg_node_set_s(dst, a->name, a->s);
  case QG_ATTR_TENSOR: return qg_node_set_t(dst, a->name, a->t);
  case QG_ATTR_TYPE: return qg_node_set_ty(dst, a->name, a->ty);
  case QG_ATTR_INTS: return qg_node_set_is(dst, a->name, a->is, a->n);
  case QG_ATTR_FLOATS: return qg_node_set_fs(dst, a->name, a->fs, a->n);
  case QG_ATTR_STRINGS: return qg_node_set_ss(dst, a->name, (const char *const *)a->ss, a->n);
  case QG_ATTR_TENSORS: return qg_node_set_ts(dst, a->name, a->ts, a->n);
  case QG_ATTR_TYPES: return qg_node_set_tys(dst, a->name, a->tys, a->n);
  case QG_ATTR_GRAPH: return qg_node_set_g(dst, a->name, a->g);
  case QG_ATTR_GRAPHS: return qg_node_set_gs(dst, a->name, (const qg_graph_t *const *)a->gs, a->n);
  }
  return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "unknown attribute kind %d", (int)a->kind);
}

/* A copy of src (attributes, output types; inputs `inputs`) inserted at g's insertion point.
 * Types must already be in g's unit (the same unit as src). */
static qg_status copy_node(qg_graph_t *g, const qg_node_t *src, qg_value_t *const *inputs, qg_node_t **out) {
  qg_node_t *n;
  QG_TRY(qg_graph_insert_new(g, src->kind, src->ninputs, inputs, src->noutputs, &n));
  *out = n;
  for (uint32_t k = 0; k < src->noutputs; k++) qg_value_set_type(n->outputs[k], src->outputs[k]->type);
  for (uint32_t k = 0; k < src->nattrs; k++) QG_TRY(copy_attr(n, &src->attrs[k]));
  return QG_OK;
}

qg_status qg__constant_clone(qg_graph_t *g, qg_node_t *before, const qg_node_t *c, qg_value_t **out) {
  *out = NULL;
  qg_node_t *saved = qg_graph_set_insert_point(g, before), *n = NULL;
  qg_status st = copy_node(g, c, NULL, &n);
  qg_graph_set_insert_point(g, saved);
  if (st != QG_OK) {
    if (n) qg_node_destroy(n);
    return st;
  }
  *out = n->outputs[0];
  return QG_OK;
}

/* ---- evaluating ------------------------------------------------------------------------ */

static qg_status build_scratch(qg_graph_t *s, const qg_node_t *n) {
  qg_value_t *small[16], **ins = small;
  if (n->ninputs > 16 && !(ins = qg__calloc(n->ninputs, sizeof *ins))) return qg_oom("constant inputs");
  qg_status st = QG_OK;
  for (uint32_t i = 0; i < n->ninputs && st == QG_OK; i++) {
    qg_node_t *c;
    st = copy_node(s, n->inputs[i]->node, NULL, &c);
    if (st == QG_OK) ins[i] = c->outputs[0];
  }
  qg_node_t *copy = NULL;
  if (st == QG_OK) st = copy_node(s, n, ins, &copy);
  for (uint32_t k = 0; copy && k < copy->noutputs && st == QG_OK; k++)
    st = qg_graph_register_output(s, copy->outputs[k]);
  if (ins != small) qg__free(ins);
  return st;
}

qg_status qg__constant_eval_node(const qg_node_t *n, qg_ival *outs) {
  qg_graph_t *s;
  QG_TRY(qg_graph_create(qg_graph_cu(n->graph), &s));
  qg_status st = build_scratch(s, n);
  if (st == QG_OK) st = qg_run_graph(s, NULL, 0, NULL, outs);
  qg_graph_destroy(s);
  return st;
}

/* ---- values to constants --------------------------------------------------------------- */

static qg_status tensor_type(qg_cu_t *cu, const qg_tensor *t, const qg_type_t **out) {
  qg_tensor_info ti;
  memset(&ti, 0, sizeof ti);
  ti.has_dtype = 1;
  ti.dtype = t->dtype;
  ti.ndim = t->ndim;
  ti.has_strides = 1;
  for (int i = 0; i < t->ndim; i++) {
    ti.sizes[i] = t->shape[i];
    ti.strides[i] = t->strides[i];
  }
  ti.requires_grad = 0;
  ti.has_device = 1;
  const qg_device *d = &t->storage->device;
  if (d->kind == QG_DEVICE_CPU) snprintf(ti.device, sizeof ti.device, "cpu");
  else snprintf(ti.device, sizeof ti.device, "cuda:%d", d->index < 0 ? 0 : d->index);
  return qg_type_tensor_detailed(cu, &ti, out);
}

static void device_str(qg_device d, char *buf, size_t size) {
  if (d.kind == QG_DEVICE_CPU) snprintf(buf, size, "cpu");
  else if (d.index < 0) snprintf(buf, size, "cuda");
  else snprintf(buf, size, "cuda:%d", d.index);
}

/* The element kind a list constant can hold, from the static list type. Tensor lists are left
 * out: PyTorch prints their constants as `[<Tensors>]`, which graph text cannot read back. */
static qg_type_kind list_elem_kind(const qg_type_t *type) {
  if (!type || type->kind != QG_TYPE_LIST) return QG_TYPE_ANY;
  return type->elems[0]->kind;
}

static int list_fits(const qg_ival_list *l, qg_type_kind ek) {
  qg_ival_kind want = ek == QG_TYPE_INT     ? QG_IVAL_INT
                      : ek == QG_TYPE_FLOAT ? QG_IVAL_DOUBLE
                      : ek == QG_TYPE_BOOL  ? QG_IVAL_BOOL
                      : ek == QG_TYPE_STR   ? QG_IVAL_STRING
                                            : QG_IVAL_KIND_COUNT;
  if (want == QG_IVAL_KIND_COUNT) return 0;
  for (size_t i = 0; i < l->len; i++) {
    if (l->items[i].kind != want) return 0;
  }
  return 1;
}

/* Sets the `value` attribute of list constant c from l (element kind ek). */
static qg_status set_list(qg_node_t *c, qg_sym_t value, const qg_ival_list *l, qg_type_kind ek) {
  size_t n = l->len;
  qg_status st = QG_OK;
  if (ek == QG_TYPE_INT || ek == QG_TYPE_BOOL) {
    int64_t *a = qg__calloc(n ? n : 1, sizeof *a);
    if (!a) return qg_oom("list constant");
    for (size_t i = 0; i < n; i++) a[i] = ek == QG_TYPE_BOOL ? l->items[i].u.b : l->items[i].u.i;
    st = qg_node_set_is(c, value, a, n);
    qg__free(a);
  } else if (ek == QG_TYPE_FLOAT) {
    double *a = qg__calloc(n ? n : 1, sizeof *a);
    if (!a) return qg_oom("list constant");
    for (size_t i = 0; i < n; i++) a[i] = l->items[i].u.d;
    st = qg_node_set_fs(c, value, a, n);
    qg__free(a);
  } else { /* strings */
    const char **a = qg__calloc(n ? n : 1, sizeof *a);
    if (!a) return qg_oom("list constant");
    for (size_t i = 0; i < n; i++) a[i] = qg_ival_str(&l->items[i]);
    st = qg_node_set_ss(c, value, a, n);
    qg__free(a);
  }
  return st;
}

/* Fills the new constant c for v; *ok = 0 if v cannot be a constant. */
static qg_status fill_constant(qg_node_t *c, const qg_ival *v, const qg_type_t *type, int *ok) {
  qg_cu_t *cu = qg_graph_cu(c->graph);
  qg_sym_t value;
  QG_TRY(qg_sym_intern("value", &value));
  qg_value_t *o = c->outputs[0];
  *ok = 1;
  switch (v->kind) {
  case QG_IVAL_NONE: qg_value_set_type(o, type); return QG_OK;
  case QG_IVAL_BOOL: qg_value_set_type(o, qg_type_bool()); return qg_node_set_i(c, value, v->u.b);
  case QG_IVAL_INT: qg_value_set_type(o, qg_type_int()); return qg_node_set_i(c, value, v->u.i);
  case QG_IVAL_DOUBLE: qg_value_set_type(o, qg_type_float()); return qg_node_set_f(c, value, v->u.d);
  case QG_IVAL_STRING: qg_value_set_type(o, qg_type_str()); return qg_node_set_s(c, value, qg_ival_str(v));
  case QG_IVAL_DEVICE: {
    char buf[32];
    device_str(v->u.device, buf, sizeof buf);
    qg_value_set_type(o, qg_type_device());
    return qg_node_set_s(c, value, buf);
  }
  case QG_IVAL_TENSOR: {
    /* An empty tensor would print (and parse back) as the `<Tensor>` placeholder. */
    if (qg_tensor_numel(v->u.tensor) == 0) break;
    const qg_type_t *t;
    QG_TRY(tensor_type(cu, v->u.tensor, &t));
    qg_value_set_type(o, t);
    return qg_node_set_t(c, value, v->u.tensor);
  }
  case QG_IVAL_LIST: {
    qg_type_kind ek = list_elem_kind(type);
    if (!list_fits(v->u.list, ek)) break;
    const qg_type_t *lt;
    QG_TRY(qg_type_list(cu, qg_type_prim(ek), &lt));
    qg_value_set_type(o, lt);
    return set_list(c, value, v->u.list, ek);
  }
  default: break;
  }
  *ok = 0;
  return QG_OK;
}

qg_status qg__constant_insert(qg_graph_t *g, qg_node_t *before, const qg_ival *v, const qg_type_t *type,
                              qg_value_t **out) {
  *out = NULL;
  qg_node_t *saved = qg_graph_set_insert_point(g, before), *c;
  qg_status st = qg_graph_insert_new(g, QG_SYM_prim_Constant, 0, NULL, 1, &c);
  qg_graph_set_insert_point(g, saved);
  QG_TRY(st);
  int ok = 0;
  st = fill_constant(c, v, type, &ok);
  if (st != QG_OK || !ok) {
    qg_node_destroy(c);
    return st;
  }
  *out = c->outputs[0];
  return QG_OK;
}

/* ---- comparing constants --------------------------------------------------------------- */

int qg__constant_nodes_equal(const qg_node_t *a, const qg_node_t *b) {
  if (a->kind != QG_SYM_prim_Constant || b->kind != QG_SYM_prim_Constant) return 0;
  if (a->noutputs != 1 || b->noutputs != 1 || !qg_type_equal(a->outputs[0]->type, b->outputs[0]->type)) return 0;
  if (a->nattrs != b->nattrs) return 0;
  for (uint32_t k = 0; k < a->nattrs; k++)
    if (!qg__attr_equal(&a->attrs[k], &b->attrs[k], 0)) return 0;
  return 1;
}
