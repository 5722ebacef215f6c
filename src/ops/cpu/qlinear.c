/* Quantized int8 linear, static and dynamic (qlinear.h): the weight's GEMM panels come from the
 * packed-weight cache (qpack_cache.h), input rows are centred (static) or quantized (dynamic)
 * in blocks of ROWS, multiplied exactly (qgemm.h) and requantized (qrequant.h). */
#include "ops/cpu/qlinear.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/qcommon.h"
#include "ops/cpu/qgemm.h"
#include "ops/cpu/qpack_cache.h"
#include "ops/cpu/qrequant.h"
#include "ops/cpu/quant_engine.h"
#include "quant/qparams.h"

#define ROWS 64 /* input rows per GEMM: bounds the int16 copy and the int32 result */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QG_CLONES_FMA __attribute__((target_clones("fma", "default")))
#else
#define QG_CLONES_FMA
#endif

typedef struct linear_dims {
  int64_t m, k, n;
  int ndim;
  int64_t shape[QG_MAX_DIMS]; /* output */
} linear_dims;

static qg_status dims_of(const char *op, const qg_tensor *x, const qg_tensor *w, linear_dims *d) {
  if (x->ndim < 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: The dimension of input tensor should be larger than or equal to 2, got %d",
                        op, x->ndim);
  if (w->ndim != 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: weight must be 2-D [out_features, in_features], got %d-D", op,
                        w->ndim);
  d->k = x->shape[x->ndim - 1];
  d->n = w->shape[0];
  if (w->shape[1] != d->k) {
    char xs[QG_SHAPE_STR_MAX], ws[QG_SHAPE_STR_MAX];
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: input size does not match weight dimension 1 size: got %lld but expected %lld (input %s, "
                        "weight %s)",
                        op, (long long)d->k, (long long)w->shape[1], qg_shape_str(x->ndim, x->shape, xs, sizeof xs),
                        qg_shape_str(w->ndim, w->shape, ws, sizeof ws));
  }
  d->m = 1;
  for (int i = 0; i < x->ndim - 1; i++) d->m *= x->shape[i];
  d->ndim = x->ndim;
  memcpy(d->shape, x->shape, (size_t)x->ndim * sizeof x->shape[0]);
  d->shape[x->ndim - 1] = d->n;
  return QG_OK;
}

/* Everything a call allocates, freed in one place. */
typedef struct linear_work {
  qg__qw qw;
  qg_tensor *xc, *wc, *bc;
  const int16_t *Q;
  qg__qpack *qref;
  int16_t *P;
  int32_t *C;
} linear_work;

static void work_free(linear_work *w) {
  qg__qw_free(&w->qw);
  qg_tensor_release(w->xc);
  qg_tensor_release(w->wc);
  qg_tensor_release(w->bc);
  qg__qpack_release(w->qref);
  qg__free(w->P);
  qg__free(w->C);
}

/* Weight qparams, contiguous input / weight / bias, the weight panels and the row buffers. */
static qg_status work_init(const char *op, qg_tensor *x, qg_tensor *w, qg_tensor *bias, const linear_dims *d,
                           linear_work *wk, const float **bias_data) {
  memset(wk, 0, sizeof *wk);
  QG_TRY(qg__qw_init(&wk->qw, op, w, d->n, 1));
  QG_TRY(qg__q_bias(op, bias, d->n, &wk->bc, bias_data));
  QG_TRY(qg_tensor_contiguous(x, &wk->xc));
  QG_TRY(qg_tensor_contiguous(w, &wk->wc));
  int64_t kp = qg__qgemm_kpad(d->k), rows = d->m < ROWS ? d->m : ROWS;
  wk->P = qg__malloc((size_t)(rows * kp) * sizeof *wk->P + 1);
  wk->C = qg__malloc((size_t)(rows * d->n) * sizeof *wk->C + 1);
  if (!wk->P || !wk->C) return qg_oom(op);
  static const int8_t none = 0;
  const int8_t *wd = d->n && d->k ? qg_tensor_data(wk->wc) : &none;
  return qg__qpack_get(wd, d->n, d->k, wk->qw.zps, wk->qw.per_channel, &wk->Q, &wk->qref);
}

qg_status qg_cpu_qlinear(qg_tensor *x, qg_tensor *weight, qg_tensor *bias, double out_scale, int64_t out_zp, int relu,
                         qg_tensor **out) {
  *out = NULL;
  const char *op = relu ? "quantized::linear_relu" : "quantized::linear";
  double xs;
  int32_t xz;
  linear_dims d;
  QG_TRY(qg__q_act(op, x, &xs, &xz));
  QG_TRY(dims_of(op, x, weight, &d));
  linear_work wk;
  const float *bd = NULL;
  qg__requant rq = {0};
  qg_tensor *y = NULL;
  qg_status st = work_init(op, x, weight, bias, &d, &wk, &bd);
  if (st == QG_OK) st = qg__requant_init(&rq, qg_quant_engine_get(), wk.qw.per_channel, xs, wk.qw.scales, d.n, bd,
                                         out_scale, out_zp, relu);
  if (st == QG_OK) st = qg__q_out(op, d.ndim, d.shape, out_scale, out_zp, &y);
  if (st == QG_OK && d.n > 0) {
    int64_t kp = qg__qgemm_kpad(d.k);
    const uint8_t *xd = qg_tensor_data(wk.xc);
    uint8_t *yd = qg_tensor_data(y);
    for (int64_t r0 = 0; r0 < d.m; r0 += ROWS) {
      int64_t rows = d.m - r0 < ROWS ? d.m - r0 : ROWS;
      qg__qgemm_rows_u8(xd + r0 * d.k, rows, d.k, d.k, xz, wk.P, kp);
      qg__qgemm(rows, d.n, kp, wk.P, kp, wk.Q, wk.C, d.n);
      for (int64_t i = 0; i < rows; i++) qg__requant_cols(&rq, wk.C + i * d.n, yd + (r0 + i) * d.n);
    }
  }
  qg__requant_free(&rq);
  work_free(&wk);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}

/* ---- dynamic ------------------------------------------------------------------------------ */

/* Round half to even of t, assuming |t| <= 2^22 (callers clamp first). */
static inline int32_t magic_round(float t) { return (int32_t)((t + 12582912.0f) - 12582912.0f); }

/* FBGEMM's QuantizeAvx2<uint8_t, LEGACY=true> (PackAWithQuantRowOffset), centred:
 * q = clamp(cvtps2dq(min(fma(x, inv, zp), 2147483520)), 0, 255) - zp. NaN: min() gives the
 * bound, so 255. */
QG_CLONES_FMA static void quantize_row_legacy(const float *x, int64_t k, float inv, int32_t zp, int16_t *dst) {
  const float zf = (float)zp;
  for (int64_t c = 0; c < k; c++) {
    float t = fmaf(x[c], inv, zf);
    t = t < 2147483520.0f ? t : 2147483520.0f;
    t = t < -2.0f ? -2.0f : t > 257.0f ? 257.0f : t;
    int32_t q = magic_round(t);
    q = q < 0 ? 0 : q > 255 ? 255 : q;
    dst[c] = (int16_t)(q - zp);
  }
}

/* torch 1.13's quantize_val<quint8> (no FBGEMM): q = clamp((float)zp + nearbyintf(x * inv), 0, 255)
 * (a NaN converts to INT64_MIN, so 0), centred. */
static void quantize_row_plain(const float *x, int64_t k, float inv, int32_t zp, int16_t *dst) {
  for (int64_t c = 0; c < k; c++) {
    float p = x[c] * inv;
    int32_t q = 0;
    if (p == p) {
      p = p < -512.0f ? -512.0f : p > 512.0f ? 512.0f : p;
      q = zp + magic_round(p);
      q = q < 0 ? 0 : q > 255 ? 255 : q;
    }
    dst[c] = (int16_t)(q - zp);
  }
}

static void min_max(const float *x, int64_t n, float *mn, float *mx) {
  float lo = n ? x[0] : 0.0f, hi = lo;
  for (int64_t i = 1; i < n; i++) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
    if (x[i] != x[i]) lo = hi = x[i]; /* NaN: ChooseQuantizationParams rejects it below */
  }
  *mn = lo;
  *mx = hi;
}

qg_status qg_cpu_qlinear_dynamic(qg_tensor *x, qg_tensor *weight, qg_tensor *bias, int reduce_range, int relu,
                                 qg_tensor **out) {
  *out = NULL;
  const char *op = relu ? "quantized::linear_relu_dynamic" : "quantized::linear_dynamic";
  if (x->dtype != QG_DTYPE_F32)
    return qg_set_error(QG_STATUS_TYPE, "%s: expected a float32 input, got %s", op, qg_dtype_info(x->dtype)->name);
  linear_dims d;
  QG_TRY(dims_of(op, x, weight, &d));
  qg_quant_engine engine = qg_quant_engine_get();
  linear_work wk;
  const float *bd = NULL;
  qg__dequant dq = {0};
  qg_tensor *y = NULL;
  qg_status st = work_init(op, x, weight, bias, &d, &wk, &bd);
  double scale = 1.0;
  int32_t zp = 0;
  if (st == QG_OK) {
    float mn, mx;
    min_max(qg_tensor_data(wk.xc), d.m * d.k, &mn, &mx);
    st = qg_choose_qparams_dynamic(mn, mx, 0, 255, 0, 0, engine == QG_ENGINE_QNNPACK ? 0 : reduce_range, &scale, &zp);
    if (st != QG_OK) st = qg_error_prefix(st, "%s: input qparams", op);
  }
  if (st == QG_OK) st = qg__dequant_init(&dq, engine, (float)scale, wk.qw.scales, d.n, bd, relu);
  if (st == QG_OK) st = qg_tensor_create(QG_DTYPE_F32, d.ndim, d.shape, &y);
  if (st == QG_OK && d.n > 0) {
    int64_t kp = qg__qgemm_kpad(d.k);
    float inv = 1.0f / (float)scale;
    const float *xd = qg_tensor_data(wk.xc);
    float *yd = qg_tensor_data(y);
    for (int64_t r0 = 0; r0 < d.m; r0 += ROWS) {
      int64_t rows = d.m - r0 < ROWS ? d.m - r0 : ROWS;
      for (int64_t i = 0; i < rows; i++) {
        int16_t *p = wk.P + i * kp;
        if (engine == QG_ENGINE_QNNPACK) quantize_row_plain(xd + (r0 + i) * d.k, d.k, inv, zp, p);
        else quantize_row_legacy(xd + (r0 + i) * d.k, d.k, inv, zp, p);
        if (kp > d.k) p[d.k] = 0;
      }
      qg__qgemm(rows, d.n, kp, wk.P, kp, wk.Q, wk.C, d.n);
      for (int64_t i = 0; i < rows; i++) qg__dequant_cols(&dq, wk.C + i * d.n, yd + (r0 + i) * d.n);
    }
  }
  qg__dequant_free(&dq);
  work_free(&wk);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}
