/* Op classification shared by the quantization passes (PyTorch's quantization/helper.cpp,
 * reference §2.4-§2.6): which ops are quantizable, which values are weights or biases, which
 * "general" ops pass the observed/quantized property through, and the fusion-aware delay
 * patterns. Function calls are recognised by the callee's unqualified name ("linear" for
 * torch.nn.functional.linear), as PyTorch does. */
#ifndef QG_PASSES_QUANT_HELPER_H
#define QG_PASSES_QUANT_HELPER_H

#include <stddef.h>

#include "ir/ir.h"

/* The unqualified callee name of a prim::CallFunction node, or NULL. */
const char *qg_qh_callee_name(const qg_node_t *n);
/* n is aten::<name> (name without namespace). */
int qg_qh_is_aten(const qg_node_t *n, const char *name);
/* n is prim::CallFunction of a function named `name`. */
int qg_qh_is_call(const qg_node_t *n, const char *name);

/* The type is Tensor (any detailed form) / List[Tensor]. */
int qg_qh_is_tensor_type(const qg_type_t *t);
int qg_qh_is_tensor_or_list(const qg_type_t *t);

/* nodeQuantizable: the op has a quantized counterpart (static: conv, linear, norms, ...;
 * dynamic: linear only). */
int qg_qh_node_quantizable(const qg_node_t *n, int dynamic);
/* embedding_bag: only the weight is quantized, the output is not observed. */
int qg_qh_weight_only_static(const qg_node_t *n);
/* cat (single input list) and add/add_/mul/mul_ (binary): quantized iff their inputs are. */
int qg_qh_propagate_quant_single(const qg_node_t *n);
int qg_qh_propagate_quant_binary(const qg_node_t *n);
/* useQuantizable: the use (user, input offset) consumes a value that must be quantized. */
int qg_qh_use_quantizable(const qg_use_t *u, int dynamic);

/* Weight (conv/linear input 1, embedding_bag input 0, F.linear/F.embedding_bag call input 2),
 * bias (conv/linear input 2, F.linear call input 3), embedding_bag offsets/per_sample_weights. */
int qg_qh_is_weight(const qg_value_t *v);
int qg_qh_is_bias(const qg_value_t *v);
int qg_qh_is_embedding_bag_non_input(const qg_value_t *v);

/* A Number value or a constant 0-dim tensor (traced scalars). */
int qg_qh_is_scalar(const qg_value_t *v);
/* Single-input general ops (their output is observed/quantized iff their input is). */
int qg_qh_general_call_function(const qg_node_t *n);
int qg_qh_general_aten_function(const qg_node_t *n);
/* Its two kinds: shape-only (max_pool, flatten, view, relu, ...: the quantized tensor passes
 * through) and value-changing (avg_pool, mean, upsample, clamp, ..., add/mul with a scalar:
 * requantized with the input's qparams). */
int qg_qh_general_shape_aten(const qg_node_t *n);
int qg_qh_general_value_aten(const qg_node_t *n);
/* Fixed-qparams ops (sigmoid, tanh, hardsigmoid and in-place forms). */
int qg_qh_fixed_qparams_op(const qg_node_t *n);
/* A CallFunction that is neither a general op nor a quantizable function: recursed into. */
int qg_qh_user_defined_call(const qg_node_t *n);
/* Every path through the block raises (prim::RaiseException). */
int qg_qh_always_raises(const qg_block_t *b);

/* getPassThroughInputs(v): the values whose observed state v inherits; at most max are
 * written, the total count is returned. */
size_t qg_qh_pass_through_inputs(const qg_value_t *v, qg_value_t **out, size_t max);

/* Delay patterns (§2.6): if `first` (a value produced by a Linear/Conv/BatchNorm2d-3d module
 * call, aten::linear, add/add_ with alpha 1, mul/mul_) has exactly one use and that use is a
 * relu (ReLU module, F.relu, aten::relu, aten::relu_), the relu's output; else NULL. */
qg_value_t *qg_qh_delay_target(const qg_value_t *first);

/* Names v "<debug name of base><suffix>" ("x.2" + ".quant"), as the quantization passes name
 * the values they insert. */
qg_status qg_qh_name_after(qg_value_t *v, const qg_value_t *base, const char *suffix) QG_MUST_USE;

/* The demangled class name of a module-typed value ("__torch__.torch.nn.modules.conv.Conv2d")
 * into buf; 0 on success, -1 if v is not of a class type or the name does not fit. */
int qg_qh_module_type_name(const qg_value_t *v, char *buf, size_t size);

#endif
