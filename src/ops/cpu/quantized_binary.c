/* Quantized add / mul kernels (quantized_binary.h). */
#include "ops/cpu/quantized_binary.h"

#include <math.h>
#include <string.h>

#include "base/cpu.h"
#include "ops/cpu/pointwise_common.h"
#include "ops/cpu/quantized_common.h"

static const char *op_word(qg_qbinary_op op) { return op == QG_QBINARY_ADD ? "Add" : "Mul"; }
static const char *op_name(qg_qbinary_op op) { return op == QG_QBINARY_ADD ? "quantized::add" : "quantized::mul"; }

/* BinaryOps.cpp / qmul.cpp check_inputs, in their order. */
static qg_status check_inputs(qg_qbinary_op op, const qg_tensor *a, const qg_tensor *b) {
  const char *w = op_word(op);
  if (!qg_dtype_info(a->dtype)->is_quantized || !a->quantizer)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: expected quantized operands, got %s", op_name(op),
                        qg_dtype_info(a->dtype)->name);
  if (a->quantizer->scheme != QG_QSCHEME_PER_TENSOR_AFFINE)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "Only per tensor quantization is supported in %s.", w);
  if (!qg_dtype_info(b->dtype)->is_quantized || !b->quantizer)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: expected quantized operands, got %s", op_name(op),
                        qg_dtype_info(b->dtype)->name);
  if (op == QG_QBINARY_ADD && b->quantizer->scheme != a->quantizer->scheme)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Both inputs to %s must have the same quantization scheme.", w);
  if (a->dtype != b->dtype)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s operands should have same data type.", w);
  if (b->quantizer->scheme != a->quantizer->scheme)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Both inputs to %s must have the same quantization scheme.", w);
  return QG_OK;
}

/* The result shape: add keeps a's shape (b broadcasts to it), mul broadcasts both. */
static qg_status result_shape(qg_qbinary_op op, const qg_tensor *a, const qg_tensor *b, int *ndim, int64_t *shape) {
  QG_TRY(qg_broadcast_shapes(a->ndim, a->shape, b->ndim, b->shape, ndim, shape));
  if (op == QG_QBINARY_ADD && (*ndim != a->ndim || memcmp(shape, a->shape, sizeof(int64_t) * (size_t)a->ndim) != 0)) {
    char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX];
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "output with shape %s doesn't match the broadcast shape %s",
                        qg_shape_str(a->ndim, a->shape, s1, sizeof s1), qg_shape_str(*ndim, shape, s2, sizeof s2));
  }
  return QG_OK;
}

static int force_level; /* 0: best loop, 1: element loop, 2: AVX2 (tests) */
void qg__qbinary_force_scalar(int on) { force_level = on ? 1 : 0; }
void qg__qbinary_force_avx2(int on) { force_level = on ? 2 : 0; }

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QG__QADD_AVX2 1

/* quantized add of 8 elements in the vector form (qg_q_dequantize_vec + qg_q_quantize_vec, lane
 * for lane): fma(scale, q, premul) per operand, the float sum, relu, min(c * inv, clip),
 * cvtps2dq, + zo wrapping, clamp. */
__attribute__((target("avx2,fma"))) static void qadd8(const void *pa, const void *pb, void *po, int is_unsigned,
                                                      const float *k, int relu, __m256i zo, __m256i lo, __m256i hi) {
  __m128i ra = _mm_loadl_epi64((const __m128i *)pa), rb = _mm_loadl_epi64((const __m128i *)pb);
  __m256i ia = is_unsigned ? _mm256_cvtepu8_epi32(ra) : _mm256_cvtepi8_epi32(ra);
  __m256i ib = is_unsigned ? _mm256_cvtepu8_epi32(rb) : _mm256_cvtepi8_epi32(rb);
  __m256 da = _mm256_fmadd_ps(_mm256_set1_ps(k[0]), _mm256_cvtepi32_ps(ia), _mm256_set1_ps(k[1]));
  __m256 db = _mm256_fmadd_ps(_mm256_set1_ps(k[2]), _mm256_cvtepi32_ps(ib), _mm256_set1_ps(k[3]));
  __m256 c = _mm256_add_ps(da, db);
  if (relu) c = _mm256_max_ps(c, _mm256_setzero_ps());
  __m256 y = _mm256_min_ps(_mm256_mul_ps(c, _mm256_set1_ps(k[4])), _mm256_set1_ps(2147483520.0f));
  __m256i q = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(y), zo), lo), hi);
  __m256i w = _mm256_packs_epi32(q, q);
  w = is_unsigned ? _mm256_packus_epi16(w, w) : _mm256_packs_epi16(w, w);
  int32_t l0 = _mm_cvtsi128_si32(_mm256_castsi256_si128(w)), l1 = _mm_cvtsi128_si32(_mm256_extracti128_si256(w, 1));
  memcpy(po, &l0, 4);
  memcpy((char *)po + 4, &l1, 4);
}

/* The vector part [0, vec_end) of every row of a contiguous 8-bit add whose operands have the
 * output's shape and layout; the scalar tails are left to the caller's loop. */
__attribute__((target("avx2,fma"))) static void qadd_rows_avx2(const qg_q_loop *plan, int64_t n, const uint8_t *pa,
                                                               const uint8_t *pb, uint8_t *po, int is_unsigned,
                                                               const float *k, int relu, int32_t zo, int32_t qmin,
                                                               int32_t qmax) {
  const __m256i vzo = _mm256_set1_epi32(zo), lo = _mm256_set1_epi32(qmin), hi = _mm256_set1_epi32(qmax);
  for (int64_t row = 0; row < n; row += plan->inner)
    for (int64_t i = row; i < row + plan->vec_end; i += 8)
      qadd8(pa + i, pb + i, po + i, is_unsigned, k, relu, vzo, lo, hi);
}

/* The same with 16 lanes (AVX-512F: its fmadd, conversions and min/max are the same lane
 * operations). */
__attribute__((target("avx512f"))) static void qadd_rows_avx512(const qg_q_loop *plan, int64_t n, const uint8_t *pa,
                                                                 const uint8_t *pb, uint8_t *po, int is_unsigned,
                                                                 const float *k, int relu, int32_t zo, int32_t qmin,
                                                                 int32_t qmax) {
  const __m512i vzo = _mm512_set1_epi32(zo), lo = _mm512_set1_epi32(qmin), hi = _mm512_set1_epi32(qmax);
  const __m512 sa = _mm512_set1_ps(k[0]), pa_ = _mm512_set1_ps(k[1]), sb = _mm512_set1_ps(k[2]),
               pb_ = _mm512_set1_ps(k[3]), inv = _mm512_set1_ps(k[4]), clip = _mm512_set1_ps(2147483520.0f);
  for (int64_t row = 0; row < n; row += plan->inner)
    for (int64_t i = row; i < row + plan->vec_end; i += 16) {
      __m128i ra = _mm_loadu_si128((const __m128i *)(pa + i)), rb = _mm_loadu_si128((const __m128i *)(pb + i));
      __m512i ia = is_unsigned ? _mm512_cvtepu8_epi32(ra) : _mm512_cvtepi8_epi32(ra);
      __m512i ib = is_unsigned ? _mm512_cvtepu8_epi32(rb) : _mm512_cvtepi8_epi32(rb);
      __m512 c = _mm512_add_ps(_mm512_fmadd_ps(sa, _mm512_cvtepi32_ps(ia), pa_),
                               _mm512_fmadd_ps(sb, _mm512_cvtepi32_ps(ib), pb_));
      if (relu) c = _mm512_max_ps(c, _mm512_setzero_ps());
      __m512 y = _mm512_min_ps(_mm512_mul_ps(c, inv), clip);
      __m512i q = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(y), vzo), lo), hi);
      _mm_storeu_si128((__m128i *)(po + i), _mm512_cvtepi32_epi8(q)); /* in range: truncation is exact */
    }
}

/* Whether t has shape and contiguous layout of the contiguous tensor r. */
static int same_layout(const qg_tensor *t, const qg_tensor *r) {
  return t->ndim == r->ndim && memcmp(t->shape, r->shape, sizeof(int64_t) * (size_t)r->ndim) == 0 &&
         qg_tensor_is_contiguous(t);
}
#endif

/* The constants of one binary op. */
typedef struct qbin {
  qg_qbinary_op op;
  qg_dtype dt;
  int relu;
  float sa, sb, so, inv, pre_a, pre_b, multiplier;
  int64_t za, zb, zo;
} qbin;

/* One output element from the stored integers qa, qb, in the vector or the scalar form. */
static int64_t elem(const qbin *c, int64_t qa, int64_t qb, int vec) {
  int64_t q;
  if (c->op == QG_QBINARY_ADD) {
    /* qadd_kernel: dequantize both, add in float, requantize */
    float v;
    if (vec) {
      v = qg_q_dequantize_vec(c->sa, c->pre_a, qa) + qg_q_dequantize_vec(c->sb, c->pre_b, qb);
      if (c->relu) v = v > 0.0f ? v : 0.0f;
      return qg_q_quantize_vec(c->dt, c->inv, c->so, c->zo, v);
    }
    v = qg_q_dequantize_scalar(c->sa, c->za, qa) + qg_q_dequantize_scalar(c->sb, c->zb, qb);
    if (c->relu) v = v < 0.0f ? 0.0f : v;
    return qg_q_quantize_scalar(c->dt, c->so, c->zo, v);
  }
  /* qmul_kernel: int32 product of the zero-point-shifted values (wrapping, as the int32
   * multiply does), requantized with sa * sb / so */
  const int32_t prod = (int32_t)((uint32_t)(int32_t)(qa - c->za) * (uint32_t)(int32_t)(qb - c->zb));
  q = vec && c->dt == QG_DTYPE_QINT32 ? qg_q_requantize_from_int_vec32(c->multiplier, c->zo, prod)
                                      : qg_q_requantize_from_int(c->dt, c->multiplier, c->zo, prod);
  if (c->relu && q < c->zo) q = c->zo;
  return q;
}

/* Contiguous 8-bit add with same-shape operands: the vector blocks of each row with AVX-512 or
 * AVX2, the scalar tails element by element. Returns 0 (nothing done) where that does not apply. */
static int add_contiguous(const qbin *c, const qg_q_loop *plan, const qg_tensor *a, const qg_tensor *b, qg_tensor *r) {
#if defined(QG__QADD_AVX2)
  if (c->op != QG_QBINARY_ADD || c->dt == QG_DTYPE_QINT32 || plan->vec_end == 0 || force_level == 1 ||
      !qg_cpu_has_avx2_fma() || !same_layout(a, r) || !same_layout(b, r))
    return 0;
  int64_t qmin, qmax;
  qg_q_range(c->dt, &qmin, &qmax);
  const float k[5] = {c->sa, c->pre_a, c->sb, c->pre_b, c->inv};
  const void *pa = qg_tensor_data(a), *pb = qg_tensor_data(b);
  void *po = qg_tensor_data(r);
  const int64_t n = qg_tensor_numel(r);
  if (force_level != 2 && qg_cpu_has_avx512f())
    qadd_rows_avx512(plan, n, pa, pb, po, c->dt == QG_DTYPE_QUINT8, k, c->relu, (int32_t)c->zo, (int32_t)qmin,
                     (int32_t)qmax);
  else
    qadd_rows_avx2(plan, n, pa, pb, po, c->dt == QG_DTYPE_QUINT8, k, c->relu, (int32_t)c->zo, (int32_t)qmin,
                   (int32_t)qmax);
  for (int64_t row = 0; row < n; row += plan->inner)
    for (int64_t i = row + plan->vec_end; i < row + plan->inner; i++)
      qg_q_store(c->dt, po, i, elem(c, qg_q_load(c->dt, pa, i), qg_q_load(c->dt, pb, i), 0));
  return 1;
#else
  (void)c, (void)plan, (void)a, (void)b, (void)r;
  return 0;
#endif
}

/* Fills r (contiguous, r's qparams are the output's) with a op b. */
static void compute(qg_qbinary_op op, const qg_tensor *a, const qg_tensor *b, int relu, qg_tensor *r) {
  qbin c = {op, r->dtype, relu, (float)a->quantizer->scale, (float)b->quantizer->scale, (float)r->quantizer->scale,
            0, 0, 0, 0, a->quantizer->zero_point, b->quantizer->zero_point, r->quantizer->zero_point};
  c.inv = 1.0f / c.so;
  c.pre_a = qg_q_premul(c.sa, c.za);
  c.pre_b = qg_q_premul(c.sb, c.zb);
  c.multiplier = c.sa * c.sb * c.inv;
  const qg_tensor *ops[2] = {a, b};
  qg__pw_iter it;
  qg__pw_iter_init(&it, r->ndim, r->shape, 2, ops);
  qg_q_loop plan;
  qg_q_loop_plan(&plan, c.dt, r->ndim, r->shape, 2, (const int64_t(*)[QG_MAX_DIMS])it.strides);
  if (add_contiguous(&c, &plan, a, b, r)) return;
  const void *pa = qg_tensor_data(a), *pb = qg_tensor_data(b);
  void *po = qg_tensor_data(r);
  for (int64_t k = 0, n = qg_tensor_numel(r); k < n; k++) {
    const int64_t qa = qg_q_load(c.dt, pa, it.off[0]), qb = qg_q_load(c.dt, pb, it.off[1]);
    qg_q_store(c.dt, po, k, elem(&c, qa, qb, qg_q_loop_is_vec(&plan, k)));
    qg__pw_iter_next(&it);
  }
}

/* Copies the bytes of r (contiguous, out's dtype and shape) into out. */
static qg_status store_into(qg_tensor *out, const qg_tensor *r) {
  if (qg_tensor_is_contiguous(out)) {
    if (qg_tensor_numel(r) > 0) memcpy(qg_tensor_data(out), qg_tensor_data(r), qg_tensor_nbytes(r));
    return QG_OK;
  }
  return qg_tensor_copy_(out, r);
}

qg_status qg_cpu_qbinary(qg_qbinary_op op, qg_tensor *a, qg_tensor *b, double scale, int64_t zero_point, int relu,
                         qg_tensor **out) {
  QG_TRY(check_inputs(op, a, b));
  int ndim;
  int64_t shape[QG_MAX_DIMS];
  QG_TRY(result_shape(op, a, b, &ndim, shape));
  qg_tensor *r;
  QG_TRY(qg_q_new(a->dtype, ndim, shape, scale, zero_point, &r));
  compute(op, a, b, relu, r);
  *out = r;
  return QG_OK;
}

qg_status qg_cpu_qbinary_out(qg_qbinary_op op, qg_tensor *a, qg_tensor *b, int relu, qg_tensor *out) {
  QG_TRY(check_inputs(op, a, b));
  QG_TRY(check_inputs(op, a, out));
  int ndim;
  int64_t shape[QG_MAX_DIMS];
  QG_TRY(result_shape(op, a, b, &ndim, shape));
  if (ndim != out->ndim || memcmp(shape, out->shape, sizeof(int64_t) * (size_t)ndim) != 0) {
    char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX];
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: out has shape %s, the result has shape %s", op_name(op),
                        qg_shape_str(out->ndim, out->shape, s1, sizeof s1), qg_shape_str(ndim, shape, s2, sizeof s2));
  }
  qg_tensor *r;
  QG_TRY(qg_q_new(a->dtype, ndim, shape, out->quantizer->scale, out->quantizer->zero_point, &r));
  compute(op, a, b, relu, r);
  qg_status st = store_into(out, r);
  qg_tensor_release(r);
  return st;
}

/* ---- tensor-scalar ------------------------------------------------------------------------ */

/* A scalar op's contiguous input and its result tensor with qparams (s2, z2). */
static qg_status scalar_operands(const qg_tensor *a, double s2, int64_t z2, qg_tensor **ca, qg_tensor **r) {
  QG_TRY(qg_tensor_contiguous((qg_tensor *)a, ca));
  qg_status st = qg_q_new(a->dtype, a->ndim, a->shape, s2, z2, r);
  if (st != QG_OK) qg_tensor_release(*ca);
  return st;
}

/* BinaryOps.cpp _add_scalar_out: c_q = round(c / s) moves the zero point; when the moved zero
 * point leaves the dtype range, the scale grows and the values are requantized. */
static qg_status add_scalar(const qg_tensor *a, double c, int relu, int self_is_out, qg_tensor **out) {
  const qg_dtype dt = a->dtype;
  int64_t qmin, qmax;
  qg_q_range(dt, &qmin, &qmax);
  const double s = a->quantizer->scale;
  const int64_t z = a->quantizer->zero_point;
  const double cq_d = nearbyint(c / s);
  if (!(cq_d >= -9.2e18 && cq_d <= 9.2e18))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "quantized::add_scalar: value %g cannot be converted to type "
                        "int64_t without overflow", cq_d);
  const int64_t c_q = (int64_t)cq_d;
  double s2 = s;
  int64_t z2 = z - c_q;
  const int saturating = qmin > z - c_q || qmax < z - c_q;
  if (qmin > z - c_q) {
    s2 = ((double)qmax - (double)(z - c_q)) / ((double)qmax - (double)qmin) * s;
    z2 = qmin;
  } else if (qmax < z - c_q) {
    s2 = ((double)(z - c_q) - (double)qmin) / ((double)qmax - (double)qmin) * s;
    z2 = qmax;
  }
  if (saturating && (c_q > INT32_MAX || c_q < INT32_MIN))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "value cannot be converted to type int32_t without overflow: %lld", (long long)c_q);
  qg_tensor *ca, *r;
  QG_TRY(scalar_operands(a, s2, z2, &ca, &r));
  const void *src = qg_tensor_data(ca);
  void *dst = qg_tensor_data(r);
  /* qadd_scalar_kernel reads self's qparams after _add_scalar_out gave out the new ones: when
   * out is self, it reads (s2, z2) back, so the stored values move by c_q and saturate */
  const float self_scale = self_is_out ? (float)s2 : (float)s;
  const int64_t self_zp = self_is_out ? z2 : z;
  const float multiplier = self_scale * (1.0f / (float)s2);
  for (int64_t i = 0, n = qg_tensor_numel(r); i < n; i++) {
    int64_t q = qg_q_load(dt, src, i);
    if (saturating) {
      const int32_t sum = (int32_t)((uint32_t)(int32_t)(q - self_zp) + (uint32_t)(int32_t)c_q);
      q = qg_q_requantize_from_int(dt, multiplier, z2, sum);
    }
    if (relu && q < z2) q = z2;
    qg_q_store(dt, dst, i, q);
  }
  qg_tensor_release(ca);
  *out = r;
  return QG_OK;
}

/* qmul.cpp _mul_scalar_out: the bytes stay (c > 0), vanish (c == 0) or mirror (c < 0). */
static qg_status mul_scalar(const qg_tensor *a, double c, int relu, qg_tensor **out) {
  const qg_dtype dt = a->dtype;
  int64_t qmin, qmax;
  qg_q_range(dt, &qmin, &qmax);
  const double s = a->quantizer->scale;
  const int64_t z = a->quantizer->zero_point;
  double s2;
  int64_t z2;
  if (c > 0.0) {
    s2 = c * s;
    z2 = z;
  } else if (c == 0.0) {
    s2 = 1.0;
    z2 = 0;
  } else {
    s2 = fabs(c) * s;
    z2 = qmax - (z - qmin);
  }
  qg_tensor *ca, *r;
  QG_TRY(scalar_operands(a, s2, z2, &ca, &r));
  const void *src = qg_tensor_data(ca);
  void *dst = qg_tensor_data(r);
  for (int64_t i = 0, n = qg_tensor_numel(r); i < n; i++) {
    int64_t q = qg_q_load(dt, src, i);
    if (c > 0.0) {
      if (relu && q < z) q = z; /* qrelu with the input's zero point, before the qparams move */
    } else if (c == 0.0) {
      q = 0;
    } else {
      q = qmax + qmin - q;
      if (relu && q < z2) q = z2;
    }
    qg_q_store(dt, dst, i, q);
  }
  qg_tensor_release(ca);
  *out = r;
  return QG_OK;
}

qg_status qg_cpu_qbinary_scalar(qg_qbinary_op op, qg_tensor *a, double c, int relu, qg_tensor **out) {
  if (!qg_dtype_info(a->dtype)->is_quantized || !a->quantizer)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: expected a quantized tensor, got %s", op_name(op),
                        qg_dtype_info(a->dtype)->name);
  if (a->quantizer->scheme != QG_QSCHEME_PER_TENSOR_AFFINE || a->dtype == QG_DTYPE_QUINT4X2)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "Only per tensor quantization is supported in %s.", op_word(op));
  return op == QG_QBINARY_ADD ? add_scalar(a, c, relu, 0, out) : mul_scalar(a, c, relu, out);
}

qg_status qg_cpu_qbinary_scalar_out(qg_qbinary_op op, qg_tensor *a, double c, int relu, qg_tensor *out) {
  QG_TRY(check_inputs(op, a, out));
  if (a->ndim != out->ndim || memcmp(a->shape, out->shape, sizeof(int64_t) * (size_t)a->ndim) != 0) {
    char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX];
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: out has shape %s, the input has shape %s", op_name(op),
                        qg_shape_str(out->ndim, out->shape, s1, sizeof s1), qg_shape_str(a->ndim, a->shape, s2, sizeof s2));
  }
  qg_tensor *r;
  const int self_is_out = out == a || (out->storage && out->storage == a->storage && out->offset == a->offset &&
                                       memcmp(out->strides, a->strides, sizeof(int64_t) * (size_t)a->ndim) == 0);
  if (op == QG_QBINARY_ADD && self_is_out) {
    if (a->quantizer->scheme != QG_QSCHEME_PER_TENSOR_AFFINE)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "Only per tensor quantization is supported in %s.", op_word(op));
    QG_TRY(add_scalar(a, c, relu, 1, &r));
  } else {
    QG_TRY(qg_cpu_qbinary_scalar(op, a, c, relu, &r));
  }
  qg_status st = store_into(out, r);
  if (st == QG_OK) st = qg_tensor_set_quantizer(out, r->quantizer);
  qg_tensor_release(r);
  return st;
}
