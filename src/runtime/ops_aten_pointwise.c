/* aten activations, arithmetic and comparisons -> src/ops/cpu/activation.h, elementwise.h,
 * misc.h. In-place forms (`relu_`, `add_`, ...) write into their first argument and return it
 * (the same tensor object), as PyTorch's Tensor(a!) returns. */
#include <string.h>

#include "ops/cpu/activation.h"
#include "ops/cpu/elementwise.h"
#include "ops/cpu/misc.h"
#include "runtime/ops_aten_impl.h"

static double scalar_value(qg_scalar s) { return s.is_float ? s.f : (double)s.i; }

/* ---- unary activations ------------------------------------------------------------------ */

typedef qg_status (*unary_fn)(qg_tensor *x, qg_tensor **out);
typedef qg_status (*unary_inplace_fn)(qg_tensor *x);

static qg_status unary(qg_op_call *c, unary_fn k) {
  qg_tensor *x, *y;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(k(x, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status unary_(qg_op_call *c, unary_inplace_fn k) {
  qg_tensor *x;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(k(x));
  qg__aten_out_alias(c, 0, x);
  return QG_OK;
}

#define UNARY(name)                                                          \
  static qg_status op_##name(qg_op_call *c) { return unary(c, qg_cpu_##name); } \
  static qg_status op_##name##_(qg_op_call *c) { return unary_(c, qg_cpu_##name##_); }
UNARY(relu)
UNARY(hardswish)
UNARY(hardsigmoid)
UNARY(sigmoid)
UNARY(tanh)
UNARY(silu)
#undef UNARY
static qg_status relu6(qg_op_call *c) { return unary(c, qg_cpu_relu6); }
static qg_status relu6_(qg_op_call *c) {
  qg_tensor *x;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_cpu_hardtanh_(x, 0.0, 6.0));
  qg__aten_out_alias(c, 0, x);
  return QG_OK;
}
static qg_status neg(qg_op_call *c) { return unary(c, qg_cpu_neg); }

/* hardtanh(self, Scalar min_val=-1, Scalar max_val=1) and hardtanh_ */
static qg_status hardtanh_common(qg_op_call *c, int inplace) {
  qg_tensor *x, *y;
  qg_scalar lo, hi;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg__aten_arg_scalar(c, 1, &lo));
  QG_TRY(qg__aten_arg_scalar(c, 2, &hi));
  if (inplace) {
    QG_TRY(qg_cpu_hardtanh_(x, scalar_value(lo), scalar_value(hi)));
    qg__aten_out_alias(c, 0, x);
  } else {
    QG_TRY(qg_cpu_hardtanh(x, scalar_value(lo), scalar_value(hi), &y));
    qg_out_tensor(c, 0, y);
  }
  return QG_OK;
}
static qg_status hardtanh(qg_op_call *c) { return hardtanh_common(c, 0); }
static qg_status hardtanh_(qg_op_call *c) { return hardtanh_common(c, 1); }

/* clamp(self, Scalar? min, Scalar? max), clamp.Tensor(self, Tensor? min, Tensor? max), and the
 * in-place forms. The Tensor overload of clamp_ computes out of place and copies back (the
 * broadcast result must have self's shape). */
static qg_status clamp_common(qg_op_call *c, int inplace) {
  qg_tensor *x, *y;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  int tensor_bounds = strcmp(c->schema->overload, "Tensor") == 0;
  if (tensor_bounds) {
    qg_tensor *lo, *hi;
    QG_TRY(qg_arg_opt_tensor(c, 1, &lo));
    QG_TRY(qg_arg_opt_tensor(c, 2, &hi));
    QG_TRY(qg_cpu_clamp_tensor(x, lo, hi, &y));
    if (inplace) {
      qg_status st = QG_OK;
      if (y->ndim != x->ndim || memcmp(y->shape, x->shape, sizeof(int64_t) * (size_t)x->ndim) != 0)
        st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "clamp_: the bounds broadcast self to a larger shape");
      if (st == QG_OK) st = qg_tensor_copy_(x, y);
      qg_tensor_release(y);
      if (st != QG_OK) return st;
      qg__aten_out_alias(c, 0, x);
    } else {
      qg_out_tensor(c, 0, y);
    }
    return QG_OK;
  }
  qg_scalar lo = {0, 0, 0}, hi = {0, 0, 0};
  int has_lo, has_hi;
  QG_TRY(qg__aten_arg_opt_scalar(c, 1, &lo, &has_lo));
  QG_TRY(qg__aten_arg_opt_scalar(c, 2, &hi, &has_hi));
  if (inplace) {
    QG_TRY(qg_cpu_clamp_(x, has_lo, scalar_value(lo), has_hi, scalar_value(hi)));
    qg__aten_out_alias(c, 0, x);
  } else {
    QG_TRY(qg_cpu_clamp(x, has_lo, scalar_value(lo), has_hi, scalar_value(hi), &y));
    qg_out_tensor(c, 0, y);
  }
  return QG_OK;
}
static qg_status clamp(qg_op_call *c) { return clamp_common(c, 0); }
static qg_status clamp_(qg_op_call *c) { return clamp_common(c, 1); }

/* elu(self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) */
static qg_status elu_common(qg_op_call *c, int inplace) {
  qg_tensor *x, *y;
  qg_scalar a, s, is;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg__aten_arg_scalar(c, 1, &a));
  QG_TRY(qg__aten_arg_scalar(c, 2, &s));
  QG_TRY(qg__aten_arg_scalar(c, 3, &is));
  if (inplace) {
    QG_TRY(qg_cpu_elu_(x, scalar_value(a), scalar_value(s), scalar_value(is)));
    qg__aten_out_alias(c, 0, x);
  } else {
    QG_TRY(qg_cpu_elu(x, scalar_value(a), scalar_value(s), scalar_value(is), &y));
    qg_out_tensor(c, 0, y);
  }
  return QG_OK;
}
static qg_status elu(qg_op_call *c) { return elu_common(c, 0); }
static qg_status elu_(qg_op_call *c) { return elu_common(c, 1); }

/* leaky_relu(self, Scalar negative_slope=0.01) */
static qg_status leaky_relu_common(qg_op_call *c, int inplace) {
  qg_tensor *x, *y;
  qg_scalar slope;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg__aten_arg_scalar(c, 1, &slope));
  if (inplace) {
    QG_TRY(qg_cpu_leaky_relu_(x, scalar_value(slope)));
    qg__aten_out_alias(c, 0, x);
  } else {
    QG_TRY(qg_cpu_leaky_relu(x, scalar_value(slope), &y));
    qg_out_tensor(c, 0, y);
  }
  return QG_OK;
}
static qg_status leaky_relu(qg_op_call *c) { return leaky_relu_common(c, 0); }
static qg_status leaky_relu_(qg_op_call *c) { return leaky_relu_common(c, 1); }

/* gelu(self, *, str approximate="none") */
static qg_status gelu(qg_op_call *c) {
  qg_tensor *x, *y;
  const char *s;
  qg_gelu_approx approx;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_str(c, 1, &s));
  QG_TRY(qg_gelu_approx_parse(s, &approx));
  QG_TRY(qg_cpu_gelu(x, approx, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* softmax.int / log_softmax.int (self, int dim, ScalarType? dtype=None) */
static qg_status softmax_common(qg_op_call *c, int log) {
  qg_tensor *x, *y;
  int64_t dim;
  qg_dtype dt;
  int has_dt;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int(c, 1, &dim));
  QG_TRY(qg__aten_arg_dtype(c, 2, &dt, &has_dt));
  int dtype = has_dt ? (int)dt : QG_SOFTMAX_NO_DTYPE;
  if (log) QG_TRY(qg_cpu_log_softmax(x, dim, dtype, &y));
  else QG_TRY(qg_cpu_softmax(x, dim, dtype, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status softmax(qg_op_call *c) { return softmax_common(c, 0); }
static qg_status log_softmax(qg_op_call *c) { return softmax_common(c, 1); }

/* ---- arithmetic ------------------------------------------------------------------------- */

typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV } arith_op;

/* add/sub/mul/div in every overload: .Tensor (other is a tensor), .Scalar, the `_mode` ones of
 * div (str? rounding_mode as the last argument), and the in-place `_` forms. A Scalar overload
 * whose `other` is given a tensor at run time cannot happen (the schema was matched on types),
 * but a Tensor overload can receive a 0-dim tensor, which the kernels treat as PyTorch does. */
static qg_status arith(qg_op_call *c, arith_op op, int inplace) {
  qg_tensor *a, *b = NULL, *y = NULL;
  qg_scalar sb = {0, 0, 0}, alpha = qg_scalar_int(1);
  qg_div_mode mode = QG_DIV_TRUE;
  QG_TRY(qg_arg_tensor(c, 0, &a));
  int other_is_tensor = c->nargs > 1 && c->args[1].kind == QG_IVAL_TENSOR;
  if (other_is_tensor) QG_TRY(qg_arg_tensor(c, 1, &b));
  else QG_TRY(qg__aten_arg_scalar(c, 1, &sb));
  if ((op == OP_ADD || op == OP_SUB) && c->nargs > 2) QG_TRY(qg__aten_arg_scalar(c, 2, &alpha));
  if (op == OP_DIV && c->nargs > 2) {
    const char *m = NULL;
    if (!qg_arg_is_none(c, 2)) QG_TRY(qg_arg_str(c, 2, &m));
    QG_TRY(qg_div_mode_parse(m, &mode));
  }
  qg_status st;
  switch (op) {
    case OP_ADD:
      st = inplace ? (b ? qg_cpu_add_(a, b, alpha) : qg_cpu_add_scalar_(a, sb, alpha))
                   : (b ? qg_cpu_add(a, b, alpha, &y) : qg_cpu_add_scalar(a, sb, alpha, &y));
      break;
    case OP_SUB:
      st = inplace ? (b ? qg_cpu_sub_(a, b, alpha) : qg_cpu_sub_scalar_(a, sb, alpha))
                   : (b ? qg_cpu_sub(a, b, alpha, &y) : qg_cpu_sub_scalar(a, sb, alpha, &y));
      break;
    case OP_MUL:
      st = inplace ? (b ? qg_cpu_mul_(a, b) : qg_cpu_mul_scalar_(a, sb))
                   : (b ? qg_cpu_mul(a, b, &y) : qg_cpu_mul_scalar(a, sb, &y));
      break;
    default:
      st = inplace ? (b ? qg_cpu_div_(a, b, mode) : qg_cpu_div_scalar_(a, sb, mode))
                   : (b ? qg_cpu_div(a, b, mode, &y) : qg_cpu_div_scalar(a, sb, mode, &y));
      break;
  }
  QG_TRY(st);
  if (inplace) qg__aten_out_alias(c, 0, a);
  else qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status add(qg_op_call *c) { return arith(c, OP_ADD, 0); }
static qg_status add_(qg_op_call *c) { return arith(c, OP_ADD, 1); }
static qg_status sub(qg_op_call *c) { return arith(c, OP_SUB, 0); }
static qg_status sub_(qg_op_call *c) { return arith(c, OP_SUB, 1); }
static qg_status mul(qg_op_call *c) { return arith(c, OP_MUL, 0); }
static qg_status mul_(qg_op_call *c) { return arith(c, OP_MUL, 1); }
static qg_status div_op(qg_op_call *c) { return arith(c, OP_DIV, 0); }
static qg_status div_(qg_op_call *c) { return arith(c, OP_DIV, 1); }

/* rsub.Tensor(self, other, *, alpha=1) = other - alpha * self: sub with the operands swapped.
 * rsub.Scalar(self, Scalar other, Scalar alpha=1) = other + (-alpha) * self, computed as
 * (self * -alpha) + other so that promotion follows PyTorch (an int tensor with a float other
 * gives float). */
static qg_status rsub(qg_op_call *c) {
  qg_tensor *a, *b, *y = NULL;
  qg_scalar alpha;
  QG_TRY(qg_arg_tensor(c, 0, &a));
  QG_TRY(qg__aten_arg_scalar(c, 2, &alpha));
  if (c->args[1].kind == QG_IVAL_TENSOR) {
    QG_TRY(qg_arg_tensor(c, 1, &b));
    QG_TRY(qg_cpu_sub(b, a, alpha, &y));
  } else {
    qg_scalar other;
    QG_TRY(qg__aten_arg_scalar(c, 1, &other));
    if (a->dtype == QG_DTYPE_BOOL)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                          "to invert a mask, use the `~` or `logical_not()` operator instead.");
    qg_tensor *t;
    qg_scalar nalpha = alpha.is_float ? qg_scalar_float(-alpha.f) : qg_scalar_int(-alpha.i);
    QG_TRY(qg_cpu_mul_scalar(a, nalpha, &t));
    qg_status st = qg_cpu_add_scalar(t, other, qg_scalar_int(1), &y);
    qg_tensor_release(t);
    QG_TRY(st);
  }
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* ---- comparisons and logic -------------------------------------------------------------- */

static qg_status compare(qg_op_call *c, qg_cmp_op op) {
  qg_tensor *a, *b, *y;
  QG_TRY(qg_arg_tensor(c, 0, &a));
  if (c->nargs > 1 && c->args[1].kind == QG_IVAL_TENSOR) {
    QG_TRY(qg_arg_tensor(c, 1, &b));
    QG_TRY(qg_cpu_compare(op, a, b, &y));
  } else {
    qg_scalar s;
    QG_TRY(qg__aten_arg_scalar(c, 1, &s));
    QG_TRY(qg_cpu_compare_scalar(op, a, s, &y));
  }
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status eq(qg_op_call *c) { return compare(c, QG_CMP_EQ); }
static qg_status ne(qg_op_call *c) { return compare(c, QG_CMP_NE); }
static qg_status lt(qg_op_call *c) { return compare(c, QG_CMP_LT); }
static qg_status gt(qg_op_call *c) { return compare(c, QG_CMP_GT); }
static qg_status le(qg_op_call *c) { return compare(c, QG_CMP_LE); }
static qg_status ge(qg_op_call *c) { return compare(c, QG_CMP_GE); }

static qg_status logical_or(qg_op_call *c) {
  qg_tensor *a, *b, *y;
  QG_TRY(qg_arg_tensor(c, 0, &a));
  QG_TRY(qg_arg_tensor(c, 1, &b));
  QG_TRY(qg_cpu_logical_or(a, b, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* masked_fill(.Scalar|.Tensor)(self, mask, value) and masked_fill_ */
static qg_status masked_fill_common(qg_op_call *c, int inplace) {
  qg_tensor *x, *mask, *y;
  qg_scalar v;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_tensor(c, 1, &mask));
  if (c->nargs > 2 && c->args[2].kind == QG_IVAL_TENSOR) {
    qg_tensor *vt;
    QG_TRY(qg_arg_tensor(c, 2, &vt));
    if (vt->ndim != 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with %d "
                          "dimension(s).",
                          vt->ndim);
    QG_TRY(qg_cpu_tensor_to_scalar(vt, &v));
  } else {
    QG_TRY(qg__aten_arg_scalar(c, 2, &v));
  }
  if (inplace) {
    QG_TRY(qg_cpu_masked_fill_(x, mask, v));
    qg__aten_out_alias(c, 0, x);
  } else {
    QG_TRY(qg_cpu_masked_fill(x, mask, v, &y));
    qg_out_tensor(c, 0, y);
  }
  return QG_OK;
}
static qg_status masked_fill(qg_op_call *c) { return masked_fill_common(c, 0); }
static qg_status masked_fill_(qg_op_call *c) { return masked_fill_common(c, 1); }

static const qg_op_impl_entry table[] = {
    {"aten::relu", "", op_relu},
    {"aten::relu_", "", op_relu_},
    {"aten::relu6", "", relu6},
    {"aten::relu6_", "", relu6_},
    {"aten::hardtanh", "", hardtanh},
    {"aten::hardtanh_", "", hardtanh_},
    {"aten::clamp", "", clamp},
    {"aten::clamp", "Tensor", clamp},
    {"aten::clamp_", "", clamp_},
    {"aten::clamp_", "Tensor", clamp_},
    {"aten::hardswish", "", op_hardswish},
    {"aten::hardswish_", "", op_hardswish_},
    {"aten::hardsigmoid", "", op_hardsigmoid},
    {"aten::hardsigmoid_", "", op_hardsigmoid_},
    {"aten::elu", "", elu},
    {"aten::elu_", "", elu_},
    {"aten::leaky_relu", "", leaky_relu},
    {"aten::leaky_relu_", "", leaky_relu_},
    {"aten::sigmoid", "", op_sigmoid},
    {"aten::sigmoid_", "", op_sigmoid_},
    {"aten::tanh", "", op_tanh},
    {"aten::tanh_", "", op_tanh_},
    {"aten::gelu", "", gelu},
    {"aten::silu", "", op_silu},
    {"aten::silu_", "", op_silu_},
    {"aten::softmax", "int", softmax},
    {"aten::log_softmax", "int", log_softmax},
    {"aten::add", "Tensor", add},
    {"aten::add", "Scalar", add},
    {"aten::add_", "Tensor", add_},
    {"aten::add_", "Scalar", add_},
    {"aten::sub", "Tensor", sub},
    {"aten::sub", "Scalar", sub},
    {"aten::sub_", "Tensor", sub_},
    {"aten::sub_", "Scalar", sub_},
    {"aten::mul", "Tensor", mul},
    {"aten::mul", "Scalar", mul},
    {"aten::mul_", "Tensor", mul_},
    {"aten::mul_", "Scalar", mul_},
    {"aten::div", "Tensor", div_op},
    {"aten::div", "Scalar", div_op},
    {"aten::div", "Tensor_mode", div_op},
    {"aten::div", "Scalar_mode", div_op},
    {"aten::div_", "Tensor", div_},
    {"aten::div_", "Scalar", div_},
    {"aten::div_", "Tensor_mode", div_},
    {"aten::div_", "Scalar_mode", div_},
    {"aten::rsub", "Tensor", rsub},
    {"aten::rsub", "Scalar", rsub},
    {"aten::neg", "", neg},
    {"aten::eq", "Tensor", eq},
    {"aten::eq", "Scalar", eq},
    {"aten::ne", "Tensor", ne},
    {"aten::ne", "Scalar", ne},
    {"aten::lt", "Tensor", lt},
    {"aten::lt", "Scalar", lt},
    {"aten::gt", "Tensor", gt},
    {"aten::gt", "Scalar", gt},
    {"aten::le", "Tensor", le},
    {"aten::le", "Scalar", le},
    {"aten::ge", "Tensor", ge},
    {"aten::ge", "Scalar", ge},
    {"aten::logical_or", "", logical_or},
    {"aten::masked_fill", "Scalar", masked_fill},
    {"aten::masked_fill", "Tensor", masked_fill},
    {"aten::masked_fill_", "Scalar", masked_fill_},
    {"aten::masked_fill_", "Tensor", masked_fill_},
};

const qg_op_impl_entry *qg__ops_aten_pointwise_table(size_t *n) {
  *n = sizeof table / sizeof table[0];
  return table;
}
