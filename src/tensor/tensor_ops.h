/* Tensor operations that are not kernels: views, copies, dtype conversion, broadcasting,
 * iteration helpers and printing. Semantics follow PyTorch (error messages too, where PyTorch
 * has a well-known one, e.g. the broadcasting message).
 *
 * Ownership: every function returning a tensor through `out` gives the caller one reference.
 * Views share the input's storage (the storage refcount is bumped) and may be non-contiguous.
 * Quantized tensors: views, contiguous copies and same-dtype copies carry the quantizer. A
 * per-channel quantizer follows its axis through transpose/permute/squeeze/unsqueeze/select/
 * expand/reshape; a view that cuts the channel axis (select on it, a partial slice of it, a
 * reshape that merges it) fails with QG_STATUS_UNSUPPORTED. Converting between quantized and
 * other dtypes is an op (quantize/dequantize), not a copy: QG_STATUS_UNSUPPORTED here.
 * Implementation: create.c, copy.c, elem.c (conversions), view.c, broadcast.c, access.c,
 * describe.c, named.c; quantizers in quantizer.c. Tested against PyTorch-recorded fixtures in
 * tests/test_tensor.c. */
#ifndef QG_TENSOR_TENSOR_OPS_H
#define QG_TENSOR_TENSOR_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "base/strbuf.h"
#include "tensor/tensor.h"

/* ---- creation -------------------------------------------------------------------------- */
/* Uninitialised-but-zeroed contiguous tensor with t's dtype and shape. */
qg_status qg_tensor_empty_like(const qg_tensor *t, qg_tensor **out) QG_MUST_USE;
/* A 0-dim tensor holding v converted to dtype. */
qg_status qg_tensor_scalar(qg_dtype dtype, double v, qg_tensor **out) QG_MUST_USE;
/* A contiguous tensor with a copy of `data` (numel elements of dtype). */
qg_status qg_tensor_from_data(qg_dtype dtype, int ndim, const int64_t *shape, const void *data, qg_tensor **out) QG_MUST_USE;

/* ---- copies and conversion ------------------------------------------------------------- */
/* t itself (retained) when contiguous, else a contiguous copy. */
qg_status qg_tensor_contiguous(qg_tensor *t, qg_tensor **out) QG_MUST_USE;
/* A new contiguous tensor with t's values converted to dtype (float -> int truncates toward
 * zero as PyTorch; to bool: != 0; float -> u8 goes through int64 as c10 does; NaN or out-of-range
 * float -> int gives x86's "integer indefinite" value, as PyTorch on x86). f16/bf16 rounding is
 * bit-exact with PyTorch (round to nearest even; f64 sources round through f32 as c10::Half(float)
 * does; f32 NaN -> bf16 is 0xFFFF as PyTorch's vectorized CPU copy writes it). Same dtype: a
 * contiguous copy (quantizer kept). */
qg_status qg_tensor_to_dtype(const qg_tensor *t, qg_dtype dtype, qg_tensor **out) QG_MUST_USE;
/* Copies src into dst elementwise (shapes must be equal after broadcasting src to dst; dtypes
 * converted). dst may be a view (writes go through to its storage). src may overlap dst (it is
 * then read through a temporary copy). A dst with a stride-0 dimension of size > 1 is refused
 * with PyTorch's "more than one element of the written-to tensor" message. */
qg_status qg_tensor_copy_(qg_tensor *dst, const qg_tensor *src) QG_MUST_USE;

/* ---- views (PyTorch semantics; negative dims wrap; errors name the op and the sizes) ----- */
qg_status qg_tensor_view(qg_tensor *t, int ndim, const int64_t *shape, qg_tensor **out) QG_MUST_USE; /* one -1 allowed */
qg_status qg_tensor_reshape(qg_tensor *t, int ndim, const int64_t *shape, qg_tensor **out) QG_MUST_USE; /* view or copy */
qg_status qg_tensor_transpose(qg_tensor *t, int d0, int d1, qg_tensor **out) QG_MUST_USE;
qg_status qg_tensor_permute(qg_tensor *t, int ndim, const int64_t *dims, qg_tensor **out) QG_MUST_USE;
qg_status qg_tensor_select(qg_tensor *t, int dim, int64_t index, qg_tensor **out) QG_MUST_USE;
qg_status qg_tensor_slice(qg_tensor *t, int dim, int64_t start, int64_t end, int64_t step, qg_tensor **out) QG_MUST_USE;
qg_status qg_tensor_expand(qg_tensor *t, int ndim, const int64_t *shape, qg_tensor **out) QG_MUST_USE; /* -1 keeps */
qg_status qg_tensor_squeeze(qg_tensor *t, int dim, qg_tensor **out) QG_MUST_USE; /* dim = QG_ALL_DIMS: all */
qg_status qg_tensor_unsqueeze(qg_tensor *t, int dim, qg_tensor **out) QG_MUST_USE;
/* flatten(d, d) returns t itself (retained), as PyTorch; otherwise reshape semantics. */
qg_status qg_tensor_flatten(qg_tensor *t, int start_dim, int end_dim, qg_tensor **out) QG_MUST_USE;
#define QG_ALL_DIMS (-1000)

/* ---- broadcasting ---------------------------------------------------------------------- */
/* The broadcast shape of a and b; QG_STATUS_INVALID_ARGUMENT with PyTorch's message
 * "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1". */
qg_status qg_broadcast_shapes(int andim, const int64_t *ashape, int bndim, const int64_t *bshape,
                              int *ndim, int64_t *shape) QG_MUST_USE;

/* "[2, 3, 4]" into buf (cap bytes, truncated safely), for error messages; returns buf. */
#define QG_SHAPE_STR_MAX 200
const char *qg_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap);

/* ---- element access -------------------------------------------------------------------- */
/* Element at a flat row-major index of t's logical shape, converted to double / written from
 * double (any strides, any dtype; quantized dtypes read/write the stored integer). For tests and
 * slow paths: O(ndim) per call; an index outside [0, numel) is a programmer error (asserts). */
double qg_tensor_get_flat(const qg_tensor *t, int64_t i);
void qg_tensor_set_flat(qg_tensor *t, int64_t i, double v);
/* Byte offset of the element with multi-index idx[0..ndim) from qg_tensor_data(t). */
int64_t qg_tensor_offset_of(const qg_tensor *t, const int64_t *idx);

/* ---- printing -------------------------------------------------------------------------- */
/* A readable dump for debugging: "tensor([[1., 2.], [3., 4.]], dtype=f32, shape=[2, 2])",
 * eliding the middle of large tensors. */
void qg_tensor_describe(const qg_tensor *t, qg_strbuf *out);

/* ---- named tensor files ---------------------------------------------------------------- */
/* Reads every tensor of a safetensors file (names in header order). Tensors borrow the mapping.
 * Free names/tensors with qg_named_tensors_free. */
typedef struct qg_named_tensors {
  char **names;
  qg_tensor **tensors;
  size_t n;
} qg_named_tensors;
qg_status qg_named_tensors_load(const char *path, qg_named_tensors *out) QG_MUST_USE;
/* Writes them (contiguous copies made as needed) atomically. */
qg_status qg_named_tensors_save(const char *path, const qg_named_tensors *nt) QG_MUST_USE;
void qg_named_tensors_free(qg_named_tensors *nt);
/* The tensor named `name` or NULL. */
qg_tensor *qg_named_tensors_get(const qg_named_tensors *nt, const char *name);

#endif
