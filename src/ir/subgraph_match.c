/* Patterns and the subgraph matcher (subgraph.h, Note [Pattern matching rules]): compiling a
 * pattern's graph text into indexed tables, and matching it from every candidate anchor. */
#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "ir/schema.h"
#include "ir/subgraph_impl.h"
#include "ir/text.h"

/* ---- compiling ------------------------------------------------------------------------- */

static void pattern_free(qg_pattern_t *p) {
  if (!p) return;
  for (size_t i = 0; i < p->nnodes; i++) {
    qg__pat_node *pn = &p->nodes[i];
    if (pn->re) {
      for (uint32_t k = 0; k < pn->n->nattrs; k++) {
        if (!pn->re[k]) continue;
        regfree(pn->re[k]);
        qg__free(pn->re[k]);
      }
    }
    qg__free(pn->re);
    qg__free(pn->in);
    qg__free(pn->out);
  }
  qg__free(p->nodes);
  qg__free(p->values);
  qg_graph_destroy(p->graph);
  qg__free(p);
}

void qg_pattern_destroy(qg_pattern_t *p) { pattern_free(p); }

const qg_graph_t *qg_pattern_graph(const qg_pattern_t *p) { return p->graph; }

long qg__pattern_value_index(const qg_pattern_t *p, const qg_value_t *v) {
  for (size_t i = 0; i < p->nvalues; i++)
    if (p->values[i].v == v) return (long)i;
  return -1;
}

long qg__pattern_name_index(const qg_pattern_t *p, const char *name) {
  for (size_t i = 0; i < p->nvalues; i++)
    if (p->values[i].v->name && strcmp(p->values[i].v->name, name) == 0) return (long)i;
  return -1;
}

const qg_value_t *qg_pattern_value(const qg_pattern_t *p, const char *name) {
  long i = qg__pattern_name_index(p, name);
  return i < 0 ? NULL : p->values[i].v;
}

/* Characters that make a pattern string a regular expression (std::regex's ECMAScript set;
 * a plain name is compared for equality, which is what the regex would do). */
static int has_regex_meta(const char *s) { return strpbrk(s, ".[]()*+?{}|^$\\") != NULL; }

static qg_status compile_regexes(const char *what, qg__pat_node *pn) {
  const qg_node_t *n = pn->n;
  for (uint32_t k = 0; k < n->nattrs; k++) {
    const qg_attr *a = &n->attrs[k];
    if (a->kind != QG_ATTR_STRING || !has_regex_meta(a->s)) continue;
    if (!pn->re && !(pn->re = qg__calloc(n->nattrs, sizeof *pn->re))) return qg_oom("pattern regexes");
    size_t len = strlen(a->s);
    char *full = qg__malloc(len + 5);
    regex_t *re = qg__malloc(sizeof *re);
    if (!full || !re) {
      qg__free(full);
      qg__free(re);
      return qg_oom("pattern regex");
    }
    /* std::regex_match matches the whole string: anchor the expression. */
    memcpy(full, "^(", 2);
    memcpy(full + 2, a->s, len);
    memcpy(full + 2 + len, ")$", 3);
    int rc = regcomp(re, full, REG_EXTENDED | REG_NOSUB);
    qg__free(full);
    if (rc != 0) {
      qg__free(re);
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s line %d: attribute %s=\"%s\" is not a valid regular expression",
                          what, n->line, qg_sym_str(a->name), a->s);
    }
    pn->re[k] = re;
  }
  return QG_OK;
}

/* Marks every node reachable from node i through producer edges (and, as PyTorch's matcher
 * walks, the outputs of reached nodes). */
static void mark_reachable(const qg_pattern_t *p, size_t i, unsigned char *seen) {
  if (seen[i]) return;
  seen[i] = 1;
  const qg__pat_node *pn = &p->nodes[i];
  for (uint32_t k = 0; k < pn->n->ninputs; k++) {
    long prod = p->values[pn->in[k]].producer;
    if (prod >= 0) mark_reachable(p, (size_t)prod, seen);
  }
}

static qg_status validate_pattern(qg_pattern_t *p, const char *what) {
  const qg_graph_t *g = p->graph;
  if (p->nnodes == 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s has no nodes", what);
  if (qg_graph_noutputs(g) == 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s returns nothing", what);
  for (size_t i = 0; i < qg_graph_noutputs(g); i++) {
    long vi = qg__pattern_value_index(p, qg_graph_output(g, i));
    if (p->values[vi].producer < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s output %zu is a pattern input: nothing to match", what, i);
  }
  for (size_t i = 0; i < p->nnodes; i++) {
    const qg_node_t *n = p->nodes[i].n;
    if (n->nblocks) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s line %d: %s has blocks; pattern nodes may not",
                                        what, n->line, qg_sym_str(n->kind));
  }
  p->anchor = (size_t)p->values[qg__pattern_value_index(p, qg_graph_output(g, 0))].producer;
  p->anchor_kind = p->nodes[p->anchor].is_module ? QG_SYM_prim_GetAttr : p->nodes[p->anchor].n->kind;
  unsigned char *seen = qg__calloc(p->nnodes, 1);
  if (!seen) return qg_oom("pattern reachability");
  mark_reachable(p, p->anchor, seen);
  qg_status st = QG_OK;
  for (size_t i = 0; i < p->nnodes && st == QG_OK; i++) {
    if (!seen[i])
      st = qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s line %d: %s is not connected to the anchor (the node producing the first output) "
                        "through its inputs",
                        what, p->nodes[i].n->line, qg_sym_str(p->nodes[i].n->kind));
  }
  qg__free(seen);
  for (size_t i = 0; i < p->nnodes && st == QG_OK; i++)
    if (!p->nodes[i].is_module) st = compile_regexes(what, &p->nodes[i]);
  return st;
}

/* Numbers the values and nodes of p->graph (top block only: patterns have no blocks, and
 * replacements are only looked up by name there). */
static qg_status build_tables(qg_pattern_t *p, qg__ptrmap *index) {
  const qg_block_t *top = qg_graph_block(p->graph);
  size_t nvalues = qg_block_ninputs(top), nnodes = 0;
  for (const qg_node_t *n = qg_block_first(top); n != top->ret; n = n->next) {
    nnodes++;
    nvalues += n->noutputs;
  }
  p->values = qg__calloc(nvalues ? nvalues : 1, sizeof *p->values);
  p->nodes = qg__calloc(nnodes ? nnodes : 1, sizeof *p->nodes);
  if (!p->values || !p->nodes) return qg_oom("pattern tables");
  for (size_t i = 0; i < qg_block_ninputs(top); i++) {
    qg__pat_value *pv = &p->values[p->nvalues];
    pv->v = qg_block_input(top, i);
    pv->producer = -1;
    pv->is_input = 1;
    if (qg__ptrmap_put(index, pv->v, (void *)(uintptr_t)(++p->nvalues))) return qg_oom("pattern tables");
  }
  for (const qg_node_t *n = qg_block_first(top); n != top->ret; n = n->next) {
    qg__pat_node *pn = &p->nodes[p->nnodes];
    pn->n = n;
    pn->is_module = n->kind == p->module_sym;
    if ((n->ninputs && !(pn->in = qg__calloc(n->ninputs, sizeof *pn->in))) ||
        (n->noutputs && !(pn->out = qg__calloc(n->noutputs, sizeof *pn->out)))) {
      p->nnodes++;
      return qg_oom("pattern tables");
    }
    for (uint32_t k = 0; k < n->ninputs; k++) pn->in[k] = (uint32_t)((uintptr_t)qg__ptrmap_get(index, n->inputs[k]) - 1);
    for (uint32_t k = 0; k < n->noutputs; k++) {
      qg__pat_value *pv = &p->values[p->nvalues];
      pv->v = n->outputs[k];
      pv->producer = (long)p->nnodes;
      pn->out[k] = (uint32_t)p->nvalues;
      if (qg__ptrmap_put(index, pv->v, (void *)(uintptr_t)(++p->nvalues))) {
        p->nnodes++;
        return qg_oom("pattern tables");
      }
    }
    p->nnodes++;
  }
  for (size_t i = 0; i < p->nvalues; i++) p->values[i].nuses = p->values[i].v->nuses;
  for (size_t i = 0; i < qg_graph_noutputs(p->graph); i++) {
    long vi = qg__pattern_value_index(p, qg_graph_output(p->graph, i));
    p->values[vi].is_output = 1;
  }
  return QG_OK;
}

/* Every op must be registered (a misspelt op would silently never match), except
 * match::module, which only patterns use. */
static qg_status check_ops(const qg_pattern_t *p, const char *what) {
  for (size_t i = 0; i < p->nnodes; i++) {
    const qg_node_t *n = p->nodes[i].n;
    if (!p->nodes[i].is_module && !qg_op_is_known(n->kind))
      return qg_set_error(QG_STATUS_UNKNOWN_OP, "%s line %d: unknown operator '%s'", what, n->line, qg_sym_str(n->kind));
  }
  return QG_OK;
}

qg_status qg__pattern_compile(const char *text, const char *what, int is_pattern, qg_pattern_t **out) {
  *out = NULL;
  if (!text) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: no text", what);
  QG_TRY(qg_op_registry_init());
  qg_pattern_t *p = qg__calloc(1, sizeof *p);
  if (!p) return qg_oom("pattern");
  qg_status st = qg_sym_intern("match::module", &p->module_sym);
  if (st == QG_OK) {
    qg_parse_opts opts = {0};
    opts.filename = what;
    opts.allow_unknown_ops = 1; /* checked below, to let match::module through */
    st = qg_graph_parse(text, strlen(text), &opts, &p->graph);
  }
  qg__ptrmap index = {0};
  if (st == QG_OK) st = build_tables(p, &index);
  qg__ptrmap_free(&index);
  if (st == QG_OK) st = check_ops(p, what);
  if (st == QG_OK && is_pattern) st = validate_pattern(p, what);
  if (st != QG_OK) {
    pattern_free(p);
    return st;
  }
  *out = p;
  return QG_OK;
}

qg_status qg_pattern_create(const char *text, qg_pattern_t **out) {
  return qg__pattern_compile(text, "pattern", 1, out);
}

/* ---- matching -------------------------------------------------------------------------- */

typedef struct matcher {
  const qg_pattern_t *p;
  const qg_node_t *anchor;
  qg_node_t **nodes;   /* [nnodes] current mapping */
  qg_value_t **values; /* [nvalues] */
} matcher;

static int attr_equal(const qg__pat_node *pn, uint32_t k, const qg_node_t *gn) {
  const qg_attr *a = &pn->n->attrs[k];
  const qg_attr *b = qg_node_attr(gn, a->name);
  if (!b || b->kind != a->kind) return 0;
  switch (a->kind) {
  case QG_ATTR_INT: return a->i == b->i;
  case QG_ATTR_FLOAT: return a->f == b->f;
  case QG_ATTR_COMPLEX: return a->f == b->f && a->f2 == b->f2;
  case QG_ATTR_STRING:
    if (pn->re && pn->re[k]) return regexec(pn->re[k], b->s, 0, NULL, 0) == 0;
    return strcmp(a->s, b->s) == 0;
  default: return 0; /* PyTorch's matcher compares no other attribute kinds */
  }
}

static int module_name_matches(const qg__pat_node *pn, const qg_node_t *gn) {
  const char *want = qg_node_s(pn->n, "name");
  const qg_type_t *t = gn->noutputs ? gn->outputs[0]->type : NULL;
  if (!want || !t || t->kind != QG_TYPE_CLASS || !t->qualname) return 0;
  size_t lw = strlen(want), lq = strlen(t->qualname);
  return lq >= lw && strcmp(t->qualname + lq - lw, want) == 0;
}

static int match_node(matcher *m, size_t pi, qg_node_t *gn);

static int match_value(matcher *m, uint32_t vi, qg_value_t *gv) {
  const qg__pat_value *pv = &m->p->values[vi];
  if (m->values[vi]) return m->values[vi] == gv;
  /* Intermediate values must not be used outside the match. */
  if (!pv->is_input && !pv->is_output && pv->nuses != gv->nuses) return 0;
  m->values[vi] = gv;
  if (pv->is_input) return 1;
  return match_node(m, (size_t)pv->producer, gv->node);
}

static int match_node(matcher *m, size_t pi, qg_node_t *gn) {
  if (m->nodes[pi]) return m->nodes[pi] == gn;
  const qg__pat_node *pn = &m->p->nodes[pi];
  const qg_node_t *n = pn->n;
  if (gn->owner != m->anchor->owner) return 0; /* matches stay in one block */
  if (n->ninputs != gn->ninputs || n->noutputs != gn->noutputs) return 0;
  if (pn->is_module) {
    if (gn->kind != QG_SYM_prim_GetAttr || !module_name_matches(pn, gn)) return 0;
  } else {
    if (n->kind != gn->kind || n->nattrs != gn->nattrs) return 0;
    for (uint32_t k = 0; k < n->nattrs; k++)
      if (!attr_equal(pn, k, gn)) return 0;
  }
  m->nodes[pi] = gn;
  for (uint32_t k = 0; k < n->noutputs; k++)
    if (!match_value(m, pn->out[k], gn->outputs[k])) return 0;
  for (uint32_t k = 0; k < n->ninputs; k++)
    if (!match_value(m, pn->in[k], gn->inputs[k])) return 0;
  return 1;
}

static int match_at(matcher *m, qg_node_t *anchor) {
  memset(m->nodes, 0, m->p->nnodes * sizeof *m->nodes);
  memset(m->values, 0, m->p->nvalues * sizeof *m->values);
  m->anchor = anchor;
  return match_node(m, m->p->anchor, anchor);
}

static qg_status record(qg_matches_t *ms, const matcher *m, qg_node_t *anchor) {
  const qg_pattern_t *p = m->p;
  if (qg__grow((void **)&ms->items, &ms->cap, ms->len + 1, sizeof *ms->items) != 0) return qg_oom("matches");
  void *mem = qg__calloc(p->nnodes * sizeof(qg_node_t *) + p->nvalues * sizeof(qg_value_t *), 1);
  if (!mem) return qg_oom("a match");
  qg_match_t *r = &ms->items[ms->len++];
  r->p = p;
  r->anchor = anchor;
  r->nodes = mem;
  r->values = (qg_value_t **)(r->nodes + p->nnodes);
  memcpy(r->nodes, m->nodes, p->nnodes * sizeof *m->nodes);
  memcpy(r->values, m->values, p->nvalues * sizeof *m->values);
  return QG_OK;
}

void qg_matches_destroy(qg_matches_t *ms) {
  if (!ms) return;
  for (size_t i = 0; i < ms->len; i++) qg__free(ms->items[i].nodes);
  qg__free(ms->items);
  qg__free(ms);
}

qg_status qg_pattern_find(const qg_pattern_t *p, qg_graph_t *g, qg_matches_t **out) {
  *out = NULL;
  qg_matches_t *ms = qg__calloc(1, sizeof *ms);
  matcher m = {p, NULL, qg__calloc(p->nnodes, sizeof(qg_node_t *)), qg__calloc(p->nvalues, sizeof(qg_value_t *))};
  QG_VEC(qg_block_t *) stack = {0};
  qg_status st = QG_OK;
  if (!ms || !m.nodes || !m.values || QG_VEC_PUSH(&stack, qg_graph_block(g)) != 0) st = qg_oom("pattern search");
  /* PyTorch's order: a block's nodes in order, its nodes' blocks pushed on a stack. */
  while (st == QG_OK && stack.len) {
    qg_block_t *b = stack.data[--stack.len];
    for (qg_node_t *n = qg_block_first(b); n != b->ret && st == QG_OK; n = n->next) {
      if (n->kind == p->anchor_kind && match_at(&m, n)) st = record(ms, &m, n);
      for (uint32_t k = 0; k < n->nblocks && st == QG_OK; k++)
        if (QG_VEC_PUSH(&stack, n->blocks[k]) != 0) st = qg_oom("pattern search");
    }
  }
  QG_VEC_FREE(&stack);
  qg__free(m.nodes);
  qg__free(m.values);
  if (st != QG_OK) {
    qg_matches_destroy(ms);
    return st;
  }
  *out = ms;
  return QG_OK;
}

size_t qg_matches_count(const qg_matches_t *ms) { return ms->len; }
const qg_match_t *qg_matches_at(const qg_matches_t *ms, size_t i) { return i < ms->len ? &ms->items[i] : NULL; }

/* ---- match accessors and constant helpers ---------------------------------------------- */

qg_node_t *qg_match_anchor(const qg_match_t *m) { return m->anchor; }
const qg_pattern_t *qg_match_pattern(const qg_match_t *m) { return m->p; }

qg_value_t *qg_match_value(const qg_match_t *m, const char *name) {
  long i = qg__pattern_name_index(m->p, name);
  return i < 0 ? NULL : m->values[i];
}

qg_value_t *qg_match_value_of(const qg_match_t *m, const qg_value_t *pattern_value) {
  long i = qg__pattern_value_index(m->p, pattern_value);
  return i < 0 ? NULL : m->values[i];
}

qg_node_t *qg_match_node_of(const qg_match_t *m, const qg_node_t *pattern_node) {
  for (size_t i = 0; i < m->p->nnodes; i++)
    if (m->p->nodes[i].n == pattern_node) return m->nodes[i];
  return NULL;
}

int qg_value_is_constant(const qg_value_t *v) { return v && v->node && v->node->kind == QG_SYM_prim_Constant; }

const qg_attr *qg_value_constant_attr(const qg_value_t *v) {
  if (!qg_value_is_constant(v)) return NULL;
  qg_sym_t value = qg_sym_lookup("value");
  return value ? qg_node_attr(v->node, value) : NULL;
}

int qg_value_constant_int(const qg_value_t *v, int64_t *out) {
  const qg_attr *a = qg_value_constant_attr(v);
  if (!a || a->kind != QG_ATTR_INT || v->type->kind != QG_TYPE_INT) return 0;
  *out = a->i;
  return 1;
}

int qg_match_int_constant(const qg_match_t *m, const char *name, int64_t *out) {
  qg_value_t *v = qg_match_value(m, name);
  return v && qg_value_constant_int(v, out);
}
