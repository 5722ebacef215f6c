/* Dead code elimination (passes.h): PyTorch's EliminateDeadCode without alias analysis. A node
 * goes when none of its outputs is used and it neither has side effects nor writes an input
 * (written values may be aliased elsewhere; PyTorch keeps such a node only when the written
 * value is live, so here a dead in-place op on a dead temporary stays). Blocks are cleaned
 * first, last node to first, so chains of dead nodes go in one sweep. */
#include "ir/schema.h"
#include "passes/node_effects.h"
#include "passes/passes.h"

static void count_change(qg_pass_report *r) {
  if (r) r->changed++;
}

static int any_output_used(const qg_node_t *n) {
  for (uint32_t k = 0; k < n->noutputs; k++)
    if (n->outputs[k]->nuses) return 1;
  return 0;
}

static void dce_block(qg_block_t *b, qg_pass_report *r);

/* An If output nobody reads is dropped from the node and both branches (PyTorch's
 * removeDeadIfOutputs), so the branches can lose what computed it. */
static void drop_dead_if_outputs(qg_node_t *n, qg_pass_report *r) {
  for (uint32_t k = n->noutputs; k-- > 0;) {
    if (n->outputs[k]->nuses) continue;
    qg_node_erase_output(n, k);
    for (uint32_t b = 0; b < n->nblocks; b++) qg_block_erase_output(n->blocks[b], k);
    count_change(r);
  }
}

/* A node holding a graph (prim::fork's Subgraph) runs code this pass does not look into. */
static int holds_graph(const qg_node_t *n) {
  for (uint32_t k = 0; k < n->nattrs; k++)
    if (n->attrs[k].kind == QG_ATTR_GRAPH || n->attrs[k].kind == QG_ATTR_GRAPHS) return 1;
  return 0;
}

static int removable(const qg_node_t *n) {
  if (any_output_used(n) || qg__node_has_side_effects(n) || holds_graph(n)) return 0;
  for (uint32_t i = 0; i < n->ninputs; i++)
    if (qg__node_writes_input(n, i)) return 0;
  /* A node with blocks goes only if nothing inside is observable. */
  return n->nblocks == 0 || !qg__node_has_effects_deep(n);
}

static void dce_block(qg_block_t *b, qg_pass_report *r) {
  for (qg_node_t *n = b->ret->prev, *prev; n != b->ret; n = prev) {
    prev = n->prev;
    if (n->kind == QG_SYM_prim_If) drop_dead_if_outputs(n, r);
    if (removable(n)) {
      qg_node_destroy(n);
      count_change(r);
      continue;
    }
    for (uint32_t k = 0; k < n->nblocks; k++) dce_block(n->blocks[k], r);
  }
}

qg_status qg_dce_graph(qg_graph_t *g, qg_pass_report *report) {
  QG_TRY(qg_op_registry_init());
  dce_block(qg_graph_block(g), report);
  return QG_OK;
}

qg_status qg_dce_module(qg_module *m, qg_pass_report *report) {
  return qg_run_graph_pass_on_module(m, qg_dce_graph, report);
}
