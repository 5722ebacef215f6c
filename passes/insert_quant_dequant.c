/* InsertQuantDeQuant (PyTorch's insert_quant_dequant.cpp; reference §3.1-§3.5): every observer
 * call left by prepare becomes, for the value v it observed,
 *   %v.quant = aten::quantize_per_tensor(%v, GetAttr(v_scale_0), GetAttr(v_zero_point_0),
 *                                        GetAttr(v_scalar_type_0))
 *   %v.dequant.0 = aten::dequantize(%v.quant)
 * with the observer's qparams stored as attributes of the module that owns the graph
 * (per-channel: quantize_per_channel with scale/zero_point tensors and axis; dynamic
 * activations: aten::_choose_qparams_per_tensor; fp16 weights: aten::_saturate_weight_to_fp16;
 * embedding_bag weights: the quantized embedding_bag ops directly). Then the observers are
 * removed from graphs, classes and objects, and propagation (propagate_quant.c) runs. */
#include <stdio.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/vec.h"
#include "ir/ir_impl.h"
#include "passes/constant_impl.h"
#include "passes/passes.h"
#include "passes/prepare_impl.h"
#include "passes/quant_helper.h"
#include "quant/observer.h"
#include "runtime/native.h"
#include "tensor/tensor_ops.h"

#define MAX_QPARAMS 4

/* One qparam: attribute suffix and value (the value's type decides the attribute's). */
typedef struct qparam {
  const char *suffix; /* "_scale", "_zero_point", "_axis", "_scalar_type" */
  qg_ival value;
} qparam;

typedef struct qparams {
  qparam p[MAX_QPARAMS];
  size_t n;
  int per_channel;
} qparams;

static void qparams_free(qparams *q) {
  for (size_t i = 0; i < q->n; i++) qg_ival_release(&q->p[i].value);
  q->n = 0;
}

typedef struct obs_call {
  qg_node_t *call;   /* prim::CallMethod[name="forward"](%obs, %v) */
  char names[MAX_QPARAMS][256]; /* attribute names chosen on the graph's first visit */
  const qg_type_t *types[MAX_QPARAMS];
  size_t nnames;
} obs_call;
typedef QG_VEC(obs_call) obs_vec;

typedef struct iqd {
  qg_module *m;
  int dynamic;
  qg_sym_t sym_name, sym_value;
  qg__ptrmap graph_calls; /* graph -> obs_vec * (observer calls, in program order) */
  QG_VEC(obs_vec *) owned;
  qg_pass_report *report;
} iqd;

/* ---- finding observer calls ----------------------------------------------------------------- */

static const char *observer_name(const qg_node_t *n) {
  if (n->kind != QG_SYM_prim_CallMethod || n->ninputs != 2 || n->noutputs != 1) return NULL;
  const char *m = qg_node_s(n, "name");
  const qg_node_t *get = n->inputs[0]->node;
  if (!m || strcmp(m, "forward") || get->kind != QG_SYM_prim_GetAttr) return NULL;
  const char *attr = qg_node_s(get, "name");
  return attr && strstr(attr, "_observer_") ? attr : NULL;
}

static qg_status collect_block(qg_block_t *b, obs_vec *out) {
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    if (observer_name(n) && qg_qh_is_tensor_type(n->outputs[0]->type)) {
      obs_call c = {n, {{0}}, {0}, 0};
      if (QG_VEC_PUSH(out, c)) return qg_oom("insert quant-dequant");
    }
    for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(collect_block(n->blocks[i], out));
  }
  return QG_OK;
}

/* The observer object a call uses on module object obj. */
static qg_status observer_of(const qg_ival *obj, const qg_node_t *call, const qg_ival **out) {
  QG_TRY(qg__resolve_module(obj, call->inputs[0], out));
  if (!*out || qg_observer_kind_of((*out)->u.obj->type) < 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "observer '%s' is not an observer object",
                        qg_node_s(call->inputs[0]->node, "name"));
  return QG_OK;
}

/* ---- qparams (getQSchemeAndQParamVector) ---------------------------------------------------- */

static int torch_scalar_type(qg_dtype d) { return qg_dtype_info(d)->torch_scalar_type; }

static qg_status compute_qparams(const qg_ival *obs, qparams *q) {
  qg_observer_spec spec;
  QG_TRY(qg_observer_spec_of(obs, &spec));
  q->n = 0;
  q->per_channel = 0;
  if (spec.kind == QG_OBSERVER_PLACEHOLDER || spec.kind == QG_OBSERVER_NOOP) {
    if (spec.kind == QG_OBSERVER_PLACEHOLDER && spec.has_compute_dtype)
      q->p[q->n++] = (qparam){"_scalar_type", qg_ival_int(torch_scalar_type(spec.compute_dtype))};
    return QG_OK;
  }
  if (spec.dtype == QG_DTYPE_F16) return QG_OK;
  qg_tensor *scale = NULL, *zp = NULL;
  QG_TRY(qg_observer_calculate_qparams(obs, &scale, &zp));
  qg_status st = QG_OK;
  if (qg_qscheme_is_per_channel(spec.qscheme)) {
    qg_tensor *s32 = NULL, *z32 = NULL;
    st = qg_tensor_to_dtype(scale, QG_DTYPE_F32, &s32);
    if (st == QG_OK) st = qg_tensor_to_dtype(zp, QG_DTYPE_I32, &z32);
    if (st == QG_OK) {
      q->p[q->n++] = (qparam){"_scale", qg_ival_tensor(s32)};
      q->p[q->n++] = (qparam){"_zero_point", qg_ival_tensor(z32)};
      q->p[q->n++] = (qparam){"_axis", qg_ival_int(spec.ch_axis)};
      q->per_channel = 1;
    } else {
      qg_tensor_release(s32);
    }
  } else if (qg_tensor_numel(scale) < 1 || qg_tensor_numel(zp) < 1) {
    st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "calculate_qparams returned an empty scale or zero point");
  } else {
    /* scale.item() of the float32 scale, as a double; zero_point as int */
    q->p[q->n++] = (qparam){"_scale", qg_ival_double((double)(float)qg_tensor_get_flat(scale, 0))};
    q->p[q->n++] = (qparam){"_zero_point", qg_ival_int((int64_t)qg_tensor_get_flat(zp, 0))};
  }
  if (st == QG_OK) q->p[q->n++] = (qparam){"_scalar_type", qg_ival_int(torch_scalar_type(spec.dtype))};
  qg_tensor_release(scale);
  qg_tensor_release(zp);
  if (st != QG_OK) qparams_free(q);
  return st;
}

static const qg_type_t *qparam_type(const qg_ival *v) {
  return v->kind == QG_IVAL_DOUBLE ? qg_type_float() : v->kind == QG_IVAL_INT ? qg_type_int() : qg_type_tensor();
}

/* Sets (registering on first use) attribute `name` of obj to v (ownership moves in). */
static qg_status set_attr(const qg_ival *obj, const char *name, qg_ival v) {
  qg_type_t *cls = (qg_type_t *)obj->u.obj->type;
  if (qg_class_find_slot(cls, name) < 0) {
    qg_status st = qg_class_add_slot(cls, name, qparam_type(&v), v.kind == QG_IVAL_TENSOR ? QG_SLOT_BUFFER : QG_SLOT_ATTRIBUTE);
    if (st != QG_OK) {
      qg_ival_release(&v);
      return st;
    }
  }
  return qg_ival_object_put((qg_ival *)obj, name, v);
}

/* "<debugName of v><suffix>_<k>" with the smallest k not yet an attribute of obj's class. */
static qg_status attr_name(const qg_ival *obj, const qg_value_t *v, const char *suffix, char *buf, size_t size) {
  qg_strbuf base = QG_STRBUF_INIT;
  qg_value_print_name(v, &base);
  QG_TRY(qg_strbuf_ok(&base));
  qg_status st = QG_OK;
  for (size_t k = 0;; k++) {
    int n = snprintf(buf, size, "%s%s_%zu", qg_strbuf_cstr(&base), suffix, k);
    if (n < 0 || (size_t)n >= size) {
      st = qg_set_error(QG_STATUS_UNSUPPORTED, "qparam attribute name too long");
      break;
    }
    if (qg_class_find_slot(obj->u.obj->type, buf) < 0) break;
  }
  qg_strbuf_free(&base);
  return st;
}

/* ---- node insertion --------------------------------------------------------------------------- */

static qg_status new_node(qg_graph_t *g, qg_sym_t kind, qg_value_t *const *in, size_t nin, size_t nout,
                          qg_node_t *after, qg_node_t **out) {
  qg_node_t *n = NULL;
  QG_TRY(qg_node_create(g, kind, nout, &n));
  qg_status st = QG_OK;
  for (size_t i = 0; st == QG_OK && i < nin; i++) st = qg_node_add_input(n, in[i]);
  if (st != QG_OK) {
    qg_node_destroy(n);
    return st;
  }
  qg_node_insert_after(n, after);
  *out = n;
  return QG_OK;
}

static qg_status get_attr(iqd *h, qg_graph_t *g, const char *name, const qg_type_t *type, qg_node_t *after,
                          qg_node_t **out) {
  qg_value_t *self = qg_graph_input(g, 0);
  QG_TRY(new_node(g, QG_SYM_prim_GetAttr, &self, 1, 1, after, out));
  QG_TRY(qg_node_set_s(*out, h->sym_name, name));
  qg_value_set_type((*out)->outputs[0], type);
  return qg_value_set_name((*out)->outputs[0], name); /* PyTorch's insertGetAttr names it so */
}

static qg_status sym(const char *name, qg_sym_t *out) { return qg_sym_intern(name, out); }

/* quantize + dequantize after `after` reading x (and the qparam values in[1..]); returns the
 * dequantize node. */
static qg_status quant_dequant(iqd *h, qg_graph_t *g, qg_value_t **in, size_t nin, int per_channel,
                               const qg_value_t *orig, qg_node_t *after, qg_node_t **dequant) {
  qg_node_t *q = NULL;
  qg_sym_t kind = per_channel ? QG_SYM_aten_quantize_per_channel : QG_SYM_aten_quantize_per_tensor;
  QG_TRY(new_node(g, kind, in, nin, 1, after, &q));
  QG_TRY(qg_qh_name_after(q->outputs[0], orig, ".quant"));
  QG_TRY(new_node(g, QG_SYM_aten_dequantize, &q->outputs[0], 1, 1, q, dequant));
  return qg_qh_name_after((*dequant)->outputs[0], orig, ".dequant.0");
}

/* Static (and dynamic weights): GetAttr per qparam, quantize, dequantize. */
static qg_status insert_qdq(iqd *h, obs_call *c, int per_channel, qg_node_t **dequant) {
  qg_graph_t *g = c->call->graph;
  qg_value_t *in[1 + MAX_QPARAMS] = {c->call->outputs[0]};
  qg_node_t *at = c->call;
  for (size_t i = 0; i < c->nnames; i++) {
    qg_node_t *ga = NULL;
    QG_TRY(get_attr(h, g, c->names[i], c->types[i], at, &ga));
    in[1 + i] = ga->outputs[0];
    at = ga;
  }
  return quant_dequant(h, g, in, 1 + c->nnames, per_channel, c->call->inputs[1], at, dequant);
}

/* Dynamic activations: _choose_qparams_per_tensor(x, reduce_range=True) -> quantize -> dequantize. */
static qg_status insert_choose_qparams(iqd *h, obs_call *c, qg_node_t **dequant) {
  qg_graph_t *g = c->call->graph;
  qg_value_t *x = c->call->outputs[0];
  const qg_value_t *orig = c->call->inputs[1];
  qg_node_t *rr = NULL, *choose = NULL, *dtype = NULL;
  qg_value_t *rrv = NULL;
  qg_ival reduce_range = qg_ival_bool(1); /* hard-coded by PyTorch ("qnnpack ignores it") */
  QG_TRY(qg__constant_insert(g, c->call->next, &reduce_range, qg_type_bool(), &rrv));
  rr = rrv->node;
  qg_sym_t k_choose;
  QG_TRY(sym("aten::_choose_qparams_per_tensor", &k_choose));
  qg_value_t *cin[2] = {x, rr->outputs[0]};
  QG_TRY(new_node(g, k_choose, cin, 2, 2, rr, &choose));
  qg_value_set_type(choose->outputs[0], qg_type_float());
  qg_value_set_type(choose->outputs[1], qg_type_int());
  QG_TRY(qg_qh_name_after(choose->outputs[0], orig, ".scale"));
  QG_TRY(qg_qh_name_after(choose->outputs[1], orig, ".zero_point"));
  if (c->nnames < 1) return qg_set_error(QG_STATUS_UNSUPPORTED, "dynamic observer without a scalar type (no compute_dtype)");
  QG_TRY(get_attr(h, g, c->names[c->nnames - 1], qg_type_int(), choose, &dtype));
  qg_value_t *in[4] = {x, choose->outputs[0], choose->outputs[1], dtype->outputs[0]};
  return quant_dequant(h, g, in, 4, 0, orig, dtype, dequant);
}

static qg_status insert_saturate(iqd *h, obs_call *c, qg_node_t **out) {
  qg_sym_t k;
  QG_TRY(sym("aten::_saturate_weight_to_fp16", &k));
  QG_TRY(new_node(c->call->graph, k, &c->call->outputs[0], 1, 1, c->call, out));
  qg_value_set_type((*out)->outputs[0], c->call->inputs[1]->type);
  return QG_OK;
}

/* The embedding_bag flavour an observer asks for ("embedding_bag_4bit"/"_byte"), or NULL. */
static const char *embedding_bag_op(const qg_ival *obs) {
  const qg_ival *op = qg_ival_object_get(obs, "custom_op");
  if (!op || op->kind != QG_IVAL_STRING || !strstr(qg_ival_str(op), "embedding_bag_")) return NULL;
  return qg_ival_str(op);
}

qg_status qg__insert_embedding_bag(qg_graph_t *g, qg_node_t *observer_call, const char *op, qg_node_t **result);

/* insertQuantizationOps for one observer call. */
static qg_status quantize_one(iqd *h, const qg_ival *obj, obs_call *c, const qparams *q) {
  const qg_ival *obs = NULL;
  QG_TRY(observer_of(obj, c->call, &obs));
  qg_observer_spec spec;
  QG_TRY(qg_observer_spec_of(obs, &spec));
  qg_value_t *out = c->call->outputs[0], *orig = c->call->inputs[1];
  int weight = qg_qh_is_weight(out);
  qg_node_t *repl = NULL;
  const char *ebag = embedding_bag_op(obs);
  if (ebag) {
    if (weight) QG_TRY(qg__insert_embedding_bag(c->call->graph, c->call, ebag, &repl));
  } else if (h->dynamic && spec.kind == QG_OBSERVER_PLACEHOLDER && spec.dtype == QG_DTYPE_F16) {
    if (weight) QG_TRY(insert_saturate(h, c, &repl));
  } else if (h->dynamic && !weight) {
    qg_dtype d = spec.kind == QG_OBSERVER_PLACEHOLDER && spec.has_compute_dtype ? spec.compute_dtype : spec.dtype;
    if (d == QG_DTYPE_QUINT8 || d == QG_DTYPE_QINT8) QG_TRY(insert_choose_qparams(h, c, &repl));
  } else if (spec.kind != QG_OBSERVER_PLACEHOLDER && spec.kind != QG_OBSERVER_NOOP && spec.dtype != QG_DTYPE_F16) {
    QG_TRY(insert_qdq(h, c, q->per_channel, &repl));
  }
  /* The observer's uses go back to the original value; uses after the replacement read it. */
  QG_TRY(qg_value_replace_all_uses_with(out, orig));
  if (repl) QG_TRY(qg_value_replace_all_uses_after_node_with(orig, repl, repl->outputs[0]));
  if (h->report) h->report->changed++;
  return QG_OK;
}

/* ---- per graph / module ------------------------------------------------------------------------ */

typedef qg_status (*visit_fn)(iqd *h, const qg_ival *obj, qg_graph_t *g);

static qg_status for_invoked(iqd *h, const qg_ival *obj, qg_block_t *b, visit_fn fn) {
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    if (n->kind == QG_SYM_prim_CallMethod && !observer_name(n)) {
      const qg_ival *callee = NULL;
      QG_TRY(qg__resolve_module(obj, n->inputs[0], &callee));
      const qg_method *m = callee ? qg_class_find_method(callee->u.obj->type, qg_node_s(n, "name")) : NULL;
      if (m && m->graph) {
        QG_TRY(for_invoked(h, callee, qg_graph_block(m->graph), fn));
        QG_TRY(fn(h, callee, m->graph));
      }
    }
    for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(for_invoked(h, obj, n->blocks[i], fn));
  }
  return QG_OK;
}

static qg_status run_graph(iqd *h, const qg_ival *obj, qg_graph_t *g) {
  obs_vec *calls = qg__ptrmap_get(&h->graph_calls, g);
  int first = calls == NULL;
  if (first) {
    if (!(calls = qg__calloc(1, sizeof *calls)) || QG_VEC_PUSH(&h->owned, calls)) {
      qg__free(calls);
      return qg_oom("insert quant-dequant");
    }
    if (qg__ptrmap_put(&h->graph_calls, g, calls) != 0) return qg_oom("insert quant-dequant");
    QG_TRY(collect_block(qg_graph_block(g), calls));
  }
  /* Qparams of this instance's observers: attribute names chosen on the first visit. */
  for (size_t i = 0; i < calls->len; i++) {
    obs_call *c = &calls->data[i];
    const qg_ival *obs = NULL;
    qparams q = {0};
    QG_TRY(observer_of(obj, c->call, &obs));
    QG_TRY(compute_qparams(obs, &q));
    qg_status st = QG_OK;
    if (first) c->nnames = q.n;
    for (size_t k = 0; st == QG_OK && k < q.n && k < c->nnames; k++) {
      if (first) {
        st = attr_name(obj, c->call->inputs[1], q.p[k].suffix, c->names[k], sizeof c->names[k]);
        c->types[k] = qparam_type(&q.p[k].value);
      }
      if (st == QG_OK) {
        st = set_attr(obj, c->names[k], q.p[k].value);
        q.p[k].value = qg_ival_none();
      }
    }
    if (st == QG_OK && first) st = quantize_one(h, obj, c, &q);
    qparams_free(&q);
    QG_TRY(st);
  }
  return QG_OK;
}

/* Dynamic quantization has no calibration: weight observers see their weights now
 * (runWeightObserver): each observer of a value read by a GetAttr chain from self. */
static qg_status observe_weights(iqd *h, const qg_ival *obj, qg_graph_t *g) {
  obs_vec calls = {0};
  qg_status st = collect_block(qg_graph_block(g), &calls);
  for (size_t i = 0; st == QG_OK && i < calls.len; i++) {
    qg_node_t *c = calls.data[i].call;
    if (!qg_qh_is_weight(c->outputs[0])) continue;
    const qg_ival *w = NULL, *obs = NULL;
    const qg_node_t *get = c->inputs[1]->node;
    if (get->kind == QG_SYM_prim_Constant) { /* traced models hold weights as tensor constants */
      const qg_attr *a = qg_node_attr(get, h->sym_value);
      if (!a || a->kind != QG_ATTR_TENSOR) continue;
      st = observer_of(obj, c, &obs);
      if (st == QG_OK) st = qg_observer_observe((qg_ival *)obs, a->t);
      continue;
    }
    /* the weight: the last GetAttr of a chain from self (qg__resolve_module follows objects) */
    if (get->kind != QG_SYM_prim_GetAttr) continue;
    const qg_ival *owner = NULL;
    st = qg__resolve_module(obj, get->inputs[0], &owner);
    if (st != QG_OK || !owner) break;
    w = qg_ival_object_get(owner, qg_node_s(get, "name"));
    if (!w || w->kind != QG_IVAL_TENSOR) continue;
    st = observer_of(obj, c, &obs);
    if (st == QG_OK) st = qg_observer_observe((qg_ival *)obs, w->u.tensor);
  }
  QG_VEC_FREE(&calls);
  return st;
}

/* cleanup: observer calls and their GetAttrs out of the graphs, `_observer_*` slots out of
 * classes and objects. */
static qg_status remove_observer_nodes(qg_block_t *b) {
  for (qg_node_t *n = qg_block_first(b); n != b->ret;) {
    qg_node_t *next = n->next;
    for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(remove_observer_nodes(n->blocks[i]));
    if (observer_name(n) && n->outputs[0]->nuses == 0) {
      qg_node_t *get = n->inputs[0]->node;
      qg_node_destroy(n);
      if (get->outputs[0]->nuses == 0) {
        if (next == get) next = get->next;
        qg_node_destroy(get);
      }
    }
    n = next;
  }
  return QG_OK;
}

static qg_status cleanup(qg_module *m) {
  size_t nt = qg_cu_ntypes(m->cu);
  for (size_t i = 0; i < nt; i++) {
    qg_type_t *t = qg_cu_type_at(m->cu, i);
    if (t->kind != QG_TYPE_CLASS) continue;
    for (size_t k = 0; k < t->nmethods; k++)
      if (t->methods[k].graph) QG_TRY(remove_observer_nodes(qg_graph_block(t->methods[k].graph)));
  }
  for (size_t i = 0; i < nt; i++) {
    qg_type_t *t = qg_cu_type_at(m->cu, i);
    if (t->kind != QG_TYPE_CLASS) continue;
    for (size_t k = t->nslots; k-- > 0;)
      if (!strncmp(t->slots[k].name, "_observer_", 10) && t->slots[k].kind == QG_SLOT_MODULE &&
          qg_observer_kind_of(t->slots[k].type) >= 0)
        QG_TRY(qg_module_remove_slot(m, t, t->slots[k].name));
  }
  return QG_OK;
}

static void iqd_free(iqd *h) {
  for (size_t i = 0; i < h->owned.len; i++) {
    QG_VEC_FREE(h->owned.data[i]);
    qg__free(h->owned.data[i]);
  }
  QG_VEC_FREE(&h->owned);
  qg__ptrmap_free(&h->graph_calls);
}

qg_status qg_insert_quant_dequant(qg_module *m, const char *method, int dynamic, qg_pass_report *report) {
  iqd h = {0};
  h.m = m;
  h.dynamic = dynamic;
  h.report = report;
  const qg_method *meth = qg_class_find_method(m->root.u.obj->type, method);
  if (!meth || !meth->graph)
    return qg_set_error(QG_STATUS_NOT_FOUND, "the root module (%s) has no method '%s'", m->root.u.obj->type->qualname,
                        method);
  qg_status st = qg_sym_intern("name", &h.sym_name);
  if (st == QG_OK) st = qg_sym_intern("value", &h.sym_value);
  if (st != QG_OK) return st;
  if (st == QG_OK && dynamic) st = for_invoked(&h, &m->root, qg_graph_block(meth->graph), observe_weights);
  if (st == QG_OK && dynamic) st = observe_weights(&h, &m->root, meth->graph);
  if (st == QG_OK) st = for_invoked(&h, &m->root, qg_graph_block(meth->graph), run_graph);
  if (st == QG_OK) st = run_graph(&h, &m->root, meth->graph);
  if (st == QG_OK) st = cleanup(m);
  iqd_free(&h);
  return st;
}
