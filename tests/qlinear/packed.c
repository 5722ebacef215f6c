/* Packed params classes: the accessors and unpack ops against PyTorch's recorded values, the
 * fp16 weight and its saturation warning, the class names and __getstate__, the embedding class. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ops/cpu/qembedding.h"
#include "ops/cpu/quant_engine.h"
#include "qlinear/qfix.h"
#include "quant/packed_params.h"
#include "runtime/native.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

#define PP "__torch__.torch.classes.quantized."

static qg_ival list_of(const cJSON *a) {
  qg_ival l;
  QG_ASSERT_OK(qg_ival_list_new(QG_IVAL_LIST, 4, &l));
  const cJSON *e;
  cJSON_ArrayForEach(e, a) QG_ASSERT_OK(qg_ival_list_push(&l, qg_ival_int((int64_t)e->valuedouble)));
  return l;
}

static void expect_list(const qg_ival *v, const cJSON *want, const char *what) {
  cr_assert(v->kind == QG_IVAL_LIST, "%s: got %s", what, qg_ival_kind_name(v->kind));
  cr_assert_eq((int)qg_ival_len(v), cJSON_GetArraySize(want), "%s: length", what);
  for (int i = 0; i < cJSON_GetArraySize(want); i++)
    cr_expect_eq(v->u.list->items[i].u.i, (int64_t)cJSON_GetArrayItem(want, i)->valuedouble, "%s[%d]", what, i);
}

static void accessors_engine(void) {
  qfix f;
  qfix_open(&f, "fbgemm");
  const cJSON *a;
  int count = 0;
  cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(f.doc, "accessors")) {
    const char *name = cJSON_GetObjectItemCaseSensitive(a, "name")->valuestring;
    const char *prepack = cJSON_GetObjectItemCaseSensitive(a, "prepack")->valuestring;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(a, "args");
    int nargs = cJSON_GetArraySize(args), transposed = strstr(prepack, "transpose") != NULL;
    int three = strstr(prepack, "3d") != NULL;
    char pre[32], unpack[64], text[2048];
    snprintf(pre, sizeof pre, "%s%s", transposed ? "conv_transpose" : "conv", three ? "3d" : "2d");
    snprintf(unpack, sizeof unpack, "%.*sunpack", (int)(strlen(prepack) - 7), prepack);
    qg_ival in[8];
    size_t n = 0;
    in[n++] = qg_ival_tensor(qfix_described(&f, cJSON_GetObjectItemCaseSensitive(a, "weight")));
    qg_tensor *b = qg_safetensors_find(f.st, cJSON_GetObjectItemCaseSensitive(a, "bias")->valuestring)->tensor;
    qg_tensor_retain(b);
    in[n++] = qg_ival_tensor(b);
    char params[256] = "", uses[256] = "";
    for (int i = 0; i < nargs; i++) {
      const cJSON *v = cJSON_GetArrayItem(args, i);
      int is_list = cJSON_IsArray(v);
      size_t pl = strlen(params), ul = strlen(uses);
      snprintf(params + pl, sizeof params - pl, ", %%a%d : %s", i, is_list ? "int[]" : "int");
      snprintf(uses + ul, sizeof uses - ul, ", %%a%d", i);
      in[n++] = is_list ? list_of(v) : qg_ival_int((int64_t)v->valuedouble);
    }
    snprintf(text, sizeof text,
             "graph(%%w : Tensor, %%b : Tensor?%s):\n"
             "  %%p : " PP "Conv%sPackedParamsBase = quantized::%s(%%w, %%b%s)\n"
             "  %%s : int[] = quantized::%s_stride(%%p)\n"
             "  %%pd : int[] = quantized::%s_padding(%%p)\n"
             "  %%d : int[] = quantized::%s_dilation(%%p)\n"
             "  %%g : int = quantized::%s_groups(%%p)\n"
             "  %%t : int = quantized::%s_transpose(%%p)\n"
             "  %%op : int[] = quantized::%s_output_padding(%%p)\n"
             "  %%uw : Tensor, %%ub : Tensor? = quantized::%s(%%p)\n"
             "  return (%%s, %%pd, %%d, %%g, %%t, %%op, %%uw, %%ub)\n",
             params, three ? "3d" : "2d", prepack, uses, pre, pre, pre, pre, pre, pre, unpack);
    qg_ival out[8];
    qg_status st = qfix_run_text(text, in, n, out, NULL);
    cr_assert(st == QG_OK, "%s: %s", name, qg_last_error());
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(a, "accessors");
    expect_list(&out[0], cJSON_GetObjectItemCaseSensitive(acc, "stride"), "stride");
    expect_list(&out[1], cJSON_GetObjectItemCaseSensitive(acc, "padding"), "padding");
    expect_list(&out[2], cJSON_GetObjectItemCaseSensitive(acc, "dilation"), "dilation");
    cr_expect_eq(out[3].u.i, (int64_t)cJSON_GetObjectItemCaseSensitive(acc, "groups")->valuedouble, "%s groups", name);
    cr_expect_eq(out[4].u.i, (int64_t)cJSON_GetObjectItemCaseSensitive(acc, "transpose")->valuedouble, "%s transpose", name);
    expect_list(&out[5], cJSON_GetObjectItemCaseSensitive(acc, "output_padding"), "output_padding");
    qg_tensor *want = qfix_described(&f, cJSON_GetObjectItemCaseSensitive(a, "unpacked_weight"));
    qg_strbuf m = QG_STRBUF_INIT;
    cr_expect(out[6].kind == QG_IVAL_TENSOR && qfix_compare(out[6].u.tensor, want, &m) == 0, "%s: unpacked weight: %s",
              name, qg_strbuf_cstr(&m));
    cr_expect(out[7].kind == QG_IVAL_TENSOR && out[7].u.tensor == b, "%s: unpack returns the bias", name);
    qg_strbuf_free(&m);
    qg_tensor_release(want);
    for (int i = 0; i < 8; i++) qg_ival_release(&out[i]);
    count++;
  }
  cr_assert_eq(count, 5);
  qfix_close(&f);
}

Test(qlinear, conv_accessors_and_unpack_match_pytorch) {
  qg_quant_engine_set(QG_ENGINE_FBGEMM);
  accessors_engine();
}

/* linear_unpack: FBGEMM gives the weight back with float32 scales, QNNPACK the original. */
Test(qlinear, linear_unpack_weight_qparams_per_engine) {
  qfix f;
  qfix_open(&f, "fbgemm");
  const cJSON *c = qfix_case(&f, "linear_basic");
  const char *text = "graph(%w : Tensor, %b : Tensor?):\n"
                     "  %p : " PP "LinearPackedParamsBase = quantized::linear_prepack(%w, %b)\n"
                     "  %uw : Tensor, %ub : Tensor? = quantized::linear_unpack(%p)\n"
                     "  return (%uw, %ub)\n";
  for (int e = 0; e < 2; e++) {
    qg_quant_engine_set(e ? QG_ENGINE_QNNPACK : QG_ENGINE_FBGEMM);
    qg_tensor *w = qfix_input(&f, c, "weight"), *b = qfix_input(&f, c, "bias");
    qg_tensor_retain(w);
    qg_tensor_retain(b);
    qg_ival in[2] = {qg_ival_tensor(w), qg_ival_tensor(b)}, out[2];
    QG_ASSERT_OK(qfix_run_text(text, in, 2, out, NULL));
    const qg_tensor *uw = out[0].u.tensor;
    cr_expect_eq(uw->quantizer->scale, e ? 0.02 : (double)(float)0.02);
    cr_expect(memcmp(qg_tensor_data(uw), qg_tensor_data(w), qg_tensor_nbytes(w)) == 0);
    cr_expect(out[1].u.tensor == b);
    qg_ival_release(&out[0]);
    qg_ival_release(&out[1]);
    qg_tensor_release(w);
    qg_tensor_release(b);
  }
  qg_quant_engine_set(QG_ENGINE_FBGEMM);
  qfix_close(&f);
}

/* linear_prepack_fp16 saturates weights beyond +-65504 with one warning and, as fbgemm, clamps
 * the caller's weight in place; unpack_fp16 gives the fp16-rounded weight back as float32. */
Test(qlinear, fp16_unpack_and_saturation_warning) {
  qfix f;
  qfix_open(&f, "fbgemm");
  const char *names[] = {"fp16_basic", "fp16_saturate"};
  for (int i = 0; i < 2; i++) {
    const cJSON *c = qfix_case(&f, names[i]);
    const char *text = "graph(%w : Tensor, %b : Tensor?):\n"
                       "  %p : " PP "LinearPackedParamsBase = quantized::linear_prepack_fp16(%w, %b)\n"
                       "  %uw : Tensor, %ub : Tensor? = quantized::linear_unpack_fp16(%p)\n"
                       "  return (%uw, %ub)\n";
    qg_tensor *given = qfix_input(&f, c, "weight"), *w;
    QG_ASSERT_OK(qg_tensor_to_dtype(given, QG_DTYPE_F32, &w)); /* a private copy: it is clamped in place */
    qg_tensor_release(given);
    qg_tensor_retain(w);
    qg_ival in[2] = {qg_ival_tensor(w), qg_ival_none()}, out[2];
    qg_tensor *b = qfix_input(&f, c, "bias");
    if (b) in[1] = qg_ival_tensor(b);
    size_t warnings = 99;
    QG_ASSERT_OK(qfix_run_text(text, in, 2, out, &warnings));
    cr_expect_eq(warnings, (size_t)i, "%s: %zu warnings", names[i], warnings);
    qg_tensor *want = qg_safetensors_find(f.st, cJSON_GetObjectItemCaseSensitive(c, "unpacked_weight")->valuestring)->tensor;
    qg_strbuf m = QG_STRBUF_INIT;
    cr_expect(qfix_compare(out[0].u.tensor, want, &m) == 0, "%s: %s", names[i], qg_strbuf_cstr(&m));
    qg_strbuf_reset(&m);
    const qg_tensor *clamped =
        qg_safetensors_find(f.st, cJSON_GetObjectItemCaseSensitive(c, "weight_after_prepack")->valuestring)->tensor;
    cr_expect(qfix_compare(w, clamped, &m) == 0, "%s: the weight after prepack: %s", names[i], qg_strbuf_cstr(&m));
    qg_strbuf_free(&m);
    qg_tensor_release(w);
    qg_ival_release(&out[0]);
    qg_ival_release(&out[1]);
  }
  qfix_close(&f);
}

/* The class names PyTorch's TorchScript uses, the native methods, and __getstate__'s version "2"
 * layout (torch 2.x prints ('2', [tensor([2, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0], dtype=torch.int16),
 * weight], [None]) for a plain 3x3 conv2d). */
Test(qlinear, packed_params_class_and_state) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  int64_t shape[4] = {4, 6, 3, 3};
  qg_quantizer *q;
  qg_tensor *w;
  QG_ASSERT_OK(qg_quantizer_per_tensor(0.1, 0, &q));
  QG_ASSERT_OK(qg_tensor_create_quantized(QG_DTYPE_QINT8, 4, shape, q, &w));
  qg_quantizer_release(q);
  qg_packed_conv_spec s = {2, 0, {1, 1}, {0, 0}, {0, 0}, {1, 1}, 1};
  qg_ival obj, st;
  QG_ASSERT_OK(qg_packed_conv_new(cu, w, NULL, &s, &obj));
  cr_expect_str_eq(qg_object_class(&obj)->qualname, PP "Conv2dPackedParamsBase");
  cr_expect_eq(qg_packed_kind_of(qg_object_class(&obj)), QG_PACKED_CONV2D);
  QG_ASSERT_OK(qg_call_method(NULL, &obj, "__getstate__", NULL, 0, &st));
  cr_assert(st.kind == QG_IVAL_TUPLE && qg_ival_len(&st) == 3);
  cr_expect_str_eq(qg_ival_str(&st.u.list->items[0]), "2");
  const qg_tensor *cfg = st.u.list->items[1].u.list->items[0].u.tensor;
  const int16_t want[11] = {2, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0};
  cr_assert_eq(qg_tensor_numel(cfg), 11);
  cr_expect(memcmp(qg_tensor_data(cfg), want, sizeof want) == 0);
  cr_expect(st.u.list->items[1].u.list->items[1].u.tensor == w);
  cr_expect(st.u.list->items[2].u.list->items[0].kind == QG_IVAL_NONE);
  qg_ival_release(&st);
  qg_ival g;
  QG_ASSERT_OK(qg_call_method(NULL, &obj, "groups", NULL, 0, &g));
  cr_expect_eq(g.u.i, 1);
  /* A second object reuses the class; a name taken by a non-class is an error. */
  qg_ival obj2;
  QG_ASSERT_OK(qg_packed_conv_new(cu, w, NULL, &s, &obj2));
  cr_expect(qg_object_class(&obj2) == qg_object_class(&obj));
  qg_ival_release(&obj2);
  qg_ival_release(&obj);
  qg_tensor_release(w);
  qg_cu_release(cu);
}

/* EmbeddingPackedParamsBase around a packed table: quantized::embedding_bag_byte / embedding_4bit
 * give what the rowwise ops give on the bare table. */
Test(qlinear, embedding_packed_params) {
  qfix f;
  qfix_open(&f, "fbgemm");
  const cJSON *c = qfix_case(&f, "emb_4bit_weighted_last");
  qg_tensor *packed = qfix_input(&f, c, "weight"), *want = qfix_expected(&f, c);
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_ival obj;
  QG_ASSERT_OK(qg_packed_embedding_new(cu, packed, 4, &obj));
  const char *text = "graph(%p : " PP "EmbeddingPackedParamsBase, %i : Tensor, %o : Tensor, %w : Tensor):\n"
                     "  %f : bool = prim::Constant[value=0]()\n"
                     "  %t : bool = prim::Constant[value=1]()\n"
                     "  %mode : int = prim::Constant[value=0]()\n"
                     "  %none : NoneType = prim::Constant()\n"
                     "  %y : Tensor = quantized::embedding_bag_4bit(%p, %i, %o, %f, %mode, %f, %w, %none, %t)\n"
                     "  %e : Tensor = quantized::embedding_4bit(%p, %i, %f)\n"
                     "  return (%y, %e)\n";
  qg_ival in[4] = {qg_ival_copy(obj), qg_ival_tensor(qfix_input(&f, c, "indices")),
                   qg_ival_tensor(qfix_input(&f, c, "offsets")), qg_ival_tensor(qfix_input(&f, c, "per_sample_weights"))};
  qg_ival out[2];
  qg_status st = qfix_run_text(text, in, 4, out, NULL);
  cr_assert(st == QG_OK, "%s", qg_last_error());
  qg_strbuf m = QG_STRBUF_INIT;
  cr_expect(qfix_compare(out[0].u.tensor, want, &m) == 0, "%s", qg_strbuf_cstr(&m));
  /* embedding_4bit: one row per index, shaped [num_indices, D] */
  const qg_tensor *e = out[1].u.tensor;
  cr_expect(e->ndim == 2 && e->shape[0] == 9 && e->shape[1] == 8);
  qg_strbuf_free(&m);
  qg_ival_release(&out[0]);
  qg_ival_release(&out[1]);
  qg_ival bits;
  QG_ASSERT_OK(qg_call_method(NULL, &obj, "bit_rate", NULL, 0, &bits));
  cr_expect_eq(bits.u.i, 4);
  qg_ival_release(&obj);
  qg_tensor_release(packed);
  qg_tensor_release(want);
  qg_cu_release(cu);
  qfix_close(&f);
}
