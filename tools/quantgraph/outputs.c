/* Flattening method results into named tensors "0", "1", ... (run, compare): nested tuples and
 * lists in order; ints, floats and bools become 0-dim I64 / F64 / BOOL tensors; None and
 * strings cannot be written and are an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tensor/tensor_ops.h"

static qg_status add_output(qg_cli_outputs *o, qg_tensor *t) {
  if (o->nt.n == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 8;
    char **names = realloc(o->nt.names, cap * sizeof *names);
    if (!names) return qg_oom("output names");
    o->nt.names = names;
    qg_tensor **ts = realloc(o->nt.tensors, cap * sizeof *ts);
    if (!ts) return qg_oom("outputs");
    o->nt.tensors = ts;
    o->cap = cap;
  }
  char name[32];
  snprintf(name, sizeof name, "%zu", o->nt.n);
  o->nt.names[o->nt.n] = strdup(name);
  if (!o->nt.names[o->nt.n]) return qg_oom("an output name");
  o->nt.tensors[o->nt.n++] = t;
  return QG_OK;
}

qg_status qg_cli_flatten_outputs(qg_cli_outputs *o, const qg_ival *v) {
  qg_tensor *t = NULL;
  switch (v->kind) {
  case QG_IVAL_TENSOR:
    qg_tensor_retain(v->u.tensor);
    t = v->u.tensor;
    break;
  case QG_IVAL_INT:
    QG_TRY(qg_tensor_scalar(QG_DTYPE_I64, 0, &t));
    *(int64_t *)qg_tensor_data(t) = v->u.i;
    break;
  case QG_IVAL_DOUBLE: QG_TRY(qg_tensor_scalar(QG_DTYPE_F64, v->u.d, &t)); break;
  case QG_IVAL_BOOL: QG_TRY(qg_tensor_scalar(QG_DTYPE_BOOL, v->u.b, &t)); break;
  case QG_IVAL_LIST:
  case QG_IVAL_TUPLE:
    for (size_t i = 0; i < v->u.list->len; i++) QG_TRY(qg_cli_flatten_outputs(o, &v->u.list->items[i]));
    return QG_OK;
  default:
    return qg_set_error(QG_STATUS_UNSUPPORTED, "output %zu is a %s, which cannot be written as a tensor", o->nt.n,
                        qg_ival_kind_name(v->kind));
  }
  qg_status st = add_output(o, t);
  if (st != QG_OK) qg_tensor_release(t);
  return st;
}

void qg_cli_outputs_free(qg_cli_outputs *o) {
  for (size_t i = 0; i < o->nt.n; i++) {
    free(o->nt.names[i]);
    qg_tensor_release(o->nt.tensors[i]);
  }
  free(o->nt.names);
  free(o->nt.tensors);
}

