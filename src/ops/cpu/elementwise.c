/* add / sub / mul / div with broadcasting and type promotion (see elementwise.h). One driver,
 * binary(), handles promotion, shape checks and the in-place write-back; typed loops do the
 * arithmetic in the compute dtype (int64, float or double). */
#include "ops/cpu/elementwise.h"

#include <math.h>
#include <string.h>

#include "ops/cpu/pointwise_common.h"

typedef enum binop { OP_ADD, OP_MUL, OP_DIV_TRUE, OP_DIV_TRUNC, OP_DIV_FLOOR } binop;

/* ---- type promotion ---------------------------------------------------------------------- */

#define NO_DTYPE (-1)

/* c10's combine_categories (no complex): `higher` wins unless the lower-priority one is of a
 * higher category. */
static int combine(int higher, int lower) {
  if (higher == NO_DTYPE) return lower;
  if (lower == NO_DTYPE) return higher;
  if (qg__pw_is_float((qg_dtype)higher)) return higher;
  if (higher == QG_DTYPE_BOOL || qg__pw_is_float((qg_dtype)lower))
    return (int)qg__pw_promote((qg_dtype)higher, (qg_dtype)lower);
  return higher;
}

qg_dtype qg_cpu_result_type(const qg_tensor *a, const qg_tensor *b, int b_is_scalar) {
  int dim = NO_DTYPE, zero = NO_DTYPE, wrapped = NO_DTYPE;
  const qg_tensor *ts[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    int *slot = (i == 1 && b_is_scalar) ? &wrapped : ts[i]->ndim > 0 ? &dim : &zero;
    int cur = (int)ts[i]->dtype;
    if (i == 1 && b_is_scalar && qg__pw_is_float((qg_dtype)cur)) cur = QG_DTYPE_F32;
    *slot = *slot == NO_DTYPE ? cur : (int)qg__pw_promote((qg_dtype)*slot, (qg_dtype)cur);
  }
  return (qg_dtype)combine(dim, combine(zero, wrapped));
}

/* c10::canCast without complex: no float -> integral, no non-bool -> bool. */
static int can_cast(qg_dtype from, qg_dtype to) {
  if (qg__pw_is_float(from) && !qg__pw_is_float(to)) return 0;
  if (from != QG_DTYPE_BOOL && to == QG_DTYPE_BOOL) return 0;
  return 1;
}

/* ---- typed loops ------------------------------------------------------------------------- */

/* PyTorch's div_floor_floating: floor of the exact quotient via fmod, IEEE for b == 0. */
#define DEFINE_DIV_FLOOR(T, SUF)                                                    \
  static T div_floor_##SUF(T a, T b) {                                              \
    if (b == 0) return a / b;                                                       \
    T mod = fmod##SUF(a, b);                                                        \
    T div = (a - mod) / b;                                                          \
    if (mod != 0 && (b < 0) != (mod < 0)) div -= (T)1;                              \
    if (div == 0) return copysign##SUF((T)0, a / b);                                \
    T fl = floor##SUF(div);                                                         \
    if (div - fl > (T)0.5) fl += (T)1;                                              \
    return fl;                                                                      \
  }
DEFINE_DIV_FLOOR(float, f)
DEFINE_DIV_FLOOR(double, )

#define DEFINE_FLOAT_LOOP(T, SUF)                                                          \
  static void loop_##SUF(binop op, T alpha, qg__pw_iter *it, const T *pa, const T *pb,    \
                         T *y, int64_t n) {                                                \
    for (int64_t k = 0; k < n; k++, qg__pw_iter_next(it)) {                                \
      T a = pa[it->off[0]], b = pb[it->off[1]], r;                                         \
      switch (op) {                                                                        \
        case OP_ADD: r = a + alpha * b; break;                                             \
        case OP_MUL: r = a * b; break;                                                     \
        case OP_DIV_TRUE: r = a / b; break;                                                \
        case OP_DIV_TRUNC: r = trunc##SUF(a / b); break;                                   \
        default: r = div_floor_##SUF(a, b); break;                                         \
      }                                                                                    \
      y[k] = r;                                                                            \
    }                                                                                      \
  }
DEFINE_FLOAT_LOOP(float, f)
DEFINE_FLOAT_LOOP(double, )

/* The same arithmetic on dense operands of one shape (the common case: residual adds, scaling):
 * the op switch is hoisted out of the loop so the compiler vectorises it. y may equal pa
 * (in-place). */
#define DEFINE_DENSE_LOOP(T, SUF)                                                             \
  static void dense_##SUF(binop op, T alpha, const T *pa, const T *pb, T *y, int64_t n) {     \
    switch (op) {                                                                             \
      case OP_ADD:                                                                            \
        for (int64_t k = 0; k < n; k++) y[k] = pa[k] + alpha * pb[k];                         \
        break;                                                                                \
      case OP_MUL:                                                                            \
        for (int64_t k = 0; k < n; k++) y[k] = pa[k] * pb[k];                                 \
        break;                                                                                \
      case OP_DIV_TRUE:                                                                       \
        for (int64_t k = 0; k < n; k++) y[k] = pa[k] / pb[k];                                 \
        break;                                                                                \
      case OP_DIV_TRUNC:                                                                      \
        for (int64_t k = 0; k < n; k++) y[k] = trunc##SUF(pa[k] / pb[k]);                     \
        break;                                                                                \
      default:                                                                                \
        for (int64_t k = 0; k < n; k++) y[k] = div_floor_##SUF(pa[k], pb[k]);                 \
        break;                                                                                \
    }                                                                                         \
  }
DEFINE_DENSE_LOOP(float, f)
DEFINE_DENSE_LOOP(double, )

/* Both operands contiguous with the result's shape and already in the compute dtype. */
static int dense_operands(const qg_tensor *a, const qg_tensor *b, qg_dtype cd, int nd, const int64_t *shape) {
  return a->dtype == cd && b->dtype == cd && a->ndim == nd && b->ndim == nd &&
         memcmp(a->shape, shape, sizeof(int64_t) * (size_t)nd) == 0 &&
         memcmp(b->shape, shape, sizeof(int64_t) * (size_t)nd) == 0 && qg_tensor_is_contiguous(a) &&
         qg_tensor_is_contiguous(b);
}

/* Returns 0, or -1 on integer division by zero. Arithmetic wraps (done in uint64). */
static int loop_i64(binop op, int64_t alpha, qg__pw_iter *it, const int64_t *pa,
                    const int64_t *pb, int64_t *y, int64_t n) {
  for (int64_t k = 0; k < n; k++, qg__pw_iter_next(it)) {
    int64_t a = pa[it->off[0]], b = pb[it->off[1]], r;
    switch (op) {
      case OP_ADD: r = (int64_t)((uint64_t)a + (uint64_t)alpha * (uint64_t)b); break;
      case OP_MUL: r = (int64_t)((uint64_t)a * (uint64_t)b); break;
      default:
        if (b == 0) return -1;
        if (b == -1) {
          r = (int64_t)(0 - (uint64_t)a); /* INT64_MIN / -1 wraps */
          break;
        }
        r = a / b;
        if (op == OP_DIV_FLOOR && a % b != 0 && ((a < 0) != (b < 0))) r--;
        break;
    }
    y[k] = r;
  }
  return 0;
}

/* ---- driver ------------------------------------------------------------------------------ */

static const char *op_name(binop op, int is_sub, int inplace) {
  static const char *const names[2][5] = {{"add", "mul", "div", "div", "div"},
                                          {"add_", "mul_", "div_", "div_", "div_"}};
  if (is_sub) return inplace ? "sub_" : "sub";
  return names[inplace ? 1 : 0][op];
}

/* Runs `op` on a and b (b_scalar: b is a wrapped number). inplace: the result is written into
 * a; else *out gets a new tensor. */
static qg_status binary(binop op, int is_sub, qg_tensor *a, qg_tensor *b, int b_scalar,
                        qg_scalar alpha, int inplace, qg_tensor **out) {
  const char *name = op_name(op, is_sub, inplace);
  if (out) *out = NULL;
  if (qg_dtype_info(a->dtype)->is_quantized || qg_dtype_info(b->dtype)->is_quantized)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: quantized operands are not supported (got %s and %s)",
                        name, qg_dtype_info(a->dtype)->name, qg_dtype_info(b->dtype)->name);
  if (is_sub && a->dtype == QG_DTYPE_BOOL && b->dtype == QG_DTYPE_BOOL)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Subtraction, the `-` operator, with two bool tensors is not supported. "
                        "Use the `^` or `logical_xor()` operator instead.",
                        name);
  if (is_sub && (a->dtype == QG_DTYPE_BOOL || b->dtype == QG_DTYPE_BOOL))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: Subtraction, the `-` operator, with a bool tensor is not supported. If "
                        "you are trying to invert a mask, use the `~` or `logical_not()` operator "
                        "instead.",
                        name);
  qg_dtype common = qg_cpu_result_type(a, b, b_scalar);
  if (op == OP_DIV_TRUE && !qg__pw_is_float(common)) common = QG_DTYPE_F32;
  if (common == QG_DTYPE_F16 || common == QG_DTYPE_BF16)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: %s arithmetic is not supported", name,
                        qg_dtype_info(common)->name);
  char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX];
  int nd;
  int64_t shape[QG_MAX_DIMS];
  QG_TRY(qg_broadcast_shapes(a->ndim, a->shape, b->ndim, b->shape, &nd, shape));
  if (inplace) {
    if (nd != a->ndim || memcmp(shape, a->shape, sizeof(int64_t) * (size_t)nd) != 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: output with shape %s doesn't match the broadcast shape %s", name,
                          qg_shape_str(a->ndim, a->shape, s1, QG_SHAPE_STR_MAX), qg_shape_str(nd, shape, s2, QG_SHAPE_STR_MAX));
    if (!can_cast(common, a->dtype))
      return qg_set_error(QG_STATUS_TYPE,
                          "%s: result type %s can't be cast to the desired output type %s", name,
                          qg__pw_dtype_name(common), qg__pw_dtype_name(a->dtype));
  }
  int is_float = qg__pw_is_float(common);
  if (!is_float && alpha.is_float && op == OP_ADD)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: For integral input tensors, argument alpha must not be a floating "
                        "point number.",
                        name);
  qg_dtype cd = is_float ? common : QG_DTYPE_I64;
  if (is_float && cd == common && dense_operands(a, b, cd, nd, shape)) {
    /* Fast path. In place, write straight into a unless b overlaps a differently (x += x is
     * fine: each element is read before it is written). */
    double fa = alpha.is_float ? alpha.f : (double)alpha.i;
    if (is_sub) fa = -fa;
    int64_t n = qg_tensor_numel(a);
    qg_tensor *y = NULL;
    if (inplace && (b->storage != a->storage || b->offset == a->offset)) y = a;
    else if (!inplace) QG_TRY(qg_tensor_create(cd, nd, shape, &y));
    if (y) {
      if (n > 0 && cd == QG_DTYPE_F32)
        dense_f(op, (float)fa, qg_tensor_data(a), qg_tensor_data(b), qg_tensor_data(y), n);
      else if (n > 0)
        dense_(op, fa, qg_tensor_data(a), qg_tensor_data(b), qg_tensor_data(y), n);
      if (!inplace) *out = y;
      return QG_OK;
    }
  }
  qg_tensor *xa = NULL, *xb = NULL, *y = NULL;
  qg_status st = QG_OK;
  if (a->dtype == cd) qg_tensor_retain(xa = a);
  else st = qg_tensor_to_dtype(a, cd, &xa);
  if (st == QG_OK) {
    if (b->dtype == cd) qg_tensor_retain(xb = b);
    else st = qg_tensor_to_dtype(b, cd, &xb);
  }
  if (st == QG_OK) st = qg_tensor_create(cd, nd, shape, &y);
  if (st == QG_OK) {
    int64_t n = qg_tensor_numel(y);
    const qg_tensor *ops[2] = {xa, xb};
    qg__pw_iter it;
    qg__pw_iter_init(&it, nd, shape, 2, ops);
    double fa = alpha.is_float ? alpha.f : (double)alpha.i;
    if (is_sub) fa = -fa;
    if (n > 0) {
      if (cd == QG_DTYPE_F32) {
        loop_f(op, (float)fa, &it, qg_tensor_data(xa), qg_tensor_data(xb), qg_tensor_data(y), n);
      } else if (cd == QG_DTYPE_F64) {
        loop_(op, fa, &it, qg_tensor_data(xa), qg_tensor_data(xb), qg_tensor_data(y), n);
      } else {
        int64_t ia = is_sub ? (int64_t)(0 - (uint64_t)alpha.i) : alpha.i;
        if (loop_i64(op, ia, &it, qg_tensor_data(xa), qg_tensor_data(xb), qg_tensor_data(y), n) != 0)
          st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: ZeroDivisionError", name);
      }
    }
  }
  if (st == QG_OK && cd != common) {
    qg_tensor *narrow;
    st = qg_tensor_to_dtype(y, common, &narrow);
    if (st == QG_OK) {
      qg_tensor_release(y);
      y = narrow;
    }
  }
  if (st == QG_OK && inplace) st = qg_tensor_copy_(a, y);
  qg_tensor_release(xa);
  qg_tensor_release(xb);
  if (st == QG_OK && !inplace) {
    *out = y;
    return QG_OK;
  }
  qg_tensor_release(y);
  return st;
}

/* Scalar operand as a 0-dim tensor: int64 for ints, float64 for floats. */
static qg_status scalar_tensor(qg_scalar s, qg_tensor **out) {
  if (s.is_float) return qg_tensor_scalar(QG_DTYPE_F64, s.f, out);
  return qg_tensor_from_data(QG_DTYPE_I64, 0, NULL, &s.i, out);
}

static qg_status binary_scalar(binop op, int is_sub, qg_tensor *a, qg_scalar b, qg_scalar alpha,
                               int inplace, qg_tensor **out) {
  qg_tensor *tb;
  if (out) *out = NULL;
  QG_TRY(scalar_tensor(b, &tb));
  qg_status st = binary(op, is_sub, a, tb, 1, alpha, inplace, out);
  qg_tensor_release(tb);
  return st;
}

static binop div_op(qg_div_mode m) {
  return m == QG_DIV_TRUNC ? OP_DIV_TRUNC : m == QG_DIV_FLOOR ? OP_DIV_FLOOR : OP_DIV_TRUE;
}

qg_status qg_div_mode_parse(const char *s, qg_div_mode *out) {
  if (!s) *out = QG_DIV_TRUE;
  else if (strcmp(s, "trunc") == 0) *out = QG_DIV_TRUNC;
  else if (strcmp(s, "floor") == 0) *out = QG_DIV_FLOOR;
  else
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                        "found '%s'",
                        s);
  return QG_OK;
}

qg_status qg_cpu_add(qg_tensor *a, qg_tensor *b, qg_scalar alpha, qg_tensor **out) {
  return binary(OP_ADD, 0, a, b, 0, alpha, 0, out);
}
qg_status qg_cpu_add_scalar(qg_tensor *a, qg_scalar b, qg_scalar alpha, qg_tensor **out) {
  return binary_scalar(OP_ADD, 0, a, b, alpha, 0, out);
}
qg_status qg_cpu_add_(qg_tensor *a, qg_tensor *b, qg_scalar alpha) {
  return binary(OP_ADD, 0, a, b, 0, alpha, 1, NULL);
}
qg_status qg_cpu_add_scalar_(qg_tensor *a, qg_scalar b, qg_scalar alpha) {
  return binary_scalar(OP_ADD, 0, a, b, alpha, 1, NULL);
}
qg_status qg_cpu_sub(qg_tensor *a, qg_tensor *b, qg_scalar alpha, qg_tensor **out) {
  return binary(OP_ADD, 1, a, b, 0, alpha, 0, out);
}
qg_status qg_cpu_sub_scalar(qg_tensor *a, qg_scalar b, qg_scalar alpha, qg_tensor **out) {
  return binary_scalar(OP_ADD, 1, a, b, alpha, 0, out);
}
qg_status qg_cpu_sub_(qg_tensor *a, qg_tensor *b, qg_scalar alpha) {
  return binary(OP_ADD, 1, a, b, 0, alpha, 1, NULL);
}
qg_status qg_cpu_sub_scalar_(qg_tensor *a, qg_scalar b, qg_scalar alpha) {
  return binary_scalar(OP_ADD, 1, a, b, alpha, 1, NULL);
}
qg_status qg_cpu_mul(qg_tensor *a, qg_tensor *b, qg_tensor **out) {
  return binary(OP_MUL, 0, a, b, 0, qg_scalar_int(1), 0, out);
}
qg_status qg_cpu_mul_scalar(qg_tensor *a, qg_scalar b, qg_tensor **out) {
  return binary_scalar(OP_MUL, 0, a, b, qg_scalar_int(1), 0, out);
}
qg_status qg_cpu_mul_(qg_tensor *a, qg_tensor *b) {
  return binary(OP_MUL, 0, a, b, 0, qg_scalar_int(1), 1, NULL);
}
qg_status qg_cpu_mul_scalar_(qg_tensor *a, qg_scalar b) {
  return binary_scalar(OP_MUL, 0, a, b, qg_scalar_int(1), 1, NULL);
}
qg_status qg_cpu_div(qg_tensor *a, qg_tensor *b, qg_div_mode mode, qg_tensor **out) {
  return binary(div_op(mode), 0, a, b, 0, qg_scalar_int(1), 0, out);
}
qg_status qg_cpu_div_scalar(qg_tensor *a, qg_scalar b, qg_div_mode mode, qg_tensor **out) {
  return binary_scalar(div_op(mode), 0, a, b, qg_scalar_int(1), 0, out);
}
qg_status qg_cpu_div_(qg_tensor *a, qg_tensor *b, qg_div_mode mode) {
  return binary(div_op(mode), 0, a, b, 0, qg_scalar_int(1), 1, NULL);
}
qg_status qg_cpu_div_scalar_(qg_tensor *a, qg_scalar b, qg_div_mode mode) {
  return binary_scalar(div_op(mode), 0, a, b, qg_scalar_int(1), 1, NULL);
}
