/* Quantized normalization kernels (quantized_norm.h). */
#include "ops/cpu/quantized_norm.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/pointwise_common.h"
#include "ops/cpu/quantized_common.h"

/* Contiguous f32 copy of an optional parameter tensor (NULL stays NULL). */
static qg_status param_f32(qg_tensor *t, qg_tensor **out) {
  *out = NULL;
  if (!t) return QG_OK;
  if (qg_dtype_info(t->dtype)->is_quantized)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "normalization parameters must be float tensors, got %s",
                        qg_dtype_info(t->dtype)->name);
  return qg__pw_dense(t, QG_DTYPE_F32, out);
}

static const float *fdata(const qg_tensor *t) { return t ? (const float *)qg_tensor_data(t) : NULL; }

/* ---- batch norm ------------------------------------------------------------------------------ */

static qg_status bn_check(int nspatial, const qg_tensor *x, const qg_tensor *w, const qg_tensor *b,
                          const qg_tensor *mean, const qg_tensor *var, int *resolved) {
  if (!w) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Weight must be provided");
  if (!b) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Bias must be provided");
  const int nd = x->ndim;
  if (nspatial == 0) {
    if (nd == 2 || nd == 3) nspatial = 1;
    else if (nd == 4) nspatial = 2;
    else if (nd == 5) nspatial = 3;
    else return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "quantized::batch_norm only support 2d, 3d, 4d or 5d inputs.");
  }
  if (nspatial == 1 && nd != 2 && nd != 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Expecting the input tensor of rank 2 or 3.");
  if (nspatial == 2 && nd != 4) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Expecting the input tensor of rank 4.");
  if (nspatial == 3 && nd != 5) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Expecting the input tensor of rank 5.");
  const int64_t C = x->shape[1];
  if (qg_tensor_numel(w) != C || qg_tensor_numel(b) != C)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Expect weight size to match C");
  if (qg_tensor_numel(mean) != C) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Mean size must match channel dimension");
  if (qg_tensor_numel(var) != C)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Variance size must match channel dimension");
  *resolved = nspatial;
  return QG_OK;
}

/* qbatch_norm.cpp compute_fused_params, with its float / double evaluation order. */
static void bn_fused_params(int64_t C, const float *w, const float *b, const float *mean, const float *var, double eps,
                            double in_scale, double out_scale, float *alpha, float *beta) {
  for (int64_t c = 0; c < C; c++) {
    const float inv_sigma = (float)(1.0 / (double)sqrtf(var[c] + (float)eps));
    alpha[c] = (float)((double)(inv_sigma * w[c]) * (in_scale / out_scale));
    beta[c] = (float)((double)(b[c] - mean[c] * inv_sigma * w[c]) / out_scale);
  }
}

qg_status qg_cpu_qbatch_norm(int nspatial, qg_tensor *x, qg_tensor *weight, qg_tensor *bias, qg_tensor *mean,
                             qg_tensor *var, double eps, double scale, int64_t zero_point, int relu,
                             qg_tensor **out) {
  QG_TRY(qg_q_check_per_tensor("quantized::batch_norm", x));
  int ns;
  QG_TRY(bn_check(nspatial, x, weight, bias, mean, var, &ns));
  const int64_t C = x->shape[1], n = qg_tensor_numel(x);
  qg_tensor *w = NULL, *b = NULL, *m = NULL, *v = NULL, *cx = NULL, *r = NULL;
  float *alpha = qg__malloc(sizeof(float) * (size_t)(2 * C + 1));
  qg_status st = alpha ? QG_OK : qg_oom("batch norm parameters");
  if (st == QG_OK) st = param_f32(weight, &w);
  if (st == QG_OK) st = param_f32(bias, &b);
  if (st == QG_OK) st = param_f32(mean, &m);
  if (st == QG_OK) st = param_f32(var, &v);
  if (st == QG_OK) st = qg_tensor_contiguous(x, &cx);
  if (st == QG_OK) st = qg_q_new(x->dtype, x->ndim, x->shape, scale, zero_point, &r);
  if (st == QG_OK) {
    float *beta = alpha + C;
    bn_fused_params(C, fdata(w), fdata(b), fdata(m), fdata(v), eps, x->quantizer->scale, scale, alpha, beta);
    const qg_dtype dt = x->dtype;
    const int64_t zin = x->quantizer->zero_point, inner = C > 0 ? n / (x->shape[0] * C) : 0;
    int64_t qmin, qmax;
    qg_q_range(dt, &qmin, &qmax);
    /* channels-last rows of the AVX2 kernel: blocks of 32 channels, then one partial block of
     * whole 8-float vectors, so the first C / 8 * 8 channels of each position take the vector
     * form and the rest (fewer than 8) the scalar loop */
    const int64_t lanes_end = C / 8 * 8;
    const void *src = qg_tensor_data(cx);
    void *dst = qg_tensor_data(r);
    for (int64_t k = 0; k < n; k++) {
      const int64_t c = k / inner % C;
      /* both forms are fma(alpha, q - z_in, beta) rounded half to even (the scalar loop's
       * alpha * (q - z) + beta is contracted to an fma by the compiler); the vector form adds
       * the zero point in int32 and saturates, the scalar one clamps zp + lrintf(y) */
      const float y = fmaf(alpha[c], (float)(qg_q_load(dt, src, k) - zin), beta[c]);
      int64_t q;
      if (c < lanes_end) {
        q = qg_q_quantize_vec(dt, 1.0f, 1.0, zero_point, y);
      } else {
        q = zero_point + (int64_t)lrintf(y);
        q = q < qmin ? qmin : q > qmax ? qmax : q;
      }
      if (relu && q < zero_point) q = zero_point;
      qg_q_store(dt, dst, k, q);
    }
    *out = r;
    r = NULL;
  }
  qg__free(alpha);
  qg_tensor_release(w);
  qg_tensor_release(b);
  qg_tensor_release(m);
  qg_tensor_release(v);
  qg_tensor_release(cx);
  qg_tensor_release(r);
  return st;
}

/* ---- layer / group norm ------------------------------------------------------------------------ */

/* Row statistics of quantized_normalize_kernel: integer sums of the stored values, then float32
 * mean and variance of (q - z) and scale_x / std. */
typedef struct row_stats {
  float mean_div; /* mean(q) - z */
  float inv_std;  /* x_scale / sqrt(var * x_scale^2 + eps) */
} row_stats;

static row_stats row_stats_of(qg_dtype dt, const void *src, int64_t start, int64_t n, int64_t zp, float x_scale,
                              double eps) {
  int64_t sum = 0, sumsq = 0;
  for (int64_t i = 0; i < n; i++) {
    const int64_t q = qg_q_load(dt, src, start + i);
    sum += q;
    sumsq += q * q;
  }
  row_stats r;
  const float mean = (float)sum / (float)n;
  r.mean_div = mean - (float)zp;
  /* sum_sq / N - mean * mean, contracted to one fused negative multiply-add by the compiler
   * (GCC's default -ffp-contract=fast in PyTorch's AVX2 kernel build) */
  float var = fmaf(-mean, mean, (float)sumsq / (float)n);
  if (var < 0.0f) var = 0.0f;
  r.inv_std = (float)((double)x_scale / sqrt((double)(var * x_scale * x_scale) + eps));
  return r;
}

qg_status qg_cpu_qlayer_norm(qg_tensor *x, const int64_t *normalized_shape, int nnorm, qg_tensor *weight,
                             qg_tensor *bias, double eps, double scale, int64_t zero_point, qg_tensor **out) {
  QG_TRY(qg_q_check_per_tensor("quantized::layer_norm", x));
  char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX];
  if (nnorm < 1)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                        "element, but got normalized_shape = []");
  const int axis = x->ndim - nnorm;
  if (axis < 0 || memcmp(x->shape + axis, normalized_shape, sizeof(int64_t) * (size_t)nnorm) != 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Given normalized_shape=%s, expected input with shape [*, %s], but got input of size%s",
                        qg_shape_str(nnorm, normalized_shape, s1, sizeof s1),
                        qg_shape_str(nnorm, normalized_shape, s2, sizeof s2) + 1,
                        qg_shape_str(x->ndim, x->shape, s1, sizeof s1));
  int64_t N = 1;
  for (int d = axis; d < x->ndim; d++) N *= x->shape[d];
  for (int k = 0; k < 2; k++) {
    const qg_tensor *p = k ? bias : weight;
    if (p && qg_tensor_numel(p) != N)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "Expected %s to be of same shape as normalized_shape, but got %s of shape %s and "
                          "normalized_shape = %s",
                          k ? "bias" : "weight", k ? "bias" : "weight", qg_shape_str(p->ndim, p->shape, s1, sizeof s1),
                          qg_shape_str(nnorm, normalized_shape, s2, sizeof s2));
  }
  qg_tensor *w = NULL, *b = NULL, *cx = NULL, *r = NULL;
  qg_status st = param_f32(weight, &w);
  if (st == QG_OK) st = param_f32(bias, &b);
  if (st == QG_OK) st = qg_tensor_contiguous(x, &cx);
  if (st == QG_OK) st = qg_q_new(x->dtype, x->ndim, x->shape, scale, zero_point, &r);
  if (st == QG_OK) {
    const qg_dtype dt = x->dtype;
    const int64_t zp = x->quantizer->zero_point, M = N > 0 ? qg_tensor_numel(x) / N : 0;
    const float xs = (float)x->quantizer->scale, ys = (float)scale, inv = 1.0f / ys;
    const float *g = fdata(w), *bb = fdata(b);
    const int64_t vlen = dt == QG_DTYPE_QINT32 ? 8 : 32, vec_end = N / vlen * vlen; /* AVX2 build */
    const void *src = qg_tensor_data(cx);
    void *dst = qg_tensor_data(r);
    for (int64_t i = 0; i < M; i++) {
      const row_stats rs = row_stats_of(dt, src, i * N, N, zp, xs, eps);
      for (int64_t j = 0; j < N; j++) {
        const float dq = (float)(qg_q_load(dt, src, i * N + j) - zp);
        const float gj = g ? g[j] : 1.0f, bj = bb ? bb[j] : 0.0f;
        /* ((q - z) - mean) * s * gamma + beta: the last multiply-add is fused in the vector
         * and the scalar code alike (compiler contraction) */
        const float y = fmaf((dq - rs.mean_div) * rs.inv_std, gj, bj);
        const int64_t q = j < vec_end ? qg_q_quantize_vec(dt, inv, ys, zero_point, y)
                                      : qg_q_quantize_scalar(dt, ys, zero_point, y);
        qg_q_store(dt, dst, i * N + j, q);
      }
    }
    *out = r;
    r = NULL;
  }
  qg_tensor_release(w);
  qg_tensor_release(b);
  qg_tensor_release(cx);
  qg_tensor_release(r);
  return st;
}

qg_status qg_cpu_qgroup_norm(qg_tensor *x, int64_t groups, qg_tensor *weight, qg_tensor *bias, double eps,
                             double scale, int64_t zero_point, qg_tensor **out) {
  QG_TRY(qg_q_check_per_tensor("quantized::group_norm", x));
  if (x->ndim < 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Expected normalized_shape to be at least 3-dimensional");
  if (groups <= 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Expected num_groups to be positive");
  const int64_t C = x->shape[1];
  if (C % groups != 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Expected channels to be divisible by groups");
  for (int k = 0; k < 2; k++) {
    const qg_tensor *p = k ? bias : weight;
    if (p && qg_tensor_numel(p) != C)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "quantized::group_norm: expected %s with %lld elements, got %lld",
                          k ? "bias" : "weight", (long long)C, (long long)qg_tensor_numel(p));
  }
  qg_tensor *w = NULL, *b = NULL, *cx = NULL, *r = NULL;
  qg_status st = param_f32(weight, &w);
  if (st == QG_OK) st = param_f32(bias, &b);
  if (st == QG_OK) st = qg_tensor_contiguous(x, &cx);
  if (st == QG_OK) st = qg_q_new(x->dtype, x->ndim, x->shape, scale, zero_point, &r);
  if (st == QG_OK) {
    const qg_dtype dt = x->dtype;
    const int64_t zp = x->quantizer->zero_point, total = qg_tensor_numel(x);
    const int64_t cpg = C / groups, M = x->shape[0] * groups, N = M > 0 ? total / M : 0, hw = cpg > 0 ? N / cpg : 0;
    const float xs = (float)x->quantizer->scale, ys = (float)scale, inv = 1.0f / ys;
    const float *g = fdata(w), *bb = fdata(b);
    const void *src = qg_tensor_data(cx);
    void *dst = qg_tensor_data(r);
    for (int64_t i = 0; i < M; i++) {
      const row_stats rs = row_stats_of(dt, src, i * N, N, zp, xs, eps);
      for (int64_t ci = 0; ci < cpg; ci++) {
        const int64_t c = (i * cpg + ci) % C;
        const float gp = rs.inv_std * (g ? g[c] : 1.0f), bc = bb ? bb[c] : 0.0f;
        /* affine per channel: every element, remainder included, takes the vector form */
        for (int64_t j = 0; j < hw; j++) {
          const int64_t k = i * N + ci * hw + j;
          const float dq = (float)(qg_q_load(dt, src, k) - zp);
          qg_q_store(dt, dst, k, qg_q_quantize_vec(dt, inv, ys, zero_point, fmaf(dq - rs.mean_div, gp, bc)));
        }
      }
    }
    *out = r;
    r = NULL;
  }
  qg_tensor_release(w);
  qg_tensor_release(b);
  qg_tensor_release(cx);
  qg_tensor_release(r);
  return st;
}
