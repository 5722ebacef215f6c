/* qg__ops_quant_table: the quantized-tensor op implementations, assembled from the family tables
 * (ops_quant_tensor.c, ops_quant_binary.c, ops_quant_nn.c), plus the argument helpers they share. */
#include <pthread.h>
#include <string.h>

#include "base/alloc.h"
#include "runtime/ops_quant_impl.h"

#define QG__QUANT_TABLE_MAX 256

static qg_op_impl_entry g_table[QG__QUANT_TABLE_MAX];
static size_t g_count;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
  typedef const qg_op_impl_entry *(*family_fn)(size_t *n);
  static const family_fn families[] = {qg__ops_quant_tensor_table, qg__ops_quant_binary_table, qg__ops_quant_nn_table};
  for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
    size_t n = 0;
    const qg_op_impl_entry *e = families[f](&n);
    QG_ASSERT(g_count + n <= QG__QUANT_TABLE_MAX);
    memcpy(g_table + g_count, e, n * sizeof *e);
    g_count += n;
  }
}

const qg_op_impl_entry *qg__ops_quant_table(size_t *n) {
  pthread_once(&g_once, build_table);
  *n = g_count;
  return g_table;
}

/* ---- shared helpers ------------------------------------------------------------------------ */

qg_status qg__quant_arg_qdtype(const qg_op_call *c, size_t i, const char *fn, qg_dtype *out) {
  int64_t st;
  QG_TRY(qg_arg_int(c, i, &st));
  qg_dtype d;
  if (st < 0 || st > 1000 || qg_dtype_from_torch((int)st, &d) != 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: unknown ScalarType %lld", fn, (long long)st);
  if (d != QG_DTYPE_QUINT8 && d != QG_DTYPE_QINT8 && d != QG_DTYPE_QINT32)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: ScalarType %s is not supported in new_qtensor.", fn,
                        qg_dtype_info(d)->ir_name);
  *out = d;
  return QG_OK;
}

qg_status qg__quant_arg_number(const qg_op_call *c, size_t i, double *out) {
  qg_scalar s;
  QG_TRY(qg__aten_arg_scalar(c, i, &s));
  *out = s.is_float ? s.f : (double)s.i;
  return QG_OK;
}

qg_status qg__quant_arg_number_or_tensor(const qg_op_call *c, size_t i, double *out) {
  if (i < c->nargs && c->args[i].kind == QG_IVAL_TENSOR) {
    const qg_tensor *t = c->args[i].u.tensor;
    if (qg_tensor_numel(t) != 1 || qg_dtype_info(t->dtype)->is_quantized)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: a Tensor with %lld elements cannot be converted to Scalar", qg__aten_op_name(c),
                          (long long)qg_tensor_numel(t));
    *out = qg_tensor_get_flat(t, 0);
    return QG_OK;
  }
  return qg__quant_arg_number(c, i, out);
}

qg_status qg__quant_arg_tensors(const qg_op_call *c, size_t i, qg_tensor ***out, size_t *n) {
  const qg_ival *items;
  QG_TRY(qg_arg_tensor_list(c, i, &items, n));
  qg_tensor **ts = qg__malloc((*n ? *n : 1) * sizeof *ts);
  if (!ts) return qg_oom("a tensor list argument");
  for (size_t k = 0; k < *n; k++) ts[k] = items[k].u.tensor;
  *out = ts;
  return QG_OK;
}
