/* ConstantPropagation (passes.h), as PyTorch's constant_propagation.cpp: one walk over the
 * blocks in order; a node whose inputs are all constants is run once (constant_eval.c) and the
 * outputs that can be constants are replaced by new prim::Constant nodes inserted before it
 * (with no scope or source comment, as PyTorch's insertConstant); prim::If with a constant
 * condition is inlined (its taken branch propagated first), If outputs that both branches
 * give alike are removed, loops that never run are removed and unchanged loop-carried values
 * dropped; finally, when anything changed, dead code elimination.
 *
 * A node is run only if it is deterministic, has no side effects and no blocks, is not in
 * PyTorch's skip list (prim::Constant, If, Loop, Closure, Uninitialized, AutogradZero, Guard,
 * profile, unchecked_unwrap_optional, aten::dequantize), has no vararg schema, and none of its
 * inputs or outputs is written anywhere (alias analysis reduced to direct writes and writes
 * through views, node_effects.h). A node the interpreter cannot run is left alone, as PyTorch
 * leaves a node whose op throws. Differences from PyTorch: tuples, dicts and objects do not
 * become constants (the graph text has no syntax for them here), so chains through
 * prim::TupleConstruct stop there. */
#include <string.h>

#include "base/alloc.h"
#include "ir/schema.h"
#include "passes/constant_impl.h"
#include "passes/node_effects.h"
#include "passes/passes.h"

typedef struct propagator {
  qg_graph_t *g;
  size_t changed;
} propagator;

static int all_inputs_constant(const qg_node_t *n) {
  for (uint32_t i = 0; i < n->ninputs; i++)
    if (n->inputs[i]->node->kind != QG_SYM_prim_Constant) return 0;
  return 1;
}

static int in_skip_list(const qg_node_t *n) {
  switch (n->kind) {
  case QG_SYM_prim_If:
  case QG_SYM_prim_Loop:
  case QG_SYM_prim_Constant:
  case QG_SYM_prim_Uninitialized:
  case QG_SYM_prim_GetAttr: /* PyTorch folds reads of constant objects, which graphs here never hold */
  case QG_SYM_aten_dequantize: return 1;
  default: break;
  }
  static const char *const names[] = {"prim::Closure", "prim::AutogradZero", "prim::Guard", "prim::profile",
                                      "prim::profile_ivalue", "prim::unchecked_unwrap_optional"};
  const char *k = qg_sym_str(n->kind);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(k, names[i]) == 0) return 1;
  return 0;
}

static int vararg_schema(const qg_node_t *n) {
  size_t count = 0;
  const qg_schema_t *const *ov = qg_op_overloads(n->kind, &count);
  for (size_t k = 0; k < count; k++)
    if (!(ov[k]->flags & QG_OP_SPECIAL) && ov[k]->is_vararg) return 1;
  return 0;
}

static int supported(const qg_node_t *n) {
  if (n->nblocks || in_skip_list(n) || qg__node_has_side_effects(n) || qg__node_is_nondeterministic(n) ||
      vararg_schema(n))
    return 0;
  for (uint32_t i = 0; i < n->ninputs; i++)
    if (qg__node_writes_input(n, i) || qg__value_is_written(n->inputs[i])) return 0;
  for (uint32_t k = 0; k < n->noutputs; k++)
    if (qg__value_is_written(n->outputs[k])) return 0;
  return 1;
}

/* Runs n and replaces each output that can be a constant. n stays (dce removes it). */
static qg_status propagate_node(propagator *pr, qg_node_t *n) {
  qg_ival small[4], *outs = small;
  if (n->noutputs > 4 && !(outs = qg__calloc(n->noutputs, sizeof *outs))) return qg_oom("constant outputs");
  for (uint32_t k = 0; k < n->noutputs; k++) outs[k] = qg_ival_none();
  qg_status st = qg__constant_eval_node(n, outs);
  if (st != QG_OK && st != QG_STATUS_OOM) {
    st = QG_OK; /* the op could not run on these constants: leave it, as PyTorch does */
    qg_clear_error();
  } else {
    for (uint32_t k = 0; k < n->noutputs && st == QG_OK; k++) {
      qg_value_t *c = NULL;
      st = qg__constant_insert(pr->g, n, &outs[k], n->outputs[k]->type, &c);
      if (st == QG_OK && c) {
        st = qg_value_replace_all_uses_with(n->outputs[k], c);
        pr->changed++;
      }
    }
  }
  for (uint32_t k = 0; k < n->noutputs; k++) qg_ival_release(&outs[k]);
  if (outs != small) qg__free(outs);
  return st;
}

static qg_status propagate_block(propagator *pr, qg_block_t *b);

static int constant_bool(const qg_value_t *v, int *out) {
  const qg_attr *a;
  if (v->node->kind != QG_SYM_prim_Constant || v->type->kind != QG_TYPE_BOOL) return 0;
  if (!(a = qg_node_attr(v->node, qg_sym_lookup("value"))) || a->kind != QG_ATTR_INT) return 0;
  *out = a->i != 0;
  return 1;
}

static int constant_int(const qg_value_t *v, int64_t *out) {
  const qg_attr *a;
  if (v->node->kind != QG_SYM_prim_Constant || v->type->kind != QG_TYPE_INT) return 0;
  if (!(a = qg_node_attr(v->node, qg_sym_lookup("value"))) || a->kind != QG_ATTR_INT) return 0;
  *out = a->i;
  return 1;
}

/* The taken branch's nodes move before the If, which then goes. */
static qg_status inline_if(propagator *pr, qg_node_t *n, int cond) {
  qg_block_t *body = n->blocks[cond ? 0 : 1];
  QG_TRY(propagate_block(pr, body));
  while (qg_block_first(body) != body->ret) qg_node_move_before(qg_block_first(body), n);
  for (uint32_t k = 0; k < n->noutputs; k++) QG_TRY(qg_value_replace_all_uses_with(n->outputs[k], qg_block_output(body, k)));
  qg_node_destroy(n);
  pr->changed++;
  return QG_OK;
}

static void erase_if_output(qg_node_t *n, uint32_t k) {
  qg_node_erase_output(n, k);
  qg_block_erase_output(n->blocks[0], k);
  qg_block_erase_output(n->blocks[1], k);
}

/* PyTorch's removeExtraIfOutputs: an output both branches return unchanged, or as equal
 * constants, is replaced by that value (a constant copied before the If). */
static qg_status remove_extra_if_outputs(propagator *pr, qg_node_t *n) {
  for (uint32_t k = 0; k < n->noutputs;) {
    qg_value_t *t = qg_block_output(n->blocks[0], k), *f = qg_block_output(n->blocks[1], k);
    qg_value_t *repl = NULL;
    if (t == f) {
      repl = t;
    } else if (qg__constant_nodes_equal(t->node, f->node)) {
      QG_TRY(qg__constant_clone(pr->g, n, t->node, &repl));
      if (t->type->kind == QG_TYPE_NONE || !qg_node_attr(t->node, qg_sym_lookup("value")))
        qg_value_set_type(repl, qg_type_none()); /* insertConstant(None) is NoneType */
    }
    if (!repl) {
      k++;
      continue;
    }
    QG_TRY(qg_value_replace_all_uses_with(n->outputs[k], repl));
    erase_if_output(n, k);
    pr->changed++;
  }
  return QG_OK;
}

static int loop_never_runs(const qg_node_t *n) {
  int64_t trips = 1;
  int cond = 1;
  (void)constant_int(n->inputs[0], &trips);
  (void)constant_bool(n->inputs[1], &cond);
  return !(cond && trips > 0);
}

static qg_status remove_loop(propagator *pr, qg_node_t *n) {
  for (uint32_t k = 0; k < n->noutputs; k++) QG_TRY(qg_value_replace_all_uses_with(n->outputs[k], n->inputs[k + 2]));
  qg_node_destroy(n);
  pr->changed++;
  return QG_OK;
}

/* PyTorch's removeExtraLoopOutputs: a carried value the body returns unchanged is the loop's
 * input throughout. */
static qg_status remove_extra_loop_outputs(propagator *pr, qg_node_t *n) {
  qg_block_t *body = n->blocks[0];
  for (uint32_t k = n->noutputs; k-- > 0;) {
    qg_value_t *in = qg_block_input(body, k + 1);
    if (in != qg_block_output(body, k + 1)) continue;
    qg_value_t *init = n->inputs[k + 2];
    QG_TRY(qg_value_replace_all_uses_with(n->outputs[k], init));
    QG_TRY(qg_value_replace_all_uses_with(in, init));
    qg_node_erase_output(n, k);
    qg_node_remove_input(n, k + 2);
    qg_block_erase_output(body, k + 1);
    qg_block_erase_input(body, k + 1);
    pr->changed++;
  }
  return QG_OK;
}

static qg_status propagate_nested(propagator *pr, qg_node_t *n) {
  for (uint32_t k = 0; k < n->nblocks; k++) QG_TRY(propagate_block(pr, n->blocks[k]));
  return QG_OK;
}

static qg_status propagate(propagator *pr, qg_node_t *n) {
  if (n->kind == QG_SYM_prim_If && n->nblocks == 2) {
    int cond;
    if (constant_bool(n->inputs[0], &cond)) return inline_if(pr, n, cond);
    QG_TRY(propagate_nested(pr, n));
    return remove_extra_if_outputs(pr, n);
  }
  if (n->kind == QG_SYM_prim_Loop && n->nblocks == 1 && n->ninputs >= 2) {
    if (loop_never_runs(n)) return remove_loop(pr, n);
    QG_TRY(propagate_nested(pr, n));
    return remove_extra_loop_outputs(pr, n);
  }
  if (all_inputs_constant(n) && supported(n)) return propagate_node(pr, n);
  return propagate_nested(pr, n);
}

static qg_status propagate_block(propagator *pr, qg_block_t *b) {
  for (qg_node_t *n = qg_block_first(b), *next; n != b->ret; n = next) {
    next = n->next; /* n may be destroyed */
    QG_TRY(propagate(pr, n));
  }
  return QG_OK;
}

qg_status qg_constant_propagation_graph(qg_graph_t *g, qg_pass_report *report) {
  QG_TRY(qg_op_registry_init());
  propagator pr = {g, 0};
  QG_TRY(propagate_block(&pr, qg_graph_block(g)));
  if (report) report->changed += pr.changed;
  return pr.changed ? qg_dce_graph(g, NULL) : QG_OK;
}

qg_status qg_constant_propagation_module(qg_module *m, qg_pass_report *report) {
  return qg_run_graph_pass_on_module(m, qg_constant_propagation_graph, report);
}
