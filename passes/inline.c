/* Inline (PyTorch's Inliner): replaces prim::CallMethod on a receiver of class type and
 * prim::CallFunction by the callee's graph, recursively, so the graph no longer calls methods
 * or functions (interface calls and native methods stay: they have no graph to inline). Used by
 * convert (reference §3.6 step 2) and freezing. */
#include "passes/passes.h"

#include "base/alloc.h"

/* The graph a call node runs, or NULL when it cannot be inlined. first: index of the first
 * argument of the callee among the node's inputs. */
static const qg_graph_t *callee_of(const qg_node_t *n, size_t *first) {
  if (n->kind == QG_SYM_prim_CallMethod && n->ninputs > 0) {
    const qg_type_t *t = n->inputs[0]->type;
    const char *name = qg_node_s(n, "name");
    if (!name || t->kind != QG_TYPE_CLASS) return NULL;
    const qg_method *m = qg_class_find_method(t, name);
    *first = 0;
    return m && !m->is_native ? m->graph : NULL;
  }
  if (n->kind == QG_SYM_prim_CallFunction) {
    *first = 1;
    return qg_callee_graph(n, NULL, NULL);
  }
  return NULL;
}

static qg_status inline_call(qg_graph_t *g, qg_node_t *n, const qg_graph_t *callee, size_t first) {
  size_t nin = qg_graph_ninputs(callee), nout = qg_graph_noutputs(callee);
  if (n->ninputs - first != nin || n->noutputs != nout)
    return qg_set_error(QG_STATUS_LINT, "inline: call arity (%u inputs, %u outputs) does not match the callee "
                                        "(%zu inputs, %zu outputs)",
                        n->ninputs - (uint32_t)first, n->noutputs, nin, nout);
  qg_value_t **outs = qg__calloc(nout ? nout : 1, sizeof *outs);
  if (!outs) return qg_oom("inline");
  qg_node_t *saved = qg_graph_set_insert_point(g, n);
  qg_status st = qg_graph_insert_graph(g, callee, n->inputs + first, outs);
  qg_graph_set_insert_point(g, saved == n ? qg_graph_block(g)->ret : saved);
  for (size_t i = 0; st == QG_OK && i < nout; i++) st = qg_value_replace_all_uses_with(n->outputs[i], outs[i]);
  qg__free(outs);
  if (st == QG_OK) qg_node_destroy(n);
  return st;
}

/* depth: nesting of blocks (If/Loop bodies); inlined nodes are scanned again in place, so a
 * recursive method would inline forever: `count` bounds the total number of inlined calls. */
static qg_status inline_block(qg_graph_t *g, qg_block_t *b, size_t *count, int depth) {
  if (depth > 200) return qg_set_error(QG_STATUS_UNSUPPORTED, "inline: blocks nested more than 200 deep");
  for (qg_node_t *n = qg_block_first(b); n != b->ret;) {
    size_t first = 0;
    const qg_graph_t *callee = callee_of(n, &first);
    if (callee) {
      qg_node_t *prev = n->prev;
      QG_TRY(inline_call(g, n, callee, first));
      if (++*count > 1000000) return qg_set_error(QG_STATUS_UNSUPPORTED, "inline: more than a million calls (recursion?)");
      n = prev->next; /* continue with the inlined nodes themselves: they may call further */
      continue;
    }
    for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(inline_block(g, n->blocks[i], count, depth + 1));
    n = n->next;
  }
  return QG_OK;
}

qg_status qg_inline_graph(qg_graph_t *g, qg_pass_report *report) {
  size_t count = 0;
  qg_status st = inline_block(g, qg_graph_block(g), &count, 0);
  if (report) report->changed += count;
  return st;
}
