/* prepare_jit in C: the seed tests about observer insertion and dynamic preparation
 * (test_insert_observers*, test_prepare_dynamic*, test_module_list, ...), reproduced on the
 * exported fixtures with the seed's own assertions (observer counts by `_observer_` prefix per
 * module, FileCheck patterns), plus lint after the pass and error cases. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/prepare.h"
#include "ir/filecheck.h"
#include "ir/text.h"
#include "passes/passes.h"
#include "quant/observer.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/quanttest.h"
#include "util/testutil.h"

static const qg_graph_t *forward_of(const qg_module *m, const char *path) { return qg_test_method(m, path, "forward"); }

/* ---- helpers ---------------------------------------------------------------------------------- */

/* Adds path -> named qconfig (NULL name: None). */
static void dict_add(qg_qconfig_dict *d, const char *path, const char *name) {
  if (!name) {
    QG_ASSERT_OK(qg_qconfig_dict_set(d, path, NULL));
    return;
  }
  qg_qconfig qc;
  QG_ASSERT_OK(qg_qconfig_named(name, QG_HISTOGRAM_CURRENT, &qc));
  QG_ASSERT_OK(qg_qconfig_dict_set(d, path, &qc));
}

static int lint_all(const char *path, const qg_ival *obj, int depth, void *ud) {
  const qg_type_t *cls = obj->u.obj->type;
  for (size_t i = 0; i < cls->nmethods; i++)
    if (cls->methods[i].graph && qg_graph_lint(cls->methods[i].graph) != QG_OK) {
      *(int *)ud = 1;
      cr_log_error("lint failed in %s.%s: %s", path, cls->methods[i].name, qg_last_error());
    }
  return 0;
}

/* prepare_jit(model, {path: name, ...}) in place; the pass result must lint. */
static qg_module *prepare(const char *fixture, const char *const *paths, const char *const *names, size_t n,
                          int dynamic) {
  qg_module *m = qg_test_load_seed(fixture), *out = NULL;
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  for (size_t i = 0; i < n; i++) dict_add(&d, paths[i], names[i]);
  QG_ASSERT_OK(qg_prepare(m, &d, dynamic, 1, &out, NULL));
  cr_assert_eq(out, m);
  qg_qconfig_dict_free(&d);
  int bad = 0;
  QG_ASSERT_OK(qg_module_walk(m, lint_all, &bad));
  cr_assert_eq(bad, 0);
  return m;
}

static qg_module *prepare_root(const char *fixture, const char *qconfig, int dynamic) {
  const char *paths[] = {""}, *names[] = {qconfig};
  return prepare(fixture, paths, names, 1, dynamic);
}

#define OBS "Observer = prim::GetAttr[name=\"_observer_"

/* ---- TestQuantizeJitPasses ---------------------------------------------------------------------- */

Test(prepare, test_insert_observers) {
  qg_module *m = prepare_root("insert_observers", "default", 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 2);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "conv", "_observer_"), 1);
  qg_module_free(m);
}

Test(prepare, test_insert_observers_interface) {
  /* The seed's dict names "sub.conv", which the model does not have (its Sub has fc): PyTorch
   * ignores the key and the prepared model has no observers; the library does the same (the
   * CLI reports unknown paths, see test_cli.c). */
  const char *paths[] = {"sub.conv"}, *names[] = {"default"};
  qg_module *m = prepare("insert_observers_interface", paths, names, 1, 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "sub", "_observer_"), 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "sub.fc", "_observer_"), 0);
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  dict_add(&d, "sub.conv", "default");
  cr_assert_eq(qg_qconfig_dict_check(&d, m), QG_STATUS_NOT_FOUND);
  cr_assert(strstr(qg_last_error(), "sub.conv") && strstr(qg_last_error(), "\"sub.fc\""), "%s", qg_last_error());
  qg_qconfig_dict_free(&d);
  qg_module_free(m);
}

Test(prepare, test_insert_observers_interface_unshare_type) {
  const char *fx[] = {"insert_observers_interface_unshare_type__trace", "insert_observers_interface_unshare_type__script"};
  const char *paths[] = {"inner_a", "inner_b"}, *names[] = {"default", "default"};
  for (size_t i = 0; i < 2; i++) qg_module_free(prepare(fx[i], paths, names, 2, 0));
}

Test(prepare, test_insert_observers_child_qconfig) {
  const char *paths[] = {"sub.fc"}, *names[] = {"default"};
  qg_module *m = prepare("insert_observers_child_qconfig", paths, names, 1, 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 2);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "conv", "_observer_"), 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "sub", "_observer_"), 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "sub.fc", "_observer_"), 1);
  qg_module_free(m);
}

/* The observers of a module (by prefix) all have one dtype; returns it. */
static int observer_dtype(const qg_module *m, const char *path) {
  const qg_ival *obj = qg_test_module_at(m, path);
  const qg_type_t *cls = obj->u.obj->type;
  int dtype = -1;
  for (size_t i = 0; i < cls->nslots; i++) {
    if (strncmp(cls->slots[i].name, "_observer_", 10) != 0) continue;
    const qg_ival *d = qg_ival_object_get(&obj->u.obj->slots[i], "dtype");
    cr_assert(d && d->kind == QG_IVAL_INT);
    if (dtype >= 0) cr_assert_eq(d->u.i, dtype, "Expected to have 1 dtype in %s", path);
    dtype = (int)d->u.i;
  }
  return dtype;
}

Test(prepare, test_insert_observers_weight_dtype) {
  qg_module *m = prepare_root("insert_observers_weight_dtype", "default", 0);
  int act = observer_dtype(m, ""), wt = observer_dtype(m, "conv");
  cr_assert(act >= 0 && wt >= 0);
  cr_assert_neq(act, wt, "Expected activation dtype to be different from weight dtype");
  qg_module_free(m);
}

Test(prepare, test_insert_observers_for_reused_weight) {
  qg_module *m = prepare_root("insert_observers_for_reused_weight", "default", 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer"), 6);
  qg_module_free(m);
}

Test(prepare, test_insert_observers_shared_class_type) {
  qg_module *m = prepare_root("insert_observers_shared_class_type", "default", 0);
  const qg_ival *c1 = qg_test_module_at(m, "conv1"), *c2 = qg_test_module_at(m, "conv2");
  cr_assert_eq(qg_test_attrs_with_prefix(m, "conv1", "_observer_"), 1);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "conv2", "_observer_"), 1);
  /* Same class type, so the same observer names; distinct observer objects. */
  cr_assert_eq(c1->u.obj->type, c2->u.obj->type);
  long s = qg_class_find_slot(c1->u.obj->type, "_observer_0");
  cr_assert(s >= 0);
  cr_assert_neq(c1->u.obj->slots[s].u.obj, c2->u.obj->slots[s].u.obj);
  qg_module_free(m);
}

Test(prepare, test_insert_observers_for_general_ops) {
  qg_module *m = prepare_root("insert_observers_for_general_ops", "default", 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 2);
  qg_filecheck_t *fc = qg_test_fc_new();
  qg_fc_check_not(qg_fc_check(qg_fc_check(qg_fc_check(qg_fc_check(qg_fc_check(fc, OBS), "prim::GetAttr[name=\"conv\"]"),
                                                      "prim::CallMethod"),
                                          OBS),
                              "aten::flatten"),
                  OBS);
  qg_test_fc_run(fc, forward_of(m, ""));
  qg_module_free(m);
}

Test(prepare, test_insert_observers_propagate_observed) {
  qg_module *m = prepare_root("insert_observers_propagate_observed", "default", 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 3);
  qg_filecheck_t *fc = qg_test_fc_new();
  qg_fc_check(fc, OBS);
  qg_fc_check(fc, "prim::GetAttr[name=\"conv1\"]");
  qg_fc_check(fc, "prim::CallMethod");
  qg_fc_check(fc, OBS);
  qg_fc_check(fc, "aten::flatten");
  qg_fc_check_not(fc, OBS);
  qg_fc_check(fc, "prim::GetAttr[name=\"conv2\"]");
  qg_fc_check(fc, OBS);
  qg_test_fc_run(fc, forward_of(m, ""));
  qg_module_free(m);
}

Test(prepare, test_insert_observers_propagate_observed_in_submodule) {
  qg_module *m = prepare_root("insert_observers_propagate_observed_in_submodule", "default", 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 3);
  qg_filecheck_t *fc = qg_test_fc_new();
  qg_fc_check(fc, OBS);
  qg_fc_check(fc, "prim::GetAttr[name=\"conv1\"]");
  qg_fc_check(fc, "prim::CallMethod");
  qg_fc_check(fc, OBS);
  qg_fc_check(fc, "prim::CallMethod");
  qg_fc_check_not(fc, OBS);
  qg_fc_check(fc, "prim::GetAttr[name=\"conv2\"]");
  qg_fc_check(fc, OBS);
  qg_test_fc_run(fc, forward_of(m, ""));
  qg_module_free(m);
}

Test(prepare, test_insert_observers_propagate_observed_for_function) {
  qg_module *m = prepare_root("insert_observers_propagate_observed_for_function", "default", 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 3);
  qg_module_free(m);
}

Test(prepare, test_insert_observers_for_if) {
  /* result = {tracing False: [1, 2, 2], True: [2, 1, 0]} for (top, quant_prop, res) */
  static const struct {
    const char *fixture;
    size_t top, quant_prop, res;
  } cases[] = {{"insert_observers_for_if__trace", 2, 1, 0}, {"insert_observers_for_if__script", 1, 2, 2}};
  for (size_t i = 0; i < 2; i++) {
    qg_module *m = prepare_root(cases[i].fixture, "default", 0);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), cases[i].top, "%s", cases[i].fixture);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "quant_prop", "_observer_"), cases[i].quant_prop, "%s", cases[i].fixture);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "res", "_observer_"), cases[i].res, "%s", cases[i].fixture);
    qg_module_free(m);
  }
}

Test(prepare, test_insert_observers_for_nested_if) {
  static const struct {
    const char *fixture;
    size_t top;
  } cases[] = {{"insert_observers_for_nested_if__trace", 3}, {"insert_observers_for_nested_if__script", 1}};
  for (size_t i = 0; i < 2; i++) {
    qg_module *m = prepare_root(cases[i].fixture, "default", 0);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), cases[i].top, "%s", cases[i].fixture);
    qg_module_free(m);
  }
}

Test(prepare, test_insert_observers_for_if_consistent_observation) {
  static const struct {
    const char *fixture;
    size_t top;
  } cases[] = {
      {"insert_observers_for_if_consistent_observation__m_cond_trace", 2},
      {"insert_observers_for_if_consistent_observation__m_cond_script", 2},
      {"insert_observers_for_if_consistent_observation__m_nocond_trace", 2},
      {"insert_observers_for_if_consistent_observation__m_nocond_script", 2},
      /* num_observers = 2 if tracing and not cond else 3 */
      {"insert_observers_for_if_consistent_observation__m2_cond_trace", 3},
      {"insert_observers_for_if_consistent_observation__m2_cond_script", 3},
      {"insert_observers_for_if_consistent_observation__m2_nocond_trace", 2},
      {"insert_observers_for_if_consistent_observation__m2_nocond_script", 3},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    qg_module *m = prepare_root(cases[i].fixture, "default", 0);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), cases[i].top, "%s", cases[i].fixture);
    qg_module_free(m);
  }
}

Test(prepare, test_module_list) {
  qg_module *m = prepare_root("module_list", "default", 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer"), 3);
  qg_module_free(m);
}

/* ---- TestQuantizeDynamicJitPasses ----------------------------------------------------------------- */

Test(prepare, test_prepare_dynamic) {
  const char *qconfigs[] = {"float16_dynamic", "dynamic"};
  for (size_t i = 0; i < 2; i++) {
    qg_module *m = prepare_root("prepare_dynamic", qconfigs[i], 1);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "fc", "_observer_"), 1);
    qg_filecheck_t *fc = qg_test_fc_new();
    if (i == 0) {
      qg_fc_check(fc, "PlaceholderObserver = prim::GetAttr[name=\"_observer_");
      qg_test_fc_run(fc, forward_of(m, "fc"));
    } else {
      cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 1);
      qg_fc_check_not(qg_fc_check(qg_fc_check(qg_fc_check(fc, OBS), "prim::GetAttr[name=\"fc\"]"), "prim::CallMethod"),
                      OBS);
      qg_test_fc_run(fc, forward_of(m, ""));
    }
    qg_module_free(m);
  }
}

Test(prepare, test_prepare_dynamic_child_qconfig) {
  const char *paths[] = {"sub.fc"}, *names[] = {"dynamic"};
  qg_module *m = prepare("prepare_dynamic_child_qconfig", paths, names, 1, 1);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 1);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "conv", "_observer_"), 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "sub", "_observer_"), 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "sub.fc", "_observer_"), 1);
  qg_filecheck_t *fc = qg_test_fc_new();
  qg_fc_check(fc, "prim::GetAttr[name=\"sub");
  qg_fc_check(fc, "prim::CallMethod");
  qg_fc_check(fc, OBS);
  qg_fc_check(fc, "prim::CallMethod");
  qg_fc_check_not(fc, OBS);
  qg_test_fc_run(fc, forward_of(m, ""));
  qg_module_free(m);
}

Test(prepare, test_dynamic_weight_observer_prepare) {
  /* Linear -> Linear, dynamic: the input and the intermediate value at the top, one weight
   * observer in each fc (reference §2.8, verified on 1.13). */
  const char *fx[] = {"dynamic_weight_observer__trace", "dynamic_weight_observer__script"};
  for (size_t i = 0; i < 2; i++) {
    qg_module *m = prepare_root(fx[i], "dynamic", 1);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 2, "%s", fx[i]);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "fc", "_observer_"), 1, "%s", fx[i]);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "fc2", "_observer_"), 1, "%s", fx[i]);
    qg_module_free(m);
  }
}

/* ---- API behaviour and bad input --------------------------------------------------------------- */

Test(prepare, copy_leaves_the_input_untouched) {
  qg_module *m = qg_test_load_seed("insert_observers"), *out = NULL;
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  dict_add(&d, "", "default");
  char *before = qg_graph_to_string(forward_of(m, ""), NULL);
  QG_ASSERT_OK(qg_prepare(m, &d, 0, 0, &out, NULL));
  cr_assert_neq(out, m);
  char *after = qg_graph_to_string(forward_of(m, ""), NULL);
  cr_assert_str_eq(before, after);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 0);
  cr_assert_eq(qg_test_attrs_with_prefix(out, "", "_observer_"), 2);
  free(before);
  free(after);
  qg_qconfig_dict_free(&d);
  qg_module_free(out);
  qg_module_free(m);
}

Test(prepare, none_qconfig_skips_a_module) {
  /* {"": default, "fc": None}: SkipQuantModel-like; here: child qconfig None for conv. */
  const char *paths[] = {"", "conv"}, *names[] = {"default", NULL};
  qg_module *m = prepare("insert_observers", paths, names, 2, 0);
  cr_assert_eq(qg_test_attrs_with_prefix(m, "conv", "_observer_"), 0);
  qg_module_free(m);
}

Test(prepare, unknown_qconfig_name_lists_the_known_ones) {
  qg_qconfig qc;
  cr_assert_eq(qg_qconfig_named("fbgem", QG_HISTOGRAM_CURRENT, &qc), QG_STATUS_NOT_FOUND);
  cr_assert(strstr(qg_last_error(), "fbgem") && strstr(qg_last_error(), "fbgemm") && strstr(qg_last_error(), "qnnpack"),
            "%s", qg_last_error());
}

Test(prepare, saved_prepared_bundle_reloads_and_runs) {
  qg_module *m = prepare_root("insert_observers", "default", 0);
  qg_module *r = qg_test_reload(m);
  cr_assert_eq(qg_test_attrs_with_prefix(r, "", "_observer_"), 2);
  qg_module_free(r);
  qg_module_free(m);
}

static qg_status prepare_once(void *ud) {
  const qg_module *src = ud;
  qg_module *m = NULL, *out = NULL;
  qg_status st = qg_module_clone(src, &m);
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  qg_qconfig qc;
  if (st == QG_OK) st = qg_qconfig_named("default", QG_HISTOGRAM_CURRENT, &qc);
  if (st == QG_OK) st = qg_qconfig_dict_set(&d, "", &qc);
  if (st == QG_OK) st = qg_prepare(m, &d, 0, 1, &out, NULL);
  qg_qconfig_dict_free(&d);
  qg_module_free(m);
  return st;
}

Test(prepare, every_allocation_failure_is_reported) {
  qg_module *m = qg_test_load_seed("insert_observers_child_qconfig");
  size_t runs = qg_test_every_alloc_failure(prepare_once, m);
  cr_assert(runs > 10);
  qg_module_free(m);
}

/* test_dynamic_weight_observer, prepare half: the weight observers the prepared model runs see
 * exactly the weights, so their qparams equal those of default_dynamic_qconfig.weight() applied
 * to the weight directly (the seed's reference computation). The convert half (qparams stored
 * as attributes) comes with InsertQuantDeQuant. */
Test(prepare, test_dynamic_weight_observer_qparams) {
  const char *fx[] = {"dynamic_weight_observer__trace", "dynamic_weight_observer__script"};
  for (size_t f = 0; f < 2; f++) {
    qg_module *m = prepare_root(fx[f], "dynamic", 1);
    int64_t shape[2] = {5, 5};
    qg_tensor *x = NULL;
    QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 2, shape, &x));
    float *xd = qg_tensor_data(x);
    for (int k = 0; k < 25; k++) xd[k] = (float)k / 25.0f;
    qg_ival arg = qg_ival_tensor(x), res = qg_ival_none();
    QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &arg, 1, NULL, &res));
    qg_ival_release(&res);
    qg_ival_release(&arg);
    const char *fcs[] = {"fc", "fc2"};
    for (size_t i = 0; i < 2; i++) {
      const qg_ival *fc = qg_test_module_at(m, fcs[i]);
      const qg_ival *w = qg_ival_object_get(fc, "weight");
      cr_assert(w && w->kind == QG_IVAL_TENSOR);
      /* the reference: a fresh weight observer of the qconfig fed the weight */
      qg_qconfig qc;
      QG_ASSERT_OK(qg_qconfig_named("dynamic", QG_HISTOGRAM_CURRENT, &qc));
      qg_ival ref = qg_ival_none();
      QG_ASSERT_OK(qg_observer_new(m->cu, &qc.weight, &ref));
      QG_ASSERT_OK(qg_observer_observe(&ref, w->u.tensor));
      qg_tensor *rs = NULL, *rz = NULL, *gs = NULL, *gz = NULL;
      QG_ASSERT_OK(qg_observer_calculate_qparams(&ref, &rs, &rz));
      const qg_type_t *cls = fc->u.obj->type;
      int found = 0;
      for (size_t k = 0; k < cls->nslots; k++) {
        if (strncmp(cls->slots[k].name, "_observer_", 10) != 0) continue;
        QG_ASSERT_OK(qg_observer_calculate_qparams(&fc->u.obj->slots[k], &gs, &gz));
        found++;
      }
      cr_assert_eq(found, 1, "%s: one weight observer", fcs[i]);
      cr_assert_eq(qg_tensor_get_flat(gs, 0), qg_tensor_get_flat(rs, 0), "%s %s scale", fx[f], fcs[i]);
      cr_assert_eq(qg_tensor_get_flat(gz, 0), qg_tensor_get_flat(rz, 0), "%s %s zero point", fx[f], fcs[i]);
      qg_tensor_release(rs);
      qg_tensor_release(rz);
      qg_tensor_release(gs);
      qg_tensor_release(gz);
      qg_ival_release(&ref);
    }
    qg_module_free(m);
  }
}
