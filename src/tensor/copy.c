/* Copies and dtype conversion: copy_ (with broadcasting), contiguous, to_dtype. */
#include <string.h>

#include "tensor/tensor_impl.h"
#include "tensor/tensor_ops.h"

/* Elementwise dst[i] = convert(src[i]) over dst's shape; src strides already broadcast. */
static void strided_copy(qg_tensor *dst, qg_dtype sdtype, const char *sp, const int64_t *sstr) {
  int nd = dst->ndim;
  int64_t n = qg_tensor_numel(dst);
  char *dp = qg_tensor_data(dst);
  size_t des = qg_dtype_info(dst->dtype)->size, ses = qg_dtype_info(sdtype)->size;
  int same = sdtype == dst->dtype;
  int64_t idx[QG_MAX_DIMS] = {0};
  int64_t doff = 0, soff = 0;
  for (int64_t k = 0; k < n; k++) {
    char *d = dp + doff * (int64_t)des;
    const char *s = sp + soff * (int64_t)ses;
    if (same) memcpy(d, s, des);
    else qg__elem_store(dst->dtype, d, qg__elem_load(sdtype, s));
    for (int i = nd - 1; i >= 0; i--) {
      if (++idx[i] < dst->shape[i]) {
        doff += dst->strides[i];
        soff += sstr[i];
        break;
      }
      doff -= dst->strides[i] * (dst->shape[i] - 1);
      soff -= sstr[i] * (dst->shape[i] - 1);
      idx[i] = 0;
    }
  }
}

qg_status qg_tensor_copy_(qg_tensor *dst, const qg_tensor *src) {
  const qg_dtype_traits *dt = qg_dtype_info(dst->dtype), *st = qg_dtype_info(src->dtype);
  if ((dt->is_quantized || st->is_quantized) && dst->dtype != src->dtype)
    return qg_set_error(QG_STATUS_UNSUPPORTED,
                        "copy_: cannot copy a %s tensor into a %s tensor (quantize/dequantize are ops)",
                        st->name, dt->name);
  int64_t shape[QG_MAX_DIMS], sstr[QG_MAX_DIMS];
  QG_TRY(qg__expand_geometry(src, dst->ndim, dst->shape, shape, sstr));
  int64_t n = qg_tensor_numel(dst);
  if (n == 0) return QG_OK;
  for (int i = 0; i < dst->ndim; i++)
    if (dst->shape[i] > 1 && dst->strides[i] == 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "unsupported operation: more than one element of the written-to tensor refers to "
                          "a single memory location. Please clone() the tensor before performing the "
                          "operation.");
  if (src->storage == dst->storage) {
    /* Possible overlap (e.g. x.copy_(x.t())): go through a private copy of src. */
    qg_tensor *tmp;
    QG_TRY(qg_tensor_empty_like(src, &tmp));
    strided_copy(tmp, src->dtype, qg_tensor_data(src), src->strides);
    qg_status s = qg_tensor_copy_(dst, tmp);
    qg_tensor_release(tmp);
    return s;
  }
  if (dst->dtype == src->dtype && qg_tensor_is_contiguous(dst) && qg_tensor_is_contiguous(src) &&
      dst->ndim == src->ndim && memcmp(dst->shape, src->shape, (size_t)dst->ndim * sizeof *dst->shape) == 0) {
    memcpy(qg_tensor_data(dst), qg_tensor_data(src), qg_tensor_nbytes(dst));
    return QG_OK;
  }
  strided_copy(dst, src->dtype, qg_tensor_data(src), sstr);
  return QG_OK;
}

qg_status qg_tensor_contiguous(qg_tensor *t, qg_tensor **out) {
  if (qg_tensor_is_contiguous(t)) {
    qg_tensor_retain(t);
    *out = t;
    return QG_OK;
  }
  qg_tensor *c;
  QG_TRY(qg_tensor_empty_like(t, &c));
  strided_copy(c, t->dtype, qg_tensor_data(t), t->strides);
  *out = c;
  return QG_OK;
}

qg_status qg_tensor_to_dtype(const qg_tensor *t, qg_dtype dtype, qg_tensor **out) {
  if (dtype < 0 || dtype >= QG_DTYPE_COUNT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "to_dtype: unknown dtype %d", (int)dtype);
  if (dtype != t->dtype && (qg_dtype_info(dtype)->is_quantized || qg_dtype_info(t->dtype)->is_quantized))
    return qg_set_error(QG_STATUS_UNSUPPORTED, "to_dtype: cannot convert %s to %s (quantize/dequantize are ops)",
                        qg_dtype_info(t->dtype)->name, qg_dtype_info(dtype)->name);
  qg_tensor *r;
  QG_TRY(qg_tensor_create_uninit(dtype, t->ndim, t->shape, &r)); /* every element is written below */
  if (dtype == t->dtype && t->quantizer) {
    qg_quantizer_retain(t->quantizer);
    r->quantizer = t->quantizer;
  }
  if (qg_tensor_numel(t) && dtype == t->dtype && qg_tensor_is_contiguous(t))
    memcpy(qg_tensor_data(r), qg_tensor_data(t), qg_tensor_nbytes(r)); /* clones: one memcpy */
  else if (qg_tensor_numel(t))
    strided_copy(r, t->dtype, qg_tensor_data(t), t->strides);
  *out = r;
  return QG_OK;
}
