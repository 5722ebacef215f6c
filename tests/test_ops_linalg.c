/* Parity of the linalg-family CPU kernels (conv, conv_transpose, _convolution, linear, matmul,
 * mm, addmm, bmm, t, pooling, upsample, embedding, embedding_bag) with PyTorch 1.13, on the
 * cases recorded by tools/fixtures/gen_ops_linalg.py, plus error messages, NaN/Inf
 * propagation, strided inputs and allocation failure.
 *
 * Tolerance: an element passes when |got - want| <= TOL * max(|want|, ABS_FLOOR) with TOL 1e-5
 * for f32 and 1e-12 for f64 and ABS_FLOOR = 1 (so values below 1 in magnitude are held to an
 * absolute error of TOL). NaN must meet NaN and infinities must match exactly. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/alloc.h"
#include "module/safetensors.h"
#include "ops/cpu/conv.h"
#include "ops/cpu/embedding.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/linalg.h"
#include "ops/cpu/pool.h"
#include "ops/cpu/upsample.h"
#include "util/testutil.h"

#define TOL_F32 1e-5
#define TOL_F64 1e-12
#define ABS_FLOOR 1.0

/* ---- fixture access -------------------------------------------------------------------- */

typedef struct fixture {
  cJSON *doc;
  qg_safetensors *st;
} fixture;

static void fixture_open(fixture *f) {
  char *text = qg_test_read_file(qg_test_fixture("ops/linalg.json"), NULL);
  f->doc = cJSON_Parse(text);
  free(text);
  cr_assert(f->doc != NULL, "linalg.json does not parse");
  QG_ASSERT_OK(qg_safetensors_open(qg_test_fixture("ops/linalg.safetensors"), &f->st));
}

static void fixture_close(fixture *f) {
  cJSON_Delete(f->doc);
  qg_safetensors_close(f->st);
}

static qg_tensor *role(const fixture *f, const cJSON *c, const char *name) {
  const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(c, "inputs");
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(inputs, name);
  if (!cJSON_IsString(n)) return NULL;
  const qg_st_tensor *t = qg_safetensors_find(f->st, n->valuestring);
  cr_assert(t != NULL, "fixture tensor %s missing", n->valuestring);
  return t->tensor;
}

static const cJSON *param(const cJSON *c, const char *name) {
  return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "params"), name);
}
static int64_t pint(const cJSON *c, const char *name) { return (int64_t)param(c, name)->valuedouble; }
static int pbool(const cJSON *c, const char *name) { return cJSON_IsTrue(param(c, name)); }
static int plist(const cJSON *c, const char *name, int64_t *v) {
  const cJSON *a = param(c, name), *e;
  int n = 0;
  cJSON_ArrayForEach(e, a) v[n++] = (int64_t)e->valuedouble;
  return n;
}

/* Runs one recorded case through the kernel its "op" names. */
static qg_status run_case(const fixture *f, const cJSON *c, qg_tensor **out) {
  const char *op = cJSON_GetObjectItemCaseSensitive(c, "op")->valuestring;
  int64_t a[8], b[8], d[8], e[8];
  if (strcmp(op, "conv") == 0) {
    int ns = (int)pint(c, "nspatial");
    int na = plist(c, "stride", a), nd = plist(c, "dilation", d);
    const cJSON *pad = param(c, "padding");
    if (cJSON_IsString(pad))
      return qg_cpu_conv_nd_padding_str(ns, role(f, c, "input"), role(f, c, "weight"),
                                        role(f, c, "bias"), a, na, pad->valuestring, d, nd,
                                        pint(c, "groups"), out);
    int nb = plist(c, "padding", b);
    return qg_cpu_conv_nd(ns, role(f, c, "input"), role(f, c, "weight"), role(f, c, "bias"), a,
                          na, b, nb, d, nd, pint(c, "groups"), out);
  }
  if (strcmp(op, "conv_transpose") == 0) {
    int na = plist(c, "stride", a), nb = plist(c, "padding", b);
    int ne = plist(c, "output_padding", e), nd = plist(c, "dilation", d);
    return qg_cpu_conv_transpose_nd((int)pint(c, "nspatial"), role(f, c, "input"),
                                    role(f, c, "weight"), role(f, c, "bias"), a, na, b, nb, e, ne,
                                    pint(c, "groups"), d, nd, out);
  }
  if (strcmp(op, "_convolution") == 0) {
    int na = plist(c, "stride", a), nb = plist(c, "padding", b);
    int nd = plist(c, "dilation", d), ne = plist(c, "output_padding", e);
    return qg_cpu_convolution(role(f, c, "input"), role(f, c, "weight"), role(f, c, "bias"), a,
                              na, b, nb, d, nd, pbool(c, "transposed"), e, ne, pint(c, "groups"),
                              out);
  }
  if (strcmp(op, "linear") == 0)
    return qg_cpu_linear(role(f, c, "input"), role(f, c, "weight"), role(f, c, "bias"), out);
  if (strcmp(op, "matmul") == 0) return qg_cpu_matmul(role(f, c, "input"), role(f, c, "other"), out);
  if (strcmp(op, "mm") == 0) return qg_cpu_mm(role(f, c, "input"), role(f, c, "mat2"), out);
  if (strcmp(op, "bmm") == 0) return qg_cpu_bmm(role(f, c, "input"), role(f, c, "mat2"), out);
  if (strcmp(op, "t") == 0) return qg_cpu_t(role(f, c, "input"), out);
  if (strcmp(op, "addmm") == 0)
    return qg_cpu_addmm(role(f, c, "self"), role(f, c, "mat1"), role(f, c, "mat2"),
                        param(c, "beta")->valuedouble, param(c, "alpha")->valuedouble, out);
  if (strcmp(op, "max_pool") == 0) {
    int nk = plist(c, "kernel_size", a), ns = plist(c, "stride", b);
    int np = plist(c, "padding", e), nd = plist(c, "dilation", d);
    return qg_cpu_max_pool_nd((int)pint(c, "nspatial"), role(f, c, "input"), a, nk, b, ns, e, np,
                              d, nd, pbool(c, "ceil_mode"), out);
  }
  if (strcmp(op, "avg_pool") == 0) {
    int nk = plist(c, "kernel_size", a), ns = plist(c, "stride", b), np = plist(c, "padding", e);
    const cJSON *dv = param(c, "divisor_override");
    return qg_cpu_avg_pool_nd((int)pint(c, "nspatial"), role(f, c, "input"), a, nk, b, ns, e, np,
                              pbool(c, "ceil_mode"), pbool(c, "count_include_pad"),
                              cJSON_IsNumber(dv) ? (int64_t)dv->valuedouble : QG_POOL_NO_DIVISOR,
                              out);
  }
  if (strcmp(op, "adaptive_avg_pool") == 0) {
    int n = plist(c, "output_size", a);
    return qg_cpu_adaptive_avg_pool_nd((int)pint(c, "nspatial"), role(f, c, "input"), a, n, out);
  }
  if (strcmp(op, "upsample") == 0) {
    int ns = (int)pint(c, "nspatial");
    qg_upsample_mode mode = strcmp(param(c, "mode")->valuestring, "nearest") == 0
                                ? QG_UPSAMPLE_NEAREST
                                : QG_UPSAMPLE_LINEAR;
    double sc[3];
    int nsc = 0, nsz = 0;
    const cJSON *s = param(c, "scale_factors"), *x;
    if (cJSON_IsArray(s)) cJSON_ArrayForEach(x, s) sc[nsc++] = x->valuedouble;
    if (cJSON_IsArray(param(c, "output_size"))) nsz = plist(c, "output_size", a);
    return qg_cpu_upsample_vec(ns, mode, role(f, c, "input"), nsz ? a : NULL, nsz,
                               nsc ? sc : NULL, nsc, pbool(c, "align_corners"), out);
  }
  if (strcmp(op, "embedding") == 0)
    return qg_cpu_embedding(role(f, c, "weight"), role(f, c, "indices"), out);
  if (strcmp(op, "embedding_bag") == 0)
    return qg_cpu_embedding_bag(role(f, c, "weight"), role(f, c, "indices"), role(f, c, "offsets"),
                                (qg_embedding_bag_mode)pint(c, "mode"),
                                role(f, c, "per_sample_weights"), pbool(c, "include_last_offset"),
                                pint(c, "padding_idx"), out);
  return qg_set_error(QG_STATUS_UNKNOWN_OP, "test: no kernel for fixture op %s", op);
}

/* Max scaled error of got vs want (see the tolerance note at the top); -1 for a shape, dtype
 * or NaN/Inf mismatch (described in why). */
static double compare(const qg_tensor *got, const qg_tensor *want, char *why, size_t whylen) {
  if (got->dtype != want->dtype || got->ndim != want->ndim) {
    snprintf(why, whylen, "dtype/rank %d/%d vs %d/%d", got->dtype, got->ndim, want->dtype, want->ndim);
    return -1;
  }
  for (int i = 0; i < got->ndim; i++)
    if (got->shape[i] != want->shape[i]) {
      snprintf(why, whylen, "size %lld vs %lld in dim %d", (long long)got->shape[i],
               (long long)want->shape[i], i);
      return -1;
    }
  double worst = 0;
  int64_t n = qg_tensor_numel(want);
  for (int64_t i = 0; i < n; i++) {
    double g = qg_tensor_get_flat(got, i), w = qg_tensor_get_flat(want, i);
    if (isnan(w) || isnan(g) || isinf(w) || isinf(g)) {
      if ((isnan(w) && isnan(g)) || g == w) continue;
      snprintf(why, whylen, "element %lld: got %g, want %g", (long long)i, g, w);
      return -1;
    }
    double err = fabs(g - w) / fmax(fabs(w), ABS_FLOOR);
    if (err > worst) worst = err;
  }
  return worst;
}

/* Runs every case whose op is one of `ops` (comma-separated); fails listing the bad ones. */
static void run_cases(const char *ops) {
  fixture f;
  fixture_open(&f);
  const cJSON *cases = cJSON_GetObjectItemCaseSensitive(f.doc, "cases"), *c;
  int ran = 0, bad = 0;
  char report[4096] = "";
  size_t rlen = 0;
  cJSON_ArrayForEach(c, cases) {
    const char *op = cJSON_GetObjectItemCaseSensitive(c, "op")->valuestring;
    char key[64];
    snprintf(key, sizeof key, ",%s,", op);
    char list[256];
    snprintf(list, sizeof list, ",%s,", ops);
    if (!strstr(list, key)) continue;
    const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
    const char *oname = cJSON_GetObjectItemCaseSensitive(c, "output")->valuestring;
    const qg_st_tensor *want = qg_safetensors_find(f.st, oname);
    cr_assert(want != NULL, "missing %s", oname);
    double tol = strcmp(cJSON_GetObjectItemCaseSensitive(c, "dtype")->valuestring, "f64") == 0
                     ? TOL_F64
                     : TOL_F32;
    qg_tensor *got = NULL;
    qg_status st = run_case(&f, c, &got);
    char why[256] = "";
    double err = -1;
    if (st != QG_OK)
      snprintf(why, sizeof why, "%s: %s", qg_status_name(st), qg_last_error());
    else
      err = compare(got, want->tensor, why, sizeof why);
    if (st == QG_OK && err >= 0 && err > tol)
      snprintf(why, sizeof why, "max scaled error %.3g > %.1g", err, tol);
    if (st != QG_OK || err < 0 || err > tol) {
      bad++;
      rlen += (size_t)snprintf(report + rlen, rlen < sizeof report ? sizeof report - rlen : 0,
                               "\n  %s: %s", name, why);
      if (rlen >= sizeof report) rlen = sizeof report;
    }
    qg_tensor_release(got);
    ran++;
  }
  fixture_close(&f);
  cr_assert(ran > 0, "no fixture cases for %s", ops);
  cr_assert(bad == 0, "%d of %d cases failed:%s", bad, ran, report);
}

Test(parity, conv) { run_cases("conv,_convolution"); }
Test(parity, conv_transpose) { run_cases("conv_transpose"); }
Test(parity, linear_matmul) { run_cases("linear,matmul,mm,bmm,addmm,t"); }
Test(parity, pooling) { run_cases("max_pool,avg_pool,adaptive_avg_pool"); }
Test(parity, upsample) { run_cases("upsample"); }
Test(parity, embedding) { run_cases("embedding,embedding_bag"); }

/* ---- helpers for hand-made tensors ------------------------------------------------------ */

static qg_tensor *make(qg_dtype dt, int ndim, const int64_t *shape, double start, double step) {
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_create(dt, ndim, shape, &t));
  int64_t n = qg_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) qg_tensor_set_flat(t, i, start + step * (double)((i * 7) % 13));
  return t;
}

static void expect_error(qg_status st, qg_status code, const char *needle) {
  cr_assert_eq(st, code, "expected %s, got %s: %s", qg_status_name(code), qg_status_name(st),
               qg_last_error());
  cr_assert(strstr(qg_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
            qg_last_error(), needle);
}

/* ---- error cases ----------------------------------------------------------------------- */

Test(errors, conv_shapes_and_params) {
  int64_t xs[4] = {1, 3, 5, 5}, ws[4] = {8, 4, 3, 3}, ws2[4] = {3, 2, 3, 3}, ws3[4] = {4, 3, 3, 3};
  qg_tensor *x = make(QG_DTYPE_F32, 4, xs, 0, 1), *w = make(QG_DTYPE_F32, 4, ws, 0, 1);
  qg_tensor *w2 = make(QG_DTYPE_F32, 4, ws2, 0, 1), *w3 = make(QG_DTYPE_F32, 4, ws3, 0, 1);
  qg_tensor *y = NULL;
  int64_t one = 1, neg = -1, zero = 0;
  expect_error(qg_cpu_conv_nd(2, x, w, NULL, &one, 1, &zero, 1, &one, 1, 1, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "Given groups=1, weight of size [8, 4, 3, 3], expected input[1, 3, 5, 5] to have 4 "
               "channels, but got 3 channels instead");
  expect_error(qg_cpu_conv_nd(2, x, w3, NULL, &one, 1, &zero, 1, &one, 1, 0, &y),
               QG_STATUS_INVALID_ARGUMENT, "non-positive groups is not supported");
  expect_error(qg_cpu_conv_nd(2, x, w2, NULL, &one, 1, &zero, 1, &one, 1, 2, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "Given groups=2, expected weight to be divisible by 2 at dimension 0, but got "
               "weight of size [3, 2, 3, 3] instead");
  expect_error(qg_cpu_conv_nd(2, x, w3, NULL, &one, 1, &neg, 1, &one, 1, 1, &y),
               QG_STATUS_INVALID_ARGUMENT, "negative padding is not supported");
  expect_error(qg_cpu_conv_nd(2, x, w3, NULL, &zero, 1, &zero, 1, &one, 1, 1, &y),
               QG_STATUS_INVALID_ARGUMENT, "non-positive stride is not supported");
  int64_t three[3] = {1, 1, 1};
  expect_error(qg_cpu_conv_nd(2, x, w3, NULL, three, 3, &zero, 1, &one, 1, 1, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "expected stride to be a single integer value or a list of 2 values");
  expect_error(qg_cpu_conv_nd_padding_str(2, x, w3, NULL, &one, 1, "full", &one, 1, 1, &y),
               QG_STATUS_INVALID_ARGUMENT, "Invalid padding string: 'full'");
  int64_t two = 2;
  expect_error(qg_cpu_conv_nd_padding_str(2, x, w3, NULL, &two, 1, "same", &one, 1, 1, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "padding='same' is not supported for strided convolutions");
  /* Kernel larger than the padded input. */
  int64_t big[4] = {4, 3, 7, 7};
  qg_tensor *wb = make(QG_DTYPE_F32, 4, big, 0, 1);
  expect_error(qg_cpu_conv_nd(2, x, wb, NULL, &one, 1, &zero, 1, &one, 1, 1, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "Calculated padded input size per channel: (5 x 5). Kernel size: (7 x 7). Kernel "
               "size can't be greater than actual input size");
  /* Input rank and bias size. */
  int64_t x2s[2] = {4, 2}, bs[1] = {5};
  qg_tensor *x2 = make(QG_DTYPE_F32, 2, x2s, 0, 1), *b = make(QG_DTYPE_F32, 1, bs, 0, 1);
  expect_error(qg_cpu_conv_nd(2, x2, w3, NULL, &one, 1, &zero, 1, &one, 1, 1, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: "
               "[4, 2]");
  expect_error(qg_cpu_conv_nd(2, x, w3, b, &one, 1, &zero, 1, &one, 1, 1, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "expected bias to be 1-dimensional with 4 elements, but got bias of size [5]");
  /* Transposed: channels and output_padding. */
  expect_error(qg_cpu_conv_transpose_nd(2, x, w, NULL, &one, 1, &zero, 1, &zero, 1, 1, &one, 1, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "Given transposed=1, weight of size [8, 4, 3, 3], expected input[1, 3, 5, 5] to "
               "have 8 channels, but got 3 channels instead");
  expect_error(qg_cpu_conv_transpose_nd(2, x, w3, NULL, &one, 1, &zero, 1, &one, 1, 1, &one, 1, &y),
               QG_STATUS_INVALID_ARGUMENT, "output padding must be smaller than either stride or dilation");
  /* Mixed dtypes. */
  qg_tensor *wd = make(QG_DTYPE_F64, 4, ws3, 0, 1);
  expect_error(qg_cpu_conv_nd(2, x, wd, NULL, &one, 1, &zero, 1, &one, 1, 1, &y), QG_STATUS_TYPE,
               "expected scalar type Float but found Double");
  cr_assert(y == NULL);
  qg_tensor *tensors[] = {x, w, w2, w3, wb, x2, b, wd};
  for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++) qg_tensor_release(tensors[i]);
}

Test(errors, matmul_family) {
  int64_t s23[2] = {2, 3}, s45[2] = {4, 5}, s3[1] = {3}, s4[1] = {4}, s234[3] = {2, 3, 4},
          s256[3] = {2, 5, 6}, s64[2] = {6, 4}, s35[2] = {3, 5};
  qg_tensor *a = make(QG_DTYPE_F32, 2, s23, 0, 1), *b = make(QG_DTYPE_F32, 2, s45, 0, 1);
  qg_tensor *v3 = make(QG_DTYPE_F32, 1, s3, 0, 1), *v4 = make(QG_DTYPE_F32, 1, s4, 0, 1);
  qg_tensor *t3 = make(QG_DTYPE_F32, 3, s234, 0, 1), *t3b = make(QG_DTYPE_F32, 3, s256, 0, 1);
  qg_tensor *x64 = make(QG_DTYPE_F32, 2, s64, 0, 1), *w35 = make(QG_DTYPE_F32, 2, s35, 0, 1);
  qg_tensor *y = NULL, *s0;
  QG_ASSERT_OK(qg_tensor_scalar(QG_DTYPE_F32, 1.0, &s0));
  expect_error(qg_cpu_matmul(a, b, &y), QG_STATUS_INVALID_ARGUMENT,
               "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
  expect_error(qg_cpu_matmul(v3, v4, &y), QG_STATUS_INVALID_ARGUMENT,
               "inconsistent tensor size, expected tensor [3] and src [4] to have the same number "
               "of elements, but got 3 and 4 elements respectively");
  expect_error(qg_cpu_matmul(a, v4, &y), QG_STATUS_INVALID_ARGUMENT, "size mismatch, got 2, 2x3,4");
  expect_error(qg_cpu_matmul(s0, a, &y), QG_STATUS_INVALID_ARGUMENT,
               "both arguments to matmul need to be at least 1D, but they are 0D and 2D");
  expect_error(qg_cpu_linear(x64, w35, NULL, &y), QG_STATUS_INVALID_ARGUMENT,
               "mat1 and mat2 shapes cannot be multiplied (6x4 and 5x3)");
  expect_error(qg_cpu_addmm(v4, a, w35, 1, 1, &y), QG_STATUS_INVALID_ARGUMENT,
               "The expanded size of the tensor (5) must match the existing size (4) at "
               "non-singleton dimension 1.  Target sizes: [2, 5].  Tensor sizes: [4]");
  expect_error(qg_cpu_bmm(a, b, &y), QG_STATUS_INVALID_ARGUMENT, "batch1 must be a 3D tensor");
  expect_error(qg_cpu_bmm(t3, t3b, &y), QG_STATUS_INVALID_ARGUMENT,
               "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: "
               "[2, 5].");
  expect_error(qg_cpu_t(t3, &y), QG_STATUS_INVALID_ARGUMENT,
               "t() expects a tensor with <= 2 dimensions, but self is 3D");
  cr_assert(y == NULL);
  qg_tensor *tensors[] = {a, b, v3, v4, t3, t3b, x64, w35, s0};
  for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++) qg_tensor_release(tensors[i]);
}

Test(errors, pool_upsample_embedding) {
  int64_t xs[4] = {1, 1, 5, 5}, ss[4] = {1, 1, 2, 2}, k3 = 3, p2 = 2, zero = 0, one = 1;
  qg_tensor *x = make(QG_DTYPE_F32, 4, xs, 0, 1), *small = make(QG_DTYPE_F32, 4, ss, 0, 1), *y = NULL;
  expect_error(qg_cpu_max_pool_nd(2, x, &k3, 1, NULL, 0, &p2, 1, &one, 1, 0, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "pad should be at most half of kernel size, but got pad=2 and kernel_size=3");
  expect_error(qg_cpu_max_pool_nd(2, small, &k3, 1, NULL, 0, &zero, 1, &one, 1, 0, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "Given input size: (1x2x2). Calculated output size: (1x0x0). Output size is too small");
  expect_error(qg_cpu_avg_pool_nd(2, small, &k3, 1, NULL, 0, &zero, 1, 0, 1, 0, &y),
               QG_STATUS_INVALID_ARGUMENT, "divisor must be not zero");
  int64_t k333[3] = {3, 3, 3};
  expect_error(qg_cpu_max_pool_nd(2, x, k333, 3, NULL, 0, &zero, 1, &one, 1, 0, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "max_pool2d: kernel_size must either be a single int, or a tuple of two ints");
  int64_t os[2] = {4, 4};
  double sc[2] = {2, 2};
  expect_error(qg_cpu_upsample_vec(2, QG_UPSAMPLE_NEAREST, x, os, 2, sc, 2, 0, &y),
               QG_STATUS_INVALID_ARGUMENT, "Must specify exactly one of output_size and scale_factors");
  int64_t ws[2] = {3, 4}, is[1] = {2}, os1[1] = {1};
  qg_tensor *w = make(QG_DTYPE_F32, 2, ws, 0, 1), *idx, *off, *psw = make(QG_DTYPE_F32, 1, is, 0, 1);
  int64_t iv[2] = {1, 5}, ov[1] = {1};
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_I64, 1, is, iv, &idx));
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_I64, 1, os1, ov, &off));
  expect_error(qg_cpu_embedding(w, idx, &y), QG_STATUS_INVALID_ARGUMENT, "index out of range in self");
  expect_error(qg_cpu_embedding_bag(w, idx, off, QG_EMBEDDING_BAG_SUM, NULL, 0, -1, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
               "from position 0. However, got 1");
  expect_error(qg_cpu_embedding_bag(w, idx, off, QG_EMBEDDING_BAG_MEAN, psw, 0, -1, &y),
               QG_STATUS_INVALID_ARGUMENT,
               "per_sample_weights is only supported for mode='sum' (got mode='mean')");
  expect_error(qg_cpu_embedding(idx, idx, &y), QG_STATUS_UNSUPPORTED, "expected a float32 or float64 weight");
  cr_assert(y == NULL);
  qg_tensor *tensors[] = {x, small, w, idx, off, psw};
  for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++) qg_tensor_release(tensors[i]);
}

/* ---- NaN / Inf, strides, hand-checked cases -------------------------------------------- */

Test(special, nan_inf_propagate) {
  int64_t xs[4] = {1, 2, 5, 7}, ws[4] = {3, 2, 3, 3};
  qg_tensor *x = make(QG_DTYPE_F32, 4, xs, -1, 0.25), *w = make(QG_DTYPE_F32, 4, ws, 0.5, -0.1);
  qg_tensor_set_flat(x, 0, NAN);                  /* channel 0, (0, 0) */
  qg_tensor_set_flat(x, 35 + 3 * 7 + 6, INFINITY); /* channel 1, (3, 6) */
  qg_tensor *y;
  int64_t one = 1, zero = 0;
  QG_ASSERT_OK(qg_cpu_conv_nd(2, x, w, NULL, &one, 1, &one, 1, &one, 1, 1, &y));
  /* Output (0, 0) sees the NaN; output (0, 4) sees neither; output (4, 6) sees the Inf
   * (with mixed-sign weights it may be +-Inf or NaN, never finite). */
  for (int c = 0; c < 3; c++) {
    cr_assert(isnan(qg_tensor_get_flat(y, c * 35 + 0)));
    cr_assert(isfinite(qg_tensor_get_flat(y, c * 35 + 4)));
    cr_assert(!isfinite(qg_tensor_get_flat(y, c * 35 + 4 * 7 + 6)));
  }
  qg_tensor_release(y);
  int64_t k2 = 2;
  QG_ASSERT_OK(qg_cpu_max_pool_nd(2, x, &k2, 1, NULL, 0, &zero, 1, &one, 1, 0, &y));
  cr_assert(isnan(qg_tensor_get_flat(y, 0)));
  qg_tensor_release(y);
  int64_t ls[2] = {2, 35}, wls[2] = {4, 35};
  qg_tensor *xl, *wl = make(QG_DTYPE_F32, 2, wls, 1, 0);
  QG_ASSERT_OK(qg_tensor_reshape(x, 2, ls, &xl));
  QG_ASSERT_OK(qg_cpu_linear(xl, wl, NULL, &y));
  cr_assert(isnan(qg_tensor_get_flat(y, 0)) && qg_tensor_get_flat(y, 4) == INFINITY);
  qg_tensor_release(y);
  qg_tensor *tensors[] = {x, w, xl, wl};
  for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++) qg_tensor_release(tensors[i]);
}

static void assert_same(const qg_tensor *a, const qg_tensor *b) {
  char why[256] = "";
  double err = compare(a, b, why, sizeof why);
  cr_assert(err >= 0 && err <= TOL_F32, "strided result differs: %s (err %g)", why, err);
}

Test(special, strided_inputs) {
  /* A transposed view of the input must give what its contiguous copy gives. */
  int64_t xs[4] = {1, 3, 11, 7}, ws[4] = {4, 3, 3, 3};
  qg_tensor *x = make(QG_DTYPE_F32, 4, xs, -1, 0.3), *w = make(QG_DTYPE_F32, 4, ws, 0.4, -0.07);
  qg_tensor *xt, *xtc, *y1, *y2;
  QG_ASSERT_OK(qg_tensor_transpose(x, 2, 3, &xt));
  cr_assert(!qg_tensor_is_contiguous(xt));
  QG_ASSERT_OK(qg_tensor_to_dtype(xt, QG_DTYPE_F32, &xtc));
  int64_t one = 1;
  QG_ASSERT_OK(qg_cpu_conv_nd(2, xt, w, NULL, &one, 1, &one, 1, &one, 1, 1, &y1));
  QG_ASSERT_OK(qg_cpu_conv_nd(2, xtc, w, NULL, &one, 1, &one, 1, &one, 1, 1, &y2));
  assert_same(y1, y2);
  qg_tensor_release(y1);
  qg_tensor_release(y2);
  /* matmul with a transposed right operand, and t() of a view. */
  int64_t as[2] = {5, 7}, bs[2] = {11, 7};
  qg_tensor *a = make(QG_DTYPE_F32, 2, as, 1, -0.2), *b = make(QG_DTYPE_F32, 2, bs, -0.5, 0.1), *bt, *btc;
  QG_ASSERT_OK(qg_tensor_transpose(b, 0, 1, &bt));
  QG_ASSERT_OK(qg_cpu_t(b, &btc));
  cr_assert(qg_tensor_is_contiguous(btc) && btc->shape[0] == 7 && btc->shape[1] == 11);
  QG_ASSERT_OK(qg_cpu_matmul(a, bt, &y1));
  QG_ASSERT_OK(qg_cpu_matmul(a, btc, &y2));
  assert_same(y1, y2);
  qg_tensor_release(y1);
  qg_tensor_release(y2);
  QG_ASSERT_OK(qg_cpu_linear(a, b, NULL, &y1)); /* a @ b^T again */
  QG_ASSERT_OK(qg_cpu_matmul(a, btc, &y2));
  assert_same(y1, y2);
  qg_tensor_release(y1);
  qg_tensor_release(y2);
  qg_tensor *tensors[] = {x, w, xt, xtc, a, b, bt, btc};
  for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++) qg_tensor_release(tensors[i]);
}

Test(special, embedding_bag_short_last_offset) {
  /* include_last_offset with offsets[-1] < len(indices): the tail is ignored (torch 1.13's CPU
   * kernel corrupts memory here, so this case is checked by hand). */
  double wv[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
  int64_t ws[2] = {4, 2}, is[1] = {5}, os[1] = {3};
  int64_t iv[5] = {0, 1, 2, 3, 3}, ov[3] = {0, 2, 3};
  qg_tensor *w, *idx, *off, *y;
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_F64, 2, ws, wv, &w));
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_I64, 1, is, iv, &idx));
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_I64, 1, os, ov, &off));
  QG_ASSERT_OK(qg_cpu_embedding_bag(w, idx, off, QG_EMBEDDING_BAG_SUM, NULL, 1, -1, &y));
  cr_assert(y->ndim == 2 && y->shape[0] == 2 && y->shape[1] == 2);
  double want[4] = {4, 6, 5, 6};
  for (int i = 0; i < 4; i++) cr_assert_eq(qg_tensor_get_flat(y, i), want[i], "element %d", i);
  qg_tensor_release(y);
  qg_tensor *tensors[] = {w, idx, off};
  for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++) qg_tensor_release(tensors[i]);
}

Test(special, threads_setting) {
  qg_cpu_set_num_threads(2);
  cr_assert_eq(qg_cpu_get_num_threads(), 2);
  qg_cpu_set_num_threads(0);
  cr_assert_eq(qg_cpu_get_num_threads(), 1);
}

/* ---- allocation failure ----------------------------------------------------------------- */

typedef struct conv_ud {
  qg_tensor *x, *w, *b;
  int transposed;
} conv_ud;

static qg_status conv_once(void *p) {
  conv_ud *u = p;
  qg_tensor *xt = NULL, *y = NULL;
  int64_t two = 2, one = 1, zero = 0;
  /* A strided input so the contiguous copy is among the allocations. */
  qg_status st = qg_tensor_transpose(u->x, 2, 3, &xt);
  if (st == QG_OK && !u->transposed)
    st = qg_cpu_conv_nd(2, xt, u->w, u->b, &two, 1, &one, 1, &one, 1, 1, &y);
  if (st == QG_OK && u->transposed)
    st = qg_cpu_conv_transpose_nd(2, xt, u->w, u->b, &two, 1, &one, 1, &one, 1, 1, &one, 1, &y);
  (void)zero;
  qg_tensor_release(xt);
  qg_tensor_release(y);
  return st;
}

Test(alloc, conv_every_failure) {
  int64_t xs[4] = {2, 3, 7, 5}, ws[4] = {4, 3, 3, 3}, bs[1] = {4};
  conv_ud u = {make(QG_DTYPE_F32, 4, xs, 0, 1), make(QG_DTYPE_F32, 4, ws, 0, 1),
               make(QG_DTYPE_F32, 1, bs, 0, 1), 0};
  size_t runs = qg_test_every_alloc_failure(conv_once, &u);
  cr_assert(runs >= 4, "only %zu allocations seen", runs);
  int64_t wts[4] = {3, 4, 3, 3};
  qg_tensor_release(u.w);
  u.w = make(QG_DTYPE_F32, 4, wts, 0, 1);
  u.transposed = 1;
  runs = qg_test_every_alloc_failure(conv_once, &u);
  cr_assert(runs >= 4, "only %zu allocations seen (transposed)", runs);
  qg_tensor_release(u.x);
  qg_tensor_release(u.w);
  qg_tensor_release(u.b);
}
