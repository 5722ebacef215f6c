/* The CUDA layer when quantgraph is built without CUDA: every query says so, so callers fall
 * back to the CPU with a reason instead of needing #ifdefs. CMake leaves this file out when
 * cuda/ is built (see the top CMakeLists.txt). */
#ifdef QG_HAVE_CUDA
#error "cuda_stub.c must not be compiled when the CUDA layer is built"
#endif

#include <stdio.h>
#include <string.h>

#include "backend/cuda_api.h"

#define NOT_BUILT "quantgraph was built without CUDA"

int qg_cuda_is_built(void) { return 0; }
int qg_cuda_has_cudnn(void) { return 0; }
int qg_cuda_has_nvtx(void) { return 0; }

qg_status qg_cuda_get_versions(qg_cuda_versions *out) {
  if (out) memset(out, 0, sizeof *out);
  return qg_set_error(QG_STATUS_NO_DEVICE, "CUDA versions: " NOT_BUILT);
}

qg_status qg_cuda_get_device_count(int *count) {
  if (count) *count = 0;
  return qg_set_error(QG_STATUS_NO_DEVICE, "no CUDA device: " NOT_BUILT);
}

qg_status qg_cuda_get_device_info(int device, qg_cuda_device_info *out) {
  if (out) memset(out, 0, sizeof *out);
  return qg_set_error(QG_STATUS_NO_DEVICE, "CUDA device %d: " NOT_BUILT, device);
}

qg_status qg_cuda_selftest(int device) {
  return qg_set_error(QG_STATUS_NO_DEVICE, "CUDA self-test on device %d: " NOT_BUILT, device);
}

/* No CUDA code exists in this build, so a non-zero code can only come from a caller passing
 * one through; report it without pretending to know its name. */
static qg_status not_built(int code, const char *lib, const char *call, const char *file,
                           int line) {
  if (code == 0) return QG_OK;
  return qg_set_error(QG_STATUS_NO_DEVICE, "%s failed at %s:%d: %s code %d: " NOT_BUILT,
                      call ? call : "CUDA call", file ? file : "?", line, lib, code);
}

qg_status qg_cuda_map_error(int err, const char *call, const char *file, int line) {
  return not_built(err, "CUDA runtime", call, file, line);
}
qg_status qg_cuda_map_cublas(int status, const char *call, const char *file, int line) {
  return not_built(status, "cuBLAS", call, file, line);
}
qg_status qg_cuda_map_cudnn(int status, const char *call, const char *file, int line) {
  return not_built(status, "cuDNN", call, file, line);
}

static const char *unknown_name(const char *kind, int code) {
  static _Thread_local char buf[48];
  snprintf(buf, sizeof buf, "%s(%d)", kind, code);
  return buf;
}

const char *qg_cuda_error_name(int err) { return unknown_name("cudaError", err); }
const char *qg_cuda_cublas_status_name(int status) { return unknown_name("cublasStatus", status); }
const char *qg_cuda_cudnn_status_name(int status) { return unknown_name("cudnnStatus", status); }

void qg__cuda_clear_last_error(void) {}

void qg_cuda_nvtx_push(const char *name) { (void)name; }
void qg_cuda_nvtx_pop(void) {}
void qg_cuda_nvtx_mark(const char *name) { (void)name; }
