/* Helpers shared by the linalg-family CPU kernels (see linalg_common.h). */
#include "ops/cpu/linalg_common.h"

#include <stdio.h>

char *qg__shape_x(char *buf, int ndim, const int64_t *shape) {
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < ndim && n < QG_SHAPE_STR_MAX - 24; i++)
    n += (size_t)snprintf(buf + n, QG_SHAPE_STR_MAX - n, "%s%lld", i ? "x" : "",
                          (long long)shape[i]);
  return buf;
}

qg_status qg__check_float(const char *op, const char *what, const qg_tensor *t) {
  if (t->dtype == QG_DTYPE_F32 || t->dtype == QG_DTYPE_F64) return QG_OK;
  return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: expected a float32 or float64 %s, got %s", op,
                      what, qg_dtype_info(t->dtype)->name);
}

qg_status qg__check_same_dtype(const char *op, const char *aname, const qg_tensor *a,
                               const char *bname, const qg_tensor *b) {
  if (a->dtype == b->dtype) return QG_OK;
  (void)aname;
  return qg_set_error(QG_STATUS_TYPE, "%s: expected scalar type %s but found %s (%s)", op,
                      qg_dtype_info(a->dtype)->ir_name, qg_dtype_info(b->dtype)->ir_name, bname);
}

qg_status qg__expand_ints(const char *op, const char *what, const int64_t *v, int len, int n,
                          int64_t dflt, int64_t *dst) {
  if (len == 0) {
    for (int i = 0; i < n; i++) dst[i] = dflt;
  } else if (len == 1) {
    for (int i = 0; i < n; i++) dst[i] = v[0];
  } else if (len == n) {
    for (int i = 0; i < n; i++) dst[i] = v[i];
  } else {
    char buf[QG_SHAPE_STR_MAX];
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: expected %s to be a single integer value or a list of %d values to "
                        "match the convolution dimensions, but got %s=%s",
                        op, what, n, what, qg_shape_str(len, v, buf, QG_SHAPE_STR_MAX));
  }
  return QG_OK;
}
