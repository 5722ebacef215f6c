/* Quantized int8 linear, static and dynamic (qlinear.h): the weight's GEMM panels and sums come
 * from the packed-weight cache (qpack_cache.h); input rows are used in place (static, K a
 * multiple of 4), copied with zero padding, or quantized (dynamic) in blocks of ROWS; the
 * product (qgemm.h, ACT_ROWS form) is requantized in the same pass (static) or dequantized
 * after (dynamic, qrequant.h). */
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

#define ROWS 64 /* input rows per GEMM when they are copied: bounds the copy and the int32 result */

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
  const uint8_t *panels;
  const int32_t *wsum;
  qg__qpack *qref;
  uint8_t *rows;  /* ROWS padded input rows (when copied) */
  int32_t *C;     /* ROWS x n (dynamic) */
  int32_t *corr;  /* n */
  int32_t *asum;  /* ROWS (with weight zero points) */
  const int32_t *zw; /* qw.zps, or NULL when every weight zero point is 0 */
} linear_work;

static void work_free(linear_work *w) {
  qg__qw_free(&w->qw);
  qg_tensor_release(w->xc);
  qg_tensor_release(w->wc);
  qg_tensor_release(w->bc);
  qg__qpack_release(w->qref);
  qg__free(w->rows);
  qg__free(w->C);
  qg__free(w->corr);
  qg__free(w->asum);
}

typedef struct pack_args {
  const int8_t *w;
  int64_t n, k;
} pack_args;

static void pack_linear(const void *ud, uint8_t *packed, int32_t *sums) {
  const pack_args *a = ud;
  qg__qmm_pack_panels(a->w, a->n, a->k, a->k, packed, sums);
}

/* Weight qparams, contiguous input / weight / bias, the weight panels and the buffers; dynamic:
 * the int32 results too. */
static qg_status work_init(const char *op, qg_tensor *x, qg_tensor *w, qg_tensor *bias, const linear_dims *d,
                           int dynamic, linear_work *wk, const float **bias_data) {
  memset(wk, 0, sizeof *wk);
  QG_TRY(qg__qw_init(&wk->qw, op, w, d->n, 1));
  QG_TRY(qg__q_bias(op, bias, d->n, &wk->bc, bias_data));
  QG_TRY(qg_tensor_contiguous(x, &wk->xc));
  QG_TRY(qg_tensor_contiguous(w, &wk->wc));
  int64_t k4 = qg__qmm_k4(d->k), rows = d->m < ROWS ? d->m : ROWS;
  for (int64_t j = 0; j < d->n && !wk->zw; j++)
    if (wk->qw.zps[j]) wk->zw = wk->qw.zps;
  wk->rows = qg__malloc((size_t)(rows * k4) + 1);
  wk->corr = qg__malloc((size_t)d->n * sizeof *wk->corr + 1);
  wk->asum = qg__malloc((size_t)rows * sizeof *wk->asum + 1);
  wk->C = dynamic ? qg__malloc((size_t)(rows * d->n) * sizeof *wk->C + 1) : NULL;
  if (!wk->rows || !wk->corr || !wk->asum || (dynamic && !wk->C)) return qg_oom(op);
  static const int8_t none = 0;
  pack_args pa = {d->n && d->k ? qg_tensor_data(wk->wc) : &none, d->n, d->k};
  qg__qpack_spec s = {QG_QPACK_LINEAR, {d->n, d->k, 0, 0}, qg__qmm_panel_bytes(d->n, d->k), d->n, pack_linear, &pa, 0, 0};
  if (wk->wc->storage && wk->wc->storage->immutable) {
    s.snapshot_serial = wk->wc->storage->serial;
    s.snapshot_offset = wk->wc->offset;
  }
  return qg__qpack_get(pa.w, (size_t)(d->n * d->k), &s, &wk->panels, &wk->wsum, &wk->qref);
}

/* The GEMM of `rows` input rows (uint8, row stride ldr, k4 bytes used) against the panels. */
static qg__qmm linear_gemm(const linear_dims *d, const linear_work *wk, const uint8_t *x, int64_t rows,
                           int64_t ldr) {
  static const int64_t tap0[1] = {0};
  int64_t k4 = qg__qmm_k4(d->k);
  qg__qmm m = {.form = QG_QMM_ACT_ROWS, .I = rows, .J = d->n, .rows = x, .ldr = ldr, .rb = 1, .cols = wk->panels,
               .ncq = k4 / 4, .cq_stride = 256, .vstride = 64, .bstride = k4 * 64, .ntaps = 1, .tap = tap0,
               .corr = wk->corr,
               .zw = wk->zw, .asum = wk->asum, .gw = d->n, .ow = d->n, .gh = 1, .oh = 1, .ld = d->n};
  return m;
}

/* Row sums of the GEMM rows (needed with weight zero points). */
static void row_sums(const uint8_t *x, int64_t rows, int64_t k, int64_t ldr, int32_t *asum) {
  for (int64_t i = 0; i < rows; i++) {
    int32_t s = 0;
    for (int64_t c = 0; c < k; c++) s += x[i * ldr + c];
    asum[i] = s;
  }
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
  qg_status st = work_init(op, x, weight, bias, &d, 0, &wk, &bd);
  if (st == QG_OK) st = qg__requant_init(&rq, qg_quant_engine_get(), wk.qw.per_channel, xs, wk.qw.scales, d.n, bd,
                                         out_scale, out_zp, relu);
  if (st == QG_OK) st = qg__requant_out(op, d.ndim, d.shape, out_scale, out_zp, &y);
  if (st == QG_OK && d.n > 0) {
    int64_t k4 = qg__qmm_k4(d.k);
    const uint8_t *xd = qg_tensor_data(wk.xc);
    uint8_t *yd = qg_tensor_data(y);
    qg__qmm_corr(d.n, d.k, xz, wk.qw.zps, 1, wk.wsum, wk.corr);
    /* rows are read in place when every quad lies inside them, else copied with zero padding */
    int in_place = k4 == d.k;
    for (int64_t r0 = 0; r0 < d.m; r0 += ROWS) {
      int64_t rows = d.m - r0 < ROWS ? d.m - r0 : ROWS;
      const uint8_t *src = xd + r0 * d.k;
      if (!in_place) {
        for (int64_t i = 0; i < rows; i++) {
          memcpy(wk.rows + i * k4, src + i * d.k, (size_t)d.k);
          memset(wk.rows + i * k4 + d.k, 0, (size_t)(k4 - d.k));
        }
        src = wk.rows;
      }
      if (wk.zw) row_sums(src, rows, d.k, k4, wk.asum);
      qg__qmm m = linear_gemm(&d, &wk, src, rows, k4);
      m.rq = &rq;
      m.y = yd + r0 * d.n;
      qg__qmm_run(&m);
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

/* FBGEMM's QuantizeAvx2<uint8_t, LEGACY=true> (PackAWithQuantRowOffset):
 * q = clamp(cvtps2dq(min(fma(x, inv, zp), 2147483520)), 0, 255) - zp. NaN: min() gives the
 * bound, so 255. */
QG_CLONES_FMA static void quantize_row_legacy(const float *x, int64_t k, float inv, int32_t zp, uint8_t *dst) {
  const float zf = (float)zp;
  for (int64_t c = 0; c < k; c++) {
    float t = fmaf(x[c], inv, zf);
    t = t < 2147483520.0f ? t : 2147483520.0f;
    t = t < -2.0f ? -2.0f : t > 257.0f ? 257.0f : t;
    int32_t q = magic_round(t);
    dst[c] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
  }
}

/* torch 1.13's quantize_val<quint8> (no FBGEMM): q = clamp((float)zp + nearbyintf(x * inv), 0, 255)
 * (a NaN converts to INT64_MIN, so 0). */
static void quantize_row_plain(const float *x, int64_t k, float inv, int32_t zp, uint8_t *dst) {
  for (int64_t c = 0; c < k; c++) {
    float p = x[c] * inv;
    int32_t q = 0;
    if (p == p) {
      p = p < -512.0f ? -512.0f : p > 512.0f ? 512.0f : p;
      q = zp + magic_round(p);
      q = q < 0 ? 0 : q > 255 ? 255 : q;
    }
    dst[c] = (uint8_t)q;
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
  qg_status st = work_init(op, x, weight, bias, &d, 1, &wk, &bd);
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
    int64_t k4 = qg__qmm_k4(d.k);
    float inv = 1.0f / (float)scale;
    const float *xd = qg_tensor_data(wk.xc);
    float *yd = qg_tensor_data(y);
    qg__qmm_corr(d.n, d.k, zp, wk.qw.zps, 1, wk.wsum, wk.corr);
    for (int64_t r0 = 0; r0 < d.m; r0 += ROWS) {
      int64_t rows = d.m - r0 < ROWS ? d.m - r0 : ROWS;
      for (int64_t i = 0; i < rows; i++) {
        uint8_t *p = wk.rows + i * k4;
        if (engine == QG_ENGINE_QNNPACK) quantize_row_plain(xd + (r0 + i) * d.k, d.k, inv, zp, p);
        else quantize_row_legacy(xd + (r0 + i) * d.k, d.k, inv, zp, p);
        memset(p + d.k, 0, (size_t)(k4 - d.k));
      }
      if (wk.zw) row_sums(wk.rows, rows, d.k, k4, wk.asum);
      qg__qmm m = linear_gemm(&d, &wk, wk.rows, rows, k4);
      m.c = wk.C;
      qg__qmm_run(&m);
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
