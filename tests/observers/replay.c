/* See replay.h. Comparisons are exact: float32 bits for scales and state buffers (NaN matches
 * any NaN: PyTorch's NaN payloads depend on which of its scalar or vector paths ran), integer
 * values and dtypes for zero points, shapes everywhere. */
#include "observers/replay.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quant/observer.h"
#include "quant/observer_impl.h"
#include "runtime/native.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

typedef struct ctx {
  qg_obs_replay_result *res;
  qg_named_tensors nt;
  const char *case_name;
  int step;
  int v113;
  qg_histogram_variant variant; /* the recording torch's HistogramObserver rule */
  qg_tensor *owned[64]; /* references handed out by tensor() */
  size_t nowned;
} ctx;

static void release_tensors(ctx *c) {
  for (size_t i = 0; i < c->nowned; i++) qg_tensor_release(c->owned[i]);
  c->nowned = 0;
}

static void fail(ctx *c, const char *fmt, ...) QG_PRINTF(2, 3);
static void fail(ctx *c, const char *fmt, ...) {
  c->res->failures++;
  if (c->res->failures > 60) return;
  qg_strbuf_printf(&c->res->report, "%s step %d: ", c->case_name, c->step);
  va_list ap;
  va_start(ap, fmt);
  char buf[600];
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  qg_strbuf_printf(&c->res->report, "%s\n", buf);
}

static const cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
static const char *str_of(const cJSON *o, const char *k) {
  const cJSON *e = item(o, k);
  return cJSON_IsString(e) ? e->valuestring : NULL;
}

static cJSON *load_doc(const char *tag) {
  char rel[64];
  snprintf(rel, sizeof rel, "observers/%s.json", tag);
  char *text = qg_test_read_file(qg_test_fixture(rel), NULL);
  cJSON *doc = cJSON_Parse(text);
  free(text);
  cr_assert(doc != NULL, "%s does not parse", rel);
  return doc;
}

static void load_tensors(const char *tag, qg_named_tensors *nt) {
  char rel[64];
  snprintf(rel, sizeof rel, "observers/%s.safetensors", tag);
  QG_ASSERT_OK(qg_named_tensors_load(qg_test_fixture(rel), nt));
}

/* The tensor a fixture reference names: a name in the .safetensors file, or an inline
 * [dtype, shape, values] array. The ctx keeps the reference until release_tensors. */
static double json_number(const cJSON *v) {
  if (cJSON_IsNumber(v)) return v->valuedouble;
  cr_assert(cJSON_IsString(v), "bad number in fixture");
  return !strcmp(v->valuestring, "nan") ? NAN : !strcmp(v->valuestring, "inf") ? INFINITY : -INFINITY;
}

static qg_tensor *tensor(ctx *c, const cJSON *ref) {
  qg_tensor *t = NULL;
  if (cJSON_IsString(ref)) {
    t = qg_named_tensors_get(&c->nt, ref->valuestring);
    cr_assert(t != NULL, "fixture tensor %s is missing", ref->valuestring);
    qg_tensor_retain(t);
  } else {
    static const struct { const char *name; qg_dtype d; } k[] = {
        {"f32", QG_DTYPE_F32}, {"f64", QG_DTYPE_F64}, {"i32", QG_DTYPE_I32}, {"i64", QG_DTYPE_I64}};
    const cJSON *dte = cJSON_GetArrayItem(ref, 0);
    cr_assert(cJSON_IsArray(ref) && cJSON_IsString(dte), "bad tensor reference in fixture");
    const char *dt = dte->valuestring;
    qg_dtype d = QG_DTYPE_COUNT;
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
      if (!strcmp(dt, k[i].name)) d = k[i].d;
    cr_assert(d != QG_DTYPE_COUNT, "dtype %s", dt);
    int64_t shape[QG_MAX_DIMS];
    int nd = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetArrayItem(ref, 1)) shape[nd++] = (int64_t)e->valuedouble;
    QG_ASSERT_OK(qg_tensor_create(d, nd, shape, &t));
    int64_t i = 0;
    cJSON_ArrayForEach(e, cJSON_GetArrayItem(ref, 2)) qg_tensor_set_flat(t, i++, json_number(e));
    cr_assert(i == qg_tensor_numel(t), "inline tensor with %lld values for %lld elements", (long long)i,
              (long long)qg_tensor_numel(t));
  }
  cr_assert(c->nowned < sizeof c->owned / sizeof c->owned[0], "too many fixture tensors held at once");
  c->owned[c->nowned++] = t;
  return t;
}

/* ---- spec from the recorded constructor arguments ------------------------------------------ */

static int dtype_of(const char *n, qg_dtype *out) {
  static const struct { const char *name; qg_dtype d; } k[] = {
      {"quint8", QG_DTYPE_QUINT8}, {"qint8", QG_DTYPE_QINT8}, {"qint32", QG_DTYPE_QINT32},
      {"quint4x2", QG_DTYPE_QUINT4X2}, {"uint8", QG_DTYPE_U8}, {"int8", QG_DTYPE_I8},
      {"float32", QG_DTYPE_F32}, {"float16", QG_DTYPE_F16}};
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    if (!strcmp(n, k[i].name)) {
      *out = k[i].d;
      return 1;
    }
  return 0;
}

static int qscheme_of(const char *n, qg_qscheme_kind *out) {
  for (int q = 0; q <= QG_QS_PER_CHANNEL_AFFINE_FLOAT_QPARAMS; q++)
    if (!strcmp(qg_qscheme_name((qg_qscheme_kind)q) + strlen("torch."), n)) {
      *out = (qg_qscheme_kind)q;
      return 1;
    }
  return 0;
}

static int kind_of(const char *name) {
  for (int k = 0; k < QG_OBSERVER_KIND_COUNT; k++)
    if (!strcmp(qg_observer_kind_name((qg_observer_kind)k), name)) return k;
  return -1;
}

static void spec_of_case(ctx *c, const cJSON *cs, qg_observer_spec *s) {
  int kind = kind_of(str_of(cs, "kind"));
  cr_assert(kind >= 0, "unknown observer kind %s", str_of(cs, "kind"));
  qg_observer_spec_default((qg_observer_kind)kind, s);
  s->histogram_variant = c->variant;
  s->nan_check_113 = c->variant != QG_HISTOGRAM_CURRENT; /* torch <= 2.4 asserts min <= max */
  const cJSON *a = item(cs, "args"), *e;
  cJSON_ArrayForEach(e, a) {
    const char *k = e->string;
    if (!strcmp(k, "dtype")) cr_assert(dtype_of(e->valuestring, &s->dtype), "dtype %s", e->valuestring);
    else if (!strcmp(k, "compute_dtype")) {
      cr_assert(dtype_of(e->valuestring, &s->compute_dtype));
      s->has_compute_dtype = 1;
    } else if (!strcmp(k, "qscheme")) cr_assert(qscheme_of(e->valuestring, &s->qscheme), "qscheme %s", e->valuestring);
    else if (!strcmp(k, "reduce_range")) s->reduce_range = cJSON_IsTrue(e);
    else if (!strcmp(k, "is_dynamic")) s->is_dynamic = cJSON_IsTrue(e);
    else if (!strcmp(k, "quant_min")) { s->quant_min = (int64_t)e->valuedouble; s->has_quant_range = 1; }
    else if (!strcmp(k, "quant_max")) s->quant_max = (int64_t)e->valuedouble;
    else if (!strcmp(k, "eps")) s->eps = (float)e->valuedouble;
    else if (!strcmp(k, "ch_axis")) s->ch_axis = (int64_t)e->valuedouble;
    else if (!strcmp(k, "averaging_constant")) s->averaging_constant = e->valuedouble;
    else if (!strcmp(k, "bins")) s->bins = (int64_t)e->valuedouble;
    else if (!strcmp(k, "upsample_rate")) s->upsample_rate = (int64_t)e->valuedouble;
    else if (!strcmp(k, "custom_op_name")) s->custom_op_name = e->valuestring;
    else cr_assert(0, "unknown constructor argument %s", k);
  }
}

/* ---- comparisons ------------------------------------------------------------------------- */

static int same_value(const qg_tensor *a, const qg_tensor *b, int64_t i) {
  if (a->dtype == QG_DTYPE_F32) {
    float x = (float)qg_tensor_get_flat(a, i), y = (float)qg_tensor_get_flat(b, i);
    if (isnan(x) || isnan(y)) return isnan(x) && isnan(y);
    return memcmp(&x, &y, sizeof x) == 0;
  }
  return qg_tensor_get_flat(a, i) == qg_tensor_get_flat(b, i);
}

static void compare(ctx *c, const char *what, const qg_tensor *got, const qg_tensor *want) {
  if (!got) {
    fail(c, "%s: no tensor", what);
    return;
  }
  char gs[QG_SHAPE_STR_MAX], ws[QG_SHAPE_STR_MAX];
  if (got->dtype != want->dtype || got->ndim != want->ndim ||
      memcmp(got->shape, want->shape, (size_t)got->ndim * sizeof got->shape[0]) != 0) {
    fail(c, "%s: got %s%s, want %s%s", what, qg_dtype_info(got->dtype)->name, qg_shape_str(got->ndim, got->shape, gs, sizeof gs),
         qg_dtype_info(want->dtype)->name, qg_shape_str(want->ndim, want->shape, ws, sizeof ws));
    return;
  }
  int64_t n = qg_tensor_numel(want);
  for (int64_t i = 0; i < n; i++)
    if (!same_value(got, want, i)) {
      fail(c, "%s[%lld]: got %.9g, want %.9g (%lld elements)", what, (long long)i, qg_tensor_get_flat(got, i),
           qg_tensor_get_flat(want, i), (long long)n);
      return;
    }
}

static void check_error(ctx *c, const char *what, qg_status st, const cJSON *rec) {
  const char *want = str_of(rec, "error"), *match = str_of(rec, "match");
  if (!want) {
    if (st != QG_OK) fail(c, "%s failed: %s", what, qg_last_error());
    return;
  }
  if (st == QG_OK) {
    fail(c, "%s succeeded, PyTorch raised %s", what, want);
    return;
  }
  if (match && !strcasestr(qg_last_error(), match))
    fail(c, "%s: message \"%s\" lacks \"%s\" (PyTorch: %s)", what, qg_last_error(), match, want);
}

static void check_state(ctx *c, const qg_ival *obs, const cJSON *state) {
  const cJSON *e;
  cJSON_ArrayForEach(e, state) {
    const qg_ival *v = qg_ival_object_get(obs, e->string);
    compare(c, e->string, v && v->kind == QG_IVAL_TENSOR ? v->u.tensor : NULL, tensor(c, e));
  }
}

/* ---- steps -------------------------------------------------------------------------------- */

static void run_forward(ctx *c, qg_ival *obs, const cJSON *step) {
  qg_tensor *x = tensor(c, item(step, "x")), *view = NULL;
  const cJSON *tr = item(step, "transpose");
  if (tr) {
    QG_ASSERT_OK(qg_tensor_transpose(x, (int)cJSON_GetArrayItem(tr, 0)->valuedouble,
                                     (int)cJSON_GetArrayItem(tr, 1)->valuedouble, &view));
    x = view;
  }
  qg_status st = qg_observer_observe(obs, x);
  check_error(c, "forward", st, step);
  check_state(c, obs, item(step, "state"));
  qg_tensor_release(view);
}

static void run_calc(ctx *c, const qg_ival *obs, const cJSON *step) {
  qg_tensor *s = NULL, *z = NULL;
  qg_status st = qg_observer_calculate_qparams(obs, &s, &z);
  check_error(c, "calculate_qparams", st, step);
  if (st == QG_OK && !str_of(step, "error")) {
    compare(c, "scale", s, tensor(c, item(step, "scale")));
    compare(c, "zero_point", z, tensor(c, item(step, "zero_point")));
  }
  qg_tensor_release(s);
  qg_tensor_release(z);
}

static void run_case(ctx *c, const cJSON *cs) {
  qg_observer_spec spec;
  spec_of_case(c, cs, &spec);
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_ival obs;
  c->step = -1;
  qg_status st = qg_observer_new(cu, &spec, &obs);
  check_error(c, "constructor", st, cs);
  if (st == QG_OK) {
    const cJSON *qmin = item(cs, "quant_min"), *qmax = item(cs, "quant_max");
    const qg_ival *a = qg_ival_object_get(&obs, "quant_min"), *b = qg_ival_object_get(&obs, "quant_max");
    if (cJSON_IsNumber(qmin) && (!a || a->kind != QG_IVAL_INT || a->u.i != (int64_t)qmin->valuedouble || !b ||
                 b->u.i != (int64_t)qmax->valuedouble))
      fail(c, "quant range: got %lld..%lld, want %.0f..%.0f", a ? (long long)a->u.i : -1LL,
           b ? (long long)b->u.i : -1LL, qmin->valuedouble, qmax->valuedouble);
    const cJSON *step;
    int i = 0;
    cJSON_ArrayForEach(step, item(cs, "steps")) {
      c->step = i++;
      c->res->steps++;
      const char *op = str_of(step, "op");
      release_tensors(c);
      if (!strcmp(op, "forward")) {
        run_forward(c, &obs, step);
      } else if (!strcmp(op, "calculate_qparams")) {
        run_calc(c, &obs, step);
      } else {
        qg_ival out;
        QG_ASSERT_OK(qg_call_method(NULL, &obs, "reset_min_max_vals", NULL, 0, &out));
        qg_ival_release(&out);
        check_state(c, &obs, item(step, "state"));
      }
    }
    qg_ival_release(&obs);
  }
  qg_cu_release(cu);
}

/* Starts a replay of tag's fixture: the result cleared, the document and tensors loaded. */
static cJSON *begin(const char *tag, const char *what, qg_obs_replay_result *out, ctx *c) {
  memset(out, 0, sizeof *out);
  out->report = (qg_strbuf)QG_STRBUF_INIT;
  memset(c, 0, sizeof *c);
  c->res = out;
  c->case_name = what;
  c->v113 = strcmp(tag, "torch113") == 0;
  /* torch 1.13: its own rule; 2.4: the legacy rule; 2.5 and later: the current one */
  c->variant = c->v113 ? QG_HISTOGRAM_LEGACY_113 : strcmp(tag, "torch24") == 0 ? QG_HISTOGRAM_LEGACY : QG_HISTOGRAM_CURRENT;
  load_tensors(tag, &c->nt);
  return load_doc(tag);
}

static void end(ctx *c, cJSON *doc) {
  release_tensors(c);
  qg_named_tensors_free(&c->nt);
  cJSON_Delete(doc);
}

void qg_obs_replay(const char *tag, const char *filter, qg_obs_replay_result *out) {
  ctx c;
  cJSON *doc = begin(tag, NULL, out, &c);
  const cJSON *cs;
  cJSON_ArrayForEach(cs, item(doc, "cases")) {
    c.case_name = str_of(cs, "name");
    if (filter && !strstr(c.case_name, filter)) continue;
    out->cases++;
    run_case(&c, cs);
    release_tensors(&c);
  }
  end(&c, doc);
}

void qg_obs_replay_choose(const char *tag, qg_obs_replay_result *out) {
  ctx c;
  cJSON *doc = begin(tag, "choose_qparams", out, &c);
  const char *engine = str_of(item(doc, "meta"), "engine");
  const cJSON *e;
  cJSON_ArrayForEach(e, item(doc, "choose_qparams")) {
    out->steps++;
    /* aten::_choose_qparams_per_tensor ignores reduce_range under qnnpack */
    int rr = cJSON_IsTrue(item(e, "reduce_range")) && strcmp(engine, "qnnpack") != 0;
    double scale;
    int32_t zp;
    qg_status st = qg_choose_qparams_dynamic((float)item(e, "min")->valuedouble, (float)item(e, "max")->valuedouble, 0,
                                             255, 0, 0, rr, &scale, &zp);
    if (st != QG_OK) {
      fail(&c, "min %.9g max %.9g: %s", item(e, "min")->valuedouble, item(e, "max")->valuedouble, qg_last_error());
    } else if (scale != item(e, "scale")->valuedouble || zp != (int32_t)item(e, "zero_point")->valuedouble) {
      fail(&c, "min %.9g max %.9g reduce_range=%d: got (%.17g, %d), want (%.17g, %d)", item(e, "min")->valuedouble,
           item(e, "max")->valuedouble, rr, scale, zp,
           item(e, "scale")->valuedouble, (int)item(e, "zero_point")->valuedouble);
    }
    c.step++;
  }
  end(&c, doc);
}

void qg_obs_replay_sums(const char *tag, qg_obs_replay_result *out) {
  ctx c;
  cJSON *doc = begin(tag, "torch.sum", out, &c);
  int lanes = qg__obs_sum_lanes(c.variant);
  const cJSON *e;
  cJSON_ArrayForEach(e, item(doc, "sums")) {
    out->steps++;
    qg_tensor *x = tensor(&c, item(e, "x")), *want = tensor(&c, item(e, "sum"));
    float got = qg__cascade_sum_f32(qg_tensor_data(x), qg_tensor_numel(x), lanes), w = *(float *)qg_tensor_data(want);
    if (memcmp(&got, &w, sizeof got) != 0)
      fail(&c, "sum of %lld floats with %d lanes: got %.9g, want %.9g", (long long)qg_tensor_numel(x), lanes, got, w);
    c.step++;
  }
  end(&c, doc);
}

static const cJSON *find_case(const cJSON *doc, const char *name) {
  const cJSON *cs;
  cJSON_ArrayForEach(cs, item(doc, "cases")) if (!strcmp(str_of(cs, "name"), name)) return cs;
  cr_assert(0, "no case %s", name);
  return NULL;
}

static qg_tensor *copy_of(qg_tensor *t) {
  qg_tensor *c;
  QG_ASSERT_OK(qg_tensor_to_dtype(t, t->dtype, &c));
  return c;
}

void qg_obs_replay_internals(const char *tag, qg_obs_replay_result *out) {
  ctx c;
  cJSON *doc = begin(tag, NULL, out, &c);
  const cJSON *e;
  cJSON_ArrayForEach(e, item(doc, "internals")) {
    c.case_name = str_of(e, "case");
    out->cases++;
    qg_observer_spec spec;
    spec_of_case(&c, find_case(doc, c.case_name), &spec);
    qg_tensor *hist = tensor(&c, item(e, "histogram"));
    spec.bins = qg_tensor_numel(hist);
    qg_cu_t *cu;
    QG_ASSERT_OK(qg_cu_create(&cu));
    qg_ival obs;
    QG_ASSERT_OK(qg_observer_new(cu, &spec, &obs));
    QG_ASSERT_OK(qg_ival_object_put(&obs, "histogram", qg_ival_tensor(copy_of(hist))));
    QG_ASSERT_OK(qg_ival_object_put(&obs, "min_val", qg_ival_tensor(copy_of(tensor(&c, item(e, "min_val"))))));
    QG_ASSERT_OK(qg_ival_object_put(&obs, "max_val", qg_ival_tensor(copy_of(tensor(&c, item(e, "max_val"))))));
    qg__obs o;
    QG_ASSERT_OK(qg__obs_read(&obs, &o));
    const cJSON *q;
    c.step = 0;
    cJSON_ArrayForEach(q, item(e, "errors")) {
      out->steps++;
      int64_t s0 = (int64_t)item(q, "start")->valuedouble, s1 = (int64_t)item(q, "end")->valuedouble;
      double got, want = item(q, "norm")->valuedouble;
      QG_ASSERT_OK(qg__obs_quantization_error(&o, s0, s1, &got));
      if (memcmp(&got, &want, sizeof got) != 0)
        fail(&c, "_compute_quantization_error(%lld, %lld): got %.17g, want %.17g", (long long)s0, (long long)s1, got, want);
      c.step++;
    }
    float mn, mx;
    out->steps++;
    QG_ASSERT_OK(qg__obs_histogram_search(&o, &mn, &mx));
    float wmn = *(float *)qg_tensor_data(tensor(&c, cJSON_GetArrayItem(item(e, "search"), 0)));
    float wmx = *(float *)qg_tensor_data(tensor(&c, cJSON_GetArrayItem(item(e, "search"), 1)));
    if (memcmp(&mn, &wmn, sizeof mn) || memcmp(&mx, &wmx, sizeof mx))
      fail(&c, "_non_linear_param_search: got (%.9g, %.9g), want (%.9g, %.9g)", mn, mx, wmn, wmx);
    qg_ival_release(&obs);
    qg_cu_release(cu);
  }
  end(&c, doc);
}
