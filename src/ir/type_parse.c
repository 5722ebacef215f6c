/* Parsing types: everything qg_type_print prints, Python annotation spellings used by
 * TorchScript code archives (List[int], Optional[Tensor], Tuple[int, int], Dict[str, Tensor],
 * Union[int, str]), and with schema_syntax the function schema spellings (alias annotations,
 * fixed-size lists, type variables, SymInt).
 *
 * Recursive descent over (text, len). Whitespace is allowed between tokens inside a type but
 * never consumed after the last token, so the caller sees exactly where the type ended. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/type_impl.h"

#define MAX_DEPTH 64
#define MAX_ELEMS 64

typedef struct parser {
  qg_cu_t *cu;
  const char *s;
  size_t len, pos;
  int schema, create_classes;
  int depth;
} parser;

/* An alias annotation seen while parsing one (sub)type. */
typedef struct alias_ref {
  const char *text;
  size_t len;
} alias_ref;

static qg_status fail(parser *p, qg_status st, const char *fmt, ...) QG_PRINTF(3, 4);
static qg_status fail(parser *p, qg_status st, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  size_t show = 0; /* the first line, at most 80 bytes (the caller's text goes on) */
  while (show < p->len && show < 80 && p->s[show] != '\n') show++;
  return qg_set_error(st, "%s at offset %zu of type '%.*s%s'", msg, p->pos, (int)show, p->s,
                      show < p->len && p->s[show] != '\n' ? "..." : "");
}

static int at_end(const parser *p) { return p->pos >= p->len; }
static char peek(const parser *p) { return at_end(p) ? '\0' : p->s[p->pos]; }
static void skip_ws(parser *p) {
  while (!at_end(p) && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t')) p->pos++;
}
static int accept(parser *p, char c) {
  skip_ws(p);
  if (peek(p) != c) return 0;
  p->pos++;
  return 1;
}
static qg_status expect(parser *p, char c, const char *what) {
  if (accept(p, c)) return QG_OK;
  if (at_end(p)) return fail(p, QG_STATUS_PARSE, "expected '%c' %s but the type ended", c, what);
  return fail(p, QG_STATUS_PARSE, "expected '%c' %s but found '%c'", c, what, peek(p));
}

static int is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static int is_ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* A possibly dotted identifier at the current position (after whitespace). */
static int ident(parser *p, const char **start, size_t *n) {
  skip_ws(p);
  if (!is_ident_start(peek(p))) return 0;
  size_t b = p->pos;
  while (!at_end(p)) {
    char c = p->s[p->pos];
    if (is_ident_char(c)) {
      p->pos++;
    } else if (c == '.' && p->pos + 1 < p->len && is_ident_start(p->s[p->pos + 1])) {
      p->pos++;
    } else {
      break;
    }
  }
  *start = p->s + b;
  *n = p->pos - b;
  return 1;
}

static int eq(const char *s, size_t n, const char *lit) { return strlen(lit) == n && memcmp(s, lit, n) == 0; }

static qg_status number(parser *p, int64_t *out, const char *what) {
  skip_ws(p);
  if (!isdigit((unsigned char)peek(p))) {
    if (at_end(p)) return fail(p, QG_STATUS_PARSE, "expected a number %s but the type ended", what);
    return fail(p, QG_STATUS_PARSE, "expected a number %s but found '%c'", what, peek(p));
  }
  int64_t v = 0;
  while (isdigit((unsigned char)peek(p))) {
    int d = p->s[p->pos++] - '0';
    if (v > (INT64_MAX - d) / 10) return fail(p, QG_STATUS_PARSE, "number too large %s", what);
    v = v * 10 + d;
  }
  *out = v;
  return QG_OK;
}

static qg_status parse_type(parser *p, const qg_type_t **out, alias_ref *alias, alias_ref *elem_alias,
                            long *fixed, int *symint);

/* A nested type whose schema extras are ignored. */
static qg_status sub_type(parser *p, const qg_type_t **out) {
  skip_ws(p);
  return parse_type(p, out, NULL, NULL, NULL, NULL);
}

/* Types separated by ',' up to `close` (already past the opening bracket). */
static qg_status type_list(parser *p, char close, const qg_type_t **elems, size_t *n, const char *what) {
  *n = 0;
  if (accept(p, close)) return QG_OK;
  for (;;) {
    if (*n == MAX_ELEMS) return fail(p, QG_STATUS_PARSE, "more than %d element types in %s", MAX_ELEMS, what);
    QG_TRY(sub_type(p, &elems[(*n)++]));
    if (accept(p, ',')) continue;
    char msg[64];
    snprintf(msg, sizeof msg, "to close %s", what);
    return expect(p, close, msg);
  }
}

/* Python `Tuple[()]` is the empty tuple. */
static int empty_tuple_marker(parser *p) {
  size_t save = p->pos;
  if (accept(p, '(') && accept(p, ')')) return 1;
  p->pos = save;
  return 0;
}

/* `( ... )` of a detailed tensor type; `rank_known` is 0 for `FloatTensor(...)` and, by
 * PyTorch's printing, for `Tensor(requires_grad=0)` (rank 0 and unknown rank print alike). */
static qg_status tensor_details(parser *p, qg_tensor_info *ti, int dims_allowed) {
  int ndim = 0, nstrides = 0, saw_kw = 0, saw_strides = 0;
  if (accept(p, ')')) {
    ti->ndim = dims_allowed ? 0 : -1;
    return QG_OK;
  }
  for (;;) {
    skip_ws(p);
    const char *kw;
    size_t kwn;
    char c = peek(p);
    if (c == '*' || isdigit((unsigned char)c)) {
      if (!dims_allowed || saw_kw) return fail(p, QG_STATUS_PARSE, "unexpected dimension in tensor type");
      if (ndim == 8) return fail(p, QG_STATUS_TYPE, "tensor type has more than 8 dimensions");
      if (c == '*') {
        p->pos++;
        ti->sizes[ndim++] = -1;
      } else {
        QG_TRY(number(p, &ti->sizes[ndim], "as a dimension"));
        ndim++;
      }
    } else if (ident(p, &kw, &kwn)) {
      saw_kw = 1;
      QG_TRY(expect(p, '=', "after a tensor type keyword"));
      if (eq(kw, kwn, "strides")) {
        QG_TRY(expect(p, '[', "to open strides"));
        saw_strides = 1;
        if (!accept(p, ']')) {
          for (;;) {
            if (nstrides == 8) return fail(p, QG_STATUS_TYPE, "tensor type has more than 8 strides");
            skip_ws(p);
            if (peek(p) == '*') {
              p->pos++;
              ti->strides[nstrides++] = -1;
            } else {
              QG_TRY(number(p, &ti->strides[nstrides], "as a stride"));
              nstrides++;
            }
            if (accept(p, ',')) continue;
            QG_TRY(expect(p, ']', "to close strides"));
            break;
          }
        }
      } else if (eq(kw, kwn, "requires_grad")) {
        int64_t v;
        QG_TRY(number(p, &v, "for requires_grad"));
        if (v > 1) return fail(p, QG_STATUS_PARSE, "requires_grad must be 0 or 1");
        ti->requires_grad = (int)v;
      } else if (eq(kw, kwn, "device")) {
        skip_ws(p);
        size_t b = p->pos;
        while (!at_end(p) && (is_ident_char(peek(p)) || peek(p) == ':')) p->pos++;
        size_t n = p->pos - b;
        if (n == 0) return fail(p, QG_STATUS_PARSE, "expected a device after 'device='");
        if (n >= sizeof ti->device) return fail(p, QG_STATUS_PARSE, "device name '%.*s' too long", (int)n, p->s + b);
        memcpy(ti->device, p->s + b, n);
        ti->device[n] = '\0';
        ti->has_device = 1;
      } else {
        return fail(p, QG_STATUS_PARSE, "unknown tensor type keyword '%.*s'", (int)kwn, kw);
      }
    } else {
      if (at_end(p)) return fail(p, QG_STATUS_PARSE, "tensor type not closed");
      return fail(p, QG_STATUS_PARSE, "unexpected '%c' in tensor type", c);
    }
    if (accept(p, ',')) continue;
    QG_TRY(expect(p, ')', "to close the tensor type"));
    break;
  }
  if (saw_strides && nstrides != ndim)
    return fail(p, QG_STATUS_TYPE, "tensor type has %d dimensions but %d strides", ndim, nstrides);
  ti->has_strides = saw_strides;
  /* `Tensor(requires_grad=0)`: PyTorch prints rank 0 and unknown rank alike without a dtype;
   * read it as unknown rank. */
  ti->ndim = dims_allowed ? (ndim == 0 && saw_kw && !ti->has_dtype ? -1 : ndim) : -1;
  return QG_OK;
}

static const struct {
  const char *name;
  qg_type_kind kind;
} prim_names[] = {
    {"Tensor", QG_TYPE_TENSOR},       {"int", QG_TYPE_INT},
    {"float", QG_TYPE_FLOAT},         {"complex", QG_TYPE_COMPLEX},
    {"bool", QG_TYPE_BOOL},           {"str", QG_TYPE_STR},
    {"NoneType", QG_TYPE_NONE},       {"None", QG_TYPE_NONE},
    {"Device", QG_TYPE_DEVICE},       {"Scalar", QG_TYPE_NUMBER},
    {"number", QG_TYPE_NUMBER},       {"Any", QG_TYPE_ANY},
    {"ScalarType", QG_TYPE_SCALAR_TYPE}, {"Layout", QG_TYPE_LAYOUT},
    {"MemoryFormat", QG_TYPE_MEMORY_FORMAT}, {"Generator", QG_TYPE_GENERATOR},
    {"Storage", QG_TYPE_STORAGE},     {"Stream", QG_TYPE_STREAM},
    {"Capsule", QG_TYPE_CAPSULE},     {"QScheme", QG_TYPE_QSCHEME},
    {"Function", QG_TYPE_FUNCTION_ANY}, {"SymInt", QG_TYPE_INT},
    {"SymFloat", QG_TYPE_FLOAT},      {"SymBool", QG_TYPE_BOOL},
};

/* `Name[` or `Name(`: which bracket opened the argument list ('\0' if none). */
static char open_args(parser *p, int allow_paren, int allow_square) {
  size_t save = p->pos;
  skip_ws(p);
  char c = peek(p);
  if ((c == '[' && allow_square) || (c == '(' && allow_paren)) {
    p->pos++;
    return c == '[' ? ']' : ')';
  }
  p->pos = save;
  return '\0';
}

static qg_status parse_base(parser *p, const qg_type_t **out, int *symint) {
  const qg_type_t *elems[MAX_ELEMS];
  size_t n = 0;
  const char *name;
  size_t nl;
  skip_ws(p);
  if (accept(p, '(')) {
    QG_TRY(type_list(p, ')', elems, &n, "a tuple type"));
    return qg_type_tuple(p->cu, n, elems, out);
  }
  size_t name_pos = p->pos;
  if (!ident(p, &name, &nl)) {
    if (at_end(p)) return fail(p, QG_STATUS_PARSE, "expected a type but the text ended");
    return fail(p, QG_STATUS_PARSE, "expected a type but found '%c'", peek(p));
  }
  char close;
  if ((eq(name, nl, "List") || eq(name, nl, "Optional")) && (close = open_args(p, 0, 1))) {
    const qg_type_t *e;
    QG_TRY(sub_type(p, &e));
    QG_TRY(expect(p, close, eq(name, nl, "List") ? "to close List[" : "to close Optional["));
    return eq(name, nl, "List") ? qg_type_list(p->cu, e, out) : qg_type_optional(p->cu, e, out);
  }
  if (eq(name, nl, "Tuple") && (close = open_args(p, 0, 1))) {
    if (empty_tuple_marker(p)) {
      QG_TRY(expect(p, close, "to close Tuple["));
    } else {
      QG_TRY(type_list(p, close, elems, &n, "Tuple["));
    }
    return qg_type_tuple(p->cu, n, elems, out);
  }
  if (eq(name, nl, "Union") && (close = open_args(p, 1, 1))) {
    QG_TRY(type_list(p, close, elems, &n, "Union"));
    if (n == 0) return fail(p, QG_STATUS_TYPE, "empty Union");
    return qg_type_union(p->cu, n, elems, out);
  }
  if (eq(name, nl, "Dict") && (close = open_args(p, 1, 1))) {
    QG_TRY(type_list(p, close, elems, &n, "Dict"));
    if (n != 2) return fail(p, QG_STATUS_TYPE, "Dict takes 2 types, got %zu", n);
    return qg_type_dict(p->cu, elems[0], elems[1], out);
  }
  if ((eq(name, nl, "Future") || eq(name, nl, "RRef")) && (close = open_args(p, 1, 1))) {
    const qg_type_t *e;
    QG_TRY(sub_type(p, &e));
    QG_TRY(expect(p, close, "to close Future/RRef"));
    return eq(name, nl, "Future") ? qg_type_future(p->cu, e, out) : qg_type_rref(p->cu, e, out);
  }
  if (eq(name, nl, "NamedTuple") && open_args(p, 1, 0)) {
    char fields[MAX_ELEMS][64];
    const char *names[MAX_ELEMS];
    if (!accept(p, ')')) {
      for (;;) {
        const char *f;
        size_t fl;
        if (n == MAX_ELEMS) return fail(p, QG_STATUS_PARSE, "too many NamedTuple fields");
        if (!ident(p, &f, &fl)) return fail(p, QG_STATUS_PARSE, "expected a NamedTuple field name");
        if (fl >= sizeof fields[0]) return fail(p, QG_STATUS_PARSE, "NamedTuple field name too long");
        memcpy(fields[n], f, fl);
        fields[n][fl] = '\0';
        names[n] = fields[n];
        QG_TRY(expect(p, ':', "after a NamedTuple field name"));
        QG_TRY(sub_type(p, &elems[n]));
        n++;
        if (accept(p, ',')) continue;
        QG_TRY(expect(p, ')', "to close NamedTuple("));
        break;
      }
    }
    return qg_type_named_tuple(p->cu, n, names, elems, out);
  }
  if (eq(name, nl, "InterfaceType") && peek(p) == '<') {
    /* `InterfaceType<Name>`: PyTorch prints the unqualified name. */
    const char *iname;
    size_t il;
    p->pos++;
    if (!ident(p, &iname, &il)) return fail(p, QG_STATUS_PARSE, "expected an interface name after 'InterfaceType<'");
    QG_TRY(expect(p, '>', "to close InterfaceType<"));
    qg_type_t *it = qg__cu_find_interface(p->cu, iname, il);
    if (!it && p->create_classes) {
      /* Unknown: assume the usual `__torch__.` prefix; defining it later completes it. */
      char buf[512];
      int k = snprintf(buf, sizeof buf, "%s%.*s", memchr(iname, '.', il) ? "" : "__torch__.", (int)il, iname);
      if (k < 0 || (size_t)k >= sizeof buf) return fail(p, QG_STATUS_TYPE, "interface name too long");
      QG_TRY(qg__cu_define_opaque(p->cu, QG_TYPE_INTERFACE, buf, (size_t)k, &it));
    }
    if (!it) {
      p->pos = name_pos;
      return fail(p, QG_STATUS_TYPE, "unknown interface type '%.*s'", (int)il, iname);
    }
    *out = it;
    return QG_OK;
  }
  /* Detailed tensor types: Tensor(...), Float(...), FloatTensor, FloatTensor(...). */
  if (!p->schema) {
    qg_tensor_info ti;
    memset(&ti, 0, sizeof ti);
    ti.requires_grad = -1;
    ti.ndim = -1;
    int is_tensor = 0, dims_allowed = 1;
    qg_dtype dt;
    if (eq(name, nl, "Tensor")) {
      is_tensor = peek(p) == '(';
    } else if (qg_dtype_from_ir_name(name, nl, &dt) == 0 && peek(p) == '(') {
      is_tensor = 1;
    } else if (nl > 6 && memcmp(name + nl - 6, "Tensor", 6) == 0 && qg_dtype_from_ir_name(name, nl - 6, &dt) == 0) {
      is_tensor = 1;
      dims_allowed = 0;
    }
    if (is_tensor) {
      if (!eq(name, nl, "Tensor")) {
        ti.has_dtype = 1;
        ti.dtype = dt;
      }
      if (peek(p) == '(') {
        p->pos++;
        QG_TRY(tensor_details(p, &ti, dims_allowed));
      }
      return qg_type_tensor_detailed(p->cu, &ti, out);
    }
  }
  for (size_t i = 0; i < sizeof prim_names / sizeof prim_names[0]; i++) {
    if (eq(name, nl, prim_names[i].name)) {
      if (symint && eq(name, nl, "SymInt")) *symint = 1;
      *out = qg_type_prim(prim_names[i].kind);
      return QG_OK;
    }
  }
  if (memchr(name, '.', nl)) {
    char buf[512];
    if (nl >= sizeof buf) return fail(p, QG_STATUS_TYPE, "type name too long");
    memcpy(buf, name, nl);
    buf[nl] = '\0';
    qg_type_t *cls = qg_cu_find(p->cu, buf);
    if (!cls && p->create_classes && nl > 10 && memcmp(name, "__torch__.", 10) == 0)
      QG_TRY(qg__cu_define_opaque(p->cu, QG_TYPE_CLASS, name, nl, &cls));
    if (!cls) {
      p->pos = name_pos;
      return fail(p, QG_STATUS_TYPE, "unknown class type '%s'", buf);
    }
    *out = cls;
    return QG_OK;
  }
  if (p->schema) {
    /* Any other plain identifier in a schema is a type variable (t, t1, tVal). */
    char buf[64];
    if (nl >= sizeof buf) return fail(p, QG_STATUS_TYPE, "type variable name too long");
    memcpy(buf, name, nl);
    buf[nl] = '\0';
    return qg_type_var(p->cu, buf, out);
  }
  p->pos = name_pos;
  return fail(p, QG_STATUS_TYPE, "unknown type '%.*s'", (int)nl, name);
}

/* `(a!)`, `(a -> *)`, `(b|a)`, `(*)` right after a type in schema syntax. */
static qg_status alias_annotation(parser *p, alias_ref *a) {
  size_t b = ++p->pos; /* past '(' */
  while (!at_end(p) && p->s[p->pos] != ')') {
    char c = p->s[p->pos];
    if (!(is_ident_char(c) || strchr("!|*->. :", c)))
      return fail(p, QG_STATUS_PARSE, "unexpected '%c' in alias annotation", c);
    p->pos++;
  }
  if (at_end(p)) return fail(p, QG_STATUS_PARSE, "alias annotation not closed");
  a->text = p->s + b;
  a->len = p->pos - b;
  if (a->len == 0) return fail(p, QG_STATUS_PARSE, "empty alias annotation");
  p->pos++; /* ')' */
  return QG_OK;
}

static qg_status parse_type(parser *p, const qg_type_t **out, alias_ref *alias, alias_ref *elem_alias,
                            long *fixed, int *symint) {
  *out = NULL;
  if (++p->depth > MAX_DEPTH) return fail(p, QG_STATUS_PARSE, "type nested more than %d deep", MAX_DEPTH);
  const qg_type_t *t;
  alias_ref cur = {NULL, 0}, elem = {NULL, 0};
  long fixed_size = -1;
  QG_TRY(parse_base(p, &t, symint));
  /* Postfix operators bind tightly: no whitespace before them. */
  for (;;) {
    char c = peek(p);
    if (c == '[') {
      size_t save = p->pos++;
      skip_ws(p);
      if (peek(p) == ']') {
        p->pos++;
        fixed_size = -1;
      } else if (p->schema && isdigit((unsigned char)peek(p))) {
        int64_t v;
        QG_TRY(number(p, &v, "as a list size"));
        QG_TRY(expect(p, ']', "after a fixed list size"));
        fixed_size = (long)v;
      } else {
        p->pos = save;
        return fail(p, QG_STATUS_PARSE, "expected ']' after '['");
      }
      QG_TRY(qg_type_list(p->cu, t, &t));
      elem = cur;
      cur.text = NULL;
      cur.len = 0;
    } else if (c == '?') {
      p->pos++;
      QG_TRY(qg_type_optional(p->cu, t, &t));
    } else if (c == '(' && p->schema) {
      QG_TRY(alias_annotation(p, &cur));
    } else {
      break;
    }
  }
  p->depth--;
  if (alias) *alias = cur;
  if (elem_alias) *elem_alias = elem;
  if (fixed) *fixed = fixed_size;
  *out = t;
  return QG_OK;
}

qg_status qg_type_parse_ex(qg_cu_t *cu, const char *text, size_t len, const qg_type_parse_opts *opts,
                           const qg_type_t **out, size_t *consumed, qg_type_parse_info *info) {
  static const qg_type_parse_opts defaults = {0, 0};
  if (!opts) opts = &defaults;
  parser p = {cu, text, len, 0, opts->schema_syntax, opts->create_unknown_classes, 0};
  alias_ref a = {NULL, 0}, e = {NULL, 0};
  long fixed = -1;
  int symint = 0;
  *out = NULL;
  if (consumed) *consumed = 0;
  if (info) {
    memset(info, 0, sizeof *info);
    info->fixed_size = -1;
  }
  skip_ws(&p);
  QG_TRY(parse_type(&p, out, &a, &e, &fixed, &symint));
  if (consumed) *consumed = p.pos;
  if (info) {
    info->alias = a.text;
    info->alias_len = a.len;
    info->elem_alias = e.text;
    info->elem_alias_len = e.len;
    info->fixed_size = fixed;
    info->is_symint = symint;
  }
  return QG_OK;
}

qg_status qg_type_parse(qg_cu_t *cu, const char *text, size_t len, const qg_type_parse_opts *opts,
                        const qg_type_t **out, size_t *consumed) {
  return qg_type_parse_ex(cu, text, len, opts, out, consumed, NULL);
}
