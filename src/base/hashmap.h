/* An open-addressing map from NUL-terminated string keys to pointers. Keys are borrowed (the
 * caller keeps them alive, typically in an arena) unless noted. Deterministic iteration is
 * not provided: keep an ordered vector beside the map when order matters. */
#ifndef QG_BASE_HASHMAP_H
#define QG_BASE_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct qg_hashmap_entry {
  const char *key; /* NULL = empty slot, (const char*)1 = tombstone */
  void *value;
  uint64_t hash;
} qg_hashmap_entry;

typedef struct qg_hashmap {
  qg_hashmap_entry *slots;
  size_t cap; /* power of two or 0 */
  size_t len;
  size_t used; /* live + tombstones */
} qg_hashmap;

#define QG_HASHMAP_INIT {NULL, 0, 0, 0}

uint64_t qg_hash_bytes(const void *data, size_t n); /* FNV-1a 64 */
uint64_t qg_hash_str(const char *s);

/* Value for key, or NULL if absent. */
void *qg_hashmap_get(const qg_hashmap *m, const char *key);
void *qg_hashmap_getn(const qg_hashmap *m, const char *key, size_t keylen);
/* Inserts or replaces. 0 on success, -1 on allocation failure (map unchanged). */
int qg_hashmap_put(qg_hashmap *m, const char *key, void *value);
/* Removes key if present; returns the old value or NULL. */
void *qg_hashmap_remove(qg_hashmap *m, const char *key);
void qg_hashmap_free(qg_hashmap *m);

#endif
