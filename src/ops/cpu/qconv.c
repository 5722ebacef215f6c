/* Quantized convolution and transposed convolution (qconv.h). */
#include "ops/cpu/qconv.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/qcommon.h"
#include "ops/cpu/qgemm.h"
#include "ops/cpu/qrequant.h"
#include "ops/cpu/quant_engine.h"

/* Validated geometry, 3-D with a unit depth for 2-D. */
typedef struct qgeom {
  int nsp;
  int64_t n, c_in, c_out, groups, cin_g, cout_g;
  int64_t in[3], k[3], out[3];
  int64_t stride[3], pad[3], dil[3];
  int64_t kk;          /* prod(k) */
  int64_t npix_in, npix_out;
} qgeom;

static qg_status geometry(const char *op, const qg_tensor *x, const qg_tensor *w, const qg_conv_params *p, qgeom *g) {
  memset(g, 0, sizeof *g);
  int ns = p->nspatial;
  if (ns != 2 && ns != 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: only 2-D and 3-D convolution (got %d spatial dims)", op, ns);
  if (p->padding_mode != QG_CONV_PADDING_EXPLICIT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: padding must be explicit", op);
  if (x->ndim != ns + 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: Expected activation tensor to have %d dimensions, got %d", op,
                        ns + 2, x->ndim);
  if (w->ndim != ns + 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: Expected weight tensor to have %d dimensions, got %d", op,
                        ns + 2, w->ndim);
  if (p->groups < 1) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: non-positive groups is not supported", op);
  g->nsp = ns;
  g->groups = p->groups;
  g->n = x->shape[0];
  g->c_in = x->shape[1];
  g->kk = 1;
  for (int d = 0; d < 3; d++) {
    int s = d - (3 - ns); /* index into the ns-long parameter arrays, < 0 for the unit depth */
    g->in[d] = s < 0 ? 1 : x->shape[2 + s];
    g->k[d] = s < 0 ? 1 : w->shape[2 + s];
    g->stride[d] = s < 0 ? 1 : p->stride[s];
    g->pad[d] = s < 0 ? 0 : p->padding[s];
    g->dil[d] = s < 0 ? 1 : p->dilation[s];
    int64_t opad = s < 0 || !p->transposed ? 0 : p->output_padding[s];
    if (g->stride[d] < 1 || g->dil[d] < 1 || g->pad[d] < 0 || opad < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: stride and dilation must be positive and padding non-negative (dim %d: stride %lld, "
                          "padding %lld, dilation %lld, output_padding %lld)",
                          op, s, (long long)g->stride[d], (long long)g->pad[d], (long long)g->dil[d], (long long)opad);
    if (p->transposed && opad >= g->stride[d] && opad >= g->dil[d])
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: output padding must be smaller than either stride or dilation, got output_padding %lld, "
                          "stride %lld, dilation %lld",
                          op, (long long)opad, (long long)g->stride[d], (long long)g->dil[d]);
    int64_t ext = g->dil[d] * (g->k[d] - 1) + 1;
    g->out[d] = p->transposed ? (g->in[d] - 1) * g->stride[d] - 2 * g->pad[d] + ext + opad
                              : (g->in[d] + 2 * g->pad[d] - ext) / g->stride[d] + 1;
    if (!p->transposed && g->in[d] + 2 * g->pad[d] < ext) g->out[d] = 0;
    g->kk *= g->k[d];
  }
  char xs[QG_SHAPE_STR_MAX], ws[QG_SHAPE_STR_MAX];
  qg_shape_str(x->ndim, x->shape, xs, sizeof xs);
  qg_shape_str(w->ndim, w->shape, ws, sizeof ws);
  if (p->transposed) {
    g->cin_g = w->shape[0] / g->groups;
    g->cout_g = w->shape[1];
    if (w->shape[0] % g->groups || x->shape[1] != w->shape[0])
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: Given transposed=1, weight of size %s, expected input%s to have %lld channels, but got "
                          "%lld channels instead (groups=%lld)",
                          op, ws, xs, (long long)w->shape[0], (long long)x->shape[1], (long long)g->groups);
  } else {
    g->cin_g = w->shape[1];
    g->cout_g = w->shape[0] / g->groups;
    if (w->shape[0] % g->groups)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: Given groups=%lld, expected weight to be divisible by %lld at dimension 0, but got weight "
                          "of size %s instead",
                          op, (long long)g->groups, (long long)g->groups, ws);
    if (g->cin_g * g->groups != x->shape[1])
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: Given groups=%lld, weight of size %s, expected input%s to have %lld channels, but got "
                          "%lld channels instead",
                          op, (long long)g->groups, ws, xs, (long long)(g->cin_g * g->groups), (long long)x->shape[1]);
  }
  g->c_out = g->cout_g * g->groups;
  for (int d = 0; d < 3; d++)
    if (g->out[d] <= 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: each dimension of output tensor should be greater than 0 (input %s, kernel %s)", op, xs, ws);
  g->npix_in = g->in[0] * g->in[1] * g->in[2];
  g->npix_out = g->out[0] * g->out[1] * g->out[2];
  return QG_OK;
}

/* ---- panels ---------------------------------------------------------------------------------- */

/* Writes GEMM pair kk of every column from two int16 rows (r1 NULL: the zero pad row); columns
 * past npix in the last panel are zeroed, so a Q whose every pair is written needs no memset. */
static void panel_pair(int16_t *Q, int64_t kp, int64_t kk, const int16_t *r0, const int16_t *r1, int64_t npix) {
  for (int64_t j0 = 0; j0 < npix; j0 += QG_QGEMM_NR) {
    int16_t *dst = Q + (j0 / QG_QGEMM_NR) * kp * QG_QGEMM_NR + kk * 2 * QG_QGEMM_NR;
    int64_t nv = npix - j0 < QG_QGEMM_NR ? npix - j0 : QG_QGEMM_NR;
    if (nv == QG_QGEMM_NR) {
      for (int c = 0; c < QG_QGEMM_NR; c++) {
        dst[2 * c] = r0[j0 + c];
        dst[2 * c + 1] = r1 ? r1[j0 + c] : 0;
      }
    } else {
      for (int64_t c = 0; c < QG_QGEMM_NR; c++) {
        dst[2 * c] = c < nv ? r0[j0 + c] : 0;
        dst[2 * c + 1] = c < nv && r1 ? r1[j0 + c] : 0;
      }
    }
  }
}

/* Row k of the im2col matrix of one image and group: for every output pixel, the centred input
 * value under kernel tap k (k = (c * KD + kz) * KH * KW + ky * KW + kx), 0 in the padding. */
static void im2col_row(const qgeom *g, const uint8_t *xg, int64_t k, int32_t za, int16_t *row) {
  int64_t c = k / g->kk, tap = k % g->kk;
  int64_t kz = tap / (g->k[1] * g->k[2]), ky = tap / g->k[2] % g->k[1], kx = tap % g->k[2];
  const uint8_t *xc = xg + c * g->npix_in;
  const int64_t W = g->in[2], OW = g->out[2], sw = g->stride[2];
  const int64_t off = kx * g->dil[2] - g->pad[2]; /* ix = ox * sw + off */
  int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
  int64_t hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
  lo = lo > OW ? OW : lo;
  hi = hi > OW ? OW : hi < lo ? lo : hi;
  for (int64_t oz = 0; oz < g->out[0]; oz++) {
    int64_t iz = oz * g->stride[0] - g->pad[0] + kz * g->dil[0];
    for (int64_t oy = 0; oy < g->out[1]; oy++) {
      int64_t iy = oy * g->stride[1] - g->pad[1] + ky * g->dil[1];
      int16_t *dst = row + (oz * g->out[1] + oy) * OW;
      if (iz < 0 || iz >= g->in[0] || iy < 0 || iy >= g->in[1]) {
        memset(dst, 0, (size_t)OW * sizeof *dst);
        continue;
      }
      const uint8_t *src = xc + (iz * g->in[1] + iy) * W + off;
      for (int64_t ox = 0; ox < lo; ox++) dst[ox] = 0;
      if (sw == 1)
        for (int64_t ox = lo; ox < hi; ox++) dst[ox] = (int16_t)(src[ox] - za);
      else
        for (int64_t ox = lo; ox < hi; ox++) dst[ox] = (int16_t)(src[ox * sw] - za);
      for (int64_t ox = hi; ox < OW; ox++) dst[ox] = 0;
    }
  }
}

/* ---- one call --------------------------------------------------------------------------------- */

typedef struct conv_work {
  qg__qw qw;
  qg__requant rq;
  qg_tensor *xc, *wc, *bc;
  int16_t *P, *Q, *rows;
  int32_t *C, *acc;
} conv_work;

static void work_free(conv_work *w) {
  qg__qw_free(&w->qw);
  qg__requant_free(&w->rq);
  qg_tensor_release(w->xc);
  qg_tensor_release(w->wc);
  qg_tensor_release(w->bc);
  qg__free(w->P);
  qg__free(w->Q);
  qg__free(w->rows);
  qg__free(w->C);
  qg__free(w->acc);
}

static void *alloc_n(size_t n, size_t elem) { return qg__malloc(n * elem + 1); }

/* Convolution of image n, group gi: im2col panels, one GEMM, requantization into y. */
static void conv_group(const qgeom *g, conv_work *wk, const uint8_t *xd, int32_t za, int64_t n, int64_t gi,
                       uint8_t *yd) {
  int64_t K = g->cin_g * g->kk, kp = qg__qgemm_kpad(K);
  const uint8_t *xg = xd + (n * g->c_in + gi * g->cin_g) * g->npix_in;
  int16_t *r0 = wk->rows, *r1 = wk->rows + g->npix_out;
  for (int64_t kk = 0; kk < kp / 2; kk++) {
    im2col_row(g, xg, 2 * kk, za, r0);
    int have1 = 2 * kk + 1 < K;
    if (have1) im2col_row(g, xg, 2 * kk + 1, za, r1);
    panel_pair(wk->Q, kp, kk, r0, have1 ? r1 : NULL, g->npix_out);
  }
  qg__qgemm(g->cout_g, g->npix_out, kp, wk->P + gi * g->cout_g * kp, kp, wk->Q, wk->C, g->npix_out);
  for (int64_t o = 0; o < g->cout_g; o++) {
    int64_t oc = gi * g->cout_g + o;
    qg__requant_row(&wk->rq, oc, wk->C + o * g->npix_out, g->npix_out, yd + (n * g->c_out + oc) * g->npix_out);
  }
}

/* Transposed convolution of image n, group gi: C[(o, tap)][i] = sum_c W[c][o][tap] * X[c][i]
 * (one GEMM over input pixels), scattered into the int32 output accumulator (col2im). */
static void conv_transpose_group(const qgeom *g, conv_work *wk, const uint8_t *xd, int32_t za, int64_t n, int64_t gi,
                                 uint8_t *yd) {
  int64_t kp = qg__qgemm_kpad(g->cin_g), rows = g->cout_g * g->kk;
  const uint8_t *xg = xd + (n * g->c_in + gi * g->cin_g) * g->npix_in;
  int16_t *r0 = wk->rows, *r1 = wk->rows + g->npix_in;
  for (int64_t kk = 0; kk < kp / 2; kk++) {
    for (int64_t i = 0; i < g->npix_in; i++) r0[i] = (int16_t)(xg[2 * kk * g->npix_in + i] - za);
    int have1 = 2 * kk + 1 < g->cin_g;
    if (have1)
      for (int64_t i = 0; i < g->npix_in; i++) r1[i] = (int16_t)(xg[(2 * kk + 1) * g->npix_in + i] - za);
    panel_pair(wk->Q, kp, kk, r0, have1 ? r1 : NULL, g->npix_in);
  }
  qg__qgemm(rows, g->npix_in, kp, wk->P + gi * rows * kp, kp, wk->Q, wk->C, g->npix_in);
  uint32_t *acc = (uint32_t *)wk->acc; /* wraps like FBGEMM's int32 */
  memset(acc, 0, (size_t)(g->cout_g * g->npix_out) * sizeof *acc);
  for (int64_t o = 0; o < g->cout_g; o++) {
    for (int64_t tap = 0; tap < g->kk; tap++) {
      int64_t kz = tap / (g->k[1] * g->k[2]), ky = tap / g->k[2] % g->k[1], kx = tap % g->k[2];
      const int32_t *c = wk->C + (o * g->kk + tap) * g->npix_in;
      uint32_t *a = acc + o * g->npix_out;
      for (int64_t iz = 0; iz < g->in[0]; iz++) {
        int64_t oz = iz * g->stride[0] - g->pad[0] + kz * g->dil[0];
        if (oz < 0 || oz >= g->out[0]) continue;
        for (int64_t iy = 0; iy < g->in[1]; iy++) {
          int64_t oy = iy * g->stride[1] - g->pad[1] + ky * g->dil[1];
          if (oy < 0 || oy >= g->out[1]) continue;
          const int32_t *crow = c + (iz * g->in[1] + iy) * g->in[2];
          uint32_t *arow = a + (oz * g->out[1] + oy) * g->out[2];
          for (int64_t ix = 0; ix < g->in[2]; ix++) {
            int64_t ox = ix * g->stride[2] - g->pad[2] + kx * g->dil[2];
            if (ox >= 0 && ox < g->out[2]) arow[ox] += (uint32_t)crow[ix];
          }
        }
      }
    }
  }
  for (int64_t o = 0; o < g->cout_g; o++) {
    int64_t oc = gi * g->cout_g + o;
    qg__requant_row(&wk->rq, oc, wk->acc + o * g->npix_out, g->npix_out, yd + (n * g->c_out + oc) * g->npix_out);
  }
}

/* The transposed form's row operand: row (o, tap) of group gi holds W[gi * cin_g + c][o][tap] - zp
 * over c (a transpose of the weight's [C_in, C_out/g, taps] layout). */
static void transpose_weight_rows(const qgeom *g, const int8_t *w, int32_t zp, int16_t *P) {
  int64_t kp = qg__qgemm_kpad(g->cin_g), rows = g->cout_g * g->kk;
  for (int64_t gi = 0; gi < g->groups; gi++)
    for (int64_t r = 0; r < rows; r++) {
      int16_t *dst = P + (gi * rows + r) * kp;
      for (int64_t c = 0; c < g->cin_g; c++) dst[c] = (int16_t)(w[(gi * g->cin_g + c) * rows + r] - zp);
      if (kp > g->cin_g) dst[g->cin_g] = 0;
    }
}

qg_status qg_cpu_qconv(qg_tensor *x, qg_tensor *weight, qg_tensor *bias, const qg_conv_params *p, double out_scale,
                       int64_t out_zp, int relu, qg_tensor **out) {
  *out = NULL;
  char op[48];
  snprintf(op, sizeof op, "quantized::conv%s%dd%s", p->transposed ? "_transpose" : "", p->nspatial,
           relu ? "_relu" : "");
  if (p->transposed && relu) return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: there is no fused relu", op);
  double xs;
  int32_t xz;
  qgeom g;
  QG_TRY(qg__q_act(op, x, &xs, &xz));
  QG_TRY(geometry(op, x, weight, p, &g));
  conv_work wk;
  memset(&wk, 0, sizeof wk);
  const float *bd = NULL;
  qg_tensor *y = NULL;
  int64_t oshape[5] = {g.n, g.c_out};
  for (int d = 0; d < g.nsp; d++) oshape[2 + d] = g.out[3 - g.nsp + d];
  qg_status st = qg__qw_init(&wk.qw, op, weight, g.c_out, !p->transposed);
  if (st == QG_OK) st = qg__q_bias(op, bias, g.c_out, &wk.bc, &bd);
  if (st == QG_OK) st = qg__requant_init(&wk.rq, qg_quant_engine_get(), wk.qw.per_channel, xs, wk.qw.scales, g.c_out,
                                         bd, out_scale, out_zp, relu);
  if (st == QG_OK) st = qg__q_out(op, g.nsp + 2, oshape, out_scale, out_zp, &y);
  if (st == QG_OK) st = qg_tensor_contiguous(x, &wk.xc);
  if (st == QG_OK) st = qg_tensor_contiguous(weight, &wk.wc);
  int64_t K = p->transposed ? g.cin_g : g.cin_g * g.kk, kp = qg__qgemm_kpad(K);
  int64_t prow = p->transposed ? g.groups * g.cout_g * g.kk : g.c_out;
  int64_t cols = p->transposed ? g.npix_in : g.npix_out;
  int64_t crow = p->transposed ? g.cout_g * g.kk : g.cout_g;
  if (st == QG_OK) {
    wk.P = alloc_n((size_t)(prow * kp), sizeof *wk.P);
    wk.Q = alloc_n((size_t)qg__qgemm_panel_elems(cols, kp), sizeof *wk.Q);
    wk.rows = alloc_n((size_t)(2 * cols), sizeof *wk.rows);
    wk.C = alloc_n((size_t)(crow * cols), sizeof *wk.C);
    wk.acc = p->transposed ? alloc_n((size_t)(g.cout_g * g.npix_out), sizeof *wk.acc) : NULL;
    if (!wk.P || !wk.Q || !wk.rows || !wk.C || (p->transposed && !wk.acc)) st = qg_oom(op);
  }
  if (st == QG_OK && g.n > 0) {
    const int8_t *wd = qg_tensor_data(wk.wc);
    if (p->transposed) transpose_weight_rows(&g, wd, wk.qw.zps[0], wk.P);
    else qg__qgemm_rows_s8(wd, g.c_out, K, K, wk.qw.zps, wk.qw.per_channel, wk.P, kp);
    const uint8_t *xd = qg_tensor_data(wk.xc);
    uint8_t *yd = qg_tensor_data(y);
    for (int64_t n = 0; n < g.n; n++)
      for (int64_t gi = 0; gi < g.groups; gi++) {
        if (p->transposed) conv_transpose_group(&g, &wk, xd, xz, n, gi, yd);
        else conv_group(&g, &wk, xd, xz, n, gi, yd);
      }
  }
  work_free(&wk);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}
