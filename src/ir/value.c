/* Values: replacing uses, debug names with PyTorch's uniqueness rule, types. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/ir_impl.h"

qg_status qg_value_replace_all_uses_with(qg_value_t *v, qg_value_t *w) {
  QG_ASSERT(v && w && v->node && w->node && v->node->graph == w->node->graph);
  if (v == w || v->nuses == 0) return QG_OK;
  if (qg__use_reserve(w, v->nuses) != 0) return qg_oom("value uses");
  for (uint32_t i = 0; i < v->nuses; i++) {
    qg_use_t u = v->uses[i];
    u.user->inputs[u.offset] = w;
    w->uses[w->nuses++] = u;
  }
  v->nuses = 0;
  return QG_OK;
}

/* True if `user` comes after `after`, looking through blocks (a use nested inside `after`
 * itself is not after it), as PyTorch's Node::isAfter. */
static int is_after(const qg_node_t *user, const qg_node_t *after) { return qg_node_is_before(after, user); }

qg_status qg_value_replace_all_uses_after_node_with(qg_value_t *v, const qg_node_t *after, qg_value_t *w) {
  QG_ASSERT(v && w && v->node && w->node && v->node->graph == w->node->graph);
  if (v == w) return QG_OK;
  size_t count = 0;
  for (uint32_t i = 0; i < v->nuses; i++) count += is_after(v->uses[i].user, after);
  if (count == 0) return QG_OK;
  if (qg__use_reserve(w, count) != 0) return qg_oom("value uses");
  uint32_t keep = 0;
  for (uint32_t i = 0; i < v->nuses; i++) {
    qg_use_t u = v->uses[i];
    if (is_after(u.user, after)) {
      u.user->inputs[u.offset] = w;
      w->uses[w->nuses++] = u;
    } else {
      v->uses[keep++] = u;
    }
  }
  v->nuses = keep;
  return QG_OK;
}

void qg_value_set_type(qg_value_t *v, const qg_type_t *type) {
  QG_ASSERT(type);
  v->type = type;
}

void qg_value_print_name(const qg_value_t *v, qg_strbuf *out) {
  if (v->name)
    qg_strbuf_append(out, v->name);
  else
    qg_strbuf_printf(out, "%llu", (unsigned long long)v->unique);
}

/* PyTorch's Value::setDebugName collision rule: the value that held `name` is renamed to
 * "base.N" where a name "x.7" has base "x" and starts the search at 7 (any other name: base =
 * name, start 1), the start is raised past the last suffix used for that base, and N is the
 * first such suffix whose name is free. `self` (the value taking the name) does not count as
 * a holder of its own old name, since PyTorch drops that name first. */
static qg_status rename_holder(qg_graph_t *g, qg_value_t *holder, const char *name, qg_value_t *self,
                               const char **new_name) {
  size_t len = strlen(name), base_len = len;
  unsigned long long suffix = 1;
  const char *dot = strrchr(name, '.');
  if (dot && dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1) && strlen(dot + 1) < 19) {
    suffix = strtoull(dot + 1, NULL, 10);
    base_len = (size_t)(dot - name);
  }
  const char *base = qg_graph_strdup(g, name, base_len);
  if (!base) return qg_oom("value name");
  uintptr_t last = (uintptr_t)qg_hashmap_get(&g->suffixes, base);
  if (last && last + 1 > suffix) suffix = last + 1; /* max(suffix, names_suffixes[base] + 1) */
  qg_strbuf b = QG_STRBUF_INIT;
  for (;;) {
    qg_strbuf_reset(&b);
    qg_strbuf_printf(&b, "%s.%llu", base, suffix++);
    if (qg_strbuf_ok(&b) != QG_OK) {
      qg_strbuf_free(&b);
      return qg_oom("value name");
    }
    qg_value_t *owner = qg_hashmap_get(&g->names, b.data);
    if (!owner || owner == self) break;
  }
  const char *copy = qg_graph_strdup(g, b.data, b.len);
  qg_strbuf_free(&b);
  if (!copy) return qg_oom("value name");
  /* names_suffixes[base] = one past the suffix used (never 0, so 0 can mean absent). */
  if (qg_hashmap_put(&g->suffixes, base, (void *)(uintptr_t)suffix) != 0) return qg_oom("value name");
  if (qg_hashmap_put(&g->names, copy, holder) != 0) return qg_oom("value name");
  holder->name = copy;
  *new_name = copy;
  return QG_OK;
}

qg_status qg_value_set_name(qg_value_t *v, const char *name) {
  qg_graph_t *g = v->node->graph;
  const char *old = v->name;
  if (!name || !*name) {
    if (old && qg_hashmap_get(&g->names, old) == v) qg_hashmap_remove(&g->names, old);
    v->name = NULL;
    return QG_OK;
  }
  if (old && strcmp(old, name) == 0) return QG_OK;
  const char *copy = qg_graph_strdup(g, name, strlen(name));
  if (!copy) return qg_oom("value name");
  qg_value_t *holder = qg_hashmap_get(&g->names, copy);
  if (holder) {
    const char *renamed;
    QG_TRY(rename_holder(g, holder, copy, v, &renamed));
    /* `name` now maps to v (replacing holder in place: no allocation). */
    if (qg_hashmap_put(&g->names, copy, v) != 0) QG_ASSERT(!"replacing an existing key cannot fail");
  } else if (qg_hashmap_put(&g->names, copy, v) != 0) {
    return qg_oom("value name");
  }
  if (old && qg_hashmap_get(&g->names, old) == v) qg_hashmap_remove(&g->names, old);
  v->name = copy;
  return QG_OK;
}
