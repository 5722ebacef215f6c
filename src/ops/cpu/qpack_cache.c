/* The packed-weight cache (qpack_cache.h). */
#include "ops/cpu/qpack_cache.h"

#include <pthread.h>
#include <string.h>

#include "base/alloc.h"

struct qg__qpack {
  int refs; /* one for the cache while listed, one per user */
  int listed;
  int layout;
  int64_t dims[4];
  size_t wbytes;
  uint64_t h1, h2;
  uint64_t snapshot_serial; /* 0: found by hash only */
  int64_t snapshot_offset;
  uint8_t *packed;
  int32_t *sums;
  size_t bytes;   /* packed + sums */
  uint64_t stamp; /* last use, for LRU */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static qg__qpack *g_entries[QG_QPACK_CACHE_ENTRIES];
static size_t g_count, g_bytes, g_hits, g_misses;
static uint64_t g_clock;

#define LANES 8  /* 64-bit accumulators: one 64-byte stripe per step */
#define BLOCK 16 /* stripes between scrambles (each with its own key offset) */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define QG_CLONES
#endif

static inline uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

/* Random 64-bit constants: the key of the accumulation (offset by the stripe within a block). */
static const uint64_t g_key[LANES + BLOCK] = {
    0xbe4ba423396cfeb8ull, 0x1cad21f72c81017cull, 0xdb979083e96dd4deull, 0x1f67b3b7a4a44072ull,
    0x78e5c0cc4ee679cbull, 0x2172ffcc7dd05a82ull, 0x8e2443f7744608b8ull, 0x4c263a81e69035e0ull,
    0xcb00c391bb52283cull, 0xa32e531b8b65d088ull, 0x4ef90da297486471ull, 0xd8acdea946ef1938ull,
    0x3f349ce33f76faa8ull, 0x1d4f0bc7c7bbdcf9ull, 0x3159b4cd4be0518aull, 0x647378d9c97e9fc8ull,
    0xc3ebd33483acc5eaull, 0xeb6313faffa081c5ull, 0x49daf0b751dd0d17ull, 0x9e68d429265516d3ull,
    0xfca1477d58be162bull, 0xce31d07ad1b8f88full, 0x280416958f3acb45ull, 0x7e404bbbcafbd7afull};

/* Two 64-bit hashes of n bytes, at memory speed: XXH3's accumulation (per 64-bit lane:
 * acc += lo32(d ^ key) * hi32(d ^ key), and the neighbour lane += d; vectorises to pmuludq), with
 * a multiply-xorshift scramble of the accumulators every BLOCK stripes so that moving data
 * between blocks changes the result; the 512-bit state folded two ways. */
QG_CLONES static void hash_bytes(const uint8_t *p, size_t n, uint64_t *h1, uint64_t *h2) {
  uint64_t acc[LANES];
  for (int l = 0; l < LANES; l++) acc[l] = g_key[l] ^ (0x9e3779b97f4a7c15ull * (uint64_t)(l + 1));
  size_t stripes = n / 64;
  for (size_t s = 0; s < stripes; s++) {
    uint64_t d[LANES], key[LANES];
    memcpy(d, p + s * 64, sizeof d);
    memcpy(key, g_key + s % BLOCK, sizeof key);
    for (int l = 0; l < LANES; l++) {
      uint64_t dk = d[l] ^ key[l];
      acc[l ^ 1] += d[l];
      acc[l] += (uint64_t)(uint32_t)dk * (uint32_t)(dk >> 32);
    }
    if (s % BLOCK == BLOCK - 1)
      for (int l = 0; l < LANES; l++) acc[l] = (acc[l] ^ (acc[l] >> 47) ^ g_key[l + 3]) * 0x9e3779b1u;
  }
  uint64_t tail[LANES] = {0};
  memcpy(tail, p + stripes * 64, n - stripes * 64);
  uint64_t x = mix(n), y = mix(~(uint64_t)n);
  for (int l = 0; l < LANES; l++) {
    x = mix(x ^ acc[l] ^ tail[l]);
    y = mix(y + acc[LANES - 1 - l] + tail[l] * 31);
  }
  *h1 = x;
  *h2 = y;
}

static void entry_free(qg__qpack *e) {
  qg__free(e->packed);
  qg__free(e->sums);
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

static int same_key(const qg__qpack *e, const qg__qpack_spec *s, size_t wbytes, uint64_t h1, uint64_t h2) {
  return e->layout == s->layout && memcmp(e->dims, s->dims, sizeof e->dims) == 0 && e->wbytes == wbytes &&
         e->h1 == h1 && e->h2 == h2;
}

static int same_snapshot(const qg__qpack *e, const qg__qpack_spec *s, size_t wbytes) {
  return e->snapshot_serial == s->snapshot_serial && e->snapshot_offset == s->snapshot_offset &&
         e->layout == s->layout && memcmp(e->dims, s->dims, sizeof e->dims) == 0 && e->wbytes == wbytes;
}

/* A lookup found e (g_lock held; released here). */
static void hit(qg__qpack *e, const uint8_t **packed, const int32_t **sums, qg__qpack **ref) {
  e->refs++;
  e->stamp = ++g_clock;
  g_hits++;
  pthread_mutex_unlock(&g_lock);
  *packed = e->packed;
  *sums = e->sums;
  *ref = e;
}

qg_status qg__qpack_get(const void *w, size_t wbytes, const qg__qpack_spec *s, const uint8_t **packed,
                        const int32_t **sums, qg__qpack **ref) {
  *packed = NULL;
  *sums = NULL;
  *ref = NULL;
  uint64_t h1 = 0, h2 = 0;
  pthread_mutex_lock(&g_lock);
  for (size_t i = 0; s->snapshot_serial && i < g_count; i++) {
    qg__qpack *e = g_entries[i];
    if (same_snapshot(e, s, wbytes)) {
      hit(e, packed, sums, ref);
      return QG_OK;
    }
  }
  pthread_mutex_unlock(&g_lock);
  hash_bytes((const uint8_t *)w, wbytes, &h1, &h2);
  pthread_mutex_lock(&g_lock);
  for (size_t i = 0; i < g_count; i++) {
    qg__qpack *e = g_entries[i];
    if (same_key(e, s, wbytes, h1, h2)) {
      hit(e, packed, sums, ref);
      return QG_OK;
    }
  }
  g_misses++;
  pthread_mutex_unlock(&g_lock);

  qg__qpack *e = qg__calloc(1, sizeof *e);
  if (e) {
    e->packed = qg__malloc(s->bytes + 1);
    e->sums = qg__malloc((size_t)s->nsums * sizeof *e->sums + 1);
  }
  if (!e || !e->packed || !e->sums) {
    if (e) entry_free(e);
    return qg_oom("packing a quantized weight");
  }
  s->pack(s->ud, e->packed, e->sums);
  e->refs = 1;
  e->layout = s->layout;
  memcpy(e->dims, s->dims, sizeof e->dims);
  e->wbytes = wbytes;
  e->h1 = h1;
  e->h2 = h2;
  e->snapshot_serial = s->snapshot_serial;
  e->snapshot_offset = s->snapshot_offset;
  e->bytes = s->bytes + (size_t)s->nsums * sizeof *e->sums;

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
  *packed = e->packed;
  *sums = e->sums;
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
