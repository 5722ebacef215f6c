/* Bad inputs to the quantized conv / linear / embedding_bag ops: each fails with a status and a
 * message naming the op and the cause; allocation failure in a prepack and in the kernels. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/text.h"
#include "runtime/runtime.h"
#include "ops/cpu/qconv.h"
#include "ops/cpu/qembedding.h"
#include "ops/cpu/qlinear.h"
#include "ops/cpu/qpack_cache.h"
#include "ops/cpu/quant_engine.h"
#include "qlinear/qfix.h"
#include "quant/packed_params.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

#define PP "__torch__.torch.classes.quantized."

static qg_tensor *qtensor(qg_dtype dt, int ndim, const int64_t *shape, double scale, int64_t zp) {
  qg_quantizer *q;
  qg_tensor *t;
  QG_ASSERT_OK(qg_quantizer_per_tensor(scale, zp, &q));
  QG_ASSERT_OK(qg_tensor_create_quantized(dt, ndim, shape, q, &t));
  qg_quantizer_release(q);
  for (int64_t i = 0; i < qg_tensor_numel(t); i++) qg_tensor_set_flat(t, i, (double)(i % 7) - (dt == QG_DTYPE_QINT8 ? 3 : 0));
  return t;
}

static qg_tensor *ftensor(int ndim, const int64_t *shape) {
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, ndim, shape, &t));
  for (int64_t i = 0; i < qg_tensor_numel(t); i++) qg_tensor_set_flat(t, i, 0.25 * (double)(i % 5) - 0.5);
  return t;
}

static void expect_error(qg_status st, qg_status want, const char *substr) {
  cr_assert_eq(st, want, "got %s (%s), want %s", qg_status_name(st), qg_last_error(), qg_status_name(want));
  cr_expect(strstr(qg_last_error(), substr) != NULL, "message \"%s\" lacks \"%s\"", qg_last_error(), substr);
}

/* Runs "prepack + op" graph text on (x, w, b) plus a scale and zero point; returns the status. */
static qg_status run_linear_graph(const char *op_line, qg_tensor *x, qg_tensor *w, qg_tensor *b) {
  char text[1024];
  snprintf(text, sizeof text,
           "graph(%%x : Tensor, %%w : Tensor, %%b : Tensor?):\n"
           "  %%s : float = prim::Constant[value=0.1]()\n"
           "  %%z : int = prim::Constant[value=10]()\n"
           "  %%p : " PP "LinearPackedParamsBase = quantized::linear_prepack(%%w, %%b)\n"
           "  %s\n"
           "  return (%%y)\n",
           op_line);
  qg_tensor_retain(x);
  qg_tensor_retain(w);
  if (b) qg_tensor_retain(b);
  qg_ival in[3] = {qg_ival_tensor(x), qg_ival_tensor(w), b ? qg_ival_tensor(b) : qg_ival_none()}, out = qg_ival_none();
  qg_status st = qfix_run_text(text, in, 3, &out, NULL);
  qg_ival_release(&out);
  return st;
}

Test(qlinear, bad_linear_inputs) {
  int64_t xs[2] = {3, 7}, ws[2] = {5, 7}, ws_bad[2] = {5, 8}, bs[1] = {5}, bs_bad[1] = {4};
  qg_tensor *x = qtensor(QG_DTYPE_QUINT8, 2, xs, 0.05, 60), *w = qtensor(QG_DTYPE_QINT8, 2, ws, 0.02, 0);
  qg_tensor *w8 = qtensor(QG_DTYPE_QINT8, 2, ws_bad, 0.02, 0), *xi8 = qtensor(QG_DTYPE_QINT8, 2, xs, 0.05, 0);
  qg_tensor *wf = ftensor(2, ws), *b = ftensor(1, bs), *b4 = ftensor(1, bs_bad), *y = NULL;
  const char *lin = "%y : Tensor = quantized::linear(%x, %p, %s, %z)";
  /* shape mismatch: K of the input vs in_features of the weight */
  expect_error(run_linear_graph(lin, x, w8, NULL), QG_STATUS_INVALID_ARGUMENT,
               "quantized::linear: input size does not match weight dimension 1 size: got 7 but expected 8");
  cr_expect(strstr(qg_last_error(), "quantized::linear(%x, %p, %s, %z)") != NULL, "the node is named: %s",
            qg_last_error());
  /* wrong dtypes */
  expect_error(run_linear_graph(lin, xi8, w, NULL), QG_STATUS_TYPE, "Expected activation data type quint8 but got qint8");
  expect_error(run_linear_graph(lin, x, wf, NULL), QG_STATUS_TYPE,
               "quantized::linear_prepack: the weight must be a qint8 quantized tensor, got f32");
  expect_error(run_linear_graph(lin, x, w, b4), QG_STATUS_INVALID_ARGUMENT, "bias should be a vector (1D Tensor) with 5 elements");
  /* an fp16 op on int8 packed params */
  expect_error(run_linear_graph("%y : Tensor = quantized::linear_dynamic_fp16(%x, %p)", x, w, b), QG_STATUS_TYPE,
               "the packed params hold a qint8 weight");
  /* bad output qparams */
  expect_error(qg_cpu_qlinear(x, w, b, 0.1, 300, 0, &y), QG_STATUS_INVALID_ARGUMENT,
               "output zero point 300 is outside quint8's [0, 255]");
  expect_error(qg_cpu_qlinear(x, w, b, 0.0, 3, 0, &y), QG_STATUS_INVALID_ARGUMENT, "output scale must be finite and positive");
  /* dynamic linear wants float input */
  expect_error(qg_cpu_qlinear_dynamic(x, w, b, 0, 0, &y), QG_STATUS_TYPE, "expected a float32 input, got quint8");
  cr_expect(y == NULL);
  qg_tensor *all[] = {x, w, w8, xi8, wf, b, b4};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) qg_tensor_release(all[i]);
}

Test(qlinear, bad_conv_inputs) {
  int64_t xs[4] = {1, 3, 6, 6}, ws[4] = {4, 3, 3, 3}, ws_g[4] = {6, 2, 3, 3}, x3s[3] = {1, 3, 6};
  qg_tensor *x = qtensor(QG_DTYPE_QUINT8, 4, xs, 0.05, 60), *w = qtensor(QG_DTYPE_QINT8, 4, ws, 0.02, 0);
  qg_tensor *wg = qtensor(QG_DTYPE_QINT8, 4, ws_g, 0.02, 0), *x3 = qtensor(QG_DTYPE_QUINT8, 3, x3s, 0.05, 60);
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  /* channel mismatch: groups=2 weight [6, 2, 3, 3] wants 4 input channels, gets 3 */
  qg_packed_conv_spec s = {2, 0, {1, 1}, {1, 1}, {0, 0}, {1, 1}, 2};
  qg_ival pg, pl, pt;
  QG_ASSERT_OK(qg_packed_conv_new(cu, wg, NULL, &s, &pg));
  const char *text = "graph(%x : Tensor, %p : " PP "Conv2dPackedParamsBase):\n"
                     "  %s : float = prim::Constant[value=0.1]()\n"
                     "  %z : int = prim::Constant[value=10]()\n"
                     "  %y : Tensor = quantized::conv2d(%x, %p, %s, %z)\n"
                     "  return (%y)\n";
  qg_tensor_retain(x);
  qg_ival in[2] = {qg_ival_tensor(x), qg_ival_copy(pg)}, out = qg_ival_none();
  expect_error(qfix_run_text(text, in, 2, &out, NULL), QG_STATUS_INVALID_ARGUMENT,
               "Given groups=2, weight of size [6, 2, 3, 3], expected input[1, 3, 6, 6] to have 4 channels, but got 3");
  /* packed params of the wrong class: a LinearPackedParamsBase where a Conv2dPackedParamsBase goes */
  int64_t lws[2] = {4, 3};
  qg_tensor *lw = qtensor(QG_DTYPE_QINT8, 2, lws, 0.02, 0);
  QG_ASSERT_OK(qg_packed_linear_new(cu, lw, NULL, &pl));
  qg_tensor_retain(x);
  qg_ival in2[2] = {qg_ival_tensor(x), qg_ival_copy(pl)};
  const char *any = "graph(%x : Tensor, %p : " PP "Conv2dPackedParamsBase):\n"
                    "  %s : float = prim::Constant[value=0.1]()\n"
                    "  %z : int = prim::Constant[value=10]()\n"
                    "  %y : Tensor = quantized::conv2d(%x, %p, %s, %z)\n"
                    "  return (%y)\n";
  qg_status st = qfix_run_text(any, in2, 2, &out, NULL);
  cr_assert_eq(st, QG_STATUS_TYPE, "%s", qg_last_error());
  cr_expect(strstr(qg_last_error(), "LinearPackedParamsBase") != NULL, "%s", qg_last_error());
  /* the same through the kernel-facing reader: the class is named */
  qg_packed_conv pc;
  expect_error(qg_packed_conv_get("quantized::conv2d", &pl, QG_PACKED_CONV2D, &pc), QG_STATUS_TYPE,
               "expected a " PP "Conv2dPackedParamsBase, got an object of class " PP "LinearPackedParamsBase");
  /* rank mismatch: a 3-D input to conv2d */
  qg_conv_params cp;
  qg_conv_params_init(&cp, 2, 0);
  qg_tensor *y = NULL;
  expect_error(qg_cpu_qconv(x3, w, NULL, &cp, 0.1, 0, 0, &y), QG_STATUS_INVALID_ARGUMENT,
               "Expected activation tensor to have 4 dimensions, got 3");
  /* output smaller than the kernel */
  int64_t small[4] = {1, 3, 2, 2};
  qg_tensor *xs2 = qtensor(QG_DTYPE_QUINT8, 4, small, 0.05, 60);
  expect_error(qg_cpu_qconv(xs2, w, NULL, &cp, 0.1, 0, 0, &y), QG_STATUS_INVALID_ARGUMENT,
               "each dimension of output tensor should be greater than 0");
  /* per-channel weights for a transposed conv */
  double sc[4] = {0.1, 0.2, 0.3, 0.4};
  int64_t zp[4] = {0, 0, 0, 0}, four[1] = {4};
  qg_tensor *sct, *zpt, *wpc;
  qg_quantizer *q;
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_F64, 1, four, sc, &sct));
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_I64, 1, four, zp, &zpt));
  QG_ASSERT_OK(qg_quantizer_per_channel(sct, zpt, 0, &q));
  QG_ASSERT_OK(qg_tensor_create_quantized(QG_DTYPE_QINT8, 4, ws, q, &wpc));
  qg_packed_conv_spec ts = {2, 1, {1, 1}, {0, 0}, {0, 0}, {1, 1}, 1};
  expect_error(qg_packed_conv_new(cu, wpc, NULL, &ts, &pt), QG_STATUS_UNSUPPORTED,
               "quantized::conv_transpose2d_prepack: Per Channel Quantization is currently disabled for transposed conv");
  /* groups not dividing the output channels */
  qg_packed_conv_spec g3 = {2, 0, {1, 1}, {0, 0}, {0, 0}, {1, 1}, 3};
  expect_error(qg_packed_conv_new(cu, w, NULL, &g3, &pt), QG_STATUS_INVALID_ARGUMENT, "is not divisible by groups=3");
  qg_quantizer_release(q);
  qg_ival_release(&pg);
  qg_ival_release(&pl);
  qg_tensor *all[] = {x, w, wg, x3, lw, xs2, sct, zpt, wpc};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) qg_tensor_release(all[i]);
  qg_cu_release(cu);
}

Test(qlinear, bad_embedding_inputs) {
  int64_t ws[2] = {4, 7}, is[1] = {3}, os[1] = {2};
  qg_tensor *w = ftensor(2, ws), *packed = NULL, *y = NULL, *idx, *off;
  expect_error(qg_cpu_embedding_bag_prepack(4, w, &packed), QG_STATUS_INVALID_ARGUMENT,
               "qembeddingbag_4bit_prepack only works for the number of columns a multiple of 2");
  QG_ASSERT_OK(qg_cpu_embedding_bag_prepack(8, w, &packed));
  int64_t iv[3] = {0, 4, 1}, ov[2] = {0, 2}, bad_ov[2] = {1, 2};
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_I64, 1, is, iv, &idx));
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_I64, 1, os, ov, &off));
  qg_embedding_bag_args a = {idx, off, NULL, 0, 0};
  expect_error(qg_cpu_embedding_bag_rowwise(8, packed, &a, &y), QG_STATUS_INVALID_ARGUMENT,
               "index 4 (position 1) is out of range for 4 rows");
  memcpy(qg_tensor_data(off), bad_ov, sizeof bad_ov);
  iv[1] = 2;
  memcpy(qg_tensor_data(idx), iv, sizeof iv);
  expect_error(qg_cpu_embedding_bag_rowwise(8, packed, &a, &y), QG_STATUS_INVALID_ARGUMENT, "offsets must start at 0");
  a.offsets = NULL; /* 1-D indices need offsets */
  expect_error(qg_cpu_embedding_bag_rowwise(8, packed, &a, &y), QG_STATUS_INVALID_ARGUMENT,
               "indices must be 2-D [bags, length] when offsets are not given");
  a.offsets = off;
  a.per_sample_weights = w; /* 28 values for 3 indices */
  expect_error(qg_cpu_embedding_bag_rowwise(8, packed, &a, &y), QG_STATUS_INVALID_ARGUMENT,
               "per_sample_weights must be float32 with one value per index (3)");
  cr_expect(y == NULL);
  qg_tensor_release(w);
  qg_tensor_release(packed);
  qg_tensor_release(idx);
  qg_tensor_release(off);
}

/* ---- allocation failure -------------------------------------------------------------------- */

typedef struct oom_ctx {
  qg_graph_t *g;
  qg_tensor *x, *w, *b;
} oom_ctx;

/* conv2d_prepack + conv2d through the interpreter. The graph's unit gets the packed params class
 * on the first run that gets that far, so failures in the middle of defining the class are
 * injected too (the next run must complete it). */
static qg_status prepack_and_run(void *ud) {
  oom_ctx *c = ud;
  qg_ival in[3] = {qg_ival_tensor(c->x), qg_ival_tensor(c->w), qg_ival_tensor(c->b)}, out = qg_ival_none();
  qg_status st = qg_run_graph(c->g, in, 3, NULL, &out); /* inputs borrowed */
  qg_ival_release(&out);
  return st;
}

Test(qlinear, oom_in_prepack_and_conv) {
  const char *text = "graph(%x : Tensor, %w : Tensor, %b : Tensor?):\n"
                     "  %one : int = prim::Constant[value=1]()\n"
                     "  %st : int[] = prim::ListConstruct(%one, %one)\n"
                     "  %s : float = prim::Constant[value=0.1]()\n"
                     "  %z : int = prim::Constant[value=10]()\n"
                     "  %p : " PP "Conv2dPackedParamsBase = quantized::conv2d_prepack(%w, %b, %st, %st, %st, %one)\n"
                     "  %y : Tensor = quantized::conv2d_relu(%x, %p, %s, %z)\n"
                     "  return (%y)\n";
  int64_t xs[4] = {1, 3, 5, 5}, ws[4] = {4, 3, 3, 3}, bs[1] = {4};
  oom_ctx c = {NULL, qtensor(QG_DTYPE_QUINT8, 4, xs, 0.05, 60), qtensor(QG_DTYPE_QINT8, 4, ws, 0.02, 0), ftensor(1, bs)};
  QG_ASSERT_OK(qg_graph_parse(text, strlen(text), NULL, &c.g));
  size_t runs = qg_test_every_alloc_failure(prepack_and_run, &c);
  cr_expect(runs > 20, "only %zu allocations", runs);
  qg_graph_destroy(c.g);
  qg_tensor_release(c.x);
  qg_tensor_release(c.w);
  qg_tensor_release(c.b);
}

typedef struct oom_linear {
  qg_tensor *x, *w, *b, *xf;
} oom_linear;

static qg_status linear_kernels(void *ud) {
  oom_linear *c = ud;
  qg_tensor *y = NULL;
  qg__qpack_cache_clear(); /* so every run packs the weight (allocations in the cache too) */
  QG_TRY(qg_cpu_qlinear(c->x, c->w, c->b, 0.1, 10, 1, &y));
  qg_tensor_release(y);
  QG_TRY(qg_cpu_qlinear_dynamic(c->xf, c->w, c->b, 1, 0, &y));
  qg_tensor_release(y);
  qg_tensor *w16 = NULL;
  int64_t sat;
  QG_TRY(qg_cpu_fp16_weight(c->xf, 0, &w16, &sat));
  qg_status st = qg_cpu_qlinear_fp16(c->xf, w16, NULL, 0, &y);
  qg_tensor_release(w16);
  qg_tensor_release(y);
  return st;
}

Test(qlinear, oom_in_linear_kernels) {
  int64_t xs[2] = {3, 7}, ws[2] = {5, 7}, bs[1] = {5}, fs[2] = {7, 7};
  oom_linear c = {qtensor(QG_DTYPE_QUINT8, 2, xs, 0.05, 60), qtensor(QG_DTYPE_QINT8, 2, ws, 0.02, 0), ftensor(1, bs),
                  ftensor(2, fs)};
  qg_test_every_alloc_failure(linear_kernels, &c);
  qg_tensor_release(c.x);
  qg_tensor_release(c.w);
  qg_tensor_release(c.b);
  qg_tensor_release(c.xf);
}
