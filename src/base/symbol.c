#include "base/symbol.h"

#include <pthread.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hashmap.h"

static const char *const predefined[] = {
    "",
#define X(ns, name) #ns "::" #name,
#include "base/symbols.def"
#undef X
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static qg_hashmap by_name;
static const char **names; /* names[i] for every symbol i (predefined ones point at statics) */
static size_t nnames, capnames;

/* Caller holds the lock. Registers the predefined symbols on first use. */
static int ensure_init(void) {
  if (nnames) return 0;
  size_t n = sizeof predefined / sizeof predefined[0];
  if (qg__grow((void **)&names, &capnames, n, sizeof *names)) return -1;
  for (size_t i = 1; i < n; i++) {
    if (qg_hashmap_put(&by_name, predefined[i], (void *)(uintptr_t)i)) {
      qg_hashmap_free(&by_name);
      return -1;
    }
  }
  memcpy(names, predefined, n * sizeof *names);
  nnames = n;
  return 0;
}

qg_status qg_sym_internn(const char *s, size_t n, qg_sym_t *out) {
  qg_status st = QG_OK;
  pthread_mutex_lock(&lock);
  if (ensure_init()) {
    st = qg_oom("the symbol table");
    goto done;
  }
  void *found = qg_hashmap_getn(&by_name, s, n);
  if (found) {
    *out = (qg_sym_t)(uintptr_t)found;
    goto done;
  }
  char *copy = qg__strndup(s, n);
  if (!copy || qg__grow((void **)&names, &capnames, nnames + 1, sizeof *names) ||
      qg_hashmap_put(&by_name, copy, (void *)(uintptr_t)nnames)) {
    qg__free(copy);
    st = qg_oom("a symbol");
    goto done;
  }
  names[nnames] = copy;
  *out = (qg_sym_t)nnames++;
done:
  pthread_mutex_unlock(&lock);
  return st;
}

qg_status qg_sym_intern(const char *s, qg_sym_t *out) { return qg_sym_internn(s, strlen(s), out); }

qg_sym_t qg_sym_lookup(const char *s) {
  pthread_mutex_lock(&lock);
  qg_sym_t r = QG_SYM_NONE;
  if (nnames) r = (qg_sym_t)(uintptr_t)qg_hashmap_get(&by_name, s);
  else {
    for (size_t i = 1; i < sizeof predefined / sizeof predefined[0]; i++)
      if (strcmp(predefined[i], s) == 0) r = (qg_sym_t)i;
  }
  pthread_mutex_unlock(&lock);
  return r;
}

const char *qg_sym_str(qg_sym_t s) {
  if (s < sizeof predefined / sizeof predefined[0]) return predefined[s];
  pthread_mutex_lock(&lock);
  const char *r = s < nnames ? names[s] : "<bad symbol>";
  pthread_mutex_unlock(&lock);
  return r;
}

const char *qg_sym_unqual(qg_sym_t s) {
  const char *str = qg_sym_str(s);
  const char *p = strstr(str, "::");
  return p ? p + 2 : str;
}

int qg_sym_has_ns(qg_sym_t s, const char *ns) {
  const char *str = qg_sym_str(s);
  size_t n = strlen(ns);
  return strncmp(str, ns, n) == 0 && str[n] == ':' && str[n + 1] == ':';
}
