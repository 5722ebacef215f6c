/* Native methods of the packed params classes and their table (packed_params.h). */
#include <string.h>

#include "ops/cpu/quant_engine.h"
#include "quant/packed_params.h"
#include "tensor/tensor_ops.h"

/* A tuple of n values (ownership moves in, also on failure). */
static qg_status tuple_of(qg_ival *items, size_t n, qg_ival *out) {
  qg_status st = qg_ival_list_new(QG_IVAL_TUPLE, n, out);
  for (size_t i = 0; i < n; i++) {
    if (st == QG_OK) st = qg_ival_list_push(out, items[i]);
    else qg_ival_release(&items[i]);
  }
  if (st != QG_OK) qg_ival_release(out);
  return st;
}

static qg_ival tensor_or_none(qg_tensor *t) {
  if (!t) return qg_ival_none();
  qg_tensor_retain(t);
  return qg_ival_tensor(t);
}

static void release_tensor(void *owner) { qg_tensor_release(owner); }

/* The weight unpack() returns. FBGEMM keeps weight scales as float, so its unpack gives the
 * weight back with float32-rounded scales (0.02 -> 0.019999999552965164); QNNPACK returns the
 * original tensor. Under FBGEMM: a tensor sharing w's bytes with the rounded quantizer. */
static qg_status unpacked_weight(qg_tensor *w, qg_tensor **out) {
  if (qg_quant_engine_get() != QG_ENGINE_FBGEMM || !w->quantizer) {
    qg_tensor_retain(w);
    *out = w;
    return QG_OK;
  }
  const qg_quantizer *q = w->quantizer;
  qg_quantizer *rq = NULL;
  qg_tensor *wc = NULL, *v = NULL, *sf = NULL, *sd = NULL;
  qg_status st = QG_OK;
  if (q->scheme == QG_QSCHEME_PER_TENSOR_AFFINE) {
    st = qg_quantizer_per_tensor((double)(float)q->scale, q->zero_point, &rq);
  } else {
    st = qg_tensor_to_dtype(q->scales, QG_DTYPE_F32, &sf);
    if (st == QG_OK) st = qg_tensor_to_dtype(sf, QG_DTYPE_F64, &sd);
    if (st == QG_OK) st = qg_quantizer_per_channel(sd, q->zero_points, q->axis, &rq);
  }
  if (st == QG_OK) st = qg_tensor_contiguous(w, &wc);
  if (st == QG_OK) {
    qg_tensor_retain(wc);
    st = qg_tensor_wrap(wc->dtype, wc->ndim, wc->shape, qg_tensor_data(wc), qg_tensor_nbytes(wc), release_tensor, wc, &v);
    if (st != QG_OK) qg_tensor_release(wc);
  }
  if (st == QG_OK) st = qg_tensor_set_quantizer(v, rq);
  qg_quantizer_release(rq);
  qg_tensor_release(wc);
  qg_tensor_release(sf);
  qg_tensor_release(sd);
  if (st != QG_OK) {
    qg_tensor_release(v);
    return st;
  }
  *out = v;
  return QG_OK;
}

/* ---- LinearPackedParamsBase ------------------------------------------------------------------ */

/* (weight, bias): the quantized weight as stored; an fp16 weight back in float32, as PyTorch's
 * PackedLinearWeightFp16::unpack. */
static qg_status linear_unpack(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args, (void)nargs;
  qg_packed_linear p;
  QG_TRY(qg_packed_linear_get("LinearPackedParamsBase.unpack", self, &p));
  qg_tensor *w;
  if (p.fp16) QG_TRY(qg_tensor_to_dtype(p.weight, QG_DTYPE_F32, &w));
  else QG_TRY(unpacked_weight(p.weight, &w));
  qg_ival items[2] = {qg_ival_tensor(w), tensor_or_none(p.bias)};
  return tuple_of(items, 2, out);
}

static qg_status linear_bias(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args, (void)nargs;
  qg_packed_linear p;
  QG_TRY(qg_packed_linear_get("LinearPackedParamsBase.bias", self, &p));
  *out = tensor_or_none(p.bias);
  return QG_OK;
}

static const qg_native_method_impl k_linear_methods[] = {
    {"__getstate__", "__getstate__() -> (Tensor, Tensor?)", linear_unpack},
    {"unpack", "unpack() -> (Tensor, Tensor?)", linear_unpack},
    {"bias", "bias() -> Tensor?", linear_bias},
};

/* ---- Conv{2,3}dPackedParamsBase -------------------------------------------------------------- */

static qg_status conv_of(const char *what, qg_ival *self, qg_packed_conv *p) {
  int kind = qg_packed_kind_of(self->kind == QG_IVAL_OBJECT ? self->u.obj->type : NULL);
  return qg_packed_conv_get(what, self, kind == QG_PACKED_CONV3D ? QG_PACKED_CONV3D : QG_PACKED_CONV2D, p);
}

static qg_status conv_unpack(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args, (void)nargs;
  qg_packed_conv p;
  QG_TRY(conv_of("ConvPackedParamsBase.unpack", self, &p));
  qg_tensor *w;
  QG_TRY(unpacked_weight(p.weight, &w));
  qg_ival items[2] = {qg_ival_tensor(w), tensor_or_none(p.bias)};
  return tuple_of(items, 2, out);
}

/* PyTorch's version "2" state: ("2", [config (int16: spatial dims, stride, padding, dilation,
 * output_padding, groups, transpose), weight], [bias]). */
static qg_status conv_getstate(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args, (void)nargs;
  qg_packed_conv p;
  QG_TRY(conv_of("ConvPackedParamsBase.__getstate__", self, &p));
  int16_t cfg[15];
  int n = 0, k = p.nspatial;
  cfg[n++] = (int16_t)k;
  for (int d = 0; d < k; d++) cfg[n++] = (int16_t)p.stride[d];
  for (int d = 0; d < k; d++) cfg[n++] = (int16_t)p.padding[d];
  for (int d = 0; d < k; d++) cfg[n++] = (int16_t)p.dilation[d];
  for (int d = 0; d < k; d++) cfg[n++] = (int16_t)p.output_padding[d];
  cfg[n++] = (int16_t)p.groups;
  cfg[n++] = (int16_t)p.transposed;
  int64_t shape[1] = {n};
  qg_tensor *ct;
  QG_TRY(qg_tensor_from_data(QG_DTYPE_I16, 1, shape, cfg, &ct));
  qg_ival version = qg_ival_none(), tensors = qg_ival_none(), optional = qg_ival_none();
  qg_status st = qg_ival_string_new("2", 1, &version);
  if (st == QG_OK) st = qg_ival_list_new(QG_IVAL_LIST, 2, &tensors);
  if (st == QG_OK) {
    st = qg_ival_list_push(&tensors, qg_ival_tensor(ct));
    ct = NULL;
  }
  if (st == QG_OK) st = qg_ival_list_push(&tensors, tensor_or_none(p.weight));
  if (st == QG_OK) st = qg_ival_list_new(QG_IVAL_LIST, 1, &optional);
  if (st == QG_OK) st = qg_ival_list_push(&optional, tensor_or_none(p.bias));
  qg_tensor_release(ct);
  if (st != QG_OK) {
    qg_ival_release(&version);
    qg_ival_release(&tensors);
    qg_ival_release(&optional);
    return st;
  }
  qg_ival items[3] = {version, tensors, optional};
  return tuple_of(items, 3, out);
}

static qg_status conv_weight(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args, (void)nargs;
  qg_packed_conv p;
  QG_TRY(conv_of("ConvPackedParamsBase.weight", self, &p));
  *out = tensor_or_none(p.weight);
  return QG_OK;
}

static qg_status conv_bias(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args, (void)nargs;
  qg_packed_conv p;
  QG_TRY(conv_of("ConvPackedParamsBase.bias", self, &p));
  *out = tensor_or_none(p.bias);
  return QG_OK;
}

#define CONV_LIST_METHOD(field)                                                                   \
  static qg_status conv_##field(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) { \
    (void)args, (void)nargs;                                                                      \
    qg_packed_conv p;                                                                             \
    QG_TRY(conv_of("ConvPackedParamsBase." #field, self, &p));                                    \
    return qg__packed_int_list(p.field, p.nspatial, out);                                         \
  }
CONV_LIST_METHOD(stride)
CONV_LIST_METHOD(padding)
CONV_LIST_METHOD(output_padding)
CONV_LIST_METHOD(dilation)
#undef CONV_LIST_METHOD

static qg_status conv_groups(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args, (void)nargs;
  qg_packed_conv p;
  QG_TRY(conv_of("ConvPackedParamsBase.groups", self, &p));
  *out = qg_ival_int(p.groups);
  return QG_OK;
}

static qg_status conv_transpose(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args, (void)nargs;
  qg_packed_conv p;
  QG_TRY(conv_of("ConvPackedParamsBase.transpose", self, &p));
  *out = qg_ival_bool(p.transposed);
  return QG_OK;
}

static const qg_native_method_impl k_conv_methods[] = {
    {"__getstate__", "__getstate__() -> (str, Tensor[], Tensor?[])", conv_getstate},
    {"unpack", "unpack() -> (Tensor, Tensor?)", conv_unpack},
    {"weight", "weight() -> Tensor", conv_weight},
    {"bias", "bias() -> Tensor?", conv_bias},
    {"stride", "stride() -> int[]", conv_stride},
    {"padding", "padding() -> int[]", conv_padding},
    {"output_padding", "output_padding() -> int[]", conv_output_padding},
    {"dilation", "dilation() -> int[]", conv_dilation},
    {"groups", "groups() -> int", conv_groups},
    {"transpose", "transpose() -> bool", conv_transpose},
};

/* ---- EmbeddingPackedParamsBase --------------------------------------------------------------- */

#define EMBEDDING_VERSION 1

static qg_status embedding_unpack(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args, (void)nargs;
  qg_packed_embedding p;
  QG_TRY(qg_packed_embedding_get("EmbeddingPackedParamsBase.unpack", self, &p));
  *out = tensor_or_none(p.weight);
  return QG_OK;
}

/* (version, [packed weight], [], [bit_rate]), the shape of PyTorch's EmbeddingParamsSerializationType. */
static qg_status embedding_getstate(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args, (void)nargs;
  qg_packed_embedding p;
  QG_TRY(qg_packed_embedding_get("EmbeddingPackedParamsBase.__getstate__", self, &p));
  qg_ival tensors = qg_ival_none(), doubles = qg_ival_none(), longs = qg_ival_none();
  qg_status st = qg_ival_list_new(QG_IVAL_LIST, 1, &tensors);
  if (st == QG_OK) st = qg_ival_list_push(&tensors, tensor_or_none(p.weight));
  if (st == QG_OK) st = qg_ival_list_new(QG_IVAL_LIST, 0, &doubles);
  if (st == QG_OK) st = qg__packed_int_list(&p.bit_rate, 1, &longs);
  if (st != QG_OK) {
    qg_ival_release(&tensors);
    qg_ival_release(&doubles);
    return st;
  }
  qg_ival items[4] = {qg_ival_int(EMBEDDING_VERSION), tensors, doubles, longs};
  return tuple_of(items, 4, out);
}

static qg_status embedding_bit_rate(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)args, (void)nargs;
  qg_packed_embedding p;
  QG_TRY(qg_packed_embedding_get("EmbeddingPackedParamsBase.bit_rate", self, &p));
  *out = qg_ival_int(p.bit_rate);
  return QG_OK;
}

static qg_status embedding_version(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out) {
  (void)self, (void)args, (void)nargs;
  *out = qg_ival_int(EMBEDDING_VERSION);
  return QG_OK;
}

static const qg_native_method_impl k_embedding_methods[] = {
    {"__getstate__", "__getstate__() -> (int, Tensor[], float[], int[])", embedding_getstate},
    {"unpack", "unpack() -> Tensor", embedding_unpack},
    {"bit_rate", "bit_rate() -> int", embedding_bit_rate},
    {"version", "version() -> int", embedding_version},
};

#define N(a) (sizeof a / sizeof a[0])
static const qg_native_class_impl k_classes[] = {
    {QG_PACKED_PREFIX "LinearPackedParamsBase", k_linear_methods, N(k_linear_methods)},
    {QG_PACKED_PREFIX "Conv2dPackedParamsBase", k_conv_methods, N(k_conv_methods)},
    {QG_PACKED_PREFIX "Conv3dPackedParamsBase", k_conv_methods, N(k_conv_methods)},
    {QG_PACKED_PREFIX "EmbeddingPackedParamsBase", k_embedding_methods, N(k_embedding_methods)},
};
#undef N

const qg_native_class_impl *qg__native_packed_params_classes(size_t *n) {
  *n = sizeof k_classes / sizeof k_classes[0];
  return k_classes;
}
