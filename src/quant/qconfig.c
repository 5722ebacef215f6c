/* Named qconfigs (reference §5.5; torch.ao.quantization.qconfig) and the qconfig dict. */
#include "quant/qconfig.h"

#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"

static const char *const k_names[] = {"default",          "per_channel", "dynamic", "per_channel_dynamic",
                                      "float16_dynamic", "histogram",   "fbgemm",  "x86",
                                      "qnnpack",         "onednn",      NULL};

const char *const *qg_qconfig_names(void) { return k_names; }

/* default_observer: MinMaxObserver(quant_min=0, quant_max=127), quint8 affine. */
static void default_activation(qg_observer_spec *s) {
  qg_observer_spec_default(QG_OBSERVER_MINMAX, s);
  s->has_quant_range = 1;
  s->quant_min = 0;
  s->quant_max = 127;
}

/* default_weight_observer: MinMaxObserver(dtype=qint8, qscheme=per_tensor_symmetric). */
static void default_weight(qg_observer_spec *s) {
  qg_observer_spec_default(QG_OBSERVER_MINMAX, s);
  s->dtype = QG_DTYPE_QINT8;
  s->qscheme = QG_QS_PER_TENSOR_SYMMETRIC;
}

/* default_per_channel_weight_observer: PerChannelMinMaxObserver(qint8, per_channel_symmetric). */
static void per_channel_weight(qg_observer_spec *s) {
  qg_observer_spec_default(QG_OBSERVER_PER_CHANNEL_MINMAX, s);
  s->dtype = QG_DTYPE_QINT8;
  s->qscheme = QG_QS_PER_CHANNEL_SYMMETRIC;
}

/* default_dynamic_quant_observer: PlaceholderObserver(dtype=quint8, quant_min=0, quant_max=255,
 * is_dynamic=True); torch 1.13 spells it compute_dtype=quint8, which convert reads. */
static void dynamic_activation(qg_observer_spec *s) {
  qg_observer_spec_default(QG_OBSERVER_PLACEHOLDER, s);
  s->dtype = QG_DTYPE_QUINT8;
  s->has_quant_range = 1;
  s->quant_min = 0;
  s->quant_max = 255;
  s->is_dynamic = 1;
  s->has_compute_dtype = 1;
  s->compute_dtype = QG_DTYPE_QUINT8;
}

static void histogram_activation(qg_observer_spec *s, int reduce_range, qg_histogram_variant v) {
  qg_observer_spec_default(QG_OBSERVER_HISTOGRAM, s);
  s->reduce_range = reduce_range;
  s->histogram_variant = v;
}

qg_status qg_qconfig_named(const char *name, qg_histogram_variant variant, qg_qconfig *out) {
  memset(out, 0, sizeof *out);
  if (strcmp(name, "default") == 0 || strcmp(name, "per_channel") == 0) {
    default_activation(&out->activation);
    if (name[0] == 'd') default_weight(&out->weight);
    else per_channel_weight(&out->weight);
  } else if (strcmp(name, "dynamic") == 0 || strcmp(name, "per_channel_dynamic") == 0) {
    dynamic_activation(&out->activation);
    if (name[0] == 'd') default_weight(&out->weight);
    else per_channel_weight(&out->weight);
  } else if (strcmp(name, "float16_dynamic") == 0) {
    qg_observer_spec_default(QG_OBSERVER_PLACEHOLDER, &out->activation);
    out->activation.dtype = QG_DTYPE_F16;
    out->activation.is_dynamic = 1;
    out->activation.has_compute_dtype = 1;
    out->activation.compute_dtype = QG_DTYPE_F16;
    qg_observer_spec_default(QG_OBSERVER_PLACEHOLDER, &out->weight);
    out->weight.dtype = QG_DTYPE_F16;
  } else if (strcmp(name, "histogram") == 0) {
    /* default_histogram_observer = HistogramObserver.with_args(quant_min=0, quant_max=127) */
    histogram_activation(&out->activation, 0, variant);
    out->activation.has_quant_range = 1;
    out->activation.quant_min = 0;
    out->activation.quant_max = 127;
    default_weight(&out->weight);
  } else if (strcmp(name, "fbgemm") == 0 || strcmp(name, "x86") == 0) {
    histogram_activation(&out->activation, 1, variant);
    per_channel_weight(&out->weight);
  } else if (strcmp(name, "qnnpack") == 0) {
    histogram_activation(&out->activation, 0, variant);
    default_weight(&out->weight);
  } else if (strcmp(name, "onednn") == 0) {
    histogram_activation(&out->activation, 0, variant);
    per_channel_weight(&out->weight);
  } else {
    qg_strbuf sb = QG_STRBUF_INIT;
    for (size_t i = 0; k_names[i]; i++) qg_strbuf_printf(&sb, "%s%s", i ? ", " : "", k_names[i]);
    qg_status st = qg_set_error(QG_STATUS_NOT_FOUND, "unknown qconfig '%s' (known: %s)", name,
                                qg_strbuf_ok(&sb) == QG_OK ? qg_strbuf_cstr(&sb) : "?");
    qg_strbuf_free(&sb);
    return st;
  }
  return QG_OK;
}

void qg_qconfig_dict_free(qg_qconfig_dict *d) {
  for (size_t i = 0; i < d->n; i++) qg__free(d->entries[i].path);
  qg__free(d->entries);
  *d = (qg_qconfig_dict)QG_QCONFIG_DICT_INIT;
}

const qg_qconfig_entry *qg_qconfig_dict_get(const qg_qconfig_dict *d, const char *path) {
  for (size_t i = 0; i < d->n; i++)
    if (strcmp(d->entries[i].path, path) == 0) return &d->entries[i];
  return NULL;
}

qg_status qg_qconfig_dict_set(qg_qconfig_dict *d, const char *path, const qg_qconfig *qc) {
  qg_qconfig_entry *e = (qg_qconfig_entry *)qg_qconfig_dict_get(d, path);
  if (!e) {
    if (qg__grow((void **)&d->entries, &d->cap, d->n + 1, sizeof *d->entries) != 0) return qg_oom("qconfig dict");
    char *copy = qg__strdup(path);
    if (!copy) return qg_oom("qconfig dict");
    e = &d->entries[d->n++];
    memset(e, 0, sizeof *e);
    e->path = copy;
  }
  e->is_none = qc == NULL;
  if (qc) e->qconfig = *qc;
  return QG_OK;
}

typedef struct path_list {
  qg_strbuf sb;
  size_t n;
} path_list;

static int collect_path(const char *path, const qg_ival *obj, int depth, void *ud) {
  path_list *pl = ud;
  if (pl->n++ < 40) qg_strbuf_printf(&pl->sb, "%s\"%s\"", pl->n > 1 ? ", " : "", path);
  return 0;
}

qg_status qg_qconfig_dict_check(const qg_qconfig_dict *d, const qg_module *m) {
  for (size_t i = 0; i < d->n; i++) {
    const qg_ival *obj = NULL;
    if (d->entries[i].path[0] == 0) continue;
    qg_status st = qg_module_find(m, d->entries[i].path, &obj);
    if (st == QG_OK) continue;
    if (st == QG_STATUS_OOM) return st;
    path_list pl = {QG_STRBUF_INIT, 0};
    qg_status ws = qg_module_walk(m, collect_path, &pl);
    if (pl.n > 40) qg_strbuf_printf(&pl.sb, ", ... (%zu modules)", pl.n);
    st = qg_set_error(QG_STATUS_NOT_FOUND, "qconfig dict: no module at path '%s' (modules: %s)", d->entries[i].path,
                      ws == QG_OK && qg_strbuf_ok(&pl.sb) == QG_OK ? qg_strbuf_cstr(&pl.sb) : "?");
    qg_strbuf_free(&pl.sb);
    return st;
  }
  return QG_OK;
}
