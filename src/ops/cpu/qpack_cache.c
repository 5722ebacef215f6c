/* The packed-weight cache (qpack_cache.h). */
#include "ops/cpu/qpack_cache.h"

#include <pthread.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/qgemm.h"

struct qg__qpack {
  int refs;   /* one for the cache while listed, one per user */
  int listed;
  int64_t n, k;
  uint64_t h1, h2, zh;
  int16_t *panels;
  size_t bytes;
  uint64_t stamp; /* last use, for LRU */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static qg__qpack *g_entries[QG_QPACK_CACHE_ENTRIES];
static size_t g_count, g_bytes, g_hits, g_misses;
static uint64_t g_clock;

#define LANES 8

static inline uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

/* Two 64-bit hashes of n bytes: eight independent multiply-xorshift lanes per hash (so the loop
 * runs at memory speed), folded in two different orders. */
static void hash_bytes(const uint8_t *p, size_t n, uint64_t *h1, uint64_t *h2) {
  uint64_t a[LANES], b[LANES];
  for (int l = 0; l < LANES; l++) {
    a[l] = 0x9e3779b97f4a7c15ull * (uint64_t)(l + 1);
    b[l] = 0x632be59bd9b4e019ull * (uint64_t)(l + 1);
  }
  size_t words = n / 8, i = 0;
  for (; i + LANES <= words; i += LANES) {
    uint64_t w[LANES];
    memcpy(w, p + i * 8, sizeof w);
    for (int l = 0; l < LANES; l++) {
      a[l] = (a[l] ^ w[l]) * 0x9e3779b97f4a7c15ull;
      a[l] ^= a[l] >> 29;
      b[l] = (b[l] + w[l]) * 0xd6e8feb86659fd93ull;
      b[l] ^= b[l] >> 32;
    }
  }
  uint64_t tail[LANES] = {0};
  memcpy(tail, p + i * 8, n - i * 8);
  uint64_t x = mix(n), y = mix(~(uint64_t)n);
  for (int l = 0; l < LANES; l++) {
    x = mix(x ^ a[l] ^ tail[l]);
    y = mix(y + b[LANES - 1 - l] + tail[l] * 31);
  }
  *h1 = x;
  *h2 = y;
}

static void entry_free(qg__qpack *e) {
  qg__free(e->panels);
  qg__free(e);
}

/* Drops the cache's reference to entry i (the caller holds g_lock); returns the entry when that
 * was the last reference (the caller frees it outside the lock). */
static qg__qpack *unlist(size_t i) {
  qg__qpack *e = g_entries[i];
  g_entries[i] = g_entries[--g_count];
  g_bytes -= e->bytes;
  e->listed = 0;
  return --e->refs == 0 ? e : NULL;
}

qg_status qg__qpack_get(const int8_t *w, int64_t n, int64_t k, const int32_t *zp, int zp_per_row,
                        const int16_t **panels, qg__qpack **ref) {
  *panels = NULL;
  *ref = NULL;
  uint64_t h1, h2, zh, zh2;
  hash_bytes((const uint8_t *)w, (size_t)(n * k), &h1, &h2);
  hash_bytes((const uint8_t *)zp, (size_t)(zp_per_row ? n : 1) * sizeof *zp, &zh, &zh2);
  zh ^= mix(zh2 + (uint64_t)zp_per_row);
  pthread_mutex_lock(&g_lock);
  for (size_t i = 0; i < g_count; i++) {
    qg__qpack *e = g_entries[i];
    if (e->n == n && e->k == k && e->h1 == h1 && e->h2 == h2 && e->zh == zh) {
      e->refs++;
      e->stamp = ++g_clock;
      g_hits++;
      pthread_mutex_unlock(&g_lock);
      *panels = e->panels;
      *ref = e;
      return QG_OK;
    }
  }
  g_misses++;
  pthread_mutex_unlock(&g_lock);

  qg__qpack *e = qg__calloc(1, sizeof *e);
  size_t elems = (size_t)qg__qgemm_panel_elems(n, qg__qgemm_kpad(k));
  if (e) e->panels = qg__malloc(elems * sizeof *e->panels + 1);
  if (!e || !e->panels) {
    qg__free(e);
    return qg_oom("packing a linear weight");
  }
  qg__qgemm_panels_s8(w, n, k, k, zp, zp_per_row, e->panels);
  e->refs = 1;
  e->n = n;
  e->k = k;
  e->h1 = h1;
  e->h2 = h2;
  e->zh = zh;
  e->bytes = elems * sizeof *e->panels;

  qg__qpack *dead[QG_QPACK_CACHE_ENTRIES];
  size_t ndead = 0;
  pthread_mutex_lock(&g_lock);
  /* Make room: least recently used entries first (in-use ones stay valid through their refs). */
  while (g_count && (g_count == QG_QPACK_CACHE_ENTRIES || g_bytes + e->bytes > QG_QPACK_CACHE_BYTES)) {
    size_t lru = 0;
    for (size_t i = 1; i < g_count; i++)
      if (g_entries[i]->stamp < g_entries[lru]->stamp) lru = i;
    qg__qpack *d = unlist(lru);
    if (d) dead[ndead++] = d;
  }
  if (e->bytes <= QG_QPACK_CACHE_BYTES) {
    e->refs++;
    e->listed = 1;
    e->stamp = ++g_clock;
    g_entries[g_count++] = e;
    g_bytes += e->bytes;
  }
  pthread_mutex_unlock(&g_lock);
  for (size_t i = 0; i < ndead; i++) entry_free(dead[i]);
  *panels = e->panels;
  *ref = e;
  return QG_OK;
}

void qg__qpack_release(qg__qpack *ref) {
  if (!ref) return;
  pthread_mutex_lock(&g_lock);
  int last = --ref->refs == 0;
  pthread_mutex_unlock(&g_lock);
  if (last) entry_free(ref);
}

void qg__qpack_cache_clear(void) {
  qg__qpack *dead[QG_QPACK_CACHE_ENTRIES];
  size_t ndead = 0;
  pthread_mutex_lock(&g_lock);
  while (g_count) {
    qg__qpack *d = unlist(g_count - 1);
    if (d) dead[ndead++] = d;
  }
  pthread_mutex_unlock(&g_lock);
  for (size_t i = 0; i < ndead; i++) entry_free(dead[i]);
}

void qg__qpack_cache_stats(size_t *hits, size_t *misses) {
  pthread_mutex_lock(&g_lock);
  *hits = g_hits;
  *misses = g_misses;
  pthread_mutex_unlock(&g_lock);
}
