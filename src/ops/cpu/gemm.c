/* OpenBLAS behind the qg__gemm entry point (see gemm.h). */
#include "ops/cpu/gemm.h"

#include <cblas.h>
#include <limits.h>

/* OpenBLAS defaults to one thread per core; the reference backend starts at 1 so results and
 * timings are reproducible until a caller asks for more. Applied lazily on the first GEMM. */
static int g_threads = 1;
static int g_threads_applied = 0;

void qg_cpu_set_num_threads(int n) {
  if (n < 1) n = 1;
  g_threads = n;
  openblas_set_num_threads(n);
  g_threads_applied = 1;
}

int qg_cpu_get_num_threads(void) { return g_threads; }

const char *qg_cpu_blas_core(void) { return openblas_get_corename(); }

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
  if (!g_threads_applied) qg_cpu_set_num_threads(g_threads);
  /* Leading dimensions must be at least the stored row length even for a single row. */
  int64_t arow = trans_a ? m : k, brow = trans_b ? k : n;
  if (lda < arow) lda = arow;
  if (ldb < brow) ldb = brow;
  if (ldc < n) ldc = n;
  enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  if (dtype == QG_DTYPE_F32)
    cblas_sgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, (float)alpha, (const float *)a,
                (int)lda, (const float *)b, (int)ldb, (float)beta, (float *)c, (int)ldc);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, alpha, (const double *)a, (int)lda,
                (const double *)b, (int)ldb, beta, (double *)c, (int)ldc);
  return QG_OK;
}
