/* Tensors: a dtype, a shape, strides (in elements) and a refcounted storage. Storage memory
 * may be owned (allocated with qg__malloc) or borrowed from another owner such as a bundle's
 * mmap (then `release` is called with `owner` when the last reference goes). The runtime issue
 * extends this header; the bundle loader only needs what is here. */
#ifndef QG_TENSOR_TENSOR_H
#define QG_TENSOR_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tensor/dtype.h"

#define QG_MAX_DIMS 8

typedef enum qg_device_kind { QG_DEVICE_CPU = 0, QG_DEVICE_CUDA = 1 } qg_device_kind;

typedef struct qg_device {
  qg_device_kind kind;
  int index; /* -1 for "no index" ("cuda" rather than "cuda:0") */
} qg_device;

typedef struct qg_storage {
  int refcount;
  qg_device device;
  void *data;
  size_t nbytes;
  /* Borrowed memory: release(owner) runs when the last reference drops. NULL = owned, freed
   * with qg__free. */
  void (*release)(void *owner);
  void *owner;
  /* Unique per storage for the life of the process (never reused, unlike the address). */
  uint64_t serial;
  /* Set by qg_tensor_mark_immutable: the bytes are a snapshot nobody writes again (the weight
   * of packed params), so caches may key them by serial instead of by content. */
  int immutable;
} qg_storage;

/* Quantization parameters of a quantized tensor (storage only at this stage: kernels come with
 * the quantization milestone). Immutable once created and shared by refcount between a tensor,
 * its views and its copies. Per-tensor affine: real = (q - zero_point) * scale. Per-channel
 * affine: the same with scales[c] / zero_points[c] where c is the index along `axis`. */
typedef enum qg_qscheme {
  QG_QSCHEME_PER_TENSOR_AFFINE = 0,
  QG_QSCHEME_PER_CHANNEL_AFFINE = 1
} qg_qscheme;

typedef struct qg_quantizer {
  int refcount;
  qg_qscheme scheme;
  double scale;              /* per-tensor */
  int64_t zero_point;        /* per-tensor */
  struct qg_tensor *scales;      /* per-channel: contiguous 1-D f64, one per channel */
  struct qg_tensor *zero_points; /* per-channel: contiguous 1-D i64, same length */
  int axis;                      /* per-channel: the channel dimension (non-negative) */
} qg_quantizer;

typedef struct qg_tensor {
  int refcount;
  qg_dtype dtype;
  int ndim;
  int64_t shape[QG_MAX_DIMS];
  int64_t strides[QG_MAX_DIMS]; /* in elements */
  int64_t offset;               /* in elements, into storage */
  qg_storage *storage;          /* NULL only when numel == 0 */
  qg_quantizer *quantizer;      /* one reference; NULL for non-quantized tensors */
} qg_tensor;

/* New contiguous tensor with zeroed owned storage. Caller owns one reference. */
qg_status qg_tensor_create(qg_dtype dtype, int ndim, const int64_t *shape, qg_tensor **out) QG_MUST_USE;
/* The same without zeroing: for results the caller overwrites entirely (copies, folded weights),
 * where zeroing would touch every page twice. */
qg_status qg_tensor_create_uninit(qg_dtype dtype, int ndim, const int64_t *shape, qg_tensor **out) QG_MUST_USE;
/* New contiguous tensor viewing borrowed bytes; `release(owner)` is called when the storage
 * dies (may be NULL for memory that outlives the tensor). No bytes are copied. */
qg_status qg_tensor_wrap(qg_dtype dtype, int ndim, const int64_t *shape, void *data, size_t nbytes,
                         void (*release)(void *owner), void *owner, qg_tensor **out) QG_MUST_USE;
void qg_tensor_retain(qg_tensor *t);
void qg_tensor_release(qg_tensor *t); /* NULL is a no-op */

int64_t qg_tensor_numel(const qg_tensor *t);
size_t qg_tensor_nbytes(const qg_tensor *t); /* numel * element size */
int qg_tensor_is_contiguous(const qg_tensor *t);
/* Pointer to element 0 (storage data + offset). NULL for empty tensors. */
void *qg_tensor_data(const qg_tensor *t);

/* ---- quantizers (implemented in tensor/quantizer.c) ----------------------------------- */
/* A per-tensor affine quantizer. Caller owns one reference. INVALID_ARGUMENT unless scale is
 * finite and > 0. */
qg_status qg_quantizer_per_tensor(double scale, int64_t zero_point, qg_quantizer **out) QG_MUST_USE;
/* A per-channel affine quantizer. scales (1-D, converted to f64) and zero_points (1-D,
 * converted to i64) must have the same length; the quantizer keeps its own contiguous copies
 * (the arguments are not retained). axis must be >= 0. INVALID_ARGUMENT, OOM. */
qg_status qg_quantizer_per_channel(const qg_tensor *scales, const qg_tensor *zero_points, int axis,
                                   qg_quantizer **out) QG_MUST_USE;
void qg_quantizer_retain(qg_quantizer *q);
void qg_quantizer_release(qg_quantizer *q); /* NULL is a no-op */
/* Attaches q to t (t retains q, drops any previous quantizer). t must have a quantized dtype;
 * a per-channel q needs axis < t->ndim and one scale per entry of that dimension.
 * q = NULL detaches. INVALID_ARGUMENT. */
qg_status qg_tensor_set_quantizer(qg_tensor *t, qg_quantizer *q) QG_MUST_USE;
/* Marks t's storage immutable (qg_storage.immutable). A no-op for a tensor without storage. */
void qg_tensor_mark_immutable(const qg_tensor *t);
/* New tensor with a quantized dtype and q attached: zeroed storage. Caller owns one reference. */
qg_status qg_tensor_create_quantized(qg_dtype dtype, int ndim, const int64_t *shape, qg_quantizer *q,
                                     qg_tensor **out) QG_MUST_USE;

#endif
