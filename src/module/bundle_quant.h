/* Quantized tensors in bundles (docs/formats.md "Quantized tensors"): a quantized tensor is
 * stored as its integer storage (U8 / I8 / I32) and its dtype and quantizer go into the metadata
 * under `quantgraph.quant.<tensor name>` as JSON:
 *
 *   {"dtype": "quint8", "scheme": "per_tensor_affine", "scale": 0.05, "zero_point": 60}
 *   {"dtype": "qint8", "scheme": "per_channel_affine", "axis": 0,
 *    "scales": [0.01, 0.02], "zero_points": [0, 0]}
 *
 * Scales are written in the shortest form that reads back to the same double. Internal to
 * bundle.c. */
#ifndef QG_MODULE_BUNDLE_QUANT_H
#define QG_MODULE_BUNDLE_QUANT_H

#include "base/status.h"
#include "base/strbuf.h"
#include "module/safetensors.h"
#include "tensor/tensor.h"

#define QG_META_QUANT_PREFIX "quantgraph.quant."

typedef struct qg__bundle_quant qg__bundle_quant;

/* Reads and validates every `quantgraph.quant.*` key of st: each must name a tensor of the file
 * whose stored dtype is the quantized dtype's storage, with a well-formed quantizer that fits the
 * tensor. FORMAT errors name the file, the key and the problem. *out may be NULL (no keys). */
qg_status qg__bundle_quant_read(const qg_safetensors *st, qg__bundle_quant **out) QG_MUST_USE;
void qg__bundle_quant_free(qg__bundle_quant *q);

/* t as read from the file (retained) or, when its name has quantization metadata, a quantized
 * tensor viewing the same bytes (new reference; it keeps t alive). */
qg_status qg__bundle_quant_apply(const qg__bundle_quant *q, const char *name, qg_tensor *t,
                                 qg_tensor **out) QG_MUST_USE;

/* True for a `quantgraph.quant.` key. */
int qg__bundle_is_quant_key(const char *key);

/* The metadata value describing quantized tensor t (its name is only for messages). */
qg_status qg__bundle_quant_describe(const char *name, const qg_tensor *t, qg_strbuf *out) QG_MUST_USE;

#endif
