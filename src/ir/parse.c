/* The graph text parser: PyTorch's `str(graph)` syntax (see text.h and
 * reference/ecosystem.md section 2.2), without relying on indentation.
 *
 * Note [Parsing without indentation]
 *   PyTorch's own parser uses INDENT/DEDENT tokens, but graphs embedded in module text are
 *   indented differently, so this parser uses the markers that are unambiguous on their own: a
 *   statement starting with `blockN(` opens the next block of the node just parsed, `-> (...)`
 *   closes the current block, and `return (...)` closes the graph. A node line starts with `%`
 *   (its outputs) or `=` (no outputs), so none of these can be confused with a node.
 *
 * Note [Value scopes]
 *   Names are unique in a graph (`all`), but a value is only usable where it is visible: after
 *   its definition, in its own block or a block nested in it. `visible` holds the names in scope;
 *   `defined` lists them in definition order so that closing a block removes the names it
 *   introduced.
 *
 * Subgraph sections (text.h, Note [Subgraph sections]) are parsed by a parser of their own
 * (their values are another graph's), which takes over the lexer position and hands it back. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hashmap.h"
#include "base/vec.h"
#include "ir/ir_impl.h" /* only for next_unique: see the end of parse_impl */
#include "ir/lexer.h"
#include "ir/schema.h"
#include "ir/text.h"

#define MAX_BLOCK_DEPTH 256

typedef struct pending_out {
  size_t name_at, name_len; /* offset of the name in the text (after '%') */
  const qg_type_t *type;
} pending_out;

/* A node printed as a group, `prim::fork_0`, waiting for (or matched with) its section. */
typedef struct group_ref {
  size_t name_at, name_len; /* "prim::fork_0" in the text */
  qg_node_t *node;
  int section_line; /* line of its `with` section, 0 while it has none */
} group_ref;

typedef struct parser {
  qg__lex lx;
  const qg_parse_opts *opts;
  qg_graph_t *g;
  qg_cu_t *cu;
  qg_hashmap all;     /* every name defined so far -> value */
  qg_hashmap visible; /* names in scope -> value */
  QG_VEC(const char *) defined;
  QG_VEC(pending_out) outs;
  char *scratch; /* decoded string literals and NUL-terminated names */
  size_t scratch_cap;
  uint64_t next_numeric; /* one past the largest numeric value name ("%37") */
  int depth;             /* blocks and subgraphs enclosing the current position */
  int nested;            /* this parser reads a `with` section's subgraph */
  qg_sym_t subgraph;     /* attr::Subgraph */
  QG_VEC(group_ref) groups;
} parser;

/* ---- small helpers --------------------------------------------------------------------- */

static qg_status need_scratch(parser *p, size_t n) {
  if (n <= p->scratch_cap) return QG_OK;
  size_t cap = p->scratch_cap ? p->scratch_cap : 64;
  while (cap < n) cap *= 2;
  char *s = qg__realloc(p->scratch, cap);
  if (!s) return qg_oom("graph parser scratch buffer");
  p->scratch = s;
  p->scratch_cap = cap;
  return QG_OK;
}

/* A NUL-terminated copy of text[at, at+n) in the scratch buffer. */
static qg_status scratch_copy(parser *p, size_t at, size_t n, const char **out) {
  QG_TRY(need_scratch(p, n + 1));
  memcpy(p->scratch, p->lx.text + at, n);
  p->scratch[n] = '\0';
  *out = p->scratch;
  return QG_OK;
}

static qg_status parse_type(parser *p, const qg_type_t **out) {
  qg_type_parse_opts topts = {0};
  topts.create_unknown_classes = !p->opts->no_unknown_classes;
  size_t consumed = 0;
  int line = p->lx.line, col = qg__lex_col(&p->lx);
  qg_status st = qg_type_parse(p->cu, p->lx.text + p->lx.pos, p->lx.len - p->lx.pos, &topts, out, &consumed);
  if (st == QG_STATUS_OOM) return st;
  if (st != QG_OK) return qg_error_prefix(st, "%s:%d:%d", p->lx.filename, line, col);
  if (consumed == 0) return qg__lex_expected(&p->lx, "a type");
  qg__lex_advance(&p->lx, consumed);
  return QG_OK;
}

/* '%' name; *at and *n locate the name (without '%'). */
static qg_status parse_value_ref_name(parser *p, size_t *at, size_t *n) {
  if (!qg__lex_accept(&p->lx, "%")) return qg__lex_expected(&p->lx, "a value ('%name')");
  *n = qg__lex_value_name(&p->lx, at);
  if (*n == 0) return qg__lex_expected(&p->lx, "a value name after '%'");
  return QG_OK;
}

/* A use of a value: it must be defined and visible here. */
static qg_status parse_use(parser *p, qg_value_t **out) {
  size_t start = p->lx.pos, at, n;
  QG_TRY(parse_value_ref_name(p, &at, &n));
  qg_value_t *v = qg_hashmap_getn(&p->visible, p->lx.text + at, n);
  if (v) {
    *out = v;
    return QG_OK;
  }
  if (qg_hashmap_getn(&p->all, p->lx.text + at, n)) {
    return qg__lex_error_at(&p->lx, start, QG_STATUS_PARSE,
                            "%%%.*s is not visible here (it is defined inside a block that has ended)", (int)n,
                            p->lx.text + at);
  }
  return qg__lex_error_at(&p->lx, start, QG_STATUS_PARSE, "%%%.*s used before definition", (int)n, p->lx.text + at);
}

/* Checks that the name at text[at, at+n) is new. */
static qg_status check_new_name(parser *p, size_t at, size_t n) {
  if (qg_hashmap_getn(&p->all, p->lx.text + at, n)) {
    return qg__lex_error_at(&p->lx, at - 1, QG_STATUS_PARSE, "duplicate definition of %%%.*s", (int)n,
                            p->lx.text + at);
  }
  return QG_OK;
}

/* Names v (already created) after text[at, at+n) and records it as defined; it becomes visible
 * now or, with later_visible, when the caller calls make_visible (a node's outputs become
 * visible after its blocks). */
static qg_status define_value(parser *p, qg_value_t *v, size_t at, size_t n) {
  const char *name;
  QG_TRY(check_new_name(p, at, n));
  QG_TRY(scratch_copy(p, at, n, &name));
  QG_TRY(qg_value_set_name(v, name));
  if (qg_hashmap_put(&p->all, v->name, v) != 0) return qg_oom("graph parser name table");
  if (n < 19 && strspn(name, "0123456789") == n) {
    uint64_t k = strtoull(name, NULL, 10) + 1;
    if (k > p->next_numeric) p->next_numeric = k;
  }
  return QG_OK;
}

static qg_status make_visible(parser *p, qg_value_t *v) {
  if (QG_VEC_RESERVE(&p->defined, p->defined.len + 1) != 0) return qg_oom("graph parser scope list");
  if (qg_hashmap_put(&p->visible, v->name, v) != 0) return qg_oom("graph parser name table");
  p->defined.data[p->defined.len++] = v->name;
  return QG_OK;
}

static void close_scope(parser *p, size_t mark) {
  for (size_t i = mark; i < p->defined.len; i++) qg_hashmap_remove(&p->visible, p->defined.data[i]);
  p->defined.len = mark;
}

/* `%a : T, %b, ...` up to `)` (the block/graph parameter list; newlines allowed). add_input
 * creates each value. */
typedef qg_status (*add_input_fn)(void *target, const char *name, const qg_type_t *type, qg_value_t **out);

static qg_status add_graph_input(void *target, const char *name, const qg_type_t *type, qg_value_t **out) {
  return qg_graph_add_input(target, name, type, out);
}

static qg_status add_block_input(void *target, const char *name, const qg_type_t *type, qg_value_t **out) {
  return qg_block_add_input(target, name, type, out);
}

static qg_status parse_params(parser *p, add_input_fn add, void *target) {
  QG_TRY(qg__lex_expect(&p->lx, "(", 0));
  qg__lex_skip_ws(&p->lx);
  if (qg__lex_accept(&p->lx, ")")) return QG_OK;
  for (;;) {
    qg__lex_skip_ws(&p->lx);
    size_t at, n;
    QG_TRY(parse_value_ref_name(p, &at, &n));
    QG_TRY(check_new_name(p, at, n));
    const qg_type_t *type = qg_type_tensor();
    qg__lex_skip_blank(&p->lx);
    if (qg__lex_accept(&p->lx, ":")) {
      qg__lex_skip_blank(&p->lx);
      QG_TRY(parse_type(p, &type));
    }
    qg_value_t *v;
    QG_TRY(add(target, NULL, type, &v));
    QG_TRY(define_value(p, v, at, n));
    QG_TRY(make_visible(p, v));
    qg__lex_skip_ws(&p->lx);
    if (qg__lex_accept(&p->lx, ")")) return QG_OK;
    if (!qg__lex_accept(&p->lx, ",")) return qg__lex_expected(&p->lx, "',' or ')'");
  }
}

/* `(%a, %b)`: a return or block-output list; each value is passed to reg. */
static qg_status parse_output_list(parser *p, qg_block_t *b) {
  QG_TRY(qg__lex_expect(&p->lx, "(", 0));
  qg__lex_skip_ws(&p->lx);
  if (qg__lex_accept(&p->lx, ")")) return QG_OK;
  for (;;) {
    qg__lex_skip_ws(&p->lx);
    qg_value_t *v;
    QG_TRY(parse_use(p, &v));
    QG_TRY(qg_block_register_output(b, v));
    qg__lex_skip_ws(&p->lx);
    if (qg__lex_accept(&p->lx, ")")) return QG_OK;
    if (!qg__lex_accept(&p->lx, ",")) return qg__lex_expected(&p->lx, "',' or ')'");
  }
}

/* Only blanks and an optional comment may follow on this line. */
static qg_status expect_eol(parser *p) {
  qg__lex_skip_blank(&p->lx);
  if (qg__lex_peek(&p->lx, 0) == '\r') p->lx.pos++;
  if (qg__lex_eof(&p->lx) || qg__lex_peek(&p->lx, 0) == '\n') return QG_OK;
  if (qg__lex_peek(&p->lx, 0) == '#') return QG_OK; /* skipped as a comment by skip_ws */
  return qg__lex_expected(&p->lx, "end of line");
}

/* ---- attribute values ------------------------------------------------------------------ */

static qg_status parse_string_literal(parser *p, const char **out) {
  size_t ext = qg__lex_string_extent(&p->lx);
  if (ext == 0) return qg__lex_error(&p->lx, QG_STATUS_PARSE, "unterminated string literal");
  QG_TRY(need_scratch(p, ext + 1));
  size_t n;
  QG_TRY(qg__lex_string(&p->lx, p->scratch, p->scratch_cap, &n));
  p->scratch[n] = '\0';
  *out = p->scratch;
  return QG_OK;
}

typedef struct number {
  int is_float, is_complex;
  int64_t i;
  double f, im;
} number;

static qg_status parse_number(parser *p, number *num) {
  memset(num, 0, sizeof *num);
  int is_float, is_imag;
  size_t start = p->lx.pos;
  size_t n = qg__lex_number(&p->lx, &is_float, &is_imag);
  if (n == 0) return qg__lex_expected(&p->lx, "a number");
  char buf[64];
  if (n >= sizeof buf) return qg__lex_error(&p->lx, QG_STATUS_PARSE, "number literal too long");
  memcpy(buf, p->lx.text + start, n - (size_t)is_imag);
  buf[n - (size_t)is_imag] = '\0';
  qg__lex_advance(&p->lx, n);
  if (is_imag) {
    num->is_complex = 1;
    num->im = strtod(buf, NULL);
    return QG_OK;
  }
  if (!is_float) {
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE) {
      return qg__lex_error_at(&p->lx, start, QG_STATUS_PARSE, "integer literal '%s' out of range", buf);
    }
    num->i = v;
    num->f = (double)v;
  } else {
    num->is_float = 1;
    num->f = strtod(buf, NULL);
  }
  /* A complex literal "1.+2.j": a real part directly followed by a signed imaginary part. */
  char c = qg__lex_peek(&p->lx, 0);
  if (c == '+' || c == '-') {
    int f2, im2;
    size_t m = qg__lex_number(&p->lx, &f2, &im2);
    if (m > 0 && im2) {
      number imag;
      QG_TRY(parse_number(p, &imag));
      num->is_complex = 1;
      num->im = imag.im;
    }
  }
  return QG_OK;
}

/* Writes element i (row-major, contiguous) of t from a double. */
static void store_elem(qg_tensor *t, int64_t i, double x) {
  char *d = qg_tensor_data(t);
  size_t es = qg_dtype_info(t->dtype)->size;
  d += (size_t)i * es;
  switch (t->dtype) {
    case QG_DTYPE_F32: { float v = (float)x; memcpy(d, &v, 4); break; }
    case QG_DTYPE_F64: memcpy(d, &x, 8); break;
    case QG_DTYPE_F16:
    case QG_DTYPE_BF16: {
      float v = (float)x;
      uint32_t u;
      memcpy(&u, &v, 4);
      uint16_t h;
      if (t->dtype == QG_DTYPE_BF16) {
        h = (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
      } else {
        uint32_t sign = (u >> 16) & 0x8000;
        int e = (int)((u >> 23) & 0xff) - 127 + 15;
        uint32_t man = u & 0x7fffff;
        if (isnan(v)) h = (uint16_t)(sign | 0x7e00);
        else if (e >= 31) h = (uint16_t)(sign | 0x7c00);
        else if (e <= 0) h = (uint16_t)(sign | (e < -10 ? 0 : ((man | 0x800000) >> (14 - e))));
        else h = (uint16_t)(sign | ((uint32_t)e << 10) | (man >> 13));
      }
      memcpy(d, &h, 2);
      break;
    }
    case QG_DTYPE_U8: *(uint8_t *)d = (uint8_t)x; break;
    case QG_DTYPE_I8: *(int8_t *)d = (int8_t)x; break;
    case QG_DTYPE_BOOL: *(uint8_t *)d = x != 0; break;
    case QG_DTYPE_I16: { int16_t v = (int16_t)x; memcpy(d, &v, 2); break; }
    case QG_DTYPE_I32: { int32_t v = (int32_t)x; memcpy(d, &v, 4); break; }
    case QG_DTYPE_I64: { int64_t v = (int64_t)x; memcpy(d, &v, 8); break; }
    default: break;
  }
}

/* `{0.5}`: a one-element tensor constant, dtype and shape from the output type (Float, 0-dim
 * when the type does not say). */
static qg_status parse_scalar_tensor(parser *p, qg_node_t *n, qg_sym_t name) {
  size_t start = p->lx.pos;
  QG_TRY(qg__lex_expect(&p->lx, "{", 0));
  number num;
  qg__lex_skip_blank(&p->lx);
  QG_TRY(parse_number(p, &num));
  QG_TRY(qg__lex_expect(&p->lx, "}", 0));
  if (num.is_complex) return qg__lex_error_at(&p->lx, start, QG_STATUS_UNSUPPORTED, "complex tensor constants are not supported");
  qg_dtype dt = QG_DTYPE_F32;
  int ndim = 0;
  int64_t shape[QG_MAX_DIMS] = {0};
  const qg_type_t *t = n->noutputs == 1 ? n->outputs[0]->type : NULL;
  if (t && t->kind == QG_TYPE_TENSOR_DETAILED) {
    if (t->tensor.has_dtype) dt = t->tensor.dtype;
    int64_t numel = 1;
    int known = t->tensor.ndim > 0 && t->tensor.ndim <= QG_MAX_DIMS;
    for (int k = 0; known && k < t->tensor.ndim; k++) {
      if (t->tensor.sizes[k] < 0) known = 0;
      else numel *= t->tensor.sizes[k];
    }
    if (known && numel == 1) {
      ndim = t->tensor.ndim;
      for (int k = 0; k < ndim; k++) shape[k] = t->tensor.sizes[k];
    }
  }
  if (qg_dtype_info(dt)->is_quantized) {
    return qg__lex_error_at(&p->lx, start, QG_STATUS_UNSUPPORTED, "quantized tensor constants are not supported");
  }
  qg_tensor *tensor;
  QG_TRY(qg_tensor_create(dt, ndim, shape, &tensor));
  if (num.is_float || dt == QG_DTYPE_F32 || dt == QG_DTYPE_F64 || dt == QG_DTYPE_F16 || dt == QG_DTYPE_BF16) {
    store_elem(tensor, 0, num.is_float ? num.f : (double)num.i);
  } else if (dt == QG_DTYPE_I64) {
    memcpy(qg_tensor_data(tensor), &num.i, 8); /* exact beyond 2^53 */
  } else {
    store_elem(tensor, 0, (double)num.i);
  }
  qg_status st = qg_node_set_t(n, name, tensor);
  qg_tensor_release(tensor);
  return st;
}

typedef enum list_kind { L_NONE, L_INT, L_FLOAT, L_BOOL, L_STR, L_TENSORS, L_TYPE } list_kind;

typedef struct list_acc {
  QG_VEC(int64_t) is;
  QG_VEC(double) fs;
  QG_VEC(char *) ss;
  QG_VEC(const qg_type_t *) tys;
} list_acc;

static void list_acc_free(list_acc *a) {
  for (size_t i = 0; i < a->ss.len; i++) qg__free(a->ss.data[i]);
  QG_VEC_FREE(&a->is);
  QG_VEC_FREE(&a->fs);
  QG_VEC_FREE(&a->ss);
  QG_VEC_FREE(&a->tys);
}

static int at_bool_word(parser *p, int *v) {
  if (qg__lex_at_word(&p->lx, "True")) return *v = 1, 1;
  if (qg__lex_at_word(&p->lx, "False")) return *v = 0, 1;
  return 0;
}

static qg_status parse_list_elem(parser *p, list_kind *kind, list_acc *a) {
  size_t start = p->lx.pos;
  char c = qg__lex_peek(&p->lx, 0);
  int bv;
  list_kind k;
  if (c == '"') {
    k = L_STR;
  } else if (at_bool_word(p, &bv)) {
    k = L_BOOL;
  } else if (c == '<') {
    k = L_TENSORS;
  } else if (qg__lex_number(&p->lx, &(int){0}, &(int){0}) > 0) {
    k = L_INT; /* refined to L_FLOAT below */
  } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '(') {
    k = L_TYPE;
  } else {
    return qg__lex_expected(&p->lx, "a list element");
  }
  int numeric = (k == L_INT) && (*kind == L_INT || *kind == L_FLOAT || *kind == L_NONE);
  if (*kind != L_NONE && *kind != k && !numeric) {
    return qg__lex_error_at(&p->lx, start, QG_STATUS_PARSE, "list elements must all have the same kind");
  }
  switch (k) {
    case L_STR: {
      const char *s;
      QG_TRY(parse_string_literal(p, &s));
      char *copy = qg__strdup(s);
      if (!copy || QG_VEC_PUSH(&a->ss, copy) != 0) {
        qg__free(copy);
        return qg_oom("string list attribute");
      }
      break;
    }
    case L_BOOL:
      qg__lex_advance(&p->lx, bv ? 4 : 5);
      if (QG_VEC_PUSH(&a->is, bv) != 0) return qg_oom("bool list attribute");
      break;
    case L_TENSORS:
      if (!qg__lex_accept(&p->lx, "<Tensors>")) return qg__lex_expected(&p->lx, "'<Tensors>'");
      break;
    case L_TYPE: {
      const qg_type_t *t;
      QG_TRY(parse_type(p, &t));
      if (QG_VEC_PUSH(&a->tys, t) != 0) return qg_oom("type list attribute");
      break;
    }
    default: {
      number num;
      QG_TRY(parse_number(p, &num));
      if (num.is_complex) return qg__lex_error_at(&p->lx, start, QG_STATUS_UNSUPPORTED, "complex lists are not supported");
      if (num.is_float && *kind != L_FLOAT) {
        /* An int list that turns out to hold floats becomes a float list. */
        for (size_t i = 0; i < a->is.len; i++) {
          if (QG_VEC_PUSH(&a->fs, (double)a->is.data[i]) != 0) return qg_oom("float list attribute");
        }
        a->is.len = 0;
        *kind = L_FLOAT;
      }
      if (*kind == L_FLOAT) {
        if (QG_VEC_PUSH(&a->fs, num.f) != 0) return qg_oom("float list attribute");
      } else if (QG_VEC_PUSH(&a->is, num.i) != 0) {
        return qg_oom("int list attribute");
      }
      if (*kind == L_NONE) *kind = L_INT;
      return QG_OK;
    }
  }
  *kind = k;
  return QG_OK;
}

static qg_status parse_list(parser *p, qg_node_t *n, qg_sym_t name) {
  QG_TRY(qg__lex_expect(&p->lx, "[", 0));
  list_kind kind = L_NONE;
  list_acc a = {0};
  qg_status st = QG_OK;
  qg__lex_skip_blank(&p->lx);
  if (!qg__lex_accept(&p->lx, "]")) {
    for (;;) {
      qg__lex_skip_blank(&p->lx);
      st = parse_list_elem(p, &kind, &a);
      if (st != QG_OK) goto done;
      qg__lex_skip_blank(&p->lx);
      if (qg__lex_accept(&p->lx, "]")) break;
      if (!qg__lex_accept(&p->lx, ",")) {
        st = qg__lex_expected(&p->lx, "',' or ']'");
        goto done;
      }
    }
  }
  switch (kind) {
    case L_NONE:
    case L_INT:
    case L_BOOL: st = qg_node_set_is(n, name, a.is.data, a.is.len); break;
    case L_FLOAT: st = qg_node_set_fs(n, name, a.fs.data, a.fs.len); break;
    case L_STR: st = qg_node_set_ss(n, name, (const char *const *)a.ss.data, a.ss.len); break;
    case L_TENSORS: st = qg_node_set_ts(n, name, NULL, 0); break;
    case L_TYPE: st = qg_node_set_tys(n, name, a.tys.data, a.tys.len); break;
  }
done:
  list_acc_free(&a);
  return st;
}

/* `annotate(List[T], [])`: how PyTorch prints an empty constant list. */
static qg_status parse_annotated_empty_list(parser *p, qg_node_t *n, qg_sym_t name) {
  QG_TRY(qg__lex_expect(&p->lx, "annotate(", 0));
  QG_TRY(qg__lex_expect(&p->lx, "List[", 0));
  size_t at = p->lx.pos;
  while (!qg__lex_eof(&p->lx) && qg__lex_peek(&p->lx, 0) != ']' && qg__lex_peek(&p->lx, 0) != '\n') p->lx.pos++;
  size_t tn = p->lx.pos - at;
  QG_TRY(qg__lex_expect(&p->lx, "]", 0));
  QG_TRY(qg__lex_expect(&p->lx, ",", 0));
  QG_TRY(qg__lex_expect(&p->lx, "[", 0));
  QG_TRY(qg__lex_expect(&p->lx, "]", 0));
  QG_TRY(qg__lex_expect(&p->lx, ")", 0));
  if (tn == 5 && memcmp(p->lx.text + at, "float", 5) == 0) return qg_node_set_fs(n, name, NULL, 0);
  if (tn == 3 && memcmp(p->lx.text + at, "str", 3) == 0) return qg_node_set_ss(n, name, NULL, 0);
  return qg_node_set_is(n, name, NULL, 0);
}

/* `<Tensor>`: the text does not carry the value (PyTorch prints tensors of more than 10
 * elements this way). See text.h: the attribute holds an empty tensor (numel 0, no storage) of
 * the output type's dtype, which the printer prints back as `<Tensor>`. */
static qg_status set_placeholder_tensor(qg_node_t *n, qg_sym_t name) {
  qg_dtype dt = QG_DTYPE_F32;
  const qg_type_t *t = n->noutputs == 1 ? n->outputs[0]->type : NULL;
  if (t && t->kind == QG_TYPE_TENSOR_DETAILED && t->tensor.has_dtype) dt = t->tensor.dtype;
  int64_t shape[1] = {0};
  qg_tensor *tensor;
  QG_TRY(qg_tensor_create(dt, 1, shape, &tensor));
  qg_status st = qg_node_set_t(n, name, tensor);
  qg_tensor_release(tensor);
  return st;
}

/* Offset of "[ CPU" later on this line (the tail of ATen's tensor repr), or 0. */
static size_t find_repr_tail(const parser *p) {
  for (size_t i = p->lx.pos; i + 5 <= p->lx.len && p->lx.text[i] != '\n'; i++) {
    if (memcmp(p->lx.text + i, "[ CPU", 5) == 0) return i;
  }
  return 0;
}

static const struct {
  const char *name;
  qg_dtype dtype;
} repr_types[] = {
    {"Byte", QG_DTYPE_U8},   {"Char", QG_DTYPE_I8},       {"Short", QG_DTYPE_I16}, {"Int", QG_DTYPE_I32},
    {"Long", QG_DTYPE_I64},  {"Half", QG_DTYPE_F16},      {"Float", QG_DTYPE_F32}, {"Double", QG_DTYPE_F64},
    {"Bool", QG_DTYPE_BOOL}, {"BFloat16", QG_DTYPE_BF16},
};

/* ATen's tensor repr, which PyTorch prints for constants of 2 to 10 elements, e.g.
 * `-0.2097 -0.1462 [ CPUFloatType{2} ]`, `0.001 *  1.0000  2.0000 [ ... ]`, with "Columns a to
 * b" and "(i,j,.,.) =" markers for wide and higher-rank tensors (tensor_repr.c prints it). The
 * values are as precise as the text (4 decimals), which PyTorch's own parser does not read at
 * all. */
static qg_status parse_tensor_repr(parser *p, qg_node_t *n, qg_sym_t name, size_t tail) {
  size_t start = p->lx.pos;
  const char *txt = p->lx.text;
  /* The tail: "[ CPU<Name>Type{d0,d1,...} ]". */
  size_t i = tail + 5, nm0 = i;
  while (i < p->lx.len && txt[i] != '{' && txt[i] != '\n') i++;
  qg_dtype dt = QG_DTYPE_COUNT;
  for (size_t k = 0; k < sizeof repr_types / sizeof repr_types[0]; k++) {
    size_t l = strlen(repr_types[k].name);
    if (i - nm0 == l + 4 && memcmp(txt + nm0, repr_types[k].name, l) == 0 && memcmp(txt + nm0 + l, "Type", 4) == 0)
      dt = repr_types[k].dtype;
  }
  if (dt == QG_DTYPE_COUNT || i >= p->lx.len || txt[i] != '{') {
    return qg__lex_error_at(&p->lx, tail, QG_STATUS_PARSE, "unsupported tensor constant type in '[ CPU...Type{...} ]'");
  }
  int ndim = 0;
  int64_t shape[QG_MAX_DIMS];
  i++;
  while (i < p->lx.len && txt[i] != '}') {
    if (ndim == QG_MAX_DIMS || txt[i] < '0' || txt[i] > '9') {
      return qg__lex_error_at(&p->lx, i, QG_STATUS_PARSE, "malformed tensor constant shape");
    }
    int64_t d = 0;
    while (i < p->lx.len && txt[i] >= '0' && txt[i] <= '9' && d < 1000000) d = d * 10 + (txt[i++] - '0');
    shape[ndim++] = d;
    if (i < p->lx.len && txt[i] == ',') i++;
  }
  if (i + 3 > p->lx.len || memcmp(txt + i, "} ]", 3) != 0 || ndim == 0) {
    return qg__lex_error_at(&p->lx, i, QG_STATUS_PARSE, "malformed tensor constant: expected '} ]'");
  }
  size_t after = i + 3;
  int64_t rows = ndim >= 2 ? shape[ndim - 2] : 1, cols = shape[ndim - 1], numel = 1;
  for (int k = 0; k < ndim; k++) numel *= shape[k];
  if (numel < 1 || numel > 10) return qg__lex_error_at(&p->lx, start, QG_STATUS_PARSE, "tensor constant of %lld elements printed inline", (long long)numel);

  qg_tensor *t;
  QG_TRY(qg_tensor_create(dt, ndim, shape, &t));
  qg_status st = QG_OK;
  int64_t slice_off = 0, c0 = 0, c1 = cols - 1, r = 0, c = 0, count = 0;
  double scale = 1;
  qg__lex sub = p->lx;
  sub.len = tail; /* scan only the values */
  for (;;) {
    qg__lex_skip_blank(&sub);
    if (sub.pos >= tail) break;
    if (qg__lex_accept(&sub, "Columns ")) {
      long long a = 0, b = 0;
      if (sscanf(txt + sub.pos, "%lld to %lld", &a, &b) != 2 || a < 1 || b < a || b > cols) {
        st = qg__lex_error(&sub, QG_STATUS_PARSE, "malformed 'Columns a to b' in tensor constant");
        break;
      }
      while (sub.pos < tail && txt[sub.pos] != ' ') sub.pos++; /* a */
      qg__lex_skip_blank(&sub);
      sub.pos += 2;                                          /* to */
      qg__lex_skip_blank(&sub);
      while (sub.pos < tail && txt[sub.pos] >= '0' && txt[sub.pos] <= '9') sub.pos++; /* b */
      c0 = a - 1;
      c1 = b - 1;
      r = 0;
      c = c0;
      scale = 1;
      continue;
    }
    if (qg__lex_peek(&sub, 0) == '(') {
      /* "(i,j,.,.) =": the matrix at leading indices i, j (1-based). */
      sub.pos++;
      int64_t off = 0, stride = rows * cols;
      int k = ndim - 3;
      int64_t idx[QG_MAX_DIMS];
      int nidx = 0;
      while (sub.pos < tail && txt[sub.pos] >= '0' && txt[sub.pos] <= '9' && nidx < ndim - 2) {
        int64_t v = 0;
        while (sub.pos < tail && txt[sub.pos] >= '0' && txt[sub.pos] <= '9' && v < 1000000) v = v * 10 + (txt[sub.pos++] - '0');
        idx[nidx++] = v - 1;
        if (sub.pos < tail && txt[sub.pos] == ',') sub.pos++;
      }
      if (nidx != ndim - 2 || !qg__lex_accept(&sub, ".,.) =")) {
        st = qg__lex_error(&sub, QG_STATUS_PARSE, "malformed '(i,.,.) =' marker in tensor constant");
        break;
      }
      for (; k >= 0; k--) {
        if (idx[k] < 0 || idx[k] >= shape[k]) {
          st = qg__lex_error(&sub, QG_STATUS_PARSE, "index out of range in tensor constant marker");
          break;
        }
        off += idx[k] * stride;
        stride *= shape[k];
      }
      if (st != QG_OK) break;
      slice_off = off;
      c0 = 0;
      c1 = cols - 1;
      r = 0;
      c = 0;
      scale = 1;
      continue;
    }
    int is_float, is_imag;
    size_t len = qg__lex_number(&sub, &is_float, &is_imag);
    char buf[64];
    if (len == 0 || is_imag || len >= sizeof buf) {
      st = qg__lex_expected(&sub, "a number in the tensor constant");
      break;
    }
    memcpy(buf, txt + sub.pos, len);
    buf[len] = '\0';
    double x = strtod(buf, NULL);
    qg__lex_advance(&sub, len);
    qg__lex_skip_blank(&sub);
    if (qg__lex_peek(&sub, 0) == '*' && sub.pos < tail) {
      sub.pos++;
      scale = x;
      continue;
    }
    if (r >= rows || count >= numel) {
      st = qg__lex_error_at(&sub, sub.pos - len, QG_STATUS_PARSE, "too many values in tensor constant");
      break;
    }
    store_elem(t, slice_off + r * cols + c, x * scale);
    count++;
    if (++c > c1) {
      c = c0;
      r++;
    }
  }
  if (st == QG_OK && count != numel) {
    st = qg__lex_error_at(&p->lx, start, QG_STATUS_PARSE, "tensor constant has %lld values but its shape needs %lld",
                          (long long)count, (long long)numel);
  }
  if (st == QG_OK) {
    p->lx.pos = after;
    st = qg_node_set_t(n, name, t);
  }
  qg_tensor_release(t);
  return st;
}

static qg_status parse_attr_value(parser *p, qg_node_t *n, qg_sym_t name) {
  char c = qg__lex_peek(&p->lx, 0);
  int bv;
  size_t tail;
  if ((c == ' ' || c == '-' || c == '(' || c == 'C' || c == 'n' || c == 'i' || (c >= '0' && c <= '9')) &&
      (tail = find_repr_tail(p)) != 0) {
    return parse_tensor_repr(p, n, name, tail);
  }
  if (c == '"') {
    const char *s;
    QG_TRY(parse_string_literal(p, &s));
    return qg_node_set_s(n, name, s);
  }
  if (c == '[' || c == '<') {
    const char *what = qg__lex_at_word(&p->lx, "<Graph>") ? "<Graph>" : NULL;
    if (!what && p->lx.len - p->lx.pos >= 10 && memcmp(p->lx.text + p->lx.pos, "[<Graphs>]", 10) == 0) what = "[<Graphs>]";
    if (what) {
      /* Only a Subgraph's value is printed (as a `with` section); other graphs are not. */
      return qg__lex_error(&p->lx, QG_STATUS_UNSUPPORTED, "graph attribute '%s' is printed as %s, without its value",
                           qg_sym_str(name), what);
    }
  }
  if (c == '[') return parse_list(p, n, name);
  if (c == '{') return parse_scalar_tensor(p, n, name);
  if (c == '<') {
    if (!qg__lex_accept(&p->lx, "<Tensor>")) return qg__lex_expected(&p->lx, "'<Tensor>'");
    return set_placeholder_tensor(n, name);
  }
  if (c == '(') {
    return qg__lex_error(&p->lx, QG_STATUS_UNSUPPORTED, "tuple constants are not supported");
  }
  if (at_bool_word(p, &bv)) {
    qg__lex_advance(&p->lx, bv ? 4 : 5);
    return qg_node_set_i(n, name, bv);
  }
  if (qg__lex_at_word(&p->lx, "annotate")) {
    return parse_annotated_empty_list(p, n, name);
  }
  int f, im;
  if (qg__lex_number(&p->lx, &f, &im) > 0) {
    number num;
    QG_TRY(parse_number(p, &num));
    if (num.is_complex) return qg_node_set_c(n, name, num.is_float || num.i ? num.f : 0.0, num.im);
    if (num.is_float) return qg_node_set_f(n, name, num.f);
    return qg_node_set_i(n, name, num.i);
  }
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
    const qg_type_t *t;
    QG_TRY(parse_type(p, &t));
    return qg_node_set_ty(n, name, t);
  }
  return qg__lex_expected(&p->lx, "an attribute value");
}

static qg_status parse_attrs(parser *p, qg_node_t *n) {
  QG_TRY(qg__lex_expect(&p->lx, "[", 0));
  for (;;) {
    qg__lex_skip_blank(&p->lx);
    size_t at, len = qg__lex_ident(&p->lx, &at);
    if (len == 0) return qg__lex_expected(&p->lx, "an attribute name");
    qg_sym_t name;
    QG_TRY(qg_sym_internn(p->lx.text + at, len, &name));
    if (qg_node_attr(n, name)) {
      return qg__lex_error_at(&p->lx, at, QG_STATUS_PARSE, "duplicate attribute '%.*s'", (int)len, p->lx.text + at);
    }
    QG_TRY(qg__lex_expect(&p->lx, "=", 0));
    QG_TRY(parse_attr_value(p, n, name));
    qg__lex_skip_blank(&p->lx);
    if (qg__lex_accept(&p->lx, "]")) return QG_OK;
    if (!qg__lex_accept(&p->lx, ",")) return qg__lex_expected(&p->lx, "',' or ']'");
  }
}

/* ---- nodes and blocks ------------------------------------------------------------------ */

static qg_status parse_node(parser *p, qg_block_t *b);

/* "blockN(" at pos? Sets *index. */
static int at_block_header(parser *p, long *index) {
  if (p->lx.len - p->lx.pos < 6 || memcmp(p->lx.text + p->lx.pos, "block", 5) != 0) return 0;
  size_t i = p->lx.pos + 5;
  long v = 0;
  size_t d0 = i;
  while (i < p->lx.len && p->lx.text[i] >= '0' && p->lx.text[i] <= '9' && i - d0 < 9) v = v * 10 + (p->lx.text[i++] - '0');
  if (i == d0 || i >= p->lx.len || p->lx.text[i] != '(') return 0;
  *index = v;
  return 1;
}

/* Statements of a block up to its `-> (...)`. */
static qg_status parse_block_body(parser *p, qg_block_t *b, long index) {
  for (;;) {
    qg__lex_skip_ws(&p->lx);
    long other;
    if (qg__lex_eof(&p->lx)) {
      return qg__lex_error(&p->lx, QG_STATUS_PARSE, "unterminated block%ld: expected '->' but found end of input",
                           index);
    }
    if (qg__lex_accept(&p->lx, "->")) {
      qg__lex_skip_blank(&p->lx);
      QG_TRY(parse_output_list(p, b));
      return expect_eol(p);
    }
    if (qg__lex_at_word(&p->lx, "return")) {
      return qg__lex_error(&p->lx, QG_STATUS_PARSE, "expected '->' to end block%ld but found 'return'", index);
    }
    if (at_block_header(p, &other)) {
      return qg__lex_error(&p->lx, QG_STATUS_PARSE, "expected '->' to end block%ld but found 'block%ld'", index,
                           other);
    }
    QG_TRY(parse_node(p, b));
  }
}

static qg_status parse_blocks(parser *p, qg_node_t *n) {
  for (long k = 0;; k++) {
    size_t save_pos = p->lx.pos, save_ls = p->lx.line_start;
    int save_line = p->lx.line;
    qg__lex_skip_ws(&p->lx);
    long index;
    /* A header numbered other than block0 right after a node is not this node's (the
     * enclosing block or graph reports it). */
    if (!at_block_header(p, &index) || (k == 0 && index != 0)) {
      /* Not a block: leave the position for the next statement. */
      p->lx.pos = save_pos;
      p->lx.line = save_line;
      p->lx.line_start = save_ls;
      return QG_OK;
    }
    if (index != k) return qg__lex_error(&p->lx, QG_STATUS_PARSE, "expected block%ld but found block%ld", k, index);
    if (p->depth >= MAX_BLOCK_DEPTH) return qg__lex_error(&p->lx, QG_STATUS_PARSE, "blocks nested too deeply");
    qg__lex_advance(&p->lx, 5);
    while (qg__lex_peek(&p->lx, 0) != '(') qg__lex_advance(&p->lx, 1);
    qg_block_t *b;
    QG_TRY(qg_node_add_block(n, &b));
    size_t mark = p->defined.len;
    QG_TRY(parse_params(p, add_block_input, b));
    QG_TRY(qg__lex_expect(&p->lx, ":", 0));
    QG_TRY(expect_eol(p));
    p->depth++;
    QG_TRY(parse_block_body(p, b, k));
    p->depth--;
    close_scope(p, mark);
  }
}

static qg_status check_block_arity(parser *p, qg_node_t *n, size_t at) {
  long want = n->kind == QG_SYM_prim_If ? 2 : n->kind == QG_SYM_prim_Loop ? 1 : -1;
  if (want >= 0 && (long)n->nblocks != want) {
    return qg__lex_error_at(&p->lx, at, QG_STATUS_PARSE, "%s needs exactly %ld block%s but has %u",
                            qg_sym_str(n->kind), want, want == 1 ? "" : "s", n->nblocks);
  }
  return QG_OK;
}

/* For an op name part "fork_12" (after "ns::"): the length of "fork" if it ends in "_N" with N
 * a decimal number without leading zeros (a group number, Note [Subgraph sections]), else 0. */
static size_t group_base_len(const char *name, size_t n) {
  size_t d = n;
  while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9') d--;
  size_t digits = n - d;
  if (digits == 0 || digits > 9 || d < 2 || name[d - 1] != '_') return 0;
  if (digits > 1 && name[d] == '0') return 0;
  return d - 1;
}

/* One node line (outputs, op, attributes, inputs, scope, source comment) and its blocks. */
static qg_status parse_node(parser *p, qg_block_t *b) {
  size_t node_at = p->lx.pos;
  int line = p->lx.line;
  p->outs.len = 0;
  if (qg__lex_peek(&p->lx, 0) == '%') {
    for (;;) {
      pending_out o;
      QG_TRY(parse_value_ref_name(p, &o.name_at, &o.name_len));
      o.type = qg_type_tensor();
      qg__lex_skip_blank(&p->lx);
      if (qg__lex_accept(&p->lx, ":")) {
        qg__lex_skip_blank(&p->lx);
        QG_TRY(parse_type(p, &o.type));
      }
      if (QG_VEC_PUSH(&p->outs, o) != 0) return qg_oom("graph parser outputs");
      qg__lex_skip_blank(&p->lx);
      if (!qg__lex_accept(&p->lx, ",")) break;
      qg__lex_skip_blank(&p->lx);
    }
  } else if (qg__lex_peek(&p->lx, 0) != '=') {
    return qg__lex_expected(&p->lx, "a node, '->' or 'return'");
  }
  QG_TRY(qg__lex_expect(&p->lx, "=", 0));
  qg__lex_skip_blank(&p->lx);

  /* The operator: ns::name. */
  size_t op_at = p->lx.pos, ns_at, nm_at;
  size_t ns_len = qg__lex_ident(&p->lx, &ns_at);
  if (ns_len == 0) return qg__lex_expected(&p->lx, "an operator name (ns::name)");
  if (!qg__lex_accept(&p->lx, "::")) return qg__lex_expected(&p->lx, "'::' in the operator name");
  size_t nm_len = qg__lex_ident(&p->lx, &nm_at);
  if (nm_len == 0) return qg__lex_expected(&p->lx, "an operator name after '::'");
  size_t op_len = p->lx.pos - op_at;
  qg_sym_t kind;
  QG_TRY(qg_sym_internn(p->lx.text + op_at, op_len, &kind));
  size_t base_len = group_base_len(p->lx.text + nm_at, nm_len);
  int is_group = base_len > 0 && !qg_op_is_known(kind);
  if (is_group) {
    base_len += (size_t)(nm_at - op_at);
    QG_TRY(qg_sym_internn(p->lx.text + op_at, base_len, &kind));
    for (size_t i = 0; i < p->groups.len; i++) {
      const group_ref *r = &p->groups.data[i];
      if (r->name_len == op_len && memcmp(p->lx.text + r->name_at, p->lx.text + op_at, op_len) == 0)
        return qg__lex_error_at(&p->lx, op_at, QG_STATUS_PARSE, "subgraph node '%.*s' appears twice (first at line %d)",
                                (int)op_len, p->lx.text + op_at, r->node->line);
    }
  }
  if (!p->opts->allow_unknown_ops && !qg_op_is_known(kind)) {
    size_t shown = is_group ? base_len : op_len;
    return qg__lex_error_at(&p->lx, op_at, QG_STATUS_UNKNOWN_OP, "unknown operator '%.*s'", (int)shown,
                            p->lx.text + op_at);
  }

  qg_node_t *n;
  QG_TRY(qg_node_create(p->g, kind, p->outs.len, &n));
  qg_node_insert_before(n, b->ret);
  n->line = line;
  if (is_group && QG_VEC_PUSH(&p->groups, ((group_ref){op_at, op_len, n, 0})) != 0)
    return qg_oom("graph parser subgraph list");
  for (size_t i = 0; i < p->outs.len; i++) {
    qg_value_set_type(n->outputs[i], p->outs.data[i].type);
    QG_TRY(define_value(p, n->outputs[i], p->outs.data[i].name_at, p->outs.data[i].name_len));
  }

  if (qg__lex_peek(&p->lx, 0) == '[') QG_TRY(parse_attrs(p, n));
  QG_TRY(qg__lex_expect(&p->lx, "(", 0));
  qg__lex_skip_ws(&p->lx);
  if (!qg__lex_accept(&p->lx, ")")) {
    for (;;) {
      qg__lex_skip_ws(&p->lx);
      qg_value_t *v;
      QG_TRY(parse_use(p, &v));
      QG_TRY(qg_node_add_input(n, v));
      qg__lex_skip_ws(&p->lx);
      if (qg__lex_accept(&p->lx, ")")) break;
      if (!qg__lex_accept(&p->lx, ",")) return qg__lex_expected(&p->lx, "',' or ')'");
    }
  }

  /* ", scope: a/b.c" then " # file:line:col", both to the end of the line. */
  qg__lex_skip_blank(&p->lx);
  if (qg__lex_accept(&p->lx, ",")) {
    QG_TRY(qg__lex_expect(&p->lx, "scope:", 0));
    qg__lex_skip_blank(&p->lx);
    size_t s0 = p->lx.pos, s1 = s0;
    while (s1 < p->lx.len && p->lx.text[s1] != '\n' && !(p->lx.text[s1] == '#' && s1 > s0 && p->lx.text[s1 - 1] == ' '))
      s1++;
    p->lx.pos = s1;
    while (s1 > s0 && (p->lx.text[s1 - 1] == ' ' || p->lx.text[s1 - 1] == '\t' || p->lx.text[s1 - 1] == '\r')) s1--;
    if (s1 == s0) return qg__lex_expected(&p->lx, "a scope name");
    n->scope = qg_graph_strdup(p->g, p->lx.text + s0, s1 - s0);
    if (!n->scope) return qg_oom("node scope");
  }
  qg__lex_skip_blank(&p->lx);
  if (qg__lex_peek(&p->lx, 0) == '#') {
    size_t c0 = p->lx.pos + 1, c1;
    if (c0 < p->lx.len && p->lx.text[c0] == ' ') c0++;
    c1 = c0;
    while (c1 < p->lx.len && p->lx.text[c1] != '\n') c1++;
    p->lx.pos = c1;
    while (c1 > c0 && (p->lx.text[c1 - 1] == ' ' || p->lx.text[c1 - 1] == '\t' || p->lx.text[c1 - 1] == '\r')) c1--;
    n->source.comment = qg_graph_strdup(p->g, p->lx.text + c0, c1 - c0);
    if (!n->source.comment) return qg_oom("node source comment");
  }
  QG_TRY(expect_eol(p));

  QG_TRY(parse_blocks(p, n));
  QG_TRY(check_block_arity(p, n, node_at));
  for (uint32_t i = 0; i < n->noutputs; i++) QG_TRY(make_visible(p, n->outputs[i]));
  return QG_OK;
}

/* ---- graphs ---------------------------------------------------------------------------- */

static qg_status parse_graph(parser *p, size_t *end);

static void parser_free(parser *p) {
  qg_hashmap_free(&p->all);
  qg_hashmap_free(&p->visible);
  QG_VEC_FREE(&p->defined);
  QG_VEC_FREE(&p->outs);
  QG_VEC_FREE(&p->groups);
  qg__free(p->scratch);
}

/* Note [Value names]: names like "%37" are kept, so values created later must not get unique
 * 37 (they would print the same). */
static void finish_names(parser *p) {
  if (p->g->next_unique < p->next_numeric) p->g->next_unique = p->next_numeric;
}

/* The subgraph of a `with` section, from "graph(" on, with a parser of its own that continues
 * from (and then hands back) p's position. */
static qg_status parse_subgraph(parser *p, qg_graph_t **out) {
  *out = NULL;
  if (p->depth >= MAX_BLOCK_DEPTH) return qg__lex_error(&p->lx, QG_STATUS_PARSE, "subgraphs nested too deeply");
  parser sub;
  memset(&sub, 0, sizeof sub);
  sub.opts = p->opts;
  sub.lx = p->lx;
  sub.cu = p->cu;
  sub.depth = p->depth + 1;
  sub.nested = 1;
  sub.subgraph = p->subgraph;
  qg_status st = qg_graph_create(p->cu, &sub.g);
  if (st == QG_OK) {
    size_t stop;
    st = parse_graph(&sub, &stop);
    p->lx = sub.lx;
  }
  if (st == QG_OK) {
    finish_names(&sub);
    *out = sub.g;
  } else {
    qg_graph_destroy(sub.g);
  }
  parser_free(&sub);
  return st;
}

static group_ref *find_group(parser *p, size_t at, size_t n) {
  for (size_t i = 0; i < p->groups.len; i++) {
    group_ref *r = &p->groups.data[i];
    if (r->name_len == n && memcmp(p->lx.text + r->name_at, p->lx.text + at, n) == 0) return r;
  }
  return NULL;
}

/* `with ns::name_N = graph(...)` sections after the return line (Note [Subgraph sections]). A
 * subgraph's parser stops once each of its groups has a section (what follows belongs to the
 * enclosing graph); the outermost one reads every section that follows. */
static qg_status parse_sections(parser *p) {
  size_t pending = p->groups.len;
  for (;;) {
    if (p->nested && pending == 0) break;
    size_t save_pos = p->lx.pos, save_ls = p->lx.line_start;
    int save_line = p->lx.line;
    qg__lex_skip_ws(&p->lx);
    if (!qg__lex_at_word(&p->lx, "with")) {
      p->lx.pos = save_pos;
      p->lx.line = save_line;
      p->lx.line_start = save_ls;
      break;
    }
    int line = p->lx.line;
    qg__lex_advance(&p->lx, 4);
    qg__lex_skip_blank(&p->lx);
    size_t name_at = p->lx.pos, a, b;
    if (qg__lex_ident(&p->lx, &a) == 0 || !qg__lex_accept(&p->lx, "::") || qg__lex_ident(&p->lx, &b) == 0) {
      p->lx.pos = name_at;
      return qg__lex_expected(&p->lx, "a node kind after 'with' (as in 'with prim::fork_0 = graph(...)')");
    }
    size_t name_len = p->lx.pos - name_at;
    group_ref *r = find_group(p, name_at, name_len);
    if (!r) {
      return qg__lex_error_at(&p->lx, name_at, QG_STATUS_PARSE, "'with %.*s' names no node: the %sgraph has no node %.*s",
                              (int)name_len, p->lx.text + name_at, p->nested ? "sub" : "", (int)name_len,
                              p->lx.text + name_at);
    }
    if (r->section_line) {
      return qg__lex_error_at(&p->lx, name_at, QG_STATUS_PARSE, "duplicate 'with %.*s' section (the first is at line %d)",
                              (int)name_len, p->lx.text + name_at, r->section_line);
    }
    qg_node_t *node = r->node;
    qg__lex_skip_blank(&p->lx);
    QG_TRY(qg__lex_expect(&p->lx, "=", 0));
    qg__lex_skip_blank(&p->lx);
    if (!qg__lex_at_word(&p->lx, "graph")) return qg__lex_expected(&p->lx, "'graph('");
    qg_graph_t *sub;
    QG_TRY(parse_subgraph(p, &sub));
    qg_status st = qg_node_set_g_owned(node, p->subgraph, sub);
    if (st != QG_OK) {
      qg_graph_destroy(sub);
      return st;
    }
    r->section_line = line;
    pending--;
  }
  for (size_t i = 0; i < p->groups.len; i++) {
    const group_ref *r = &p->groups.data[i];
    if (!r->section_line) {
      return qg__lex_error_at(&p->lx, r->name_at, QG_STATUS_PARSE,
                              "node %.*s has no 'with %.*s = graph(...)' section after the return line",
                              (int)r->name_len, p->lx.text + r->name_at, (int)r->name_len, p->lx.text + r->name_at);
    }
  }
  return QG_OK;
}

static qg_status parse_graph(parser *p, size_t *end) {
  qg__lex_skip_ws(&p->lx);
  if (!qg__lex_at_word(&p->lx, "graph")) return qg__lex_expected(&p->lx, "'graph('");
  qg__lex_advance(&p->lx, 5);
  QG_TRY(parse_params(p, add_graph_input, p->g));
  QG_TRY(qg__lex_expect(&p->lx, ":", 0));
  QG_TRY(expect_eol(p));
  qg_block_t *top = qg_graph_block(p->g);
  for (;;) {
    qg__lex_skip_ws(&p->lx);
    long index;
    if (qg__lex_eof(&p->lx)) return qg__lex_expected(&p->lx, "'return'");
    if (qg__lex_at_word(&p->lx, "return")) {
      qg__lex_advance(&p->lx, 6);
      qg__lex_skip_blank(&p->lx);
      QG_TRY(parse_output_list(p, top));
      QG_TRY(expect_eol(p));
      /* Stop just past this line. */
      while (!qg__lex_eof(&p->lx) && qg__lex_peek(&p->lx, 0) != '\n') p->lx.pos++; /* a comment */
      if (!qg__lex_eof(&p->lx)) qg__lex_advance(&p->lx, 1);
      QG_TRY(parse_sections(p));
      *end = p->lx.pos;
      return QG_OK;
    }
    if (qg__lex_peek(&p->lx, 0) == '-' && qg__lex_peek(&p->lx, 1) == '>') {
      return qg__lex_error(&p->lx, QG_STATUS_PARSE, "'->' outside of a block");
    }
    if (at_block_header(p, &index)) {
      return qg__lex_error(&p->lx, QG_STATUS_PARSE,
                           "unexpected block%ld (a block must follow its node, numbered from block0)", index);
    }
    QG_TRY(parse_node(p, top));
  }
}

static qg_status parse_impl(const char *text, size_t len, size_t start, const qg_parse_opts *opts, qg_graph_t **out,
                            size_t *end, int whole) {
  static const qg_parse_opts default_opts = {0};
  *out = NULL;
  if (!text) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "qg_graph_parse: text is NULL");
  if (!opts) opts = &default_opts;
  if (!opts->allow_unknown_ops) QG_TRY(qg_op_registry_init());
  parser p;
  memset(&p, 0, sizeof p);
  p.opts = opts;
  qg__lex_init_hint(&p.lx, text, len, start, opts->filename, opts->hint_offset, opts->hint_line);
  qg_status st = qg_sym_subgraph(&p.subgraph);
  if (st == QG_OK) st = qg_graph_create(opts->cu, &p.g);
  if (st == QG_OK) {
    p.cu = qg_graph_cu(p.g);
    size_t stop = 0;
    st = parse_graph(&p, &stop);
    if (st == QG_OK && whole) {
      qg__lex_skip_ws(&p.lx);
      if (!qg__lex_eof(&p.lx)) st = qg__lex_expected(&p.lx, "end of input after the graph");
    }
    if (st == QG_OK && end) *end = stop;
  }
  if (st == QG_OK) finish_names(&p);
  else qg_graph_destroy(p.g);
  qg_graph_t *g = p.g;
  parser_free(&p);
  if (st != QG_OK) return st;
  *out = g;
  return QG_OK;
}

qg_status qg_graph_parse(const char *text, size_t len, const qg_parse_opts *opts, qg_graph_t **out) {
  return parse_impl(text, len, 0, opts, out, NULL, 1);
}

qg_status qg_graph_parse_at(const char *text, size_t len, size_t start, const qg_parse_opts *opts, qg_graph_t **out,
                            size_t *end) {
  return parse_impl(text, len, start, opts, out, end, 0);
}
