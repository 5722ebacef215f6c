/* Scalar ops: int / float / bool arithmetic, comparisons and conversions, with TorchScript's
 * semantics (checked against torch 1.13 by tests/fixtures/interp, see
 * tools/fixtures/gen_interp_fixtures.py):
 *   - `//` and `%` on ints floor like Python (-7 // 2 == -4, -7 % 2 == 1); an int divisor of 0
 *     is an error ("division by 0"; PyTorch itself dies of SIGFPE on `a % 0`);
 *   - float division by zero is IEEE (inf / nan), as in TorchScript (not Python's exception);
 *   - int(nan), int(inf) give INT64_MIN as PyTorch on x86; round() rounds half to even;
 *   - int overflow wraps (two's complement). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/interp_impl.h"
#include "tensor/tensor_ops.h"

typedef struct num {
  int is_int;
  int64_t i;
  double d;
} num;

static qg_status get_num(const qg_op_call *c, size_t k, num *n) {
  const qg_ival *v = &c->args[k];
  n->is_int = 1;
  if (v->kind == QG_IVAL_INT) n->i = v->u.i;
  else if (v->kind == QG_IVAL_BOOL) n->i = v->u.b;
  else if (v->kind == QG_IVAL_DOUBLE) {
    n->is_int = 0;
    n->d = v->u.d;
  } else {
    return qg_set_error(QG_STATUS_TYPE, "%s argument #%zu must be a number, got %s", qg_sym_str(c->schema->name), k,
                        qg_ival_kind_name(v->kind));
  }
  if (n->is_int) n->d = (double)n->i;
  return QG_OK;
}

static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

/* Python's floor division / modulo on ints (b != 0). INT64_MIN // -1 wraps. */
static int64_t int_floordiv(int64_t a, int64_t b) {
  if (b == -1) return wrap_sub(0, a);
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}
static int64_t int_mod(int64_t a, int64_t b) {
  if (b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
/* Python's float modulo (TorchScript: fmod adjusted to the divisor's sign). */
static double float_mod(double a, double b) {
  double r = fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
/* TorchScript's floordiv.float is floor(a / b) (IEEE: x // 0.0 is inf or nan). */
static double float_floordiv(double a, double b) { return floor(a / b); }

static qg_status int_pow(int64_t a, int64_t b, int64_t *out) {
  if (b < 0) return qg_set_error(QG_STATUS_RUNTIME, "Integers to negative integer powers are not allowed.");
  int64_t r = 1;
  while (b) {
    if (b & 1) r = wrap_mul(r, a);
    a = wrap_mul(a, a);
    b >>= 1;
  }
  *out = r;
  return QG_OK;
}

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_MIN, OP_MAX, OP_LOG2 };

/* Result kind from the overload: "int" -> int, "float"/"int_float"/"float_int" -> float, ""
 * (Scalar) -> int if both are ints. */
static qg_status arith(qg_op_call *c, int op) {
  num a = {0, 0, 0}, b = {0, 0, 0};
  QG_TRY(get_num(c, 0, &a));
  QG_TRY(get_num(c, 1, &b));
  const char *ov = c->schema->overload;
  int ints = a.is_int && b.is_int;
  int want_float = op == OP_DIV || strcmp(ov, "float") == 0 || strcmp(ov, "int_float") == 0 ||
                   strcmp(ov, "float_int") == 0 || strcmp(ov, "Scalar_Scalar") == 0 ||
                   (op == OP_POW && strcmp(ov, "int") == 0) || op == OP_LOG2;
  if (ints && !want_float) {
    int64_t r = 0;
    switch (op) {
    case OP_ADD: r = wrap_add(a.i, b.i); break;
    case OP_SUB: r = wrap_sub(a.i, b.i); break;
    case OP_MUL: r = wrap_mul(a.i, b.i); break;
    case OP_FLOORDIV:
    case OP_MOD:
      if (b.i == 0)
        return qg_set_error(QG_STATUS_RUNTIME, "ZeroDivisionError: integer division or modulo by zero (division by 0)");
      r = op == OP_FLOORDIV ? int_floordiv(a.i, b.i) : int_mod(a.i, b.i);
      break;
    case OP_POW: QG_TRY(int_pow(a.i, b.i, &r)); break;
    case OP_MIN: r = a.i < b.i ? a.i : b.i; break;
    case OP_MAX: r = a.i > b.i ? a.i : b.i; break;
    default: break;
    }
    qg_out_ival(c, 0, qg_ival_int(r));
    return QG_OK;
  }
  double x = a.d, y = b.d, r = 0;
  switch (op) {
  case OP_ADD: r = x + y; break;
  case OP_SUB: r = x - y; break;
  case OP_MUL: r = x * y; break;
  case OP_DIV: r = x / y; break;
  case OP_FLOORDIV: r = float_floordiv(x, y); break;
  case OP_MOD: r = y == 0 ? NAN : float_mod(x, y); break;
  case OP_POW: r = pow(x, y); break;
  case OP_MIN: r = isnan(x) || isnan(y) ? NAN : (x < y ? x : y); break;
  case OP_MAX: r = isnan(x) || isnan(y) ? NAN : (x > y ? x : y); break;
  case OP_LOG2: r = log(x) / log(y); break;
  default: break;
  }
  qg_out_ival(c, 0, qg_ival_double(r));
  return QG_OK;
}

static qg_status op_add(qg_op_call *c) { return arith(c, OP_ADD); }
static qg_status op_sub(qg_op_call *c) { return arith(c, OP_SUB); }
static qg_status op_mul(qg_op_call *c) { return arith(c, OP_MUL); }
static qg_status op_div(qg_op_call *c) { return arith(c, OP_DIV); }
static qg_status op_floordiv(qg_op_call *c) { return arith(c, OP_FLOORDIV); }
static qg_status op_remainder(qg_op_call *c) { return arith(c, OP_MOD); }
static qg_status op_pow(qg_op_call *c) { return arith(c, OP_POW); }
/* prim::min / max: of two numbers, of one list (self_int, ...), or elementwise-lexicographic of
 * two lists (int_list: the smaller / larger list as Python compares them). */
static qg_status minmax(qg_op_call *c, int op) {
  const qg_ival *a = &c->args[0];
  if (a->kind != QG_IVAL_LIST) return arith(c, op);
  const qg_ival_list *l = a->u.list;
  if (c->nargs == 1) {
    if (l->len == 0) return qg_set_error(QG_STATUS_RUNTIME, "%s() arg is an empty sequence", op == OP_MIN ? "min" : "max");
    size_t best = 0;
    for (size_t i = 1; i < l->len; i++) {
      const qg_ival *x = &l->items[i], *y = &l->items[best];
      double dx = x->kind == QG_IVAL_DOUBLE ? x->u.d : x->kind == QG_IVAL_INT ? (double)x->u.i : x->u.b;
      double dy = y->kind == QG_IVAL_DOUBLE ? y->u.d : y->kind == QG_IVAL_INT ? (double)y->u.i : y->u.b;
      if (x->kind == QG_IVAL_INT && y->kind == QG_IVAL_INT ? (op == OP_MIN ? x->u.i < y->u.i : x->u.i > y->u.i)
                                                           : (op == OP_MIN ? dx < dy : dx > dy))
        best = i;
    }
    qg_out_ival(c, 0, qg_ival_copy(l->items[best]));
    return QG_OK;
  }
  const qg_ival *b = &c->args[1];
  if (b->kind != QG_IVAL_LIST) return qg_set_error(QG_STATUS_TYPE, "min/max of a list and a %s", qg_ival_kind_name(b->kind));
  const qg_ival_list *m = b->u.list;
  int pick_a = -1;
  for (size_t i = 0; i < l->len && i < m->len && pick_a < 0; i++) {
    const qg_ival *x = &l->items[i], *y = &m->items[i];
    double dx = x->kind == QG_IVAL_DOUBLE ? x->u.d : x->kind == QG_IVAL_INT ? (double)x->u.i : x->u.b;
    double dy = y->kind == QG_IVAL_DOUBLE ? y->u.d : y->kind == QG_IVAL_INT ? (double)y->u.i : y->u.b;
    if (dx != dy) pick_a = op == OP_MIN ? dx < dy : dx > dy;
  }
  if (pick_a < 0) pick_a = op == OP_MIN ? l->len <= m->len : l->len >= m->len;
  qg_out_ival(c, 0, qg_ival_copy(pick_a ? *a : *b));
  return QG_OK;
}
static qg_status op_min2(qg_op_call *c) { return minmax(c, OP_MIN); }
static qg_status op_max2(qg_op_call *c) { return minmax(c, OP_MAX); }

/* ---- comparisons --------------------------------------------------------------------------- */

enum { CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_EQ, CMP_NE };

static int cmp_result(int cmp, int sign, int unordered) {
  if (unordered) return cmp == CMP_NE;
  switch (cmp) {
  case CMP_LT: return sign < 0;
  case CMP_LE: return sign <= 0;
  case CMP_GT: return sign > 0;
  case CMP_GE: return sign >= 0;
  case CMP_EQ: return sign == 0;
  default: return sign != 0;
  }
}

static int list_equal(const qg_ival *a, const qg_ival *b);

static int item_equal(const qg_ival *a, const qg_ival *b) {
  if ((a->kind == QG_IVAL_INT || a->kind == QG_IVAL_DOUBLE || a->kind == QG_IVAL_BOOL) &&
      (b->kind == QG_IVAL_INT || b->kind == QG_IVAL_DOUBLE || b->kind == QG_IVAL_BOOL)) {
    if (a->kind == QG_IVAL_DOUBLE || b->kind == QG_IVAL_DOUBLE) {
      double x = a->kind == QG_IVAL_DOUBLE ? a->u.d : a->kind == QG_IVAL_INT ? (double)a->u.i : a->u.b;
      double y = b->kind == QG_IVAL_DOUBLE ? b->u.d : b->kind == QG_IVAL_INT ? (double)b->u.i : b->u.b;
      return x == y;
    }
    int64_t x = a->kind == QG_IVAL_INT ? a->u.i : a->u.b, y = b->kind == QG_IVAL_INT ? b->u.i : b->u.b;
    return x == y;
  }
  if ((a->kind == QG_IVAL_LIST || a->kind == QG_IVAL_TUPLE) && a->kind == b->kind) return list_equal(a, b);
  return qg_ival_equal(a, b);
}

static int list_equal(const qg_ival *a, const qg_ival *b) {
  const qg_ival_list *x = a->u.list, *y = b->u.list;
  if (x->len != y->len) return 0;
  for (size_t i = 0; i < x->len; i++)
    if (!item_equal(&x->items[i], &y->items[i])) return 0;
  return 1;
}

static qg_status compare(qg_op_call *c, int cmp) {
  const qg_ival *a = &c->args[0], *b = &c->args[1];
  if (a->kind == QG_IVAL_STRING && b->kind == QG_IVAL_STRING) {
    size_t la = a->u.str->len, lb = b->u.str->len;
    int s = memcmp(a->u.str->data, b->u.str->data, la < lb ? la : lb);
    if (s == 0) s = la < lb ? -1 : la > lb;
    qg_out_ival(c, 0, qg_ival_bool(cmp_result(cmp, s, 0)));
    return QG_OK;
  }
  if (cmp == CMP_EQ || cmp == CMP_NE) {
    int numeric = (a->kind == QG_IVAL_INT || a->kind == QG_IVAL_DOUBLE || a->kind == QG_IVAL_BOOL) &&
                  (b->kind == QG_IVAL_INT || b->kind == QG_IVAL_DOUBLE || b->kind == QG_IVAL_BOOL);
    if (!numeric) {
      int eq = item_equal(a, b);
      qg_out_ival(c, 0, qg_ival_bool(cmp == CMP_EQ ? eq : !eq));
      return QG_OK;
    }
  }
  num x = {0, 0, 0}, y = {0, 0, 0};
  QG_TRY(get_num(c, 0, &x));
  QG_TRY(get_num(c, 1, &y));
  int s, unordered = 0;
  if (x.is_int && y.is_int) {
    s = x.i < y.i ? -1 : x.i > y.i;
  } else {
    unordered = isnan(x.d) || isnan(y.d);
    s = x.d < y.d ? -1 : x.d > y.d;
  }
  qg_out_ival(c, 0, qg_ival_bool(cmp_result(cmp, s, unordered)));
  return QG_OK;
}

static qg_status op_lt(qg_op_call *c) { return compare(c, CMP_LT); }
static qg_status op_le(qg_op_call *c) { return compare(c, CMP_LE); }
static qg_status op_gt(qg_op_call *c) { return compare(c, CMP_GT); }
static qg_status op_ge(qg_op_call *c) { return compare(c, CMP_GE); }
static qg_status op_eq(qg_op_call *c) { return compare(c, CMP_EQ); }
static qg_status op_ne(qg_op_call *c) { return compare(c, CMP_NE); }

/* ---- unary --------------------------------------------------------------------------------- */

static qg_status op_neg(qg_op_call *c) {
  num a = {0, 0, 0};
  QG_TRY(get_num(c, 0, &a));
  qg_out_ival(c, 0, a.is_int ? qg_ival_int(wrap_sub(0, a.i)) : qg_ival_double(-a.d));
  return QG_OK;
}

static qg_status op_abs(qg_op_call *c) {
  num a = {0, 0, 0};
  QG_TRY(get_num(c, 0, &a));
  qg_out_ival(c, 0, a.is_int ? qg_ival_int(a.i < 0 ? wrap_sub(0, a.i) : a.i) : qg_ival_double(fabs(a.d)));
  return QG_OK;
}

/* float -> int as PyTorch on x86: NaN and out-of-range give INT64_MIN ("integer indefinite"). */
static int64_t to_int(double d) {
  if (isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) return INT64_MIN;
  return (int64_t)d;
}

static qg_status rounding(qg_op_call *c, double (*fn)(double), int to_int_result) {
  num a = {0, 0, 0};
  QG_TRY(get_num(c, 0, &a));
  if (a.is_int) {
    if (to_int_result || strcmp(c->schema->overload, "Scalar") == 0) qg_out_ival(c, 0, qg_ival_int(a.i));
    else qg_out_ival(c, 0, qg_ival_double(a.d));
    return QG_OK;
  }
  double r = fn(a.d);
  qg_out_ival(c, 0, to_int_result ? qg_ival_int(to_int(r)) : qg_ival_double(r));
  return QG_OK;
}
static qg_status op_floor(qg_op_call *c) { return rounding(c, floor, strcmp(c->schema->overload, "Scalar") != 0); }
static qg_status op_ceil(qg_op_call *c) { return rounding(c, ceil, strcmp(c->schema->overload, "Scalar") != 0); }
static qg_status op_round(qg_op_call *c) { return rounding(c, nearbyint, 0); }

static qg_status float_fn(qg_op_call *c, double (*fn)(double)) {
  num a = {0, 0, 0};
  QG_TRY(get_num(c, 0, &a));
  qg_out_ival(c, 0, qg_ival_double(fn(a.d)));
  return QG_OK;
}
static qg_status op_sqrt(qg_op_call *c) { return float_fn(c, sqrt); }
static qg_status op_exp(qg_op_call *c) { return float_fn(c, exp); }
static qg_status op_log(qg_op_call *c) {
  if (c->nargs == 2) return arith(c, OP_LOG2);
  return float_fn(c, log);
}

/* ---- bool / bitwise ------------------------------------------------------------------------ */

static qg_status bitwise(qg_op_call *c, int op) {
  num a = {0, 0, 0}, b = {0, 0, 0};
  QG_TRY(get_num(c, 0, &a));
  QG_TRY(get_num(c, 1, &b));
  if (!a.is_int || !b.is_int) return qg_set_error(QG_STATUS_TYPE, "%s needs ints or bools", qg_sym_str(c->schema->name));
  int64_t r;
  switch (op) {
  case 0: r = a.i & b.i; break;
  case 1: r = a.i | b.i; break;
  case 2: r = a.i ^ b.i; break;
  case 3: r = b.i < 0 || b.i > 63 ? 0 : (int64_t)((uint64_t)a.i << b.i); break;
  default: r = b.i < 0 ? a.i : b.i > 63 ? (a.i < 0 ? -1 : 0) : a.i >> b.i; break;
  }
  int is_bool = c->args[0].kind == QG_IVAL_BOOL && c->args[1].kind == QG_IVAL_BOOL && op < 3;
  qg_out_ival(c, 0, is_bool ? qg_ival_bool(r != 0) : qg_ival_int(r));
  return QG_OK;
}
static qg_status op_and(qg_op_call *c) { return bitwise(c, 0); }
static qg_status op_or(qg_op_call *c) { return bitwise(c, 1); }
static qg_status op_xor(qg_op_call *c) { return bitwise(c, 2); }
static qg_status op_lshift(qg_op_call *c) { return bitwise(c, 3); }
static qg_status op_rshift(qg_op_call *c) { return bitwise(c, 4); }

static qg_status op_not(qg_op_call *c) {
  int b;
  QG_TRY(qg_arg_bool(c, 0, &b));
  qg_out_ival(c, 0, qg_ival_bool(!b));
  return QG_OK;
}

/* ---- conversions: aten::Int / Float / Bool ----------------------------------------------- */

static qg_status tensor_item(const qg_op_call *c, double *out) {
  qg_tensor *t;
  QG_TRY(qg_arg_tensor(c, 0, &t));
  if (qg_tensor_numel(t) != 1)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "a Tensor with %lld elements cannot be converted to Scalar", (long long)qg_tensor_numel(t));
  *out = qg_tensor_get_flat(t, 0);
  return QG_OK;
}

static qg_status conv_arg(const qg_op_call *c, num *n, int *is_tensor) {
  const qg_ival *v = &c->args[0];
  *is_tensor = 0;
  if (v->kind == QG_IVAL_TENSOR) {
    *is_tensor = 1;
    n->is_int = !qg_dtype_info(v->u.tensor->dtype)->is_float;
    QG_TRY(tensor_item(c, &n->d));
    n->i = n->is_int ? (int64_t)n->d : 0;
    return QG_OK;
  }
  if (v->kind == QG_IVAL_STRING) {
    const char *s = qg_ival_str(v);
    char *end;
    errno = 0;
    if (strcmp(qg_sym_unqual(c->schema->name), "Int") == 0) {
      long long x = strtoll(s, &end, 10);
      if (end == s || *end || errno) return qg_set_error(QG_STATUS_RUNTIME, "invalid literal for int(): '%s' (stoll)", s);
      n->is_int = 1;
      n->i = x;
      n->d = (double)x;
    } else {
      double x = strtod(s, &end);
      if (end == s || *end) return qg_set_error(QG_STATUS_RUNTIME, "could not convert string to float: '%s' (stod)", s);
      n->is_int = 0;
      n->d = x;
    }
    return QG_OK;
  }
  return get_num(c, 0, n);
}

static qg_status op_Int(qg_op_call *c) {
  num n = {0, 0, 0};
  int t;
  QG_TRY(conv_arg(c, &n, &t));
  qg_out_ival(c, 0, qg_ival_int(n.is_int ? n.i : to_int(n.d)));
  return QG_OK;
}

static qg_status op_Float(qg_op_call *c) {
  num n = {0, 0, 0};
  int t;
  QG_TRY(conv_arg(c, &n, &t));
  qg_out_ival(c, 0, qg_ival_double(n.d));
  return QG_OK;
}

static qg_status op_Bool(qg_op_call *c) {
  num n = {0, 0, 0};
  int t;
  QG_TRY(conv_arg(c, &n, &t));
  qg_out_ival(c, 0, qg_ival_bool(n.is_int ? n.i != 0 : n.d != 0));
  return QG_OK;
}

/* ---- ranges -------------------------------------------------------------------------------- */

static qg_status op_range_length(qg_op_call *c) {
  int64_t lo, hi, step;
  QG_TRY(qg_arg_int(c, 0, &lo));
  QG_TRY(qg_arg_int(c, 1, &hi));
  QG_TRY(qg_arg_int(c, 2, &step));
  if (step == 0) return qg_set_error(QG_STATUS_RUNTIME, "range() arg 3 must not be zero");
  int64_t n;
  if (step > 0 && lo < hi) n = 1 + (int64_t)(((uint64_t)hi - 1 - (uint64_t)lo) / (uint64_t)step);
  else if (step < 0 && lo > hi) n = 1 + (int64_t)(((uint64_t)lo - 1 - (uint64_t)hi) / (0 - (uint64_t)step));
  else n = 0;
  qg_out_ival(c, 0, qg_ival_int(n));
  return QG_OK;
}

static qg_status op_derive_index(qg_op_call *c) {
  int64_t index, start, step;
  QG_TRY(qg_arg_int(c, 0, &index));
  QG_TRY(qg_arg_int(c, 1, &start));
  QG_TRY(qg_arg_int(c, 2, &step));
  qg_out_ival(c, 0, qg_ival_int(wrap_add(start, wrap_mul(index, step))));
  return QG_OK;
}

/* Scalar overloads only: tensor overloads of the same names are in the aten table (an exact
 * overload entry here never shadows them). */
static const qg_op_impl_entry scalar_table[] = {
#define BIN(name, fn)                                                                              \
  {"aten::" name, "int", fn}, {"aten::" name, "float", fn}, {"aten::" name, "int_float", fn},     \
      {"aten::" name, "float_int", fn}, {"aten::" name, "", fn}
    BIN("add", op_add),
    BIN("sub", op_sub),
    BIN("mul", op_mul),
    BIN("div", op_div),
    BIN("floordiv", op_floordiv),
    BIN("remainder", op_remainder),
    BIN("pow", op_pow),
    {"aten::pow", "int_to_int", op_pow},
    {"aten::pow", "Scalar_Scalar", op_pow},
    BIN("lt", op_lt),
    BIN("le", op_le),
    BIN("gt", op_gt),
    BIN("ge", op_ge),
    BIN("eq", op_eq),
    BIN("ne", op_ne),
#undef BIN
#define CMP_EXTRA(name, fn)                                                                          \
  {"aten::" name, "str", fn}, {"aten::" name, "bool", fn}, {"aten::" name, "device", fn},          \
      {"aten::" name, "int_list", fn}, {"aten::" name, "float_list", fn}, {"aten::" name, "bool_list", fn}, \
      {"aten::" name, "str_list", fn}, {"aten::" name, "Tensor_list", fn}
    CMP_EXTRA("eq", op_eq),
    CMP_EXTRA("ne", op_ne),
#undef CMP_EXTRA
    {"aten::lt", "str", op_lt},
    {"aten::le", "str", op_le},
    {"aten::gt", "str", op_gt},
    {"aten::ge", "str", op_ge},
    {"prim::min", "int", op_min2},
    {"prim::min", "float", op_min2},
    {"prim::min", "int_float", op_min2},
    {"prim::min", "float_int", op_min2},
    {"prim::min", "", op_min2},
    {"prim::min", "int_list", op_min2},
    {"prim::min", "float_list", op_min2},
    {"prim::min", "bool_list", op_min2},
    {"prim::min", "self_int", op_min2},
    {"prim::min", "self_float", op_min2},
    {"prim::min", "self_bool", op_min2},
    {"prim::max", "int", op_max2},
    {"prim::max", "float", op_max2},
    {"prim::max", "int_float", op_max2},
    {"prim::max", "float_int", op_max2},
    {"prim::max", "", op_max2},
    {"prim::max", "int_list", op_max2},
    {"prim::max", "float_list", op_max2},
    {"prim::max", "bool_list", op_max2},
    {"prim::max", "self_int", op_max2},
    {"prim::max", "self_float", op_max2},
    {"prim::max", "self_bool", op_max2},
    {"aten::neg", "int", op_neg},
    {"aten::neg", "float", op_neg},
    {"aten::neg", "Scalar", op_neg},
    {"prim::abs", "int", op_abs},
    {"prim::abs", "float", op_abs},
    {"prim::abs", "Scalar", op_abs},
    {"aten::floor", "int", op_floor},
    {"aten::floor", "float", op_floor},
    {"aten::floor", "Scalar", op_floor},
    {"aten::ceil", "int", op_ceil},
    {"aten::ceil", "float", op_ceil},
    {"aten::ceil", "Scalar", op_ceil},
    {"aten::round", "int", op_round},
    {"aten::round", "float", op_round},
    {"aten::round", "Scalar", op_round},
    {"aten::sqrt", "int", op_sqrt},
    {"aten::sqrt", "float", op_sqrt},
    {"aten::sqrt", "Scalar", op_sqrt},
    {"aten::exp", "int", op_exp},
    {"aten::exp", "float", op_exp},
    {"aten::exp", "Scalar", op_exp},
    {"aten::log", "int", op_log},
    {"aten::log", "float", op_log},
    {"aten::log", "Scalar", op_log},
    {"aten::log", "int_int", op_log},
    {"aten::log", "float_float", op_log},
    {"aten::log", "int_float", op_log},
    {"aten::log", "float_int", op_log},
    {"aten::log", "Scalar_Scalar", op_log},
    {"aten::__and__", "int", op_and},
    {"aten::__and__", "bool", op_and},
    {"aten::__or__", "int", op_or},
    {"aten::__or__", "bool", op_or},
    {"aten::__xor__", "int", op_xor},
    {"aten::__xor__", "bool", op_xor},
    {"aten::__lshift__", "int", op_lshift},
    {"aten::__rshift__", "int", op_rshift},
    {"aten::__not__", "", op_not},
    {"aten::Int", "*", op_Int},
    {"aten::Float", "*", op_Float},
    {"aten::Bool", "*", op_Bool},
    {"aten::__range_length", "", op_range_length},
    {"aten::__derive_index", "", op_derive_index},
};

const qg_op_impl_entry *qg__ops_scalar_table(size_t *n) {
  *n = sizeof scalar_table / sizeof scalar_table[0];
  return scalar_table;
}
