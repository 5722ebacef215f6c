/* Quantized activation kernels (quantized_activation.h). Each value op states the scalar and
 * the vector form PyTorch's kernel uses, with the float / double types of its constants. */
#include "ops/cpu/quantized_activation.h"

#include <math.h>
#include <string.h>

#include "ops/cpu/activation.h"
#include "ops/cpu/pointwise_common.h"
#include "ops/cpu/quantized_common.h"
#include "ops/cpu/quantized_quantize.h"

/* Applies f to every stored integer of x (any strides) into r (contiguous, same shape), telling
 * f whether PyTorch computes that element in the vector form. */
typedef int64_t (*value_fn)(const void *ctx, int vec, int64_t q);
static void map_values(const qg_tensor *x, qg_tensor *r, value_fn f, const void *ctx) {
  const qg_tensor *ops[1] = {x};
  qg__pw_iter it;
  qg__pw_iter_init(&it, x->ndim, x->shape, 1, ops);
  qg_q_loop plan;
  qg_q_loop_plan(&plan, x->dtype, x->ndim, x->shape, 1, (const int64_t(*)[QG_MAX_DIMS])it.strides);
  const void *src = qg_tensor_data(x);
  void *dst = qg_tensor_data(r);
  for (int64_t k = 0, n = qg_tensor_numel(x); k < n; k++) {
    qg_q_store(r->dtype, dst, k, f(ctx, qg_q_loop_is_vec(&plan, k), qg_q_load(x->dtype, src, it.off[0])));
    qg__pw_iter_next(&it);
  }
}

/* ---- integer-domain ops --------------------------------------------------------------------- */

typedef struct bounds {
  int64_t lo, hi;
} bounds;

static int64_t clamp_value(const void *ctx, int vec, int64_t q) {
  (void)vec;
  const bounds *b = ctx;
  if (q < b->lo) q = b->lo;
  if (q > b->hi) q = b->hi;
  return q;
}

static qg_status clamp_to(const char *op, qg_tensor *x, int64_t lo, int64_t hi, qg_tensor **out) {
  QG_TRY(qg_q_check_per_tensor(op, x));
  qg_tensor *r;
  QG_TRY(qg_q_new(x->dtype, x->ndim, x->shape, x->quantizer->scale, x->quantizer->zero_point, &r));
  const bounds b = {lo, hi};
  map_values(x, r, clamp_value, &b);
  *out = r;
  return QG_OK;
}

qg_status qg_cpu_qrelu(qg_tensor *x, qg_tensor **out) {
  int64_t qmin, qmax;
  QG_TRY(qg_q_check_per_tensor("relu", x)); /* before reading the zero point */
  qg_q_range(x->dtype, &qmin, &qmax);
  return clamp_to("relu", x, x->quantizer->zero_point, qmax, out);
}

qg_status qg_cpu_qclamp(qg_tensor *x, int has_lo, double lo, int has_hi, double hi, qg_tensor **out) {
  QG_TRY(qg_q_check_per_tensor("clamp", x));
  if (!has_lo && !has_hi)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "At least one of 'min' or 'max' must not be None");
  int64_t qlo, qhi;
  qg_q_range(x->dtype, &qlo, &qhi);
  /* qclamp_kernel: the bounds are Scalar::to<float>() quantized with the input's qparams */
  const double s = x->quantizer->scale;
  const int64_t z = x->quantizer->zero_point;
  if (has_lo) qlo = qg_q_quantize_scalar(x->dtype, s, z, (float)lo);
  if (has_hi) qhi = qg_q_quantize_scalar(x->dtype, s, z, (float)hi);
  /* std::min(std::max(q, lo), hi): hi wins when the bounds cross, as clamp_value does */
  return clamp_to("clamp", x, qlo, qhi, out);
}

/* ---- dequantize -> f -> requantize ---------------------------------------------------------- */

typedef struct unary_ctx {
  qg_qunary_kind kind;
  qg_dtype dtype;
  float in_scale, in_premul;
  int64_t in_zp;
  double out_scale; /* what the scalar quantize_val receives */
  float inv_vec;    /* what the vector quantize receives, computed as the kernel does */
  int64_t out_zp;
  float a, b, c;
} unary_ctx;

static float clampf(float v, float lo, float hi) { return v < lo ? lo : hi < v ? hi : v; }
static float vmax0(float v) { return v > 0.0f ? v : 0.0f; } /* _mm512_max_ps(v, 0) */
static float vmin6(float v) { return v < 6.0f ? v : 6.0f; } /* _mm512_min_ps(v, 6) */

static int64_t unary_value(const void *vctx, int vec, int64_t q) {
  const unary_ctx *u = vctx;
  float x, y;
  if (u->kind == QG_QUNARY_SIGMOID) {
    /* vector: the two-argument dequantize (q - zp) * scale; scalar: dequantize_val */
    x = vec ? ((float)q - (float)u->in_zp) * u->in_scale : qg_q_dequantize_scalar(u->in_scale, u->in_zp, q);
  } else {
    x = vec ? qg_q_dequantize_vec(u->in_scale, u->in_premul, q) : qg_q_dequantize_scalar(u->in_scale, u->in_zp, q);
  }
  switch (u->kind) {
    case QG_QUNARY_LEAKY_RELU: y = x > 0.0f ? x : x * u->a; break;
    case QG_QUNARY_SIGMOID:
      y = vec ? 1.0f / (1.0f + expf(-x)) : (float)(1.0 / (1.0 + (double)expf(-x)));
      break;
    case QG_QUNARY_HARDSIGMOID: y = (vec ? vmin6(vmax0(x + 3.0f)) : clampf(x + 3.0f, 0.0f, 6.0f)) / 6.0f; break;
    case QG_QUNARY_TANH: y = tanhf(x); break;
    case QG_QUNARY_HARDSWISH: y = x * (vec ? vmin6(vmax0(x + 3.0f)) : clampf(x + 3.0f, 0.0f, 6.0f)) / 6.0f; break;
    case QG_QUNARY_ELU:
      if (vec) y = (x > 0.0f ? x : expm1f(x * u->c) * u->a) * u->b;
      else y = x >= 0.0f ? x * u->b : expm1f(x * u->c) * u->a * u->b;
      break;
    default: y = x > u->a ? x : u->b; break; /* threshold */
  }
  return vec ? qg_q_quantize_vec(u->dtype, u->inv_vec, u->out_scale, u->out_zp, y)
             : qg_q_quantize_scalar(u->dtype, u->out_scale, u->out_zp, y);
}

void qg_cpu_qunary_fixed_qparams(qg_qunary_kind kind, qg_dtype dtype, double *scale, int64_t *zero_point) {
  if (kind == QG_QUNARY_TANH) {
    *scale = dtype == QG_DTYPE_QINT32 ? 4.656612873077393e-10 : 0.0078125;
    *zero_point = dtype == QG_DTYPE_QUINT8 ? 128 : 0;
  } else {
    *scale = dtype == QG_DTYPE_QINT32 ? 2.3283064365386963e-10 : 0.00390625;
    *zero_point = dtype == QG_DTYPE_QINT8 ? -128 : 0;
  }
}

static const char *unary_name(qg_qunary_kind kind) {
  static const char *names[] = {"leaky_relu", "sigmoid", "hardsigmoid", "tanh", "hardswish", "elu", "threshold"};
  return names[kind];
}

qg_status qg_cpu_qunary(qg_qunary_kind kind, qg_tensor *x, double a, double b, double c, double scale,
                        int64_t zero_point, qg_tensor **out) {
  QG_TRY(qg_q_check_per_tensor(unary_name(kind), x));
  unary_ctx u;
  memset(&u, 0, sizeof u);
  u.kind = kind;
  u.dtype = x->dtype;
  u.in_scale = (float)x->quantizer->scale;
  u.in_zp = x->quantizer->zero_point;
  u.in_premul = qg_q_premul(u.in_scale, u.in_zp);
  u.out_zp = zero_point;
  u.a = (float)a;
  u.b = (float)b;
  u.c = (float)c;
  const float os = (float)scale;
  switch (kind) {
    case QG_QUNARY_LEAKY_RELU: /* o_scale float, o_inv_scale = 1.0f / o_scale */
      u.out_scale = os;
      u.inv_vec = 1.0f / os;
      break;
    case QG_QUNARY_SIGMOID: /* double output_scale, inv = 1.0 / output_scale */
    case QG_QUNARY_HARDSWISH:
      u.out_scale = scale;
      u.inv_vec = (float)(1.0 / scale);
      break;
    default: /* float output scale, inv = (float)(1.0 / (double)scale) */
      u.out_scale = os;
      u.inv_vec = (float)(1.0 / (double)os);
      break;
  }
  qg_tensor *r;
  QG_TRY(qg_q_new(x->dtype, x->ndim, x->shape, scale, zero_point, &r));
  map_values(x, r, unary_value, &u);
  *out = r;
  return QG_OK;
}

/* ---- prelu ------------------------------------------------------------------------------------ */

qg_status qg_cpu_qprelu(qg_tensor *x, qg_tensor *weight, double scale, int64_t zero_point, qg_tensor **out) {
  QG_TRY(qg_q_check_per_tensor("prelu", x));
  QG_TRY(qg_q_check_per_tensor("prelu", weight));
  if (x->ndim == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "qprelu: zero-dim input tensor is not allowed.");
  if (weight->dtype != x->dtype)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "prelu: the weight must have the input's dtype (%s), got %s",
                        qg_dtype_info(x->dtype)->name, qg_dtype_info(weight->dtype)->name);
  /* at::prelu's weight broadcast: a weight of another rank becomes [1, numel, 1, ...] */
  qg_tensor *w = NULL;
  qg_status st;
  if (weight->ndim != x->ndim) {
    int64_t shape[QG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shape[d] = 1;
    if (x->ndim > 1) shape[1] = qg_tensor_numel(weight);
    st = qg_tensor_reshape(weight, x->ndim, shape, &w);
  } else {
    qg_tensor_retain(weight);
    w = weight;
    st = QG_OK;
  }
  int ndim;
  int64_t shape[QG_MAX_DIMS];
  if (st == QG_OK) st = qg_broadcast_shapes(x->ndim, x->shape, w->ndim, w->shape, &ndim, shape);
  qg_tensor *r = NULL;
  if (st == QG_OK) st = qg_q_new(x->dtype, ndim, shape, scale, zero_point, &r);
  if (st != QG_OK) {
    qg_tensor_release(w);
    return st;
  }
  const qg_dtype dt = x->dtype;
  const int64_t iz = x->quantizer->zero_point, wz = w->quantizer->zero_point, oz = zero_point;
  const float ws = (float)w->quantizer->scale;
  const float multiplier = (float)x->quantizer->scale * ws * (1.0f / (float)scale);
  const int64_t one_sub_zp = qg_q_quantize_scalar(dt, ws, wz, 1.0f) - wz;
  const qg_tensor *ops[2] = {x, w};
  qg__pw_iter it;
  qg__pw_iter_init(&it, ndim, shape, 2, ops);
  const void *px = qg_tensor_data(x), *pw = qg_tensor_data(w);
  void *po = qg_tensor_data(r);
  for (int64_t k = 0, n = qg_tensor_numel(r); k < n; k++) {
    const int64_t q = qg_q_load(dt, px, it.off[0]), qw = qg_q_load(dt, pw, it.off[1]);
    const int64_t pos = (q > iz ? q : iz) - iz, neg = (q < iz ? q : iz) - iz;
    const int32_t y = (int32_t)(pos * one_sub_zp + neg * (qw - wz));
    qg_q_store(dt, po, k, qg_q_requantize_from_int(dt, multiplier, oz, y));
    qg__pw_iter_next(&it);
  }
  qg_tensor_release(w);
  *out = r;
  return QG_OK;
}

/* ---- softmax ---------------------------------------------------------------------------------- */

qg_status qg_cpu_qsoftmax(qg_tensor *x, int64_t dim, double scale, int64_t zero_point, qg_tensor **out) {
  QG_TRY(qg_q_check_per_tensor("softmax", x));
  qg_tensor *f, *y;
  QG_TRY(qg_cpu_dequantize(x, &f));
  qg_status st = qg_cpu_softmax(f, dim, QG_SOFTMAX_NO_DTYPE, &y);
  qg_tensor_release(f);
  QG_TRY(st);
  st = qg_cpu_quantize_per_tensor(y, scale, zero_point, x->dtype, out);
  qg_tensor_release(y);
  return st;
}

/* ---- aten semantics ---------------------------------------------------------------------------- */

static qg_status not_quantized(const char *op) {
  return qg_set_error(QG_STATUS_UNSUPPORTED,
                      "Could not run 'aten::%s' with arguments from the 'QuantizedCPU' backend (no quantized kernel)",
                      op);
}

qg_status qg_cpu_qactivation(const char *op, qg_tensor *x, double a, double b, qg_tensor **out) {
  if (strcmp(op, "relu") == 0) return qg_cpu_qrelu(x, out);
  if (strcmp(op, "relu6") == 0 || strcmp(op, "hardtanh") == 0 || strcmp(op, "clamp") == 0)
    return qg_cpu_qclamp(x, 1, a, 1, b, out);
  QG_TRY(qg_q_check_per_tensor(op, x));
  if (strcmp(op, "leaky_relu") == 0)
    return qg_cpu_qunary(QG_QUNARY_LEAKY_RELU, x, a, 0, 0, x->quantizer->scale, x->quantizer->zero_point, out);
  qg_qunary_kind kind;
  if (strcmp(op, "sigmoid") == 0) kind = QG_QUNARY_SIGMOID;
  else if (strcmp(op, "tanh") == 0) kind = QG_QUNARY_TANH;
  else if (strcmp(op, "hardsigmoid") == 0) kind = QG_QUNARY_HARDSIGMOID;
  else return not_quantized(op);
  double scale;
  int64_t zp;
  qg_cpu_qunary_fixed_qparams(kind, x->dtype, &scale, &zp);
  return qg_cpu_qunary(kind, x, 0, 0, 0, scale, zp, out);
}

qg_status qg_cpu_qactivation_(const char *op, qg_tensor *x, double a, double b) {
  static const char *const inplace[] = {"relu_", "hardtanh_", "leaky_relu_", "hardsigmoid_"};
  size_t k = 0, n = sizeof inplace / sizeof inplace[0];
  while (k < n && strcmp(op, inplace[k]) != 0) k++;
  if (k == n) return not_quantized(op);
  char name[32];
  const size_t len = strlen(op) - 1;
  memcpy(name, op, len);
  name[len] = '\0';
  qg_tensor *r;
  QG_TRY(qg_cpu_qactivation(name, x, a, b, &r));
  qg_status st = qg_cpu_qassign(x, r);
  qg_tensor_release(r);
  return st;
}

/* ---- in place ---------------------------------------------------------------------------------- */

qg_status qg_cpu_qassign(qg_tensor *t, qg_tensor *r) {
  QG_ASSERT(t->dtype == r->dtype && t->ndim == r->ndim);
  if (qg_tensor_is_contiguous(t)) {
    if (qg_tensor_numel(r) > 0) memcpy(qg_tensor_data(t), qg_tensor_data(r), qg_tensor_nbytes(r));
  } else {
    QG_TRY(qg_tensor_copy_(t, r));
  }
  return qg_tensor_set_quantizer(t, r->quantizer);
}
