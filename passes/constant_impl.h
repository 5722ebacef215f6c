/* Internals of constant propagation (constant_propagation.c, constant_eval.c). */
#ifndef QG_PASSES_CONSTANT_IMPL_H
#define QG_PASSES_CONSTANT_IMPL_H

#include "ir/ir.h"
#include "module/value.h"

/* Runs node n, whose inputs are all prim::Constant, once through the interpreter (a copy of n
 * and of its input constants in a scratch graph of n's unit). outs[0..n->noutputs) receive
 * owned values. QG_OK when it ran; QG_STATUS_OOM on allocation failure; any other status means
 * the node could not be run (PyTorch then leaves the node alone), with qg_last_error saying
 * why. */
qg_status qg__constant_eval_node(const qg_node_t *n, qg_ival *outs) QG_MUST_USE;

/* Inserts before `before` a prim::Constant holding v (PyTorch's tryInsertConstant): int, bool,
 * float, str, Device, None (typed `type`, the type of the value it replaces, as PyTorch keeps
 * it), tensors (a detailed type from the tensor, as TensorType::create), and lists of ints,
 * floats, bools or strings (the element kind taken from `type`; PyTorch also makes tensor
 * lists constants, printed `[<Tensors>]`, which graph text cannot read back). *out is NULL (and
 * QG_OK returned) when v cannot be a constant (tuples, objects, futures, tensors with no
 * elements, tensor lists, lists of other kinds). */
qg_status qg__constant_insert(qg_graph_t *g, qg_node_t *before, const qg_ival *v, const qg_type_t *type,
                              qg_value_t **out) QG_MUST_USE;

/* A copy of prim::Constant node c inserted before `before` (same attributes and type). */
qg_status qg__constant_clone(qg_graph_t *g, qg_node_t *before, const qg_node_t *c, qg_value_t **out) QG_MUST_USE;

/* Two prim::Constant nodes with the same output type and equal attributes (tensors compared
 * by identity only: equal tensor constants in different nodes are treated as different). */
int qg__constant_nodes_equal(const qg_node_t *a, const qg_node_t *b);

#endif
