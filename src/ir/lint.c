/* qg_graph_lint: every structural invariant of the IR, reporting the first violation with the
 * node it concerns; and qg_graph_walk. Checked (cf. PyTorch's Graph::lint):
 *   - sentinels: each block's param / ret nodes are prim::Param / prim::Return owned by the
 *     block, param has no inputs, ret no outputs, neither has blocks; the list is circular
 *     through ret with consistent prev/next and owner pointers and strictly increasing topo;
 *   - ownership: blocks point to their graph and owning node, nodes to their graph;
 *   - values: non-NULL type, producer/offset match, names registered and unique;
 *   - uses: each input has exactly one matching use, each use points at a matching input of a
 *     node that is in a block;
 *   - scope: inputs are defined earlier in the same block or an enclosing one (a node's own
 *     outputs are not visible inside its blocks);
 *   - arity: prim::If has 2 blocks whose output counts equal its outputs; prim::Loop has 1
 *     block, inputs (trip count, condition, carried...), block inputs (iteration, carried...),
 *     block outputs (condition, carried...);
 *   - graph attributes (Note [Graph attributes]): each graph is non-NULL, records this node as
 *     its parent, is in the same unit, holds no unit reference, and lints clean itself;
 *   - the insertion point is a node in a block of the graph. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "ir/ir_impl.h"

typedef struct linter {
  const qg_graph_t *g;
  qg__ptrmap scope;                 /* values visible here */
  QG_VEC(const qg_value_t *) stack; /* definition order, popped on block exit */
  qg__ptrmap blocks;                /* blocks seen (detects a block shared by two nodes) */
  size_t nodes_seen;
} linter;

static qg_status violation(const qg_node_t *n, const char *fmt, ...) QG_PRINTF(2, 3);
static qg_status violation(const qg_node_t *n, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  qg_strbuf b = QG_STRBUF_INIT;
  if (n) qg__node_describe(n, &b);
  qg_status st = qg_set_error(QG_STATUS_LINT, "lint: %s%s%s", n ? "node " : "", n ? qg_strbuf_cstr(&b) : "", msg);
  qg_strbuf_free(&b);
  return st;
}

static const char *vname(const qg_value_t *v, char *buf, size_t n) {
  if (v->name) return v->name;
  snprintf(buf, n, "%llu", (unsigned long long)v->unique);
  return buf;
}

static qg_status define(linter *l, const qg_node_t *n, const qg_value_t *v, uint32_t i) {
  char nb[32];
  if (!v) return violation(n, ": output %u is NULL", i);
  if (v->node != n || v->offset != i)
    return violation(n, ": output %u (%%%s) records producer offset %u of another node", i, vname(v, nb, sizeof nb),
                     v->offset);
  if (!v->type) return violation(n, ": output %u (%%%s) has no type", i, vname(v, nb, sizeof nb));
  if (v->name && qg_hashmap_get(&l->g->names, v->name) != v)
    return violation(n, ": output %u is named '%s' but the graph's name table does not map that name to it", i,
                     v->name);
  if (qg__ptrmap_has(&l->scope, v))
    return violation(n, ": output %u (%%%s) is defined twice", i, vname(v, nb, sizeof nb));
  for (uint32_t u = 0; u < v->nuses; u++) {
    const qg_use_t *use = &v->uses[u];
    if (!use->user || use->user->kind == QG_SYM_NONE || !use->user->owner || use->user->graph != l->g)
      return violation(n, ": output %u (%%%s) has use %u by a node that is not in the graph", i,
                       vname(v, nb, sizeof nb), u);
    if (use->offset >= use->user->ninputs || use->user->inputs[use->offset] != v)
      return violation(n, ": output %u (%%%s) has use %u at input %u of %s, which is not this value", i,
                       vname(v, nb, sizeof nb), u, use->offset, qg_sym_str(use->user->kind));
    for (uint32_t w = 0; w < u; w++)
      if (v->uses[w].user == use->user && v->uses[w].offset == use->offset)
        return violation(n, ": output %u (%%%s) lists the same use twice", i, vname(v, nb, sizeof nb));
  }
  if (qg__ptrmap_put(&l->scope, v, (void *)v) != 0 || QG_VEC_PUSH(&l->stack, v) != 0) return qg_oom("lint scope");
  return QG_OK;
}

static qg_status check_inputs(linter *l, const qg_node_t *n) {
  char nb[32];
  for (uint32_t i = 0; i < n->ninputs; i++) {
    const qg_value_t *v = n->inputs[i];
    if (!v) return violation(n, ": input %u is NULL", i);
    if (!v->node) return violation(n, ": input %u is a destroyed value", i);
    if (!qg__ptrmap_has(&l->scope, v))
      return violation(n, ": input %u (%%%s) is not defined before this node in an enclosing scope", i,
                       vname(v, nb, sizeof nb));
    uint32_t found = 0;
    for (uint32_t u = 0; u < v->nuses; u++) found += v->uses[u].user == n && v->uses[u].offset == i;
    if (found != 1)
      return violation(n, ": input %u (%%%s) has %u matching entries in its use list (expected 1)", i,
                       vname(v, nb, sizeof nb), found);
  }
  return QG_OK;
}

static qg_status check_block(linter *l, const qg_block_t *b, const qg_node_t *owner);

static qg_status check_arity(const qg_node_t *n) {
  if (n->kind == QG_SYM_prim_If) {
    if (n->nblocks != 2) return violation(n, ": prim::If must have 2 blocks, has %u", n->nblocks);
    for (uint32_t i = 0; i < 2; i++)
      if (qg_block_noutputs(n->blocks[i]) != n->noutputs)
        return violation(n, ": block %u of prim::If has %zu outputs but the node has %u", i,
                         qg_block_noutputs(n->blocks[i]), n->noutputs);
  } else if (n->kind == QG_SYM_prim_Loop) {
    if (n->nblocks != 1) return violation(n, ": prim::Loop must have 1 block, has %u", n->nblocks);
    if (n->ninputs < 2) return violation(n, ": prim::Loop needs a trip count and a condition input");
    size_t carried = n->ninputs - 2;
    const qg_block_t *body = n->blocks[0];
    if (n->noutputs != carried)
      return violation(n, ": prim::Loop has %zu carried inputs but %u outputs", carried, n->noutputs);
    if (qg_block_ninputs(body) != carried + 1)
      return violation(n, ": prim::Loop body has %zu inputs, expected %zu (iteration + carried)",
                       qg_block_ninputs(body), carried + 1);
    if (qg_block_noutputs(body) != carried + 1)
      return violation(n, ": prim::Loop body has %zu outputs, expected %zu (condition + carried)",
                       qg_block_noutputs(body), carried + 1);
  }
  return QG_OK;
}

static qg_status check_subgraph(linter *l, const qg_node_t *n, const qg_attr *a, const qg_graph_t *sub, size_t i) {
  const char *nm = qg_sym_str(a->name);
  char idx[32] = "";
  if (a->kind == QG_ATTR_GRAPHS) snprintf(idx, sizeof idx, "[%zu]", i);
  if (!sub) return violation(n, ": graph attribute '%s'%s is NULL", nm, idx);
  if (sub == l->g) return violation(n, ": graph attribute '%s'%s is the node's own graph", nm, idx);
  if (sub->parent != n)
    return violation(n, ": graph attribute '%s'%s does not record this node as its parent", nm, idx);
  if (sub->cu != l->g->cu) return violation(n, ": graph attribute '%s'%s belongs to another unit", nm, idx);
  if (sub->holds_cu_ref)
    return violation(n, ": graph attribute '%s'%s holds a reference to its unit (it would never be freed)", nm, idx);
  qg_status st = qg_graph_lint(sub);
  if (st == QG_OK) return QG_OK;
  qg_strbuf b = QG_STRBUF_INIT;
  qg__node_describe(n, &b);
  st = qg_error_prefix(st, "in graph attribute '%s'%s of node %s", nm, idx, qg_strbuf_cstr(&b));
  qg_strbuf_free(&b);
  return st;
}

static qg_status check_node(linter *l, const qg_node_t *n) {
  if (n->graph != l->g) return violation(n, ": belongs to another graph");
  for (uint32_t i = 0; i < n->nattrs; i++) {
    const qg_attr *a = &n->attrs[i];
    if (a->kind == QG_ATTR_GRAPH) QG_TRY(check_subgraph(l, n, a, a->g, 0));
    if (a->kind == QG_ATTR_GRAPHS) {
      if (!a->gs) return violation(n, ": graph list attribute '%s' has no array", qg_sym_str(a->name));
      for (size_t k = 0; k < a->n; k++) QG_TRY(check_subgraph(l, n, a, a->gs[k], k));
    }
  }
  QG_TRY(check_inputs(l, n));
  for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(check_block(l, n->blocks[i], n));
  QG_TRY(check_arity(n));
  for (uint32_t i = 0; i < n->noutputs; i++) QG_TRY(define(l, n, n->outputs[i], i));
  return QG_OK;
}

static qg_status check_block(linter *l, const qg_block_t *b, const qg_node_t *owner) {
  if (!b) return violation(owner, ": has a NULL block");
  if (b->graph != l->g) return violation(owner, ": has a block of another graph");
  if (b->owning_node != owner)
    return violation(owner ? owner : b->ret, ": block's owning node pointer is wrong");
  if (qg__ptrmap_has(&l->blocks, b)) return violation(owner, ": a block appears twice in the graph");
  if (qg__ptrmap_put(&l->blocks, b, (void *)b) != 0) return qg_oom("lint");
  const qg_node_t *p = b->param, *r = b->ret;
  if (!p || !r) return violation(owner, ": block without sentinel nodes");
  if (p->kind != QG_SYM_prim_Param || p->owner != b || p->graph != l->g)
    return violation(p, ": block's param sentinel has the wrong kind, owner or graph");
  if (r->kind != QG_SYM_prim_Return || r->owner != b || r->graph != l->g)
    return violation(r, ": block's return sentinel has the wrong kind, owner or graph");
  if (p->ninputs || p->nblocks) return violation(p, ": param sentinel has inputs or blocks");
  if (r->noutputs || r->nblocks) return violation(r, ": return sentinel has outputs or blocks");
  size_t mark = l->stack.len;
  for (uint32_t i = 0; i < p->noutputs; i++) QG_TRY(define(l, p, p->outputs[i], i));
  const qg_node_t *prev = r;
  for (const qg_node_t *n = r->next;; n = n->next) {
    if (!n) return violation(prev, ": next pointer is NULL");
    if (n->prev != prev) return violation(n, ": prev pointer does not point to the previous node");
    if (n == r) break;
    if (++l->nodes_seen > l->g->live_nodes) return violation(n, ": the node list has a cycle");
    if (n->kind == QG_SYM_NONE) return violation(prev, ": next node is a destroyed node");
    if (n->owner != b) return violation(n, ": owner is not the block that lists it");
    if (n == p) return violation(n, ": param sentinel is in the node list");
    if (prev != r && prev->topo >= n->topo)
      return violation(n, ": topological position %lld is not after the previous node's %lld", (long long)n->topo,
                       (long long)prev->topo);
    QG_TRY(check_node(l, n));
    prev = n;
  }
  QG_TRY(check_inputs(l, r));
  /* Leave the block: its values go out of scope. */
  while (l->stack.len > mark) qg__ptrmap_del(&l->scope, l->stack.data[--l->stack.len]);
  return QG_OK;
}

qg_status qg_graph_lint(const qg_graph_t *g) {
  linter l = {g, {0}, {0}, {0}, 0};
  qg_status st = check_block(&l, g->top, NULL);
  if (st == QG_OK) {
    const qg_node_t *ip = g->insert_point;
    if (!ip || ip->graph != g || ip->kind == QG_SYM_NONE || !ip->owner || ip == ip->owner->param)
      st = violation(NULL, "the insertion point is not a node in a block of the graph");
  }
  if (st == QG_OK) {
    /* Every registered name belongs to a live value that carries it. */
    for (size_t i = 0; i < g->names.cap && st == QG_OK; i++) {
      const qg_hashmap_entry *e = &g->names.slots[i];
      if (!e->key || e->key == (const char *)1) continue;
      const qg_value_t *v = e->value;
      if (!v || !v->node || !v->name || strcmp(v->name, e->key) != 0)
        st = violation(NULL, "the name table maps '%s' to a value that is not named so", e->key);
    }
  }
  qg__ptrmap_free(&l.scope);
  qg__ptrmap_free(&l.blocks);
  QG_VEC_FREE(&l.stack);
  return st;
}

static int walk_block(const qg_block_t *b, int (*fn)(qg_node_t *n, void *ud), void *ud) {
  for (qg_node_t *n = b->ret->next, *next; n != b->ret; n = next) {
    next = n->next;
    int r = fn(n, ud);
    if (r) return r;
    for (uint32_t i = 0; i < n->nblocks; i++)
      if ((r = walk_block(n->blocks[i], fn, ud))) return r;
  }
  return 0;
}

int qg_graph_walk(const qg_graph_t *g, int (*fn)(qg_node_t *n, void *ud), void *ud) {
  return walk_block(g->top, fn, ud);
}
