#include "module/json.h"

#include "base/alloc.h"

static _Thread_local int json_oom;

static void *json_malloc(size_t n) {
  void *p = qg__malloc(n);
  if (!p) json_oom = 1;
  return p;
}

static void json_free(void *p) { qg__free(p); }

void qg__json_begin(void) {
  /* cJSON keeps the hooks in globals; installing the same pair again is harmless. */
  cJSON_Hooks hooks = {json_malloc, json_free};
  cJSON_InitHooks(&hooks);
  json_oom = 0;
}

int qg__json_oom(void) { return json_oom; }
