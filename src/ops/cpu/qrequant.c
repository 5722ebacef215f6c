/* Requantization (qrequant.h). The per-element loops are written branch-free so the compiler
 * vectorises them; target_clones builds an AVX2 copy chosen at load time. */
#include "ops/cpu/qrequant.h"

#include <math.h>
#include <stddef.h>

#include "base/alloc.h"
#include "ops/cpu/qcommon.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QG_CLONES __attribute__((target_clones("avx2", "default")))
#define QG_CLONES_FMA __attribute__((target_clones("fma", "default")))
#else
#define QG_CLONES
#define QG_CLONES_FMA
#endif

/* quantize_val<qint32>(scale, 0, v) of torch 1.13's non-FBGEMM build. */
static int32_t quantize_bias_i32(double scale, float v) {
  float inv = 1.0f / (float)scale;
  float r = nearbyintf(v * inv);
  int64_t q = (r == r && fabsf(r) < 9.2233720e18f) ? (int64_t)r : INT64_MIN; /* x86's cvttss2si */
  return q < INT32_MIN ? INT32_MIN : q > INT32_MAX ? INT32_MAX : (int32_t)q;
}

qg_status qg__requant_init(qg__requant *r, qg_quant_engine e, int per_channel, double act_scale,
                           const double *w_scales, int64_t n, const float *bias, double out_scale, int64_t out_zp,
                           int relu) {
  r->n = n;
  r->badd = qg__calloc((size_t)(n ? n : 1), sizeof *r->badd);
  r->bq = qg__calloc((size_t)(n ? n : 1), sizeof *r->bq);
  r->mult = qg__calloc((size_t)(n ? n : 1), sizeof *r->mult);
  if (!r->badd || !r->bq || !r->mult) {
    qg__requant_free(r);
    return qg_oom("requantization parameters");
  }
  r->zp = (int32_t)out_zp;
  r->lo = relu ? (int32_t)out_zp : 0;
  float act_f = (float)act_scale, out_f = (float)out_scale;
  for (int64_t j = 0; j < n; j++) {
    float ws_f = (float)w_scales[j];
    if (e == QG_ENGINE_QNNPACK) {
      r->mult[j] = (ws_f * act_f) * (1.0f / out_f);
      if (bias) r->bq[j] = quantize_bias_i32(w_scales[j] * act_scale, bias[j]);
    } else {
      float ats = act_f * ws_f;
      r->mult[j] = ats / out_f;
      if (bias) r->badd[j] = per_channel ? bias[j] / ats : bias[j] * (float)(1.0 / (double)ats);
    }
  }
  return QG_OK;
}

void qg__requant_free(qg__requant *r) {
  qg__free(r->badd);
  qg__free(r->bq);
  qg__free(r->mult);
  r->badd = r->mult = NULL;
  r->bq = NULL;
}

QG_CLONES void qg__requant_row(const qg__requant *r, int64_t ch, const int32_t *raw, int64_t len, uint8_t *out) {
  for (int64_t t = 0; t < len; t++) out[t] = qg__requant_value(r, ch, raw[t]);
}

qg_status qg__dequant_init(qg__dequant *d, qg_quant_engine e, float act_scale, const double *w_scales, int64_t n,
                           const float *bias, int relu) {
  d->n = n;
  d->bias = bias;
  d->relu = relu;
  d->fused = e != QG_ENGINE_QNNPACK;
  d->mult = qg__calloc((size_t)(n ? n : 1), sizeof *d->mult);
  if (!d->mult) return qg_oom("dequantization parameters");
  for (int64_t j = 0; j < n; j++) d->mult[j] = act_scale * (float)w_scales[j];
  return QG_OK;
}

void qg__dequant_free(qg__dequant *d) {
  qg__free(d->mult);
  d->mult = NULL;
}

QG_CLONES_FMA void qg__dequant_cols(const qg__dequant *d, const int32_t *raw, float *out) {
  const float *mult = d->mult, *bias = d->bias;
  if (bias && d->fused) {
    for (int64_t j = 0; j < d->n; j++) out[j] = fmaf((float)raw[j], mult[j], bias[j]);
  } else {
    for (int64_t j = 0; j < d->n; j++) out[j] = (float)raw[j] * mult[j] + (bias ? bias[j] : 0.0f);
  }
  if (d->relu)
    for (int64_t j = 0; j < d->n; j++) out[j] = out[j] < 0.0f ? 0.0f : out[j];
}

qg_status qg__requant_out(const char *op, int ndim, const int64_t *shape, double scale, int64_t zp,
                          qg_tensor **out) {
  *out = NULL;
  static const int64_t none[1] = {0};
  qg_tensor *proto, *t = NULL;
  QG_TRY(qg__q_out(op, 1, none, scale, zp, &proto)); /* the checks and the quantizer, no data */
  qg_status st = qg_tensor_create_uninit(QG_DTYPE_QUINT8, ndim, shape, &t);
  if (st == QG_OK) st = qg_tensor_set_quantizer(t, proto->quantizer);
  qg_tensor_release(proto);
  if (st != QG_OK) {
    qg_tensor_release(t);
    return st;
  }
  *out = t;
  return QG_OK;
}
