/* The CUDA layer (src/backend/cuda_api.h): build facts, device query, error mapping, NVTX.
 *
 * Built in both configurations. In the CPU build the stub must say "built without CUDA"; in
 * the CUDA build the mapping tests run without a GPU (they only need the runtime library),
 * and every test that needs a device skips with "no CUDA device: <reason>" when there is
 * none (e.g. cudaErrorInsufficientDriver on a machine without a driver). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backend/cuda_api.h"
#include "base/status.h"
#include "util/testutil.h"

#ifdef QG_HAVE_CUDA
#include <cublas_api.h>
#include <cuda_runtime_api.h>
#if __has_include(<cudnn_graph.h>)
#include <cudnn_graph.h>
#define HAVE_CUDNN_HEADER 1
#endif
#endif

/* Skips the calling test unless a device is usable; returns the device count. */
static int require_device(void) {
  int n = -1;
  qg_status st = qg_cuda_get_device_count(&n);
  if (st != QG_OK) {
    cr_assert_eq(st, QG_STATUS_NO_DEVICE, "%s: %s", qg_status_name(st), qg_last_error());
    cr_assert_eq(n, 0);
    cr_skip_test("%s", qg_last_error());
  }
  return n;
}

#define assert_contains(haystack, needle)                                              \
  cr_assert(strstr((haystack), (needle)) != NULL, "expected \"%s\" in \"%s\"", (needle), \
            (haystack))

/* ---- in every configuration ------------------------------------------------------------- */

Test(cuda, device_count_or_reason) {
  int n = -1;
  qg_status st = qg_cuda_get_device_count(&n);
  if (st == QG_OK) {
    cr_assert_geq(n, 1);
    return;
  }
  cr_assert_eq(st, QG_STATUS_NO_DEVICE, "%s: %s", qg_status_name(st), qg_last_error());
  cr_assert_eq(n, 0);
  const char *why = qg_last_error();
  cr_assert(strncmp(why, "no CUDA device: ", 16) == 0, "reason: \"%s\"", why);
  cr_assert_gt(strlen(why), 16, "the reason is empty");
  if (qg_cuda_is_built()) {
    /* The runtime's own words: which call failed and the error's name. */
    assert_contains(why, "cudaGetDeviceCount");
    assert_contains(why, "cudaError");
  } else {
    assert_contains(why, "built without CUDA");
  }
  /* Asking for a device then fails the same way. */
  qg_cuda_device_info info;
  cr_assert_eq(qg_cuda_get_device_info(0, &info), QG_STATUS_NO_DEVICE);
  cr_assert_eq(qg_cuda_selftest(0), QG_STATUS_NO_DEVICE);
}

Test(cuda, null_count_is_rejected_or_stubbed) {
  qg_status st = qg_cuda_get_device_count(NULL);
  cr_assert(st == QG_STATUS_INVALID_ARGUMENT || st == QG_STATUS_NO_DEVICE, "%s",
            qg_status_name(st));
}

Test(cuda, success_codes_map_to_ok) {
  qg_set_error(QG_STATUS_PARSE, "previous message");
  cr_assert_eq(qg_cuda_map_error(0, "cudaFree(p)", __FILE__, __LINE__), QG_OK);
  cr_assert_eq(qg_cuda_map_cublas(0, "cublasLtCreate(&h)", __FILE__, __LINE__), QG_OK);
  cr_assert_eq(qg_cuda_map_cudnn(0, "cudnnCreate(&h)", __FILE__, __LINE__), QG_OK);
  /* Success records nothing: the earlier message stays. */
  cr_assert_str_eq(qg_last_error(), "previous message");
}

Test(cuda, nvtx_ranges_nest) {
  /* No profiler is attached in tests: these must be harmless no-ops or cheap calls. */
  qg_cuda_nvtx_push("outer");
  qg_cuda_nvtx_push("inner");
  qg_cuda_nvtx_mark("point");
  qg_cuda_nvtx_pop();
  qg_cuda_nvtx_pop();
  qg_cuda_nvtx_push(NULL);
  qg_cuda_nvtx_pop();
  if (!qg_cuda_is_built()) cr_assert_eq(qg_cuda_has_nvtx(), 0);
}

/* The GPU tests proper: skipped with the reason when no device is usable. */
Test(cuda_gpu, device_info_and_selftest) {
  int n = require_device();
  for (int i = 0; i < n; i++) {
    qg_cuda_device_info d;
    QG_ASSERT_OK(qg_cuda_get_device_info(i, &d));
    cr_assert_eq(d.index, i);
    cr_assert_gt(strlen(d.name), 0);
    cr_assert_geq(d.cc_major, 7, "compute capability %d.%d", d.cc_major, d.cc_minor);
    cr_assert_gt(d.multiprocessors, 0);
    cr_assert_gt(d.total_mem, (size_t)0);
    cr_assert_gt(d.free_mem, (size_t)0);
    cr_assert_leq(d.free_mem, d.total_mem);
    cr_log_info("device %d: %s, cc %d.%d, %d SMs, %zu MiB", i, d.name, d.cc_major, d.cc_minor,
                d.multiprocessors, d.total_mem >> 20);
    QG_ASSERT_OK(qg_cuda_selftest(i));
  }
  qg_cuda_device_info d;
  cr_assert_eq(qg_cuda_get_device_info(n, &d), QG_STATUS_NO_DEVICE);
  assert_contains(qg_last_error(), "no CUDA device");
  cr_assert_eq(qg_cuda_get_device_info(-1, &d), QG_STATUS_NO_DEVICE);
  cr_assert_eq(qg_cuda_selftest(n), QG_STATUS_NO_DEVICE);
  qg_cuda_versions v;
  QG_ASSERT_OK(qg_cuda_get_versions(&v));
  cr_assert_gt(v.driver, 0, "a usable device implies a driver");
}

#ifndef QG_HAVE_CUDA
/* ---- the CPU build: the stub ------------------------------------------------------------ */

Test(cuda_stub, says_built_without_cuda) {
  cr_assert_eq(qg_cuda_is_built(), 0);
  cr_assert_eq(qg_cuda_has_cudnn(), 0);
  cr_assert_eq(qg_cuda_has_nvtx(), 0);
  int n = 5;
  cr_assert_eq(qg_cuda_get_device_count(&n), QG_STATUS_NO_DEVICE);
  cr_assert_eq(n, 0);
  cr_assert_str_eq(qg_last_error(), "no CUDA device: quantgraph was built without CUDA");
  qg_cuda_versions v;
  memset(&v, 0x55, sizeof v);
  cr_assert_eq(qg_cuda_get_versions(&v), QG_STATUS_NO_DEVICE);
  cr_assert_eq(v.runtime, 0);
  cr_assert_eq(v.driver, 0);
  assert_contains(qg_last_error(), "quantgraph was built without CUDA");
  qg_cuda_device_info d;
  cr_assert_eq(qg_cuda_get_device_info(0, &d), QG_STATUS_NO_DEVICE);
  assert_contains(qg_last_error(), "quantgraph was built without CUDA");
  cr_assert_eq(qg_cuda_selftest(0), QG_STATUS_NO_DEVICE);
  assert_contains(qg_last_error(), "quantgraph was built without CUDA");
}

static int stub_check_line;
static qg_status stub_check(void) {
  stub_check_line = __LINE__; QG_CUDA_CHECK(2);
  return QG_OK;
}

Test(cuda_stub, mapping_reports_built_without_cuda) {
  cr_assert_eq(qg_cuda_map_error(2, "cudaMalloc(&p, 64)", "x/y/z.c", 12), QG_STATUS_NO_DEVICE);
  cr_assert_str_eq(qg_last_error(), "cudaMalloc(&p, 64) failed at x/y/z.c:12: CUDA runtime code "
                                    "2: quantgraph was built without CUDA");
  cr_assert_eq(qg_cuda_map_cublas(3, "cublasLtMatmul(...)", "a.c", 1), QG_STATUS_NO_DEVICE);
  assert_contains(qg_last_error(), "cuBLAS code 3");
  cr_assert_eq(qg_cuda_map_cudnn(1001, NULL, NULL, 0), QG_STATUS_NO_DEVICE);
  assert_contains(qg_last_error(), "cuDNN code 1001");
  cr_assert_str_eq(qg_cuda_error_name(2), "cudaError(2)");

  cr_assert_eq(stub_check(), QG_STATUS_NO_DEVICE);
  char where[64];
  snprintf(where, sizeof where, "test_cuda.c:%d", stub_check_line);
  assert_contains(qg_last_error(), where);
  assert_contains(qg_last_error(), "2 failed at");
}

#else
/* ---- the CUDA build: real mapping (needs the runtime library, not a GPU) ---------------- */

Test(cuda_built, build_facts_and_versions) {
  cr_assert_eq(qg_cuda_is_built(), 1);
  qg_cuda_versions v;
  QG_ASSERT_OK(qg_cuda_get_versions(&v));
  /* The runtime we run against is the one we compiled against (same major version). */
  cr_assert_eq(v.runtime / 1000, CUDART_VERSION / 1000, "runtime %d, header %d", v.runtime,
               CUDART_VERSION);
  cr_assert_geq(v.driver, 0);
  if (qg_cuda_has_cudnn()) {
    cr_assert_gt(v.cudnn_header, 0);
    cr_assert_eq(v.cudnn / 10000, v.cudnn_header / 10000, "cuDNN %d, header %d", v.cudnn,
                 v.cudnn_header);
  } else {
    cr_assert_eq(v.cudnn, 0);
  }
  cr_assert_eq(qg_cuda_get_versions(NULL), QG_STATUS_INVALID_ARGUMENT);
}

struct cuda_case {
  int code;
  const char *name;
  qg_status status;
};

Test(cuda_built, runtime_errors_map_to_statuses) {
  static const struct cuda_case cases[] = {
      {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", QG_STATUS_OOM},
      {cudaErrorInsufficientDriver, "cudaErrorInsufficientDriver", QG_STATUS_NO_DEVICE},
      {cudaErrorNoDevice, "cudaErrorNoDevice", QG_STATUS_NO_DEVICE},
      {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", QG_STATUS_NO_DEVICE},
      {cudaErrorStubLibrary, "cudaErrorStubLibrary", QG_STATUS_NO_DEVICE},
      {cudaErrorNoKernelImageForDevice, "cudaErrorNoKernelImageForDevice",
       QG_STATUS_UNSUPPORTED},
      {cudaErrorNotSupported, "cudaErrorNotSupported", QG_STATUS_UNSUPPORTED},
      {cudaErrorInvalidValue, "cudaErrorInvalidValue", QG_STATUS_CUDA},
      {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", QG_STATUS_CUDA},
      {cudaErrorIllegalAddress, "cudaErrorIllegalAddress", QG_STATUS_CUDA},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct cuda_case *c = &cases[i];
    qg_status st = qg_cuda_map_error(c->code, "someCall(x)", "/abs/path/cuda/kernel.cu", 42);
    cr_assert_eq(st, c->status, "%s mapped to %s", c->name, qg_status_name(st));
    cr_assert_str_eq(qg_cuda_error_name(c->code), c->name);
    char want[512];
    snprintf(want, sizeof want, "someCall(x) failed at cuda/kernel.cu:42: %s (%d): %s", c->name,
             c->code, cudaGetErrorString((cudaError_t)c->code));
    cr_assert_str_eq(qg_last_error(), want);
    cr_assert_eq(qg_last_status(), c->status);
  }
  /* A code the runtime does not know keeps its number. */
  cr_assert_eq(qg_cuda_map_error(99999, NULL, NULL, 0), QG_STATUS_CUDA);
  cr_assert_str_eq(qg_cuda_error_name(99999), "cudaError(99999)");
  assert_contains(qg_last_error(), "CUDA call failed at ?:0: cudaError(99999) (99999)");
}

#define NAMED(x) (int)(x), #x
struct named_case {
  int code;
  const char *name;
  qg_status status;
};

Test(cuda_built, cublas_statuses_match_the_header) {
  static const struct named_case cases[] = {
      {NAMED(CUBLAS_STATUS_NOT_INITIALIZED), QG_STATUS_CUDA},
      {NAMED(CUBLAS_STATUS_ALLOC_FAILED), QG_STATUS_OOM},
      {NAMED(CUBLAS_STATUS_INVALID_VALUE), QG_STATUS_CUDA},
      {NAMED(CUBLAS_STATUS_ARCH_MISMATCH), QG_STATUS_UNSUPPORTED},
      {NAMED(CUBLAS_STATUS_MAPPING_ERROR), QG_STATUS_CUDA},
      {NAMED(CUBLAS_STATUS_EXECUTION_FAILED), QG_STATUS_CUDA},
      {NAMED(CUBLAS_STATUS_INTERNAL_ERROR), QG_STATUS_CUDA},
      {NAMED(CUBLAS_STATUS_NOT_SUPPORTED), QG_STATUS_UNSUPPORTED},
      {NAMED(CUBLAS_STATUS_LICENSE_ERROR), QG_STATUS_CUDA},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct named_case *c = &cases[i];
    cr_assert_str_eq(qg_cuda_cublas_status_name(c->code), c->name);
    qg_status st = qg_cuda_map_cublas(c->code, "cublasLtMatmul(h, ...)", "cuda/gemm.c", 7);
    cr_assert_eq(st, c->status, "%s mapped to %s", c->name, qg_status_name(st));
    char want[256];
    snprintf(want, sizeof want, "cublasLtMatmul(h, ...) failed at cuda/gemm.c:7: %s (%d): ",
             c->name, c->code);
    cr_assert(strncmp(qg_last_error(), want, strlen(want)) == 0, "\"%s\" does not start \"%s\"",
              qg_last_error(), want);
  }
  cr_assert_str_eq(qg_cuda_cublas_status_name(CUBLAS_STATUS_SUCCESS), "CUBLAS_STATUS_SUCCESS");
  cr_assert_eq(qg_cuda_map_cublas(42, "f()", "g.c", 1), QG_STATUS_CUDA);
  cr_assert_str_eq(qg_cuda_cublas_status_name(42), "cublasStatus(42)");
}

Test(cuda_built, cudnn_statuses_map_by_category) {
  static const struct named_case cases[] = {
#ifdef HAVE_CUDNN_HEADER
      {NAMED(CUDNN_STATUS_NOT_INITIALIZED), QG_STATUS_NO_DEVICE},
      {NAMED(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED), QG_STATUS_CUDA},
      {NAMED(CUDNN_STATUS_BAD_PARAM), QG_STATUS_INVALID_ARGUMENT},
      {NAMED(CUDNN_STATUS_BAD_PARAM_NULL_POINTER), QG_STATUS_INVALID_ARGUMENT},
      {NAMED(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE), QG_STATUS_INVALID_ARGUMENT},
      {NAMED(CUDNN_STATUS_NOT_SUPPORTED), QG_STATUS_UNSUPPORTED},
      {NAMED(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH), QG_STATUS_UNSUPPORTED},
      {NAMED(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER), QG_STATUS_NO_DEVICE},
      {NAMED(CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE), QG_STATUS_UNSUPPORTED},
      {NAMED(CUDNN_STATUS_INTERNAL_ERROR), QG_STATUS_CUDA},
      {NAMED(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED), QG_STATUS_OOM},
      {NAMED(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED), QG_STATUS_OOM},
      {NAMED(CUDNN_STATUS_EXECUTION_FAILED), QG_STATUS_CUDA},
      {NAMED(CUDNN_STATUS_EXECUTION_FAILED_CURAND), QG_STATUS_CUDA},
#else
      /* cuDNN 9 values, for toolkits without cuDNN headers. */
      {1001, "CUDNN_STATUS_NOT_INITIALIZED", QG_STATUS_NO_DEVICE},
      {2000, "CUDNN_STATUS_BAD_PARAM", QG_STATUS_INVALID_ARGUMENT},
      {3000, "CUDNN_STATUS_NOT_SUPPORTED", QG_STATUS_UNSUPPORTED},
      {4004, "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED", QG_STATUS_OOM},
      {5000, "CUDNN_STATUS_EXECUTION_FAILED", QG_STATUS_CUDA},
#endif
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct named_case *c = &cases[i];
    cr_assert_str_eq(qg_cuda_cudnn_status_name(c->code), c->name);
    qg_status st = qg_cuda_map_cudnn(c->code, "cudnnBackendFinalize(d)", "cuda/conv.c", 99);
    cr_assert_eq(st, c->status, "%s mapped to %s", c->name, qg_status_name(st));
    char want[256];
    snprintf(want, sizeof want, "cudnnBackendFinalize(d) failed at cuda/conv.c:99: %s (%d): ",
             c->name, c->code);
    cr_assert(strncmp(qg_last_error(), want, strlen(want)) == 0, "\"%s\" does not start \"%s\"",
              qg_last_error(), want);
  }
  /* Unknown codes fall into their thousand's category and keep their number. */
  cr_assert_eq(qg_cuda_map_cudnn(2999, "f()", "g.c", 1), QG_STATUS_INVALID_ARGUMENT);
  assert_contains(qg_last_error(), "cudnnStatus(2999) (2999)");
  cr_assert_eq(qg_cuda_map_cudnn(3999, "f()", "g.c", 1), QG_STATUS_UNSUPPORTED);
  cr_assert_eq(qg_cuda_map_cudnn(77, "f()", "g.c", 1), QG_STATUS_CUDA);
}

/* The check macros, fed by fakes standing in for library calls. */
static cudaError_t fake_cuda_malloc(size_t bytes) {
  return bytes > 0 ? cudaErrorMemoryAllocation : cudaSuccess;
}
static int fake_library_status(int s) { return s; }

static int check_line;
static qg_status uses_cuda_check(size_t bytes) {
  check_line = __LINE__; QG_CUDA_CHECK(fake_cuda_malloc(bytes));
  return QG_OK;
}
static qg_status uses_cublas_check(int s) {
  check_line = __LINE__; QG_CUBLAS_CHECK(fake_library_status(s));
  return QG_OK;
}
static qg_status uses_cudnn_check(int s) {
  check_line = __LINE__; QG_CUDNN_CHECK(fake_library_status(s));
  return QG_OK;
}

Test(cuda_built, check_macros_return_instead_of_aborting) {
  char want[256];
  cr_assert_eq(uses_cuda_check(0), QG_OK);
  cr_assert_eq(uses_cuda_check(64), QG_STATUS_OOM);
  snprintf(want, sizeof want,
           "fake_cuda_malloc(bytes) failed at tests/test_cuda.c:%d: cudaErrorMemoryAllocation (2): ",
           check_line);
  cr_assert(strncmp(qg_last_error(), want, strlen(want)) == 0, "\"%s\" does not start \"%s\"",
            qg_last_error(), want);

  cr_assert_eq(uses_cublas_check(0), QG_OK);
  cr_assert_eq(uses_cublas_check(CUBLAS_STATUS_NOT_SUPPORTED), QG_STATUS_UNSUPPORTED);
  snprintf(want, sizeof want, "fake_library_status(s) failed at tests/test_cuda.c:%d: "
           "CUBLAS_STATUS_NOT_SUPPORTED (15): ", check_line);
  cr_assert(strncmp(qg_last_error(), want, strlen(want)) == 0, "\"%s\" does not start \"%s\"",
            qg_last_error(), want);

  cr_assert_eq(uses_cudnn_check(0), QG_OK);
  cr_assert_eq(uses_cudnn_check(3002), QG_STATUS_UNSUPPORTED);
  assert_contains(qg_last_error(), "CUDNN_STATUS_NOT_SUPPORTED_SHAPE (3002)");
}

/* Real failures from the runtime on a real device. */
static qg_status huge_malloc(void **p) {
  QG_CUDA_CHECK(cudaMalloc(p, (size_t)1 << 60));
  return QG_OK;
}
static qg_status set_device(int d) {
  QG_CUDA_CHECK(cudaSetDevice(d));
  return QG_OK;
}

Test(cuda_gpu, real_failures_are_mapped) {
  int n = require_device();
  void *p = NULL;
  cr_assert_eq(huge_malloc(&p), QG_STATUS_OOM, "%s", qg_last_error());
  assert_contains(qg_last_error(), "cudaMalloc(p, (size_t)1 << 60) failed at tests/test_cuda.c:");
  /* The macro cleared the non-sticky error: the context is still usable. */
  cr_assert_eq(cudaGetLastError(), cudaSuccess);
  cr_assert_eq(set_device(n), QG_STATUS_NO_DEVICE, "%s", qg_last_error());
  assert_contains(qg_last_error(), "cudaErrorInvalidDevice");
  QG_ASSERT_OK(set_device(0));
  QG_ASSERT_OK(qg_cuda_selftest(0));
}
#endif
