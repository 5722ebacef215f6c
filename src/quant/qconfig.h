/* QConfig: an activation and a weight observer template (PyTorch's QConfig), named defaults
 * (reference §5.5) and the qconfig dict keyed by module path (§2.1). */
#ifndef QG_QUANT_QCONFIG_H
#define QG_QUANT_QCONFIG_H

#include <stddef.h>

#include "base/status.h"
#include "module/module.h"
#include "quant/observer.h"

typedef struct qg_qconfig {
  qg_observer_spec activation;
  qg_observer_spec weight;
} qg_qconfig;

/* Named qconfigs: "default" (default_qconfig), "per_channel" (default_per_channel_qconfig),
 * "dynamic" (default_dynamic_qconfig), "per_channel_dynamic", "float16_dynamic", "histogram"
 * (HistogramObserver(quant_min=0, quant_max=127) + default weight observer) and the engines of
 * get_default_qconfig: "fbgemm", "x86", "qnnpack", "onednn". histogram_variant selects the
 * HistogramObserver update rule for the histogram activations. NOT_FOUND lists the names. */
qg_status qg_qconfig_named(const char *name, qg_histogram_variant histogram_variant, qg_qconfig *out) QG_MUST_USE;
/* The names qg_qconfig_named knows, NULL-terminated. */
const char *const *qg_qconfig_names(void);

/* A qconfig dict: module path ("" = root, "sub.fc") -> qconfig or None (do not quantize). */
typedef struct qg_qconfig_entry {
  char *path;
  int is_none;
  qg_qconfig qconfig;
} qg_qconfig_entry;

typedef struct qg_qconfig_dict {
  qg_qconfig_entry *entries;
  size_t n, cap;
} qg_qconfig_dict;

#define QG_QCONFIG_DICT_INIT {NULL, 0, 0}
void qg_qconfig_dict_free(qg_qconfig_dict *d);
/* Sets path's entry (replacing an existing one); qc NULL means None. */
qg_status qg_qconfig_dict_set(qg_qconfig_dict *d, const char *path, const qg_qconfig *qc) QG_MUST_USE;
const qg_qconfig_entry *qg_qconfig_dict_get(const qg_qconfig_dict *d, const char *path);
/* Every key must name a module of m (NOT_FOUND listing the module paths that exist). */
qg_status qg_qconfig_dict_check(const qg_qconfig_dict *d, const qg_module *m) QG_MUST_USE;

#endif
