/* Node equality as PyTorch's EqualNode (ir/node_hashing.cpp), used by common subexpression
 * elimination (cse.c) and constant pooling (constant_pooling.c): same kind, same output
 * types, the very same input values, equal attributes (tensors by value: dtype, shape, bytes
 * and qparams), and no blocks. */
#ifndef QG_PASSES_NODE_EQUAL_H
#define QG_PASSES_NODE_EQUAL_H

#include "ir/ir.h"

int qg__node_equal(const qg_node_t *a, const qg_node_t *b);
/* Attribute equality of qg__node_equal (same name, kind and value); tensors by value, or with
 * tensors_by_value 0 by identity (constant propagation's comparison of If branch outputs). */
int qg__attr_equal(const qg_attr *a, const qg_attr *b, int tensors_by_value);

#endif
