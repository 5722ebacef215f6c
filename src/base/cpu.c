/* CPU feature checks (cpu.h). */
#include "base/cpu.h"

int qg_cpu_has_avx2(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  static int cached = -1; /* a benign race: every thread computes the same value */
  if (cached < 0) cached = __builtin_cpu_supports("avx2") ? 1 : 0;
  return cached;
#else
  return 0;
#endif
}

int qg_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  static int cached = -1;
  if (cached < 0) cached = qg_cpu_has_avx2() && __builtin_cpu_supports("fma") ? 1 : 0;
  return cached;
#else
  return 0;
#endif
}

int qg_cpu_has_avx512f(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  static int cached = -1;
  if (cached < 0) cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
  return cached;
#else
  return 0;
#endif
}
