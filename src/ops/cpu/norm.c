/* batch_norm, layer_norm, group_norm, instance_norm (see norm.h). The input is made
 * contiguous and seen as [N, C, S] (S = product of the trailing dims); each norm picks which
 * elements share statistics and which parameter entry scales an element. */
#include "ops/cpu/norm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/cpu/pointwise_common.h"

static double ld(const void *p, int is64, int64_t i) {
  return is64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

/* Mean and biased variance of nblocks blocks of blen elements starting at base, bstride apart
 * (two passes in double). */
static void stats(const void *x, int is64, int64_t base, int64_t nblocks, int64_t bstride,
                  int64_t blen, double *mean, double *var) {
  double s = 0, cnt = (double)(nblocks * blen);
  for (int64_t b = 0; b < nblocks; b++)
    for (int64_t i = 0; i < blen; i++) s += ld(x, is64, base + b * bstride + i);
  double m = s / cnt, q = 0;
  for (int64_t b = 0; b < nblocks; b++)
    for (int64_t i = 0; i < blen; i++) {
      double d = ld(x, is64, base + b * bstride + i) - m;
      q += d * d;
    }
  *mean = m;
  *var = q / cnt;
}

/* y[i] = (x[i] - mean) * rstd * w + b for blen elements at off. */
static void apply(const void *x, void *y, int is64, int64_t off, int64_t blen, double mean,
                  double rstd, double w, double b) {
  for (int64_t i = 0; i < blen; i++) {
    double v = (ld(x, is64, off + i) - mean) * rstd * w + b;
    if (is64)
      ((double *)y)[off + i] = v;
    else
      ((float *)y)[off + i] = (float)v;
  }
}

static qg_status check_param(const char *op, const char *what, const qg_tensor *p, int64_t n) {
  if (!p) return QG_OK;
  QG_TRY(qg__pw_check_float(op, what, p));
  if (qg_tensor_numel(p) != n)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: %s should contain %lld elements not %lld",
                        op, what, (long long)n, (long long)qg_tensor_numel(p));
  return QG_OK;
}

static double pget(const qg_tensor *p, int64_t i, double dflt) {
  return p ? qg_tensor_get_flat(p, i) : dflt;
}

/* Checks input [N, C, *] and makes the contiguous copy and output. */
static qg_status prepare(const char *op, qg_tensor *input, int min_dims, qg_tensor **xc,
                         qg_tensor **y, int64_t *N, int64_t *C, int64_t *S) {
  char buf[QG_SHAPE_STR_MAX];
  QG_TRY(qg__pw_check_float(op, "input", input));
  if (input->ndim < min_dims)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: expected input with at least %d dims, got input of size %s", op,
                        min_dims, qg_shape_str(input->ndim, input->shape, buf, QG_SHAPE_STR_MAX));
  *N = input->ndim > 0 ? input->shape[0] : 1;
  *C = input->ndim > 1 ? input->shape[1] : 1;
  *S = 1;
  for (int i = 2; i < input->ndim; i++) *S *= input->shape[i];
  QG_TRY(qg_tensor_contiguous(input, xc));
  qg_status st = qg_tensor_create(input->dtype, input->ndim, input->shape, y);
  if (st != QG_OK) qg_tensor_release(*xc);
  return st;
}

static void finish(qg_tensor *xc, qg_tensor *y, qg_tensor **out) {
  qg_tensor_release(xc);
  *out = y;
}

/* running = (1 - m) * running + m * v */
static void momentum_update(qg_tensor *r, int64_t c, double m, double v) {
  if (r) qg_tensor_set_flat(r, c, (1.0 - m) * qg_tensor_get_flat(r, c) + m * v);
}

qg_status qg_cpu_batch_norm(qg_tensor *input, qg_tensor *weight, qg_tensor *bias,
                            qg_tensor *running_mean, qg_tensor *running_var, int training,
                            double momentum, double eps, qg_tensor **out) {
  const char *op = "batch_norm";
  char buf[QG_SHAPE_STR_MAX];
  *out = NULL;
  QG_TRY(qg__pw_check_float(op, "input", input));
  if (input->ndim < 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: expected input with at least 2 dims, got input of size %s", op,
                        qg_shape_str(input->ndim, input->shape, buf, QG_SHAPE_STR_MAX));
  int64_t C = input->shape[1];
  QG_TRY(check_param(op, "weight", weight, C));
  QG_TRY(check_param(op, "bias", bias, C));
  QG_TRY(check_param(op, "running_mean", running_mean, C));
  QG_TRY(check_param(op, "running_var", running_var, C));
  if (!training && (!running_mean || !running_var))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: running_mean and running_var must be defined in evaluation mode", op);
  if (training && qg_tensor_numel(input) / (C ? C : 1) <= 1 && qg_tensor_numel(input) > 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Expected more than 1 value per channel when training, got input size %s",
                        op, qg_shape_str(input->ndim, input->shape, buf, QG_SHAPE_STR_MAX));
  qg_tensor *xc, *y;
  int64_t N, S;
  QG_TRY(prepare(op, input, 2, &xc, &y, &N, &C, &S));
  int is64 = input->dtype == QG_DTYPE_F64;
  const void *x = qg_tensor_data(xc);
  void *yd = qg_tensor_data(y);
  for (int64_t c = 0; c < C && N * S > 0; c++) {
    double mean, var;
    if (training) {
      stats(x, is64, c * S, N, C * S, S, &mean, &var);
      double cnt = (double)(N * S);
      momentum_update(running_mean, c, momentum, mean);
      momentum_update(running_var, c, momentum, var * cnt / (cnt - 1.0));
    } else {
      mean = qg_tensor_get_flat(running_mean, c);
      var = qg_tensor_get_flat(running_var, c);
    }
    double rstd = 1.0 / sqrt(var + eps), w = pget(weight, c, 1.0), b = pget(bias, c, 0.0);
    for (int64_t n = 0; n < N; n++) apply(x, yd, is64, (n * C + c) * S, S, mean, rstd, w, b);
  }
  finish(xc, y, out);
  return QG_OK;
}

qg_status qg_cpu_layer_norm(qg_tensor *input, const int64_t *normalized_shape, int n,
                            qg_tensor *weight, qg_tensor *bias, double eps, qg_tensor **out) {
  const char *op = "layer_norm";
  char b1[QG_SHAPE_STR_MAX], b2[QG_SHAPE_STR_MAX];
  *out = NULL;
  QG_TRY(qg__pw_check_float(op, "input", input));
  if (n < 1)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Expected normalized_shape to be at least 1-dimensional, i.e., "
                        "containing at least one element, but got normalized_shape = []", op);
  int lead = input->ndim - n;
  int ok = lead >= 0;
  int64_t M = 1;
  for (int i = 0; i < n; i++) {
    if (ok && input->shape[lead + i] != normalized_shape[i]) ok = 0;
    M *= normalized_shape[i];
  }
  if (!ok) {
    /* "[*, 4]" */
    qg_shape_str(n, normalized_shape, b1, QG_SHAPE_STR_MAX);
    char star[QG_SHAPE_STR_MAX + 4];
    snprintf(star, sizeof star, "[*%s%s", n ? ", " : "", b1 + 1);
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Given normalized_shape=%s, expected input with shape %s, but got "
                        "input of size%s",
                        op, b1, star, qg_shape_str(input->ndim, input->shape, b2, QG_SHAPE_STR_MAX));
  }
  const qg_tensor *ps[2] = {weight, bias};
  for (int i = 0; i < 2; i++)
    if (ps[i] && (qg_tensor_numel(ps[i]) != M || qg__pw_check_float(op, i ? "bias" : "weight", ps[i]) != QG_OK))
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: Expected %s to be of same shape as normalized_shape, but got %s of "
                          "shape %s and normalized_shape = %s",
                          op, i ? "bias" : "weight", i ? "bias" : "weight",
                          qg_shape_str(ps[i]->ndim, ps[i]->shape, b1, QG_SHAPE_STR_MAX),
                          qg_shape_str(n, normalized_shape, b2, QG_SHAPE_STR_MAX));
  qg_tensor *xc, *y;
  QG_TRY(qg_tensor_contiguous(input, &xc));
  qg_status st = qg_tensor_create(input->dtype, input->ndim, input->shape, &y);
  if (st != QG_OK) {
    qg_tensor_release(xc);
    return st;
  }
  int is64 = input->dtype == QG_DTYPE_F64;
  const void *x = qg_tensor_data(xc);
  void *yd = qg_tensor_data(y);
  int64_t rows = M > 0 ? qg_tensor_numel(input) / M : 0;
  for (int64_t r = 0; r < rows; r++) {
    double mean, var;
    stats(x, is64, r * M, 1, 0, M, &mean, &var);
    double rstd = 1.0 / sqrt(var + eps);
    for (int64_t i = 0; i < M; i++)
      apply(x, yd, is64, r * M + i, 1, mean, rstd, pget(weight, i, 1.0), pget(bias, i, 0.0));
  }
  finish(xc, y, out);
  return QG_OK;
}

qg_status qg_cpu_group_norm(qg_tensor *input, int64_t num_groups, qg_tensor *weight,
                            qg_tensor *bias, double eps, qg_tensor **out) {
  const char *op = "group_norm";
  char buf[QG_SHAPE_STR_MAX];
  *out = NULL;
  QG_TRY(qg__pw_check_float(op, "input", input));
  if (input->ndim < 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Expected at least 2 dimensions for input tensor but received %d", op,
                        input->ndim);
  int64_t C = input->shape[1];
  if (num_groups <= 0 || C % num_groups != 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Expected number of channels in input to be divisible by num_groups, "
                        "but got input of shape %s and num_groups=%lld",
                        op, qg_shape_str(input->ndim, input->shape, buf, QG_SHAPE_STR_MAX), (long long)num_groups);
  QG_TRY(check_param(op, "weight", weight, C));
  QG_TRY(check_param(op, "bias", bias, C));
  qg_tensor *xc, *y;
  int64_t N, S;
  QG_TRY(prepare(op, input, 2, &xc, &y, &N, &C, &S));
  int is64 = input->dtype == QG_DTYPE_F64;
  const void *x = qg_tensor_data(xc);
  void *yd = qg_tensor_data(y);
  int64_t Cg = C / num_groups;
  for (int64_t n = 0; n < N && Cg * S > 0; n++)
    for (int64_t g = 0; g < num_groups; g++) {
      double mean, var;
      int64_t base = (n * C + g * Cg) * S;
      stats(x, is64, base, 1, 0, Cg * S, &mean, &var);
      double rstd = 1.0 / sqrt(var + eps);
      for (int64_t c = g * Cg; c < (g + 1) * Cg; c++)
        apply(x, yd, is64, (n * C + c) * S, S, mean, rstd, pget(weight, c, 1.0), pget(bias, c, 0.0));
    }
  finish(xc, y, out);
  return QG_OK;
}

qg_status qg_cpu_instance_norm(qg_tensor *input, qg_tensor *weight, qg_tensor *bias,
                               qg_tensor *running_mean, qg_tensor *running_var,
                               int use_input_stats, double momentum, double eps,
                               qg_tensor **out) {
  const char *op = "instance_norm";
  char buf[QG_SHAPE_STR_MAX];
  *out = NULL;
  QG_TRY(qg__pw_check_float(op, "input", input));
  if (!use_input_stats && (!running_mean || !running_var))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Expected running_mean and running_var to be defined when "
                        "use_input_stats is false",
                        op);
  if (!use_input_stats)
    return qg_cpu_batch_norm(input, weight, bias, running_mean, running_var, 0, momentum, eps, out);
  if (input->ndim < 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: expected input with at least 2 dims, got input of size %s", op,
                        qg_shape_str(input->ndim, input->shape, buf, QG_SHAPE_STR_MAX));
  int64_t C = input->shape[1];
  QG_TRY(check_param(op, "weight", weight, C));
  QG_TRY(check_param(op, "bias", bias, C));
  QG_TRY(check_param(op, "running_mean", running_mean, C));
  QG_TRY(check_param(op, "running_var", running_var, C));
  qg_tensor *xc, *y;
  int64_t N, S;
  QG_TRY(prepare(op, input, 2, &xc, &y, &N, &C, &S));
  if (S <= 1 && qg_tensor_numel(input) > 0) {
    qg_tensor_release(xc);
    qg_tensor_release(y);
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Expected more than 1 spatial element when training, got input size %s",
                        op, qg_shape_str(input->ndim, input->shape, buf, QG_SHAPE_STR_MAX));
  }
  int is64 = input->dtype == QG_DTYPE_F64;
  const void *x = qg_tensor_data(xc);
  void *yd = qg_tensor_data(y);
  for (int64_t c = 0; c < C && N > 0; c++) {
    double msum = 0, vsum = 0;
    for (int64_t n = 0; n < N; n++) {
      double mean, var;
      int64_t off = (n * C + c) * S;
      stats(x, is64, off, 1, 0, S, &mean, &var);
      msum += mean;
      vsum += var * (double)S / (double)(S - 1);
      apply(x, yd, is64, off, S, mean, 1.0 / sqrt(var + eps), pget(weight, c, 1.0), pget(bias, c, 0.0));
    }
    momentum_update(running_mean, c, momentum, msum / (double)N);
    momentum_update(running_var, c, momentum, vsum / (double)N);
  }
  finish(xc, y, out);
  return QG_OK;
}
