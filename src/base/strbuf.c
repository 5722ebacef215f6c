#include "base/strbuf.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

static int reserve(qg_strbuf *b, size_t extra) {
  if (b->oom) return -1;
  if (qg__grow((void **)&b->data, &b->cap, b->len + extra + 1, 1) != 0) {
    b->oom = 1;
    return -1;
  }
  return 0;
}

void qg_strbuf_appendn(qg_strbuf *b, const char *s, size_t n) {
  if (reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void qg_strbuf_append(qg_strbuf *b, const char *s) { qg_strbuf_appendn(b, s, strlen(s)); }

void qg_strbuf_putc(qg_strbuf *b, char c) { qg_strbuf_appendn(b, &c, 1); }

void qg_strbuf_vprintf(qg_strbuf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0 || reserve(b, (size_t)n)) return;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void qg_strbuf_printf(qg_strbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  qg_strbuf_vprintf(b, fmt, ap);
  va_end(ap);
}

void qg_strbuf_append_quoted(qg_strbuf *b, const char *s) {
  qg_strbuf_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': qg_strbuf_append(b, "\\\""); break;
      case '\\': qg_strbuf_append(b, "\\\\"); break;
      case '\n': qg_strbuf_append(b, "\\n"); break;
      case '\t': qg_strbuf_append(b, "\\t"); break;
      case '\r': qg_strbuf_append(b, "\\r"); break;
      default:
        if (*p < 0x20) qg_strbuf_printf(b, "\\x%02x", *p);
        else qg_strbuf_putc(b, (char)*p);
    }
  }
  qg_strbuf_putc(b, '"');
}

void qg_strbuf_reset(qg_strbuf *b) {
  b->len = 0;
  b->oom = 0;
  if (b->data) b->data[0] = '\0';
}

void qg_strbuf_free(qg_strbuf *b) {
  qg__free(b->data);
  *b = (qg_strbuf)QG_STRBUF_INIT;
}

const char *qg_strbuf_cstr(const qg_strbuf *b) { return b->data && !b->oom ? b->data : ""; }

qg_status qg_strbuf_ok(const qg_strbuf *b) {
  return b->oom ? qg_oom("a text buffer") : QG_OK;
}

char *qg_strbuf_detach(qg_strbuf *b) {
  if (b->oom) {
    qg_strbuf_free(b);
    return NULL;
  }
  char *d = b->data;
  if (!d) d = qg__strdup("");
  *b = (qg_strbuf)QG_STRBUF_INIT;
  return d;
}
