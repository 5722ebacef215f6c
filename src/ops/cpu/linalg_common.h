/* Small helpers shared by the linalg-family CPU kernels (conv, linalg, pool, upsample,
 * embedding): shape formatting for error messages, dtype checks, int-list expansion. */
#ifndef QG_OPS_CPU_LINALG_COMMON_H
#define QG_OPS_CPU_LINALG_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tensor/tensor.h"
#include "tensor/tensor_ops.h"


/* Writes "2x3" (the matmul message style) for a matrix's two sizes into buf; returns buf. */
char *qg__shape_x(char *buf, int ndim, const int64_t *shape);

/* QG_OK if t is f32 or f64, else QG_STATUS_UNSUPPORTED "op: expected a float32 or float64
 * `what`, got i64". */
qg_status qg__check_float(const char *op, const char *what, const qg_tensor *t) QG_MUST_USE;
/* QG_OK if a and b have the same dtype, else QG_STATUS_TYPE with PyTorch's message
 * "op: expected scalar type Float but found Double (bname)". */
qg_status qg__check_same_dtype(const char *op, const char *aname, const qg_tensor *a,
                               const char *bname, const qg_tensor *b) QG_MUST_USE;

/* Expands an int-list argument to n values as PyTorch's expand_param_if_needed: one value is
 * repeated, n values are copied, anything else is QG_STATUS_INVALID_ARGUMENT ("conv2d:
 * expected stride to be a single integer value or a list of 2 values to match the
 * convolution dimensions, but got stride=[1, 2, 3]"). len == 0 uses `dflt` everywhere. */
qg_status qg__expand_ints(const char *op, const char *what, const int64_t *v, int len, int n,
                          int64_t dflt, int64_t *dst) QG_MUST_USE;

/* Element i of a contiguous f32/f64 buffer as double, and the store back. */
static inline double qg__ld(const void *p, int is64, int64_t i) {
  return is64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}
static inline void qg__st(void *p, int is64, int64_t i, double v) {
  if (is64)
    ((double *)p)[i] = v;
  else
    ((float *)p)[i] = (float)v;
}

#endif
