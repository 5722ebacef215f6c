/* aten normalization, pooling, upsampling, embeddings and reductions -> src/ops/cpu/norm.h,
 * pool.h, upsample.h, embedding.h, reduce.h. */
#include <string.h>

#include "ops/cpu/embedding.h"
#include "ops/cpu/norm.h"
#include "ops/cpu/pool.h"
#include "ops/cpu/reduce.h"
#include "ops/cpu/upsample.h"
#include "runtime/ops_aten_impl.h"

#define MAXL QG_MAX_DIMS

/* ---- normalization ---------------------------------------------------------------------- */

/* batch_norm(input, weight?, bias?, running_mean?, running_var?, training, momentum, eps,
 * cudnn_enabled) */
static qg_status batch_norm(qg_op_call *c) {
  qg_tensor *x, *w, *b, *rm, *rv, *y;
  int training, cudnn;
  double momentum, eps;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_opt_tensor(c, 1, &w));
  QG_TRY(qg_arg_opt_tensor(c, 2, &b));
  QG_TRY(qg_arg_opt_tensor(c, 3, &rm));
  QG_TRY(qg_arg_opt_tensor(c, 4, &rv));
  QG_TRY(qg_arg_bool(c, 5, &training));
  QG_TRY(qg_arg_double(c, 6, &momentum));
  QG_TRY(qg_arg_double(c, 7, &eps));
  QG_TRY(qg_arg_bool(c, 8, &cudnn));
  QG_TRY(qg_cpu_batch_norm(x, w, b, rm, rv, training, momentum, eps, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* layer_norm(input, int[] normalized_shape, weight?, bias?, eps, cudnn_enable) */
static qg_status layer_norm(qg_op_call *c) {
  qg_tensor *x, *w, *b, *y;
  int64_t shape[MAXL];
  size_t n;
  double eps;
  int cudnn;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int_list(c, 1, shape, MAXL, &n));
  QG_TRY(qg_arg_opt_tensor(c, 2, &w));
  QG_TRY(qg_arg_opt_tensor(c, 3, &b));
  QG_TRY(qg_arg_double(c, 4, &eps));
  QG_TRY(qg_arg_bool(c, 5, &cudnn));
  QG_TRY(qg_cpu_layer_norm(x, shape, (int)n, w, b, eps, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* group_norm(input, int num_groups, weight?, bias?, eps, cudnn_enabled) */
static qg_status group_norm(qg_op_call *c) {
  qg_tensor *x, *w, *b, *y;
  int64_t groups;
  double eps;
  int cudnn;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int(c, 1, &groups));
  QG_TRY(qg_arg_opt_tensor(c, 2, &w));
  QG_TRY(qg_arg_opt_tensor(c, 3, &b));
  QG_TRY(qg_arg_double(c, 4, &eps));
  QG_TRY(qg_arg_bool(c, 5, &cudnn));
  QG_TRY(qg_cpu_group_norm(x, groups, w, b, eps, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* instance_norm(input, weight?, bias?, running_mean?, running_var?, use_input_stats, momentum,
 * eps, cudnn_enabled) */
static qg_status instance_norm(qg_op_call *c) {
  qg_tensor *x, *w, *b, *rm, *rv, *y;
  int use_stats, cudnn;
  double momentum, eps;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_opt_tensor(c, 1, &w));
  QG_TRY(qg_arg_opt_tensor(c, 2, &b));
  QG_TRY(qg_arg_opt_tensor(c, 3, &rm));
  QG_TRY(qg_arg_opt_tensor(c, 4, &rv));
  QG_TRY(qg_arg_bool(c, 5, &use_stats));
  QG_TRY(qg_arg_double(c, 6, &momentum));
  QG_TRY(qg_arg_double(c, 7, &eps));
  QG_TRY(qg_arg_bool(c, 8, &cudnn));
  QG_TRY(qg_cpu_instance_norm(x, w, b, rm, rv, use_stats, momentum, eps, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* ---- pooling ---------------------------------------------------------------------------- */

/* max_pool{N}d(self, kernel_size, stride=[], padding=0, dilation=1, ceil_mode=False); float and
 * quantized inputs (qg_cpu_max_pool_nd dispatches) */
qg_status qg__aten_max_pool(qg_op_call *c, int nspatial) {
  qg_tensor *x, *y;
  int64_t k[MAXL], s[MAXL], p[MAXL], d[MAXL];
  size_t nk, ns, np, nd;
  int ceil_mode;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int_list(c, 1, k, MAXL, &nk));
  QG_TRY(qg_arg_int_list(c, 2, s, MAXL, &ns));
  QG_TRY(qg_arg_int_list(c, 3, p, MAXL, &np));
  QG_TRY(qg_arg_int_list(c, 4, d, MAXL, &nd));
  QG_TRY(qg_arg_bool(c, 5, &ceil_mode));
  QG_TRY(qg_cpu_max_pool_nd(nspatial, x, k, (int)nk, s, (int)ns, p, (int)np, d, (int)nd, ceil_mode, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status max_pool1d(qg_op_call *c) { return qg__aten_max_pool(c, 1); }
static qg_status max_pool2d(qg_op_call *c) { return qg__aten_max_pool(c, 2); }
static qg_status max_pool3d(qg_op_call *c) { return qg__aten_max_pool(c, 3); }

/* avg_pool{N}d(self, kernel_size, stride=[], padding=0, ceil_mode=False,
 * count_include_pad=True[, int? divisor_override=None]) (1d has no divisor_override) */
static qg_status avg_pool(qg_op_call *c, int nspatial) {
  qg_tensor *x, *y;
  int64_t k[MAXL], s[MAXL], p[MAXL], divisor = QG_POOL_NO_DIVISOR;
  size_t nk, ns, np;
  int ceil_mode, count_pad, has = 0;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int_list(c, 1, k, MAXL, &nk));
  QG_TRY(qg_arg_int_list(c, 2, s, MAXL, &ns));
  QG_TRY(qg_arg_int_list(c, 3, p, MAXL, &np));
  QG_TRY(qg_arg_bool(c, 4, &ceil_mode));
  QG_TRY(qg_arg_bool(c, 5, &count_pad));
  if (c->nargs > 6) QG_TRY(qg_arg_opt_int(c, 6, &divisor, &has));
  if (has && divisor == 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "divisor must be not zero");
  if (!has) divisor = QG_POOL_NO_DIVISOR;
  QG_TRY(qg_cpu_avg_pool_nd(nspatial, x, k, (int)nk, s, (int)ns, p, (int)np, ceil_mode, count_pad, divisor, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status avg_pool1d(qg_op_call *c) { return avg_pool(c, 1); }
static qg_status avg_pool2d(qg_op_call *c) { return avg_pool(c, 2); }
static qg_status avg_pool3d(qg_op_call *c) { return avg_pool(c, 3); }

static qg_status adaptive_avg_pool(qg_op_call *c, int nspatial) {
  qg_tensor *x, *y;
  int64_t o[MAXL];
  size_t no;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int_list(c, 1, o, MAXL, &no));
  QG_TRY(qg_cpu_adaptive_avg_pool_nd(nspatial, x, o, (int)no, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status adaptive_avg_pool1d(qg_op_call *c) { return adaptive_avg_pool(c, 1); }
static qg_status adaptive_avg_pool2d(qg_op_call *c) { return adaptive_avg_pool(c, 2); }
static qg_status adaptive_avg_pool3d(qg_op_call *c) { return adaptive_avg_pool(c, 3); }

/* ---- upsampling ------------------------------------------------------------------------- */

/* upsample_{nearest,linear,bilinear,trilinear}{N}d in both forms:
 *   .vec(input, int[]? output_size, [bool align_corners,] float[]? scale_factors)
 *   plain(self, int[N] output_size, [bool align_corners,] float? scales...) */
static qg_status upsample(qg_op_call *c, int nspatial, qg_upsample_mode mode) {
  qg_tensor *x, *y;
  int align = 0;
  size_t i = 1;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  int vec = strcmp(c->schema->overload, "vec") == 0;
  int64_t osize[MAXL];
  size_t nout = 0;
  int has_size = !qg_arg_is_none(c, i);
  if (has_size) QG_TRY(qg_arg_int_list(c, i, osize, MAXL, &nout));
  i++;
  if (mode == QG_UPSAMPLE_LINEAR) QG_TRY(qg_arg_bool(c, i++, &align));
  if (vec) {
    double scales[MAXL];
    size_t nscale = 0;
    if (!qg_arg_is_none(c, i)) QG_TRY(qg_arg_double_list(c, i, scales, MAXL, &nscale));
    else if (!has_size)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Must specify exactly one of output_size and scale_factors");
    QG_TRY(qg_cpu_upsample_vec(nspatial, mode, x, has_size ? osize : NULL, (int)nout, nscale ? scales : NULL,
                               (int)nscale, align, &y));
  } else {
    double scales[3];
    int any = 0;
    if (!has_size || nout != (size_t)nspatial)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: expected output_size with %d values, got %zu",
                          qg__aten_op_name(c), nspatial, nout);
    for (int k = 0; k < nspatial; k++) {
      int has = 0;
      scales[k] = -1;
      if (i + (size_t)k < c->nargs) QG_TRY(qg_arg_opt_double(c, i + (size_t)k, &scales[k], &has));
      if (!has) scales[k] = -1;
      any |= has;
    }
    QG_TRY(qg_cpu_upsample(nspatial, mode, x, osize, any ? scales : NULL, align, &y));
  }
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status upsample_nearest1d(qg_op_call *c) { return upsample(c, 1, QG_UPSAMPLE_NEAREST); }
static qg_status upsample_nearest2d(qg_op_call *c) { return upsample(c, 2, QG_UPSAMPLE_NEAREST); }
static qg_status upsample_nearest3d(qg_op_call *c) { return upsample(c, 3, QG_UPSAMPLE_NEAREST); }
static qg_status upsample_linear1d(qg_op_call *c) { return upsample(c, 1, QG_UPSAMPLE_LINEAR); }
static qg_status upsample_bilinear2d(qg_op_call *c) { return upsample(c, 2, QG_UPSAMPLE_LINEAR); }
static qg_status upsample_trilinear3d(qg_op_call *c) { return upsample(c, 3, QG_UPSAMPLE_LINEAR); }

/* ---- embeddings ------------------------------------------------------------------------- */

/* embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False): the last
 * three only matter for gradients. */
static qg_status embedding(qg_op_call *c) {
  qg_tensor *w, *idx, *y;
  QG_TRY(qg_arg_tensor(c, 0, &w));
  QG_TRY(qg_arg_tensor(c, 1, &idx));
  QG_TRY(qg_cpu_embedding(w, idx, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* embedding_bag(weight, indices, offsets, scale_grad_by_freq, mode, sparse, per_sample_weights?,
 * include_last_offset[, int? padding_idx]) -> (out, offset2bag, bag_size, max_indices).
 * Outputs 1..3 are backward bookkeeping that no forward graph reads (F.embedding_bag returns
 * only the first); they are returned as empty i64 tensors. */
static qg_status embedding_bag(qg_op_call *c) {
  qg_tensor *w, *idx, *off, *psw, *y;
  int sgbf, sparse, last;
  int64_t mode, padding_idx = -1;
  int has = 0;
  QG_TRY(qg_arg_tensor(c, 0, &w));
  QG_TRY(qg_arg_tensor(c, 1, &idx));
  QG_TRY(qg_arg_tensor(c, 2, &off));
  QG_TRY(qg_arg_bool(c, 3, &sgbf));
  QG_TRY(qg_arg_int(c, 4, &mode));
  QG_TRY(qg_arg_bool(c, 5, &sparse));
  QG_TRY(qg_arg_opt_tensor(c, 6, &psw));
  QG_TRY(qg_arg_bool(c, 7, &last));
  if (c->nargs > 8) QG_TRY(qg_arg_opt_int(c, 8, &padding_idx, &has));
  if (!has) padding_idx = -1;
  if (mode < 0 || mode > 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "aten::embedding_bag: unknown mode %lld", (long long)mode);
  if (psw && mode != QG_EMBEDDING_BAG_SUM)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for "
                        "mode='sum' (got mode='%s'). Please open a feature request on GitHub.",
                        mode == 1 ? "mean" : "max");
  if (padding_idx < 0 && has) padding_idx += w->ndim > 0 ? w->shape[0] : 0;
  QG_TRY(qg_cpu_embedding_bag(w, idx, off, (qg_embedding_bag_mode)mode, psw, last, padding_idx, &y));
  qg_out_tensor(c, 0, y);
  for (size_t k = 1; k < c->nouts && k < 4; k++) {
    int64_t zero = 0;
    qg_tensor *e;
    QG_TRY(qg_tensor_create(QG_DTYPE_I64, 1, &zero, &e));
    qg_out_tensor(c, k, e);
  }
  return QG_OK;
}

/* ---- reductions ------------------------------------------------------------------------- */

/* mean(self, *, dtype?), mean.dim(self, int[1]? dim, keepdim=False, *, dtype?), and the same
 * for sum (sum.dim_IntList). A None dim list reduces everything. */
static qg_status reduce(qg_op_call *c, int is_mean) {
  qg_tensor *x, *y;
  int64_t dims[MAXL];
  size_t nd = 0;
  int keepdim = 0, has_dt;
  qg_dtype dt;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  size_t dtype_arg = 1;
  if (c->schema->overload[0] != '\0') { /* the dim overloads */
    if (!qg_arg_is_none(c, 1)) QG_TRY(qg_arg_int_list(c, 1, dims, MAXL, &nd));
    QG_TRY(qg_arg_bool(c, 2, &keepdim));
    dtype_arg = 3;
  }
  QG_TRY(qg__aten_arg_dtype(c, dtype_arg, &dt, &has_dt));
  int dtype = has_dt ? (int)dt : QG_REDUCE_NO_DTYPE;
  if (is_mean) QG_TRY(qg_cpu_mean(x, dims, (int)nd, keepdim, dtype, &y));
  else QG_TRY(qg_cpu_sum(x, dims, (int)nd, keepdim, dtype, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status mean(qg_op_call *c) { return reduce(c, 1); }
static qg_status sum(qg_op_call *c) { return reduce(c, 0); }

static const qg_op_impl_entry table[] = {
    {"aten::batch_norm", "", batch_norm},
    {"aten::layer_norm", "", layer_norm},
    {"aten::group_norm", "", group_norm},
    {"aten::instance_norm", "", instance_norm},
    {"aten::max_pool1d", "", max_pool1d},
    {"aten::max_pool2d", "", max_pool2d},
    {"aten::max_pool3d", "", max_pool3d},
    {"aten::avg_pool1d", "", avg_pool1d},
    {"aten::avg_pool2d", "", avg_pool2d},
    {"aten::avg_pool3d", "", avg_pool3d},
    {"aten::adaptive_avg_pool1d", "", adaptive_avg_pool1d},
    {"aten::adaptive_avg_pool2d", "", adaptive_avg_pool2d},
    {"aten::adaptive_avg_pool3d", "", adaptive_avg_pool3d},
    {"aten::upsample_nearest1d", "", upsample_nearest1d},
    {"aten::upsample_nearest1d", "vec", upsample_nearest1d},
    {"aten::upsample_nearest2d", "", upsample_nearest2d},
    {"aten::upsample_nearest2d", "vec", upsample_nearest2d},
    {"aten::upsample_nearest3d", "", upsample_nearest3d},
    {"aten::upsample_nearest3d", "vec", upsample_nearest3d},
    {"aten::upsample_linear1d", "", upsample_linear1d},
    {"aten::upsample_linear1d", "vec", upsample_linear1d},
    {"aten::upsample_bilinear2d", "", upsample_bilinear2d},
    {"aten::upsample_bilinear2d", "vec", upsample_bilinear2d},
    {"aten::upsample_trilinear3d", "", upsample_trilinear3d},
    {"aten::upsample_trilinear3d", "vec", upsample_trilinear3d},
    {"aten::embedding", "", embedding},
    {"aten::embedding_bag", "", embedding_bag},
    {"aten::embedding_bag", "padding_idx", embedding_bag},
    {"aten::mean", "", mean},
    {"aten::mean", "dim", mean},
    {"aten::sum", "", sum},
    {"aten::sum", "dim_IntList", sum},
};

const qg_op_impl_entry *qg__ops_aten_nn_table(size_t *n) {
  *n = sizeof table / sizeof table[0];
  return table;
}
