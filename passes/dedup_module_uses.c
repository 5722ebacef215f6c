/* DedupModuleUses (reference §6.6; passes.h), PyTorch's dedup_module_uses.cpp: in every method
 * of the root, each prim::CallMethod whose receiver is reached from self through prim::GetAttr
 * names a submodule instance; the second and later calls of the same instance (in PyTorch's
 * walk order: a block, then its sub-blocks from a stack) get a deep copy of it registered on
 * the leaf's parent as `<name>_<k>` (the smallest k not taken) and their last GetAttr renamed
 * to it. So `self.relu(x)` twice leaves modules `relu` and `relu_0`. The copy shares the
 * class (a new slot is added to the parent's class; other instances of that class get None). */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "passes/passes.h"

#define MAX_DEPTH 64

typedef struct use_site {
  qg_value_t *receiver;
  qg_ival *parent; /* the module holding the used instance */
} use_site;

typedef struct deduper {
  qg_module *m;
  QG_VEC(const qg_ival_object *) seen;
  QG_VEC(use_site) rewrite;
} deduper;

/* The instance `v` designates (reached from self through GetAttrs), its parent object and
 * slot name; 0 when v is self itself. Errors as PyTorch's getModuleAccessPath. */
static qg_status resolve(deduper *d, const qg_graph_t *g, const qg_value_t *v, qg_ival **parent, qg_ival **inst,
                         int *found) {
  const qg_value_t *self = qg_graph_input(g, 0);
  const char *rev[MAX_DEPTH];
  size_t n = 0;
  *found = 0;
  for (const qg_value_t *it = v; it != self;) {
    if (it->node->kind != QG_SYM_prim_GetAttr || n == MAX_DEPTH)
      return qg_set_error(QG_STATUS_UNSUPPORTED,
                          "dedup_module_uses: can't handle the access pattern of GetAttr: traced back to a value "
                          "that is not self");
    rev[n++] = qg_node_s(it->node, "name");
    it = it->node->inputs[0];
  }
  if (n == 0) return QG_OK;
  qg_ival *cur = &d->m->root, *prev = NULL;
  while (n > 0) {
    const char *name = rev[--n];
    qg_ival *next = name ? (qg_ival *)qg_ival_object_get(cur, name) : NULL;
    if (!next || next->kind != QG_IVAL_OBJECT)
      return qg_set_error(QG_STATUS_NOT_FOUND, "dedup_module_uses: no submodule '%s'", name ? name : "?");
    prev = cur;
    cur = next;
  }
  *parent = prev;
  *inst = cur;
  *found = 1;
  return QG_OK;
}

static qg_status find_uses(deduper *d, const qg_graph_t *g) {
  QG_VEC(qg_block_t *) stack = {0};
  qg_status st = QG_VEC_PUSH(&stack, qg_graph_block(g)) != 0 ? qg_oom("dedup_module_uses") : QG_OK;
  while (st == QG_OK && stack.len > 0) {
    qg_block_t *b = stack.data[--stack.len];
    for (qg_node_t *n = qg_block_first(b); st == QG_OK && n != b->ret; n = n->next) {
      for (uint32_t i = 0; st == QG_OK && i < n->nblocks; i++)
        if (QG_VEC_PUSH(&stack, n->blocks[i]) != 0) st = qg_oom("dedup_module_uses");
      if (st != QG_OK || n->kind != QG_SYM_prim_CallMethod || n->ninputs == 0) continue;
      qg_ival *parent = NULL, *inst = NULL;
      int found = 0;
      st = resolve(d, g, n->inputs[0], &parent, &inst, &found);
      if (st != QG_OK || !found) continue;
      int dup = 0;
      for (size_t i = 0; i < d->seen.len && !dup; i++) dup = d->seen.data[i] == inst->u.obj;
      if (!dup && QG_VEC_PUSH(&d->seen, inst->u.obj) != 0) st = qg_oom("dedup_module_uses");
      if (dup && QG_VEC_PUSH(&d->rewrite, ((use_site){n->inputs[0], parent})) != 0) st = qg_oom("dedup_module_uses");
    }
  }
  QG_VEC_FREE(&stack);
  return st;
}

/* Registers a deep copy of the instance read by `site` on its parent and renames the GetAttr. */
static qg_status dedup_one(use_site *site) {
  qg_node_t *get = site->receiver->node;
  const char *orig = qg_node_s(get, "name");
  qg_ival *parent = site->parent;
  qg_type_t *cls = (qg_type_t *)parent->u.obj->type;
  const qg_ival *inst = qg_ival_object_get(parent, orig);
  char name[256];
  for (unsigned k = 0;; k++) {
    if (snprintf(name, sizeof name, "%s_%u", orig, k) >= (int)sizeof name)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "dedup_module_uses: module name too long");
    if (qg_class_find_slot(cls, name) < 0 && !qg_class_find_method(cls, name)) break;
  }
  long slot = qg_class_find_slot(cls, orig);
  qg_ival copy;
  QG_TRY(qg_ival_deepcopy(inst, &copy));
  qg_status st = qg_class_add_slot(cls, name, cls->slots[slot].type, QG_SLOT_MODULE);
  if (st != QG_OK) {
    qg_ival_release(&copy);
    return st;
  }
  QG_TRY(qg_ival_object_put(parent, name, copy));
  qg_sym_t sym_name;
  QG_TRY(qg_sym_intern("name", &sym_name));
  return qg_node_set_s(get, sym_name, name);
}

qg_status qg_dedup_module_uses(qg_module *m, qg_pass_report *report) {
  if (m->root.kind != QG_IVAL_OBJECT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "dedup_module_uses: the root is not an object");
  deduper d = {m, {0}, {0}};
  const qg_type_t *cls = m->root.u.obj->type;
  qg_status st = QG_OK;
  for (size_t i = 0; st == QG_OK && i < cls->nmethods; i++)
    if (cls->methods[i].graph && qg_graph_ninputs(cls->methods[i].graph) > 0) {
      st = find_uses(&d, cls->methods[i].graph);
      if (st != QG_OK && st != QG_STATUS_OOM) st = qg_error_prefix(st, "%s.%s", cls->qualname, cls->methods[i].name);
    }
  for (size_t i = 0; st == QG_OK && i < d.rewrite.len; i++) {
    st = dedup_one(&d.rewrite.data[i]);
    if (st == QG_OK && report) report->changed++;
  }
  QG_VEC_FREE(&d.seen);
  QG_VEC_FREE(&d.rewrite);
  return st;
}
