/* Views: new tensor headers over the same storage (PyTorch's view semantics, strides and error
 * messages). A per-channel quantizer follows its axis through the view; views that would cut
 * through the channel axis are refused (UNSUPPORTED) rather than silently mislabelled. */
#include <string.h>

#include "base/alloc.h"
#include "tensor/tensor_impl.h"
#include "tensor/tensor_ops.h"

#define SHAPE_BUF 256

/* Gives v a quantizer whose per-channel axis is new_axis (the input's axis after the view), or
 * fails when the view loses the channel axis (new_axis < 0). v already holds t's quantizer. */
static qg_status fix_quantizer_axis(qg_tensor *v, int new_axis, const char *op) {
  qg_quantizer *q = v->quantizer;
  if (!q || q->scheme != QG_QSCHEME_PER_CHANNEL_AFFINE || new_axis == q->axis) return QG_OK;
  if (new_axis < 0)
    return qg_set_error(QG_STATUS_UNSUPPORTED,
                        "%s: the view does not keep channel axis %d of a per-channel quantized tensor", op,
                        q->axis);
  qg_quantizer *nq = qg__malloc(sizeof *nq);
  if (!nq) return qg_oom("a quantizer");
  *nq = *q;
  nq->refcount = 1;
  nq->axis = new_axis;
  qg_tensor_retain(nq->scales);
  qg_tensor_retain(nq->zero_points);
  qg_quantizer_release(q);
  v->quantizer = nq;
  return QG_OK;
}

static int channel_axis(const qg_tensor *t) {
  return t->quantizer && t->quantizer->scheme == QG_QSCHEME_PER_CHANNEL_AFFINE ? t->quantizer->axis : -1;
}

/* Builds the view header; new_axis: where t's per-channel axis lands (ignored otherwise). */
static qg_status make_view(qg_tensor *t, int ndim, const int64_t *shape, const int64_t *strides,
                           int64_t offset, int new_axis, const char *op, qg_tensor **out) {
  qg_tensor *v;
  QG_TRY(qg__tensor_alias(t, &v));
  v->ndim = ndim;
  for (int i = 0; i < ndim; i++) {
    v->shape[i] = shape[i];
    v->strides[i] = strides[i];
  }
  for (int i = ndim; i < QG_MAX_DIMS; i++) v->shape[i] = v->strides[i] = 0;
  v->offset = offset;
  qg_status st = fix_quantizer_axis(v, new_axis, op);
  if (st != QG_OK) {
    qg_tensor_release(v);
    return st;
  }
  *out = v;
  return QG_OK;
}

/* ---- view / reshape --------------------------------------------------------------------- */

/* at::infer_size: resolves one -1. */
static qg_status infer_size(const char *op, int ndim, const int64_t *shape, int64_t numel, int64_t *res) {
  char buf[SHAPE_BUF];
  if (ndim < 0 || ndim > QG_MAX_DIMS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: rank %d is outside 0..%d", op, ndim, QG_MAX_DIMS);
  int64_t newsize = 1;
  int infer = -1;
  for (int d = 0; d < ndim; d++) {
    res[d] = shape[d];
    if (shape[d] == -1) {
      if (infer >= 0)
        return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: only one dimension can be inferred", op);
      infer = d;
    } else if (shape[d] >= 0) {
      newsize *= shape[d];
    } else {
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: invalid shape dimension %lld", op,
                          (long long)shape[d]);
    }
  }
  if (numel == newsize || (infer >= 0 && newsize > 0 && numel % newsize == 0)) {
    if (infer >= 0) {
      if (newsize == 0)
        return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                            "%s: cannot reshape tensor of 0 elements into shape %s because the "
                            "unspecified dimension size -1 can be any value and is ambiguous",
                            op, qg_shape_str(ndim, shape, buf, sizeof buf));
      res[infer] = numel / newsize;
    }
    return QG_OK;
  }
  return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: shape '%s' is invalid for input of size %lld", op,
                      qg_shape_str(ndim, shape, buf, sizeof buf), (long long)numel);
}

/* at::detail::computeStride: strides that make `newshape` a view of t, or 0 if impossible. */
static int compute_stride(const qg_tensor *t, int nd, const int64_t *newshape, int64_t *newstride) {
  if (t->ndim == 0) {
    for (int i = 0; i < nd; i++) newstride[i] = 1;
    return 1;
  }
  int64_t numel = qg_tensor_numel(t);
  if (numel == 0 && nd == t->ndim && memcmp(newshape, t->shape, (size_t)nd * sizeof *newshape) == 0) {
    memcpy(newstride, t->strides, (size_t)nd * sizeof *newstride);
    return 1;
  }
  if (numel == 0) {
    for (int d = nd - 1; d >= 0; d--)
      newstride[d] = d == nd - 1 ? 1 : (newshape[d + 1] > 1 ? newshape[d + 1] : 1) * newstride[d + 1];
    return 1;
  }
  int view_d = nd - 1;
  int64_t chunk_base_stride = t->strides[t->ndim - 1];
  int64_t tensor_numel = 1, view_numel = 1;
  for (int td = t->ndim - 1; td >= 0; td--) {
    tensor_numel *= t->shape[td];
    if (td == 0 || (t->shape[td - 1] != 1 && t->strides[td - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || newshape[view_d] == 1)) {
        newstride[view_d] = view_numel * chunk_base_stride;
        view_numel *= newshape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return 0;
      if (td > 0) {
        chunk_base_stride = t->strides[td - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

/* Where t's channel axis lands in a reshape to newshape: the dim with the same size and the
 * same number of elements before it. -1 if none. */
static int reshape_axis(const qg_tensor *t, int nd, const int64_t *newshape) {
  int axis = channel_axis(t);
  if (axis < 0) return -1;
  int64_t before = 1;
  for (int i = 0; i < axis; i++) before *= t->shape[i];
  int64_t p = 1;
  for (int j = 0; j < nd; j++) {
    if (p == before && newshape[j] == t->shape[axis]) return j;
    p *= newshape[j];
  }
  return -1;
}

static qg_status view_impl(qg_tensor *t, int ndim, const int64_t *shape, int allow_copy, const char *op,
                           qg_tensor **out) {
  int64_t res[QG_MAX_DIMS], strides[QG_MAX_DIMS];
  QG_TRY(infer_size(op, ndim, shape, qg_tensor_numel(t), res));
  if (compute_stride(t, ndim, res, strides))
    return make_view(t, ndim, res, strides, t->offset, reshape_axis(t, ndim, res), op, out);
  if (!allow_copy)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "view size is not compatible with input tensor's size and stride (at least one "
                        "dimension spans across two contiguous subspaces). Use .reshape(...) instead.");
  /* reshape: a contiguous clone viewed with the new shape (PyTorch's _unsafe_view(clone)). */
  qg_tensor *c;
  QG_TRY(qg_tensor_contiguous(t, &c));
  qg_status st = view_impl(c, ndim, res, 0, op, out);
  qg_tensor_release(c);
  return st;
}

qg_status qg_tensor_view(qg_tensor *t, int ndim, const int64_t *shape, qg_tensor **out) {
  return view_impl(t, ndim, shape, 0, "view", out);
}

qg_status qg_tensor_reshape(qg_tensor *t, int ndim, const int64_t *shape, qg_tensor **out) {
  return view_impl(t, ndim, shape, 1, "reshape", out);
}

/* ---- dim permutations ------------------------------------------------------------------- */

qg_status qg_tensor_transpose(qg_tensor *t, int d0, int d1, qg_tensor **out) {
  int a, b;
  QG_TRY(qg__wrap_dim(d0, t->ndim, &a));
  QG_TRY(qg__wrap_dim(d1, t->ndim, &b));
  int64_t shape[QG_MAX_DIMS], strides[QG_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  memcpy(strides, t->strides, sizeof strides);
  if (t->ndim > 0) {
    shape[a] = t->shape[b], shape[b] = t->shape[a];
    strides[a] = t->strides[b], strides[b] = t->strides[a];
  }
  int ax = channel_axis(t);
  int nax = ax == a ? b : ax == b ? a : ax;
  return make_view(t, t->ndim, shape, strides, t->offset, nax, "transpose", out);
}

qg_status qg_tensor_permute(qg_tensor *t, int ndim, const int64_t *dims, qg_tensor **out) {
  if (ndim != t->ndim)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "permute(): number of dimensions in the tensor input does not match the length "
                        "of the desired ordering of dimensions i.e. input.dim() = %d is not equal to "
                        "len(dims) = %d",
                        t->ndim, ndim);
  int64_t shape[QG_MAX_DIMS], strides[QG_MAX_DIMS];
  int seen[QG_MAX_DIMS] = {0};
  int ax = channel_axis(t), nax = -1;
  for (int i = 0; i < ndim; i++) {
    int d;
    QG_TRY(qg__wrap_dim(dims[i], t->ndim, &d));
    if (seen[d]) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "permute(): duplicate dims are not allowed.");
    seen[d] = 1;
    shape[i] = t->shape[d];
    strides[i] = t->strides[d];
    if (d == ax) nax = i;
  }
  return make_view(t, ndim, shape, strides, t->offset, nax, "permute", out);
}

/* ---- indexing --------------------------------------------------------------------------- */

qg_status qg_tensor_select(qg_tensor *t, int dim, int64_t index, qg_tensor **out) {
  if (t->ndim == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "select() cannot be applied to a 0-dim tensor.");
  int d;
  QG_TRY(qg__wrap_dim(dim, t->ndim, &d));
  int64_t size = t->shape[d];
  if (index < -size || index >= size) {
    char buf[SHAPE_BUF];
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "select(): index %lld out of range for tensor of size %s at dimension %d",
                        (long long)index, qg_shape_str(t->ndim, t->shape, buf, sizeof buf), d);
  }
  if (index < 0) index += size;
  int64_t shape[QG_MAX_DIMS], strides[QG_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (i == d) continue;
    shape[n] = t->shape[i];
    strides[n++] = t->strides[i];
  }
  int ax = channel_axis(t);
  int nax = ax < d ? ax : ax == d ? -1 : ax - 1;
  return make_view(t, n, shape, strides, t->offset + index * t->strides[d], nax, "select", out);
}

qg_status qg_tensor_slice(qg_tensor *t, int dim, int64_t start, int64_t end, int64_t step, qg_tensor **out) {
  if (t->ndim == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "slice() cannot be applied to a 0-dim tensor.");
  int d;
  QG_TRY(qg__wrap_dim(dim, t->ndim, &d));
  if (step <= 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "slice step must be positive");
  int64_t size = t->shape[d];
  /* at::slice: wrap negatives once, then clamp into [0, size] with end >= start. */
  if (start < 0) start += size;
  if (end < 0) end += size;
  if (start < 0) start = 0;
  else if (start >= size) start = size;
  if (end < start) end = start;
  else if (end >= size) end = size;
  int64_t shape[QG_MAX_DIMS], strides[QG_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  memcpy(strides, t->strides, sizeof strides);
  shape[d] = (end - start + step - 1) / step;
  strides[d] = t->strides[d] * step;
  int ax = channel_axis(t);
  int nax = ax == d && shape[d] != size ? -1 : ax;
  return make_view(t, t->ndim, shape, strides, t->offset + start * t->strides[d], nax, "slice", out);
}

/* ---- expand / squeeze / unsqueeze / flatten --------------------------------------------- */

qg_status qg__expand_geometry(const qg_tensor *t, int ndim, const int64_t *sizes, int64_t *shape,
                              int64_t *strides) {
  char buf[SHAPE_BUF], buf2[SHAPE_BUF];
  if (ndim > QG_MAX_DIMS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "expand: rank %d exceeds %d", ndim, QG_MAX_DIMS);
  if (ndim < t->ndim)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "expand(torch.%sTensor{%s}, size=%s): the number of sizes provided (%d) must be "
                        "greater or equal to the number of dimensions in the tensor (%d)",
                        qg_dtype_info(t->dtype)->ir_name, qg_shape_str(t->ndim, t->shape, buf, sizeof buf),
                        qg_shape_str(ndim, sizes, buf2, sizeof buf2), ndim, t->ndim);
  for (int i = ndim - 1; i >= 0; i--) {
    int off = ndim - 1 - i;
    int dim = t->ndim - 1 - off;
    int64_t size = dim >= 0 ? t->shape[dim] : 1;
    int64_t stride = dim >= 0 ? t->strides[dim] : (i + 1 < ndim ? shape[i + 1] * strides[i + 1] : 1);
    int64_t target = sizes[i];
    if (target == -1) {
      if (dim < 0)
        return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                            "The expanded size of the tensor (-1) isn't allowed in a leading, "
                            "non-existing dimension %d",
                            i);
      target = size;
    }
    if (target < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "expand: invalid size %lld at dimension %d",
                          (long long)target, i);
    if (size != target) {
      if (size != 1)
        return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                            "The expanded size of the tensor (%lld) must match the existing size (%lld) at "
                            "non-singleton dimension %d.  Target sizes: %s.  Tensor sizes: %s",
                            (long long)target, (long long)size, i, qg_shape_str(ndim, sizes, buf, sizeof buf),
                            qg_shape_str(t->ndim, t->shape, buf2, sizeof buf2));
      size = target;
      stride = 0;
    }
    shape[i] = size;
    strides[i] = stride;
  }
  return QG_OK;
}

qg_status qg_tensor_expand(qg_tensor *t, int ndim, const int64_t *shape, qg_tensor **out) {
  int64_t s[QG_MAX_DIMS], st[QG_MAX_DIMS];
  QG_TRY(qg__expand_geometry(t, ndim, shape, s, st));
  int ax = channel_axis(t);
  int nax = ax < 0 ? -1 : ax + (ndim - t->ndim);
  if (ax >= 0 && s[nax] != t->shape[ax]) nax = -1;
  return make_view(t, ndim, s, st, t->offset, nax, "expand", out);
}

qg_status qg_tensor_squeeze(qg_tensor *t, int dim, qg_tensor **out) {
  int d = -1;
  if (dim != QG_ALL_DIMS) QG_TRY(qg__wrap_dim(dim, t->ndim, &d));
  int64_t shape[QG_MAX_DIMS], strides[QG_MAX_DIMS];
  int n = 0, ax = channel_axis(t), nax = -1;
  for (int i = 0; i < t->ndim; i++) {
    int drop = t->shape[i] == 1 && (dim == QG_ALL_DIMS || i == d);
    if (drop) continue;
    if (i == ax) nax = n;
    shape[n] = t->shape[i];
    strides[n++] = t->strides[i];
  }
  return make_view(t, n, shape, strides, t->offset, nax, "squeeze", out);
}

qg_status qg_tensor_unsqueeze(qg_tensor *t, int dim, qg_tensor **out) {
  int d;
  QG_TRY(qg__wrap_dim(dim, t->ndim + 1, &d));
  if (t->ndim + 1 > QG_MAX_DIMS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "unsqueeze: rank %d exceeds %d", t->ndim + 1, QG_MAX_DIMS);
  int64_t shape[QG_MAX_DIMS], strides[QG_MAX_DIMS];
  for (int i = 0, j = 0; i <= t->ndim; i++) {
    if (i == d) {
      shape[i] = 1;
      strides[i] = d >= t->ndim ? 1 : t->shape[d] * t->strides[d];
    } else {
      shape[i] = t->shape[j];
      strides[i] = t->strides[j++];
    }
  }
  int ax = channel_axis(t);
  int nax = ax < d ? ax : ax + 1;
  return make_view(t, t->ndim + 1, shape, strides, t->offset, nax, "unsqueeze", out);
}

qg_status qg_tensor_flatten(qg_tensor *t, int start_dim, int end_dim, qg_tensor **out) {
  if (t->ndim == 0) {
    int64_t one = 1;
    return view_impl(t, 1, &one, 1, "flatten", out);
  }
  int s, e;
  QG_TRY(qg__wrap_dim(start_dim, t->ndim, &s));
  QG_TRY(qg__wrap_dim(end_dim, t->ndim, &e));
  if (s > e)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "flatten() has invalid args: start_dim cannot come after end_dim");
  if (s == e) { /* PyTorch returns the input itself */
    qg_tensor_retain(t);
    *out = t;
    return QG_OK;
  }
  int64_t shape[QG_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < s; i++) shape[n++] = t->shape[i];
  int64_t p = 1;
  for (int i = s; i <= e; i++) p *= t->shape[i];
  shape[n++] = p;
  for (int i = e + 1; i < t->ndim; i++) shape[n++] = t->shape[i];
  return view_impl(t, n, shape, 1, "flatten", out);
}
