/* RemoveListMutation (passes.h), as PyTorch's remove_mutation.cpp in torch 1.13: walking each
 * block in order (nested blocks first), a mutation of a list made by prim::ListConstruct in
 * the same block is folded into the ListConstruct, which moves down to just before the
 * mutation, then the mutation goes (its output, the list, is replaced by the list):
 *   aten::append(l, v)         -> v appended to the ListConstruct's inputs;
 *   aten::insert(l, i, v)      -> v inserted at constant i (Python's rules: i < 0 counts from
 *                                 the end, clamped to [0, len]);
 *   aten::_set_item(l, i, v)   -> input i replaced (constant i in [-len, len); others stay).
 * PyTorch asks its alias analysis whether the ListConstruct can move down to the mutation; here
 * it can when no node in between (its nested blocks included) uses the list, has side effects
 * (a call, an exception, an attribute write, ...) or, if the list holds mutable values
 * (tensors, lists), writes any value. That reproduces PyTorch on its own cases (a call or an
 * in-place op on an element in between blocks the fold, pure ops do not) and is more cautious
 * than it where the written value provably is not in the list. */
#include "passes/node_effects.h"
#include "passes/passes.h"

static int uses_value(const qg_node_t *n, const qg_value_t *v) {
  for (uint32_t i = 0; i < n->ninputs; i++)
    if (n->inputs[i] == v) return 1;
  for (uint32_t b = 0; b < n->nblocks; b++) {
    const qg_block_t *blk = n->blocks[b];
    for (size_t i = 0; i < qg_block_noutputs(blk); i++)
      if (qg_block_output(blk, i) == v) return 1;
    for (const qg_node_t *x = qg_block_first(blk); x != blk->ret; x = x->next)
      if (uses_value(x, v)) return 1;
  }
  return 0;
}

/* Can the ListConstruct `lc` move down to just before `mut` (same block)? */
static int can_move_to(const qg_node_t *lc, const qg_node_t *mut) {
  const qg_value_t *list = lc->outputs[0];
  int mutable_items = list->type->kind != QG_TYPE_LIST || qg__type_is_mutable(list->type->elems[0]);
  for (const qg_node_t *x = lc->next; x != mut; x = x->next) {
    if (x == lc->owner->ret) return 0; /* mut is not after lc in this block */
    if (uses_value(x, list)) return 0;
    if (mutable_items ? qg__node_has_effects_deep(x) : qg__node_has_side_effects_deep(x)) return 0;
  }
  return 1;
}

static int constant_index(const qg_value_t *v, int64_t *out) {
  const qg_attr *a = v->node->kind == QG_SYM_prim_Constant ? qg_node_attr(v->node, qg_sym_lookup("value")) : NULL;
  if (!a || a->kind != QG_ATTR_INT) return 0;
  *out = a->i;
  return 1;
}

/* Folds mutation `mut` into `lc`; *done = 0 if its index rules it out. The mutation's output
 * (the same list object) is redirected first, so an OOM never leaves the element both in the
 * ListConstruct and in a remaining mutation. */
static qg_status fold(qg_node_t *lc, qg_node_t *mut, qg_sym_t insert, qg_sym_t set_item, int *done) {
  int64_t len = lc->ninputs, pos = len;
  *done = 0;
  if (mut->kind != QG_SYM_aten_append) {
    if (!constant_index(mut->inputs[1], &pos)) return QG_OK;
    if (mut->kind == insert) {
      if (pos < 0) pos = pos + len < 0 ? 0 : pos + len;
      if (pos > len) pos = len;
    } else {
      if (pos < 0) pos += len;
      if (pos < 0 || pos >= len) return QG_OK;
    }
  }
  for (uint32_t k = 0; k < mut->noutputs; k++) QG_TRY(qg_value_replace_all_uses_with(mut->outputs[k], lc->outputs[0]));
  qg_value_t *item = mut->inputs[mut->kind == QG_SYM_aten_append ? 1 : 2];
  if (mut->kind == set_item) QG_TRY(qg_node_replace_input(lc, (size_t)pos, item));
  else QG_TRY(qg_node_insert_input(lc, (size_t)pos, item));
  qg_node_move_before(lc, mut);
  qg_node_destroy(mut);
  *done = 1;
  return QG_OK;
}

static qg_status remove_in_block(qg_block_t *b, qg_sym_t insert, qg_sym_t set_item, qg_pass_report *r) {
  for (qg_node_t *n = qg_block_first(b), *next; n != b->ret; n = next) {
    next = n->next;
    for (uint32_t k = 0; k < n->nblocks; k++) QG_TRY(remove_in_block(n->blocks[k], insert, set_item, r));
    int is_mutation = n->kind == QG_SYM_aten_append || n->kind == insert || n->kind == set_item;
    if (!is_mutation || n->ninputs < 2) continue;
    qg_node_t *lc = n->inputs[0]->node;
    if (lc->kind != QG_SYM_prim_ListConstruct || lc->owner != b || lc->noutputs != 1 || !can_move_to(lc, n)) continue;
    if (n->kind != QG_SYM_aten_append && n->ninputs != 3) continue;
    int done;
    QG_TRY(fold(lc, n, insert, set_item, &done));
    if (done && r) r->changed++;
  }
  return QG_OK;
}

qg_status qg_remove_list_mutation_graph(qg_graph_t *g, qg_pass_report *report) {
  qg_sym_t insert, set_item;
  QG_TRY(qg_sym_intern("aten::insert", &insert));
  QG_TRY(qg_sym_intern("aten::_set_item", &set_item));
  return remove_in_block(qg_graph_block(g), insert, set_item, report);
}

qg_status qg_remove_list_mutation_module(qg_module *m, qg_pass_report *report) {
  return qg_run_graph_pass_on_module(m, qg_remove_list_mutation_graph, report);
}
