/* Numerics shared by the quantized CPU kernels (quantized_*.c): PyTorch's quantize, dequantize
 * and requantize primitives, bit-exact with the fbgemm/x86 engine of torch 2.x on an AVX-512
 * CPU (docs/numerics.md, "Quantize, dequantize and quantized elementwise ops").
 *
 * PyTorch's x86 kernels compute an element in one of two forms:
 *   - scalar: affine_quantizer_base.cpp's quantize_val / dequantize_val (fbgemm's scalar
 *     Quantize): dequantize (q - zp) * scale rounded once; quantize zp + nearbyint(x * (1/scale))
 *     added in float, clamped in double (NaN becomes the dtype's 0 bit pattern: x86's integer
 *     indefinite truncated);
 *   - vector: vec512_qint.h / fbgemm's QuantizeAvx2: dequantize fma(scale, q, -zp * scale) with
 *     the premultiplied product rounded first; quantize x * inv_scale clipped at 2^31 - 128
 *     (NaN and +inf clip there too), cvtps2dq (round half to even; -inf and overflow give
 *     INT32_MIN), a wrapping int32 add of the zero point, then saturation to the dtype range.
 * Which elements take which form follows cpu_kernel_vec (qg_q_loop below). The two forms differ
 * by one quantization step on rare inputs (a float32 rounding that lands on the other side of a
 * .5 tie) and on NaN / infinity / overflow.
 *
 * Stored integers travel as int64_t. Tensors given to the helpers here are quantized; callers
 * check that (qg_q_check_per_tensor). */
#ifndef QG_OPS_CPU_QUANTIZED_COMMON_H
#define QG_OPS_CPU_QUANTIZED_COMMON_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* The dtype's stored range: quint8 [0, 255], qint8 [-128, 127], qint32 [INT32_MIN, INT32_MAX]. */
void qg_q_range(qg_dtype dtype, int64_t *qmin, int64_t *qmax);

/* The stored integer at element i of a contiguous buffer of dtype (quint8/qint8/qint32). */
static inline int64_t qg_q_load(qg_dtype dtype, const void *base, int64_t i) {
  switch (dtype) {
    case QG_DTYPE_QUINT8: return ((const uint8_t *)base)[i];
    case QG_DTYPE_QINT8: return ((const int8_t *)base)[i];
    default: return ((const int32_t *)base)[i];
  }
}
/* Stores v (already inside the dtype's range). */
static inline void qg_q_store(qg_dtype dtype, void *base, int64_t i, int64_t v) {
  switch (dtype) {
    case QG_DTYPE_QUINT8: ((uint8_t *)base)[i] = (uint8_t)v; break;
    case QG_DTYPE_QINT8: ((int8_t *)base)[i] = (int8_t)v; break;
    default: ((int32_t *)base)[i] = (int32_t)v; break;
  }
}

/* ---- the primitives ------------------------------------------------------------------------ */

/* quantize_val<T>(scale, zero_point, x) = fbgemm::Quantize<T, LEGACY=false>. */
int64_t qg_q_quantize_scalar(qg_dtype dtype, double scale, int64_t zero_point, float x);
/* Vectorized<T>::quantize(x, scale, zp, inv_scale) for one lane; 8-bit dtypes use the AVX
 * sequence, qint32 the scalar one (PyTorch's qint32 vector quantize calls fbgemm's scalar loop,
 * so pass its scale). */
int64_t qg_q_quantize_vec(qg_dtype dtype, float inv_scale, double scale, int64_t zero_point, float x);
/* dequantize_val(scale, zero_point, q) = float((float(q) - zp) * scale) with a double product. */
float qg_q_dequantize_scalar(double scale, int64_t zero_point, int64_t q);
/* Vectorized<T>::dequantize(scale, zp, premul) for one lane: fmaf(scale, float(q), premul) with
 * premul = scale * -float(zp) (qg_q_premul). */
float qg_q_dequantize_vec(float scale, float premul, int64_t q);
static inline float qg_q_premul(float scale, int64_t zero_point) { return scale * -(float)zero_point; }
/* requantize_from_int<T>(multiplier, zp, src) = clamp(zp + lrintf(float(src) * multiplier));
 * the vector form is identical for 8-bit dtypes. */
int64_t qg_q_requantize_from_int(qg_dtype dtype, float multiplier, int64_t zero_point, int64_t src);
/* Vectorized<qint32>::requantize_from_int: cvtps2dq(float(src) * multiplier) + zp, wrapping,
 * unclamped. */
int64_t qg_q_requantize_from_int_vec32(float multiplier, int64_t zero_point, int64_t src);
/* x86's cvtps2dq: round half to even; NaN, +-inf and out-of-range give INT32_MIN. */
int32_t qg_q_cvtps2dq(float v);

/* ---- elementwise iteration (cpu_kernel_vec) -------------------------------------------------- */

/* How PyTorch's TensorIterator splits an elementwise loop over a contiguous output of `shape`:
 * dims are coalesced from the innermost while every operand allows it, giving rows of `inner`
 * elements (row-major blocks of the output). A row runs the vector form when every operand is
 * contiguous along it, or all but one input are and that one is broadcast (stride 0); the first
 * vec_end elements of such a row are vector blocks (2 * Vectorized<T>::size() elements of the
 * AVX2 build, which PyTorch uses for these kernels even on AVX-512 CPUs: 64 for 8-bit dtypes,
 * 16 for qint32) and the rest the scalar tail. Other rows are scalar. */
#define QG__Q_MAX_INPUTS 4
typedef struct qg_q_loop {
  int64_t inner;
  int64_t vec_end; /* 0 for scalar rows */
} qg_q_loop;

/* strides[k] (ndim entries, in elements, 0 for broadcast dims) are input k's strides over the
 * output shape (k < QG__Q_MAX_INPUTS); the output is contiguous. */
void qg_q_loop_plan(qg_q_loop *plan, qg_dtype dtype, int ndim, const int64_t *shape, int ninputs,
                    const int64_t (*strides)[QG_MAX_DIMS]);
/* Whether flat output element k takes the vector form. */
static inline int qg_q_loop_is_vec(const qg_q_loop *plan, int64_t k) {
  return plan->vec_end > 0 && k % plan->inner < plan->vec_end;
}
/* The vector block of dtype (twice Vectorized<T>::size() of the AVX2 build). */
int64_t qg_q_vec_block(qg_dtype dtype);

/* ---- tensors ------------------------------------------------------------------------------- */

/* Checks t is a per-tensor quantized tensor; the message names op: "quantized::add: expected a
 * quantized tensor, got f32" / "...: only per-tensor quantized tensors are supported (qscheme ==
 * kPerTensorAffine), got a per-channel one". */
qg_status qg_q_check_per_tensor(const char *op, const qg_tensor *t) QG_MUST_USE;
/* A new zeroed contiguous per-tensor quantized tensor. */
qg_status qg_q_new(qg_dtype dtype, int ndim, const int64_t *shape, double scale, int64_t zero_point,
                   qg_tensor **out) QG_MUST_USE;
/* The storage dtype holding a quantized dtype's integers (u8, i8, i32) and back. */
qg_dtype qg_q_storage_dtype(qg_dtype qdtype);
/* A new contiguous plain tensor with t's stored integers (aten::int_repr). */
qg_status qg_q_int_repr(const qg_tensor *t, qg_tensor **out) QG_MUST_USE;
/* The stored integers of t as a new contiguous f32 tensor (exact for 8-bit dtypes), for
 * kernels that only move or compare values (max pooling, nearest upsampling). */
qg_status qg_q_ints_as_float(const qg_tensor *t, qg_tensor **out) QG_MUST_USE;
/* A quantized tensor of dtype with t's quantizer whose stored integers are the values of the
 * plain tensor ints (converted exactly; the caller guarantees they are in range). */
qg_status qg_q_from_ints(const qg_tensor *ints, qg_dtype dtype, qg_quantizer *q, qg_tensor **out) QG_MUST_USE;

#endif
