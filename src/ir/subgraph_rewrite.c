/* The subgraph rewriter (subgraph.h, Note [Rewriting]): PyTorch's
 * SubgraphRewriter::rewriteSinglePatternOnGraph on top of the matcher. */
#include <pthread.h>
#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "ir/subgraph_impl.h"

struct qg_rewrite {
  qg_pattern_t *pattern;
  qg_pattern_t *replacement; /* compiled for its tables only (names looked up, then dropped) */
  size_t *input_of;          /* replacement input i -> pattern value index it is bound to */
  long *source_of;           /* replacement node k -> pattern node whose source comment it takes, or -1 */
};

void qg_rewrite_destroy(qg_rewrite_t *rw) {
  if (!rw) return;
  qg_pattern_destroy(rw->pattern);
  qg_pattern_destroy(rw->replacement);
  qg__free(rw->input_of);
  qg__free(rw->source_of);
  qg__free(rw);
}

const qg_pattern_t *qg_rewrite_pattern(const qg_rewrite_t *rw) { return rw->pattern; }

/* PyTorch's parser keeps no names for node outputs, so inserted values print as %N: drop the
 * names the replacement text gave (block parameters included). */
static qg_status drop_names(qg_block_t *b) {
  for (size_t i = 0; i < qg_block_ninputs(b); i++) QG_TRY(qg_value_set_name(qg_block_input(b, i), NULL));
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    for (uint32_t k = 0; k < n->noutputs; k++) QG_TRY(qg_value_set_name(n->outputs[k], NULL));
    for (uint32_t k = 0; k < n->nblocks; k++) QG_TRY(drop_names(n->blocks[k]));
  }
  return QG_OK;
}

static qg_status bind_inputs(qg_rewrite_t *rw) {
  const qg_graph_t *r = qg_pattern_graph(rw->replacement);
  size_t n = qg_graph_ninputs(r);
  if (qg_graph_noutputs(r) != qg_graph_noutputs(rw->pattern->graph))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "replacement returns %zu values, the pattern %zu",
                        qg_graph_noutputs(r), qg_graph_noutputs(rw->pattern->graph));
  if (qg_graph_ninputs(rw->pattern->graph) == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "pattern has no inputs: there is nowhere to insert the replacement");
  if (n && !(rw->input_of = qg__calloc(n, sizeof *rw->input_of))) return qg_oom("rewrite inputs");
  for (size_t i = 0; i < n; i++) {
    const char *name = qg_graph_input(r, i)->name;
    long pi = name ? qg__pattern_name_index(rw->pattern, name) : -1;
    if (pi < 0 || !rw->pattern->values[pi].is_input)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "replacement input %%%s is not an input of the pattern",
                          name ? name : "?");
    rw->input_of[i] = (size_t)pi;
  }
  return QG_OK;
}

static qg_status link_sources(qg_rewrite_t *rw, const qg_name_pair *pairs, size_t npairs) {
  size_t nr = rw->replacement->nnodes;
  if (!(rw->source_of = qg__calloc(nr ? nr : 1, sizeof *rw->source_of))) return qg_oom("rewrite source links");
  for (size_t k = 0; k < nr; k++) rw->source_of[k] = -1;
  for (size_t i = 0; i < npairs; i++) {
    long ri = pairs[i].replacement ? qg__pattern_name_index(rw->replacement, pairs[i].replacement) : -1;
    long pi = pairs[i].pattern ? qg__pattern_name_index(rw->pattern, pairs[i].pattern) : -1;
    if (ri < 0 || rw->replacement->values[ri].producer < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "value-name pair %zu: %%%s is not produced by a replacement node", i,
                          pairs[i].replacement ? pairs[i].replacement : "(null)");
    if (pi < 0 || rw->pattern->values[pi].producer < 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "value-name pair %zu: %%%s is not produced by a pattern node", i,
                          pairs[i].pattern ? pairs[i].pattern : "(null)");
    rw->source_of[rw->replacement->values[ri].producer] = rw->pattern->values[pi].producer;
  }
  return QG_OK;
}

qg_status qg_rewrite_create(const char *pattern, const char *replacement, const qg_name_pair *pairs, size_t npairs,
                            qg_rewrite_t **out) {
  *out = NULL;
  qg_rewrite_t *rw = qg__calloc(1, sizeof *rw);
  if (!rw) return qg_oom("rewrite rule");
  qg_status st = qg__pattern_compile(pattern, "pattern", 1, &rw->pattern);
  if (st == QG_OK) st = qg__pattern_compile(replacement, "replacement", 0, &rw->replacement);
  if (st == QG_OK) st = bind_inputs(rw);
  if (st == QG_OK) st = link_sources(rw, pairs, npairs);
  if (st == QG_OK) st = drop_names(qg_graph_block(rw->replacement->graph));
  if (st != QG_OK) {
    qg_rewrite_destroy(rw);
    return st;
  }
  *out = rw;
  return QG_OK;
}

/* ---- running --------------------------------------------------------------------------- */

typedef struct planned {
  qg_value_t *old, *repl;
} planned;

typedef struct run_state {
  const qg_rewrite_t *rw;
  qg_graph_t *g;
  QG_VEC(planned) rewrites;
  QG_VEC(qg_node_t *) doomed;   /* matched nodes, in match order */
  QG_VEC(qg_node_t *) inserted; /* replacement nodes, for rolling back */
  qg__ptrmap doomed_set;
  qg_value_t **ins, **outs;     /* scratch: replacement inputs / outputs */
} run_state;

static int accepted(const qg_match_t *m, const qg_match_filter *filters, size_t nfilters) {
  for (size_t i = 0; i < nfilters; i++)
    if (!filters[i].fn(m, filters[i].ud)) return 0;
  return 1;
}

static int overlaps(const run_state *s, const qg_match_t *m) {
  for (size_t i = 0; i < m->p->nnodes; i++)
    if (qg__ptrmap_has(&s->doomed_set, m->nodes[i])) return 1;
  return 0;
}

/* A pattern input bound to a value the match itself produces would make the replacement use
 * its own output after the rewrite. */
static int feeds_itself(const qg_match_t *m) {
  const qg_pattern_t *p = m->p;
  for (size_t i = 0; i < p->nvalues; i++) {
    if (!p->values[i].is_input) continue;
    for (size_t k = 0; k < p->nnodes; k++)
      if (m->values[i]->node == m->nodes[k]) return 1;
  }
  return 0;
}

/* The latest definition among the values bound to the pattern inputs (PyTorch's ins_point). */
static qg_node_t *insertion_after(const qg_match_t *m) {
  qg_node_t *ins = NULL;
  for (size_t i = 0; i < m->p->nvalues; i++) {
    if (!m->p->values[i].is_input) continue;
    qg_node_t *d = m->values[i]->node;
    if (!ins || qg_node_is_before(ins, d)) ins = d;
  }
  return ins;
}

static int outputs_used_before(const qg_match_t *m, const qg_node_t *ins) {
  const qg_graph_t *pg = m->p->graph;
  for (size_t o = 0; o < qg_graph_noutputs(pg); o++) {
    const qg_value_t *v = m->values[qg__pattern_value_index(m->p, qg_graph_output(pg, o))];
    for (uint32_t u = 0; u < v->nuses; u++)
      if (qg_node_is_before(v->uses[u].user, ins)) return 1;
  }
  return 0;
}

/* Inserts the replacement for m after `ins` and records what to redirect and delete. */
static qg_status apply_match(run_state *s, const qg_match_t *m, qg_node_t *ins) {
  const qg_rewrite_t *rw = s->rw;
  const qg_graph_t *rg = rw->replacement->graph;
  qg_node_t *before = ins == ins->owner->param ? qg_block_first(ins->owner) : ins->next;
  qg_node_t *prev = before->prev;
  for (size_t i = 0; i < qg_graph_ninputs(rg); i++) s->ins[i] = m->values[rw->input_of[i]];
  size_t nnew = rw->replacement->nnodes, nout = qg_graph_noutputs(rg);
  if (QG_VEC_RESERVE(&s->inserted, s->inserted.len + nnew) != 0 ||
      QG_VEC_RESERVE(&s->rewrites, s->rewrites.len + nout) != 0 ||
      QG_VEC_RESERVE(&s->doomed, s->doomed.len + m->p->nnodes) != 0)
    return qg_oom("rewrite bookkeeping");
  for (size_t k = 0; k < m->p->nnodes; k++)
    if (qg__ptrmap_put(&s->doomed_set, m->nodes[k], (void *)1) != 0) return qg_oom("rewrite bookkeeping");
  qg_node_t *saved = qg_graph_set_insert_point(s->g, before);
  qg_status st = qg_graph_insert_graph(s->g, rg, s->ins, s->outs);
  qg_graph_set_insert_point(s->g, saved);
  if (st != QG_OK) {
    for (size_t k = 0; k < m->p->nnodes; k++) qg__ptrmap_del(&s->doomed_set, m->nodes[k]);
    return st;
  }
  size_t k = 0;
  for (qg_node_t *n = prev->next; n != before; n = n->next, k++) {
    s->inserted.data[s->inserted.len++] = n;
    if (rw->source_of[k] >= 0) n->source.comment = m->nodes[rw->source_of[k]]->source.comment;
  }
  for (size_t o = 0; o < nout; o++) {
    planned pl = {m->values[qg__pattern_value_index(m->p, qg_graph_output(m->p->graph, o))], s->outs[o]};
    s->rewrites.data[s->rewrites.len++] = pl;
  }
  for (size_t i = 0; i < m->p->nnodes; i++) s->doomed.data[s->doomed.len++] = m->nodes[i];
  return QG_OK;
}

static void roll_back(run_state *s) {
  while (s->inserted.len) qg_node_destroy(s->inserted.data[--s->inserted.len]);
}

/* Redirects the uses of every pattern output (the replacement's outputs take their types).
 * Capacity is reserved first so that, normally, an OOM happens before anything is redirected
 * (*started stays 0); only a replacement output that receives the uses of several pattern
 * outputs can still fail midway. */
static qg_status commit(run_state *s, int *started) {
  *started = 0;
  for (size_t i = 0; i < s->rewrites.len; i++) {
    planned *pl = &s->rewrites.data[i];
    if (pl->old != pl->repl && qg__use_reserve(pl->repl, pl->old->nuses) != 0) return qg_oom("rewrite uses");
  }
  *started = 1;
  for (size_t i = 0; i < s->rewrites.len; i++) {
    planned *pl = &s->rewrites.data[i];
    qg_value_set_type(pl->repl, pl->old->type);
    QG_TRY(qg_value_replace_all_uses_with(pl->old, pl->repl));
  }
  return QG_OK;
}

static int unused(const qg_node_t *n) {
  for (uint32_t k = 0; k < n->noutputs; k++)
    if (n->outputs[k]->nuses) return 0;
  return 1;
}

/* Deletes the matched nodes, users before producers; after a partial commit some stay. */
static void delete_doomed(run_state *s) {
  for (int progress = 1; progress;) {
    progress = 0;
    for (size_t i = s->doomed.len; i-- > 0;) {
      qg_node_t *n = s->doomed.data[i];
      if (!n || !unused(n)) continue;
      qg_node_destroy(n);
      s->doomed.data[i] = NULL;
      progress = 1;
    }
  }
}

qg_status qg_rewrite_run(const qg_rewrite_t *rw, qg_graph_t *g, const qg_match_filter *filters, size_t nfilters,
                         size_t *nrewritten) {
  if (nrewritten) *nrewritten = 0;
  qg_matches_t *ms = NULL;
  QG_TRY(qg_pattern_find(rw->pattern, g, &ms));
  run_state s = {rw, g, {0}, {0}, {0}, {0}, NULL, NULL};
  const qg_graph_t *rg = rw->replacement->graph;
  size_t count = 0;
  qg_status st = QG_OK;
  s.ins = qg__calloc(qg_graph_ninputs(rg) + 1, sizeof *s.ins);
  s.outs = qg__calloc(qg_graph_noutputs(rg) + 1, sizeof *s.outs);
  if (!s.ins || !s.outs) st = qg_oom("rewrite scratch");
  for (size_t i = 0; i < ms->len && st == QG_OK; i++) {
    const qg_match_t *m = &ms->items[i];
    if (!accepted(m, filters, nfilters) || overlaps(&s, m) || feeds_itself(m)) continue;
    qg_node_t *ins = insertion_after(m);
    if (outputs_used_before(m, ins)) continue;
    if ((st = apply_match(&s, m, ins)) == QG_OK) count++;
  }
  int started = 0;
  if (st == QG_OK) st = commit(&s, &started);
  if (st != QG_OK && !started) {
    roll_back(&s); /* nothing redirected: the graph is as it was */
    s.doomed.len = 0;
  }
  delete_doomed(&s);
  if (st == QG_OK && nrewritten) *nrewritten = count;
  QG_VEC_FREE(&s.rewrites);
  QG_VEC_FREE(&s.doomed);
  QG_VEC_FREE(&s.inserted);
  qg__ptrmap_free(&s.doomed_set);
  qg__free(s.ins);
  qg__free(s.outs);
  qg_matches_destroy(ms);
  return st;
}

/* Compiled rewrites by the text of (pattern, replacement, pairs): passes call qg_rewrite_graph
 * with the same patterns on every graph of a model, and compiling a pattern (parsing two
 * graphs) costs far more than searching a small graph. Keys are copies of the texts (callers
 * may build them in stack buffers). Entries live until the process ends (reachable, so leak
 * checkers do not count them). */
typedef struct cached_rewrite {
  char *key; /* pattern \0 replacement \0 (pair.replacement \0 pair.pattern \0)* */
  size_t keylen;
  qg_rewrite_t *rw;
} cached_rewrite;

static pthread_mutex_t g_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_rewrite g_cache[64];
static size_t g_ncache;

/* The key text into buf (or just its length when buf is NULL). */
static size_t make_key(char *buf, const char *pattern, const char *replacement, const qg_name_pair *pairs,
                       size_t npairs) {
  const char *parts[2 + 2 * 16];
  size_t n = 0, len = 0;
  parts[n++] = pattern;
  parts[n++] = replacement;
  for (size_t i = 0; i < npairs && i < 16; i++) {
    parts[n++] = pairs[i].replacement;
    parts[n++] = pairs[i].pattern;
  }
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(parts[i]) + 1;
    if (buf) memcpy(buf + len, parts[i], l);
    len += l;
  }
  return len;
}

static qg_status cached(const char *pattern, const char *replacement, const qg_name_pair *pairs, size_t npairs,
                        qg_rewrite_t **out) {
  if (npairs > 16) return QG_STATUS_UNSUPPORTED;
  size_t len = make_key(NULL, pattern, replacement, pairs, npairs);
  char *key = qg__malloc(len);
  if (!key) return qg_oom("rewrite cache");
  make_key(key, pattern, replacement, pairs, npairs);
  pthread_mutex_lock(&g_cache_lock);
  for (size_t i = 0; i < g_ncache; i++)
    if (g_cache[i].keylen == len && memcmp(g_cache[i].key, key, len) == 0) {
      *out = g_cache[i].rw;
      pthread_mutex_unlock(&g_cache_lock);
      qg__free(key);
      return QG_OK;
    }
  qg_status st = qg_rewrite_create(pattern, replacement, pairs, npairs, out);
  if (st == QG_OK && g_ncache < sizeof g_cache / sizeof g_cache[0]) {
    g_cache[g_ncache++] = (cached_rewrite){key, len, *out};
    key = NULL;
  } else if (st == QG_OK) {
    st = QG_STATUS_UNSUPPORTED; /* full: the caller uses *out once and destroys it */
  }
  pthread_mutex_unlock(&g_cache_lock);
  qg__free(key);
  return st;
}

qg_status qg_rewrite_graph(qg_graph_t *g, const char *pattern, const char *replacement, const qg_name_pair *pairs,
                           size_t npairs, const qg_match_filter *filters, size_t nfilters, size_t *nrewritten) {
  if (nrewritten) *nrewritten = 0;
  qg_rewrite_t *rw = NULL;
  qg_status st = cached(pattern, replacement, pairs, npairs, &rw);
  if (st == QG_OK) return qg_rewrite_run(rw, g, filters, nfilters, nrewritten);
  if (st != QG_STATUS_UNSUPPORTED) return st;
  if (!rw) QG_TRY(qg_rewrite_create(pattern, replacement, pairs, npairs, &rw));
  st = qg_rewrite_run(rw, g, filters, nfilters, nrewritten);
  qg_rewrite_destroy(rw);
  return st;
}
