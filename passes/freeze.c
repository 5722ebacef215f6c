/* freeze_module (reference §4.5; passes.h), as PyTorch's freeze_module.cpp (AttributePropagator):
 *
 *   1. every preserved method (forward, plus the root methods named in `preserved`) is inlined
 *      and its profiling information (traced shapes) cleared;
 *   2. attributes that may change are recorded: targets of prim::SetAttr, tensors and lists
 *      written in place through a prim::GetAttr (node_effects.h), the attributes the caller
 *      preserves;
 *   3. every other prim::GetAttr reached from self through a chain of module GetAttrs becomes a
 *      prim::Constant inserted at the start of the graph (one per attribute, named
 *      `self.<module path>.<attribute>` as in PyTorch): tensors, scalars, strings, None and
 *      lists of scalars. In training mode parameters, buffers and `training` are kept;
 *   4. the graph is optimised as PyTorch's runOptimization: dce, cse, constant propagation
 *      (never aten::dequantize, never packed-params objects), constant pooling, cse; then
 *      aten::detach is dropped (EliminateNoOps);
 *   5. the module is cleaned: attributes no graph still reads and that nobody preserves are
 *      removed from the classes and objects of the root and of every submodule still read
 *      (shared class types included), submodules no graph reads go, and methods other than the
 *      preserved ones are removed from those classes (methods still called by prim::CallMethod
 *      and native methods stay); leftover aten::wait on a non-future is dropped.
 *
 * Differences from PyTorch: the module is frozen in place (PyTorch freezes a clone, which also
 * renames every class); objects that are not modules (packed params) stay attributes read by
 * prim::GetAttr, since graph text has no constant syntax for them; PeepholeOptimize,
 * LowerSimpleTuples, loop unrolling and Autocast are not run; fork bodies are not frozen;
 * interface calls are not inlined (their modules are kept whole); a preserved name must be an
 * attribute (any module path) or a method of the root. */
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "base/vec.h"
#include "passes/constant_impl.h"
#include "passes/node_effects.h"
#include "passes/passes.h"

#define MAX_PATH 64

typedef struct scalar_key {
  const qg_ival_object *owner;
  const char *name; /* the class slot's name (slot_name) */
} scalar_key;

typedef struct folded {
  const qg_ival_object *owner;
  const char *name;
  qg_value_t *constant;
} folded;

typedef struct call_target {
  const qg_type_t *type;
  const char *name;
} call_target;

typedef struct kept_type {
  qg_type_t *type;
  unsigned char *keep; /* one flag per slot */
  size_t nslots;
  int keep_all;        /* the module escapes (is returned): keep every slot and method */
} kept_type;

typedef struct freezer {
  qg_module *m;
  qg_type_t *root_type;
  int is_eval;
  QG_VEC(qg_graph_t *) graphs;           /* preserved methods */
  QG_VEC(const char *) methods;          /* their names */
  QG_VEC(const void *) preserved_heap;   /* preserved mutable values (tensors, lists, modules) */
  QG_VEC(const qg_storage *) preserved_storage;
  QG_VEC(scalar_key) preserved_scalar;   /* preserved immutable values, by owner and name */
  QG_VEC(const qg_ival_object *) preserved_modules; /* preserved submodules: kept whole */
  QG_VEC(scalar_key) user_preserved;     /* parents of preserved names: parent, child slot */
  QG_VEC(folded) folded;
  QG_VEC(kept_type) kept;
  QG_VEC(call_target) calls;             /* prim::CallMethod left in preserved graphs */
  qg_node_t *first;           /* where folded constants go */
  const char *path[MAX_PATH]; /* the module path of the last chain resolved */
  size_t npath;
} freezer;

/* ---- values ----------------------------------------------------------------------------- */

/* AliasDb::isMutableType of the value's type. */
static int is_mutable(const qg_ival *v) {
  switch (v->kind) {
  case QG_IVAL_TENSOR:
  case QG_IVAL_LIST:
  case QG_IVAL_TUPLE:
  case QG_IVAL_DICT:
  case QG_IVAL_OBJECT:
  case QG_IVAL_FUTURE: return 1;
  default: return 0;
  }
}

static const void *heap_of(const qg_ival *v) {
  switch (v->kind) {
  case QG_IVAL_TENSOR: return v->u.tensor;
  case QG_IVAL_LIST:
  case QG_IVAL_TUPLE:
  case QG_IVAL_FUTURE: return v->u.list;
  case QG_IVAL_DICT: return v->u.dict;
  case QG_IVAL_OBJECT: return v->u.obj;
  default: return NULL;
  }
}

static int is_module_object(const qg_ival *v) { return v->kind == QG_IVAL_OBJECT && v->u.obj->type->is_module; }

static int heap_preserved(const freezer *fz, const qg_ival *v) {
  const void *h = heap_of(v);
  for (size_t i = 0; i < fz->preserved_heap.len; i++)
    if (fz->preserved_heap.data[i] == h) return 1;
  return 0;
}

/* A preserved tensor shares storage with v (PyTorch's IValue::overlaps). */
static int overlaps_preserved(const freezer *fz, const qg_ival *v) {
  if (v->kind != QG_IVAL_TENSOR || !v->u.tensor->storage) return 0;
  for (size_t i = 0; i < fz->preserved_storage.len; i++)
    if (fz->preserved_storage.data[i] == v->u.tensor->storage) return 1;
  return 0;
}

static int scalar_in(const scalar_key *keys, size_t n, const qg_ival_object *owner, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (keys[i].owner == owner && strcmp(keys[i].name, name) == 0) return 1;
  return 0;
}

/* The class's own copy of slot name `name` of owner: names kept in the freezer must outlive the
 * nodes they were read from (GetAttrs are destroyed while folding). */
static const char *slot_name(const qg_ival_object *owner, const char *name) {
  long i = qg_class_find_slot(owner->type, name);
  return i >= 0 ? owner->type->slots[i].name : name;
}

/* PyTorch's insertMutableAttr: mutable values by identity, others by owner and name. */
static qg_status preserve(freezer *fz, const char *name, const qg_ival *v, const qg_ival_object *owner) {
  name = slot_name(owner, name);
  if (is_mutable(v)) {
    if (heap_preserved(fz, v)) return QG_OK;
    if (QG_VEC_PUSH(&fz->preserved_heap, heap_of(v)) != 0) return qg_oom("freeze");
    if (v->kind == QG_IVAL_TENSOR && v->u.tensor->storage &&
        QG_VEC_PUSH(&fz->preserved_storage, v->u.tensor->storage) != 0)
      return qg_oom("freeze");
    return QG_OK;
  }
  if (scalar_in(fz->preserved_scalar.data, fz->preserved_scalar.len, owner, name)) return QG_OK;
  return QG_VEC_PUSH(&fz->preserved_scalar, ((scalar_key){owner, name})) != 0 ? qg_oom("freeze") : QG_OK;
}

/* ---- resolving GetAttr chains ------------------------------------------------------------ */

/* The module object `v` designates when it is reached from the graph's self through
 * prim::GetAttr nodes only (PyTorch stops at the first value of self's type); fz->path gets
 * the slot names. NULL otherwise, or when a module on the way is preserved. */
static qg_ival *chain_module(freezer *fz, const qg_graph_t *g, const qg_value_t *v) {
  const qg_type_t *self_type = qg_graph_input(g, 0)->type;
  const char *rev[MAX_PATH];
  size_t n = 0;
  while (v->type != self_type) {
    if (v->node->kind != QG_SYM_prim_GetAttr || n == MAX_PATH || !qg_node_s(v->node, "name")) return NULL;
    rev[n++] = qg_node_s(v->node, "name");
    v = v->node->inputs[0];
  }
  qg_ival *obj = &fz->m->root;
  fz->npath = 0;
  while (n > 0) {
    const char *name = rev[--n];
    qg_ival *next = (qg_ival *)qg_ival_object_get(obj, name);
    if (!next || !is_module_object(next) || heap_preserved(fz, next)) return NULL;
    fz->path[fz->npath++] = name;
    obj = next;
  }
  return obj;
}

/* PyTorch's findConstantAttr: the attribute `name` read from module value `input` may be
 * folded. *owner / *attr receive the module object and the attribute value. */
static int constant_attr(freezer *fz, const qg_graph_t *g, const qg_value_t *input, const char *name,
                         qg_ival **owner, const qg_ival **attr) {
  const qg_type_t *t = input->type;
  if (!name || !(t->kind == QG_TYPE_INTERFACE || (t->kind == QG_TYPE_CLASS && t->is_module))) return 0;
  qg_ival *obj = chain_module(fz, g, input);
  if (!obj) return 0;
  const qg_ival *v = qg_ival_object_get(obj, name);
  if (!v) return 0;
  *owner = obj;
  *attr = v;
  if (!is_mutable(v))
    return !scalar_in(fz->preserved_scalar.data, fz->preserved_scalar.len, obj->u.obj, name);
  if (heap_preserved(fz, v)) return 0;
  return v->kind == QG_IVAL_OBJECT || !overlaps_preserved(fz, v);
}

/* ---- the steps --------------------------------------------------------------------------- */

typedef QG_VEC(qg_block_t *) block_stack;

/* Visits the nodes of g in PyTorch's order (a block's nodes, then its sub-blocks from a stack).
 * fn may destroy the node it is given. */
static qg_status walk(freezer *fz, qg_graph_t *g, qg_status (*fn)(freezer *, qg_graph_t *, qg_node_t *)) {
  block_stack stack = {0};
  qg_status st = QG_VEC_PUSH(&stack, qg_graph_block(g)) != 0 ? qg_oom("freeze") : QG_OK;
  while (st == QG_OK && stack.len > 0) {
    qg_block_t *b = stack.data[--stack.len];
    for (qg_node_t *n = qg_block_first(b), *next; st == QG_OK && n != b->ret; n = next) {
      next = n->next;
      for (uint32_t i = 0; st == QG_OK && i < n->nblocks; i++)
        if (QG_VEC_PUSH(&stack, n->blocks[i]) != 0) st = qg_oom("freeze");
      if (st == QG_OK) st = fn(fz, g, n);
    }
  }
  QG_VEC_FREE(&stack);
  return st;
}

/* recordMutableAttrs: SetAttr targets and attributes written in place through a GetAttr. */
static qg_status record_mutable(freezer *fz, qg_graph_t *g, qg_node_t *n) {
  if (n->kind != QG_SYM_prim_GetAttr && n->kind != QG_SYM_prim_SetAttr) return QG_OK;
  const char *name = qg_node_s(n, "name");
  qg_ival *owner;
  const qg_ival *attr;
  if (!constant_attr(fz, g, n->inputs[0], name, &owner, &attr)) return QG_OK;
  if (n->kind == QG_SYM_prim_GetAttr && (attr->kind == QG_IVAL_OBJECT || !is_mutable(attr))) return QG_OK;
  if (n->kind == QG_SYM_prim_SetAttr || qg__value_is_written(n->outputs[0]))
    return preserve(fz, name, attr, owner->u.obj);
  return QG_OK;
}

static qg_value_t *find_folded(const freezer *fz, const qg_ival_object *owner, const char *name) {
  for (size_t i = 0; i < fz->folded.len; i++)
    if (fz->folded.data[i].owner == owner && strcmp(fz->folded.data[i].name, name) == 0)
      return fz->folded.data[i].constant;
  return NULL;
}

static qg_status constant_name(const freezer *fz, qg_value_t *c, const char *name) {
  qg_strbuf sb = QG_STRBUF_INIT;
  qg_strbuf_append(&sb, "self.");
  for (size_t i = 0; i < fz->npath; i++) qg_strbuf_printf(&sb, "%s.", fz->path[i]);
  qg_strbuf_append(&sb, name);
  qg_status st = qg_strbuf_ok(&sb);
  if (st == QG_OK) st = qg_value_set_name(c, qg_strbuf_cstr(&sb));
  qg_strbuf_free(&sb);
  return st;
}

static int slot_is_parameter_or_buffer(const qg_ival *owner, const char *name) {
  long i = qg_class_find_slot(owner->u.obj->type, name);
  if (i < 0) return 0;
  qg_slot_kind k = owner->u.obj->type->slots[i].kind;
  return k == QG_SLOT_PARAMETER || k == QG_SLOT_BUFFER;
}

/* propagateAttributes for one node: a foldable GetAttr becomes the attribute's constant,
 * inserted before fz->first (the graph's first node when propagation started, as PyTorch's
 * insertion point). */
static qg_status fold_getattr(freezer *fz, qg_graph_t *g, qg_node_t *n) {
  if (n->kind != QG_SYM_prim_GetAttr) return QG_OK;
  const char *name = qg_node_s(n, "name");
  qg_ival *owner;
  const qg_ival *attr;
  if (!constant_attr(fz, g, n->inputs[0], name, &owner, &attr)) return QG_OK;
  qg_value_t *c = find_folded(fz, owner->u.obj, name);
  if (!c) {
    if (!fz->is_eval && (slot_is_parameter_or_buffer(owner, name) || attr->kind == QG_IVAL_OBJECT ||
                         strcmp(name, "training") == 0))
      return QG_OK;
    if (attr->kind == QG_IVAL_OBJECT) return QG_OK; /* modules and objects: not materializable here */
    QG_TRY(qg__constant_insert(g, fz->first, attr, n->outputs[0]->type, &c));
    if (!c) return QG_OK; /* a value graph text cannot hold: the GetAttr stays */
    QG_TRY(constant_name(fz, c, name));
    if (QG_VEC_PUSH(&fz->folded, ((folded){owner->u.obj, slot_name(owner->u.obj, name), c})) != 0)
      return qg_oom("freeze");
  }
  QG_TRY(qg_value_replace_all_uses_with(n->outputs[0], c));
  if (n == fz->first) fz->first = n->next;
  qg_node_destroy(n);
  return QG_OK;
}

/* EliminateNoOps: aten::detach(x) is x, unless the graph compares tensors by identity
 * (aten::__is__ / __isnot__ on tensors), where that would change the answer. */
static int compares_tensor_identity(qg_node_t *n, void *ud) {
  (void)ud;
  const char *k = qg_sym_str(n->kind);
  if (strcmp(k, "aten::__is__") == 0 || strcmp(k, "aten::__isnot__") == 0) {
    for (uint32_t i = 0; i < n->ninputs; i++)
      if (!qg_type_is_tensor(n->inputs[i]->type)) return 0;
    return 1;
  }
  return 0;
}

static qg_status detach_block(qg_block_t *b, size_t *changed) {
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(detach_block(n->blocks[i], changed));
    if (strcmp(qg_sym_str(n->kind), "aten::detach") == 0 && n->ninputs == 1 && n->noutputs == 1 &&
        n->outputs[0]->nuses) {
      QG_TRY(qg_value_replace_all_uses_with(n->outputs[0], n->inputs[0]));
      (*changed)++;
    }
  }
  return QG_OK;
}

static qg_status eliminate_no_ops(qg_graph_t *g, qg_pass_report *report) {
  if (qg_graph_walk(g, compares_tensor_identity, NULL)) return QG_OK;
  size_t changed = 0;
  QG_TRY(detach_block(qg_graph_block(g), &changed));
  return changed ? qg_dce_graph(g, report) : QG_OK;
}

/* runOptimization as freezing calls it (no loop unrolling, custom-class objects not folded). */
static qg_status optimize(qg_graph_t *g) {
  QG_TRY(qg_dce_graph(g, NULL));
  QG_TRY(qg_cse_graph(g, NULL));
  QG_TRY(qg_constant_propagation_graph(g, NULL));
  QG_TRY(qg_constant_pooling_graph(g, NULL));
  QG_TRY(qg_cse_graph(g, NULL));
  return eliminate_no_ops(g, NULL);
}

/* ---- cleanup ----------------------------------------------------------------------------- */

/* recordReferencedAttrs: what the graph still reads, on any module of the GetAttr's type. */
typedef QG_VEC(qg_ival *) obj_vec;

static qg_status record_referenced(freezer *fz, qg_graph_t *g, qg_node_t *n, obj_vec *modules) {
  (void)g;
  if (n->kind != QG_SYM_prim_GetAttr) return QG_OK;
  const char *name = qg_node_s(n, "name");
  size_t count = modules->len; /* modules found here are for later nodes */
  for (size_t i = 0; name && i < count; i++) {
    qg_ival *mod = modules->data[i];
    if (mod->u.obj->type != n->inputs[0]->type) continue;
    qg_ival *attr = (qg_ival *)qg_ival_object_get(mod, name);
    if (!attr) continue;
    QG_TRY(preserve(fz, name, attr, mod->u.obj));
    if (is_module_object(attr) && QG_VEC_PUSH(modules, attr) != 0) return qg_oom("freeze");
  }
  return QG_OK;
}

static qg_status record_referenced_graph(freezer *fz, qg_graph_t *g) {
  obj_vec modules = {0};
  block_stack stack = {0};
  qg_status st = QG_VEC_PUSH(&modules, &fz->m->root) != 0 || QG_VEC_PUSH(&stack, qg_graph_block(g)) != 0
                     ? qg_oom("freeze")
                     : QG_OK;
  while (st == QG_OK && stack.len > 0) {
    qg_block_t *b = stack.data[--stack.len];
    for (qg_node_t *n = qg_block_first(b); st == QG_OK && n != b->ret; n = n->next) {
      for (uint32_t i = 0; st == QG_OK && i < n->nblocks; i++)
        if (QG_VEC_PUSH(&stack, n->blocks[i]) != 0) st = qg_oom("freeze");
      if (st == QG_OK) st = record_referenced(fz, g, n, &modules);
    }
  }
  QG_VEC_FREE(&modules);
  QG_VEC_FREE(&stack);
  return st;
}

static kept_type *kept_for(freezer *fz, qg_type_t *t) {
  for (size_t i = 0; i < fz->kept.len; i++)
    if (fz->kept.data[i].type == t) return &fz->kept.data[i];
  kept_type k = {t, qg__calloc(t->nslots ? t->nslots : 1, 1), t->nslots, 0};
  if (!k.keep || QG_VEC_PUSH(&fz->kept, k) != 0) {
    qg__free(k.keep);
    return NULL;
  }
  return &fz->kept.data[fz->kept.len - 1];
}

static int escapes(const freezer *fz, const qg_ival *mod, const qg_graph_t *g) {
  for (size_t i = 0; i < qg_graph_noutputs(g); i++)
    if (qg_graph_output(g, i)->type == mod->u.obj->type) return 1;
  for (size_t i = 0; i < fz->preserved_modules.len; i++)
    if (fz->preserved_modules.data[i] == mod->u.obj) return 1;
  return 0;
}

/* handleSharedClassType: the slots of each class to keep. */
static qg_status mark_kept(freezer *fz, qg_ival *mod, const qg_graph_t *g, int depth) {
  if (depth > 200) return qg_set_error(QG_STATUS_UNSUPPORTED, "freeze: modules nested more than 200 deep");
  qg_type_t *t = (qg_type_t *)mod->u.obj->type;
  kept_type *k = kept_for(fz, t);
  if (!k) return qg_oom("freeze");
  if (escapes(fz, mod, g)) {
    k->keep_all = 1;
    return QG_OK;
  }
  for (size_t i = 0; i < t->nslots && i < mod->u.obj->nslots; i++) {
    qg_ival *attr = &mod->u.obj->slots[i];
    int keep = is_mutable(attr) ? heap_preserved(fz, attr)
                                : scalar_in(fz->preserved_scalar.data, fz->preserved_scalar.len, mod->u.obj,
                                            t->slots[i].name);
    if (!keep) continue;
    k->keep[i] = 1;
    if (is_module_object(attr)) {
      size_t at = (size_t)(k - fz->kept.data); /* fz->kept may move while recursing */
      QG_TRY(mark_kept(fz, attr, g, depth + 1));
      k = &fz->kept.data[at];
    }
  }
  return QG_OK;
}

static int method_preserved(const freezer *fz, const qg_type_t *t, const char *name) {
  if (t != fz->root_type) return 0;
  for (size_t i = 0; i < fz->methods.len; i++)
    if (strcmp(fz->methods.data[i], name) == 0) return 1;
  return 0;
}

/* A prim::CallMethod in a preserved graph still calls t.name (native methods, interface
 * calls, which the inliner leaves): recorded before the cleanup. A NULL type (an interface
 * receiver) matches every class. */
static int method_called(const freezer *fz, const qg_type_t *t, const char *name) {
  for (size_t i = 0; i < fz->calls.len; i++)
    if ((fz->calls.data[i].type == NULL || fz->calls.data[i].type == t) && strcmp(fz->calls.data[i].name, name) == 0)
      return 1;
  return 0;
}

static int record_call(qg_node_t *n, void *ud) {
  freezer *fz = ud;
  if (n->kind != QG_SYM_prim_CallMethod || n->ninputs == 0) return 0;
  const char *name = qg_node_s(n, "name");
  const qg_type_t *t = n->inputs[0]->type;
  if (!name) return 0;
  call_target c = {t->kind == QG_TYPE_CLASS ? t : NULL, name};
  return QG_VEC_PUSH(&fz->calls, c) != 0;
}

static void remove_method(qg_type_t *t, size_t i) {
  qg_graph_destroy(t->methods[i].graph);
  qg__free(t->methods[i].name);
  qg__free(t->methods[i].signature);
  memmove(&t->methods[i], &t->methods[i + 1], (t->nmethods - i - 1) * sizeof *t->methods);
  t->nmethods--;
}

/* removeUnusedAttrs */
static qg_status remove_unused(freezer *fz, qg_pass_report *report) {
  for (size_t ki = 0; ki < fz->kept.len; ki++) {
    kept_type *k = &fz->kept.data[ki];
    if (k->keep_all) continue;
    qg_type_t *t = k->type;
    for (size_t i = k->nslots; i-- > 0;) {
      if (k->keep[i] || i >= t->nslots) continue;
      QG_TRY(qg_module_remove_slot(fz->m, t, t->slots[i].name));
      if (report) report->changed++;
    }
    for (size_t i = t->nmethods; i-- > 0;) {
      const qg_method *mt = &t->methods[i];
      if (mt->is_native || method_preserved(fz, t, mt->name) || method_called(fz, t, mt->name)) continue;
      remove_method(t, i);
    }
  }
  return QG_OK;
}

/* removeExtraWaitCalls: aten::wait on a value that is not a future (the fork was inlined). */
static qg_status remove_extra_waits(qg_block_t *b) {
  for (qg_node_t *n = qg_block_first(b), *next; n != b->ret; n = next) {
    next = n->next;
    for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(remove_extra_waits(n->blocks[i]));
    if (n->kind == QG_SYM_aten_wait && n->ninputs == 1 && n->noutputs == 1 &&
        n->inputs[0]->type->kind != QG_TYPE_FUTURE) {
      QG_TRY(qg_value_replace_all_uses_with(n->outputs[0], n->inputs[0]));
      qg_node_destroy(n);
    }
  }
  return QG_OK;
}

/* ---- preserved names and the driver ------------------------------------------------------ */

/* PyTorch's resolveName + checkName: "sub.attr" preserves an attribute (a submodule is then
 * kept whole), "method" a method of the root. */
static qg_status resolve_preserved(freezer *fz, const char *name) {
  char buf[512];
  if (strlen(name) >= sizeof buf) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "freeze: preserved name too long");
  strcpy(buf, name);
  qg_ival *cur = &fz->m->root;
  char *part = buf, *dot;
  size_t start = fz->user_preserved.len;
  while ((dot = strchr(part, '.')) != NULL) {
    *dot = '\0';
    long i = qg_class_find_slot(cur->u.obj->type, part);
    if (i < 0 || cur->u.obj->type->slots[i].kind != QG_SLOT_MODULE || (size_t)i >= cur->u.obj->nslots ||
        !is_module_object(&cur->u.obj->slots[i])) {
      fz->user_preserved.len = start;
      return qg_set_error(QG_STATUS_NOT_FOUND, "freeze: unknown name '%s'", name);
    }
    if (QG_VEC_PUSH(&fz->user_preserved, ((scalar_key){cur->u.obj, cur->u.obj->type->slots[i].name})) != 0)
      return qg_oom("freeze");
    cur = &cur->u.obj->slots[i];
    part = dot + 1;
  }
  long i = qg_class_find_slot(cur->u.obj->type, part);
  if (i >= 0 && (size_t)i < cur->u.obj->nslots) {
    qg_ival *v = &cur->u.obj->slots[i];
    if (is_module_object(v) && QG_VEC_PUSH(&fz->preserved_modules, v->u.obj) != 0) return qg_oom("freeze");
    return preserve(fz, cur->u.obj->type->slots[i].name, v, cur->u.obj);
  }
  const qg_method *mt = qg_class_find_method(cur->u.obj->type, part);
  if (!mt) {
    fz->user_preserved.len = start;
    return qg_set_error(QG_STATUS_NOT_FOUND, "freeze: unknown name '%s'", name);
  }
  if (cur != &fz->m->root || mt->is_native || !mt->graph)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "freeze: '%s': only graph methods of the root module can be preserved",
                        name);
  for (size_t k = 0; k < fz->methods.len; k++)
    if (strcmp(fz->methods.data[k], mt->name) == 0) return QG_OK;
  if (QG_VEC_PUSH(&fz->methods, mt->name) != 0 || QG_VEC_PUSH(&fz->graphs, mt->graph) != 0) return qg_oom("freeze");
  return QG_OK;
}

static qg_status setup(freezer *fz, const char *const *preserved, size_t npreserved) {
  qg_ival *root = &fz->m->root;
  if (root->kind != QG_IVAL_OBJECT) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "freeze: the root is not an object");
  fz->root_type = (qg_type_t *)root->u.obj->type;
  const qg_method *fwd = qg_class_find_method(fz->root_type, "forward");
  if (fwd && fwd->graph) {
    for (size_t i = 0; i < qg_graph_noutputs(fwd->graph); i++)
      if (qg_graph_output(fwd->graph, i)->type == fz->root_type)
        return qg_set_error(QG_STATUS_UNSUPPORTED, "freeze: attempted to freeze a module that returns itself");
    if (QG_VEC_PUSH(&fz->methods, fwd->name) != 0 || QG_VEC_PUSH(&fz->graphs, fwd->graph) != 0)
      return qg_oom("freeze");
  }
  for (size_t i = 0; i < npreserved; i++) QG_TRY(resolve_preserved(fz, preserved[i]));
  const qg_ival *training = qg_ival_object_get(root, "training");
  fz->is_eval = !training || training->kind != QG_IVAL_BOOL || !training->u.b;
  return QG_OK;
}

static qg_status run(freezer *fz, qg_pass_report *report) {
  for (size_t i = 0; i < fz->graphs.len; i++) {
    QG_TRY(qg_inline_graph(fz->graphs.data[i], NULL));
    QG_TRY(qg_clear_profiling_graph(fz->graphs.data[i], NULL));
  }
  for (size_t i = 0; i < fz->graphs.len; i++) QG_TRY(walk(fz, fz->graphs.data[i], record_mutable));
  for (size_t i = 0; i < fz->graphs.len; i++) {
    qg_graph_t *g = fz->graphs.data[i];
    fz->first = qg_block_first(qg_graph_block(g));
    fz->folded.len = 0; /* constants are per graph */
    QG_TRY(walk(fz, g, fold_getattr));
    if (report) report->changed += fz->folded.len;
    QG_TRY(optimize(g));
  }
  for (size_t i = 0; i < fz->graphs.len; i++) {
    QG_TRY(record_referenced_graph(fz, fz->graphs.data[i]));
    QG_TRY(remove_extra_waits(qg_graph_block(fz->graphs.data[i])));
    if (qg_graph_walk(fz->graphs.data[i], record_call, fz)) return qg_oom("freeze");
  }
  for (size_t i = 0; i < fz->user_preserved.len; i++) {
    const scalar_key *k = &fz->user_preserved.data[i];
    qg_ival parent = {QG_IVAL_OBJECT, {0}};
    parent.u.obj = (qg_ival_object *)k->owner;
    const qg_ival *v = qg_ival_object_get(&parent, k->name);
    if (v) QG_TRY(preserve(fz, k->name, v, k->owner));
  }
  for (size_t i = 0; i < fz->graphs.len; i++) QG_TRY(mark_kept(fz, &fz->m->root, fz->graphs.data[i], 0));
  return remove_unused(fz, report);
}

static void freezer_free(freezer *fz) {
  for (size_t i = 0; i < fz->kept.len; i++) qg__free(fz->kept.data[i].keep);
  QG_VEC_FREE(&fz->kept);
  QG_VEC_FREE(&fz->graphs);
  QG_VEC_FREE(&fz->methods);
  QG_VEC_FREE(&fz->preserved_heap);
  QG_VEC_FREE(&fz->preserved_storage);
  QG_VEC_FREE(&fz->preserved_scalar);
  QG_VEC_FREE(&fz->preserved_modules);
  QG_VEC_FREE(&fz->user_preserved);
  QG_VEC_FREE(&fz->folded);
  QG_VEC_FREE(&fz->calls);
}

qg_status qg_freeze(qg_module *m, const char *const *preserved, size_t npreserved, qg_pass_report *report) {
  freezer fz;
  memset(&fz, 0, sizeof fz);
  fz.m = m;
  qg_status st = setup(&fz, preserved, npreserved);
  if (st == QG_OK) st = run(&fz, report);
  freezer_free(&fz);
  return st;
}

qg_status qg_freeze_module(qg_module *m, qg_pass_report *report) { return qg_freeze(m, NULL, 0, report); }
