/* Bundles: safetensors reading and writing, bundle load/save, malformed inputs, allocation
 * failures, atomic save, zero-copy loading. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "module/module.h"
#include "module/module_text.h"
#include "module/safetensors.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmpdir[256];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/qg-bundle-XXXXXX");
  cr_assert(mkdtemp(tmpdir) != NULL);
}

static void remove_tmpdir(void) {
  DIR *d = opendir(tmpdir);
  if (!d) return;
  struct dirent *e;
  char p[512];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(tmpdir);
}

TestSuite(safetensors, .init = make_tmpdir, .fini = remove_tmpdir);
TestSuite(bundle, .init = make_tmpdir, .fini = remove_tmpdir);
TestSuite(malformed, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *tmp_path(const char *name) {
  static char buf[512];
  snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
  return buf;
}

static size_t count_files(void) {
  DIR *d = opendir(tmpdir);
  cr_assert(d);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  cr_assert(f);
  cr_assert(fwrite(data, 1, n, f) == n);
  fclose(f);
}

/* A safetensors file: 8-byte length `hlen` (normally strlen(header)), the header, then `ndata`
 * bytes of data (0, 1, 2, ...). */
static void write_raw(const char *path, uint64_t hlen, const char *header, size_t ndata) {
  size_t n = strlen(header);
  unsigned char *buf = calloc(1, 8 + n + ndata);
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hlen >> (8 * i));
  memcpy(buf + 8, header, n);
  for (size_t i = 0; i < ndata; i++) buf[8 + n + i] = (unsigned char)i;
  write_bytes(path, buf, 8 + n + ndata);
  free(buf);
}

static qg_tensor *make_f32(int ndim, const int64_t *shape, float start) {
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, ndim, shape, &t));
  float *d = qg_tensor_data(t);
  for (int64_t i = 0; i < qg_tensor_numel(t); i++) d[i] = start + (float)i;
  return t;
}

/* A module text with two classes, a submodule and every value kind. */
static const char module_text[] =
    "quantgraph module 1\n"
    "\n"
    "module class __torch__.Sub {\n"
    "  parameter weight : Tensor\n"
    "  parameter bias : Tensor?\n"
    "  attribute training : bool\n"
    "}\n"
    "\n"
    "module class __torch__.M {\n"
    "  module sub : __torch__.Sub\n"
    "  buffer scale : Tensor\n"
    "  attribute training : bool\n"
    "  attribute sizes : int[]\n"
    "  attribute eps : float\n"
    "  attribute name : str\n"
    "  attribute pair : (int, float)\n"
    "  attribute table : Dict(str, int)\n"
    "  attribute dev : Device\n"
    "  attribute maybe : int?\n"
    "}\n"
    "\n"
    "root __torch__.M {\n"
    "  sub = __torch__.Sub {\n"
    "    weight = tensor \"sub.weight\"\n"
    "    bias = tensor \"sub.bias\"\n"
    "    training = False\n"
    "  }\n"
    "  scale = tensor \"scale\"\n"
    "  training = True\n"
    "  sizes = [1, 2, -3]\n"
    "  eps = 1e-05\n"
    "  name = \"a\\\"b\\n\"\n"
    "  pair = (4, 0.5)\n"
    "  table = {\"x\": 1, \"y\": 2}\n"
    "  dev = device \"cpu\"\n"
    "  maybe = None\n"
    "}\n";

/* Writes a bundle with the standard tensors and the given metadata (format/module may be NULL
 * to leave the key out). */
static void write_bundle(const char *path, const char *format, const char *text) {
  int64_t ws[2] = {4, 3}, bs[1] = {4}, ss[1] = {2};
  qg_tensor *w = make_f32(2, ws, 0), *b = make_f32(1, bs, 100);
  qg_tensor *s;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F64, 1, ss, &s));
  ((double *)qg_tensor_data(s))[0] = 0.25;
  qg_st_entry e[3] = {{"sub.weight", w}, {"sub.bias", b}, {"scale", s}};
  const char *keys[3], *vals[3];
  size_t n = 0;
  if (format) keys[n] = "quantgraph.format", vals[n++] = format;
  if (text) keys[n] = "quantgraph.module", vals[n++] = text;
  keys[n] = "quantgraph.engine", vals[n++] = "qnnpack";
  QG_ASSERT_OK(qg_safetensors_write(path, e, 3, keys, vals, n));
  qg_tensor_release(w);
  qg_tensor_release(b);
  qg_tensor_release(s);
}

/* ---- safetensors ---------------------------------------------------------------------------- */

Test(safetensors, write_then_read_orders_and_aligns) {
  int64_t s3[1] = {3}, s2[2] = {2, 2};
  qg_tensor *a = make_f32(1, s3, 1), *b;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_U8, 1, s3, &b));
  qg_tensor *c;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I64, 2, s2, &c));
  ((int64_t *)qg_tensor_data(c))[3] = -7;
  qg_st_entry e[3] = {{"z.bytes", b}, {"b.floats", a}, {"a.longs", c}};
  const char *k[1] = {"hello"}, *v[1] = {"world"};
  const char *path = tmp_path("t.safetensors");
  QG_ASSERT_OK(qg_safetensors_write(path, e, 3, k, v, 1));

  size_t len;
  char *raw = qg_test_read_file(path, &len);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (unsigned char)raw[i];
  cr_assert_eq(hlen % 8, 0, "header length %llu is not padded to 8", (unsigned long long)hlen);
  cr_assert_eq(len, 8 + hlen + 3 * 4 + 3 + 4 * 8);
  free(raw);

  qg_safetensors *st;
  QG_ASSERT_OK(qg_safetensors_open(path, &st));
  cr_assert_eq(st->ntensors, 3);
  /* Descending element size, then name: i64, f32, u8. */
  cr_assert_str_eq(st->tensors[0].name, "a.longs");
  cr_assert_eq(st->tensors[0].begin, 0);
  cr_assert_str_eq(st->tensors[1].name, "b.floats");
  cr_assert_eq(st->tensors[1].begin, 32);
  cr_assert_str_eq(st->tensors[2].name, "z.bytes");
  cr_assert_str_eq(qg_safetensors_meta(st, "hello"), "world");
  const qg_st_tensor *f = qg_safetensors_find(st, "b.floats");
  cr_assert(f && f->dtype == QG_DTYPE_F32 && f->ndim == 1 && f->shape[0] == 3);
  cr_assert_eq(((float *)qg_tensor_data(f->tensor))[2], 3.0f);
  cr_assert_eq(((int64_t *)qg_tensor_data(qg_safetensors_find(st, "a.longs")->tensor))[3], -7);
  for (size_t i = 0; i < st->ntensors; i++) {
    cr_assert(qg_safetensors_owns(st, st->tensors[i].tensor), "tensor %s was copied", st->tensors[i].name);
    cr_assert_eq((uintptr_t)qg_tensor_data(st->tensors[i].tensor) % qg_dtype_info(st->tensors[i].dtype)->size, 0);
  }
  qg_safetensors_close(st);
  qg_tensor_release(a);
  qg_tensor_release(b);
  qg_tensor_release(c);
}

Test(safetensors, tensors_outlive_the_reader) {
  int64_t s[1] = {5};
  qg_tensor *a = make_f32(1, s, 10);
  qg_st_entry e[1] = {{"a", a}};
  const char *path = tmp_path("o.safetensors");
  QG_ASSERT_OK(qg_safetensors_write(path, e, 1, NULL, NULL, 0));
  qg_tensor_release(a);
  qg_safetensors *st;
  QG_ASSERT_OK(qg_safetensors_open(path, &st));
  qg_tensor *t = st->tensors[0].tensor;
  qg_tensor_retain(t);
  qg_safetensors_close(st);
  unlink(path);
  cr_assert_eq(((float *)qg_tensor_data(t))[4], 14.0f); /* the mapping is still alive */
  qg_tensor_release(t);
}

Test(safetensors, misaligned_tensor_is_copied) {
  /* A foreign writer put a u8 tensor first, so the f32 after it is misaligned. */
  char hdr[256];
  snprintf(hdr, sizeof hdr,
           "{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
           "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1,9]}}");
  size_t n = strlen(hdr);
  while ((8 + n) % 8) hdr[n++] = ' ';
  hdr[n] = '\0';
  const char *path = tmp_path("m.safetensors");
  write_raw(path, n, hdr, 9);
  qg_safetensors *st;
  QG_ASSERT_OK(qg_safetensors_open(path, &st));
  const qg_st_tensor *a = qg_safetensors_find(st, "a");
  cr_assert(!qg_safetensors_owns(st, a->tensor));
  cr_assert_eq((uintptr_t)qg_tensor_data(a->tensor) % 4, 0);
  unsigned char expect[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  cr_assert(memcmp(qg_tensor_data(a->tensor), expect, 8) == 0);
  cr_assert(qg_safetensors_owns(st, qg_safetensors_find(st, "b")->tensor));
  qg_safetensors_close(st);
}

Test(safetensors, empty_file_with_no_tensors) {
  const char *path = tmp_path("e.safetensors");
  QG_ASSERT_OK(qg_safetensors_write(path, NULL, 0, NULL, NULL, 0));
  qg_safetensors *st;
  QG_ASSERT_OK(qg_safetensors_open(path, &st));
  cr_assert_eq(st->ntensors, 0);
  qg_safetensors_close(st);
}

Test(safetensors, write_rejects_duplicate_names_and_leaves_nothing) {
  int64_t s[1] = {2};
  qg_tensor *a = make_f32(1, s, 0);
  qg_st_entry e[2] = {{"x", a}, {"x", a}};
  qg_status st = qg_safetensors_write(tmp_path("d.safetensors"), e, 2, NULL, NULL, 0);
  cr_assert_eq(st, QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "duplicate tensor name \"x\""), "%s", qg_last_error());
  cr_assert_eq(count_files(), 0);
  qg_tensor_release(a);
}

Test(safetensors, open_missing_file_is_io_error) {
  qg_safetensors *st;
  cr_assert_eq(qg_safetensors_open(tmp_path("nope.safetensors"), &st), QG_STATUS_IO);
  cr_assert(strstr(qg_last_error(), "nope.safetensors: cannot open"), "%s", qg_last_error());
}

/* ---- bundles ------------------------------------------------------------------------------ */

Test(bundle, load_gives_tree_values_and_metadata) {
  const char *path = tmp_path("b.safetensors");
  write_bundle(path, "1", module_text);
  qg_module *m;
  QG_ASSERT_OK(qg_module_load(path, &m));
  cr_assert_str_eq(qg_module_meta(m, "quantgraph.engine"), "qnnpack");
  cr_assert_null(qg_module_meta(m, "quantgraph.module"));

  const qg_ival *v;
  QG_ASSERT_OK(qg_module_find(m, "sub", &v));
  cr_assert_str_eq(qg_object_class(v)->qualname, "__torch__.Sub");
  QG_ASSERT_OK(qg_module_attr(m, "sub.weight", &v));
  cr_assert_eq(v->kind, QG_IVAL_TENSOR);
  cr_assert_eq(v->u.tensor->shape[0], 4);
  cr_assert_eq(((float *)qg_tensor_data(v->u.tensor))[11], 11.0f);
  cr_assert(qg_safetensors_owns(m->file, v->u.tensor), "the weight was copied out of the mapping");
  QG_ASSERT_OK(qg_module_attr(m, "sizes", &v));
  cr_assert_eq(v->kind, QG_IVAL_LIST);
  cr_assert_eq(v->u.list->items[2].u.i, -3);
  QG_ASSERT_OK(qg_module_attr(m, "eps", &v));
  cr_assert_eq(v->u.d, 1e-05);
  QG_ASSERT_OK(qg_module_attr(m, "name", &v));
  cr_assert_str_eq(qg_ival_str(v), "a\"b\n");
  QG_ASSERT_OK(qg_module_attr(m, "pair", &v));
  cr_assert(v->kind == QG_IVAL_TUPLE && v->u.list->items[1].u.d == 0.5);
  QG_ASSERT_OK(qg_module_attr(m, "table", &v));
  cr_assert(v->kind == QG_IVAL_DICT && v->u.dict->len == 2 && v->u.dict->values[1].u.i == 2);
  QG_ASSERT_OK(qg_module_attr(m, "maybe", &v));
  cr_assert_eq(v->kind, QG_IVAL_NONE);

  cr_assert_eq(qg_module_find(m, "nothere", &v), QG_STATUS_NOT_FOUND);
  cr_assert(strstr(qg_last_error(), "has no attribute 'nothere'"), "%s", qg_last_error());
  cr_assert_eq(qg_module_find(m, "scale", &v), QG_STATUS_TYPE);
  cr_assert(strstr(qg_last_error(), "is a buffer, not a module"), "%s", qg_last_error());

  qg_param_stats ps;
  QG_ASSERT_OK(qg_module_param_stats(&m->root, &ps));
  cr_assert_eq(ps.tensors, 2); /* sub.weight, sub.bias; `scale` is a buffer */
  cr_assert_eq(ps.numel, 16);
  cr_assert_eq(ps.bytes, 64);
  qg_module_free(m);
}

static int collect_paths(const char *path, const qg_ival *obj, int depth, void *ud) {
  qg_strbuf *b = ud;
  qg_strbuf_printf(b, "%d:%s:%s;", depth, path, qg_object_class(obj)->qualname);
  return 0;
}

Test(bundle, walk_visits_modules_in_preorder) {
  const char *path = tmp_path("w.safetensors");
  write_bundle(path, "1", module_text);
  qg_module *m;
  QG_ASSERT_OK(qg_module_load(path, &m));
  qg_strbuf b = QG_STRBUF_INIT;
  QG_ASSERT_OK(qg_module_walk(m, collect_paths, &b));
  cr_assert_str_eq(qg_strbuf_cstr(&b), "0::__torch__.M;1:sub:__torch__.Sub;");
  qg_strbuf_free(&b);
  qg_module_free(m);
}

Test(bundle, tensors_outlive_the_module) {
  const char *path = tmp_path("l.safetensors");
  write_bundle(path, "1", module_text);
  qg_module *m;
  QG_ASSERT_OK(qg_module_load(path, &m));
  const qg_ival *v;
  QG_ASSERT_OK(qg_module_attr(m, "sub.bias", &v));
  qg_tensor *t = v->u.tensor;
  qg_tensor_retain(t);
  qg_module_free(m);
  cr_assert_eq(((float *)qg_tensor_data(t))[3], 103.0f);
  qg_tensor_release(t);
}

/* The mapping is copy-on-write: writing to a loaded tensor (what an in-place op on a parameter
 * does) works, is seen through the module, and never reaches the file. */
Test(bundle, loaded_tensors_are_copy_on_write) {
  const char *path = tmp_path("cow.safetensors");
  write_bundle(path, "1", module_text);
  qg_module *m;
  QG_ASSERT_OK(qg_module_load(path, &m));
  const qg_ival *v;
  QG_ASSERT_OK(qg_module_attr(m, "sub.bias", &v));
  float *data = qg_tensor_data(v->u.tensor);
  cr_assert(qg_safetensors_owns(m->file, v->u.tensor), "the tensor views the mapping");
  data[3] = -1.0f;
  QG_ASSERT_OK(qg_module_attr(m, "sub.bias", &v));
  cr_assert_eq(((float *)qg_tensor_data(v->u.tensor))[3], -1.0f);
  qg_module_free(m);
  QG_ASSERT_OK(qg_module_load(path, &m));
  QG_ASSERT_OK(qg_module_attr(m, "sub.bias", &v));
  cr_assert_eq(((float *)qg_tensor_data(v->u.tensor))[3], 103.0f, "the file was not changed");
  qg_module_free(m);
}

Test(bundle, save_then_load_is_equal) {
  const char *a = tmp_path("a.safetensors"), *b = tmp_path("b.safetensors");
  write_bundle(a, "1", module_text);
  qg_module *m1, *m2;
  QG_ASSERT_OK(qg_module_load(a, &m1));
  QG_ASSERT_OK(qg_module_save(m1, b));
  QG_ASSERT_OK(qg_module_load(b, &m2));
  cr_assert(qg_ival_equal(&m1->root, &m2->root), "the reloaded instance tree differs");
  cr_assert_str_eq(qg_module_meta(m2, "quantgraph.engine"), "qnnpack");
  qg_strbuf t1 = QG_STRBUF_INIT, t2 = QG_STRBUF_INIT;
  QG_ASSERT_OK(qg_module_text_print(m1->cu, &m1->root, &t1, NULL));
  QG_ASSERT_OK(qg_module_text_print(m2->cu, &m2->root, &t2, NULL));
  cr_assert_str_eq(qg_strbuf_cstr(&t1), qg_strbuf_cstr(&t2));
  qg_strbuf_free(&t1);
  qg_strbuf_free(&t2);
  /* Saving over the file the module was loaded from works (the mapping stays valid). */
  QG_ASSERT_OK(qg_module_save(m2, b));
  qg_module *m3;
  QG_ASSERT_OK(qg_module_load(b, &m3));
  cr_assert(qg_ival_equal(&m1->root, &m3->root));
  qg_module_free(m1);
  qg_module_free(m2);
  qg_module_free(m3);
}

Test(bundle, shared_tensor_is_stored_once) {
  static const char text[] =
      "quantgraph module 1\n"
      "module class __torch__.T {\n"
      "  parameter a : Tensor\n"
      "  parameter b : Tensor\n"
      "}\n"
      "root __torch__.T {\n"
      "  a = tensor \"scale\"\n"
      "  b = tensor \"scale\"\n"
      "}\n";
  const char *path = tmp_path("s.safetensors"), *out = tmp_path("s2.safetensors");
  write_bundle(path, "1", text);
  qg_module *m;
  QG_ASSERT_OK(qg_module_load(path, &m));
  QG_ASSERT_OK(qg_module_save(m, out));
  qg_safetensors *st;
  QG_ASSERT_OK(qg_safetensors_open(out, &st));
  cr_assert_eq(st->ntensors, 1);
  cr_assert_str_eq(st->tensors[0].name, "a");
  cr_assert(strstr(qg_safetensors_meta(st, "quantgraph.module"), "b = tensor \"a\""));
  qg_safetensors_close(st);
  qg_param_stats ps;
  QG_ASSERT_OK(qg_module_param_stats(&m->root, &ps));
  cr_assert_eq(ps.tensors, 1, "a shared parameter is counted once");
  qg_module_free(m);
}

static const char *oom_path;

static qg_status load_and_free(void *ud) {
  (void)ud;
  qg_module *m = NULL;
  qg_status s = qg_module_load(oom_path, &m);
  qg_module_free(m);
  return s;
}

Test(bundle, load_survives_every_allocation_failure) {
  char path[512];
  snprintf(path, sizeof path, "%s", tmp_path("oom.safetensors"));
  write_bundle(path, "1", module_text);
  oom_path = path;
  size_t runs = qg_test_every_alloc_failure(load_and_free, NULL);
  cr_assert_gt(runs, 20);
}

static qg_module *save_module;
static const char *save_target;

static qg_status save_checked(void *ud) {
  (void)ud;
  qg_status s = qg_module_save(save_module, save_target);
  if (s != QG_OK) {
    /* Nothing partial: the old file is intact and no temporary is left. */
    size_t n;
    char *old = qg_test_read_file(save_target, &n);
    cr_assert(n == 3 && memcmp(old, "old", 3) == 0, "a failed save changed the destination");
    free(old);
    cr_assert_eq(count_files(), 2, "a failed save left a file behind");
  }
  return s;
}

Test(bundle, save_is_atomic_under_allocation_failure) {
  char src[512], dst[512];
  snprintf(src, sizeof src, "%s", tmp_path("src.safetensors"));
  snprintf(dst, sizeof dst, "%s", tmp_path("dst.safetensors"));
  write_bundle(src, "1", module_text);
  write_bytes(dst, "old", 3);
  QG_ASSERT_OK(qg_module_load(src, &save_module));
  save_target = dst;
  qg_test_every_alloc_failure(save_checked, NULL);
  qg_module *m;
  QG_ASSERT_OK(qg_module_load(dst, &m));
  cr_assert(qg_ival_equal(&m->root, &save_module->root));
  qg_module_free(m);
  qg_module_free(save_module);
}

Test(bundle, save_into_missing_directory_fails_cleanly) {
  const char *src = tmp_path("src.safetensors");
  write_bundle(src, "1", module_text);
  qg_module *m;
  QG_ASSERT_OK(qg_module_load(src, &m));
  char dst[600];
  snprintf(dst, sizeof dst, "%s/no/such/dir/out.safetensors", tmpdir);
  cr_assert_eq(qg_module_save(m, dst), QG_STATUS_IO);
  cr_assert(strstr(qg_last_error(), "cannot create a temporary file"), "%s", qg_last_error());
  cr_assert_eq(count_files(), 1);
  qg_module_free(m);
}

/* ---- malformed inputs --------------------------------------------------------------------- */

typedef struct bad_header {
  const char *what;
  const char *header;
  size_t ndata;
  const char *expect; /* substring of the error */
} bad_header;

#define E(name, dtype, shape, b, e) "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static const bad_header bad_headers[] = {
    {"bad JSON", "{\"a\": ", 0, "header is not valid JSON"},
    {"non-object header", "[1, 2]", 0, "header at byte 8 is not a JSON object"},
    {"entry not an object", "{\"t\": 3}", 0, "tensor \"t\" (header entry at byte 9): expected an object"},
    {"missing dtype", "{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor \"t\" (header entry at byte 9): missing key \"dtype\""},
    {"missing shape", "{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "missing key \"shape\""},
    {"missing offsets", "{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing key \"data_offsets\""},
    {"dtype not a string", "{\"t\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "\"dtype\" must be a string, got 7"},
    {"unknown dtype", "{" E("t", "F8", "[1]", 0, 1) "}", 1, "tensor \"t\" (header entry at byte 9): unknown dtype \"F8\""},
    {"negative shape", "{" E("t", "F32", "[-1]", 0, 0) "}", 0, "shape[0] must be a non-negative integer, got -1"},
    {"non-integer shape", "{" E("t", "F32", "[2, 1.5]", 0, 0) "}", 0, "shape[1] must be a non-negative integer, got 1.5"},
    {"shape not an array", "{\"t\":{\"dtype\":\"F32\",\"shape\":\"3\",\"data_offsets\":[0,12]}}", 12, "\"shape\" must be an array, got string \"3\""},
    {"offsets not two", "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "must have exactly 2 entries, got 1"},
    {"negative offset", "{" E("t", "U8", "[1]", -1, 0) "}", 1, "data_offsets must be non-negative integers, got -1"},
    {"offsets reversed", "{" E("t", "U8", "[0]", 8, 4) "}", 8, "data_offsets [8, 4] end before they begin"},
    {"offset out of range", "{" E("t", "F32", "[16]", 0, 64) "}", 16, "data_offsets [0, 64] end at file byte"},
    {"wrong byte size", "{" E("t", "F32", "[3]", 0, 8) "}", 8, "F32 with 3 elements needs 12 bytes but data_offsets [0, 8] span 8"},
    {"overlap", "{" E("a", "F32", "[2]", 0, 8) "," E("b", "F32", "[2]", 4, 12) "}", 12, "tensor \"b\" (header entry at byte 62): overlap: data_offsets begin at 4"},
    {"gap", "{" E("a", "F32", "[1]", 0, 4) "," E("b", "F32", "[1]", 8, 12) "}", 12, "tensor \"b\" (header entry at byte 62): gap: data_offsets begin at 8"},
    {"trailing bytes", "{" E("a", "F32", "[1]", 0, 4) "}", 10, "6 bytes at file byte"},
    {"data but no tensors", "{}", 4, "4 bytes of data after the header"},
    {"duplicate names", "{" E("a", "U8", "[1]", 0, 1) "," E("a", "U8", "[1]", 1, 2) "}", 2, "tensor \"a\" (header entry at byte 9): duplicate tensor name"},
    {"metadata not strings", "{\"__metadata__\":{\"k\":1}}", 0, "metadata value \"k\" (header byte 25) must be a string"},
    {"metadata not an object", "{\"__metadata__\":[]}", 0, "\"__metadata__\" (header byte 9) must be an object of strings"},
};

Test(malformed, safetensors_headers) {
  for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
    const bad_header *c = &bad_headers[i];
    char path[512];
    snprintf(path, sizeof path, "%s/bad%zu.safetensors", tmpdir, i);
    write_raw(path, strlen(c->header), c->header, c->ndata);
    qg_module *m = NULL;
    qg_status s = qg_module_load(path, &m);
    cr_expect_eq(s, QG_STATUS_FORMAT, "%s: expected QG_STATUS_FORMAT, got %s (%s)", c->what, qg_status_name(s),
                 qg_last_error());
    cr_expect(strstr(qg_last_error(), c->expect) != NULL, "%s: error \"%s\" lacks \"%s\"", c->what, qg_last_error(),
              c->expect);
    cr_expect(strncmp(qg_last_error(), path, strlen(path)) == 0, "%s: error does not name the file: %s", c->what,
              qg_last_error());
    cr_expect_null(m);
    qg_module_free(m);
  }
}

Test(malformed, truncated_file) {
  const char *path = tmp_path("short.safetensors");
  write_bytes(path, "\x10\0\0\0\0", 5);
  qg_module *m;
  cr_assert_eq(qg_module_load(path, &m), QG_STATUS_FORMAT);
  cr_assert(strstr(qg_last_error(), "file is 5 bytes, too short for the 8-byte header length"), "%s", qg_last_error());
}

Test(malformed, header_length_beyond_file) {
  const char *path = tmp_path("long.safetensors");
  write_raw(path, 1000, "{}", 0);
  qg_module *m;
  cr_assert_eq(qg_module_load(path, &m), QG_STATUS_FORMAT);
  cr_assert(strstr(qg_last_error(), "header length 1000 at byte 0 runs past the end of the file (10 bytes)"), "%s",
            qg_last_error());
}

Test(malformed, header_length_over_limit) {
  const char *path = tmp_path("huge.safetensors");
  write_raw(path, 100000001ull, "{}", 0);
  qg_module *m;
  cr_assert_eq(qg_module_load(path, &m), QG_STATUS_FORMAT);
  cr_assert(strstr(qg_last_error(), "header length 100000001 at byte 0 exceeds the limit of 100000000 bytes"), "%s",
            qg_last_error());
}

Test(malformed, truncated_tensor_data) {
  /* A valid bundle cut short: the last tensor runs past the end. */
  const char *path = tmp_path("cut.safetensors");
  write_bundle(path, "1", module_text);
  struct stat sb;
  cr_assert(stat(path, &sb) == 0);
  cr_assert(truncate(path, sb.st_size - 4) == 0);
  qg_module *m;
  cr_assert_eq(qg_module_load(path, &m), QG_STATUS_FORMAT);
  cr_assert(strstr(qg_last_error(), "past the end of the file"), "%s", qg_last_error());
}

typedef struct bad_module {
  const char *what;
  const char *format; /* NULL: key missing */
  const char *text;   /* NULL: key missing */
  qg_status status;
  const char *expect;
} bad_module;

#define SUB_CLASS "quantgraph module 1\nmodule class __torch__.Sub {\n  parameter weight : Tensor\n  attribute training : bool\n}\n"

static const bad_module bad_modules[] = {
    {"no format key", NULL, module_text, QG_STATUS_FORMAT, "not a quantgraph bundle: __metadata__ has no \"quantgraph.format\" key"},
    {"wrong format version", "2", module_text, QG_STATUS_FORMAT, "unsupported quantgraph.format \"2\" (this build reads \"1\")"},
    {"no module key", "1", NULL, QG_STATUS_FORMAT, "__metadata__ has no \"quantgraph.module\" key"},
    {"garbled module", "1", "hello world", QG_STATUS_PARSE, "quantgraph.module:1:1: module text must start with 'quantgraph module 1'"},
    {"module text version", "1", "quantgraph module 7\n", QG_STATUS_PARSE, "quantgraph.module:1:19: unsupported module text version '7'"},
    {"missing tensor", "1", SUB_CLASS "root __torch__.Sub {\n  weight = tensor \"nope\"\n  training = False\n}\n",
     QG_STATUS_NOT_FOUND, "quantgraph.module:7:19: tensor \"nope\" is not in the bundle"},
    {"unknown class", "1", SUB_CLASS "root __torch__.Nope {\n}\n", QG_STATUS_TYPE, "quantgraph.module:6:6: unknown class '__torch__.Nope'"},
    {"slot given twice", "1",
     SUB_CLASS "root __torch__.Sub {\n  weight = tensor \"scale\"\n  training = False\n  training = True\n}\n",
     QG_STATUS_PARSE, "quantgraph.module:9:3: slot 'training' is given twice (first at 8:3)"},
    {"slot missing", "1", SUB_CLASS "root __torch__.Sub {\n  weight = tensor \"scale\"\n}\n", QG_STATUS_PARSE,
     "quantgraph.module:8:1: the __torch__.Sub object opened at 6:6 does not give slot 'training'"},
    {"no such slot", "1", SUB_CLASS "root __torch__.Sub {\n  wieght = tensor \"scale\"\n}\n", QG_STATUS_TYPE,
     "quantgraph.module:7:3: class __torch__.Sub has no slot 'wieght'"},
    {"value of wrong type", "1", SUB_CLASS "root __torch__.Sub {\n  weight = tensor \"scale\"\n  training = 3\n}\n",
     QG_STATUS_TYPE, "quantgraph.module:8:14: value 3 (a int) does not fit slot 'training' of type bool"},
    {"tensor where a bool goes", "1", SUB_CLASS "root __torch__.Sub {\n  weight = False\n  training = False\n}\n",
     QG_STATUS_TYPE, "quantgraph.module:7:12: value False (a bool) does not fit slot 'weight' of type Tensor"},
    {"unbalanced braces", "1", SUB_CLASS "root __torch__.Sub {\n  weight = tensor \"scale\"\n  training = False\n",
     QG_STATUS_PARSE, "quantgraph.module:6:20: unexpected end of text: '{' of this __torch__.Sub object is not closed"},
    {"unclosed class", "1", "quantgraph module 1\nclass __torch__.A {\n  attribute x : int\n", QG_STATUS_PARSE,
     "quantgraph.module:2:19: unexpected end of text: '{' of class __torch__.A is not closed"},
    {"extra closing brace", "1", SUB_CLASS "}\n", QG_STATUS_PARSE, "quantgraph.module:6:1: unbalanced '}'"},
    {"no root", "1", SUB_CLASS, QG_STATUS_PARSE, "no 'root' declaration"},
    {"unknown slot type", "1", "quantgraph module 1\nclass __torch__.A {\n  attribute x : __torch__.Missing\n}\n",
     QG_STATUS_TYPE, "quantgraph.module:3:17"},
    {"class declared twice", "1", "quantgraph module 1\nclass __torch__.A {\n}\nclass __torch__.A {\n}\n", QG_STATUS_PARSE,
     "quantgraph.module:4:7: '__torch__.A' is declared twice"},
    {"unterminated list", "1",
     "quantgraph module 1\nclass __torch__.A {\n  attribute x : int[]\n}\nroot __torch__.A {\n  x = [1, 2\n}\n",
     QG_STATUS_PARSE, "quantgraph.module:7:1: expected ',' or ']', got '}'"},
    {"one-element tuple", "1",
     "quantgraph module 1\nclass __torch__.A {\n  attribute x : (int)\n}\nroot __torch__.A {\n  x = (1)\n}\n",
     QG_STATUS_PARSE, "quantgraph.module:6:7: a one-element tuple is written '(v,)'"},
    {"bad escape", "1",
     "quantgraph module 1\nclass __torch__.A {\n  attribute x : str\n}\nroot __torch__.A {\n  x = \"a\\q\"\n}\n",
     QG_STATUS_PARSE, "quantgraph.module:6:9: unknown escape '\\q' in string"},
    {"integer overflow", "1",
     "quantgraph module 1\nclass __torch__.A {\n  attribute x : int\n}\nroot __torch__.A {\n  x = 99999999999999999999\n}\n",
     QG_STATUS_PARSE, "quantgraph.module:6:7: integer '99999999999999999999' does not fit in 64 bits"},
    {"list element of wrong type", "1",
     "quantgraph module 1\nclass __torch__.A {\n  attribute x : int[]\n}\nroot __torch__.A {\n  x = [1, \"two\"]\n}\n",
     QG_STATUS_TYPE, "quantgraph.module:6:7: value [1, \"two\"] (a list) does not fit slot 'x' of type int[]"},
    {"bad device", "1",
     "quantgraph module 1\nclass __torch__.A {\n  attribute x : Device\n}\nroot __torch__.A {\n  x = device \"tpu\"\n}\n",
     QG_STATUS_PARSE, "quantgraph.module:6:14: unknown device \"tpu\""},
};

Test(malformed, module_metadata_and_text) {
  for (size_t i = 0; i < sizeof bad_modules / sizeof bad_modules[0]; i++) {
    const bad_module *c = &bad_modules[i];
    char path[512];
    snprintf(path, sizeof path, "%s/badmod%zu.safetensors", tmpdir, i);
    write_bundle(path, c->format, c->text);
    qg_module *m = NULL;
    qg_status s = qg_module_load(path, &m);
    cr_expect_eq(s, c->status, "%s: expected %s, got %s (%s)", c->what, qg_status_name(c->status), qg_status_name(s),
                 qg_last_error());
    cr_expect(strstr(qg_last_error(), c->expect) != NULL, "%s: error \"%s\" lacks \"%s\"", c->what, qg_last_error(),
              c->expect);
    cr_expect(strstr(qg_last_error(), path) == qg_last_error(), "%s: error does not start with the file: %s", c->what,
              qg_last_error());
    cr_expect_null(m);
    qg_module_free(m);
  }
}

/* ---- real PyTorch fixtures ---------------------------------------------------------------- */

#include <cjson/cJSON.h>

#include "ir/text.h"

/* Every bundle under tests/fixtures/seed loads, and every method prints exactly as PyTorch
 * printed it (recorded in the .json next to it), including after a save/load round trip. */
static int check_seed_fixture(const char *bundle_path, const char *json_path, const char *tmp) {
  size_t n;
  char *js = qg_test_read_file(json_path, &n);
  cJSON *j = cJSON_ParseWithLength(js, n);
  cr_assert(j, "%s is not JSON", json_path);
  qg_module *m, *m2;
  qg_status s = qg_module_load(bundle_path, &m);
  cr_expect(s == QG_OK, "%s: %s", qg_status_name(s), qg_last_error());
  if (s != QG_OK) {
    cJSON_Delete(j);
    free(js);
    return 0;
  }
  QG_ASSERT_OK(qg_module_save(m, tmp));
  QG_ASSERT_OK(qg_module_load(tmp, &m2));
  cr_expect(qg_ival_equal(&m->root, &m2->root), "%s: the saved and reloaded instance tree differs", bundle_path);
  cr_assert_str_eq(qg_object_class(&m->root)->qualname, cJSON_GetObjectItem(j, "root_type")->valuestring);
  int checked = 0;
  const cJSON *meth;
  cJSON_ArrayForEach(meth, cJSON_GetObjectItem(j, "methods")) {
    const char *mod = cJSON_GetObjectItem(meth, "module")->valuestring;
    const char *name = cJSON_GetObjectItem(meth, "method")->valuestring;
    const char *expect = cJSON_GetObjectItem(meth, "graph")->valuestring;
    for (int k = 0; k < 2; k++) {
      const qg_ival *obj;
      QG_ASSERT_OK(qg_module_find(k ? m2 : m, mod, &obj));
      const qg_method *md = qg_class_find_method(qg_object_class(obj), name);
      cr_assert(md, "%s: module '%s' has no method %s", bundle_path, mod, name);
      char *got = qg_graph_to_string(md->graph, NULL);
      cr_expect_str_eq(got, expect, "%s: %s.%s prints differently%s", bundle_path, mod, name, k ? " after a save" : "");
      qg__free(got);
      checked++;
    }
  }
  qg_module_free(m);
  qg_module_free(m2);
  cJSON_Delete(j);
  free(js);
  return checked;
}

Test(bundle, seed_fixtures_load_and_print_like_pytorch) {
  const char *dir = qg_test_fixture("seed");
  char dirbuf[1024];
  snprintf(dirbuf, sizeof dirbuf, "%s", dir);
  DIR *d = opendir(dirbuf);
  if (!d) cr_skip_test("no fixtures under %s", dirbuf);
  struct dirent *e;
  int files = 0, methods = 0;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len < 12 || strcmp(e->d_name + len - 12, ".safetensors") != 0) continue;
    char b[1400], js[1400];
    snprintf(b, sizeof b, "%s/%s", dirbuf, e->d_name);
    snprintf(js, sizeof js, "%s/%.*s.json", dirbuf, (int)(len - 12), e->d_name);
    if (access(js, R_OK) != 0) continue;
    methods += check_seed_fixture(b, js, tmp_path("seed.safetensors"));
    files++;
  }
  closedir(d);
  if (files == 0) cr_skip_test("no *.safetensors fixtures under %s", dirbuf);
  cr_assert_gt(methods, files, "too few methods checked");
}

/* ---- tensor constants (docs/formats.md, "Tensor constants") ---------------------------- */

#include "ir/ir.h"

TestSuite(constants, .init = make_tmpdir, .fini = remove_tmpdir);

/* Three tensor constants in pre-order: %a (printed <Tensor>), %k inside the If block (ATen's
 * inline repr, 4 decimals), %s (`{0.25}`); a function with one more. CONSTS is spliced in as
 * the method's constants line. */
#define CONST_TEXT(CONSTS, FCONSTS) CONST_HEAD CONSTS CONST_MID FCONSTS CONST_TAIL
#define CONST_HEAD                                                                                               \
  "quantgraph module 1\n\n"                                                                                      \
  "module class __torch__.C {\n"                                                                                 \
  "  attribute training : bool\n"                                                                                \
  "  method forward = graph(%self : __torch__.C,\n"                                                              \
  "      %x : Tensor):\n"                                                                                        \
  "  %a : Float(4, 3, strides=[3, 1], requires_grad=0, device=cpu) = prim::Constant[value=<Tensor>]()\n"         \
  "  %c : bool = prim::Constant[value=1]()\n"                                                                    \
  "  %r : Tensor = prim::If(%c)\n"                                                                               \
  "    block0():\n"                                                                                              \
  "      %k : Float(2, strides=[1], requires_grad=0, device=cpu) = prim::Constant[value= 0.1235 -2.5000 [ "      \
  "CPUFloatType{2} ]]()\n"                                                                                       \
  "      -> (%k)\n"                                                                                              \
  "    block1():\n"                                                                                              \
  "      -> (%x)\n"                                                                                              \
  "  %s : Double(requires_grad=0, device=cpu) = prim::Constant[value={0.25}]()\n"                                \
  "  %t : (Tensor, Tensor, Tensor) = prim::TupleConstruct(%a, %r, %s)\n"                                         \
  "  return (%t)\n"
#define CONST_MID                                                                                                \
  "}\n\n"                                                                                                         \
  "function __torch__.f = graph(%y : Tensor):\n"                                                                 \
  "  %z : Tensor = prim::Constant[value={7}]()\n"                                                                \
  "  return (%z)\n"
#define CONST_TAIL                                                                                               \
  "\n"                                                                                                           \
  "root __torch__.C {\n"                                                                                         \
  "  training = False\n"                                                                                         \
  "}\n"

#define GOOD_CONSTS "  constants = [tensor \"ca\", tensor \"ck\", tensor \"cs\"]\n"
#define GOOD_FCONSTS "  constants = [tensor \"cf\"]\n"

/* Bundle tensors: ca f32 [4,3] (0..11), ck f32 [2] {0.123456, -2.5}, cs f64 [] 0.25, cf i64 [] 7,
 * and wrong ones: c64 f64 [4,3], c34 f32 [3,4], ck3 f32 [3]. */
static void write_const_bundle(const char *path, const char *text) {
  int64_t s43[2] = {4, 3}, s34[2] = {3, 4}, s2[1] = {2}, s3[1] = {3};
  qg_tensor *ca = make_f32(2, s43, 0), *c34 = make_f32(2, s34, 0), *ck = make_f32(1, s2, 0), *ck3 = make_f32(1, s3, 0);
  ((float *)qg_tensor_data(ck))[0] = 0.123456f;
  ((float *)qg_tensor_data(ck))[1] = -2.5f;
  qg_tensor *cs, *cf, *c64;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F64, 0, NULL, &cs));
  *(double *)qg_tensor_data(cs) = 0.25;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I64, 0, NULL, &cf));
  *(int64_t *)qg_tensor_data(cf) = 7;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F64, 2, s43, &c64));
  qg_st_entry e[7] = {{"ca", ca}, {"ck", ck}, {"cs", cs}, {"cf", cf}, {"c64", c64}, {"c34", c34}, {"ck3", ck3}};
  const char *keys[2] = {"quantgraph.format", "quantgraph.module"}, *vals[2] = {"1", text};
  QG_ASSERT_OK(qg_safetensors_write(path, e, 7, keys, vals, 2));
  qg_tensor *all[7] = {ca, ck, cs, cf, c64, c34, ck3};
  for (int i = 0; i < 7; i++) qg_tensor_release(all[i]);
}

static const qg_tensor *const_at(const qg_graph_t *g, const char *name) {
  for (qg_node_t *n = qg_block_first(qg_graph_block(g)); n != qg_graph_block(g)->ret; n = n->next) {
    if (n->noutputs == 1 && n->outputs[0]->name && strcmp(n->outputs[0]->name, name) == 0) {
      const qg_attr *a = qg_node_attr(n, qg_sym_lookup("value"));
      return a && a->kind == QG_ATTR_TENSOR ? a->t : NULL;
    }
    for (uint32_t b = 0; b < n->nblocks; b++) {
      for (qg_node_t *k = qg_block_first(n->blocks[b]); k != n->blocks[b]->ret; k = k->next) {
        if (k->noutputs == 1 && k->outputs[0]->name && strcmp(k->outputs[0]->name, name) == 0)
          return qg_node_attr(k, qg_sym_lookup("value"))->t;
      }
    }
  }
  return NULL;
}

static void check_const_module(const qg_module *m) {
  const qg_graph_t *g = qg_class_find_method(qg_object_class(&m->root), "forward")->graph;
  const qg_tensor *a = const_at(g, "a"), *k = const_at(g, "k"), *s = const_at(g, "s");
  cr_assert(a && k && s);
  cr_expect_eq(qg_tensor_numel(a), 12, "the <Tensor> placeholder was not replaced");
  cr_expect_eq(((const float *)qg_tensor_data(a))[11], 11.0f);
  cr_expect_eq(((const float *)qg_tensor_data(k))[0], 0.123456f, "the repr constant keeps only the text's 4 decimals");
  cr_expect_eq(s->dtype, QG_DTYPE_F64);
  cr_expect_eq(*(const double *)qg_tensor_data(s), 0.25);
  const qg_type_t *f = qg_cu_find(m->cu, "__torch__.f");
  cr_assert(f);
  qg_graph_t *fg = f->methods[0].graph;
  const qg_tensor *z = const_at(fg, "z");
  cr_assert(z);
  cr_expect_eq(z->dtype, QG_DTYPE_I64, "the function's constant comes from the bundle");
}

/* Saves m, loads it back (the caller frees the result) and checks it prints the same text. */
static qg_module *reload_prints_same(const qg_module *m) {
  qg_module *m2 = qg_test_reload(m);
  qg_strbuf t1 = QG_STRBUF_INIT, t2 = QG_STRBUF_INIT;
  QG_ASSERT_OK(qg_module_text_print(m->cu, &m->root, &t1, NULL));
  QG_ASSERT_OK(qg_module_text_print(m2->cu, &m2->root, &t2, NULL));
  cr_expect_str_eq(qg_strbuf_cstr(&t1), qg_strbuf_cstr(&t2), "print differs after save/load");
  qg_strbuf_free(&t1);
  qg_strbuf_free(&t2);
  return m2;
}

Test(constants, load_attaches_print_and_save_round_trip) {
  const char *path = tmp_path("c.safetensors");
  write_const_bundle(path, CONST_TEXT(GOOD_CONSTS, GOOD_FCONSTS));
  qg_module *m = NULL, *m2 = NULL;
  QG_ASSERT_OK(qg_module_load(path, &m));
  check_const_module(m);
  qg_strbuf t1 = QG_STRBUF_INIT;
  qg_tensor_names names = {0};
  QG_ASSERT_OK(qg_module_text_print(m->cu, &m->root, &t1, &names));
  const char *want =
      "  return (%t)\n"
      "  constants = [tensor \"__constants__.__torch__.C.forward.0\", tensor \"__constants__.__torch__.C.forward.1\", "
      "tensor \"__constants__.__torch__.C.forward.2\"]\n}\n";
  cr_expect(strstr(qg_strbuf_cstr(&t1), want), "no constants line in:\n%s", qg_strbuf_cstr(&t1));
  cr_expect(strstr(qg_strbuf_cstr(&t1), "  return (%z)\n  constants = [tensor \"__constants__.__torch__.f.0\"]\n"),
            "no function constants line in:\n%s", qg_strbuf_cstr(&t1));
  /* The graph still prints as PyTorch would: the repr from the full-precision data. */
  cr_expect(strstr(qg_strbuf_cstr(&t1), "prim::Constant[value= 0.1235 -2.5000 [ CPUFloatType{2} ]]()"), "%s",
            qg_strbuf_cstr(&t1));
  cr_expect_eq(names.n, 4, "4 constant tensors to store, got %zu", names.n);
  qg_tensor_names_free(&names);
  qg_strbuf_free(&t1);
  m2 = reload_prints_same(m);
  check_const_module(m2);
  qg_module_free(m);
  qg_module_free(m2);
}

Test(constants, text_without_constants_line_still_loads) {
  const char *path = tmp_path("c.safetensors");
  write_const_bundle(path, CONST_TEXT("", ""));
  qg_module *m = NULL;
  QG_ASSERT_OK(qg_module_load(path, &m));
  const qg_graph_t *g = qg_class_find_method(qg_object_class(&m->root), "forward")->graph;
  cr_expect_eq(qg_tensor_numel(const_at(g, "a")), 0, "<Tensor> stays a placeholder");
  /* A graph with a placeholder gets no constants line (there is no data to store). */
  qg_strbuf t = QG_STRBUF_INIT;
  QG_ASSERT_OK(qg_module_text_print(m->cu, &m->root, &t, NULL));
  cr_expect(!strstr(qg_strbuf_cstr(&t), "__constants__.__torch__.C"), "%s", qg_strbuf_cstr(&t));
  cr_expect(strstr(qg_strbuf_cstr(&t), "__constants__.__torch__.f.0"), "%s", qg_strbuf_cstr(&t));
  qg_strbuf_free(&t);
  qg_module_free(m);
}

typedef struct bad_const {
  const char *what, *consts;
  qg_status status;
  const char *expect;
} bad_const;

/* The constants line is line 18 of CONST_TEXT. */
static const bad_const bad_consts[] = {
    {"too few", "  constants = [tensor \"ca\", tensor \"ck\"]\n", QG_STATUS_TYPE,
     ":18:3: method forward of class __torch__.C has 3 tensor constant(s), but the constants list gives 2"},
    {"too many", "  constants = [tensor \"ca\", tensor \"ck\", tensor \"cs\", tensor \"cs\"]\n", QG_STATUS_TYPE,
     ":18:55: method forward of class __torch__.C has 3 tensor constant(s), but the constants list gives more"},
    {"dtype", "  constants = [tensor \"c64\", tensor \"ck\", tensor \"cs\"]\n", QG_STATUS_TYPE,
     ":18:16: tensor \"c64\" for constant 0 (%a, graph line 7) has dtype f64, but its type is Float(4, 3"},
    {"shape", "  constants = [tensor \"c34\", tensor \"ck\", tensor \"cs\"]\n", QG_STATUS_TYPE,
     ":18:16: tensor \"c34\" for constant 0 (%a, graph line 7) has shape [3, 4], but its type is Float(4, 3"},
    {"repr shape", "  constants = [tensor \"ca\", tensor \"ck3\", tensor \"cs\"]\n", QG_STATUS_TYPE,
     "tensor \"ck3\" for constant 1 (%k, graph line 11) is f32 [3], but the graph prints a f32 [2]"},
    {"scalar gets many", "  constants = [tensor \"ca\", tensor \"ck\", tensor \"ck\"]\n", QG_STATUS_TYPE,
     "tensor \"ck\" for constant 2 (%s, graph line 15) has 2 elements, but the graph prints one ({...})"},
    {"placeholder gets few", "  constants = [tensor \"ck\", tensor \"ck\", tensor \"cs\"]\n", QG_STATUS_TYPE,
     "has 2 element(s), but the graph prints it as <Tensor> (more than 10)"},
    {"missing", "  constants = [tensor \"ca\", tensor \"nope\", tensor \"cs\"]\n", QG_STATUS_NOT_FOUND,
     ":18:29: tensor \"nope\" is not in the bundle"},
    {"not a tensor", "  constants = [tensor \"ca\", 3]\n", QG_STATUS_PARSE,
     ":18:29: expected 'tensor \"NAME\"' in the constants list"},
    {"unclosed", "  constants = [tensor \"ca\"\n", QG_STATUS_PARSE, "expected ',' or ']' in the constants list"},
};

Test(constants, mismatches_are_errors_with_positions) {
  for (size_t i = 0; i < sizeof bad_consts / sizeof bad_consts[0]; i++) {
    const bad_const *c = &bad_consts[i];
    char path[512];
    snprintf(path, sizeof path, "%s/badc%zu.safetensors", tmpdir, i);
    char text[4096];
    snprintf(text, sizeof text, "%s%s%s%s%s", CONST_HEAD, c->consts, CONST_MID, GOOD_FCONSTS, CONST_TAIL);
    write_const_bundle(path, text);
    qg_module *m = NULL;
    qg_status s = qg_module_load(path, &m);
    cr_expect_eq(s, c->status, "%s: expected %s, got %s (%s)", c->what, qg_status_name(c->status), qg_status_name(s),
                 qg_last_error());
    cr_expect(strstr(qg_last_error(), c->expect) != NULL, "%s: error \"%s\" lacks \"%s\"", c->what, qg_last_error(),
              c->expect);
    cr_expect_null(m);
    qg_module_free(m);
  }
}

/* Quantized tensor constants (what freezing a converted model makes): printed <Tensor> whatever
 * their size, their quantizer in `quantgraph.quant.<name>` metadata. */
#define QCONST_TEXT                                                                                              \
  "quantgraph module 1\n\n"                                                                                      \
  "module class __torch__.Q {\n"                                                                                 \
  "  attribute training : bool\n"                                                                                \
  "  method forward = graph(%self : __torch__.Q,\n"                                                              \
  "      %x : Tensor):\n"                                                                                        \
  "  %a : QUInt8(3, strides=[1], requires_grad=0, device=cpu) = prim::Constant[value=<Tensor>]()\n"              \
  "  %w : QInt8(4, 3, strides=[3, 1], requires_grad=0, device=cpu) = prim::Constant[value=<Tensor>]()\n"         \
  "  %t : (Tensor, Tensor) = prim::TupleConstruct(%a, %w)\n"                                                     \
  "  return (%t)\n"                                                                                              \
  "  constants = [tensor \"qa\", tensor \"qw\"]\n"                                                               \
  "}\n\n"                                                                                                         \
  "root __torch__.Q {\n"                                                                                         \
  "  training = False\n"                                                                                         \
  "}\n"

static void write_qconst_bundle(const char *path, int with_quant_meta) {
  int64_t s3[1] = {3}, s43[2] = {4, 3};
  qg_tensor *qa, *qw;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_U8, 1, s3, &qa));
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I8, 2, s43, &qw));
  for (int i = 0; i < 3; i++) ((uint8_t *)qg_tensor_data(qa))[i] = (uint8_t)(100 + i);
  for (int i = 0; i < 12; i++) ((int8_t *)qg_tensor_data(qw))[i] = (int8_t)(i - 6);
  qg_st_entry e[2] = {{"qa", qa}, {"qw", qw}};
  const char *keys[4] = {"quantgraph.format", "quantgraph.module", "quantgraph.quant.qa", "quantgraph.quant.qw"};
  const char *vals[4] = {"1", QCONST_TEXT,
                         "{\"dtype\": \"quint8\", \"scheme\": \"per_tensor_affine\", \"scale\": 0.5, \"zero_point\": 100}",
                         "{\"dtype\": \"qint8\", \"scheme\": \"per_channel_affine\", \"axis\": 0, "
                         "\"scales\": [0.1, 0.2, 0.3, 0.4], \"zero_points\": [0, 1, 2, 3]}"};
  QG_ASSERT_OK(qg_safetensors_write(path, e, 2, keys, vals, with_quant_meta ? 4 : 2));
  qg_tensor_release(qa);
  qg_tensor_release(qw);
}

static void check_qconsts(const qg_module *m) {
  const qg_graph_t *g = qg_class_find_method(qg_object_class(&m->root), "forward")->graph;
  const qg_tensor *a = const_at(g, "a"), *w = const_at(g, "w");
  cr_assert(a && w);
  cr_expect_eq(a->dtype, QG_DTYPE_QUINT8);
  cr_assert(a->quantizer && a->quantizer->scheme == QG_QSCHEME_PER_TENSOR_AFFINE);
  cr_expect_eq(a->quantizer->scale, 0.5);
  cr_expect_eq(a->quantizer->zero_point, 100);
  cr_expect_eq(((const uint8_t *)qg_tensor_data(a))[2], 102);
  cr_expect_eq(w->dtype, QG_DTYPE_QINT8);
  cr_assert(w->quantizer && w->quantizer->scheme == QG_QSCHEME_PER_CHANNEL_AFFINE);
  cr_expect_eq(qg_tensor_get_flat(w->quantizer->scales, 3), 0.4, "scale %.17g", qg_tensor_get_flat(w->quantizer->scales, 3));
  cr_expect_eq(w->quantizer->axis, 0);
  cr_expect_eq(qg_tensor_get_flat(w->quantizer->zero_points, 3), 3);
  cr_expect_eq(((const int8_t *)qg_tensor_data(w))[11], 5);
}

Test(constants, quantized_constants_round_trip) {
  const char *path = tmp_path("q.safetensors");
  write_qconst_bundle(path, 1);
  qg_module *m = NULL;
  QG_ASSERT_OK(qg_module_load(path, &m));
  check_qconsts(m);
  qg_module *m2 = reload_prints_same(m);
  check_qconsts(m2);
  qg_module_free(m);
  qg_module_free(m2);
  /* Without the metadata the stored integers do not match the quantized type. */
  write_qconst_bundle(path, 0);
  qg_status s = qg_module_load(path, &m);
  cr_expect_eq(s, QG_STATUS_TYPE, "%s", qg_last_error());
  cr_expect(strstr(qg_last_error(), "tensor \"qa\" for constant 0 (%a, graph line 7) has dtype u8, but its type is QUInt8"),
            "%s", qg_last_error());
}

static qg_status load_consts_once(void *ud) {
  qg_module *m = NULL;
  qg_status s = qg_module_load(ud, &m);
  qg_module_free(m);
  return s;
}

Test(constants, load_survives_every_allocation_failure) {
  const char *path = tmp_path("c.safetensors");
  write_const_bundle(path, CONST_TEXT(GOOD_CONSTS, GOOD_FCONSTS));
  /* One plain load first: the op registry is built on first use (~10^4 allocations), which
   * would make the loop quadratic. */
  QG_ASSERT_OK(load_consts_once((void *)path));
  cr_expect_gt(qg_test_every_alloc_failure(load_consts_once, (void *)path), 10);
}
