/* Helpers shared by the pointwise-family CPU kernels (see pointwise_common.h). */
#include "ops/cpu/pointwise_common.h"

#include <stdio.h>
#include <string.h>

void qg__pw_bcast_strides(const qg_tensor *t, int ndim, const int64_t *shape, int64_t *strides) {
  int lead = ndim - t->ndim;
  for (int d = 0; d < ndim; d++) {
    int td = d - lead;
    strides[d] = (td < 0 || (t->shape[td] == 1 && shape[d] != 1)) ? 0 : t->strides[td];
  }
}

void qg__pw_iter_init(qg__pw_iter *it, int ndim, const int64_t *shape, int nops,
                      const qg_tensor *const *ops) {
  QG_ASSERT(nops <= QG__PW_MAX_OPS && ndim <= QG_MAX_DIMS);
  memset(it, 0, sizeof(*it));
  it->ndim = ndim;
  it->nops = nops;
  memcpy(it->shape, shape, sizeof(int64_t) * (size_t)ndim);
  for (int o = 0; o < nops; o++) {
    if (ops[o]) {
      qg__pw_bcast_strides(ops[o], ndim, shape, it->strides[o]);
    } else {
      int64_t s = 1;
      for (int d = ndim - 1; d >= 0; d--) {
        it->strides[o][d] = s;
        s *= shape[d];
      }
    }
  }
}

qg_status qg__pw_wrap_dim(const char *op, int64_t dim, int ndim, int *out) {
  int64_t n = ndim > 0 ? ndim : 1;
  if (dim < -n || dim >= n)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Dimension out of range (expected to be in range of [%lld, %lld], but "
                        "got %lld)",
                        op, (long long)-n, (long long)(n - 1), (long long)dim);
  *out = (int)(dim < 0 ? dim + n : dim);
  if (ndim == 0) *out = 0;
  return QG_OK;
}

qg_status qg__pw_dim_mask(const char *op, const int64_t *dims, int ndims, int ndim, int *mask) {
  for (int d = 0; d < ndim; d++) mask[d] = ndims == 0;
  for (int i = 0; i < ndims; i++) {
    int d;
    QG_TRY(qg__pw_wrap_dim(op, dims[i], ndim, &d));
    if (ndim == 0) continue; /* a 0-dim tensor: dim 0/-1 reduce "everything", i.e. nothing */
    if (mask[d])
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: dim %d appears multiple times in the list of dims", op, d);
    mask[d] = 1;
  }
  return QG_OK;
}

const char *qg__pw_dtype_name(qg_dtype d) {
  switch (d) {
    case QG_DTYPE_U8: return "Byte";
    case QG_DTYPE_I8: return "Char";
    case QG_DTYPE_I16: return "Short";
    case QG_DTYPE_I32: return "Int";
    case QG_DTYPE_I64: return "Long";
    case QG_DTYPE_F16: return "Half";
    case QG_DTYPE_F32: return "Float";
    case QG_DTYPE_F64: return "Double";
    case QG_DTYPE_BOOL: return "Bool";
    case QG_DTYPE_BF16: return "BFloat16";
    default: return qg_dtype_info(d)->ir_name;
  }
}

/* Category rank for promotion: bool < 8-bit ints < i16 < i32 < i64 < 16-bit floats < f32 < f64. */
static int rank(qg_dtype d) {
  switch (d) {
    case QG_DTYPE_BOOL: return 0;
    case QG_DTYPE_U8:
    case QG_DTYPE_I8: return 1;
    case QG_DTYPE_I16: return 2;
    case QG_DTYPE_I32: return 3;
    case QG_DTYPE_I64: return 4;
    case QG_DTYPE_F16:
    case QG_DTYPE_BF16: return 5;
    case QG_DTYPE_F32: return 6;
    default: return 7;
  }
}

qg_dtype qg__pw_promote(qg_dtype a, qg_dtype b) {
  if (a == b) return a;
  int ra = rank(a), rb = rank(b);
  if (ra == rb) return ra == 1 ? QG_DTYPE_I16 : QG_DTYPE_F32; /* u8+i8 -> i16, f16+bf16 -> f32 */
  return ra > rb ? a : b;
}

qg_status qg__pw_dense(qg_tensor *t, qg_dtype dtype, qg_tensor **out) {
  if (t->dtype == dtype) return qg_tensor_contiguous(t, out);
  return qg_tensor_to_dtype(t, dtype, out);
}

qg_status qg__pw_check_float(const char *op, const char *what, const qg_tensor *t) {
  if (t->dtype == QG_DTYPE_F32 || t->dtype == QG_DTYPE_F64) return QG_OK;
  return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: expected a float32 or float64 %s, got %s", op,
                      what, qg_dtype_info(t->dtype)->name);
}
