/* The native observer classes: every kind of QG_OBSERVER_KIND_LIST with its C methods
 * (observer_methods.c). The min/max kinds also have reset_min_max_vals, as in PyTorch
 * (HistogramObserver's raises NotImplementedError there, so it is left out). */
#include "quant/observer_impl.h"
#include "runtime/native.h"

#define FORWARD {"forward", "forward(Tensor x_orig) -> Tensor", qg__obs_native_forward}
#define CALC {"calculate_qparams", "calculate_qparams() -> (Tensor, Tensor)", qg__obs_native_calculate_qparams}
#define RESET {"reset_min_max_vals", "reset_min_max_vals() -> NoneType", qg__obs_native_reset_min_max_vals}

static const qg_native_method_impl k_minmax_methods[] = {FORWARD, CALC, RESET};
static const qg_native_method_impl k_other_methods[] = {FORWARD, CALC};

#define QUAL(name) "__torch__.torch.ao.quantization.observer." name
#define WITH_RESET(name) {QUAL(name), k_minmax_methods, sizeof k_minmax_methods / sizeof k_minmax_methods[0]}
#define PLAIN(name) {QUAL(name), k_other_methods, sizeof k_other_methods / sizeof k_other_methods[0]}

static const qg_native_class_impl k_classes[] = {
    WITH_RESET("MinMaxObserver"),
    WITH_RESET("MovingAverageMinMaxObserver"),
    WITH_RESET("PerChannelMinMaxObserver"),
    WITH_RESET("MovingAveragePerChannelMinMaxObserver"),
    PLAIN("HistogramObserver"),
    PLAIN("PlaceholderObserver"),
    PLAIN("NoopObserver"),
};

_Static_assert(sizeof k_classes / sizeof k_classes[0] == QG_OBSERVER_KIND_COUNT,
               "one native class per observer kind");

const qg_native_class_impl *qg__native_observer_classes(size_t *n) {
  *n = sizeof k_classes / sizeof k_classes[0];
  return k_classes;
}
