/* Mapping of CUDA runtime, cuBLAS(Lt) and cuDNN failures to qg_status, with a message that
 * names the call, the source position and the library's own name and description.
 * cuBLAS and cuDNN names come from our own tables so that mapping needs neither library at
 * run time (the tables follow cublas_api.h and cudnn_graph.h of CUDA 13 / cuDNN 9). */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <string.h>

#include "backend/cuda_api.h"

/* "…/quantgraph/cuda/device.c" -> "cuda/device.c": enough to find the line, short enough to
 * read. */
static const char *short_path(const char *file) {
  if (!file) return "?";
  const char *last = NULL, *prev = NULL;
  for (const char *p = file; *p; p++) {
    if (*p == '/') {
      prev = last;
      last = p;
    }
  }
  return prev ? prev + 1 : file;
}

static const char *unknown_name(const char *kind, int code) {
  static _Thread_local char buf[48];
  snprintf(buf, sizeof buf, "%s(%d)", kind, code);
  return buf;
}

/* ---- CUDA runtime ----------------------------------------------------------------------- */

const char *qg_cuda_error_name(int err) {
  const char *n = cudaGetErrorName((cudaError_t)err);
  /* The runtime answers "unrecognized error code" for values it does not know. */
  if (!n || strncmp(n, "cuda", 4) != 0) return unknown_name("cudaError", err);
  return n;
}

static qg_status status_of_cuda_error(int err) {
  switch (err) {
    case cudaErrorMemoryAllocation:
      return QG_STATUS_OOM;
    case cudaErrorInitializationError:
    case cudaErrorStubLibrary:
    case cudaErrorInsufficientDriver:
    case cudaErrorDevicesUnavailable:
    case cudaErrorNoDevice:
    case cudaErrorInvalidDevice:
    case cudaErrorSystemNotReady:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
      return QG_STATUS_NO_DEVICE;
    case cudaErrorCallRequiresNewerDriver:
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
    case cudaErrorNotSupported:
      return QG_STATUS_UNSUPPORTED;
    default:
      return QG_STATUS_CUDA;
  }
}

qg_status qg_cuda_map_error(int err, const char *call, const char *file, int line) {
  if (err == 0) return QG_OK;
  const char *desc = cudaGetErrorString((cudaError_t)err);
  return qg_set_error(status_of_cuda_error(err), "%s failed at %s:%d: %s (%d): %s",
                      call ? call : "CUDA call", short_path(file), line, qg_cuda_error_name(err),
                      err, desc ? desc : "unknown error");
}

void qg__cuda_clear_last_error(void) { (void)cudaGetLastError(); }

/* ---- cuBLAS / cuBLASLt (one status type) ------------------------------------------------ */

/* X(name, value, status, description) */
#define QG__CUBLAS_LIST(X)                                                                  \
  X(CUBLAS_STATUS_SUCCESS, 0, QG_STATUS_OK, "success")                                      \
  X(CUBLAS_STATUS_NOT_INITIALIZED, 1, QG_STATUS_CUDA, "the library was not initialized")    \
  X(CUBLAS_STATUS_ALLOC_FAILED, 3, QG_STATUS_OOM, "resource allocation failed")             \
  X(CUBLAS_STATUS_INVALID_VALUE, 7, QG_STATUS_CUDA, "an invalid value was passed")          \
  X(CUBLAS_STATUS_ARCH_MISMATCH, 8, QG_STATUS_UNSUPPORTED,                                  \
    "the device lacks a required feature (architecture mismatch)")                          \
  X(CUBLAS_STATUS_MAPPING_ERROR, 11, QG_STATUS_CUDA, "access to GPU memory space failed")   \
  X(CUBLAS_STATUS_EXECUTION_FAILED, 13, QG_STATUS_CUDA, "the GPU program failed to execute") \
  X(CUBLAS_STATUS_INTERNAL_ERROR, 14, QG_STATUS_CUDA, "an internal operation failed")       \
  X(CUBLAS_STATUS_NOT_SUPPORTED, 15, QG_STATUS_UNSUPPORTED,                                 \
    "the functionality requested is not supported")                                        \
  X(CUBLAS_STATUS_LICENSE_ERROR, 16, QG_STATUS_CUDA, "license error")

const char *qg_cuda_cublas_status_name(int status) {
  switch (status) {
#define QG__CASE(name, value, st, desc) \
  case value:                           \
    return #name;
    QG__CUBLAS_LIST(QG__CASE)
#undef QG__CASE
  }
  return unknown_name("cublasStatus", status);
}

qg_status qg_cuda_map_cublas(int status, const char *call, const char *file, int line) {
  if (status == 0) return QG_OK;
  qg_status st = QG_STATUS_CUDA;
  const char *desc = "unknown cuBLAS status";
  switch (status) {
#define QG__CASE(name, value, s, d) \
  case value:                       \
    st = s;                         \
    desc = d;                       \
    break;
    QG__CUBLAS_LIST(QG__CASE)
#undef QG__CASE
  }
  return qg_set_error(st, "%s failed at %s:%d: %s (%d): %s", call ? call : "cuBLAS call",
                      short_path(file), line, qg_cuda_cublas_status_name(status), status, desc);
}

/* ---- cuDNN 9 ---------------------------------------------------------------------------- */

/* Exact names for the codes we expect to see; the rest are named by their category
 * (cuDNN 9 groups codes by thousands: 1xxx init, 2xxx bad parameter, 3xxx not supported,
 * 4xxx internal, 5xxx execution). */
#define QG__CUDNN_LIST(X)                                                   \
  X(CUDNN_STATUS_SUCCESS, 0)                                                \
  X(CUDNN_STATUS_NOT_INITIALIZED, 1001)                                     \
  X(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH, 1002)                         \
  X(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH, 1003)                      \
  X(CUDNN_STATUS_DEPRECATED, 1004)                                          \
  X(CUDNN_STATUS_LICENSE_ERROR, 1005)                                       \
  X(CUDNN_STATUS_RUNTIME_IN_PROGRESS, 1006)                                 \
  X(CUDNN_STATUS_RUNTIME_FP_OVERFLOW, 1007)                                 \
  X(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED, 1008)                           \
  X(CUDNN_STATUS_BAD_PARAM, 2000)                                           \
  X(CUDNN_STATUS_INVALID_VALUE, 2001)                                       \
  X(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, 2002)                              \
  X(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER, 2003)                        \
  X(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED, 2004)                             \
  X(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND, 2005)                              \
  X(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT, 2006)                         \
  X(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH, 2007)                           \
  X(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH, 2008)                            \
  X(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES, 2009)                        \
  X(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE, 2010)                            \
  X(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH, 2011)                       \
  X(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE, 2012)                           \
  X(CUDNN_STATUS_NOT_SUPPORTED, 3000)                                       \
  X(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN, 3001)                         \
  X(CUDNN_STATUS_NOT_SUPPORTED_SHAPE, 3002)                                 \
  X(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE, 3003)                             \
  X(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT, 3004)                                \
  X(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER, 3005)              \
  X(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART, 3006)                   \
  X(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH, 3007)                         \
  X(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING, 3008)          \
  X(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE, 3009)                \
  X(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT, 3010)            \
  X(CUDNN_STATUS_NOT_SUPPORTED_PADDING, 3011)                               \
  X(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM, 3012)                      \
  X(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API, 3013)                 \
  X(CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE, 3014)                 \
  X(CUDNN_STATUS_INTERNAL_ERROR, 4000)                                      \
  X(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED, 4001)                   \
  X(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE, 4002)                     \
  X(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, 4003)               \
  X(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED, 4004)             \
  X(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM, 4005)                     \
  X(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED, 4006)              \
  X(CUDNN_STATUS_EXECUTION_FAILED, 5000)                                    \
  X(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, 5001)                        \
  X(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS, 5002)                             \
  X(CUDNN_STATUS_EXECUTION_FAILED_CUDART, 5003)                             \
  X(CUDNN_STATUS_EXECUTION_FAILED_CURAND, 5004)

const char *qg_cuda_cudnn_status_name(int status) {
  switch (status) {
#define QG__CASE(name, value) \
  case value:                 \
    return #name;
    QG__CUDNN_LIST(QG__CASE)
#undef QG__CASE
  }
  return unknown_name("cudnnStatus", status);
}

static qg_status status_of_cudnn(int status, const char **desc) {
  switch (status) {
    case 1001: /* what cudnnCreate returns when no GPU or driver is usable */
      *desc = "cuDNN could not initialize (no usable GPU or driver)";
      return QG_STATUS_NO_DEVICE;
    case 4003:
    case 4004:
      *desc = "memory allocation failed inside cuDNN";
      return QG_STATUS_OOM;
    case 3005:
      *desc = "the CUDA driver is too old for this cuDNN";
      return QG_STATUS_NO_DEVICE;
    default:
      break;
  }
  switch (status / 1000) {
    case 1:
      *desc = "cuDNN library or initialization problem";
      return QG_STATUS_CUDA;
    case 2:
      *desc = "cuDNN rejected a parameter";
      return QG_STATUS_INVALID_ARGUMENT;
    case 3:
      *desc = "cuDNN does not support this configuration";
      return QG_STATUS_UNSUPPORTED;
    case 4:
      *desc = "cuDNN internal error";
      return QG_STATUS_CUDA;
    case 5:
      *desc = "cuDNN execution failed on the GPU";
      return QG_STATUS_CUDA;
    default:
      *desc = "unknown cuDNN status";
      return QG_STATUS_CUDA;
  }
}

qg_status qg_cuda_map_cudnn(int status, const char *call, const char *file, int line) {
  if (status == 0) return QG_OK;
  const char *desc = NULL;
  qg_status st = status_of_cudnn(status, &desc);
  return qg_set_error(st, "%s failed at %s:%d: %s (%d): %s", call ? call : "cuDNN call",
                      short_path(file), line, qg_cuda_cudnn_status_name(status), status, desc);
}
