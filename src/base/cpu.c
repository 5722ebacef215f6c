/* CPU feature checks (cpu.h): each asked once and cached (a benign race: every thread computes
 * the same value). */
#include "base/cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define QG__CPU_FEATURE(NAME, EXPR)                  \
  int NAME(void) {                                   \
    static int cached = -1;                          \
    if (cached < 0) cached = (EXPR) ? 1 : 0;         \
    return cached;                                   \
  }
#else
#define QG__CPU_FEATURE(NAME, EXPR) \
  int NAME(void) { return 0; }
#endif

QG__CPU_FEATURE(qg_cpu_has_avx2, __builtin_cpu_supports("avx2"))
QG__CPU_FEATURE(qg_cpu_has_avx2_fma, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
QG__CPU_FEATURE(qg_cpu_has_avx512f, __builtin_cpu_supports("avx512f"))
