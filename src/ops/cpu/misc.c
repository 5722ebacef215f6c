/* Small kernels for the interpreter's aten ops (misc.h). Each converts its operands to one
 * computation dtype (f64 for floating results, i64 for integral ones: both hold every value of
 * the narrower dtypes exactly) and walks the broadcast shape with qg__pw_iter. */
#include "ops/cpu/misc.h"

#include <math.h>
#include <string.h>

#include "ops/cpu/pointwise_common.h"

/* t converted to `common` (PyTorch's rounding of the operand), then to the computation dtype
 * (f64 or i64, exact). */
static qg_status to_compute(qg_tensor *t, qg_dtype common, qg_dtype compute, qg_tensor **out) {
  qg_tensor *c = NULL;
  QG_TRY(qg__pw_dense(t, common, &c));
  qg_status st = qg__pw_dense(c, compute, out);
  qg_tensor_release(c);
  return st;
}

static qg_status check_plain(const char *op, const qg_tensor *t) {
  if (qg_dtype_info(t->dtype)->is_quantized)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: quantized tensors (%s) are not supported", op,
                        qg_dtype_info(t->dtype)->name);
  return QG_OK;
}

static int cmp_d(qg_cmp_op op, double x, double y) {
  switch (op) {
    case QG_CMP_EQ: return x == y;
    case QG_CMP_NE: return x != y;
    case QG_CMP_LT: return x < y;
    case QG_CMP_GT: return x > y;
    case QG_CMP_LE: return x <= y;
    case QG_CMP_GE: return x >= y;
  }
  return 0;
}

static int cmp_i(qg_cmp_op op, int64_t x, int64_t y) {
  switch (op) {
    case QG_CMP_EQ: return x == y;
    case QG_CMP_NE: return x != y;
    case QG_CMP_LT: return x < y;
    case QG_CMP_GT: return x > y;
    case QG_CMP_LE: return x <= y;
    case QG_CMP_GE: return x >= y;
  }
  return 0;
}

static const char *cmp_name(qg_cmp_op op) {
  static const char *names[] = {"eq", "ne", "lt", "gt", "le", "ge"};
  return names[op];
}

static qg_status compare_common(qg_cmp_op op, qg_tensor *a, qg_tensor *b, qg_dtype common, qg_tensor **out) {
  int ndim;
  int64_t shape[QG_MAX_DIMS];
  QG_TRY(qg_broadcast_shapes(a->ndim, a->shape, b->ndim, b->shape, &ndim, shape));
  int is_f = qg__pw_is_float(common);
  qg_dtype compute = is_f ? QG_DTYPE_F64 : QG_DTYPE_I64;
  qg_tensor *ca = NULL, *cb = NULL, *y = NULL;
  qg_status st = to_compute(a, common, compute, &ca);
  if (st == QG_OK) st = to_compute(b, common, compute, &cb);
  if (st == QG_OK) st = qg_tensor_create(QG_DTYPE_BOOL, ndim, shape, &y);
  if (st == QG_OK) {
    int64_t n = qg_tensor_numel(y);
    const qg_tensor *ops[2] = {ca, cb};
    qg__pw_iter it;
    qg__pw_iter_init(&it, ndim, shape, 2, ops);
    uint8_t *py = qg_tensor_data(y);
    if (is_f) {
      const double *pa = qg_tensor_data(ca), *pb = qg_tensor_data(cb);
      for (int64_t i = 0; i < n; i++, qg__pw_iter_next(&it)) py[i] = (uint8_t)cmp_d(op, pa[it.off[0]], pb[it.off[1]]);
    } else {
      const int64_t *pa = qg_tensor_data(ca), *pb = qg_tensor_data(cb);
      for (int64_t i = 0; i < n; i++, qg__pw_iter_next(&it)) py[i] = (uint8_t)cmp_i(op, pa[it.off[0]], pb[it.off[1]]);
    }
  }
  qg_tensor_release(ca);
  qg_tensor_release(cb);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_compare(qg_cmp_op op, qg_tensor *a, qg_tensor *b, qg_tensor **out) {
  QG_TRY(check_plain(cmp_name(op), a));
  QG_TRY(check_plain(cmp_name(op), b));
  return compare_common(op, a, b, qg_cpu_result_type(a, b, 0), out);
}

/* A wrapped Python number as a 0-dim tensor: i64 for ints, f64 for floats. */
static qg_status scalar_tensor(qg_scalar s, qg_tensor **out) {
  if (s.is_float) return qg_tensor_scalar(QG_DTYPE_F64, s.f, out);
  qg_tensor *t;
  QG_TRY(qg_tensor_create(QG_DTYPE_I64, 0, NULL, &t));
  *(int64_t *)qg_tensor_data(t) = s.i; /* exact even beyond 2^53 */
  *out = t;
  return QG_OK;
}

qg_status qg_cpu_compare_scalar(qg_cmp_op op, qg_tensor *a, qg_scalar b, qg_tensor **out) {
  QG_TRY(check_plain(cmp_name(op), a));
  qg_tensor *s;
  QG_TRY(scalar_tensor(b, &s));
  qg_status st = compare_common(op, a, s, qg_cpu_result_type(a, s, 1), out);
  qg_tensor_release(s);
  return st;
}

qg_status qg_cpu_neg(qg_tensor *x, qg_tensor **out) {
  QG_TRY(check_plain("neg", x));
  if (x->dtype == QG_DTYPE_BOOL)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                        "to invert a mask, use the `~` or `logical_not()` operator instead.");
  if (x->dtype == QG_DTYPE_F16 || x->dtype == QG_DTYPE_BF16)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "neg: %s tensors are not supported", qg_dtype_info(x->dtype)->name);
  /* Multiplying by -1 is exact negation for floats (sign of zero and NaN payloads included) and
   * two's-complement negation for integers, in x's own dtype. */
  return qg_cpu_mul_scalar(x, qg_scalar_int(-1), out);
}

qg_status qg_cpu_logical_or(qg_tensor *a, qg_tensor *b, qg_tensor **out) {
  QG_TRY(check_plain("logical_or", a));
  QG_TRY(check_plain("logical_or", b));
  int ndim;
  int64_t shape[QG_MAX_DIMS];
  QG_TRY(qg_broadcast_shapes(a->ndim, a->shape, b->ndim, b->shape, &ndim, shape));
  qg_tensor *ca = NULL, *cb = NULL, *y = NULL;
  /* To bool first: "!= 0" is exactly what the conversion computes (NaN is true). */
  qg_status st = qg__pw_dense(a, QG_DTYPE_BOOL, &ca);
  if (st == QG_OK) st = qg__pw_dense(b, QG_DTYPE_BOOL, &cb);
  if (st == QG_OK) st = qg_tensor_create(QG_DTYPE_BOOL, ndim, shape, &y);
  if (st == QG_OK) {
    int64_t n = qg_tensor_numel(y);
    const qg_tensor *ops[2] = {ca, cb};
    qg__pw_iter it;
    qg__pw_iter_init(&it, ndim, shape, 2, ops);
    const uint8_t *pa = qg_tensor_data(ca), *pb = qg_tensor_data(cb);
    uint8_t *py = qg_tensor_data(y);
    for (int64_t i = 0; i < n; i++, qg__pw_iter_next(&it)) py[i] = (uint8_t)(pa[it.off[0]] | pb[it.off[1]]);
  }
  qg_tensor_release(ca);
  qg_tensor_release(cb);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_tensor_to_scalar(const qg_tensor *t, qg_scalar *out) {
  int64_t n = qg_tensor_numel(t);
  if (n != 1)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "a Tensor with %lld elements cannot be converted to Scalar",
                        (long long)n);
  if (qg_dtype_info(t->dtype)->is_quantized)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "item: quantized tensors are not supported");
  if (qg__pw_is_float(t->dtype)) {
    *out = qg_scalar_float(qg_tensor_get_flat(t, 0));
  } else if (t->dtype == QG_DTYPE_I64) {
    *out = qg_scalar_int(*(const int64_t *)qg_tensor_data(t)); /* exact beyond 2^53 */
  } else {
    *out = qg_scalar_int((int64_t)qg_tensor_get_flat(t, 0));
  }
  return QG_OK;
}

/* A 0-dim tensor of dtype holding v converted as PyTorch converts a Scalar to that dtype. */
static qg_status scalar_as(qg_scalar v, qg_dtype dtype, qg_tensor **out) {
  qg_tensor *s;
  QG_TRY(scalar_tensor(v, &s));
  qg_status st = qg_tensor_to_dtype(s, dtype, out);
  qg_tensor_release(s);
  return st;
}

/* mask must broadcast to x's shape exactly (the result keeps x's shape). */
static qg_status masked_fill_into(qg_tensor *dst, qg_tensor *mask, qg_scalar value) {
  if (mask->dtype != QG_DTYPE_BOOL)
    return qg_set_error(QG_STATUS_TYPE, "masked_fill_ only supports boolean masks, but got mask with dtype %s",
                        qg__pw_dtype_name(mask->dtype));
  int ndim;
  int64_t shape[QG_MAX_DIMS];
  QG_TRY(qg_broadcast_shapes(dst->ndim, dst->shape, mask->ndim, mask->shape, &ndim, shape));
  if (ndim != dst->ndim || memcmp(shape, dst->shape, sizeof(int64_t) * (size_t)ndim) != 0) {
    char b1[QG_SHAPE_STR_MAX], b2[QG_SHAPE_STR_MAX];
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "masked_fill: mask of shape %s does not broadcast to %s",
                        qg_shape_str(mask->ndim, mask->shape, b1, QG_SHAPE_STR_MAX), qg_shape_str(dst->ndim, dst->shape, b2, QG_SHAPE_STR_MAX));
  }
  qg_tensor *v = NULL, *m = NULL;
  qg_status st = scalar_as(value, dst->dtype, &v);
  if (st == QG_OK) st = qg__pw_dense(mask, QG_DTYPE_BOOL, &m);
  if (st == QG_OK) {
    /* Byte-wise copy of the converted value into each selected element of dst (any strides). */
    size_t es = qg_dtype_info(dst->dtype)->size;
    const char *pv = qg_tensor_data(v);
    const uint8_t *pm = qg_tensor_data(m);
    char *pd = qg_tensor_data(dst);
    int64_t n = qg_tensor_numel(dst);
    const qg_tensor *ops[2] = {dst, m};
    qg__pw_iter it;
    qg__pw_iter_init(&it, ndim, shape, 2, ops);
    for (int64_t i = 0; i < n; i++, qg__pw_iter_next(&it))
      if (pm[it.off[1]]) memcpy(pd + it.off[0] * (int64_t)es, pv, es);
  }
  qg_tensor_release(v);
  qg_tensor_release(m);
  return st;
}

qg_status qg_cpu_masked_fill_(qg_tensor *x, qg_tensor *mask, qg_scalar value) {
  QG_TRY(check_plain("masked_fill_", x));
  if (x->dtype == QG_DTYPE_QUINT4X2) return qg_set_error(QG_STATUS_UNSUPPORTED, "masked_fill_: quint4x2");
  return masked_fill_into(x, mask, value);
}

qg_status qg_cpu_masked_fill(qg_tensor *x, qg_tensor *mask, qg_scalar value, qg_tensor **out) {
  QG_TRY(check_plain("masked_fill", x));
  qg_tensor *y;
  QG_TRY(qg_tensor_to_dtype(x, x->dtype, &y)); /* a contiguous copy */
  qg_status st = masked_fill_into(y, mask, value);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_fill_(qg_tensor *x, qg_scalar v) {
  QG_TRY(check_plain("fill_", x));
  qg_tensor *s;
  QG_TRY(scalar_as(v, x->dtype, &s));
  qg_status st = qg_tensor_copy_(x, s);
  qg_tensor_release(s);
  return st;
}

qg_status qg_cpu_full(int ndim, const int64_t *shape, qg_scalar v, qg_dtype dtype, qg_tensor **out) {
  for (int d = 0; d < ndim; d++)
    if (shape[d] < 0) {
      char b[QG_SHAPE_STR_MAX];
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Trying to create tensor with negative dimension %lld: %s",
                          (long long)shape[d], qg_shape_str(ndim, shape, b, QG_SHAPE_STR_MAX));
    }
  if (qg_dtype_info(dtype)->is_quantized)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "full: quantized dtype %s", qg_dtype_info(dtype)->name);
  qg_tensor *y;
  QG_TRY(qg_tensor_create(dtype, ndim, shape, &y));
  if (v.is_float ? v.f != 0.0 || signbit(v.f) : v.i != 0) { /* storage starts zeroed */
    qg_status st = qg_cpu_fill_(y, v);
    if (st != QG_OK) {
      qg_tensor_release(y);
      return st;
    }
  }
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_arange(double start, double end, double step, qg_dtype dtype, qg_tensor **out) {
  if (step == 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "arange: step must be nonzero");
  if (!isfinite(start) || !isfinite(end))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "arange: unsupported range: %g -> %g", start, end);
  if ((step > 0 && end < start) || (step < 0 && end > start))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "arange: upper bound and larger bound inconsistent with step sign");
  if (qg_dtype_info(dtype)->is_quantized || dtype == QG_DTYPE_BOOL)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "arange: unsupported dtype %s", qg_dtype_info(dtype)->name);
  double size_d = ceil((end - start) / step);
  if (size_d > 1e12) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "arange: %g elements is too many", size_d);
  int64_t n = (int64_t)size_d;
  qg_tensor *y;
  QG_TRY(qg_tensor_create(dtype, 1, &n, &y));
  for (int64_t i = 0; i < n; i++) qg_tensor_set_flat(y, i, start + (double)i * step);
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_repeat(qg_tensor *x, const int64_t *repeats, int nrep, qg_tensor **out) {
  QG_TRY(check_plain("repeat", x));
  if (nrep < x->ndim)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
  if (nrep > QG_MAX_DIMS) return qg_set_error(QG_STATUS_UNSUPPORTED, "repeat: more than %d dims", QG_MAX_DIMS);
  int64_t shape[QG_MAX_DIMS], src_shape[QG_MAX_DIMS];
  int lead = nrep - x->ndim;
  for (int d = 0; d < nrep; d++) {
    if (repeats[d] < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "repeat: repeats must be non-negative, got %lld",
                          (long long)repeats[d]);
    src_shape[d] = d < lead ? 1 : x->shape[d - lead];
    shape[d] = src_shape[d] * repeats[d];
  }
  qg_tensor *y;
  QG_TRY(qg_tensor_create(x->dtype, nrep, shape, &y));
  int64_t n = qg_tensor_numel(y);
  size_t es = qg_dtype_info(x->dtype)->size;
  char *py = qg_tensor_data(y);
  const char *px = qg_tensor_data(x);
  int64_t idx[QG_MAX_DIMS] = {0};
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0; /* element offset in x of the source of output element idx */
    for (int d = lead; d < nrep; d++) off += (idx[d] % src_shape[d]) * x->strides[d - lead];
    memcpy(py + i * (int64_t)es, px + off * (int64_t)es, es);
    for (int d = nrep - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_pad_constant(qg_tensor *x, const int64_t *pad, int npad, double value, qg_tensor **out) {
  QG_TRY(check_plain("pad", x));
  if (npad % 2 != 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Padding length must be divisible by 2");
  if (npad / 2 > x->ndim)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Padding length too large");
  int64_t shape[QG_MAX_DIMS], lo[QG_MAX_DIMS] = {0};
  for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[d];
  for (int k = 0; k < npad / 2; k++) {
    int d = x->ndim - 1 - k;
    lo[d] = pad[2 * k];
    shape[d] = x->shape[d] + pad[2 * k] + pad[2 * k + 1];
    if (shape[d] < 0) {
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "The input size %lld, plus negative padding %lld and %lld resulted in a negative output "
                          "size, which is invalid. Check dimension %d of your input.",
                          (long long)x->shape[d], (long long)pad[2 * k], (long long)pad[2 * k + 1], d);
    }
  }
  qg_tensor *y;
  QG_TRY(qg_tensor_create(x->dtype, x->ndim, shape, &y));
  qg_status st = QG_OK;
  if (value != 0) st = qg_cpu_fill_(y, qg_scalar_float(value));
  /* The overlap of x (shifted by lo) and y: slice both and copy. */
  qg_tensor *src = NULL, *dst = NULL;
  qg_tensor_retain(x);
  qg_tensor_retain(y);
  src = x;
  dst = y;
  for (int d = 0; d < x->ndim && st == QG_OK; d++) {
    int64_t s0 = lo[d] < 0 ? -lo[d] : 0;                 /* first source index kept */
    int64_t d0 = lo[d] > 0 ? lo[d] : 0;                  /* where it lands */
    int64_t len = x->shape[d] - s0;
    if (d0 + len > shape[d]) len = shape[d] - d0;
    if (len < 0) len = 0;
    qg_tensor *t;
    st = qg_tensor_slice(src, d, s0, s0 + len, 1, &t);
    if (st == QG_OK) {
      qg_tensor_release(src);
      src = t;
      st = qg_tensor_slice(dst, d, d0, d0 + len, 1, &t);
    }
    if (st == QG_OK) {
      qg_tensor_release(dst);
      dst = t;
    }
  }
  if (st == QG_OK && qg_tensor_numel(src) > 0) st = qg_tensor_copy_(dst, src);
  qg_tensor_release(src);
  qg_tensor_release(dst);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}
