/* Method argument defaults: a method loaded with a signature (`signature = "..."` in the module
 * text, docs/formats.md) may be called with fewer arguments than its graph has inputs, as in
 * PyTorch; the omitted trailing ones take the defaults of the signature.
 *
 * The signature's default texts (qg_schema_arg.default_str, canonical FunctionSchema
 * spellings: None, True, 3, -2., 1.0000000000000001e-05, "a\"b", [1, 2], (1, 2)) are turned
 * into values once per graph, typed by the graph's input types (a float argument with default
 * `1` gets 1.0), and cached in the runner. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/interp_impl.h"

struct qg__defaults {
  const qg_graph_t *graph;
  const char *signature; /* the method's signature the values were made from (borrowed) */
  size_t n;              /* graph inputs (self included) */
  char **names;          /* argument names of the signature */
  qg_ival *values;       /* the default of each input (None where has[i] is 0) */
  unsigned char *has;
};

void qg__defaults_free(qg__defaults *d) {
  if (!d) return;
  for (size_t i = 0; i < d->n; i++) {
    if (d->names) qg__free(d->names[i]);
    if (d->values) qg_ival_release(&d->values[i]);
  }
  qg__free(d->names);
  qg__free(d->values);
  qg__free(d->has);
  qg__free(d);
}

static const qg_type_t *strip_optional(const qg_type_t *t) {
  return t && t->kind == QG_TYPE_OPTIONAL ? t->elems[0] : t;
}

/* A quoted string default ("..." or '...') with c10's escapes; *end is past the closing quote. */
static qg_status parse_string_default(const char *s, const char **end, qg_ival *out) {
  char q = *s++;
  size_t cap = strlen(s) + 1, n = 0;
  char *buf = qg__malloc(cap);
  if (!buf) return qg_oom("a default value");
  while (*s && *s != q) {
    char c = *s++;
    if (c == '\\' && *s) {
      char e = *s++;
      switch (e) {
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case 'r': c = '\r'; break;
      case 'a': c = '\a'; break;
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'v': c = '\v'; break;
      case 'x': {
        int v = 0, k = 0;
        for (; k < 2 && *s && strchr("0123456789abcdefABCDEF", *s); k++, s++)
          v = v * 16 + (*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
        c = (char)v;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0';
          for (int k = 0; k < 2 && *s >= '0' && *s <= '7'; k++, s++) v = v * 8 + (*s - '0');
          c = (char)v;
        } else {
          c = e; /* \" \' \\ */
        }
      }
    }
    buf[n++] = c;
  }
  *end = *s ? s + 1 : s;
  qg_status st = qg_ival_string_new(buf, n, out);
  qg__free(buf);
  return st;
}

/* One scalar default at *sp, for a value of type t (NULL: untyped). */
static qg_status parse_scalar(const char **sp, const qg_type_t *t, qg_ival *out) {
  const char *s = *sp;
  t = strip_optional(t);
  if (*s == '"' || *s == '\'') return parse_string_default(s, sp, out);
  size_t n = strcspn(s, ",)] ");
  if (n == 4 && memcmp(s, "None", 4) == 0) {
    *out = qg_ival_none();
  } else if (n == 4 && memcmp(s, "True", 4) == 0) {
    *out = qg_ival_bool(1);
  } else if (n == 5 && memcmp(s, "False", 5) == 0) {
    *out = qg_ival_bool(0);
  } else {
    char *end = NULL;
    int is_float = t && t->kind == QG_TYPE_FLOAT;
    for (size_t i = 0; i < n; i++)
      if (strchr(".eEin", s[i])) is_float = 1; /* 1.5, 1e-05, inf, nan */
    errno = 0;
    if (is_float) {
      double d = strtod(s, &end);
      *out = qg_ival_double(d);
    } else {
      long long v = strtoll(s, &end, 10);
      *out = qg_ival_int((int64_t)v);
    }
    if (n == 0 || end != s + n || errno == ERANGE)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "default value '%.*s' is not supported", (int)n, s);
  }
  *sp = s + n;
  return QG_OK;
}

/* A list ([a, b]) or tuple ((a, b) / (a,)) default; elements typed by t's element types. */
static qg_status parse_seq(const char **sp, const qg_type_t *t, qg_ival *out) {
  const char *s = *sp;
  char close = *s == '[' ? ']' : ')';
  t = strip_optional(t);
  QG_TRY(qg_ival_list_new(close == ']' ? QG_IVAL_LIST : QG_IVAL_TUPLE, 4, out));
  if (t && ((close == ']' && t->kind == QG_TYPE_LIST) || (close == ')' && t->kind == QG_TYPE_TUPLE)))
    out->u.list->type = t;
  s++;
  qg_status st = QG_OK;
  for (size_t i = 0; st == QG_OK && *s && *s != close; i++) {
    const qg_type_t *et = NULL;
    if (t && t->kind == QG_TYPE_LIST) et = t->elems[0];
    if (t && t->kind == QG_TYPE_TUPLE && i < t->nelems) et = t->elems[i];
    qg_ival v = qg_ival_none();
    st = parse_scalar(&s, et, &v);
    if (st == QG_OK) st = qg_ival_list_push(out, v);
    while (*s == ',' || *s == ' ') s++;
  }
  if (st == QG_OK && *s != close) st = qg_set_error(QG_STATUS_UNSUPPORTED, "unterminated sequence default");
  if (st != QG_OK) {
    qg_ival_release(out);
    return st;
  }
  *sp = s + 1;
  return QG_OK;
}

/* The value of default text `text` for an argument of type t. A scalar default of a list type
 * ("int[2] stride=1") is repeated fixed_len times, as PyTorch does. */
static qg_status default_value(const char *text, const qg_type_t *t, int fixed_len, qg_ival *out) {
  const char *s = text;
  qg_status st;
  const qg_type_t *bare = strip_optional(t);
  if (*s == '[' || *s == '(') {
    st = parse_seq(&s, t, out);
  } else if (bare && bare->kind == QG_TYPE_LIST && fixed_len > 0 && strcmp(text, "None") != 0) {
    st = qg_ival_list_new(QG_IVAL_LIST, (size_t)fixed_len, out);
    if (st == QG_OK) out->u.list->type = bare;
    for (int i = 0; st == QG_OK && i < fixed_len; i++) {
      const char *e = text;
      qg_ival v = qg_ival_none();
      st = parse_scalar(&e, bare->elems[0], &v);
      if (st == QG_OK) st = qg_ival_list_push(out, v);
    }
    if (st != QG_OK) qg_ival_release(out);
    s = text + strlen(text);
  } else {
    st = parse_scalar(&s, t, out);
  }
  if (st == QG_OK && *s) {
    qg_ival_release(out);
    st = qg_set_error(QG_STATUS_UNSUPPORTED, "default value '%s' is not supported", text);
  }
  return st;
}

/* Builds the defaults of method m (whose signature is non-NULL). */
static qg_status build(const qg_method *m, qg__defaults **out) {
  const qg_graph_t *g = m->graph;
  size_t n = qg_graph_ninputs(g);
  qg__defaults *d = qg__calloc(1, sizeof *d);
  if (!d) return qg_oom("method defaults");
  d->graph = g;
  d->signature = m->signature;
  d->n = n;
  d->names = qg__calloc(n ? n : 1, sizeof *d->names);
  d->values = qg__calloc(n ? n : 1, sizeof *d->values);
  d->has = qg__calloc(n ? n : 1, 1);
  if (!d->names || !d->values || !d->has) {
    qg__defaults_free(d);
    return qg_oom("method defaults");
  }
  qg_cu_t *scratch = NULL;
  qg_schema_t *schema = NULL;
  qg_status st = qg_cu_create(&scratch);
  if (st == QG_OK) st = qg_schema_parse(scratch, m->signature, &schema);
  if (st == QG_OK && schema->nargs != n)
    st = qg_set_error(QG_STATUS_TYPE, "the signature '%s' has %zu arguments, the graph %zu inputs", m->signature,
                      schema->nargs, n);
  for (size_t i = 0; st == QG_OK && i < n; i++) {
    const qg_schema_arg *a = &schema->args[i];
    if (!(d->names[i] = qg__strdup(a->name))) st = qg_oom("method defaults");
    if (st != QG_OK || !a->default_str) continue;
    st = default_value(a->default_str, qg_graph_input(g, i)->type, a->fixed_list_len, &d->values[i]);
    if (st == QG_OK) d->has[i] = 1;
    else if (st != QG_STATUS_OOM) st = qg_error_prefix(st, "argument '%s'", a->name);
  }
  qg_schema_free(schema);
  qg_cu_release(scratch);
  if (st != QG_OK) {
    qg__defaults_free(d);
    return st;
  }
  *out = d;
  return QG_OK;
}

qg_status qg__defaults_get(qg_runner *r, const qg_method *m, const qg__defaults **out) {
  for (size_t i = 0; i < r->defaults.len; i++) {
    qg__defaults *d = r->defaults.data[i];
    if (d->graph == m->graph && d->signature == m->signature) {
      *out = d;
      return QG_OK;
    }
  }
  qg__defaults *d = NULL;
  QG_TRY(build(m, &d));
  if (QG_VEC_PUSH(&r->defaults, d)) {
    qg__defaults_free(d);
    return qg_oom("the defaults cache");
  }
  *out = d;
  return QG_OK;
}

qg_status qg__defaults_fill(const qg__defaults *d, size_t first, const char *method, const qg_ival *args,
                            size_t nargs, qg_ival *full) {
  QG_ASSERT(first + nargs <= d->n);
  for (size_t i = 0; i < nargs; i++) full[i] = args[i];
  for (size_t i = first + nargs; i < d->n; i++) {
    if (!d->has[i])
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s() missing argument '%s' (position %zu), which has no default",
                          method, d->names[i], i - first);
    full[i - first] = d->values[i]; /* borrowed from the cache, as the caller's arguments */
  }
  return QG_OK;
}
