/* Embedding and embedding_bag forward passes (see embedding.h). */
#include "ops/cpu/embedding.h"

#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/linalg_common.h"

static int is_index_dtype(qg_dtype d) { return d == QG_DTYPE_I64 || d == QG_DTYPE_I32; }

static int64_t ld_index(const void *p, qg_dtype d, int64_t i) {
  return d == QG_DTYPE_I64 ? ((const int64_t *)p)[i] : (int64_t)((const int32_t *)p)[i];
}

static qg_status check_weight(const char *op, const qg_tensor *w) {
  char s[QG_SHAPE_STR_MAX];
  QG_TRY(qg__check_float(op, "weight", w));
  if (w->ndim != 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: 'weight' must be 2-D, got size %s", op,
                        qg_shape_str(w->ndim, w->shape, s, QG_SHAPE_STR_MAX));
  return QG_OK;
}

static qg_status check_index_dtype(const char *op, const char *what, const qg_tensor *t) {
  if (is_index_dtype(t->dtype)) return QG_OK;
  return qg_set_error(QG_STATUS_UNSUPPORTED,
                      "%s: Expected tensor for argument '%s' to have one of the following scalar "
                      "types: Long, Int; but got %s instead",
                      op, what, qg_dtype_info(t->dtype)->ir_name);
}

qg_status qg_cpu_embedding(qg_tensor *weight, qg_tensor *indices, qg_tensor **out) {
  *out = NULL;
  QG_TRY(check_weight("embedding", weight));
  QG_TRY(check_index_dtype("embedding", "indices", indices));
  if (indices->ndim + 1 > QG_MAX_DIMS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "embedding: indices have too many dims (%d)",
                        indices->ndim);
  const int64_t rows = weight->shape[0], D = weight->shape[1];
  int64_t shape[QG_MAX_DIMS];
  memcpy(shape, indices->shape, sizeof(int64_t) * (size_t)indices->ndim);
  shape[indices->ndim] = D;
  qg_tensor *w = NULL, *ix = NULL, *y = NULL;
  qg_status st = qg_tensor_contiguous(weight, &w);
  if (st == QG_OK) st = qg_tensor_contiguous(indices, &ix);
  if (st == QG_OK) st = qg_tensor_create(weight->dtype, indices->ndim + 1, shape, &y);
  if (st == QG_OK) {
    const size_t row_bytes = (size_t)D * qg_dtype_info(weight->dtype)->size;
    const int64_t n = qg_tensor_numel(ix);
    const void *id = qg_tensor_data(ix);
    for (int64_t i = 0; i < n; i++) {
      int64_t r = ld_index(id, ix->dtype, i);
      if (r < 0 || r >= rows) {
        st = qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "embedding: index out of range in self (index %lld, %lld embeddings)",
                          (long long)r, (long long)rows);
        break;
      }
      if (row_bytes)
        memcpy((char *)qg_tensor_data(y) + (size_t)i * row_bytes,
               (const char *)qg_tensor_data(w) + (size_t)r * row_bytes, row_bytes);
    }
  }
  qg_tensor_release(w);
  qg_tensor_release(ix);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}

/* Validates the bag layout; fills *nbags and the bag bounds function's inputs. */
static qg_status check_bags(const qg_tensor *indices, const qg_tensor *offsets,
                            int include_last_offset, const int64_t *off, int64_t noff,
                            int64_t *nbags) {
  char s[QG_SHAPE_STR_MAX];
  const int64_t n = qg_tensor_numel(indices);
  if (indices->ndim == 2) {
    if (offsets)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "embedding_bag: if input is 2D, then offsets has to be None, as input "
                          "is treated is a mini-batch of fixed length sequences");
    *nbags = indices->shape[0];
    return QG_OK;
  }
  if (indices->ndim != 1)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of size %s",
                        qg_shape_str(indices->ndim, indices->shape, s, QG_SHAPE_STR_MAX));
  if (!offsets || offsets->ndim != 1)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "embedding_bag: offsets has to be a 1D Tensor%s",
                        offsets ? "" : " but got None");
  if (include_last_offset && noff < 1)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "embedding_bag: include_last_offset: number of offset should be at least 1");
  if (noff > 0 && off[0] != 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has "
                        "to start from position 0. However, got %lld",
                        (long long)off[0]);
  for (int64_t i = 0; i < noff; i++)
    if (off[i] > n || (i > 0 && off[i] < off[i - 1]))
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "embedding_bag: offsets must be non-decreasing and at most the number "
                          "of indices (%lld), but offsets[%lld] = %lld",
                          (long long)n, (long long)i, (long long)off[i]);
  *nbags = include_last_offset ? noff - 1 : noff;
  return QG_OK;
}

qg_status qg_cpu_embedding_bag(qg_tensor *weight, qg_tensor *indices, qg_tensor *offsets,
                               qg_embedding_bag_mode mode, qg_tensor *per_sample_weights,
                               int include_last_offset, int64_t padding_idx, qg_tensor **out) {
  static const char *const mode_names[] = {"sum", "mean", "max"};
  char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX];
  *out = NULL;
  const char *op = "embedding_bag";
  QG_TRY(check_weight(op, weight));
  QG_TRY(check_index_dtype(op, "indices", indices));
  if (offsets) QG_TRY(check_index_dtype(op, "offsets", offsets));
  if ((int)mode < 0 || (int)mode > 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "embedding_bag: unknown mode %d", (int)mode);
  if (per_sample_weights) {
    if (mode != QG_EMBEDDING_BAG_SUM)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "embedding_bag: per_sample_weights was not None. per_sample_weights is "
                          "only supported for mode='sum' (got mode='%s'). Please open a feature "
                          "request on GitHub.",
                          mode_names[mode]);
    QG_TRY(qg__check_same_dtype(op, "weight", weight, "per_sample_weights", per_sample_weights));
    int same = per_sample_weights->ndim == indices->ndim;
    for (int i = 0; same && i < indices->ndim; i++)
      same = per_sample_weights->shape[i] == indices->shape[i];
    if (!same)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "embedding_bag: expected per_sample_weights of size %s to match input "
                          "of size %s",
                          qg_shape_str(per_sample_weights->ndim, per_sample_weights->shape, s1, QG_SHAPE_STR_MAX),
                          qg_shape_str(indices->ndim, indices->shape, s2, QG_SHAPE_STR_MAX));
  }
  const int64_t rows = weight->shape[0], D = weight->shape[1];
  const int is64 = weight->dtype == QG_DTYPE_F64;

  qg_tensor *w = NULL, *ix = NULL, *of = NULL, *pw = NULL, *y = NULL;
  int64_t *off = NULL, noff = 0, nbags = 0;
  qg_status st = qg_tensor_contiguous(weight, &w);
  if (st == QG_OK) st = qg_tensor_contiguous(indices, &ix);
  if (st == QG_OK && offsets) st = qg_tensor_contiguous(offsets, &of);
  if (st == QG_OK && per_sample_weights) st = qg_tensor_contiguous(per_sample_weights, &pw);
  if (st == QG_OK && of) {
    noff = qg_tensor_numel(of);
    off = qg__calloc(noff > 0 ? (size_t)noff : 1, sizeof(int64_t));
    if (!off) st = qg_oom("embedding_bag: offsets");
    for (int64_t i = 0; off && i < noff; i++) off[i] = ld_index(qg_tensor_data(of), of->dtype, i);
  }
  if (st == QG_OK) st = check_bags(indices, offsets, include_last_offset, off, noff, &nbags);
  const int64_t n = qg_tensor_numel(indices);
  const void *id = ix ? qg_tensor_data(ix) : NULL;
  for (int64_t i = 0; st == QG_OK && i < n; i++) {
    int64_t r = ld_index(id, ix->dtype, i);
    if (r < 0 || r >= rows)
      st = qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx "
                        "to be %lld",
                        (long long)r);
  }
  if (st == QG_OK) {
    int64_t shape[2] = {nbags, D};
    st = qg_tensor_create(weight->dtype, 2, shape, &y);
  }
  if (st == QG_OK && nbags > 0 && D > 0) {
    const void *wd = qg_tensor_data(w), *pd = pw ? qg_tensor_data(pw) : NULL;
    void *yd = qg_tensor_data(y);
    const int64_t per_row = indices->ndim == 2 ? indices->shape[1] : 0;
    for (int64_t b = 0; b < nbags; b++) {
      int64_t lo, hi;
      if (indices->ndim == 2) {
        lo = b * per_row;
        hi = lo + per_row;
      } else {
        lo = off[b];
        hi = b + 1 < noff ? off[b + 1] : n;
      }
      int64_t count = 0;
      for (int64_t i = lo; i < hi; i++) {
        int64_t r = ld_index(id, ix->dtype, i);
        if (padding_idx >= 0 && r == padding_idx) continue;
        double sw = pd ? qg__ld(pd, is64, i) : 1.0;
        for (int64_t d = 0; d < D; d++) {
          double v = qg__ld(wd, is64, r * D + d);
          double cur = qg__ld(yd, is64, b * D + d);
          if (mode == QG_EMBEDDING_BAG_MAX)
            qg__st(yd, is64, b * D + d, (count == 0 || v > cur) ? v : cur);
          else
            qg__st(yd, is64, b * D + d, cur + (pd ? sw * v : v));
        }
        count++;
      }
      if (mode == QG_EMBEDDING_BAG_MEAN && count > 0)
        for (int64_t d = 0; d < D; d++)
          qg__st(yd, is64, b * D + d, qg__ld(yd, is64, b * D + d) / (double)count);
    }
  }
  qg__free(off);
  qg_tensor_release(w);
  qg_tensor_release(ix);
  qg_tensor_release(of);
  qg_tensor_release(pw);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}
