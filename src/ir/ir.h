/* The graph IR: TorchScript's Graph / Block / Node / Value, in C.
 *
 * Note [IR ownership]
 *   A graph owns its blocks, nodes and values (allocated from the graph's arena with per-kind
 *   free lists). A graph belongs to a compilation unit (qg_cu_t) that owns its types: a
 *   standalone graph holds a reference to its unit; a method graph is owned by its class and
 *   does not (the unit owns the class). Node kinds and attribute names are interned symbols.
 *
 * Note [Blocks]
 *   A block has two sentinel nodes: `param` (its outputs are the block's inputs) and `ret`
 *   (its inputs are the block's outputs). The block's nodes form a circular doubly linked list
 *   through `ret`: ret->next is the first node, ret->prev the last; an empty block has
 *   ret->next == ret. `param` is not in the list. The graph's top block holds the graph inputs
 *   and outputs. prim::If has two blocks, prim::Loop one (inputs: trip count + carried).
 *
 * Note [Topological positions]
 *   Every node in a block carries `topo`, strictly increasing along the list (spacing 2^40 for
 *   appends, midpoints for inserts, the block renumbered when a gap closes), so
 *   qg_node_is_before() is O(1) within a block.
 *
 * Note [Value names]
 *   A value may have a debug name ("x.1", "self", "37"): the printer prints `%name`, or
 *   `%<unique>` when unnamed, where unique is a per-graph counter. Names are unique per graph:
 *   setting a name in use renames the other holder to "name.N" as PyTorch does. Parsing keeps
 *   every name, numeric ones included, so that printing reproduces the input.
 *
 * Note [Graph attributes]
 *   A graph-valued attribute (PyTorch's kind `g`, e.g. attr::Subgraph of a traced prim::fork or
 *   of a fusion group; `gs` for lists) owns its graphs. Such a graph is in the same unit as the
 *   graph of the node that holds it, holds no reference to the unit (the enclosing graph keeps
 *   the unit alive, as method graphs do), and records that node as its parent, so a graph is
 *   held by at most one node and never (transitively) by itself. Cloning a node (qg_graph_clone,
 *   qg_graph_insert_graph) deep-copies its graph attributes; destroying it destroys them;
 *   qg_graph_lint lints them too. qg_graph_walk does not descend into them (PyTorch's node
 *   iterators do not either). The printer prints a node with a `Subgraph` graph attribute as
 *   `prim::fork_N(...)` and the subgraph after the return line as `with prim::fork_N = graph(...)`
 *   (see text.h).
 *
 * Every mutator documents Given / Execute / Result. Mutators that can allocate return
 * qg_status; OOM leaves the graph valid (lint-clean) but possibly partially changed only where
 * stated. */
#ifndef QG_IR_IR_H
#define QG_IR_IR_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "base/strbuf.h"
#include "base/symbol.h"
#include "ir/type.h"
#include "tensor/tensor.h"

typedef struct qg_block qg_block_t;
typedef struct qg_node qg_node_t;
typedef struct qg_value qg_value_t;

typedef struct qg_use {
  qg_node_t *user;
  uint32_t offset; /* input index in user */
} qg_use_t;

struct qg_value {
  qg_node_t *node; /* producer (a block's param node for block inputs) */
  uint32_t offset; /* output index in node */
  const qg_type_t *type;
  const char *name; /* debug name (in the graph arena) or NULL */
  uint64_t unique;
  qg_use_t *uses;
  uint32_t nuses, capuses;
};

typedef enum qg_attr_kind {
  QG_ATTR_INT,     /* i   */
  QG_ATTR_FLOAT,   /* f   */
  QG_ATTR_STRING,  /* s   */
  QG_ATTR_TENSOR,  /* t   */
  QG_ATTR_TYPE,    /* ty  */
  QG_ATTR_INTS,    /* is  */
  QG_ATTR_FLOATS,  /* fs  */
  QG_ATTR_STRINGS, /* ss  */
  QG_ATTR_TENSORS, /* ts  */
  QG_ATTR_TYPES,   /* tys */
  QG_ATTR_COMPLEX, /* c   */
  QG_ATTR_GRAPH,   /* g   : see Note [Graph attributes] */
  QG_ATTR_GRAPHS   /* gs  */
} qg_attr_kind;

typedef struct qg_attr {
  qg_sym_t name;
  qg_attr_kind kind;
  int64_t i;               /* QG_ATTR_INT */
  double f, f2;            /* QG_ATTR_FLOAT; QG_ATTR_COMPLEX: real, imaginary */
  char *s;                 /* QG_ATTR_STRING: owned */
  qg_tensor *t;            /* QG_ATTR_TENSOR: one reference owned */
  const qg_type_t *ty;     /* QG_ATTR_TYPE */
  size_t n;                /* list kinds: element count */
  int64_t *is;             /* list kinds: owned arrays (strings and tensors owned too) */
  double *fs;
  char **ss;
  qg_tensor **ts;
  const qg_type_t **tys;
  qg_graph_t *g;           /* QG_ATTR_GRAPH: owned */
  qg_graph_t **gs;         /* QG_ATTR_GRAPHS: owned array of owned graphs */
} qg_attr;

typedef struct qg_source_range {
  const char *comment; /* the printed "# file:line:col" text without "# " (graph arena), or NULL */
} qg_source_range;

struct qg_node {
  qg_sym_t kind;
  qg_block_t *owner; /* NULL while not inserted */
  qg_node_t *prev, *next;
  int64_t topo;
  qg_value_t **inputs;
  uint32_t ninputs, capinputs;
  qg_value_t **outputs;
  uint32_t noutputs, capoutputs;
  qg_block_t **blocks;
  uint32_t nblocks, capblocks;
  qg_attr *attrs; /* in insertion order; printed in that order */
  uint32_t nattrs, capattrs;
  const char *scope;     /* traced graphs: "__module.conv" printed as ", scope: ..." (arena) or NULL */
  qg_source_range source;
  int line;              /* where it was parsed from (1-based, 0 = created), for error messages */
  void *user_data;
  qg_graph_t *graph;     /* the graph that allocated the node (also while not inserted) */
};

struct qg_block {
  qg_graph_t *graph;
  qg_node_t *owning_node; /* NULL for the top block */
  qg_node_t *param;
  qg_node_t *ret;
};

/* ---- graphs ---------------------------------------------------------------------------- */

/* An empty graph in unit `cu` (retained), or in a fresh unit when cu is NULL. */
qg_status qg_graph_create(qg_cu_t *cu, qg_graph_t **out) QG_MUST_USE;
void qg_graph_destroy(qg_graph_t *g); /* NULL is a no-op */
qg_block_t *qg_graph_block(const qg_graph_t *g);
qg_cu_t *qg_graph_cu(const qg_graph_t *g);
/* Marks g as owned by its unit's class/function (drops g's reference to the unit). Called by
 * qg_class_add_method / qg_cu_define_function. */
void qg__graph_detach_cu_ref(qg_graph_t *g);

size_t qg_graph_ninputs(const qg_graph_t *g);
qg_value_t *qg_graph_input(const qg_graph_t *g, size_t i);
size_t qg_graph_noutputs(const qg_graph_t *g);
qg_value_t *qg_graph_output(const qg_graph_t *g, size_t i);

/* Given: g. Execute: appends (or inserts at i) a graph input of type `type` named `name`
 * (may be NULL). Result: the new value in *out. */
qg_status qg_graph_add_input(qg_graph_t *g, const char *name, const qg_type_t *type, qg_value_t **out) QG_MUST_USE;
qg_status qg_graph_insert_input(qg_graph_t *g, size_t i, const char *name, const qg_type_t *type, qg_value_t **out) QG_MUST_USE;
/* Given: input i has no uses. Execute: removes it. INVALID_ARGUMENT if it still has uses. */
qg_status qg_graph_erase_input(qg_graph_t *g, size_t i) QG_MUST_USE;
/* Appends v to the graph outputs (a use by the return node). */
qg_status qg_graph_register_output(qg_graph_t *g, qg_value_t *v) QG_MUST_USE;
void qg_graph_erase_output(qg_graph_t *g, size_t i);

/* The same for any block (a Loop body's inputs, an If branch's outputs). */
qg_status qg_block_add_input(qg_block_t *b, const char *name, const qg_type_t *type, qg_value_t **out) QG_MUST_USE;
qg_status qg_block_register_output(qg_block_t *b, qg_value_t *v) QG_MUST_USE;
void qg_block_erase_input(qg_block_t *b, size_t i); /* input must be unused */
void qg_block_erase_output(qg_block_t *b, size_t i);
size_t qg_block_ninputs(const qg_block_t *b);
qg_value_t *qg_block_input(const qg_block_t *b, size_t i);
size_t qg_block_noutputs(const qg_block_t *b);
qg_value_t *qg_block_output(const qg_block_t *b, size_t i);
/* Iteration: for (n = qg_block_first(b); n != b->ret; n = n->next) */
qg_node_t *qg_block_first(const qg_block_t *b);

/* Insertion point: new nodes created by qg_graph_insert_new go before `*point`.
 * qg_graph_set_insert_point returns the previous point so callers can restore it. Initially
 * the top block's return node (append at the end of the graph). */
qg_node_t *qg_graph_set_insert_point(qg_graph_t *g, qg_node_t *before);
qg_node_t *qg_graph_insert_point(const qg_graph_t *g);

/* ---- nodes ----------------------------------------------------------------------------- */

/* Given: g. Execute: makes a node of `kind` with `noutputs` outputs typed Tensor, not inserted
 * in any block. Result: *out; destroy it with qg_node_destroy if never inserted. */
qg_status qg_node_create(qg_graph_t *g, qg_sym_t kind, size_t noutputs, qg_node_t **out) QG_MUST_USE;
/* qg_node_create + insert at the graph's insertion point. */
qg_status qg_graph_insert_new(qg_graph_t *g, qg_sym_t kind, size_t ninputs, qg_value_t *const *inputs,
                              size_t noutputs, qg_node_t **out) QG_MUST_USE;
/* Given: n not in a block; ref in a block. Execute: links n before / after ref. */
void qg_node_insert_before(qg_node_t *n, qg_node_t *ref);
void qg_node_insert_after(qg_node_t *n, qg_node_t *ref);
/* Given: n in a block. Execute: unlinks n and relinks it before / after ref (may change block). */
void qg_node_move_before(qg_node_t *n, qg_node_t *ref);
void qg_node_move_after(qg_node_t *n, qg_node_t *ref);
/* Given: no output of n has uses. Execute: drops n's input uses, destroys its blocks and
 * outputs, unlinks and frees n. Aborts (internal error) if an output is still used. */
void qg_node_destroy(qg_node_t *n);
qg_graph_t *qg_node_graph(const qg_node_t *n);
/* True if a comes before b (both in blocks of one graph). For nodes in different blocks their
 * ancestors in the innermost common block are compared, as PyTorch's Node::isBefore; a node
 * nested inside another is neither before nor after it. O(1) within a block. */
int qg_node_is_before(const qg_node_t *a, const qg_node_t *b);

qg_status qg_node_add_input(qg_node_t *n, qg_value_t *v) QG_MUST_USE;
qg_status qg_node_insert_input(qg_node_t *n, size_t i, qg_value_t *v) QG_MUST_USE;
/* The four replace functions below grow the new value's use list, so they can fail with
 * QG_STATUS_OOM; the graph is then unchanged. They return QG_OK otherwise (callers that
 * ignore the result, as the original void versions allowed, still compile). */
qg_status qg_node_replace_input(qg_node_t *n, size_t i, qg_value_t *v);
/* Replaces every input equal to `from` with `to`. */
qg_status qg_node_replace_input_with(qg_node_t *n, qg_value_t *from, qg_value_t *to);
void qg_node_remove_input(qg_node_t *n, size_t i);
void qg_node_remove_all_inputs(qg_node_t *n);
qg_status qg_node_add_output(qg_node_t *n, const qg_type_t *type, qg_value_t **out) QG_MUST_USE;
void qg_node_erase_output(qg_node_t *n, size_t i); /* output must be unused */
qg_status qg_node_add_block(qg_node_t *n, qg_block_t **out) QG_MUST_USE;

/* The graph of the free function a prim::CallFunction node calls: its first input is a
 * Function-typed constant whose `name` attribute is the function's last name component
 * ("hardtanh" for __torch__.torch.nn.functional.hardtanh), or a function type naming it; the
 * function is looked up in the node's unit. NULL with *why set when it cannot be resolved;
 * *qualname receives the function's qualified name. Either out pointer may be NULL. */
qg_graph_t *qg_callee_graph(const qg_node_t *n, const char **qualname, const char **why);

/* ---- values ---------------------------------------------------------------------------- */

/* Given: v, w in the same graph. Execute: every use of v becomes a use of w. */
qg_status qg_value_replace_all_uses_with(qg_value_t *v, qg_value_t *w);
/* Only uses by nodes after `after` (in the same block or nested in later nodes). */
qg_status qg_value_replace_all_uses_after_node_with(qg_value_t *v, const qg_node_t *after, qg_value_t *w);
/* Sets (or clears, with NULL) the debug name; see Note [Value names]. */
qg_status qg_value_set_name(qg_value_t *v, const char *name) QG_MUST_USE;
void qg_value_set_type(qg_value_t *v, const qg_type_t *type);
/* Appends "name" or the unique number (without '%'). */
void qg_value_print_name(const qg_value_t *v, qg_strbuf *out);

/* ---- attributes ------------------------------------------------------------------------ */

/* Setters replace an existing attribute of the same name (keeping its position) or append.
 * Strings, arrays and tensors are copied / retained. */
qg_status qg_node_set_i(qg_node_t *n, qg_sym_t name, int64_t v) QG_MUST_USE;
qg_status qg_node_set_f(qg_node_t *n, qg_sym_t name, double v) QG_MUST_USE;
qg_status qg_node_set_s(qg_node_t *n, qg_sym_t name, const char *v) QG_MUST_USE;
qg_status qg_node_set_t(qg_node_t *n, qg_sym_t name, qg_tensor *v) QG_MUST_USE;
qg_status qg_node_set_ty(qg_node_t *n, qg_sym_t name, const qg_type_t *v) QG_MUST_USE;
qg_status qg_node_set_c(qg_node_t *n, qg_sym_t name, double re, double im) QG_MUST_USE;
qg_status qg_node_set_is(qg_node_t *n, qg_sym_t name, const int64_t *v, size_t count) QG_MUST_USE;
qg_status qg_node_set_fs(qg_node_t *n, qg_sym_t name, const double *v, size_t count) QG_MUST_USE;
qg_status qg_node_set_ss(qg_node_t *n, qg_sym_t name, const char *const *v, size_t count) QG_MUST_USE;
qg_status qg_node_set_ts(qg_node_t *n, qg_sym_t name, qg_tensor *const *v, size_t count) QG_MUST_USE;
qg_status qg_node_set_tys(qg_node_t *n, qg_sym_t name, const qg_type_t *const *v, size_t count) QG_MUST_USE;
/* Graph attributes (Note [Graph attributes]). qg_node_set_g / _gs deep-copy their graphs into
 * n's unit (types are imported). qg_node_set_g_owned takes `g` itself: g must be a standalone
 * graph (from qg_graph_create / qg_graph_clone / qg_graph_parse, not a method graph or another
 * node's attribute) of n's unit, and must not contain n's graph. On success n owns g; on any
 * failure (INVALID_ARGUMENT for the conditions above, OOM) g is untouched and still the
 * caller's. */
qg_status qg_node_set_g(qg_node_t *n, qg_sym_t name, const qg_graph_t *g) QG_MUST_USE;
qg_status qg_node_set_g_owned(qg_node_t *n, qg_sym_t name, qg_graph_t *g) QG_MUST_USE;
qg_status qg_node_set_gs(qg_node_t *n, qg_sym_t name, const qg_graph_t *const *gs, size_t count) QG_MUST_USE;
/* The graph of attribute `name` (borrowed: valid while the attribute is), NULL if absent or of
 * another kind. */
qg_graph_t *qg_node_g(const qg_node_t *n, qg_sym_t name);
/* The node whose graph attribute holds g, or NULL for a top-level graph. */
qg_node_t *qg_graph_parent_node(const qg_graph_t *g);
/* The attribute name PyTorch uses for fork / fusion-group bodies: "Subgraph" (attr::Subgraph).
 * Interns it on first use; OOM on failure. */
qg_status qg_sym_subgraph(qg_sym_t *out) QG_MUST_USE;

/* The attribute or NULL. */
const qg_attr *qg_node_attr(const qg_node_t *n, qg_sym_t name);
int qg_node_remove_attr(qg_node_t *n, qg_sym_t name); /* 1 if removed */
/* Convenience for the common `name` / `value` attributes; NULL / 0 if absent or other kind. */
const char *qg_node_s(const qg_node_t *n, const char *attr_name);

/* Arena-backed copy of s[0..n) (NUL-terminated) for names, scopes and source comments; lives as
 * long as g. NULL on allocation failure (no error message set: callers report qg_oom). */
const char *qg_graph_strdup(qg_graph_t *g, const char *s, size_t n);

/* ---- whole-graph operations ------------------------------------------------------------ */

/* A deep copy (same unit), graph attributes included. */
qg_status qg_graph_clone(const qg_graph_t *g, qg_graph_t **out) QG_MUST_USE;
/* Copies the nodes of `src` into `dst` at dst's insertion point, mapping src's inputs to
 * `inputs` (qg_graph_ninputs(src) values of dst); *outputs receives the values in dst that
 * correspond to src's outputs (caller-provided array of qg_graph_noutputs(src)). Types are
 * imported into dst's unit. This is what the inliner uses. */
qg_status qg_graph_insert_graph(qg_graph_t *dst, const qg_graph_t *src, qg_value_t *const *inputs,
                                qg_value_t **outputs) QG_MUST_USE;

/* Checks every invariant (use lists symmetric, inputs defined before use and in scope,
 * sentinel structure, topo order, unique value names, owning pointers, block arity of
 * prim::If / prim::Loop, graph attributes: see Note [Graph attributes], each linted in turn).
 * QG_STATUS_LINT with the first violation described. */
qg_status qg_graph_lint(const qg_graph_t *g) QG_MUST_USE;

/* Calls fn for every node in g in order, descending into blocks (pre-order). Stops and returns
 * fn's non-zero result. fn may change attributes, inputs and types, but must not destroy or
 * move nodes (collect them and do that after the walk). */
int qg_graph_walk(const qg_graph_t *g, int (*fn)(qg_node_t *n, void *ud), void *ud);

#endif
