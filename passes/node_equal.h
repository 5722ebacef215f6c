/* Node equality as PyTorch's EqualNode (ir/node_hashing.cpp), used by common subexpression
 * elimination (cse.c) and constant pooling (constant_pooling.c): same kind, same output
 * types, the very same input values, equal attributes (tensors by value: dtype, shape, bytes
 * and qparams), and no blocks. */
#ifndef QG_PASSES_NODE_EQUAL_H
#define QG_PASSES_NODE_EQUAL_H

#include "ir/ir.h"

int qg__node_equal(const qg_node_t *a, const qg_node_t *b);

#endif
