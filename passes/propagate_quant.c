/* propagateQuantizationOps (reference §3.6): after InsertQuantDeQuant, the forward graph is
 * inlined and cleaned, then quantization is propagated through the ops that have no observer of
 * their own:
 *   - general value ops (avg_pool, mean, upsample, clamp, hardtanh, leaky_relu, add/mul with a
 *     scalar): when all their inputs come from dequantize, the output is quantized again with
 *     the input's qparams (q_scale / q_zero_point / dtype of the quantized input);
 *   - fixed-qparams ops (sigmoid, hardsigmoid: 1/256, 0; tanh: 2/256, 128; quint8);
 *   - every other pass-through op (shape ops, list/tuple construction, If): the dequantize
 *     nodes feeding it are removed so it works on the quantized value, and each use of its
 *     output gets a dequantize.
 * qg_propagate_quantization runs the whole sequence of §3.6 steps 2-9. */
#include <string.h>

#include "base/vec.h"
#include "passes/constant_impl.h"
#include "passes/passes.h"
#include "passes/quant_helper.h"

qg_status qg__dequant_for_all_uses(qg_graph_t *g, qg_value_t *quantized, qg_value_t *original);

static int is_dequantized(const qg_value_t *v) { return v->node->kind == QG_SYM_aten_dequantize; }

static int is_quantized(const qg_value_t *v) {
  for (uint32_t i = 0; i < v->nuses; i++) {
    const qg_node_t *u = v->uses[i].user;
    if ((u->kind == QG_SYM_aten_quantize_per_tensor || u->kind == QG_SYM_aten_quantize_per_channel) &&
        v->uses[i].offset == 0)
      return 1;
  }
  return 0;
}

static qg_status add_node(qg_graph_t *g, const char *kind, qg_value_t *const *in, size_t nin, const qg_type_t *t,
                          qg_node_t *after, qg_node_t **out) {
  qg_sym_t k;
  QG_TRY(qg_sym_intern(kind, &k));
  qg_node_t *n = NULL;
  QG_TRY(qg_node_create(g, k, 1, &n));
  qg_status st = QG_OK;
  for (size_t i = 0; st == QG_OK && i < nin; i++) st = qg_node_add_input(n, in[i]);
  if (st != QG_OK) {
    qg_node_destroy(n);
    return st;
  }
  qg_value_set_type(n->outputs[0], t);
  qg_node_insert_after(n, after);
  *out = n;
  return QG_OK;
}

/* A prim::Constant holding scalar v right after `after`. */
static qg_status constant(qg_graph_t *g, const qg_type_t *t, qg_ival v, qg_node_t *after, qg_node_t **out) {
  qg_value_t *c = NULL;
  QG_TRY(qg__constant_insert(g, after->next, &v, t, &c));
  QG_ASSERT(c); /* scalars are always representable */
  *out = c->node;
  return QG_OK;
}

/* Quantizes `out` (an output of n) after n with the given qparam values, then gives each use a
 * dequantize. */
static qg_status requantize(qg_graph_t *g, qg_value_t *out, qg_value_t *const *qp, qg_node_t *after) {
  qg_value_t *in[4] = {out, qp[0], qp[1], qp[2]};
  qg_node_t *q = NULL;
  QG_TRY(add_node(g, "aten::quantize_per_tensor", in, 4, out->type, after, &q));
  QG_TRY(qg_qh_name_after(q->outputs[0], out, ".quant"));
  QG_TRY(qg_value_replace_all_uses_after_node_with(out, q, q->outputs[0]));
  return qg__dequant_for_all_uses(g, q->outputs[0], q->outputs[0]);
}

/* The qparams of quantized value qin as three nodes after `after` (q_scale, q_zero_point,
 * dtype); *last receives the last node. */
static qg_status qparams_of(qg_graph_t *g, qg_value_t *qin, qg_node_t *after, qg_value_t **qp, qg_node_t **last) {
  qg_node_t *scale = NULL, *zp = NULL, *dtype = NULL;
  QG_TRY(add_node(g, "aten::q_scale", &qin, 1, qg_type_float(), after, &scale));
  QG_TRY(add_node(g, "aten::q_zero_point", &qin, 1, qg_type_int(), scale, &zp));
  QG_TRY(add_node(g, "prim::dtype", &qin, 1, qg_type_int(), zp, &dtype));
  qp[0] = scale->outputs[0];
  qp[1] = zp->outputs[0];
  qp[2] = dtype->outputs[0];
  *last = dtype;
  return QG_OK;
}

/* clamp / hardtanh min and max: each scalar is quantized with the input's qparams and read
 * back, scalar_tensor(v, float) -> quantize -> dequantize -> item (PyTorch's
 * insertScalarToTensor / propagateQParams with is_scalar), so the quantized op sees exactly
 * representable bounds. In PyTorch's order (recorded in the convert fixtures): the
 * scalar_tensor + quantize groups of the max, then the min, after the node before n; then the
 * dequantize + item pairs of the min, then the max, right before n. */
static qg_status quantize_scalar_args(qg_graph_t *g, qg_node_t *n, qg_value_t *qin) {
  qg_node_t *after = n->prev, *q[3] = {NULL, NULL, NULL};
  for (uint32_t i = 2; i >= 1; i--) {
    qg_value_t *v = n->inputs[i];
    if (v->type->kind == QG_TYPE_NONE) continue;
    qg_node_t *none = NULL, *f32 = NULL, *st = NULL, *last;
    QG_TRY(constant(g, qg_type_int(), qg_ival_int(6), after, &f32)); /* dtype float */
    QG_TRY(constant(g, qg_type_prim(QG_TYPE_NONE), qg_ival_none(), f32, &none));
    qg_value_t *sin[5] = {v, f32->outputs[0], none->outputs[0], none->outputs[0], none->outputs[0]};
    QG_TRY(add_node(g, "aten::scalar_tensor", sin, 5, qg_type_tensor(), none, &st));
    qg_value_t *qp[3];
    QG_TRY(qparams_of(g, qin, st, qp, &last));
    qg_value_t *qin4[4] = {st->outputs[0], qp[0], qp[1], qp[2]};
    QG_TRY(add_node(g, "aten::quantize_per_tensor", qin4, 4, qg_type_tensor(), last, &q[i]));
    after = q[i];
  }
  for (uint32_t i = 1; i <= 2; i++) {
    if (!q[i]) continue;
    qg_node_t *d = NULL, *item = NULL;
    QG_TRY(add_node(g, "aten::dequantize", &q[i]->outputs[0], 1, qg_type_tensor(), n->prev, &d));
    QG_TRY(add_node(g, "aten::item", &d->outputs[0], 1, qg_type_float(), d, &item));
    QG_TRY(qg_node_replace_input(n, i, item->outputs[0]));
  }
  return QG_OK;
}

/* General value op: quantize the output with the quantized input's qparams. */
static qg_status propagate_qparams(qg_graph_t *g, qg_node_t *n, qg_value_t *out, qg_value_t *dequantized_input) {
  qg_value_t *qin = dequantized_input->node->inputs[0];
  if ((qg_qh_is_aten(n, "clamp") || qg_qh_is_aten(n, "hardtanh") || qg_qh_is_aten(n, "hardtanh_")) && n->ninputs == 3) {
    QG_TRY(quantize_scalar_args(g, n, qin));
  }
  qg_value_t *qp[3];
  qg_node_t *last = NULL;
  QG_TRY(qparams_of(g, qin, n, qp, &last));
  return requantize(g, out, qp, last);
}

/* Fixed-qparams op: sigmoid/hardsigmoid 1/256, 0; tanh 2/256, 128 (quint8 = 13). */
static qg_status fixed_qparams(qg_graph_t *g, qg_node_t *n, qg_value_t *out) {
  int tanh = qg_qh_is_aten(n, "tanh") || qg_qh_is_aten(n, "tanh_");
  qg_node_t *s = NULL, *z = NULL, *d = NULL;
  QG_TRY(constant(g, qg_type_float(), qg_ival_double(tanh ? 0.0078125 : 0.00390625), n, &s));
  QG_TRY(constant(g, qg_type_int(), qg_ival_int(tanh ? 128 : 0), s, &z));
  QG_TRY(constant(g, qg_type_int(), qg_ival_int(13), z, &d)); /* quint8 */
  qg_value_t *qp[3] = {s->outputs[0], z->outputs[0], d->outputs[0]};
  return requantize(g, out, qp, d);
}

/* Pass-through op: drop the dequantize nodes feeding it, dequantize its outputs per use. */
static qg_status pass_through(qg_graph_t *g, qg_node_t *n) {
  QG_VEC(qg_value_t *) dq = {0};
  QG_VEC(qg_value_t *) outs = {0};
  qg_value_t *pt[64];
  qg_status st = QG_OK;
  for (uint32_t i = 0; st == QG_OK && i < n->noutputs; i++) {
    qg_value_t *o = n->outputs[i];
    if (is_quantized(o)) continue;
    size_t k = qg_qh_pass_through_inputs(o, pt, 64);
    if (k == 0 || k > 64) continue;
    int all = 1;
    for (size_t j = 0; j < k && all; j++) all = is_dequantized(pt[j]);
    if (!all) continue;
    for (size_t j = 0; st == QG_OK && j < k; j++) {
      int seen = 0;
      for (size_t x = 0; x < dq.len && !seen; x++) seen = dq.data[x] == pt[j];
      if (!seen && QG_VEC_PUSH(&dq, pt[j])) st = qg_oom("propagate quantization");
    }
    if (st == QG_OK && QG_VEC_PUSH(&outs, o)) st = qg_oom("propagate quantization");
  }
  /* removeDequantizeFromInputs: each dequantize has one use after ReplicateDeQuant */
  for (size_t j = 0; st == QG_OK && j < dq.len; j++) {
    qg_node_t *d = dq.data[j]->node;
    if (dq.data[j]->nuses != 1) continue;
    st = qg_value_replace_all_uses_with(dq.data[j], d->inputs[0]);
    if (st == QG_OK) qg_node_destroy(d);
  }
  for (size_t j = 0; st == QG_OK && j < outs.len; j++) st = qg__dequant_for_all_uses(g, outs.data[j], outs.data[j]);
  QG_VEC_FREE(&dq);
  QG_VEC_FREE(&outs);
  return st;
}

static qg_status propagate_block(qg_graph_t *g, qg_block_t *b) {
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    if (n->kind == QG_SYM_prim_If) {
      for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(propagate_block(g, n->blocks[i]));
      if (n->noutputs != 1) continue;
    }
    int value_op = qg_qh_general_value_aten(n);
    if (value_op && n->noutputs == 1 && n->ninputs > 0 && is_dequantized(n->inputs[0]) && !is_quantized(n->outputs[0])) {
      QG_TRY(propagate_qparams(g, n, n->outputs[0], n->inputs[0]));
    } else if (qg_qh_fixed_qparams_op(n) && n->noutputs == 1 && n->ninputs > 0 && is_dequantized(n->inputs[0]) &&
               !is_quantized(n->outputs[0])) {
      QG_TRY(fixed_qparams(g, n, n->outputs[0]));
    } else {
      QG_TRY(pass_through(g, n));
    }
  }
  return QG_OK;
}

qg_status qg_propagate_quantization_ops_graph(qg_graph_t *g, qg_pass_report *report) {
  (void)report;
  return propagate_block(g, qg_graph_block(g));
}

qg_status qg_propagate_quantization(qg_module *m, const char *method, int dynamic, qg_pass_report *report) {
  QG_TRY(qg_swap_functional_linear_module(m, report));
  const qg_method *meth = qg_class_find_method(m->root.u.obj->type, method);
  if (!meth || !meth->graph) return qg_set_error(QG_STATUS_NOT_FOUND, "the root module has no method '%s'", method);
  qg_graph_t *g = meth->graph;
  QG_TRY(qg_inline_graph(g, report));
  QG_TRY(qg_constant_propagation_graph(g, report));
  QG_TRY(qg_replicate_choose_qparams_graph(g, report));
  if (dynamic) QG_TRY(qg_remove_redundant_quantization_graph(g, report));
  QG_TRY(qg_replicate_quant_graph(g, report));
  QG_TRY(qg_replicate_dequant_graph(g, report));
  QG_TRY(qg_replicate_clamp_scalar_args_graph(g, report));
  QG_TRY(qg_propagate_quantization_ops_graph(g, report));
  return qg_remove_redundant_dequantize_graph(g, report);
}
