/* fp16-weight dynamic linear (qlinear.h): the prepack conversion and the GEMM. */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/qcommon.h"
#include "ops/cpu/qlinear.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QG_CLONES_FMA __attribute__((target_clones("fma", "default")))
#else
#define QG_CLONES_FMA
#endif

#define FP16_MAX 65504.0f

qg_status qg_cpu_fp16_weight(qg_tensor *w, int in_place, qg_tensor **out, int64_t *saturated) {
  *out = NULL;
  *saturated = 0;
  if (w->dtype != QG_DTYPE_F32)
    return qg_set_error(QG_STATUS_TYPE, "quantized::linear_prepack_fp16: expected a float32 weight, got %s",
                        qg_dtype_info(w->dtype)->name);
  if (w->ndim != 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "quantized::linear_prepack_fp16: weight must be 2-D [out_features, in_features], got %d-D",
                        w->ndim);
  /* fbgemm::HandleWeightsSaturation: clamp to the fp16 range first, then round. */
  qg_tensor *c;
  QG_TRY(qg_tensor_to_dtype(w, QG_DTYPE_F32, &c)); /* a private contiguous copy */
  float *p = qg_tensor_data(c);
  for (int64_t i = 0; i < qg_tensor_numel(c); i++) {
    if (p[i] > FP16_MAX) p[i] = FP16_MAX, (*saturated)++;
    else if (p[i] < -FP16_MAX) p[i] = -FP16_MAX, (*saturated)++;
  }
  qg_status st = *saturated && in_place ? qg_tensor_copy_(w, c) : QG_OK;
  if (st == QG_OK) st = qg_tensor_to_dtype(c, QG_DTYPE_F16, out);
  qg_tensor_release(c);
  return st;
}

/* y[j] = fma chain over k of x[k] * wt[k][j] (wt: K x N, row-major), vectorised over j. */
QG_CLONES_FMA static void fp16_row(const float *x, const float *wt, int64_t k, int64_t n, float *y) {
  for (int64_t j = 0; j < n; j++) y[j] = 0.0f;
  for (int64_t c = 0; c < k; c++) {
    const float a = x[c], *w = wt + c * n;
    for (int64_t j = 0; j < n; j++) y[j] = fmaf(a, w[j], y[j]);
  }
}

qg_status qg_cpu_qlinear_fp16(qg_tensor *x, qg_tensor *w16, qg_tensor *bias, int relu, qg_tensor **out) {
  *out = NULL;
  const char *op = relu ? "quantized::linear_relu_dynamic_fp16" : "quantized::linear_dynamic_fp16";
  if (x->dtype != QG_DTYPE_F32)
    return qg_set_error(QG_STATUS_TYPE, "%s: expected a float32 input, got %s", op, qg_dtype_info(x->dtype)->name);
  if (w16->dtype != QG_DTYPE_F16 || w16->ndim != 2)
    return qg_set_error(QG_STATUS_TYPE, "%s: expected a 2-D fp16 packed weight, got %s with %d dims", op,
                        qg_dtype_info(w16->dtype)->name, w16->ndim);
  if (x->ndim < 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: The dimension of input tensor should be larger than or equal to 2, got %d",
                        op, x->ndim);
  int64_t k = x->shape[x->ndim - 1], n = w16->shape[0], m = 1;
  if (w16->shape[1] != k)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: input size does not match weight dimension 1 size: got %lld but expected %lld",
                        op, (long long)k, (long long)w16->shape[1]);
  for (int i = 0; i < x->ndim - 1; i++) m *= x->shape[i];
  int64_t shape[QG_MAX_DIMS];
  memcpy(shape, x->shape, (size_t)x->ndim * sizeof *shape);
  shape[x->ndim - 1] = n;
  qg_tensor *xc = NULL, *wf = NULL, *wt = NULL, *bc = NULL, *y = NULL;
  const float *bd = NULL;
  int64_t perm[2] = {1, 0};
  qg_status st = qg__q_bias(op, bias, n, &bc, &bd);
  if (st == QG_OK) st = qg_tensor_contiguous(x, &xc);
  if (st == QG_OK) st = qg_tensor_to_dtype(w16, QG_DTYPE_F32, &wf); /* exact */
  qg_tensor *wtv = NULL;
  if (st == QG_OK) st = qg_tensor_permute(wf, 2, perm, &wtv);
  if (st == QG_OK) st = qg_tensor_contiguous(wtv, &wt);
  qg_tensor_release(wtv);
  if (st == QG_OK) st = qg_tensor_create(QG_DTYPE_F32, x->ndim, shape, &y);
  if (st == QG_OK && n > 0) {
    const float *xd = qg_tensor_data(xc), *wd = qg_tensor_data(wt);
    float *yd = qg_tensor_data(y);
    for (int64_t r = 0; r < m; r++) {
      float *yr = yd + r * n;
      fp16_row(xd + r * k, wd, k, n, yr);
      if (bd) for (int64_t j = 0; j < n; j++) yr[j] += bd[j];
      if (relu) for (int64_t j = 0; j < n; j++) yr[j] = yr[j] < 0.0f ? 0.0f : yr[j];
    }
  }
  qg_tensor_release(xc);
  qg_tensor_release(wf);
  qg_tensor_release(wt);
  qg_tensor_release(bc);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}
