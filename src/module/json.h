/* cJSON glue: routes cJSON's allocations through qg__malloc (so failure injection covers
 * JSON parsing and printing) and tells an out-of-memory NULL from a syntax-error NULL. */
#ifndef QG_MODULE_JSON_H
#define QG_MODULE_JSON_H

#include <cjson/cJSON.h>

/* Installs the hooks (idempotent, cheap) and clears the OOM flag of the calling thread. */
void qg__json_begin(void);
/* True if an allocation made by cJSON failed since the last qg__json_begin(). */
int qg__json_oom(void);

#endif
