/* cat / stack / chunk / split / dropout (see shape.h). cat writes each input into a slice view
 * of the output with qg_tensor_copy_, which handles strides and dtype conversion; the splits
 * are slices of the input. */
#include "ops/cpu/shape.h"

#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/pointwise_common.h"
#include "ops/cpu/quantized_cat.h"

static int legacy_empty(const qg_tensor *t) { return t->ndim == 1 && t->shape[0] == 0; }

qg_status qg_cpu_cat(qg_tensor *const *tensors, int n, int64_t dim, qg_tensor **out) {
  *out = NULL;
  if (n > 0 && qg_dtype_info(tensors[0]->dtype)->is_quantized) return qg_cpu_qcat(tensors, n, dim, 0, 0, 0, 0, 0, out);
  if (n <= 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "torch.cat(): expected a non-empty list of Tensors");
  /* The first tensor that is not a legacy empty one fixes the rank and the other sizes. */
  const qg_tensor *ref = NULL;
  qg_dtype dt = tensors[0]->dtype;
  for (int i = 0; i < n; i++) {
    const qg_tensor *t = tensors[i];
    if (qg_dtype_info(t->dtype)->is_quantized)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "cat: quantized tensors are not supported (tensor number %d)", i);
    if (t->ndim == 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "cat: zero-dimensional tensor (at position %d) cannot be concatenated", i);
    dt = qg__pw_promote(dt, t->dtype);
    if (!ref && !legacy_empty(t)) ref = t;
  }
  if (!ref) ref = tensors[0];
  int d;
  QG_TRY(qg__pw_wrap_dim("cat", dim, ref->ndim, &d));
  int64_t shape[QG_MAX_DIMS];
  memcpy(shape, ref->shape, sizeof(int64_t) * (size_t)ref->ndim);
  shape[d] = 0;
  for (int i = 0; i < n; i++) {
    const qg_tensor *t = tensors[i];
    if (legacy_empty(t) && t != ref) continue;
    if (t->ndim != ref->ndim)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "cat: Tensors must have same number of dimensions: got %d and %d",
                          ref->ndim, t->ndim);
    for (int k = 0; k < t->ndim; k++)
      if (k != d && t->shape[k] != ref->shape[k])
        return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                            "cat: Sizes of tensors must match except in dimension %d. Expected "
                            "size %lld but got size %lld for tensor number %d in the list.",
                            d, (long long)ref->shape[k], (long long)t->shape[k], i);
    shape[d] += t->shape[d];
  }
  qg_tensor *y;
  QG_TRY(qg_tensor_create(dt, ref->ndim, shape, &y));
  int64_t pos = 0;
  for (int i = 0; i < n; i++) {
    qg_tensor *t = tensors[i];
    if ((legacy_empty(t) && t != ref) || t->shape[d] == 0) continue;
    qg_tensor *part;
    qg_status st = qg_tensor_slice(y, d, pos, pos + t->shape[d], 1, &part);
    if (st == QG_OK) {
      st = qg_tensor_copy_(part, t);
      qg_tensor_release(part);
    }
    if (st != QG_OK) {
      qg_tensor_release(y);
      return st;
    }
    pos += t->shape[d];
  }
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_stack(qg_tensor *const *tensors, int n, int64_t dim, qg_tensor **out) {
  char b1[QG_SHAPE_STR_MAX], b2[QG_SHAPE_STR_MAX];
  *out = NULL;
  if (n <= 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "stack expects a non-empty TensorList");
  if (qg_dtype_info(tensors[0]->dtype)->is_quantized) return qg_cpu_qcat(tensors, n, dim, 0, 0, 0, 0, 1, out);
  const qg_tensor *t0 = tensors[0];
  for (int i = 1; i < n; i++) {
    const qg_tensor *t = tensors[i];
    if (t->ndim != t0->ndim || memcmp(t->shape, t0->shape, sizeof(int64_t) * (size_t)t->ndim) != 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "stack expects each tensor to be equal size, but got %s at entry 0 and "
                          "%s at entry %d",
                          qg_shape_str(t0->ndim, t0->shape, b1, QG_SHAPE_STR_MAX),
                          qg_shape_str(t->ndim, t->shape, b2, QG_SHAPE_STR_MAX), i);
  }
  if (t0->ndim + 1 > QG_MAX_DIMS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "stack: rank %d exceeds %d", t0->ndim + 1, QG_MAX_DIMS);
  int d;
  QG_TRY(qg__pw_wrap_dim("stack", dim, t0->ndim + 1, &d));
  qg_tensor **parts = qg__calloc((size_t)n, sizeof(*parts));
  if (!parts) return qg_oom("stack: tensor list");
  qg_status st = QG_OK;
  for (int i = 0; i < n && st == QG_OK; i++) st = qg_tensor_unsqueeze(tensors[i], d, &parts[i]);
  if (st == QG_OK) st = qg_cpu_cat(parts, n, d, out);
  for (int i = 0; i < n; i++) qg_tensor_release(parts[i]);
  qg__free(parts);
  return st;
}

void qg_cpu_tensor_list_free(qg_tensor **ts, int64_t n) {
  if (!ts) return;
  for (int64_t i = 0; i < n; i++) qg_tensor_release(ts[i]);
  qg__free(ts);
}

/* Views of x along d with the given sizes (all >= 0, summing to the size). */
static qg_status slices(qg_tensor *x, int d, const int64_t *sizes, int64_t n, qg_tensor ***outs,
                        int64_t *nout) {
  qg_tensor **ts = qg__calloc((size_t)(n ? n : 1), sizeof(*ts));
  if (!ts) return qg_oom("split: tensor list");
  int64_t pos = 0;
  for (int64_t i = 0; i < n; i++) {
    qg_status st = qg_tensor_slice(x, d, pos, pos + sizes[i], 1, &ts[i]);
    if (st != QG_OK) {
      qg_cpu_tensor_list_free(ts, i);
      return st;
    }
    pos += sizes[i];
  }
  *outs = ts;
  *nout = n;
  return QG_OK;
}

/* Sizes of PyTorch's split(split_size): max(ceil(size / split_size), 1) pieces. */
static qg_status split_impl(const char *op, qg_tensor *x, int64_t split_size, int d,
                            int64_t count_override, qg_tensor ***outs, int64_t *nout) {
  int64_t size = x->shape[d];
  int64_t n = split_size ? (size + split_size - 1) / split_size : 1;
  if (n < 1) n = 1;
  if (count_override > 0) n = count_override;
  int64_t *sizes = qg__calloc((size_t)n, sizeof(*sizes));
  if (!sizes) return qg_oom("split: sizes");
  for (int64_t i = 0; i < n; i++) {
    int64_t rest = size - i * split_size;
    sizes[i] = rest < split_size ? (rest > 0 ? rest : 0) : split_size;
  }
  (void)op;
  qg_status st = slices(x, d, sizes, n, outs, nout);
  qg__free(sizes);
  return st;
}

qg_status qg_cpu_chunk(qg_tensor *x, int64_t chunks, int64_t dim, qg_tensor ***outs,
                       int64_t *nout) {
  *outs = NULL;
  *nout = 0;
  if (x->ndim == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "chunk expects at least a 1-dimensional tensor");
  if (chunks <= 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "chunk expects `chunks` to be greater than 0, got: %lld", (long long)chunks);
  int d;
  QG_TRY(qg__pw_wrap_dim("chunk", dim, x->ndim, &d));
  int64_t size = x->shape[d];
  int64_t split_size = (size + chunks - 1) / chunks;
  /* An empty dim gives `chunks` empty pieces, as PyTorch. */
  return split_impl("chunk", x, split_size, d, (split_size == 0 && size == 0) ? chunks : 0, outs, nout);
}

qg_status qg_cpu_split(qg_tensor *x, int64_t split_size, int64_t dim, qg_tensor ***outs,
                       int64_t *nout) {
  *outs = NULL;
  *nout = 0;
  if (x->ndim == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "split expects at least a 1-dimensional tensor");
  if (split_size < 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "split expects split_size be non-negative, but got split_size=%lld",
                        (long long)split_size);
  int d;
  QG_TRY(qg__pw_wrap_dim("split", dim, x->ndim, &d));
  if (split_size == 0 && x->shape[d] != 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "split_size can only be 0 if dimension size is 0, but got dimension size "
                        "of %lld",
                        (long long)x->shape[d]);
  return split_impl("split", x, split_size, d, 0, outs, nout);
}

qg_status qg_cpu_split_with_sizes(qg_tensor *x, const int64_t *sizes, int nsizes, int64_t dim,
                                  qg_tensor ***outs, int64_t *nout) {
  char buf[QG_SHAPE_STR_MAX];
  *outs = NULL;
  *nout = 0;
  if (x->ndim == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "split_with_sizes expects at least a 1-dimensional tensor");
  int d;
  QG_TRY(qg__pw_wrap_dim("split_with_sizes", dim, x->ndim, &d));
  int64_t sum = 0;
  for (int i = 0; i < nsizes; i++) {
    if (sizes[i] < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "split_with_sizes expects split_sizes have only non-negative entries, "
                          "but got split_sizes=%s",
                          qg_shape_str(nsizes, sizes, buf, QG_SHAPE_STR_MAX));
    sum += sizes[i];
  }
  if (sum != x->shape[d])
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "split_with_sizes expects split_sizes to sum exactly to %lld (input "
                        "tensor's size at dimension %d), but got split_sizes=%s",
                        (long long)x->shape[d], d, qg_shape_str(nsizes, sizes, buf, QG_SHAPE_STR_MAX));
  return slices(x, d, sizes, nsizes, outs, nout);
}

qg_status qg_cpu_dropout(qg_tensor *x, double p, int train, qg_tensor **out) {
  *out = NULL;
  if (!(p >= 0 && p <= 1))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "dropout probability has to be between 0 and 1, but got %g", p);
  if (train && p > 0 && qg_tensor_numel(x) > 0)
    return qg_set_error(QG_STATUS_UNSUPPORTED,
                        "dropout: training mode with p=%g is random and has no reference kernel", p);
  qg_tensor_retain(x);
  *out = x;
  return QG_OK;
}
