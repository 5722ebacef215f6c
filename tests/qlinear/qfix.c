/* Fixture access and case replay for test_qlinear (qfix.h). */
#include "qlinear/qfix.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/text.h"
#include "ops/cpu/qconv.h"
#include "ops/cpu/qembedding.h"
#include "ops/cpu/qlinear.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

void qfix_open(qfix *f, const char *engine) {
  char rel[128];
  snprintf(rel, sizeof rel, "qlinear/%s.json", engine);
  char *text = qg_test_read_file(qg_test_fixture(rel), NULL);
  f->doc = cJSON_Parse(text);
  free(text);
  cr_assert(f->doc != NULL, "%s does not parse", rel);
  snprintf(rel, sizeof rel, "qlinear/%s.safetensors", engine);
  QG_ASSERT_OK(qg_safetensors_open(qg_test_fixture(rel), &f->st));
}

void qfix_close(qfix *f) {
  cJSON_Delete(f->doc);
  qg_safetensors_close(f->st);
}

const cJSON *qfix_case(const qfix *f, const char *name) {
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(f->doc, "cases")) {
    if (strcmp(cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring, name) == 0) return c;
  }
  return NULL;
}

static qg_tensor *stored(const qfix *f, const char *name) {
  const qg_st_tensor *t = qg_safetensors_find(f->st, name);
  cr_assert(t != NULL, "fixture tensor %s missing", name);
  return t->tensor;
}

/* A quantized tensor from its description {"t", "dtype", "scheme", qparams}. */
static qg_tensor *quantized_of(const qfix *f, const cJSON *d) {
  qg_tensor *raw = stored(f, cJSON_GetObjectItemCaseSensitive(d, "t")->valuestring);
  const char *dt = cJSON_GetObjectItemCaseSensitive(d, "dtype")->valuestring;
  qg_dtype dtype = strcmp(dt, "quint8") == 0 ? QG_DTYPE_QUINT8 : strcmp(dt, "qint8") == 0 ? QG_DTYPE_QINT8 : QG_DTYPE_QINT32;
  qg_quantizer *q;
  const char *scheme = cJSON_GetObjectItemCaseSensitive(d, "scheme")->valuestring;
  if (strcmp(scheme, "per_tensor_affine") == 0) {
    QG_ASSERT_OK(qg_quantizer_per_tensor(cJSON_GetObjectItemCaseSensitive(d, "scale")->valuedouble,
                                         (int64_t)cJSON_GetObjectItemCaseSensitive(d, "zero_point")->valuedouble, &q));
  } else {
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(d, "scales"), *zp = cJSON_GetObjectItemCaseSensitive(d, "zero_points");
    int64_t n = cJSON_GetArraySize(sc), shape[1] = {n};
    double s[256];
    int64_t z[256];
    cr_assert(n <= 256);
    for (int64_t i = 0; i < n; i++) {
      s[i] = cJSON_GetArrayItem(sc, (int)i)->valuedouble;
      z[i] = (int64_t)cJSON_GetArrayItem(zp, (int)i)->valuedouble;
    }
    qg_tensor *st, *zt;
    QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_F64, 1, shape, s, &st));
    QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_I64, 1, shape, z, &zt));
    QG_ASSERT_OK(qg_quantizer_per_channel(st, zt, (int)cJSON_GetObjectItemCaseSensitive(d, "axis")->valuedouble, &q));
    qg_tensor_release(st);
    qg_tensor_release(zt);
  }
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_create_quantized(dtype, raw->ndim, raw->shape, q, &t));
  qg_quantizer_release(q);
  memcpy(qg_tensor_data(t), qg_tensor_data(raw), qg_tensor_nbytes(raw));
  return t;
}

qg_tensor *qfix_described(const qfix *f, const cJSON *d) {
  if (!d || cJSON_IsNull(d)) return NULL;
  if (cJSON_GetObjectItemCaseSensitive(d, "scheme")) return quantized_of(f, d);
  qg_tensor *t = stored(f, cJSON_GetObjectItemCaseSensitive(d, "t")->valuestring);
  qg_tensor_retain(t);
  return t;
}

qg_tensor *qfix_input(const qfix *f, const cJSON *c, const char *role) {
  return qfix_described(f, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "inputs"), role));
}

qg_tensor *qfix_expected(const qfix *f, const cJSON *c) {
  return qfix_described(f, cJSON_GetObjectItemCaseSensitive(c, "output"));
}

static const cJSON *param(const cJSON *c, const char *name) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "params"), name);
  cr_assert(p != NULL, "case parameter %s missing", name);
  return p;
}
double qfix_param_d(const cJSON *c, const char *name) { return param(c, name)->valuedouble; }
int64_t qfix_param_i(const cJSON *c, const char *name) {
  const cJSON *p = param(c, name);
  return cJSON_IsBool(p) ? cJSON_IsTrue(p) : (int64_t)p->valuedouble;
}
int qfix_param_list(const cJSON *c, const char *name, int64_t *v) {
  int n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, param(c, name)) v[n++] = (int64_t)e->valuedouble;
  return n;
}

/* ---- running a case -------------------------------------------------------------------------- */

typedef struct case_io {
  const char *op;
  qg_tensor *x, *w, *b;
} case_io;

static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }
static int ends(const char *s, const char *p) {
  size_t n = strlen(s), m = strlen(p);
  return n >= m && strcmp(s + n - m, p) == 0;
}

/* Conv parameters of a case; 1-D cases become 2-D with a unit height (as the ops run them). */
static void conv_params(const cJSON *c, int transposed, qg_conv_params *p, int *ns_out) {
  int64_t st[3], pad[3], dil[3], op[3] = {0};
  int ns = qfix_param_list(c, "stride", st);
  qfix_param_list(c, "padding", pad);
  qfix_param_list(c, "dilation", dil);
  if (transposed) qfix_param_list(c, "output_padding", op);
  int lead = ns == 1;
  qg_conv_params_init(p, ns + lead, transposed);
  for (int d = 0; d < ns; d++) {
    p->stride[lead + d] = st[d];
    p->padding[lead + d] = pad[d];
    p->dilation[lead + d] = dil[d];
    p->output_padding[lead + d] = op[d];
  }
  p->groups = qfix_param_i(c, "groups");
  *ns_out = ns;
}

static qg_status run_conv_kernel(const cJSON *c, const case_io *io, qg_tensor **out) {
  int transposed = starts(io->op, "conv_transpose"), relu = ends(io->op, "_relu"), ns;
  qg_conv_params p;
  conv_params(c, transposed, &p, &ns);
  double s = qfix_param_d(c, "out_scale");
  int64_t z = qfix_param_i(c, "out_zero_point");
  if (ns != 1) return qg_cpu_qconv(io->x, io->w, io->b, &p, s, z, relu, out);
  qg_tensor *x2, *w2, *y;
  QG_ASSERT_OK(qg_tensor_unsqueeze(io->x, 2, &x2));
  QG_ASSERT_OK(qg_tensor_unsqueeze(io->w, 2, &w2));
  qg_status st = qg_cpu_qconv(x2, w2, io->b, &p, s, z, relu, &y);
  qg_tensor_release(x2);
  qg_tensor_release(w2);
  if (st != QG_OK) return st;
  st = qg_tensor_squeeze(y, 2, out);
  qg_tensor_release(y);
  return st;
}

static qg_status run_kernel(const qfix *f, const cJSON *c, const case_io *io, qg_tensor **out) {
  const char *op = io->op;
  if (strcmp(op, "linear") == 0 || strcmp(op, "linear_relu") == 0)
    return qg_cpu_qlinear(io->x, io->w, io->b, qfix_param_d(c, "out_scale"), qfix_param_i(c, "out_zero_point"),
                          ends(op, "_relu"), out);
  if (starts(op, "conv")) return run_conv_kernel(c, io, out);
  if (strcmp(op, "linear_dynamic") == 0 || strcmp(op, "linear_relu_dynamic") == 0)
    return qg_cpu_qlinear_dynamic(io->x, io->w, io->b, (int)qfix_param_i(c, "reduce_range"),
                                  strcmp(op, "linear_relu_dynamic") == 0, out);
  if (ends(op, "_fp16")) {
    qg_tensor *w16;
    int64_t sat;
    QG_TRY(qg_cpu_fp16_weight(io->w, 0, &w16, &sat));
    qg_status st = qg_cpu_qlinear_fp16(io->x, w16, io->b, strstr(op, "relu") != NULL, out);
    qg_tensor_release(w16);
    return st;
  }
  int bits = strstr(op, "4bit") ? 4 : 8;
  if (ends(op, "_prepack")) return qg_cpu_embedding_bag_prepack(bits, io->w, out);
  if (ends(op, "_unpack")) return qg_cpu_embedding_bag_unpack(bits, io->w, out);
  if (ends(op, "_rowwise_offsets")) {
    qg_embedding_bag_args a = {qfix_input(f, c, "indices"), qfix_input(f, c, "offsets"),
                               qfix_input(f, c, "per_sample_weights"), qfix_param_i(c, "mode"),
                               (int)qfix_param_i(c, "include_last_offset")};
    qg_status st = qg_cpu_embedding_bag_rowwise(bits, io->w, &a, out);
    qg_tensor_release(a.indices);
    qg_tensor_release(a.offsets);
    qg_tensor_release(a.per_sample_weights);
    return st;
  }
  cr_assert_fail("no kernel for op %s", op);
  return QG_STATUS_UNSUPPORTED;
}

/* ---- the same through the interpreter -------------------------------------------------------- */

static qg_status int_list(const int64_t *v, int n, qg_ival *out) {
  QG_TRY(qg_ival_list_new(QG_IVAL_LIST, (size_t)n, out));
  for (int i = 0; i < n; i++) QG_TRY(qg_ival_list_push(out, qg_ival_int(v[i])));
  return QG_OK;
}

static qg_ival tensor_ival(qg_tensor *t) {
  if (!t) return qg_ival_none();
  qg_tensor_retain(t);
  return qg_ival_tensor(t);
}

#define PP "__torch__.torch.classes.quantized."

qg_status qfix_run_text(const char *text, qg_ival *in, size_t nin, qg_ival *outs, size_t *warnings) {
  qg_graph_t *g = NULL;
  qg_runner *r = NULL;
  qg_status st = qg_graph_parse(text, strlen(text), NULL, &g);
  if (st == QG_OK) st = qg_runner_create(NULL, NULL, &r);
  if (st == QG_OK) st = qg_runner_run_graph(r, g, in, nin, outs);
  if (warnings) *warnings = r ? qg_runner_warnings(r) : 0;
  for (size_t i = 0; i < nin; i++) qg_ival_release(&in[i]);
  qg_runner_free(r);
  qg_graph_destroy(g);
  return st;
}

static qg_status run_text(const char *text, qg_ival *in, size_t nin, qg_tensor **out) {
  qg_ival res = qg_ival_none();
  qg_status st = qfix_run_text(text, in, nin, &res, NULL);
  if (st != QG_OK) return st;
  cr_assert(res.kind == QG_IVAL_TENSOR);
  *out = res.u.tensor;
  return QG_OK;
}

static qg_status run_graph(const qfix *f, const cJSON *c, const case_io *io, qg_tensor **out) {
  const char *op = io->op;
  char text[2048];
  qg_ival in[12];
  size_t n = 0;
  int table_op = ends(op, "_prepack") || ends(op, "_unpack"); /* embedding_bag_*_prepack / _unpack */
  if (!table_op && !ends(op, "_rowwise_offsets")) { /* x, weight, bias first */
    in[n++] = tensor_ival(io->x);
    in[n++] = tensor_ival(io->w);
    in[n++] = tensor_ival(io->b);
  }
  if (strcmp(op, "linear") == 0 || strcmp(op, "linear_relu") == 0) {
    snprintf(text, sizeof text,
             "graph(%%x : Tensor, %%w : Tensor, %%b : Tensor?, %%s : float, %%z : int):\n"
             "  %%p : " PP "LinearPackedParamsBase = quantized::linear_prepack(%%w, %%b)\n"
             "  %%y : Tensor = quantized::%s(%%x, %%p, %%s, %%z)\n"
             "  return (%%y)\n",
             op);
    in[n++] = qg_ival_double(qfix_param_d(c, "out_scale"));
    in[n++] = qg_ival_int(qfix_param_i(c, "out_zero_point"));
  } else if (starts(op, "conv")) {
    int transposed = starts(op, "conv_transpose");
    int64_t st[3], pad[3], dil[3], opad[3];
    int ns = qfix_param_list(c, "stride", st);
    qfix_param_list(c, "padding", pad);
    qfix_param_list(c, "dilation", dil);
    const char *base = transposed ? "conv_transpose" : "conv";
    snprintf(text, sizeof text,
             "graph(%%x : Tensor, %%w : Tensor, %%b : Tensor?, %%st : int[], %%pad : int[], %%opad : int[], "
             "%%dil : int[], %%g : int, %%s : float, %%z : int):\n"
             "  %%p : " PP "Conv%ddPackedParamsBase = quantized::%s%dd_prepack(%%w, %%b, %%st, %%pad, %s%%dil, %%g)\n"
             "  %%y : Tensor = quantized::%s(%%x, %%p, %%s, %%z)\n"
             "  return (%%y)\n",
             ns == 3 ? 3 : 2, base, ns, transposed ? "%opad, " : "", op);
    QG_TRY(int_list(st, ns, &in[n++]));
    QG_TRY(int_list(pad, ns, &in[n++]));
    if (transposed) qfix_param_list(c, "output_padding", opad);
    else memset(opad, 0, sizeof opad);
    QG_TRY(int_list(opad, ns, &in[n++]));
    QG_TRY(int_list(dil, ns, &in[n++]));
    in[n++] = qg_ival_int(qfix_param_i(c, "groups"));
    in[n++] = qg_ival_double(qfix_param_d(c, "out_scale"));
    in[n++] = qg_ival_int(qfix_param_i(c, "out_zero_point"));
  } else if (strcmp(op, "linear_dynamic") == 0 || strcmp(op, "linear_relu_dynamic") == 0) {
    snprintf(text, sizeof text,
             "graph(%%x : Tensor, %%w : Tensor, %%b : Tensor?, %%rr : bool):\n"
             "  %%p : " PP "LinearPackedParamsBase = quantized::linear_prepack(%%w, %%b)\n"
             "  %%y : Tensor = quantized::%s(%%x, %%p, %%rr)\n"
             "  return (%%y)\n",
             op);
    in[n++] = qg_ival_bool((int)qfix_param_i(c, "reduce_range"));
  } else if (ends(op, "_fp16")) {
    snprintf(text, sizeof text,
             "graph(%%x : Tensor, %%w : Tensor, %%b : Tensor?):\n"
             "  %%p : " PP "LinearPackedParamsBase = quantized::linear_prepack_fp16(%%w, %%b)\n"
             "  %%y : Tensor = quantized::%s(%%x, %%p)\n"
             "  return (%%y)\n",
             op);
  } else if (table_op) {
    snprintf(text, sizeof text,
             "graph(%%w : Tensor):\n"
             "  %%f : bool = prim::Constant[value=0]()\n"
             "  %%nb : int = prim::Constant[value=200]()\n"
             "  %%r : float = prim::Constant[value=0.16]()\n"
             "  %%y : Tensor = quantized::%s(%%w%s)\n"
             "  return (%%y)\n",
             op, strstr(op, "4bit_prepack") ? ", %f, %nb, %r" : "");
    in[n++] = tensor_ival(io->w);
  } else {
    in[n++] = tensor_ival(io->w);
    snprintf(text, sizeof text,
             "graph(%%w : Tensor, %%i : Tensor, %%o : Tensor?, %%psw : Tensor?, %%mode : int, %%last : bool):\n"
             "  %%f : bool = prim::Constant[value=0]()\n"
             "  %%none : NoneType = prim::Constant()\n"
             "  %%y : Tensor = quantized::%s(%%w, %%i, %%o, %%f, %%mode, %%f, %%psw, %%none, %%last)\n"
             "  return (%%y)\n",
             op);
    in[n++] = tensor_ival(qfix_input(f, c, "indices"));
    in[n++] = tensor_ival(qfix_input(f, c, "offsets"));
    in[n++] = tensor_ival(qfix_input(f, c, "per_sample_weights"));
    for (size_t k = n - 3; k < n; k++) /* qfix_input gave new references; tensor_ival added one */
      if (in[k].kind == QG_IVAL_TENSOR) qg_tensor_release(in[k].u.tensor);
    in[n++] = qg_ival_int(qfix_param_i(c, "mode"));
    in[n++] = qg_ival_bool((int)qfix_param_i(c, "include_last_offset"));
  }
  return run_text(text, in, n, out);
}

qg_status qfix_run(const qfix *f, const cJSON *c, int via_graph, qg_tensor **out) {
  case_io io = {cJSON_GetObjectItemCaseSensitive(c, "op")->valuestring, qfix_input(f, c, "x"),
                qfix_input(f, c, "weight"), qfix_input(f, c, "bias")};
  qg_status st = via_graph ? run_graph(f, c, &io, out) : run_kernel(f, c, &io, out);
  qg_tensor_release(io.x);
  qg_tensor_release(io.w);
  qg_tensor_release(io.b);
  return st;
}

/* ---- comparison ------------------------------------------------------------------------------- */

int64_t qfix_compare(const qg_tensor *got, const qg_tensor *want, qg_strbuf *msg) {
  if (got->dtype != want->dtype || got->ndim != want->ndim ||
      memcmp(got->shape, want->shape, (size_t)got->ndim * sizeof got->shape[0]) != 0) {
    char a[QG_SHAPE_STR_MAX], b[QG_SHAPE_STR_MAX];
    qg_strbuf_printf(msg, "got %s %s, want %s %s", qg_dtype_info(got->dtype)->name,
                     qg_shape_str(got->ndim, got->shape, a, sizeof a), qg_dtype_info(want->dtype)->name,
                     qg_shape_str(want->ndim, want->shape, b, sizeof b));
    return -1;
  }
  if (want->quantizer) {
    const qg_quantizer *g = got->quantizer, *w = want->quantizer;
    if (!g || g->scheme != w->scheme || g->scale != w->scale || g->zero_point != w->zero_point) {
      qg_strbuf_printf(msg, "qparams differ");
      return -1;
    }
  }
  int64_t bad = 0, n = qg_tensor_numel(want);
  int is_float = qg_dtype_info(want->dtype)->is_float;
  for (int64_t i = 0; i < n; i++) {
    double a = qg_tensor_get_flat(got, i), b = qg_tensor_get_flat(want, i);
    int same = is_float ? (a == b && signbit(a) == signbit(b)) || (isnan(a) && isnan(b)) : a == b;
    if (!same && bad++ < 4) qg_strbuf_printf(msg, "%s[%lld] got %.9g want %.9g", bad > 1 ? "; " : "", (long long)i, a, b);
  }
  return bad;
}

size_t qfix_replay(const char *engine, const char *filter, const char *exclude, int via_graph, size_t *ncases,
                   qg_strbuf *report) {
  qfix f;
  qfix_open(&f, engine);
  size_t fails = 0, count = 0;
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(f.doc, "cases")) {
    const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
    if ((filter && !strstr(name, filter)) || (exclude && strstr(name, exclude))) continue;
    count++;
    qg_tensor *got = NULL, *want = qfix_expected(&f, c);
    qg_status st = qfix_run(&f, c, via_graph, &got);
    qg_strbuf m = QG_STRBUF_INIT;
    if (st != QG_OK) {
      fails++;
      qg_strbuf_printf(report, "%s: %s: %s\n", name, qg_status_name(st), qg_last_error());
    } else if (qfix_compare(got, want, &m) != 0) {
      fails++;
      qg_strbuf_printf(report, "%s: %s\n", name, qg_strbuf_cstr(&m));
    }
    qg_strbuf_free(&m);
    qg_tensor_release(got);
    qg_tensor_release(want);
  }
  qfix_close(&f);
  if (ncases) *ncases = count;
  return fails;
}
