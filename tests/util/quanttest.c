/* See quanttest.h. */
#include "util/quanttest.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/text.h"
#include "util/testutil.h"

qg_module *qg_test_load_seed(const char *fixture) {
  char rel[256];
  snprintf(rel, sizeof rel, "seed/%s.safetensors", fixture);
  qg_module *m = NULL;
  QG_ASSERT_OK(qg_module_load(qg_test_fixture(rel), &m));
  return m;
}

const qg_ival *qg_test_module_at(const qg_module *m, const char *path) {
  const qg_ival *obj = NULL;
  QG_ASSERT_OK(qg_module_find(m, path, &obj));
  return obj;
}

const qg_graph_t *qg_test_method(const qg_module *m, const char *path, const char *name) {
  const qg_method *f = qg_class_find_method(qg_test_module_at(m, path)->u.obj->type, name);
  cr_assert(f && f->graph, "module '%s' has no method %s", path, name);
  return f->graph;
}

size_t qg_test_attrs_with_prefix(const qg_module *m, const char *path, const char *prefix) {
  const qg_ival *obj = qg_test_module_at(m, path);
  const qg_type_t *cls = obj->u.obj->type;
  size_t n = 0;
  for (size_t i = 0; i < cls->nslots && i < obj->u.obj->nslots; i++)
    if (strncmp(cls->slots[i].name, prefix, strlen(prefix)) == 0 && obj->u.obj->slots[i].kind != QG_IVAL_NONE) n++;
  return n;
}

qg_filecheck_t *qg_test_fc_new(void) {
  qg_filecheck_t *fc = NULL;
  QG_ASSERT_OK(qg_filecheck_create(&fc));
  return fc;
}

void qg_test_fc_run(qg_filecheck_t *fc, const qg_graph_t *g) {
  qg_status st = qg_filecheck_run_graph(fc, g);
  if (st != QG_OK) {
    char *text = qg_graph_to_string(g, NULL);
    cr_log_error("%s", text ? text : "?");
    free(text);
  }
  QG_ASSERT_OK(st);
  qg_filecheck_destroy(fc);
}

cJSON *qg_test_load_json(const char *relpath) {
  size_t n = 0;
  char *text = qg_test_read_file(qg_test_fixture(relpath), &n);
  cJSON *j = cJSON_Parse(text);
  free(text);
  cr_assert(j, "%s: bad json", relpath);
  return j;
}

int qg_test_qconfig_dict(const cJSON *qd, qg_histogram_variant variant, qg_qconfig_dict *d) {
  const cJSON *e;
  cJSON_ArrayForEach(e, qd) {
    if (cJSON_IsNull(e)) {
      QG_ASSERT_OK(qg_qconfig_dict_set(d, e->string, NULL));
    } else if (cJSON_IsString(e)) {
      qg_qconfig qc;
      QG_ASSERT_OK(qg_qconfig_named(e->valuestring, variant, &qc));
      QG_ASSERT_OK(qg_qconfig_dict_set(d, e->string, &qc));
    } else {
      return 0;
    }
  }
  return 1;
}

/* c10::ScalarType and c10::QScheme names in number order (quant_common.py _SCALAR_TYPES,
 * _QSCHEMES). */
static const char *const k_scalar_types[] = {"uint8",   "int8",      "int16",      "int32", "int64",   "float16",
                                             "float32", "float64",   "complex32",  "complex64", "complex128",
                                             "bool",    "qint8",     "quint8",     "qint32", "bfloat16",
                                             "quint4x2", "quint2x4", NULL};
static const char *const k_qschemes[] = {"per_tensor_affine", "per_channel_affine", "per_tensor_symmetric",
                                         "per_channel_symmetric", "per_channel_affine_float_qparams", NULL};

static int name_index(const char *const *names, const char *s) {
  for (int i = 0; names[i]; i++)
    if (s && strcmp(names[i], s) == 0) return i;
  return -1;
}

static const char *state_dtype(const cJSON *v, qg_dtype *out) {
  int k = name_index(k_scalar_types, cJSON_IsString(v) ? v->valuestring : NULL);
  if (k < 0 || qg_dtype_from_torch(k, out) != 0) return "a dtype quantgraph has no type for";
  return NULL;
}

const char *qg_test_observer_spec(const cJSON *desc, qg_histogram_variant variant, qg_observer_spec *out) {
  const cJSON *cls = cJSON_GetObjectItem(desc, "class"), *state = cJSON_GetObjectItem(desc, "state");
  const char *name = cJSON_IsString(cls) ? strrchr(cls->valuestring, '.') : NULL;
  int kind = -1;
  for (int k = 0; name && k < QG_OBSERVER_KIND_COUNT; k++)
    if (strcmp(name + 1, qg_observer_kind_name((qg_observer_kind)k)) == 0) kind = k;
  if (kind < 0 || !cJSON_IsObject(state)) return "an observer class quantgraph does not have";
  qg_observer_spec_default((qg_observer_kind)kind, out);
  out->histogram_variant = variant;
  const cJSON *e;
  cJSON_ArrayForEach(e, state) {
    const char *k = e->string, *why = NULL;
    size_t n = strlen(k);
    if (n > 4 && strcmp(k + n - 4, "_hex") == 0) continue; /* the exact form of a float beside it */
    if (cJSON_IsNull(e) && (strcmp(k, "quant_min") == 0 || strcmp(k, "quant_max") == 0)) continue; /* unset */
    if (strcmp(k, "dtype") == 0) why = state_dtype(e, &out->dtype);
    else if (strcmp(k, "compute_dtype") == 0) {
      out->has_compute_dtype = !cJSON_IsNull(e);
      if (out->has_compute_dtype) why = state_dtype(e, &out->compute_dtype);
    } else if (strcmp(k, "qscheme") == 0) {
      int q = name_index(k_qschemes, cJSON_IsString(e) ? e->valuestring : NULL);
      if (q < 0) why = "an unknown qscheme";
      else out->qscheme = (qg_qscheme_kind)q;
    } else if (strcmp(k, "custom_op") == 0) {
      if (cJSON_IsString(e)) out->custom_op_name = e->valuestring;
      else if (!cJSON_IsNull(e)) why = "a custom_op that is not a string";
    } else if (cJSON_IsBool(e) || cJSON_IsNumber(e)) {
      double v = cJSON_IsBool(e) ? cJSON_IsTrue(e) : e->valuedouble;
      if (strcmp(k, "quant_min") == 0) out->quant_min = (int64_t)v;
      else if (strcmp(k, "quant_max") == 0) out->quant_max = (int64_t)v;
      else if (strcmp(k, "reduce_range") == 0) out->reduce_range = v != 0;
      else if (strcmp(k, "has_customized_qrange") == 0) out->has_quant_range = v != 0;
      else if (strcmp(k, "is_dynamic") == 0) out->is_dynamic = v != 0;
      else if (strcmp(k, "ch_axis") == 0) out->ch_axis = (int64_t)v;
      else if (strcmp(k, "bins") == 0) out->bins = (int64_t)v;
      else if (strcmp(k, "upsample_rate") == 0) out->upsample_rate = (int64_t)v;
      else if (strcmp(k, "averaging_constant") == 0) out->averaging_constant = v;
      else if (strcmp(k, "eps") == 0) out->eps = (float)v;
      else why = "a state field quantgraph's observer spec does not have";
    } else {
      why = "a state field quantgraph's observer spec does not have";
    }
    if (why) return why;
  }
  /* PlaceholderObservers have no has_customized_qrange: their range is what they store. */
  if (kind == QG_OBSERVER_PLACEHOLDER || kind == QG_OBSERVER_NOOP)
    out->has_quant_range =
        cJSON_IsNumber(cJSON_GetObjectItem(state, "quant_min")) && cJSON_IsNumber(cJSON_GetObjectItem(state, "quant_max"));
  /* the stored range is the effective one: a reduce_range halving already happened */
  out->quant_range_is_final = out->has_quant_range && out->reduce_range;
  return NULL;
}

const char *qg_test_qconfig_dict_described(const cJSON *qd, const cJSON *qconfigs, qg_histogram_variant variant,
                                           qg_qconfig_dict *d) {
  const cJSON *e;
  cJSON_ArrayForEach(e, qd) {
    const cJSON *custom = cJSON_GetObjectItem(e, "custom");
    qg_qconfig qc;
    if (cJSON_IsNull(e) || cJSON_IsString(e)) {
      if (cJSON_IsString(e)) QG_ASSERT_OK(qg_qconfig_named(e->valuestring, variant, &qc));
      QG_ASSERT_OK(qg_qconfig_dict_set(d, e->string, cJSON_IsNull(e) ? NULL : &qc));
      continue;
    }
    if (!cJSON_IsString(custom)) return "a qconfig entry that is neither a name, null nor {\"custom\": name}";
    const cJSON *desc = cJSON_GetObjectItem(qconfigs, custom->valuestring);
    if (!desc) return "a custom qconfig the index does not describe";
    const char *why = qg_test_observer_spec(cJSON_GetObjectItem(desc, "activation"), variant, &qc.activation);
    if (!why) why = qg_test_observer_spec(cJSON_GetObjectItem(desc, "weight"), variant, &qc.weight);
    if (why) return why;
    QG_ASSERT_OK(qg_qconfig_dict_set(d, e->string, &qc));
  }
  return NULL;
}
