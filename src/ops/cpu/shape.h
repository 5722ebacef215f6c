/* Joining and splitting: aten::cat, stack, chunk, split (split_size), split_with_sizes, and
 * dropout in evaluation mode.
 *
 * cat / stack return a NEW contiguous tensor owned by the caller; inputs may have any strides
 * and their dtypes are promoted as PyTorch (cat of f32 and f64 gives f64). chunk / split return
 * VIEWS of the input (sharing its storage) in a new array: the caller releases each tensor and
 * frees the array with qg_cpu_tensor_list_free. Errors are INVALID_ARGUMENT with PyTorch's
 * messages ("Sizes of tensors must match except in dimension 1. Expected size 3 but got size 4
 * for tensor number 1 in the list.", "Dimension out of range (expected to be in range of [-2,
 * 1], but got 2)"), or OOM. Cost: O(total numel) for cat/stack, O(pieces) for the views. */
#ifndef QG_OPS_CPU_SHAPE_H
#define QG_OPS_CPU_SHAPE_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* Concatenates n tensors along dim (negative wraps). As PyTorch, 1-D tensors of size 0 are
 * skipped (legacy behaviour) whatever the others' rank. */
qg_status qg_cpu_cat(qg_tensor *const *tensors, int n, int64_t dim, qg_tensor **out) QG_MUST_USE;
/* Stacks n equally shaped tensors along a new dim (in [-(ndim+1), ndim]). */
qg_status qg_cpu_stack(qg_tensor *const *tensors, int n, int64_t dim, qg_tensor **out) QG_MUST_USE;

/* ceil(size / chunks)-sized views along dim; fewer than `chunks` pieces when size is small
 * (chunk of 5 into 4 gives 2, 2, 1), as PyTorch. */
qg_status qg_cpu_chunk(qg_tensor *x, int64_t chunks, int64_t dim, qg_tensor ***outs,
                       int64_t *nout) QG_MUST_USE;
/* split_size-sized views along dim, the last one smaller. */
qg_status qg_cpu_split(qg_tensor *x, int64_t split_size, int64_t dim, qg_tensor ***outs,
                       int64_t *nout) QG_MUST_USE;
/* Views of the given sizes, which must sum to the size of dim. */
qg_status qg_cpu_split_with_sizes(qg_tensor *x, const int64_t *sizes, int nsizes, int64_t dim,
                                  qg_tensor ***outs, int64_t *nout) QG_MUST_USE;
/* Releases n tensors and frees the array (NULL is a no-op). */
void qg_cpu_tensor_list_free(qg_tensor **ts, int64_t n);

/* aten::dropout(input, p, train) for train = 0 (or p = 0): returns input itself (one new
 * reference), as PyTorch aliases its input there. p outside [0, 1] is INVALID_ARGUMENT
 * ("dropout probability has to be between 0 and 1, but got 1.5"); training with p > 0 is
 * UNSUPPORTED (random masks belong to no reference kernel). */
qg_status qg_cpu_dropout(qg_tensor *x, double p, int train, qg_tensor **out) QG_MUST_USE;

#endif
