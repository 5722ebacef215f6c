/* qconfig per module object and class-type splitting (see prepare_impl.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/vec.h"
#include "passes/prepare_impl.h"

const qg_qconfig_entry qg__no_qconfig = {NULL, 1, {{0}, {0}}};

const qg_qconfig *qg__qconfig_of(const qg__ptrmap *map, const qg_ival *obj) {
  const qg_qconfig_entry *e = qg__ptrmap_get(map, obj->u.obj);
  return e && !e->is_none ? &e->qconfig : NULL;
}

static int is_module_slot(const qg_type_t *cls, size_t i, const qg_ival *v) {
  return cls->slots[i].kind == QG_SLOT_MODULE && v->kind == QG_IVAL_OBJECT;
}

static qg_status fill(const qg_ival *obj, const char *path, const qg_qconfig_entry *parent, const qg_qconfig_dict *d,
                      qg__ptrmap *out) {
  const qg_qconfig_entry *e = qg_qconfig_dict_get(d, path);
  if (!e) e = parent;
  if (qg__ptrmap_put(out, obj->u.obj, (void *)e) != 0) return qg_oom("qconfig map");
  const qg_type_t *cls = obj->u.obj->type;
  qg_strbuf child = QG_STRBUF_INIT;
  qg_status st = QG_OK;
  for (size_t i = 0; st == QG_OK && i < obj->u.obj->nslots; i++) {
    if (!is_module_slot(cls, i, &obj->u.obj->slots[i])) continue;
    qg_strbuf_reset(&child);
    qg_strbuf_printf(&child, "%s%s%s", path, path[0] ? "." : "", cls->slots[i].name);
    st = qg_strbuf_ok(&child);
    if (st == QG_OK) st = fill(&obj->u.obj->slots[i], qg_strbuf_cstr(&child), e, d, out);
  }
  qg_strbuf_free(&child);
  return st;
}

qg_status qg__fill_qconfig_map(const qg_module *m, const qg_qconfig_dict *d, qg__ptrmap *out) {
  return fill(&m->root, "", &qg__no_qconfig, d, out);
}

qg_status qg__resolve_module(const qg_ival *self_obj, const qg_value_t *instance, const qg_ival **out) {
  const char *path[64];
  size_t n = 0;
  const qg_value_t *it = instance;
  while (it->node->kind == QG_SYM_prim_GetAttr && n < 64) {
    path[n++] = qg_node_s(it->node, "name");
    it = it->node->inputs[0];
  }
  const qg_graph_t *g = it->node->graph;
  if (it->node->kind != QG_SYM_prim_Param || qg_graph_ninputs(g) == 0 || qg_graph_input(g, 0) != it) {
    qg_strbuf sb = QG_STRBUF_INIT;
    qg_value_print_name(it, &sb);
    qg_status st = qg_set_error(QG_STATUS_UNSUPPORTED,
                                "Can't handle the access pattern of GetAttr in getModuleAccessPath, traced back to: %s "
                                "which is not self",
                                qg_strbuf_ok(&sb) == QG_OK ? qg_strbuf_cstr(&sb) : "?");
    qg_strbuf_free(&sb);
    return st;
  }
  const qg_ival *cur = self_obj;
  for (size_t k = n; k-- > 0;) {
    const qg_ival *next = path[k] ? qg_ival_object_get(cur, path[k]) : NULL;
    if (!next || next->kind != QG_IVAL_OBJECT) {
      *out = NULL;
      return QG_OK;
    }
    cur = next;
  }
  *out = cur;
  return QG_OK;
}

/* ---- splitting ---------------------------------------------------------------------------- */

typedef struct group {
  const qg_type_t *orig;
  const qg_qconfig_entry *qconfig;
  const qg_type_t **children; /* class of each module slot value (NULL for non-objects) */
  size_t nchildren;
  qg_type_t *cls;            /* the class this group uses */
  const qg_ival *example;    /* its first object (for graph remapping) */
} group;

typedef struct splitter {
  qg_module *m;
  const qg__ptrmap *qmap;
  QG_VEC(group) groups;
} splitter;

static int same_group(const group *g, const qg_type_t *orig, const qg_qconfig_entry *q, const qg_type_t **children,
                      size_t n) {
  return g->orig == orig && g->qconfig == q && g->nchildren == n &&
         (n == 0 || memcmp(g->children, children, n * sizeof *children) == 0);
}

/* A copy of orig under a mangled name: slots and methods (graphs cloned, self retyped). */
static qg_status copy_class(qg_cu_t *cu, const qg_type_t *orig, qg_type_t **out) {
  char name[600];
  QG_TRY(qg_cu_mangle(cu, orig->qualname, name, sizeof name));
  qg_type_t *c = NULL;
  QG_TRY(qg_cu_define_class(cu, name, orig->is_module, &c));
  for (size_t i = 0; i < orig->nslots; i++)
    QG_TRY(qg_class_add_slot(c, orig->slots[i].name, orig->slots[i].type, orig->slots[i].kind));
  for (size_t i = 0; i < orig->nmethods; i++) {
    const qg_method *m = &orig->methods[i];
    if (m->is_native) {
      QG_TRY(qg_class_add_native_method(c, m->name, m->signature));
      continue;
    }
    qg_graph_t *g = NULL;
    QG_TRY(qg_graph_clone(m->graph, &g));
    if (qg_graph_ninputs(g) > 0) qg_value_set_type(qg_graph_input(g, 0), c);
    QG_TRY(qg_class_add_method(c, m->name, g));
    if (m->signature) {
      qg_method *nm = qg_class_find_method(c, m->name);
      if (!(nm->signature = qg__strdup(m->signature))) return qg_oom("method signature");
    }
  }
  *out = c;
  return QG_OK;
}

/* Post-order: children first, so a parent's group key holds its children's final classes. */
static qg_status assign(splitter *s, const qg_ival *obj) {
  qg_ival_object *o = obj->u.obj;
  const qg_type_t *orig = o->type;
  for (size_t i = 0; i < o->nslots; i++)
    if (is_module_slot(orig, i, &o->slots[i])) QG_TRY(assign(s, &o->slots[i]));
  const qg_type_t *kids[256];
  size_t n = o->nslots < 256 ? o->nslots : 256;
  for (size_t i = 0; i < n; i++) kids[i] = is_module_slot(orig, i, &o->slots[i]) ? o->slots[i].u.obj->type : NULL;
  const qg_qconfig_entry *q = qg__ptrmap_get(s->qmap, o);
  for (size_t k = 0; k < s->groups.len; k++) {
    group *g = &s->groups.data[k];
    if (same_group(g, orig, q, kids, n)) {
      o->type = g->cls;
      return QG_OK;
    }
  }
  int first = 1;
  for (size_t k = 0; k < s->groups.len && first; k++) first = s->groups.data[k].orig != orig;
  group g = {orig, q, NULL, n, NULL, obj};
  if (n && !(g.children = qg__malloc(n * sizeof *kids))) return qg_oom("class split");
  if (n) memcpy(g.children, kids, n * sizeof *kids);
  qg_status st = first ? QG_OK : copy_class(s->m->cu, orig, &g.cls);
  if (first) g.cls = (qg_type_t *)orig;
  if (st == QG_OK && QG_VEC_PUSH(&s->groups, g)) st = qg_oom("class split");
  if (st != QG_OK) {
    qg__free(g.children);
    return st;
  }
  o->type = g.cls;
  return QG_OK;
}

/* Retypes GetAttr/CallMethod receivers (and GetAttr results) in a graph of `obj`'s class. */
static qg_status remap_block(const qg_ival *self_obj, qg_block_t *b) {
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    if ((n->kind == QG_SYM_prim_GetAttr || n->kind == QG_SYM_prim_CallMethod) && n->ninputs > 0) {
      const qg_ival *target = NULL;
      QG_TRY(qg__resolve_module(self_obj, n->inputs[0], &target));
      if (target && n->inputs[0]->type->kind == QG_TYPE_CLASS) qg_value_set_type(n->inputs[0], target->u.obj->type);
    }
    for (uint32_t i = 0; i < n->nblocks; i++) QG_TRY(remap_block(self_obj, n->blocks[i]));
  }
  return QG_OK;
}

static qg_status check_object_args(const qg_type_t *cls, const qg_graph_t *g, const char *method) {
  for (size_t i = 1; i < qg_graph_ninputs(g); i++)
    if (qg_graph_input(g, i)->type->kind == QG_TYPE_CLASS)
      return qg_set_error(QG_STATUS_UNSUPPORTED,
                          "%s.%s: We don't support quantizing methods that has Object as arguments", cls->qualname,
                          method);
  return QG_OK;
}

static qg_status remap_group(group *g) {
  qg_type_t *c = g->cls;
  const qg_ival_object *o = g->example->u.obj;
  for (size_t i = 0; i < c->nslots && i < o->nslots; i++)
    if (is_module_slot(c, i, &o->slots[i]) && c->slots[i].type->kind == QG_TYPE_CLASS)
      c->slots[i].type = o->slots[i].u.obj->type;
  for (size_t i = 0; i < c->nmethods; i++) {
    if (!c->methods[i].graph) continue;
    QG_TRY(check_object_args(c, c->methods[i].graph, c->methods[i].name));
    QG_TRY(remap_block(g->example, qg_graph_block(c->methods[i].graph)));
  }
  return QG_OK;
}

qg_status qg__split_class_types(qg_module *m, const qg__ptrmap *qmap) {
  splitter s = {m, qmap, {0}};
  qg_status st = assign(&s, &m->root);
  for (size_t k = 0; st == QG_OK && k < s.groups.len; k++) st = remap_group(&s.groups.data[k]);
  for (size_t k = 0; k < s.groups.len; k++) qg__free(s.groups.data[k].children);
  QG_VEC_FREE(&s.groups);
  return st;
}
