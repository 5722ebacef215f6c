/* Float conv throughput of the CPU reference on ResNet-18's convolutions (batch 1, 224x224),
 * single-threaded unless a thread count is given: bench_conv [threads] [repeats].
 * Prints one CSV line per layer shape (count, ms per call, GFLOP/s) and the total per image,
 * to set against PyTorch's own single-thread time for the same layers. On a VM where OpenBLAS
 * reports the "Prescott" core, run with OPENBLAS_CORETYPE=SkylakeX (or Haswell). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "ops/cpu/conv.h"
#include "ops/cpu/gemm.h"

typedef struct layer {
  int count; /* how many times ResNet-18 runs this shape */
  int64_t cin, cout, k, stride, pad, hw;
} layer;

static const layer LAYERS[] = {
    {1, 3, 64, 7, 2, 3, 224},   {4, 64, 64, 3, 1, 1, 56},    {1, 64, 128, 3, 2, 1, 56},
    {3, 128, 128, 3, 1, 1, 28}, {1, 64, 128, 1, 2, 0, 56},   {1, 128, 256, 3, 2, 1, 28},
    {3, 256, 256, 3, 1, 1, 14}, {1, 128, 256, 1, 2, 0, 28},  {1, 256, 512, 3, 2, 1, 14},
    {3, 512, 512, 3, 1, 1, 7},  {1, 256, 512, 1, 2, 0, 14},
};

static qg_tensor *filled(int ndim, const int64_t *shape) {
  qg_tensor *t;
  if (qg_tensor_create(QG_DTYPE_F32, ndim, shape, &t) != QG_OK) return NULL;
  float *p = qg_tensor_data(t);
  for (int64_t i = 0; i < qg_tensor_numel(t); i++) p[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  return t;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  int repeats = argc > 2 ? atoi(argv[2]) : 5;
  qg_cpu_set_num_threads(threads);
  printf("# OpenBLAS core: %s\n", qg_cpu_blas_core());
  printf("layer,count,cin,cout,k,stride,hw,ms_per_call,gflops\n");
  double total = 0;
  for (size_t i = 0; i < sizeof LAYERS / sizeof *LAYERS; i++) {
    const layer *l = &LAYERS[i];
    int64_t xs[4] = {1, l->cin, l->hw, l->hw}, ws[4] = {l->cout, l->cin, l->k, l->k};
    int64_t bs[1] = {l->cout};
    qg_tensor *x = filled(4, xs), *w = filled(4, ws), *b = filled(1, bs), *y = NULL;
    if (!x || !w || !b) return 1;
    int64_t stride = l->stride, pad = l->pad, one = 1;
    double best = 1e30;
    for (int r = 0; r < repeats + 1; r++) {
      double t0 = now_s();
      if (qg_cpu_conv_nd(2, x, w, b, &stride, 1, &pad, 1, &one, 1, 1, &y) != QG_OK) {
        fprintf(stderr, "conv failed: %s\n", qg_last_error());
        return 1;
      }
      double dt = now_s() - t0;
      if (r > 0 && dt < best) best = dt; /* the first run warms caches and BLAS buffers */
      qg_tensor_release(y);
    }
    int64_t oh = (l->hw + 2 * l->pad - l->k) / l->stride + 1;
    double flops = 2.0 * (double)(l->cout * oh * oh * l->cin * l->k * l->k);
    printf("%zu,%d,%lld,%lld,%lld,%lld,%lld,%.3f,%.1f\n", i, l->count, (long long)l->cin,
           (long long)l->cout, (long long)l->k, (long long)l->stride, (long long)l->hw,
           best * 1e3, flops / best * 1e-9);
    total += best * l->count;
    qg_tensor_release(x);
    qg_tensor_release(w);
    qg_tensor_release(b);
  }
  printf("# total conv time per image: %.2f ms (%d thread%s)\n", total * 1e3, threads,
         threads == 1 ? "" : "s");
  return 0;
}
