/* Observer construction: PyTorch's constructor checks, reading the arguments back, class reuse
 * and demangled names, bad inputs to forward, and allocation failures on every path. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "quant/observer.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

static void expect_error(qg_status st, qg_status want, const char *fragment) {
  cr_expect(st == want, "got %s (%s), want %s", qg_status_name(st), qg_last_error(), qg_status_name(want));
  cr_expect(strstr(qg_last_error(), fragment) != NULL, "message \"%s\" lacks \"%s\"", qg_last_error(), fragment);
}

static int same_spec(const qg_observer_spec *a, const qg_observer_spec *b) {
  return a->kind == b->kind && a->dtype == b->dtype && a->qscheme == b->qscheme && a->reduce_range == b->reduce_range &&
         a->has_quant_range == b->has_quant_range && (!a->has_quant_range || (a->quant_min == b->quant_min &&
                                                                                a->quant_max == b->quant_max)) &&
         a->eps == b->eps && a->nan_check_113 == b->nan_check_113;
}

Test(observers, spec_round_trip) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  for (int k = 0; k < QG_OBSERVER_KIND_COUNT; k++) {
    for (int variant = 0; variant < 3; variant++) {
      qg_observer_spec s, back, again;
      qg_observer_spec_default((qg_observer_kind)k, &s);
      if (k != QG_OBSERVER_PLACEHOLDER && k != QG_OBSERVER_NOOP) {
        if (variant == 1) { /* a custom range with reduce_range is stored halved */
          s.has_quant_range = 1;
          s.quant_min = 0;
          s.quant_max = 127;
          s.reduce_range = 1;
        }
        if (variant == 2) {
          s.dtype = QG_DTYPE_QINT8;
          s.eps = 0x1p-12f;
          s.nan_check_113 = 1;
          s.histogram_variant = QG_HISTOGRAM_LEGACY_113;
          s.ch_axis = -1;
          s.averaging_constant = 0.25;
        }
      }
      qg_ival o, o2;
      QG_ASSERT_OK(qg_observer_new(cu, &s, &o));
      cr_expect(qg_observer_kind_of(o.u.obj->type) == k);
      QG_ASSERT_OK(qg_observer_spec_of(&o, &back));
      QG_ASSERT_OK(qg_observer_new(cu, &back, &o2));
      QG_ASSERT_OK(qg_observer_spec_of(&o2, &again));
      cr_expect(qg_ival_equal(&o, &o2), "%s variant %d: spec_of -> new rebuilds the object", qg_observer_kind_name(k),
                variant);
      cr_expect(same_spec(&back, &again));
      int uniform = k != QG_OBSERVER_PLACEHOLDER && k != QG_OBSERVER_NOOP;
      if (variant == 1 && uniform)
        cr_expect(back.quant_min == 0 && back.quant_max == 63 && back.quant_range_is_final, "%s: %lld..%lld final %d",
                  qg_observer_kind_name(k), (long long)back.quant_min, (long long)back.quant_max, back.quant_range_is_final);
      if (variant == 2 && k == QG_OBSERVER_HISTOGRAM) cr_expect(back.histogram_variant == QG_HISTOGRAM_LEGACY_113);
      if (variant == 2 && k == QG_OBSERVER_MOVING_AVERAGE_MINMAX) cr_expect(back.averaging_constant == 0.25);
      qg_ival_release(&o);
      qg_ival_release(&o2);
    }
  }
  qg_cu_release(cu);
}

Test(observers, spec_check_errors) {
  qg_observer_spec s;
  qg_observer_spec_default(QG_OBSERVER_MINMAX, &s);
  s.qscheme = QG_QS_PER_CHANNEL_AFFINE;
  expect_error(qg_observer_spec_check(&s), QG_STATUS_INVALID_ARGUMENT,
               "MinMaxObserver's qscheme only support torch.per_tensor_symmetric and torch.per_tensor_affine.");
  qg_observer_spec_default(QG_OBSERVER_PER_CHANNEL_MINMAX, &s);
  s.qscheme = QG_QS_PER_TENSOR_SYMMETRIC;
  expect_error(qg_observer_spec_check(&s), QG_STATUS_INVALID_ARGUMENT, "PerChannelMinMaxObserver's qscheme only support");
  qg_observer_spec_default(QG_OBSERVER_MINMAX, &s);
  s.qscheme = QG_QS_PER_TENSOR_SYMMETRIC;
  s.reduce_range = 1;
  expect_error(qg_observer_spec_check(&s), QG_STATUS_INVALID_ARGUMENT, "Cannot reduce range for symmetric quantization");
  s.dtype = QG_DTYPE_QINT8; /* fine for qint8 */
  QG_ASSERT_OK(qg_observer_spec_check(&s));
  qg_observer_spec_default(QG_OBSERVER_MINMAX, &s);
  s.dtype = QG_DTYPE_F32;
  expect_error(qg_observer_spec_check(&s), QG_STATUS_INVALID_ARGUMENT, "Default Observer only works for");
  qg_observer_spec_default(QG_OBSERVER_HISTOGRAM, &s);
  s.bins = 0;
  expect_error(qg_observer_spec_check(&s), QG_STATUS_INVALID_ARGUMENT, "bins must be > 0");
  qg_observer_spec_default(QG_OBSERVER_HISTOGRAM, &s);
  s.histogram_variant = (qg_histogram_variant)7;
  expect_error(qg_observer_spec_check(&s), QG_STATUS_INVALID_ARGUMENT, "unknown histogram variant");
  qg_observer_spec_default(QG_OBSERVER_MINMAX, &s);
  s.has_quant_range = 1;
  s.quant_min = 3;
  s.quant_max = 10;
  expect_error(qg_observer_spec_check(&s), QG_STATUS_INVALID_ARGUMENT, "must include 0");
  s.kind = (qg_observer_kind)42;
  expect_error(qg_observer_spec_check(&s), QG_STATUS_INVALID_ARGUMENT, "observer kind 42");
  /* placeholders take any dtype */
  qg_observer_spec_default(QG_OBSERVER_PLACEHOLDER, &s);
  s.dtype = QG_DTYPE_F16;
  QG_ASSERT_OK(qg_observer_spec_check(&s));
}

Test(observers, classes_and_names) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  const qg_type_t *a, *b;
  QG_ASSERT_OK(qg_observer_class(cu, QG_OBSERVER_HISTOGRAM, &a));
  QG_ASSERT_OK(qg_observer_class(cu, QG_OBSERVER_HISTOGRAM, &b));
  cr_expect(a == b && a->is_module, "one class per kind and unit, a module class");
  cr_expect_str_eq(qg_observer_qualname(QG_OBSERVER_NOOP), "__torch__.torch.ao.quantization.observer.NoopObserver");
  cr_expect(qg_observer_kind_name(QG_OBSERVER_KIND_COUNT) == NULL);
  qg_type_t *mangled, *other;
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.torch.ao.quantization.observer.___torch_mangle_7.PerChannelMinMaxObserver",
                                  1, &mangled));
  cr_expect(qg_observer_kind_of(mangled) == QG_OBSERVER_PER_CHANNEL_MINMAX);
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.MinMaxObserver", 1, &other));
  cr_expect(qg_observer_kind_of(other) == -1);
  qg_ival o;
  QG_ASSERT_OK(qg_ival_object_new(other, &o));
  qg_observer_spec s;
  expect_error(qg_observer_spec_of(&o, &s), QG_STATUS_TYPE, "is not an observer class");
  qg_ival_release(&o);
  qg_cu_release(cu);
}

Test(observers, bad_inputs) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_observer_spec s;
  qg_observer_spec_default(QG_OBSERVER_HISTOGRAM, &s);
  qg_ival h, m;
  QG_ASSERT_OK(qg_observer_new(cu, &s, &h));
  qg_observer_spec_default(QG_OBSERVER_MINMAX, &s);
  QG_ASSERT_OK(qg_observer_new(cu, &s, &m));
  int64_t shape[1] = {4};
  qg_tensor *q, *i64;
  qg_quantizer *qz;
  QG_ASSERT_OK(qg_quantizer_per_tensor(0.5, 3, &qz));
  QG_ASSERT_OK(qg_tensor_create_quantized(QG_DTYPE_QUINT8, 1, shape, qz, &q));
  qg_quantizer_release(qz);
  expect_error(qg_observer_observe(&m, q), QG_STATUS_UNSUPPORTED, "quantized input");
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I64, 1, shape, &i64));
  expect_error(qg_observer_observe(&h, i64), QG_STATUS_UNSUPPORTED, "input dtype i64 is not supported");
  QG_ASSERT_OK(qg_observer_observe(&m, i64)); /* min/max observers convert like x.to(float) */
  /* a state buffer replaced by something else is reported, not trusted */
  QG_ASSERT_OK(qg_ival_object_put(&m, "min_val", qg_ival_int(3)));
  expect_error(qg_observer_observe(&m, i64), QG_STATUS_TYPE, "one-element float32");
  qg_tensor *s1, *z1;
  expect_error(qg_observer_calculate_qparams(&m, &s1, &z1), QG_STATUS_TYPE, "must be a contiguous float32 tensor");
  qg_tensor_release(q);
  qg_tensor_release(i64);
  qg_ival_release(&h);
  qg_ival_release(&m);
  qg_cu_release(cu);
}

/* ---- allocation failures -------------------------------------------------------------------- */

static qg_tensor *ramp(int64_t n, float scale) {
  int64_t shape[2] = {4, n / 4};
  qg_tensor *t;
  if (qg_tensor_create(QG_DTYPE_F32, 2, shape, &t) != QG_OK) return NULL;
  float *p = qg_tensor_data(t);
  for (int64_t i = 0; i < n; i++) p[i] = scale * (float)((i * 37) % n) / (float)n - 0.3f;
  return t;
}

typedef struct oom_case {
  qg_observer_kind kind;
  qg_histogram_variant variant;
} oom_case;

static qg_status observe_twice(void *ud) {
  const oom_case *c = ud;
  qg_cu_t *cu;
  QG_TRY(qg_cu_create(&cu));
  qg_observer_spec s;
  qg_observer_spec_default(c->kind, &s);
  s.bins = 64;
  s.ch_axis = 1;
  s.histogram_variant = c->variant;
  qg_ival o = qg_ival_none();
  qg_tensor *a = ramp(64, 1.0f), *b = ramp(64, 3.0f), *sc = NULL, *zp = NULL;
  qg_status st = a && b ? QG_OK : QG_STATUS_OOM;
  if (st == QG_OK) st = qg_observer_new(cu, &s, &o);
  if (st == QG_OK) st = qg_observer_observe(&o, a);
  if (st == QG_OK) st = qg_observer_observe(&o, b);
  if (st == QG_OK && c->kind != QG_OBSERVER_PLACEHOLDER && c->kind != QG_OBSERVER_NOOP)
    st = qg_observer_calculate_qparams(&o, &sc, &zp);
  qg_tensor_release(a);
  qg_tensor_release(b);
  qg_tensor_release(sc);
  qg_tensor_release(zp);
  qg_ival_release(&o);
  qg_cu_release(cu);
  return st;
}

Test(observers, every_allocation_failure) {
  for (int k = 0; k < QG_OBSERVER_KIND_COUNT; k++) {
    oom_case c = {(qg_observer_kind)k, QG_HISTOGRAM_CURRENT};
    size_t runs = qg_test_every_alloc_failure(observe_twice, &c);
    cr_expect(runs > 3, "%s: %zu runs", qg_observer_kind_name(c.kind), runs);
  }
  oom_case legacy = {QG_OBSERVER_HISTOGRAM, QG_HISTOGRAM_LEGACY_113};
  qg_test_every_alloc_failure(observe_twice, &legacy);
  legacy.variant = QG_HISTOGRAM_LEGACY;
  qg_test_every_alloc_failure(observe_twice, &legacy);
}

/* A unit that already has PyTorch's own MinMaxObserver class (as a bundle exported from PyTorch
 * brings it: 1.13's slots, graph methods): new observers reuse it without the quantgraph-only
 * slots, and the C entry points work on its objects. */
Test(observers, pytorch_observer_class) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_type_t *cls;
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.torch.ao.quantization.observer.MinMaxObserver", 1, &cls));
  static const char *const buffers[] = {"eps", "min_val", "max_val"};
  static const char *const ints[] = {"dtype", "qscheme", "quant_min", "quant_max"};
  static const char *const bools[] = {"training", "reduce_range", "has_customized_qrange"};
  for (int i = 0; i < 3; i++) QG_ASSERT_OK(qg_class_add_slot(cls, buffers[i], qg_type_prim(QG_TYPE_TENSOR), QG_SLOT_BUFFER));
  for (int i = 0; i < 3; i++) QG_ASSERT_OK(qg_class_add_slot(cls, bools[i], qg_type_prim(QG_TYPE_BOOL), QG_SLOT_ATTRIBUTE));
  for (int i = 0; i < 4; i++) QG_ASSERT_OK(qg_class_add_slot(cls, ints[i], qg_type_prim(QG_TYPE_INT), QG_SLOT_ATTRIBUTE));
  qg_observer_spec s, back;
  qg_observer_spec_default(QG_OBSERVER_MINMAX, &s);
  s.dtype = QG_DTYPE_QINT8;
  s.qscheme = QG_QS_PER_TENSOR_SYMMETRIC;
  qg_ival o;
  QG_ASSERT_OK(qg_observer_new(cu, &s, &o));
  cr_expect(o.u.obj->type == cls, "the existing class is reused");
  qg_tensor *x = ramp(64, 2.0f), *sc, *zp;
  QG_ASSERT_OK(qg_observer_observe(&o, x));
  QG_ASSERT_OK(qg_observer_calculate_qparams(&o, &sc, &zp));
  QG_ASSERT_OK(qg_observer_spec_of(&o, &back));
  cr_expect(back.dtype == QG_DTYPE_QINT8 && back.qscheme == QG_QS_PER_TENSOR_SYMMETRIC && !back.nan_check_113);
  cr_expect(zp->dtype == QG_DTYPE_I64 && qg_tensor_get_flat(zp, 0) == 0, "symmetric qint8: int64 zero point 0");
  cr_expect((float)qg_tensor_get_flat(sc, 0) > 0.0f);
  qg_tensor_release(x);
  qg_tensor_release(sc);
  qg_tensor_release(zp);
  qg_ival_release(&o);
  qg_cu_release(cu);
}
