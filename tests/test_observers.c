/* Observers and qparam math (src/quant/): PyTorch's recorded observers replayed bit for bit
 * (tests/observers/replay.c, fixtures from tools/fixtures/gen_observers.py with torch 1.13 and
 * 2.15), qparams edge cases, observers inside modules (module text, bundles, the interpreter),
 * and allocation failures. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "observers/replay.h"
#include "quant/observer.h"
#include "quant/observer_impl.h"
#include "quant/qparams.h"
#include "util/testutil.h"

static void expect_clean(const char *what, qg_obs_replay_result *r) {
  cr_expect(r->failures == 0, "%s: %zu of %zu steps in %zu cases differ from PyTorch:\n%s", what, r->failures, r->steps,
            r->cases, qg_strbuf_ok(&r->report) == QG_OK ? qg_strbuf_cstr(&r->report) : "?");
  cr_expect(r->cases > 0 || r->steps > 0, "%s: nothing was replayed", what);
  qg_strbuf_free(&r->report);
}

static void replay_all(const char *tag, const char *what, qg_obs_replay_result *r) {
  qg_obs_replay(tag, NULL, r);
  expect_clean(what, r);
}

/* Each part of the replay, against both recordings. */
static void both(void (*part)(const char *, qg_obs_replay_result *), const char *what) {
  static const char *const tags[3] = {"torch113", "torch24", "torch215"};
  for (int i = 0; i < 3; i++) {
    qg_obs_replay_result r;
    char label[96];
    snprintf(label, sizeof label, "%s (%s)", what, tags[i]);
    part(tags[i], &r);
    expect_clean(label, &r);
  }
}

Test(observers, torch113_recorded_cases) {
  qg_obs_replay_result r;
  replay_all("torch113", "torch 1.13", &r);
}

Test(observers, torch24_recorded_cases) {
  qg_obs_replay_result r;
  replay_all("torch24", "torch 2.4 (legacy HistogramObserver rule)", &r);
}

Test(observers, torch215_recorded_cases) {
  qg_obs_replay_result r;
  replay_all("torch215", "torch 2.15", &r);
}

Test(observers, choose_qparams_recorded) { both(qg_obs_replay_choose, "ChooseQuantizationParams"); }

Test(observers, torch_sum_order) { both(qg_obs_replay_sums, "torch.sum"); }

Test(observers, histogram_search_internals) { both(qg_obs_replay_internals, "search internals"); }

/* The same recordings through the scalar loop (the one CPUs without AVX2 run). */
Test(observers, histogram_search_internals_scalar) {
  qg__obs_search_force_scalar(1);
  both(qg_obs_replay_internals, "search internals, scalar loop");
  qg__obs_search_force_scalar(0);
}

/* A histogram observer over `bins` bins filled from a seeded generator, with min/max given. */
static qg_ival random_histogram(qg_cu_t *cu, int64_t bins, qg_dtype dtype, float mn, float mx, unsigned seed) {
  qg_observer_spec spec;
  qg_observer_spec_default(QG_OBSERVER_HISTOGRAM, &spec);
  spec.dtype = dtype;
  spec.bins = bins;
  qg_ival obs;
  QG_ASSERT_OK(qg_observer_new(cu, &spec, &obs));
  int64_t shape[1] = {bins}, one[1] = {1};
  qg_tensor *h, *lo, *hi;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 1, shape, &h));
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 1, one, &lo));
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 1, one, &hi));
  float *hd = qg_tensor_data(h);
  for (int64_t i = 0; i < bins; i++) {
    seed = seed * 1103515245u + 12345u;
    hd[i] = (seed >> 16) % 7 == 0 ? 0.0f : (float)((seed >> 8) % 1000); /* counts, some empty bins */
  }
  *(float *)qg_tensor_data(lo) = mn;
  *(float *)qg_tensor_data(hi) = mx;
  QG_ASSERT_OK(qg_ival_object_put(&obs, "histogram", qg_ival_tensor(h)));
  QG_ASSERT_OK(qg_ival_object_put(&obs, "min_val", qg_ival_tensor(lo)));
  QG_ASSERT_OK(qg_ival_object_put(&obs, "max_val", qg_ival_tensor(hi)));
  return obs;
}

/* The AVX2 loop (where the CPU has it) against the scalar one, bit for bit, on ranges whose
 * quantiles land on and between bin edges (the exact-fmod fix-ups), odd bin counts (the scalar
 * tail) and both 8-bit dtypes. */
Test(observers, histogram_search_vector_equals_scalar) {
  static const struct {
    int64_t bins;
    qg_dtype dtype;
    float mn, mx;
  } cases[] = {{2048, QG_DTYPE_QUINT8, -3.0f, 5.0f}, {2051, QG_DTYPE_QINT8, -1e-3f, 7e-4f},
               {77, QG_DTYPE_QUINT8, 0.0f, 1.0f},     {2048, QG_DTYPE_QINT8, -100.0f, 0.25f},
               {4096, QG_DTYPE_QUINT8, 0.1f, 0.3f},   {9, QG_DTYPE_QUINT8, -2.0f, 2.0f}};
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    qg_ival obs = random_histogram(cu, cases[k].bins, cases[k].dtype, cases[k].mn, cases[k].mx, 7u + (unsigned)k);
    qg__obs o;
    QG_ASSERT_OK(qg__obs_read(&obs, &o));
    const int64_t b = cases[k].bins;
    const int64_t ranges[][2] = {{0, b - 1}, {1, b - 2}, {b / 3, b / 2}, {b / 2, b / 2}, {0, 0}, {b - 1, b - 1}, {5 % b, b - 1}};
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
      double vec, sca;
      QG_ASSERT_OK(qg__obs_quantization_error(&o, ranges[r][0], ranges[r][1], &vec));
      qg__obs_search_force_scalar(1);
      QG_ASSERT_OK(qg__obs_quantization_error(&o, ranges[r][0], ranges[r][1], &sca));
      qg__obs_search_force_scalar(0);
      cr_expect(memcmp(&vec, &sca, sizeof vec) == 0, "case %zu, range [%lld, %lld]: vector %.17g, scalar %.17g", k,
                (long long)ranges[r][0], (long long)ranges[r][1], vec, sca);
    }
    float mn[2], mx[2];
    QG_ASSERT_OK(qg__obs_histogram_search(&o, &mn[0], &mx[0]));
    qg__obs_search_force_scalar(1);
    QG_ASSERT_OK(qg__obs_histogram_search(&o, &mn[1], &mx[1]));
    qg__obs_search_force_scalar(0);
    cr_expect(mn[0] == mn[1] && mx[0] == mx[1], "case %zu: search (%.9g, %.9g) vs scalar (%.9g, %.9g)", k, mn[0], mx[0],
              mn[1], mx[1]);
    qg_ival_release(&obs);
  }
  qg_cu_release(cu);
}

/* ---- qparam math edge cases ---------------------------------------------------------------- */

static void expect_error(qg_status st, qg_status want, const char *fragment) {
  cr_expect(st == want, "got %s (%s), want %s", qg_status_name(st), qg_last_error(), qg_status_name(want));
  cr_expect(strstr(qg_last_error(), fragment) != NULL, "message \"%s\" lacks \"%s\"", qg_last_error(), fragment);
}

Test(observers, qrange) {
  int64_t lo, hi;
  QG_ASSERT_OK(qg_qrange(QG_DTYPE_QUINT8, 0, 0, 0, 0, &lo, &hi));
  cr_expect(lo == 0 && hi == 255);
  QG_ASSERT_OK(qg_qrange(QG_DTYPE_QUINT8, 0, 0, 0, 1, &lo, &hi));
  cr_expect(lo == 0 && hi == 127);
  QG_ASSERT_OK(qg_qrange(QG_DTYPE_QINT8, 0, 0, 0, 1, &lo, &hi));
  cr_expect(lo == -64 && hi == 63);
  QG_ASSERT_OK(qg_qrange(QG_DTYPE_QINT32, 0, 0, 0, 0, &lo, &hi));
  cr_expect(lo == INT32_MIN && hi == INT32_MAX);
  QG_ASSERT_OK(qg_qrange(QG_DTYPE_QUINT4X2, 0, 0, 0, 0, &lo, &hi));
  cr_expect(lo == 0 && hi == 15);
  /* a custom range is halved with floor division: -127 // 2 == -64 */
  QG_ASSERT_OK(qg_qrange(QG_DTYPE_QINT8, 1, -127, 127, 1, &lo, &hi));
  cr_expect(lo == -64 && hi == 63, "%lld..%lld", (long long)lo, (long long)hi);
  QG_ASSERT_OK(qg_qrange(QG_DTYPE_QUINT8, 1, 0, 127, 1, &lo, &hi));
  cr_expect(lo == 0 && hi == 63);
  expect_error(qg_qrange(QG_DTYPE_QUINT8, 1, 1, 10, 0, &lo, &hi), QG_STATUS_INVALID_ARGUMENT, "must include 0");
  expect_error(qg_qrange(QG_DTYPE_QUINT8, 1, 0, 0, 0, &lo, &hi), QG_STATUS_INVALID_ARGUMENT, "strictly less than");
  expect_error(qg_qrange(QG_DTYPE_QINT8, 1, -200, 100, 0, &lo, &hi), QG_STATUS_INVALID_ARGUMENT, "(=256)");
  /* quint8 has no length check in PyTorch */
  QG_ASSERT_OK(qg_qrange(QG_DTYPE_QUINT8, 1, -10, 1000, 0, &lo, &hi));
  cr_expect(lo == -10 && hi == 1000);
}

static qg_qparams_args args(qg_dtype dt, qg_qscheme_kind qs) {
  qg_qparams_args a = {dt, qs, 0, 0, 0, 0x1p-23f, 0};
  QG_ASSERT_OK(qg_qrange(dt, 0, 0, 0, 0, &a.quant_min, &a.quant_max));
  return a;
}

Test(observers, calculate_qparams_edges) {
  float s, zf;
  int64_t z;
  int warned;
  qg_qparams_args a = args(QG_DTYPE_QUINT8, QG_QS_PER_TENSOR_SYMMETRIC);
  float mn = -1.0f, mx = 3.0f;
  QG_ASSERT_OK(qg_calculate_qparams(&a, &mn, &mx, 1, &s, &z, NULL, &warned));
  cr_expect(z == 128 && !warned, "symmetric quint8: zero point %lld", (long long)z);
  cr_expect(s == 3.0f / 127.5f);
  a.has_customized_qrange = 1;
  a.quant_max = 127;
  QG_ASSERT_OK(qg_calculate_qparams(&a, &mn, &mx, 1, &s, &z, NULL, NULL));
  cr_expect(z == 63, "custom range midpoint (0 + 127) // 2, got %lld", (long long)z);
  /* all zeros: the scale is eps */
  a = args(QG_DTYPE_QUINT8, QG_QS_PER_TENSOR_AFFINE);
  mn = mx = 0.0f;
  QG_ASSERT_OK(qg_calculate_qparams(&a, &mn, &mx, 1, &s, &z, NULL, NULL));
  cr_expect(s == 0x1p-23f && z == 0, "scale %a zp %lld", s, (long long)z);
  /* float qparams: a scale not above eps becomes 1, the zero point is -min / scale */
  a = args(QG_DTYPE_QUINT8, QG_QS_PER_CHANNEL_AFFINE_FLOAT_QPARAMS);
  mn = mx = 2.0f;
  QG_ASSERT_OK(qg_calculate_qparams(&a, &mn, &mx, 1, &s, &z, &zf, NULL));
  cr_expect(s == 1.0f && zf == -2.0f);
  /* invalid state: defaults and a warning */
  a = args(QG_DTYPE_QUINT8, QG_QS_PER_TENSOR_AFFINE);
  mn = INFINITY;
  mx = -INFINITY;
  QG_ASSERT_OK(qg_calculate_qparams(&a, &mn, &mx, 1, &s, &z, NULL, &warned));
  cr_expect(warned && s == 1.0f && z == 0);
  QG_ASSERT_OK(qg_calculate_qparams(&a, NULL, NULL, 0, &s, &z, NULL, &warned));
  cr_expect(warned && s == 1.0f && z == 0);
  /* min > max */
  mn = 2.0f;
  mx = 1.0f;
  expect_error(qg_calculate_qparams(&a, &mn, &mx, 1, &s, &z, NULL, NULL), QG_STATUS_INVALID_ARGUMENT,
               "min 2.0 should be less than max 1.0");
  /* NaN: torch 1.13 rejects it, torch 2.x returns a NaN scale */
  mn = NAN;
  mx = 1.0f;
  QG_ASSERT_OK(qg_calculate_qparams(&a, &mn, &mx, 1, &s, &z, NULL, NULL));
  cr_expect(isnan(s) && z == 0, "scale %g zp %lld", s, (long long)z);
  a.nan_check_113 = 1;
  expect_error(qg_calculate_qparams(&a, &mn, &mx, 1, &s, &z, NULL, NULL), QG_STATUS_INVALID_ARGUMENT,
               "min nan should be less than max 1.0");
  /* per-channel: the offending channel is named */
  a = args(QG_DTYPE_QINT8, QG_QS_PER_CHANNEL_SYMMETRIC);
  float cmin[3] = {-1, 5, -2}, cmax[3] = {1, 4, 2}, cs[3];
  int64_t cz[3];
  expect_error(qg_calculate_qparams(&a, cmin, cmax, 3, cs, cz, NULL, NULL), QG_STATUS_INVALID_ARGUMENT, "channel 1 of 3");
  cmin[1] = 4;
  QG_ASSERT_OK(qg_calculate_qparams(&a, cmin, cmax, 3, cs, cz, NULL, NULL));
  cr_expect(cs[0] == 1.0f / 127.5f && cz[0] == 0 && cz[2] == 0);
  cr_expect(qg_qparams_zero_point_dtype(QG_QS_PER_TENSOR_AFFINE) == QG_DTYPE_I32);
  cr_expect(qg_qparams_zero_point_dtype(QG_QS_PER_CHANNEL_SYMMETRIC) == QG_DTYPE_I64);
  cr_expect(qg_qparams_zero_point_dtype(QG_QS_PER_CHANNEL_AFFINE_FLOAT_QPARAMS) == QG_DTYPE_F32);
  cr_expect_str_eq(qg_qscheme_name(QG_QS_PER_CHANNEL_AFFINE_FLOAT_QPARAMS), "torch.per_channel_affine_float_qparams");
}

Test(observers, choose_qparams_errors) {
  double s;
  int32_t z;
  expect_error(qg_choose_qparams_dynamic(2.0f, 1.0f, 0, 255, 0, 0, 0, &s, &z), QG_STATUS_INVALID_ARGUMENT,
               "min should be less than or equal to max");
  expect_error(qg_choose_qparams_dynamic(NAN, 1.0f, 0, 255, 0, 0, 0, &s, &z), QG_STATUS_INVALID_ARGUMENT,
               "min should be less than or equal to max");
  expect_error(qg_choose_qparams_dynamic(0.0f, 1.0f, 0, 1, 0, 0, 1, &s, &z), QG_STATUS_INVALID_ARGUMENT,
               "qmin should be less than qmax");
  /* preserve_sparsity puts the zero point in the middle of the range */
  QG_ASSERT_OK(qg_choose_qparams_dynamic(-1.0f, 3.0f, -128, 127, 1, 0, 0, &s, &z));
  cr_expect(z == 0, "zero point %d", z);
  /* force_scale_power_of_two */
  QG_ASSERT_OK(qg_choose_qparams_dynamic(-1.0f, 3.0f, 0, 255, 0, 1, 0, &s, &z));
  cr_expect(s == 1.0 / 32, "scale %g", s);
}
