/* ConstantPooling (passes.h), as PyTorch's constant_pooling.cpp: walking the graph in order
 * (nested blocks where they occur), the first prim::Constant of each value is moved to the
 * start of the graph (so the surviving constants end up in reverse order of first appearance,
 * as PyTorch prints them) and every later equal constant (node_equal.h: same type and value,
 * tensors by value) is replaced by it. A constant whose value is written in place is not
 * merged (PyTorch's alias check). */
#include "base/alloc.h"
#include "base/vec.h"
#include "passes/node_effects.h"
#include "passes/node_equal.h"
#include "passes/passes.h"

typedef QG_VEC(qg_node_t *) node_vec;

static qg_status pool_block(qg_graph_t *g, qg_block_t *b, node_vec *seen, size_t *changed) {
  qg_block_t *top = qg_graph_block(g);
  for (qg_node_t *n = qg_block_first(b), *next; n != b->ret; n = next) {
    next = n->next; /* n may move to the start of the graph */
    if (n->nblocks) {
      for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(pool_block(g, n->blocks[i], seen, changed));
      continue;
    }
    if (n->kind != QG_SYM_prim_Constant) continue;
    qg_node_t *same = NULL;
    for (size_t i = 0; i < seen->len && !same; i++)
      if (qg__node_equal(seen->data[i], n)) same = seen->data[i];
    if (same) {
      if (qg__value_is_written(n->outputs[0]) || qg__value_is_written(same->outputs[0])) continue;
      QG_TRY(qg_value_replace_all_uses_with(n->outputs[0], same->outputs[0]));
      qg_node_destroy(n);
      (*changed)++;
      continue;
    }
    if (QG_VEC_PUSH(seen, n) != 0) return qg_oom("constant pooling list");
    qg_node_t *first = qg_block_first(top);
    if (n != first) {
      qg_node_move_before(n, first);
      (*changed)++;
    }
  }
  return QG_OK;
}

qg_status qg_constant_pooling_graph(qg_graph_t *g, qg_pass_report *report) {
  node_vec seen = {0};
  size_t changed = 0;
  qg_status st = pool_block(g, qg_graph_block(g), &seen, &changed);
  QG_VEC_FREE(&seen);
  if (report) report->changed += changed;
  return st;
}

qg_status qg_constant_pooling_module(qg_module *m, qg_pass_report *report) {
  return qg_run_graph_pass_on_module(m, qg_constant_pooling_graph, report);
}
