/* Packed weights as native classes, named as PyTorch's TorchScript custom classes:
 *
 *   __torch__.torch.classes.quantized.LinearPackedParamsBase   weight : Tensor (qint8, or F16 for
 *                                                              linear_prepack_fp16), bias : Tensor?
 *   __torch__.torch.classes.quantized.Conv2dPackedParamsBase   (conv1d / conv2d / conv_transpose1d /
 *   __torch__.torch.classes.quantized.Conv3dPackedParamsBase    conv_transpose2d; conv3d / conv_transpose3d)
 *       weight : Tensor (qint8), bias : Tensor?, stride : int[], padding : int[],
 *       output_padding : int[], dilation : int[], groups : int, transpose : bool
 *   __torch__.torch.classes.quantized.EmbeddingPackedParamsBase weight : Tensor (the row-wise
 *       packed uint8 table of embedding_bag_{byte,4bit}_prepack), bit_rate : int (8 or 4)
 *
 * As in PyTorch, 1-D convolutions are stored in 2-D form: the weight unsqueezed at dim 2 and
 * stride / padding / dilation / output_padding prefixed with 1 / 0 / 1 / 0, so
 * quantized::conv2d_stride of a conv1d_prepack result is [1, s].
 *
 * The state is plain slots, so bundles save and reload packed params (the weight as a quantized
 * tensor, docs/formats.md) and graphs get them with prim::GetAttr. There is no hidden packed
 * form: kernels pack per call (ops/cpu/qlinear.h, qconv.h). Native methods (packed_params_methods.c):
 * linear: __getstate__, unpack, bias; conv: __getstate__ (PyTorch's version "2" layout), unpack,
 * weight, bias, stride, padding, output_padding, dilation, groups, transpose; embedding:
 * __getstate__, unpack, bit_rate, version.
 *
 * Constructors validate as PyTorch's prepack ops do and retain (do not copy) the tensors. They
 * are what the prepack ops call and what a freezing pass uses to fold a prepack. */
#ifndef QG_QUANT_PACKED_PARAMS_H
#define QG_QUANT_PACKED_PARAMS_H

#include <stdint.h>

#include "base/status.h"
#include "ir/type.h"
#include "module/value.h"
#include "runtime/native.h"
#include "tensor/tensor.h"

#define QG_PACKED_PREFIX "__torch__.torch.classes.quantized."

typedef enum qg_packed_kind {
  QG_PACKED_LINEAR,
  QG_PACKED_CONV2D,
  QG_PACKED_CONV3D,
  QG_PACKED_EMBEDDING,
  QG_PACKED_KIND_COUNT
} qg_packed_kind;

/* "__torch__.torch.classes.quantized.LinearPackedParamsBase", ... */
const char *qg_packed_qualname(qg_packed_kind kind);
/* The kind of a class (its demangled name), or -1. */
int qg_packed_kind_of(const qg_type_t *cls);

/* The class in cu: defined with its slots and native methods on first use (completing an opaque
 * class of that name, which graph text creates). TYPE if the name is taken by something else. */
qg_status qg_packed_class(qg_cu_t *cu, qg_packed_kind kind, const qg_type_t **out) QG_MUST_USE;

/* ---- construction ----------------------------------------------------------------------------- */

/* quantized::linear_prepack: weight qint8 [N, K] (per-tensor, or per-channel along axis 0), bias
 * float32 [N] or NULL. quantized::linear_prepack_fp16 passes an F16 weight (ops/cpu/qlinear.h's
 * qg_cpu_fp16_weight). */
qg_status qg_packed_linear_new(qg_cu_t *cu, qg_tensor *weight, qg_tensor *bias, qg_ival *out) QG_MUST_USE;

typedef struct qg_packed_conv_spec {
  int nspatial; /* 1, 2 or 3 */
  int transposed;
  int64_t stride[3], padding[3], output_padding[3], dilation[3]; /* nspatial values each */
  int64_t groups;
} qg_packed_conv_spec;

/* quantized::conv{1,2,3}d_prepack / conv_transpose{1,2,3}d_prepack: weight qint8
 * [C_out, C_in/groups, *k] ([C_in, C_out/groups, *k] transposed), bias float32 [C_out] or NULL.
 * The op name for messages comes from the spec. */
qg_status qg_packed_conv_new(qg_cu_t *cu, qg_tensor *weight, qg_tensor *bias, const qg_packed_conv_spec *s,
                             qg_ival *out) QG_MUST_USE;

/* An EmbeddingPackedParamsBase around a row-wise packed uint8 table (bit_rate 8 or 4). */
qg_status qg_packed_embedding_new(qg_cu_t *cu, qg_tensor *packed, int64_t bit_rate, qg_ival *out) QG_MUST_USE;

/* ---- reading (borrowed tensors; errors name `op` and say what is wrong with the object) -------- */
/* The weight read is marked immutable (qg_tensor_mark_immutable): a packed weight is a snapshot,
 * as in PyTorch, whose prepack copies it, so the kernels find its packed form by identity. */

typedef struct qg_packed_linear {
  qg_tensor *weight; /* qint8, or F16 when fp16 */
  qg_tensor *bias;   /* NULL for None */
  int fp16;
} qg_packed_linear;
qg_status qg_packed_linear_get(const char *op, const qg_ival *obj, qg_packed_linear *out) QG_MUST_USE;

typedef struct qg_packed_conv {
  qg_tensor *weight, *bias;
  int nspatial; /* 2 or 3: the stored form */
  int transposed;
  int64_t stride[3], padding[3], output_padding[3], dilation[3], groups;
} qg_packed_conv;
/* want: QG_PACKED_CONV2D or QG_PACKED_CONV3D. */
qg_status qg_packed_conv_get(const char *op, const qg_ival *obj, qg_packed_kind want, qg_packed_conv *out) QG_MUST_USE;

typedef struct qg_packed_embedding {
  qg_tensor *weight;
  int64_t bit_rate;
} qg_packed_embedding;
qg_status qg_packed_embedding_get(const char *op, const qg_ival *obj, qg_packed_embedding *out) QG_MUST_USE;

/* A new int[] value holding v[0..n) (shared by the constructors and the native methods). */
qg_status qg__packed_int_list(const int64_t *v, int n, qg_ival *out) QG_MUST_USE;

/* The native class table (runtime/native.c). */
const qg_native_class_impl *qg__native_packed_params_classes(size_t *n);

#endif
