/* Tensor layer: views, reshape, contiguous, dtype conversion, copy_, broadcasting, element
 * access, describe, named tensor files and quantizers. Expected shapes, strides, offsets, values,
 * conversions and error messages come from real PyTorch (tests/fixtures/tensor/views.*, written
 * by tools/fixtures/gen_tensor_fixtures.py). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "tensor/tensor.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

/* ---- fixture helpers ---------------------------------------------------------------------- */

typedef struct fixture {
  cJSON *doc;
  qg_named_tensors nt;
} fixture;

static void fixture_load(fixture *f) {
  char *text = qg_test_read_file(qg_test_fixture("tensor/views.json"), NULL);
  f->doc = cJSON_Parse(text);
  free(text);
  cr_assert(f->doc != NULL, "views.json does not parse");
  QG_ASSERT_OK(qg_named_tensors_load(qg_test_fixture("tensor/views.safetensors"), &f->nt));
}

static void fixture_free(fixture *f) {
  cJSON_Delete(f->doc);
  qg_named_tensors_free(&f->nt);
}

static qg_tensor *fx_tensor(const fixture *f, const char *name) {
  qg_tensor *t = qg_named_tensors_get(&f->nt, name);
  cr_assert(t != NULL, "fixture tensor %s is missing", name);
  return t;
}

static int json_ints(const cJSON *arr, int64_t *out) {
  int n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, arr) {
    cr_assert(n < QG_MAX_DIMS);
    out[n++] = (int64_t)e->valuedouble;
  }
  return n;
}

static int64_t jint(const cJSON *obj, const char *key) {
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(obj, key);
  cr_assert(cJSON_IsNumber(e), "missing number %s", key);
  return (int64_t)e->valuedouble;
}

static qg_status apply_op(qg_tensor *x, const cJSON *op, qg_tensor **out) {
  const char *k = cJSON_GetObjectItemCaseSensitive(op, "op")->valuestring;
  int64_t v[QG_MAX_DIMS];
  if (!strcmp(k, "view") || !strcmp(k, "reshape") || !strcmp(k, "expand") || !strcmp(k, "permute")) {
    int n = json_ints(cJSON_GetObjectItemCaseSensitive(op, !strcmp(k, "permute") ? "dims" : "shape"), v);
    if (!strcmp(k, "view")) return qg_tensor_view(x, n, v, out);
    if (!strcmp(k, "reshape")) return qg_tensor_reshape(x, n, v, out);
    if (!strcmp(k, "expand")) return qg_tensor_expand(x, n, v, out);
    return qg_tensor_permute(x, n, v, out);
  }
  if (!strcmp(k, "transpose")) return qg_tensor_transpose(x, (int)jint(op, "d0"), (int)jint(op, "d1"), out);
  if (!strcmp(k, "select")) return qg_tensor_select(x, (int)jint(op, "dim"), jint(op, "index"), out);
  if (!strcmp(k, "slice")) {
    /* Python's 2**63-1 arrives as a double that rounds to 2**63: clamp it back. */
    double end = cJSON_GetObjectItemCaseSensitive(op, "end")->valuedouble;
    int64_t e = end >= 9.2e18 ? INT64_MAX : (int64_t)end;
    return qg_tensor_slice(x, (int)jint(op, "dim"), jint(op, "start"), e, jint(op, "step"), out);
  }
  if (!strcmp(k, "squeeze")) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(op, "dim");
    return qg_tensor_squeeze(x, cJSON_IsNull(d) ? QG_ALL_DIMS : (int)d->valuedouble, out);
  }
  if (!strcmp(k, "unsqueeze")) return qg_tensor_unsqueeze(x, (int)jint(op, "dim"), out);
  if (!strcmp(k, "flatten")) return qg_tensor_flatten(x, (int)jint(op, "start"), (int)jint(op, "end"), out);
  if (!strcmp(k, "contiguous")) return qg_tensor_contiguous(x, out);
  cr_assert_fail("unknown op %s", k);
  return QG_STATUS_UNSUPPORTED;
}

/* Applies a JSON chain to x; *out gets one reference (x itself, retained, for an empty chain). */
static qg_status apply_chain(qg_tensor *x, const cJSON *ops, qg_tensor **out) {
  qg_tensor *cur = x;
  qg_tensor_retain(cur);
  const cJSON *op;
  cJSON_ArrayForEach(op, ops) {
    qg_tensor *next;
    qg_status st = apply_op(cur, op, &next);
    qg_tensor_release(cur);
    if (st != QG_OK) return st;
    cur = next;
  }
  *out = cur;
  return QG_OK;
}

/* PyTorch 1.13 names dense permute "permute(sparse_coo)" in one message; compare after it. */
static const char *normalize_torch_msg(const char *m) {
  const char *p = "permute(sparse_coo): ";
  return strncmp(m, p, strlen(p)) == 0 ? m + strlen(p) : m;
}

static void assert_same_values(const qg_tensor *got, const qg_tensor *want, const char *what) {
  cr_assert_eq(qg_tensor_numel(got), qg_tensor_numel(want), "%s: numel", what);
  for (int64_t i = 0; i < qg_tensor_numel(want); i++) {
    double a = qg_tensor_get_flat(got, i), b = qg_tensor_get_flat(want, i);
    cr_assert(a == b || (isnan(a) && isnan(b)), "%s: element %lld is %g, PyTorch has %g", what, (long long)i, a, b);
  }
}

/* An owned (writable) copy of a fixture tensor: fixture tensors borrow a read-only mapping. */
static qg_tensor *owned_copy(const qg_tensor *t) {
  qg_tensor *c;
  QG_ASSERT_OK(qg_tensor_to_dtype(t, t->dtype, &c));
  return c;
}

/* ---- views against PyTorch ---------------------------------------------------------------- */

Test(tensor, views_match_pytorch) {
  fixture f;
  fixture_load(&f);
  const cJSON *c;
  int n = 0, errors = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(f.doc, "views")) {
    const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
    qg_tensor *x = fx_tensor(&f, cJSON_GetObjectItemCaseSensitive(c, "input")->valuestring);
    qg_tensor *y = NULL;
    qg_status st = apply_chain(x, cJSON_GetObjectItemCaseSensitive(c, "ops"), &y);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(c, "error");
    n++;
    if (err) {
      errors++;
      cr_assert(st == QG_STATUS_INVALID_ARGUMENT, "%s: expected an error, got %s", name, qg_status_name(st));
      const char *want = normalize_torch_msg(err->valuestring);
      cr_assert(strstr(qg_last_error(), want) != NULL, "%s: message\n  %s\ndoes not contain PyTorch's\n  %s", name,
                qg_last_error(), want);
      continue;
    }
    cr_assert(st == QG_OK, "%s: %s", name, qg_last_error());
    int64_t shape[QG_MAX_DIMS], strides[QG_MAX_DIMS];
    int nd = json_ints(cJSON_GetObjectItemCaseSensitive(c, "shape"), shape);
    json_ints(cJSON_GetObjectItemCaseSensitive(c, "strides"), strides);
    cr_assert_eq(y->ndim, nd, "%s: ndim %d, PyTorch %d", name, y->ndim, nd);
    for (int i = 0; i < nd; i++) {
      cr_assert_eq(y->shape[i], shape[i], "%s: size[%d] = %lld, PyTorch %lld", name, i, (long long)y->shape[i],
                   (long long)shape[i]);
      cr_assert_eq(y->strides[i], strides[i], "%s: stride[%d] = %lld, PyTorch %lld", name, i,
                   (long long)y->strides[i], (long long)strides[i]);
    }
    /* The fixture tensor may itself start at a non-zero offset in our storage. */
    cr_assert_eq(y->offset - x->offset, jint(c, "offset"), "%s: storage offset %lld, PyTorch %lld", name,
                 (long long)(y->offset - x->offset), (long long)jint(c, "offset"));
    int shares = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "shares_storage"));
    if (qg_tensor_numel(y) > 0)
      cr_assert_eq(y->storage == x->storage, shares, "%s: shares storage %d, PyTorch %d", name,
                   y->storage == x->storage, shares);
    assert_same_values(y, fx_tensor(&f, cJSON_GetObjectItemCaseSensitive(c, "out")->valuestring), name);
    qg_tensor_release(y);
  }
  cr_assert_gt(n, 80);
  cr_assert_gt(errors, 20);
  fixture_free(&f);
}

/* ---- conversions against PyTorch ---------------------------------------------------------- */

Test(tensor, conversions_bit_exact_with_pytorch) {
  fixture f;
  fixture_load(&f);
  const cJSON *c;
  int n = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(f.doc, "conversions")) {
    const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
    qg_tensor *src = fx_tensor(&f, cJSON_GetObjectItemCaseSensitive(c, "src")->valuestring);
    qg_tensor *want = fx_tensor(&f, cJSON_GetObjectItemCaseSensitive(c, "dst")->valuestring);
    qg_tensor *got;
    QG_ASSERT_OK(qg_tensor_to_dtype(src, want->dtype, &got));
    cr_assert_eq(qg_tensor_numel(got), qg_tensor_numel(want), "%s", name);
    size_t es = qg_dtype_info(want->dtype)->size;
    const unsigned char *a = qg_tensor_data(got), *b = qg_tensor_data(want);
    for (int64_t i = 0; i < qg_tensor_numel(want); i++) {
      if (memcmp(a + i * (int64_t)es, b + i * (int64_t)es, es) != 0) {
        uint64_t ga = 0, wb = 0;
        memcpy(&ga, a + i * (int64_t)es, es);
        memcpy(&wb, b + i * (int64_t)es, es);
        cr_assert_fail("%s: element %lld (source %.17g): bits 0x%llx, PyTorch 0x%llx", name, (long long)i,
                       qg_tensor_get_flat(src, i), (unsigned long long)ga, (unsigned long long)wb);
      }
    }
    qg_tensor_release(got);
    n++;
  }
  cr_assert_gt(n, 20);
  fixture_free(&f);
}

Test(tensor, half_and_bfloat16_round_trip_every_pattern) {
  static const qg_dtype dts[] = {QG_DTYPE_F16, QG_DTYPE_BF16};
  for (int k = 0; k < 2; k++) {
    int64_t n = 65536;
    qg_tensor *h, *f32, *back;
    QG_ASSERT_OK(qg_tensor_create(dts[k], 1, &n, &h));
    uint16_t *bits = qg_tensor_data(h);
    for (int64_t i = 0; i < n; i++) bits[i] = (uint16_t)i;
    QG_ASSERT_OK(qg_tensor_to_dtype(h, QG_DTYPE_F32, &f32));
    QG_ASSERT_OK(qg_tensor_to_dtype(f32, dts[k], &back));
    const uint16_t *rb = qg_tensor_data(back);
    const float *fv = qg_tensor_data(f32);
    for (int64_t i = 0; i < n; i++) {
      if (isnan(fv[i])) {
        cr_assert(isnan(qg_tensor_get_flat(back, i)), "%s NaN 0x%04llx stays NaN", qg_dtype_info(dts[k])->name,
                  (long long)i);
        continue;
      }
      cr_assert_eq(rb[i], bits[i], "%s 0x%04llx -> %g -> 0x%04x", qg_dtype_info(dts[k])->name, (long long)i,
                   (double)fv[i], rb[i]);
    }
    qg_tensor_release(h);
    qg_tensor_release(f32);
    qg_tensor_release(back);
  }
}

/* ---- broadcasting and copy_ --------------------------------------------------------------- */

Test(tensor, broadcast_shapes_match_pytorch) {
  fixture f;
  fixture_load(&f);
  const cJSON *c;
  int n = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(f.doc, "broadcasts")) {
    int64_t a[QG_MAX_DIMS], b[QG_MAX_DIMS], want[QG_MAX_DIMS], got[QG_MAX_DIMS];
    int na = json_ints(cJSON_GetObjectItemCaseSensitive(c, "a"), a);
    int nb = json_ints(cJSON_GetObjectItemCaseSensitive(c, "b"), b);
    int ng = -1;
    qg_status st = qg_broadcast_shapes(na, a, nb, b, &ng, got);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(c, "error");
    if (err) {
      cr_assert_eq(st, QG_STATUS_INVALID_ARGUMENT, "case %d", n);
      cr_assert_str_eq(qg_last_error(), err->valuestring);
    } else {
      QG_ASSERT_OK(st);
      int nw = json_ints(cJSON_GetObjectItemCaseSensitive(c, "shape"), want);
      cr_assert_eq(ng, nw, "case %d: rank", n);
      for (int i = 0; i < nw; i++) cr_assert_eq(got[i], want[i], "case %d dim %d", n, i);
    }
    n++;
  }
  cr_assert_geq(n, 10);
  fixture_free(&f);
}

Test(tensor, copy_into_views_matches_pytorch) {
  fixture f;
  fixture_load(&f);
  const cJSON *c;
  int n = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(f.doc, "copies")) {
    const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
    qg_tensor *base = owned_copy(fx_tensor(&f, cJSON_GetObjectItemCaseSensitive(c, "before")->valuestring));
    qg_tensor *dst = NULL;
    QG_ASSERT_OK(apply_chain(base, cJSON_GetObjectItemCaseSensitive(c, "ops"), &dst));
    QG_ASSERT_OK(qg_tensor_copy_(dst, fx_tensor(&f, cJSON_GetObjectItemCaseSensitive(c, "src")->valuestring)));
    assert_same_values(base, fx_tensor(&f, cJSON_GetObjectItemCaseSensitive(c, "after")->valuestring), name);
    qg_tensor_release(dst);
    qg_tensor_release(base);
    n++;
  }
  cr_assert_geq(n, 4);
  fixture_free(&f);
}

Test(tensor, copy_errors) {
  int64_t s31[] = {3, 1}, s34[] = {3, 4}, s5[] = {5};
  qg_tensor *a, *e, *b, *q;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 2, s31, &a));
  QG_ASSERT_OK(qg_tensor_expand(a, 2, s34, &e));
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 2, s34, &b));
  cr_assert_eq(qg_tensor_copy_(e, b), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "more than one element of the written-to tensor") != NULL, "%s",
            qg_last_error());
  /* src not broadcastable to dst */
  qg_tensor *c5;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 1, s5, &c5));
  cr_assert_eq(qg_tensor_copy_(b, c5), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "must match the existing size (5) at non-singleton dimension 1") != NULL, "%s",
            qg_last_error());
  /* quantized <-> float conversion is an op, not a copy */
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_QINT8, 2, s34, &q));
  cr_assert_eq(qg_tensor_copy_(q, b), QG_STATUS_UNSUPPORTED);
  qg_tensor *r;
  cr_assert_eq(qg_tensor_to_dtype(q, QG_DTYPE_F32, &r), QG_STATUS_UNSUPPORTED);
  cr_assert_eq(qg_tensor_to_dtype(b, QG_DTYPE_QUINT8, &r), QG_STATUS_UNSUPPORTED);
  qg_tensor_release(q);
  qg_tensor_release(c5);
  qg_tensor_release(a);
  qg_tensor_release(e);
  qg_tensor_release(b);
}

Test(tensor, copy_overlapping_self_transpose) {
  /* x.copy_(x.t()) on a 3x3: PyTorch's result is the transpose (it copies through a temp). */
  int64_t s[] = {3, 3};
  float v[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  qg_tensor *x, *t;
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_F32, 2, s, v, &x));
  QG_ASSERT_OK(qg_tensor_transpose(x, 0, 1, &t));
  QG_ASSERT_OK(qg_tensor_copy_(x, t));
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) cr_assert_eq(qg_tensor_get_flat(x, i * 3 + j), v[j * 3 + i]);
  qg_tensor_release(t);
  qg_tensor_release(x);
}

/* ---- sharing and refcounts ---------------------------------------------------------------- */

Test(tensor, writes_through_views_reach_the_base) {
  int64_t s[] = {4, 6};
  qg_tensor *base, *t, *sl, *sel;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F64, 2, s, &base));
  QG_ASSERT_OK(qg_tensor_transpose(base, 0, 1, &t)); /* [6, 4] */
  QG_ASSERT_OK(qg_tensor_slice(t, 0, 1, 6, 2, &sl)); /* rows 1, 3, 5 of t = columns of base */
  QG_ASSERT_OK(qg_tensor_select(sl, 1, 2, &sel));    /* base[2, 1], base[2, 3], base[2, 5] */
  cr_assert_eq(sel->storage, base->storage);
  cr_assert_eq(base->storage->refcount, 4);
  for (int64_t i = 0; i < 3; i++) qg_tensor_set_flat(sel, i, 10.0 + (double)i);
  for (int64_t i = 0; i < 24; i++) {
    int64_t r = i / 6, col = i % 6;
    double want = (r == 2 && col % 2 == 1) ? 10.0 + (double)(col / 2) : 0.0;
    cr_assert_eq(qg_tensor_get_flat(base, i), want, "base[%lld, %lld]", (long long)r, (long long)col);
  }
  int64_t idx[] = {2, 1};
  cr_assert_eq(qg_tensor_offset_of(base, idx), (2 * 6 + 1) * 8);
  /* The view keeps the storage alive after the base and the intermediate views are gone. */
  qg_tensor_release(base);
  qg_tensor_release(t);
  qg_tensor_release(sl);
  cr_assert_eq(sel->storage->refcount, 1);
  cr_assert_eq(qg_tensor_get_flat(sel, 2), 12.0);
  qg_tensor_release(sel);
}

Test(tensor, contiguous_returns_self_or_copy) {
  int64_t s[] = {2, 3};
  qg_tensor *x, *c, *t, *tc;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I32, 2, s, &x));
  QG_ASSERT_OK(qg_tensor_contiguous(x, &c));
  cr_assert_eq(c, x);
  cr_assert_eq(x->refcount, 2);
  QG_ASSERT_OK(qg_tensor_transpose(x, 0, 1, &t));
  cr_assert(!qg_tensor_is_contiguous(t));
  QG_ASSERT_OK(qg_tensor_contiguous(t, &tc));
  cr_assert_neq(tc->storage, x->storage);
  cr_assert(qg_tensor_is_contiguous(tc));
  qg_tensor_release(x);
  qg_tensor_release(c);
  qg_tensor_release(t);
  qg_tensor_release(tc);
}

/* ---- creation and access ------------------------------------------------------------------ */

Test(tensor, creation_helpers) {
  qg_tensor *s, *d, *e;
  QG_ASSERT_OK(qg_tensor_scalar(QG_DTYPE_I64, -7.9, &s));
  cr_assert_eq(s->ndim, 0);
  cr_assert_eq(qg_tensor_get_flat(s, 0), -7.0); /* float -> int truncates toward zero */
  int64_t shape[] = {2, 2};
  int16_t v[] = {1, -2, 3, -4};
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_I16, 2, shape, v, &d));
  v[0] = 99; /* the tensor holds a copy */
  cr_assert_eq(qg_tensor_get_flat(d, 0), 1.0);
  cr_assert_eq(qg_tensor_get_flat(d, 3), -4.0);
  QG_ASSERT_OK(qg_tensor_empty_like(d, &e));
  cr_assert_eq(e->dtype, QG_DTYPE_I16);
  cr_assert_eq(e->shape[1], 2);
  cr_assert_eq(qg_tensor_get_flat(e, 3), 0.0);
  cr_assert_eq(qg_tensor_from_data(QG_DTYPE_F32, 2, shape, NULL, &e), QG_STATUS_INVALID_ARGUMENT);
  cr_assert_eq(qg_tensor_scalar(QG_DTYPE_QINT8, 1.0, &e), QG_STATUS_INVALID_ARGUMENT);
  qg_tensor_release(s);
  qg_tensor_release(d);
  qg_tensor_release(e);
}

Test(tensor, describe) {
  int64_t s[] = {2, 3};
  float v[] = {0, 1.5f, 2, -3, NAN, INFINITY};
  qg_tensor *x, *t;
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_F32, 2, s, v, &x));
  qg_strbuf b = QG_STRBUF_INIT;
  qg_tensor_describe(x, &b);
  cr_assert_str_eq(qg_strbuf_cstr(&b), "tensor([[0., 1.5, 2.], [-3., nan, inf]], dtype=f32, shape=[2, 3])");
  qg_strbuf_reset(&b);
  QG_ASSERT_OK(qg_tensor_transpose(x, 0, 1, &t));
  qg_tensor_describe(t, &b);
  cr_assert_str_eq(qg_strbuf_cstr(&b),
                   "tensor([[0., -3.], [1.5, nan], [2., inf]], dtype=f32, shape=[3, 2], strides=[1, 3])");
  qg_tensor_release(t);
  qg_tensor_release(x);
  int64_t big = 5000;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I64, 1, &big, &x));
  for (int64_t i = 0; i < big; i++) qg_tensor_set_flat(x, i, (double)i);
  qg_strbuf_reset(&b);
  qg_tensor_describe(x, &b);
  cr_assert_str_eq(qg_strbuf_cstr(&b), "tensor([0, 1, 2, ..., 4997, 4998, 4999], dtype=i64, shape=[5000])");
  qg_tensor_release(x);
  qg_strbuf_free(&b);
}

/* ---- named tensor files ------------------------------------------------------------------- */

Test(tensor, named_tensors_round_trip) {
  char dir[] = "/tmp/qg-tensor-XXXXXX";
  cr_assert(mkdtemp(dir) != NULL);
  char path[256];
  snprintf(path, sizeof path, "%s/t.safetensors", dir);
  int64_t s[] = {3, 4};
  qg_tensor *a, *at, *h;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 2, s, &a));
  for (int64_t i = 0; i < 12; i++) qg_tensor_set_flat(a, i, (double)i * 0.5);
  QG_ASSERT_OK(qg_tensor_transpose(a, 0, 1, &at)); /* saved through a contiguous copy */
  QG_ASSERT_OK(qg_tensor_to_dtype(a, QG_DTYPE_BF16, &h));
  char *names[] = {"weight.t", "weight_bf16"};
  qg_tensor *tensors[] = {at, h};
  qg_named_tensors nt = {names, tensors, 2};
  QG_ASSERT_OK(qg_named_tensors_save(path, &nt));
  qg_named_tensors back;
  QG_ASSERT_OK(qg_named_tensors_load(path, &back));
  cr_assert_eq(back.n, 2);
  qg_tensor *bt = qg_named_tensors_get(&back, "weight.t");
  qg_tensor *bh = qg_named_tensors_get(&back, "weight_bf16");
  cr_assert(bt && bh);
  cr_assert_null(qg_named_tensors_get(&back, "nope"));
  cr_assert_eq(bt->shape[0], 4);
  cr_assert_eq(bh->dtype, QG_DTYPE_BF16);
  assert_same_values(bt, at, "weight.t");
  assert_same_values(bh, h, "weight_bf16");
  qg_named_tensors_free(&back);
  cr_assert_eq(qg_named_tensors_load("/nonexistent/x.safetensors", &back), QG_STATUS_IO);
  qg_tensor_release(a);
  qg_tensor_release(at);
  qg_tensor_release(h);
  unlink(path);
  rmdir(dir);
}

/* ---- quantizers --------------------------------------------------------------------------- */

Test(tensor, quantizer_per_tensor_is_carried) {
  qg_quantizer *q;
  QG_ASSERT_OK(qg_quantizer_per_tensor(0.05, 3, &q));
  int64_t s[] = {2, 3};
  qg_tensor *t, *v, *c;
  QG_ASSERT_OK(qg_tensor_create_quantized(QG_DTYPE_QUINT8, 2, s, q, &t));
  qg_quantizer_release(q); /* the tensor holds its own reference */
  QG_ASSERT_OK(qg_tensor_transpose(t, 0, 1, &v));
  cr_assert_eq(v->quantizer, t->quantizer);
  QG_ASSERT_OK(qg_tensor_contiguous(v, &c));
  cr_assert_eq(c->quantizer, t->quantizer);
  cr_assert_eq(c->quantizer->refcount, 3);
  cr_assert_eq(c->quantizer->zero_point, 3);
  qg_tensor_set_flat(v, 1, 200); /* raw stored value for quantized dtypes */
  cr_assert_eq(qg_tensor_get_flat(t, 3), 200.0);
  qg_strbuf b = QG_STRBUF_INIT;
  qg_tensor_describe(t, &b);
  cr_assert(strstr(qg_strbuf_cstr(&b), "scale=0.05, zero_point=3") != NULL, "%s", qg_strbuf_cstr(&b));
  qg_strbuf_free(&b);
  cr_assert_eq(qg_quantizer_per_tensor(0.0, 0, &q), QG_STATUS_INVALID_ARGUMENT);
  cr_assert_eq(qg_quantizer_per_tensor(NAN, 0, &q), QG_STATUS_INVALID_ARGUMENT);
  qg_tensor *f;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 2, s, &f));
  cr_assert_eq(qg_tensor_set_quantizer(f, t->quantizer), QG_STATUS_INVALID_ARGUMENT);
  qg_tensor_release(f);
  qg_tensor_release(c);
  qg_tensor_release(v);
  qg_tensor_release(t);
}

Test(tensor, quantizer_per_channel_follows_axis) {
  int64_t n = 3;
  float sv[] = {0.1f, 0.2f, 0.4f};
  int32_t zv[] = {0, 1, -1};
  qg_tensor *scales, *zps;
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_F32, 1, &n, sv, &scales));
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_I32, 1, &n, zv, &zps));
  qg_quantizer *q;
  QG_ASSERT_OK(qg_quantizer_per_channel(scales, zps, 1, &q));
  cr_assert_eq(q->scales->dtype, QG_DTYPE_F64);
  cr_assert_eq(q->zero_points->dtype, QG_DTYPE_I64);
  cr_assert_eq(qg_tensor_get_flat(q->zero_points, 2), -1.0);
  int64_t s[] = {2, 3, 4};
  qg_tensor *t, *v, *u, *sq, *bad;
  QG_ASSERT_OK(qg_tensor_create_quantized(QG_DTYPE_QINT8, 3, s, q, &t));
  QG_ASSERT_OK(qg_tensor_permute(t, 3, (int64_t[]){2, 1, 0}, &v));
  cr_assert_eq(v->quantizer->axis, 1);
  QG_ASSERT_OK(qg_tensor_transpose(t, 0, 1, &u));
  cr_assert_eq(u->quantizer->axis, 0);
  cr_assert_eq(u->quantizer->scales, q->scales); /* the scales are shared, not copied */
  QG_ASSERT_OK(qg_tensor_select(t, 0, 1, &sq));
  cr_assert_eq(sq->quantizer->axis, 0);
  cr_assert_eq(qg_tensor_select(t, 1, 0, &bad), QG_STATUS_UNSUPPORTED);
  cr_assert_eq(qg_tensor_slice(t, 1, 0, 2, 1, &bad), QG_STATUS_UNSUPPORTED);
  cr_assert_eq(qg_tensor_view(t, 1, (int64_t[]){24}, &bad), QG_STATUS_UNSUPPORTED);
  /* wrong number of scales for the axis */
  qg_tensor *w;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_QINT8, 3, (int64_t[]){3, 4, 5}, &w));
  cr_assert_eq(qg_tensor_set_quantizer(w, q), QG_STATUS_INVALID_ARGUMENT);
  qg_tensor_release(w);
  qg_quantizer_release(q);
  /* validation */
  qg_tensor *s2;
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_F32, 1, &n, (float[]){0.1f, -1.0f, 1.0f}, &s2));
  cr_assert_eq(qg_quantizer_per_channel(s2, zps, 0, &q), QG_STATUS_INVALID_ARGUMENT);
  qg_tensor_release(s2);
  qg_tensor_release(scales);
  qg_tensor_release(zps);
  qg_tensor_release(sq);
  qg_tensor_release(u);
  qg_tensor_release(v);
  qg_tensor_release(t);
}

/* ---- allocation failures ------------------------------------------------------------------ */

static qg_status view_chain_and_copies(void *ud) {
  (void)ud;
  int64_t s[] = {4, 6};
  qg_tensor *x = NULL, *t = NULL, *sl = NULL, *u = NULL, *c = NULL, *r = NULL, *h = NULL, *e = NULL;
  qg_quantizer *q = NULL;
  qg_tensor *qt = NULL, *qv = NULL, *qc = NULL, *sc = NULL, *zp = NULL;
  qg_status st = qg_tensor_create(QG_DTYPE_F32, 2, s, &x);
  if (st == QG_OK) st = qg_tensor_transpose(x, 0, 1, &t);
  if (st == QG_OK) st = qg_tensor_slice(t, 0, 1, 6, 2, &sl);
  if (st == QG_OK) st = qg_tensor_unsqueeze(sl, 0, &u);
  if (st == QG_OK) st = qg_tensor_contiguous(u, &c);
  if (st == QG_OK) st = qg_tensor_reshape(t, 1, (int64_t[]){24}, &r);
  if (st == QG_OK) st = qg_tensor_to_dtype(sl, QG_DTYPE_F16, &h);
  if (st == QG_OK) st = qg_tensor_expand(u, 3, (int64_t[]){2, 3, 4}, &e);
  if (st == QG_OK) st = qg_tensor_from_data(QG_DTYPE_F32, 1, (int64_t[]){4}, (float[]){1, 2, 3, 4}, &sc);
  if (st == QG_OK) st = qg_tensor_create(QG_DTYPE_I32, 1, (int64_t[]){4}, &zp);
  if (st == QG_OK) st = qg_quantizer_per_channel(sc, zp, 0, &q);
  if (st == QG_OK) st = qg_tensor_create_quantized(QG_DTYPE_QINT8, 2, s, q, &qt);
  if (st == QG_OK) st = qg_tensor_transpose(qt, 0, 1, &qv); /* new quantizer with axis 1 */
  if (st == QG_OK) st = qg_tensor_contiguous(qv, &qc);
  qg_tensor *all[] = {x, t, sl, u, c, r, h, e, qt, qv, qc, sc, zp};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) qg_tensor_release(all[i]);
  qg_quantizer_release(q);
  return st;
}

Test(tensor, every_allocation_failure_in_views_and_copies) {
  size_t runs = qg_test_every_alloc_failure(view_chain_and_copies, NULL);
  cr_assert_gt(runs, 15);
}

static qg_status named_round_trip(void *ud) {
  const char *path = ud;
  int64_t s[] = {2, 3};
  qg_tensor *a = NULL, *at = NULL;
  qg_named_tensors back = {0};
  qg_status st = qg_tensor_create(QG_DTYPE_F64, 2, s, &a);
  if (st == QG_OK) st = qg_tensor_transpose(a, 0, 1, &at);
  if (st == QG_OK) {
    char *names[] = {"a", "a.t"};
    qg_tensor *ts[] = {a, at};
    qg_named_tensors nt = {names, ts, 2};
    st = qg_named_tensors_save(path, &nt);
  }
  if (st == QG_OK) st = qg_named_tensors_load(path, &back);
  qg_named_tensors_free(&back);
  qg_tensor_release(a);
  qg_tensor_release(at);
  return st;
}

Test(tensor, every_allocation_failure_in_named_files) {
  char dir[] = "/tmp/qg-tensor-XXXXXX";
  cr_assert(mkdtemp(dir) != NULL);
  char path[256];
  snprintf(path, sizeof path, "%s/n.safetensors", dir);
  qg_test_every_alloc_failure(named_round_trip, path);
  unlink(path);
  rmdir(dir);
}
