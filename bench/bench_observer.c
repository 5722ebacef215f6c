/* Observer update throughput: forward() of each observer kind on a 64 MB float32 tensor
 * (16M elements), in GB/s of input read, median of N runs, next to a plain read of the same
 * buffer (the memory bandwidth one core gets); and the time of HistogramObserver's
 * calculate_qparams (2048 bins: _non_linear_param_search).
 *
 *   bench_observer [--repeat N] [--elements N] [--json FILE]
 *
 * Prints a table and, with --json, a Google-Benchmark-style JSON report. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "quant/observer.h"
#include "tensor/tensor_ops.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define DIE(st)                                                             \
  do {                                                                      \
    fprintf(stderr, "bench_observer: %s\n", qg_last_error());              \
    (void)(st);                                                             \
    exit(1);                                                                \
  } while (0)
#define CHECK(expr)                 \
  do {                              \
    qg_status s_ = (expr);          \
    if (s_ != QG_OK) DIE(s_);       \
  } while (0)

/* A read of every byte (an OR over 16-byte words): the bandwidth reference. */
static volatile uint64_t g_sink;
static void read_all(const float *p, int64_t n) {
#if defined(__SSE2__)
  __m128i a = _mm_setzero_si128(), b = a, c = a, d = a;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a = _mm_or_si128(a, _mm_loadu_si128((const __m128i *)(const void *)(p + i)));
    b = _mm_or_si128(b, _mm_loadu_si128((const __m128i *)(const void *)(p + i + 4)));
    c = _mm_or_si128(c, _mm_loadu_si128((const __m128i *)(const void *)(p + i + 8)));
    d = _mm_or_si128(d, _mm_loadu_si128((const __m128i *)(const void *)(p + i + 12)));
  }
  a = _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d));
  uint64_t w[2];
  _mm_storeu_si128((__m128i *)(void *)w, a);
  g_sink = w[0] | w[1];
#else
  uint32_t acc = 0;
  for (int64_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, p + i, 4);
    acc |= u;
  }
  g_sink = acc;
#endif
}

typedef struct result {
  const char *name;
  double seconds; /* median */
  double gbps;
} result;

typedef struct bench {
  const char *name;
  qg_observer_kind kind;
  int ch_axis;
  qg_histogram_variant variant;
  int ndim;
  int64_t shape[4];
} bench;

static qg_tensor *make_input(int ndim, const int64_t *shape, float scale) {
  qg_tensor *t;
  CHECK(qg_tensor_create(QG_DTYPE_F32, ndim, shape, &t));
  float *p = qg_tensor_data(t);
  int64_t n = qg_tensor_numel(t);
  uint32_t r = 12345;
  for (int64_t i = 0; i < n; i++) {
    r = r * 1664525u + 1013904223u;
    p[i] = scale * ((float)(r >> 8) * (1.0f / 16777216.0f) - 0.5f); /* uniform in [-scale/2, scale/2) */
  }
  return t;
}

static result run_observer(qg_cu_t *cu, const bench *b, qg_tensor *x, int repeat) {
  qg_observer_spec s;
  qg_observer_spec_default(b->kind, &s);
  s.ch_axis = b->ch_axis;
  s.histogram_variant = b->variant;
  if (b->kind == QG_OBSERVER_PER_CHANNEL_MINMAX) s.qscheme = QG_QS_PER_CHANNEL_AFFINE;
  qg_ival o;
  CHECK(qg_observer_new(cu, &s, &o));
  CHECK(qg_observer_observe(&o, x)); /* first batch: initialises the state */
  double *t = malloc((size_t)repeat * sizeof *t);
  for (int i = 0; i < repeat; i++) {
    double t0 = now_s();
    CHECK(qg_observer_observe(&o, x));
    t[i] = now_s() - t0;
  }
  result r = {b->name, median(t, repeat), 0};
  r.gbps = (double)qg_tensor_nbytes(x) / r.seconds * 1e-9;
  free(t);
  qg_ival_release(&o);
  return r;
}

/* HistogramObserver after a few batches with growing ranges: calculate_qparams time. */
static result run_histogram_qparams(qg_cu_t *cu, qg_histogram_variant v, const char *name, int repeat) {
  qg_observer_spec s;
  qg_observer_spec_default(QG_OBSERVER_HISTOGRAM, &s);
  s.histogram_variant = v;
  qg_ival o;
  CHECK(qg_observer_new(cu, &s, &o));
  int64_t shape[1] = {1 << 16};
  for (int i = 0; i < 4; i++) {
    qg_tensor *x = make_input(1, shape, 1.0f + (float)i);
    CHECK(qg_observer_observe(&o, x));
    qg_tensor_release(x);
  }
  double *t = malloc((size_t)repeat * sizeof *t);
  for (int i = 0; i < repeat; i++) {
    qg_tensor *sc, *zp;
    double t0 = now_s();
    CHECK(qg_observer_calculate_qparams(&o, &sc, &zp));
    t[i] = now_s() - t0;
    qg_tensor_release(sc);
    qg_tensor_release(zp);
  }
  result r = {name, median(t, repeat), 0};
  free(t);
  qg_ival_release(&o);
  return r;
}

int main(int argc, char **argv) {
  int repeat = 9;
  int64_t n = (int64_t)1 << 24;
  const char *json = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--elements") && i + 1 < argc) n = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else {
      fprintf(stderr, "usage: bench_observer [--repeat N] [--elements N] [--json FILE]\n");
      return 2;
    }
  }
  if (repeat < 1 || n < 4096 || n % 4096) {
    fprintf(stderr, "bench_observer: --repeat >= 1, --elements a multiple of 4096\n");
    return 2;
  }
  const bench benches[] = {
      {"MinMaxObserver", QG_OBSERVER_MINMAX, 0, 0, 1, {n}},
      {"MovingAverageMinMaxObserver", QG_OBSERVER_MOVING_AVERAGE_MINMAX, 0, 0, 1, {n}},
      {"PerChannelMinMax axis 0 [64, N/64]", QG_OBSERVER_PER_CHANNEL_MINMAX, 0, 0, 2, {64, n / 64}},
      {"PerChannelMinMax axis 1 [16, 64, H, W]", QG_OBSERVER_PER_CHANNEL_MINMAX, 1, 0, 4, {16, 64, 64, n / 65536}},
      {"PerChannelMinMax axis 1 [N/64, 64]", QG_OBSERVER_PER_CHANNEL_MINMAX, 1, 0, 2, {n / 64, 64}},
      {"HistogramObserver (current)", QG_OBSERVER_HISTOGRAM, 0, QG_HISTOGRAM_CURRENT, 1, {n}},
      {"HistogramObserver (1.13)", QG_OBSERVER_HISTOGRAM, 0, QG_HISTOGRAM_LEGACY_113, 1, {n}},
  };
  const int nb = (int)(sizeof benches / sizeof benches[0]);
  qg_cu_t *cu;
  CHECK(qg_cu_create(&cu));
  result res[16];
  int nr = 0;
  int64_t flat[1] = {n};
  qg_tensor *base = make_input(1, flat, 4.0f);
  {
    double *t = malloc((size_t)repeat * sizeof *t);
    read_all(qg_tensor_data(base), n);
    for (int i = 0; i < repeat; i++) {
      double t0 = now_s();
      read_all(qg_tensor_data(base), n);
      t[i] = now_s() - t0;
    }
    res[nr].name = "read (bandwidth reference)";
    res[nr].seconds = median(t, repeat);
    res[nr].gbps = (double)n * 4 / res[nr].seconds * 1e-9;
    nr++;
    free(t);
  }
  for (int b = 0; b < nb; b++) {
    qg_tensor *x;
    CHECK(qg_tensor_view(base, benches[b].ndim, benches[b].shape, &x));
    res[nr++] = run_observer(cu, &benches[b], x, repeat);
    qg_tensor_release(x);
  }
  res[nr++] = run_histogram_qparams(cu, QG_HISTOGRAM_CURRENT, "Histogram calculate_qparams (current)", repeat);
  res[nr++] = run_histogram_qparams(cu, QG_HISTOGRAM_LEGACY_113, "Histogram calculate_qparams (1.13)", repeat);
  qg_tensor_release(base);
  qg_cu_release(cu);

  printf("observer forward on %lld float32 (%.0f MB), median of %d runs\n", (long long)n, (double)n * 4 / 1048576.0,
         repeat);
  printf("%-42s %12s %10s\n", "case", "ms", "GB/s");
  for (int i = 0; i < nr; i++) {
    if (res[i].gbps > 0) printf("%-42s %12.3f %10.2f\n", res[i].name, res[i].seconds * 1e3, res[i].gbps);
    else printf("%-42s %12.3f %10s\n", res[i].name, res[i].seconds * 1e3, "-");
  }
  if (json) {
    FILE *f = fopen(json, "w");
    if (!f) {
      perror(json);
      return 1;
    }
    fprintf(f, "{\n  \"context\": {\"elements\": %lld, \"repetitions\": %d},\n  \"benchmarks\": [\n", (long long)n,
            repeat);
    for (int i = 0; i < nr; i++)
      fprintf(f, "    {\"name\": \"%s\", \"real_time\": %.6f, \"time_unit\": \"ms\", \"bytes_per_second\": %.0f}%s\n",
              res[i].name, res[i].seconds * 1e3, res[i].gbps * 1e9, i + 1 < nr ? "," : "");
    fprintf(f, "  ]\n}\n");
    fclose(f);
  }
  return 0;
}
