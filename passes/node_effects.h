/* What a node does besides computing its outputs, for the passes that delete, move or evaluate
 * nodes (dce.c, constant_propagation.c, remove_list_mutation.c). PyTorch answers these with
 * Node::hasSideEffects, Node::isNondeterministic and its alias analysis; here writes come from
 * the op schemas' alias annotations (`Tensor(a!) self`), read conservatively: a node writes an
 * input if any overload of its op with the node's arity marks that argument as written. */
#ifndef QG_PASSES_NODE_EFFECTS_H
#define QG_PASSES_NODE_EFFECTS_H

#include <stddef.h>

#include "ir/ir.h"

/* PyTorch's Node::hasSideEffects list: prim::Print, prim::RaiseException, prim::SetAttr,
 * prim::CallFunction, prim::CallMethod, aten::warn, aten::wait, prim::Enter/Exit, ... */
int qg__node_has_side_effects(const qg_node_t *n);
/* The op is flagged nondeterministic (QG_OP_NONDET: rand, dropout, bernoulli, ...). */
int qg__node_is_nondeterministic(const qg_node_t *n);
/* n may write its input i (schema `!` annotation; prim::CallFunction / CallMethod write every
 * input, as PyTorch's conservative alias analysis assumes). */
int qg__node_writes_input(const qg_node_t *n, size_t i);
/* n, or a node in its blocks, has side effects / writes any of its inputs. */
int qg__node_has_effects_deep(const qg_node_t *n);
/* n, or a node in its blocks, has side effects. */
int qg__node_has_side_effects_deep(const qg_node_t *n);
/* v is a value of a type that can be mutated in place (tensors, lists, dicts, objects, and
 * tuples or optionals holding one); ints, floats, bools, strings, None and devices cannot. */
int qg__type_is_mutable(const qg_type_t *t);
/* Some node writes v: v is an input at a written position, or a view of v (an output whose
 * schema aliases the input, as aten::t or aten::view) is written. */
int qg__value_is_written(const qg_value_t *v);

#endif
