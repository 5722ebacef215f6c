#include "base/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *libc_malloc(size_t size, void *ud) { (void)ud; return malloc(size); }
static void *libc_realloc(void *p, size_t size, void *ud) { (void)ud; return realloc(p, size); }
static void libc_free(void *p, void *ud) { (void)ud; free(p); }

static qg_allocator current = {libc_malloc, libc_realloc, libc_free, NULL};

/* Failure injection state. Thread-local so parallel tests in one process do not interfere. */
static _Thread_local long fail_countdown = -1;
static _Thread_local int injected;
static _Thread_local unsigned long alloc_count;

void qg_set_allocator(const qg_allocator *a) {
  if (a) current = *a;
  else current = (qg_allocator){libc_malloc, libc_realloc, libc_free, NULL};
}

void qg__alloc_fail_after(long n) {
  fail_countdown = n;
  injected = 0;
}
unsigned long qg__alloc_count(void) { return alloc_count; }
int qg__alloc_failed(void) { return injected; }

static int should_fail(void) {
  alloc_count++;
  if (fail_countdown < 0) return 0;
  if (fail_countdown == 0) {
    injected = 1;
    return 1;
  }
  fail_countdown--;
  return 0;
}

void *qg__malloc(size_t size) {
  if (should_fail()) return NULL;
  return current.malloc_fn(size ? size : 1, current.user_data);
}

void *qg__calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = qg__malloc(n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

void *qg__realloc(void *ptr, size_t size) {
  if (should_fail()) return NULL;
  return current.realloc_fn(ptr, size ? size : 1, current.user_data);
}

void qg__free(void *ptr) {
  if (ptr) current.free_fn(ptr, current.user_data);
}

char *qg__strndup(const char *s, size_t n) {
  char *d = qg__malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *qg__strdup(const char *s) { return qg__strndup(s, strlen(s)); }

int qg__grow(void **ptr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 4;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2 / elem) return -1;
    ncap *= 2;
  }
  void *p = qg__realloc(*ptr, ncap * elem);
  if (!p) return -1;
  *ptr = p;
  *cap = ncap;
  return 0;
}
