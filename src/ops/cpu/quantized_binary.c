/* Quantized add / mul kernels (quantized_binary.h). */
#include "ops/cpu/quantized_binary.h"

#include <math.h>
#include <string.h>

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

/* Fills r (contiguous, r's qparams are the output's) with a op b. */
static void compute(qg_qbinary_op op, const qg_tensor *a, const qg_tensor *b, int relu, qg_tensor *r) {
  const qg_dtype dt = r->dtype;
  const float sa = (float)a->quantizer->scale, sb = (float)b->quantizer->scale;
  const int64_t za = a->quantizer->zero_point, zb = b->quantizer->zero_point;
  const float so = (float)r->quantizer->scale, inv = 1.0f / so;
  const int64_t zo = r->quantizer->zero_point;
  const float pre_a = qg_q_premul(sa, za), pre_b = qg_q_premul(sb, zb);
  const float multiplier = sa * sb * inv;
  const qg_tensor *ops[2] = {a, b};
  qg__pw_iter it;
  qg__pw_iter_init(&it, r->ndim, r->shape, 2, ops);
  qg_q_loop plan;
  qg_q_loop_plan(&plan, dt, r->ndim, r->shape, 2, (const int64_t(*)[QG_MAX_DIMS])it.strides);
  const void *pa = qg_tensor_data(a), *pb = qg_tensor_data(b);
  void *po = qg_tensor_data(r);
  for (int64_t k = 0, n = qg_tensor_numel(r); k < n; k++) {
    const int64_t qa = qg_q_load(dt, pa, it.off[0]), qb = qg_q_load(dt, pb, it.off[1]);
    const int vec = qg_q_loop_is_vec(&plan, k);
    int64_t q;
    if (op == QG_QBINARY_ADD) {
      /* qadd_kernel: dequantize both, add in float, requantize */
      float c;
      if (vec) {
        c = qg_q_dequantize_vec(sa, pre_a, qa) + qg_q_dequantize_vec(sb, pre_b, qb);
        if (relu) c = c > 0.0f ? c : 0.0f;
        q = qg_q_quantize_vec(dt, inv, so, zo, c);
      } else {
        c = qg_q_dequantize_scalar(sa, za, qa) + qg_q_dequantize_scalar(sb, zb, qb);
        if (relu) c = c < 0.0f ? 0.0f : c;
        q = qg_q_quantize_scalar(dt, so, zo, c);
      }
    } else {
      /* qmul_kernel: int32 product of the zero-point-shifted values (wrapping, as the int32
       * multiply does), requantized with sa * sb / so */
      const int32_t prod = (int32_t)((uint32_t)(int32_t)(qa - za) * (uint32_t)(int32_t)(qb - zb));
      q = vec && dt == QG_DTYPE_QINT32 ? qg_q_requantize_from_int_vec32(multiplier, zo, prod)
                                       : qg_q_requantize_from_int(dt, multiplier, zo, prod);
      if (relu && q < zo) q = zo;
    }
    qg_q_store(dt, po, k, q);
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

/* BinaryOps.cpp _add_scalar_out: c_q = round(c / s) moves the zero point; when the moved zero
 * point leaves the dtype range, the scale grows and the values are requantized. */
static qg_status add_scalar(const qg_tensor *a, double c, int relu, qg_tensor **out) {
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
  QG_TRY(qg_tensor_contiguous((qg_tensor *)a, &ca));
  qg_status st = qg_q_new(dt, a->ndim, a->shape, s2, z2, &r);
  if (st != QG_OK) {
    qg_tensor_release(ca);
    return st;
  }
  const void *src = qg_tensor_data(ca);
  void *dst = qg_tensor_data(r);
  const float multiplier = (float)s * (1.0f / (float)s2);
  for (int64_t i = 0, n = qg_tensor_numel(r); i < n; i++) {
    int64_t q = qg_q_load(dt, src, i);
    if (saturating) {
      const int32_t sum = (int32_t)((uint32_t)(int32_t)(q - z) + (uint32_t)(int32_t)c_q);
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
  QG_TRY(qg_tensor_contiguous((qg_tensor *)a, &ca));
  qg_status st = qg_q_new(dt, a->ndim, a->shape, s2, z2, &r);
  if (st != QG_OK) {
    qg_tensor_release(ca);
    return st;
  }
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
  return op == QG_QBINARY_ADD ? add_scalar(a, c, relu, out) : mul_scalar(a, c, relu, out);
}

qg_status qg_cpu_qbinary_scalar_out(qg_qbinary_op op, qg_tensor *a, double c, int relu, qg_tensor *out) {
  QG_TRY(check_inputs(op, a, out));
  if (a->ndim != out->ndim || memcmp(a->shape, out->shape, sizeof(int64_t) * (size_t)a->ndim) != 0) {
    char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX];
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: out has shape %s, the input has shape %s", op_name(op),
                        qg_shape_str(out->ndim, out->shape, s1, sizeof s1), qg_shape_str(a->ndim, a->shape, s2, sizeof s2));
  }
  qg_tensor *r;
  QG_TRY(qg_cpu_qbinary_scalar(op, a, c, relu, &r));
  qg_status st = store_into(out, r);
  if (st == QG_OK) st = qg_tensor_set_quantizer(out, r->quantizer);
  qg_tensor_release(r);
  return st;
}
