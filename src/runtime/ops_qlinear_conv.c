/* quantized::conv* ops, Conv{2,3}dPackedParamsBase prepack / unpack / accessors -> ops/cpu/qconv.h.
 * The op name says the spatial rank and form: "quantized::conv_transpose1d_prepack" is
 * transposed with one spatial dim. */
#include <string.h>

#include "ops/cpu/qconv.h"
#include "runtime/ops_qlinear_impl.h"
#include "tensor/tensor_ops.h"

#define MAXL 8

/* Rank and form from an op name: the digit before "d" after "conv" / "conv_transpose". */
static void op_form(const char *name, int *nspatial, int *transposed) {
  const char *p = strstr(name, "conv");
  *transposed = p && strncmp(p, "conv_transpose", 14) == 0;
  p = p ? p + (*transposed ? 14 : 4) : name;
  *nspatial = (*p >= '1' && *p <= '3') ? *p - '0' : 2; /* "conv_prepack" / "conv_unpack": 2-D */
}

static qg_status list_arg(qg_op_call *c, size_t i, int n, int64_t *out) {
  int64_t v[MAXL];
  size_t len;
  QG_TRY(qg_arg_int_list(c, i, v, MAXL, &len));
  if ((int)len != n)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: argument '%s' must have %d elements, got %zu",
                        qg__qlin_op_name(c), c->schema->args[i].name, n, len);
  memcpy(out, v, (size_t)n * sizeof *v);
  return QG_OK;
}

/* conv{N}d_prepack(weight, bias, stride, padding, dilation, groups);
 * conv_transpose{N}d_prepack(weight, bias, stride, padding, output_padding, dilation, groups). */
qg_status qg__qlin_conv_prepack(qg_op_call *c) {
  qg_packed_conv_spec s;
  memset(&s, 0, sizeof s);
  op_form(qg__qlin_op_name(c), &s.nspatial, &s.transposed);
  qg_tensor *w, *b;
  qg_cu_t *cu;
  QG_TRY(qg_arg_tensor(c, 0, &w));
  QG_TRY(qg_arg_opt_tensor(c, 1, &b));
  QG_TRY(list_arg(c, 2, s.nspatial, s.stride));
  QG_TRY(list_arg(c, 3, s.nspatial, s.padding));
  size_t at = 4;
  if (s.transposed) QG_TRY(list_arg(c, at++, s.nspatial, s.output_padding));
  QG_TRY(list_arg(c, at++, s.nspatial, s.dilation));
  QG_TRY(qg_arg_int(c, at, &s.groups));
  QG_TRY(qg__qlin_out_unit(c, &cu));
  qg_ival obj;
  QG_TRY(qg_packed_conv_new(cu, w, b, &s, &obj));
  qg_out_ival(c, 0, obj);
  return QG_OK;
}

static qg_packed_kind kind_for(int nspatial) { return nspatial == 3 ? QG_PACKED_CONV3D : QG_PACKED_CONV2D; }

/* (weight, bias) from the object's unpack(); the 1-D forms squeeze the unit height PyTorch's
 * conv1d packing added. */
qg_status qg__qlin_conv_unpack(qg_op_call *c) {
  int ns, tr;
  op_form(qg__qlin_op_name(c), &ns, &tr);
  const qg_ival *obj;
  qg_packed_conv p;
  QG_TRY(qg__qlin_arg_object(c, 0, &obj));
  QG_TRY(qg_packed_conv_get(qg__qlin_op_name(c), obj, kind_for(ns), &p));
  qg_ival t;
  QG_TRY(qg_call_method(NULL, (qg_ival *)obj, "unpack", NULL, 0, &t));
  qg_tensor *w = t.u.list->items[0].u.tensor, *w1 = NULL;
  qg_status st = ns == 1 ? qg_tensor_squeeze(w, 2, &w1) : QG_OK;
  if (st == QG_OK) {
    if (!w1) qg_tensor_retain(w1 = w);
    qg_out_tensor(c, 0, w1);
    if (c->nouts > 1) qg_out_ival(c, 1, qg_ival_copy(t.u.list->items[1]));
  }
  qg_ival_release(&t);
  return st;
}

/* conv{2,3}d_<field> / conv_transpose{2,3}d_<field>: the object's native method <field>. */
qg_status qg__qlin_conv_accessor(qg_op_call *c) {
  const char *name = qg__qlin_op_name(c);
  int ns, tr;
  op_form(name, &ns, &tr);
  const char *field = strstr(name, "d_");
  const qg_ival *obj;
  qg_packed_conv p;
  QG_TRY(qg__qlin_arg_object(c, 0, &obj));
  QG_TRY(qg_packed_conv_get(name, obj, kind_for(ns), &p));
  qg_ival v;
  QG_TRY(qg_call_method(NULL, (qg_ival *)obj, field ? field + 2 : "", NULL, 0, &v));
  qg_out_ival(c, 0, v);
  return QG_OK;
}

/* conv{1,2,3}d(_relu) / conv_transpose{1,2,3}d(qx, packed, scale, zero_point). The packed
 * params decide between convolution and its transpose, as PyTorch's apply() does; 1-D ops run
 * the stored 2-D form on the input unsqueezed at dim 2. */
qg_status qg__qlin_conv(qg_op_call *c) {
  const char *name = qg__qlin_op_name(c);
  int ns, tr, relu = strstr(name, "_relu") != NULL;
  op_form(name, &ns, &tr);
  qg_tensor *x, *x2 = NULL, *y = NULL;
  const qg_ival *obj;
  qg_packed_conv p;
  double scale;
  int64_t zp;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg__qlin_arg_object(c, 1, &obj));
  QG_TRY(qg_arg_double(c, 2, &scale));
  QG_TRY(qg_arg_int(c, 3, &zp));
  QG_TRY(qg_packed_conv_get(name, obj, kind_for(ns), &p));
  if (ns == 1 && x->ndim != 3)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: Expected activation tensor to have 3 dimensions, got %d", name,
                        x->ndim);
  qg_conv_params cp;
  qg_conv_params_init(&cp, p.nspatial, p.transposed);
  for (int d = 0; d < p.nspatial; d++) {
    cp.stride[d] = p.stride[d];
    cp.padding[d] = p.padding[d];
    cp.dilation[d] = p.dilation[d];
    cp.output_padding[d] = p.output_padding[d];
  }
  cp.groups = p.groups;
  qg_status st = ns == 1 ? qg_tensor_unsqueeze(x, 2, &x2) : QG_OK;
  if (st == QG_OK) st = qg_cpu_qconv(x2 ? x2 : x, p.weight, p.bias, &cp, scale, zp, relu, &y);
  qg_tensor_release(x2);
  if (st == QG_OK && ns == 1) {
    qg_tensor *y1 = NULL;
    st = qg_tensor_squeeze(y, 2, &y1);
    qg_tensor_release(y);
    y = y1;
  }
  if (st != QG_OK) {
    qg_tensor_release(y);
    if (st == QG_STATUS_OOM) return st;
    return ns == 1 ? qg_error_prefix(st, "%s (run as 2-D with a unit height)", name) : st;
  }
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
