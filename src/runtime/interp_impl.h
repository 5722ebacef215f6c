/* Internals of the interpreter (plan.c, interp.c, runner.c, ops_prim.c). Not API.
 *
 * A plan is a graph compiled for execution: every value gets a slot in a frame (an array of
 * qg_ival), every node a qg__pnode with its input and output slots, its resolved schema
 * overload and implementation, and the slots whose last use it is (released after it runs, so
 * intermediate tensors die as early as in PyTorch's interpreter). Blocks of prim::If / Loop
 * become nested qg__pblocks. Plans are built lazily per graph and cached by the runner. */
#ifndef QG_RUNTIME_INTERP_IMPL_H
#define QG_RUNTIME_INTERP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "base/vec.h"
#include "ir/ir_impl.h"
#include "runtime/runtime.h"

typedef enum qg__pkind {
  QG_P_OP,        /* an op table implementation */
  QG_P_CONSTANT,  /* prim::Constant: the precomputed value */
  QG_P_GETATTR,
  QG_P_SETATTR,
  QG_P_IF,
  QG_P_LOOP,
  QG_P_CALLMETHOD,
  QG_P_CALLFUNCTION,
  QG_P_SUBGRAPH,  /* prim::fork_N (result wrapped in a Future), DifferentiableGraph_N, ... */
  QG_P_MISSING    /* no implementation: an error naming the node when it runs */
} qg__pkind;

typedef struct qg__pblock qg__pblock;
typedef struct qg__plan qg__plan;

typedef struct qg__pnode {
  qg__pkind kind;
  const qg_node_t *node;
  const qg_schema_t *schema; /* QG_P_OP */
  qg_op_impl impl;           /* QG_P_OP */
  uint32_t *in, nin;
  uint32_t *out, nout;
  uint32_t *dead, ndead;     /* slots to release after the node ran */
  qg__pblock *blocks;
  uint32_t nblocks;
  qg_ival constant;          /* QG_P_CONSTANT (owned by the plan) */
  const char *missing;       /* QG_P_CONSTANT without a value / QG_P_MISSING: why */
  const char *name;          /* GetAttr / SetAttr slot, CallMethod method, Constant function name */
  /* GetAttr / SetAttr: slot index cached for the last class seen. */
  const qg_type_t *cache_cls;
  long cache_slot;
  const qg_graph_t *callee;  /* CallFunction (resolved at plan time) / subgraph body */
  int wrap_future;           /* QG_P_SUBGRAPH: prim::fork */
} qg__pnode;

struct qg__pblock {
  qg__pnode *nodes;
  size_t nnodes;
  uint32_t *in, nin;   /* block parameters */
  uint32_t *out, nout; /* values the block returns */
  uint32_t *dead, ndead; /* slots defined in the block still alive at its end */
};

struct qg__plan {
  const qg_graph_t *graph;
  size_t nslots;
  qg__pblock top;
};

/* Builds the plan of g. Op resolution failures do not fail the build: the node becomes
 * QG_P_MISSING and fails when it runs (a graph may hold ops on paths never taken). Only OOM
 * fails. */
qg_status qg__plan_build(const qg_graph_t *g, qg__plan **out) QG_MUST_USE;
void qg__plan_free(qg__plan *p);

/* The schema overload of n's op that TorchScript's matching would pick for the static types of
 * n's inputs (registry order, first match), or NULL. */
const qg_schema_t *qg__match_schema(const qg_node_t *n);

/* Does a value of static type `actual` match schema argument type `formal`? */
int qg__type_matches(const qg_type_t *formal, const qg_type_t *actual);

/* Argument defaults of a method with a signature (defaults.c), cached per graph by the runner. */
typedef struct qg__defaults qg__defaults;
void qg__defaults_free(qg__defaults *d);

struct qg_runner {
  qg_module *module;    /* may be NULL (standalone graphs) */
  qg_run_opts opts;
  qg__ptrmap plans;     /* graph -> qg__plan */
  QG_VEC(qg__plan *) all; /* for freeing, in creation order */
  size_t warnings;      /* aten::warn calls seen */
  QG_VEC(qg__defaults *) defaults; /* per method graph with a signature */
};

/* The cached defaults of method m (m->signature non-NULL), built on first use. */
qg_status qg__defaults_get(qg_runner *r, const qg_method *m, const qg__defaults **out) QG_MUST_USE;
/* full[0..ninputs - first) = args[0..nargs) followed by the defaults of the omitted trailing
 * inputs (borrowed from the cache); an error names the first omitted argument with no default. */
qg_status qg__defaults_fill(const qg__defaults *d, size_t first, const char *method, const qg_ival *args,
                            size_t nargs, qg_ival *full) QG_MUST_USE;

/* Interpreter state for one top-level call. */
struct qg_exec {
  qg_runner *runner;
  int depth;
  int located; /* the current error already names module, method and node */
};

/* The scalar (ops_scalar.c) and list/dict/str (ops_list.c) op tables, searched after
 * qg__ops_prim_table and before the aten table. */
const qg_op_impl_entry *qg__ops_scalar_table(size_t *n);
const qg_op_impl_entry *qg__ops_list_table(size_t *n);

/* The cached plan for g (built on first use). */
qg_status qg__runner_plan(qg_runner *r, const qg_graph_t *g, qg__plan **out) QG_MUST_USE;

/* Runs graph g with inputs (borrowed; self first for methods); outputs[noutputs(g)] receive
 * owned values. `self_obj` (may be NULL) and `what` ("forward", "function __torch__.f") name the
 * frame in error messages. */
qg_status qg__exec_graph(qg_exec *ex, const qg_graph_t *g, const qg_ival *inputs, size_t ninputs,
                         const qg_ival *self_obj, const char *what, qg_ival *outputs) QG_MUST_USE;

#endif
