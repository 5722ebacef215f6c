/* The integer GEMM (ops/cpu/qgemm.h) and the conv / linear kernels built on it, under every GEMM
 * kernel this CPU has (portable C, AVX2, AVX-512 VNNI; qg__qgemm_force_isa), against direct
 * references computed here the way the previous int16 kernel did: the sum of centred products
 * (a - za) * (w - zw) in uint32 (wrapping as int32 does), then qg__requant_value. Awkward sizes
 * on purpose: K not a multiple of 4, odd channel counts, partial row tiles and column blocks,
 * zero points 0 / 128 / 255 and per-channel weight zero points, strides, dilation, groups, 3-D,
 * transposed, and a K large enough to wrap. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cpu/qconv.h"
#include "ops/cpu/qgemm.h"
#include "ops/cpu/qlinear.h"
#include "ops/cpu/qrequant.h"
#include "ops/cpu/quant_engine.h"
#include "util/testutil.h"

static const int g_isas[] = {QG_QGEMM_GENERIC, QG_QGEMM_AVX2, QG_QGEMM_AVX512VNNI};
#define NISA 3

static uint32_t rng(uint32_t *s) { return *s = *s * 1664525u + 1013904223u; }
static int32_t rbyte(uint32_t *s) { return (int32_t)(rng(s) >> 24); }

/* ---- the GEMM itself (ACT_ROWS, as linear uses it) ------------------------------------------ */

typedef struct lin_case {
  int64_t I, J, K;
  int32_t za;
  int zw_kind; /* 0: all zero, 1: per channel (extremes included) */
} lin_case;

/* Runs one case under every kernel: int32 results and fused requantization. */
static void check_linear_gemm(const lin_case *lc, uint32_t *seed) {
  int64_t I = lc->I, J = lc->J, K = lc->K, k4 = qg__qmm_k4(K);
  size_t nel = (size_t)I * (size_t)J;
  uint8_t *x = calloc((size_t)(I * k4 + 1), 1), *panels = malloc(qg__qmm_panel_bytes(J, K) + 1);
  int8_t *w = malloc((size_t)(J * K + 1));
  int32_t *zw = calloc((size_t)J, 4), *wsum = malloc((size_t)J * 4), *corr = malloc((size_t)J * 4);
  int32_t *asum = calloc((size_t)I + 1, 4), *C = malloc(nel * 4);
  uint32_t *want = malloc(nel * 4);
  uint8_t *y = malloc(nel);
  double *ws = malloc((size_t)J * sizeof *ws);
  for (int64_t i = 0; i < I; i++)
    for (int64_t k = 0; k < K; k++) x[i * k4 + k] = (uint8_t)rbyte(seed);
  for (int64_t i = 0; i < J * K; i++) w[i] = (int8_t)rbyte(seed);
  for (int64_t j = 0; j < J; j++) {
    zw[j] = lc->zw_kind ? (j % 5 == 0 ? -128 : j % 5 == 1 ? 127 : j % 5 == 2 ? 0 : (int8_t)rbyte(seed)) : 0;
    ws[j] = 0.001 + 0.0001 * (double)(j % 7);
  }
  for (int64_t i = 0; i < I; i++) {
    int32_t s = 0;
    for (int64_t k = 0; k < K; k++) s += x[i * k4 + k];
    asum[i] = s;
  }
  for (int64_t i = 0; i < I; i++)
    for (int64_t j = 0; j < J; j++) {
      uint32_t s = 0;
      for (int64_t k = 0; k < K; k++) s += (uint32_t)((x[i * k4 + k] - lc->za) * (w[j * K + k] - zw[j]));
      want[i * J + j] = s;
    }
  qg__qmm_pack_panels(w, J, K, K, panels, wsum);
  qg__qmm_corr(J, K, lc->za, zw, 1, wsum, corr);
  qg__requant rq;
  QG_ASSERT_OK(qg__requant_init(&rq, QG_ENGINE_FBGEMM, 1, 0.02, ws, J, NULL, 0.5, 3, 0));
  static const int64_t tap0[1] = {0};
  for (int a = 0; a < NISA; a++) {
    if (!qg__qgemm_force_isa(g_isas[a])) {
      cr_log_info("kernel %d not available on this CPU", g_isas[a]);
      continue;
    }
    qg__qmm m = {.form = QG_QMM_ACT_ROWS, .I = I, .J = J, .rows = x, .ldr = k4, .rb = 1, .cols = panels,
                 .ncq = k4 / 4, .cq_stride = 256, .vstride = 64, .bstride = k4 * 64, .ntaps = 1, .tap = tap0,
                 .corr = corr,
                 .zw = lc->zw_kind ? zw : NULL, .asum = asum, .gw = J, .ow = J, .gh = 1, .oh = 1, .c = C, .ld = J};
    for (size_t e = 0; e < nel; e++) C[e] = 0x55555555; /* stale values must be overwritten */
    qg__qmm_run(&m);
    for (int64_t e = 0; e < I * J; e++)
      cr_assert_eq((uint32_t)C[e], want[e], "kernel %d, %lldx%lldx%lld za %d: C[%lld][%lld] = %d, want %d", g_isas[a],
                   (long long)I, (long long)J, (long long)K, lc->za, (long long)(e / J), (long long)(e % J), C[e],
                   (int32_t)want[e]);
    m.c = NULL;
    m.rq = &rq;
    m.y = y;
    for (size_t e = 0; e < nel; e++) y[e] = 0xa5;
    qg__qmm_run(&m);
    for (int64_t e = 0; e < I * J; e++)
      cr_assert_eq(y[e], qg__requant_value(&rq, e % J, (int32_t)want[e]), "kernel %d, %lldx%lldx%lld: y[%lld]",
                   g_isas[a], (long long)I, (long long)J, (long long)K, (long long)e);
  }
  qg__qgemm_force_isa(-1);
  qg__requant_free(&rq);
  free(x), free(panels), free(w), free(zw), free(wsum), free(corr), free(asum), free(C), free(want), free(y), free(ws);
}

Test(qlinear, gemm_kernels_match_centred_sums) {
  uint32_t seed = 11;
  static const int64_t sizes[][3] = {{1, 1, 1},  {1, 37, 9},  {3, 16, 64},  {5, 33, 31},  {8, 32, 2},
                                     {9, 70, 147}, {17, 5, 576}, {6, 64, 4}, {13, 129, 7}, {2, 200, 259}, {4, 20, 0}};
  static const int32_t zas[] = {0, 128, 255};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (size_t z = 0; z < 3; z++)
      for (int kind = 0; kind < 2; kind++) {
        lin_case c = {sizes[s][0], sizes[s][1], sizes[s][2], zas[z], kind};
        check_linear_gemm(&c, &seed);
      }
}

/* K = 70001 at full range: the sums pass 2^31 and wrap; every kernel wraps the same way. */
Test(qlinear, gemm_kernels_wrap_like_int32) {
  uint32_t seed = 5;
  lin_case c = {2, 17, 70001, 0, 1};
  check_linear_gemm(&c, &seed);
}

/* ---- convolution against a direct reference ------------------------------------------------- */

typedef struct conv_case {
  int nsp, transposed;
  int64_t n, cin, cout, groups;
  int64_t in[3], k[3], stride[3], pad[3], dil[3], opad[3]; /* the last nsp entries are used */
  int32_t za;
  int zw_kind; /* 0: zero, 1: per-tensor nonzero, 2: per-channel (zeros and extremes among them) */
  int wild_bias; /* biases that take y past the clamps: NaN, +-1e30, +-3e4 */
} conv_case;

static qg_tensor *quint8_input(const conv_case *c, uint32_t *seed) {
  int64_t shape[5] = {c->n, c->cin};
  for (int d = 0; d < c->nsp; d++) shape[2 + d] = c->in[3 - c->nsp + d];
  qg_quantizer *q;
  qg_tensor *t;
  QG_ASSERT_OK(qg_quantizer_per_tensor(0.03, c->za, &q));
  QG_ASSERT_OK(qg_tensor_create_quantized(QG_DTYPE_QUINT8, c->nsp + 2, shape, q, &t));
  qg_quantizer_release(q);
  uint8_t *p = qg_tensor_data(t);
  for (int64_t i = 0; i < qg_tensor_numel(t); i++) p[i] = (uint8_t)rbyte(seed);
  return t;
}

/* A random qint8 weight of shape[ndim]: zw_kind 0 zero point 0, 1 per-tensor -7, 2 per channel
 * along axis 0 (nch channels; -128, 127, 0 and random in turn). scales / zps: per channel. */
static qg_tensor *qint8_weight(int ndim, const int64_t *shape, int zw_kind, uint32_t *seed, double *scales,
                               int32_t *zps) {
  int64_t nch = shape[0];
  qg_quantizer *q;
  int8_t z0 = zw_kind == 1 ? -7 : 0;
  for (int64_t j = 0; j < nch; j++) {
    scales[j] = zw_kind == 2 ? 0.002 + 0.001 * (double)(j % 3) : 0.004;
    zps[j] = zw_kind == 2 ? (j % 4 == 0 ? -128 : j % 4 == 1 ? 127 : j % 4 == 2 ? 0 : (int8_t)rbyte(seed)) : z0;
  }
  if (zw_kind == 2) {
    qg_tensor *s, *z;
    QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F64, 1, &nch, &s));
    QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I64, 1, &nch, &z));
    for (int64_t j = 0; j < nch; j++) {
      ((double *)qg_tensor_data(s))[j] = scales[j];
      ((int64_t *)qg_tensor_data(z))[j] = zps[j];
    }
    QG_ASSERT_OK(qg_quantizer_per_channel(s, z, 0, &q));
    qg_tensor_release(s);
    qg_tensor_release(z);
  } else {
    QG_ASSERT_OK(qg_quantizer_per_tensor(scales[0], z0, &q));
  }
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_create_quantized(QG_DTYPE_QINT8, ndim, shape, q, &t));
  qg_quantizer_release(q);
  int8_t *p = qg_tensor_data(t);
  for (int64_t i = 0; i < qg_tensor_numel(t); i++) p[i] = (int8_t)rbyte(seed);
  return t;
}

/* Dims as (z, y, x) with a unit depth for 2-D. */
static void dims3(const conv_case *c, const int64_t *v, int64_t unit, int64_t out[3]) {
  for (int d = 0; d < 3; d++) out[d] = d < 3 - c->nsp ? unit : v[d];
}

/* The reference: direct sums of centred products per output, requantized with rq. */
static void reference(const conv_case *c, const qg_tensor *x, const qg_tensor *w, const int32_t *zw,
                      const qg__requant *rq, const int64_t out[3], uint8_t *y) {
  int64_t in[3], k[3], s[3], p[3], dl[3];
  dims3(c, c->in, 1, in), dims3(c, c->k, 1, k), dims3(c, c->stride, 1, s), dims3(c, c->pad, 0, p),
      dims3(c, c->dil, 1, dl);
  int64_t cin_g = c->cin / c->groups, cout_g = c->cout / c->groups, kk = k[0] * k[1] * k[2];
  int64_t npi = in[0] * in[1] * in[2], npo = out[0] * out[1] * out[2];
  const uint8_t *xd = qg_tensor_data(x);
  const int8_t *wd = qg_tensor_data(w);
  uint32_t *acc = calloc((size_t)(c->n * c->cout * npo), 4);
  for (int64_t n = 0; n < c->n; n++)
    for (int64_t oc = 0; oc < c->cout; oc++) {
      int64_t gi = oc / cout_g, o = oc % cout_g;
      for (int64_t ci = 0; ci < cin_g; ci++)
        for (int64_t t = 0; t < kk; t++) {
          int64_t kz = t / (k[1] * k[2]), ky = t / k[2] % k[1], kx = t % k[2];
          int32_t wv = c->transposed ? wd[((gi * cin_g + ci) * cout_g + o) * kk + t] - zw[0]
                                     : wd[(oc * cin_g + ci) * kk + t] - zw[oc];
          const uint8_t *xc = xd + (n * c->cin + gi * cin_g + ci) * npi;
          uint32_t *a = acc + (n * c->cout + oc) * npo;
          if (c->transposed) { /* input position -> output position */
            for (int64_t i = 0; i < npi; i++) {
              int64_t iz = i / (in[1] * in[2]), iy = i / in[2] % in[1], ix = i % in[2];
              int64_t oz = iz * s[0] - p[0] + kz * dl[0], oy = iy * s[1] - p[1] + ky * dl[1],
                      ox = ix * s[2] - p[2] + kx * dl[2];
              if (oz >= 0 && oz < out[0] && oy >= 0 && oy < out[1] && ox >= 0 && ox < out[2])
                a[(oz * out[1] + oy) * out[2] + ox] += (uint32_t)((xc[i] - c->za) * wv);
            }
          } else { /* output position <- input position (the zero point in the padding) */
            for (int64_t o2 = 0; o2 < npo; o2++) {
              int64_t oz = o2 / (out[1] * out[2]), oy = o2 / out[2] % out[1], ox = o2 % out[2];
              int64_t iz = oz * s[0] - p[0] + kz * dl[0], iy = oy * s[1] - p[1] + ky * dl[1],
                      ix = ox * s[2] - p[2] + kx * dl[2];
              int32_t av = iz >= 0 && iz < in[0] && iy >= 0 && iy < in[1] && ix >= 0 && ix < in[2]
                               ? xc[(iz * in[1] + iy) * in[2] + ix]
                               : c->za;
              a[o2] += (uint32_t)((av - c->za) * wv);
            }
          }
        }
    }
  for (int64_t n = 0; n < c->n; n++)
    for (int64_t oc = 0; oc < c->cout; oc++)
      for (int64_t o2 = 0; o2 < npo; o2++) {
        int64_t e = (n * c->cout + oc) * npo + o2;
        y[e] = qg__requant_value(rq, oc, (int32_t)acc[e]);
      }
  free(acc);
}

static void check_conv(const conv_case *c, qg_quant_engine engine, int relu, uint32_t *seed) {
  qg_quant_engine_set(engine);
  qg_tensor *x = quint8_input(c, seed);
  double scales[512];
  int32_t zps[512];
  int64_t wshape[5] = {c->transposed ? c->cin : c->cout, c->transposed ? c->cout / c->groups : c->cin / c->groups};
  for (int d = 0; d < c->nsp; d++) wshape[2 + d] = c->k[3 - c->nsp + d];
  qg_tensor *w = qint8_weight(c->nsp + 2, wshape, c->zw_kind, seed, scales, zps);
  /* transposed weights are per-tensor, their axis 0 the input channels: one value per output channel */
  for (int64_t j = 0; c->transposed && j < c->cout; j++) {
    scales[j] = scales[0];
    zps[j] = zps[0];
  }
  int64_t bshape = c->cout;
  qg_tensor *b;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 1, &bshape, &b));
  static const float wild[5] = {NAN, 1e30f, -1e30f, 3e4f, -3e4f};
  for (int64_t j = 0; j < c->cout; j++)
    ((float *)qg_tensor_data(b))[j] = c->wild_bias ? wild[j % 5] : 0.37f * (float)(j % 5) - 0.6f;
  qg_conv_params p;
  qg_conv_params_init(&p, c->nsp, c->transposed);
  for (int d = 0; d < c->nsp; d++) {
    int e = 3 - c->nsp + d;
    p.stride[d] = c->stride[e];
    p.padding[d] = c->pad[e];
    p.dilation[d] = c->dil[e];
    p.output_padding[d] = c->opad[e];
  }
  p.groups = c->groups;
  relu = relu && !c->transposed;
  qg__requant rq;
  QG_ASSERT_OK(qg__requant_init(&rq, engine, c->zw_kind == 2, 0.03, scales, c->cout, qg_tensor_data(b), 0.25, 100,
                                relu));
  uint8_t *want = NULL;
  for (int a = 0; a < NISA; a++) {
    if (!qg__qgemm_force_isa(g_isas[a])) continue;
    qg_tensor *y;
    QG_ASSERT_OK(qg_cpu_qconv(x, w, b, &p, 0.25, 100, relu, &y));
    int64_t out[3];
    for (int d = 0; d < 3; d++) out[d] = d < 3 - c->nsp ? 1 : y->shape[2 + d - (3 - c->nsp)];
    if (!want) {
      want = malloc((size_t)qg_tensor_numel(y));
      reference(c, x, w, zps, &rq, out, want);
    }
    const uint8_t *got = qg_tensor_data(y);
    for (int64_t e = 0; e < qg_tensor_numel(y); e++)
      cr_assert_eq(got[e], want[e],
                   "kernel %d, engine %d, %dd%s cin %lld cout %lld groups %lld za %d zw %d: y[%lld] = %d, want %d",
                   g_isas[a], engine, c->nsp, c->transposed ? " transposed" : "", (long long)c->cin,
                   (long long)c->cout, (long long)c->groups, c->za, c->zw_kind, (long long)e, got[e], want[e]);
    qg_tensor_release(y);
  }
  qg__qgemm_force_isa(-1);
  qg_quant_engine_set(QG_ENGINE_FBGEMM);
  qg__requant_free(&rq);
  free(want);
  qg_tensor_release(x);
  qg_tensor_release(w);
  qg_tensor_release(b);
}

#define D3(a, b, c) {a, b, c}
static const conv_case g_convs[] = {
    /* nsp tr n cin cout g  in            k             stride        pad           dil           opad       za zw wild */
    {2, 0, 2, 5, 7, 1, D3(1, 9, 11), D3(1, 3, 3), D3(1, 1, 1), D3(0, 1, 1), D3(1, 1, 1), D3(0, 0, 0), 128, 2, 0},
    {2, 0, 1, 3, 17, 1, D3(1, 12, 13), D3(1, 3, 2), D3(1, 2, 2), D3(0, 2, 2), D3(1, 2, 2), D3(0, 0, 0), 0, 0, 0},
    {2, 0, 1, 6, 4, 2, D3(1, 7, 5), D3(1, 1, 1), D3(1, 1, 1), D3(0, 0, 0), D3(1, 1, 1), D3(0, 0, 0), 255, 1, 0},
    {2, 0, 1, 4, 8, 4, D3(1, 9, 9), D3(1, 3, 3), D3(1, 2, 2), D3(0, 1, 1), D3(1, 1, 1), D3(0, 0, 0), 77, 2, 0},
    {2, 0, 1, 8, 20, 1, D3(1, 10, 9), D3(1, 1, 1), D3(1, 2, 2), D3(0, 0, 0), D3(1, 1, 1), D3(0, 0, 0), 3, 0, 0},
    {2, 0, 2, 16, 14, 2, D3(1, 5, 7), D3(1, 1, 1), D3(1, 1, 1), D3(0, 0, 0), D3(1, 1, 1), D3(0, 0, 0), 255, 2, 0},
    {2, 0, 1, 64, 70, 1, D3(1, 10, 10), D3(1, 3, 3), D3(1, 1, 1), D3(0, 1, 1), D3(1, 1, 1), D3(0, 0, 0), 0, 2, 0},
    {2, 0, 1, 3, 13, 1, D3(1, 23, 21), D3(1, 7, 7), D3(1, 2, 2), D3(0, 3, 3), D3(1, 1, 1), D3(0, 0, 0), 128, 0, 0},
    {2, 0, 1, 9, 11, 1, D3(1, 5, 40), D3(1, 2, 5), D3(1, 3, 1), D3(0, 0, 4), D3(1, 1, 3), D3(0, 0, 0), 200, 2, 0},
    {3, 0, 1, 3, 5, 1, D3(4, 5, 6), D3(2, 3, 2), D3(1, 2, 1), D3(1, 0, 1), D3(1, 1, 2), D3(0, 0, 0), 128, 2, 0},
    {2, 1, 1, 6, 4, 2, D3(1, 5, 6), D3(1, 3, 3), D3(1, 2, 2), D3(0, 1, 1), D3(1, 1, 1), D3(0, 1, 1), 128, 1, 0},
    {2, 1, 2, 5, 3, 1, D3(1, 4, 7), D3(1, 2, 3), D3(1, 1, 3), D3(0, 0, 1), D3(1, 2, 1), D3(0, 0, 2), 255, 0, 0},
    {3, 1, 1, 3, 2, 1, D3(3, 4, 3), D3(2, 2, 2), D3(2, 1, 2), D3(0, 1, 0), D3(1, 1, 1), D3(1, 0, 1), 9, 1, 0},
    /* rows long enough for the input grid's 64-sample copies: stride 1 and (the even bytes of
     * 128) stride 2, a partial last channel quad, the copy ending at the tensor's last byte */
    {2, 0, 1, 7, 5, 1, D3(1, 3, 150), D3(1, 3, 3), D3(1, 1, 1), D3(0, 1, 1), D3(1, 1, 1), D3(0, 0, 0), 128, 0, 0},
    {2, 0, 1, 3, 4, 1, D3(1, 4, 270), D3(1, 3, 7), D3(1, 2, 2), D3(0, 1, 3), D3(1, 1, 1), D3(0, 0, 0), 60, 2, 0},
    {2, 0, 1, 4, 3, 1, D3(1, 2, 131), D3(1, 1, 1), D3(1, 1, 2), D3(0, 0, 0), D3(1, 1, 1), D3(0, 0, 0), 7, 1, 0},
    /* no padding, stride 1: the grid is the input, copied a plane at a time */
    {2, 0, 1, 5, 6, 1, D3(1, 9, 17), D3(1, 1, 1), D3(1, 1, 1), D3(0, 0, 0), D3(1, 1, 1), D3(0, 0, 0), 31, 2, 0},
    {2, 0, 1, 9, 4, 1, D3(1, 11, 13), D3(1, 3, 3), D3(1, 1, 1), D3(0, 0, 0), D3(1, 2, 2), D3(0, 0, 0), 250, 0, 0},
    /* requantization past its clamps, every output channel kind of bias */
    {2, 0, 1, 8, 10, 1, D3(1, 6, 9), D3(1, 1, 1), D3(1, 1, 1), D3(0, 0, 0), D3(1, 1, 1), D3(0, 0, 0), 90, 0, 1},
};

Test(qlinear, conv_kernels_match_direct_reference) {
  uint32_t seed = 3;
  for (size_t i = 0; i < sizeof g_convs / sizeof g_convs[0]; i++) {
    check_conv(&g_convs[i], QG_ENGINE_FBGEMM, (int)(i % 2), &seed);
    check_conv(&g_convs[i], QG_ENGINE_QNNPACK, (int)((i + 1) % 2), &seed);
  }
}

/* ---- linear end to end ---------------------------------------------------------------------- */

/* qg_cpu_qlinear against the reference, K a multiple of 4 (rows read in place) and not (rows
 * copied with padding), per-channel weight zero points, 3-D input. */
Test(qlinear, linear_kernels_match_direct_reference) {
  uint32_t seed = 9;
  static const int64_t dims[][4] = {{2, 3, 16, 37}, {1, 1, 5, 1000}, {1, 70, 13, 24}, {2, 33, 31, 67}};
  for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++)
    for (int a = 0; a < NISA; a++) {
      if (!qg__qgemm_force_isa(g_isas[a])) continue;
      int64_t B = dims[s][0], M = dims[s][1], K = dims[s][2], N = dims[s][3];
      int32_t za = s % 2 ? 255 : 128;
      int64_t xs[3] = {B, M, K}, ws[2] = {N, K};
      qg_quantizer *q;
      qg_tensor *x, *w;
      QG_ASSERT_OK(qg_quantizer_per_tensor(0.05, za, &q));
      QG_ASSERT_OK(qg_tensor_create_quantized(QG_DTYPE_QUINT8, 3, xs, q, &x));
      qg_quantizer_release(q);
      uint8_t *xd = qg_tensor_data(x);
      for (int64_t i = 0; i < B * M * K; i++) xd[i] = (uint8_t)rbyte(&seed);
      double scales[1000];
      int32_t zps[1000];
      w = qint8_weight(2, ws, 2, &seed, scales, zps);
      qg_tensor *y;
      QG_ASSERT_OK(qg_cpu_qlinear(x, w, NULL, 0.7, 12, 0, &y));
      qg__requant rq;
      QG_ASSERT_OK(qg__requant_init(&rq, QG_ENGINE_FBGEMM, 1, 0.05, scales, N, NULL, 0.7, 12, 0));
      const int8_t *wd = qg_tensor_data(w);
      const uint8_t *got = qg_tensor_data(y);
      for (int64_t i = 0; i < B * M; i++)
        for (int64_t j = 0; j < N; j++) {
          uint32_t acc = 0;
          for (int64_t k = 0; k < K; k++) acc += (uint32_t)((xd[i * K + k] - za) * (wd[j * K + k] - zps[j]));
          cr_assert_eq(got[i * N + j], qg__requant_value(&rq, j, (int32_t)acc), "kernel %d, case %zu: y[%lld][%lld]",
                       g_isas[a], s, (long long)i, (long long)j);
        }
      qg__requant_free(&rq);
      qg_tensor_release(x);
      qg_tensor_release(w);
      qg_tensor_release(y);
    }
  qg__qgemm_force_isa(-1);
}
