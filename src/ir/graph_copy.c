/* Deep copies: qg_graph_clone and qg_graph_insert_graph (the inliner's primitive). Both follow
 * PyTorch's Block::cloneFrom / insertGraph: nodes are recreated in order, outputs copy the
 * type and debug name of the original (setting a name that is taken in the destination renames
 * the previous holder, per Note [Value names]), inputs are mapped through a value map. Graph
 * attributes (Note [Graph attributes]) are deep-copied into the destination's unit by
 * qg__attr_copy, as PyTorch's GraphAttr::clone copies the graph. */
#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "ir/ir_impl.h"

typedef struct copier {
  qg_graph_t *dst;
  qg__ptrmap map; /* source value -> destination value */
} copier;

static qg_status map_value(copier *c, const qg_value_t *from, qg_value_t *to) {
  if (qg__ptrmap_put(&c->map, from, to) != 0) return qg_oom("value map");
  return QG_OK;
}

static qg_status lookup(copier *c, const qg_node_t *user, const qg_value_t *v, qg_value_t **out) {
  *out = qg__ptrmap_get(&c->map, v);
  if (*out) return QG_OK;
  qg_strbuf b = QG_STRBUF_INIT;
  qg__node_describe(user, &b);
  qg_status st = qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                              "copying a graph: node %s uses a value that is not defined in the copied graph",
                              qg_strbuf_cstr(&b));
  qg_strbuf_free(&b);
  return st;
}

/* Type and debug name of `from` onto `to` (PyTorch's copyMetadata). */
static qg_status copy_metadata(copier *c, const qg_value_t *from, qg_value_t *to) {
  const qg_type_t *t;
  QG_TRY(qg_type_import(qg_graph_cu(c->dst), from->type, &t));
  to->type = t;
  if (from->name) QG_TRY(qg_value_set_name(to, from->name));
  return QG_OK;
}

static const char *copy_str(copier *c, const qg_graph_t *src, const char *s) {
  if (!s || src == c->dst) return s;
  return qg_graph_strdup(c->dst, s, strlen(s));
}

static qg_status copy_block(copier *c, const qg_graph_t *src, qg_block_t *dst, const qg_block_t *from);

/* Copies `from` and links it before `before`. On failure nothing is left in dst (except
 * renames done by copy_metadata). */
static qg_status copy_node(copier *c, const qg_graph_t *src, const qg_node_t *from, qg_node_t *before,
                           qg_node_t **out) {
  qg_node_t *n;
  qg_status st;
  *out = NULL;
  /* Resolve inputs first: a failure here needs no cleanup. */
  for (uint32_t i = 0; i < from->ninputs; i++) {
    qg_value_t *v;
    QG_TRY(lookup(c, from, from->inputs[i], &v));
  }
  QG_TRY(qg_node_create(c->dst, from->kind, 0, &n));
  n->line = from->line;
  if ((from->scope && !(n->scope = copy_str(c, src, from->scope))) ||
      (from->source.comment && !(n->source.comment = copy_str(c, src, from->source.comment)))) {
    st = qg_oom("node scope");
    goto fail;
  }
  if (from->nattrs) {
    if (!(n->attrs = qg__calloc(from->nattrs, sizeof *n->attrs))) {
      st = qg_oom("node attributes");
      goto fail;
    }
    n->capattrs = from->nattrs;
    for (uint32_t i = 0; i < from->nattrs; i++) {
      if ((st = qg__attr_copy(&n->attrs[i], &from->attrs[i], qg_graph_cu(c->dst))) != QG_OK) goto fail;
      qg__attr_adopt(&n->attrs[i], n);
      n->nattrs++;
    }
  }
  for (uint32_t i = 0; i < from->ninputs; i++)
    if ((st = qg_node_add_input(n, qg__ptrmap_get(&c->map, from->inputs[i]))) != QG_OK) goto fail;
  for (uint32_t i = 0; i < from->noutputs; i++) {
    qg_value_t *v;
    if ((st = qg_node_add_output(n, from->outputs[i]->type, &v)) != QG_OK) goto fail;
    if ((st = copy_metadata(c, from->outputs[i], v)) != QG_OK) goto fail;
  }
  qg_node_insert_before(n, before);
  for (uint32_t i = 0; i < from->nblocks; i++) {
    qg_block_t *b;
    if ((st = qg_node_add_block(n, &b)) != QG_OK) goto fail;
    if ((st = copy_block(c, src, b, from->blocks[i])) != QG_OK) goto fail;
  }
  /* Outputs are mapped last so nested blocks cannot see them. */
  for (uint32_t i = 0; i < from->noutputs; i++)
    if ((st = map_value(c, from->outputs[i], n->outputs[i])) != QG_OK) goto fail;
  *out = n;
  return QG_OK;
fail:
  qg_node_destroy(n);
  return st;
}

static qg_status copy_block(copier *c, const qg_graph_t *src, qg_block_t *dst, const qg_block_t *from) {
  for (size_t i = 0; i < qg_block_ninputs(from); i++) {
    const qg_value_t *in = qg_block_input(from, i);
    qg_value_t *v;
    QG_TRY(qg_block_add_input(dst, NULL, in->type, &v));
    QG_TRY(copy_metadata(c, in, v));
    QG_TRY(map_value(c, in, v));
  }
  for (const qg_node_t *n = qg_block_first(from); n != from->ret; n = n->next) {
    qg_node_t *copy;
    QG_TRY(copy_node(c, src, n, dst->ret, &copy));
  }
  for (size_t i = 0; i < qg_block_noutputs(from); i++) {
    qg_value_t *v;
    QG_TRY(lookup(c, from->ret, qg_block_output(from, i), &v));
    QG_TRY(qg_block_register_output(dst, v));
  }
  return QG_OK;
}

qg_status qg_graph_clone(const qg_graph_t *g, qg_graph_t **out) { return qg__graph_clone_into(g, g->cu, out); }

qg_status qg__graph_clone_into(const qg_graph_t *g, qg_cu_t *cu, qg_graph_t **out) {
  *out = NULL;
  copier c = {NULL, {0}};
  QG_TRY(qg_graph_create(cu, &c.dst));
  qg_status st = copy_block(&c, g, c.dst->top, g->top);
  qg__ptrmap_free(&c.map);
  if (st != QG_OK) {
    qg_graph_destroy(c.dst);
    return st;
  }
  *out = c.dst;
  return QG_OK;
}

qg_status qg_graph_insert_graph(qg_graph_t *dst, const qg_graph_t *src, qg_value_t *const *inputs,
                                qg_value_t **outputs) {
  if (dst == src) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "inserting a graph into itself");
  copier c = {dst, {0}};
  QG_VEC(qg_node_t *) added = {0};
  qg_status st = QG_OK;
  qg_node_t *point = dst->insert_point;
  for (size_t i = 0; i < qg_graph_ninputs(src) && st == QG_OK; i++) {
    if (!inputs[i] || !inputs[i]->node || inputs[i]->node->graph != dst)
      st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "inserting a graph: input %zu is not a value of the destination graph", i);
    else
      st = map_value(&c, qg_graph_input(src, i), inputs[i]);
  }
  for (const qg_node_t *n = qg_block_first(src->top); n != src->top->ret && st == QG_OK; n = n->next) {
    qg_node_t *copy;
    if (QG_VEC_RESERVE(&added, added.len + 1) != 0) {
      st = qg_oom("inserted nodes");
      break;
    }
    if ((st = copy_node(&c, src, n, point, &copy)) == QG_OK) added.data[added.len++] = copy;
  }
  for (size_t i = 0; i < qg_graph_noutputs(src) && st == QG_OK; i++)
    st = lookup(&c, src->top->ret, qg_graph_output(src, i), &outputs[i]);
  if (st != QG_OK) {
    /* Roll back: later nodes use earlier ones, so destroy in reverse. */
    while (added.len) qg_node_destroy(added.data[--added.len]);
  }
  QG_VEC_FREE(&added);
  qg__ptrmap_free(&c.map);
  return st;
}
