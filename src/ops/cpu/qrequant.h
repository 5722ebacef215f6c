/* Requantization of the exact int32 dot products of quantized conv / linear (qgemm.h) into
 * quint8 outputs (static ops) or float outputs (dynamic linear), per engine (quant_engine.h).
 *
 * One formula covers both engines, per output channel j:
 *     y = ((float)(raw + bq[j]) + badd[j]) * mult[j]
 *     q = clamp(round_half_even(y) + out_zp, lo, 255),  lo = relu ? out_zp : 0
 * FBGEMM (ReQuantizeOutput, the AVX2/AVX-512 path PyTorch runs on x86; reference §5.6):
 *     ats[j] = (float)act_scale * (float)w_scale[j];  mult[j] = ats[j] / (float)out_scale
 *     bq = 0;  badd[j] = bias[j] * (float)(1.0 / (double)ats)  (per-tensor weights)
 *                        bias[j] / ats[j]                       (per-channel weights)
 * QNNPACK (torch 1.13): bq[j] = quantize_val<qint32>((double)w_scale[j] * act_scale, bias[j])
 *     = nearbyintf(bias[j] * (1.0f / (float)(w_scale * act_scale))) clamped to int32; badd = 0;
 *     mult[j] = ((float)w_scale[j] * (float)act_scale) * (1.0f / (float)out_scale).
 * Rounding is cvtps2dq's (ties to even; NaN or |y| >= 2^31 give INT32_MIN, i.e. the low clamp).
 *
 * Float outputs (dynamic linear), m[j] = (float)act_scale * (float)w_scale[j]:
 *     FBGEMM (ReQuantizeForFloat's AVX-512 path): y = fmaf((float)raw, m[j], bias[j]) (one rounding)
 *     QNNPACK (q8gemm_dq):                        y = (float)raw * m[j] + bias[j] (two roundings)
 *     relu: y < 0 -> 0. Without a bias both are (float)raw * m[j]. */
#ifndef QG_OPS_CPU_QREQUANT_H
#define QG_OPS_CPU_QREQUANT_H

#include <stdint.h>

#include "base/status.h"
#include "ops/cpu/quant_engine.h"
#include "tensor/tensor.h"

typedef struct qg__requant {
  int64_t n;   /* output channels */
  float *badd; /* n */
  int32_t *bq; /* n */
  float *mult; /* n */
  int32_t zp, lo;
} qg__requant;

/* w_scales: n weight scales (per-tensor weights: the one scale repeated, per_channel = 0);
 * bias: n floats or NULL. OOM (r is then empty; qg__requant_free is still safe). */
qg_status qg__requant_init(qg__requant *r, qg_quant_engine e, int per_channel, double act_scale,
                           const double *w_scales, int64_t n, const float *bias, double out_scale, int64_t out_zp,
                           int relu) QG_MUST_USE;
void qg__requant_free(qg__requant *r);

/* The formula above for one value of channel ch; every GEMM epilogue (qgemm.h) reproduces
 * exactly this. y is clamped to [-65536, 65536] before rounding (NaN to the low end; the zero
 * point and the final clamp are within 256 of 0). Note: y >= 2^31 saturates high here, where
 * FBGEMM's cvtps2dq gives INT32_MIN (the low clamp); no recorded case reaches it. */
static inline uint8_t qg__requant_value(const qg__requant *r, int64_t ch, int32_t raw) {
  float y = ((float)(int32_t)((uint32_t)raw + (uint32_t)r->bq[ch]) + r->badd[ch]) * r->mult[ch];
  float c = y == y ? y : -65536.0f;
  c = c < -65536.0f ? -65536.0f : c;
  c = c > 65536.0f ? 65536.0f : c;
  int32_t q = (int32_t)((c + 12582912.0f) - 12582912.0f) + r->zp; /* round half to even: exact below 2^22 */
  q = q < r->lo ? r->lo : q;
  return (uint8_t)(q > 255 ? 255 : q);
}

/* out[t] from raw[t], t < len, all of channel ch (a transposed conv's output row; the GEMM
 * requantizes the others in its epilogue). */
void qg__requant_row(const qg__requant *r, int64_t ch, const int32_t *raw, int64_t len, uint8_t *out);

/* qg__q_out's quint8 output (same checks and messages) with storage left uninitialised: for a
 * kernel that requantizes into every byte of it, where zeroing would write each page twice. */
qg_status qg__requant_out(const char *op, int ndim, const int64_t *shape, double scale, int64_t zp,
                          qg_tensor **out) QG_MUST_USE;

typedef struct qg__dequant {
  int64_t n;
  float *mult;       /* n */
  const float *bias; /* n or NULL (borrowed) */
  int relu;
  int fused; /* FBGEMM: fused multiply-add of the bias */
} qg__dequant;

qg_status qg__dequant_init(qg__dequant *d, qg_quant_engine e, float act_scale, const double *w_scales, int64_t n,
                           const float *bias, int relu) QG_MUST_USE;
void qg__dequant_free(qg__dequant *d);
/* out[j] from raw[j], j < d->n. */
void qg__dequant_cols(const qg__dequant *d, const int32_t *raw, float *out);

#endif
