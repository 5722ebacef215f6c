/* The interpreter: runs method graphs of a module (or a standalone graph) on qg_ival values.
 *
 * Execution model (like TorchScript's): each graph is compiled once into a plan (nodes in order,
 * each resolved to its op schema overload and implementation), then run with a value frame.
 * prim::Constant, prim::GetAttr/SetAttr, prim::If/Loop, prim::CallMethod/CallFunction,
 * prim::fork/aten::wait, prim::RaiseException etc. are executed by the interpreter itself; every
 * other op goes through an implementation function found by (op name, overload name) in the op
 * tables (src/runtime/ops_*.c), each of which adapts arguments to a kernel.
 *
 * Errors name the module path, the method, the node (printed as in the graph) and the cause:
 *   "layer1.0.conv1 (forward): %x.3 : Tensor = aten::conv2d(%x.1, %w, ...): conv2d: expected
 *    input with 4 dims, got 3" */
#ifndef QG_RUNTIME_RUNTIME_H
#define QG_RUNTIME_RUNTIME_H

#include <stddef.h>

#include "base/status.h"
#include "ir/ir.h"
#include "ir/schema.h"
#include "module/module.h"
#include "module/value.h"

typedef struct qg_exec qg_exec; /* interpreter state for one call tree (opaque) */

/* One call of an op implementation. */
typedef struct qg_op_call {
  const qg_node_t *node;     /* the node being run (for messages; its inputs' static types) */
  const qg_schema_t *schema; /* the matched overload */
  qg_ival *args;             /* the node's inputs in order; borrowed (do not release) */
  size_t nargs;
  qg_ival *outs;             /* nouts slots, None on entry; the impl stores owned results */
  size_t nouts;
  qg_exec *exec;
} qg_op_call;

typedef qg_status (*qg_op_impl)(qg_op_call *c);

typedef struct qg_op_impl_entry {
  const char *name;     /* "aten::add" */
  const char *overload; /* "Tensor", "Scalar", "" for the unnamed overload, "*" for any overload
                           (the impl then dispatches on c->schema->overload itself) */
  qg_op_impl impl;
} qg_op_impl_entry;

/* The op tables, one per file (prim/scalar/list ops; aten tensor ops; later quantized ops). */
const qg_op_impl_entry *qg__ops_prim_table(size_t *n);
const qg_op_impl_entry *qg__ops_aten_table(size_t *n);
/* Quantized tensors: quantize/dequantize, qparams, elementwise/norm/pool ops (ops_quant*.c). */
const qg_op_impl_entry *qg__ops_quant_table(size_t *n);
/* Quantized conv/linear/embedding_bag and their prepack/unpack (ops_qlinear*.c). */
const qg_op_impl_entry *qg__ops_qlinear_table(size_t *n);
/* The implementation for a schema overload, or NULL. */
qg_op_impl qg_op_impl_find(const qg_schema_t *schema);

/* ---- running ------------------------------------------------------------------------------ */

typedef struct qg_run_opts {
  int num_threads; /* for kernels (BLAS); 0 = 1 */
} qg_run_opts;

/* A runner caches the plans of the graphs it has run (per graph: overloads resolved,
 * constants evaluated, value lifetimes computed), so repeated calls (benchmarks, serving) do no
 * per-call resolution. It borrows m, which must outlive it. Not thread-safe: use one runner per
 * thread. */
typedef struct qg_runner qg_runner;
qg_status qg_runner_create(qg_module *m, const qg_run_opts *opts, qg_runner **out) QG_MUST_USE;
void qg_runner_free(qg_runner *r); /* NULL is a no-op */
/* As qg_run_method, with the runner's module and options. */
qg_status qg_runner_run(qg_runner *r, const char *module_path, const char *method, const qg_ival *args,
                        size_t nargs, qg_ival *out) QG_MUST_USE;
/* As qg_run_graph; g may be any graph (its plan is cached too). CallFunction resolves functions
 * in g's compilation unit. */
qg_status qg_runner_run_graph(qg_runner *r, const qg_graph_t *g, const qg_ival *inputs, size_t ninputs,
                              qg_ival *outputs) QG_MUST_USE;
/* Number of aten::warn calls executed so far (warnings are not printed: library code never
 * prints). */
size_t qg_runner_warnings(const qg_runner *r);

/* Runs method `method` of module m's root object (or of the submodule at dotted `module_path`,
 * NULL for the root) with positional arguments args[0..nargs) (not counting self). *out receives
 * the return value (a tuple for multiple returns), owned by the caller. Arguments are borrowed. */
qg_status qg_run_method(qg_module *m, const char *module_path, const char *method, const qg_ival *args,
                        size_t nargs, const qg_run_opts *opts, qg_ival *out) QG_MUST_USE;

/* Runs a standalone graph whose inputs are inputs[0..ninputs) (including self if it has one).
 * outputs must have room for qg_graph_noutputs(g) values (owned by the caller afterwards). */
qg_status qg_run_graph(const qg_graph_t *g, const qg_ival *inputs, size_t ninputs, const qg_run_opts *opts,
                       qg_ival *outputs) QG_MUST_USE;

/* Helpers for op implementations: argument access with type checks and clear errors
 * ("aten::conv2d argument 'stride' must be int[], got Tensor"). */
qg_status qg_arg_tensor(const qg_op_call *c, size_t i, qg_tensor **out) QG_MUST_USE;          /* borrowed */
qg_status qg_arg_opt_tensor(const qg_op_call *c, size_t i, qg_tensor **out) QG_MUST_USE;      /* NULL for None */
qg_status qg_arg_int(const qg_op_call *c, size_t i, int64_t *out) QG_MUST_USE;
qg_status qg_arg_double(const qg_op_call *c, size_t i, double *out) QG_MUST_USE;              /* int or float */
qg_status qg_arg_bool(const qg_op_call *c, size_t i, int *out) QG_MUST_USE;
qg_status qg_arg_int_list(const qg_op_call *c, size_t i, int64_t *vals, size_t max, size_t *n) QG_MUST_USE;
qg_status qg_arg_str(const qg_op_call *c, size_t i, const char **out) QG_MUST_USE;            /* borrowed */
int qg_arg_is_none(const qg_op_call *c, size_t i);
/* Optional scalars: *present = 0 for None (then *out is untouched). */
qg_status qg_arg_opt_int(const qg_op_call *c, size_t i, int64_t *out, int *present) QG_MUST_USE;
qg_status qg_arg_opt_double(const qg_op_call *c, size_t i, double *out, int *present) QG_MUST_USE;
/* float[] (ints accepted and converted); at most max values. */
qg_status qg_arg_double_list(const qg_op_call *c, size_t i, double *vals, size_t max, size_t *n) QG_MUST_USE;
/* Any list or tuple: its items (borrowed). qg_arg_tensor_list also checks every item is a tensor
 * (items[k].u.tensor). */
qg_status qg_arg_list(const qg_op_call *c, size_t i, const qg_ival **items, size_t *n) QG_MUST_USE;
qg_status qg_arg_tensor_list(const qg_op_call *c, size_t i, const qg_ival **items, size_t *n) QG_MUST_USE;
/* Stores a new tensor result (takes the reference). */
void qg_out_tensor(qg_op_call *c, size_t i, qg_tensor *t);
/* Stores any result (takes ownership of v; a previous value in the slot is released). */
void qg_out_ival(qg_op_call *c, size_t i, qg_ival v);

#endif
