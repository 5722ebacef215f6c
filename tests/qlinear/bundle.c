/* Quantized tensors and packed params in bundles: save / load round trips (qparams restored
 * bitwise, packed params usable after reload, same outputs), the metadata format, and malformed
 * metadata. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/text.h"
#include "module/module.h"
#include "module/safetensors.h"
#include "ops/cpu/quant_engine.h"
#include "qlinear/qfix.h"
#include "quant/packed_params.h"
#include "runtime/native.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

#define PP "__torch__.torch.classes.quantized."

static char tmpdir[256];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/qg-qlinear-XXXXXX");
  cr_assert(mkdtemp(tmpdir) != NULL);
  qg_quant_engine_set(QG_ENGINE_FBGEMM);
}

static void remove_tmpdir(void) {
  DIR *d = opendir(tmpdir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
    unlink(p);
  }
  if (d) closedir(d);
  rmdir(tmpdir);
}

TestSuite(qlinear_bundle, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *tmp(const char *name) {
  static char p[512];
  snprintf(p, sizeof p, "%s/%s", tmpdir, name);
  return p;
}

static qg_tensor *filled_q(qg_dtype dt, int ndim, const int64_t *shape, qg_quantizer *q) {
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_create_quantized(dt, ndim, shape, q, &t));
  for (int64_t i = 0; i < qg_tensor_numel(t); i++)
    qg_tensor_set_flat(t, i, dt == QG_DTYPE_QINT8 ? (double)((i * 37) % 255 - 127) : (double)((i * 53) % 256));
  return t;
}

static qg_quantizer *per_channel(int64_t n, int axis) {
  qg_tensor *s, *z;
  int64_t shape[1] = {n};
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F64, 1, shape, &s));
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I64, 1, shape, &z));
  for (int64_t i = 0; i < n; i++) {
    qg_tensor_set_flat(s, i, 0.1 / 3.0 * (double)(i + 1)); /* not short decimals: the round trip must be exact */
    qg_tensor_set_flat(z, i, (double)(i % 3) - 1);
  }
  qg_quantizer *q;
  QG_ASSERT_OK(qg_quantizer_per_channel(s, z, axis, &q));
  qg_tensor_release(s);
  qg_tensor_release(z);
  return q;
}

/* A module holding a conv packed params object (per-channel weight), a linear one, and a bare
 * quantized buffer; forward runs the conv, then the linear on the flattened result. */
static qg_module *make_module(void) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_type_t *cls;
  const qg_type_t *conv_cls, *lin_cls;
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.M", 1, &cls));
  QG_ASSERT_OK(qg_packed_class(cu, QG_PACKED_CONV2D, &conv_cls));
  QG_ASSERT_OK(qg_packed_class(cu, QG_PACKED_LINEAR, &lin_cls));
  QG_ASSERT_OK(qg_class_add_slot(cls, "training", qg_type_bool(), QG_SLOT_ATTRIBUTE));
  QG_ASSERT_OK(qg_class_add_slot(cls, "_jit_pass_packed_weight_0", conv_cls, QG_SLOT_ATTRIBUTE));
  QG_ASSERT_OK(qg_class_add_slot(cls, "_jit_pass_packed_weight_1", lin_cls, QG_SLOT_ATTRIBUTE));
  QG_ASSERT_OK(qg_class_add_slot(cls, "act", qg_type_tensor(), QG_SLOT_BUFFER));
  const char *fwd = "graph(%self : __torch__.M, %x : Tensor):\n"
                    "  %p : " PP "Conv2dPackedParamsBase = prim::GetAttr[name=\"_jit_pass_packed_weight_0\"](%self)\n"
                    "  %l : " PP "LinearPackedParamsBase = prim::GetAttr[name=\"_jit_pass_packed_weight_1\"](%self)\n"
                    "  %s : float = prim::Constant[value=0.2]()\n"
                    "  %z : int = prim::Constant[value=64]()\n"
                    "  %one : int = prim::Constant[value=1]()\n"
                    "  %m1 : int = prim::Constant[value=-1]()\n"
                    "  %y : Tensor = quantized::conv2d_relu(%x, %p, %s, %z)\n"
                    "  %f : Tensor = aten::flatten(%y, %one, %m1)\n"
                    "  %o : Tensor = quantized::linear(%f, %l, %s, %z)\n"
                    "  return (%o)\n";
  qg_parse_opts opts = {0};
  opts.cu = cu;
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_parse(fwd, strlen(fwd), &opts, &g));
  QG_ASSERT_OK(qg_class_add_method(cls, "forward", g));

  int64_t ws[4] = {4, 3, 3, 3}, bs[1] = {4}, lws[2] = {5, 16}, as[2] = {2, 3};
  qg_quantizer *wq = per_channel(4, 0), *lq, *aq;
  QG_ASSERT_OK(qg_quantizer_per_tensor(0.015625, 0, &lq));
  QG_ASSERT_OK(qg_quantizer_per_tensor(0.05, 60, &aq));
  qg_tensor *w = filled_q(QG_DTYPE_QINT8, 4, ws, wq), *lw = filled_q(QG_DTYPE_QINT8, 2, lws, lq);
  qg_tensor *act = filled_q(QG_DTYPE_QUINT8, 2, as, aq), *b;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 1, bs, &b));
  for (int i = 0; i < 4; i++) qg_tensor_set_flat(b, i, 0.3 * i - 0.5);
  qg_packed_conv_spec spec = {2, 0, {1, 1}, {0, 0}, {0, 0}, {1, 1}, 1};
  qg_ival root, conv, lin;
  QG_ASSERT_OK(qg_packed_conv_new(cu, w, b, &spec, &conv));
  QG_ASSERT_OK(qg_packed_linear_new(cu, lw, NULL, &lin));
  QG_ASSERT_OK(qg_ival_object_new(cls, &root));
  QG_ASSERT_OK(qg_ival_object_put(&root, "training", qg_ival_bool(0)));
  QG_ASSERT_OK(qg_ival_object_put(&root, "_jit_pass_packed_weight_0", conv));
  QG_ASSERT_OK(qg_ival_object_put(&root, "_jit_pass_packed_weight_1", lin));
  QG_ASSERT_OK(qg_ival_object_put(&root, "act", qg_ival_tensor(act)));
  qg_tensor_release(w);
  qg_tensor_release(lw);
  qg_tensor_release(b);
  qg_quantizer_release(wq);
  qg_quantizer_release(lq);
  qg_quantizer_release(aq);
  qg_module *m;
  QG_ASSERT_OK(qg_module_create(cu, root, &m));
  return m;
}

static qg_tensor *forward(qg_module *m) {
  int64_t xs[4] = {1, 3, 4, 4};
  qg_quantizer *q;
  QG_ASSERT_OK(qg_quantizer_per_tensor(0.05, 60, &q));
  qg_tensor *x = filled_q(QG_DTYPE_QUINT8, 4, xs, q);
  qg_quantizer_release(q);
  qg_ival in = qg_ival_tensor(x), out;
  qg_status st = qg_run_method(m, NULL, "forward", &in, 1, NULL, &out);
  cr_assert(st == QG_OK, "%s", qg_last_error());
  qg_ival_release(&in);
  return out.u.tensor;
}

static void expect_same_quantized(const qg_tensor *a, const qg_tensor *b, const char *what) {
  qg_strbuf m = QG_STRBUF_INIT;
  cr_expect(qfix_compare(a, b, &m) == 0, "%s: %s", what, qg_strbuf_cstr(&m));
  qg_strbuf_free(&m);
  cr_assert(a->quantizer && b->quantizer, "%s: quantizers", what);
  cr_expect_eq(a->quantizer->scheme, b->quantizer->scheme, "%s: scheme", what);
  if (a->quantizer->scheme == QG_QSCHEME_PER_CHANNEL_AFFINE) {
    cr_expect_eq(a->quantizer->axis, b->quantizer->axis);
    cr_expect(memcmp(qg_tensor_data(a->quantizer->scales), qg_tensor_data(b->quantizer->scales),
                     qg_tensor_nbytes(a->quantizer->scales)) == 0, "%s: scales bitwise", what);
    cr_expect(memcmp(qg_tensor_data(a->quantizer->zero_points), qg_tensor_data(b->quantizer->zero_points),
                     qg_tensor_nbytes(a->quantizer->zero_points)) == 0, "%s: zero points", what);
  }
}

Test(qlinear_bundle, round_trip_with_packed_params) {
  qg_module *m = make_module();
  qg_tensor *before = forward(m);
  QG_ASSERT_OK(qg_module_save(m, tmp("q.safetensors")));
  qg_module *r;
  qg_status st = qg_module_load(tmp("q.safetensors"), &r);
  cr_assert(st == QG_OK, "%s", qg_last_error());
  /* the same objects, quantizers included */
  const qg_ival *a, *b;
  const char *paths[] = {"_jit_pass_packed_weight_0.weight", "_jit_pass_packed_weight_1.weight", "act"};
  for (size_t i = 0; i < 3; i++) {
    QG_ASSERT_OK(qg_module_attr(m, paths[i], &a));
    QG_ASSERT_OK(qg_module_attr(r, paths[i], &b));
    expect_same_quantized(a->u.tensor, b->u.tensor, paths[i]);
  }
  QG_ASSERT_OK(qg_module_attr(r, "_jit_pass_packed_weight_0.bias", &b));
  cr_expect(b->kind == QG_IVAL_TENSOR && b->u.tensor->dtype == QG_DTYPE_F32);
  QG_ASSERT_OK(qg_module_attr(r, "_jit_pass_packed_weight_1.bias", &b));
  cr_expect(b->kind == QG_IVAL_NONE);
  /* the reloaded packed params still work: native methods and the ops */
  QG_ASSERT_OK(qg_module_attr(r, "_jit_pass_packed_weight_0", &b));
  qg_ival groups;
  QG_ASSERT_OK(qg_call_method(r, (qg_ival *)b, "groups", NULL, 0, &groups));
  cr_expect_eq(groups.u.i, 1);
  qg_tensor *after = forward(r);
  qg_strbuf msg = QG_STRBUF_INIT;
  cr_expect(qfix_compare(after, before, &msg) == 0, "outputs differ after reload: %s", qg_strbuf_cstr(&msg));
  qg_strbuf_free(&msg);
  /* saving the reloaded module writes each quantizer key once (they are not kept as metadata) */
  cr_expect(qg_module_meta(r, "quantgraph.quant.act") == NULL);
  QG_ASSERT_OK(qg_module_save(r, tmp("q2.safetensors")));
  qg_safetensors *f;
  QG_ASSERT_OK(qg_safetensors_open(tmp("q2.safetensors"), &f));
  size_t nq = 0;
  for (size_t i = 0; i < f->nmeta; i++) nq += strncmp(f->meta_keys[i], "quantgraph.quant.", 17) == 0;
  cr_expect_eq(nq, 3);
  cr_expect_str_eq(qg_safetensors_meta(f, "quantgraph.quant.act"),
                   "{\"dtype\": \"quint8\", \"scheme\": \"per_tensor_affine\", \"scale\": 0.05, \"zero_point\": 60}");
  const char *pc = qg_safetensors_meta(f, "quantgraph.quant._jit_pass_packed_weight_0.weight");
  cr_assert(pc != NULL);
  cr_expect(strstr(pc, "\"scheme\": \"per_channel_affine\", \"axis\": 0, \"scales\": [0.03333333333333333, ") != NULL, "%s",
            pc);
  cr_expect(strstr(pc, "\"zero_points\": [-1, 0, 1, -1]}") != NULL, "%s", pc);
  /* the storage is the plain integer type */
  cr_expect_eq(qg_safetensors_find(f, "act")->dtype, QG_DTYPE_U8);
  cr_expect_eq(qg_safetensors_find(f, "_jit_pass_packed_weight_0.weight")->dtype, QG_DTYPE_I8);
  qg_safetensors_close(f);
  qg_tensor_release(before);
  qg_tensor_release(after);
  qg_module_free(r);
  qg_module_free(m);
}

/* A clone (save/load through the module text in memory) keeps quantizers too. */
Test(qlinear_bundle, clone_keeps_quantizers) {
  qg_module *m = make_module(), *c;
  QG_ASSERT_OK(qg_module_clone(m, &c));
  const qg_ival *a, *b;
  QG_ASSERT_OK(qg_module_attr(m, "_jit_pass_packed_weight_0.weight", &a));
  QG_ASSERT_OK(qg_module_attr(c, "_jit_pass_packed_weight_0.weight", &b));
  expect_same_quantized(a->u.tensor, b->u.tensor, "clone");
  qg_module_free(c);
  qg_module_free(m);
}

/* ---- malformed metadata -------------------------------------------------------------------- */

/* Saves the module, then rewrites the file with metadata key `key` set to `value` (or added). */
static void write_with_meta(const char *path, const char *key, const char *value) {
  qg_module *m = make_module();
  QG_ASSERT_OK(qg_module_save(m, path));
  qg_module_free(m);
  qg_safetensors *f;
  QG_ASSERT_OK(qg_safetensors_open(path, &f));
  qg_st_entry *e = calloc(f->ntensors, sizeof *e);
  const char **k = calloc(f->nmeta + 1, sizeof *k), **v = calloc(f->nmeta + 1, sizeof *v);
  for (size_t i = 0; i < f->ntensors; i++) e[i] = (qg_st_entry){f->tensors[i].name, f->tensors[i].tensor};
  size_t n = 0;
  int replaced = 0;
  for (size_t i = 0; i < f->nmeta; i++) {
    k[n] = f->meta_keys[i];
    v[n] = strcmp(f->meta_keys[i], key) == 0 ? (replaced = 1, value) : f->meta_values[i];
    n++;
  }
  if (!replaced) k[n] = key, v[n++] = value;
  char other[600];
  snprintf(other, sizeof other, "%s.tmp", path);
  QG_ASSERT_OK(qg_safetensors_write(other, e, f->ntensors, k, v, n));
  qg_safetensors_close(f);
  cr_assert(rename(other, path) == 0);
  free(e);
  free(k);
  free(v);
}

static void expect_load_error(const char *key, const char *value, const char *substr) {
  write_with_meta(tmp("bad.safetensors"), key, value);
  qg_module *m = NULL;
  qg_status st = qg_module_load(tmp("bad.safetensors"), &m);
  cr_expect_eq(st, QG_STATUS_FORMAT, "%s=%s: got %s (%s)", key, value, qg_status_name(st), qg_last_error());
  cr_expect(strstr(qg_last_error(), substr) != NULL, "message \"%s\" lacks \"%s\"", qg_last_error(), substr);
  cr_expect(strstr(qg_last_error(), "bad.safetensors") != NULL, "names the file: %s", qg_last_error());
  qg_module_free(m);
}

Test(qlinear_bundle, malformed_quant_metadata) {
  const char *k = "quantgraph.quant.act";
  expect_load_error(k, "{\"dtype\": \"quint8\", \"scheme\"", "not valid JSON");
  expect_load_error(k, "[1, 2]", "not a JSON object");
  expect_load_error(k, "{\"dtype\": \"float\", \"scheme\": \"per_tensor_affine\", \"scale\": 0.1, \"zero_point\": 0}",
                    "\"dtype\" must be one of");
  expect_load_error(k, "{\"dtype\": \"qint32\", \"scheme\": \"per_tensor_affine\", \"scale\": 0.1, \"zero_point\": 0}",
                    "qint32 is stored as I32, but the tensor is U8");
  expect_load_error(k, "{\"dtype\": \"quint8\", \"scheme\": \"per_tensor_symmetric\", \"scale\": 0.1, \"zero_point\": 0}",
                    "unknown \"scheme\" \"per_tensor_symmetric\"");
  expect_load_error(k, "{\"dtype\": \"quint8\", \"scheme\": \"per_tensor_affine\", \"scale\": -0.1, \"zero_point\": 0}",
                    "\"scale\" must be a finite positive number");
  expect_load_error(k, "{\"dtype\": \"quint8\", \"scheme\": \"per_tensor_affine\", \"scale\": 0.1, \"zero_point\": 1.5}",
                    "\"zero_point\" must be an integer");
  expect_load_error(k,
                    "{\"dtype\": \"quint8\", \"scheme\": \"per_channel_affine\", \"axis\": 1, \"scales\": [0.1, 0.1], "
                    "\"zero_points\": [0, 0]}",
                    "\"scales\" and \"zero_points\" must be arrays of 3 values (dimension 1)");
  expect_load_error(k,
                    "{\"dtype\": \"quint8\", \"scheme\": \"per_channel_affine\", \"axis\": 2, \"scales\": [0.1], "
                    "\"zero_points\": [0]}",
                    "\"axis\" must be an integer in [0, 2)");
  expect_load_error("quantgraph.quant.nothing", "{}", "the file has no tensor \"nothing\"");
}
