/* A process-wide cache of conv and linear weights in the integer GEMM's packed forms (qgemm.h),
 * so a quantized layer does not re-pack its weight on every call (for one input row the packing
 * costs more than the product).
 *
 * Entries are found by content, not by tensor identity: the key is the layout, its geometry and
 * two independent 64-bit hashes of the weight bytes, computed on every call (a read of the
 * weight at memory speed, a fraction of the packing cost). A weight changed in place therefore
 * misses the cache instead of returning a stale packing; nothing holds a reference to the
 * caller's tensors. The exception is an immutable weight (the spec's snapshot): found by its
 * storage serial, with no hashing. Up to QG_QPACK_CACHE_ENTRIES entries (enough for every layer of large
 * CNNs: a model with more layers than entries would re-pack on every call) and
 * QG_QPACK_CACHE_BYTES bytes, least recently used first out. Thread-safe; an entry in use is
 * kept alive by its reference until qg__qpack_release. */
#ifndef QG_OPS_CPU_QPACK_CACHE_H
#define QG_OPS_CPU_QPACK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define QG_QPACK_CACHE_ENTRIES 1024
#define QG_QPACK_CACHE_BYTES ((size_t)256 << 20)

typedef struct qg__qpack qg__qpack;

/* What to pack and how: the key is (layout, dims, the weight's bytes); pack fills the packed
 * form (bytes long) and nsums int32 values kept with it (the weight sums of qgemm.h). */
typedef struct qg__qpack_spec {
  int layout;      /* the caller's tag for the packed form (QG_QPACK_*) */
  int64_t dims[4]; /* the geometry the packed form depends on */
  size_t bytes;
  int64_t nsums;
  void (*pack)(const void *ud, uint8_t *packed, int32_t *sums);
  const void *ud;
  /* Non-zero when the weight is an immutable storage's bytes (qg_tensor_mark_immutable:
   * packed-params weights): its serial and the weight's offset in it. The entry is then found
   * by these without hashing the bytes (PyTorch's packed weights are snapshots too). */
  uint64_t snapshot_serial;
  int64_t snapshot_offset;
} qg__qpack_spec;

enum { QG_QPACK_LINEAR = 1, QG_QPACK_CONV = 2, QG_QPACK_CONV_TRANSPOSE = 3 };

/* The packed form of the wbytes bytes at w, packed by s->pack on a miss. *packed and *sums are
 * valid until qg__qpack_release(*ref). OOM. */
qg_status qg__qpack_get(const void *w, size_t wbytes, const qg__qpack_spec *s, const uint8_t **packed,
                        const int32_t **sums, qg__qpack **ref) QG_MUST_USE;
void qg__qpack_release(qg__qpack *ref); /* NULL is a no-op */

/* Drops every entry not in use (tests, memory pressure). */
void qg__qpack_cache_clear(void);
/* Lookups that found an entry / that had to pack, since the process started. */
void qg__qpack_cache_stats(size_t *hits, size_t *misses);

#endif
