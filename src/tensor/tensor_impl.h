/* Internals shared by the files of the tensor layer (not API). */
#ifndef QG_TENSOR_TENSOR_IMPL_H
#define QG_TENSOR_TENSOR_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tensor/tensor.h"

/* One element in transit between dtypes. Integers travel as int64 so that i64 -> i64 copies
 * stay exact beyond 2^53; floats travel as double (f16/bf16/f32 widen exactly). */
typedef struct qg__elem {
  int is_int;
  int64_t i;
  double d;
  float f;      /* for f32/f16/bf16 sources: the value itself (a signalling NaN survives) */
  qg_dtype src; /* the dtype it was loaded from (f64 for plain doubles) */
} qg__elem;

/* Raw element load/store at p for any dtype (quantized dtypes: their stored integer; quint4x2:
 * the whole byte). Store converts as PyTorch's c10::convert does. */
qg__elem qg__elem_load(qg_dtype dtype, const void *p);
void qg__elem_store(qg_dtype dtype, void *p, qg__elem v);
double qg__elem_to_double(qg__elem v);

/* IEEE half / bfloat16 <-> float, bit-exact with c10 (round to nearest even; NaN canonical). */
uint16_t qg__f32_to_f16(float f);
float qg__f16_to_f32(uint16_t h);
uint16_t qg__f32_to_bf16(float f);
float qg__bf16_to_f32(uint16_t h);

/* A new tensor header sharing t's storage and quantizer (both retained), with t's dtype,
 * shape, strides and offset; the caller then edits the geometry. OOM. */
qg_status qg__tensor_alias(const qg_tensor *t, qg_tensor **out) QG_MUST_USE;

/* Wraps a dim index into [0, ndim) as PyTorch's maybe_wrap_dim (a 0-dim tensor accepts -1 and
 * 0). INVALID_ARGUMENT "Dimension out of range (expected to be in range of [-2, 1], but got 2)". */
qg_status qg__wrap_dim(int64_t dim, int ndim, int *out) QG_MUST_USE;

/* PyTorch's inferExpandGeometry: shape/strides (ndim entries) of t expanded to `sizes` (-1
 * keeps a size). INVALID_ARGUMENT with PyTorch's messages. */
qg_status qg__expand_geometry(const qg_tensor *t, int ndim, const int64_t *sizes, int64_t *shape,
                              int64_t *strides) QG_MUST_USE;


#endif
