/* The small graph cleanups of convert's propagation step (reference §3.6 steps 3-7 and 9),
 * each as PyTorch's insert_quant_dequant.cpp does it:
 *   ReplicateChooseQParamsQuantDequant, RemoveRedundantQuantizationOps, ReplicateQuant,
 *   ReplicateDeQuant (also the standalone `_jit_pass_replicate_dequantize`),
 *   ReplicateClampScalarArgs, RemoveRedundantDequantize. */
#include <stdio.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/vec.h"
#include "passes/constant_impl.h"
#include "passes/passes.h"
#include "passes/quant_helper.h"

typedef QG_VEC(qg_node_t *) node_vec;

static int is_quantize(const qg_node_t *n) {
  return n->kind == QG_SYM_aten_quantize_per_tensor || n->kind == QG_SYM_aten_quantize_per_channel;
}

static qg_status collect(qg_block_t *b, int (*pred)(const qg_node_t *), node_vec *out) {
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    if (pred(n) && QG_VEC_PUSH(out, n)) return qg_oom("quantization cleanup");
    for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(collect(n->blocks[i], pred, out));
  }
  return QG_OK;
}

qg_status qg__insert_dequant(qg_graph_t *g, qg_value_t *quantized, const qg_value_t *base, size_t id,
                             qg_node_t *before, qg_node_t **out);

/* insertDeQuant: aten::dequantize(quantized) before `before`, named "<base>.dequant.<id>". */
qg_status qg__insert_dequant(qg_graph_t *g, qg_value_t *quantized, const qg_value_t *base, size_t id,
                             qg_node_t *before, qg_node_t **out) {
  qg_node_t *d = NULL;
  QG_TRY(qg_node_create(g, QG_SYM_aten_dequantize, 1, &d));
  qg_status st = qg_node_add_input(d, quantized);
  if (st != QG_OK) {
    qg_node_destroy(d);
    return st;
  }
  qg_node_insert_before(d, before);
  qg_value_set_type(d->outputs[0], base->type);
  char suffix[40];
  snprintf(suffix, sizeof suffix, ".dequant.%zu", id);
  *out = d;
  return qg_qh_name_after(d->outputs[0], base, suffix);
}

qg_status qg__dequant_for_all_uses(qg_graph_t *g, qg_value_t *quantized, qg_value_t *original);

/* insertDeQuantForAllUse: one dequantize right before each use of `original` (same block as
 * the user, so fusion patterns can see it), which then reads it. */
qg_status qg__dequant_for_all_uses(qg_graph_t *g, qg_value_t *quantized, qg_value_t *original) {
  size_t n = original->nuses;
  qg_use_t *uses = qg__malloc((n ? n : 1) * sizeof *uses);
  if (!uses) return qg_oom("dequantize per use");
  if (n) memcpy(uses, original->uses, n * sizeof *uses);
  qg_status st = QG_OK;
  for (size_t i = 0; st == QG_OK && i < n; i++) {
    qg_node_t *d = NULL;
    st = qg__insert_dequant(g, quantized, original, i, uses[i].user, &d);
    if (st == QG_OK) st = qg_node_replace_input(uses[i].user, uses[i].offset, d->outputs[0]);
  }
  qg__free(uses);
  return st;
}

static void destroy_all(node_vec *v) {
  for (size_t i = 0; i < v->len; i++) qg_node_remove_all_inputs(v->data[i]);
  for (size_t i = v->len; i-- > 0;) qg_node_destroy(v->data[i]);
}

/* ---- dynamic chains: choose_qparams -> quantize -> dequantize ------------------------------------ */

static int is_dynamic_dequant(const qg_node_t *n) {
  if (n->kind != QG_SYM_aten_dequantize || n->ninputs != 1) return 0;
  const qg_node_t *q = n->inputs[0]->node;
  if (q->kind != QG_SYM_aten_quantize_per_tensor || q->ninputs != 4 || q->outputs[0]->nuses != 1) return 0;
  const qg_node_t *c = q->inputs[1]->node;
  return qg_qh_is_aten(c, "_choose_qparams_per_tensor") && q->inputs[2]->node == c && c->outputs[0]->nuses == 1 &&
         c->outputs[1]->nuses == 1 && c->inputs[0] == q->inputs[0];
}

/* A copy of the chain before `before` for original value x; returns the dequantize output. */
static qg_status insert_chain(qg_graph_t *g, const qg_node_t *choose, const qg_node_t *quant, qg_node_t *before,
                              qg_value_t **out) {
  qg_value_t *x = quant->inputs[0];
  qg_node_t *c = NULL, *q = NULL, *d = NULL;
  QG_TRY(qg_node_create(g, choose->kind, 2, &c));
  QG_TRY(qg_node_add_input(c, x));
  QG_TRY(qg_node_add_input(c, choose->inputs[1]));
  qg_node_insert_before(c, before);
  qg_value_set_type(c->outputs[0], qg_type_float());
  qg_value_set_type(c->outputs[1], qg_type_int());
  QG_TRY(qg_qh_name_after(c->outputs[0], x, ".scale"));
  QG_TRY(qg_qh_name_after(c->outputs[1], x, ".zero_point"));
  QG_TRY(qg_node_create(g, quant->kind, 1, &q));
  QG_TRY(qg_node_add_input(q, x));
  QG_TRY(qg_node_add_input(q, c->outputs[0]));
  QG_TRY(qg_node_add_input(q, c->outputs[1]));
  QG_TRY(qg_node_add_input(q, quant->inputs[3]));
  qg_node_insert_before(q, before);
  QG_TRY(qg_qh_name_after(q->outputs[0], x, ".quant"));
  QG_TRY(qg__insert_dequant(g, q->outputs[0], x, 0, before, &d));
  *out = d->outputs[0];
  return QG_OK;
}

qg_status qg_replicate_choose_qparams_graph(qg_graph_t *g, qg_pass_report *report) {
  node_vec dq = {0}, dead = {0};
  qg_status st = collect(qg_graph_block(g), is_dynamic_dequant, &dq);
  for (size_t i = 0; st == QG_OK && i < dq.len; i++) {
    qg_node_t *d = dq.data[i], *q = d->inputs[0]->node, *c = q->inputs[1]->node;
    qg_value_t *out = d->outputs[0];
    if (out->nuses <= 1) continue;
    while (st == QG_OK && out->nuses) {
      qg_use_t u = out->uses[0];
      qg_value_t *nv = NULL;
      st = insert_chain(g, c, q, u.user, &nv);
      if (st == QG_OK) st = qg_node_replace_input(u.user, u.offset, nv);
    }
    if (st == QG_OK && (QG_VEC_PUSH(&dead, d) || QG_VEC_PUSH(&dead, q) || QG_VEC_PUSH(&dead, c)))
      st = qg_oom("replicate choose_qparams");
    if (report) report->changed++;
  }
  if (st == QG_OK) destroy_all(&dead);
  QG_VEC_FREE(&dq);
  QG_VEC_FREE(&dead);
  return st;
}

qg_status qg_remove_redundant_quantization_graph(qg_graph_t *g, qg_pass_report *report) {
  node_vec dq = {0};
  qg_status st = collect(qg_graph_block(g), is_dynamic_dequant, &dq);
  for (size_t i = 0; st == QG_OK && i < dq.len; i++) {
    qg_node_t *d = dq.data[i], *q = d->inputs[0]->node, *c = q->inputs[1]->node;
    if (d->outputs[0]->nuses != 1 || qg_qh_node_quantizable(d->outputs[0]->uses[0].user, 1)) continue;
    st = qg_value_replace_all_uses_with(d->outputs[0], q->inputs[0]);
    if (st == QG_OK) {
      node_vec three = {0};
      if (QG_VEC_PUSH(&three, d) || QG_VEC_PUSH(&three, q) || QG_VEC_PUSH(&three, c)) st = qg_oom("quantization cleanup");
      else destroy_all(&three);
      QG_VEC_FREE(&three);
    }
    if (report) report->changed++;
  }
  QG_VEC_FREE(&dq);
  return st;
}

/* ---- ReplicateQuant ------------------------------------------------------------------------------- */

static int quantizes_if_output(const qg_node_t *n) {
  return is_quantize(n) && n->ninputs > 0 && n->inputs[0]->node->kind == QG_SYM_prim_If;
}

qg_status qg_replicate_quant_graph(qg_graph_t *g, qg_pass_report *report) {
  node_vec qs = {0};
  qg_status st = collect(qg_graph_block(g), quantizes_if_output, &qs);
  for (size_t i = 0; st == QG_OK && i < qs.len; i++) {
    qg_node_t *n = qs.data[i], *if_node = n->inputs[0]->node;
    if (if_node->noutputs != 1) {
      st = qg_set_error(QG_STATUS_UNSUPPORTED, "replicate quantize only works for `if` node with one output right now");
      break;
    }
    for (uint32_t k = 1; k < n->ninputs; k++)
      if (n->inputs[k]->node->owner == n->owner && !qg_node_is_before(n->inputs[k]->node, if_node))
        qg_node_move_before(n->inputs[k]->node, if_node);
    st = qg_value_replace_all_uses_with(n->outputs[0], if_node->outputs[0]);
    for (uint32_t b = 0; st == QG_OK && b < if_node->nblocks; b++) {
      qg_block_t *blk = if_node->blocks[b];
      qg_value_t *ret = qg_block_output(blk, 0);
      qg_node_t *q = NULL;
      st = qg_node_create(g, n->kind, 1, &q);
      for (uint32_t k = 0; st == QG_OK && k < n->ninputs; k++) st = qg_node_add_input(q, k ? n->inputs[k] : ret);
      if (st != QG_OK) break;
      qg_node_insert_before(q, blk->ret);
      qg_value_set_type(q->outputs[0], ret->type);
      if (ret->name) st = qg_value_set_name(q->outputs[0], ret->name);
      if (st == QG_OK) st = qg_node_replace_input(blk->ret, 0, q->outputs[0]);
    }
    if (report) report->changed++;
  }
  if (st == QG_OK) destroy_all(&qs);
  QG_VEC_FREE(&qs);
  return st;
}

/* ---- ReplicateDeQuant -------------------------------------------------------------------------------- */

static int shared_dequant(const qg_node_t *n) { return n->kind == QG_SYM_aten_dequantize && n->outputs[0]->nuses > 1; }

qg_status qg_replicate_dequant_graph(qg_graph_t *g, qg_pass_report *report) {
  node_vec ds = {0};
  qg_status st = collect(qg_graph_block(g), shared_dequant, &ds);
  for (size_t i = 0; st == QG_OK && i < ds.len; i++) {
    st = qg__dequant_for_all_uses(g, ds.data[i]->inputs[0], ds.data[i]->outputs[0]);
    if (report) report->changed++;
  }
  if (st == QG_OK) destroy_all(&ds);
  QG_VEC_FREE(&ds);
  return st;
}

/* ---- ReplicateClampScalarArgs ------------------------------------------------------------------------- */

static int clamp_scalar_use(const qg_value_t *v) {
  for (uint32_t i = 0; i < v->nuses; i++) {
    const qg_node_t *u = v->uses[i].user;
    if ((qg_qh_is_aten(u, "clamp") || qg_qh_is_aten(u, "hardtanh") || qg_qh_is_aten(u, "hardtanh_")) &&
        (v->uses[i].offset == 1 || v->uses[i].offset == 2))
      return 1;
  }
  return 0;
}

static int shared_clamp_scalar(const qg_node_t *n) {
  return n->kind == QG_SYM_prim_Constant && n->noutputs == 1 && n->outputs[0]->nuses > 1 &&
         clamp_scalar_use(n->outputs[0]);
}

qg_status qg_replicate_clamp_scalar_args_graph(qg_graph_t *g, qg_pass_report *report) {
  node_vec cs = {0};
  qg_status st = collect(qg_graph_block(g), shared_clamp_scalar, &cs);
  for (size_t i = 0; st == QG_OK && i < cs.len; i++) {
    qg_value_t *v = cs.data[i]->outputs[0];
    while (st == QG_OK && v->nuses) {
      qg_use_t u = v->uses[0];
      qg_value_t *nv = NULL;
      st = qg__constant_clone(g, u.user, cs.data[i], &nv);
      if (st == QG_OK) st = qg_node_replace_input(u.user, u.offset, nv);
    }
    if (report) report->changed++;
  }
  if (st == QG_OK) destroy_all(&cs);
  QG_VEC_FREE(&cs);
  return st;
}

/* ---- RemoveRedundantDequantize ------------------------------------------------------------------------ */

static int dequant_for_tensor_info(const qg_node_t *n) {
  if (n->kind != QG_SYM_aten_dequantize || n->outputs[0]->nuses != 1) return 0;
  const qg_node_t *u = n->outputs[0]->uses[0].user;
  return qg_qh_is_aten(u, "size") || qg_qh_is_aten(u, "len") || qg_qh_is_aten(u, "dim") || qg_qh_is_aten(u, "numel");
}

qg_status qg_remove_redundant_dequantize_graph(qg_graph_t *g, qg_pass_report *report) {
  node_vec ds = {0};
  qg_status st = collect(qg_graph_block(g), dequant_for_tensor_info, &ds);
  for (size_t i = 0; st == QG_OK && i < ds.len; i++) {
    st = qg_value_replace_all_uses_with(ds.data[i]->outputs[0], ds.data[i]->inputs[0]);
    if (report) report->changed++;
  }
  if (st == QG_OK) destroy_all(&ds);
  QG_VEC_FREE(&ds);
  return st;
}
