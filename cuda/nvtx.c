/* NVTX v3 ranges in a "quantgraph" domain (header-only; CUDA::nvtx3). Without a profiler
 * attached the calls return at once, so they can stay in release builds. */
#include "backend/cuda_api.h"

#ifdef QG_HAVE_NVTX
#include <nvtx3/nvToolsExt.h>

/* One domain per process, created on first use. NVTX's own calls are thread-safe; a race
 * here at worst creates the domain twice, and nvtxDomainCreateA returns the same handle for
 * the same name. */
static nvtxDomainHandle_t domain(void) {
  static nvtxDomainHandle_t d;
  if (!d) d = nvtxDomainCreateA("quantgraph");
  return d;
}

static nvtxEventAttributes_t attributes(const char *name) {
  nvtxEventAttributes_t a = {0};
  a.version = NVTX_VERSION;
  a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
  a.messageType = NVTX_MESSAGE_TYPE_ASCII;
  a.message.ascii = name ? name : "(unnamed)";
  return a;
}

int qg_cuda_has_nvtx(void) { return 1; }

void qg_cuda_nvtx_push(const char *name) {
  nvtxEventAttributes_t a = attributes(name);
  nvtxDomainRangePushEx(domain(), &a);
}

void qg_cuda_nvtx_pop(void) { nvtxDomainRangePop(domain()); }

void qg_cuda_nvtx_mark(const char *name) {
  nvtxEventAttributes_t a = attributes(name);
  nvtxDomainMarkEx(domain(), &a);
}

#else

int qg_cuda_has_nvtx(void) { return 0; }
void qg_cuda_nvtx_push(const char *name) { (void)name; }
void qg_cuda_nvtx_pop(void) {}
void qg_cuda_nvtx_mark(const char *name) { (void)name; }

#endif
