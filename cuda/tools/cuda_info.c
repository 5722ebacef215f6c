/* qg_cuda_info: prints what the CUDA layer sees, as JSON, for tools/gpu-check.sh:
 *   {"built": true, "versions": {...}, "device_count": 1, "devices": [{...}],
 *    "selftest": "ok", "error": null}
 * Exit status: 0 when at least one device is usable and every self-test passed, 2 when there
 * is no device (the reason is in "error"), 1 on any other failure. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend/cuda_api.h"

static void add_versions(cJSON *root) {
  qg_cuda_versions v;
  cJSON *o = cJSON_AddObjectToObject(root, "versions");
  if (qg_cuda_get_versions(&v) != QG_OK) {
    cJSON_AddStringToObject(o, "error", qg_last_error());
    return;
  }
  cJSON_AddNumberToObject(o, "runtime", v.runtime);
  cJSON_AddNumberToObject(o, "driver", v.driver);
  cJSON_AddNumberToObject(o, "cudnn", v.cudnn);
  cJSON_AddNumberToObject(o, "cudnn_header", v.cudnn_header);
}

static int add_device(cJSON *arr, int i) {
  qg_cuda_device_info d;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToArray(arr, o);
  cJSON_AddNumberToObject(o, "index", i);
  if (qg_cuda_get_device_info(i, &d) != QG_OK) {
    cJSON_AddStringToObject(o, "error", qg_last_error());
    return 1;
  }
  char cc[16];
  snprintf(cc, sizeof cc, "%d.%d", d.cc_major, d.cc_minor);
  cJSON_AddStringToObject(o, "name", d.name);
  cJSON_AddStringToObject(o, "compute_capability", cc);
  cJSON_AddNumberToObject(o, "multiprocessors", d.multiprocessors);
  cJSON_AddNumberToObject(o, "total_mem", (double)d.total_mem);
  cJSON_AddNumberToObject(o, "free_mem", (double)d.free_mem);
  cJSON_AddNumberToObject(o, "l2_cache_bytes", (double)d.l2_cache_bytes);
  cJSON_AddNumberToObject(o, "clock_khz", d.clock_khz);
  char pci[32];
  snprintf(pci, sizeof pci, "%04x:%02x:%02x", d.pci_domain, d.pci_bus, d.pci_device);
  cJSON_AddStringToObject(o, "pci", pci);
  if (qg_cuda_selftest(i) == QG_OK) {
    cJSON_AddStringToObject(o, "selftest", "ok");
    return 0;
  }
  cJSON_AddStringToObject(o, "selftest", qg_last_error());
  return 1;
}

int main(void) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return 1;
  cJSON_AddBoolToObject(root, "built", qg_cuda_is_built());
  cJSON_AddBoolToObject(root, "cudnn", qg_cuda_has_cudnn());
  cJSON_AddBoolToObject(root, "nvtx", qg_cuda_has_nvtx());
  add_versions(root);
  int n = 0, rc = 0;
  if (qg_cuda_get_device_count(&n) != QG_OK) {
    cJSON_AddNumberToObject(root, "device_count", 0);
    cJSON_AddStringToObject(root, "error", qg_last_error());
    rc = 2;
  } else {
    cJSON_AddNumberToObject(root, "device_count", n);
    cJSON *arr = cJSON_AddArrayToObject(root, "devices");
    for (int i = 0; i < n; i++) rc |= add_device(arr, i);
    cJSON_AddNullToObject(root, "error");
  }
  char *text = cJSON_Print(root);
  if (text) {
    puts(text);
    free(text);
  } else {
    rc = 1;
  }
  cJSON_Delete(root);
  return rc;
}
