/* Broadcasting (PyTorch's infer_size) and dim wrapping. */
#include <stdio.h>

#include "tensor/tensor_impl.h"
#include "tensor/tensor_ops.h"

qg_status qg_broadcast_shapes(int andim, const int64_t *ashape, int bndim, const int64_t *bshape,
                              int *ndim, int64_t *shape) {
  int n = andim > bndim ? andim : bndim;
  if (n > QG_MAX_DIMS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "broadcast: rank %d exceeds %d", n, QG_MAX_DIMS);
  int64_t res[QG_MAX_DIMS];
  for (int i = n - 1; i >= 0; i--) {
    int off = n - 1 - i;
    int da = andim - 1 - off, db = bndim - 1 - off;
    int64_t sa = da >= 0 ? ashape[da] : 1;
    int64_t sb = db >= 0 ? bshape[db] : 1;
    if (sa != sb && sa != 1 && sb != 1)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "The size of tensor a (%lld) must match the size of tensor b (%lld) at "
                          "non-singleton dimension %d",
                          (long long)sa, (long long)sb, i);
    res[i] = sa == 1 ? sb : sa;
  }
  /* Written only on success, so shape may alias an input. */
  for (int i = 0; i < n; i++) shape[i] = res[i];
  *ndim = n;
  return QG_OK;
}

qg_status qg__wrap_dim(int64_t dim, int ndim, int *out) {
  int64_t n = ndim > 0 ? ndim : 1; /* a 0-dim tensor accepts -1 and 0, as PyTorch */
  if (dim < -n || dim >= n)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Dimension out of range (expected to be in range of [%lld, %lld], but got %lld)",
                        (long long)-n, (long long)(n - 1), (long long)dim);
  *out = (int)(dim < 0 ? dim + n : dim);
  return QG_OK;
}

const char *qg_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  len += (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < ndim && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (len < cap) snprintf(buf + len, cap - len, "]");
  return buf;
}
