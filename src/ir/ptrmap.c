/* A small open-addressing map keyed by pointers (linear probing, backward-shift deletion so
 * there are no tombstones). Used by lint (scopes) and graph copying (value maps). */
#include <stdint.h>

#include "base/alloc.h"
#include "ir/ir_impl.h"

static size_t slot_of(const void *key, size_t cap) {
  uint64_t h = (uint64_t)(uintptr_t)key;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return (size_t)h & (cap - 1);
}

static size_t find(const qg__ptrmap *m, const void *key) {
  size_t i = slot_of(key, m->cap);
  while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
  return i;
}

static int rehash(qg__ptrmap *m, size_t cap) {
  const void **keys = qg__calloc(cap, sizeof *keys);
  void **vals = qg__calloc(cap, sizeof *vals);
  if (!keys || !vals) {
    qg__free(keys);
    qg__free(vals);
    return -1;
  }
  qg__ptrmap n = {keys, vals, cap, 0};
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i]) continue;
    size_t j = find(&n, m->keys[i]);
    n.keys[j] = m->keys[i];
    n.vals[j] = m->vals[i];
    n.len++;
  }
  qg__free(m->keys);
  qg__free(m->vals);
  *m = n;
  return 0;
}

int qg__ptrmap_put(qg__ptrmap *m, const void *key, void *val) {
  QG_ASSERT(key != NULL);
  if ((m->len + 1) * 2 > m->cap && rehash(m, m->cap ? m->cap * 2 : 16) != 0) return -1;
  size_t i = find(m, key);
  if (!m->keys[i]) m->len++;
  m->keys[i] = key;
  m->vals[i] = val;
  return 0;
}

void *qg__ptrmap_get(const qg__ptrmap *m, const void *key) {
  if (!m->cap) return NULL;
  size_t i = find(m, key);
  return m->keys[i] ? m->vals[i] : NULL;
}

int qg__ptrmap_has(const qg__ptrmap *m, const void *key) { return m->cap && m->keys[find(m, key)] != NULL; }

void qg__ptrmap_del(qg__ptrmap *m, const void *key) {
  if (!m->cap) return;
  size_t mask = m->cap - 1, i = find(m, key);
  if (!m->keys[i]) return;
  m->keys[i] = NULL;
  m->len--;
  /* Shift later members of the probe run back into the hole. */
  for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
    size_t home = slot_of(m->keys[j], m->cap);
    /* Move j to i if home is cyclically outside (i, j]. */
    if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
      m->keys[i] = m->keys[j];
      m->vals[i] = m->vals[j];
      m->keys[j] = NULL;
      i = j;
    }
  }
}

void qg__ptrmap_free(qg__ptrmap *m) {
  qg__free(m->keys);
  qg__free(m->vals);
  m->keys = NULL;
  m->vals = NULL;
  m->cap = m->len = 0;
}
