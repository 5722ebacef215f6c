/* A process-wide cache of linear weights in the integer GEMM's panel form (qgemm.h), so a
 * quantized linear layer does not re-pack its weight on every call (for one input row the
 * packing costs more than the product).
 *
 * Entries are found by content, not by tensor identity: the key is the shape, the zero points
 * and two independent 64-bit hashes of the weight bytes, computed on every call (about 1/20 of
 * the packing cost). A weight changed in place therefore misses the cache instead of returning
 * stale panels; nothing holds a reference to the caller's tensors. Up to QG_QPACK_CACHE_ENTRIES
 * entries and QG_QPACK_CACHE_BYTES bytes, least recently used first out. Thread-safe; an entry
 * in use is kept alive by its reference until qg__qpack_release. */
#ifndef QG_OPS_CPU_QPACK_CACHE_H
#define QG_OPS_CPU_QPACK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define QG_QPACK_CACHE_ENTRIES 64
#define QG_QPACK_CACHE_BYTES ((size_t)256 << 20)

typedef struct qg__qpack qg__qpack;

/* The panels of the n x k int8 matrix w (row-major, rows of k) minus zp[j] (zp_per_row) or
 * zp[0]: qg__qgemm_panels_s8's result. *panels is valid until qg__qpack_release(*ref). OOM. */
qg_status qg__qpack_get(const int8_t *w, int64_t n, int64_t k, const int32_t *zp, int zp_per_row,
                        const int16_t **panels, qg__qpack **ref) QG_MUST_USE;
void qg__qpack_release(qg__qpack *ref); /* NULL is a no-op */

/* Drops every entry not in use (tests, memory pressure). */
void qg__qpack_cache_clear(void);
/* Lookups that found an entry / that had to pack, since the process started. */
void qg__qpack_cache_stats(size_t *hits, size_t *misses);

#endif
