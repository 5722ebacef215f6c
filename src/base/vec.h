/* A typed growable array: `QG_VEC(int) v = {0}; if (QG_VEC_PUSH(&v, 3)) ...oom...; QG_VEC_FREE(&v);` */
#ifndef QG_BASE_VEC_H
#define QG_BASE_VEC_H

#include "base/alloc.h"

#define QG_VEC(T) \
  struct {        \
    T *data;      \
    size_t len;   \
    size_t cap;   \
  }

/* Appends x; evaluates to 0 on success, -1 on allocation failure (vector unchanged). */
#define QG_VEC_PUSH(v, x)                                                              \
  (qg__grow((void **)&(v)->data, &(v)->cap, (v)->len + 1, sizeof(*(v)->data)) == 0     \
       ? ((v)->data[(v)->len++] = (x), 0)                                              \
       : -1)
/* Ensures capacity for n elements; 0 or -1. */
#define QG_VEC_RESERVE(v, n) qg__grow((void **)&(v)->data, &(v)->cap, (n), sizeof(*(v)->data))
#define QG_VEC_FREE(v)   \
  do {                   \
    qg__free((v)->data); \
    (v)->data = NULL;    \
    (v)->len = (v)->cap = 0; \
  } while (0)

#endif
