/* InsertObservers (PyTorch's insert_observers.cpp; reference §2): decides which values of the
 * forward graphs need an observer under the module's qconfig and inserts
 *   %_observer_N : <Observer> = prim::GetAttr[name="_observer_N"](%self)
 *   %v.1 : Tensor = prim::CallMethod[name="forward"](%_observer_N, %v)
 * at the outermost call site, registering a fresh observer object as submodule `_observer_N`.
 *
 * The traversal follows PyTorch step by step (preprocess, boundary value map, observer map,
 * pass-through map, delay map, then insertObserversFor per block). Differences: observers are
 * inserted in program order with one counter for the whole pass (PyTorch iterates an
 * unordered_map, so its numbering is arbitrary; tests count names by prefix), and shared class
 * types are split by (type, qconfig, child types) (see split_class_types.c). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/vec.h"
#include "passes/passes.h"
#include "passes/prepare_impl.h"
#include "passes/quant_helper.h"
#include "quant/observer.h"

/* An observer template: a qconfig entry's activation or weight observer. Identity matters:
 * getObserverFor insists that all values reachable through call boundaries share one. */
typedef struct templ {
  const qg_observer_spec *spec;
} templ;

typedef QG_VEC(qg_value_t *) value_vec;

typedef struct named_templ {
  char name[32];
  const qg_observer_spec *spec;
} named_templ;
typedef QG_VEC(named_templ) named_vec;

typedef struct helper {
  qg_module *m;
  int dynamic;
  qg__ptrmap qmap;            /* object -> qconfig entry */
  qg__ptrmap observer_for;    /* value -> const qg_observer_spec * */
  qg__ptrmap boundary;        /* value -> value_vec * */
  qg__ptrmap pass_through;    /* value -> value_vec * */
  qg__ptrmap delay;           /* value -> value */
  qg__ptrmap observed;        /* values produced by inserted observer calls */
  qg__ptrmap observer_nodes;  /* inserted observer calls */
  qg__ptrmap block_observers; /* block -> named_vec * (observers inserted in it, by name) */
  qg__ptrmap visited_graphs;  /* graphs whose observer map is filled */
  qg__ptrmap preprocessed;    /* graphs the preprocessing passes ran on */
  QG_VEC(void *) owned;       /* value_vec / named_vec allocations */
  size_t uid;
  qg_sym_t sym_name;
  qg_pass_report *report;
} helper;

typedef QG_VEC(const qg_observer_spec *) spec_vec;

/* A set of values observed in the block being processed (PyTorch's block_observed_values). */
typedef qg__ptrmap value_set;

static int set_has(const qg__ptrmap *s, const void *k) { return qg__ptrmap_has(s, k); }
static qg_status set_add(qg__ptrmap *s, const void *k) {
  return qg__ptrmap_put(s, k, (void *)1) == 0 ? QG_OK : qg_oom("insert observers");
}

static int is_observed(const helper *h, const value_set *block_observed, const qg_value_t *v) {
  return set_has(&h->observed, v) || set_has(block_observed, v);
}

static qg_status vec_for(helper *h, qg__ptrmap *map, const void *key, value_vec **out) {
  value_vec *v = qg__ptrmap_get(map, key);
  if (!v) {
    if (!(v = qg__calloc(1, sizeof *v))) return qg_oom("insert observers");
    if (QG_VEC_PUSH(&h->owned, v)) {
      qg__free(v);
      return qg_oom("insert observers");
    }
    if (qg__ptrmap_put(map, key, v) != 0) return qg_oom("insert observers");
  }
  *out = v;
  return QG_OK;
}

static qg_status vec_add_unique(value_vec *v, qg_value_t *x) {
  for (size_t i = 0; i < v->len; i++)
    if (v->data[i] == x) return QG_OK;
  return QG_VEC_PUSH(v, x) ? qg_oom("insert observers") : QG_OK;
}

/* ---- invoked methods ------------------------------------------------------------------- */

/* The graph of the method a CallMethod node invokes on a module reachable from self_obj, or
 * NULL (receiver not a module, native method); *callee receives the object. */
static qg_status invoked(const qg_ival *self_obj, const qg_node_t *n, const qg_ival **callee, qg_graph_t **g) {
  *g = NULL;
  *callee = NULL;
  const qg_ival *obj = NULL;
  QG_TRY(qg__resolve_module(self_obj, n->inputs[0], &obj));
  if (!obj) return QG_OK;
  const qg_method *m = qg_class_find_method(obj->u.obj->type, qg_node_s(n, "name"));
  if (!m || !m->graph) return QG_OK;
  *callee = obj;
  *g = m->graph;
  return QG_OK;
}

typedef qg_status (*block_fn)(helper *h, const qg_ival *obj, qg_graph_t *g);

/* Runs fn on the graph of every method invoked from obj's method graph g (callees first,
 * recursively), then on g itself: PyTorch's getInvokedMethods recursion. With functions, the
 * graphs of user-defined functions called from g are visited too, as part of the calling
 * module (the analysis needs their pass-through values: a function of view/transpose ops
 * passes the observed property through, test_insert_observers_propagate_observed_for_function). */
static qg_status for_invoked(helper *h, const qg_ival *obj, qg_graph_t *g, block_fn fn, int functions);

static qg_status for_invoked_block(helper *h, const qg_ival *obj, qg_block_t *b, block_fn fn, int functions) {
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    if (set_has(&h->observer_nodes, n)) continue;
    if (n->kind == QG_SYM_prim_CallMethod) {
      const qg_ival *callee;
      qg_graph_t *cg;
      QG_TRY(invoked(obj, n, &callee, &cg));
      if (cg) QG_TRY(for_invoked(h, callee, cg, fn, functions));
    } else if (functions && qg_qh_user_defined_call(n)) {
      qg_graph_t *cg = qg_callee_graph(n, NULL, NULL);
      if (cg) QG_TRY(for_invoked(h, obj, cg, fn, functions));
    }
    for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(for_invoked_block(h, obj, n->blocks[i], fn, functions));
  }
  return QG_OK;
}

static qg_status for_invoked(helper *h, const qg_ival *obj, qg_graph_t *g, block_fn fn, int functions) {
  QG_TRY(for_invoked_block(h, obj, qg_graph_block(g), fn, functions));
  return fn(h, obj, g);
}

/* ---- preprocessing (§2.3) ---------------------------------------------------------------- */

/* Once per graph: the passes are idempotent, and a graph shared by many instances (every
 * Conv2d of a ResNet) would otherwise be rewritten once per call site. */
static qg_status preprocess(helper *h, const qg_ival *obj, qg_graph_t *g) {
  if (set_has(&h->preprocessed, g)) return QG_OK;
  QG_TRY(set_add(&h->preprocessed, g));
  QG_TRY(qg_inline_fork_wait_graph(g, h->report));
  QG_TRY(qg_fuse_linear_graph(g, h->report));
  QG_TRY(qg_replace_convolution_graph(g, h->report));
  return qg_remove_list_mutation_graph(g, h->report);
}

/* ---- boundary values: call-site value <-> callee graph input/output, If output <-> branch outputs */

static qg_status fill_boundary_block(helper *h, const qg_ival *obj, qg_block_t *b) {
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    qg_graph_t *cg = NULL;
    uint32_t offset = 0;
    if (n->kind == QG_SYM_prim_CallMethod) {
      const qg_ival *callee;
      QG_TRY(invoked(obj, n, &callee, &cg));
    } else if (qg_qh_user_defined_call(n)) {
      cg = qg_callee_graph(n, NULL, NULL);
      offset = 1;
    }
    if (cg) {
      for (size_t i = 0; i < qg_graph_noutputs(cg) && i < n->noutputs; i++) {
        value_vec *v;
        QG_TRY(vec_for(h, &h->boundary, n->outputs[i], &v));
        QG_TRY(vec_add_unique(v, qg_graph_output(cg, i)));
      }
      for (size_t i = 0; i < qg_graph_ninputs(cg) && i + offset < n->ninputs; i++) {
        value_vec *v;
        QG_TRY(vec_for(h, &h->boundary, n->inputs[i + offset], &v));
        QG_TRY(vec_add_unique(v, qg_graph_input(cg, i)));
      }
      continue;
    }
    for (uint32_t k = 0; k < n->nblocks; k++) {
      if (n->kind == QG_SYM_prim_If) {
        for (uint32_t i = 0; i < n->noutputs && i < qg_block_noutputs(n->blocks[k]); i++) {
          value_vec *v;
          QG_TRY(vec_for(h, &h->boundary, n->outputs[i], &v));
          QG_TRY(vec_add_unique(v, qg_block_output(n->blocks[k], i)));
        }
      }
      QG_TRY(fill_boundary_block(h, obj, n->blocks[k]));
    }
  }
  return QG_OK;
}

static qg_status fill_boundary(helper *h, const qg_ival *obj, qg_graph_t *g) {
  return fill_boundary_block(h, obj, qg_graph_block(g));
}

/* ---- analysis: observer map, pass-through map, delay map ---------------------------------- */

static const qg_observer_spec *observer_spec_for(const qg_value_t *v, const qg_qconfig *qc) {
  return qg_qh_is_weight(v) ? &qc->weight : &qc->activation;
}

/* valueNeedsToBeQuantized (§2.4). */
static int needs_quantization(const helper *h, const qg_value_t *v, const qg_qconfig *qc) {
  if (qg_qh_is_bias(v) || !qg_qh_is_tensor_or_list(v->type) || qg_qh_is_embedding_bag_non_input(v)) return 0;
  if (!h->dynamic && !qg_qh_weight_only_static(v->node) &&
      (qg_qh_node_quantizable(v->node, 0) || qg_qh_propagate_quant_single(v->node) ||
       qg_qh_propagate_quant_binary(v->node)))
    return 1;
  if (h->dynamic && observer_spec_for(v, qc)->dtype == QG_DTYPE_F16 && !qg_qh_is_weight(v)) return 0;
  for (uint32_t i = 0; i < v->nuses; i++)
    if (qg_qh_use_quantizable(&v->uses[i], h->dynamic)) return 1;
  return 0;
}

static qg_status map_value(helper *h, const qg_value_t *v, const qg_qconfig *qc) {
  if (!needs_quantization(h, v, qc)) return QG_OK;
  if (qg__ptrmap_put(&h->observer_for, v, (void *)observer_spec_for(v, qc)) != 0) return qg_oom("insert observers");
  return QG_OK;
}

static qg_status analyze_block(helper *h, qg_block_t *b, const qg_qconfig *qc) {
  qg_value_t *pt[64];
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    for (uint32_t i = 0; i < n->noutputs; i++) {
      qg_value_t *v = n->outputs[i];
      if (qc) QG_TRY(map_value(h, v, qc));
      size_t k = qg_qh_pass_through_inputs(v, pt, 64);
      if (k > 64) return qg_set_error(QG_STATUS_UNSUPPORTED, "a node with more than 64 pass-through inputs");
      for (size_t j = 0; j < k; j++) {
        value_vec *vec;
        QG_TRY(vec_for(h, &h->pass_through, v, &vec));
        if (QG_VEC_PUSH(vec, pt[j])) return qg_oom("insert observers");
      }
      qg_value_t *d = qg_qh_delay_target(v);
      if (d && qg__ptrmap_put(&h->delay, v, d) != 0) return qg_oom("insert observers");
    }
    for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(analyze_block(h, n->blocks[i], qc));
  }
  return QG_OK;
}

static qg_status analyze(helper *h, const qg_ival *obj, qg_graph_t *g) {
  if (set_has(&h->visited_graphs, g)) return QG_OK;
  QG_TRY(set_add(&h->visited_graphs, g));
  const qg_qconfig *qc = qg__qconfig_of(&h->qmap, obj);
  if (qc)
    for (size_t i = 0; i < qg_graph_ninputs(g); i++) QG_TRY(map_value(h, qg_graph_input(g, i), qc));
  /* The pass-through and delay maps do not depend on the qconfig; a None qconfig only means
   * no value of this graph gets its own observer. */
  return analyze_block(h, qg_graph_block(g), qc);
}

/* ---- traversal (§2.7) -------------------------------------------------------------------- */

/* getObserverFor: the value's own template, else the one all its boundary values agree on. */
static qg_status observer_for(helper *h, const qg_value_t *v, const qg_observer_spec **out, int depth) {
  *out = qg__ptrmap_get(&h->observer_for, v);
  if (*out || depth > 64) return QG_OK;
  const value_vec *b = qg__ptrmap_get(&h->boundary, v);
  for (size_t i = 0; b && i < b->len; i++) {
    const qg_observer_spec *o = NULL;
    QG_TRY(observer_for(h, b->data[i], &o, depth + 1));
    if (!o) continue;
    if (*out && *out != o)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "Expecting all values in the graph only configured with one observer");
    *out = o;
  }
  return QG_OK;
}

static void propagate_observed(const helper *h, const qg_value_t *v, value_set *block_observed, qg_status *st) {
  const value_vec *p = qg__ptrmap_get(&h->pass_through, v);
  if (!p || p->len == 0) return;
  for (size_t i = 0; i < p->len; i++)
    if (!is_observed(h, block_observed, p->data[i])) return;
  if (set_add(block_observed, v) != QG_OK) *st = QG_STATUS_OOM;
}

/* shouldObserve: cat / add / mul outputs only when their inputs are observed, unless an output
 * feeds a quantizable op. */
static int should_observe(const helper *h, const qg_node_t *n, const value_set *block_observed) {
  for (uint32_t i = 0; i < n->noutputs; i++)
    for (uint32_t k = 0; k < n->outputs[i]->nuses; k++)
      if (qg_qh_use_quantizable(&n->outputs[i]->uses[k], h->dynamic)) return 1;
  if (qg_qh_propagate_quant_single(n)) return n->ninputs > 0 && is_observed(h, block_observed, n->inputs[0]);
  if (qg_qh_propagate_quant_binary(n))
    return n->ninputs > 1 && is_observed(h, block_observed, n->inputs[0]) &&
           is_observed(h, block_observed, n->inputs[1]);
  return 1;
}

typedef struct to_observe {
  qg_value_t *v;
  const qg_observer_spec *spec;
} to_observe;
typedef QG_VEC(to_observe) observe_vec;

/* recordObserved: through the delay map; a value recorded twice keeps its last template. */
static qg_status record(helper *h, qg_value_t *v, const qg_observer_spec *spec, observe_vec *todo,
                        value_set *block_observed) {
  qg_value_t *target = qg__ptrmap_get(&h->delay, v);
  if (!target) target = v;
  for (size_t i = 0; i < todo->len; i++)
    if (todo->data[i].v == target) {
      todo->data[i].spec = spec;
      return set_add(block_observed, target);
    }
  if (QG_VEC_PUSH(todo, ((to_observe){target, spec}))) return qg_oom("insert observers");
  return set_add(block_observed, target);
}

/* Registers a fresh observer `name` on obj (adding the slot to its class if needed). */
static qg_status attach_observer(helper *h, const qg_ival *obj, const char *name, const qg_observer_spec *spec) {
  qg_ival o = qg_ival_none();
  QG_TRY(qg_observer_new(h->m->cu, spec, &o));
  qg_type_t *cls = (qg_type_t *)obj->u.obj->type;
  qg_status st = QG_OK;
  if (qg_class_find_slot(cls, name) < 0) st = qg_class_add_slot(cls, name, o.u.obj->type, QG_SLOT_MODULE);
  if (st != QG_OK) {
    qg_ival_release(&o);
    return st;
  }
  return qg_ival_object_put((qg_ival *)obj, name, o);
}

/* insertObserverFor: GetAttr + CallMethod after v's producer; v's uses go to the call. */
static qg_status insert_observer(helper *h, const qg_ival *obj, qg_value_t *v, const qg_observer_spec *spec,
                                 named_vec *names) {
  if (set_has(&h->observed, v)) return QG_OK;
  const qg_type_t *cls = obj->u.obj->type;
  named_templ nt = {{0}, spec};
  do snprintf(nt.name, sizeof nt.name, "_observer_%zu", h->uid++);
  while (qg_class_find_slot(cls, nt.name) >= 0);
  QG_TRY(attach_observer(h, obj, nt.name, spec));
  if (QG_VEC_PUSH(names, nt)) return qg_oom("insert observers");

  qg_graph_t *g = v->node->graph;
  const qg_ival *obs = qg_ival_object_get(obj, nt.name);
  qg_node_t *get = NULL, *call = NULL;
  QG_TRY(qg_node_create(g, QG_SYM_prim_GetAttr, 1, &get));
  qg_status st = qg_node_add_input(get, qg_graph_input(g, 0));
  if (st == QG_OK) st = qg_node_set_s(get, h->sym_name, nt.name);
  if (st != QG_OK) {
    qg_node_destroy(get);
    return st;
  }
  qg_value_set_type(get->outputs[0], obs->u.obj->type);
  qg_node_insert_after(get, v->node);
  QG_TRY(qg_value_set_name(get->outputs[0], nt.name));
  QG_TRY(qg_node_create(g, QG_SYM_prim_CallMethod, 1, &call));
  st = qg_node_add_input(call, get->outputs[0]);
  if (st == QG_OK) st = qg_node_add_input(call, v);
  if (st == QG_OK) st = qg_node_set_s(call, h->sym_name, "forward");
  if (st != QG_OK) {
    qg_node_destroy(call);
    return st;
  }
  qg_node_insert_after(call, get);
  qg_value_t *out = call->outputs[0];
  qg_value_set_type(out, v->type);
  if (v->name) QG_TRY(qg_value_set_name(out, v->name));
  QG_TRY(qg_value_replace_all_uses_with(v, out));
  QG_TRY(qg_node_replace_input(call, 1, v));
  QG_TRY(set_add(&h->observer_nodes, call));
  QG_TRY(set_add(&h->observed, out));
  if (h->report) h->report->changed++;
  return QG_OK;
}

typedef struct block_info {
  spec_vec inputs;  /* per block input: the observer the caller should insert, or NULL */
  spec_vec outputs; /* per block output */
  QG_VEC(size_t) observed_outputs;
} block_info;

static void block_info_free(block_info *bi) {
  QG_VEC_FREE(&bi->inputs);
  QG_VEC_FREE(&bi->outputs);
  QG_VEC_FREE(&bi->observed_outputs);
}

static qg_status insert_for_block(helper *h, qg_block_t *block, const qg_ival *obj, value_set *block_observed,
                                  int is_entry, int is_udf, block_info *info);

/* A CallMethod or user-defined CallFunction: recurse into the callee, then record observers
 * for the call-site inputs/outputs the callee asked for. */
static qg_status visit_call(helper *h, qg_node_t *n, const qg_ival *obj, value_set *block_observed,
                            const qg__ptrmap *io, int is_udf, observe_vec *todo) {
  const qg_ival *callee = obj;
  qg_graph_t *cg = NULL;
  uint32_t offset = 0;
  int udf = is_udf;
  if (n->kind == QG_SYM_prim_CallMethod) {
    QG_TRY(invoked(obj, n, &callee, &cg));
  } else {
    const char *why = NULL;
    cg = qg_callee_graph(n, NULL, &why);
    if (!cg) return qg_set_error(QG_STATUS_NOT_FOUND, "cannot resolve the called function: %s", why);
    offset = 1;
    udf = 1;
  }
  if (!cg) return QG_OK;
  value_set callee_observed = {0};
  qg_status st = QG_OK;
  for (size_t i = 0; st == QG_OK && i < qg_graph_ninputs(cg) && i + offset < n->ninputs; i++)
    if (is_observed(h, block_observed, n->inputs[i + offset])) st = set_add(&callee_observed, qg_graph_input(cg, i));
  block_info bi = {{0}, {0}, {0}};
  if (st == QG_OK) st = insert_for_block(h, qg_graph_block(cg), callee, &callee_observed, 0, udf, &bi);
  for (size_t i = 0; st == QG_OK && i < bi.observed_outputs.len; i++)
    if (bi.observed_outputs.data[i] < n->noutputs) st = set_add(block_observed, n->outputs[bi.observed_outputs.data[i]]);
  for (size_t i = 0; st == QG_OK && i < bi.inputs.len && i + offset < n->ninputs; i++) {
    qg_value_t *in = n->inputs[i + offset];
    if (bi.inputs.data[i] && !set_has(io, in) && !is_observed(h, block_observed, in))
      st = record(h, in, bi.inputs.data[i], todo, block_observed);
  }
  for (size_t i = 0; st == QG_OK && i < bi.outputs.len && i < n->noutputs; i++) {
    qg_value_t *out = n->outputs[i];
    if (bi.outputs.data[i] && !set_has(io, out) && !is_observed(h, block_observed, out))
      st = record(h, out, bi.outputs.data[i], todo, block_observed);
  }
  block_info_free(&bi);
  qg__ptrmap_free(&callee_observed);
  return st;
}

/* prim::If: each branch that does not always raise, with the same observed set. Observers a
 * branch asks for on its outputs are recorded here (they are inserted inside the branch, after
 * the producer); then the branches must agree on which outputs are observed. */
static qg_status visit_if(helper *h, qg_node_t *n, const qg_ival *obj, value_set *block_observed,
                          const qg__ptrmap *io, int is_entry, int is_udf, observe_vec *todo) {
  QG_VEC(int) agreed = {0};
  int have = 0;
  qg_status st = QG_OK;
  for (uint32_t k = 0; st == QG_OK && k < n->nblocks; k++) {
    qg_block_t *b = n->blocks[k];
    if (qg_qh_always_raises(b)) continue;
    block_info bi = {{0}, {0}, {0}};
    st = insert_for_block(h, b, obj, block_observed, is_entry, is_udf, &bi);
    for (size_t i = 0; st == QG_OK && i < bi.outputs.len && i < qg_block_noutputs(b); i++) {
      qg_value_t *out = qg_block_output(b, i);
      if (bi.outputs.data[i] && !set_has(io, out) && !is_observed(h, block_observed, out))
        st = record(h, out, bi.outputs.data[i], todo, block_observed);
    }
    for (size_t i = 0; st == QG_OK && i < bi.observed_outputs.len; i++)
      st = set_add(block_observed, qg_block_output(b, bi.observed_outputs.data[i]));
    block_info_free(&bi);
    for (size_t i = 0; st == QG_OK && i < qg_block_noutputs(b); i++) {
      int obs = is_observed(h, block_observed, qg_block_output(b, i));
      if (!have) {
        if (QG_VEC_PUSH(&agreed, obs)) st = qg_oom("insert observers");
      } else if (agreed.data[i] != obs) {
        st = qg_set_error(QG_STATUS_UNSUPPORTED,
                          "branches for `if` should return values that are observed consistently "
                          "(output %zu is observed in one branch only)",
                          i);
      }
    }
    have = 1;
  }
  for (size_t i = 0; st == QG_OK && i < agreed.len && i < n->noutputs; i++)
    if (agreed.data[i]) st = set_add(block_observed, n->outputs[i]);
  QG_VEC_FREE(&agreed);
  return st;
}

static qg_status insert_for_block(helper *h, qg_block_t *block, const qg_ival *obj, value_set *block_observed,
                                  int is_entry, int is_udf, block_info *info) {
  qg_graph_t *g = block->graph;
  value_set io = {0};
  qg_status st = QG_OK;
  if (!is_entry) {
    /* Graph and block inputs/outputs are observed at the call site, never inside: the graph
     * may be shared by several call sites. */
    for (size_t i = 0; st == QG_OK && i < qg_graph_ninputs(g); i++) st = set_add(&io, qg_graph_input(g, i));
    for (size_t i = 0; st == QG_OK && i < qg_graph_noutputs(g); i++) st = set_add(&io, qg_graph_output(g, i));
    for (size_t i = 0; st == QG_OK && i < qg_block_noutputs(block); i++) st = set_add(&io, qg_block_output(block, i));
    for (size_t i = 0; st == QG_OK && i < qg_block_ninputs(block); i++) {
      const qg_observer_spec *o = NULL;
      st = observer_for(h, qg_block_input(block, i), &o, 0);
      if (st == QG_OK && QG_VEC_PUSH(&info->inputs, o)) st = qg_oom("insert observers");
    }
    for (size_t i = 0; st == QG_OK && i < qg_block_noutputs(block); i++) {
      const qg_observer_spec *o = NULL;
      qg_value_t *v = qg_block_output(block, i);
      if (!is_observed(h, block_observed, v)) st = observer_for(h, v, &o, 0);
      if (st == QG_OK && QG_VEC_PUSH(&info->outputs, o)) st = qg_oom("insert observers");
    }
  }
  /* A block seen before (another instance of a shared class type): its observers exist in the
   * graph; this instance gets its own observer objects under the same names. */
  named_vec *seen = qg__ptrmap_get(&h->block_observers, block);
  for (size_t i = 0; st == QG_OK && seen && i < seen->len; i++)
    st = attach_observer(h, obj, seen->data[i].name, seen->data[i].spec);

  observe_vec todo = {0};
  for (size_t i = 0; st == QG_OK && i < qg_block_ninputs(block); i++) {
    qg_value_t *v = qg_block_input(block, i);
    const qg_observer_spec *o = NULL;
    if (set_has(&io, v)) continue;
    st = observer_for(h, v, &o, 0);
    if (st == QG_OK && o) st = record(h, v, o, &todo, block_observed);
  }
  for (qg_node_t *n = qg_block_first(block); st == QG_OK && n != block->ret; n = n->next) {
    if (set_has(&h->observer_nodes, n)) continue;
    if (n->kind == QG_SYM_prim_CallMethod || qg_qh_user_defined_call(n)) {
      st = visit_call(h, n, obj, block_observed, &io, is_udf, &todo);
    } else if (n->kind == QG_SYM_prim_If) {
      st = visit_if(h, n, obj, block_observed, &io, is_entry, is_udf, &todo);
    } else if (n->kind == QG_SYM_prim_Loop) {
      if (h->report && h->report->warnings++ == 0)
        snprintf(h->report->warning, sizeof h->report->warning,
                 "prim::Loop is not yet supported in quantization, please make sure nothing needs to be observed "
                 "in prim::Loop");
    }
    for (uint32_t i = 0; st == QG_OK && i < n->noutputs; i++) {
      qg_value_t *v = n->outputs[i];
      propagate_observed(h, v, block_observed, &st);
      if (st != QG_OK || set_has(&io, v) || is_observed(h, block_observed, v)) continue;
      const qg_observer_spec *o = NULL;
      st = observer_for(h, v, &o, 0);
      if (st == QG_OK && o && should_observe(h, n, block_observed)) st = record(h, v, o, &todo, block_observed);
    }
  }
  for (size_t i = 0; st == QG_OK && i < qg_block_noutputs(block); i++)
    if (is_observed(h, block_observed, qg_block_output(block, i)) && QG_VEC_PUSH(&info->observed_outputs, i))
      st = qg_oom("insert observers");
  if (st == QG_OK && !seen) {
    named_vec *names = qg__calloc(1, sizeof *names);
    if (!names || QG_VEC_PUSH(&h->owned, names)) {
      qg__free(names);
      st = qg_oom("insert observers");
    }
    if (st == QG_OK && todo.len && is_udf)
      st = qg_set_error(QG_STATUS_UNSUPPORTED, "Inserting observers for user defined functions is not supported "
                                               "right now");
    for (size_t i = 0; st == QG_OK && i < todo.len; i++)
      st = insert_observer(h, obj, todo.data[i].v, todo.data[i].spec, names);
    if (st == QG_OK && qg__ptrmap_put(&h->block_observers, block, names) != 0) st = qg_oom("insert observers");
  }
  QG_VEC_FREE(&todo);
  qg__ptrmap_free(&io);
  return st;
}

/* ---- entry points ------------------------------------------------------------------------ */

static void helper_free(helper *h) {
  for (size_t i = 0; i < h->owned.len; i++) {
    value_vec *v = h->owned.data[i]; /* value_vec and named_vec share the layout of QG_VEC */
    qg__free(v->data);
    qg__free(v);
  }
  QG_VEC_FREE(&h->owned);
  qg__ptrmap *maps[] = {&h->qmap,     &h->observer_for,   &h->boundary,        &h->pass_through,  &h->delay,
                        &h->observed, &h->observer_nodes, &h->block_observers, &h->visited_graphs, &h->preprocessed};
  for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) qg__ptrmap_free(maps[i]);
}

qg_status qg_insert_observers(qg_module *m, const char *method, const qg_qconfig_dict *dict, int dynamic,
                              qg_pass_report *report) {
  helper h = {0};
  h.m = m;
  h.dynamic = dynamic;
  h.report = report;
  const qg_type_t *root_cls = m->root.u.obj->type;
  const qg_method *meth = qg_class_find_method(root_cls, method);
  if (!meth || !meth->graph)
    return qg_set_error(QG_STATUS_NOT_FOUND, "the root module (%s) has no method '%s'", root_cls->qualname, method);
  qg_status st = qg_sym_intern("name", &h.sym_name);
  if (st == QG_OK) st = qg__fill_qconfig_map(m, dict, &h.qmap);
  if (st == QG_OK) st = qg__split_class_types(m, &h.qmap);
  if (st == QG_OK) st = qg_swap_functional_linear_module(m, report);
  /* The root's class may have been replaced by the split: look the method up again. */
  qg_graph_t *g = st == QG_OK ? qg_class_find_method(m->root.u.obj->type, method)->graph : NULL;
  if (st == QG_OK) st = for_invoked(&h, &m->root, g, preprocess, 0);
  if (st == QG_OK) st = for_invoked(&h, &m->root, g, fill_boundary, 1);
  if (st == QG_OK) st = for_invoked(&h, &m->root, g, analyze, 1);
  if (st == QG_OK) {
    value_set observed = {0};
    block_info bi = {{0}, {0}, {0}};
    st = insert_for_block(&h, qg_graph_block(g), &m->root, &observed, 1, 0, &bi);
    block_info_free(&bi);
    qg__ptrmap_free(&observed);
  }
  helper_free(&h);
  return st;
}
