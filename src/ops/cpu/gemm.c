/* OpenBLAS behind the qg__gemm entry point (see gemm.h). */
#include "ops/cpu/gemm.h"

#include <cblas.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/status.h"

/* Note [Loading OpenBLAS at first use]
 * OpenBLAS picks its kernels once, in a constructor that runs when the library is loaded. On
 * virtual machines whose CPU model it does not know it falls back to its SSE3 "Prescott"
 * kernels, about 3-5x slower than the AVX2/AVX-512 ones the CPU supports. The only switch is the
 * OPENBLAS_CORETYPE environment variable, read by that constructor. So the library is not
 * linked; it is loaded here on the first GEMM, after choosing OPENBLAS_CORETYPE from the CPU's
 * features when the user has not set it (a user's setting always wins; the variable is removed
 * again after loading so child processes do not inherit our choice). */
typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int, int, int, float,
                         const float *, int, const float *, int, float, float *, int);
typedef void (*dgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int, int, int, double,
                         const double *, int, const double *, int, double, double *, int);

static struct {
  pthread_once_t once;
  void *lib;
  sgemm_fn sgemm;
  dgemm_fn dgemm;
  void (*set_num_threads)(int);
  char *(*get_corename)(void);
  char error[256];
} blas = {PTHREAD_ONCE_INIT, NULL, NULL, NULL, NULL, NULL, ""};

/* The kernel family OpenBLAS would pick on a CPU it recognises, from the features. */
static const char *core_for_this_cpu(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return NULL; /* let OpenBLAS decide */
}

static void load_blas(void) {
  const char *chosen = getenv("OPENBLAS_CORETYPE") ? NULL : core_for_this_cpu();
  if (chosen) setenv("OPENBLAS_CORETYPE", chosen, 0);
  static const char *const names[] = {"libopenblas.so.0", "libopenblas.so"};
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !blas.lib; i++)
    blas.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (chosen) unsetenv("OPENBLAS_CORETYPE");
  if (!blas.lib) {
    const char *why = dlerror();
    snprintf(blas.error, sizeof blas.error, "cannot load OpenBLAS (libopenblas.so.0): %s",
             why ? why : "not found");
    return;
  }
  blas.sgemm = (sgemm_fn)dlsym(blas.lib, "cblas_sgemm");
  blas.dgemm = (dgemm_fn)dlsym(blas.lib, "cblas_dgemm");
  blas.set_num_threads = (void (*)(int))dlsym(blas.lib, "openblas_set_num_threads");
  blas.get_corename = (char *(*)(void))dlsym(blas.lib, "openblas_get_corename");
  if (!blas.sgemm || !blas.dgemm || !blas.set_num_threads || !blas.get_corename) {
    snprintf(blas.error, sizeof blas.error, "OpenBLAS lacks cblas_sgemm/cblas_dgemm/openblas_* symbols");
    dlclose(blas.lib);
    blas.lib = NULL;
  }
}

static qg_status ensure_blas(const char *op) {
  pthread_once(&blas.once, load_blas);
  if (!blas.lib) return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: %s", op, blas.error);
  return QG_OK;
}

/* OpenBLAS defaults to one thread per core; the reference backend starts at 1 so results and
 * timings are reproducible until a caller asks for more. Applied lazily on the first GEMM. */
static int g_threads = 1;
static int g_threads_applied = 0;

void qg_cpu_set_num_threads(int n) {
  if (n < 1) n = 1;
  g_threads = n;
  g_threads_applied = 0;
  if (ensure_blas("set_num_threads") == QG_OK) {
    blas.set_num_threads(n);
    g_threads_applied = 1;
  }
}

int qg_cpu_get_num_threads(void) { return g_threads; }

const char *qg_cpu_blas_core(void) {
  if (ensure_blas("blas_core") != QG_OK) return "unavailable";
  return blas.get_corename();
}

static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* C = beta * C for the k == 0 case (BLAS would also do it, but rejects lda < 1 there). */
static void scale_c(qg_dtype dtype, int64_t m, int64_t n, double beta, void *c, int64_t ldc) {
  for (int64_t i = 0; i < m; i++) {
    for (int64_t j = 0; j < n; j++) {
      if (dtype == QG_DTYPE_F32) {
        float *p = (float *)c + i * ldc + j;
        *p = beta == 0 ? 0.0f : (float)(beta * *p);
      } else {
        double *p = (double *)c + i * ldc + j;
        *p = beta == 0 ? 0.0 : beta * *p;
      }
    }
  }
}

qg_status qg__gemm(const char *op, qg_dtype dtype, int trans_a, int trans_b, int64_t m, int64_t n,
                   int64_t k, double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                   double beta, void *c, int64_t ldc) {
  if (dtype != QG_DTYPE_F32 && dtype != QG_DTYPE_F64)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: GEMM supports f32 and f64, got %s", op,
                        qg_dtype_info(dtype)->name);
  if (!fits_int(m) || !fits_int(n) || !fits_int(k) || !fits_int(lda) || !fits_int(ldb) ||
      !fits_int(ldc))
    return qg_set_error(QG_STATUS_UNSUPPORTED,
                        "%s: GEMM of %lldx%lld by %lldx%lld exceeds the BLAS integer range", op,
                        (long long)m, (long long)k, (long long)k, (long long)n);
  if (m == 0 || n == 0) return QG_OK;
  if (k == 0) {
    scale_c(dtype, m, n, beta, c, ldc);
    return QG_OK;
  }
  QG_TRY(ensure_blas(op));
  if (!g_threads_applied) qg_cpu_set_num_threads(g_threads);
  /* Leading dimensions must be at least the stored row length even for a single row. */
  int64_t arow = trans_a ? m : k, brow = trans_b ? k : n;
  if (lda < arow) lda = arow;
  if (ldb < brow) ldb = brow;
  if (ldc < n) ldc = n;
  enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  if (dtype == QG_DTYPE_F32)
    blas.sgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, (float)alpha, (const float *)a,
                (int)lda, (const float *)b, (int)ldb, (float)beta, (float *)c, (int)ldc);
  else
    blas.dgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, alpha, (const double *)a, (int)lda,
                (const double *)b, (int)ldb, beta, (double *)c, (int)ldc);
  return QG_OK;
}
