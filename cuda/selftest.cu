// A tiny kernel proving that this build's device code runs on the GPU at hand (the right
// SASS or PTX is embedded, the driver accepts it, memory round-trips). Plain C interface.
#include <cuda_runtime_api.h>

#include "backend/cuda_api.h"
extern "C" {
#include "base/alloc.h"  // plain C header without its own extern "C" guard
}

namespace {

__global__ void iota_kernel(int *out, int n, int salt) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = i * 3 + salt;
}

qg_status run(int device, int *dev_buf, int *host, int n) {
  const int salt = 7;
  QG_CUDA_CHECK(cudaMemset(dev_buf, 0xff, sizeof(int) * (size_t)n));
  iota_kernel<<<(n + 255) / 256, 256>>>(dev_buf, n, salt);
  QG_CUDA_CHECK(cudaGetLastError());
  QG_CUDA_CHECK(cudaMemcpy(host, dev_buf, sizeof(int) * (size_t)n, cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; i++) {
    if (host[i] != i * 3 + salt) {
      return qg_set_error(QG_STATUS_CHECK_FAILED,
                          "CUDA self-test on device %d: element %d is %d, expected %d", device,
                          i, host[i], i * 3 + salt);
    }
  }
  return QG_OK;
}

}  // namespace

extern "C" qg_status qg_cuda_selftest(int device) {
  int n = 0;
  QG_TRY(qg_cuda_get_device_count(&n));
  if (device < 0 || device >= n) {
    return qg_set_error(QG_STATUS_NO_DEVICE, "no CUDA device %d: %d present", device, n);
  }
  QG_CUDA_CHECK(cudaSetDevice(device));
  const int n_elems = 1000;
  int *host = static_cast<int *>(qg__malloc(sizeof(int) * n_elems));
  if (!host) return qg_oom("CUDA self-test host buffer");
  int *dev_buf = nullptr;
  cudaError_t e = cudaMalloc(&dev_buf, sizeof(int) * n_elems);
  if (e != cudaSuccess) {
    qg__free(host);
    QG_CUDA_CHECK(e);
  }
  qg_status st = run(device, dev_buf, host, n_elems);
  qg__free(host);
  e = cudaFree(dev_buf);
  if (st != QG_OK) return st;
  QG_CUDA_CHECK(e);
  return QG_OK;
}
