/* A growable NUL-terminated string with a sticky out-of-memory flag: append freely, check
 * qg_strbuf_ok() once at the end. */
#ifndef QG_BASE_STRBUF_H
#define QG_BASE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "base/status.h"

typedef struct qg_strbuf {
  char *data; /* always NUL-terminated when len > 0 or after any append */
  size_t len;
  size_t cap;
  int oom; /* set once an append failed; later appends are ignored */
} qg_strbuf;

#define QG_STRBUF_INIT {NULL, 0, 0, 0}

void qg_strbuf_append(qg_strbuf *b, const char *s);
void qg_strbuf_appendn(qg_strbuf *b, const char *s, size_t n);
void qg_strbuf_putc(qg_strbuf *b, char c);
void qg_strbuf_printf(qg_strbuf *b, const char *fmt, ...) QG_PRINTF(2, 3);
void qg_strbuf_vprintf(qg_strbuf *b, const char *fmt, va_list ap);
/* Appends s as a double-quoted string with C escapes (\" \\ \n \t \r \xNN), as PyTorch prints
 * string attributes. */
void qg_strbuf_append_quoted(qg_strbuf *b, const char *s);
void qg_strbuf_reset(qg_strbuf *b); /* len = 0, keeps memory, clears oom */
void qg_strbuf_free(qg_strbuf *b);
/* Returns the contents ("" if empty); valid until the next append or free. */
const char *qg_strbuf_cstr(const qg_strbuf *b);
/* QG_OK, or QG_STATUS_OOM (with the error message set) if any append failed. */
qg_status qg_strbuf_ok(const qg_strbuf *b);
/* Transfers ownership of the buffer to the caller (free with qg__free); b is reset. NULL if oom. */
char *qg_strbuf_detach(qg_strbuf *b);

#endif
