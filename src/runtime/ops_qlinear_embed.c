/* quantized::embedding_bag_* / embedding_* ops -> ops/cpu/qembedding.h. The bit rate comes from
 * the op name ("byte" or "4bit"). */
#include <string.h>

#include "ops/cpu/qembedding.h"
#include "runtime/ops_qlinear_impl.h"
#include "tensor/tensor_ops.h"

static int bits_of(const qg_op_call *c) { return strstr(qg__qlin_op_name(c), "4bit") ? 4 : 8; }

/* embedding_bag_byte_prepack(weight) / embedding_bag_4bit_prepack(weight, optimized_qparams,
 * nbins, ratio): optimized_qparams (a search for better row ranges) is not implemented. */
qg_status qg__qlin_embedding_prepack(qg_op_call *c) {
  qg_tensor *w, *y;
  QG_TRY(qg_arg_tensor(c, 0, &w));
  if (c->nargs > 1) {
    int optimized = 0;
    QG_TRY(qg_arg_bool(c, 1, &optimized));
    if (optimized)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: optimized_qparams=True is not supported", qg__qlin_op_name(c));
  }
  QG_TRY(qg_cpu_embedding_bag_prepack(bits_of(c), w, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

qg_status qg__qlin_embedding_unpack(qg_op_call *c) {
  qg_tensor *w, *y;
  QG_TRY(qg_arg_tensor(c, 0, &w));
  QG_TRY(qg_cpu_embedding_bag_unpack(bits_of(c), w, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* (weight, indices, offsets?, scale_grad_by_freq, mode, pruned_weights, per_sample_weights?,
 * compressed_indices_mapping?, include_last_offset) with the weight already read. */
static qg_status bag(qg_op_call *c, int bits, qg_tensor *packed) {
  qg_embedding_bag_args a;
  memset(&a, 0, sizeof a);
  int scale_grad = 0, pruned = 0, last = 0;
  QG_TRY(qg_arg_tensor(c, 1, &a.indices));
  QG_TRY(qg_arg_opt_tensor(c, 2, &a.offsets));
  QG_TRY(qg_arg_bool(c, 3, &scale_grad));
  QG_TRY(qg_arg_int(c, 4, &a.mode));
  QG_TRY(qg_arg_bool(c, 5, &pruned));
  QG_TRY(qg_arg_opt_tensor(c, 6, &a.per_sample_weights));
  QG_TRY(qg_arg_bool(c, 8, &last));
  if (pruned || !qg_arg_is_none(c, 7))
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: pruned weights (compressed_indices_mapping) are not supported",
                        qg__qlin_op_name(c));
  a.include_last_offset = last;
  qg_tensor *y;
  QG_TRY(qg_cpu_embedding_bag_rowwise(bits, packed, &a, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

qg_status qg__qlin_embedding_bag_rowwise(qg_op_call *c) {
  qg_tensor *w;
  QG_TRY(qg_arg_tensor(c, 0, &w));
  return bag(c, bits_of(c), w);
}

static qg_status packed_table(qg_op_call *c, qg_tensor **w) {
  const qg_ival *obj;
  qg_packed_embedding p;
  QG_TRY(qg__qlin_arg_object(c, 0, &obj));
  QG_TRY(qg_packed_embedding_get(qg__qlin_op_name(c), obj, &p));
  if (p.bit_rate != bits_of(c))
    return qg_set_error(QG_STATUS_TYPE, "%s: the packed params hold a %lld-bit table", qg__qlin_op_name(c),
                        (long long)p.bit_rate);
  *w = p.weight;
  return QG_OK;
}

/* embedding_bag_byte / embedding_bag_4bit on an EmbeddingPackedParamsBase. */
qg_status qg__qlin_embedding_bag_packed(qg_op_call *c) {
  qg_tensor *w;
  QG_TRY(packed_table(c, &w));
  return bag(c, bits_of(c), w);
}

/* embedding_byte / embedding_4bit(weight, indices, pruned_weights): one bag per index, shaped
 * indices.shape + [D]. */
qg_status qg__qlin_embedding_lookup(qg_op_call *c) {
  qg_tensor *w, *idx, *idx2 = NULL, *y = NULL, *out = NULL;
  int pruned = 0;
  QG_TRY(packed_table(c, &w));
  QG_TRY(qg_arg_tensor(c, 1, &idx));
  QG_TRY(qg_arg_bool(c, 2, &pruned));
  if (pruned)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: pruned weights are not supported", qg__qlin_op_name(c));
  if (idx->ndim >= QG_MAX_DIMS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: indices have too many dims (%d)", qg__qlin_op_name(c),
                        idx->ndim);
  int64_t flat[2] = {qg_tensor_numel(idx), 1};
  qg_embedding_bag_args a;
  memset(&a, 0, sizeof a);
  qg_status st = qg_tensor_reshape(idx, 2, flat, &idx2);
  if (st == QG_OK) {
    a.indices = idx2;
    st = qg_cpu_embedding_bag_rowwise(bits_of(c), w, &a, &y);
  }
  if (st == QG_OK) {
    int64_t shape[QG_MAX_DIMS];
    memcpy(shape, idx->shape, (size_t)idx->ndim * sizeof *shape);
    shape[idx->ndim] = y->shape[1];
    st = qg_tensor_reshape(y, idx->ndim + 1, shape, &out);
  }
  qg_tensor_release(idx2);
  qg_tensor_release(y);
  if (st != QG_OK) return st;
  qg_out_tensor(c, 0, out);
  return QG_OK;
}
