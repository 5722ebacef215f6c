/* quantized:: activations, normalization, concatenation, pooling and dropout ->
 * src/ops/cpu/quantized_activation.h, quantized_norm.h, quantized_cat.h, quantized_pool.h.
 * Schemas are torch 1.13's (src/ir/ops.def); output qparams are arguments except where noted. */
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/quantized_activation.h"
#include "ops/cpu/quantized_cat.h"
#include "ops/cpu/quantized_common.h"
#include "ops/cpu/quantized_norm.h"
#include "ops/cpu/quantized_pool.h"
#include "runtime/ops_quant_impl.h"

#define MAXL QG_MAX_DIMS

static int name_has(const qg_op_call *c, const char *part) { return strstr(qg_sym_str(c->schema->name), part) != NULL; }

/* ---- activations ------------------------------------------------------------------------------ */

/* hardswish(input, float output_scale, int output_zero_point), sigmoid(qx, scale, zp) */
static qg_status unary_qparams(qg_op_call *c, qg_qunary_kind kind) {
  qg_tensor *x, *y;
  double scale;
  int64_t zp;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_double(c, 1, &scale));
  QG_TRY(qg_arg_int(c, 2, &zp));
  QG_TRY(qg_cpu_qunary(kind, x, 0, 0, 0, scale, zp, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status hardswish(qg_op_call *c) { return unary_qparams(c, QG_QUNARY_HARDSWISH); }
static qg_status sigmoid(qg_op_call *c) { return unary_qparams(c, QG_QUNARY_SIGMOID); }

/* elu(self, scale, zp, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) and
 * celu(self, scale, zp, Scalar alpha=1) = elu(alpha, 1, 1 / alpha) */
static qg_status elu(qg_op_call *c) {
  qg_tensor *x, *y;
  double scale, alpha, coef = 1, input_scale;
  int64_t zp;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_double(c, 1, &scale));
  QG_TRY(qg_arg_int(c, 2, &zp));
  QG_TRY(qg__quant_arg_number(c, 3, &alpha));
  if (name_has(c, "celu")) {
    if (alpha == 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "ZeroDivisionError: alpha cannot be 0 for CELU");
    input_scale = 1.0 / alpha;
  } else {
    QG_TRY(qg__quant_arg_number(c, 4, &coef));
    QG_TRY(qg__quant_arg_number(c, 5, &input_scale));
  }
  QG_TRY(qg_cpu_qunary(QG_QUNARY_ELU, x, alpha, coef, input_scale, scale, zp, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* leaky_relu(qx, Scalar negative_slope, bool inplace, float output_scale, int output_zero_point):
 * inplace is ignored, as PyTorch does (it warns). */
static qg_status leaky_relu(qg_op_call *c) {
  qg_tensor *x, *y;
  double slope, scale;
  int64_t zp;
  int inplace;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg__quant_arg_number(c, 1, &slope));
  QG_TRY(qg_arg_bool(c, 2, &inplace));
  QG_TRY(qg_arg_double(c, 3, &scale));
  QG_TRY(qg_arg_int(c, 4, &zp));
  QG_TRY(qg_cpu_qunary(QG_QUNARY_LEAKY_RELU, x, slope, 0, 0, scale, zp, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* threshold(qx, Scalar threshold, Scalar value): the input's qparams */
static qg_status threshold(qg_op_call *c) {
  qg_tensor *x, *y;
  double thr, val;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg__quant_arg_number(c, 1, &thr));
  QG_TRY(qg__quant_arg_number(c, 2, &val));
  QG_TRY(qg_q_check_per_tensor("quantized::threshold", x));
  QG_TRY(qg_cpu_qunary(QG_QUNARY_THRESHOLD, x, thr, val, 0, x->quantizer->scale, x->quantizer->zero_point, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* clamp(qx, Scalar? min, Scalar? max) */
static qg_status clamp(qg_op_call *c) {
  qg_tensor *x, *y;
  qg_scalar lo = {0, 0, 0}, hi = {0, 0, 0};
  int has_lo, has_hi;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg__aten_arg_opt_scalar(c, 1, &lo, &has_lo));
  QG_TRY(qg__aten_arg_opt_scalar(c, 2, &hi, &has_hi));
  QG_TRY(qg_cpu_qclamp(x, has_lo, lo.is_float ? lo.f : (double)lo.i, has_hi, hi.is_float ? hi.f : (double)hi.i, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* relu6(qx, bool inplace=False) = hardtanh(0, 6) */
static qg_status relu6(qg_op_call *c) {
  qg_tensor *x, *y;
  int inplace;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_bool(c, 1, &inplace));
  QG_TRY(qg_cpu_qclamp(x, 1, 0.0, 1, 6.0, &y));
  if (inplace) {
    qg_status st = qg_cpu_qassign(x, y);
    qg_tensor_release(y);
    QG_TRY(st);
    qg__aten_out_alias(c, 0, x);
    return QG_OK;
  }
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* prelu(qx, Tensor weight, float output_scale, int output_zero_point) */
static qg_status prelu(qg_op_call *c) {
  qg_tensor *x, *w, *y;
  double scale;
  int64_t zp;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_tensor(c, 1, &w));
  QG_TRY(qg_arg_double(c, 2, &scale));
  QG_TRY(qg_arg_int(c, 3, &zp));
  QG_TRY(qg_cpu_qprelu(x, w, scale, zp, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* softmax(qx, int dim, float output_scale, int output_zero_point) */
static qg_status softmax(qg_op_call *c) {
  qg_tensor *x, *y;
  int64_t dim, zp;
  double scale;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int(c, 1, &dim));
  QG_TRY(qg_arg_double(c, 2, &scale));
  QG_TRY(qg_arg_int(c, 3, &zp));
  QG_TRY(qg_cpu_qsoftmax(x, dim, scale, zp, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* dropout(self, output_scale, output_zero_point, Scalar p=0.5, bool training=False): evaluation
 * returns the input itself, as qdropout.cpp does. */
static qg_status dropout(qg_op_call *c) {
  qg_tensor *x;
  int training;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_bool(c, 4, &training));
  if (training)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "quantized::dropout: training mode is not supported");
  qg__aten_out_alias(c, 0, x);
  return QG_OK;
}

/* ---- normalization ----------------------------------------------------------------------------- */

/* batch_norm{,1d,2d,3d}{,_relu}(qx, weight?, bias?, mean, var, float eps, float output_scale,
 * int output_zero_point) */
static qg_status batch_norm(qg_op_call *c) {
  qg_tensor *x, *w, *b, *m, *v, *y;
  double eps, scale;
  int64_t zp;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_opt_tensor(c, 1, &w));
  QG_TRY(qg_arg_opt_tensor(c, 2, &b));
  QG_TRY(qg_arg_tensor(c, 3, &m));
  QG_TRY(qg_arg_tensor(c, 4, &v));
  QG_TRY(qg_arg_double(c, 5, &eps));
  QG_TRY(qg_arg_double(c, 6, &scale));
  QG_TRY(qg_arg_int(c, 7, &zp));
  const int ns = name_has(c, "1d") ? 1 : name_has(c, "2d") ? 2 : name_has(c, "3d") ? 3 : 0;
  QG_TRY(qg_cpu_qbatch_norm(ns, x, w, b, m, v, eps, scale, zp, name_has(c, "relu"), &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* layer_norm(input, int[] normalized_shape, weight?, bias?, float eps, output_scale, zp) */
static qg_status layer_norm(qg_op_call *c) {
  qg_tensor *x, *w, *b, *y;
  int64_t shape[MAXL], zp;
  size_t n;
  double eps, scale;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int_list(c, 1, shape, MAXL, &n));
  QG_TRY(qg_arg_opt_tensor(c, 2, &w));
  QG_TRY(qg_arg_opt_tensor(c, 3, &b));
  QG_TRY(qg_arg_double(c, 4, &eps));
  QG_TRY(qg_arg_double(c, 5, &scale));
  QG_TRY(qg_arg_int(c, 6, &zp));
  QG_TRY(qg_cpu_qlayer_norm(x, shape, (int)n, w, b, eps, scale, zp, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* group_norm(input, int num_groups, weight?, bias?, eps, scale, zp) and
 * instance_norm(input, weight?, bias?, eps, scale, zp) = group_norm with one group per channel */
static qg_status group_norm(qg_op_call *c) {
  qg_tensor *x, *w, *b, *y;
  int64_t groups, zp;
  double eps, scale;
  const int inst = name_has(c, "instance");
  size_t i = 1;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  if (!inst) QG_TRY(qg_arg_int(c, i++, &groups));
  QG_TRY(qg_arg_opt_tensor(c, i++, &w));
  QG_TRY(qg_arg_opt_tensor(c, i++, &b));
  QG_TRY(qg_arg_double(c, i++, &eps));
  QG_TRY(qg_arg_double(c, i++, &scale));
  QG_TRY(qg_arg_int(c, i, &zp));
  if (inst) {
    if (x->ndim < 3)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Expected normalized_shape to be at least 3-dimensional");
    groups = x->shape[1];
  }
  QG_TRY(qg_cpu_qgroup_norm(x, groups, w, b, eps, scale, zp, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* ---- concatenation ------------------------------------------------------------------------------ */

/* cat / cat_relu(Tensor[] qx, int dim, float? scale, int? zero_point), and the _out forms
 * (qx, dim, Tensor(a!) out) that take out's qparams and write into it. */
static qg_status cat(qg_op_call *c) {
  qg_tensor **xs, *y, *out = NULL;
  size_t n;
  int64_t dim, zp = 0;
  double scale = 0;
  int has_s = 0, has_z = 0;
  const int relu = name_has(c, "relu"), into = name_has(c, "_out");
  QG_TRY(qg_arg_int(c, 1, &dim));
  if (into) {
    QG_TRY(qg_arg_tensor(c, 2, &out));
    if (!out->quantizer || out->quantizer->scheme != QG_QSCHEME_PER_TENSOR_AFFINE)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: out must be a per-tensor quantized tensor",
                          qg__aten_op_name(c));
    scale = out->quantizer->scale;
    zp = out->quantizer->zero_point;
    has_s = has_z = 1;
  } else {
    QG_TRY(qg_arg_opt_double(c, 2, &scale, &has_s));
    QG_TRY(qg_arg_opt_int(c, 3, &zp, &has_z));
  }
  QG_TRY(qg__quant_arg_tensors(c, 0, &xs, &n));
  /* a missing scale or zero point defaults to the first input's, independently */
  if (n > 0 && xs[0]->quantizer && xs[0]->quantizer->scheme == QG_QSCHEME_PER_TENSOR_AFFINE) {
    if (!has_s) scale = xs[0]->quantizer->scale;
    if (!has_z) zp = xs[0]->quantizer->zero_point;
  }
  qg_status st = qg_cpu_qcat(xs, (int)n, dim, 1, scale, zp, relu, 0, &y);
  qg__free(xs);
  QG_TRY(st);
  if (into) {
    if (y->ndim != out->ndim || memcmp(y->shape, out->shape, sizeof(int64_t) * (size_t)y->ndim) != 0 ||
        y->dtype != out->dtype)
      st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: out does not have the result's shape and dtype",
                        qg__aten_op_name(c));
    if (st == QG_OK) st = qg_cpu_qassign(out, y);
    qg_tensor_release(y);
    QG_TRY(st);
    qg__aten_out_alias(c, 0, out);
    return QG_OK;
  }
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* ---- pooling ------------------------------------------------------------------------------------ */

/* max_pool1d / max_pool2d(qx, int[] kernel_size, stride, padding, dilation, bool ceil_mode) and
 * aten::quantized_max_pool2d(self, int[2] kernel_size, ...) */
static qg_status max_pool(qg_op_call *c) {
  qg_tensor *x;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_q_check_per_tensor(qg__aten_op_name(c), x));
  return qg__aten_max_pool(c, name_has(c, "1d") ? 1 : 2);
}

static const qg_op_impl_entry table[] = {
    {"quantized::hardswish", "", hardswish},
    {"quantized::sigmoid", "", sigmoid},
    {"quantized::elu", "", elu},
    {"quantized::celu", "", elu},
    {"quantized::leaky_relu", "", leaky_relu},
    {"quantized::threshold", "", threshold},
    {"quantized::clamp", "", clamp},
    {"quantized::relu6", "", relu6},
    {"quantized::prelu", "", prelu},
    {"quantized::softmax", "", softmax},
    {"quantized::dropout", "", dropout},
    {"quantized::batch_norm", "", batch_norm},
    {"quantized::batch_norm_relu", "", batch_norm},
    {"quantized::batch_norm1d", "", batch_norm},
    {"quantized::batch_norm1d_relu", "", batch_norm},
    {"quantized::batch_norm2d", "", batch_norm},
    {"quantized::batch_norm2d_relu", "", batch_norm},
    {"quantized::batch_norm3d", "", batch_norm},
    {"quantized::batch_norm3d_relu", "", batch_norm},
    {"quantized::layer_norm", "", layer_norm},
    {"quantized::group_norm", "", group_norm},
    {"quantized::instance_norm", "", group_norm},
    {"quantized::cat", "", cat},
    {"quantized::cat_relu", "", cat},
    {"quantized::cat_out", "", cat},
    {"quantized::cat_relu_out", "", cat},
    {"quantized::max_pool1d", "", max_pool},
    {"quantized::max_pool2d", "", max_pool},
    {"aten::quantized_max_pool2d", "", max_pool},
};

const qg_op_impl_entry *qg__ops_quant_nn_table(size_t *n) {
  *n = sizeof table / sizeof table[0];
  return table;
}
