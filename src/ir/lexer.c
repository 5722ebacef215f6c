/* Character-level scanner for graph text (see lexer.h). */
#include "ir/lexer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/text.h"

void qg_text_position(const char *text, size_t off, int *line, int *col) {
  int l = 1;
  size_t ls = 0;
  for (size_t i = 0; i < off; i++) {
    if (text[i] == '\n') {
      l++;
      ls = i + 1;
    }
  }
  if (line) *line = l;
  if (col) *col = (int)(off - ls) + 1;
}

void qg__lex_init(qg__lex *lx, const char *text, size_t len, size_t start, const char *filename) {
  lx->text = text;
  lx->len = len;
  lx->pos = start > len ? len : start;
  lx->filename = filename ? filename : "<string>";
  int line, col;
  qg_text_position(text, lx->pos, &line, &col);
  lx->line = line;
  lx->line_start = lx->pos - (size_t)(col - 1);
}

void qg__lex_init_hint(qg__lex *lx, const char *text, size_t len, size_t start, const char *filename,
                       size_t hint_offset, int hint_line) {
  if (hint_line <= 0 || hint_offset > start || hint_offset > len) {
    qg__lex_init(lx, text, len, start, filename);
    return;
  }
  lx->text = text;
  lx->len = len;
  lx->pos = hint_offset;
  lx->filename = filename ? filename : "<string>";
  lx->line = hint_line;
  lx->line_start = hint_offset;
  qg__lex_advance(lx, (start > len ? len : start) - hint_offset);
}

int qg__lex_col(const qg__lex *lx) { return (int)(lx->pos - lx->line_start) + 1; }

int qg__lex_eof(const qg__lex *lx) { return lx->pos >= lx->len; }

void qg__lex_advance(qg__lex *lx, size_t n) {
  for (size_t i = 0; i < n && lx->pos < lx->len; i++) {
    if (lx->text[lx->pos] == '\n') {
      lx->line++;
      lx->line_start = lx->pos + 1;
    }
    lx->pos++;
  }
}

void qg__lex_skip_blank(qg__lex *lx) {
  while (lx->pos < lx->len && (lx->text[lx->pos] == ' ' || lx->text[lx->pos] == '\t')) lx->pos++;
}

void qg__lex_skip_ws(qg__lex *lx) {
  for (;;) {
    char c = qg__lex_peek(lx, 0);
    if (c == ' ' || c == '\t' || c == '\r') {
      lx->pos++;
    } else if (c == '\n') {
      qg__lex_advance(lx, 1);
    } else if (c == '#') {
      while (lx->pos < lx->len && lx->text[lx->pos] != '\n') lx->pos++;
    } else {
      return;
    }
  }
}

int qg__lex_accept(qg__lex *lx, const char *s) {
  size_t n = strlen(s);
  if (lx->len - lx->pos < n || memcmp(lx->text + lx->pos, s, n) != 0) return 0;
  qg__lex_advance(lx, n);
  return 1;
}

static int is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int qg__lex_at_word(const qg__lex *lx, const char *s) {
  size_t n = strlen(s);
  if (lx->len - lx->pos < n || memcmp(lx->text + lx->pos, s, n) != 0) return 0;
  return !is_ident_char(qg__lex_peek(lx, n));
}

static qg_status lex_verror(const qg__lex *lx, size_t at, qg_status st, const char *fmt, va_list ap) {
  char msg[QG_ERROR_MAX];
  vsnprintf(msg, sizeof msg, fmt, ap);
  int line, col;
  if (at >= lx->line_start && at <= lx->pos) {
    line = lx->line;
    col = (int)(at - lx->line_start) + 1;
  } else {
    qg_text_position(lx->text, at > lx->len ? lx->len : at, &line, &col);
  }
  return qg_set_error(st, "%s:%d:%d: %s", lx->filename, line, col, msg);
}

qg_status qg__lex_error(const qg__lex *lx, qg_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  qg_status r = lex_verror(lx, lx->pos, st, fmt, ap);
  va_end(ap);
  return r;
}

qg_status qg__lex_error_at(const qg__lex *lx, size_t at, qg_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  qg_status r = lex_verror(lx, at, st, fmt, ap);
  va_end(ap);
  return r;
}

qg_status qg__lex_expected(const qg__lex *lx, const char *what) {
  if (qg__lex_eof(lx)) return qg__lex_error(lx, QG_STATUS_PARSE, "expected %s but found end of input", what);
  char c = qg__lex_peek(lx, 0);
  if (c == '\n' || c == '\r') return qg__lex_error(lx, QG_STATUS_PARSE, "expected %s but found end of line", what);
  /* Show the offending token: an identifier-like run, or one character. */
  size_t n = 0;
  while (lx->pos + n < lx->len && n < 24 && (is_ident_char(lx->text[lx->pos + n]) || lx->text[lx->pos + n] == ':'))
    n++;
  if (n == 0) n = 1;
  return qg__lex_error(lx, QG_STATUS_PARSE, "expected %s but found '%.*s'", what, (int)n, lx->text + lx->pos);
}

qg_status qg__lex_expect(qg__lex *lx, const char *s, int ws) {
  if (ws) qg__lex_skip_ws(lx);
  else qg__lex_skip_blank(lx);
  if (qg__lex_accept(lx, s)) return QG_OK;
  char what[32];
  snprintf(what, sizeof what, "'%s'", s);
  return qg__lex_expected(lx, what);
}

size_t qg__lex_ident(qg__lex *lx, size_t *start) {
  size_t p = lx->pos;
  char c = qg__lex_peek(lx, 0);
  if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')) return 0;
  while (p < lx->len && is_ident_char(lx->text[p])) p++;
  *start = lx->pos;
  size_t n = p - lx->pos;
  lx->pos = p;
  return n;
}

size_t qg__lex_value_name(qg__lex *lx, size_t *start) {
  size_t p = lx->pos;
  while (p < lx->len && (is_ident_char(lx->text[p]) || lx->text[p] == '.')) p++;
  *start = lx->pos;
  size_t n = p - lx->pos;
  lx->pos = p;
  return n;
}

size_t qg__lex_string_extent(const qg__lex *lx) {
  size_t p = lx->pos;
  if (p >= lx->len || lx->text[p] != '"') return 0;
  p++;
  while (p < lx->len) {
    char c = lx->text[p];
    if (c == '\n') return 0;
    if (c == '\\') {
      p += 2;
      continue;
    }
    if (c == '"') return p + 1 - lx->pos;
    p++;
  }
  return 0;
}

/* printQuotedString writes a byte s (a signed char) as three "digits" '0' + s/64, '0' + (s/8)%8,
 * '0' + s%8 using C's truncating division, so bytes >= 0x80 give digits below '0'. */
static int octal_digit(char c) { return c >= '0' - 7 && c <= '7' ? c - '0' : 99; }

qg_status qg__lex_string(qg__lex *lx, char *out, size_t cap, size_t *outlen) {
  size_t ext = qg__lex_string_extent(lx);
  if (ext == 0) return qg__lex_error(lx, QG_STATUS_PARSE, "unterminated string literal");
  const char *p = lx->text + lx->pos + 1, *end = lx->text + lx->pos + ext - 1;
  size_t n = 0;
  while (p < end) {
    char c = *p++;
    if (c != '\\') {
      if (n < cap) out[n++] = c;
      continue;
    }
    char e = *p++;
    char d;
    switch (e) {
      case '\\': d = '\\'; break;
      case '\'': d = '\''; break;
      case '"': d = '"'; break;
      case 'a': d = '\a'; break;
      case 'b': d = '\b'; break;
      case 'f': d = '\f'; break;
      case 'n': d = '\n'; break;
      case 'r': d = '\r'; break;
      case 't': d = '\t'; break;
      case 'v': d = '\v'; break;
      case 'x': {
        int v = 0, k = 0;
        while (k < 2 && p < end &&
               ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'))) {
          v = v * 16 + (*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
          p++;
          k++;
        }
        if (k == 0) {
          return qg__lex_error_at(lx, (size_t)(p - lx->text) - 2, QG_STATUS_PARSE, "bad escape '\\x' in string");
        }
        d = (char)v;
        break;
      }
      default: {
        int d0 = octal_digit(e), d1 = p < end ? octal_digit(p[0]) : 99, d2 = p + 1 < end ? octal_digit(p[1]) : 99;
        if (d0 == 99 || d1 == 99 || d2 == 99) {
          return qg__lex_error_at(lx, (size_t)(p - lx->text) - 2, QG_STATUS_PARSE, "bad escape '\\%c' in string", e);
        }
        p += 2;
        int v = d0 * 64 + d1 * 8 + d2;
        if (v < -128 || v > 255) {
          return qg__lex_error_at(lx, (size_t)(p - lx->text) - 4, QG_STATUS_PARSE, "octal escape out of range in string");
        }
        d = (char)(unsigned char)(v & 0xff);
        break;
      }
    }
    if (n < cap) out[n++] = d;
  }
  qg__lex_advance(lx, ext);
  *outlen = n;
  return QG_OK;
}

size_t qg__lex_number(const qg__lex *lx, int *is_float, int *is_imag) {
  const char *t = lx->text + lx->pos;
  size_t avail = lx->len - lx->pos, i = 0;
  *is_float = 0;
  *is_imag = 0;
  if (i < avail && (t[i] == '-' || t[i] == '+')) i++;
  if (avail - i >= 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0) &&
      !(avail - i > 3 && is_ident_char(t[i + 3]))) {
    *is_float = 1;
    return i + 3;
  }
  size_t d0 = i;
  while (i < avail && t[i] >= '0' && t[i] <= '9') i++;
  if (i == d0) return 0;
  if (i < avail && t[i] == '.') {
    *is_float = 1;
    i++;
    while (i < avail && t[i] >= '0' && t[i] <= '9') i++;
  }
  if (i < avail && (t[i] == 'e' || t[i] == 'E')) {
    size_t j = i + 1;
    if (j < avail && (t[j] == '+' || t[j] == '-')) j++;
    size_t e0 = j;
    while (j < avail && t[j] >= '0' && t[j] <= '9') j++;
    if (j > e0) {
      *is_float = 1;
      i = j;
    }
  }
  if (i < avail && t[i] == 'j') {
    *is_imag = 1;
    i++;
  }
  return i;
}
