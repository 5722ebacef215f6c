/* Quantized conv / linear latency of the CPU kernels against the float kernels on the same
 * shapes, single-threaded: bench_qconv [repeats] [isa] [case]. Prints one CSV line per case
 * (best of `repeats` after one warm-up call): float ms, int8 ms (FBGEMM requantization), their
 * ratio. isa forces the integer GEMM kernel: 0 portable C, 1 AVX2, 2 AVX-512 VNNI (default: the
 * best the CPU has); case runs only that convolution (its index in the list: for profiling). The
 * cases are ResNet-18's convolutions (batch 1), ResNet-50's 1x1 ones and three linear shapes;
 * bench/bench_torch_qconv.py times PyTorch's quantized ops on the same list. The int8 times
 * include the per-call weight-cache lookup (a hash of the weight, qpack_cache.h). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "ops/cpu/conv.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/linalg.h"
#include "ops/cpu/qconv.h"
#include "ops/cpu/qgemm.h"
#include "ops/cpu/qlinear.h"

static qg_tensor *float_tensor(int ndim, const int64_t *shape) {
  qg_tensor *t;
  if (qg_tensor_create(QG_DTYPE_F32, ndim, shape, &t) != QG_OK) return NULL;
  float *p = qg_tensor_data(t);
  for (int64_t i = 0; i < qg_tensor_numel(t); i++) p[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  return t;
}

static qg_tensor *quant_tensor(qg_dtype dt, int ndim, const int64_t *shape, double scale, int64_t zp) {
  qg_quantizer *q;
  qg_tensor *t = NULL;
  if (qg_quantizer_per_tensor(scale, zp, &q) != QG_OK) return NULL;
  if (qg_tensor_create_quantized(dt, ndim, shape, q, &t) == QG_OK) {
    uint8_t *p = qg_tensor_data(t);
    for (int64_t i = 0; i < qg_tensor_numel(t); i++) p[i] = (uint8_t)((i * 7919) % 251);
  }
  qg_quantizer_release(q);
  return t;
}

typedef qg_status (*run_fn)(void *ud, qg_tensor **out);

/* Best wall time of `repeats` calls after one warm-up, in ms; -1 on error. */
static double best_ms(run_fn fn, void *ud, int repeats) {
  double best = 1e30;
  for (int r = 0; r <= repeats; r++) {
    qg_tensor *y = NULL;
    double t0 = now_s();
    if (fn(ud, &y) != QG_OK) {
      fprintf(stderr, "failed: %s\n", qg_last_error());
      return -1;
    }
    double dt = now_s() - t0;
    qg_tensor_release(y);
    if (r > 0 && dt < best) best = dt;
  }
  return best * 1e3;
}

typedef struct conv_case {
  qg_tensor *xf, *wf, *bf, *xq, *wq;
  int64_t k, stride, pad;
} conv_case;

static qg_status conv_float(void *ud, qg_tensor **out) {
  conv_case *c = ud;
  int64_t one = 1;
  return qg_cpu_conv_nd(2, c->xf, c->wf, c->bf, &c->stride, 1, &c->pad, 1, &one, 1, 1, out);
}

static qg_status conv_int8(void *ud, qg_tensor **out) {
  conv_case *c = ud;
  qg_conv_params p;
  qg_conv_params_init(&p, 2, 0);
  p.stride[0] = p.stride[1] = c->stride;
  p.padding[0] = p.padding[1] = c->pad;
  return qg_cpu_qconv(c->xq, c->wq, c->bf, &p, 0.5, 64, 1, out);
}

typedef struct linear_case {
  qg_tensor *xf, *wf, *bf, *xq, *wq;
} linear_case;

static qg_status linear_float(void *ud, qg_tensor **out) {
  linear_case *c = ud;
  return qg_cpu_linear(c->xf, c->wf, c->bf, out);
}

static qg_status linear_int8(void *ud, qg_tensor **out) {
  linear_case *c = ud;
  return qg_cpu_qlinear(c->xq, c->wq, c->bf, 0.5, 64, 0, out);
}

static qg_status linear_dynamic(void *ud, qg_tensor **out) {
  linear_case *c = ud;
  return qg_cpu_qlinear_dynamic(c->xf, c->wq, c->bf, 1, 0, out);
}

static const char *isa_name(qg__qgemm_isa i) {
  return i == QG_QGEMM_AVX512VNNI ? "avx512vnni" : i == QG_QGEMM_AVX2 ? "avx2" : "generic";
}

int main(int argc, char **argv) {
  int repeats = argc > 1 ? atoi(argv[1]) : 5;
  if (argc > 2 && !qg__qgemm_force_isa(atoi(argv[2]))) {
    fprintf(stderr, "integer GEMM kernel %s is not available on this CPU\n", argv[2]);
    return 1;
  }
  int only = argc > 3 ? atoi(argv[3]) : -1;
  qg_cpu_set_num_threads(1);
  printf("# OpenBLAS core: %s; int8 GEMM kernel: %s; single thread\n", qg_cpu_blas_core(),
         isa_name(qg__qgemm_isa_current()));
  printf("case,shape,float_ms,int8_ms,float_over_int8\n");
  /* cin, cout, input size, kernel, stride: ResNet-18's convolutions (batch 1), then ResNet-50's
   * 1x1 ones (padding k / 2) */
  static const int64_t convs[][5] = {{3, 64, 224, 7, 2},   {64, 64, 56, 3, 1},    {64, 128, 56, 3, 2},
                                     {64, 128, 56, 1, 2},  {128, 128, 28, 3, 1},  {256, 256, 14, 3, 1},
                                     {512, 512, 7, 3, 1},  {256, 64, 56, 1, 1},   {64, 256, 56, 1, 1},
                                     {512, 128, 28, 1, 1}, {1024, 256, 14, 1, 1}, {256, 1024, 14, 1, 1},
                                     {2048, 512, 7, 1, 1}, {512, 2048, 7, 1, 1}};
  for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++) {
    if (only >= 0 && (size_t)only != i) continue;
    int64_t ci = convs[i][0], co = convs[i][1], hw = convs[i][2], k = convs[i][3];
    int64_t xs[4] = {1, ci, hw, hw}, ws[4] = {co, ci, k, k}, bs[1] = {co};
    conv_case c = {float_tensor(4, xs), float_tensor(4, ws), float_tensor(1, bs),
                   quant_tensor(QG_DTYPE_QUINT8, 4, xs, 0.05, 60), quant_tensor(QG_DTYPE_QINT8, 4, ws, 0.01, 0),
                   k, convs[i][4], k / 2};
    if (!c.xf || !c.wf || !c.bf || !c.xq || !c.wq) return 1;
    double f = best_ms(conv_float, &c, repeats), q = best_ms(conv_int8, &c, repeats);
    printf("conv%lldx%lld_relu,%lld->%lldx%lldx%lld/s%lld,%.3f,%.3f,%.2f\n", (long long)k, (long long)k, (long long)ci,
           (long long)co, (long long)hw, (long long)hw, (long long)c.stride, f, q, f / q);
    qg_tensor_release(c.xf), qg_tensor_release(c.wf), qg_tensor_release(c.bf);
    qg_tensor_release(c.xq), qg_tensor_release(c.wq);
  }
  static const int64_t linears[][3] = {{1, 1024, 1024}, {64, 1024, 1024}, {128, 768, 3072}};
  for (size_t i = 0; only < 0 && i < sizeof linears / sizeof linears[0]; i++) {
    int64_t m = linears[i][0], k = linears[i][1], n = linears[i][2];
    int64_t xs[2] = {m, k}, ws[2] = {n, k}, bs[1] = {n};
    linear_case c = {float_tensor(2, xs), float_tensor(2, ws), float_tensor(1, bs),
                     quant_tensor(QG_DTYPE_QUINT8, 2, xs, 0.05, 60), quant_tensor(QG_DTYPE_QINT8, 2, ws, 0.01, 0)};
    if (!c.xf || !c.wf || !c.bf || !c.xq || !c.wq) return 1;
    double f = best_ms(linear_float, &c, repeats), q = best_ms(linear_int8, &c, repeats);
    double d = best_ms(linear_dynamic, &c, repeats);
    printf("linear,%lldx%lldx%lld,%.3f,%.3f,%.2f\n", (long long)m, (long long)k, (long long)n, f, q, f / q);
    printf("linear_dynamic,%lldx%lldx%lld,%.3f,%.3f,%.2f\n", (long long)m, (long long)k, (long long)n, f, d, f / d);
    qg_tensor_release(c.xf), qg_tensor_release(c.wf), qg_tensor_release(c.bf);
    qg_tensor_release(c.xq), qg_tensor_release(c.wq);
  }
  return 0;
}
