/* Float activations and softmax (see activation.h). Every elementwise activation is one case of
 * act_apply(), evaluated in double and rounded once to the tensor's dtype: for f32 that is at
 * least as accurate as PyTorch's float evaluation, so parity holds within the f32 tolerance. */
#include "ops/cpu/activation.h"

#include <math.h>
#include <string.h>

#include "ops/cpu/pointwise_common.h"
#include "ops/cpu/quantized_activation.h"

typedef enum act_kind {
  ACT_RELU,
  ACT_CLAMP, /* a = lo (or -inf), b = hi (or +inf) */
  ACT_HARDSWISH,
  ACT_HARDSIGMOID,
  ACT_ELU, /* a = alpha, b = scale, c = input_scale */
  ACT_LEAKY_RELU, /* a = negative slope */
  ACT_SIGMOID,
  ACT_TANH,
  ACT_GELU_ERF,
  ACT_GELU_TANH,
  ACT_SILU
} act_kind;

typedef struct act {
  act_kind kind;
  double a, b, c;
} act;

/* std::min(std::max(v, lo), hi) as PyTorch's clamp: NaN in v stays NaN; lo > hi gives hi. */
static double clampd(double v, double lo, double hi) {
  double t = v < lo ? lo : v;
  return hi < t ? hi : t;
}

static double act_apply(const act *p, double x) {
  switch (p->kind) {
    case ACT_RELU: return x < 0 ? 0.0 : x; /* keeps NaN and -0.0, as clamp_min(x, 0) */
    case ACT_CLAMP: return clampd(x, p->a, p->b);
    case ACT_HARDSWISH: return x * clampd(x + 3.0, 0.0, 6.0) / 6.0;
    case ACT_HARDSIGMOID: return clampd(x + 3.0, 0.0, 6.0) / 6.0;
    case ACT_ELU: return x <= 0 ? (exp(x * p->c) - 1.0) * (p->a * p->b) : x * p->b;
    case ACT_LEAKY_RELU: return x > 0 ? x : x * p->a;
    case ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case ACT_TANH: return tanh(x);
    case ACT_GELU_ERF: return x * 0.5 * (1.0 + erf(x * M_SQRT1_2));
    case ACT_GELU_TANH: {
      const double beta = M_SQRT2 * M_2_SQRTPI * 0.5, kappa = 0.044715;
      return 0.5 * x * (1.0 + tanh(beta * (x + kappa * x * x * x)));
    }
    case ACT_SILU: return x / (1.0 + exp(-x));
  }
  return x;
}

static void act_run(const act *p, const qg_tensor *x, qg_tensor *y) {
  int64_t n = qg_tensor_numel(y);
  if (n == 0) return;
  if (p->kind == ACT_RELU && y->dtype == QG_DTYPE_F32) {
    /* The hot case in CNNs: a typed loop the compiler vectorises (same result as act_apply:
     * NaN and -0.0 are kept because only x < 0 is replaced). */
    const float *src = qg_tensor_data(x);
    float *dst = qg_tensor_data(y);
    for (int64_t i = 0; i < n; i++) dst[i] = src[i] < 0.0f ? 0.0f : src[i];
    return;
  }
  if (y->dtype == QG_DTYPE_F64) {
    const double *src = qg_tensor_data(x);
    double *dst = qg_tensor_data(y);
    for (int64_t i = 0; i < n; i++) dst[i] = act_apply(p, src[i]);
  } else {
    const float *src = qg_tensor_data(x);
    float *dst = qg_tensor_data(y);
    for (int64_t i = 0; i < n; i++) dst[i] = (float)act_apply(p, (double)src[i]);
  }
}

static qg_status unary(const char *op, qg_tensor *x, const act *p, qg_tensor **out) {
  *out = NULL;
  if (qg_dtype_info(x->dtype)->is_quantized) return qg_cpu_qactivation(op, x, p->a, p->b, out);
  QG_TRY(qg__pw_check_float(op, "input", x));
  qg_tensor *xc, *y;
  QG_TRY(qg_tensor_contiguous(x, &xc));
  qg_status st = qg_tensor_create(x->dtype, x->ndim, x->shape, &y);
  if (st == QG_OK) {
    act_run(p, xc, y);
    *out = y;
  }
  qg_tensor_release(xc);
  return st;
}

/* In-place: directly on a contiguous x (each element is read before it is written); otherwise
 * compute into a fresh tensor, then copy back through x's strides. */
static qg_status unary_(const char *op, qg_tensor *x, const act *p) {
  if (qg_dtype_info(x->dtype)->is_quantized) return qg_cpu_qactivation_(op, x, p->a, p->b);
  QG_TRY(qg__pw_check_float(op, "input", x));
  if (qg_tensor_is_contiguous(x)) {
    act_run(p, x, x);
    return QG_OK;
  }
  qg_tensor *y;
  QG_TRY(unary(op, x, p, &y));
  qg_status st = qg_tensor_copy_(x, y);
  qg_tensor_release(y);
  return st;
}

static act mk(act_kind k, double a, double b, double c) {
  act r = {k, a, b, c};
  return r;
}

qg_status qg_cpu_relu(qg_tensor *x, qg_tensor **out) {
  act p = mk(ACT_RELU, 0, 0, 0);
  return unary("relu", x, &p, out);
}
qg_status qg_cpu_relu_(qg_tensor *x) {
  act p = mk(ACT_RELU, 0, 0, 0);
  return unary_("relu_", x, &p);
}
qg_status qg_cpu_relu6(qg_tensor *x, qg_tensor **out) {
  act p = mk(ACT_CLAMP, 0.0, 6.0, 0);
  return unary("relu6", x, &p, out);
}
qg_status qg_cpu_hardtanh(qg_tensor *x, double min_val, double max_val, qg_tensor **out) {
  act p = mk(ACT_CLAMP, min_val, max_val, 0);
  return unary("hardtanh", x, &p, out);
}
qg_status qg_cpu_hardtanh_(qg_tensor *x, double min_val, double max_val) {
  act p = mk(ACT_CLAMP, min_val, max_val, 0);
  return unary_("hardtanh_", x, &p);
}

static qg_status clamp_args(const char *op, int has_min, double min, int has_max, double max,
                            act *p) {
  if (!has_min && !has_max)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: At least one of 'min' or 'max' must not be None", op);
  *p = mk(ACT_CLAMP, has_min ? min : -INFINITY, has_max ? max : INFINITY, 0);
  return QG_OK;
}

qg_status qg_cpu_clamp(qg_tensor *x, int has_min, double min, int has_max, double max,
                       qg_tensor **out) {
  act p;
  *out = NULL;
  QG_TRY(clamp_args("clamp", has_min, min, has_max, max, &p));
  return unary("clamp", x, &p, out);
}
qg_status qg_cpu_clamp_(qg_tensor *x, int has_min, double min, int has_max, double max) {
  act p;
  QG_TRY(clamp_args("clamp_", has_min, min, has_max, max, &p));
  return unary_("clamp_", x, &p);
}

/* NaN-propagating max/min (vec::maximum / vec::minimum, PyTorch's vectorized clamp path). */
static double maxn(double a, double b) { return isnan(a) || isnan(b) ? NAN : (a > b ? a : b); }
static double minn(double a, double b) { return isnan(a) || isnan(b) ? NAN : (a < b ? a : b); }

qg_status qg_cpu_clamp_tensor(qg_tensor *x, qg_tensor *min, qg_tensor *max, qg_tensor **out) {
  *out = NULL;
  if (!min && !max)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "clamp: At least one of 'min' or 'max' must not be None");
  QG_TRY(qg__pw_check_float("clamp", "input", x));
  qg_dtype dt = x->dtype;
  int nd = x->ndim;
  int64_t shape[QG_MAX_DIMS];
  memcpy(shape, x->shape, sizeof(int64_t) * (size_t)nd);
  qg_tensor *ops[3] = {x, min, max};
  for (int i = 1; i < 3; i++) {
    if (!ops[i]) continue;
    QG_TRY(qg__pw_check_float("clamp", i == 1 ? "min" : "max", ops[i]));
    dt = qg__pw_promote(dt, ops[i]->dtype);
    QG_TRY(qg_broadcast_shapes(nd, shape, ops[i]->ndim, ops[i]->shape, &nd, shape));
  }
  qg_tensor *y;
  QG_TRY(qg_tensor_create(dt, nd, shape, &y));
  int64_t n = qg_tensor_numel(y);
  const qg_tensor *iops[3] = {x, min ? min : x, max ? max : x};
  qg__pw_iter it;
  qg__pw_iter_init(&it, nd, shape, 3, iops);
  const char *base[3];
  size_t es[3];
  for (int i = 0; i < 3; i++) {
    base[i] = qg_tensor_data(iops[i]);
    es[i] = qg_dtype_info(iops[i]->dtype)->size;
  }
  for (int64_t k = 0; k < n; k++, qg__pw_iter_next(&it)) {
    double v[3];
    for (int i = 0; i < 3; i++) {
      const char *e = base[i] + it.off[i] * (int64_t)es[i];
      v[i] = iops[i]->dtype == QG_DTYPE_F64 ? *(const double *)e : (double)*(const float *)e;
    }
    double r = v[0];
    if (min) r = maxn(r, v[1]);
    if (max) r = minn(r, v[2]);
    if (dt == QG_DTYPE_F64)
      ((double *)qg_tensor_data(y))[k] = r;
    else
      ((float *)qg_tensor_data(y))[k] = (float)r;
  }
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_hardswish(qg_tensor *x, qg_tensor **out) {
  act p = mk(ACT_HARDSWISH, 0, 0, 0);
  return unary("hardswish", x, &p, out);
}
qg_status qg_cpu_hardswish_(qg_tensor *x) {
  act p = mk(ACT_HARDSWISH, 0, 0, 0);
  return unary_("hardswish_", x, &p);
}
qg_status qg_cpu_hardsigmoid(qg_tensor *x, qg_tensor **out) {
  act p = mk(ACT_HARDSIGMOID, 0, 0, 0);
  return unary("hardsigmoid", x, &p, out);
}
qg_status qg_cpu_hardsigmoid_(qg_tensor *x) {
  act p = mk(ACT_HARDSIGMOID, 0, 0, 0);
  return unary_("hardsigmoid_", x, &p);
}
qg_status qg_cpu_elu(qg_tensor *x, double alpha, double scale, double input_scale,
                     qg_tensor **out) {
  act p = mk(ACT_ELU, alpha, scale, input_scale);
  return unary("elu", x, &p, out);
}
qg_status qg_cpu_elu_(qg_tensor *x, double alpha, double scale, double input_scale) {
  act p = mk(ACT_ELU, alpha, scale, input_scale);
  return unary_("elu_", x, &p);
}
qg_status qg_cpu_leaky_relu(qg_tensor *x, double negative_slope, qg_tensor **out) {
  act p = mk(ACT_LEAKY_RELU, negative_slope, 0, 0);
  return unary("leaky_relu", x, &p, out);
}
qg_status qg_cpu_leaky_relu_(qg_tensor *x, double negative_slope) {
  act p = mk(ACT_LEAKY_RELU, negative_slope, 0, 0);
  return unary_("leaky_relu_", x, &p);
}
qg_status qg_cpu_sigmoid(qg_tensor *x, qg_tensor **out) {
  act p = mk(ACT_SIGMOID, 0, 0, 0);
  return unary("sigmoid", x, &p, out);
}
qg_status qg_cpu_sigmoid_(qg_tensor *x) {
  act p = mk(ACT_SIGMOID, 0, 0, 0);
  return unary_("sigmoid_", x, &p);
}
qg_status qg_cpu_tanh(qg_tensor *x, qg_tensor **out) {
  act p = mk(ACT_TANH, 0, 0, 0);
  return unary("tanh", x, &p, out);
}
qg_status qg_cpu_tanh_(qg_tensor *x) {
  act p = mk(ACT_TANH, 0, 0, 0);
  return unary_("tanh_", x, &p);
}
qg_status qg_cpu_gelu(qg_tensor *x, qg_gelu_approx approximate, qg_tensor **out) {
  act p = mk(approximate == QG_GELU_TANH ? ACT_GELU_TANH : ACT_GELU_ERF, 0, 0, 0);
  return unary("gelu", x, &p, out);
}
qg_status qg_gelu_approx_parse(const char *s, qg_gelu_approx *out) {
  if (strcmp(s, "none") == 0) *out = QG_GELU_NONE;
  else if (strcmp(s, "tanh") == 0) *out = QG_GELU_TANH;
  else
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "gelu: approximate argument must be either none or tanh, got '%s'", s);
  return QG_OK;
}
qg_status qg_cpu_silu(qg_tensor *x, qg_tensor **out) {
  act p = mk(ACT_SILU, 0, 0, 0);
  return unary("silu", x, &p, out);
}
qg_status qg_cpu_silu_(qg_tensor *x) {
  act p = mk(ACT_SILU, 0, 0, 0);
  return unary_("silu_", x, &p);
}

/* ---- softmax ----------------------------------------------------------------------------- */

static qg_status softmax_impl(const char *op, qg_tensor *x, int64_t dim, int dtype, int is_log,
                              qg_tensor **out) {
  *out = NULL;
  qg_dtype dt = x->dtype;
  if (dtype != QG_SOFTMAX_NO_DTYPE) {
    if (dtype != QG_DTYPE_F32 && dtype != QG_DTYPE_F64)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: dtype must be float32 or float64, got %s",
                          op, dtype >= 0 && dtype < QG_DTYPE_COUNT ? qg_dtype_info((qg_dtype)dtype)->name : "?");
    dt = (qg_dtype)dtype;
  } else {
    QG_TRY(qg__pw_check_float(op, "input", x));
  }
  int d;
  QG_TRY(qg__pw_wrap_dim(op, dim, x->ndim, &d));
  qg_tensor *xc, *y;
  QG_TRY(qg__pw_dense(x, dt, &xc));
  qg_status st = qg_tensor_create(dt, x->ndim, x->shape, &y);
  if (st != QG_OK) {
    qg_tensor_release(xc);
    return st;
  }
  int64_t outer = 1, n = x->ndim ? x->shape[d] : 1, inner = 1;
  for (int i = 0; i < d; i++) outer *= x->shape[i];
  for (int i = d + 1; i < x->ndim; i++) inner *= x->shape[i];
  int is64 = dt == QG_DTYPE_F64;
  const void *src = qg_tensor_data(xc);
  void *dst = qg_tensor_data(y);
  for (int64_t o = 0; o < outer && n > 0; o++)
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * n * inner + in;
#define LD(j) (is64 ? ((const double *)src)[base + (j) * inner] : (double)((const float *)src)[base + (j) * inner])
      double mx = -INFINITY;
      for (int64_t j = 0; j < n; j++) {
        double v = LD(j);
        if (v > mx || isnan(v)) mx = v;
        if (isnan(mx)) break;
      }
      double sum = 0;
      for (int64_t j = 0; j < n; j++) sum += exp(LD(j) - mx);
      double lse = log(sum);
      for (int64_t j = 0; j < n; j++) {
        double v = is_log ? LD(j) - mx - lse : exp(LD(j) - mx) / sum;
        if (is64)
          ((double *)dst)[base + j * inner] = v;
        else
          ((float *)dst)[base + j * inner] = (float)v;
      }
#undef LD
    }
  qg_tensor_release(xc);
  *out = y;
  return QG_OK;
}

qg_status qg_cpu_softmax(qg_tensor *x, int64_t dim, int dtype, qg_tensor **out) {
  return softmax_impl("softmax", x, dim, dtype, 0, out);
}
qg_status qg_cpu_log_softmax(qg_tensor *x, int64_t dim, int dtype, qg_tensor **out) {
  return softmax_impl("log_softmax", x, dim, dtype, 1, out);
}
