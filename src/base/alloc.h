/* Allocation wrappers. All library allocation goes through these so that tests can inject
 * failures (every allocation from the N-th on returns NULL) and count outstanding blocks. */
#ifndef QG_BASE_ALLOC_H
#define QG_BASE_ALLOC_H

#include <stddef.h>

typedef struct qg_allocator {
  void *(*malloc_fn)(size_t size, void *user_data);
  void *(*realloc_fn)(void *ptr, size_t size, void *user_data);
  void (*free_fn)(void *ptr, void *user_data);
  void *user_data;
} qg_allocator;

/* Replaces the allocator (NULL restores libc). Not thread-safe; call before any other use. */
void qg_set_allocator(const qg_allocator *a);

void *qg__malloc(size_t size);
void *qg__calloc(size_t n, size_t size); /* overflow-checked */
void *qg__realloc(void *ptr, size_t size);
void qg__free(void *ptr);
char *qg__strdup(const char *s);
char *qg__strndup(const char *s, size_t n);
/* Grows `*ptr` (an array of `elem` bytes with capacity *cap) to hold at least `need` elements.
 * Returns 0 on success, -1 on allocation failure (then *ptr and *cap are unchanged). */
int qg__grow(void **ptr, size_t *cap, size_t need, size_t elem);

/* Failure injection for tests. qg__alloc_fail_after(n): the n-th allocation from now (0 = the
 * next one) and every one after it fail, until qg__alloc_fail_after(-1). */
void qg__alloc_fail_after(long n);
/* Number of allocations attempted since the process started (successful or not). */
unsigned long qg__alloc_count(void);
/* True once an injected failure has been returned since the last qg__alloc_fail_after(). */
int qg__alloc_failed(void);

#endif
