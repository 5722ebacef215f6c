/* FileCheck: PyTorch's torch/csrc/jit/testing/file_check.cpp in C.
 *
 * Note [FileCheck semantics]
 *   Directives are matched in order against one text, each starting where the previous match
 *   ended ("prev"). Consecutive CHECK-NOTs form one group, as do consecutive CHECK-DAGs. A NOT
 *   group is checked over the gap between prev and the *next* group's match (or the end of the
 *   text), and the next group is matched first, so its failure is the one reported. A DAG
 *   group matches each of its patterns independently from prev; the group's range runs from
 *   the earliest match to the furthest end. CHECK-COUNT-N finds N successive occurrences; its
 *   range starts at the first. CHECK-NEXT must match on the line after prev's end, CHECK-SAME
 *   on the line where prev ended. Searching for an empty pattern yields offset 0, wherever the
 *   search starts, as PyTorch's StringCordView::find does.
 *
 * Note [FileCheck messages]
 *   Messages are PyTorch's, byte for byte: the first line, "Searched string:" and then the
 *   text around a range printed as SourceRange::highlight() does (3 lines of context, the
 *   range's lines, "~~~ <--- HERE" under it), then "From CHECK-xxx: pattern". PyTorch builds
 *   the "did not find" range as (search start, pattern length), which is usually empty or
 *   reversed; print_context() reproduces what its printer makes of such ranges, quirks
 *   included, so that users see the text they know. The one deliberate difference: bytes
 *   >= 0x80 in a quoted pattern are printed as proper octal escapes. */
#include "ir/filecheck.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "ir/text.h"

#define NPOS SIZE_MAX
/* Lines of context printed before and after a highlighted range (SourceRange::CONTEXT). */
#define CONTEXT_LINES 3

typedef enum fc_kind {
  FC_CHECK,
  FC_CHECK_NEXT,
  FC_CHECK_SAME,
  FC_CHECK_NOT,
  FC_CHECK_COUNT,
  FC_CHECK_DAG,
} fc_kind;

typedef struct fc_check {
  fc_kind kind;
  size_t count; /* FC_CHECK_COUNT only; >= 1 */
  char *pat;    /* owned, NUL-terminated */
  size_t len;
} fc_check;

struct qg_filecheck {
  fc_check *checks;
  size_t n, cap;
  qg_status sticky;      /* first builder failure, reported by run */
  char sticky_msg[160];  /* its message (fixed: recording it must not allocate) */
  qg_strbuf message;     /* full message of the last failing run */
};

typedef struct range {
  size_t start, end;
} range;

/* State of one run: the text, and the message being built when a check fails. */
typedef struct run_ctx {
  const char *s;
  size_t n;
  qg_strbuf *msg;
  size_t ctx_begin, ctx_end; /* where the context lines sit in msg (for shortening) */
} run_ctx;

/* ---- building ------------------------------------------------------------------------ */

qg_status qg_filecheck_create(qg_filecheck_t **out) {
  if (!out) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "qg_filecheck_create: out is NULL");
  *out = NULL;
  qg_filecheck_t *fc = qg__calloc(1, sizeof *fc);
  if (!fc) return qg_oom("a FileCheck object");
  *out = fc;
  return QG_OK;
}

void qg_filecheck_destroy(qg_filecheck_t *fc) {
  if (!fc) return;
  for (size_t i = 0; i < fc->n; i++) qg__free(fc->checks[i].pat);
  qg__free(fc->checks);
  qg_strbuf_free(&fc->message);
  qg__free(fc);
}

static void set_sticky(qg_filecheck_t *fc, qg_status st, const char *msg) {
  if (fc->sticky != QG_OK) return; /* keep the first failure */
  fc->sticky = st;
  snprintf(fc->sticky_msg, sizeof fc->sticky_msg, "%s", msg);
}

static qg_filecheck_t *add_checkn(qg_filecheck_t *fc, fc_kind kind, const char *pat, size_t len,
                                  size_t count) {
  if (!fc) return NULL;
  if (fc->sticky != QG_OK) return fc;
  if (!pat) {
    set_sticky(fc, QG_STATUS_INVALID_ARGUMENT, "FileCheck: a check was given a NULL pattern");
    return fc;
  }
  if (qg__grow((void **)&fc->checks, &fc->cap, fc->n + 1, sizeof *fc->checks) != 0) {
    set_sticky(fc, QG_STATUS_OOM, "out of memory while recording a FileCheck directive");
    return fc;
  }
  char *copy = qg__strndup(pat, len);
  if (!copy) {
    set_sticky(fc, QG_STATUS_OOM, "out of memory while recording a FileCheck directive");
    return fc;
  }
  fc->checks[fc->n++] = (fc_check){kind, count, copy, len};
  return fc;
}

static qg_filecheck_t *add_check(qg_filecheck_t *fc, fc_kind kind, const char *pat, size_t count) {
  return add_checkn(fc, kind, pat, pat ? strlen(pat) : 0, count);
}

qg_filecheck_t *qg_fc_check(qg_filecheck_t *fc, const char *pattern) {
  return add_check(fc, FC_CHECK, pattern, 0);
}

qg_filecheck_t *qg_fc_check_next(qg_filecheck_t *fc, const char *pattern) {
  return add_check(fc, FC_CHECK_NEXT, pattern, 0);
}

qg_filecheck_t *qg_fc_check_same(qg_filecheck_t *fc, const char *pattern) {
  return add_check(fc, FC_CHECK_SAME, pattern, 0);
}

qg_filecheck_t *qg_fc_check_not(qg_filecheck_t *fc, const char *pattern) {
  return add_check(fc, FC_CHECK_NOT, pattern, 0);
}

qg_filecheck_t *qg_fc_check_count(qg_filecheck_t *fc, const char *pattern, size_t count, int exactly) {
  if (!fc) return NULL;
  if (count == 0 && !exactly) {
    set_sticky(fc, QG_STATUS_INVALID_ARGUMENT,
               "FileCheck: check_count: Count == 0 && !exactly doesn't do anything");
    return fc;
  }
  /* As in PyTorch: "exactly" is the count followed by a CHECK-NOT of the same pattern. */
  if (count) add_check(fc, FC_CHECK_COUNT, pattern, count);
  if (exactly) add_check(fc, FC_CHECK_NOT, pattern, 0);
  return fc;
}

qg_filecheck_t *qg_fc_check_dag(qg_filecheck_t *fc, const char *pattern) {
  return add_check(fc, FC_CHECK_DAG, pattern, 0);
}

size_t qg_filecheck_ndirectives(const qg_filecheck_t *fc) { return fc ? fc->n : 0; }

const char *qg_filecheck_message(const qg_filecheck_t *fc) {
  return fc ? qg_strbuf_cstr(&fc->message) : "";
}

/* ---- text helpers -------------------------------------------------------------------- */

/* PyTorch's StringCordView::find: first offset >= start of pat, NPOS if none; an empty
 * pattern is found at 0. */
static size_t find(const char *s, size_t n, const char *pat, size_t len, size_t start) {
  if (len == 0) return 0;
  if (start > n || n - start < len) return NPOS;
  const char *p = memmem(s + start, n - start, pat, len);
  return p ? (size_t)(p - s) : NPOS;
}

/* std::string::operator[]: the byte at i, and '\0' at i == n. */
static char at(const run_ctx *c, size_t i) { return i < c->n ? c->s[i] : '\0'; }

/* std::string::substr(pos, count) appended to out (pos <= n; count clipped). */
static void append_substr(qg_strbuf *out, const run_ctx *c, size_t pos, size_t count) {
  if (pos >= c->n) return;
  if (count > c->n - pos) count = c->n - pos;
  qg_strbuf_appendn(out, c->s + pos, count);
}

/* c10::printQuotedString. */
static void append_quoted(qg_strbuf *out, const char *s, size_t len) {
  qg_strbuf_putc(out, '"');
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    switch (ch) {
      case '\\': qg_strbuf_append(out, "\\\\"); break;
      case '\'': qg_strbuf_append(out, "\\'"); break;
      case '"': qg_strbuf_append(out, "\\\""); break;
      case '\a': qg_strbuf_append(out, "\\a"); break;
      case '\b': qg_strbuf_append(out, "\\b"); break;
      case '\f': qg_strbuf_append(out, "\\f"); break;
      case '\n': qg_strbuf_append(out, "\\n"); break;
      case '\r': qg_strbuf_append(out, "\\r"); break;
      case '\t': qg_strbuf_append(out, "\\t"); break;
      case '\v': qg_strbuf_append(out, "\\v"); break;
      default:
        if (ch > 0x1f && ch < 0x7f) qg_strbuf_putc(out, (char)ch);
        else qg_strbuf_printf(out, "\\%03o", (unsigned)ch);
    }
  }
  qg_strbuf_putc(out, '"');
}

static void append_repeat(qg_strbuf *out, char ch, size_t k) {
  for (size_t i = 0; i < k; i++) qg_strbuf_putc(out, ch);
}

/* SourceRange(start, end).highlight(): SourceRange::print_with_context with CONTEXT lines
 * and highlighting, for a source without a file name. Follows PyTorch step by step (see
 * Note [FileCheck messages]); all arithmetic is size_t as there. */
static void print_context(run_ctx *c, size_t start, size_t end) {
  qg_strbuf *out = c->msg;
  const char *str = c->s;
  size_t n = c->n;
  c->ctx_begin = out->len;
  if (end - start == n) { /* "the entire file": printed as is */
    qg_strbuf_appendn(out, str, n);
    c->ctx_end = out->len;
    return;
  }
  size_t range_end = n < end ? n : end;
  size_t begin_line = start, end_line = range_end;
  if (begin_line > n) {
    c->ctx_end = out->len;
    return;
  }
  while (begin_line > 0 && str[begin_line - 1] != '\n') --begin_line;
  while (end_line < n && str[end_line] != '\n') ++end_line;

  size_t begin_context = begin_line;
  for (size_t i = 0; begin_context > 0; --begin_context) {
    if (str[begin_context - 1] == '\n') ++i;
    if (i >= CONTEXT_LINES) break;
  }
  size_t end_context = end_line;
  for (size_t i = 0; end_context < n; ++end_context) {
    if (str[end_context] == '\n') ++i;
    if (i >= CONTEXT_LINES) break;
  }

  append_substr(out, c, begin_context, start - begin_context);
  size_t line_start = start;
  size_t line_end = start;
  while (line_start < range_end) {
    while (line_end < n && str[line_end] != '\n') ++line_end;
    /* The line, with its newline when it has one. */
    size_t count = line_end - line_start + 1;
    if (count > n - line_start) count = n - line_start;
    qg_strbuf_appendn(out, str + line_start, count);
    if (str[line_start + count - 1] != '\n') qg_strbuf_putc(out, '\n');

    size_t hl_begin = line_start, hl_end = line_start;
    while (hl_begin > 0 && str[hl_begin - 1] != '\n') --hl_begin;
    while (hl_end < range_end && str[hl_end] != '\n') ++hl_end;
    size_t empty_space = 0;
    for (size_t i = hl_begin; i < hl_end; i++) {
      if (str[i] == ' ' || i < start) empty_space++;
      else break;
    }
    size_t highlight_space = hl_end - hl_begin - empty_space;
    if (highlight_space > 0) {
      int more_lines = 0;
      for (size_t i = line_end; i <= range_end; i++) {
        if (at(c, i) != '\n' && at(c, i) != ' ') more_lines = 1;
      }
      append_repeat(out, ' ', empty_space);
      append_repeat(out, '~', highlight_space);
      qg_strbuf_append(out, more_lines && line_end != range_end ? "\n" : " <--- HERE\n");
    }
    ++line_end;
    line_start = line_end;
  }
  if (line_end <= n) {
    size_t before = out->len;
    append_substr(out, c, line_end, end_context - line_end);
    if (out->len > before && !out->oom && out->data[out->len - 1] != '\n') qg_strbuf_putc(out, '\n');
  }
  c->ctx_end = out->len;
}

/* "CHECK-COUNT-2: aten::add", as PyTorch's operator<<(ostream, Check). */
static void append_check(qg_strbuf *out, const fc_check *ck) {
  static const char *const names[] = {
      [FC_CHECK] = "CHECK",         [FC_CHECK_NEXT] = "CHECK-NEXT", [FC_CHECK_SAME] = "CHECK-SAME",
      [FC_CHECK_NOT] = "CHECK-NOT", [FC_CHECK_COUNT] = "CHECK-COUNT-", [FC_CHECK_DAG] = "CHECK-DAG",
  };
  qg_strbuf_append(out, names[ck->kind]);
  if (ck->kind == FC_CHECK_COUNT) qg_strbuf_printf(out, "%zu", ck->count);
  qg_strbuf_append(out, ": ");
  qg_strbuf_appendn(out, ck->pat, ck->len);
  qg_strbuf_putc(out, '\n');
}

/* assertFind over [start, end): the offset of sub, or NPOS with the message written. ck may be
 * NULL (no "From" line, as for the parser's own searches). */
static size_t assert_find(run_ctx *c, size_t start, size_t end, const char *sub, size_t len,
                          const fc_check *ck) {
  size_t pos = find(c->s, c->n, sub, len, start);
  if (pos != NPOS && pos + len <= end) return pos;
  qg_strbuf_append(c->msg, "Expected to find ");
  append_quoted(c->msg, sub, len);
  qg_strbuf_append(c->msg, " but did not find it\nSearched string:\n");
  print_context(c, start, len); /* sic: PyTorch's range is (start, sub.size()) */
  if (ck) {
    qg_strbuf_append(c->msg, "From ");
    append_check(c->msg, ck);
  }
  return NPOS;
}

/* assertNotFind over [start, end): 0, or -1 with the message written. */
static int assert_not_find(run_ctx *c, size_t start, size_t end, const char *sub, size_t len,
                           const fc_check *ck) {
  size_t pos = find(c->s, c->n, sub, len, start);
  if (pos == NPOS || pos + len > end) return 0;
  qg_strbuf_append(c->msg, "Expected to not find ");
  append_quoted(c->msg, sub, len);
  qg_strbuf_append(c->msg, " but found it\n");
  print_context(c, pos, pos + len);
  qg_strbuf_append(c->msg, "From ");
  append_check(c->msg, ck);
  return -1;
}

/* ---- matching ------------------------------------------------------------------------ */

/* End (exclusive) of the group that starts at check i (see Note [FileCheck semantics]). */
static size_t group_end(const qg_filecheck_t *fc, size_t i) {
  fc_kind k = fc->checks[i].kind;
  size_t j = i + 1;
  if (k == FC_CHECK_NOT || k == FC_CHECK_DAG) {
    while (j < fc->n && fc->checks[j].kind == k) j++;
  }
  return j;
}

/* Matches the positive group [gi, ge) after prev; 0 with *out set, or -1. */
static int match_group(run_ctx *c, const qg_filecheck_t *fc, size_t gi, size_t ge, range prev,
                       range *out) {
  const fc_check *ck = &fc->checks[gi];
  size_t n = c->n;
  if (ck->kind == FC_CHECK_DAG) {
    size_t beg = NPOS, end = 0;
    for (size_t i = gi; i < ge; i++) {
      const fc_check *d = &fc->checks[i];
      size_t pos = assert_find(c, prev.end, n, d->pat, d->len, d);
      if (pos == NPOS) return -1;
      if (pos < beg) beg = pos;
      if (pos + d->len > end) end = pos + d->len;
    }
    *out = (range){beg, end};
    return 0;
  }
  QG_ASSERT(ge == gi + 1 && ck->kind != FC_CHECK_NOT);
  size_t start = prev.end, end = start;
  switch (ck->kind) {
    case FC_CHECK:
      start = assert_find(c, start, n, ck->pat, ck->len, ck);
      if (start == NPOS) return -1;
      end = start + ck->len;
      break;
    case FC_CHECK_SAME: {
      size_t pos = assert_find(c, start, n, ck->pat, ck->len, ck);
      if (pos == NPOS) return -1;
      if (assert_not_find(c, prev.end, pos, "\n", 1, ck)) return -1;
      start = pos;
      end = pos + ck->len;
    } break;
    case FC_CHECK_NEXT: {
      size_t line_end = assert_find(c, start, n, "\n", 1, ck);
      if (line_end == NPOS) return -1;
      size_t pos = assert_find(c, line_end + 1, n, ck->pat, ck->len, ck);
      if (pos == NPOS) return -1;
      if (assert_not_find(c, line_end + 1, pos, "\n", 1, ck)) return -1;
      start = pos;
      end = pos + ck->len;
    } break;
    case FC_CHECK_COUNT: {
      size_t first = NPOS;
      for (size_t i = 0; i < ck->count; i++) {
        start = assert_find(c, start, n, ck->pat, ck->len, ck);
        if (start == NPOS) return -1;
        if (start < first) first = start;
        end = start + ck->len;
        start = end;
      }
      start = first;
    } break;
    case FC_CHECK_NOT:
    case FC_CHECK_DAG:
      QG_ASSERT(0 && "handled above");
  }
  *out = (range){start, end};
  return 0;
}

/* The NOT group [gi, ge) must not match in [prev.end, next.start). */
static int check_nots(run_ctx *c, const qg_filecheck_t *fc, size_t gi, size_t ge, range prev,
                      range next) {
  if (next.start < prev.end) return 0;
  for (size_t i = gi; i < ge; i++) {
    const fc_check *ck = &fc->checks[i];
    if (assert_not_find(c, prev.end, next.start, ck->pat, ck->len, ck)) return -1;
  }
  return 0;
}

/* doChecks: 0 if everything matched, -1 with the message in c->msg. */
static int do_checks(run_ctx *c, const qg_filecheck_t *fc) {
  range prev = {0, 0};
  size_t i = 0;
  while (i < fc->n) {
    size_t ge = group_end(fc, i);
    if (fc->checks[i].kind != FC_CHECK_NOT) {
      if (match_group(c, fc, i, ge, prev, &prev)) return -1;
      i = ge;
      continue;
    }
    if (ge < fc->n) {
      size_t ne = group_end(fc, ge);
      range after;
      if (match_group(c, fc, ge, ne, prev, &after)) return -1;
      if (check_nots(c, fc, i, ge, prev, after)) return -1;
      prev = after;
      i = ne;
    } else {
      range eof = {c->n + 1, c->n + 1};
      if (check_nots(c, fc, i, ge, prev, eof)) return -1;
      i = ge;
    }
  }
  return 0;
}

/* Sets qg_last_error() from the full message in msg: without the trailing newline and, when
 * too long, with the context [ctx_begin, ctx_end) cut so that the first and last lines stay. */
static qg_status report(const run_ctx *c, qg_status st) {
  const char *m = c->msg->data;
  size_t len = c->msg->len;
  if (len > 0 && m[len - 1] == '\n') len--;
  if (len < QG_ERROR_MAX) return qg_set_error(st, "%.*s", (int)len, m);
  static const char cut[] = "[...]\n";
  size_t head = c->ctx_begin, tail = len > c->ctx_end ? len - c->ctx_end : 0;
  size_t room = QG_ERROR_MAX - 1;
  if (head > room / 2) head = room / 2;
  if (tail > room / 4) tail = room / 4;
  size_t keep = room - head - tail - (sizeof cut - 1);
  size_t ctx = c->ctx_end - c->ctx_begin;
  if (keep > ctx) keep = ctx;
  return qg_set_error(st, "%.*s%.*s%s%.*s", (int)head, m, (int)keep, m + c->ctx_begin, cut,
                      (int)tail, m + len - tail);
}

qg_status qg_filecheck_run_n(qg_filecheck_t *fc, const char *text, size_t len) {
  if (!fc) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "FileCheck run: checker is NULL");
  qg_strbuf_reset(&fc->message);
  if (fc->sticky == QG_STATUS_OOM) return qg_oom("a FileCheck directive");
  if (fc->sticky != QG_OK) return qg_set_error(fc->sticky, "%s", fc->sticky_msg);
  if (!text) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "FileCheck run: text is NULL");
  if (fc->n == 0) {
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "No checks have been added to this instance of Filecheck! Check for "
                        "bad input.");
  }
  run_ctx c = {text, len, &fc->message, 0, 0};
  if (do_checks(&c, fc) == 0) return QG_OK;
  if (fc->message.oom) {
    qg_strbuf_reset(&fc->message);
    return qg_oom("a FileCheck failure message");
  }
  return report(&c, QG_STATUS_CHECK_FAILED);
}

qg_status qg_filecheck_run(qg_filecheck_t *fc, const char *text) {
  return qg_filecheck_run_n(fc, text, text ? strlen(text) : 0);
}

qg_status qg_filecheck_run_graph(qg_filecheck_t *fc, const qg_graph_t *g) {
  if (!g) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "FileCheck run_graph: graph is NULL");
  qg_print_opts opts = {.no_source = 1, .no_scope = 0};
  qg_strbuf text = QG_STRBUF_INIT;
  qg_graph_print(g, &opts, &text);
  qg_status st = qg_strbuf_ok(&text);
  if (st == QG_OK) st = qg_filecheck_run_n(fc, qg_strbuf_cstr(&text), text.len);
  qg_strbuf_free(&text);
  return st;
}

/* ---- parsing "# CHECK...:" directives ------------------------------------------------ */

/* findNextStart: the offset just past the next "#<up to 6 blanks>CHECK", or NPOS. */
static size_t find_next_start(const char *s, size_t n, size_t from) {
  for (;;) {
    size_t start = find(s, n, "#", 1, from);
    if (start == NPOS) return NPOS;
    start += 1;
    size_t i = 0;
    while (start + i < n && i < 6 && (s[start + i] == ' ' || s[start + i] == '\t')) i++;
    if (n - (start + i) >= 5 && memcmp(s + start + i, "CHECK", 5) == 0) return start + i + 5;
    from = start + i + 1;
  }
}

static int has_prefix_at(const char *s, size_t n, size_t at_, const char *prefix) {
  size_t k = strlen(prefix);
  return at_ <= n && n - at_ >= k && memcmp(s + at_, prefix, k) == 0;
}

/* "Could not parse check at:" with the offending spot highlighted. */
static qg_status parse_error(run_ctx *c, size_t start, const char *why) {
  qg_strbuf_append(c->msg, "Could not parse check at:\n");
  print_context(c, start, start + 1);
  if (why) qg_strbuf_append(c->msg, why);
  qg_strbuf_append(c->msg, "Check for bad input.");
  if (c->msg->oom) return qg_oom("a FileCheck parse error message");
  return report(c, QG_STATUS_PARSE);
}

/* parseSingleCheck at *start (just past "CHECK"). */
static qg_status parse_single(run_ctx *c, qg_filecheck_t *fc, size_t *start) {
  static const struct {
    fc_kind kind;
    const char *suffix;
  } suffixes[] = {
      {FC_CHECK, ": "},         {FC_CHECK_NEXT, "-NEXT: "}, {FC_CHECK_SAME, "-SAME: "},
      {FC_CHECK_NOT, "-NOT: "}, {FC_CHECK_DAG, "-DAG: "},   {FC_CHECK_COUNT, "-COUNT-"},
  };
  const char *s = c->s;
  size_t n = c->n;
  for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
    if (!has_prefix_at(s, n, *start, suffixes[k].suffix)) continue;
    size_t pat = *start + strlen(suffixes[k].suffix);
    size_t end_line = find(s, n, "\n", 1, pat);
    if (end_line == NPOS) end_line = n;
    size_t count = 0;
    int exactly = 0;
    if (suffixes[k].kind == FC_CHECK_COUNT) {
      if (has_prefix_at(s, n, pat, "EXACTLY-")) {
        exactly = 1;
        pat += strlen("EXACTLY-");
      }
      size_t colon = assert_find(c, pat, end_line, ":", 1, NULL);
      if (colon == NPOS) {
        if (c->msg->oom) return qg_oom("a FileCheck parse error message");
        return report(c, QG_STATUS_PARSE);
      }
      if (colon == pat || colon + 1 >= end_line || s[colon + 1] != ' ') {
        return parse_error(c, *start, "CHECK-COUNT-N needs a count and \": \" before the pattern.\n");
      }
      for (size_t i = pat; i < colon; i++) {
        if (s[i] < '0' || s[i] > '9' || count > (SIZE_MAX - 9) / 10) {
          return parse_error(c, *start, "CHECK-COUNT-N: N must be a non-negative decimal integer.\n");
        }
        count = count * 10 + (size_t)(s[i] - '0');
      }
      if (count == 0 && !exactly) {
        return parse_error(c, *start, "CHECK-COUNT-0 does nothing (did you mean CHECK-COUNT-EXACTLY-0?).\n");
      }
      pat = colon + 2;
    }
    size_t len = end_line - pat;
    if (suffixes[k].kind != FC_CHECK_COUNT) {
      add_checkn(fc, suffixes[k].kind, s + pat, len, 0);
    } else {
      if (count) add_checkn(fc, FC_CHECK_COUNT, s + pat, len, count);
      if (exactly) add_checkn(fc, FC_CHECK_NOT, s + pat, len, 0);
    }
    if (fc->sticky != QG_OK) return qg_oom("a FileCheck directive");
    *start = end_line;
    return QG_OK;
  }
  return parse_error(c, *start, NULL);
}

qg_status qg_filecheck_parse_directives(const char *directives, qg_filecheck_t **out) {
  if (!out) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "FileCheck parse: out is NULL");
  *out = NULL;
  if (!directives) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "FileCheck parse: text is NULL");
  qg_filecheck_t *fc;
  QG_TRY(qg_filecheck_create(&fc));
  run_ctx c = {directives, strlen(directives), &fc->message, 0, 0};
  qg_status st = QG_OK;
  size_t start = find_next_start(c.s, c.n, 0);
  while (start != NPOS && st == QG_OK) {
    st = parse_single(&c, fc, &start);
    if (st == QG_OK) start = find_next_start(c.s, c.n, start);
  }
  if (st != QG_OK) {
    qg_filecheck_destroy(fc);
    return st;
  }
  qg_strbuf_reset(&fc->message);
  *out = fc;
  return QG_OK;
}
