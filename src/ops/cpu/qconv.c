/* Quantized convolution and transposed convolution (qconv.h). */
#include "ops/cpu/qconv.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/qcommon.h"
#include "ops/cpu/qgemm.h"
#include "ops/cpu/qgemm_grid.h"
#include "ops/cpu/qpack_cache.h"
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

/* ---- packed weights ------------------------------------------------------------------------ */

typedef struct pack_args {
  const qgeom *g;
  const int8_t *w;
} pack_args;

/* Convolution: one row per output channel, quad q = cq * taps + t holding channels 4cq .. 4cq+3
 * of tap t (the implicit GEMM's k order, qgemm_grid.h), zero past cin_g; each group's rows
 * packed apart (qg__qmm_row_at). */
static void pack_conv(const void *ud, uint8_t *packed, int32_t *sums) {
  const pack_args *a = ud;
  const qgeom *g = a->g;
  int64_t kk = g->kk, k4 = (g->cin_g + 3) / 4 * kk * 4;
  size_t gbytes = qg__qmm_rows_bytes(g->cout_g, k4);
  memset(packed, 0, (size_t)g->groups * gbytes);
  for (int64_t oc = 0; oc < g->c_out; oc++) {
    const int8_t *src = a->w + oc * g->cin_g * kk;
    uint8_t *grp = packed + (size_t)(oc / g->cout_g) * gbytes;
    int64_t o = oc % g->cout_g;
    int32_t s = 0;
    for (int64_t c = 0; c < g->cin_g; c++)
      for (int64_t t = 0; t < kk; t++) {
        int8_t v = src[c * kk + t];
        grp[qg__qmm_row_at(o, (c / 4) * kk + t, k4) + (size_t)(c % 4)] = (uint8_t)v;
        s += v;
      }
    sums[oc] = s;
  }
}

/* Transposed: per group, one row per (output channel o, tap) over the group's input channels,
 * from the weight's [C_in, C_out / groups, taps] layout. */
static void pack_conv_transpose(const void *ud, uint8_t *packed, int32_t *sums) {
  const pack_args *a = ud;
  const qgeom *g = a->g;
  int64_t k4 = qg__qmm_k4(g->cin_g), rows = g->cout_g * g->kk;
  size_t gbytes = qg__qmm_rows_bytes(rows, k4);
  memset(packed, 0, (size_t)g->groups * gbytes);
  for (int64_t gi = 0; gi < g->groups; gi++)
    for (int64_t r = 0; r < rows; r++) {
      int32_t s = 0;
      for (int64_t c = 0; c < g->cin_g; c++) {
        int8_t v = a->w[(gi * g->cin_g + c) * rows + r];
        packed[(size_t)gi * gbytes + qg__qmm_row_at(r, c / 4, k4) + (size_t)(c % 4)] = (uint8_t)v;
        s += v;
      }
      sums[gi * rows + r] = s;
    }
}

/* ---- one call --------------------------------------------------------------------------------- */

typedef struct conv_work {
  qg__qw qw;
  qg__requant rq;
  qg__qgrid grid;
  qg_tensor *xc, *wc, *bc;
  qg__qpack *pref;
  const uint8_t *packed; /* the GEMM's rows: packed (rb QG_QMM_RB) or the weight itself (rb 1) */
  size_t group_bytes;    /* from one group's rows to the next */
  int64_t ldr;
  int rb;
  const int32_t *wsum;
  int32_t *own_wsum; /* the weight used in place: its sums, computed here */
  uint8_t *cols, *ones;
  int32_t *corr, *zw, *C, *acc;
} conv_work;

static void work_free(conv_work *w) {
  qg__qw_free(&w->qw);
  qg__requant_free(&w->rq);
  qg__qgrid_free(&w->grid);
  qg_tensor_release(w->xc);
  qg_tensor_release(w->wc);
  qg_tensor_release(w->bc);
  qg__qpack_release(w->pref);
  qg__free(w->own_wsum);
  qg__free(w->cols);
  qg__free(w->ones);
  qg__free(w->corr);
  qg__free(w->zw);
  qg__free(w->C);
  qg__free(w->acc);
}

/* The GEMM of group gi (`rows` rows): columns the grid (filled). */
static qg__qmm group_gemm(const conv_work *wk, int64_t gi, int64_t rows) {
  int64_t first = gi * rows;
  qg__qmm m = {.form = QG_QMM_WEIGHT_ROWS, .I = rows, .rows = wk->packed + (size_t)gi * wk->group_bytes,
               .ldr = wk->ldr, .rb = wk->rb, .corr = wk->corr + first, .zw = wk->zw ? wk->zw + first : NULL,
               .ones = wk->ones, .ch0 = first};
  qg__qgrid_operand(&wk->grid, wk->cols, &m);
  return m;
}

/* Convolution of image n, group gi: the input grid, one GEMM requantized into y. */
static void conv_group(const qgeom *g, conv_work *wk, const uint8_t *xd, int32_t za, int64_t n, int64_t gi,
                       uint8_t *yd) {
  const uint8_t *xg = xd + (n * g->c_in + gi * g->cin_g) * g->npix_in;
  qg__qgrid_fill(&wk->grid, xg, g->npix_in, za, wk->cols);
  qg__qmm m = group_gemm(wk, gi, g->cout_g);
  m.rq = &wk->rq;
  m.y = yd + (n * g->c_out + gi * g->cout_g) * g->npix_out;
  m.ld = g->npix_out;
  qg__qmm_run(&m);
}

/* Transposed convolution of image n, group gi: C[(o, tap)][i] = sum_c W[c][o][tap] * X[c][i]
 * (one GEMM over input pixels: a 1x1 grid), scattered into the int32 output accumulator
 * (col2im), then requantized. */
static void conv_transpose_group(const qgeom *g, conv_work *wk, const uint8_t *xd, int32_t za, int64_t n, int64_t gi,
                                 uint8_t *yd) {
  int64_t rows = g->cout_g * g->kk;
  const uint8_t *xg = xd + (n * g->c_in + gi * g->cin_g) * g->npix_in;
  qg__qgrid_fill(&wk->grid, xg, g->npix_in, za, wk->cols);
  qg__qmm m = group_gemm(wk, gi, rows);
  m.c = wk->C;
  m.ld = g->npix_in;
  qg__qmm_run(&m);
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

/* The GEMM's rows: a 1x1 convolution over a multiple of 4 channels reads its weight in place
 * (its rows are already quads of 4 channels: no packing, no cache lookup; the sums are needed
 * only with an activation zero point), any other the packed weight from the cache. */
static qg_status weight_rows(const qgeom *g, int transposed, int32_t za, conv_work *wk) {
  const int8_t *wd = qg_tensor_data(wk->wc);
  int64_t grows = transposed ? g->cout_g * g->kk : g->cout_g, prows = g->groups * grows;
  int64_t K = transposed ? g->cin_g : g->cin_g * g->kk;
  int64_t k4 = transposed ? qg__qmm_k4(g->cin_g) : (g->cin_g + 3) / 4 * g->kk * 4;
  if (!transposed && g->kk == 1 && K == k4) {
    wk->packed = (const uint8_t *)wd;
    wk->group_bytes = (size_t)(grows * K);
    wk->ldr = K;
    wk->rb = 1;
    wk->wsum = wk->own_wsum = qg__calloc((size_t)prows, sizeof *wk->own_wsum);
    if (!wk->own_wsum) return qg_oom("quantized conv weight sums");
    for (int64_t r = 0; za && r < prows; r++) {
      int32_t s = 0;
      for (int64_t k = 0; k < K; k++) s += wd[r * K + k];
      wk->own_wsum[r] = s;
    }
    return QG_OK;
  }
  pack_args pa = {g, wd};
  wk->group_bytes = qg__qmm_rows_bytes(grows, k4);
  wk->ldr = QG_QMM_RB * k4;
  wk->rb = QG_QMM_RB;
  qg__qpack_spec s = {transposed ? QG_QPACK_CONV_TRANSPOSE : QG_QPACK_CONV,
                      {g->c_out, g->cin_g, g->kk, g->groups},
                      (size_t)g->groups * wk->group_bytes,
                      prows,
                      transposed ? pack_conv_transpose : pack_conv,
                      &pa,
                      0,
                      0};
  if (wk->wc->storage && wk->wc->storage->immutable) {
    s.snapshot_serial = wk->wc->storage->serial;
    s.snapshot_offset = wk->wc->offset;
  }
  return qg__qpack_get(wd, (size_t)(prows * K), &s, &wk->packed, &wk->wsum, &wk->pref);
}

/* The weight rows, the input grid's geometry, the per-row corrections and buffers. */
static qg_status work_init(const char *op, const qgeom *g, int transposed, int32_t za, conv_work *wk) {
  static const int64_t one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
  int64_t grows = transposed ? g->cout_g * g->kk : g->cout_g, prows = g->groups * grows;
  int64_t K = transposed ? g->cin_g : g->cin_g * g->kk;
  int64_t k4 = transposed ? qg__qmm_k4(g->cin_g) : (g->cin_g + 3) / 4 * g->kk * 4;
  if (transposed) QG_TRY(qg__qgrid_init(&wk->grid, g->in, one, one, zero, one, g->in, g->cin_g));
  else QG_TRY(qg__qgrid_init(&wk->grid, g->in, g->k, g->stride, g->pad, g->dil, g->out, g->cin_g));
  QG_TRY(weight_rows(g, transposed, za, wk));
  int has_zw = 0;
  for (int64_t j = 0; j < g->c_out; j++) has_zw |= wk->qw.zps[j] != 0;
  wk->cols = qg__malloc(wk->grid.bytes);
  wk->corr = qg__malloc((size_t)prows * sizeof *wk->corr);
  wk->zw = has_zw ? qg__malloc((size_t)prows * sizeof *wk->zw) : NULL;
  wk->ones = has_zw ? qg__malloc((size_t)k4 + 1) : NULL;
  if (transposed) {
    wk->C = qg__malloc((size_t)(g->cout_g * g->kk * g->npix_in) * sizeof *wk->C);
    wk->acc = qg__malloc((size_t)(g->cout_g * g->npix_out) * sizeof *wk->acc);
  }
  if (!wk->cols || !wk->corr || (has_zw && (!wk->zw || !wk->ones)) || (transposed && (!wk->C || !wk->acc)))
    return qg_oom(op);
  /* transposed weights are per-tensor: every row has the one zero point */
  qg__qmm_corr(prows, K, za, wk->qw.zps, !transposed, wk->wsum, wk->corr);
  if (has_zw) {
    for (int64_t r = 0; r < prows; r++) wk->zw[r] = wk->qw.zps[transposed ? 0 : r];
    memset(wk->ones, 1, (size_t)k4);
  }
  return QG_OK;
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
  if (st == QG_OK) st = qg__requant_out(op, g.nsp + 2, oshape, out_scale, out_zp, &y);
  if (st == QG_OK) st = qg_tensor_contiguous(x, &wk.xc);
  if (st == QG_OK) st = qg_tensor_contiguous(weight, &wk.wc);
  if (st == QG_OK && g.n > 0) st = work_init(op, &g, p->transposed, xz, &wk);
  if (st == QG_OK && g.n > 0) {
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
