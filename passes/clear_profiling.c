/* ClearProfilingInformation (passes.h), as PyTorch's clear_profiling.cpp: every graph input and
 * node output whose type is a detailed tensor type (`Float(1, 3, strides=[...], ...)`, what
 * tracing records) becomes plain `Tensor`, so that later passes and the interpreter do not rely
 * on the shapes of the example input. Block inputs and containers of tensors keep their types,
 * as in PyTorch. Finalize runs it on every method before quantizing, freezing right after
 * inlining. */
#include "passes/passes.h"

static void unshape(qg_value_t *v) {
  if (v->type->kind == QG_TYPE_TENSOR_DETAILED) qg_value_set_type(v, qg_type_tensor());
}

static void clear_block(qg_block_t *b, size_t *changed) {
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    for (uint32_t i = 0; i < n->noutputs; i++)
      if (n->outputs[i]->type->kind == QG_TYPE_TENSOR_DETAILED) {
        unshape(n->outputs[i]);
        (*changed)++;
      }
    for (uint32_t i = 0; i < n->nblocks; i++) clear_block(n->blocks[i], changed);
  }
}

qg_status qg_clear_profiling_graph(qg_graph_t *g, qg_pass_report *report) {
  size_t changed = 0;
  for (size_t i = 0; i < qg_graph_ninputs(g); i++) {
    qg_value_t *v = qg_graph_input(g, i);
    if (v->type->kind == QG_TYPE_TENSOR_DETAILED) {
      unshape(v);
      changed++;
    }
  }
  clear_block(qg_graph_block(g), &changed);
  if (report) report->changed += changed;
  return QG_OK;
}
