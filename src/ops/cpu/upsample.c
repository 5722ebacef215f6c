/* Nearest and (bi/tri)linear upsampling (see upsample.h). Per spatial dim the source indices
 * and weights are computed once into tables, then every plane is interpolated from them. */
#include "ops/cpu/upsample.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/linalg_common.h"
#include "ops/cpu/quantized_pool.h"

/* One output coordinate of one dim: two source indices and their weights. */
typedef struct tap {
  int64_t i0, i1;
  double w0, w1;
} tap;

static const char *up_name(int ns, qg_upsample_mode mode) {
  static const char *const nearest[] = {"upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d"};
  static const char *const linear[] = {"upsample_linear1d", "upsample_bilinear2d", "upsample_trilinear3d"};
  return mode == QG_UPSAMPLE_NEAREST ? nearest[ns - 1] : linear[ns - 1];
}

/* compute_scales_value in float (f32) or double: 1/scale when given, else in/out. */
static double scales_value(int is64, double scale, int64_t in, int64_t out) {
  if (is64) return scale > 0 ? 1.0 / scale : (double)in / (double)out;
  return scale > 0 ? (double)(float)(1.0 / scale) : (double)((float)in / (float)out);
}

static void nearest_taps(int is64, int64_t in, int64_t out, double scale, tap *t) {
  for (int64_t o = 0; o < out; o++) {
    int64_t src;
    if (out == in) {
      src = o;
    } else if (out == 2 * in) {
      src = o >> 1;
    } else if (is64) {
      src = (int64_t)floor((double)o * scales_value(1, scale, in, out));
    } else {
      float s = (float)scales_value(0, scale, in, out);
      src = (int64_t)floorf((float)o * s);
    }
    if (src > in - 1) src = in - 1;
    t[o] = (tap){src, src, 1.0, 0.0};
  }
}

static void linear_taps(int is64, int64_t in, int64_t out, double scale, int align_corners, tap *t) {
  for (int64_t o = 0; o < out; o++) {
    if (out == in) {
      t[o] = (tap){o, o, 1.0, 0.0};
      continue;
    }
    double real;
    int64_t i0;
    if (is64) {
      double r = align_corners ? (out > 1 ? (double)(in - 1) / (double)(out - 1) : 0.0)
                               : scales_value(1, scale, in, out);
      real = align_corners ? r * (double)o : r * ((double)o + 0.5) - 0.5;
      if (real < 0) real = 0;
      i0 = (int64_t)floor(real);
      if (i0 > in - 1) i0 = in - 1;
      double l1 = real - (double)i0;
      l1 = l1 < 0 ? 0 : l1 > 1 ? 1 : l1;
      t[o] = (tap){i0, i0 + (i0 < in - 1 ? 1 : 0), 1.0 - l1, l1};
    } else {
      float r = align_corners ? (out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f)
                              : (float)scales_value(0, scale, in, out);
      float rf = align_corners ? r * (float)o : r * ((float)o + 0.5f) - 0.5f;
      if (rf < 0) rf = 0;
      i0 = (int64_t)floorf(rf);
      if (i0 > in - 1) i0 = in - 1;
      float l1 = rf - (float)i0;
      l1 = l1 < 0 ? 0 : l1 > 1 ? 1 : l1;
      t[o] = (tap){i0, i0 + (i0 < in - 1 ? 1 : 0), (double)(1.0f - l1), (double)l1};
    }
  }
}

static qg_status upsample_impl(const char *op, int ns, qg_upsample_mode mode, qg_tensor *input,
                               const int64_t *osize, const double *scales, int align_corners,
                               qg_tensor **out) {
  char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX];
  QG_TRY(qg__check_float(op, "input", input));
  if (input->ndim != ns + 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: expected a %dD input [N, C, ...], got input of size %s", op, ns + 2,
                        qg_shape_str(input->ndim, input->shape, s1, QG_SHAPE_STR_MAX));
  const int64_t *isize = input->shape + 2;
  for (int i = 0; i < ns; i++)
    if (isize[i] <= 0 || osize[i] <= 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: Input and output sizes should be greater than 0, but got input %s "
                          "output %s",
                          op, qg_shape_str(ns, isize, s1, QG_SHAPE_STR_MAX), qg_shape_str(ns, osize, s2, QG_SHAPE_STR_MAX));
  int64_t in[3] = {1, 1, 1}, on[3] = {1, 1, 1};
  double sc[3] = {0, 0, 0};
  for (int i = 0; i < ns; i++) {
    in[3 - ns + i] = isize[i];
    on[3 - ns + i] = osize[i];
    sc[3 - ns + i] = scales ? scales[i] : 0.0;
  }
  int64_t shape[5] = {input->shape[0], input->shape[1]};
  for (int i = 0; i < ns; i++) shape[2 + i] = osize[i];

  const int is64 = input->dtype == QG_DTYPE_F64;
  qg_tensor *x = NULL, *y = NULL;
  tap *taps = NULL;
  qg_status st = qg_tensor_contiguous(input, &x);
  if (st == QG_OK) st = qg_tensor_create(input->dtype, ns + 2, shape, &y);
  if (st == QG_OK) {
    taps = qg__calloc((size_t)(on[0] + on[1] + on[2]), sizeof(tap));
    if (!taps) st = qg_oom("upsample: index tables");
  }
  if (st == QG_OK && qg_tensor_numel(y) > 0) {
    tap *t[3] = {taps, taps + on[0], taps + on[0] + on[1]};
    for (int i = 0; i < 3; i++) {
      if (mode == QG_UPSAMPLE_NEAREST)
        nearest_taps(is64, in[i], on[i], sc[i], t[i]);
      else
        linear_taps(is64, in[i], on[i], sc[i], align_corners, t[i]);
    }
    const void *xd = qg_tensor_data(x);
    void *yd = qg_tensor_data(y);
    const int64_t planes = shape[0] * shape[1], S = in[0] * in[1] * in[2];
    int64_t o = 0;
    for (int64_t pl = 0; pl < planes; pl++)
      for (int64_t od = 0; od < on[0]; od++)
        for (int64_t oh = 0; oh < on[1]; oh++)
          for (int64_t ow = 0; ow < on[2]; ow++, o++) {
            const tap *a = &t[0][od], *b = &t[1][oh], *c = &t[2][ow];
            if (mode == QG_UPSAMPLE_NEAREST) {
              qg__st(yd, is64, o, qg__ld(xd, is64, pl * S + (a->i0 * in[1] + b->i0) * in[2] + c->i0));
              continue;
            }
            double v = 0;
            for (int da = 0; da < 2; da++) {
              double wa = da ? a->w1 : a->w0;
              int64_t id = da ? a->i1 : a->i0;
              double vb = 0;
              for (int db = 0; db < 2; db++) {
                double wb = db ? b->w1 : b->w0;
                int64_t row = pl * S + (id * in[1] + (db ? b->i1 : b->i0)) * in[2];
                /* Zero weights still multiply (NaN neighbours propagate as in PyTorch). */
                double vc = c->w0 * qg__ld(xd, is64, row + c->i0) + c->w1 * qg__ld(xd, is64, row + c->i1);
                vb += wb * vc;
              }
              v += wa * vb;
            }
            qg__st(yd, is64, o, v);
          }
  }
  qg__free(taps);
  qg_tensor_release(x);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_upsample(int nspatial, qg_upsample_mode mode, qg_tensor *input,
                          const int64_t *output_size, const double *scales, int align_corners,
                          qg_tensor **out) {
  *out = NULL;
  if (qg_dtype_info(input->dtype)->is_quantized)
    return qg_cpu_qupsample(nspatial, mode == QG_UPSAMPLE_LINEAR, input, output_size, scales, align_corners, out);
  if (nspatial < 1 || nspatial > 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "upsample: expected 1, 2 or 3 spatial dims, got %d", nspatial);
  return upsample_impl(up_name(nspatial, mode), nspatial, mode, input, output_size, scales,
                       align_corners, out);
}

qg_status qg_cpu_upsample_vec(int nspatial, qg_upsample_mode mode, qg_tensor *input,
                              const int64_t *output_size, int noutput_size,
                              const double *scale_factors, int nscale, int align_corners,
                              qg_tensor **out) {
  *out = NULL;
  if (qg_dtype_info(input->dtype)->is_quantized)
    return qg_cpu_qupsample_vec(nspatial, mode == QG_UPSAMPLE_LINEAR, input, output_size, noutput_size,
                                scale_factors, nscale, align_corners, out);
  if (nspatial < 1 || nspatial > 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "upsample: expected 1, 2 or 3 spatial dims, got %d", nspatial);
  const char *op = up_name(nspatial, mode);
  int have_size = output_size != NULL, have_scale = scale_factors != NULL;
  if (have_size == have_scale)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Must specify exactly one of output_size and scale_factors", op);
  if (have_size && noutput_size != nspatial)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: expected %d output sizes, got %d", op,
                        nspatial, noutput_size);
  if (have_scale && nscale != nspatial)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: expected %d scale factors, got %d", op,
                        nspatial, nscale);
  if (have_size)
    return upsample_impl(op, nspatial, mode, input, output_size, NULL, align_corners, out);
  if (input->ndim != nspatial + 2) /* reported by upsample_impl with the sizes */
    return upsample_impl(op, nspatial, mode, input, NULL, NULL, align_corners, out);
  int64_t os[3];
  for (int i = 0; i < nspatial; i++)
    os[i] = (int64_t)floor((double)input->shape[2 + i] * scale_factors[i]);
  return upsample_impl(op, nspatial, mode, input, os, scale_factors, align_corners, out);
}
