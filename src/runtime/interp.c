/* The interpreter loop: runs a plan (interp_impl.h) on a frame of values.
 *
 * Values are references (qg_ival ownership rules): a frame slot owns one reference, op
 * implementations borrow their arguments and return owned results, so an in-place op (aten::add_,
 * aten::append, prim::SetAttr) changes what every alias sees, as in PyTorch.
 *
 * Errors: the innermost failing node formats "where: node: cause" once (where = module path and
 * method, "function NAME" or "graph"); outer frames pass the status through unchanged. */
#include <stdio.h>
#include <string.h>

#include "ir/text.h"
#include "runtime/interp_impl.h"
#include "runtime/native.h"

#define QG_MAX_CALL_DEPTH 200

typedef struct frame {
  qg_ival *slots;
  const qg__plan *plan;
  const qg_ival *self; /* the module object of a method frame, or NULL */
  const char *what;    /* method name, "function NAME", or "graph" */
} frame;

/* Dotted path of obj under root (module slots and any other object-valued slot), appended to
 * out; returns 1 if found. Only used to format errors. */
static int find_path(const qg_ival *root, const qg_ival_object *obj, qg_strbuf *out) {
  if (root->kind != QG_IVAL_OBJECT) return 0;
  if (root->u.obj == obj) return 1;
  const qg_ival_object *o = root->u.obj;
  for (size_t i = 0; i < o->nslots; i++) {
    if (o->slots[i].kind != QG_IVAL_OBJECT) continue;
    size_t mark = out->len;
    if (mark) qg_strbuf_putc(out, '.');
    qg_strbuf_append(out, o->type->slots[i].name);
    if (find_path(&o->slots[i], obj, out)) return 1;
    out->len = mark;
    if (out->data) out->data[mark] = '\0';
  }
  return 0;
}

static void describe_frame(const qg_exec *ex, const frame *fr, qg_strbuf *sb) {
  if (!fr->self || fr->self->kind != QG_IVAL_OBJECT) {
    /* free functions are named by their qualified name; standalone graphs "graph" */
    if (strcmp(fr->what, "graph") != 0) qg_strbuf_append(sb, "function ");
    qg_strbuf_append(sb, fr->what);
    return;
  }
  const qg_module *m = ex->runner->module;
  qg_strbuf path = QG_STRBUF_INIT;
  if (m && find_path(&m->root, fr->self->u.obj, &path)) {
    qg_strbuf_append(sb, path.len ? qg_strbuf_cstr(&path) : "<root>");
  } else {
    qg_strbuf_append(sb, fr->self->u.obj->type->qualname);
  }
  qg_strbuf_free(&path);
  qg_strbuf_printf(sb, " (%s)", fr->what);
}

/* Prefixes the current error with the frame and node, once. */
static qg_status locate(qg_exec *ex, const frame *fr, const qg_node_t *n, qg_status st) {
  if (ex->located) return st;
  ex->located = 1;
  /* Formatting allocates; under OOM fall back to the op name. The message itself survives:
   * qg_set_error never allocates. */
  char saved[QG_ERROR_MAX];
  snprintf(saved, sizeof saved, "%s", qg_last_error());
  qg_strbuf sb = QG_STRBUF_INIT;
  describe_frame(ex, fr, &sb);
  if (n) {
    qg_strbuf_append(&sb, ": ");
    qg_node_print(n, &sb);
  }
  if (qg_strbuf_ok(&sb) == QG_OK) {
    qg_set_error(st, "%s: %s", qg_strbuf_cstr(&sb), saved);
  } else {
    qg_set_error(st, "%s: %s: %s", fr->what, n ? qg_sym_str(n->kind) : "", saved);
  }
  qg_strbuf_free(&sb);
  return st;
}

static void set_slot(frame *fr, uint32_t s, qg_ival v) {
  qg_ival_release(&fr->slots[s]);
  fr->slots[s] = v;
}

static void release_slots(frame *fr, const uint32_t *dead, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) qg_ival_release(&fr->slots[dead[i]]);
}

static qg_status run_block(qg_exec *ex, frame *fr, const qg__pblock *b);

/* Gathers the values of a node's input slots (borrowed) into a contiguous array. */
typedef struct gather {
  qg_ival small[8];
  qg_ival *v;
} gather;

static qg_status gather_init(gather *g, size_t n) {
  g->v = n <= 8 ? g->small : qg__calloc(n, sizeof(qg_ival));
  if (!g->v) return qg_oom("interpreter arguments");
  for (size_t i = 0; i < n; i++) g->v[i] = qg_ival_none();
  return QG_OK;
}

static void gather_free(gather *g) {
  if (g->v != g->small) qg__free(g->v);
}

static qg_status run_op(qg_exec *ex, frame *fr, const qg__pnode *pn) {
  gather args, outs;
  QG_TRY(gather_init(&args, pn->nin));
  qg_status st = gather_init(&outs, pn->nout);
  if (st != QG_OK) {
    gather_free(&args);
    return st;
  }
  for (uint32_t i = 0; i < pn->nin; i++) args.v[i] = fr->slots[pn->in[i]];
  qg_op_call c = {pn->node, pn->schema, args.v, pn->nin, outs.v, pn->nout, ex};
  st = pn->impl(&c);
  for (uint32_t i = 0; i < pn->nout; i++) {
    if (st == QG_OK) set_slot(fr, pn->out[i], outs.v[i]);
    else qg_ival_release(&outs.v[i]);
  }
  gather_free(&args);
  gather_free(&outs);
  return st;
}

/* Calls graph g with the node's inputs from `first` on (CallMethod: self included). */
static qg_status run_call(qg_exec *ex, frame *fr, const qg__pnode *pn, const qg_graph_t *g, uint32_t first,
                          const qg_ival *self, const char *what) {
  gather args, outs;
  QG_TRY(gather_init(&args, pn->nin - first));
  qg_status st = gather_init(&outs, pn->nout);
  if (st != QG_OK) {
    gather_free(&args);
    return st;
  }
  for (uint32_t i = first; i < pn->nin; i++) args.v[i - first] = fr->slots[pn->in[i]];
  if (qg_graph_noutputs(g) != pn->nout) {
    st = qg_set_error(QG_STATUS_TYPE, "the callee returns %zu values, the node expects %u", qg_graph_noutputs(g),
                      pn->nout);
  } else {
    st = qg__exec_graph(ex, g, args.v, pn->nin - first, self, what, outs.v);
  }
  for (uint32_t i = 0; i < pn->nout; i++) {
    if (st == QG_OK) set_slot(fr, pn->out[i], outs.v[i]);
    else qg_ival_release(&outs.v[i]);
  }
  gather_free(&args);
  gather_free(&outs);
  return st;
}

/* A native method (native.h): the node's inputs after the object are its arguments. */
static qg_status run_native(frame *fr, const qg__pnode *pn, qg_ival *obj, const qg_method *m) {
  const qg_native_method_impl *impl = qg_native_find(obj->u.obj->type, m->name);
  if (!impl)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s.%s is declared native but no implementation is registered",
                        obj->u.obj->type->qualname, m->name);
  if (pn->nout != 1)
    return qg_set_error(QG_STATUS_LINT, "a call of native method %s must have one output", m->name);
  gather args;
  QG_TRY(gather_init(&args, pn->nin - 1));
  for (uint32_t i = 1; i < pn->nin; i++) args.v[i - 1] = fr->slots[pn->in[i]];
  qg_ival r = qg_ival_none();
  qg_status st = impl->fn(obj, args.v, pn->nin - 1, &r);
  gather_free(&args);
  if (st == QG_OK) set_slot(fr, pn->out[0], r);
  else qg_ival_release(&r);
  return st;
}

static qg_status object_input(const frame *fr, const qg__pnode *pn, qg_ival **obj) {
  qg_ival *v = &fr->slots[pn->in[0]];
  if (v->kind != QG_IVAL_OBJECT)
    return qg_set_error(QG_STATUS_TYPE, "expected an object, got %s", qg_ival_kind_name(v->kind));
  *obj = v;
  return QG_OK;
}

static qg_status find_slot(qg__pnode *pn, const qg_ival *obj, long *slot) {
  const qg_type_t *cls = obj->u.obj->type;
  if (pn->cache_cls != cls) {
    long s = qg_class_find_slot(cls, pn->name);
    if (s < 0 || (size_t)s >= obj->u.obj->nslots)
      return qg_set_error(QG_STATUS_NOT_FOUND, "object of class %s has no attribute '%s'", cls->qualname, pn->name);
    pn->cache_cls = cls;
    pn->cache_slot = s;
  }
  *slot = pn->cache_slot;
  return QG_OK;
}

static qg_status run_loop(qg_exec *ex, frame *fr, const qg__pnode *pn) {
  const qg_ival *trip = &fr->slots[pn->in[0]], *cond0 = &fr->slots[pn->in[1]];
  if (trip->kind != QG_IVAL_INT || cond0->kind != QG_IVAL_BOOL)
    return qg_set_error(QG_STATUS_TYPE, "prim::Loop needs (int, bool) trip count and condition, got (%s, %s)",
                        qg_ival_kind_name(trip->kind), qg_ival_kind_name(cond0->kind));
  const qg__pblock *body = &pn->blocks[0];
  uint32_t ncar = pn->nin - 2;
  if (body->nin != ncar + 1 || body->nout != ncar + 1 || pn->nout != ncar)
    return qg_set_error(QG_STATUS_LINT, "prim::Loop arity mismatch");
  gather car;
  QG_TRY(gather_init(&car, ncar));
  for (uint32_t k = 0; k < ncar; k++) car.v[k] = qg_ival_copy(fr->slots[pn->in[2 + k]]);
  int64_t max = trip->u.i;
  int cond = cond0->u.b;
  qg_status st = QG_OK;
  for (int64_t i = 0; cond && i < max; i++) {
    set_slot(fr, body->in[0], qg_ival_int(i));
    for (uint32_t k = 0; k < ncar; k++) {
      set_slot(fr, body->in[1 + k], car.v[k]);
      car.v[k] = qg_ival_none();
    }
    st = run_block(ex, fr, body);
    if (st == QG_OK) {
      const qg_ival *c = &fr->slots[body->out[0]];
      if (c->kind != QG_IVAL_BOOL) {
        st = qg_set_error(QG_STATUS_TYPE, "prim::Loop condition must be bool, got %s", qg_ival_kind_name(c->kind));
      } else {
        cond = c->u.b;
        for (uint32_t k = 0; k < ncar; k++) car.v[k] = qg_ival_copy(fr->slots[body->out[1 + k]]);
      }
    }
    release_slots(fr, body->dead, body->ndead);
    if (st != QG_OK) break;
  }
  for (uint32_t k = 0; k < ncar; k++) {
    if (st == QG_OK) set_slot(fr, pn->out[k], car.v[k]);
    else qg_ival_release(&car.v[k]);
  }
  gather_free(&car);
  return st;
}

static qg_status run_node(qg_exec *ex, frame *fr, qg__pnode *pn) {
  switch (pn->kind) {
  case QG_P_OP: return run_op(ex, fr, pn);
  case QG_P_CONSTANT:
    if (pn->missing) return qg_set_error(QG_STATUS_UNSUPPORTED, "%s", pn->missing);
    if (pn->nout) set_slot(fr, pn->out[0], qg_ival_copy(pn->constant));
    return QG_OK;
  case QG_P_GETATTR: {
    qg_ival *obj = NULL;
    long s = 0;
    QG_TRY(object_input(fr, pn, &obj));
    QG_TRY(find_slot(pn, obj, &s));
    set_slot(fr, pn->out[0], qg_ival_copy(obj->u.obj->slots[s]));
    return QG_OK;
  }
  case QG_P_SETATTR: {
    qg_ival *obj = NULL;
    long s = 0;
    QG_TRY(object_input(fr, pn, &obj));
    QG_TRY(find_slot(pn, obj, &s));
    qg_ival_object_set(obj, (size_t)s, qg_ival_copy(fr->slots[pn->in[1]]));
    return QG_OK;
  }
  case QG_P_IF: {
    const qg_ival *c = &fr->slots[pn->in[0]];
    if (c->kind != QG_IVAL_BOOL)
      return qg_set_error(QG_STATUS_TYPE, "prim::If condition must be bool, got %s", qg_ival_kind_name(c->kind));
    const qg__pblock *b = &pn->blocks[c->u.b ? 0 : 1];
    qg_status st = run_block(ex, fr, b);
    if (st == QG_OK)
      for (uint32_t k = 0; k < pn->nout && k < b->nout; k++) set_slot(fr, pn->out[k], qg_ival_copy(fr->slots[b->out[k]]));
    release_slots(fr, b->dead, b->ndead);
    return st;
  }
  case QG_P_LOOP: return run_loop(ex, fr, pn);
  case QG_P_CALLMETHOD: {
    qg_ival *obj = NULL;
    QG_TRY(object_input(fr, pn, &obj));
    const qg_method *m = qg_class_find_method(obj->u.obj->type, pn->name);
    if (m && m->is_native) return run_native(fr, pn, obj, m);
    if (!m || !m->graph)
      return qg_set_error(QG_STATUS_NOT_FOUND, "object of class %s has no method '%s'", obj->u.obj->type->qualname,
                          pn->name);
    /* obj stays alive during the call: it is this node's input, released only after it. */
    return run_call(ex, fr, pn, m->graph, 0, obj, m->name);
  }
  case QG_P_CALLFUNCTION: return run_call(ex, fr, pn, pn->callee, 1, NULL, pn->name);
  case QG_P_SUBGRAPH: {
    if (!pn->wrap_future) return run_call(ex, fr, pn, pn->callee, 0, fr->self, fr->what);
    if (pn->nout != 1 || qg_graph_noutputs(pn->callee) != 1)
      return qg_set_error(QG_STATUS_LINT, "prim::fork must have one output and a one-output subgraph");
    gather args;
    QG_TRY(gather_init(&args, pn->nin));
    for (uint32_t i = 0; i < pn->nin; i++) args.v[i] = fr->slots[pn->in[i]];
    qg_ival r = qg_ival_none(), fut;
    qg_status st = qg__exec_graph(ex, pn->callee, args.v, pn->nin, fr->self, fr->what, &r);
    gather_free(&args);
    if (st == QG_OK) st = qg_ival_future_new(r, &fut);
    if (st == QG_OK) set_slot(fr, pn->out[0], fut);
    return st;
  }
  case QG_P_MISSING:
  default:
    return qg_set_error(pn->schema || !qg_op_is_known(pn->node->kind) ? QG_STATUS_UNKNOWN_OP : QG_STATUS_UNSUPPORTED,
                        "%s", pn->missing ? pn->missing : "cannot run this node");
  }
}

static qg_status run_block(qg_exec *ex, frame *fr, const qg__pblock *b) {
  for (size_t i = 0; i < b->nnodes; i++) {
    qg__pnode *pn = &b->nodes[i];
    qg_status st = run_node(ex, fr, pn);
    if (st != QG_OK) return locate(ex, fr, pn->node, st);
    release_slots(fr, pn->dead, pn->ndead);
  }
  return QG_OK;
}

qg_status qg__exec_graph(qg_exec *ex, const qg_graph_t *g, const qg_ival *inputs, size_t ninputs,
                         const qg_ival *self_obj, const char *what, qg_ival *outputs) {
  qg__plan *plan;
  QG_TRY(qg__runner_plan(ex->runner, g, &plan));
  frame fr = {NULL, plan, self_obj, what};
  if (ninputs != plan->top.nin) {
    qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s() expects %u inputs, got %zu", what, plan->top.nin, ninputs);
    return locate(ex, &fr, NULL, QG_STATUS_INVALID_ARGUMENT);
  }
  if (++ex->depth > QG_MAX_CALL_DEPTH) {
    ex->depth--;
    qg_set_error(QG_STATUS_RUNTIME, "maximum call depth (%d) exceeded", QG_MAX_CALL_DEPTH);
    return locate(ex, &fr, NULL, QG_STATUS_RUNTIME);
  }
  fr.slots = qg__calloc(plan->nslots ? plan->nslots : 1, sizeof(qg_ival));
  if (!fr.slots) {
    ex->depth--;
    return qg_oom("an interpreter frame");
  }
  for (size_t i = 0; i < ninputs; i++) fr.slots[plan->top.in[i]] = qg_ival_copy(inputs[i]);
  qg_status st = run_block(ex, &fr, &plan->top);
  if (st == QG_OK)
    for (uint32_t k = 0; k < plan->top.nout; k++) outputs[k] = qg_ival_copy(fr.slots[plan->top.out[k]]);
  for (size_t i = 0; i < plan->nslots; i++) qg_ival_release(&fr.slots[i]);
  qg__free(fr.slots);
  ex->depth--;
  return st;
}
