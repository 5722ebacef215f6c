#include "base/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_msg[QG_ERROR_MAX];
static _Thread_local qg_status last_status;

const char *qg_status_name(qg_status s) {
  switch (s) {
#define QG__STATUS_NAME(name, value, msg) \
  case QG_STATUS_##name:                  \
    return "QG_STATUS_" #name;
    QG_STATUS_LIST(QG__STATUS_NAME)
#undef QG__STATUS_NAME
  }
  return "QG_STATUS_?";
}

const char *qg_status_str(qg_status s) {
  switch (s) {
#define QG__STATUS_STR(name, value, msg) \
  case QG_STATUS_##name:                 \
    return msg;
    QG_STATUS_LIST(QG__STATUS_STR)
#undef QG__STATUS_STR
  }
  return "unknown status";
}

qg_status qg_set_errorv(qg_status s, const char *fmt, va_list ap) {
  last_status = s;
  vsnprintf(last_msg, sizeof last_msg, fmt, ap);
  return s;
}

qg_status qg_set_error(qg_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  qg_set_errorv(s, fmt, ap);
  va_end(ap);
  return s;
}

qg_status qg_error_prefix(qg_status s, const char *fmt, ...) {
  char prefix[QG_ERROR_MAX];
  char old[QG_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, last_msg, sizeof old);
  /* Truncation is acceptable: messages are capped at QG_ERROR_MAX. */
  size_t n = strlen(prefix);
  if (n > sizeof last_msg - 3) n = sizeof last_msg - 3;
  memcpy(last_msg, prefix, n);
  memcpy(last_msg + n, ": ", 2);
  size_t rest = sizeof last_msg - n - 3;
  size_t m = strlen(old);
  if (m > rest) m = rest;
  memcpy(last_msg + n + 2, old, m);
  last_msg[n + 2 + m] = '\0';
  last_status = s;
  return s;
}

const char *qg_last_error(void) { return last_msg; }
qg_status qg_last_status(void) { return last_status; }

void qg_clear_error(void) {
  last_msg[0] = '\0';
  last_status = QG_OK;
}

qg_status qg_oom(const char *what) {
  return qg_set_error(QG_STATUS_OOM, "out of memory while allocating %s", what);
}

void qg__abort(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "quantgraph internal error at %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}
