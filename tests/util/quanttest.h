/* Helpers shared by the prepare / convert tests: seed fixtures, module lookups, FileCheck on a
 * graph, recorded-fixture JSON and qconfig dicts. Each fails the running test on error. */
#ifndef QG_TESTS_QUANTTEST_H
#define QG_TESTS_QUANTTEST_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "ir/filecheck.h"
#include "module/module.h"
#include "quant/qconfig.h"

/* tests/fixtures/seed/<fixture>.safetensors */
qg_module *qg_test_load_seed(const char *fixture);
const qg_ival *qg_test_module_at(const qg_module *m, const char *path);
const qg_graph_t *qg_test_method(const qg_module *m, const char *path, const char *name);
/* PyTorch's attrs_with_prefix(module, prefix): slots of the module whose names start so. */
size_t qg_test_attrs_with_prefix(const qg_module *m, const char *path, const char *prefix);
qg_filecheck_t *qg_test_fc_new(void);
/* Runs fc on g (printing g when it fails) and destroys fc. */
void qg_test_fc_run(qg_filecheck_t *fc, const qg_graph_t *g);
/* A JSON file under tests/fixtures (owned by the caller: cJSON_Delete). */
cJSON *qg_test_load_json(const char *relpath);
/* Fills d from a recorded {"path": "name" | null} dict with named qconfigs; 0 (d partly filled)
 * when an entry is a custom QConfig the fixture describes instead. */
int qg_test_qconfig_dict(const cJSON *qd, qg_histogram_variant variant, qg_qconfig_dict *d);
/* An observer spec from its recorded description {"class": "__torch__...MinMaxObserver",
 * "state": {dtype, qscheme, quant_min, ...}} (tools/fixtures/quant_common.py qconfig_spec);
 * HistogramObservers get `variant`. NULL, or why the description cannot be expressed (an
 * unknown class, state field or value). custom_op_name borrows desc's string. */
const char *qg_test_observer_spec(const cJSON *desc, qg_histogram_variant variant, qg_observer_spec *out);
/* As qg_test_qconfig_dict, and entries {"custom": name} are built from qconfigs[name]
 * ({"activation": desc, "weight": desc}: the `qconfigs` of a fixture index). NULL, or why an
 * entry cannot be expressed (d partly filled). */
const char *qg_test_qconfig_dict_described(const cJSON *qd, const cJSON *qconfigs, qg_histogram_variant variant,
                                           qg_qconfig_dict *d);

#endif
