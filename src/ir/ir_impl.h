/* Internals of the IR core (graph.c, node.c, value.c, attr.c, graph_copy.c, lint.c). Not API.
 *
 * Memory: nodes, values and blocks come from per-kind slabs (chunks of fixed-size slots) owned
 * by the graph; freed nodes and values go on per-kind free lists and are recycled. Freed slots
 * are marked dead (node->kind == QG_SYM_NONE, value->node == NULL) so that graph destruction
 * can walk every slab and release the heap arrays of the live ones, including nodes that were
 * created but never inserted. Per-node arrays (inputs, outputs, blocks, attrs) and use lists
 * are ordinary heap allocations; strings (names, scopes, source comments) are bump-allocated
 * from the graph's string chunks and live as long as the graph. */
#ifndef QG_IR_IR_IMPL_H
#define QG_IR_IR_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/hashmap.h"
#include "ir/ir.h"

typedef struct qg__slab {
  struct qg__slab *next;
  size_t used, cap; /* slots (or bytes, for string chunks) */
  _Alignas(16) unsigned char data[];
} qg__slab;

struct qg_graph {
  qg_cu_t *cu;
  int holds_cu_ref; /* 0 once owned by a class / function (qg__graph_detach_cu_ref) */
  qg_block_t *top;
  qg_node_t *insert_point;
  uint64_t next_unique;
  qg_hashmap names;    /* debug name -> value */
  qg_hashmap suffixes; /* name base -> next suffix to try (uintptr_t), as PyTorch's name_base_suffix_ */
  qg__slab *node_slabs, *value_slabs, *block_slabs, *strings;
  qg_node_t *free_nodes;   /* linked through ->next */
  qg_value_t *free_values; /* linked through ->uses (see value_free) */
  size_t live_nodes;       /* allocated and not freed (lint bounds list walks with it) */
  qg_node_t *parent;       /* the node whose graph attribute owns this graph, or NULL */
};

/* Allocation from the graph's slabs. NULL on OOM (no error set). */
qg_node_t *qg__node_alloc(qg_graph_t *g, qg_sym_t kind);
void qg__node_free(qg_graph_t *g, qg_node_t *n); /* frees arrays + attrs, puts on free list */
qg_value_t *qg__value_alloc(qg_graph_t *g, qg_node_t *producer, uint32_t offset, const qg_type_t *type);
void qg__value_free(qg_graph_t *g, qg_value_t *v); /* drops the name, frees uses, recycles */
/* A block with its two sentinels, owned by `owner` (NULL for the top block). NULL on OOM. */
qg_block_t *qg__block_alloc(qg_graph_t *g, qg_node_t *owner);
/* Destroys every node of b (last to first) and its sentinels. */
void qg__block_destroy(qg_block_t *b);

/* Frees the contents of an attribute (strings, arrays, tensor references, owned graphs). */
void qg__attr_clear(qg_attr *a);
/* Deep copy of src into *dst; types are imported into `cu`, graphs are cloned into `cu` (owned
 * by *dst, parent not yet set: see qg__attr_adopt). OOM / TYPE on failure (then *dst holds
 * nothing). */
qg_status qg__attr_copy(qg_attr *dst, const qg_attr *src, qg_cu_t *cu) QG_MUST_USE;
/* Records `owner` as the parent of the graphs a (now installed on owner) holds. */
void qg__attr_adopt(qg_attr *a, qg_node_t *owner);
/* A deep copy of g in unit cu (types imported), holding a reference to cu like any graph from
 * qg_graph_create. */
qg_status qg__graph_clone_into(const qg_graph_t *g, qg_cu_t *cu, qg_graph_t **out) QG_MUST_USE;

/* Value use lists. */
int qg__use_reserve(qg_value_t *v, size_t extra); /* 0 or -1 */
void qg__use_add(qg_value_t *v, qg_node_t *user, uint32_t offset); /* after qg__use_reserve */
void qg__use_remove(qg_value_t *v, const qg_node_t *user, uint32_t offset);
/* The use of v at (user, offset) now is at (user, new_offset). */
void qg__use_renumber(qg_value_t *v, const qg_node_t *user, uint32_t offset, uint32_t new_offset);

/* Gives n a topological position between its neighbours (renumbering the block if needed). */
void qg__node_assign_topo(qg_node_t *n);
/* Inserts a new output value at index i of n (block inputs are param-node outputs). */
qg_status qg__node_insert_output(qg_node_t *n, size_t i, const qg_type_t *type, qg_value_t **out) QG_MUST_USE;

/* "aten::add(%3 -> %5, %6)" style description for messages (kind, inputs and outputs). */
void qg__node_describe(const qg_node_t *n, qg_strbuf *b);

/* An open-addressing set/map keyed by pointers (lint scopes, copy value maps). */
typedef struct qg__ptrmap {
  const void **keys;
  void **vals;
  size_t cap, len;
} qg__ptrmap;
int qg__ptrmap_put(qg__ptrmap *m, const void *key, void *val); /* 0 or -1 (OOM) */
void *qg__ptrmap_get(const qg__ptrmap *m, const void *key);     /* NULL if absent */
int qg__ptrmap_has(const qg__ptrmap *m, const void *key);
void qg__ptrmap_del(qg__ptrmap *m, const void *key);
void qg__ptrmap_free(qg__ptrmap *m);

#endif
