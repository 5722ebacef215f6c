/* Float normalization: aten::batch_norm, layer_norm, group_norm, instance_norm.
 *
 * Input f32 or f64, any strides; parameters (weight, bias, running stats) are 1-D tensors of
 * any float dtype and strides, NULL where the schema has None. The result is a NEW contiguous
 * tensor of the input's shape and dtype, owned by the caller. Statistics are computed in double
 * (two passes: mean, then biased variance); normalization is
 * (x - mean) / sqrt(var + eps) * weight + bias, as PyTorch. Errors: UNSUPPORTED for non-float
 * input, INVALID_ARGUMENT with PyTorch's messages for shapes ("running_mean should contain 4
 * elements not 3", "Expected number of channels in input to be divisible by num_groups, but got
 * input of shape [2, 6, 5] and num_groups=4"), OOM. Cost: O(numel). */
#ifndef QG_OPS_CPU_NORM_H
#define QG_OPS_CPU_NORM_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* Input [N, C, *]. Evaluation (training = 0) uses running_mean / running_var (both required).
 * Training mode normalizes with the batch statistics over N and the spatial dims and, when the
 * running stats are given, updates them in place as PyTorch does:
 * running = (1 - momentum) * running + momentum * stat, with the unbiased variance. */
qg_status qg_cpu_batch_norm(qg_tensor *input, qg_tensor *weight, qg_tensor *bias,
                            qg_tensor *running_mean, qg_tensor *running_var, int training,
                            double momentum, double eps, qg_tensor **out) QG_MUST_USE;

/* Normalizes over the last n dims, which must equal normalized_shape ("Given
 * normalized_shape=[4], expected input with shape [*, 4], but got input of size[2, 3]").
 * weight/bias, when given, have normalized_shape's shape (numel checked). */
qg_status qg_cpu_layer_norm(qg_tensor *input, const int64_t *normalized_shape, int n,
                            qg_tensor *weight, qg_tensor *bias, double eps,
                            qg_tensor **out) QG_MUST_USE;

/* Input [N, C, *]; statistics per (sample, group of C / num_groups channels); weight/bias per
 * channel. */
qg_status qg_cpu_group_norm(qg_tensor *input, int64_t num_groups, qg_tensor *weight,
                            qg_tensor *bias, double eps, qg_tensor **out) QG_MUST_USE;

/* Input [N, C, *]. use_input_stats: statistics per (sample, channel); given running stats are
 * updated with the momentum rule using the mean over N of the per-instance statistics
 * (unbiased variance). Otherwise the running stats are used as in batch_norm evaluation
 * ("Expected running_mean and running_var to be defined when use_input_stats is false"). */
qg_status qg_cpu_instance_norm(qg_tensor *input, qg_tensor *weight, qg_tensor *bias,
                               qg_tensor *running_mean, qg_tensor *running_var,
                               int use_input_stats, double momentum, double eps,
                               qg_tensor **out) QG_MUST_USE;

#endif
