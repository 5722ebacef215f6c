/* Tensor creation helpers on top of qg_tensor_create, and the shared alias (view header). */
#include <string.h>

#include "base/alloc.h"
#include "tensor/tensor_impl.h"
#include "tensor/tensor_ops.h"

qg_status qg__tensor_alias(const qg_tensor *t, qg_tensor **out) {
  qg_tensor *v = qg__malloc(sizeof *v);
  if (!v) return qg_oom("a tensor view");
  *v = *t;
  v->refcount = 1;
  if (v->storage) v->storage->refcount++;
  if (v->quantizer) qg_quantizer_retain(v->quantizer);
  *out = v;
  return QG_OK;
}

qg_status qg_tensor_empty_like(const qg_tensor *t, qg_tensor **out) {
  qg_tensor *r;
  QG_TRY(qg_tensor_create(t->dtype, t->ndim, t->shape, &r));
  if (t->quantizer) {
    qg_quantizer_retain(t->quantizer);
    r->quantizer = t->quantizer;
  }
  *out = r;
  return QG_OK;
}

qg_status qg_tensor_scalar(qg_dtype dtype, double v, qg_tensor **out) {
  if (dtype < 0 || dtype >= QG_DTYPE_COUNT || qg_dtype_info(dtype)->is_quantized)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "scalar tensor: unsupported dtype %d", (int)dtype);
  qg_tensor *t;
  QG_TRY(qg_tensor_create(dtype, 0, NULL, &t));
  qg_tensor_set_flat(t, 0, v);
  *out = t;
  return QG_OK;
}

qg_status qg_tensor_from_data(qg_dtype dtype, int ndim, const int64_t *shape, const void *data,
                              qg_tensor **out) {
  if (dtype < 0 || dtype >= QG_DTYPE_COUNT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "from_data: unknown dtype %d", (int)dtype);
  qg_tensor *t;
  QG_TRY(qg_tensor_create(dtype, ndim, shape, &t));
  size_t n = qg_tensor_nbytes(t);
  if (n) {
    if (!data) {
      qg_tensor_release(t);
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "from_data: data is NULL for %zu bytes", n);
    }
    memcpy(qg_tensor_data(t), data, n);
  }
  *out = t;
  return QG_OK;
}
