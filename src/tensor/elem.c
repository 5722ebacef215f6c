/* Element loads and stores for every dtype, with PyTorch's (c10::convert) conversion rules, and
 * bit-exact IEEE half / bfloat16 conversions (the c10 / FP16-library algorithms). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tensor/tensor_impl.h"

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* fp16_ieee_from_fp32_value: the rounding is done by the FPU (one float addition that lands
 * the mantissa on half precision), so ties go to even and overflow goes to infinity. */
uint16_t qg__f32_to_f16(float f) {
  const float scale_to_inf = 0x1.0p+112f;
  const float scale_to_zero = 0x1.0p-110f;
  float base = (fabsf(f) * scale_to_inf) * scale_to_zero;
  const uint32_t w = f32_bits(f);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & UINT32_C(0x80000000);
  uint32_t bias = shl1_w & UINT32_C(0xFF000000);
  if (bias < UINT32_C(0x71000000)) bias = UINT32_C(0x71000000);
  base = f32_from_bits((bias >> 1) + UINT32_C(0x07800000)) + base;
  const uint32_t bits = f32_bits(base);
  const uint32_t exp_bits = (bits >> 13) & UINT32_C(0x00007C00);
  const uint32_t mantissa_bits = bits & UINT32_C(0x00000FFF);
  const uint32_t nonsign = exp_bits + mantissa_bits;
  return (uint16_t)((sign >> 16) | (shl1_w > UINT32_C(0xFF000000) ? UINT32_C(0x7E00) : nonsign));
}

/* fp16_ieee_to_fp32_value: exact (every half is a float). */
float qg__f16_to_f32(uint16_t h) {
  const uint32_t w = (uint32_t)h << 16;
  const uint32_t sign = w & UINT32_C(0x80000000);
  const uint32_t two_w = w + w;
  const uint32_t exp_offset = UINT32_C(0xE0) << 23;
  const float exp_scale = 0x1.0p-112f;
  const float normalized = f32_from_bits((two_w >> 4) + exp_offset) * exp_scale;
  const uint32_t magic_mask = UINT32_C(126) << 23;
  const float denormalized = f32_from_bits((two_w >> 17) | magic_mask) - 0.5f;
  const uint32_t cutoff = UINT32_C(1) << 27;
  return f32_from_bits(sign | (two_w < cutoff ? f32_bits(denormalized) : f32_bits(normalized)));
}

/* c10::detail::round_to_nearest_even. */
uint16_t qg__f32_to_bf16(float f) {
  /* (PyTorch's vectorized float32 -> bfloat16 copy writes NaN as 0xFFFF instead; see store.) */
  if (isnan(f)) return UINT16_C(0x7FC0);
  uint32_t u = f32_bits(f);
  uint32_t rounding_bias = ((u >> 16) & 1) + UINT32_C(0x7FFF);
  return (uint16_t)((u + rounding_bias) >> 16);
}

float qg__bf16_to_f32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

/* Float -> integer as x86 compilers lower static_cast (cvttsd2si): truncation toward zero,
 * and the "integer indefinite" value for NaN and out-of-range inputs. Defined here so that
 * UBSan stays quiet. */
static int64_t d_to_i64(double d) {
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return INT64_MIN;
  return (int64_t)d;
}

static int32_t d_to_i32(double d) {
  if (!(d > -2147483649.0 && d < 2147483648.0)) return INT32_MIN;
  return (int32_t)d;
}

static uint64_t to_bits64(qg__elem v, int via64) {
  if (v.is_int) return (uint64_t)v.i;
  return via64 ? (uint64_t)d_to_i64(v.d) : (uint64_t)(int64_t)d_to_i32(v.d);
}

static int is_narrow_float(qg_dtype d) { return d == QG_DTYPE_F32 || d == QG_DTYPE_F16 || d == QG_DTYPE_BF16; }

static float to_float(qg__elem v) {
  if (v.is_int) return (float)v.i;
  return is_narrow_float(v.src) ? v.f : (float)v.d;
}

double qg__elem_to_double(qg__elem v) { return v.is_int ? (double)v.i : v.d; }


qg__elem qg__elem_load(qg_dtype dtype, const void *p) {
  qg__elem e = {1, 0, 0, 0, dtype};
  switch (dtype) {
    case QG_DTYPE_U8:
    case QG_DTYPE_QUINT8:
    case QG_DTYPE_QUINT4X2: e.i = *(const uint8_t *)p; break;
    case QG_DTYPE_I8:
    case QG_DTYPE_QINT8: e.i = *(const int8_t *)p; break;
    case QG_DTYPE_BOOL: e.i = *(const uint8_t *)p != 0; break;
    case QG_DTYPE_I16: { int16_t x; memcpy(&x, p, sizeof x); e.i = x; break; }
    case QG_DTYPE_I32:
    case QG_DTYPE_QINT32: { int32_t x; memcpy(&x, p, sizeof x); e.i = x; break; }
    case QG_DTYPE_I64: memcpy(&e.i, p, sizeof e.i); break;
    case QG_DTYPE_F16: { uint16_t x; memcpy(&x, p, sizeof x); e.is_int = 0; e.f = qg__f16_to_f32(x); e.d = e.f; break; }
    case QG_DTYPE_BF16: { uint16_t x; memcpy(&x, p, sizeof x); e.is_int = 0; e.f = qg__bf16_to_f32(x); e.d = e.f; break; }
    case QG_DTYPE_F32: { memcpy(&e.f, p, sizeof e.f); e.is_int = 0; e.d = e.f; break; }
    case QG_DTYPE_F64: e.is_int = 0; memcpy(&e.d, p, sizeof e.d); break;
    case QG_DTYPE_COUNT: QG_ASSERT(0 && "bad dtype");
  }
  return e;
}

void qg__elem_store(qg_dtype dtype, void *p, qg__elem v) {
  switch (dtype) {
    case QG_DTYPE_U8:
    case QG_DTYPE_QUINT8:
    case QG_DTYPE_QUINT4X2: *(uint8_t *)p = (uint8_t)to_bits64(v, 1); break; /* c10: via int64 */
    case QG_DTYPE_I8:
    case QG_DTYPE_QINT8: *(int8_t *)p = (int8_t)(uint8_t)to_bits64(v, 0); break;
    case QG_DTYPE_BOOL: *(uint8_t *)p = v.is_int ? v.i != 0 : v.d != 0; break; /* NaN -> true */
    case QG_DTYPE_I16: { int16_t x = (int16_t)(uint16_t)to_bits64(v, 0); memcpy(p, &x, sizeof x); break; }
    case QG_DTYPE_I32:
    case QG_DTYPE_QINT32: { int32_t x = (int32_t)(uint32_t)to_bits64(v, 0); memcpy(p, &x, sizeof x); break; }
    case QG_DTYPE_I64: { int64_t x = (int64_t)to_bits64(v, 1); memcpy(p, &x, sizeof x); break; }
    case QG_DTYPE_F16: { uint16_t x = qg__f32_to_f16(to_float(v)); memcpy(p, &x, sizeof x); break; }
    case QG_DTYPE_BF16: {
      /* PyTorch's CPU copy from float32 is vectorized (cvtfp32_bf16), which writes NaN as
       * 0xFFFF; every other source goes through c10::BFloat16(float) (NaN -> 0x7FC0). */
      float f = to_float(v);
      uint16_t x = v.src == QG_DTYPE_F32 && isnan(f) ? UINT16_C(0xFFFF) : qg__f32_to_bf16(f);
      memcpy(p, &x, sizeof x);
      break;
    }
    case QG_DTYPE_F32: { float x = to_float(v); memcpy(p, &x, sizeof x); break; }
    case QG_DTYPE_F64: { double x = qg__elem_to_double(v); memcpy(p, &x, sizeof x); break; }
    case QG_DTYPE_COUNT: QG_ASSERT(0 && "bad dtype");
  }
}
