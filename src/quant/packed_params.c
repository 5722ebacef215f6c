/* Packed params classes: class definitions, constructors with PyTorch's prepack checks, and
 * typed reading of an object's slots (packed_params.h). */
#include "quant/packed_params.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/qcommon.h"
#include "tensor/tensor_ops.h"

static const char *const k_qualnames[QG_PACKED_KIND_COUNT] = {
    QG_PACKED_PREFIX "LinearPackedParamsBase",
    QG_PACKED_PREFIX "Conv2dPackedParamsBase",
    QG_PACKED_PREFIX "Conv3dPackedParamsBase",
    QG_PACKED_PREFIX "EmbeddingPackedParamsBase",
};

const char *qg_packed_qualname(qg_packed_kind kind) {
  return (unsigned)kind < QG_PACKED_KIND_COUNT ? k_qualnames[kind] : NULL;
}

int qg_packed_kind_of(const qg_type_t *cls) {
  if (!cls || cls->kind != QG_TYPE_CLASS || !cls->qualname) return -1;
  char name[512];
  if (qg_type_demangle(cls->qualname, name, sizeof name) != QG_OK) return -1;
  for (int k = 0; k < QG_PACKED_KIND_COUNT; k++)
    if (strcmp(name, k_qualnames[k]) == 0) return k;
  return -1;
}

/* ---- class definitions --------------------------------------------------------------------- */

typedef enum slot_type { T_TENSOR, T_OPT_TENSOR, T_INT_LIST, T_INT, T_BOOL } slot_type;
typedef struct slot_decl {
  const char *name;
  slot_type type;
} slot_decl;

static const slot_decl k_linear_slots[] = {{"weight", T_TENSOR}, {"bias", T_OPT_TENSOR}};
static const slot_decl k_conv_slots[] = {{"weight", T_TENSOR},         {"bias", T_OPT_TENSOR},
                                         {"stride", T_INT_LIST},       {"padding", T_INT_LIST},
                                         {"output_padding", T_INT_LIST}, {"dilation", T_INT_LIST},
                                         {"groups", T_INT},            {"transpose", T_BOOL}};
static const slot_decl k_embedding_slots[] = {{"weight", T_TENSOR}, {"bit_rate", T_INT}};

static const slot_decl *slots_of(qg_packed_kind kind, size_t *n) {
  switch (kind) {
  case QG_PACKED_LINEAR: *n = sizeof k_linear_slots / sizeof *k_linear_slots; return k_linear_slots;
  case QG_PACKED_CONV2D:
  case QG_PACKED_CONV3D: *n = sizeof k_conv_slots / sizeof *k_conv_slots; return k_conv_slots;
  case QG_PACKED_EMBEDDING: *n = sizeof k_embedding_slots / sizeof *k_embedding_slots; return k_embedding_slots;
  case QG_PACKED_KIND_COUNT: break;
  }
  *n = 0;
  return NULL;
}

static qg_status slot_type_of(qg_cu_t *cu, slot_type t, const qg_type_t **out) {
  switch (t) {
  case T_TENSOR: *out = qg_type_tensor(); return QG_OK;
  case T_OPT_TENSOR: return qg_type_optional(cu, qg_type_tensor(), out);
  case T_INT_LIST: return qg_type_list(cu, qg_type_int(), out);
  case T_INT: *out = qg_type_int(); return QG_OK;
  case T_BOOL: *out = qg_type_bool(); return QG_OK;
  }
  return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "bad packed params slot type");
}

static const qg_native_class_impl *impl_of(qg_packed_kind kind) {
  size_t n;
  const qg_native_class_impl *c = qg__native_packed_params_classes(&n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(c[i].qualname, k_qualnames[kind]) == 0) return &c[i];
  return NULL;
}

/* Idempotent: slots and methods already there are kept (a retry after OOM completes the class). */
qg_status qg_packed_class(qg_cu_t *cu, qg_packed_kind kind, const qg_type_t **out) {
  if ((unsigned)kind >= QG_PACKED_KIND_COUNT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "packed params kind %d is out of range", (int)kind);
  const char *qualname = k_qualnames[kind];
  qg_type_t *cls = qg_cu_find(cu, qualname);
  if (cls && cls->kind != QG_TYPE_CLASS)
    return qg_set_error(QG_STATUS_TYPE, "%s names a %s, not a packed params class", qualname, cls->str);
  if (!cls || cls->is_opaque) QG_TRY(qg_cu_define_class(cu, qualname, 0, &cls));
  size_t n;
  const slot_decl *decl = slots_of(kind, &n);
  for (size_t i = 0; i < n; i++) {
    const qg_type_t *t;
    QG_TRY(slot_type_of(cu, decl[i].type, &t));
    long at = qg_class_find_slot(cls, decl[i].name);
    if (at < 0) {
      QG_TRY(qg_class_add_slot(cls, decl[i].name, t, QG_SLOT_ATTRIBUTE));
    } else if (!qg_type_equal(cls->slots[at].type, t)) {
      return qg_set_error(QG_STATUS_TYPE, "%s: slot '%s' has type %s, expected %s", qualname, decl[i].name,
                          cls->slots[at].type->str, t->str);
    }
  }
  const qg_native_class_impl *impl = impl_of(kind);
  for (size_t i = 0; impl && i < impl->nmethods; i++)
    if (!qg_class_find_method(cls, impl->methods[i].name))
      QG_TRY(qg_class_add_native_method(cls, impl->methods[i].name, impl->methods[i].signature));
  *out = cls;
  return QG_OK;
}

/* ---- construction --------------------------------------------------------------------------- */

qg_status qg__packed_int_list(const int64_t *v, int n, qg_ival *out) {
  QG_TRY(qg_ival_list_new(QG_IVAL_LIST, (size_t)n, out));
  for (int i = 0; i < n; i++) {
    qg_status st = qg_ival_list_push(out, qg_ival_int(v[i]));
    if (st != QG_OK) {
      qg_ival_release(out);
      return st;
    }
  }
  return QG_OK;
}

static qg_status put_tensor(qg_ival *obj, const char *slot, qg_tensor *t) {
  if (!t) return qg_ival_object_put(obj, slot, qg_ival_none());
  qg_tensor_retain(t);
  return qg_ival_object_put(obj, slot, qg_ival_tensor(t));
}

static qg_status put_list(qg_ival *obj, const char *slot, const int64_t *v, int n) {
  qg_ival l;
  QG_TRY(qg__packed_int_list(v, n, &l));
  return qg_ival_object_put(obj, slot, l);
}

static qg_status check_qint8_weight(const char *op, const qg_tensor *w, int ndim, int allow_per_channel) {
  if (w->dtype != QG_DTYPE_QINT8 || !w->quantizer)
    return qg_set_error(QG_STATUS_TYPE, "%s: the weight must be a qint8 quantized tensor, got %s", op,
                        qg_dtype_info(w->dtype)->name);
  if (w->ndim != ndim)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: the weight must have %d dimensions, got %d", op, ndim, w->ndim);
  if (w->quantizer->scheme == QG_QSCHEME_PER_CHANNEL_AFFINE) {
    if (!allow_per_channel)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: Per Channel Quantization is currently disabled for transposed conv",
                          op);
    if (w->quantizer->axis != 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: a per-channel weight must be quantized along axis 0 (output channels), got axis %d", op,
                          w->quantizer->axis);
  }
  return QG_OK;
}

/* A new object of `kind` filled by fill(obj, ud); released on failure. */
static qg_status new_object(qg_cu_t *cu, qg_packed_kind kind, qg_status (*fill)(qg_ival *, const void *),
                            const void *ud, qg_ival *out) {
  *out = qg_ival_none();
  const qg_type_t *cls;
  QG_TRY(qg_packed_class(cu, kind, &cls));
  qg_ival obj;
  QG_TRY(qg_ival_object_new(cls, &obj));
  qg_status st = fill(&obj, ud);
  if (st != QG_OK) {
    qg_ival_release(&obj);
    return st;
  }
  *out = obj;
  return QG_OK;
}

typedef struct linear_fill {
  qg_tensor *weight, *bias;
} linear_fill;

static qg_status fill_linear(qg_ival *obj, const void *ud) {
  const linear_fill *f = ud;
  QG_TRY(put_tensor(obj, "weight", f->weight));
  return put_tensor(obj, "bias", f->bias);
}

qg_status qg_packed_linear_new(qg_cu_t *cu, qg_tensor *weight, qg_tensor *bias, qg_ival *out) {
  *out = qg_ival_none();
  int fp16 = weight->dtype == QG_DTYPE_F16;
  const char *op = fp16 ? "quantized::linear_prepack_fp16" : "quantized::linear_prepack";
  if (fp16) {
    if (weight->ndim != 2)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: the weight must have 2 dimensions, got %d", op, weight->ndim);
  } else {
    QG_TRY(check_qint8_weight(op, weight, 2, 1));
  }
  QG_TRY(qg__q_check_bias(op, bias, weight->shape[0]));
  linear_fill f = {weight, bias};
  return new_object(cu, QG_PACKED_LINEAR, fill_linear, &f, out);
}

typedef struct conv_fill {
  qg_tensor *weight, *bias;
  int n; /* stored spatial dims (2 or 3) */
  int64_t stride[3], padding[3], output_padding[3], dilation[3], groups;
  int transposed;
} conv_fill;

static qg_status fill_conv(qg_ival *obj, const void *ud) {
  const conv_fill *f = ud;
  QG_TRY(put_tensor(obj, "weight", f->weight));
  QG_TRY(put_tensor(obj, "bias", f->bias));
  QG_TRY(put_list(obj, "stride", f->stride, f->n));
  QG_TRY(put_list(obj, "padding", f->padding, f->n));
  QG_TRY(put_list(obj, "output_padding", f->output_padding, f->n));
  QG_TRY(put_list(obj, "dilation", f->dilation, f->n));
  QG_TRY(qg_ival_object_put(obj, "groups", qg_ival_int(f->groups)));
  return qg_ival_object_put(obj, "transpose", qg_ival_bool(f->transposed));
}

qg_status qg_packed_conv_new(qg_cu_t *cu, qg_tensor *weight, qg_tensor *bias, const qg_packed_conv_spec *s,
                             qg_ival *out) {
  *out = qg_ival_none();
  int ns = s->nspatial;
  char op[48];
  snprintf(op, sizeof op, "quantized::conv%s%dd_prepack", s->transposed ? "_transpose" : "", ns);
  if (ns < 1 || ns > 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "conv prepack: %d spatial dims (1 to 3 supported)", ns);
  QG_TRY(check_qint8_weight(op, weight, ns + 2, !s->transposed));
  if (s->groups < 1) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: groups must be positive, got %lld", op, (long long)s->groups);
  for (int d = 0; d < ns; d++)
    if (s->stride[d] < 1 || s->dilation[d] < 1 || s->padding[d] < 0 || s->output_padding[d] < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: stride and dilation must be positive, padding and output_padding non-negative (dim %d)",
                          op, d);
  if (weight->shape[0] % s->groups)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: weight dimension 0 (%lld) is not divisible by groups=%lld", op,
                        (long long)weight->shape[0], (long long)s->groups);
  int64_t cout = s->transposed ? weight->shape[1] * s->groups : weight->shape[0];
  QG_TRY(qg__q_check_bias(op, bias, cout));
  conv_fill f = {weight, bias, ns == 1 ? 2 : ns, {0}, {0}, {0}, {0}, s->groups, s->transposed};
  int lead = ns == 1; /* conv1d: stored as 2-D with a unit height */
  if (lead) f.stride[0] = f.dilation[0] = 1;
  for (int d = 0; d < ns; d++) {
    f.stride[lead + d] = s->stride[d];
    f.padding[lead + d] = s->padding[d];
    f.output_padding[lead + d] = s->transposed ? s->output_padding[d] : 0;
    f.dilation[lead + d] = s->dilation[d];
  }
  qg_tensor *w2 = NULL;
  if (lead) {
    QG_TRY(qg_tensor_unsqueeze(weight, 2, &w2));
    f.weight = w2;
  }
  qg_status st = new_object(cu, ns == 3 ? QG_PACKED_CONV3D : QG_PACKED_CONV2D, fill_conv, &f, out);
  qg_tensor_release(w2);
  return st;
}

typedef struct embedding_fill {
  qg_tensor *packed;
  int64_t bit_rate;
} embedding_fill;

static qg_status fill_embedding(qg_ival *obj, const void *ud) {
  const embedding_fill *f = ud;
  QG_TRY(put_tensor(obj, "weight", f->packed));
  return qg_ival_object_put(obj, "bit_rate", qg_ival_int(f->bit_rate));
}

qg_status qg_packed_embedding_new(qg_cu_t *cu, qg_tensor *packed, int64_t bit_rate, qg_ival *out) {
  *out = qg_ival_none();
  if (bit_rate != 8 && bit_rate != 4)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "EmbeddingPackedParamsBase: bit_rate must be 8 or 4, got %lld",
                        (long long)bit_rate);
  if (packed->dtype != QG_DTYPE_U8 || packed->ndim != 2)
    return qg_set_error(QG_STATUS_TYPE, "EmbeddingPackedParamsBase: expected a 2-D uint8 packed table, got %s with %d dims",
                        qg_dtype_info(packed->dtype)->name, packed->ndim);
  embedding_fill f = {packed, bit_rate};
  return new_object(cu, QG_PACKED_EMBEDDING, fill_embedding, &f, out);
}

/* ---- reading -------------------------------------------------------------------------------- */

static qg_status check_kind(const char *op, const qg_ival *obj, qg_packed_kind want) {
  if (obj->kind != QG_IVAL_OBJECT)
    return qg_set_error(QG_STATUS_TYPE, "%s: expected a %s, got %s", op, k_qualnames[want], qg_ival_kind_name(obj->kind));
  if (qg_packed_kind_of(obj->u.obj->type) != (int)want)
    return qg_set_error(QG_STATUS_TYPE, "%s: expected a %s, got an object of class %s", op, k_qualnames[want],
                        obj->u.obj->type->qualname);
  return QG_OK;
}

static qg_status slot_error(const char *op, const qg_ival *obj, const char *slot, const char *want) {
  return qg_set_error(QG_STATUS_TYPE, "%s: malformed %s: slot '%s' must be %s", op, obj->u.obj->type->qualname, slot,
                      want);
}

static qg_status get_tensor(const char *op, const qg_ival *obj, const char *slot, int optional, qg_tensor **out) {
  const qg_ival *v = qg_ival_object_get(obj, slot);
  *out = NULL;
  if (v && v->kind == QG_IVAL_TENSOR) *out = v->u.tensor;
  else if (!(optional && v && v->kind == QG_IVAL_NONE)) return slot_error(op, obj, slot, optional ? "a Tensor or None" : "a Tensor");
  return QG_OK;
}

static qg_status get_int(const char *op, const qg_ival *obj, const char *slot, int64_t *out) {
  const qg_ival *v = qg_ival_object_get(obj, slot);
  if (v && v->kind == QG_IVAL_INT) *out = v->u.i;
  else if (v && v->kind == QG_IVAL_BOOL) *out = v->u.b;
  else return slot_error(op, obj, slot, "an int");
  return QG_OK;
}

static qg_status get_list(const char *op, const qg_ival *obj, const char *slot, int n, int64_t *out) {
  const qg_ival *v = qg_ival_object_get(obj, slot);
  if (!v || v->kind != QG_IVAL_LIST || qg_ival_len(v) != (size_t)n) {
    char want[32];
    snprintf(want, sizeof want, "an int[] of length %d", n);
    return slot_error(op, obj, slot, want);
  }
  for (int i = 0; i < n; i++) {
    const qg_ival *e = &v->u.list->items[i];
    if (e->kind != QG_IVAL_INT) return slot_error(op, obj, slot, "an int[]");
    out[i] = e->u.i;
  }
  return QG_OK;
}

qg_status qg_packed_linear_get(const char *op, const qg_ival *obj, qg_packed_linear *out) {
  memset(out, 0, sizeof *out);
  QG_TRY(check_kind(op, obj, QG_PACKED_LINEAR));
  QG_TRY(get_tensor(op, obj, "weight", 0, &out->weight));
  QG_TRY(get_tensor(op, obj, "bias", 1, &out->bias));
  qg_tensor_mark_immutable(out->weight); /* kernels may cache its packed form by identity */
  out->fp16 = out->weight->dtype == QG_DTYPE_F16;
  if (out->weight->ndim != 2 || !(out->fp16 || out->weight->dtype == QG_DTYPE_QINT8))
    return slot_error(op, obj, "weight", "a 2-D qint8 or fp16 tensor");
  return QG_OK;
}

qg_status qg_packed_conv_get(const char *op, const qg_ival *obj, qg_packed_kind want, qg_packed_conv *out) {
  memset(out, 0, sizeof *out);
  QG_TRY(check_kind(op, obj, want));
  int n = want == QG_PACKED_CONV3D ? 3 : 2;
  out->nspatial = n;
  QG_TRY(get_tensor(op, obj, "weight", 0, &out->weight));
  QG_TRY(get_tensor(op, obj, "bias", 1, &out->bias));
  qg_tensor_mark_immutable(out->weight); /* kernels may cache its packed form by identity */
  if (out->weight->ndim != n + 2) {
    char w[40];
    snprintf(w, sizeof w, "a %d-D weight", n + 2);
    return slot_error(op, obj, "weight", w);
  }
  QG_TRY(get_list(op, obj, "stride", n, out->stride));
  QG_TRY(get_list(op, obj, "padding", n, out->padding));
  QG_TRY(get_list(op, obj, "output_padding", n, out->output_padding));
  QG_TRY(get_list(op, obj, "dilation", n, out->dilation));
  QG_TRY(get_int(op, obj, "groups", &out->groups));
  int64_t t;
  QG_TRY(get_int(op, obj, "transpose", &t));
  out->transposed = t != 0;
  return QG_OK;
}

qg_status qg_packed_embedding_get(const char *op, const qg_ival *obj, qg_packed_embedding *out) {
  memset(out, 0, sizeof *out);
  QG_TRY(check_kind(op, obj, QG_PACKED_EMBEDDING));
  QG_TRY(get_tensor(op, obj, "weight", 0, &out->weight));
  QG_TRY(get_int(op, obj, "bit_rate", &out->bit_rate));
  if (out->bit_rate != 8 && out->bit_rate != 4) return slot_error(op, obj, "bit_rate", "8 or 4");
  return QG_OK;
}
