/* Observers inside modules: the graphs PyTorch's InsertObservers writes
 * (`prim::GetAttr[name="_observer_0"]` + `prim::CallMethod[name="forward"]`) run through the
 * interpreter, calculate_qparams through qg_call_method, the module text prints and parses back
 * unchanged, and the calibration state survives a bundle save and load. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/text.h"
#include "module/module.h"
#include "module/module_text.h"
#include "quant/observer.h"
#include "runtime/native.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

#define OBS "__torch__.torch.ao.quantization.observer."

static const char k_forward[] =
    "graph(%self : __torch__.M,\n"
    "      %x.1 : Tensor):\n"
    "  %_observer_0 : " OBS "MinMaxObserver = prim::GetAttr[name=\"_observer_0\"](%self)\n"
    "  %x.3 : Tensor = prim::CallMethod[name=\"forward\"](%_observer_0, %x.1)\n"
    "  %_observer_1 : " OBS "HistogramObserver = prim::GetAttr[name=\"_observer_1\"](%self)\n"
    "  %x.5 : Tensor = prim::CallMethod[name=\"forward\"](%_observer_1, %x.3)\n"
    "  %_observer_2 : " OBS "PerChannelMinMaxObserver = prim::GetAttr[name=\"_observer_2\"](%self)\n"
    "  %x.7 : Tensor = prim::CallMethod[name=\"forward\"](%_observer_2, %x.5)\n"
    "  %_observer_3 : " OBS "PlaceholderObserver = prim::GetAttr[name=\"_observer_3\"](%self)\n"
    "  %x.9 : Tensor = prim::CallMethod[name=\"forward\"](%_observer_3, %x.7)\n"
    "  return (%x.9)\n";

/* A module __torch__.M with four observers and the forward above. */
static qg_module *make_module(void) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_observer_spec specs[4];
  qg_observer_spec_default(QG_OBSERVER_MINMAX, &specs[0]);
  specs[0].has_quant_range = 1;
  specs[0].quant_max = 127;
  qg_observer_spec_default(QG_OBSERVER_HISTOGRAM, &specs[1]);
  specs[1].bins = 32;
  qg_observer_spec_default(QG_OBSERVER_PER_CHANNEL_MINMAX, &specs[2]);
  specs[2].dtype = QG_DTYPE_QINT8;
  specs[2].qscheme = QG_QS_PER_CHANNEL_SYMMETRIC;
  specs[2].ch_axis = 1;
  qg_observer_spec_default(QG_OBSERVER_PLACEHOLDER, &specs[3]);
  specs[3].dtype = QG_DTYPE_QUINT8;
  specs[3].has_compute_dtype = 1;
  specs[3].compute_dtype = QG_DTYPE_QUINT8;
  qg_type_t *cls;
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.M", 1, &cls));
  QG_ASSERT_OK(qg_class_add_slot(cls, "training", qg_type_prim(QG_TYPE_BOOL), QG_SLOT_ATTRIBUTE));
  qg_ival obs[4];
  char name[32];
  for (int i = 0; i < 4; i++) {
    QG_ASSERT_OK(qg_observer_new(cu, &specs[i], &obs[i]));
    snprintf(name, sizeof name, "_observer_%d", i);
    QG_ASSERT_OK(qg_class_add_slot(cls, name, obs[i].u.obj->type, QG_SLOT_MODULE));
  }
  qg_parse_opts po = {0};
  po.cu = cu;
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_parse(k_forward, strlen(k_forward), &po, &g));
  QG_ASSERT_OK(qg_class_add_method(cls, "forward", g));
  qg_ival root;
  QG_ASSERT_OK(qg_ival_object_new(cls, &root));
  QG_ASSERT_OK(qg_ival_object_put(&root, "training", qg_ival_bool(1)));
  for (int i = 0; i < 4; i++) {
    snprintf(name, sizeof name, "_observer_%d", i);
    QG_ASSERT_OK(qg_ival_object_put(&root, name, obs[i]));
  }
  qg_module *m;
  QG_ASSERT_OK(qg_module_create(cu, root, &m));
  return m;
}

static qg_tensor *input(float scale) {
  int64_t shape[3] = {2, 3, 4};
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 3, shape, &t));
  float *p = qg_tensor_data(t);
  for (int i = 0; i < 24; i++) p[i] = scale * (float)((i * 7) % 24 - 9) / 4.0f;
  return t;
}

static const qg_ival *observer(qg_module *m, int i) {
  char path[32];
  snprintf(path, sizeof path, "_observer_%d", i);
  const qg_ival *o;
  QG_ASSERT_OK(qg_module_find(m, path, &o));
  return o;
}

static float scalar_slot(const qg_ival *obs, const char *slot) {
  const qg_ival *v = qg_ival_object_get(obs, slot);
  cr_assert(v && v->kind == QG_IVAL_TENSOR && qg_tensor_numel(v->u.tensor) == 1);
  return (float)qg_tensor_get_flat(v->u.tensor, 0);
}

Test(observers, forward_through_the_interpreter) {
  qg_module *m = make_module();
  qg_ival x = qg_ival_tensor(input(1.0f)), out;
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &x, 1, NULL, &out));
  cr_expect(out.kind == QG_IVAL_TENSOR && out.u.tensor == x.u.tensor, "forward returns x_orig itself");
  cr_expect(scalar_slot(observer(m, 0), "min_val") == -2.25f && scalar_slot(observer(m, 0), "max_val") == 3.5f);
  cr_expect(scalar_slot(observer(m, 1), "min_val") == -2.25f);
  const qg_ival *pc = qg_ival_object_get(observer(m, 2), "min_val");
  cr_expect(pc->u.tensor->ndim == 1 && pc->u.tensor->shape[0] == 3, "per-channel state along ch_axis 1");
  qg_ival_release(&out);
  /* a second batch widens the range */
  qg_ival x2 = qg_ival_tensor(input(2.0f));
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &x2, 1, NULL, &out));
  cr_expect(scalar_slot(observer(m, 0), "max_val") == 7.0f);
  qg_ival_release(&out);
  /* calculate_qparams called as a method equals the C entry point */
  qg_ival qp;
  QG_ASSERT_OK(qg_call_method(m, (qg_ival *)observer(m, 0), "calculate_qparams", NULL, 0, &qp));
  cr_assert(qp.kind == QG_IVAL_TUPLE && qg_ival_len(&qp) == 2);
  qg_tensor *s, *z;
  QG_ASSERT_OK(qg_observer_calculate_qparams(observer(m, 0), &s, &z));
  qg_ival sv = qg_ival_tensor(s), zv = qg_ival_tensor(z);
  cr_expect(qg_ival_equal(&qp.u.list->items[0], &sv) && qg_ival_equal(&qp.u.list->items[1], &zv));
  cr_expect(s->dtype == QG_DTYPE_F32 && z->dtype == QG_DTYPE_I32 && s->shape[0] == 1);
  qg_ival_release(&sv);
  qg_ival_release(&zv);
  qg_ival_release(&qp);
  /* PlaceholderObserver refuses */
  cr_expect(qg_call_method(m, (qg_ival *)observer(m, 3), "calculate_qparams", NULL, 0, &qp) == QG_STATUS_RUNTIME);
  cr_expect(strstr(qg_last_error(), "calculate_qparams should not be called for PlaceholderObserver") != NULL, "%s",
            qg_last_error());
  /* wrong arguments to a native method */
  cr_expect(qg_call_method(m, (qg_ival *)observer(m, 0), "forward", NULL, 0, &qp) == QG_STATUS_TYPE);
  cr_expect(strstr(qg_last_error(), "expects one tensor argument") != NULL, "%s", qg_last_error());
  /* reset_min_max_vals */
  QG_ASSERT_OK(qg_call_method(m, (qg_ival *)observer(m, 0), "reset_min_max_vals", NULL, 0, &qp));
  cr_expect(scalar_slot(observer(m, 0), "min_val") == INFINITY);
  cr_expect(qg_call_method(m, (qg_ival *)observer(m, 1), "reset_min_max_vals", NULL, 0, &qp) == QG_STATUS_NOT_FOUND,
            "HistogramObserver has no reset_min_max_vals");
  qg_ival_release(&x);
  qg_ival_release(&x2);
  qg_module_free(m);
}

/* ---- module text and bundles ------------------------------------------------------------- */

static qg_tensor_names *g_names;

static qg_status lookup(void *ud, const char *name, qg_tensor **out) {
  (void)ud;
  for (size_t i = 0; i < g_names->n; i++)
    if (strcmp(g_names->names[i], name) == 0) {
      qg_tensor_retain(g_names->tensors[i]);
      *out = g_names->tensors[i];
      return QG_OK;
    }
  return QG_STATUS_NOT_FOUND;
}

Test(observers, module_text_round_trip) {
  qg_module *m = make_module();
  qg_ival x = qg_ival_tensor(input(1.0f)), out;
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &x, 1, NULL, &out)); /* non-trivial state */
  qg_ival_release(&out);
  qg_strbuf a = QG_STRBUF_INIT, b = QG_STRBUF_INIT;
  qg_tensor_names names = {0};
  QG_ASSERT_OK(qg_module_text_print(m->cu, &m->root, &a, &names));
  const char *text = qg_strbuf_cstr(&a);
  cr_expect(strstr(text, "module class " OBS "MinMaxObserver {\n  buffer eps : Tensor\n  buffer min_val : Tensor\n"
                         "  buffer max_val : Tensor\n  attribute training : bool\n  attribute dtype : int\n") != NULL,
            "PyTorch's slot names and order:\n%s", text);
  cr_expect(strstr(text, "  native method forward(Tensor x_orig) -> Tensor\n") != NULL, "%s", text);
  cr_expect(strstr(text, "  native method calculate_qparams() -> (Tensor, Tensor)\n") != NULL, "%s", text);
  g_names = &names;
  qg_module_text_opts o = {"observers.module", lookup, NULL, 0};
  qg_cu_t *cu2;
  qg_ival root2;
  QG_ASSERT_OK(qg_module_text_parse(text, strlen(text), &o, &cu2, &root2));
  QG_ASSERT_OK(qg_module_text_print(cu2, &root2, &b, NULL));
  cr_expect_str_eq(qg_strbuf_cstr(&b), text);
  cr_expect(qg_ival_equal(&root2, &m->root));
  qg_ival_release(&root2);
  qg_cu_release(cu2);
  qg_tensor_names_free(&names);
  qg_strbuf_free(&a);
  qg_strbuf_free(&b);
  qg_ival_release(&x);
  qg_module_free(m);
}

Test(observers, state_survives_a_bundle) {
  char dir[64] = "/tmp/qg-observers-XXXXXX", path[128];
  cr_assert(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/observed.safetensors", dir);
  qg_module *m = make_module();
  qg_ival x = qg_ival_tensor(input(1.0f)), x2 = qg_ival_tensor(input(-3.0f)), out;
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &x, 1, NULL, &out));
  qg_ival_release(&out);
  QG_ASSERT_OK(qg_module_save(m, path));
  qg_module *l;
  QG_ASSERT_OK(qg_module_load(path, &l));
  cr_expect(qg_ival_equal(&l->root, &m->root), "observer state after load");
  /* the loaded observers keep calibrating exactly like the originals */
  QG_ASSERT_OK(qg_run_method(m, NULL, "forward", &x2, 1, NULL, &out));
  qg_ival_release(&out);
  QG_ASSERT_OK(qg_run_method(l, NULL, "forward", &x2, 1, NULL, &out));
  qg_ival_release(&out);
  cr_expect(qg_ival_equal(&l->root, &m->root), "observer state after a second batch");
  for (int i = 0; i < 3; i++) {
    qg_tensor *s1, *z1, *s2, *z2;
    QG_ASSERT_OK(qg_observer_calculate_qparams(observer(m, i), &s1, &z1));
    QG_ASSERT_OK(qg_observer_calculate_qparams(observer(l, i), &s2, &z2));
    qg_ival a = qg_ival_tensor(s1), b = qg_ival_tensor(s2), c = qg_ival_tensor(z1), d = qg_ival_tensor(z2);
    cr_expect(qg_ival_equal(&a, &b) && qg_ival_equal(&c, &d), "observer %d qparams", i);
    qg_ival_release(&a);
    qg_ival_release(&b);
    qg_ival_release(&c);
    qg_ival_release(&d);
  }
  qg_module_free(l);
  qg_module_free(m);
  qg_ival_release(&x);
  qg_ival_release(&x2);
  unlink(path);
  rmdir(dir);
}
