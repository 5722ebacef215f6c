/* sum / mean (see reduce.h). The input (converted to the result dtype) is walked once in
 * row-major order while a second iterator offset tracks the output cell (stride 0 along
 * reduced dims); accumulators live in a side array. */
#include "ops/cpu/reduce.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/pointwise_common.h"
#include "ops/cpu/quantized_pool.h"

static qg_status reduce(const char *op, qg_tensor *x, const int64_t *dims, int ndims, int keepdim,
                        int dtype, int is_mean, qg_tensor **out) {
  *out = NULL;
  if (qg_dtype_info(x->dtype)->is_quantized)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: quantized input is not supported", op);
  if (dtype != QG_REDUCE_NO_DTYPE && (dtype < 0 || dtype >= QG_DTYPE_COUNT || qg_dtype_info((qg_dtype)dtype)->is_quantized))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: invalid dtype %d", op, dtype);
  qg_dtype rt;
  if (dtype != QG_REDUCE_NO_DTYPE) rt = (qg_dtype)dtype;
  else if (qg__pw_is_intlike(x->dtype)) rt = is_mean ? x->dtype : QG_DTYPE_I64;
  else rt = x->dtype;
  if (is_mean && !qg__pw_is_float(rt))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "mean(): could not infer output dtype. %s dtype must be either a floating "
                        "point or complex dtype. Got: %s",
                        dtype != QG_REDUCE_NO_DTYPE ? "Optional" : "Input", qg__pw_dtype_name(rt));
  if (rt == QG_DTYPE_F16 || rt == QG_DTYPE_BF16)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: %s accumulation is not supported", op,
                        qg_dtype_info(rt)->name);
  int mask[QG_MAX_DIMS];
  QG_TRY(qg__pw_dim_mask(op, dims, ndims, x->ndim, mask));
  int ond = 0;
  int64_t oshape[QG_MAX_DIMS], ostr[QG_MAX_DIMS], count = 1;
  int64_t s = 1;
  for (int d = x->ndim - 1; d >= 0; d--) {
    ostr[d] = mask[d] ? 0 : s;
    if (!mask[d]) s *= x->shape[d];
    else count *= x->shape[d];
  }
  for (int d = 0; d < x->ndim; d++) {
    if (!mask[d]) oshape[ond++] = x->shape[d];
    else if (keepdim) oshape[ond++] = 1;
  }
  int64_t onumel = s;
  qg_tensor *xc = NULL, *y = NULL;
  int is_int = !qg__pw_is_float(rt);
  qg_dtype ct = is_int ? QG_DTYPE_I64 : rt; /* integers accumulate and are stored as int64 */
  QG_TRY(qg__pw_dense(x, ct, &xc));
  long double *facc = NULL;
  int64_t *iacc = NULL;
  qg_status st = QG_OK;
  if (is_int) iacc = qg__calloc((size_t)(onumel ? onumel : 1), sizeof(*iacc));
  else facc = qg__calloc((size_t)(onumel ? onumel : 1), sizeof(*facc));
  if (!iacc && !facc) st = qg_oom("reduce: accumulators");
  if (st == QG_OK) st = qg_tensor_create(ct, ond, oshape, &y);
  if (st == QG_OK) {
    int64_t n = qg_tensor_numel(xc);
    qg__pw_iter it;
    const qg_tensor *ops[1] = {NULL};
    qg__pw_iter_init(&it, x->ndim, x->shape, 1, ops);
    memcpy(it.strides[0], ostr, sizeof(int64_t) * (size_t)x->ndim);
    const void *src = qg_tensor_data(xc);
    for (int64_t k = 0; k < n; k++, qg__pw_iter_next(&it)) {
      int64_t o = it.off[0];
      if (rt == QG_DTYPE_F64) facc[o] += ((const double *)src)[k];
      else if (rt == QG_DTYPE_F32) facc[o] += ((const float *)src)[k];
      else iacc[o] = (int64_t)((uint64_t)iacc[o] + (uint64_t)((const int64_t *)src)[k]);
    }
    for (int64_t o = 0; o < onumel; o++) {
      if (is_int) {
        ((int64_t *)qg_tensor_data(y))[o] = iacc[o];
      } else {
        long double v = facc[o];
        if (is_mean) v /= (long double)count;
        if (rt == QG_DTYPE_F64) ((double *)qg_tensor_data(y))[o] = (double)v;
        else ((float *)qg_tensor_data(y))[o] = (float)v;
      }
    }
  }
  qg__free(facc);
  qg__free(iacc);
  if (st == QG_OK && ct != rt) {
    qg_tensor *narrow;
    st = qg_tensor_to_dtype(y, rt, &narrow);
    if (st == QG_OK) {
      qg_tensor_release(y);
      y = narrow;
    }
  }
  qg_tensor_release(xc);
  if (st == QG_OK) *out = y;
  else qg_tensor_release(y);
  return st;
}

qg_status qg_cpu_sum(qg_tensor *x, const int64_t *dims, int ndims, int keepdim, int dtype,
                     qg_tensor **out) {
  return reduce("sum", x, dims, ndims, keepdim, dtype, 0, out);
}

qg_status qg_cpu_mean(qg_tensor *x, const int64_t *dims, int ndims, int keepdim, int dtype,
                      qg_tensor **out) {
  if (qg_dtype_info(x->dtype)->is_quantized && (dtype == QG_REDUCE_NO_DTYPE || dtype == (int)x->dtype))
    return qg_cpu_qmean(x, dims, ndims, keepdim, out);
  return reduce("mean", x, dims, ndims, keepdim, dtype, 1, out);
}
