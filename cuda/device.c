/* Device query: versions, device count, device properties. Any failure to reach a device is
 * reported as QG_STATUS_NO_DEVICE with the runtime's reason, so callers fall back to the CPU. */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <string.h>

#ifdef QG_HAVE_CUDNN
#include <cudnn.h>
#endif

#include "backend/cuda_api.h"

int qg_cuda_is_built(void) { return 1; }

int qg_cuda_has_cudnn(void) {
#ifdef QG_HAVE_CUDNN
  return 1;
#else
  return 0;
#endif
}

qg_status qg_cuda_get_versions(qg_cuda_versions *out) {
  if (!out) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "qg_cuda_get_versions: out is NULL");
  memset(out, 0, sizeof *out);
  QG_CUDA_CHECK(cudaRuntimeGetVersion(&out->runtime));
  /* Documented to succeed with 0 when no driver is installed; treat an error the same way. */
  if (cudaDriverGetVersion(&out->driver) != cudaSuccess) {
    qg__cuda_clear_last_error();
    out->driver = 0;
  }
#ifdef QG_HAVE_CUDNN
  out->cudnn = (int)cudnnGetVersion(); /* needs no GPU: it only reads the library's version */
  out->cudnn_header = CUDNN_VERSION;
#endif
  return QG_OK;
}

/* Any failure here means "no usable device": say why, keep the runtime's own words. */
static qg_status no_device(qg_status st) {
  return qg_error_prefix(st == QG_STATUS_OOM ? st : QG_STATUS_NO_DEVICE, "no CUDA device");
}

static qg_status count_devices(int *count) {
  QG_CUDA_CHECK(cudaGetDeviceCount(count));
  return QG_OK;
}

qg_status qg_cuda_get_device_count(int *count) {
  if (!count) {
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "qg_cuda_get_device_count: count is NULL");
  }
  int n = 0;
  qg_status st = count_devices(&n);
  if (st != QG_OK) {
    *count = 0;
    return no_device(st);
  }
  if (n <= 0) {
    *count = 0;
    return qg_set_error(QG_STATUS_NO_DEVICE, "no CUDA device: the driver reports 0 devices");
  }
  *count = n;
  return QG_OK;
}

static qg_status attribute(int *v, enum cudaDeviceAttr attr, int device) {
  QG_CUDA_CHECK(cudaDeviceGetAttribute(v, attr, device));
  return QG_OK;
}

static qg_status query(int device, qg_cuda_device_info *out) {
  struct cudaDeviceProp prop;
  QG_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  out->index = device;
  snprintf(out->name, sizeof out->name, "%s", prop.name);
  out->cc_major = prop.major;
  out->cc_minor = prop.minor;
  out->multiprocessors = prop.multiProcessorCount;
  out->total_mem = prop.totalGlobalMem;
  out->l2_cache_bytes = prop.l2CacheSize > 0 ? (size_t)prop.l2CacheSize : 0;
  out->shared_mem_per_block_optin = prop.sharedMemPerBlockOptin;
  out->pci_domain = prop.pciDomainID;
  out->pci_bus = prop.pciBusID;
  out->pci_device = prop.pciDeviceID;
  /* cudaDeviceProp.clockRate is gone in CUDA 13; the attribute stays. */
  int clock = 0;
  if (attribute(&clock, cudaDevAttrClockRate, device) == QG_OK) out->clock_khz = clock;
  qg_clear_error();

  int previous = 0;
  QG_CUDA_CHECK(cudaGetDevice(&previous));
  QG_CUDA_CHECK(cudaSetDevice(device));
  size_t free_b = 0, total_b = 0;
  cudaError_t e = cudaMemGetInfo(&free_b, &total_b);
  (void)cudaSetDevice(previous);
  QG_CUDA_CHECK(e);
  out->free_mem = free_b;
  return QG_OK;
}

qg_status qg_cuda_get_device_info(int device, qg_cuda_device_info *out) {
  if (!out) {
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "qg_cuda_get_device_info: out is NULL");
  }
  memset(out, 0, sizeof *out);
  int n = 0;
  QG_TRY(qg_cuda_get_device_count(&n));
  if (device < 0 || device >= n) {
    return qg_set_error(QG_STATUS_NO_DEVICE, "no CUDA device %d: %d device%s present", device, n,
                        n == 1 ? "" : "s");
  }
  qg_status st = query(device, out);
  if (st != QG_OK) return qg_error_prefix(st, "querying CUDA device %d", device);
  return QG_OK;
}
