/* The process-wide op registry: every row of ops.def parsed once into schemas whose types live
 * in a registry-owned compilation unit, indexed by op symbol.
 *
 * Built on first qg_op_registry_init under a mutex; `ready` is published with release order
 * so the lookups, which take no lock, see a complete registry. A failed build (out of memory)
 * frees what it made and leaves the registry unbuilt, so a later call can retry -- which is
 * why this is a mutex and not pthread_once. The registry lives until the process exits. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hashmap.h"
#include "ir/schema.h"

typedef struct op_row {
  const char *text;
  unsigned flags;
} op_row;

static const op_row k_rows[] = {
#define X(schema, flags) {schema, flags},
#include "ir/ops.def"
#undef X
};
#define NROWS (sizeof k_rows / sizeof k_rows[0])

/* All overloads of one op, consecutive in `schemas` (ops.def groups rows by name). */
typedef struct op_entry {
  const qg_schema_t *const *overloads;
  size_t count;
} op_entry;

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_ready;
static qg_cu_t *g_cu;
static qg_schema_t **g_schemas;  /* NROWS, table order */
static op_entry *g_entries;      /* one per distinct name */
static qg_hashmap g_by_name = QG_HASHMAP_INIT; /* qg_sym_str(name) -> op_entry* (while building) */
/* op_entry* by symbol id, up to the largest op symbol: lookups are an index, not a string hash
 * (passes ask for the overloads of every node they look at). Op names are interned while the
 * registry is built, so a symbol made later is never an op. */
static op_entry **g_by_sym;
static qg_sym_t g_max_sym;

static void teardown(void) {
  if (g_schemas != NULL)
    for (size_t i = 0; i < NROWS; i++) qg_schema_free(g_schemas[i]);
  qg__free(g_schemas);
  qg__free(g_entries);
  qg__free(g_by_sym);
  g_by_sym = NULL;
  qg_hashmap_free(&g_by_name);
  if (g_cu != NULL) qg_cu_release(g_cu);
  g_schemas = NULL;
  g_entries = NULL;
  g_cu = NULL;
}

static qg_status build(void) {
  QG_TRY(qg_cu_create(&g_cu));
  g_schemas = qg__calloc(NROWS, sizeof *g_schemas);
  g_entries = qg__calloc(NROWS, sizeof *g_entries);
  if (g_schemas == NULL || g_entries == NULL) return qg_oom("op registry");
  size_t nentries = 0;
  for (size_t i = 0; i < NROWS; i++) {
    qg_status st = qg_schema_parse(g_cu, k_rows[i].text, &g_schemas[i]);
    if (st != QG_OK) return qg_error_prefix(st, "ops.def row %zu", i + 1);
    g_schemas[i]->flags = k_rows[i].flags;
    const char *key = qg_sym_str(g_schemas[i]->name);
    op_entry *e = qg_hashmap_get(&g_by_name, key);
    if (e == NULL) {
      e = &g_entries[nentries++];
      e->overloads = (const qg_schema_t *const *)&g_schemas[i];
      if (qg_hashmap_put(&g_by_name, key, e) != 0) return qg_oom("op registry index");
    } else if (e->overloads + e->count != (const qg_schema_t *const *)&g_schemas[i]) {
      /* The generator groups overloads; a split group would make lookups miss rows. */
      return qg_set_error(QG_STATUS_FORMAT, "ops.def row %zu: overloads of %s are not consecutive", i + 1,
                          key);
    }
    e->count++;
  }
  g_max_sym = 0;
  for (size_t i = 0; i < nentries; i++)
    if (g_entries[i].overloads[0]->name > g_max_sym) g_max_sym = g_entries[i].overloads[0]->name;
  g_by_sym = qg__calloc((size_t)g_max_sym + 1, sizeof *g_by_sym);
  if (g_by_sym == NULL) return qg_oom("op registry index");
  for (size_t i = 0; i < nentries; i++) g_by_sym[g_entries[i].overloads[0]->name] = &g_entries[i];
  return QG_OK;
}

qg_status qg_op_registry_init(void) {
  if (atomic_load_explicit(&g_ready, memory_order_acquire)) return QG_OK;
  pthread_mutex_lock(&g_mutex);
  qg_status st = QG_OK;
  if (!atomic_load_explicit(&g_ready, memory_order_relaxed)) {
    st = build();
    if (st == QG_OK) atomic_store_explicit(&g_ready, 1, memory_order_release);
    else teardown();
  }
  pthread_mutex_unlock(&g_mutex);
  return st;
}

static int ready(void) { return atomic_load_explicit(&g_ready, memory_order_acquire); }

const qg_schema_t *const *qg_op_overloads(qg_sym_t op, size_t *count) {
  *count = 0;
  if (!ready() || op == QG_SYM_NONE || op > g_max_sym) return NULL;
  const op_entry *e = g_by_sym[op];
  if (e == NULL) return NULL;
  *count = e->count;
  return e->overloads;
}

int qg_op_is_known(qg_sym_t op) {
  size_t n;
  return qg_op_overloads(op, &n) != NULL && n > 0;
}

size_t qg_op_registry_size(void) { return ready() ? NROWS : 0; }

const qg_schema_t *qg_op_registry_at(size_t i) {
  return ready() && i < NROWS ? g_schemas[i] : NULL;
}
