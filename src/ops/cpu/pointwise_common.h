/* Helpers shared by the pointwise-family CPU kernels (norm, activation, elementwise, shape,
 * reduce): strided iteration over broadcast operands, dim-list handling and shape strings for
 * error messages. Internal (qg__pw_ prefix). */
#ifndef QG_OPS_CPU_POINTWISE_COMMON_H
#define QG_OPS_CPU_POINTWISE_COMMON_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* Walks the elements of an ndim-shaped index space in row-major order, keeping one element
 * offset per operand (strides in elements; 0 for broadcast dims). */
#define QG__PW_MAX_OPS 3
typedef struct qg__pw_iter {
  int ndim, nops;
  int64_t shape[QG_MAX_DIMS];
  int64_t idx[QG_MAX_DIMS];
  int64_t strides[QG__PW_MAX_OPS][QG_MAX_DIMS];
  int64_t off[QG__PW_MAX_OPS];
} qg__pw_iter;

/* Operand t, right-aligned to `shape` (t->ndim <= ndim, every size equal or 1): strides with 0
 * for broadcast dims. The caller has checked broadcastability. */
void qg__pw_bcast_strides(const qg_tensor *t, int ndim, const int64_t *shape, int64_t *strides);
/* Starts an iterator; ops[i] supplies operand i's broadcast strides (NULL: contiguous over
 * shape). off[] start at each operand's own element offset (0: the caller adds data pointers
 * from qg_tensor_data). */
void qg__pw_iter_init(qg__pw_iter *it, int ndim, const int64_t *shape, int nops,
                      const qg_tensor *const *ops);
/* Advances to the next element (the caller counts numel steps). */
static inline void qg__pw_iter_next(qg__pw_iter *it) {
  for (int d = it->ndim - 1; d >= 0; d--) {
    if (++it->idx[d] < it->shape[d]) {
      for (int o = 0; o < it->nops; o++) it->off[o] += it->strides[o][d];
      return;
    }
    it->idx[d] = 0;
    for (int o = 0; o < it->nops; o++) it->off[o] -= it->strides[o][d] * (it->shape[d] - 1);
  }
}

/* Wraps dim into [0, ndim) (a 0-dim tensor accepts -1 and 0), with PyTorch's message
 * "Dimension out of range (expected to be in range of [-2, 1], but got 2)". */
qg_status qg__pw_wrap_dim(const char *op, int64_t dim, int ndim, int *out) QG_MUST_USE;
/* Marks reduced dims in mask[0..ndim) from a dim list (empty list: all dims), rejecting
 * duplicates ("dim 1 appears multiple times in the list of dims"). */
qg_status qg__pw_dim_mask(const char *op, const int64_t *dims, int ndims, int ndim,
                          int *mask) QG_MUST_USE;


/* PyTorch's ScalarType name ("Float", "Long") of a dtype, for messages. */
const char *qg__pw_dtype_name(qg_dtype d);

/* PyTorch's promoteTypes for the non-quantized dtypes. */
qg_dtype qg__pw_promote(qg_dtype a, qg_dtype b);
static inline int qg__pw_is_float(qg_dtype d) {
  return d == QG_DTYPE_F16 || d == QG_DTYPE_BF16 || d == QG_DTYPE_F32 || d == QG_DTYPE_F64;
}
static inline int qg__pw_is_intlike(qg_dtype d) {
  return d == QG_DTYPE_U8 || d == QG_DTYPE_I8 || d == QG_DTYPE_I16 || d == QG_DTYPE_I32 ||
         d == QG_DTYPE_I64 || d == QG_DTYPE_BOOL;
}

/* t converted to `dtype` and made contiguous: t itself (retained) when it already is. */
qg_status qg__pw_dense(qg_tensor *t, qg_dtype dtype, qg_tensor **out) QG_MUST_USE;

/* UNSUPPORTED unless t is f32/f64: "op: expected a float32 or float64 what, got i64". */
qg_status qg__pw_check_float(const char *op, const char *what, const qg_tensor *t) QG_MUST_USE;

#endif
