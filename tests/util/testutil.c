#include "util/testutil.h"

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"

char *qg_test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  cr_assert(buf != NULL);
  cr_assert(fread(buf, 1, (size_t)n, f) == (size_t)n, "short read on %s", path);
  fclose(f);
  buf[n] = '\0';
  if (len) *len = (size_t)n;
  return buf;
}

const char *qg_test_fixture(const char *relpath) {
  static _Thread_local char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", QG_FIXTURE_DIR, relpath);
  return buf;
}

size_t qg_test_every_alloc_failure(qg_status (*fn)(void *ud), void *ud) {
  for (long i = 0;; i++) {
    qg__alloc_fail_after(i);
    qg_status st = fn(ud);
    int failed = qg__alloc_failed();
    qg__alloc_fail_after(-1);
    if (!failed) {
      cr_assert(st == QG_OK, "run without injected failure returned %s: %s", qg_status_name(st),
                qg_last_error());
      return (size_t)i + 1;
    }
    cr_assert(st == QG_STATUS_OOM, "allocation %ld failed but the call returned %s: %s", i,
              qg_status_name(st), qg_last_error());
  }
}

qg_module *qg_test_reload(const qg_module *m) {
  char path[] = "/tmp/qg_reload_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0, "mkstemp failed");
  close(fd);
  qg_status st = qg_module_save(m, path);
  qg_module *r = NULL;
  if (st == QG_OK) st = qg_module_load(path, &r);
  remove(path);
  QG_ASSERT_OK(st);
  return r;
}

int qg_test_case_settled(const char *name, qg_status st, const struct cJSON *error, char *why, size_t whylen, int *ok) {
  if (error) {
    if (st == QG_OK) {
      snprintf(why, whylen, "%s: expected an error containing '%s', got success", name, error->valuestring);
      *ok = 0;
    } else if (!strstr(qg_last_error(), error->valuestring)) {
      snprintf(why, whylen, "%s: error '%s' does not contain '%s'", name, qg_last_error(), error->valuestring);
      *ok = 0;
    }
    return 1;
  }
  if (st != QG_OK) {
    snprintf(why, whylen, "%s: run failed: %s: %s", name, qg_status_name(st), qg_last_error());
    *ok = 0;
    return 1;
  }
  return 0;
}
