/* The CUDA layer's plain-C interface: device query, error mapping, NVTX ranges.
 *
 * Two implementations share this header. When the CUDA toolkit is found (QG_HAVE_CUDA=1 on
 * every target that links `quantgraph`), the .c and .cu files in cuda/ provide the real ones;
 * otherwise src/backend/cuda_stub.c answers every query with QG_STATUS_NO_DEVICE and the
 * message "quantgraph was built without CUDA". So callers never need #ifdefs: they ask
 * qg_cuda_get_device_count() and fall back to the CPU on any failure, with the reason in
 * qg_last_error().
 *
 * The header includes no CUDA header and uses no C++: error codes travel as int (cudaError_t,
 * cublasStatus_t and cudnnStatus_t are all C enums whose success value is 0).
 *
 *   int n;
 *   if (qg_cuda_get_device_count(&n) != QG_OK) {
 *     fprintf(stderr, "running on the CPU: %s\n", qg_last_error());
 *   }
 */
#ifndef QG_BACKEND_CUDA_API_H
#define QG_BACKEND_CUDA_API_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Inside the block: base/status.h is plain C without its own guard, and .cu files include
 * this header. */
#include "base/status.h"

/* ---- build facts ------------------------------------------------------------------------ */

/* 1 when this build contains the CUDA layer (QG_HAVE_CUDA), 0 for the stub. */
int qg_cuda_is_built(void);
/* 1 when built with cuDNN (found by cmake/FindCUDNN.cmake), 1 when NVTX ranges are compiled
 * in (CUDA::nvtx3); 0 otherwise and always 0 in the stub. */
int qg_cuda_has_cudnn(void);
int qg_cuda_has_nvtx(void);

typedef struct qg_cuda_versions {
  int runtime;       /* cudaRuntimeGetVersion: 1000*major + 10*minor (13000 = CUDA 13.0) */
  int driver;        /* cudaDriverGetVersion: newest CUDA the driver supports; 0 = no driver */
  int cudnn;         /* cudnnGetVersion() of the loaded library (91900 = 9.19.0); 0 if absent */
  int cudnn_header;  /* CUDNN_VERSION the code was compiled against; 0 if absent */
} qg_cuda_versions;

/* Fills *out (zeroed first). Works without a GPU or a driver (driver is then 0).
 * Errors: QG_STATUS_NO_DEVICE in the stub; QG_STATUS_CUDA if the runtime cannot say its
 * version. Cheap: creates no CUDA context. */
QG_MUST_USE qg_status qg_cuda_get_versions(qg_cuda_versions *out);

/* ---- device query ----------------------------------------------------------------------- */

#define QG_CUDA_NAME_MAX 256

typedef struct qg_cuda_device_info {
  int index;                    /* CUDA device ordinal */
  char name[QG_CUDA_NAME_MAX];  /* "NVIDIA H100 80GB HBM3" */
  int cc_major, cc_minor;       /* compute capability, 9.0 for H100 */
  int multiprocessors;
  size_t total_mem;             /* bytes of global memory */
  size_t free_mem;              /* bytes free when queried (creates the device's context) */
  size_t l2_cache_bytes;
  size_t shared_mem_per_block_optin;
  int clock_khz;                /* 0 where the runtime no longer reports it */
  int pci_domain, pci_bus, pci_device;
} qg_cuda_device_info;

/* Number of CUDA devices. On QG_OK, *count >= 1. When there is none, or the runtime cannot
 * reach a driver (cudaErrorInsufficientDriver, cudaErrorNoDevice, ...), returns
 * QG_STATUS_NO_DEVICE with the reason in qg_last_error(), e.g. "no CUDA device:
 * cudaGetDeviceCount() failed: cudaErrorInsufficientDriver (35): CUDA driver version is
 * insufficient for CUDA runtime version"; *count is then 0. Treat any failure as "no GPU". */
QG_MUST_USE qg_status qg_cuda_get_device_count(int *count);

/* Describes device `device` (0 <= device < count). Errors: QG_STATUS_NO_DEVICE as above or for
 * an ordinal out of range; QG_STATUS_CUDA for a failed runtime call. Cost: creates the
 * device's primary context on first use (tens to hundreds of ms). */
QG_MUST_USE qg_status qg_cuda_get_device_info(int device, qg_cuda_device_info *out);

/* Runs a tiny kernel on `device` (fills a buffer with its indices, copies back, compares) to
 * prove that the toolchain's code runs on this GPU. Errors: QG_STATUS_NO_DEVICE,
 * QG_STATUS_CUDA (e.g. cudaErrorNoKernelImageForDevice when the build lacks this GPU's
 * architecture), QG_STATUS_CHECK_FAILED if the data came back wrong. */
QG_MUST_USE qg_status qg_cuda_selftest(int device);

/* ---- error mapping ---------------------------------------------------------------------- */

/* Map a failed CUDA runtime / cuBLAS(Lt) / cuDNN call to a qg_status and record the message
 * "<call> failed at <file>:<line>: <NAME> (<code>): <description>". Code 0 returns QG_OK and
 * records nothing. Mapping:
 *   memory allocation failures                    -> QG_STATUS_OOM
 *   no device / no or too old driver / stub lib   -> QG_STATUS_NO_DEVICE
 *   "not supported" codes (incl. arch mismatch)   -> QG_STATUS_UNSUPPORTED
 *   cuDNN bad-parameter codes                     -> QG_STATUS_INVALID_ARGUMENT
 *   everything else                               -> QG_STATUS_CUDA
 * `call`, `file` may be NULL. In the stub every non-zero code gives QG_STATUS_NO_DEVICE. */
qg_status qg_cuda_map_error(int err, const char *call, const char *file, int line);
qg_status qg_cuda_map_cublas(int status, const char *call, const char *file, int line);
qg_status qg_cuda_map_cudnn(int status, const char *call, const char *file, int line);

/* Symbolic names, never NULL: "cudaErrorMemoryAllocation", "CUBLAS_STATUS_ALLOC_FAILED",
 * "CUDNN_STATUS_BAD_PARAM"; unknown codes give e.g. "cudaError(9999)" (static buffer per
 * thread, valid until the next call on the thread). */
const char *qg_cuda_error_name(int err);
const char *qg_cuda_cublas_status_name(int status);
const char *qg_cuda_cudnn_status_name(int status);

/* Check a CUDA runtime / cuBLAS / cuDNN call inside a function returning qg_status: on failure
 * return the mapped status with the call's text, file and line in the message. Never aborts.
 * QG_CUDA_CHECK also clears the runtime's last (non-sticky) error so a later
 * cudaGetLastError() does not report it twice. */
#define QG_CUDA_CHECK(call)                                                             \
  do {                                                                                  \
    int qg__cuda_e = (int)(call);                                                       \
    if (qg__cuda_e != 0) {                                                              \
      qg__cuda_clear_last_error();                                                      \
      return qg_cuda_map_error(qg__cuda_e, #call, __FILE__, __LINE__);                  \
    }                                                                                   \
  } while (0)
#define QG_CUBLAS_CHECK(call)                                                           \
  do {                                                                                  \
    int qg__cublas_s = (int)(call);                                                     \
    if (qg__cublas_s != 0) return qg_cuda_map_cublas(qg__cublas_s, #call, __FILE__, __LINE__); \
  } while (0)
#define QG_CUDNN_CHECK(call)                                                            \
  do {                                                                                  \
    int qg__cudnn_s = (int)(call);                                                      \
    if (qg__cudnn_s != 0) return qg_cuda_map_cudnn(qg__cudnn_s, #call, __FILE__, __LINE__); \
  } while (0)

/* cudaGetLastError() where CUDA is built; nothing in the stub. For QG_CUDA_CHECK. */
void qg__cuda_clear_last_error(void);

/* ---- NVTX ------------------------------------------------------------------------------- */

/* Push/pop a range named `name` in the "quantgraph" NVTX domain, shown by Nsight Systems.
 * Near-free when no tool is attached; no-ops when NVTX is not compiled in or in the stub.
 * Pops must match pushes on the same thread. */
void qg_cuda_nvtx_push(const char *name);
void qg_cuda_nvtx_pop(void);
/* A point event in the same domain. */
void qg_cuda_nvtx_mark(const char *name);

#ifdef __cplusplus
}
#endif

#endif
