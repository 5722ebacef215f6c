/* quantized::add / mul and their relu, out and scalar forms -> src/ops/cpu/quantized_binary.h.
 * Overloads, as registered by BinaryOps.cpp and qmul.cpp:
 *   X(qa, qb, float scale, int zero_point)           add, add_relu, mul, mul_relu
 *   X.out(qa, qb, Tensor(a!) out) / X_out(...)        writes into out with out's qparams
 *   X.Scalar(qa, Scalar b), X.Scalar2(Scalar b, qa)   tensor-scalar
 *   X.Scalar_out(qa, Scalar b, out)
 *   X_scalar(qa, Scalar b), X_scalar.Tensor(qa, Tensor b) (b.item()), and their _out forms. */
#include <string.h>

#include "ops/cpu/quantized_binary.h"
#include "runtime/ops_quant_impl.h"

/* "quantized::mul_scalar_relu_out" -> mul, relu */
static void parse_name(const qg_op_call *c, qg_qbinary_op *op, int *relu) {
  const char *name = qg_sym_str(c->schema->name);
  *op = strstr(name, "::mul") ? QG_QBINARY_MUL : QG_QBINARY_ADD;
  *relu = strstr(name, "relu") != NULL;
}

/* add_out / add_relu_out / mul_out / mul_relu_out (qa, qb, out) */
static qg_status binary_out(qg_op_call *c) {
  qg_qbinary_op op;
  int relu;
  parse_name(c, &op, &relu);
  qg_tensor *a, *b, *out;
  QG_TRY(qg_arg_tensor(c, 0, &a));
  QG_TRY(qg_arg_tensor(c, 1, &b));
  QG_TRY(qg_arg_tensor(c, 2, &out));
  QG_TRY(qg_cpu_qbinary_out(op, a, b, relu, out));
  qg__aten_out_alias(c, 0, out);
  return QG_OK;
}

/* add_scalar / mul_scalar (+_relu): (qa, Scalar b) and .Tensor (qa, Tensor b) */
static qg_status scalar(qg_op_call *c) {
  qg_qbinary_op op;
  int relu;
  parse_name(c, &op, &relu);
  qg_tensor *a, *y;
  double v;
  QG_TRY(qg_arg_tensor(c, 0, &a));
  QG_TRY(qg__quant_arg_number_or_tensor(c, 1, &v));
  QG_TRY(qg_cpu_qbinary_scalar(op, a, v, relu, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* add_scalar_out / mul_scalar_out (+_relu): (qa, Scalar|Tensor b, out) */
static qg_status scalar_out(qg_op_call *c) {
  qg_qbinary_op op;
  int relu;
  parse_name(c, &op, &relu);
  qg_tensor *a, *out;
  double v;
  QG_TRY(qg_arg_tensor(c, 0, &a));
  QG_TRY(qg__quant_arg_number_or_tensor(c, 1, &v));
  QG_TRY(qg_arg_tensor(c, 2, &out));
  QG_TRY(qg_cpu_qbinary_scalar_out(op, a, v, relu, out));
  qg__aten_out_alias(c, 0, out);
  return QG_OK;
}

/* add / add_relu / mul / mul_relu: every overload; the out and Scalar forms are the ones of
 * binary_out / scalar / scalar_out */
static qg_status binary(qg_op_call *c) {
  const char *ov = c->schema->overload;
  if (strcmp(ov, "out") == 0) return binary_out(c);
  if (strcmp(ov, "Scalar") == 0) return scalar(c);
  if (strcmp(ov, "Scalar_out") == 0) return scalar_out(c);
  qg_qbinary_op op;
  int relu;
  parse_name(c, &op, &relu);
  qg_tensor *a, *b, *y;
  if (strcmp(ov, "Scalar2") == 0) {
    double v;
    QG_TRY(qg_arg_tensor(c, 1, &a));
    QG_TRY(qg__quant_arg_number(c, 0, &v));
    QG_TRY(qg_cpu_qbinary_scalar(op, a, v, relu, &y));
  } else {
    double scale;
    int64_t zp;
    QG_TRY(qg_arg_tensor(c, 0, &a));
    QG_TRY(qg_arg_tensor(c, 1, &b));
    QG_TRY(qg_arg_double(c, 2, &scale));
    QG_TRY(qg_arg_int(c, 3, &zp));
    QG_TRY(qg_cpu_qbinary(op, a, b, scale, zp, relu, &y));
  }
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

static const qg_op_impl_entry table[] = {
    {"quantized::add", "*", binary},
    {"quantized::add_relu", "*", binary},
    {"quantized::mul", "*", binary},
    {"quantized::mul_relu", "*", binary},
    {"_quantized::add", "", binary},
    {"quantized::add_out", "", binary_out},
    {"quantized::add_relu_out", "", binary_out},
    {"quantized::mul_out", "", binary_out},
    {"quantized::mul_relu_out", "", binary_out},
    {"quantized::add_scalar", "*", scalar},
    {"quantized::add_scalar_relu", "*", scalar},
    {"quantized::mul_scalar", "*", scalar},
    {"quantized::mul_scalar_relu", "*", scalar},
    {"quantized::add_scalar_out", "*", scalar_out},
    {"quantized::add_scalar_relu_out", "*", scalar_out},
    {"quantized::mul_scalar_out", "*", scalar_out},
    {"quantized::mul_scalar_relu_out", "*", scalar_out},
};

const qg_op_impl_entry *qg__ops_quant_binary_table(size_t *n) {
  *n = sizeof table / sizeof table[0];
  return table;
}
