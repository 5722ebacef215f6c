/* Max, average and adaptive average pooling (see pool.h). Every op works on "planes": all
 * leading (batch and channel) dims flattened, spatial dims right-aligned into 3 slots. */
#include "ops/cpu/pool.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/linalg_common.h"
#include "ops/cpu/quantized_pool.h"

typedef struct pool_geom {
  int ns;
  int64_t planes;
  int64_t in[3], out[3], k[3], stride[3], pad[3], dil[3];
} pool_geom;

static const char *pool_name(const char *kind, int ns) {
  static const char *const names[3][3] = {
      {"max_pool1d", "max_pool2d", "max_pool3d"},
      {"avg_pool1d", "avg_pool2d", "avg_pool3d"},
      {"adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d"}};
  int row = kind[0] == 'm' ? 0 : kind[1] == 'v' ? 1 : 2;
  return names[row][ns - 1];
}

static qg_status list_arg(const char *op, const char *what, const char *rule, const int64_t *v,
                          int n, int ns, int allow_empty, int64_t dflt, int64_t *dst) {
  static const char *const counts[] = {"", "one", "two", "three"};
  if (n == 0 && allow_empty) {
    for (int i = 0; i < ns; i++) dst[i] = dflt;
  } else if (n == 1 || n == ns) {
    for (int i = 0; i < ns; i++) dst[i] = v[n == 1 ? 0 : i];
  } else {
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: %s must %s a single int, or a tuple of %s ints",
                        op, what, rule, counts[ns]);
  }
  return QG_OK;
}

/* Floor division (numerators may be negative). */
static int64_t div_floor(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t pooled_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil,
                           int ceil_mode) {
  int64_t out = div_floor(in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  /* The last window must start inside the input or the left padding. */
  if (ceil_mode && (out - 1) * stride >= in + pad) out--;
  return out;
}

/* "(C x H x W)" style sizes: "(1x2x2)". */
static char *paren_x(char *buf, int64_t c, int ns, const int64_t *v) {
  int len = snprintf(buf, QG_SHAPE_STR_MAX, "(%lld", (long long)c);
  for (int i = 0; i < ns; i++)
    len += snprintf(buf + len, (size_t)(QG_SHAPE_STR_MAX - len), "x%lld", (long long)v[i]);
  snprintf(buf + len, (size_t)(QG_SHAPE_STR_MAX - len), ")");
  return buf;
}

/* The shape checks of check_input (quantized inputs skip its float check). */
static qg_status check_input_shape(const char *op, const qg_tensor *x, int ns) {
  char s[QG_SHAPE_STR_MAX];
  if (x->ndim != ns + 1 && x->ndim != ns + 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Expected %dD or %dD (batch mode) tensor for input, but got input of "
                        "size %s",
                        op, ns + 1, ns + 2, qg_shape_str(x->ndim, x->shape, s, QG_SHAPE_STR_MAX));
  for (int i = 1; i < x->ndim; i++)
    if (x->shape[i] == 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: Expected input to have non-zero size for non-batch dimensions, but "
                          "got input of size %s",
                          op, qg_shape_str(x->ndim, x->shape, s, QG_SHAPE_STR_MAX));
  return QG_OK;
}

static qg_status check_input(const char *op, const qg_tensor *x, int ns) {
  if (ns < 1 || ns > 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "pool: expected 1, 2 or 3 spatial dims, got %d", ns);
  QG_TRY(qg__check_float(op, "input", x));
  return check_input_shape(op, x, ns);
}

/* Fills geometry for max/avg pooling after the argument checks. */
static qg_status window_geom(const char *op, const qg_tensor *x, int ns, const int64_t *k,
                             const int64_t *s, const int64_t *p, const int64_t *d, int ceil_mode,
                             pool_geom *g) {
  char b1[QG_SHAPE_STR_MAX], b2[QG_SHAPE_STR_MAX];
  for (int i = 0; i < ns; i++) {
    if (k[i] <= 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: kernel size should be greater than zero, but got %s",
                          op, qg_shape_str(ns, k, b1, QG_SHAPE_STR_MAX));
    if (s[i] <= 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: stride should be greater than zero, but got %s", op,
                          qg_shape_str(ns, s, b1, QG_SHAPE_STR_MAX));
    if (d[i] <= 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: dilation should be greater than zero, but got %s", op,
                          qg_shape_str(ns, d, b1, QG_SHAPE_STR_MAX));
    if (p[i] < 0 || p[i] > k[i] / 2)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: pad should be at most half of kernel size, but got pad=%lld and "
                          "kernel_size=%lld",
                          op, (long long)p[i], (long long)k[i]);
  }
  memset(g, 0, sizeof(*g));
  g->ns = ns;
  g->planes = 1;
  for (int i = 0; i < x->ndim - ns; i++) g->planes *= x->shape[i];
  int off = 3 - ns, bad = 0;
  int64_t outs[3];
  for (int i = 0; i < 3; i++) g->in[i] = g->out[i] = g->k[i] = g->stride[i] = g->dil[i] = 1;
  for (int i = 0; i < ns; i++) {
    int j = off + i;
    g->in[j] = x->shape[x->ndim - ns + i];
    g->k[j] = k[i];
    g->stride[j] = s[i];
    g->pad[j] = p[i];
    g->dil[j] = d[i];
    g->out[j] = outs[i] = pooled_size(g->in[j], k[i], p[i], s[i], d[i], ceil_mode);
    if (outs[i] < 1) bad = 1;
  }
  if (bad)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Given input size: %s. Calculated output size: %s. Output size is too "
                        "small",
                        op, paren_x(b1, x->shape[x->ndim - ns - 1], ns, x->shape + x->ndim - ns),
                        paren_x(b2, x->shape[x->ndim - ns - 1], ns, outs));
  return QG_OK;
}

static qg_status make_output(const qg_tensor *x, int ns, const pool_geom *g, qg_tensor **y) {
  int64_t shape[QG_MAX_DIMS];
  memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
  for (int i = 0; i < ns; i++) shape[x->ndim - ns + i] = g->out[3 - ns + i];
  return qg_tensor_create(x->dtype, x->ndim, shape, y);
}

/* Valid kernel taps [*lo, *hi) along one dim for output position `o`: those whose input index
 * o * stride - pad + tap * dil lies inside [0, in). Computed once per output instead of testing
 * every tap. */
static void tap_range(int64_t o, int64_t stride, int64_t pad, int64_t dil, int64_t k, int64_t in,
                      int64_t *lo, int64_t *hi) {
  int64_t start = o * stride - pad;
  *lo = 0;
  while (*lo < k && start + *lo * dil < 0) (*lo)++;
  *hi = k;
  while (*hi > *lo && start + (*hi - 1) * dil >= in) (*hi)--;
}

/* One typed loop per dtype: max over the valid taps; NaN wins (PyTorch). Branch-free inner loop
 * (`v > m ? v : m` becomes maxss/maxsd; NaN is tracked separately): on real activations the
 * comparisons are unpredictable and a branchy loop was 3x slower. */
#define QG__MAX_POOL_RUN(NAME, T, LOWEST, NAN_RESULT)                                              \
  static void NAME(const pool_geom *g, const T *x, T *y) {                                          \
    const int64_t S = g->in[0] * g->in[1] * g->in[2];                                               \
    int64_t o = 0;                                                                                  \
    for (int64_t pl = 0; pl < g->planes; pl++) {                                                    \
      const T *xp = x + pl * S;                                                                     \
      for (int64_t od = 0; od < g->out[0]; od++) {                                                  \
        int64_t alo, ahi;                                                                           \
        tap_range(od, g->stride[0], g->pad[0], g->dil[0], g->k[0], g->in[0], &alo, &ahi);           \
        for (int64_t oh = 0; oh < g->out[1]; oh++) {                                                \
          int64_t blo, bhi;                                                                         \
          tap_range(oh, g->stride[1], g->pad[1], g->dil[1], g->k[1], g->in[1], &blo, &bhi);         \
          for (int64_t ow = 0; ow < g->out[2]; ow++, o++) {                                         \
            int64_t clo, chi;                                                                       \
            tap_range(ow, g->stride[2], g->pad[2], g->dil[2], g->k[2], g->in[2], &clo, &chi);       \
            const int64_t id0 = od * g->stride[0] - g->pad[0], ih0 = oh * g->stride[1] - g->pad[1], \
                          iw0 = ow * g->stride[2] - g->pad[2];                                      \
            T best = LOWEST;                                                                        \
            int has_nan = 0;                                                                        \
            for (int64_t a = alo; a < ahi; a++)                                                     \
              for (int64_t b = blo; b < bhi; b++) {                                                 \
                const T *row = xp + ((id0 + a * g->dil[0]) * g->in[1] + ih0 + b * g->dil[1]) * g->in[2] + iw0; \
                for (int64_t c = clo; c < chi; c++) {                                               \
                  T v = row[c * g->dil[2]];                                                         \
                  best = v > best ? v : best;                                                       \
                  has_nan |= v != v;                                                                \
                }                                                                                   \
              }                                                                                     \
            y[o] = has_nan ? NAN_RESULT : best;                                                     \
          }                                                                                         \
        }                                                                                           \
      }                                                                                             \
    }                                                                                               \
  }
QG__MAX_POOL_RUN(max_pool_run_f32, float, -INFINITY, NAN)
QG__MAX_POOL_RUN(max_pool_run_f64, double, -INFINITY, NAN)
/* quint8 / qint8: the max of the stored integers is the max of the values (scale > 0), so
 * quantized max pooling runs on them directly (no NaN: has_nan stays 0) */
QG__MAX_POOL_RUN(max_pool_run_u8, uint8_t, 0, 0)
QG__MAX_POOL_RUN(max_pool_run_s8, int8_t, INT8_MIN, 0)
#undef QG__MAX_POOL_RUN

/* 2-D max pooling of 8-bit integers, separably: the max over a window is the max over its
 * rows of the max along each row (the valid taps form a product set), so each plane is first
 * reduced along width into `rowmax` (one row per input row, out[2] columns) and then along
 * height, a loop over contiguous rows the compiler vectorises; the valid taps along width are
 * found once per output column. No NaN to track. rowmax holds in[1] * out[2] elements, taps
 * 2 * out[2]. */
#define QG__MAX_POOL_2D_SEPARABLE(NAME, T)                                                          \
  static void NAME(const pool_geom *g, const T *x, T *y, T *rowmax, int64_t *taps) {               \
    const int64_t H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2], dw = g->dil[2];       \
    for (int64_t ow = 0; ow < OW; ow++)                                                             \
      tap_range(ow, g->stride[2], g->pad[2], dw, g->k[2], W, &taps[2 * ow], &taps[2 * ow + 1]);    \
    for (int64_t pl = 0; pl < g->planes; pl++) {                                                    \
      const T *xp = x + pl * H * W;                                                                 \
      T *yp = y + pl * OH * OW;                                                                     \
      for (int64_t ih = 0; ih < H; ih++) {                                                          \
        const T *xr = xp + ih * W - g->pad[2];                                                      \
        T *rm = rowmax + ih * OW;                                                                   \
        for (int64_t ow = 0; ow < OW; ow++) {                                                       \
          const T *row = xr + ow * g->stride[2];                                                    \
          const int64_t lo = taps[2 * ow], hi = taps[2 * ow + 1];                                   \
          T best = row[lo * dw];                                                                    \
          if (hi - lo == 3 && dw == 1) { /* the common 3-wide window, unrolled */                  \
            const T b = row[lo + 1], c = row[lo + 2];                                               \
            best = b > best ? b : best;                                                             \
            best = c > best ? c : best;                                                             \
          } else {                                                                                  \
            for (int64_t c = lo + 1; c < hi; c++) best = row[c * dw] > best ? row[c * dw] : best;   \
          }                                                                                         \
          rm[ow] = best;                                                                            \
        }                                                                                           \
      }                                                                                             \
      for (int64_t oh = 0; oh < OH; oh++) {                                                         \
        int64_t lo, hi;                                                                             \
        tap_range(oh, g->stride[1], g->pad[1], g->dil[1], g->k[1], H, &lo, &hi);                    \
        T *out = yp + oh * OW;                                                                      \
        const int64_t ih0 = oh * g->stride[1] - g->pad[1];                                          \
        memcpy(out, rowmax + (ih0 + lo * g->dil[1]) * OW, (size_t)OW * sizeof(T));                  \
        for (int64_t b = lo + 1; b < hi; b++) {                                                     \
          const T *r = rowmax + (ih0 + b * g->dil[1]) * OW;                                         \
          for (int64_t ow = 0; ow < OW; ow++) out[ow] = r[ow] > out[ow] ? r[ow] : out[ow];          \
        }                                                                                           \
      }                                                                                             \
    }                                                                                               \
  }
QG__MAX_POOL_2D_SEPARABLE(max_pool_2d_u8, uint8_t)
QG__MAX_POOL_2D_SEPARABLE(max_pool_2d_s8, int8_t)
#undef QG__MAX_POOL_2D_SEPARABLE

/* Runs the pooling; 2-D 8-bit pooling takes the separable loops (scratch: in[1] * out[2]
 * elements and taps: 2 * out[2], else NULL). */
static void max_pool_run(const pool_geom *g, const void *x, void *y, qg_dtype dt, void *scratch, int64_t *taps) {
  switch (dt) {
    case QG_DTYPE_F64: max_pool_run_f64(g, x, y); break;
    case QG_DTYPE_QUINT8: scratch ? max_pool_2d_u8(g, x, y, scratch, taps) : max_pool_run_u8(g, x, y); break;
    case QG_DTYPE_QINT8: scratch ? max_pool_2d_s8(g, x, y, scratch, taps) : max_pool_run_s8(g, x, y); break;
    default: max_pool_run_f32(g, x, y); break;
  }
}

qg_status qg_cpu_max_pool_nd(int nspatial, qg_tensor *input, const int64_t *kernel_size,
                             int nkernel, const int64_t *stride, int nstride,
                             const int64_t *padding, int npadding, const int64_t *dilation,
                             int ndilation, int ceil_mode, qg_tensor **out) {
  *out = NULL;
  /* 8-bit per-tensor: pooled here on the stored integers; other quantized tensors get
   * quantized_pool.c's checks and messages */
  const int q8 = (input->dtype == QG_DTYPE_QUINT8 || input->dtype == QG_DTYPE_QINT8) && input->quantizer &&
                 input->quantizer->scheme == QG_QSCHEME_PER_TENSOR_AFFINE;
  if (qg_dtype_info(input->dtype)->is_quantized && !q8)
    return qg_cpu_qmax_pool_nd(nspatial, input, kernel_size, nkernel, stride, nstride, padding, npadding, dilation,
                               ndilation, ceil_mode, out);
  if (nspatial < 1 || nspatial > 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "pool: expected 1, 2 or 3 spatial dims, got %d", nspatial);
  const char *op = pool_name("max", nspatial);
  int64_t k[3], s[3], p[3], d[3];
  QG_TRY(list_arg(op, "kernel_size", "either be", kernel_size, nkernel, nspatial, 0, 0, k));
  QG_TRY(list_arg(op, "stride", "either be omitted,", stride, nstride, nspatial, 1, 0, s));
  if (nstride == 0) memcpy(s, k, sizeof(k));
  QG_TRY(list_arg(op, "padding", "be either", padding, npadding, nspatial, 1, 0, p));
  QG_TRY(list_arg(op, "dilation", "be either", dilation, ndilation, nspatial, 1, 1, d));
  QG_TRY(q8 ? check_input_shape(op, input, nspatial) : check_input(op, input, nspatial));
  pool_geom g;
  QG_TRY(window_geom(op, input, nspatial, k, s, p, d, ceil_mode, &g));
  qg_tensor *x, *y = NULL;
  QG_TRY(qg_tensor_contiguous(input, &x));
  qg_status st = make_output(input, nspatial, &g, &y);
  if (st == QG_OK && q8) st = qg_tensor_set_quantizer(y, input->quantizer); /* same qparams as the input */
  void *scratch = NULL;
  int64_t *taps = NULL;
  if (st == QG_OK && q8 && g.in[0] == 1 && g.k[0] == 1) {
    scratch = qg__malloc((size_t)(g.in[1] * g.out[2]) + 1);
    taps = qg__malloc((size_t)(2 * g.out[2] + 1) * sizeof *taps);
    if (!scratch || !taps) st = qg_oom(op);
  }
  if (st == QG_OK && qg_tensor_numel(y) > 0)
    max_pool_run(&g, qg_tensor_data(x), qg_tensor_data(y), x->dtype, scratch, taps);
  qg__free(scratch);
  qg__free(taps);
  qg_tensor_release(x);
  if (st == QG_OK) *out = y;
  else qg_tensor_release(y);
  return st;
}

static void avg_pool_run(const pool_geom *g, const void *x, void *y, int is64,
                         int count_include_pad, int64_t divisor_override) {
  const int64_t S = g->in[0] * g->in[1] * g->in[2];
  int64_t o = 0;
  for (int64_t pl = 0; pl < g->planes; pl++) {
    const int64_t base = pl * S;
    for (int64_t od = 0; od < g->out[0]; od++)
      for (int64_t oh = 0; oh < g->out[1]; oh++)
        for (int64_t ow = 0; ow < g->out[2]; ow++, o++) {
          int64_t lo[3], hi[3], pos[3] = {od, oh, ow}, pool_size = 1, count = 1;
          for (int i = 0; i < 3; i++) {
            /* PyTorch: the window may stick out into the padding (counted when
             * count_include_pad) but not beyond it; then it is clipped to the input. */
            lo[i] = pos[i] * g->stride[i] - g->pad[i];
            hi[i] = lo[i] + g->k[i];
            if (hi[i] > g->in[i] + g->pad[i]) hi[i] = g->in[i] + g->pad[i];
            pool_size *= hi[i] - lo[i];
            if (lo[i] < 0) lo[i] = 0;
            if (hi[i] > g->in[i]) hi[i] = g->in[i];
            count *= hi[i] > lo[i] ? hi[i] - lo[i] : 0;
          }
          if (count == 0) {
            qg__st(y, is64, o, 0.0);
            continue;
          }
          double sum = 0;
          for (int64_t id = lo[0]; id < hi[0]; id++)
            for (int64_t ih = lo[1]; ih < hi[1]; ih++)
              for (int64_t iw = lo[2]; iw < hi[2]; iw++)
                sum += qg__ld(x, is64, base + (id * g->in[1] + ih) * g->in[2] + iw);
          int64_t div = divisor_override > 0 ? divisor_override
                        : count_include_pad  ? pool_size
                                             : count;
          qg__st(y, is64, o, sum / (double)div);
        }
  }
}

qg_status qg_cpu_avg_pool_nd(int nspatial, qg_tensor *input, const int64_t *kernel_size,
                             int nkernel, const int64_t *stride, int nstride,
                             const int64_t *padding, int npadding, int ceil_mode,
                             int count_include_pad, int64_t divisor_override, qg_tensor **out) {
  *out = NULL;
  if (qg_dtype_info(input->dtype)->is_quantized)
    return qg_cpu_qavg_pool_nd(nspatial, input, kernel_size, nkernel, stride, nstride, padding, npadding, ceil_mode,
                               count_include_pad, divisor_override, out);
  if (nspatial < 1 || nspatial > 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "pool: expected 1, 2 or 3 spatial dims, got %d", nspatial);
  const char *op = pool_name("avg", nspatial);
  int64_t k[3], s[3], p[3], d[3] = {1, 1, 1};
  QG_TRY(list_arg(op, "kernel_size", "either be", kernel_size, nkernel, nspatial, 0, 0, k));
  QG_TRY(list_arg(op, "stride", "either be omitted,", stride, nstride, nspatial, 1, 0, s));
  if (nstride == 0) memcpy(s, k, sizeof(k));
  QG_TRY(list_arg(op, "padding", "be either", padding, npadding, nspatial, 1, 0, p));
  if (divisor_override == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: divisor must be not zero", op);
  QG_TRY(check_input(op, input, nspatial));
  pool_geom g;
  QG_TRY(window_geom(op, input, nspatial, k, s, p, d, ceil_mode, &g));
  qg_tensor *x, *y;
  QG_TRY(qg_tensor_contiguous(input, &x));
  qg_status st = make_output(input, nspatial, &g, &y);
  if (st == QG_OK && qg_tensor_numel(y) > 0)
    avg_pool_run(&g, qg_tensor_data(x), qg_tensor_data(y), x->dtype == QG_DTYPE_F64,
                 count_include_pad, divisor_override);
  qg_tensor_release(x);
  if (st == QG_OK) *out = y;
  return st;
}

qg_status qg_cpu_adaptive_avg_pool_nd(int nspatial, qg_tensor *input, const int64_t *output_size,
                                      int noutput_size, qg_tensor **out) {
  *out = NULL;
  if (qg_dtype_info(input->dtype)->is_quantized)
    return qg_cpu_qadaptive_avg_pool_nd(nspatial, input, output_size, noutput_size, out);
  if (nspatial < 1 || nspatial > 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "pool: expected 1, 2 or 3 spatial dims, got %d", nspatial);
  const char *op = pool_name("adaptive", nspatial);
  int64_t os[3];
  if (noutput_size != nspatial)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: output_size must be %d, got %d values",
                        op, nspatial, noutput_size);
  memcpy(os, output_size, sizeof(int64_t) * (size_t)nspatial);
  for (int i = 0; i < nspatial; i++)
    if (os[i] < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: elements of output_size must be greater than or equal to 0 but "
                          "received %lld", op, (long long)os[i]);
  QG_TRY(check_input(op, input, nspatial));
  pool_geom g;
  memset(&g, 0, sizeof(g));
  g.ns = nspatial;
  g.planes = 1;
  for (int i = 0; i < input->ndim - nspatial; i++) g.planes *= input->shape[i];
  for (int i = 0; i < 3; i++) g.in[i] = g.out[i] = 1;
  for (int i = 0; i < nspatial; i++) {
    g.in[3 - nspatial + i] = input->shape[input->ndim - nspatial + i];
    g.out[3 - nspatial + i] = os[i];
  }
  qg_tensor *x, *y;
  QG_TRY(qg_tensor_contiguous(input, &x));
  qg_status st = make_output(input, nspatial, &g, &y);
  if (st == QG_OK && qg_tensor_numel(y) > 0) {
    const void *xd = qg_tensor_data(x);
    void *yd = qg_tensor_data(y);
    int is64 = x->dtype == QG_DTYPE_F64;
    const int64_t S = g.in[0] * g.in[1] * g.in[2];
    int64_t o = 0;
    for (int64_t pl = 0; pl < g.planes; pl++)
      for (int64_t od = 0; od < g.out[0]; od++)
        for (int64_t oh = 0; oh < g.out[1]; oh++)
          for (int64_t ow = 0; ow < g.out[2]; ow++, o++) {
            int64_t pos[3] = {od, oh, ow}, lo[3], hi[3];
            for (int i = 0; i < 3; i++) {
              lo[i] = pos[i] * g.in[i] / g.out[i];
              hi[i] = ((pos[i] + 1) * g.in[i] + g.out[i] - 1) / g.out[i];
            }
            double sum = 0;
            for (int64_t id = lo[0]; id < hi[0]; id++)
              for (int64_t ih = lo[1]; ih < hi[1]; ih++)
                for (int64_t iw = lo[2]; iw < hi[2]; iw++)
                  sum += qg__ld(xd, is64, pl * S + (id * g.in[1] + ih) * g.in[2] + iw);
            int64_t cnt = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
            qg__st(yd, is64, o, sum / (double)cnt);
          }
  }
  qg_tensor_release(x);
  if (st == QG_OK) *out = y;
  return st;
}
