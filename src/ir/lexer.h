/* A character-level scanner for graph text, shared by the graph parser (and usable by the
 * module-text parser). It tracks line and column as it moves so that every error can say
 * "file:line:col: ...", and it never allocates.
 *
 * Whitespace: qg__lex_skip_ws() skips spaces, tabs, newlines and whole-line `#` comments;
 * qg__lex_skip_blank() skips only spaces and tabs (a `#` after a node on the same line is that
 * node's source comment, so it must not be skipped blindly). */
#ifndef QG_IR_LEXER_H
#define QG_IR_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef struct qg__lex {
  const char *text;
  size_t len;        /* bytes available (text need not be NUL-terminated) */
  size_t pos;        /* current offset */
  int line;          /* 1-based line of pos */
  size_t line_start; /* offset of the first byte of that line */
  const char *filename;
} qg__lex;

/* Starts scanning text[start..len); line/col are those of the whole text. */
void qg__lex_init(qg__lex *lx, const char *text, size_t len, size_t start, const char *filename);
/* Like qg__lex_init, with a known line start: text[hint_offset] begins line hint_line
 * (hint_offset <= start). Line numbers are counted from there instead of from the beginning. */
void qg__lex_init_hint(qg__lex *lx, const char *text, size_t len, size_t start, const char *filename,
                       size_t hint_offset, int hint_line);
int qg__lex_col(const qg__lex *lx); /* 1-based column of pos */
/* The byte at pos + ahead, or 0 past the end. */
static inline char qg__lex_peek(const qg__lex *lx, size_t ahead) {
  return lx->pos + ahead < lx->len ? lx->text[lx->pos + ahead] : '\0';
}
int qg__lex_eof(const qg__lex *lx);
void qg__lex_advance(qg__lex *lx, size_t n); /* moves forward, counting newlines */
void qg__lex_skip_blank(qg__lex *lx);
void qg__lex_skip_ws(qg__lex *lx);
/* True (and consumes it) if the text at pos starts with s. */
int qg__lex_accept(qg__lex *lx, const char *s);
/* True if the text at pos starts with s followed by a non-identifier byte. */
int qg__lex_at_word(const qg__lex *lx, const char *s);

/* Error helpers: set a "file:line:col: <message>" error at pos (or at offset `at`). */
qg_status qg__lex_error(const qg__lex *lx, qg_status st, const char *fmt, ...) QG_PRINTF(3, 4);
qg_status qg__lex_error_at(const qg__lex *lx, size_t at, qg_status st, const char *fmt, ...) QG_PRINTF(4, 5);
/* "expected X but found 'tok'" at pos. */
qg_status qg__lex_expected(const qg__lex *lx, const char *what);
/* Consumes `s` (after skipping blanks and, if ws, newlines) or fails with "expected 's'". */
qg_status qg__lex_expect(qg__lex *lx, const char *s, int ws) QG_MUST_USE;

/* Identifier [A-Za-z_][A-Za-z0-9_]*; returns its length and sets *start (0: none, nothing consumed). */
size_t qg__lex_ident(qg__lex *lx, size_t *start);
/* A value name after '%': [A-Za-z0-9_.]+ ; 0 if none. */
size_t qg__lex_value_name(qg__lex *lx, size_t *start);

/* A double-quoted string as PyTorch prints it (c10::printQuotedString: \\ \' \" \a \b \f \n \r
 * \t \v and three-digit octal escapes, including the signed-char form it produces for bytes
 * >= 0x80) or with \xNN escapes. Decodes into out (capacity cap, at least the literal's length);
 * *outlen receives the decoded length. */
qg_status qg__lex_string(qg__lex *lx, char *out, size_t cap, size_t *outlen) QG_MUST_USE;
/* Length in bytes of the string literal at pos (quotes included), or 0 if unterminated. */
size_t qg__lex_string_extent(const qg__lex *lx);

/* A number literal: [-] digits [. digits] [e[+-]digits] [j], or [-]inf / nan. Sets *is_float
 * (it has '.', an exponent, or is inf/nan), *is_imag (trailing 'j'). 0 if none at pos. */
size_t qg__lex_number(const qg__lex *lx, int *is_float, int *is_imag);

#endif
