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
} qg_storage;

typedef struct qg_tensor {
  int refcount;
  qg_dtype dtype;
  int ndim;
  int64_t shape[QG_MAX_DIMS];
  int64_t strides[QG_MAX_DIMS]; /* in elements */
  int64_t offset;               /* in elements, into storage */
  qg_storage *storage;          /* NULL only when numel == 0 */
} qg_tensor;

/* New contiguous tensor with zeroed owned storage. Caller owns one reference. */
qg_status qg_tensor_create(qg_dtype dtype, int ndim, const int64_t *shape, qg_tensor **out) QG_MUST_USE;
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

#endif
