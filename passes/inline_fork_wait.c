/* InlineForkWait (passes.h), as PyTorch's inline_fork_wait.cpp: per block, every prim::fork's
 * Subgraph is inserted right before the fork (names, scopes and source comments copied, as
 * insertGraph does); then, walking the block backwards, each aten::wait on such a fork's
 * future is replaced by the inlined result and removed, and each fork is removed after its
 * remaining uses (a returned future, a wait in a nested block) get the result too; then nested
 * blocks. A fork whose future reaches another graph (returned, then waited on by the caller)
 * thus leaves an aten::wait on a Tensor there, as in PyTorch (test_quantize_fork_wait). */
#include "ir/ir_impl.h"
#include "passes/passes.h"

static qg_status inline_block(qg_block_t *b, qg_sym_t subgraph, qg__ptrmap *remap, qg_pass_report *r) {
  qg_graph_t *g = b->graph;
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    if (n->kind != QG_SYM_prim_fork) continue;
    const qg_graph_t *body = qg_node_g(n, subgraph);
    if (!body || n->noutputs != 1 || qg_graph_noutputs(body) != 1 || qg_graph_ninputs(body) != n->ninputs)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "inline_fork_wait: line %d: prim::fork needs a Subgraph taking its %u inputs and "
                          "returning one value",
                          n->line, n->ninputs);
    qg_value_t *result;
    qg_node_t *saved = qg_graph_set_insert_point(g, n);
    qg_status st = qg_graph_insert_graph(g, body, n->inputs, &result);
    qg_graph_set_insert_point(g, saved);
    QG_TRY(st);
    if (qg__ptrmap_put(remap, n->outputs[0], result) != 0) return qg_oom("fork results");
  }
  for (qg_node_t *n = b->ret->prev, *prev; n != b->ret; n = prev) {
    prev = n->prev;
    qg_value_t *result;
    if (n->kind == QG_SYM_prim_fork && (result = qg__ptrmap_get(remap, n->outputs[0]))) {
      QG_TRY(qg_value_replace_all_uses_with(n->outputs[0], result));
      qg_node_destroy(n);
      if (r) r->changed++;
    } else if (n->kind == QG_SYM_aten_wait && n->ninputs == 1 && n->noutputs == 1 &&
               (result = qg__ptrmap_get(remap, n->inputs[0]))) {
      QG_TRY(qg_value_replace_all_uses_with(n->outputs[0], result));
      qg_node_destroy(n);
    }
  }
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next)
    for (uint32_t k = 0; k < n->nblocks; k++) QG_TRY(inline_block(n->blocks[k], subgraph, remap, r));
  return QG_OK;
}

qg_status qg_inline_fork_wait_graph(qg_graph_t *g, qg_pass_report *report) {
  qg_sym_t subgraph;
  QG_TRY(qg_sym_subgraph(&subgraph));
  qg__ptrmap remap = {0};
  qg_status st = inline_block(qg_graph_block(g), subgraph, &remap, report);
  qg__ptrmap_free(&remap);
  return st;
}

qg_status qg_inline_fork_wait_module(qg_module *m, qg_pass_report *report) {
  return qg_run_graph_pass_on_module(m, qg_inline_fork_wait_graph, report);
}
