/* Graphs: slab allocation of nodes, values and blocks, the string arena, creation and
 * destruction, graph/block inputs and outputs, and the insertion point. See ir_impl.h. */
#include <string.h>

#include "base/alloc.h"
#include "ir/ir_impl.h"

#define SLAB_SLOTS 64
#define STRING_CHUNK 4096

/* ---- slabs ----------------------------------------------------------------------------- */

static void *slab_alloc(qg__slab **head, size_t slot_size) {
  qg__slab *s = *head;
  if (!s || s->used == s->cap) {
    s = qg__malloc(sizeof(qg__slab) + SLAB_SLOTS * slot_size);
    if (!s) return NULL;
    s->next = *head;
    s->used = 0;
    s->cap = SLAB_SLOTS;
    *head = s;
  }
  void *p = s->data + s->used++ * slot_size;
  memset(p, 0, slot_size);
  return p;
}

static void slabs_free(qg__slab *s) {
  while (s) {
    qg__slab *next = s->next;
    qg__free(s);
    s = next;
  }
}

/* Slot sizes rounded up so every slot stays 16-byte aligned inside a slab. */
#define SLOT(T) ((sizeof(T) + 15) & ~(size_t)15)

const char *qg_graph_strdup(qg_graph_t *g, const char *s, size_t n) {
  qg__slab *c = g->strings;
  if (!c || c->cap - c->used < n + 1) {
    size_t cap = n + 1 > STRING_CHUNK ? n + 1 : STRING_CHUNK;
    c = qg__malloc(sizeof(qg__slab) + cap);
    if (!c) return NULL;
    c->used = 0;
    c->cap = cap;
    /* A big string gets its own chunk behind the current one so the current one keeps
     * serving small strings. */
    if (g->strings && cap > STRING_CHUNK) {
      c->next = g->strings->next;
      g->strings->next = c;
    } else {
      c->next = g->strings;
      g->strings = c;
    }
  }
  char *p = (char *)c->data + c->used;
  memcpy(p, s, n);
  p[n] = '\0';
  c->used += n + 1;
  return p;
}

qg_node_t *qg__node_alloc(qg_graph_t *g, qg_sym_t kind) {
  qg_node_t *n = g->free_nodes;
  if (n) {
    g->free_nodes = n->next;
    memset(n, 0, sizeof *n);
  } else if (!(n = slab_alloc(&g->node_slabs, SLOT(qg_node_t)))) {
    return NULL;
  }
  n->kind = kind;
  n->graph = g;
  g->live_nodes++;
  return n;
}

void qg__node_free(qg_graph_t *g, qg_node_t *n) {
  for (uint32_t i = 0; i < n->nattrs; i++) qg__attr_clear(&n->attrs[i]);
  qg__free(n->attrs);
  qg__free(n->inputs);
  qg__free(n->outputs);
  qg__free(n->blocks);
  if (g->insert_point == n) g->insert_point = g->top ? g->top->ret : NULL;
  memset(n, 0xaa, sizeof *n); /* poison, as SQLite does, so stale pointers show */
  n->kind = QG_SYM_NONE;      /* dead marker */
  n->next = g->free_nodes;
  g->free_nodes = n;
  g->live_nodes--;
}

qg_value_t *qg__value_alloc(qg_graph_t *g, qg_node_t *producer, uint32_t offset, const qg_type_t *type) {
  qg_value_t *v = g->free_values;
  if (v) {
    g->free_values = (qg_value_t *)(void *)v->uses;
    memset(v, 0, sizeof *v);
  } else if (!(v = slab_alloc(&g->value_slabs, SLOT(qg_value_t)))) {
    return NULL;
  }
  v->node = producer;
  v->offset = offset;
  v->type = type;
  v->unique = g->next_unique++;
  return v;
}

void qg__value_free(qg_graph_t *g, qg_value_t *v) {
  if (v->name && qg_hashmap_get(&g->names, v->name) == v) qg_hashmap_remove(&g->names, v->name);
  qg__free(v->uses);
  memset(v, 0xaa, sizeof *v);
  v->node = NULL; /* dead marker */
  /* The free list is threaded through the (now unused) uses pointer. */
  v->uses = (qg_use_t *)(void *)g->free_values;
  g->free_values = v;
}

qg_block_t *qg__block_alloc(qg_graph_t *g, qg_node_t *owner) {
  qg_block_t *b = slab_alloc(&g->block_slabs, SLOT(qg_block_t));
  if (!b) return NULL;
  qg_node_t *param = qg__node_alloc(g, QG_SYM_prim_Param);
  if (!param) return NULL; /* the block slot stays in the slab, unused */
  qg_node_t *ret = qg__node_alloc(g, QG_SYM_prim_Return);
  if (!ret) {
    qg__node_free(g, param);
    return NULL;
  }
  b->graph = g;
  b->owning_node = owner;
  b->param = param;
  b->ret = ret;
  param->owner = ret->owner = b;
  param->topo = INT64_MIN;
  ret->topo = INT64_MAX;
  ret->next = ret->prev = ret;
  return b;
}

void qg__block_destroy(qg_block_t *b) {
  /* Outputs first, then nodes last to first (a node's users come after it), then inputs. */
  qg_node_remove_all_inputs(b->ret);
  while (b->ret->prev != b->ret) {
    qg_node_t *n = b->ret->prev;
    /* Uses from outside the block would be a lint error; drop them defensively is not
     * possible here, so destroy insists they are gone (qg_node_destroy asserts). */
    qg_node_destroy(n);
  }
  qg_graph_t *g = b->graph;
  for (uint32_t i = 0; i < b->param->noutputs; i++) {
    QG_ASSERT(b->param->outputs[i]->nuses == 0);
    qg__value_free(g, b->param->outputs[i]);
  }
  qg__node_free(g, b->param);
  qg__node_free(g, b->ret);
  b->graph = NULL; /* the slot stays in its slab until the graph goes */
}

/* ---- graphs ---------------------------------------------------------------------------- */

qg_status qg_graph_create(qg_cu_t *cu, qg_graph_t **out) {
  *out = NULL;
  qg_graph_t *g = qg__calloc(1, sizeof *g);
  if (!g) return qg_oom("graph");
  if (cu) {
    qg_cu_retain(cu);
  } else {
    qg_status st = qg_cu_create(&cu);
    if (st != QG_OK) {
      qg__free(g);
      return st;
    }
  }
  g->cu = cu;
  g->holds_cu_ref = 1;
  g->top = qg__block_alloc(g, NULL);
  if (!g->top) {
    qg_graph_destroy(g);
    return qg_oom("graph block");
  }
  g->insert_point = g->top->ret;
  *out = g;
  return QG_OK;
}

/* Releases the heap parts of every live node and value in the slabs; no list walking, so it
 * also covers nodes that were created and never inserted. */
void qg_graph_destroy(qg_graph_t *g) {
  if (!g) return;
  for (qg__slab *s = g->node_slabs; s; s = s->next) {
    for (size_t i = 0; i < s->used; i++) {
      qg_node_t *n = (qg_node_t *)(void *)(s->data + i * SLOT(qg_node_t));
      if (n->kind == QG_SYM_NONE) continue;
      for (uint32_t a = 0; a < n->nattrs; a++) qg__attr_clear(&n->attrs[a]);
      qg__free(n->attrs);
      qg__free(n->inputs);
      qg__free(n->outputs);
      qg__free(n->blocks);
    }
  }
  for (qg__slab *s = g->value_slabs; s; s = s->next) {
    for (size_t i = 0; i < s->used; i++) {
      qg_value_t *v = (qg_value_t *)(void *)(s->data + i * SLOT(qg_value_t));
      if (v->node) qg__free(v->uses);
    }
  }
  slabs_free(g->node_slabs);
  slabs_free(g->value_slabs);
  slabs_free(g->block_slabs);
  slabs_free(g->strings);
  qg_hashmap_free(&g->names);
  qg_hashmap_free(&g->suffixes);
  qg_cu_t *cu = g->cu;
  int release = g->holds_cu_ref;
  qg__free(g);
  if (release) qg_cu_release(cu);
}

qg_block_t *qg_graph_block(const qg_graph_t *g) { return g->top; }
qg_cu_t *qg_graph_cu(const qg_graph_t *g) { return g->cu; }

void qg__graph_detach_cu_ref(qg_graph_t *g) {
  if (!g->holds_cu_ref) return;
  g->holds_cu_ref = 0;
  qg_cu_release(g->cu); /* the caller's class keeps the unit alive through its owner */
}

qg_graph_t *qg_node_graph(const qg_node_t *n) { return n->graph; }

/* ---- inputs and outputs ---------------------------------------------------------------- */

size_t qg_block_ninputs(const qg_block_t *b) { return b->param->noutputs; }
qg_value_t *qg_block_input(const qg_block_t *b, size_t i) {
  QG_ASSERT(i < b->param->noutputs);
  return b->param->outputs[i];
}
size_t qg_block_noutputs(const qg_block_t *b) { return b->ret->ninputs; }
qg_value_t *qg_block_output(const qg_block_t *b, size_t i) {
  QG_ASSERT(i < b->ret->ninputs);
  return b->ret->inputs[i];
}
qg_node_t *qg_block_first(const qg_block_t *b) { return b->ret->next; }

size_t qg_graph_ninputs(const qg_graph_t *g) { return qg_block_ninputs(g->top); }
qg_value_t *qg_graph_input(const qg_graph_t *g, size_t i) { return qg_block_input(g->top, i); }
size_t qg_graph_noutputs(const qg_graph_t *g) { return qg_block_noutputs(g->top); }
qg_value_t *qg_graph_output(const qg_graph_t *g, size_t i) { return qg_block_output(g->top, i); }

static qg_status insert_block_input(qg_block_t *b, size_t i, const char *name, const qg_type_t *type,
                                    qg_value_t **out) {
  qg_value_t *v;
  if (out) *out = NULL;
  if (i > b->param->noutputs)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "inserting input %zu of a block with %u inputs", i,
                        b->param->noutputs);
  QG_TRY(qg__node_insert_output(b->param, i, type, &v));
  if (name) {
    qg_status st = qg_value_set_name(v, name);
    if (st != QG_OK) {
      qg_node_erase_output(b->param, i);
      return st;
    }
  }
  if (out) *out = v;
  return QG_OK;
}

qg_status qg_block_add_input(qg_block_t *b, const char *name, const qg_type_t *type, qg_value_t **out) {
  return insert_block_input(b, b->param->noutputs, name, type, out);
}
qg_status qg_graph_add_input(qg_graph_t *g, const char *name, const qg_type_t *type, qg_value_t **out) {
  return insert_block_input(g->top, g->top->param->noutputs, name, type, out);
}
qg_status qg_graph_insert_input(qg_graph_t *g, size_t i, const char *name, const qg_type_t *type,
                                qg_value_t **out) {
  return insert_block_input(g->top, i, name, type, out);
}

qg_status qg_graph_erase_input(qg_graph_t *g, size_t i) {
  if (i >= qg_graph_ninputs(g))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "erasing graph input %zu of %zu", i, qg_graph_ninputs(g));
  qg_value_t *v = qg_graph_input(g, i);
  if (v->nuses) {
    qg_strbuf b = QG_STRBUF_INIT;
    qg_value_print_name(v, &b);
    qg_status st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "cannot erase graph input %zu (%%%s): it has %u uses", i,
                                qg_strbuf_cstr(&b), v->nuses);
    qg_strbuf_free(&b);
    return st;
  }
  qg_node_erase_output(g->top->param, i);
  return QG_OK;
}

void qg_block_erase_input(qg_block_t *b, size_t i) { qg_node_erase_output(b->param, i); }

qg_status qg_block_register_output(qg_block_t *b, qg_value_t *v) { return qg_node_add_input(b->ret, v); }
qg_status qg_graph_register_output(qg_graph_t *g, qg_value_t *v) { return qg_node_add_input(g->top->ret, v); }
void qg_block_erase_output(qg_block_t *b, size_t i) { qg_node_remove_input(b->ret, i); }
void qg_graph_erase_output(qg_graph_t *g, size_t i) { qg_node_remove_input(g->top->ret, i); }

/* ---- insertion point ------------------------------------------------------------------- */

qg_node_t *qg_graph_set_insert_point(qg_graph_t *g, qg_node_t *before) {
  QG_ASSERT(before && before->graph == g && before->owner);
  qg_node_t *old = g->insert_point;
  g->insert_point = before;
  return old;
}

qg_node_t *qg_graph_insert_point(const qg_graph_t *g) { return g->insert_point; }
