/* Slow, simple element access by flat (row-major logical) index, for tests and slow paths. */
#include "tensor/tensor_impl.h"
#include "tensor/tensor_ops.h"

/* Element offset (in elements, relative to t->offset) of flat logical index i. */
static int64_t flat_to_offset(const qg_tensor *t, int64_t i) {
  int64_t off = 0;
  for (int d = t->ndim - 1; d >= 0; d--) {
    int64_t n = t->shape[d];
    off += (i % n) * t->strides[d];
    i /= n;
  }
  return off;
}

static char *elem_ptr(const qg_tensor *t, int64_t i) {
  QG_ASSERT(i >= 0 && i < qg_tensor_numel(t));
  return (char *)qg_tensor_data(t) + flat_to_offset(t, i) * (int64_t)qg_dtype_info(t->dtype)->size;
}

double qg_tensor_get_flat(const qg_tensor *t, int64_t i) {
  return qg__elem_to_double(qg__elem_load(t->dtype, elem_ptr(t, i)));
}

void qg_tensor_set_flat(qg_tensor *t, int64_t i, double v) {
  qg__elem e = {0, 0, v, 0, QG_DTYPE_F64};
  qg__elem_store(t->dtype, elem_ptr(t, i), e);
}

int64_t qg_tensor_offset_of(const qg_tensor *t, const int64_t *idx) {
  int64_t off = 0;
  for (int d = 0; d < t->ndim; d++) off += idx[d] * t->strides[d];
  return off * (int64_t)qg_dtype_info(t->dtype)->size;
}
