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
