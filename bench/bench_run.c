/* Model latency benchmark on the CPU reference: load a bundle, make a fixed pseudo-random f32
 * input, run `forward` through a runner (plans cached) after warm-up, and report the median,
 * p90 and min latency. Single thread by default, to compare with bench/bench_torch.py.
 *
 *   bench_run BUNDLE [--shape 1,3,224,224] [--iters 30] [--warmup 5] [--threads 1] [--json FILE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "module/module.h"
#include "ops/cpu/gemm.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int usage(void) {
  fprintf(stderr, "usage: bench_run BUNDLE [--shape 1,3,224,224] [--iters N] [--warmup N] [--threads N] [--json FILE]\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *path = NULL, *json = NULL, *shape_s = "1,3,224,224";
  int iters = 30, warmup = 5, threads = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--shape") && i + 1 < argc) shape_s = argv[++i];
    else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else if (!path && argv[i][0] != '-') path = argv[i];
    else return usage();
  }
  if (!path || iters < 1 || warmup < 0 || threads < 1) return usage();
  int64_t shape[QG_MAX_DIMS];
  int ndim = 0;
  for (const char *p = shape_s; *p && ndim < QG_MAX_DIMS;) {
    shape[ndim++] = strtoll(p, (char **)&p, 10);
    if (*p == ',') p++;
  }
  qg_module *m = NULL;
  qg_runner *r = NULL;
  qg_tensor *x = NULL;
  qg_run_opts opts = {threads};
  if (qg_module_load(path, &m) || qg_runner_create(m, &opts, &r) ||
      qg_tensor_create(QG_DTYPE_F32, ndim, shape, &x)) {
    fprintf(stderr, "bench_run: %s\n", qg_last_error());
    return 1;
  }
  /* Fixed input: uniform in [-1, 1) from a 64-bit LCG, so runs are comparable. */
  uint64_t s = 42;
  float *xd = qg_tensor_data(x);
  for (int64_t i = 0; i < qg_tensor_numel(x); i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    xd[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
  }
  qg_ival arg = qg_ival_tensor(x);
  double *t = calloc((size_t)iters, sizeof *t);
  for (int i = 0; i < warmup + iters; i++) {
    qg_ival out;
    double t0 = now_ms();
    if (qg_runner_run(r, NULL, "forward", &arg, 1, &out)) {
      fprintf(stderr, "bench_run: %s\n", qg_last_error());
      return 1;
    }
    double t1 = now_ms();
    qg_ival_release(&out);
    if (i >= warmup) t[i - warmup] = t1 - t0;
  }
  qsort(t, (size_t)iters, sizeof *t, cmp_double);
  double med = t[iters / 2], p90 = t[(int)(0.9 * (iters - 1))], mn = t[0];
  printf("quantgraph %s: median %.2f ms, p90 %.2f ms, min %.2f ms (%d thread(s), %d runs, BLAS core %s)\n",
         path, med, p90, mn, threads, iters, qg_cpu_blas_core());
  if (json) {
    FILE *f = fopen(json, "w");
    if (!f) {
      perror(json);
      return 1;
    }
    fprintf(f,
            "{\"name\": \"quantgraph/%s\", \"threads\": %d, \"iterations\": %d, \"median_ms\": %.4f, "
            "\"p90_ms\": %.4f, \"min_ms\": %.4f, \"blas_core\": \"%s\"}\n",
            path, threads, iters, med, p90, mn, qg_cpu_blas_core());
    fclose(f);
  }
  free(t);
  qg_ival_release(&arg);
  qg_runner_free(r);
  qg_module_free(m);
  return 0;
}
