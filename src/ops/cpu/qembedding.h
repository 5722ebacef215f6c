/* Row-wise quantized embedding bags (quantized::embedding_bag_{byte,4bit}_prepack / _unpack /
 * _rowwise_offsets), FBGEMM's formats and reference numerics (docs/numerics.md):
 *
 *   byte: each row of the float32 weight [rows, D] becomes D uint8 values followed by a float32
 *         scale (range / 255) and a float32 bias (the row minimum): [rows, D + 8] uint8;
 *         q = lrintf((x - min) * (255 / (range + 1e-8))).
 *   4bit: the minimum rounded to fp16, scale = range / 15 rounded to fp16 (1 if that is 0 or its
 *         reciprocal overflows), q = clamp(lrintf((x - min) * (1 / scale)), 0, 15), two values per
 *         byte (element 0 in the low nibble), then fp16 scale and fp16 bias: [rows, D/2 + 4];
 *         D must be even (as PyTorch).
 *   bag:  for each bag, out[j] = fma(w * scale, q, out[j] + w * bias) over its indices in order
 *         (w: the per-sample weight or 1); an empty bag is 0. The mode argument is ignored: PyTorch's
 *         rowwise_offsets ops compute the sum for every mode (mean and max included; verified on
 *         torch 1.13 and 2.x), and quantgraph does the same so results match.
 *
 * Weights may be 2-D or have leading batch dims (prepack keeps them). Errors name the op:
 * QG_STATUS_TYPE (dtypes), QG_STATUS_INVALID_ARGUMENT (shapes, an index out of range, bad
 * offsets, mode), QG_STATUS_OOM. */
#ifndef QG_OPS_CPU_QEMBEDDING_H
#define QG_OPS_CPU_QEMBEDDING_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* bits: 8 (byte) or 4. */
qg_status qg_cpu_embedding_bag_prepack(int bits, qg_tensor *weight, qg_tensor **out) QG_MUST_USE;
/* The float32 weight back: q * scale + bias. */
qg_status qg_cpu_embedding_bag_unpack(int bits, qg_tensor *packed, qg_tensor **out) QG_MUST_USE;

typedef struct qg_embedding_bag_args {
  qg_tensor *indices;            /* int64 or int32; 1-D, or 2-D [bags, len] when offsets is NULL */
  qg_tensor *offsets;            /* same integer dtype, or NULL */
  qg_tensor *per_sample_weights; /* float32, one per index, or NULL */
  int64_t mode;                  /* accepted and ignored (always the sum, as PyTorch) */
  int include_last_offset;
} qg_embedding_bag_args;

/* quantized::embedding_bag_{byte,4bit}_rowwise_offsets on a 2-D packed weight: float32
 * [bags, D]. */
qg_status qg_cpu_embedding_bag_rowwise(int bits, qg_tensor *packed, const qg_embedding_bag_args *a,
                                       qg_tensor **out) QG_MUST_USE;

#endif
