/* FoldQuantizedPrepackingOps (reference §4.5; passes.h), PyTorch's PrePackingOpsFolder with the
 * prefix "quantized": in every method of the root, each quantized::linear_prepack,
 * conv{1,2,3}d_prepack and conv_transpose{1,2}d_prepack whose inputs are all constants (after
 * freezing: the quantized weight, bias and conv parameters) is run once through the
 * interpreter; its result, a packed-params object, becomes the root attribute
 * `quantized_<method>._jit_pass_packed_weight_<k>` (k counting from 0 per method, in PyTorch's
 * block order), read by a prim::GetAttr (its value named like the attribute) inserted where the
 * prepack was. The prepack's inputs stay (constant propagation and dce remove them, as in
 * PyTorch's convert). A prepack the interpreter cannot run is left in the graph, as PyTorch
 * leaves a node that throws; fp16 prepacks are never folded. */
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "base/vec.h"
#include "passes/constant_impl.h"
#include "passes/passes.h"

static int foldable(const qg_node_t *n) {
  static const char *const ops[] = {"quantized::linear_prepack",           "quantized::conv1d_prepack",
                                    "quantized::conv2d_prepack",           "quantized::conv3d_prepack",
                                    "quantized::conv_transpose1d_prepack", "quantized::conv_transpose2d_prepack"};
  const char *k = qg_sym_str(n->kind);
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(k, ops[i]) == 0) return n->noutputs == 1;
  return 0;
}

static int inputs_constant(const qg_node_t *n) {
  for (uint32_t i = 0; i < n->ninputs; i++)
    if (n->inputs[i]->node->kind != QG_SYM_prim_Constant) return 0;
  return 1;
}

typedef QG_VEC(qg_node_t *) node_vec;

typedef struct folder {
  qg_module *m;
  qg_type_t *cls;
  qg_graph_t *g;
  const char *method;
  size_t uid;
  node_vec done;
} folder;

/* Registers v (owned; released on failure) as the next packed-weight attribute and reads it
 * before n. */
static qg_status register_packed(folder *f, qg_node_t *n, qg_ival v) {
  qg_strbuf name = QG_STRBUF_INIT;
  qg_strbuf_printf(&name, "quantized_%s._jit_pass_packed_weight_%zu", f->method, f->uid++);
  qg_status st = qg_strbuf_ok(&name);
  const char *attr = qg_strbuf_cstr(&name);
  if (st == QG_OK && qg_class_find_slot(f->cls, attr) >= 0)
    st = qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                      "fold_prepack: attribute %s already exists in module of type %s; run it on the top-level "
                      "module only, once",
                      attr, f->cls->qualname);
  if (st == QG_OK) st = qg_class_add_slot(f->cls, attr, n->outputs[0]->type, QG_SLOT_ATTRIBUTE);
  if (st == QG_OK) {
    st = qg_ival_object_put(&f->m->root, attr, v);
    v = qg_ival_none(); /* moved in, also on failure */
  }
  qg_node_t *get = NULL;
  if (st == QG_OK) {
    qg_value_t *self = qg_graph_input(f->g, 0);
    qg_node_t *saved = qg_graph_set_insert_point(f->g, n);
    st = qg_graph_insert_new(f->g, QG_SYM_prim_GetAttr, 1, &self, 1, &get);
    qg_graph_set_insert_point(f->g, saved);
  }
  qg_sym_t sym_name = 0;
  if (st == QG_OK) st = qg_sym_intern("name", &sym_name);
  if (st == QG_OK) st = qg_node_set_s(get, sym_name, attr);
  if (st == QG_OK) {
    qg_value_set_type(get->outputs[0], n->outputs[0]->type);
    st = qg_value_set_name(get->outputs[0], attr);
  }
  if (st == QG_OK) st = qg_value_replace_all_uses_with(n->outputs[0], get->outputs[0]);
  if (st == QG_OK && QG_VEC_PUSH(&f->done, n) != 0) st = qg_oom("fold_prepack");
  qg_ival_release(&v);
  qg_strbuf_free(&name);
  return st;
}

static qg_status fold_node(folder *f, qg_node_t *n) {
  if (!foldable(n) || !inputs_constant(n)) return QG_OK;
  qg_ival out = qg_ival_none();
  qg_status st = qg__constant_eval_node(n, &out);
  if (st == QG_STATUS_OOM) return st;
  if (st != QG_OK || out.kind != QG_IVAL_OBJECT) { /* it cannot run here: left alone */
    qg_ival_release(&out);
    return QG_OK;
  }
  return register_packed(f, n, out);
}

static qg_status fold_graph(folder *f) {
  QG_VEC(qg_block_t *) stack = {0};
  qg_status st = QG_VEC_PUSH(&stack, qg_graph_block(f->g)) != 0 ? qg_oom("fold_prepack") : QG_OK;
  while (st == QG_OK && stack.len > 0) {
    qg_block_t *b = stack.data[--stack.len];
    for (qg_node_t *n = qg_block_first(b); st == QG_OK && n != b->ret; n = n->next) {
      st = fold_node(f, n);
      for (uint32_t i = 0; st == QG_OK && i < n->nblocks; i++)
        if (QG_VEC_PUSH(&stack, n->blocks[i]) != 0) st = qg_oom("fold_prepack");
    }
  }
  QG_VEC_FREE(&stack);
  for (size_t i = 0; i < f->done.len; i++) qg_node_remove_all_inputs(f->done.data[i]);
  for (size_t i = 0; i < f->done.len; i++) qg_node_destroy(f->done.data[i]);
  f->done.len = 0;
  return st;
}

qg_status qg_fold_quantized_prepacking_ops(qg_module *m, qg_pass_report *report) {
  if (m->root.kind != QG_IVAL_OBJECT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "fold_prepack: the root is not an object");
  folder f = {m, (qg_type_t *)m->root.u.obj->type, NULL, NULL, 0, {0}};
  qg_status st = QG_OK;
  /* methods by index: registering attributes does not add methods */
  for (size_t i = 0; st == QG_OK && i < f.cls->nmethods; i++) {
    qg_method *mt = &f.cls->methods[i];
    if (mt->is_native || !mt->graph || qg_graph_ninputs(mt->graph) == 0) continue;
    f.g = mt->graph;
    f.method = mt->name;
    f.uid = 0;
    st = fold_graph(&f);
    if (report) report->changed += f.uid;
    if (st != QG_OK && st != QG_STATUS_OOM) st = qg_error_prefix(st, "%s.%s", f.cls->qualname, mt->name);
  }
  QG_VEC_FREE(&f.done);
  return st;
}
