/* CPU features for kernels with run-time dispatch: AVX2 loops are compiled with per-function
 * target attributes and chosen when the CPU has the instructions, so one binary runs on any
 * x86-64 (and elsewhere, where these report 0). */
#ifndef QG_BASE_CPU_H
#define QG_BASE_CPU_H

/* 1 when the CPU runs AVX2 (checked once). */
int qg_cpu_has_avx2(void);
/* 1 when it runs AVX2 and FMA (loops reproducing PyTorch's fused multiply-adds). */
int qg_cpu_has_avx2_fma(void);
/* 1 when it runs AVX-512F. */
int qg_cpu_has_avx512f(void);

#endif
