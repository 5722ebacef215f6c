/* Quantized pooling, mean and upsampling kernels (quantized_pool.h). The float kernels of
 * pool.h / upsample.h run on the stored integers (as f32, exact) to validate the arguments and
 * give the output shape with their messages; values that move unchanged (max, nearest) come
 * straight from them, averaging ones are recomputed here with PyTorch's integer arithmetic. */
#include "ops/cpu/quantized_pool.h"

#include <math.h>
#include <string.h>

#include "ops/cpu/pointwise_common.h"
#include "ops/cpu/pool.h"
#include "ops/cpu/quantized_common.h"
#include "ops/cpu/quantized_quantize.h"
#include "ops/cpu/upsample.h"

/* Runs a float kernel on x's integers; *f receives its result. */
typedef qg_status (*float_kernel)(const void *args, qg_tensor *xf, qg_tensor **out);
static qg_status on_ints(const char *op, qg_tensor *x, float_kernel k, const void *args, qg_tensor **f) {
  QG_TRY(qg_q_check_per_tensor(op, x));
  qg_tensor *xf;
  QG_TRY(qg_q_ints_as_float(x, &xf));
  qg_status st = k(args, xf, f);
  qg_tensor_release(xf);
  return st;
}

/* ---- max pooling --------------------------------------------------------------------------- */

typedef struct pool_args {
  int nspatial;
  const int64_t *kernel, *stride, *padding, *dilation;
  int nk, ns, np, nd, ceil_mode, count_include_pad;
  int64_t divisor;
  const int64_t *osize;
  int no;
} pool_args;

static qg_status max_kernel(const void *v, qg_tensor *xf, qg_tensor **out) {
  const pool_args *a = v;
  return qg_cpu_max_pool_nd(a->nspatial, xf, a->kernel, a->nk, a->stride, a->ns, a->padding, a->np, a->dilation, a->nd,
                            a->ceil_mode, out);
}

qg_status qg_cpu_qmax_pool_nd(int nspatial, qg_tensor *x, const int64_t *kernel, int nk, const int64_t *stride, int ns,
                              const int64_t *padding, int np, const int64_t *dilation, int nd, int ceil_mode,
                              qg_tensor **out) {
  const pool_args a = {nspatial, kernel, stride, padding, dilation, nk, ns, np, nd, ceil_mode, 0, 0, NULL, 0};
  qg_tensor *f;
  QG_TRY(on_ints("max_pool", x, max_kernel, &a, &f));
  qg_status st = qg_q_from_ints(f, x->dtype, x->quantizer, out);
  qg_tensor_release(f);
  return st;
}

/* ---- average pooling ----------------------------------------------------------------------- */

static qg_status avg_kernel(const void *v, qg_tensor *xf, qg_tensor **out) {
  const pool_args *a = v;
  return qg_cpu_avg_pool_nd(a->nspatial, xf, a->kernel, a->nk, a->stride, a->ns, a->padding, a->np, a->ceil_mode,
                            a->count_include_pad, a->divisor, out);
}

/* Geometry of one spatial dim, padded to 3 (leading dims of size 1). */
typedef struct dim3 {
  int64_t in[3], out[3], k[3], s[3], p[3];
} dim3;

static int64_t pick(const int64_t *v, int n, int i, int64_t dflt) { return n == 0 ? dflt : v[n == 1 ? 0 : i]; }

static void avg_geometry(const pool_args *a, const qg_tensor *x, const qg_tensor *f, dim3 *g) {
  for (int d = 0; d < 3; d++) {
    g->in[d] = g->out[d] = g->k[d] = g->s[d] = 1;
    g->p[d] = 0;
  }
  for (int i = 0; i < a->nspatial; i++) {
    const int d = 3 - a->nspatial + i;
    g->in[d] = x->shape[x->ndim - a->nspatial + i];
    g->out[d] = f->shape[f->ndim - a->nspatial + i];
    g->k[d] = pick(a->kernel, a->nk, i, 1);
    g->s[d] = pick(a->stride, a->ns, i, g->k[d]);
    g->p[d] = pick(a->padding, a->np, i, 0);
  }
}

qg_status qg_cpu_qavg_pool_nd(int nspatial, qg_tensor *x, const int64_t *kernel, int nk, const int64_t *stride, int ns,
                              const int64_t *padding, int np, int ceil_mode, int count_include_pad,
                              int64_t divisor_override, qg_tensor **out) {
  const pool_args a = {nspatial, kernel, stride, padding, NULL, nk, ns, np, 0, ceil_mode, count_include_pad,
                       divisor_override, NULL, 0};
  qg_tensor *f, *cx = NULL, *r = NULL;
  QG_TRY(on_ints("avg_pool", x, avg_kernel, &a, &f));
  dim3 g;
  avg_geometry(&a, x, f, &g);
  qg_status st = qg_tensor_contiguous(x, &cx);
  if (st == QG_OK) st = qg_q_new(x->dtype, f->ndim, f->shape, x->quantizer->scale, x->quantizer->zero_point, &r);
  if (st == QG_OK) {
    const qg_dtype dt = x->dtype;
    int64_t qmin, qmax;
    qg_q_range(dt, &qmin, &qmax);
    const int64_t zp = x->quantizer->zero_point;
    const int64_t plane_in = g.in[0] * g.in[1] * g.in[2], plane_out = g.out[0] * g.out[1] * g.out[2];
    const int64_t planes = plane_in > 0 ? qg_tensor_numel(x) / plane_in : 0;
    const int64_t C = nspatial == 3 ? x->shape[x->ndim - 4] : 1;
    /* avg_pool3d: PyTorch's channels-last kernel, channel blocks of 16 in the vector form */
    const int64_t c_vec_end = C / 16 * 16;
    const float fs = (float)x->quantizer->scale;
    const void *src = qg_tensor_data(cx);
    void *dst = qg_tensor_data(r);
    for (int64_t pl = 0; pl < planes; pl++)
      for (int64_t od = 0; od < g.out[0]; od++)
        for (int64_t oh = 0; oh < g.out[1]; oh++)
          for (int64_t ow = 0; ow < g.out[2]; ow++) {
            int64_t st3[3], en3[3], pool = 1, size = 1;
            const int64_t o3[3] = {od, oh, ow};
            for (int d = 0; d < 3; d++) {
              st3[d] = o3[d] * g.s[d] - g.p[d];
              en3[d] = st3[d] + g.k[d] < g.in[d] + g.p[d] ? st3[d] + g.k[d] : g.in[d] + g.p[d];
              pool *= en3[d] - st3[d];
              if (st3[d] < 0) st3[d] = 0;
              if (en3[d] > g.in[d]) en3[d] = g.in[d];
              size *= en3[d] - st3[d];
            }
            int64_t sum = 0;
            for (int64_t id = st3[0]; id < en3[0]; id++)
              for (int64_t ih = st3[1]; ih < en3[1]; ih++)
                for (int64_t iw = st3[2]; iw < en3[2]; iw++)
                  sum += qg_q_load(dt, src, pl * plane_in + (id * g.in[1] + ih) * g.in[2] + iw);
            const int64_t divide = divisor_override != QG_POOL_NO_DIVISOR ? divisor_override
                                   : count_include_pad                   ? pool
                                                                         : size;
            const int32_t acc = (int32_t)(sum - size * zp);
            int64_t q;
            if (nspatial == 3) {
              /* _qavg_pool_nhwc_kernel: multiplier = in_scale / out_scale / divide in float */
              const float multiplier = fs / fs / (float)divide;
              q = pl % C < c_vec_end ? qg_q_quantize_vec(dt, multiplier, 1.0 / multiplier, zp, (float)acc)
                                     : qg_q_quantize_scalar(dt, (double)(1.0f / multiplier), zp, (float)acc);
            } else {
              /* avg_pool2d_out_frame: nearbyint(sum * multiplier + zp), clamped */
              const float multiplier = (float)(1.0 / (double)divide);
              const float v = nearbyintf((float)acc * multiplier + (float)zp);
              q = (int64_t)(int32_t)v;
              q = q < qmin ? qmin : q > qmax ? qmax : q;
            }
            qg_q_store(dt, dst, pl * plane_out + (od * g.out[1] + oh) * g.out[2] + ow, q);
          }
    *out = r;
    r = NULL;
  }
  qg_tensor_release(f);
  qg_tensor_release(cx);
  qg_tensor_release(r);
  return st;
}

/* ---- adaptive average pooling ------------------------------------------------------------------ */

static qg_status adaptive_kernel(const void *v, qg_tensor *xf, qg_tensor **out) {
  const pool_args *a = v;
  return qg_cpu_adaptive_avg_pool_nd(a->nspatial, xf, a->osize, a->no, out);
}

static int64_t start_index(int64_t o, int64_t out, int64_t in) { return (int64_t)floorf((float)(o * in) / (float)out); }
static int64_t end_index(int64_t o, int64_t out, int64_t in) { return (int64_t)ceilf((float)((o + 1) * in) / (float)out); }

qg_status qg_cpu_qadaptive_avg_pool_nd(int nspatial, qg_tensor *x, const int64_t *output_size, int no,
                                       qg_tensor **out) {
  pool_args a;
  memset(&a, 0, sizeof a);
  a.nspatial = nspatial;
  a.osize = output_size;
  a.no = no;
  qg_tensor *f, *cx = NULL, *r = NULL;
  QG_TRY(on_ints("adaptive_avg_pool", x, adaptive_kernel, &a, &f));
  dim3 g;
  memset(&g, 0, sizeof g);
  for (int d = 0; d < 3; d++) g.in[d] = g.out[d] = 1;
  for (int i = 0; i < nspatial; i++) {
    g.in[3 - nspatial + i] = x->shape[x->ndim - nspatial + i];
    g.out[3 - nspatial + i] = f->shape[f->ndim - nspatial + i];
  }
  qg_status st = qg_tensor_contiguous(x, &cx);
  if (st == QG_OK) st = qg_q_new(x->dtype, f->ndim, f->shape, x->quantizer->scale, x->quantizer->zero_point, &r);
  if (st == QG_OK) {
    const qg_dtype dt = x->dtype;
    const int64_t plane_in = g.in[0] * g.in[1] * g.in[2], plane_out = g.out[0] * g.out[1] * g.out[2];
    const int64_t planes = plane_in > 0 ? qg_tensor_numel(x) / plane_in : 0;
    const void *src = qg_tensor_data(cx);
    void *dst = qg_tensor_data(r);
    for (int64_t pl = 0; pl < planes; pl++)
      for (int64_t od = 0; od < g.out[0]; od++) {
        const int64_t d0 = start_index(od, g.out[0], g.in[0]), d1 = end_index(od, g.out[0], g.in[0]);
        const float kdr = (float)(1.0 / (double)(d1 - d0));
        for (int64_t oh = 0; oh < g.out[1]; oh++) {
          const int64_t h0 = start_index(oh, g.out[1], g.in[1]), h1 = end_index(oh, g.out[1], g.in[1]);
          const float kdhr = kdr / (float)(h1 - h0);
          for (int64_t ow = 0; ow < g.out[2]; ow++) {
            const int64_t w0 = start_index(ow, g.out[2], g.in[2]), w1 = end_index(ow, g.out[2], g.in[2]);
            const float kdhwr = kdhr / (float)(w1 - w0);
            int64_t sum = 0;
            for (int64_t id = d0; id < d1; id++)
              for (int64_t ih = h0; ih < h1; ih++)
                for (int64_t iw = w0; iw < w1; iw++)
                  sum += qg_q_load(dt, src, pl * plane_in + (id * g.in[1] + ih) * g.in[2] + iw);
            qg_q_store(dt, dst, pl * plane_out + (od * g.out[1] + oh) * g.out[2] + ow,
                       (int64_t)nearbyintf((float)sum * kdhwr));
          }
        }
      }
    *out = r;
    r = NULL;
  }
  qg_tensor_release(f);
  qg_tensor_release(cx);
  qg_tensor_release(r);
  return st;
}

/* ---- mean ------------------------------------------------------------------------------------ */

qg_status qg_cpu_qmean(qg_tensor *x, const int64_t *dims, int ndims, int keepdim, qg_tensor **out) {
  QG_TRY(qg_q_check_per_tensor("mean", x));
  int mask[QG_MAX_DIMS];
  QG_TRY(qg__pw_dim_mask("mean", dims, ndims, x->ndim, mask));
  /* ReduceOps.cpp: trailing reduced dims of a contiguous tensor average the stored integers */
  int ntrail = 0, inner = 1, nred = 0;
  for (int d = x->ndim - 1; d >= 0; d--) {
    if (!mask[d]) break;
    ntrail++;
  }
  for (int d = 0; d < x->ndim; d++) nred += mask[d];
  inner = nred == ntrail && qg_tensor_is_contiguous(x);
  int64_t oshape[QG_MAX_DIMS], kshape[QG_MAX_DIMS];
  int ond = 0;
  int64_t N = 1;
  for (int d = 0; d < x->ndim; d++) {
    kshape[d] = mask[d] ? 1 : x->shape[d];
    if (mask[d]) N *= x->shape[d];
    if (!mask[d] || keepdim) oshape[ond++] = kshape[d];
  }
  const qg_dtype dt = x->dtype;
  qg_tensor *r;
  if (inner) {
    QG_TRY(qg_q_new(dt, ond, oshape, x->quantizer->scale, x->quantizer->zero_point, &r));
    const void *src = qg_tensor_data(x);
    void *dst = qg_tensor_data(r);
    for (int64_t i = 0, M = qg_tensor_numel(r); i < M; i++) {
      int64_t sum = 0;
      for (int64_t j = 0; j < N; j++) sum += qg_q_load(dt, src, i * N + j);
      qg_q_store(dt, dst, i, (int64_t)nearbyintf((float)sum / (float)N));
    }
    *out = r;
    return QG_OK;
  }
  /* otherwise dequantize, float32 mean (sequential float sums), quantize_per_tensor */
  qg_tensor *f, *m;
  QG_TRY(qg_cpu_dequantize(x, &f));
  qg_status st = qg_tensor_create(QG_DTYPE_F32, ond, oshape, &m);
  if (st == QG_OK) {
    const float *src = qg_tensor_data(f);
    float *dst = qg_tensor_data(m);
    const int64_t M = qg_tensor_numel(m);
    for (int64_t i = 0; i < M; i++) dst[i] = 0.0f;
    /* walk the input in order; each element adds to its output (the kept-dims index) */
    int64_t idx[QG_MAX_DIMS] = {0};
    for (int64_t k = 0, n = qg_tensor_numel(f); k < n; k++) {
      int64_t o = 0;
      for (int d = 0; d < x->ndim; d++) o = o * kshape[d] + (mask[d] ? 0 : idx[d]);
      dst[o] += src[k];
      for (int d = x->ndim - 1; d >= 0; d--) {
        if (++idx[d] < x->shape[d]) break;
        idx[d] = 0;
      }
    }
    for (int64_t i = 0; i < M; i++) dst[i] /= (float)N;
    st = qg_cpu_quantize_per_tensor(m, x->quantizer->scale, x->quantizer->zero_point, dt, out);
  }
  qg_tensor_release(f);
  qg_tensor_release(m);
  return st;
}

/* ---- upsampling -------------------------------------------------------------------------------- */

typedef struct up_args {
  int nspatial, vec, align;
  const int64_t *osize;
  int nout, nscale;
  const double *scale_factors, *scales;
} up_args;

static qg_status up_kernel(const void *v, qg_tensor *xf, qg_tensor **out) {
  const up_args *a = v;
  const qg_upsample_mode mode = QG_UPSAMPLE_NEAREST;
  if (a->vec) return qg_cpu_upsample_vec(a->nspatial, mode, xf, a->osize, a->nout, a->scale_factors, a->nscale, 0, out);
  return qg_cpu_upsample(a->nspatial, mode, xf, a->osize, a->scales, 0, out);
}

/* UpSample.h area_pixel_compute_scale<float> / area_pixel_compute_source_index<float>. */
static float pixel_scale(int64_t in, int64_t out, int align, double scale) {
  if (align) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
  return scale > 0.0 ? (float)(1.0 / scale) : (float)in / (float)out;
}
static float source_index(float scale, int64_t dst, int align) {
  if (align) return scale * (float)dst;
  const float src = scale * ((float)dst + 0.5f) - 0.5f;
  return src < 0.0f ? 0.0f : src;
}

/* upsample_bilinear2d_out_frame (UpSampleBilinear2d.cpp). sh / sw: the scales (<= 0: none). */
static void bilinear(const qg_tensor *x, qg_tensor *r, int align, double sh, double sw) {
  const qg_dtype dt = x->dtype;
  const int64_t ih = x->shape[2], iw = x->shape[3], oh = r->shape[2], ow = r->shape[3];
  const int64_t planes = x->shape[0] * x->shape[1];
  const void *src = qg_tensor_data(x);
  void *dst = qg_tensor_data(r);
  if (ih == oh && iw == ow) {
    if (qg_tensor_numel(x) > 0) memcpy(dst, src, qg_tensor_nbytes(x));
    return;
  }
  const float rh = pixel_scale(ih, oh, align, sh), rw = pixel_scale(iw, ow, align, sw);
  const int64_t zp = x->quantizer->zero_point;
  for (int64_t h2 = 0; h2 < oh; h2++) {
    const float h1r = source_index(rh, h2, align);
    const int64_t h1 = (int64_t)h1r, h1p = h1 < ih - 1 ? 1 : 0;
    const float h1l = h1r - (float)h1, h0l = 1.0f - h1l;
    for (int64_t w2 = 0; w2 < ow; w2++) {
      const float w1r = source_index(rw, w2, align);
      const int64_t w1 = (int64_t)w1r, w1p = w1 < iw - 1 ? 1 : 0;
      const float w1l = w1r - (float)w1, w0l = 1.0f - w1l;
      for (int64_t p = 0; p < planes; p++) {
        const int64_t b = p * ih * iw + h1 * iw + w1;
        const float v00 = (float)qg_q_load(dt, src, b), v01 = (float)qg_q_load(dt, src, b + w1p);
        const float v10 = (float)qg_q_load(dt, src, b + h1p * iw), v11 = (float)qg_q_load(dt, src, b + h1p * iw + w1p);
        const float result = h0l * (w0l * v00 + w1l * v01) + h1l * (w0l * v10 + w1l * v11) - (float)zp;
        /* requantized with output scale / input scale = 1 */
        qg_q_store(dt, dst, p * oh * ow + h2 * ow + w2, qg_q_quantize_scalar(dt, 1.0, zp, result));
      }
    }
  }
}

static qg_status qupsample(const up_args *a, int bilinear_mode, qg_tensor *x, qg_tensor **out) {
  static const char *const nearest[] = {"upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d"};
  static const char *const linear[] = {"upsample_linear1d", "upsample_bilinear2d", "upsample_trilinear3d"};
  /* PyTorch has quantized kernels for nearest 2-D / 3-D and bilinear 2-D only */
  if (a->nspatial >= 1 && a->nspatial <= 3 && (a->nspatial == 1 || (bilinear_mode && a->nspatial == 3)))
    return qg_set_error(QG_STATUS_UNSUPPORTED,
                        "Could not run 'aten::%s' with arguments from the 'QuantizedCPU' backend (no quantized kernel)",
                        bilinear_mode ? linear[a->nspatial - 1] : nearest[a->nspatial - 1]);
  qg_tensor *f;
  QG_TRY(on_ints("upsample", x, up_kernel, a, &f));
  if (!bilinear_mode) {
    qg_status st = qg_q_from_ints(f, x->dtype, x->quantizer, out);
    qg_tensor_release(f);
    return st;
  }
  if (x->ndim != 4) {
    qg_tensor_release(f);
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "upsample_bilinear2d: expected a 4-D input, got %d-D", x->ndim);
  }
  double sh = -1, sw = -1;
  if (a->vec && a->scale_factors) {
    sh = a->scale_factors[0];
    sw = a->scale_factors[a->nscale > 1 ? 1 : 0];
  } else if (!a->vec && a->scales) {
    sh = a->scales[0];
    sw = a->scales[1];
  }
  qg_tensor *cx = NULL, *r = NULL;
  qg_status st = qg_tensor_contiguous(x, &cx);
  if (st == QG_OK) st = qg_q_new(x->dtype, f->ndim, f->shape, x->quantizer->scale, x->quantizer->zero_point, &r);
  if (st == QG_OK) {
    bilinear(cx, r, a->align, sh, sw);
    *out = r;
  }
  qg_tensor_release(cx);
  qg_tensor_release(f);
  return st;
}

qg_status qg_cpu_qupsample_vec(int nspatial, int bilinear_mode, qg_tensor *x, const int64_t *output_size, int nout,
                               const double *scale_factors, int nscale, int align_corners, qg_tensor **out) {
  const up_args a = {nspatial, 1, align_corners, output_size, nout, nscale, scale_factors, NULL};
  return qupsample(&a, bilinear_mode, x, out);
}

qg_status qg_cpu_qupsample(int nspatial, int bilinear_mode, qg_tensor *x, const int64_t *output_size, const double *scales,
                           int align_corners, qg_tensor **out) {
  const up_args a = {nspatial, 0, align_corners, output_size, nspatial, 0, NULL, scales};
  return qupsample(&a, bilinear_mode, x, out);
}
