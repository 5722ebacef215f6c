/* Internals of the quantized-tensor op implementations (src/runtime/ops_quant*.c). Not API.
 *
 * One file per op family adapts qg_op_call arguments to the kernels of src/ops/cpu/quantized_*.h
 * and exports its table; ops_quant.c concatenates them into qg__ops_quant_table (searched after
 * the aten table). aten ops that receive quantized tensors (relu, pooling, cat, ...) keep their
 * aten entries: the CPU kernels they call hand quantized inputs to the quantized kernels, as
 * PyTorch's QuantizedCPU dispatch key does. */
#ifndef QG_RUNTIME_OPS_QUANT_IMPL_H
#define QG_RUNTIME_OPS_QUANT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/ops_aten_impl.h"

/* Family tables: *n receives the entry count. */
const qg_op_impl_entry *qg__ops_quant_tensor_table(size_t *n); /* quantize, dequantize, qparams */
const qg_op_impl_entry *qg__ops_quant_binary_table(size_t *n); /* quantized::add / mul family */
const qg_op_impl_entry *qg__ops_quant_nn_table(size_t *n);     /* quantized:: activations, norms, cat, pools */

/* A ScalarType argument that must name a quantized dtype ("quantize_per_tensor: ScalarType
 * Float is not supported in new_qtensor."). */
qg_status qg__quant_arg_qdtype(const qg_op_call *c, size_t i, const char *fn, qg_dtype *out) QG_MUST_USE;
/* A Scalar argument as a double. */
qg_status qg__quant_arg_number(const qg_op_call *c, size_t i, double *out) QG_MUST_USE;
/* A float argument that is either a number or a one-element tensor (the .Tensor overloads that
 * torch.jit.trace produces, read with Tensor::item()). */
qg_status qg__quant_arg_number_or_tensor(const qg_op_call *c, size_t i, double *out) QG_MUST_USE;
/* The tensors of a Tensor[] argument as a borrowed array (freed with qg__free). */
qg_status qg__quant_arg_tensors(const qg_op_call *c, size_t i, qg_tensor ***out, size_t *n) QG_MUST_USE;

#endif
