/* convert_jit in C, debug half: InsertQuantDeQuant and the propagation passes (reference §3),
 * with the seed's own assertions (test_insert_quant_dequant*, test_replicate_dequantize*,
 * test_dynamic_weight_observer's qparam attributes, ...) on the exported fixtures. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/convert.h"
#include "base/alloc.h"
#include "ir/filecheck.h"
#include "ir/text.h"
#include "passes/passes.h"
#include "quant/observer.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/quanttest.h"
#include "util/testutil.h"


static size_t submodules(const qg_module *m, const char *path) {
  const qg_ival *obj = qg_test_module_at(m, path);
  size_t n = 0;
  for (size_t i = 0; i < obj->u.obj->type->nslots; i++) n += obj->u.obj->type->slots[i].kind == QG_SLOT_MODULE;
  return n;
}

/* convert_jit(m, debug=True): InsertQuantDeQuant + propagation, in place. */
static void convert_debug(qg_module *m, int dynamic) {
  QG_ASSERT_OK(qg_insert_quant_dequant(m, "forward", dynamic, NULL));
  QG_ASSERT_OK(qg_propagate_quantization(m, "forward", dynamic, NULL));
  QG_ASSERT_OK(qg_graph_lint(qg_test_method(m, "", "forward")));
}

static qg_tensor *randn(int ndim, const int64_t *shape, unsigned seed) {
  qg_tensor *t = NULL;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, ndim, shape, &t));
  float *x = qg_tensor_data(t);
  for (int64_t k = 0; k < qg_tensor_numel(t); k++) {
    seed = seed * 1103515245u + 12345u;
    x[k] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return t;
}

static void run_forward(qg_module *m, qg_tensor *x) {
  qg_ival arg = qg_ival_tensor(x), res = qg_ival_none();
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &arg, 1, NULL, &res));
  qg_ival_release(&res);
}

/* QConfig(activation=observer, weight=observer) with default_observer or
 * default_per_channel_weight_observer.with_args(ch_axis=1). */
static void seed_qconfig(int per_channel, qg_qconfig_dict *d) {
  qg_qconfig qc;
  QG_ASSERT_OK(qg_qconfig_named(per_channel ? "per_channel" : "default", QG_HISTOGRAM_CURRENT, &qc));
  if (per_channel) qc.weight.ch_axis = 1;
  qc.activation = per_channel ? qc.weight : qc.activation;
  qc.weight = per_channel ? qc.weight : qc.activation;
  QG_ASSERT_OK(qg_qconfig_dict_set(d, "", &qc));
}

Test(convert, test_insert_quant_dequant) {
  int64_t shape[4] = {1, 3, 10, 10};
  for (int per_channel = 1; per_channel >= 0; per_channel--) {
    qg_module *m = qg_test_load_seed("insert_quant_dequant"), *out = NULL;
    qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
    seed_qconfig(per_channel, &d);
    QG_ASSERT_OK(qg_prepare(m, &d, 0, 1, &out, NULL));
    qg_tensor *x = randn(4, shape, 7);
    run_forward(m, x);
    convert_debug(m, 0);
    cr_assert_eq(submodules(m, ""), 1, "Expected to have single submodule of conv");
    run_forward(m, x);
    qg_filecheck_t *fc = qg_test_fc_new();
    qg_fc_check_count(fc, per_channel ? "aten::quantize_per_channel" : "aten::quantize_per_tensor", 3, 1);
    qg_test_fc_run(fc, qg_test_method(m, "", "forward"));
    qg_tensor_release(x);
    qg_qconfig_dict_free(&d);
    qg_module_free(m);
  }
}

Test(convert, test_insert_quant_dequant_shared_class_type) {
  int64_t shape[4] = {1, 3, 10, 10};
  for (int per_channel = 1; per_channel >= 0; per_channel--) {
    qg_module *m = qg_test_load_seed("insert_quant_dequant_shared_class_type"), *out = NULL;
    qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
    seed_qconfig(per_channel, &d);
    QG_ASSERT_OK(qg_prepare(m, &d, 0, 1, &out, NULL));
    cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 3, "Expected to have 3 obervers");
    cr_assert_eq(qg_test_attrs_with_prefix(m, "conv1", "_observer_"), 1);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "conv2", "_observer_"), 1);
    qg_tensor *x = randn(4, shape, 11);
    run_forward(m, x);
    convert_debug(m, 0);
    run_forward(m, x);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "", "_observer_"), 0, "Expected to have 0 obervers");
    cr_assert_eq(qg_test_attrs_with_prefix(m, "conv1", "_observer_"), 0);
    cr_assert_eq(qg_test_attrs_with_prefix(m, "conv2", "_observer_"), 0);
    const char *qf = per_channel ? "aten::quantize_per_channel" : "aten::quantize_per_tensor";
    const char *mods[] = {"conv1", "conv2"};
    for (size_t i = 0; i < 2; i++) {
      qg_filecheck_t *fc = qg_test_fc_new();
      qg_fc_check(qg_fc_check(qg_fc_check_next(qg_fc_check(fc, qf), "aten::dequantize"),
                              "prim::CallMethod[name=\"_conv_forward\"]"),
                  "return");
      qg_test_fc_run(fc, qg_test_method(m, mods[i], "forward"));
      fc = qg_test_fc_new();
      qg_fc_check(qg_fc_check_not(qg_fc_check(qg_fc_check_not(fc, qf), "aten::conv2d"), qf), "return");
      qg_test_fc_run(fc, qg_test_method(m, mods[i], "_conv_forward"));
    }
    qg_tensor_release(x);
    qg_qconfig_dict_free(&d);
    qg_module_free(m);
  }
}

static void replicate(const char *fixture, int after_count) {
  qg_module *m = qg_test_load_seed(fixture);
  qg_graph_t *g = (qg_graph_t *)qg_test_method(m, "", "forward");
  qg_filecheck_t *fc = qg_test_fc_new();
  qg_fc_check_count(fc, "aten::dequantize", 1, 1);
  qg_test_fc_run(fc, g);
  QG_ASSERT_OK(qg_replicate_dequant_graph(g, NULL));
  QG_ASSERT_OK(qg_graph_lint(g));
  fc = qg_test_fc_new();
  qg_fc_check_count(fc, "aten::dequantize", (size_t)after_count, 1);
  qg_test_fc_run(fc, g);
  qg_module_free(m);
}

Test(convert, test_replicate_dequantize) { replicate("replicate_dequantize", 2); }

Test(convert, test_replicate_dequantize_in_block) {
  replicate("replicate_dequantize_in_block", 2);
  qg_module *m = qg_test_load_seed("replicate_dequantize_in_block");
  qg_graph_t *g = (qg_graph_t *)qg_test_method(m, "", "forward");
  QG_ASSERT_OK(qg_replicate_dequant_graph(g, NULL));
  qg_filecheck_t *fc = qg_test_fc_new();
  qg_fc_check_next(qg_fc_check(fc, "aten::dequantize"), "CallMethod");
  qg_test_fc_run(fc, g);
  fc = qg_test_fc_new();
  qg_fc_check_next(qg_fc_check(qg_fc_check(fc, "aten::dequantize"), "aten::dequantize"), "aten::add");
  qg_test_fc_run(fc, g);
  qg_module_free(m);
}

/* test_dynamic_weight_observer, convert half: the weight qparams stored by
 * quantize_dynamic_jit(debug=True) as `weight.<n>_scale_0` / `_zero_point_0` equal those of
 * the qconfig's weight observer applied to the weight. */
Test(convert, test_dynamic_weight_observer) {
  const char *fx[] = {"dynamic_weight_observer__trace", "dynamic_weight_observer__script"};
  for (size_t f = 0; f < 2; f++) {
    qg_module *m = qg_test_load_seed(fx[f]), *out = NULL;
    qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
    qg_qconfig qc;
    QG_ASSERT_OK(qg_qconfig_named("dynamic", QG_HISTOGRAM_CURRENT, &qc));
    QG_ASSERT_OK(qg_qconfig_dict_set(&d, "", &qc));
    QG_ASSERT_OK(qg_prepare(m, &d, 1, 1, &out, NULL));
    convert_debug(m, 1);
    const char *fcs[] = {"fc", "fc2"};
    for (size_t i = 0; i < 2; i++) {
      const qg_ival *fc = qg_test_module_at(m, fcs[i]);
      qg_ival ref = qg_ival_none();
      QG_ASSERT_OK(qg_observer_new(m->cu, &qc.weight, &ref));
      QG_ASSERT_OK(qg_observer_observe(&ref, qg_ival_object_get(fc, "weight")->u.tensor));
      qg_tensor *rs = NULL, *rz = NULL;
      QG_ASSERT_OK(qg_observer_calculate_qparams(&ref, &rs, &rz));
      /* the attribute name follows the weight value's debug name: weight.<n>_scale_0 */
      const qg_type_t *cls = fc->u.obj->type;
      const qg_ival *scale = NULL, *zp = NULL;
      for (size_t k = 0; k < cls->nslots; k++) {
        const char *nm = cls->slots[k].name;
        if (!strncmp(nm, "weight.", 7) && strstr(nm, "_scale_0")) scale = &fc->u.obj->slots[k];
        if (!strncmp(nm, "weight.", 7) && strstr(nm, "_zero_point_0")) zp = &fc->u.obj->slots[k];
      }
      cr_assert(scale && zp, "%s %s: no weight.N_scale_0 / _zero_point_0 attributes", fx[f], fcs[i]);
      cr_assert_eq(scale->kind, QG_IVAL_DOUBLE);
      cr_assert_eq(zp->kind, QG_IVAL_INT);
      cr_assert_eq(scale->u.d, (double)(float)qg_tensor_get_flat(rs, 0), "%s %s", fx[f], fcs[i]);
      cr_assert_eq(zp->u.i, (int64_t)qg_tensor_get_flat(rz, 0));
      qg_tensor_release(rs);
      qg_tensor_release(rz);
      qg_ival_release(&ref);
    }
    qg_filecheck_t *fc = qg_test_fc_new();
    qg_fc_check(qg_fc_check(qg_fc_check(fc, "aten::_choose_qparams_per_tensor"), "aten::quantize_per_tensor"),
                "aten::dequantize");
    qg_test_fc_run(fc, qg_test_method(m, "", "forward"));
    qg_qconfig_dict_free(&d);
    qg_module_free(m);
  }
}

Test(convert, observers_are_gone_and_bundle_round_trips) {
  qg_module *m = qg_test_load_seed("insert_quant_dequant"), *out = NULL;
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  seed_qconfig(0, &d);
  QG_ASSERT_OK(qg_prepare(m, &d, 0, 1, &out, NULL));
  int64_t shape[4] = {1, 3, 10, 10};
  qg_tensor *x = randn(4, shape, 3);
  run_forward(m, x);
  convert_debug(m, 0);
  qg_module *r = qg_test_reload(m);
  cr_assert_eq(qg_test_attrs_with_prefix(r, "", "_observer_"), 0);
  cr_assert_eq(qg_test_attrs_with_prefix(r, "", "x.2_scale_"), 1);
  qg_tensor_release(x);
  qg_module_free(r);
  qg_module_free(m);
  qg_qconfig_dict_free(&d);
}

/* The seed's skip_dequant_constant_prop model prepared (default_observer activations,
 * per-channel weights on axis 1), calibrated on one random input (*x, owned by the caller),
 * converted in debug mode and frozen. */
static qg_module *frozen_skip_dequant_model(qg_tensor **x) {
  qg_module *m = qg_test_load_seed("skip_dequant_constant_prop"), *out = NULL;
  qg_qconfig qc;
  QG_ASSERT_OK(qg_qconfig_named("per_channel", QG_HISTOGRAM_CURRENT, &qc)); /* default_observer activation */
  qc.weight.ch_axis = 1;                                                      /* per-channel weight, axis 1 */
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  QG_ASSERT_OK(qg_qconfig_dict_set(&d, "", &qc));
  QG_ASSERT_OK(qg_prepare(m, &d, 0, 1, &out, NULL));
  qg_qconfig_dict_free(&d);
  int64_t shape[4] = {1, 3, 10, 10};
  *x = randn(4, shape, 5);
  run_forward(m, *x);
  QG_ASSERT_OK(qg_convert(m, 0, 1, 1, &out, NULL));
  QG_ASSERT_OK(qg_freeze_module(m, NULL));
  return m;
}

/* Freezing a debug-converted model folds quantize_per_channel(weight) into a quantized tensor
 * constant; the bundle stores it (quantgraph.quant metadata), so the frozen model saves, loads
 * and computes the same output. */
Test(convert, frozen_model_with_quantized_constants_round_trips) {
  qg_tensor *x;
  qg_module *m = frozen_skip_dequant_model(&x);
  qg_filecheck_t *fc = qg_test_fc_new();
  qg_fc_check(fc, "QInt8(");
  qg_fc_check(fc, "prim::Constant[value=<Tensor>]");
  qg_test_fc_run(fc, qg_test_method(m, "", "forward"));
  qg_module *r = qg_test_reload(m);
  qg_ival arg = qg_ival_tensor(x), want = qg_ival_none(), got = qg_ival_none();
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &arg, 1, NULL, &want));
  QG_ASSERT_OK(qg_run_method(r, NULL, "forward", &arg, 1, NULL, &got));
  cr_assert(want.kind == QG_IVAL_TENSOR && got.kind == QG_IVAL_TENSOR);
  cr_assert_eq(qg_tensor_numel(want.u.tensor), qg_tensor_numel(got.u.tensor));
  for (int64_t k = 0; k < qg_tensor_numel(got.u.tensor); k++)
    cr_assert_eq(qg_tensor_get_flat(got.u.tensor, k), qg_tensor_get_flat(want.u.tensor, k), "element %lld", (long long)k);
  qg_ival_release(&want);
  qg_ival_release(&got);
  qg_ival_release(&arg);
  qg_module_free(r);
  qg_module_free(m);
}

Test(convert, test_embedding_bag_padding_idx_error) {
  const char *fx[] = {"embedding_bag_padding_idx_error__trace", "embedding_bag_padding_idx_error__script"};
  const char *ops[] = {"embedding_bag_4bit", "embedding_bag_byte"};
  for (size_t f = 0; f < 2; f++)
    for (size_t k = 0; k < 2; k++) {
      qg_module *m = qg_test_load_seed(fx[f]), *out = NULL;
      /* QConfig(activation=PlaceholderObserver(dtype=float, custom_op_name=op),
       *         weight=PlaceholderObserver(custom_op_name=op)) */
      qg_qconfig qc;
      qg_observer_spec_default(QG_OBSERVER_PLACEHOLDER, &qc.activation);
      qc.activation.dtype = QG_DTYPE_F32;
      qc.activation.custom_op_name = ops[k];
      qg_observer_spec_default(QG_OBSERVER_PLACEHOLDER, &qc.weight);
      qc.weight.custom_op_name = ops[k];
      qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
      QG_ASSERT_OK(qg_qconfig_dict_set(&d, "embedding", &qc));
      QG_ASSERT_OK(qg_prepare(m, &d, 0, 1, &out, NULL));
      qg_status st = qg_convert(m, 0, 0, 1, &out, NULL);
      cr_assert_neq(st, QG_OK, "%s %s: convert must fail", fx[f], ops[k]);
      cr_assert(strstr(qg_last_error(), "Expected aten::embedding_bag padding_idx input to be None"), "%s",
                qg_last_error());
      qg_qconfig_dict_free(&d);
      qg_module_free(m);
    }
}

Test(convert, test_skip_dequant_constant_prop) {
  qg_tensor *x;
  qg_module *m = frozen_skip_dequant_model(&x);
  run_forward(m, x);
  const qg_graph_t *g = qg_test_method(m, "", "forward");
  qg_filecheck_t *fc = qg_test_fc_new();
  qg_fc_check_count(fc, "aten::quantize_per_tensor", 2, 1);
  qg_test_fc_run(fc, g);
  fc = qg_test_fc_new();
  qg_fc_check_count(fc, "aten::quantize_per_channel", 0, 1);
  qg_test_fc_run(fc, g);
  fc = qg_test_fc_new();
  qg_fc_check_count(fc, "aten::dequantize", 3, 1);
  qg_test_fc_run(fc, g);
  fc = qg_test_fc_new();
  qg_fc_check(fc, "aten::quantize_per_tensor");
  qg_fc_check_next(fc, "aten::dequantize");
  qg_fc_check_not(fc, "aten::quantize_per_channel");
  qg_fc_check(fc, "aten::dequantize");
  qg_fc_check_next(fc, "aten::conv2d");
  qg_fc_check_next(fc, "aten::quantize_per_tensor");
  qg_fc_check_next(fc, "aten::dequantize");
  qg_test_fc_run(fc, g);
  qg_tensor_release(x);
  qg_module_free(m);
}

/* checkGraphModeOp(model, data, op, tracing) as the seed's ops tests use it: quantize the fixture
 * (fbgemm qconfig, its recorded input as calibration data) in debug and final form, check the
 * final graph with `checks` (FileCheck built by the caller), and that debug and final outputs
 * agree within `tol` (the final model computes in the quantized domain: one output step). */
static void check_graph_mode_op(const char *fixture, void (*checks)(const qg_graph_t *g), double tol) {
  qg_named_tensors io = {0}, data = {0};
  char rel[256];
  snprintf(rel, sizeof rel, "seed/%s.io.safetensors", fixture);
  QG_ASSERT_OK(qg_named_tensors_load(qg_test_fixture(rel), &io));
  qg_tensor *x = qg_named_tensors_get(&io, "in.0");
  cr_assert(x);
  data.n = 1;
  data.names = qg__calloc(1, sizeof *data.names);
  data.tensors = qg__calloc(1, sizeof *data.tensors);
  data.names[0] = qg__strdup("0.0");
  QG_ASSERT_OK(qg_tensor_to_dtype(x, x->dtype, &data.tensors[0]));
  qg_qconfig qc;
  QG_ASSERT_OK(qg_qconfig_named("fbgemm", QG_HISTOGRAM_CURRENT, &qc));
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  QG_ASSERT_OK(qg_qconfig_dict_set(&d, "", &qc));
  qg_tensor *outs[2] = {NULL, NULL};
  for (int debug = 1; debug >= 0; debug--) {
    qg_module *m = qg_test_load_seed(fixture), *out = NULL;
    QG_ASSERT_OK(qg_quantize(m, &d, &data, debug, 1, 1, &out, NULL, NULL));
    if (!debug) checks(qg_test_method(m, "", "forward"));
    qg_tensor *c = NULL; /* a copy: in-place models write to their input */
    QG_ASSERT_OK(qg_tensor_to_dtype(x, x->dtype, &c));
    qg_ival arg = qg_ival_tensor(c), res = qg_ival_none();
    QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &arg, 1, NULL, &res));
    cr_assert_eq(res.kind, QG_IVAL_TENSOR);
    outs[debug] = res.u.tensor;
    qg_ival_release(&arg);
    qg_module_free(m);
  }
  double maxd = 0;
  for (int64_t k = 0; k < qg_tensor_numel(outs[0]); k++) {
    double dd = fabs(qg_tensor_get_flat(outs[0], k) - qg_tensor_get_flat(outs[1], k));
    if (dd > maxd) maxd = dd;
  }
  cr_assert(maxd <= tol, "%s: debug and final differ by %g", fixture, maxd);
  qg_tensor_release(outs[0]);
  qg_tensor_release(outs[1]);
  qg_qconfig_dict_free(&d);
  qg_named_tensors_free(&data);
  qg_named_tensors_free(&io);
}

static void fc_count(const qg_graph_t *g, const char *pattern, size_t n) {
  qg_filecheck_t *fc = qg_test_fc_new();
  qg_fc_check_count(fc, pattern, n, 1);
  qg_test_fc_run(fc, g);
}

static void clamp_checks(const qg_graph_t *g) {
  const char *ops[] = {"aten::clamp", "aten::hardtanh", "aten::hardtanh_"};
  for (size_t k = 0; k < 3; k++) {
    qg_filecheck_t *fc = qg_test_fc_new();
    qg_fc_check(fc, ops[k]);
    qg_test_fc_run(fc, g);
  }
  fc_count(g, "aten::quantize_per_tensor", 1);
  fc_count(g, "aten::dequantize", 1);
}

Test(convert, test_clamp) {
  check_graph_mode_op("clamp__trace", clamp_checks, 1e-5); /* measured: equal */
  check_graph_mode_op("clamp__script", clamp_checks, 1e-5);
}

static void hardswish_checks(const qg_graph_t *g) {
  qg_filecheck_t *fc = qg_test_fc_new();
  qg_fc_check(fc, "quantized::hardswish");
  qg_test_fc_run(fc, g);
  fc = qg_test_fc_new();
  qg_fc_check_not(qg_fc_check_not(fc, "aten::hardswish"), "aten::hardswish_");
  qg_test_fc_run(fc, g);
}

Test(convert, test_hardswish) {
  const char *fx[] = {"hardswish__module_trace",  "hardswish__functional_inplace_trace",  "hardswish__functional_trace",
                      "hardswish__module_script", "hardswish__functional_inplace_script", "hardswish__functional_script"};
  /* Equal for every variant: calibration runs on copies, so F.hardswish(inplace=True) cannot
   * rewrite the data the second (final) flow calibrates on (PyTorch's checkGraphModeOp
   * deep-copies its inputs for the same reason). */
  for (size_t i = 0; i < 6; i++)
    check_graph_mode_op(fx[i], hardswish_checks, 1e-5);
}
