/* Embedding lookups: aten::embedding (rows of a table) and aten::embedding_bag (sums, means or
 * maxima of bags of rows), as torch.nn.functional computes them in the forward pass.
 * weight [num_embeddings, D] is f32 or f64; indices and offsets are i64 or i32; any strides.
 * Results are new contiguous tensors owned by the caller. Errors: QG_STATUS_INVALID_ARGUMENT
 * with PyTorch's messages ("index out of range in self", "offsets[0] has to be 0, ..."),
 * QG_STATUS_UNSUPPORTED for other dtypes, QG_STATUS_OOM. */
#ifndef QG_OPS_CPU_EMBEDDING_H
#define QG_OPS_CPU_EMBEDDING_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* out[..., :] = weight[indices[...], :]; out shape = indices.shape + [D]. padding_idx only
 * changes gradients in PyTorch, so the forward pass does not take it. */
qg_status qg_cpu_embedding(qg_tensor *weight, qg_tensor *indices, qg_tensor **out) QG_MUST_USE;

typedef enum qg_embedding_bag_mode {
  QG_EMBEDDING_BAG_SUM = 0, /* aten's mode numbers */
  QG_EMBEDDING_BAG_MEAN = 1,
  QG_EMBEDDING_BAG_MAX = 2
} qg_embedding_bag_mode;

/* The first output of aten::embedding_bag: [B, D].
 * - indices 1-D with offsets (1-D, bag b = indices[offsets[b] .. offsets[b+1]), the last bag
 *   running to the end, or to offsets[B] when include_last_offset), or indices 2-D [B, N] with
 *   offsets NULL (each row a bag).
 * - per_sample_weights: NULL or the shape of indices, same dtype as weight; sum mode only.
 * - padding_idx: < 0 for none (aten's -1; F.embedding_bag wraps negative Python values before
 *   calling aten); entries equal to it are skipped and not counted by mean.
 * - An empty bag gives zeros in every mode. Max takes the first row, then strictly greater
 *   values (as PyTorch's CPU kernel). */
qg_status qg_cpu_embedding_bag(qg_tensor *weight, qg_tensor *indices, qg_tensor *offsets,
                               qg_embedding_bag_mode mode, qg_tensor *per_sample_weights,
                               int include_last_offset, int64_t padding_idx,
                               qg_tensor **out) QG_MUST_USE;

#endif
