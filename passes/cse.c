/* EliminateCommonSubexpression (passes.h), as PyTorch's common_subexpression_elimination.cpp:
 * walking each block in order, a node equal to one seen before (node_equal.h: same kind,
 * inputs, attributes and output types) in the same block or an enclosing one is replaced by
 * it. Nodes with side effects, nondeterministic ops, nodes with blocks (their blocks are
 * walked, seeing the enclosing expressions) and nodes whose inputs or outputs are written are
 * never merged, nor two nodes that both return (a mutable value) from the graph, which would
 * make two graph outputs alias. Candidates are found by a backwards scan of the available
 * nodes of the same kind: linear in the graph size per node, fine for the graphs of models. */
#include "base/alloc.h"
#include "base/vec.h"
#include "passes/node_effects.h"
#include "passes/node_equal.h"
#include "passes/passes.h"

typedef QG_VEC(qg_node_t *) node_vec;

static int writes_or_written(const qg_node_t *n) {
  for (uint32_t i = 0; i < n->ninputs; i++)
    if (qg__node_writes_input(n, i) || qg__value_is_written(n->inputs[i])) return 1;
  for (uint32_t i = 0; i < n->noutputs; i++)
    if (qg__value_is_written(n->outputs[i])) return 1;
  return 0;
}

static int returned_mutable(const qg_node_t *n) {
  for (uint32_t i = 0; i < n->noutputs; i++) {
    const qg_value_t *v = n->outputs[i];
    if (!qg__type_is_mutable(v->type)) continue;
    for (uint32_t u = 0; u < v->nuses; u++)
      if (v->uses[u].user == qg_graph_block(qg_node_graph(n))->ret) return 1;
  }
  return 0;
}

static qg_node_t *find_equal(const node_vec *avail, const qg_node_t *n) {
  for (size_t i = avail->len; i-- > 0;)
    if (avail->data[i]->kind == n->kind && qg__node_equal(avail->data[i], n)) return avail->data[i];
  return NULL;
}

static qg_status cse_block(qg_block_t *b, node_vec *avail, size_t *changed) {
  size_t scope = avail->len;
  qg_status st = QG_OK;
  for (qg_node_t *n = qg_block_first(b), *next; st == QG_OK && n != b->ret; n = next) {
    next = n->next;
    if (qg__node_has_side_effects(n) || qg__node_is_nondeterministic(n)) continue;
    if (n->nblocks) {
      for (uint32_t i = 0; st == QG_OK && i < n->nblocks; i++) st = cse_block(n->blocks[i], avail, changed);
      continue;
    }
    if (writes_or_written(n)) continue;
    qg_node_t *same = find_equal(avail, n);
    if (same && !(returned_mutable(n) && returned_mutable(same))) {
      for (uint32_t i = 0; st == QG_OK && i < n->noutputs; i++)
        st = qg_value_replace_all_uses_with(n->outputs[i], same->outputs[i]);
      if (st != QG_OK) break;
      qg_node_destroy(n);
      (*changed)++;
      continue;
    }
    if (!same && QG_VEC_PUSH(avail, n) != 0) st = qg_oom("cse node list");
  }
  avail->len = scope; /* expressions of this block are not visible after it */
  return st;
}

qg_status qg_cse_graph(qg_graph_t *g, qg_pass_report *report) {
  node_vec avail = {0};
  size_t changed = 0;
  qg_status st = cse_block(qg_graph_block(g), &avail, &changed);
  QG_VEC_FREE(&avail);
  if (report) report->changed += changed;
  return st;
}

qg_status qg_cse_module(qg_module *m, qg_pass_report *report) {
  return qg_run_graph_pass_on_module(m, qg_cse_graph, report);
}
