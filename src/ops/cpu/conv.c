/* Convolution: argument checking shared with the transposed form, and the forward path as
 * im2col + one GEMM per image and group (see conv.h). */
#include "ops/cpu/conv.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/linalg_common.h"

void qg_conv_params_init(qg_conv_params *p, int nspatial, int transposed) {
  memset(p, 0, sizeof(*p));
  p->nspatial = nspatial;
  p->transposed = transposed;
  p->padding_mode = QG_CONV_PADDING_EXPLICIT;
  for (int i = 0; i < 3; i++) {
    p->stride[i] = 1;
    p->dilation[i] = 1;
  }
  p->groups = 1;
}

static const char *op_name(const qg_conv_params *p) {
  static const char *const fwd[] = {"conv1d", "conv2d", "conv3d"};
  static const char *const tr[] = {"conv_transpose1d", "conv_transpose2d", "conv_transpose3d"};
  return p->transposed ? tr[p->nspatial - 1] : fwd[p->nspatial - 1];
}

/* "(2 x 2)" for the spatial sizes, as PyTorch's padded-input-size message. */
static char *sizes_paren(char *buf, int n, const int64_t *v) {
  size_t len = 0;
  buf[len++] = '(';
  for (int i = 0; i < n; i++)
    len += (size_t)snprintf(buf + len, QG_SHAPE_STR_MAX - len, "%s%lld", i ? " x " : "",
                            (long long)v[i]);
  buf[len++] = ')';
  buf[len] = '\0';
  return buf;
}

static qg_status check_params(const char *op, const qg_conv_params *p) {
  int ns = p->nspatial;
  if (p->groups <= 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: non-positive groups is not supported", op);
  for (int i = 0; i < ns; i++) {
    if (p->stride[i] <= 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: non-positive stride is not supported", op);
    if (p->padding[i] < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: negative padding is not supported", op);
    if (p->dilation[i] <= 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: dilation should be greater than zero", op);
    if (p->transposed && p->output_padding[i] < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: negative output_padding is not supported", op);
    if (p->transposed && p->output_padding[i] >= p->stride[i] &&
        p->output_padding[i] >= p->dilation[i])
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: output padding must be smaller than either stride or dilation, "
                          "but got output_padding=%lld, stride=%lld, dilation=%lld in dimension %d",
                          op, (long long)p->output_padding[i], (long long)p->stride[i],
                          (long long)p->dilation[i], i);
  }
  if (p->padding_mode == QG_CONV_PADDING_SAME) {
    if (p->transposed)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: padding='same' is not supported", op);
    for (int i = 0; i < ns; i++)
      if (p->stride[i] != 1)
        return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                            "%s: padding='same' is not supported for strided convolutions", op);
  }
  return QG_OK;
}

/* Checks shapes and fills the geometry; `batched` tells whether input had a batch dim. */
static qg_status make_geom(const char *op, const qg_tensor *x, const qg_tensor *w,
                           const qg_tensor *b, const qg_conv_params *p, qg__conv_geom *g,
                           int *batched) {
  char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX], s3[QG_SHAPE_STR_MAX];
  int ns = p->nspatial;
  QG_TRY(qg__check_float(op, "input", x));
  QG_TRY(qg__check_same_dtype(op, "input", x, "weight", w));
  if (b) QG_TRY(qg__check_same_dtype(op, "input", x, "bias", b));
  QG_TRY(check_params(op, p));
  if (w->ndim != ns + 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: expected %d-dimensional weight, but got weight of size %s", op, ns + 2,
                        qg_shape_str(w->ndim, w->shape, s1, QG_SHAPE_STR_MAX));
  if (x->ndim != ns + 1 && x->ndim != ns + 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Expected %dD (unbatched) or %dD (batched) input to %s, but got input of "
                        "size: %s",
                        ns + 1, ns + 2, op, qg_shape_str(x->ndim, x->shape, s1, QG_SHAPE_STR_MAX));
  *batched = x->ndim == ns + 2;
  int64_t xs[QG_MAX_DIMS]; /* the input's shape with a batch dim */
  xs[0] = *batched ? x->shape[0] : 1;
  for (int i = 0; i < ns + 1; i++) xs[i + 1] = x->shape[i + (*batched ? 1 : 0)];

  memset(g, 0, sizeof(*g));
  g->dtype = x->dtype;
  g->n = xs[0];
  g->c_in = xs[1];
  g->groups = p->groups;
  if (!p->transposed) {
    if (w->shape[0] % p->groups != 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "Given groups=%lld, expected weight to be divisible by %lld at "
                          "dimension 0, but got weight of size %s instead",
                          (long long)p->groups, (long long)p->groups,
                          qg_shape_str(w->ndim, w->shape, s1, QG_SHAPE_STR_MAX));
    if (g->c_in != w->shape[1] * p->groups)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "Given groups=%lld, weight of size %s, expected input%s to have %lld "
                          "channels, but got %lld channels instead",
                          (long long)p->groups, qg_shape_str(w->ndim, w->shape, s1, QG_SHAPE_STR_MAX),
                          qg_shape_str(ns + 2, xs, s2, QG_SHAPE_STR_MAX), (long long)(w->shape[1] * p->groups),
                          (long long)g->c_in);
    g->c_out = w->shape[0];
  } else {
    if (g->c_in != w->shape[0])
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "Given transposed=1, weight of size %s, expected input%s to have %lld "
                          "channels, but got %lld channels instead",
                          qg_shape_str(w->ndim, w->shape, s1, QG_SHAPE_STR_MAX), qg_shape_str(ns + 2, xs, s2, QG_SHAPE_STR_MAX),
                          (long long)w->shape[0], (long long)g->c_in);
    if (w->shape[0] % p->groups != 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "Given groups=%lld, expected weight to be divisible by %lld at "
                          "dimension 0, but got weight of size %s instead",
                          (long long)p->groups, (long long)p->groups,
                          qg_shape_str(w->ndim, w->shape, s1, QG_SHAPE_STR_MAX));
    g->c_out = w->shape[1] * p->groups;
  }
  if (b && (b->ndim != 1 || b->shape[0] != g->c_out))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Given weight of size %s, expected bias to be 1-dimensional with %lld "
                        "elements, but got bias of size %s instead",
                        qg_shape_str(w->ndim, w->shape, s1, QG_SHAPE_STR_MAX), (long long)g->c_out,
                        qg_shape_str(b->ndim, b->shape, s2, QG_SHAPE_STR_MAX));

  /* Spatial dims, right-aligned into 3 slots. */
  int off = 3 - ns;
  int64_t padded[3], ksz[3], outsz[3];
  for (int i = 0; i < 3; i++) {
    g->in[i] = g->k[i] = g->out[i] = g->stride[i] = g->dilation[i] = 1;
    g->pad_lo[i] = 0;
  }
  for (int i = 0; i < ns; i++) {
    int j = off + i;
    int64_t in = xs[2 + i], k = w->shape[2 + i];
    int64_t span = p->dilation[i] * (k - 1) + 1; /* effective kernel size */
    int64_t lo = p->padding[i], hi = p->padding[i];
    if (p->padding_mode == QG_CONV_PADDING_VALID) lo = hi = 0;
    if (p->padding_mode == QG_CONV_PADDING_SAME) {
      lo = (span - 1) / 2;
      hi = span - 1 - lo;
    }
    g->in[j] = in;
    g->k[j] = k;
    g->stride[j] = p->stride[i];
    g->dilation[j] = p->dilation[i];
    g->pad_lo[j] = lo;
    padded[i] = in + lo + hi;
    ksz[i] = span;
    if (!p->transposed) {
      outsz[i] = padded[i] >= span ? (padded[i] - span) / p->stride[i] + 1 : 0;
    } else {
      outsz[i] = (in - 1) * p->stride[i] - 2 * lo + span + p->output_padding[i];
    }
    g->out[j] = outsz[i];
  }
  if (!p->transposed) {
    for (int i = 0; i < ns; i++)
      if (padded[i] < ksz[i])
        return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                            "%s: Calculated padded input size per channel: %s. Kernel size: %s. "
                            "Kernel size can't be greater than actual input size",
                            op, sizes_paren(s1, ns, padded), sizes_paren(s2, ns, ksz));
  } else {
    for (int i = 0; i < ns; i++)
      if (outsz[i] <= 0)
        return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                            "%s: Given input size per channel: %s. Calculated output size per "
                            "channel: %s. Output size is too small",
                            op, sizes_paren(s1, ns, xs + 2), sizes_paren(s3, ns, outsz));
  }
  return QG_OK;
}

/* Copies `count` elements of size es from src (element stride `step`) to dst (dense). */
static void copy_strided(void *dst, const void *src, int64_t count, int64_t step, size_t es) {
  if (step == 1) {
    memcpy(dst, src, (size_t)count * es);
  } else if (es == 4) {
    uint32_t *d = dst;
    const uint32_t *s = src;
    for (int64_t i = 0; i < count; i++) d[i] = s[i * step];
  } else {
    uint64_t *d = dst;
    const uint64_t *s = src;
    for (int64_t i = 0; i < count; i++) d[i] = s[i * step];
  }
}

/* First o in [0, n) with 0 <= o*s + base, and one past the last with o*s + base < limit. */
static void valid_range(int64_t base, int64_t s, int64_t limit, int64_t n, int64_t *lo, int64_t *hi) {
  int64_t a = base >= 0 ? 0 : (-base + s - 1) / s;
  int64_t b = limit - base <= 0 ? 0 : (limit - base - 1) / s + 1;
  if (a > n) a = n;
  if (b > n) b = n;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

/* col[(c, kd, kh, kw), (od, oh, ow)] = x[c, od*s - p + kd*d, ...] or 0 in the padding. Works
 * on bits (float and double zero are all-zero bytes). */
static void im2col(const qg__conv_geom *g, const char *x, char *col, size_t es) {
  const int64_t D = g->in[0], H = g->in[1], W = g->in[2];
  const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
  const int64_t P = OD * OH * OW;
  char *dst = col;
  for (int64_t c = 0; c < g->c_in; c++) {
    for (int64_t kd = 0; kd < g->k[0]; kd++) {
      for (int64_t kh = 0; kh < g->k[1]; kh++) {
        for (int64_t kw = 0; kw < g->k[2]; kw++, dst += (size_t)P * es) {
          int64_t wbase = kw * g->dilation[2] - g->pad_lo[2];
          int64_t wlo, whi;
          valid_range(wbase, g->stride[2], W, OW, &wlo, &whi);
          char *row = dst;
          for (int64_t od = 0; od < OD; od++) {
            int64_t id = od * g->stride[0] - g->pad_lo[0] + kd * g->dilation[0];
            for (int64_t oh = 0; oh < OH; oh++, row += (size_t)OW * es) {
              int64_t ih = oh * g->stride[1] - g->pad_lo[1] + kh * g->dilation[1];
              if (id < 0 || id >= D || ih < 0 || ih >= H) {
                memset(row, 0, (size_t)OW * es);
                continue;
              }
              const char *src = x + (size_t)(((c * D + id) * H + ih) * W) * es;
              if (wlo > 0) memset(row, 0, (size_t)wlo * es);
              if (whi > wlo)
                copy_strided(row + (size_t)wlo * es,
                             src + (size_t)(wlo * g->stride[2] + wbase) * es, whi - wlo,
                             g->stride[2], es);
              if (whi < OW) memset(row + (size_t)whi * es, 0, (size_t)(OW - whi) * es);
            }
          }
        }
      }
    }
  }
}

static qg_status conv_forward_run(const qg__conv_geom *g, const void *x, const void *w, void *y) {
  const size_t es = qg_dtype_info(g->dtype)->size;
  const int64_t S_in = g->in[0] * g->in[1] * g->in[2];
  const int64_t P = g->out[0] * g->out[1] * g->out[2];
  const int64_t K = g->k[0] * g->k[1] * g->k[2];
  const int64_t cig = g->c_in / g->groups, cog = g->c_out / g->groups;
  int direct = K == 1;
  for (int i = 0; i < 3; i++) direct = direct && g->stride[i] == 1 && g->pad_lo[i] == 0;
  char *col = NULL;
  if (!direct && g->n > 0 && P > 0 && g->c_in > 0) {
    size_t count = (size_t)(g->c_in * K);
    if (count != 0 && (size_t)P > SIZE_MAX / es / count)
      return qg_set_error(QG_STATUS_OOM, "conv: im2col buffer size overflows");
    col = qg__malloc(count * (size_t)P * es);
    if (!col) return qg_oom("conv: im2col buffer");
  }
  qg_status st = QG_OK;
  for (int64_t n = 0; n < g->n && st == QG_OK; n++) {
    const char *xn = (const char *)x + (size_t)(n * g->c_in * S_in) * es;
    char *yn = (char *)y + (size_t)(n * g->c_out * P) * es;
    const char *b = xn;
    if (!direct) {
      if (col) im2col(g, xn, col, es);
      b = col;
    }
    for (int64_t gi = 0; gi < g->groups && st == QG_OK; gi++) {
      st = qg__gemm("conv", g->dtype, 0, 0, cog, P, cig * K, 1.0,
                    (const char *)w + (size_t)(gi * cog * cig * K) * es, cig * K,
                    b ? b + (size_t)(gi * cig * K * P) * es : NULL, P, 0.0,
                    yn + (size_t)(gi * cog * P) * es, P);
    }
  }
  qg__free(col);
  return st;
}

static void add_bias(const qg__conv_geom *g, const qg_tensor *bias, void *y) {
  const int64_t P = g->out[0] * g->out[1] * g->out[2];
  const void *b = qg_tensor_data(bias);
  int is64 = g->dtype == QG_DTYPE_F64;
  for (int64_t n = 0; n < g->n; n++) {
    for (int64_t c = 0; c < g->c_out; c++) {
      int64_t base = (n * g->c_out + c) * P;
      if (is64) {
        double v = ((const double *)b)[c], *p = (double *)y + base;
        for (int64_t i = 0; i < P; i++) p[i] += v;
      } else {
        float v = ((const float *)b)[c], *p = (float *)y + base;
        for (int64_t i = 0; i < P; i++) p[i] += v;
      }
    }
  }
}

qg_status qg_cpu_conv(qg_tensor *input, qg_tensor *weight, qg_tensor *bias,
                      const qg_conv_params *p, qg_tensor **out) {
  *out = NULL;
  if (p->nspatial < 1 || p->nspatial > 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "conv: expected 1, 2 or 3 spatial dims, got %d",
                        p->nspatial);
  const char *op = op_name(p);
  qg__conv_geom g;
  int batched = 0;
  QG_TRY(make_geom(op, input, weight, bias, p, &g, &batched));

  int64_t shape[5];
  int nd = 0;
  if (batched) shape[nd++] = g.n;
  shape[nd++] = g.c_out;
  for (int i = 3 - p->nspatial; i < 3; i++) shape[nd++] = g.out[i];

  qg_tensor *x = NULL, *w = NULL, *b = NULL, *y = NULL;
  qg_status st = qg_tensor_contiguous(input, &x);
  if (st == QG_OK) st = qg_tensor_contiguous(weight, &w);
  if (st == QG_OK && bias) st = qg_tensor_contiguous(bias, &b);
  if (st == QG_OK) st = qg_tensor_create(g.dtype, nd, shape, &y);
  if (st == QG_OK && qg_tensor_numel(y) > 0) {
    if (p->transposed)
      st = qg__conv_transpose_run(&g, qg_tensor_data(x), qg_tensor_data(w), qg_tensor_data(y));
    else
      st = conv_forward_run(&g, qg_tensor_data(x), qg_tensor_data(w), qg_tensor_data(y));
    if (st == QG_OK && b) add_bias(&g, b, qg_tensor_data(y));
  }
  qg_tensor_release(x);
  qg_tensor_release(w);
  qg_tensor_release(b);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return qg_error_prefix(st, "%s", op);
  }
  *out = y;
  return QG_OK;
}

static qg_status expand_common(const char *op, qg_conv_params *p, const int64_t *stride,
                               int nstride, const int64_t *dilation, int ndilation) {
  QG_TRY(qg__expand_ints(op, "stride", stride, nstride, p->nspatial, 1, p->stride));
  QG_TRY(qg__expand_ints(op, "dilation", dilation, ndilation, p->nspatial, 1, p->dilation));
  return QG_OK;
}

static qg_status check_nspatial(int nspatial) {
  if (nspatial < 1 || nspatial > 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "conv: expected 1, 2 or 3 spatial dims, got %d",
                        nspatial);
  return QG_OK;
}

qg_status qg_cpu_conv_nd(int nspatial, qg_tensor *input, qg_tensor *weight, qg_tensor *bias,
                         const int64_t *stride, int nstride, const int64_t *padding, int npadding,
                         const int64_t *dilation, int ndilation, int64_t groups,
                         qg_tensor **out) {
  *out = NULL;
  QG_TRY(check_nspatial(nspatial));
  qg_conv_params p;
  qg_conv_params_init(&p, nspatial, 0);
  const char *op = op_name(&p);
  QG_TRY(expand_common(op, &p, stride, nstride, dilation, ndilation));
  QG_TRY(qg__expand_ints(op, "padding", padding, npadding, nspatial, 0, p.padding));
  p.groups = groups;
  return qg_cpu_conv(input, weight, bias, &p, out);
}

qg_status qg_cpu_conv_nd_padding_str(int nspatial, qg_tensor *input, qg_tensor *weight,
                                     qg_tensor *bias, const int64_t *stride, int nstride,
                                     const char *padding, const int64_t *dilation, int ndilation,
                                     int64_t groups, qg_tensor **out) {
  *out = NULL;
  QG_TRY(check_nspatial(nspatial));
  qg_conv_params p;
  qg_conv_params_init(&p, nspatial, 0);
  const char *op = op_name(&p);
  QG_TRY(expand_common(op, &p, stride, nstride, dilation, ndilation));
  if (strcmp(padding, "same") == 0)
    p.padding_mode = QG_CONV_PADDING_SAME;
  else if (strcmp(padding, "valid") == 0)
    p.padding_mode = QG_CONV_PADDING_VALID;
  else
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: Invalid padding string: '%s'", op, padding);
  p.groups = groups;
  return qg_cpu_conv(input, weight, bias, &p, out);
}

qg_status qg_cpu_conv_transpose_nd(int nspatial, qg_tensor *input, qg_tensor *weight,
                                   qg_tensor *bias, const int64_t *stride, int nstride,
                                   const int64_t *padding, int npadding,
                                   const int64_t *output_padding, int noutput_padding,
                                   int64_t groups, const int64_t *dilation, int ndilation,
                                   qg_tensor **out) {
  *out = NULL;
  QG_TRY(check_nspatial(nspatial));
  qg_conv_params p;
  qg_conv_params_init(&p, nspatial, 1);
  const char *op = op_name(&p);
  QG_TRY(expand_common(op, &p, stride, nstride, dilation, ndilation));
  QG_TRY(qg__expand_ints(op, "padding", padding, npadding, nspatial, 0, p.padding));
  QG_TRY(qg__expand_ints(op, "output_padding", output_padding, noutput_padding, nspatial, 0,
                         p.output_padding));
  p.groups = groups;
  return qg_cpu_conv(input, weight, bias, &p, out);
}

qg_status qg_cpu_convolution(qg_tensor *input, qg_tensor *weight, qg_tensor *bias,
                             const int64_t *stride, int nstride, const int64_t *padding,
                             int npadding, const int64_t *dilation, int ndilation, int transposed,
                             const int64_t *output_padding, int noutput_padding, int64_t groups,
                             qg_tensor **out) {
  *out = NULL;
  int ns = weight->ndim - 2;
  if (ns < 1 || ns > 3) {
    char s[QG_SHAPE_STR_MAX];
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "_convolution: weight should have 3 to 5 dimensions, but got weight of "
                        "size %s",
                        qg_shape_str(weight->ndim, weight->shape, s, QG_SHAPE_STR_MAX));
  }
  if (transposed)
    return qg_cpu_conv_transpose_nd(ns, input, weight, bias, stride, nstride, padding, npadding,
                                    output_padding, noutput_padding, groups, dilation, ndilation,
                                    out);
  return qg_cpu_conv_nd(ns, input, weight, bias, stride, nstride, padding, npadding, dilation,
                        ndilation, groups, out);
}
