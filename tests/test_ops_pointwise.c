/* Pointwise CPU kernels (norm, activation, elementwise, shape, reduce) against PyTorch.
 *
 * Every case of tests/fixtures/ops/pointwise.json (written by
 * tools/fixtures/gen_ops_pointwise.py with torch 1.13) is run through the matching qg_cpu_*
 * kernel and compared with PyTorch's recorded output:
 *   - dtype and shape must match exactly; integer and bool values must match exactly;
 *   - f32: |got - want| <= 1e-5 * max(|want|, 1)   (relative 1e-5, absolute floor 1e-5);
 *   - f64: |got - want| <= 1e-12 * max(|want|, 1)  (relative 1e-12, absolute floor 1e-12);
 *   - NaN positions must match and infinities must be equal (sign included).
 * Error cases must fail and the message must contain the recorded fragment of PyTorch's message.
 * Inputs marked "transpose" are given to the kernel as transposed (non-contiguous) views. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/activation.h"
#include "ops/cpu/elementwise.h"
#include "ops/cpu/norm.h"
#include "ops/cpu/reduce.h"
#include "ops/cpu/shape.h"
#include "tensor/tensor.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

#define F32_TOL 1e-5
#define F64_TOL 1e-12
#define MAX_IO 8

/* ---- fixture --------------------------------------------------------------------------- */

static cJSON *g_doc;
static qg_named_tensors g_nt;

static void load(void) {
  char *text = qg_test_read_file(qg_test_fixture("ops/pointwise.json"), NULL);
  g_doc = cJSON_Parse(text);
  free(text);
  cr_assert(g_doc != NULL, "pointwise.json does not parse");
  QG_ASSERT_OK(qg_named_tensors_load(qg_test_fixture("ops/pointwise.safetensors"), &g_nt));
}

static void unload(void) {
  cJSON_Delete(g_doc);
  qg_named_tensors_free(&g_nt);
}

static const cJSON *arg(const cJSON *args, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(args, key);
}
static double argf(const cJSON *args, const char *key) {
  const cJSON *e = arg(args, key);
  cr_assert(cJSON_IsNumber(e), "argument %s is missing", key);
  return e->valuedouble;
}
static int64_t argi(const cJSON *args, const char *key) { return (int64_t)argf(args, key); }
static int argb(const cJSON *args, const char *key) { return cJSON_IsTrue(arg(args, key)); }
static int is_null(const cJSON *e) { return e == NULL || cJSON_IsNull(e); }

static int argints(const cJSON *args, const char *key, int64_t *out) {
  const cJSON *a = arg(args, key), *e;
  int n = 0;
  cJSON_ArrayForEach(e, a) {
    cr_assert(n < QG_MAX_DIMS);
    out[n++] = (int64_t)e->valuedouble;
  }
  return n;
}

static qg_scalar to_scalar(const cJSON *s) {
  const cJSON *i = cJSON_GetObjectItemCaseSensitive(s, "int");
  if (i) return qg_scalar_int((int64_t)i->valuedouble);
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(s, "float");
  if (cJSON_IsString(f)) {
    const char *v = f->valuestring;
    return qg_scalar_float(!strcmp(v, "nan") ? NAN : !strcmp(v, "inf") ? INFINITY : -INFINITY);
  }
  return qg_scalar_float(f->valuedouble);
}

static int dtype_arg(const cJSON *args, const char *key, int none) {
  const cJSON *e = arg(args, key);
  if (is_null(e)) return none;
  if (!strcmp(e->valuestring, "f32")) return QG_DTYPE_F32;
  if (!strcmp(e->valuestring, "f64")) return QG_DTYPE_F64;
  cr_assert_fail("unknown dtype %s", e->valuestring);
  return none;
}

/* A private, writable copy of a fixture tensor (transposed when the spec says so). */
static qg_tensor *make_input(const cJSON *spec) {
  if (is_null(spec)) return NULL;
  const char *name = cJSON_GetObjectItemCaseSensitive(spec, "t")->valuestring;
  qg_tensor *base = qg_named_tensors_get(&g_nt, name), *copy, *view;
  cr_assert(base != NULL, "fixture tensor %s is missing", name);
  QG_ASSERT_OK(qg_tensor_create(base->dtype, base->ndim, base->shape, &copy));
  QG_ASSERT_OK(qg_tensor_copy_(copy, base));
  const cJSON *tr = cJSON_GetObjectItemCaseSensitive(spec, "transpose");
  if (is_null(tr)) return copy;
  QG_ASSERT_OK(qg_tensor_transpose(copy, (int)cJSON_GetArrayItem(tr, 0)->valuedouble,
                                   (int)cJSON_GetArrayItem(tr, 1)->valuedouble, &view));
  qg_tensor_release(copy);
  cr_assert(!qg_tensor_is_contiguous(view) || qg_tensor_numel(view) <= 1);
  return view;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

typedef struct run {
  qg_tensor *in[MAX_IO];
  int nin;
  qg_tensor *out[MAX_IO * 2];
  int64_t nout;
  int inplace;     /* out[0] is in[0], written in place */
  int stats_outs;  /* out[1], out[2] are in[3], in[4] (running stats updated in place) */
} run;

static int op_is(const char *op, const char *name) { return strcmp(op, name) == 0; }

static qg_status act_inplace(const char *op, const cJSON *a, qg_tensor *x) {
  if (op_is(op, "relu_")) return qg_cpu_relu_(x);
  if (op_is(op, "hardtanh_")) return qg_cpu_hardtanh_(x, argf(a, "min_val"), argf(a, "max_val"));
  if (op_is(op, "hardswish_")) return qg_cpu_hardswish_(x);
  if (op_is(op, "hardsigmoid_")) return qg_cpu_hardsigmoid_(x);
  if (op_is(op, "clamp_")) return qg_cpu_clamp_(x, 1, argf(a, "min"), 1, argf(a, "max"));
  if (op_is(op, "elu_")) return qg_cpu_elu_(x, argf(a, "alpha"), argf(a, "scale"), argf(a, "input_scale"));
  if (op_is(op, "leaky_relu_")) return qg_cpu_leaky_relu_(x, argf(a, "negative_slope"));
  if (op_is(op, "sigmoid_")) return qg_cpu_sigmoid_(x);
  if (op_is(op, "tanh_")) return qg_cpu_tanh_(x);
  if (op_is(op, "silu_")) return qg_cpu_silu_(x);
  return QG_STATUS_UNKNOWN_OP;
}

static qg_status binary(const char *op, const cJSON *a, run *r) {
  size_t len = strlen(op);
  int inplace = op[len - 1] == '_';
  char base[16];
  snprintf(base, sizeof base, "%.*s", (int)(len - (size_t)inplace), op);
  const cJSON *sc = arg(a, "scalar");
  int scalar = !is_null(sc);
  qg_scalar s = scalar ? to_scalar(sc) : qg_scalar_int(0);
  qg_scalar alpha = is_null(arg(a, "alpha")) ? qg_scalar_int(1) : to_scalar(arg(a, "alpha"));
  qg_div_mode mode;
  const cJSON *rm = arg(a, "rounding_mode");
  QG_TRY(qg_div_mode_parse(is_null(rm) ? NULL : rm->valuestring, &mode));
  qg_tensor *x = r->in[0], *y = r->nin > 1 ? r->in[1] : NULL, **o = &r->out[0];
  r->nout = 1;
  if (inplace) {
    r->inplace = 1;
    r->out[0] = x;
    if (op_is(base, "add")) return scalar ? qg_cpu_add_scalar_(x, s, alpha) : qg_cpu_add_(x, y, alpha);
    if (op_is(base, "sub")) return scalar ? qg_cpu_sub_scalar_(x, s, alpha) : qg_cpu_sub_(x, y, alpha);
    if (op_is(base, "mul")) return scalar ? qg_cpu_mul_scalar_(x, s) : qg_cpu_mul_(x, y);
    return scalar ? qg_cpu_div_scalar_(x, s, mode) : qg_cpu_div_(x, y, mode);
  }
  if (op_is(base, "add")) return scalar ? qg_cpu_add_scalar(x, s, alpha, o) : qg_cpu_add(x, y, alpha, o);
  if (op_is(base, "sub")) return scalar ? qg_cpu_sub_scalar(x, s, alpha, o) : qg_cpu_sub(x, y, alpha, o);
  if (op_is(base, "mul")) return scalar ? qg_cpu_mul_scalar(x, s, o) : qg_cpu_mul(x, y, o);
  return scalar ? qg_cpu_div_scalar(x, s, mode, o) : qg_cpu_div(x, y, mode, o);
}

static qg_status dispatch(const char *op, const cJSON *a, run *r) {
  qg_tensor *x = r->in[0], **o = &r->out[0];
  int64_t v[QG_MAX_DIMS];
  r->nout = 1;
  if (op_is(op, "relu")) return qg_cpu_relu(x, o);
  if (op_is(op, "relu6")) return qg_cpu_relu6(x, o);
  if (op_is(op, "hardswish")) return qg_cpu_hardswish(x, o);
  if (op_is(op, "hardsigmoid")) return qg_cpu_hardsigmoid(x, o);
  if (op_is(op, "sigmoid")) return qg_cpu_sigmoid(x, o);
  if (op_is(op, "tanh")) return qg_cpu_tanh(x, o);
  if (op_is(op, "silu")) return qg_cpu_silu(x, o);
  if (op_is(op, "hardtanh")) return qg_cpu_hardtanh(x, argf(a, "min_val"), argf(a, "max_val"), o);
  if (op_is(op, "clamp")) {
    const cJSON *mn = arg(a, "min"), *mx = arg(a, "max");
    return qg_cpu_clamp(x, !is_null(mn), is_null(mn) ? 0 : mn->valuedouble, !is_null(mx),
                        is_null(mx) ? 0 : mx->valuedouble, o);
  }
  if (op_is(op, "clamp_tensor")) return qg_cpu_clamp_tensor(x, r->in[1], r->in[2], o);
  if (op_is(op, "elu")) return qg_cpu_elu(x, argf(a, "alpha"), argf(a, "scale"), argf(a, "input_scale"), o);
  if (op_is(op, "leaky_relu")) return qg_cpu_leaky_relu(x, argf(a, "negative_slope"), o);
  if (op_is(op, "gelu")) {
    qg_gelu_approx ap;
    QG_TRY(qg_gelu_approx_parse(arg(a, "approximate")->valuestring, &ap));
    return qg_cpu_gelu(x, ap, o);
  }
  if (op_is(op, "softmax"))
    return qg_cpu_softmax(x, argi(a, "dim"), dtype_arg(a, "dtype", QG_SOFTMAX_NO_DTYPE), o);
  if (op_is(op, "log_softmax"))
    return qg_cpu_log_softmax(x, argi(a, "dim"), dtype_arg(a, "dtype", QG_SOFTMAX_NO_DTYPE), o);
  qg_status ast = act_inplace(op, a, x);
  if (ast != QG_STATUS_UNKNOWN_OP) {
    r->inplace = 1;
    r->out[0] = x;
    return ast;
  }
  if (!strncmp(op, "add", 3) || !strncmp(op, "sub", 3) || !strncmp(op, "mul", 3) || !strncmp(op, "div", 3))
    return binary(op, a, r);
  if (op_is(op, "batch_norm") || op_is(op, "instance_norm")) {
    int train = op_is(op, "batch_norm") ? argb(a, "training") : argb(a, "use_input_stats");
    qg_status st = op_is(op, "batch_norm")
                       ? qg_cpu_batch_norm(x, r->in[1], r->in[2], r->in[3], r->in[4], train,
                                           argf(a, "momentum"), argf(a, "eps"), o)
                       : qg_cpu_instance_norm(x, r->in[1], r->in[2], r->in[3], r->in[4], train,
                                              argf(a, "momentum"), argf(a, "eps"), o);
    if (st == QG_OK && train && r->in[3]) {
      r->out[1] = r->in[3];
      r->out[2] = r->in[4];
      r->nout = 3;
      r->stats_outs = 1;
    }
    return st;
  }
  if (op_is(op, "layer_norm")) {
    int n = argints(a, "normalized_shape", v);
    return qg_cpu_layer_norm(x, v, n, r->in[1], r->in[2], argf(a, "eps"), o);
  }
  if (op_is(op, "group_norm"))
    return qg_cpu_group_norm(x, argi(a, "num_groups"), r->in[1], r->in[2], argf(a, "eps"), o);
  if (op_is(op, "cat")) return qg_cpu_cat(r->in, r->nin, argi(a, "dim"), o);
  if (op_is(op, "stack")) return qg_cpu_stack(r->in, r->nin, argi(a, "dim"), o);
  if (op_is(op, "chunk") || op_is(op, "split") || op_is(op, "split_with_sizes")) {
    qg_tensor **parts = NULL;
    qg_status st;
    if (op_is(op, "chunk")) st = qg_cpu_chunk(x, argi(a, "chunks"), argi(a, "dim"), &parts, &r->nout);
    else if (op_is(op, "split")) st = qg_cpu_split(x, argi(a, "split_size"), argi(a, "dim"), &parts, &r->nout);
    else st = qg_cpu_split_with_sizes(x, v, argints(a, "sizes", v), argi(a, "dim"), &parts, &r->nout);
    if (st != QG_OK) {
      r->nout = 0;
      return st;
    }
    cr_assert(r->nout <= MAX_IO * 2);
    for (int64_t i = 0; i < r->nout; i++) {
      /* Views: they share x's storage. */
      cr_assert(parts[i]->storage == x->storage || qg_tensor_numel(parts[i]) == 0, "%s piece %lld is not a view", op, (long long)i);
      r->out[i] = parts[i];
    }
    qg__free(parts);
    return QG_OK;
  }
  if (op_is(op, "dropout")) {
    qg_status st = qg_cpu_dropout(x, argf(a, "p"), argb(a, "train"), o);
    if (st == QG_OK) cr_assert(*o == x, "dropout in eval must alias its input");
    return st;
  }
  if (op_is(op, "sum") || op_is(op, "mean")) {
    const cJSON *d = arg(a, "dims");
    int n = is_null(d) ? 0 : argints(a, "dims", v);
    int dt = dtype_arg(a, "dtype", QG_REDUCE_NO_DTYPE);
    return op_is(op, "sum") ? qg_cpu_sum(x, v, n, argb(a, "keepdim"), dt, o)
                            : qg_cpu_mean(x, v, n, argb(a, "keepdim"), dt, o);
  }
  cr_assert_fail("no kernel for op %s", op);
  return QG_STATUS_UNKNOWN_OP;
}

/* ---- comparison -------------------------------------------------------------------------- */

static int close_enough(qg_dtype dt, double got, double want) {
  if (isnan(want) || isnan(got)) return isnan(want) && isnan(got);
  if (isinf(want) || isinf(got)) return got == want;
  double tol = dt == QG_DTYPE_F64 ? F64_TOL : F32_TOL;
  return fabs(got - want) <= tol * fmax(fabs(want), 1.0);
}

static void compare(const char *cname, int k, qg_tensor *got, const qg_tensor *want) {
  cr_assert(got->dtype == want->dtype, "%s out%d: dtype %s, PyTorch %s", cname, k,
            qg_dtype_info(got->dtype)->name, qg_dtype_info(want->dtype)->name);
  cr_assert(got->ndim == want->ndim, "%s out%d: rank %d, PyTorch %d", cname, k, got->ndim, want->ndim);
  for (int d = 0; d < got->ndim; d++)
    cr_assert(got->shape[d] == want->shape[d], "%s out%d: size %lld at dim %d, PyTorch %lld", cname,
              k, (long long)got->shape[d], d, (long long)want->shape[d]);
  int64_t n = qg_tensor_numel(want);
  int is_float = want->dtype == QG_DTYPE_F32 || want->dtype == QG_DTYPE_F64;
  for (int64_t i = 0; i < n; i++) {
    if (want->dtype == QG_DTYPE_I64) {
      int64_t idx[QG_MAX_DIMS], rem = i, gv, wv;
      for (int d = got->ndim - 1; d >= 0; d--) {
        idx[d] = rem % got->shape[d];
        rem /= got->shape[d];
      }
      memcpy(&gv, (char *)qg_tensor_data(got) + qg_tensor_offset_of(got, idx), sizeof gv);
      memcpy(&wv, (const char *)qg_tensor_data(want) + 8 * i, sizeof wv);
      cr_assert(gv == wv, "%s out%d[%lld]: %lld, PyTorch %lld", cname, k, (long long)i, (long long)gv,
                (long long)wv);
      continue;
    }
    double g = qg_tensor_get_flat(got, i), w = qg_tensor_get_flat(want, i);
    if (is_float)
      cr_assert(close_enough(want->dtype, g, w), "%s out%d[%lld]: %.17g, PyTorch %.17g", cname, k,
                (long long)i, g, w);
    else
      cr_assert(g == w, "%s out%d[%lld]: %g, PyTorch %g", cname, k, (long long)i, g, w);
  }
}

static void run_free(run *r) {
  if (!r->inplace)
    for (int64_t i = 0; i < (r->stats_outs ? 1 : r->nout); i++) qg_tensor_release(r->out[i]);
  for (int i = 0; i < r->nin; i++) qg_tensor_release(r->in[i]);
}

/* Runs every case whose op is in `ops` (NULL-terminated; NULL = error cases only). */
static int run_cases(const char *const *ops, int errors) {
  const cJSON *cases = cJSON_GetObjectItemCaseSensitive(g_doc, "cases"), *c;
  int count = 0;
  cJSON_ArrayForEach(c, cases) {
    const char *op = cJSON_GetObjectItemCaseSensitive(c, "op")->valuestring;
    const char *cname = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(c, "match");
    if (errors != (err != NULL)) continue;
    if (!errors) {
      int want = 0;
      for (const char *const *p = ops; *p; p++) {
        size_t l = strlen(*p);
        if (!strncmp(op, *p, l) && (op[l] == 0 || op[l] == '_')) want = 1;
      }
      if (!want) continue;
    }
    run r;
    memset(&r, 0, sizeof r);
    const cJSON *spec;
    cJSON_ArrayForEach(spec, cJSON_GetObjectItemCaseSensitive(c, "inputs")) {
      cr_assert(r.nin < MAX_IO);
      r.in[r.nin++] = make_input(spec);
    }
    qg_clear_error();
    qg_status st = dispatch(op, cJSON_GetObjectItemCaseSensitive(c, "args"), &r);
    if (errors) {
      cr_assert(st != QG_OK, "%s: expected an error like \"%s\"", cname, err->valuestring);
      cr_assert(strstr(qg_last_error(), err->valuestring) != NULL,
                "%s: message \"%s\" lacks PyTorch's \"%s\"", cname, qg_last_error(), err->valuestring);
      r.nout = 0;
    } else {
      cr_assert(st == QG_OK, "%s: %s: %s", cname, qg_status_name(st), qg_last_error());
      const cJSON *outs = cJSON_GetObjectItemCaseSensitive(c, "outputs"), *o;
      cr_assert(cJSON_GetArraySize(outs) == r.nout, "%s: %lld outputs, PyTorch %d", cname,
                (long long)r.nout, cJSON_GetArraySize(outs));
      int k = 0;
      cJSON_ArrayForEach(o, outs) {
        const qg_tensor *want = qg_named_tensors_get(&g_nt, o->valuestring);
        cr_assert(want != NULL, "missing %s", o->valuestring);
        compare(cname, k, r.out[k], want);
        k++;
      }
    }
    run_free(&r);
    count++;
  }
  return count;
}

TestSuite(ops_pointwise, .init = load, .fini = unload);

Test(ops_pointwise, activations) {
  static const char *const ops[] = {"relu", "relu6", "hardtanh", "clamp", "hardswish",
                                    "hardsigmoid", "elu", "leaky_relu", "sigmoid", "tanh",
                                    "gelu", "silu", "softmax", "log_softmax", NULL};
  cr_assert(run_cases(ops, 0) > 100);
}

Test(ops_pointwise, elementwise) {
  static const char *const ops[] = {"add", "sub", "mul", "div", NULL};
  cr_assert(run_cases(ops, 0) > 100);
}

Test(ops_pointwise, norms) {
  static const char *const ops[] = {"batch_norm", "layer_norm", "group_norm", "instance_norm", NULL};
  cr_assert(run_cases(ops, 0) > 30);
}

Test(ops_pointwise, shape_ops) {
  static const char *const ops[] = {"cat", "stack", "chunk", "split", "split_with_sizes", "dropout", NULL};
  cr_assert(run_cases(ops, 0) > 15);
}

Test(ops_pointwise, reductions) {
  static const char *const ops[] = {"sum", "mean", NULL};
  cr_assert(run_cases(ops, 0) > 40);
}

Test(ops_pointwise, errors_match_pytorch) { cr_assert(run_cases(NULL, 1) >= 20); }

/* ---- allocation failure ------------------------------------------------------------------ */

typedef struct oom_ud {
  qg_tensor *a, *b, *c;
} oom_ud;

/* cat with dtype promotion of transposed inputs, then a broadcasting add with type
 * conversion, an in-place div, softmax with a dtype and a split: every allocation they make. */
static qg_status oom_body(void *p) {
  oom_ud *u = p;
  qg_tensor *parts[3] = {u->a, u->b, u->c}, *cat = NULL, *sum = NULL, *sm = NULL, *red = NULL;
  qg_tensor **pieces = NULL;
  int64_t npieces = 0;
  qg_status st = qg_cpu_cat(parts, 3, 0, &cat);
  qg_tensor *row = NULL;
  if (st == QG_OK) st = qg_tensor_select(u->c, 0, 1, &row); /* [3] i64 view, broadcast */
  if (st == QG_OK) st = qg_cpu_add(cat, row, qg_scalar_float(0.5), &sum);
  qg_tensor_release(row);
  if (st == QG_OK) st = qg_cpu_div_scalar_(sum, qg_scalar_int(3), QG_DIV_FLOOR);
  if (st == QG_OK) st = qg_cpu_softmax(u->a, 1, QG_DTYPE_F64, &sm);
  if (st == QG_OK) st = qg_cpu_split(sum, 2, 0, &pieces, &npieces);
  int64_t dims[1] = {0};
  if (st == QG_OK) st = qg_cpu_mean(sm, dims, 1, 1, QG_REDUCE_NO_DTYPE, &red);
  qg_cpu_tensor_list_free(pieces, npieces);
  qg_tensor_release(cat);
  qg_tensor_release(sum);
  qg_tensor_release(sm);
  qg_tensor_release(red);
  return st;
}

Test(ops_pointwise, every_allocation_failure) {
  int64_t s23[2] = {2, 3}, s32[2] = {3, 2};
  qg_tensor *base, *c;
  oom_ud u;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 2, s32, &base));
  for (int64_t i = 0; i < 6; i++) qg_tensor_set_flat(base, i, (double)i - 2.5);
  QG_ASSERT_OK(qg_tensor_transpose(base, 0, 1, &u.a));
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F64, 2, s23, &u.b));
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I64, 2, s23, &c));
  u.c = c;
  size_t runs = qg_test_every_alloc_failure(oom_body, &u);
  cr_assert(runs > 10, "only %zu allocations", runs);
  qg_tensor_release(base);
  qg_tensor_release(u.a);
  qg_tensor_release(u.b);
  qg_tensor_release(c);
}

/* ---- hand-written checks ------------------------------------------------------------------ */

Test(ops_pointwise, argument_errors) {
  int64_t s[2] = {2, 3};
  qg_tensor *x, *y = NULL, *i64;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 2, s, &x));
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I64, 2, s, &i64));
  cr_assert(qg_cpu_clamp(x, 0, 0, 0, 0, &y) == QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "At least one of 'min' or 'max' must not be None"));
  cr_assert(qg_cpu_relu(i64, &y) == QG_STATUS_UNSUPPORTED);
  cr_assert(strstr(qg_last_error(), "relu: expected a float32 or float64 input, got i64"));
  cr_assert(qg_cpu_div_(i64, x, QG_DIV_TRUE) == QG_STATUS_TYPE);
  cr_assert(strstr(qg_last_error(), "result type Float can't be cast to the desired output type Long"));
  qg_div_mode m;
  cr_assert(qg_div_mode_parse("round", &m) == QG_STATUS_INVALID_ARGUMENT);
  qg_gelu_approx g;
  cr_assert(qg_gelu_approx_parse("erf", &g) == QG_STATUS_INVALID_ARGUMENT);
  cr_assert(qg_cpu_dropout(x, 0.5, 1, &y) == QG_STATUS_UNSUPPORTED);
  cr_assert(qg_cpu_batch_norm(x, NULL, NULL, NULL, NULL, 0, 0.1, 1e-5, &y) == QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "must be defined in evaluation mode"));
  cr_assert(qg_cpu_softmax(i64, 0, QG_SOFTMAX_NO_DTYPE, &y) == QG_STATUS_UNSUPPORTED);
  cr_assert(y == NULL);
  /* Empty dims and 0-dim tensors. */
  int64_t e[2] = {0, 3};
  qg_tensor *empty, **parts;
  int64_t n;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 2, e, &empty));
  QG_ASSERT_OK(qg_cpu_chunk(empty, 3, 0, &parts, &n));
  cr_assert(n == 3 && parts[2]->shape[0] == 0);
  qg_cpu_tensor_list_free(parts, n);
  QG_ASSERT_OK(qg_cpu_mean(empty, NULL, 0, 0, QG_REDUCE_NO_DTYPE, &y));
  cr_assert(y->ndim == 0 && isnan(qg_tensor_get_flat(y, 0)));
  qg_tensor_release(y);
  qg_tensor *z;
  QG_ASSERT_OK(qg_tensor_scalar(QG_DTYPE_F64, 2.5, &z));
  int64_t d0[1] = {-1};
  QG_ASSERT_OK(qg_cpu_sum(z, d0, 1, 0, QG_REDUCE_NO_DTYPE, &y));
  cr_assert(y->ndim == 0 && qg_tensor_get_flat(y, 0) == 2.5);
  qg_tensor_release(y);
  qg_tensor_release(z);
  qg_tensor_release(empty);
  qg_tensor_release(x);
  qg_tensor_release(i64);
}
