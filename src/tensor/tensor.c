#include "tensor/tensor.h"

#include <stdatomic.h>
#include <string.h>

#include "base/alloc.h"

static qg_status check_shape(int ndim, const int64_t *shape, size_t elem, size_t *nbytes) {
  if (ndim < 0 || ndim > QG_MAX_DIMS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "tensor rank %d is outside 0..%d", ndim, QG_MAX_DIMS);
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "tensor dimension %d has negative size %lld", i,
                          (long long)shape[i]);
    if (shape[i] && n > SIZE_MAX / (size_t)shape[i] / elem)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "tensor size overflows");
    n *= (size_t)shape[i];
  }
  *nbytes = n * elem;
  return QG_OK;
}

static qg_tensor *new_header(qg_dtype dtype, int ndim, const int64_t *shape) {
  qg_tensor *t = qg__calloc(1, sizeof *t);
  if (!t) return NULL;
  t->refcount = 1;
  t->dtype = dtype;
  t->ndim = ndim;
  int64_t stride = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    t->shape[i] = shape[i];
    t->strides[i] = stride;
    stride *= shape[i] > 1 ? shape[i] : 1;
  }
  return t;
}

static uint64_t next_serial(void) {
  static atomic_uint_fast64_t counter;
  return (uint64_t)atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed) + 1;
}

void qg_tensor_mark_immutable(const qg_tensor *t) {
  if (t && t->storage) t->storage->immutable = 1;
}

static qg_status create(qg_dtype dtype, int ndim, const int64_t *shape, int zero, qg_tensor **out) {
  size_t nbytes;
  QG_TRY(check_shape(ndim, shape, qg_dtype_info(dtype)->size, &nbytes));
  qg_tensor *t = new_header(dtype, ndim, shape);
  if (!t) return qg_oom("a tensor");
  if (nbytes) {
    t->storage = qg__calloc(1, sizeof *t->storage);
    void *data = zero ? qg__calloc(1, nbytes) : qg__malloc(nbytes);
    if (!t->storage || !data) {
      qg__free(data);
      qg__free(t->storage);
      qg__free(t);
      return qg_oom("tensor storage");
    }
    *t->storage = (qg_storage){1, {QG_DEVICE_CPU, -1}, data, nbytes, NULL, NULL, next_serial(), 0};
  }
  *out = t;
  return QG_OK;
}

qg_status qg_tensor_create(qg_dtype dtype, int ndim, const int64_t *shape, qg_tensor **out) {
  return create(dtype, ndim, shape, 1, out);
}

qg_status qg_tensor_create_uninit(qg_dtype dtype, int ndim, const int64_t *shape, qg_tensor **out) {
  return create(dtype, ndim, shape, 0, out);
}

qg_status qg_tensor_wrap(qg_dtype dtype, int ndim, const int64_t *shape, void *data, size_t nbytes,
                         void (*release)(void *owner), void *owner, qg_tensor **out) {
  size_t need;
  QG_TRY(check_shape(ndim, shape, qg_dtype_info(dtype)->size, &need));
  if (need != nbytes)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "tensor needs %zu bytes but %zu were given", need,
                        nbytes);
  qg_tensor *t = new_header(dtype, ndim, shape);
  if (!t) return qg_oom("a tensor");
  t->storage = qg__calloc(1, sizeof *t->storage);
  if (!t->storage) {
    qg__free(t);
    return qg_oom("tensor storage");
  }
  *t->storage = (qg_storage){1, {QG_DEVICE_CPU, -1}, data, nbytes, release, owner, next_serial(), 0};
  *out = t;
  return QG_OK;
}

void qg_tensor_retain(qg_tensor *t) { t->refcount++; }

static void storage_release(qg_storage *s) {
  if (!s || --s->refcount > 0) return;
  if (s->release) s->release(s->owner);
  else if (!s->owner) qg__free(s->data);
  qg__free(s);
}

void qg_tensor_release(qg_tensor *t) {
  if (!t || --t->refcount > 0) return;
  storage_release(t->storage);
  qg_quantizer_release(t->quantizer);
  qg__free(t);
}

int64_t qg_tensor_numel(const qg_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

size_t qg_tensor_nbytes(const qg_tensor *t) {
  return (size_t)qg_tensor_numel(t) * qg_dtype_info(t->dtype)->size;
}

int qg_tensor_is_contiguous(const qg_tensor *t) {
  if (qg_tensor_numel(t) == 0) return 1; /* as PyTorch: an empty tensor is contiguous */
  int64_t expect = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->strides[i] != expect) return 0;
    expect *= t->shape[i];
  }
  return 1;
}

void *qg_tensor_data(const qg_tensor *t) {
  if (!t->storage) return NULL;
  return (char *)t->storage->data + t->offset * (int64_t)qg_dtype_info(t->dtype)->size;
}
