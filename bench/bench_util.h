/* Timing helpers shared by the bench/ programs (header-only: each program is one source file). */
#ifndef QG_BENCH_UTIL_H
#define QG_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* Monotonic wall time in seconds. */
static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of t[0..n) (n > 0); sorts t, so t[0] is then the minimum. */
static inline double median_of(double *t, int n) {
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  return t[n / 2];
}

#endif
