/* Nodes: creation, linking into blocks with topological positions, inputs / outputs / blocks,
 * destruction. Use lists are kept symmetric with inputs by every function here. */
#include <string.h>

#include "base/alloc.h"
#include "ir/ir_impl.h"

/* ---- use lists ------------------------------------------------------------------------- */

int qg__use_reserve(qg_value_t *v, size_t extra) {
  size_t cap = v->capuses;
  if (qg__grow((void **)&v->uses, &cap, (size_t)v->nuses + extra, sizeof *v->uses) != 0) return -1;
  v->capuses = (uint32_t)cap;
  return 0;
}

void qg__use_add(qg_value_t *v, qg_node_t *user, uint32_t offset) {
  QG_ASSERT(v->nuses < v->capuses);
  v->uses[v->nuses++] = (qg_use_t){user, offset};
}

static uint32_t find_use(const qg_value_t *v, const qg_node_t *user, uint32_t offset) {
  for (uint32_t i = 0; i < v->nuses; i++)
    if (v->uses[i].user == user && v->uses[i].offset == offset) return i;
  qg__abort(__FILE__, __LINE__, "use list out of sync: no use at input %u of %s", offset, qg_sym_str(user->kind));
}

/* Order is kept: passes that walk uses see them in creation order, as in PyTorch. */
void qg__use_remove(qg_value_t *v, const qg_node_t *user, uint32_t offset) {
  uint32_t i = find_use(v, user, offset);
  memmove(&v->uses[i], &v->uses[i + 1], (v->nuses - i - 1) * sizeof *v->uses);
  v->nuses--;
}

void qg__use_renumber(qg_value_t *v, const qg_node_t *user, uint32_t offset, uint32_t new_offset) {
  v->uses[find_use(v, user, offset)].offset = new_offset;
}

/* ---- topological positions (Note [Topological positions]) ------------------------------ */

#define APPEND_INTERVAL ((int64_t)1 << 40)

static void reindex(qg_block_t *b) {
  int64_t pos = INT64_MIN + APPEND_INTERVAL;
  for (qg_node_t *n = b->ret->next; n != b->ret; n = n->next) {
    n->topo = pos;
    /* 2^23 nodes at this spacing before wrapping; fall back to unit spacing beyond. */
    pos += pos < INT64_MAX - 2 * APPEND_INTERVAL ? APPEND_INTERVAL : 1;
  }
}

void qg__node_assign_topo(qg_node_t *n) {
  qg_block_t *b = n->owner;
  int is_first = n->prev == b->ret, is_last = n->next == b->ret;
  if (is_first && is_last) {
    n->topo = 0;
  } else if (is_last) {
    if (n->prev->topo >= INT64_MAX - APPEND_INTERVAL) return reindex(b);
    n->topo = n->prev->topo + APPEND_INTERVAL;
  } else if (is_first) {
    if (n->next->topo <= INT64_MIN + APPEND_INTERVAL) return reindex(b);
    n->topo = n->next->topo - APPEND_INTERVAL;
  } else {
    uint64_t gap = (uint64_t)n->next->topo - (uint64_t)n->prev->topo;
    if (gap <= 1) return reindex(b);
    n->topo = (int64_t)((uint64_t)n->prev->topo + gap / 2);
  }
}

/* Climbs from a until reaching a node in block `b` (NULL if a is not nested in b). */
static const qg_node_t *ancestor_in(const qg_node_t *a, const qg_block_t *b) {
  while (a && a->owner != b) a = a->owner ? a->owner->owning_node : NULL;
  return a;
}

int qg_node_is_before(const qg_node_t *a, const qg_node_t *b) {
  QG_ASSERT(a->owner && b->owner);
  if (a->owner == b->owner) return a != b && a->topo < b->topo;
  /* Different blocks: compare the ancestors that share a block, as PyTorch's isBefore. */
  for (const qg_node_t *x = a; x; x = x->owner->owning_node) {
    const qg_node_t *y = ancestor_in(b, x->owner);
    if (y) return x != y && x->topo < y->topo;
    if (!x->owner->owning_node) break;
  }
  return 0;
}

/* ---- linking --------------------------------------------------------------------------- */

static void link_before(qg_node_t *n, qg_node_t *ref) {
  QG_ASSERT(!n->owner && ref->owner && ref != ref->owner->param);
  QG_ASSERT(n->graph == ref->graph);
  n->owner = ref->owner;
  n->prev = ref->prev;
  n->next = ref;
  ref->prev->next = n;
  ref->prev = n;
  qg__node_assign_topo(n);
}

static void unlink_node(qg_node_t *n) {
  QG_ASSERT(n->owner && n != n->owner->param && n != n->owner->ret);
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = NULL;
  n->owner = NULL;
}

/* After `ref`; after a block's param node means first in the block. */
static qg_node_t *successor(qg_node_t *ref) {
  QG_ASSERT(ref->owner);
  if (ref == ref->owner->param) return ref->owner->ret->next;
  QG_ASSERT(ref != ref->owner->ret);
  return ref->next;
}

void qg_node_insert_before(qg_node_t *n, qg_node_t *ref) { link_before(n, ref); }
void qg_node_insert_after(qg_node_t *n, qg_node_t *ref) { link_before(n, successor(ref)); }

void qg_node_move_before(qg_node_t *n, qg_node_t *ref) {
  if (n == ref) return;
  unlink_node(n);
  link_before(n, ref);
}

void qg_node_move_after(qg_node_t *n, qg_node_t *ref) {
  if (n == ref) return;
  unlink_node(n);
  link_before(n, successor(ref));
}

/* ---- creation and destruction ---------------------------------------------------------- */

qg_status qg_node_create(qg_graph_t *g, qg_sym_t kind, size_t noutputs, qg_node_t **out) {
  *out = NULL;
  if (kind == QG_SYM_NONE) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "creating a node without a kind");
  qg_node_t *n = qg__node_alloc(g, kind);
  if (!n) return qg_oom("node");
  for (size_t i = 0; i < noutputs; i++) {
    qg_value_t *v;
    qg_status st = qg_node_add_output(n, qg_type_tensor(), &v);
    if (st != QG_OK) {
      qg_node_destroy(n);
      return st;
    }
  }
  *out = n;
  return QG_OK;
}

qg_status qg_graph_insert_new(qg_graph_t *g, qg_sym_t kind, size_t ninputs, qg_value_t *const *inputs,
                              size_t noutputs, qg_node_t **out) {
  qg_node_t *n;
  *out = NULL;
  QG_TRY(qg_node_create(g, kind, noutputs, &n));
  for (size_t i = 0; i < ninputs; i++) {
    qg_status st = qg_node_add_input(n, inputs[i]);
    if (st != QG_OK) {
      qg_node_destroy(n);
      return st;
    }
  }
  link_before(n, g->insert_point);
  *out = n;
  return QG_OK;
}

void qg_node_destroy(qg_node_t *n) {
  qg_graph_t *g = n->graph;
  QG_ASSERT(n->kind != QG_SYM_NONE);
  QG_ASSERT(!n->owner || (n != n->owner->param && n != n->owner->ret)); /* sentinels go with their block */
  for (uint32_t i = 0; i < n->noutputs; i++) {
    if (n->outputs[i]->nuses) {
      qg_strbuf b = QG_STRBUF_INIT;
      qg__node_describe(n, &b);
      qg__abort(__FILE__, __LINE__, "destroying node %s: output %u still has %u uses", qg_strbuf_cstr(&b), i,
                n->outputs[i]->nuses);
    }
  }
  qg_node_remove_all_inputs(n);
  for (uint32_t i = n->nblocks; i-- > 0;) qg__block_destroy(n->blocks[i]);
  for (uint32_t i = 0; i < n->noutputs; i++) qg__value_free(g, n->outputs[i]);
  if (n->owner) unlink_node(n);
  qg__node_free(g, n);
}

/* ---- inputs ---------------------------------------------------------------------------- */

static int reserve_inputs(qg_node_t *n, size_t need) {
  size_t cap = n->capinputs;
  if (qg__grow((void **)&n->inputs, &cap, need, sizeof *n->inputs) != 0) return -1;
  n->capinputs = (uint32_t)cap;
  return 0;
}

qg_status qg_node_insert_input(qg_node_t *n, size_t i, qg_value_t *v) {
  QG_ASSERT(v && v->node && v->node->graph == n->graph);
  if (i > n->ninputs)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "inserting input %zu of %s which has %u inputs", i,
                        qg_sym_str(n->kind), n->ninputs);
  if (reserve_inputs(n, (size_t)n->ninputs + 1) != 0 || qg__use_reserve(v, 1) != 0) return qg_oom("node input");
  for (uint32_t j = n->ninputs; j-- > i;) {
    qg__use_renumber(n->inputs[j], n, j, j + 1);
    n->inputs[j + 1] = n->inputs[j];
  }
  n->inputs[i] = v;
  n->ninputs++;
  qg__use_add(v, n, (uint32_t)i);
  return QG_OK;
}

qg_status qg_node_add_input(qg_node_t *n, qg_value_t *v) { return qg_node_insert_input(n, n->ninputs, v); }

qg_status qg_node_replace_input(qg_node_t *n, size_t i, qg_value_t *v) {
  QG_ASSERT(i < n->ninputs && v && v->node && v->node->graph == n->graph);
  qg_value_t *old = n->inputs[i];
  if (old == v) return QG_OK;
  if (qg__use_reserve(v, 1) != 0) return qg_oom("value use");
  qg__use_remove(old, n, (uint32_t)i);
  n->inputs[i] = v;
  qg__use_add(v, n, (uint32_t)i);
  return QG_OK;
}

qg_status qg_node_replace_input_with(qg_node_t *n, qg_value_t *from, qg_value_t *to) {
  size_t count = 0;
  if (from == to) return QG_OK;
  for (uint32_t i = 0; i < n->ninputs; i++) count += n->inputs[i] == from;
  if (count && qg__use_reserve(to, count) != 0) return qg_oom("value use");
  for (uint32_t i = 0; i < n->ninputs; i++) {
    if (n->inputs[i] != from) continue;
    qg__use_remove(from, n, i);
    n->inputs[i] = to;
    qg__use_add(to, n, i);
  }
  return QG_OK;
}

void qg_node_remove_input(qg_node_t *n, size_t i) {
  QG_ASSERT(i < n->ninputs);
  qg__use_remove(n->inputs[i], n, (uint32_t)i);
  for (uint32_t j = (uint32_t)i + 1; j < n->ninputs; j++) {
    qg__use_renumber(n->inputs[j], n, j, j - 1);
    n->inputs[j - 1] = n->inputs[j];
  }
  n->ninputs--;
}

void qg_node_remove_all_inputs(qg_node_t *n) {
  for (uint32_t i = 0; i < n->ninputs; i++) qg__use_remove(n->inputs[i], n, i);
  n->ninputs = 0;
}

/* ---- outputs and blocks ---------------------------------------------------------------- */

qg_status qg__node_insert_output(qg_node_t *n, size_t i, const qg_type_t *type, qg_value_t **out) {
  QG_ASSERT(i <= n->noutputs && type);
  *out = NULL;
  size_t cap = n->capoutputs;
  if (qg__grow((void **)&n->outputs, &cap, (size_t)n->noutputs + 1, sizeof *n->outputs) != 0)
    return qg_oom("node output");
  n->capoutputs = (uint32_t)cap;
  qg_value_t *v = qg__value_alloc(n->graph, n, (uint32_t)i, type);
  if (!v) return qg_oom("value");
  for (uint32_t j = n->noutputs; j-- > i;) {
    n->outputs[j + 1] = n->outputs[j];
    n->outputs[j + 1]->offset = j + 1;
  }
  n->outputs[i] = v;
  n->noutputs++;
  *out = v;
  return QG_OK;
}

qg_status qg_node_add_output(qg_node_t *n, const qg_type_t *type, qg_value_t **out) {
  qg_value_t *v;
  QG_TRY(qg__node_insert_output(n, n->noutputs, type ? type : qg_type_tensor(), &v));
  if (out) *out = v;
  return QG_OK;
}

void qg_node_erase_output(qg_node_t *n, size_t i) {
  QG_ASSERT(i < n->noutputs);
  QG_ASSERT(n->outputs[i]->nuses == 0);
  qg__value_free(n->graph, n->outputs[i]);
  for (uint32_t j = (uint32_t)i + 1; j < n->noutputs; j++) {
    n->outputs[j - 1] = n->outputs[j];
    n->outputs[j - 1]->offset = j - 1;
  }
  n->noutputs--;
}

qg_status qg_node_add_block(qg_node_t *n, qg_block_t **out) {
  *out = NULL;
  size_t cap = n->capblocks;
  if (qg__grow((void **)&n->blocks, &cap, (size_t)n->nblocks + 1, sizeof *n->blocks) != 0) return qg_oom("block");
  n->capblocks = (uint32_t)cap;
  qg_block_t *b = qg__block_alloc(n->graph, n);
  if (!b) return qg_oom("block");
  n->blocks[n->nblocks++] = b;
  *out = b;
  return QG_OK;
}

/* ---- description for messages --------------------------------------------------------- */

static void describe_values(qg_value_t *const *vs, uint32_t n, qg_strbuf *b) {
  for (uint32_t i = 0; i < n; i++) {
    if (i) qg_strbuf_append(b, ", ");
    qg_strbuf_putc(b, '%');
    if (vs[i] && vs[i]->node)
      qg_value_print_name(vs[i], b);
    else
      qg_strbuf_append(b, "<null>");
  }
}

void qg__node_describe(const qg_node_t *n, qg_strbuf *b) {
  qg_strbuf_putc(b, '\'');
  if (n->noutputs) {
    describe_values(n->outputs, n->noutputs, b);
    qg_strbuf_append(b, " = ");
  }
  qg_strbuf_append(b, qg_sym_str(n->kind));
  qg_strbuf_putc(b, '(');
  describe_values(n->inputs, n->ninputs, b);
  qg_strbuf_putc(b, ')');
  qg_strbuf_putc(b, '\'');
  if (n->line > 0) qg_strbuf_printf(b, " (line %d)", n->line);
}
