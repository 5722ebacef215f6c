/* qg__ops_aten_table: the aten tensor-op implementations, one table assembled from the family
 * tables (ops_aten_conv.c, ops_aten_pointwise.c, ops_aten_shape.c, ops_aten_nn.c,
 * ops_aten_create.c), plus the argument helpers they share. */
#include <pthread.h>
#include <string.h>

#include "ops/cpu/shape.h"
#include "runtime/ops_aten_impl.h"

#define QG__ATEN_TABLE_MAX 512

static qg_op_impl_entry g_table[QG__ATEN_TABLE_MAX];
static size_t g_count;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
  typedef const qg_op_impl_entry *(*family_fn)(size_t *n);
  static const family_fn families[] = {qg__ops_aten_conv_table, qg__ops_aten_pointwise_table,
                                       qg__ops_aten_shape_table, qg__ops_aten_nn_table,
                                       qg__ops_aten_create_table};
  for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
    size_t n = 0;
    const qg_op_impl_entry *e = families[f](&n);
    QG_ASSERT(g_count + n <= QG__ATEN_TABLE_MAX);
    memcpy(g_table + g_count, e, n * sizeof *e);
    g_count += n;
  }
}

const qg_op_impl_entry *qg__ops_aten_table(size_t *n) {
  pthread_once(&g_once, build_table);
  *n = g_count;
  return g_table;
}

/* ---- shared helpers ------------------------------------------------------------------------ */

const char *qg__aten_op_name(const qg_op_call *c) { return c->schema ? qg_sym_str(c->schema->name) : "aten op"; }

static const char *arg_name(const qg_op_call *c, size_t i) {
  return c->schema && i < c->schema->nargs && c->schema->args[i].name ? c->schema->args[i].name : "?";
}

static qg_status scalar_of(const qg_op_call *c, size_t i, const qg_ival *v, qg_scalar *out) {
  switch (v->kind) {
    case QG_IVAL_INT: *out = qg_scalar_int(v->u.i); return QG_OK;
    case QG_IVAL_BOOL: *out = qg_scalar_int(v->u.b); return QG_OK;
    case QG_IVAL_DOUBLE: *out = qg_scalar_float(v->u.d); return QG_OK;
    default:
      return qg_set_error(QG_STATUS_TYPE, "%s argument '%s' must be a number, got %s", qg__aten_op_name(c),
                          arg_name(c, i), qg_ival_kind_name(v->kind));
  }
}

qg_status qg__aten_arg_scalar(const qg_op_call *c, size_t i, qg_scalar *out) {
  if (i >= c->nargs)
    return qg_set_error(QG_STATUS_TYPE, "%s: argument '%s' is missing", qg__aten_op_name(c), arg_name(c, i));
  return scalar_of(c, i, &c->args[i], out);
}

qg_status qg__aten_arg_opt_scalar(const qg_op_call *c, size_t i, qg_scalar *out, int *present) {
  *present = 0;
  if (qg_arg_is_none(c, i)) return QG_OK;
  QG_TRY(scalar_of(c, i, &c->args[i], out));
  *present = 1;
  return QG_OK;
}

qg_status qg__aten_arg_dtype(const qg_op_call *c, size_t i, qg_dtype *out, int *present) {
  *present = 0;
  if (qg_arg_is_none(c, i)) return QG_OK;
  int64_t st;
  QG_TRY(qg_arg_int(c, i, &st));
  qg_dtype d;
  if (st < 0 || st > 1000 || qg_dtype_from_torch((int)st, &d) != 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: unsupported dtype (ScalarType %lld) for argument '%s'",
                        qg__aten_op_name(c), (long long)st, arg_name(c, i));
  *out = d;
  *present = 1;
  return QG_OK;
}

qg_status qg__aten_check_device(const qg_op_call *c, size_t i) {
  if (qg_arg_is_none(c, i)) return QG_OK;
  const qg_ival *v = &c->args[i];
  if (v->kind == QG_IVAL_DEVICE) {
    if (v->u.device.kind == QG_DEVICE_CPU) return QG_OK;
    if (v->u.device.index >= 0)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: device cuda:%d is not supported by the CPU interpreter",
                          qg__aten_op_name(c), v->u.device.index);
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: device cuda is not supported by the CPU interpreter",
                        qg__aten_op_name(c));
  }
  if (v->kind == QG_IVAL_STRING) { /* a device written as its string */
    const char *s = qg_ival_str(v);
    if (strcmp(s, "cpu") == 0) return QG_OK;
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: device %s is not supported by the CPU interpreter",
                        qg__aten_op_name(c), s);
  }
  return qg_set_error(QG_STATUS_TYPE, "%s argument '%s' must be Device, got %s", qg__aten_op_name(c),
                      arg_name(c, i), qg_ival_kind_name(v->kind));
}

qg_status qg__aten_check_layout(const qg_op_call *c, size_t i) {
  if (qg_arg_is_none(c, i)) return QG_OK;
  int64_t layout;
  QG_TRY(qg_arg_int(c, i, &layout));
  if (layout != 0)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: only the strided layout is supported (got layout %lld)",
                        qg__aten_op_name(c), (long long)layout);
  return QG_OK;
}

void qg__aten_out_alias(qg_op_call *c, size_t i, qg_tensor *t) {
  qg_tensor_retain(t);
  qg_out_tensor(c, i, t);
}

qg_status qg__aten_out_tensor_list(qg_op_call *c, size_t i, qg_tensor **ts, int64_t n) {
  qg_ival list = qg_ival_none();
  qg_status st = qg_ival_list_new(QG_IVAL_LIST, (size_t)n, &list);
  int64_t k = 0;
  for (; st == QG_OK && k < n; k++) {
    st = qg_ival_list_push(&list, qg_ival_tensor(ts[k])); /* moves the reference, also on failure */
    ts[k] = NULL;
  }
  qg_cpu_tensor_list_free(ts, n); /* releases what was not moved (NULLs are skipped) */
  if (st != QG_OK) {
    qg_ival_release(&list);
    return st;
  }
  qg_out_ival(c, i, list);
  return QG_OK;
}
