/* Internals of the quantized conv / linear / embedding_bag op implementations
 * (src/runtime/ops_qlinear*.c). Not API. ops_qlinear.c holds the one table
 * (qg__ops_qlinear_table) and the helpers; the family files adapt arguments to the kernels of
 * ops/cpu/qlinear.h, qconv.h, qembedding.h and to the packed params of quant/packed_params.h. */
#ifndef QG_RUNTIME_OPS_QLINEAR_IMPL_H
#define QG_RUNTIME_OPS_QLINEAR_IMPL_H

#include "quant/packed_params.h"
#include "runtime/runtime.h"

/* The op's qualified name ("quantized::linear") for messages. */
const char *qg__qlin_op_name(const qg_op_call *c);
/* The unit to define the packed params class in: the one of the node's output class type (the
 * graph's unit). TYPE if the node's output is not a class type. */
qg_status qg__qlin_out_unit(const qg_op_call *c, qg_cu_t **cu) QG_MUST_USE;
/* Argument i as an object (borrowed). */
qg_status qg__qlin_arg_object(const qg_op_call *c, size_t i, const qg_ival **out) QG_MUST_USE;
/* Counts a warning on the runner (library code never prints; qg_runner_warnings). */
void qg__qlin_warn(qg_op_call *c);

/* ops_qlinear_linear.c */
qg_status qg__qlin_linear_prepack(qg_op_call *c);
qg_status qg__qlin_linear_prepack_fp16(qg_op_call *c);
qg_status qg__qlin_linear_unpack(qg_op_call *c);
qg_status qg__qlin_linear(qg_op_call *c);
qg_status qg__qlin_linear_relu(qg_op_call *c);
qg_status qg__qlin_linear_dynamic(qg_op_call *c);
qg_status qg__qlin_linear_relu_dynamic(qg_op_call *c);
qg_status qg__qlin_linear_dynamic_fp16(qg_op_call *c);
qg_status qg__qlin_linear_relu_dynamic_fp16(qg_op_call *c);

/* ops_qlinear_conv.c: prepack / unpack / run take the spatial rank and form from the op name. */
qg_status qg__qlin_conv_prepack(qg_op_call *c);
qg_status qg__qlin_conv_unpack(qg_op_call *c);
qg_status qg__qlin_conv_accessor(qg_op_call *c);
qg_status qg__qlin_conv(qg_op_call *c);

/* ops_qlinear_embed.c */
qg_status qg__qlin_embedding_prepack(qg_op_call *c);
qg_status qg__qlin_embedding_unpack(qg_op_call *c);
qg_status qg__qlin_embedding_bag_rowwise(qg_op_call *c);
qg_status qg__qlin_embedding_bag_packed(qg_op_call *c);
qg_status qg__qlin_embedding_lookup(qg_op_call *c);

#endif
