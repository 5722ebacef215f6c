/* Operator schemas in PyTorch's FunctionSchema syntax: parsing and canonical printing.
 *
 *   schema  := name ['.' overload] '(' [arg {',' arg}] ')' '->' returns
 *   arg     := '*' | '...' | type name ['=' default]
 *   returns := '...' | '(' [ret {',' ret}] ')' | ret        ret := '...' | type [name]
 *   type    := base [alias] { '[' [N] ']' [alias] | '?' }
 *   base    := ident | '(' type {',' type} ')' | ('Dict'|'Future'|'RRef'|'Union') '(' types ')'
 *   alias   := '(' set ['!'] ['->' set] ')'     set := (ident | '*') {'|' (ident | '*')}
 *
 * The type grammar is parsed here rather than by qg_type_parse because schema types carry
 * things graph types do not (alias annotations at any level, `int[2]`, `SymInt`, type
 * variables, `Future(t)` with parentheses); we build the qg_type_t from the parts with the
 * type constructors and call qg_type_parse only for class names. Every piece of text (types,
 * defaults, alias sets) is re-emitted from tokens, so whitespace in the input does not matter
 * and qg_schema_print gives FunctionSchema's operator<< spelling. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "ir/schema.h"

/* Deep enough for any real schema ((Tensor, t)[] is depth 2); bounds recursion on bad input. */
#define MAX_TYPE_DEPTH 32

typedef struct parser {
  const char *text;
  size_t len;
  size_t pos;
  qg_cu_t *cu;
} parser;

/* Everything a parsed type reports to its argument. */
typedef struct type_result {
  const qg_type_t *type;
  qg_strbuf canon;      /* canonical spelling */
  qg_strbuf alias;      /* last annotation at this type's own level (not inside elements) */
  int has_alias;
  int fixed_len;        /* N of the outermost-first `[N]`, else 0 */
} type_result;

static void type_result_free(type_result *r) {
  qg_strbuf_free(&r->canon);
  qg_strbuf_free(&r->alias);
}

static qg_status perr(const parser *p, size_t pos, qg_status st, const char *fmt, ...) QG_PRINTF(4, 5);

/* "schema 'TEXT' col N: MESSAGE" with a 1-based column (len + 1 for end of input). */
static qg_status perr(const parser *p, size_t pos, qg_status st, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return qg_set_error(st, "schema '%.*s' col %zu: %s", (int)p->len, p->text, pos + 1, msg);
}

static qg_status strbuf_check(qg_strbuf *b) {
  return b->oom ? qg_oom("schema text") : QG_OK;
}

static void skip_ws(parser *p) {
  while (p->pos < p->len && isspace((unsigned char)p->text[p->pos])) p->pos++;
}

static int peek(parser *p) {
  skip_ws(p);
  return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1;
}

static int at_str(parser *p, const char *s) {
  skip_ws(p);
  size_t n = strlen(s);
  return p->len - p->pos >= n && memcmp(p->text + p->pos, s, n) == 0;
}

static int accept(parser *p, const char *s) {
  if (!at_str(p, s)) return 0;
  p->pos += strlen(s);
  return 1;
}

static int is_ident_start(int c) { return c >= 0 && (isalpha(c) || c == '_'); }
static int is_ident_char(int c) { return c >= 0 && (isalnum(c) || c == '_'); }

/* A plain identifier at the current position: [A-Za-z_][A-Za-z0-9_]*. Length 0 if none. */
static size_t ident_len(parser *p) {
  skip_ws(p);
  size_t i = p->pos;
  if (i >= p->len || !is_ident_start((unsigned char)p->text[i])) return 0;
  while (i < p->len && is_ident_char((unsigned char)p->text[i])) i++;
  return i - p->pos;
}

/* A dotted name (__torch__.torch.classes.quantized.LinearPackedParamsBase). */
static size_t dotted_len(parser *p) {
  size_t n = ident_len(p);
  if (n == 0) return 0;
  size_t i = p->pos + n;
  while (i + 1 < p->len && p->text[i] == '.' && is_ident_start((unsigned char)p->text[i + 1])) {
    i++;
    while (i < p->len && is_ident_char((unsigned char)p->text[i])) i++;
  }
  return i - p->pos;
}

static qg_status expect(parser *p, const char *s) {
  if (accept(p, s)) return QG_OK;
  if (p->pos >= p->len) return perr(p, p->pos, QG_STATUS_PARSE, "expected '%s', found end of schema", s);
  return perr(p, p->pos, QG_STATUS_PARSE, "expected '%s', found '%c'", s, p->text[p->pos]);
}

/* ---- types ------------------------------------------------------------------------------ */

/* Schema spellings of primitive types. SymInt is an int and Dimname a str to TorchScript;
 * the Any* class placeholders have no kind of their own and are treated as Any. */
static const struct {
  const char *name;
  qg_type_kind kind;
} k_prims[] = {
    {"Tensor", QG_TYPE_TENSOR},         {"int", QG_TYPE_INT},
    {"SymInt", QG_TYPE_INT},            {"float", QG_TYPE_FLOAT},
    {"complex", QG_TYPE_COMPLEX},       {"bool", QG_TYPE_BOOL},
    {"str", QG_TYPE_STR},               {"Dimname", QG_TYPE_STR},
    {"NoneType", QG_TYPE_NONE},         {"Device", QG_TYPE_DEVICE},
    {"Scalar", QG_TYPE_NUMBER},         {"number", QG_TYPE_NUMBER},
    {"Any", QG_TYPE_ANY},               {"AnyClassType", QG_TYPE_ANY},
    {"AnyEnumType", QG_TYPE_ANY},       {"AnyTupleType", QG_TYPE_ANY},
    {"AnyListType", QG_TYPE_ANY},       {"ScalarType", QG_TYPE_SCALAR_TYPE},
    {"Layout", QG_TYPE_LAYOUT},         {"MemoryFormat", QG_TYPE_MEMORY_FORMAT},
    {"Generator", QG_TYPE_GENERATOR},   {"Storage", QG_TYPE_STORAGE},
    {"Stream", QG_TYPE_STREAM},         {"Capsule", QG_TYPE_CAPSULE},
    {"QScheme", QG_TYPE_QSCHEME},       {"Function", QG_TYPE_FUNCTION_ANY},
};

static qg_status resolve_leaf(parser *p, size_t start, size_t n, const qg_type_t **out) {
  const char *s = p->text + start;
  for (size_t i = 0; i < sizeof k_prims / sizeof k_prims[0]; i++) {
    if (strlen(k_prims[i].name) == n && memcmp(k_prims[i].name, s, n) == 0) {
      *out = qg_type_prim(k_prims[i].kind);
      return QG_OK;
    }
  }
  if (memchr(s, '.', n) != NULL) {
    /* A class (custom classes such as packed params are TorchScript classes). */
    qg_type_parse_opts opts = {.create_unknown_classes = 1, .schema_syntax = 1};
    size_t used = 0;
    qg_status st = qg_type_parse(p->cu, s, n, &opts, out, &used);
    if (st == QG_STATUS_OOM) return st;
    if (st != QG_OK) {
      char why[QG_ERROR_MAX];
      snprintf(why, sizeof why, "%s", qg_last_error());
      return perr(p, start, QG_STATUS_TYPE, "bad type '%.*s': %s", (int)n, s, why);
    }
    if (used != n) return perr(p, start + used, QG_STATUS_TYPE, "bad type '%.*s'", (int)n, s);
    return QG_OK;
  }
  if (islower((unsigned char)s[0])) {
    /* PyTorch's rule: a lower-case name that is no known type is a type variable. */
    char name[128];
    if (n >= sizeof name) return perr(p, start, QG_STATUS_TYPE, "type variable name too long");
    memcpy(name, s, n);
    name[n] = '\0';
    return qg_type_var(p->cu, name, out);
  }
  return perr(p, start, QG_STATUS_TYPE, "unknown type '%.*s'", (int)n, s);
}

/* An alias annotation after '(' was seen: "a!", "a -> *", "b|a", "*". Appends the canonical
 * text, without parentheses, to `out`. */
static qg_status parse_alias_set(parser *p, qg_strbuf *out) {
  for (int first = 1;; first = 0) {
    if (!first) qg_strbuf_putc(out, '|');
    if (accept(p, "*")) {
      qg_strbuf_putc(out, '*');
    } else {
      size_t n = ident_len(p);
      if (n == 0) return perr(p, p->pos, QG_STATUS_PARSE, "expected an alias set name");
      qg_strbuf_appendn(out, p->text + p->pos, n);
      p->pos += n;
    }
    if (!accept(p, "|")) return QG_OK;
  }
}

static qg_status parse_alias(parser *p, qg_strbuf *canon, type_result *r) {
  qg_strbuf a = QG_STRBUF_INIT;
  qg_status st = parse_alias_set(p, &a);
  if (st == QG_OK && accept(p, "!")) qg_strbuf_putc(&a, '!');
  if (st == QG_OK && accept(p, "->")) {
    qg_strbuf_append(&a, " -> ");
    st = parse_alias_set(p, &a);
  }
  if (st == QG_OK) st = expect(p, ")");
  if (st == QG_OK) st = strbuf_check(&a);
  if (st == QG_OK) {
    qg_strbuf_putc(canon, '(');
    qg_strbuf_append(canon, qg_strbuf_cstr(&a));
    qg_strbuf_putc(canon, ')');
    qg_strbuf_reset(&r->alias);
    qg_strbuf_append(&r->alias, qg_strbuf_cstr(&a));
    r->has_alias = 1;
  }
  qg_strbuf_free(&a);
  return st;
}

static qg_status parse_type(parser *p, type_result *r, int depth);

/* '(' already consumed: element types up to ')', appended to canon as "T, U)". */
static qg_status parse_type_list(parser *p, type_result *r, const qg_type_t **elems, size_t max,
                                 size_t *count, int depth) {
  *count = 0;
  if (accept(p, ")")) {
    qg_strbuf_putc(&r->canon, ')');
    return QG_OK;
  }
  for (;;) {
    if (*count == max) return perr(p, p->pos, QG_STATUS_PARSE, "too many element types");
    type_result e = {0};
    qg_status st = parse_type(p, &e, depth + 1);
    if (st == QG_OK) {
      if (*count > 0) qg_strbuf_append(&r->canon, ", ");
      qg_strbuf_append(&r->canon, qg_strbuf_cstr(&e.canon));
      st = strbuf_check(&e.canon);
      elems[(*count)++] = e.type;
    }
    type_result_free(&e);
    if (st != QG_OK) return st;
    if (accept(p, ")")) {
      qg_strbuf_putc(&r->canon, ')');
      return QG_OK;
    }
    QG_TRY(expect(p, ","));
  }
}

static qg_status parse_base(parser *p, type_result *r, int depth) {
  const qg_type_t *elems[16];
  size_t n = 0;
  size_t start = (skip_ws(p), p->pos);
  if (accept(p, "(")) {
    qg_strbuf_putc(&r->canon, '(');
    QG_TRY(parse_type_list(p, r, elems, 16, &n, depth));
    return qg_type_tuple(p->cu, n, elems, &r->type);
  }
  size_t len = dotted_len(p);
  if (len == 0) {
    if (p->pos >= p->len) return perr(p, p->pos, QG_STATUS_PARSE, "expected a type, found end of schema");
    return perr(p, p->pos, QG_STATUS_PARSE, "expected a type, found '%c'", p->text[p->pos]);
  }
  const char *name = p->text + start;
  p->pos += len;
  qg_strbuf_appendn(&r->canon, name, len);
  static const char *const containers[] = {"Dict", "Future", "RRef", "Union"};
  for (size_t i = 0; i < 4; i++) {
    if (strlen(containers[i]) != len || memcmp(containers[i], name, len) != 0) continue;
    size_t open = (skip_ws(p), p->pos);
    QG_TRY(expect(p, "("));
    qg_strbuf_putc(&r->canon, '(');
    QG_TRY(parse_type_list(p, r, elems, 16, &n, depth));
    size_t want = i == 0 ? 2 : i == 3 ? 0 : 1;
    if ((want != 0 && n != want) || (want == 0 && n < 2))
      return perr(p, open, QG_STATUS_TYPE, "%s takes %s type argument%s", containers[i],
                  want == 2 ? "2" : want == 1 ? "1" : "at least 2", want == 1 ? "" : "s");
    switch (i) {
      case 0: return qg_type_dict(p->cu, elems[0], elems[1], &r->type);
      case 1: return qg_type_future(p->cu, elems[0], &r->type);
      case 2: return qg_type_rref(p->cu, elems[0], &r->type);
      default: return qg_type_union(p->cu, n, elems, &r->type);
    }
  }
  return resolve_leaf(p, start, len, &r->type);
}

static qg_status parse_type(parser *p, type_result *r, int depth) {
  if (depth > MAX_TYPE_DEPTH) return perr(p, p->pos, QG_STATUS_PARSE, "type nested too deeply");
  QG_TRY(parse_base(p, r, depth));
  if (accept(p, "(")) QG_TRY(parse_alias(p, &r->canon, r));
  for (;;) {
    if (accept(p, "?")) {
      qg_strbuf_putc(&r->canon, '?');
      QG_TRY(qg_type_optional(p->cu, r->type, &r->type));
    } else if (accept(p, "[")) {
      qg_strbuf_putc(&r->canon, '[');
      skip_ws(p);
      size_t digits_at = p->pos;
      long n = 0;
      while (p->pos < p->len && isdigit((unsigned char)p->text[p->pos])) {
        if (n > 1000000) return perr(p, digits_at, QG_STATUS_PARSE, "list size too large");
        n = n * 10 + (p->text[p->pos++] - '0');
      }
      if (p->pos > digits_at) {
        qg_strbuf_appendn(&r->canon, p->text + digits_at, p->pos - digits_at);
        if (r->fixed_len == 0) r->fixed_len = (int)n;
      }
      QG_TRY(expect(p, "]"));
      qg_strbuf_putc(&r->canon, ']');
      QG_TRY(qg_type_list(p->cu, r->type, &r->type));
      if (accept(p, "(")) QG_TRY(parse_alias(p, &r->canon, r));
    } else {
      return strbuf_check(&r->canon);
    }
  }
}

/* ---- defaults --------------------------------------------------------------------------- */

/* One scalar default: None/True/False/identifier, a number, "-inf", or a quoted string.
 * Appends its canonical text; *kind gets 'n' (None), 's' (string), 'v' (other). */
static qg_status parse_scalar_default(parser *p, qg_strbuf *out, char *kind) {
  skip_ws(p);
  size_t start = p->pos;
  int c = peek(p);
  if (c == '"' || c == '\'') {
    size_t i = p->pos + 1;
    while (i < p->len && p->text[i] != c) i += p->text[i] == '\\' ? 2 : 1;
    if (i >= p->len) return perr(p, start, QG_STATUS_PARSE, "unterminated string default");
    qg_strbuf_appendn(out, p->text + start, i + 1 - start);
    p->pos = i + 1;
    *kind = 's';
    return QG_OK;
  }
  size_t i = p->pos;
  if (i < p->len && p->text[i] == '-') i++;
  if (i < p->len && is_ident_start((unsigned char)p->text[i])) {
    while (i < p->len && is_ident_char((unsigned char)p->text[i])) i++;
  } else {
    size_t digits = 0;
    while (i < p->len && isdigit((unsigned char)p->text[i])) i++, digits++;
    if (i < p->len && p->text[i] == '.') {
      i++;
      while (i < p->len && isdigit((unsigned char)p->text[i])) i++, digits++;
    }
    if (digits == 0) {
      if (i >= p->len) return perr(p, i, QG_STATUS_PARSE, "expected a default value, found end of schema");
      return perr(p, start, QG_STATUS_PARSE, "bad default value starting with '%c'", p->text[start]);
    }
    if (i < p->len && (p->text[i] == 'e' || p->text[i] == 'E')) {
      size_t e = i + 1;
      if (e < p->len && (p->text[e] == '+' || p->text[e] == '-')) e++;
      size_t d0 = e;
      while (e < p->len && isdigit((unsigned char)p->text[e])) e++;
      if (e == d0) return perr(p, i, QG_STATUS_PARSE, "bad exponent in default value");
      i = e;
    }
    if (i < p->len && is_ident_char((unsigned char)p->text[i]))
      return perr(p, i, QG_STATUS_PARSE, "bad number in default value");
  }
  *kind = (i - start == 4 && memcmp(p->text + start, "None", 4) == 0) ? 'n' : 'v';
  qg_strbuf_appendn(out, p->text + start, i - start);
  p->pos = i;
  return QG_OK;
}

/* Default value after '='; checks the obvious mismatches with the argument's type. */
static qg_status parse_default(parser *p, const qg_type_t *type, const char *type_str, qg_strbuf *out) {
  skip_ws(p);
  size_t start = p->pos;
  char kind = 'v';
  if (accept(p, "[")) {
    if (type != NULL && type->kind != QG_TYPE_LIST &&
        !(type->kind == QG_TYPE_OPTIONAL && type->elems[0]->kind == QG_TYPE_LIST))
      return perr(p, start, QG_STATUS_TYPE, "list default for non-list type '%s'", type_str);
    qg_strbuf_putc(out, '[');
    if (!accept(p, "]")) {
      for (int first = 1;; first = 0) {
        if (!first) qg_strbuf_append(out, ", ");
        char ek;
        QG_TRY(parse_scalar_default(p, out, &ek));
        if (accept(p, "]")) break;
        QG_TRY(expect(p, ","));
      }
    }
    qg_strbuf_putc(out, ']');
    return strbuf_check(out);
  }
  if (accept(p, "(")) {
    /* Tuple defaults of TorchScript methods: "(int, int) t=(1, 2)" (FunctionSchema prints a
     * one-element tuple as "(1,)"). */
    const qg_type_t *t = type && type->kind == QG_TYPE_OPTIONAL ? type->elems[0] : type;
    if (t != NULL && t->kind != QG_TYPE_TUPLE && t->kind != QG_TYPE_ANY)
      return perr(p, start, QG_STATUS_TYPE, "tuple default for non-tuple type '%s'", type_str);
    qg_strbuf_putc(out, '(');
    size_t n = 0;
    while (!accept(p, ")")) {
      if (n) qg_strbuf_append(out, ", ");
      char ek;
      QG_TRY(parse_scalar_default(p, out, &ek));
      n++;
      if (accept(p, ")")) break;
      QG_TRY(expect(p, ","));
    }
    if (n == 1) qg_strbuf_putc(out, ',');
    qg_strbuf_putc(out, ')');
    return strbuf_check(out);
  }
  QG_TRY(parse_scalar_default(p, out, &kind));
  if (type != NULL && kind == 'n' && type->kind != QG_TYPE_OPTIONAL && type->kind != QG_TYPE_NONE &&
      type->kind != QG_TYPE_ANY && type->kind != QG_TYPE_VAR)
    return perr(p, start, QG_STATUS_TYPE, "default None for non-optional type '%s'", type_str);
  if (type != NULL && kind == 's') {
    const qg_type_t *t = type->kind == QG_TYPE_OPTIONAL ? type->elems[0] : type;
    if (t->kind != QG_TYPE_STR && t->kind != QG_TYPE_ANY)
      return perr(p, start, QG_STATUS_TYPE, "string default for non-string type '%s'", type_str);
  }
  return strbuf_check(out);
}

/* ---- arguments and the schema ----------------------------------------------------------- */

static void arg_free(qg_schema_arg *a) {
  qg__free((char *)a->name);
  qg__free((char *)a->type_str);
  qg__free((char *)a->alias);
  qg__free((char *)a->default_str);
}

/* type [name] ['=' default]. Names are required for arguments, optional for returns. */
static qg_status parse_arg(parser *p, int is_return, qg_schema_arg *a) {
  memset(a, 0, sizeof *a);
  type_result r = {0};
  qg_strbuf dflt = QG_STRBUF_INIT;
  qg_status st = parse_type(p, &r, 0);
  size_t n = 0, name_at = 0;
  if (st == QG_OK) {
    n = ident_len(p);
    name_at = p->pos;
    if (n == 0 && !is_return) {
      st = p->pos >= p->len ? perr(p, p->pos, QG_STATUS_PARSE, "expected an argument name, found end of schema")
                            : perr(p, p->pos, QG_STATUS_PARSE, "expected an argument name, found '%c'",
                                   p->text[p->pos]);
    }
    p->pos += n;
  }
  int has_default = 0;
  if (st == QG_OK && accept(p, "=")) {
    if (is_return) st = perr(p, p->pos - 1, QG_STATUS_PARSE, "a return cannot have a default");
    else st = parse_default(p, r.type, qg_strbuf_cstr(&r.canon), &dflt);
    has_default = 1;
  }
  if (st == QG_OK) {
    a->type = r.type;
    a->fixed_list_len = r.fixed_len;
    a->name = qg__strndup(n ? p->text + name_at : "", n);
    a->type_str = qg__strdup(qg_strbuf_cstr(&r.canon));
    a->alias = r.has_alias ? qg__strdup(qg_strbuf_cstr(&r.alias)) : NULL;
    a->default_str = has_default ? qg__strdup(qg_strbuf_cstr(&dflt)) : NULL;
    if (!a->name || !a->type_str || (r.has_alias && !a->alias) || (has_default && !a->default_str))
      st = qg_oom("schema argument");
  }
  if (st != QG_OK) {
    arg_free(a);
    memset(a, 0, sizeof *a);
  }
  type_result_free(&r);
  qg_strbuf_free(&dflt);
  return st;
}

static qg_status push_arg(qg_schema_arg **v, size_t *n, size_t *cap, qg_schema_arg *a) {
  if (qg__grow((void **)v, cap, *n + 1, sizeof **v) != 0) {
    arg_free(a);
    return qg_oom("schema arguments");
  }
  (*v)[(*n)++] = *a;
  return QG_OK;
}

static qg_status parse_args(parser *p, qg_schema_t *s) {
  size_t cap = 0;
  int kwarg_only = 0;
  QG_TRY(expect(p, "("));
  if (accept(p, ")")) return QG_OK;
  for (;;) {
    size_t at = (skip_ws(p), p->pos);
    if (accept(p, "...")) {
      s->is_vararg = 1;
      if (!at_str(p, ")")) return perr(p, p->pos, QG_STATUS_PARSE, "'...' must be the last argument");
    } else if (accept(p, "*")) {
      if (kwarg_only) return perr(p, at, QG_STATUS_PARSE, "second '*' in the arguments");
      kwarg_only = 1;
      if (!at_str(p, ",")) return perr(p, p->pos, QG_STATUS_PARSE, "expected ',' after '*'");
    } else {
      qg_schema_arg a;
      QG_TRY(parse_arg(p, 0, &a));
      a.kwarg_only = kwarg_only;
      QG_TRY(push_arg(&s->args, &s->nargs, &cap, &a));
    }
    if (accept(p, ")")) return QG_OK;
    if (!accept(p, ",")) {
      if (p->pos >= p->len) return perr(p, p->pos, QG_STATUS_PARSE, "expected ')', found end of schema");
      return perr(p, p->pos, QG_STATUS_PARSE, "expected ',' or ')', found '%c'", p->text[p->pos]);
    }
  }
}

static qg_status parse_returns(parser *p, qg_schema_t *s) {
  size_t cap = 0;
  if (accept(p, "...")) {
    s->is_varret = 1;
    return QG_OK;
  }
  if (!accept(p, "(")) {
    qg_schema_arg a;
    QG_TRY(parse_arg(p, 1, &a));
    return push_arg(&s->returns, &s->nreturns, &cap, &a);
  }
  if (accept(p, ")")) return QG_OK;
  for (;;) {
    if (accept(p, "...")) {
      s->is_varret = 1;
      return expect(p, ")");
    }
    qg_schema_arg a;
    QG_TRY(parse_arg(p, 1, &a));
    QG_TRY(push_arg(&s->returns, &s->nreturns, &cap, &a));
    if (accept(p, ")")) return QG_OK;
    QG_TRY(expect(p, ","));
  }
}

/* ns::name[.overload] */
static qg_status parse_name(parser *p, qg_schema_t *s) {
  size_t start = (skip_ws(p), p->pos);
  size_t n = ident_len(p);
  if (n == 0) return perr(p, p->pos, QG_STATUS_PARSE, "expected an operator name");
  p->pos += n;
  if (p->len - p->pos >= 2 && memcmp(p->text + p->pos, "::", 2) == 0) {
    p->pos += 2;
    size_t m = ident_len(p);
    if (m == 0 || p->pos != start + n + 2)
      return perr(p, p->pos, QG_STATUS_PARSE, "expected an operator name after '::'");
    p->pos += m;
  }
  QG_TRY(qg_sym_internn(p->text + start, p->pos - start, &s->name));
  size_t ov = 0, ov_at = p->pos;
  if (p->pos < p->len && p->text[p->pos] == '.') {
    p->pos++;
    ov_at = p->pos;
    if (p->pos < p->len && isspace((unsigned char)p->text[p->pos]))
      return perr(p, p->pos, QG_STATUS_PARSE, "expected an overload name after '.'");
    ov = ident_len(p);
    if (ov == 0) return perr(p, p->pos, QG_STATUS_PARSE, "expected an overload name after '.'");
    p->pos += ov;
  }
  s->overload = qg__strndup(p->text + ov_at, ov);
  return s->overload ? QG_OK : qg_oom("schema overload name");
}

qg_status qg_schema_parse(qg_cu_t *cu, const char *text, qg_schema_t **out) {
  *out = NULL;
  if (cu == NULL || text == NULL)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "qg_schema_parse: NULL %s", cu ? "text" : "unit");
  parser p = {text, strlen(text), 0, cu};
  qg_schema_t *s = qg__calloc(1, sizeof *s);
  if (s == NULL) return qg_oom("schema");
  qg_status st = (s->text = qg__strdup(text)) ? QG_OK : qg_oom("schema text");
  if (st == QG_OK) st = parse_name(&p, s);
  if (st == QG_OK) st = parse_args(&p, s);
  if (st == QG_OK) st = expect(&p, "->");
  if (st == QG_OK) st = parse_returns(&p, s);
  if (st == QG_OK && peek(&p) != -1)
    st = perr(&p, p.pos, QG_STATUS_PARSE, "unexpected '%c' after the returns", text[p.pos]);
  if (st != QG_OK) {
    qg_schema_free(s);
    return st;
  }
  *out = s;
  return QG_OK;
}

void qg_schema_free(qg_schema_t *s) {
  if (s == NULL) return;
  for (size_t i = 0; i < s->nargs; i++) arg_free(&s->args[i]);
  for (size_t i = 0; i < s->nreturns; i++) arg_free(&s->returns[i]);
  qg__free(s->args);
  qg__free(s->returns);
  qg__free((char *)s->overload);
  qg__free((char *)s->text);
  qg__free(s);
}

/* ---- printing --------------------------------------------------------------------------- */

static void print_arg(const qg_schema_arg *a, qg_strbuf *out) {
  qg_strbuf_append(out, a->type_str);
  if (a->name != NULL && a->name[0] != '\0') {
    qg_strbuf_putc(out, ' ');
    qg_strbuf_append(out, a->name);
  }
  if (a->default_str != NULL) {
    qg_strbuf_putc(out, '=');
    qg_strbuf_append(out, a->default_str);
  }
}

/* Mirrors c10 FunctionSchema's operator<< (function_schema.h). */
void qg_schema_print(const qg_schema_t *s, qg_strbuf *out) {
  qg_strbuf_append(out, qg_sym_str(s->name));
  if (s->overload != NULL && s->overload[0] != '\0') {
    qg_strbuf_putc(out, '.');
    qg_strbuf_append(out, s->overload);
  }
  qg_strbuf_putc(out, '(');
  int seen_kwarg_only = 0;
  for (size_t i = 0; i < s->nargs; i++) {
    if (i > 0) qg_strbuf_append(out, ", ");
    if (s->args[i].kwarg_only && !seen_kwarg_only) {
      qg_strbuf_append(out, "*, ");
      seen_kwarg_only = 1;
    }
    print_arg(&s->args[i], out);
  }
  if (s->is_vararg) {
    if (s->nargs > 0) qg_strbuf_append(out, ", ");
    qg_strbuf_append(out, "...");
  }
  qg_strbuf_append(out, ") -> ");
  /* No parentheses for one plain return, or for a bare "...". A single return whose type
   * starts with '(' (a tuple) is parenthesized so it does not read as a return list. */
  int need_paren = !((s->nreturns == 1 && !s->is_varret) || (s->nreturns == 0 && s->is_varret));
  if (s->nreturns == 1 && !s->is_varret && s->returns[0].type_str[0] == '(') need_paren = 1;
  if (need_paren) qg_strbuf_putc(out, '(');
  for (size_t i = 0; i < s->nreturns; i++) {
    if (i > 0) qg_strbuf_append(out, ", ");
    print_arg(&s->returns[i], out);
  }
  if (s->is_varret) {
    if (s->nreturns > 0) qg_strbuf_append(out, ", ");
    qg_strbuf_append(out, "...");
  }
  if (need_paren) qg_strbuf_putc(out, ')');
}
