/* aten convolution and linear-algebra ops -> src/ops/cpu/conv.h, linalg.h. */
#include "ops/cpu/conv.h"
#include "ops/cpu/linalg.h"
#include "runtime/ops_aten_impl.h"

#define MAXL 8 /* room for any int-list argument of these ops (the kernels check the lengths) */

/* conv{N}d(input, weight, bias?, stride, padding, dilation, groups) and the .padding overload
 * whose padding is "same" / "valid". */
static qg_status conv_nd(qg_op_call *c, int nspatial) {
  qg_tensor *x, *w, *b, *y;
  int64_t stride[MAXL], pad[MAXL], dil[MAXL], groups;
  size_t ns, np = 0, nd;
  const char *pad_str = NULL;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_tensor(c, 1, &w));
  QG_TRY(qg_arg_opt_tensor(c, 2, &b));
  QG_TRY(qg_arg_int_list(c, 3, stride, MAXL, &ns));
  if (c->nargs > 4 && c->args[4].kind == QG_IVAL_STRING) QG_TRY(qg_arg_str(c, 4, &pad_str));
  else QG_TRY(qg_arg_int_list(c, 4, pad, MAXL, &np));
  QG_TRY(qg_arg_int_list(c, 5, dil, MAXL, &nd));
  QG_TRY(qg_arg_int(c, 6, &groups));
  if (pad_str)
    QG_TRY(qg_cpu_conv_nd_padding_str(nspatial, x, w, b, stride, (int)ns, pad_str, dil, (int)nd, groups, &y));
  else
    QG_TRY(qg_cpu_conv_nd(nspatial, x, w, b, stride, (int)ns, pad, (int)np, dil, (int)nd, groups, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status conv1d(qg_op_call *c) { return conv_nd(c, 1); }
static qg_status conv2d(qg_op_call *c) { return conv_nd(c, 2); }
static qg_status conv3d(qg_op_call *c) { return conv_nd(c, 3); }

/* conv_transpose{N}d(input, weight, bias?, stride, padding, output_padding, groups, dilation) */
static qg_status conv_transpose_nd(qg_op_call *c, int nspatial) {
  qg_tensor *x, *w, *b, *y;
  int64_t stride[MAXL], pad[MAXL], opad[MAXL], dil[MAXL], groups;
  size_t ns, np, no, nd;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_tensor(c, 1, &w));
  QG_TRY(qg_arg_opt_tensor(c, 2, &b));
  QG_TRY(qg_arg_int_list(c, 3, stride, MAXL, &ns));
  QG_TRY(qg_arg_int_list(c, 4, pad, MAXL, &np));
  QG_TRY(qg_arg_int_list(c, 5, opad, MAXL, &no));
  QG_TRY(qg_arg_int(c, 6, &groups));
  QG_TRY(qg_arg_int_list(c, 7, dil, MAXL, &nd));
  QG_TRY(qg_cpu_conv_transpose_nd(nspatial, x, w, b, stride, (int)ns, pad, (int)np, opad, (int)no, groups, dil,
                                  (int)nd, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status conv_transpose1d(qg_op_call *c) { return conv_transpose_nd(c, 1); }
static qg_status conv_transpose2d(qg_op_call *c) { return conv_transpose_nd(c, 2); }
static qg_status conv_transpose3d(qg_op_call *c) { return conv_transpose_nd(c, 3); }

/* _convolution(input, weight, bias?, stride, padding, dilation, transposed, output_padding,
 * groups, benchmark, deterministic, cudnn_enabled[, allow_tf32]) and convolution(... groups):
 * the trailing backend flags do not change CPU results (their types are still checked). */
static qg_status convolution(qg_op_call *c) {
  qg_tensor *x, *w, *b, *y;
  int64_t stride[MAXL], pad[MAXL], dil[MAXL], opad[MAXL], groups;
  size_t ns, np, nd, no;
  int transposed, flag;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_tensor(c, 1, &w));
  QG_TRY(qg_arg_opt_tensor(c, 2, &b));
  QG_TRY(qg_arg_int_list(c, 3, stride, MAXL, &ns));
  QG_TRY(qg_arg_int_list(c, 4, pad, MAXL, &np));
  QG_TRY(qg_arg_int_list(c, 5, dil, MAXL, &nd));
  QG_TRY(qg_arg_bool(c, 6, &transposed));
  QG_TRY(qg_arg_int_list(c, 7, opad, MAXL, &no));
  QG_TRY(qg_arg_int(c, 8, &groups));
  for (size_t i = 9; i < c->nargs; i++) QG_TRY(qg_arg_bool(c, i, &flag));
  QG_TRY(qg_cpu_convolution(x, w, b, stride, (int)ns, pad, (int)np, dil, (int)nd, transposed, opad, (int)no, groups,
                            &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

static qg_status linear(qg_op_call *c) {
  qg_tensor *x, *w, *b, *y;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_tensor(c, 1, &w));
  QG_TRY(qg_arg_opt_tensor(c, 2, &b));
  QG_TRY(qg_cpu_linear(x, w, b, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

typedef qg_status (*binary_kernel)(qg_tensor *a, qg_tensor *b, qg_tensor **out);
static qg_status binary(qg_op_call *c, binary_kernel k) {
  qg_tensor *a, *b, *y;
  QG_TRY(qg_arg_tensor(c, 0, &a));
  QG_TRY(qg_arg_tensor(c, 1, &b));
  QG_TRY(k(a, b, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status matmul(qg_op_call *c) { return binary(c, qg_cpu_matmul); }
static qg_status mm(qg_op_call *c) { return binary(c, qg_cpu_mm); }
static qg_status bmm(qg_op_call *c) { return binary(c, qg_cpu_bmm); }

static qg_status scalar_as_double(qg_op_call *c, size_t i, double *out) {
  qg_scalar s;
  QG_TRY(qg__aten_arg_scalar(c, i, &s));
  *out = s.is_float ? s.f : (double)s.i;
  return QG_OK;
}

/* addmm(self, mat1, mat2, *, Scalar beta=1, Scalar alpha=1) */
static qg_status addmm(qg_op_call *c) {
  qg_tensor *s, *a, *b, *y;
  double beta, alpha;
  QG_TRY(qg_arg_tensor(c, 0, &s));
  QG_TRY(qg_arg_tensor(c, 1, &a));
  QG_TRY(qg_arg_tensor(c, 2, &b));
  QG_TRY(scalar_as_double(c, 3, &beta));
  QG_TRY(scalar_as_double(c, 4, &alpha));
  QG_TRY(qg_cpu_addmm(s, a, b, beta, alpha, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* baddbmm(self, batch1, batch2, *, beta=1, alpha=1) = beta * self + alpha * bmm(batch1, batch2),
 * composed from bmm and the elementwise kernels (self broadcasts; beta == 0 ignores self, NaN
 * included, as PyTorch). */
static qg_status baddbmm(qg_op_call *c) {
  qg_tensor *s, *a, *b, *p = NULL, *t = NULL, *y = NULL;
  qg_scalar beta, alpha;
  QG_TRY(qg_arg_tensor(c, 0, &s));
  QG_TRY(qg_arg_tensor(c, 1, &a));
  QG_TRY(qg_arg_tensor(c, 2, &b));
  QG_TRY(qg__aten_arg_scalar(c, 3, &beta));
  QG_TRY(qg__aten_arg_scalar(c, 4, &alpha));
  QG_TRY(qg_cpu_bmm(a, b, &p));
  double betav = beta.is_float ? beta.f : (double)beta.i;
  double alphav = alpha.is_float ? alpha.f : (double)alpha.i;
  qg_status st = QG_OK;
  if (alphav != 1.0) {
    st = qg_cpu_mul_scalar(p, alpha, &t);
    qg_tensor_release(p);
    p = t;
    t = NULL;
  }
  if (st == QG_OK && betav == 0.0) {
    y = p; /* result shape is bmm's; self must still broadcast to it */
    p = NULL;
  } else if (st == QG_OK) {
    /* beta * self + p == p + beta * self: add's alpha carries beta. */
    st = qg_cpu_add(p, s, beta, &y);
  }
  qg_tensor_release(p);
  if (st != QG_OK) return st;
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

static qg_status t_op(qg_op_call *c) {
  qg_tensor *x, *y;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  if (x->ndim > 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "t() expects a tensor with <= 2 dimensions, but self is %dD",
                        x->ndim);
  /* aten::t is a view: transpose the two dims (0-D and 1-D: the tensor itself as a view). */
  if (x->ndim < 2) QG_TRY(qg_tensor_expand(x, x->ndim, x->shape, &y));
  else QG_TRY(qg_tensor_transpose(x, 0, 1, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

static const qg_op_impl_entry table[] = {
    {"aten::conv1d", "", conv1d},
    {"aten::conv1d", "padding", conv1d},
    {"aten::conv2d", "", conv2d},
    {"aten::conv2d", "padding", conv2d},
    {"aten::conv3d", "", conv3d},
    {"aten::conv3d", "padding", conv3d},
    {"aten::conv_transpose1d", "", conv_transpose1d},
    {"aten::conv_transpose2d", "input", conv_transpose2d},
    {"aten::conv_transpose3d", "input", conv_transpose3d},
    {"aten::_convolution", "", convolution},
    {"aten::_convolution", "deprecated", convolution},
    {"aten::convolution", "", convolution},
    {"aten::linear", "", linear},
    {"aten::matmul", "", matmul},
    {"aten::mm", "", mm},
    {"aten::bmm", "", bmm},
    {"aten::addmm", "", addmm},
    {"aten::baddbmm", "", baddbmm},
    {"aten::t", "", t_op},
};

const qg_op_impl_entry *qg__ops_aten_conv_table(size_t *n) {
  *n = sizeof table / sizeof table[0];
  return table;
}
