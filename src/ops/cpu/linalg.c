/* Matrix products on top of qg__gemm (see linalg.h). */
#include "ops/cpu/linalg.h"

#include <string.h>

#include "ops/cpu/gemm.h"
#include "ops/cpu/linalg_common.h"

static qg_status mm_mismatch(int64_t n, int64_t k, int64_t kb, int64_t m) {
  return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                      "mat1 and mat2 shapes cannot be multiplied (%lldx%lld and %lldx%lld)",
                      (long long)n, (long long)k, (long long)kb, (long long)m);
}

/* Contiguous copies of a and b after the dtype checks every product shares. */
static qg_status prepare2(const char *op, qg_tensor *a, qg_tensor *b, qg_tensor **ac,
                          qg_tensor **bc) {
  *ac = *bc = NULL;
  QG_TRY(qg__check_float(op, "input", a));
  QG_TRY(qg__check_same_dtype(op, "self", a, "mat2", b));
  QG_TRY(qg_tensor_contiguous(a, ac));
  qg_status st = qg_tensor_contiguous(b, bc);
  if (st != QG_OK) {
    qg_tensor_release(*ac);
    *ac = NULL;
  }
  return st;
}

/* y[batch] = a[batch'] @ b[batch''] for contiguous a ([abatch..., n, k]), b ([bbatch..., k,
 * m]) whose batch dims broadcast to bat[0..nd). Batch dims of size 1 or missing repeat. */
static qg_status batched_gemm(const char *op, qg_dtype dt, const qg_tensor *a, int anb,
                              const qg_tensor *b, int bnb, int nd, const int64_t *bat, int64_t n,
                              int64_t k, int64_t m, void *y) {
  const size_t es = qg_dtype_info(dt)->size;
  int64_t astr[QG_MAX_DIMS], bstr[QG_MAX_DIMS], total = 1;
  int64_t as = 1, bs = 1; /* stride in matrices of the current dim, innermost first */
  int a_full = anb == nd, b_none = 1;
  for (int i = nd - 1; i >= 0; i--) {
    int ai = i - (nd - anb), bi = i - (nd - bnb);
    int64_t asz = ai >= 0 ? a->shape[ai] : 1, bsz = bi >= 0 ? b->shape[bi] : 1;
    astr[i] = asz == 1 ? 0 : as;
    bstr[i] = bsz == 1 ? 0 : bs;
    if (asz != bat[i]) a_full = 0;
    if (bstr[i] != 0) b_none = 0;
    as *= asz;
    bs *= bsz;
    total *= bat[i];
  }
  const char *ad = qg_tensor_data(a), *bd = qg_tensor_data(b);
  if (total == 0 || n == 0 || m == 0) return QG_OK;
  /* A stack of matrices times one matrix: a single GEMM over all rows keeps BLAS busy. */
  if (a_full && b_none)
    return qg__gemm(op, dt, 0, 0, total * n, m, k, 1.0, ad, k, bd, m, 0.0, y, m);
  int64_t idx[QG_MAX_DIMS] = {0};
  for (int64_t t = 0; t < total; t++) {
    int64_t ao = 0, bo = 0;
    for (int i = 0; i < nd; i++) {
      ao += idx[i] * astr[i];
      bo += idx[i] * bstr[i];
    }
    QG_TRY(qg__gemm(op, dt, 0, 0, n, m, k, 1.0, ad + (size_t)(ao * n * k) * es, k,
                    bd + (size_t)(bo * k * m) * es, m, 0.0, (char *)y + (size_t)(t * n * m) * es,
                    m));
    for (int i = nd - 1; i >= 0; i--) {
      if (++idx[i] < bat[i]) break;
      idx[i] = 0;
    }
  }
  return QG_OK;
}

qg_status qg_cpu_matmul(qg_tensor *a, qg_tensor *b, qg_tensor **out) {
  *out = NULL;
  const int da = a->ndim, db = b->ndim;
  if (da == 0 || db == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "both arguments to matmul need to be at least 1D, but they are %dD and %dD",
                        da, db);
  QG_TRY(qg__check_float("matmul", "input", a));
  QG_TRY(qg__check_same_dtype("matmul", "self", a, "other", b));
  const int64_t n = da >= 2 ? a->shape[da - 2] : 1, k = a->shape[da - 1];
  const int64_t kb = db >= 2 ? b->shape[db - 2] : b->shape[0], m = db >= 2 ? b->shape[db - 1] : 1;
  if (k != kb) {
    if (da == 1 && db == 1)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "inconsistent tensor size, expected tensor [%lld] and src [%lld] to have "
                          "the same number of elements, but got %lld and %lld elements respectively",
                          (long long)k, (long long)kb, (long long)k, (long long)kb);
    if (da == 2 && db == 1)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "size mismatch, got %lld, %lldx%lld,%lld",
                          (long long)n, (long long)n, (long long)k, (long long)kb);
    if (db <= 2) {
      int64_t rows = n;
      for (int i = 0; i < da - 2; i++) rows *= a->shape[i];
      return mm_mismatch(rows, k, kb, m);
    }
    return mm_mismatch(n, k, kb, m);
  }
  const int anb = da > 2 ? da - 2 : 0, bnb = db > 2 ? db - 2 : 0;
  int nd = 0;
  int64_t shape[QG_MAX_DIMS + 2];
  QG_TRY(qg_broadcast_shapes(anb, a->shape, bnb, b->shape, &nd, shape));
  int64_t bat[QG_MAX_DIMS];
  memcpy(bat, shape, sizeof(int64_t) * (size_t)nd);
  int ond = nd;
  if (da >= 2) shape[ond++] = n;
  if (db >= 2) shape[ond++] = m;
  if (ond > QG_MAX_DIMS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "matmul: result has more than %d dims",
                        QG_MAX_DIMS);

  qg_tensor *ac, *bc, *y = NULL;
  QG_TRY(prepare2("matmul", a, b, &ac, &bc));
  qg_status st = qg_tensor_create(a->dtype, ond, shape, &y);
  if (st == QG_OK)
    st = batched_gemm("matmul", a->dtype, ac, anb, bc, bnb, nd, bat, n, k, m, qg_tensor_data(y));
  qg_tensor_release(ac);
  qg_tensor_release(bc);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_mm(qg_tensor *a, qg_tensor *b, qg_tensor **out) {
  *out = NULL;
  if (a->ndim != 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "self must be a matrix");
  if (b->ndim != 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "mat2 must be a matrix");
  if (a->shape[1] != b->shape[0]) return mm_mismatch(a->shape[0], a->shape[1], b->shape[0], b->shape[1]);
  return qg_cpu_matmul(a, b, out);
}

qg_status qg_cpu_bmm(qg_tensor *a, qg_tensor *b, qg_tensor **out) {
  *out = NULL;
  if (a->ndim != 3) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "batch1 must be a 3D tensor");
  if (b->ndim != 3) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "batch2 must be a 3D tensor");
  if (b->shape[0] != a->shape[0] || b->shape[1] != a->shape[2])
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Expected size for first two dimensions of batch2 tensor to be: [%lld, "
                        "%lld] but got: [%lld, %lld].",
                        (long long)a->shape[0], (long long)a->shape[2], (long long)b->shape[0],
                        (long long)b->shape[1]);
  return qg_cpu_matmul(a, b, out);
}

/* Fills the [rows, cols] matrix y with src broadcast from its (<= 2-D, contiguous) shape. */
static void fill_broadcast(qg_dtype dt, void *y, int64_t rows, int64_t cols, const qg_tensor *src) {
  int is64 = dt == QG_DTYPE_F64;
  const void *s = qg_tensor_data(src);
  int64_t sr = src->ndim == 2 ? src->shape[0] : 1;
  int64_t sc = src->ndim >= 1 ? src->shape[src->ndim - 1] : 1;
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++)
      qg__st(y, is64, i * cols + j, qg__ld(s, is64, (sr == 1 ? 0 : i) * sc + (sc == 1 ? 0 : j)));
}

/* PyTorch's expand message when self cannot broadcast to [rows, cols]. */
static qg_status check_expand(const qg_tensor *self, int64_t rows, int64_t cols) {
  char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX];
  int64_t target[2] = {rows, cols};
  if (self->ndim > 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "addmm: the number of sizes provided (2) must be greater or equal to the "
                        "number of dimensions in the tensor (%d)",
                        self->ndim);
  for (int i = 0; i < self->ndim; i++) {
    int d = 2 - self->ndim + i;
    if (self->shape[i] != 1 && self->shape[i] != target[d])
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "The expanded size of the tensor (%lld) must match the existing size "
                          "(%lld) at non-singleton dimension %d.  Target sizes: %s.  Tensor "
                          "sizes: %s",
                          (long long)target[d], (long long)self->shape[i], d,
                          qg_shape_str(2, target, s1, QG_SHAPE_STR_MAX),
                          qg_shape_str(self->ndim, self->shape, s2, QG_SHAPE_STR_MAX));
  }
  return QG_OK;
}

qg_status qg_cpu_addmm(qg_tensor *self, qg_tensor *mat1, qg_tensor *mat2, double beta,
                       double alpha, qg_tensor **out) {
  *out = NULL;
  if (mat1->ndim != 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "mat1 must be a matrix, got %d-D tensor",
                        mat1->ndim);
  if (mat2->ndim != 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "mat2 must be a matrix, got %d-D tensor",
                        mat2->ndim);
  const int64_t n = mat1->shape[0], k = mat1->shape[1], m = mat2->shape[1];
  if (mat2->shape[0] != k) return mm_mismatch(n, k, mat2->shape[0], m);
  QG_TRY(qg__check_float("addmm", "input", mat1));
  QG_TRY(qg__check_same_dtype("addmm", "mat1", mat1, "mat2", mat2));
  QG_TRY(qg__check_same_dtype("addmm", "mat1", mat1, "self", self));
  QG_TRY(check_expand(self, n, m));

  qg_tensor *ac, *bc, *sc = NULL, *y = NULL;
  QG_TRY(prepare2("addmm", mat1, mat2, &ac, &bc));
  int64_t shape[2] = {n, m};
  qg_status st = qg_tensor_create(mat1->dtype, 2, shape, &y);
  if (st == QG_OK && beta != 0) st = qg_tensor_contiguous(self, &sc);
  if (st == QG_OK && beta != 0) fill_broadcast(mat1->dtype, qg_tensor_data(y), n, m, sc);
  if (st == QG_OK)
    st = qg__gemm("addmm", mat1->dtype, 0, 0, n, m, k, alpha, qg_tensor_data(ac), k,
                  qg_tensor_data(bc), m, beta, qg_tensor_data(y), m);
  qg_tensor_release(ac);
  qg_tensor_release(bc);
  qg_tensor_release(sc);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_linear(qg_tensor *input, qg_tensor *weight, qg_tensor *bias, qg_tensor **out) {
  *out = NULL;
  char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX];
  if (input->ndim == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "linear: both arguments to matmul need to be at least 1D, but they are 0D "
                        "and %dD", weight->ndim);
  if (weight->ndim != 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "linear: expected a 2-D weight, got size %s",
                        qg_shape_str(weight->ndim, weight->shape, s1, QG_SHAPE_STR_MAX));
  const int64_t in = input->shape[input->ndim - 1], on = weight->shape[0];
  int64_t rows = 1;
  for (int i = 0; i < input->ndim - 1; i++) rows *= input->shape[i];
  if (weight->shape[1] != in) return mm_mismatch(rows, in, weight->shape[1], on);
  QG_TRY(qg__check_float("linear", "input", input));
  QG_TRY(qg__check_same_dtype("linear", "input", input, "weight", weight));
  if (bias) {
    QG_TRY(qg__check_same_dtype("linear", "input", input, "bias", bias));
    int ok = bias->ndim <= 1 && (qg_tensor_numel(bias) == on || qg_tensor_numel(bias) == 1);
    if (!ok)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "linear: bias of size %s does not match weight of size %s",
                          qg_shape_str(bias->ndim, bias->shape, s1, QG_SHAPE_STR_MAX),
                          qg_shape_str(weight->ndim, weight->shape, s2, QG_SHAPE_STR_MAX));
  }
  int64_t shape[QG_MAX_DIMS];
  memcpy(shape, input->shape, sizeof(int64_t) * (size_t)input->ndim);
  shape[input->ndim - 1] = on;

  qg_tensor *xc, *wc, *bc = NULL, *y = NULL;
  QG_TRY(prepare2("linear", input, weight, &xc, &wc));
  qg_status st = qg_tensor_create(input->dtype, input->ndim, shape, &y);
  if (st == QG_OK && bias) st = qg_tensor_contiguous(bias, &bc);
  if (st == QG_OK && bias) fill_broadcast(input->dtype, qg_tensor_data(y), rows, on, bc);
  if (st == QG_OK)
    st = qg__gemm("linear", input->dtype, 0, 1, rows, on, in, 1.0, qg_tensor_data(xc), in,
                  qg_tensor_data(wc), in, bias ? 1.0 : 0.0, qg_tensor_data(y), on);
  qg_tensor_release(xc);
  qg_tensor_release(wc);
  qg_tensor_release(bc);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_t(qg_tensor *t, qg_tensor **out) {
  *out = NULL;
  if (t->ndim > 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "t() expects a tensor with <= 2 dimensions, but self is %dD", t->ndim);
  if (qg_dtype_info(t->dtype)->is_quantized)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "t: quantized tensors are not supported");
  int64_t shape[2] = {1, 1}, str[2] = {0, 0};
  for (int i = 0; i < t->ndim; i++) {
    shape[i] = t->shape[i];
    str[i] = t->strides[i];
  }
  int64_t oshape[2] = {t->ndim == 2 ? shape[1] : shape[0], shape[0]};
  qg_tensor *y;
  QG_TRY(qg_tensor_create(t->dtype, t->ndim, t->ndim == 2 ? oshape : shape, &y));
  const size_t es = qg_dtype_info(t->dtype)->size;
  const char *src = qg_tensor_data(t);
  char *dst = qg_tensor_data(y);
  int64_t r = shape[0], c = t->ndim == 2 ? shape[1] : 1;
  /* y[j, i] = t[i, j]; 0-D and 1-D tensors copy straight through. */
  for (int64_t j = 0; j < c && dst; j++)
    for (int64_t i = 0; i < r; i++) {
      int64_t di = t->ndim == 2 ? j * r + i : i;
      memcpy(dst + (size_t)di * es, src + (size_t)(i * str[0] + j * str[1]) * es, es);
    }
  *out = y;
  return QG_OK;
}
