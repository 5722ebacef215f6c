/* Observers: native class types with PyTorch's names whose state lives in tensor slots.
 *
 * An observer is an object of a class such as
 * `__torch__.torch.ao.quantization.observer.MinMaxObserver` (module class, native methods
 * `forward(Tensor x_orig) -> Tensor` and `calculate_qparams() -> (Tensor, Tensor)`), with
 * PyTorch's slot names (buffers `eps`, `min_val`, `max_val`, `histogram`; attributes `dtype`
 * (c10::ScalarType number), `qscheme` (c10::QScheme number), `reduce_range`, `quant_min`,
 * `quant_max`, `has_customized_qrange`, `ch_axis`, `bins`, ...), so bundles keep calibration
 * state and graphs print as PyTorch's. Semantics and numerics: docs/numerics.md and
 * ../shared/reference/pytorch_jit_quant.md §5.2-§5.4. */
#ifndef QG_QUANT_OBSERVER_H
#define QG_QUANT_OBSERVER_H

#include <stdint.h>

#include "base/status.h"
#include "ir/type.h"
#include "module/value.h"
#include "quant/qparams.h"
#include "tensor/tensor.h"

/* X(ENUM, class name under torch.ao.quantization.observer) */
#define QG_OBSERVER_KIND_LIST(X)                                              \
  X(MINMAX, "MinMaxObserver")                                                 \
  X(MOVING_AVERAGE_MINMAX, "MovingAverageMinMaxObserver")                     \
  X(PER_CHANNEL_MINMAX, "PerChannelMinMaxObserver")                           \
  X(MOVING_AVERAGE_PER_CHANNEL_MINMAX, "MovingAveragePerChannelMinMaxObserver") \
  X(HISTOGRAM, "HistogramObserver")                                           \
  X(PLACEHOLDER, "PlaceholderObserver")                                       \
  X(NOOP, "NoopObserver")

typedef enum qg_observer_kind {
#define QG__OBS_ENUM(e, name) QG_OBSERVER_##e,
  QG_OBSERVER_KIND_LIST(QG__OBS_ENUM)
#undef QG__OBS_ENUM
  QG_OBSERVER_KIND_COUNT
} qg_observer_kind;

/* HistogramObserver update rule (reference §5.4, docs/numerics.md): CURRENT = torch >= 2.5
 * (bit-exact with torch 2.15), LEGACY_113 = torch 1.13 exactly (its int()-truncated histc
 * ranges; bit-exact with torch 1.13), LEGACY = torch 2.4's code (bit-exact with torch 2.4.1;
 * earlier 2.x releases differ in details). */
typedef enum qg_histogram_variant {
  QG_HISTOGRAM_CURRENT = 0,
  QG_HISTOGRAM_LEGACY = 1,
  QG_HISTOGRAM_LEGACY_113 = 2
} qg_histogram_variant;

/* Constructor arguments, as PyTorch's `Observer.with_args(...)`. qg_observer_spec_default
 * fills PyTorch's defaults for a kind; fields that a kind does not have are ignored. */
typedef struct qg_observer_spec {
  qg_observer_kind kind;
  qg_dtype dtype;          /* QUINT8, QINT8, QINT32, U8, I8, F16 (placeholder/noop), F32 ... */
  qg_qscheme_kind qscheme;
  int reduce_range;
  int has_quant_range;     /* quant_min/quant_max given by the user */
  int64_t quant_min, quant_max;
  /* quant_min/quant_max are already the effective range (what an observer stores, after a
   * reduce_range halving): qg_observer_new does not halve them again. qg_observer_spec_of sets
   * it for a custom range with reduce_range, so spec_of -> new reproduces the object. */
  int quant_range_is_final;
  /* calculate_qparams rejects NaN min/max as torch <= 2.4 does (0 = later torch: NaN scales). */
  int nan_check_113;
  int64_t ch_axis;         /* per-channel kinds */
  int64_t bins;            /* histogram: 2048 */
  int64_t upsample_rate;   /* histogram legacy: 128 */
  qg_histogram_variant histogram_variant;
  double averaging_constant; /* moving average kinds: 0.01 */
  float eps;               /* float32 eps: 2^-23 */
  /* placeholder: */
  int has_compute_dtype;
  qg_dtype compute_dtype;
  int is_dynamic;
  const char *custom_op_name; /* "" when absent; borrowed */
} qg_observer_spec;

/* "MinMaxObserver" etc.; NULL for an out-of-range kind. */
const char *qg_observer_kind_name(qg_observer_kind k);
/* "__torch__.torch.ao.quantization.observer.MinMaxObserver". */
const char *qg_observer_qualname(qg_observer_kind k);
/* The kind of an observer class (demangled name match); -1 if cls is not an observer class. */
int qg_observer_kind_of(const qg_type_t *cls);

/* PyTorch's constructor defaults for kind. */
void qg_observer_spec_default(qg_observer_kind kind, qg_observer_spec *out);
/* Checks a spec as PyTorch's constructors do (custom range must include 0 and be increasing,
 * reduce_range with symmetric quint8 is unsupported, per-channel kinds need a per-channel
 * qscheme, ...): INVALID_ARGUMENT with PyTorch's reason. */
qg_status qg_observer_spec_check(const qg_observer_spec *spec) QG_MUST_USE;

/* The observer class for kind in cu (defined on first use, with its slots and native methods;
 * an existing class of that name is reused). */
qg_status qg_observer_class(qg_cu_t *cu, qg_observer_kind kind, const qg_type_t **out) QG_MUST_USE;
/* A new observer object in its initial state (min_val=+inf, max_val=-inf or empty per-channel
 * buffers, zero histogram), after qg_observer_spec_check. */
qg_status qg_observer_new(qg_cu_t *cu, const qg_observer_spec *spec, qg_ival *out) QG_MUST_USE;
/* Reads the constructor arguments back from an observer object (for qconfig printing, convert). */
qg_status qg_observer_spec_of(const qg_ival *obs, qg_observer_spec *out) QG_MUST_USE;

/* forward(x): updates the statistics (x is not modified; empty x is skipped). Any layout; the
 * min/max kinds take any non-quantized dtype (cast as `x.to(torch.float)`), HistogramObserver
 * float32 and float64. Errors as PyTorch's (NaN / inf in a 1.13 histogram, a per-channel input
 * whose channel count does not broadcast, ...); HistogramObserver keeps the min/max writes
 * PyTorch makes before such an error. Observers exported from PyTorch work too. */
qg_status qg_observer_observe(qg_ival *obs, const qg_tensor *x) QG_MUST_USE;
/* calculate_qparams(): new f32 scale and zero_point tensors (shape [1] per-tensor, [C]
 * per-channel) with PyTorch's zero point dtype: i32 for the affine schemes, i64 for the
 * symmetric ones and for the default ([1.0], [0]) of an observer that saw nothing, f32 for
 * per_channel_affine_float_qparams (qg_qparams_zero_point_dtype). Placeholder observers fail as
 * PyTorch's ("calculate_qparams should not be called for PlaceholderObserver"). */
qg_status qg_observer_calculate_qparams(const qg_ival *obs, qg_tensor **scale, qg_tensor **zero_point) QG_MUST_USE;

#endif
