/* Graph -> plan (interp_impl.h): value slots, per-node schema overload and implementation,
 * constants evaluated once, and the slots each node releases after it runs.
 *
 * Overload resolution follows TorchScript's Node::matches / matchSchema: the overloads of the
 * node's op are tried in registration order (ops.def keeps it) and the first whose argument
 * count and argument types accept the static types of the node's inputs wins. Graph nodes
 * carry every argument positionally (kwarg-only ones included), so no defaults are filled in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/text.h"
#include "runtime/interp_impl.h"
#include "tensor/tensor_ops.h"

/* ---- type matching ------------------------------------------------------------------------- */

static int is_int_like(qg_type_kind k) {
  return k == QG_TYPE_INT || k == QG_TYPE_SCALAR_TYPE || k == QG_TYPE_LAYOUT || k == QG_TYPE_MEMORY_FORMAT;
}

int qg__type_matches(const qg_type_t *f, const qg_type_t *a) {
  switch (f->kind) {
  case QG_TYPE_ANY:
  case QG_TYPE_VAR: return 1;
  case QG_TYPE_TENSOR:
  case QG_TYPE_TENSOR_DETAILED: return qg_type_is_tensor(a);
  case QG_TYPE_INT:
  case QG_TYPE_SCALAR_TYPE:
  case QG_TYPE_LAYOUT:
  case QG_TYPE_MEMORY_FORMAT: return is_int_like(a->kind);
  case QG_TYPE_NUMBER:
    return a->kind == QG_TYPE_INT || a->kind == QG_TYPE_FLOAT || a->kind == QG_TYPE_COMPLEX ||
           a->kind == QG_TYPE_NUMBER;
  case QG_TYPE_OPTIONAL:
    if (a->kind == QG_TYPE_NONE) return 1;
    if (a->kind == QG_TYPE_OPTIONAL) return qg__type_matches(f->elems[0], a->elems[0]);
    return qg__type_matches(f->elems[0], a);
  case QG_TYPE_LIST: return a->kind == QG_TYPE_LIST && qg__type_matches(f->elems[0], a->elems[0]);
  case QG_TYPE_FUTURE: return a->kind == QG_TYPE_FUTURE && qg__type_matches(f->elems[0], a->elems[0]);
  case QG_TYPE_RREF: return a->kind == QG_TYPE_RREF && qg__type_matches(f->elems[0], a->elems[0]);
  case QG_TYPE_DICT:
    return a->kind == QG_TYPE_DICT && qg__type_matches(f->elems[0], a->elems[0]) &&
           qg__type_matches(f->elems[1], a->elems[1]);
  case QG_TYPE_TUPLE:
    if (a->kind != QG_TYPE_TUPLE || a->nelems != f->nelems) return 0;
    for (size_t i = 0; i < f->nelems; i++)
      if (!qg__type_matches(f->elems[i], a->elems[i])) return 0;
    return 1;
  case QG_TYPE_UNION:
    if (a->kind == QG_TYPE_UNION) {
      for (size_t i = 0; i < a->nelems; i++)
        if (!qg__type_matches(f, a->elems[i])) return 0;
      return 1;
    }
    for (size_t i = 0; i < f->nelems; i++)
      if (qg__type_matches(f->elems[i], a)) return 1;
    return 0;
  case QG_TYPE_CLASS:
    return (a->kind == QG_TYPE_CLASS || a->kind == QG_TYPE_INTERFACE) && strcmp(f->qualname, a->qualname) == 0;
  case QG_TYPE_INTERFACE: return a->kind == QG_TYPE_CLASS || a->kind == QG_TYPE_INTERFACE;
  case QG_TYPE_FUNCTION:
  case QG_TYPE_FUNCTION_ANY: return a->kind == QG_TYPE_FUNCTION || a->kind == QG_TYPE_FUNCTION_ANY;
  default: return a->kind == f->kind;
  }
}

const qg_schema_t *qg__match_schema(const qg_node_t *n) {
  size_t count = 0;
  const qg_schema_t *const *ov = qg_op_overloads(n->kind, &count);
  for (size_t k = 0; k < count; k++) {
    const qg_schema_t *s = ov[k];
    if (s->flags & QG_OP_SPECIAL) return s;
    if (s->is_vararg ? n->ninputs < s->nargs : n->ninputs != s->nargs) continue;
    size_t i = 0;
    for (; i < s->nargs; i++) {
      /* Enum overloads (eq.enum) take enum values only; quantgraph graphs never carry enums. */
      if (s->args[i].type_str && strncmp(s->args[i].type_str, "AnyEnumType", 11) == 0) break;
      if (!qg__type_matches(s->args[i].type, n->inputs[i]->type)) break;
    }
    if (i == s->nargs) return s;
  }
  return NULL;
}

/* ---- building ------------------------------------------------------------------------------ */

typedef struct builder {
  qg__plan *plan;
  qg__ptrmap slots; /* value -> slot + 1 */
  qg__ptrmap index; /* node -> index in its block's pnode array + 1 */
  qg_cu_t *cu;
} builder;

static qg_status slot_of(builder *b, const qg_value_t *v, uint32_t *out) {
  uintptr_t s = (uintptr_t)qg__ptrmap_get(&b->slots, v);
  if (!s) {
    s = ++b->plan->nslots;
    if (qg__ptrmap_put(&b->slots, v, (void *)s)) return qg_oom("a plan value map");
  }
  *out = (uint32_t)(s - 1);
  return QG_OK;
}

static qg_status slots_of(builder *b, qg_value_t *const *vals, uint32_t n, uint32_t **out) {
  *out = NULL;
  if (!n) return QG_OK;
  uint32_t *a = qg__calloc(n, sizeof *a);
  if (!a) return qg_oom("plan slots");
  *out = a;
  for (uint32_t i = 0; i < n; i++) QG_TRY(slot_of(b, vals[i], &a[i]));
  return QG_OK;
}

/* "cpu", "cuda", "cuda:1" */
static int parse_device(const char *s, qg_device *d) {
  if (strcmp(s, "cpu") == 0) {
    d->kind = QG_DEVICE_CPU;
    d->index = -1;
    return 0;
  }
  if (strncmp(s, "cuda", 4) == 0) {
    d->kind = QG_DEVICE_CUDA;
    d->index = -1;
    if (s[4] == '\0') return 0;
    if (s[4] != ':' || s[5] < '0' || s[5] > '9') return -1;
    char *end;
    long idx = strtol(s + 5, &end, 10);
    if (*end || idx > 1000) return -1;
    d->index = (int)idx;
    return 0;
  }
  return -1;
}

/* prim::Constant's value from its attribute and output type (Note [Constants in graph text]). */
static qg_status eval_constant(qg__pnode *pn) {
  const qg_node_t *n = pn->node;
  const qg_type_t *ty = n->noutputs ? n->outputs[0]->type : qg_type_none();
  qg_sym_t value_sym = qg_sym_lookup("value");
  const qg_attr *a = value_sym ? qg_node_attr(n, value_sym) : NULL;
  pn->constant = qg_ival_none();
  if (!a) {
    /* None, or a function constant (`prim::Constant[name="f"]`: resolved by CallFunction). */
    pn->name = qg_node_s(n, "name");
    return QG_OK;
  }
  switch (a->kind) {
  case QG_ATTR_INT:
    pn->constant = ty->kind == QG_TYPE_BOOL ? qg_ival_bool(a->i != 0) : qg_ival_int(a->i);
    return QG_OK;
  case QG_ATTR_FLOAT: pn->constant = qg_ival_double(a->f); return QG_OK;
  case QG_ATTR_STRING:
    if (ty->kind == QG_TYPE_DEVICE) {
      qg_device d;
      if (parse_device(a->s, &d)) pn->missing = "unknown device string";
      else pn->constant = qg_ival_device(d);
      return QG_OK;
    }
    return qg_ival_string_new(a->s, strlen(a->s), &pn->constant);
  case QG_ATTR_TENSOR:
    if (qg_tensor_numel(a->t) == 0 && !a->t->storage) {
      pn->missing = "tensor constant without data (`<Tensor>`: the bundle format does not carry constant "
                    "tensors yet)";
      return QG_OK;
    }
    qg_tensor_retain(a->t);
    pn->constant = qg_ival_tensor(a->t);
    return QG_OK;
  case QG_ATTR_INTS:
  case QG_ATTR_FLOATS:
  case QG_ATTR_STRINGS:
  case QG_ATTR_TENSORS: {
    int bools = ty->kind == QG_TYPE_LIST && ty->elems[0]->kind == QG_TYPE_BOOL;
    qg_ival l;
    QG_TRY(qg_ival_list_new(QG_IVAL_LIST, a->n, &l));
    qg_status st = QG_OK;
    for (size_t i = 0; i < a->n && st == QG_OK; i++) {
      qg_ival item = qg_ival_none();
      switch (a->kind) {
      case QG_ATTR_INTS: item = bools ? qg_ival_bool(a->is[i] != 0) : qg_ival_int(a->is[i]); break;
      case QG_ATTR_FLOATS: item = qg_ival_double(a->fs[i]); break;
      case QG_ATTR_STRINGS: st = qg_ival_string_new(a->ss[i], strlen(a->ss[i]), &item); break;
      default:
        qg_tensor_retain(a->ts[i]);
        item = qg_ival_tensor(a->ts[i]);
        break;
      }
      if (st == QG_OK) st = qg_ival_list_push(&l, item);
    }
    if (st != QG_OK) {
      qg_ival_release(&l);
      return st;
    }
    l.u.list->type = ty;
    pn->constant = l;
    return QG_OK;
  }
  default: pn->missing = "constant of an unsupported kind"; return QG_OK;
  }
}

static const qg_graph_t *resolve_function(builder *b, const qg_node_t *n, const char **why, const char **qualname) {
  (void)b;
  return qg_callee_graph(n, qualname, why);
}

static qg_status build_block(builder *b, const qg_block_t *blk, qg__pblock *pb);

static qg_status build_node(builder *b, const qg_node_t *n, qg__pnode *pn) {
  pn->node = n;
  pn->cache_slot = -1;
  QG_TRY(slots_of(b, n->inputs, n->ninputs, &pn->in));
  pn->nin = n->ninputs;
  QG_TRY(slots_of(b, n->outputs, n->noutputs, &pn->out));
  pn->nout = n->noutputs;
  if (n->nblocks) {
    pn->blocks = qg__calloc(n->nblocks, sizeof *pn->blocks);
    if (!pn->blocks) return qg_oom("plan blocks");
    pn->nblocks = n->nblocks;
    for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(build_block(b, n->blocks[i], &pn->blocks[i]));
  }
  qg_sym_t subgraph_sym = qg_sym_lookup("Subgraph");
  const qg_graph_t *sub = subgraph_sym ? qg_node_g(n, subgraph_sym) : NULL;
  switch (n->kind) {
  case QG_SYM_prim_Constant: pn->kind = QG_P_CONSTANT; return eval_constant(pn);
  case QG_SYM_prim_GetAttr:
  case QG_SYM_prim_SetAttr:
  case QG_SYM_prim_CallMethod:
    pn->kind = n->kind == QG_SYM_prim_GetAttr   ? QG_P_GETATTR
               : n->kind == QG_SYM_prim_SetAttr ? QG_P_SETATTR
                                                : QG_P_CALLMETHOD;
    pn->name = qg_node_s(n, "name");
    if (!pn->name) {
      pn->kind = QG_P_MISSING;
      pn->missing = "node without a `name` attribute";
    }
    return QG_OK;
  case QG_SYM_prim_If: pn->kind = QG_P_IF; return QG_OK;
  case QG_SYM_prim_Loop: pn->kind = QG_P_LOOP; return QG_OK;
  case QG_SYM_prim_CallFunction:
    pn->kind = QG_P_CALLFUNCTION;
    pn->callee = resolve_function(b, n, &pn->missing, &pn->name);
    if (!pn->callee) pn->kind = QG_P_MISSING;
    return QG_OK;
  default: break;
  }
  if (sub) {
    pn->kind = QG_P_SUBGRAPH;
    pn->callee = sub;
    pn->wrap_future = n->kind == QG_SYM_prim_fork;
    return QG_OK;
  }
  pn->schema = qg__match_schema(n);
  if (!pn->schema) {
    pn->kind = QG_P_MISSING;
    pn->missing = qg_op_is_known(n->kind) ? "no overload of the op matches the argument types"
                                          : "unknown op";
    return QG_OK;
  }
  pn->impl = qg_op_impl_find(pn->schema);
  pn->kind = pn->impl ? QG_P_OP : QG_P_MISSING;
  if (!pn->impl) pn->missing = "the interpreter has no implementation of this op overload";
  return QG_OK;
}

static qg_status build_block(builder *b, const qg_block_t *blk, qg__pblock *pb) {
  size_t n = 0;
  for (qg_node_t *x = qg_block_first(blk); x != blk->ret; x = x->next) n++;
  QG_TRY(slots_of(b, blk->param->outputs, blk->param->noutputs, &pb->in));
  pb->nin = blk->param->noutputs;
  QG_TRY(slots_of(b, blk->ret->inputs, blk->ret->ninputs, &pb->out));
  pb->nout = blk->ret->ninputs;
  if (!n) return QG_OK;
  pb->nodes = qg__calloc(n, sizeof *pb->nodes);
  if (!pb->nodes) return qg_oom("plan nodes");
  size_t i = 0;
  for (qg_node_t *x = qg_block_first(blk); x != blk->ret; x = x->next, i++) {
    pb->nnodes = i + 1; /* so that a failure frees what was built */
    if (qg__ptrmap_put(&b->index, x, (void *)(uintptr_t)(i + 1))) return qg_oom("a plan node map");
    QG_TRY(build_node(b, x, &pb->nodes[i]));
  }
  return QG_OK;
}

/* ---- liveness: which node releases each value ------------------------------------------------ */

static qg_status push_u32(uint32_t **arr, uint32_t *n, uint32_t v) {
  uint32_t *a = qg__realloc(*arr, (*n + 1) * sizeof **arr);
  if (!a) return qg_oom("plan release lists");
  a[(*n)++] = v;
  *arr = a;
  return QG_OK;
}

/* v is defined in block blk (pb its plan). Its last use is the latest node of blk containing a
 * use (a use inside a nested block counts for the node owning that block: loop bodies run many
 * times). Values the block returns live until the block's end. */
static qg_status place_release(builder *b, const qg_block_t *blk, qg__pblock *pb, const qg_value_t *v) {
  uint32_t slot = 0;
  QG_TRY(slot_of(b, v, &slot));
  long last = -1;
  int at_end = v->nuses == 0 && v->node == blk->param;
  for (uint32_t u = 0; u < v->nuses && !at_end; u++) {
    const qg_node_t *user = v->uses[u].user;
    while (user && user->owner != blk) user = user->owner ? user->owner->owning_node : NULL;
    if (!user || user == blk->ret) {
      at_end = 1;
      break;
    }
    long idx = (long)(uintptr_t)qg__ptrmap_get(&b->index, user) - 1;
    if (idx > last) last = idx;
  }
  if (!at_end && last < 0) {
    /* Unused node output: released right after its node. */
    long idx = (long)(uintptr_t)qg__ptrmap_get(&b->index, v->node) - 1;
    if (idx < 0) at_end = 1;
    else last = idx;
  }
  if (at_end) return push_u32(&pb->dead, &pb->ndead, slot);
  qg__pnode *pn = &pb->nodes[last];
  return push_u32(&pn->dead, &pn->ndead, slot);
}

static qg_status liveness_block(builder *b, const qg_block_t *blk, qg__pblock *pb) {
  for (uint32_t i = 0; i < blk->param->noutputs; i++) QG_TRY(place_release(b, blk, pb, blk->param->outputs[i]));
  size_t i = 0;
  for (qg_node_t *x = qg_block_first(blk); x != blk->ret; x = x->next, i++) {
    for (uint32_t k = 0; k < x->noutputs; k++) QG_TRY(place_release(b, blk, pb, x->outputs[k]));
    for (uint32_t k = 0; k < x->nblocks; k++) QG_TRY(liveness_block(b, x->blocks[k], &pb->nodes[i].blocks[k]));
  }
  return QG_OK;
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static void free_block(qg__pblock *pb) {
  for (size_t i = 0; i < pb->nnodes; i++) {
    qg__pnode *pn = &pb->nodes[i];
    qg__free(pn->in);
    qg__free(pn->out);
    qg__free(pn->dead);
    for (uint32_t k = 0; k < pn->nblocks; k++) free_block(&pn->blocks[k]);
    qg__free(pn->blocks);
    qg_ival_release(&pn->constant);
  }
  qg__free(pb->nodes);
  qg__free(pb->in);
  qg__free(pb->out);
  qg__free(pb->dead);
}

void qg__plan_free(qg__plan *p) {
  if (!p) return;
  free_block(&p->top);
  qg__free(p);
}

qg_status qg__plan_build(const qg_graph_t *g, qg__plan **out) {
  QG_TRY(qg_op_registry_init());
  qg__plan *p = qg__calloc(1, sizeof *p);
  if (!p) return qg_oom("a plan");
  p->graph = g;
  builder b = {p, {0}, {0}, qg_graph_cu(g)};
  qg_status st = build_block(&b, qg_graph_block(g), &p->top);
  if (st == QG_OK) st = liveness_block(&b, qg_graph_block(g), &p->top);
  qg__ptrmap_free(&b.slots);
  qg__ptrmap_free(&b.index);
  if (st != QG_OK) {
    qg__plan_free(p);
    return st;
  }
  *out = p;
  return QG_OK;
}
