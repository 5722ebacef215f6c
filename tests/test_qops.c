/* Quantized tensors in the runtime: quantize / dequantize, the quantized:: ops and the aten ops
 * that accept quantized inputs (src/ops/cpu/quantized_*.c, src/runtime/ops_quant*.c).
 *
 * - parity: every case of tests/fixtures/qops/qops.json (tools/fixtures/gen_qops.py, torch 2.x,
 *   fbgemm engine, AVX-512 CPU, one thread): a one-op graph (or a small whole graph) is parsed,
 *   run with qg_run_graph on the recorded inputs and compared bit for bit (stored integers,
 *   qparams, float outputs); error cases check our message contains PyTorch's key phrase;
 *   "deviation" cases are inputs PyTorch accepts silently and we refuse (scale <= 0 / NaN).
 * - semantics: the two element forms (vector / scalar) of PyTorch's kernels, the choice between
 *   them, and the NaN / infinity rules, pinned on chosen values.
 * - errors and OOM paths of the kernels. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/strbuf.h"
#include "ir/schema.h"
#include "ir/text.h"
#include "ops/cpu/pool.h"
#include "ops/cpu/quantized_activation.h"
#include "ops/cpu/quantized_binary.h"
#include "ops/cpu/quantized_cat.h"
#include "ops/cpu/quantized_common.h"
#include "ops/cpu/quantized_quantize.h"
#include "qops/qfix.h"
#include "runtime/runtime.h"
#include "util/testutil.h"

static cJSON *load_cases(qg_named_tensors *nt) {
  char *text = qg_test_read_file(qg_test_fixture("qops/qops.json"), NULL);
  cJSON *doc = cJSON_Parse(text);
  free(text);
  cr_assert(doc != NULL, "qops.json does not parse");
  QG_ASSERT_OK(qg_named_tensors_load(qg_test_fixture("qops/qops.safetensors"), nt));
  return doc;
}

#define MAX_IO 8

/* Runs one case; 1 if it passed, else why is filled. */
static int run_case(const cJSON *cs, const qg_named_tensors *nt, char *why, size_t whylen) {
  const char *name = cJSON_GetObjectItemCaseSensitive(cs, "name")->valuestring;
  const char *text = cJSON_GetObjectItemCaseSensitive(cs, "graph")->valuestring;
  qg_graph_t *g = NULL;
  if (qg_graph_parse(text, strlen(text), NULL, &g) != QG_OK) {
    snprintf(why, whylen, "%s: parse: %s", name, qg_last_error());
    return 0;
  }
  const cJSON *ins = cJSON_GetObjectItemCaseSensitive(cs, "inputs"), *it;
  size_t nin = 0;
  qg_ival inputs[MAX_IO], outs[MAX_IO];
  cr_assert(cJSON_GetArraySize(ins) <= MAX_IO && qg_graph_noutputs(g) <= MAX_IO);
  cJSON_ArrayForEach(it, ins) inputs[nin++] = qfix_value(it, nt);
  for (size_t k = 0; k < MAX_IO; k++) outs[k] = qg_ival_none();
  const qg_status st = qg_run_graph(g, inputs, nin, NULL, outs);
  const cJSON *error = cJSON_GetObjectItemCaseSensitive(cs, "error");
  int ok = 1;
  char err[600] = "";
  if (!qg_test_case_settled(name, st, error, why, whylen, &ok)) { /* ran as expected: compare the outputs */
    size_t k = 0;
    const cJSON *want;
    cJSON_ArrayForEach(want, cJSON_GetObjectItemCaseSensitive(cs, "outputs")) {
      if (ok && !qfix_same(&outs[k], want, nt, err, sizeof err)) {
        snprintf(why, whylen, "%s: output %zu: %s", name, k, err);
        ok = 0;
      }
      k++;
    }
    const cJSON *inpl = cJSON_GetObjectItemCaseSensitive(cs, "inplace");
    if (ok && inpl) {
      const qg_ival *in = &inputs[inpl->valueint];
      if (outs[0].kind != QG_IVAL_TENSOR || outs[0].u.tensor != in->u.tensor) {
        snprintf(why, whylen, "%s: the result does not alias input %d", name, inpl->valueint);
        ok = 0;
      }
    }
  }
  for (size_t k = 0; k < MAX_IO; k++) qg_ival_release(&outs[k]);
  for (size_t k = 0; k < nin; k++) qg_ival_release(&inputs[k]);
  qg_graph_destroy(g);
  return ok;
}

Test(qops, parity_with_pytorch) {
  qg_named_tensors nt;
  cJSON *doc = load_cases(&nt);
  const cJSON *cs;
  qg_strbuf fails = QG_STRBUF_INIT;
  int n = 0, nfail = 0, nerr = 0, ndev = 0;
  cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
    char why[1400];
    n++;
    nerr += cJSON_GetObjectItemCaseSensitive(cs, "error") != NULL;
    ndev += cJSON_GetObjectItemCaseSensitive(cs, "deviation") != NULL;
    if (!run_case(cs, &nt, why, sizeof why)) {
      nfail++;
      qg_strbuf_printf(&fails, "  %s\n", why);
    }
  }
  cr_assert(n > 350 && nerr > 20 && ndev == 4, "%d cases, %d error cases, %d deviations", n, nerr, ndev);
  cr_expect(nfail == 0, "%d of %d cases failed:\n%s", nfail, n, qg_strbuf_cstr(&fails));
  qg_strbuf_free(&fails);
  qg_named_tensors_free(&nt);
  cJSON_Delete(doc);
}

/* The fixture's header records the reference the cases come from. */
Test(qops, fixture_records_its_reference) {
  qg_named_tensors nt;
  cJSON *doc = load_cases(&nt);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "torch_version");
  cr_assert(cJSON_IsString(v) && strncmp(v->valuestring, "2.", 2) == 0, "torch 2.x expected");
  cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(doc, "engine")->valuestring, "fbgemm");
  cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(doc, "cpu_capability")->valuestring, "AVX512");
  qg_named_tensors_free(&nt);
  cJSON_Delete(doc);
}

/* ---- semantics ------------------------------------------------------------------------------- */

Test(qops, quantize_rounds_half_to_even_then_adds_the_zero_point) {
  /* 0.5, 1.5, 2.5, -0.5, -1.5 with scale 1 and zp 3: nearbyint first, so 3 5 5 3 1 (adding
   * the zero point before rounding, fbgemm's LEGACY form, gives 4 4 6 2 2) */
  const float x[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f};
  const int64_t want[] = {3, 5, 5, 3, 1};
  for (int i = 0; i < 5; i++) {
    cr_expect_eq(qg_q_quantize_vec(QG_DTYPE_QUINT8, 1.0f, 1.0, 3, x[i]), want[i]);
    cr_expect_eq(qg_q_quantize_scalar(QG_DTYPE_QUINT8, 1.0, 3, x[i]), want[i]);
  }
  /* saturation at the dtype range, not at an observer's quant range */
  cr_expect_eq(qg_q_quantize_scalar(QG_DTYPE_QUINT8, 0.1, 0, 200.0f), 255);
  cr_expect_eq(qg_q_quantize_scalar(QG_DTYPE_QINT8, 0.1, 0, -200.0f), -128);
  cr_expect_eq(qg_q_quantize_scalar(QG_DTYPE_QINT32, 1e-9, 0, 1e30f), INT32_MAX);
}

Test(qops, vector_and_scalar_quantize_differ_on_nan_and_overflow) {
  /* vector (fbgemm AVX2 / Vectorized::quantize): NaN and +inf clip to 2^31 - 128, then the
   * zero point is added with int32 wraparound: quint8 zp < 128 saturates high, zp >= 128 wraps
   * to 0; -inf is x86's integer indefinite (INT32_MIN) plus zp, so the low end */
  cr_expect_eq(qg_q_quantize_vec(QG_DTYPE_QUINT8, 1.0f, 1.0, 0, NAN), 255);
  cr_expect_eq(qg_q_quantize_vec(QG_DTYPE_QUINT8, 1.0f, 1.0, 127, INFINITY), 255);
  cr_expect_eq(qg_q_quantize_vec(QG_DTYPE_QUINT8, 1.0f, 1.0, 128, INFINITY), 0);
  cr_expect_eq(qg_q_quantize_vec(QG_DTYPE_QUINT8, 1.0f, 1.0, 128, 3e9f), 0);
  cr_expect_eq(qg_q_quantize_vec(QG_DTYPE_QINT8, 1.0f, 1.0, -128, -INFINITY), 127);
  /* scalar (quantize_val): NaN converts to the dtype's 0 pattern (qint32: INT32_MIN), +-inf
   * clamp */
  cr_expect_eq(qg_q_quantize_scalar(QG_DTYPE_QUINT8, 1.0, 7, NAN), 0);
  cr_expect_eq(qg_q_quantize_scalar(QG_DTYPE_QINT32, 1.0, 7, NAN), INT32_MIN);
  cr_expect_eq(qg_q_quantize_scalar(QG_DTYPE_QUINT8, 1.0, 200, INFINITY), 255);
}

/* Values that exercise every branch of both element forms: ties, NaN, infinities, overflow
 * past 2^31, tiny and negative values; 37 elements so loops have a remainder. */
static qg_tensor *edge_values(int64_t rows) {
  static const float special[] = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, NAN, INFINITY, -INFINITY, 3e9f, -3e9f, 1e-30f, -0.0f};
  const int64_t cols = 37, shape[2] = {rows, cols};
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 2, shape, &t));
  float *d = qg_tensor_data(t);
  unsigned seed = 11;
  for (int64_t i = 0; i < rows * cols; i++) {
    seed = seed * 1103515245u + 12345u;
    d[i] = i % 5 == 0 ? special[(i / 5) % 12] : ((float)((seed >> 8) % 20001) - 10000.0f) * 0.0371f;
  }
  return t;
}

/* The AVX2 quantize loops (where the CPU has them) store the same integers as the scalar ones. */
Test(qops, vector_quantize_loops_equal_scalar) {
  qg_tensor *x = edge_values(5);
  const qg_dtype dtypes[2] = {QG_DTYPE_QUINT8, QG_DTYPE_QINT8};
  const int64_t zps[2][3] = {{0, 128, 255}, {-128, 0, 127}};
  for (int d = 0; d < 2; d++)
    for (int z = 0; z < 3; z++) {
      qg_tensor *r[2][2];
      int64_t cshape[1] = {5};
      qg_tensor *sc, *zp;
      QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F64, 1, cshape, &sc));
      QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I64, 1, cshape, &zp));
      for (int c = 0; c < 5; c++) {
        ((double *)qg_tensor_data(sc))[c] = 0.05 * (c + 1);
        ((int64_t *)qg_tensor_data(zp))[c] = zps[d][(z + c) % 3];
      }
      for (int scalar = 0; scalar < 2; scalar++) {
        qg__quantize_force_scalar(scalar);
        QG_ASSERT_OK(qg_cpu_quantize_per_tensor(x, 0.37, zps[d][z], dtypes[d], &r[0][scalar]));
        QG_ASSERT_OK(qg_cpu_quantize_per_channel(x, sc, zp, 0, dtypes[d], &r[1][scalar]));
      }
      qg__quantize_force_scalar(0);
      for (int k = 0; k < 2; k++) {
        cr_expect(memcmp(qg_tensor_data(r[k][0]), qg_tensor_data(r[k][1]), (size_t)qg_tensor_numel(x)) == 0,
                  "%s, %s, zero point %lld: vector and scalar loops differ", k ? "per channel" : "per tensor",
                  qg_dtype_info(dtypes[d])->name, (long long)zps[d][z]);
        qg_tensor_release(r[k][0]);
        qg_tensor_release(r[k][1]);
      }
      qg_tensor_release(sc);
      qg_tensor_release(zp);
    }
  qg_tensor_release(x);
}

/* A quantized tensor of the given shape filled from a seeded generator over the dtype's range. */
static qg_tensor *random_q(qg_dtype dt, int ndim, const int64_t *shape, double scale, int64_t zp, unsigned seed) {
  qg_tensor *t;
  QG_ASSERT_OK(qg_q_new(dt, ndim, shape, scale, zp, &t));
  for (int64_t i = 0; i < qg_tensor_numel(t); i++) {
    seed = seed * 1103515245u + 12345u;
    qg_q_store(dt, qg_tensor_data(t), i, dt == QG_DTYPE_QUINT8 ? (int64_t)((seed >> 16) & 255) : (int64_t)((seed >> 16) & 255) - 128);
  }
  return t;
}

/* quantized::add(_relu)'s AVX2 loop (where the CPU has it) stores what the per-element loop
 * (vector and scalar forms as PyTorch chooses them) stores. */
Test(qops, vector_add_loop_equals_element_loop) {
  static const int64_t shapes[][4] = {{1, 64, 56, 56}, {2, 3, 5, 67}, {1, 1, 1, 130}, {1, 2, 3, 4}};
  const qg_dtype dts[2] = {QG_DTYPE_QUINT8, QG_DTYPE_QINT8};
  for (size_t si = 0; si < 4; si++)
    for (int d = 0; d < 2; d++)
      for (int relu = 0; relu < 2; relu++) {
        const int64_t zo = d ? -3 : 131;
        qg_tensor *a = random_q(dts[d], 4, shapes[si], 0.031, d ? 5 : 128, 3u + (unsigned)si);
        qg_tensor *b = random_q(dts[d], 4, shapes[si], 0.017, d ? -7 : 60, 99u + (unsigned)si);
        qg_tensor *r[3]; /* best loop (AVX-512 where present), forced AVX2, element loop */
        QG_ASSERT_OK(qg_cpu_qbinary(QG_QBINARY_ADD, a, b, 0.043, zo, relu, &r[0]));
        qg__qbinary_force_avx2(1);
        QG_ASSERT_OK(qg_cpu_qbinary(QG_QBINARY_ADD, a, b, 0.043, zo, relu, &r[1]));
        qg__qbinary_force_scalar(1);
        QG_ASSERT_OK(qg_cpu_qbinary(QG_QBINARY_ADD, a, b, 0.043, zo, relu, &r[2]));
        qg__qbinary_force_scalar(0);
        for (int v = 0; v < 2; v++)
          cr_expect(memcmp(qg_tensor_data(r[v]), qg_tensor_data(r[2]), (size_t)qg_tensor_numel(a)) == 0,
                    "shape %zu, %s, relu %d: the %s and element loops differ", si, qg_dtype_info(dts[d])->name, relu,
                    v ? "AVX2" : "best vector");
        for (int v = 0; v < 3; v++) qg_tensor_release(r[v]);
        qg_tensor_release(a);
        qg_tensor_release(b);
      }
}

/* Quantized max pooling (separable loops on the stored integers) against the float kernel on
 * the same integers: max commutes with the monotone dequantization. Geometries with padding,
 * dilation, ceil_mode, strides larger than the kernel, and 1-D / 3-D (direct loops). */
Test(qops, quantized_max_pool_equals_float_pool_of_the_integers) {
  static const struct {
    int ns;
    int64_t shape[5], k[3], s[3], p[3], d[3];
    int ceil;
  } cases[] = {
      {2, {1, 3, 13, 11}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, 0}, {2, {2, 2, 9, 10}, {3, 2}, {2, 3}, {1, 0}, {1, 1}, 1},
      {2, {1, 4, 12, 12}, {2, 2}, {3, 3}, {0, 0}, {2, 1}, 1}, {2, {1, 1, 5, 7}, {5, 3}, {1, 1}, {2, 1}, {1, 2}, 0},
      {1, {2, 3, 17}, {3}, {2}, {1}, {1}, 1},                  {3, {1, 2, 5, 6, 7}, {2, 3, 2}, {2, 1, 2}, {1, 1, 0}, {1, 1, 1}, 0},
  };
  for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
    for (int d = 0; d < 2; d++) {
      const qg_dtype dt = d ? QG_DTYPE_QINT8 : QG_DTYPE_QUINT8;
      const int nd = cases[ci].ns + 2;
      qg_tensor *q = random_q(dt, nd, cases[ci].shape, 0.05, d ? 3 : 100, 17u + (unsigned)ci), *f, *pq, *pf, *back;
      QG_ASSERT_OK(qg_q_ints_as_float(q, &f));
      const int n = cases[ci].ns;
      QG_ASSERT_OK(qg_cpu_max_pool_nd(n, q, cases[ci].k, n, cases[ci].s, n, cases[ci].p, n, cases[ci].d, n, cases[ci].ceil, &pq));
      QG_ASSERT_OK(qg_cpu_max_pool_nd(n, f, cases[ci].k, n, cases[ci].s, n, cases[ci].p, n, cases[ci].d, n, cases[ci].ceil, &pf));
      QG_ASSERT_OK(qg_q_ints_as_float(pq, &back));
      cr_assert_eq(pq->dtype, dt);
      cr_assert(pq->quantizer && pq->quantizer->scale == 0.05, "the input's qparams");
      cr_assert_eq(qg_tensor_numel(back), qg_tensor_numel(pf));
      cr_expect(memcmp(qg_tensor_data(back), qg_tensor_data(pf), qg_tensor_nbytes(pf)) == 0, "case %zu, %s", ci,
                qg_dtype_info(dt)->name);
      qg_tensor *all[5] = {q, f, pq, pf, back};
      for (int k = 0; k < 5; k++) qg_tensor_release(all[k]);
    }
}

Test(qops, vector_dequantize_premultiplies_the_zero_point) {
  /* fma(scale, q, -zp * scale) rounds zp * scale first: for scale 0.1, zp 3, q 7 the two forms
   * land on different float32 values */
  const float s = 0.1f;
  const float vec = qg_q_dequantize_vec(s, qg_q_premul(s, 3), 7);
  const float sca = qg_q_dequantize_scalar(s, 3, 7);
  cr_expect_eq(sca, 4.0f * s);
  cr_expect_eq(vec, fmaf(s, 7.0f, -(3.0f * s)));
  int differ = 0;
  for (int z = 0; z < 256 && !differ; z++)
    for (int q = 0; q < 256 && !differ; q++)
      differ = qg_q_dequantize_vec(0.0342f, qg_q_premul(0.0342f, z), q) != qg_q_dequantize_scalar(0.0342f, z, q);
  cr_expect(differ, "the vector and scalar dequantize never differ: the emulation is vacuous");
}

Test(qops, loop_plan_follows_cpu_kernel_vec) {
  qg_q_loop p;
  int64_t st[2][QG_MAX_DIMS];
  /* contiguous 300 quint8 elements: four 64-element vector blocks (AVX2 build), 44 scalar */
  int64_t shape1[] = {300};
  st[0][0] = 1;
  qg_q_loop_plan(&p, QG_DTYPE_QUINT8, 1, shape1, 1, (const int64_t(*)[QG_MAX_DIMS])st);
  cr_expect(p.inner == 300 && p.vec_end == 256);
  cr_expect(qg_q_loop_is_vec(&p, 255) && !qg_q_loop_is_vec(&p, 256));
  /* qint32: blocks of 16 */
  qg_q_loop_plan(&p, QG_DTYPE_QINT32, 1, shape1, 1, (const int64_t(*)[QG_MAX_DIMS])st);
  cr_expect(p.vec_end == 288);
  /* [2, 3, 150] + [3, 150] broadcast: rows of 450, the second operand is not a scalar, so
   * the rows do not coalesce with dim 0 and each row of 450 has 448 vector elements */
  int64_t shape3[] = {2, 3, 150};
  int64_t a3[] = {450, 150, 1}, b3[] = {0, 150, 1};
  memcpy(st[0], a3, sizeof a3);
  memcpy(st[1], b3, sizeof b3);
  qg_q_loop_plan(&p, QG_DTYPE_QUINT8, 3, shape3, 2, (const int64_t(*)[QG_MAX_DIMS])st);
  cr_expect(p.inner == 450 && p.vec_end == 448, "inner %lld vec_end %lld", (long long)p.inner, (long long)p.vec_end);
  cr_expect(qg_q_loop_is_vec(&p, 447) && !qg_q_loop_is_vec(&p, 448) && qg_q_loop_is_vec(&p, 450));
  /* a transposed operand: scalar everywhere */
  int64_t shape2[] = {2, 130}, t2[] = {1, 2}, c2[] = {130, 1};
  memcpy(st[0], c2, sizeof c2);
  memcpy(st[1], t2, sizeof t2);
  qg_q_loop_plan(&p, QG_DTYPE_QUINT8, 2, shape2, 2, (const int64_t(*)[QG_MAX_DIMS])st);
  cr_expect(p.vec_end == 0);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static qg_tensor *quint8(int64_t n, double scale, int64_t zp) {
  qg_tensor *t;
  int64_t shape[] = {n};
  QG_ASSERT_OK(qg_q_new(QG_DTYPE_QUINT8, 1, shape, scale, zp, &t));
  for (int64_t i = 0; i < n; i++) qg_tensor_set_flat(t, i, (double)((i * 37) % 256));
  return t;
}

Test(qops, kernel_errors_name_the_problem) {
  qg_tensor *a = quint8(4, 0.1, 3), *b = quint8(5, 0.1, 3), *y = NULL, *f;
  int64_t shape[] = {4};
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 1, shape, &f));
  cr_expect_eq(qg_cpu_qbinary(QG_QBINARY_ADD, a, b, 0.1, 3, 0, &y), QG_STATUS_INVALID_ARGUMENT);
  cr_expect(strstr(qg_last_error(), "must match") != NULL, "%s", qg_last_error());
  cr_expect_eq(qg_cpu_qbinary(QG_QBINARY_MUL, a, f, 0.1, 3, 0, &y), QG_STATUS_INVALID_ARGUMENT);
  cr_expect(strstr(qg_last_error(), "quantized") != NULL, "%s", qg_last_error());
  cr_expect_eq(qg_cpu_quantize_per_tensor(f, 0.0, 0, QG_DTYPE_QUINT8, &y), QG_STATUS_INVALID_ARGUMENT);
  cr_expect(strstr(qg_last_error(), "scale must be finite and positive") != NULL, "%s", qg_last_error());
  cr_expect_eq(qg_cpu_quantize_per_tensor(f, NAN, 0, QG_DTYPE_QUINT8, &y), QG_STATUS_INVALID_ARGUMENT);
  cr_expect_eq(qg_cpu_quantize_per_tensor(a, 0.1, 0, QG_DTYPE_QUINT8, &y), QG_STATUS_INVALID_ARGUMENT);
  cr_expect(strstr(qg_last_error(), "Quantize only works on Float Tensor, got QUInt8") != NULL, "%s", qg_last_error());
  cr_expect_eq(qg_cpu_quantize_per_tensor(f, 0.1, -1, QG_DTYPE_QUINT8, &y), QG_STATUS_INVALID_ARGUMENT);
  cr_expect(strstr(qg_last_error(), "zero_point -1 is below lower bound") != NULL, "%s", qg_last_error());
  cr_expect_eq(qg_cpu_qactivation("silu", a, 0, 0, &y), QG_STATUS_UNSUPPORTED);
  cr_expect(strstr(qg_last_error(), "Could not run 'aten::silu' with arguments from the 'QuantizedCPU' backend") != NULL);
  cr_expect_eq(qg_cpu_qactivation_("sigmoid_", a, 0, 0), QG_STATUS_UNSUPPORTED);
  qg_tensor *cat_in[] = {a, f};
  cr_expect_eq(qg_cpu_qcat(cat_in, 2, 0, 0, 0, 0, 0, 0, &y), QG_STATUS_INVALID_ARGUMENT);
  cr_expect(strstr(qg_last_error(), "All dtypes must be the same.") != NULL, "%s", qg_last_error());
  cr_expect(y == NULL);
  qg_tensor_release(a);
  qg_tensor_release(b);
  qg_tensor_release(f);
}

Test(qops, aten_arithmetic_on_quantized_tensors_fails) {
  static const char text[] = "graph(%a : Tensor, %b : Tensor):\n"
                             "  %one : int = prim::Constant[value=1]()\n"
                             "  %y : Tensor = aten::add(%a, %b, %one)\n"
                             "  return (%y)\n";
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_parse(text, strlen(text), NULL, &g));
  qg_ival in[2] = {qg_ival_tensor(quint8(3, 0.1, 2)), qg_ival_tensor(quint8(3, 0.1, 2))}, out = qg_ival_none();
  cr_expect_neq(qg_run_graph(g, in, 2, NULL, &out), QG_OK);
  cr_expect(strstr(qg_last_error(), "quantized") != NULL, "%s", qg_last_error());
  qg_ival_release(&in[0]);
  qg_ival_release(&in[1]);
  qg_ival_release(&out);
  qg_graph_destroy(g);
}

/* ---- coverage ------------------------------------------------------------------------------- */

/* Quantized-tensor overloads of src/ir/ops.def that have no implementation, each for a stated
 * reason; everything else marked QG_OP_QUANTIZED outside the conv / linear / embedding / RNN
 * families (ops_qlinear*.c) must resolve. The list may only shrink. */
static const char *const not_implemented[] = {
    /* Tensor(a!) out= / Tensor[] out= forms of aten ops: TorchScript graphs from convert_jit do
     * not call them (the quantized:: .out forms are implemented) */
    "aten::quantize_per_tensor.out", "aten::quantize_per_tensor.tensor_qparams_out", "aten::quantize_per_tensor.tensors_out",
    "aten::quantize_per_channel.out", "aten::quantize_per_tensor_dynamic.out", "aten::dequantize.self_out",
    "aten::dequantize.tensors_out", "aten::int_repr.out", "aten::q_per_channel_scales.out",
    "aten::q_per_channel_zero_points.out", "aten::_make_per_tensor_quantized_tensor.out",
    "aten::_make_per_channel_quantized_tensor.out", "aten::quantized_max_pool2d.out",
    /* QScheme values have no runtime representation yet */
    "aten::qscheme",
    /* quantized::matmul (two quantized activations) belongs with the GEMM kernels */
    "quantized::matmul",
    /* bfloat16 gradient-communication hooks (DDP), not part of converted inference graphs */
    "quantization::_Bfloat16QuantizedToFloat", "quantization::_FloatToBfloat16Quantized",
};

static int is_not_implemented(const char *full) {
  for (size_t i = 0; i < sizeof not_implemented / sizeof not_implemented[0]; i++)
    if (strcmp(not_implemented[i], full) == 0) return 1;
  return 0;
}

/* conv / linear / embedding / prepack / RNN cell ops are another family's */
static int other_family(const char *name) {
  static const char *const parts[] = {"conv", "linear", "embedding", "prepack", "unpack", "cell", "rnn", "lstm", "gru",
                                      "fbgemm", "wrapped"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (strstr(name, parts[i])) return 1;
  return 0;
}

Test(qops, every_quantized_op_of_this_family_has_an_impl) {
  QG_ASSERT_OK(qg_op_registry_init());
  qg_strbuf missing = QG_STRBUF_INIT;
  int checked = 0;
  for (size_t i = 0; i < qg_op_registry_size(); i++) {
    const qg_schema_t *s = qg_op_registry_at(i);
    const char *name = qg_sym_str(s->name);
    if (!(s->flags & QG_OP_QUANTIZED) || other_family(name)) continue;
    char full[200];
    snprintf(full, sizeof full, "%s%s%s", name, s->overload[0] ? "." : "", s->overload);
    checked++;
    const int impl = qg_op_impl_find(s) != NULL;
    if (!impl && !is_not_implemented(full)) qg_strbuf_printf(&missing, "  %s (no implementation)\n", full);
    if (impl && is_not_implemented(full)) qg_strbuf_printf(&missing, "  %s (implemented: remove it from the list)\n", full);
  }
  cr_assert(checked > 80, "only %d quantized overloads checked", checked);
  cr_expect(missing.len == 0, "quantized ops:\n%s", qg_strbuf_cstr(&missing));
  qg_strbuf_free(&missing);
}

/* ---- allocation failures ----------------------------------------------------------------------- */

static qg_status oom_pipeline(void *ud) {
  (void)ud;
  int64_t shape[] = {2, 70};
  qg_tensor *x = NULL, *a = NULL, *b = NULL, *s = NULL, *c = NULL, *d = NULL;
  qg_status st = qg_tensor_create(QG_DTYPE_F32, 2, shape, &x);
  if (st == QG_OK) {
    float *p = qg_tensor_data(x);
    for (int i = 0; i < 140; i++) p[i] = (float)(i % 17) * 0.3f - 2.0f;
    st = qg_cpu_quantize_per_tensor(x, 0.05, 64, QG_DTYPE_QUINT8, &a);
  }
  if (st == QG_OK) st = qg_cpu_qunary(QG_QUNARY_HARDSWISH, a, 0, 0, 0, 0.04, 10, &b);
  if (st == QG_OK) st = qg_cpu_qbinary(QG_QBINARY_ADD, a, b, 0.07, 3, 1, &s);
  qg_tensor *parts[] = {a, b};
  if (st == QG_OK) st = qg_cpu_qcat(parts, 2, 1, 1, 0.1, 5, 0, 0, &c);
  if (st == QG_OK) st = qg_cpu_dequantize(c, &d);
  qg_tensor_release(x);
  qg_tensor_release(a);
  qg_tensor_release(b);
  qg_tensor_release(s);
  qg_tensor_release(c);
  qg_tensor_release(d);
  return st;
}

Test(qops, allocation_failures_are_reported) {
  size_t runs = qg_test_every_alloc_failure(oom_pipeline, NULL);
  cr_expect(runs > 10, "only %zu allocations", runs);
}

/* The runtime adapters under allocation failure: a graph with tensor-list and scalar-qparams
 * ops (quantize_per_tensor.tensors, quantized::cat, mul_scalar, dequantize.tensors). */
typedef struct graph_ctx {
  qg_graph_t *g;
  qg_ival in[3];
} graph_ctx;

static qg_status oom_graph(void *ud) {
  graph_ctx *c = ud;
  qg_ival out = qg_ival_none();
  qg_status st = qg_run_graph(c->g, c->in, 3, NULL, &out);
  qg_ival_release(&out);
  return st;
}

static qg_tensor *f32_from(int64_t n, const float *v) {
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_from_data(QG_DTYPE_F32, 1, &n, v, &t));
  return t;
}

Test(qops, runtime_allocation_failures_are_reported) {
  static const char text[] =
      "graph(%x : Tensor, %s : Tensor, %z : Tensor):\n"
      "  %dt : int = prim::Constant[value=13]()\n"
      "  %d1 : int = prim::Constant[value=1]()\n"
      "  %c : float = prim::Constant[value=-1.5]()\n"
      "  %xs : Tensor[] = prim::ListConstruct(%x, %x)\n"
      "  %qs : Tensor[] = aten::quantize_per_tensor(%xs, %s, %z, %dt)\n"
      "  %none : NoneType = prim::Constant()\n"
      "  %q : Tensor = quantized::cat(%qs, %d1, %none, %none)\n"
      "  %m : Tensor = quantized::mul_scalar(%q, %c)\n"
      "  %ms : Tensor[] = prim::ListConstruct(%m, %q)\n"
      "  %ds : Tensor[] = aten::dequantize(%ms)\n"
      "  %r : Tensor = aten::cat(%ds, %d1)\n"
      "  return (%r)\n";
  graph_ctx c;
  QG_ASSERT_OK(qg_graph_parse(text, strlen(text), NULL, &c.g));
  float xv[10], sv[] = {0.1f, 0.2f}, zv[] = {3, 250};
  for (int i = 0; i < 10; i++) xv[i] = (float)i * 0.37f - 1.0f;
  qg_tensor *x = f32_from(10, xv), *x2;
  int64_t shape[] = {2, 5};
  QG_ASSERT_OK(qg_tensor_reshape(x, 2, shape, &x2));
  qg_tensor_release(x);
  c.in[0] = qg_ival_tensor(x2);
  c.in[1] = qg_ival_tensor(f32_from(2, sv));
  c.in[2] = qg_ival_tensor(f32_from(2, zv));
  qg_ival out = qg_ival_none();
  QG_ASSERT_OK(qg_run_graph(c.g, c.in, 3, NULL, &out));
  cr_expect(out.kind == QG_IVAL_TENSOR && out.u.tensor->ndim == 2 && out.u.tensor->shape[1] == 20);
  qg_ival_release(&out);
  size_t runs = qg_test_every_alloc_failure(oom_graph, &c);
  cr_expect(runs > 10, "only %zu allocations", runs);
  for (int i = 0; i < 3; i++) qg_ival_release(&c.in[i]);
  qg_graph_destroy(c.g);
}
