/* Internals of the aten tensor-op implementations (src/runtime/ops_aten*.c). Not API.
 *
 * One file per op family adapts qg_op_call arguments (read by schema position: graphs
 * materialise every default, so every argument is present; Optional ones may be None) to the
 * CPU kernels of src/ops/cpu and exports its table; ops_aten.c concatenates the family tables
 * into qg__ops_aten_table. Kernels set the error message; adapters only add argument checks. */
#ifndef QG_RUNTIME_OPS_ATEN_IMPL_H
#define QG_RUNTIME_OPS_ATEN_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "ops/cpu/elementwise.h"
#include "runtime/runtime.h"

/* Family tables: *n receives the entry count. */
const qg_op_impl_entry *qg__ops_aten_conv_table(size_t *n);      /* conv, linear algebra */
const qg_op_impl_entry *qg__ops_aten_pointwise_table(size_t *n); /* activations, arithmetic, compare */
const qg_op_impl_entry *qg__ops_aten_shape_table(size_t *n);     /* views, join/split, sizes */
const qg_op_impl_entry *qg__ops_aten_nn_table(size_t *n);        /* norm, pool, upsample, embedding, reduce */
const qg_op_impl_entry *qg__ops_aten_create_table(size_t *n);    /* creation, conversion, fill */

/* The op's qualified name ("aten::conv2d") for messages. */
const char *qg__aten_op_name(const qg_op_call *c);

/* A `Scalar` argument (int, float or bool; a bool is the int 0/1, as c10::Scalar). */
qg_status qg__aten_arg_scalar(const qg_op_call *c, size_t i, qg_scalar *out) QG_MUST_USE;
/* A `Scalar?` argument: *present = 0 for None. */
qg_status qg__aten_arg_opt_scalar(const qg_op_call *c, size_t i, qg_scalar *out, int *present) QG_MUST_USE;
/* A `ScalarType?` (or `int?` dtype) argument: *present = 0 for None; an unknown number or a
 * dtype without CPU support is INVALID_ARGUMENT naming the op. */
qg_status qg__aten_arg_dtype(const qg_op_call *c, size_t i, qg_dtype *out, int *present) QG_MUST_USE;
/* A `Device?` argument: QG_OK for None or the CPU; UNSUPPORTED for other devices ("aten::to:
 * device cuda:0 is not supported by the CPU interpreter"). */
qg_status qg__aten_check_device(const qg_op_call *c, size_t i) QG_MUST_USE;
/* aten::max_pool{N}d's implementation (ops_aten_nn.c), shared with quantized::max_pool{1,2}d. */
qg_status qg__aten_max_pool(qg_op_call *c, int nspatial) QG_MUST_USE;
/* A `Layout?` argument: None or strided (0), else UNSUPPORTED. */
qg_status qg__aten_check_layout(const qg_op_call *c, size_t i) QG_MUST_USE;

/* Stores t (one new reference added) as output i: what in-place and aliasing ops return. */
void qg__aten_out_alias(qg_op_call *c, size_t i, qg_tensor *t);
/* Stores a Tensor[] output made of ts[0..n) (takes every reference; frees the array with
 * qg_cpu_tensor_list_free semantics, also on failure). */
qg_status qg__aten_out_tensor_list(qg_op_call *c, size_t i, qg_tensor **ts, int64_t n) QG_MUST_USE;

#endif
