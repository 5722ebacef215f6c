/* Concatenation of quantized tensors (qconcat.cpp, reference §5.7): every input is dequantized,
 * the floats concatenated and quantized once with (scale, zero_point) (quantize_per_tensor's
 * numerics), then the optional ReLU clamps at the zero point. quantized::cat defaults the qparams
 * to the first input's; aten::cat and aten::stack on quantized tensors always use the first
 * input's (PyTorch warns when they differ). All inputs must share dtype and scheme ("All dtypes
 * must be the same.", "Quantization schemes must be the same."). PyTorch's channels-last fast
 * path (4-D inputs, dim 1) is not taken: quantgraph tensors carry no memory format. */
#ifndef QG_OPS_CPU_QUANTIZED_CAT_H
#define QG_OPS_CPU_QUANTIZED_CAT_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* has_qparams = 0: the first input's. stack = 1: aten::stack (a new dim at dim). */
qg_status qg_cpu_qcat(qg_tensor *const *xs, int n, int64_t dim, int has_qparams, double scale, int64_t zero_point,
                      int relu, int stack, qg_tensor **out) QG_MUST_USE;

#endif
