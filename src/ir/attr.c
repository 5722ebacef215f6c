/* Node attributes: set (replacing in place or appending), get, remove, copy. Values are built
 * completely before the node is touched, so a failed setter leaves the node unchanged. */
#include <string.h>

#include "base/alloc.h"
#include "ir/ir_impl.h"

void qg__attr_clear(qg_attr *a) {
  qg__free(a->s);
  qg_tensor_release(a->t);
  if (a->ss)
    for (size_t i = 0; i < a->n; i++) qg__free(a->ss[i]);
  if (a->ts)
    for (size_t i = 0; i < a->n; i++) qg_tensor_release(a->ts[i]);
  qg__free(a->is);
  qg__free(a->fs);
  qg__free(a->ss);
  qg__free(a->ts);
  qg__free((void *)a->tys);
  qg_graph_destroy(a->g);
  if (a->gs)
    for (size_t i = 0; i < a->n; i++) qg_graph_destroy(a->gs[i]);
  qg__free(a->gs);
  memset(a, 0, sizeof *a);
}

void qg__attr_adopt(qg_attr *a, qg_node_t *owner) {
  if (a->kind == QG_ATTR_GRAPH && a->g) a->g->parent = owner;
  if (a->kind == QG_ATTR_GRAPHS && a->gs)
    for (size_t i = 0; i < a->n; i++) a->gs[i]->parent = owner;
}

static void *dup_array(const void *src, size_t n, size_t elem) {
  void *p = qg__calloc(n ? n : 1, elem); /* non-NULL even when empty: "set, zero elements" */
  if (p && n) memcpy(p, src, n * elem);
  return p;
}

/* Installs a fully built attribute: replaces the one of the same name (keeping its position)
 * or appends. On failure `a` is cleared. */
static qg_status install(qg_node_t *n, qg_attr *a) {
  for (uint32_t i = 0; i < n->nattrs; i++) {
    if (n->attrs[i].name == a->name) {
      qg__attr_clear(&n->attrs[i]);
      n->attrs[i] = *a;
      qg__attr_adopt(&n->attrs[i], n);
      return QG_OK;
    }
  }
  size_t cap = n->capattrs;
  if (qg__grow((void **)&n->attrs, &cap, (size_t)n->nattrs + 1, sizeof *n->attrs) != 0) {
    qg__attr_clear(a);
    return qg_oom("node attribute");
  }
  n->capattrs = (uint32_t)cap;
  n->attrs[n->nattrs] = *a;
  qg__attr_adopt(&n->attrs[n->nattrs++], n);
  return QG_OK;
}

static qg_attr make(qg_sym_t name, qg_attr_kind kind) {
  qg_attr a;
  memset(&a, 0, sizeof a);
  a.name = name;
  a.kind = kind;
  return a;
}

qg_status qg_node_set_i(qg_node_t *n, qg_sym_t name, int64_t v) {
  qg_attr a = make(name, QG_ATTR_INT);
  a.i = v;
  return install(n, &a);
}

qg_status qg_node_set_f(qg_node_t *n, qg_sym_t name, double v) {
  qg_attr a = make(name, QG_ATTR_FLOAT);
  a.f = v;
  return install(n, &a);
}

qg_status qg_node_set_c(qg_node_t *n, qg_sym_t name, double re, double im) {
  qg_attr a = make(name, QG_ATTR_COMPLEX);
  a.f = re;
  a.f2 = im;
  return install(n, &a);
}

qg_status qg_node_set_s(qg_node_t *n, qg_sym_t name, const char *v) {
  qg_attr a = make(name, QG_ATTR_STRING);
  if (!(a.s = qg__strdup(v))) return qg_oom("string attribute");
  return install(n, &a);
}

qg_status qg_node_set_t(qg_node_t *n, qg_sym_t name, qg_tensor *v) {
  if (!v) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "tensor attribute '%s': NULL tensor", qg_sym_str(name));
  qg_attr a = make(name, QG_ATTR_TENSOR);
  qg_tensor_retain(v);
  a.t = v;
  return install(n, &a);
}

qg_status qg_node_set_ty(qg_node_t *n, qg_sym_t name, const qg_type_t *v) {
  if (!v) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "type attribute '%s': NULL type", qg_sym_str(name));
  qg_attr a = make(name, QG_ATTR_TYPE);
  a.ty = v;
  return install(n, &a);
}

qg_status qg_node_set_is(qg_node_t *n, qg_sym_t name, const int64_t *v, size_t count) {
  qg_attr a = make(name, QG_ATTR_INTS);
  a.n = count;
  if (!(a.is = dup_array(v, count, sizeof *v))) return qg_oom("int list attribute");
  return install(n, &a);
}

qg_status qg_node_set_fs(qg_node_t *n, qg_sym_t name, const double *v, size_t count) {
  qg_attr a = make(name, QG_ATTR_FLOATS);
  a.n = count;
  if (!(a.fs = dup_array(v, count, sizeof *v))) return qg_oom("float list attribute");
  return install(n, &a);
}

qg_status qg_node_set_ss(qg_node_t *n, qg_sym_t name, const char *const *v, size_t count) {
  qg_attr a = make(name, QG_ATTR_STRINGS);
  if (!(a.ss = qg__calloc(count ? count : 1, sizeof *a.ss))) return qg_oom("string list attribute");
  a.n = count;
  for (size_t i = 0; i < count; i++) {
    if (!(a.ss[i] = qg__strdup(v[i]))) {
      qg__attr_clear(&a);
      return qg_oom("string list attribute");
    }
  }
  return install(n, &a);
}

qg_status qg_node_set_ts(qg_node_t *n, qg_sym_t name, qg_tensor *const *v, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (!v[i]) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "tensor list attribute '%s': NULL tensor", qg_sym_str(name));
  qg_attr a = make(name, QG_ATTR_TENSORS);
  if (!(a.ts = dup_array(v, count, sizeof *v))) return qg_oom("tensor list attribute");
  a.n = count;
  for (size_t i = 0; i < count; i++) qg_tensor_retain(a.ts[i]);
  return install(n, &a);
}

qg_status qg_node_set_tys(qg_node_t *n, qg_sym_t name, const qg_type_t *const *v, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (!v[i]) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "type list attribute '%s': NULL type", qg_sym_str(name));
  qg_attr a = make(name, QG_ATTR_TYPES);
  if (!(a.tys = dup_array(v, count, sizeof *v))) return qg_oom("type list attribute");
  a.n = count;
  return install(n, &a);
}

/* ---- graph attributes (Note [Graph attributes]) ----------------------------------------- */

/* A copy of g for an attribute of a node in unit cu: no reference to the unit. */
static qg_status clone_for_attr(const qg_graph_t *g, qg_cu_t *cu, qg_graph_t **out) {
  QG_TRY(qg__graph_clone_into(g, cu, out));
  qg__graph_detach_cu_ref(*out); /* the enclosing graph keeps the unit alive */
  return QG_OK;
}

qg_status qg_node_set_g(qg_node_t *n, qg_sym_t name, const qg_graph_t *g) {
  if (!g) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "graph attribute '%s': NULL graph", qg_sym_str(name));
  qg_attr a = make(name, QG_ATTR_GRAPH);
  QG_TRY(clone_for_attr(g, n->graph->cu, &a.g));
  return install(n, &a);
}

qg_status qg_node_set_g_owned(qg_node_t *n, qg_sym_t name, qg_graph_t *g) {
  const char *nm = qg_sym_str(name);
  if (!g) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "graph attribute '%s': NULL graph", nm);
  if (g->parent)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "graph attribute '%s': the graph already belongs to a %s node", nm,
                        qg_sym_str(g->parent->kind));
  if (!g->holds_cu_ref)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "graph attribute '%s': the graph is owned by a class or function of its unit", nm);
  if (g->cu != n->graph->cu)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "graph attribute '%s': the graph belongs to another unit than the node's graph", nm);
  for (const qg_graph_t *up = n->graph; up; up = up->parent ? up->parent->graph : NULL)
    if (up == g)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "graph attribute '%s': the graph contains the node's own graph (a cycle)", nm);
  /* Make room first: install() clears (destroys) what it was given when it fails, and g must
   * stay the caller's on failure. */
  if (!qg_node_attr(n, name)) {
    size_t cap = n->capattrs;
    if (qg__grow((void **)&n->attrs, &cap, (size_t)n->nattrs + 1, sizeof *n->attrs) != 0)
      return qg_oom("node attribute");
    n->capattrs = (uint32_t)cap;
  }
  qg_attr a = make(name, QG_ATTR_GRAPH);
  a.g = g;
  qg_status st = install(n, &a);
  QG_ASSERT(st == QG_OK); /* the array has room */
  qg__graph_detach_cu_ref(g);
  return QG_OK;
}

qg_status qg_node_set_gs(qg_node_t *n, qg_sym_t name, const qg_graph_t *const *gs, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (!gs[i]) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "graph list attribute '%s': NULL graph", qg_sym_str(name));
  qg_attr a = make(name, QG_ATTR_GRAPHS);
  if (!(a.gs = qg__calloc(count ? count : 1, sizeof *a.gs))) return qg_oom("graph list attribute");
  a.n = count;
  for (size_t i = 0; i < count; i++) {
    qg_status st = clone_for_attr(gs[i], n->graph->cu, &a.gs[i]);
    if (st != QG_OK) {
      qg__attr_clear(&a);
      return st;
    }
  }
  return install(n, &a);
}

qg_graph_t *qg_node_g(const qg_node_t *n, qg_sym_t name) {
  const qg_attr *a = qg_node_attr(n, name);
  return a && a->kind == QG_ATTR_GRAPH ? a->g : NULL;
}

qg_node_t *qg_graph_parent_node(const qg_graph_t *g) { return g->parent; }

qg_status qg_sym_subgraph(qg_sym_t *out) { return qg_sym_intern("Subgraph", out); }

const qg_attr *qg_node_attr(const qg_node_t *n, qg_sym_t name) {
  for (uint32_t i = 0; i < n->nattrs; i++)
    if (n->attrs[i].name == name) return &n->attrs[i];
  return NULL;
}

int qg_node_remove_attr(qg_node_t *n, qg_sym_t name) {
  for (uint32_t i = 0; i < n->nattrs; i++) {
    if (n->attrs[i].name != name) continue;
    qg__attr_clear(&n->attrs[i]);
    memmove(&n->attrs[i], &n->attrs[i + 1], (n->nattrs - i - 1) * sizeof *n->attrs);
    n->nattrs--;
    return 1;
  }
  return 0;
}

const char *qg_node_s(const qg_node_t *n, const char *attr_name) {
  qg_sym_t s = qg_sym_lookup(attr_name);
  if (s == QG_SYM_NONE) return NULL;
  const qg_attr *a = qg_node_attr(n, s);
  return a && a->kind == QG_ATTR_STRING ? a->s : NULL;
}

qg_status qg__attr_copy(qg_attr *dst, const qg_attr *src, qg_cu_t *cu) {
  *dst = make(src->name, src->kind);
  dst->i = src->i;
  dst->f = src->f;
  dst->f2 = src->f2;
  dst->n = src->n;
  qg_status st = QG_OK;
  switch (src->kind) {
  case QG_ATTR_INT:
  case QG_ATTR_FLOAT:
  case QG_ATTR_COMPLEX: break;
  case QG_ATTR_STRING:
    if (!(dst->s = qg__strdup(src->s))) st = qg_oom("string attribute");
    break;
  case QG_ATTR_TENSOR:
    qg_tensor_retain(src->t);
    dst->t = src->t;
    break;
  case QG_ATTR_TYPE: st = qg_type_import(cu, src->ty, &dst->ty); break;
  case QG_ATTR_INTS:
    if (!(dst->is = dup_array(src->is, src->n, sizeof *src->is))) st = qg_oom("int list attribute");
    break;
  case QG_ATTR_FLOATS:
    if (!(dst->fs = dup_array(src->fs, src->n, sizeof *src->fs))) st = qg_oom("float list attribute");
    break;
  case QG_ATTR_STRINGS:
    if (!(dst->ss = qg__calloc(src->n ? src->n : 1, sizeof *dst->ss))) {
      st = qg_oom("string list attribute");
      break;
    }
    for (size_t i = 0; i < src->n && st == QG_OK; i++)
      if (!(dst->ss[i] = qg__strdup(src->ss[i]))) st = qg_oom("string list attribute");
    break;
  case QG_ATTR_TENSORS:
    if (!(dst->ts = dup_array(src->ts, src->n, sizeof *src->ts))) {
      st = qg_oom("tensor list attribute");
      break;
    }
    for (size_t i = 0; i < src->n; i++) qg_tensor_retain(dst->ts[i]);
    break;
  case QG_ATTR_TYPES: {
    const qg_type_t **tys = qg__calloc(src->n ? src->n : 1, sizeof *tys);
    if (!tys) {
      st = qg_oom("type list attribute");
      break;
    }
    dst->tys = tys;
    for (size_t i = 0; i < src->n && st == QG_OK; i++) st = qg_type_import(cu, src->tys[i], &tys[i]);
    break;
  }
  case QG_ATTR_GRAPH: st = clone_for_attr(src->g, cu, &dst->g); break;
  case QG_ATTR_GRAPHS:
    if (!(dst->gs = qg__calloc(src->n ? src->n : 1, sizeof *dst->gs))) {
      st = qg_oom("graph list attribute");
      break;
    }
    for (size_t i = 0; i < src->n && st == QG_OK; i++) st = clone_for_attr(src->gs[i], cu, &dst->gs[i]);
    break;
  }
  if (st != QG_OK) qg__attr_clear(dst);
  return st;
}
