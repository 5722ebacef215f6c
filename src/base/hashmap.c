#include "base/hashmap.h"

#include <string.h>

#include "base/alloc.h"

#define TOMBSTONE ((const char *)1)

uint64_t qg_hash_bytes(const void *data, size_t n) {
  const unsigned char *p = data;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t qg_hash_str(const char *s) { return qg_hash_bytes(s, strlen(s)); }

static qg_hashmap_entry *find(const qg_hashmap *m, const char *key, size_t keylen, uint64_t h) {
  if (!m->cap) return NULL;
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    qg_hashmap_entry *e = &m->slots[i];
    if (!e->key) return NULL;
    if (e->key != TOMBSTONE && e->hash == h && strncmp(e->key, key, keylen) == 0 &&
        e->key[keylen] == '\0')
      return e;
  }
}

void *qg_hashmap_getn(const qg_hashmap *m, const char *key, size_t keylen) {
  qg_hashmap_entry *e = find(m, key, keylen, qg_hash_bytes(key, keylen));
  return e ? e->value : NULL;
}

void *qg_hashmap_get(const qg_hashmap *m, const char *key) {
  return qg_hashmap_getn(m, key, strlen(key));
}

static int rehash(qg_hashmap *m, size_t ncap) {
  qg_hashmap_entry *slots = qg__calloc(ncap, sizeof *slots);
  if (!slots) return -1;
  for (size_t i = 0; i < m->cap; i++) {
    qg_hashmap_entry *e = &m->slots[i];
    if (!e->key || e->key == TOMBSTONE) continue;
    size_t j = e->hash & (ncap - 1);
    while (slots[j].key) j = (j + 1) & (ncap - 1);
    slots[j] = *e;
  }
  qg__free(m->slots);
  m->slots = slots;
  m->cap = ncap;
  m->used = m->len;
  return 0;
}

int qg_hashmap_put(qg_hashmap *m, const char *key, void *value) {
  size_t keylen = strlen(key);
  uint64_t h = qg_hash_bytes(key, keylen);
  qg_hashmap_entry *e = find(m, key, keylen, h);
  if (e) {
    e->value = value;
    e->key = key;
    return 0;
  }
  if ((m->used + 1) * 4 >= m->cap * 3) {
    if (rehash(m, m->cap ? m->cap * 2 : 16)) return -1;
  }
  size_t mask = m->cap - 1;
  size_t i = h & mask;
  while (m->slots[i].key && m->slots[i].key != TOMBSTONE) i = (i + 1) & mask;
  if (!m->slots[i].key) m->used++;
  m->slots[i] = (qg_hashmap_entry){key, value, h};
  m->len++;
  return 0;
}

void *qg_hashmap_remove(qg_hashmap *m, const char *key) {
  size_t keylen = strlen(key);
  qg_hashmap_entry *e = find(m, key, keylen, qg_hash_bytes(key, keylen));
  if (!e) return NULL;
  void *v = e->value;
  e->key = TOMBSTONE;
  e->value = NULL;
  m->len--;
  return v;
}

void qg_hashmap_free(qg_hashmap *m) {
  qg__free(m->slots);
  *m = (qg_hashmap)QG_HASHMAP_INIT;
}
