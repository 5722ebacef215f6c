/* Module text: parser and canonical printer (docs/formats.md). */
#include "module/module_text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hashmap.h"
#include "ir/ir.h"
#include "ir/schema.h"
#include "ir/text.h"

/* ======================================================================================== */
/* Parsing                                                                                   */
/* ======================================================================================== */

typedef struct parser {
  const char *text;
  size_t len, pos;
  const qg_module_text_opts *opts;
  const char *file;
  qg_cu_t *cu;
  qg_hashmap declared; /* names whose declaration the main pass has read */
  /* Line checkpoint: text[mark_off] starts line mark_line. Advanced monotonically so that the
   * line of each method graph is found without rescanning the text from the beginning. */
  size_t mark_off;
  int mark_line;
} parser;

/* Moves the checkpoint to the start of the line containing `off` (off >= checkpoint). */
static void advance_mark(parser *p, size_t off) {
  if (p->mark_line == 0) {
    p->mark_line = 1;
    p->mark_off = 0;
  }
  if (off < p->mark_off) return;
  for (size_t i = p->mark_off; i < off && i < p->len; i++) {
    if (p->text[i] == '\n') {
      p->mark_line++;
      p->mark_off = i + 1;
    }
  }
}

static void position(const parser *p, size_t off, int *line, int *col) {
  int l = 1, c = 1;
  for (size_t i = 0; i < off && i < p->len; i++) {
    if (p->text[i] == '\n') {
      l++;
      c = 1;
    } else {
      c++;
    }
  }
  *line = l;
  *col = c;
}

static qg_status error_at(const parser *p, size_t off, qg_status s, const char *fmt, ...) QG_PRINTF(4, 5);
static qg_status error_at(const parser *p, size_t off, qg_status s, const char *fmt, ...) {
  char why[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  int line, col;
  position(p, off, &line, &col);
  return qg_set_error(s, "%s:%d:%d: %s", p->file, line, col, why);
}

/* Adds "FILE:LINE:COL" in front of an error reported by another parser (types). */
static qg_status prefix_at(const parser *p, size_t off, qg_status s) {
  if (s == QG_STATUS_OOM) return s;
  int line, col;
  position(p, off, &line, &col);
  return qg_error_prefix(s, "%s:%d:%d", p->file, line, col);
}

static int at_end(const parser *p) { return p->pos >= p->len; }
static char peek(const parser *p) { return p->pos < p->len ? p->text[p->pos] : '\0'; }

/* Skips blanks, newlines and `#` comments. */
static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    char c = p->text[p->pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      p->pos++;
    } else if (c == '#') {
      while (p->pos < p->len && p->text[p->pos] != '\n') p->pos++;
    } else {
      break;
    }
  }
}

/* Skips blanks on the current line only. */
static void skip_blanks(parser *p) {
  while (p->pos < p->len && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' || p->text[p->pos] == '\r')) p->pos++;
}

static int is_name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }
static int is_qual_char(char c) { return is_name_char(c) || c == '.'; }

/* A word of name characters ([A-Za-z0-9_]); qualified allows dots. Returns its length (0 if
 * none) and leaves p after it. */
static size_t scan_word(parser *p, int qualified, size_t *start) {
  *start = p->pos;
  while (p->pos < p->len && (qualified ? is_qual_char(p->text[p->pos]) : is_name_char(p->text[p->pos]))) p->pos++;
  return p->pos - *start;
}

static int word_is(const parser *p, size_t start, size_t n, const char *w) {
  return strlen(w) == n && memcmp(p->text + start, w, n) == 0;
}

static qg_status expect_char(parser *p, char c, const char *what) {
  skip_ws(p);
  if (peek(p) != c) {
    if (at_end(p)) return error_at(p, p->pos, QG_STATUS_PARSE, "expected '%c' %s, got end of text", c, what);
    return error_at(p, p->pos, QG_STATUS_PARSE, "expected '%c' %s, got '%c'", c, what, peek(p));
  }
  p->pos++;
  return QG_OK;
}

/* Reads a word into a new string (qg__free). */
static qg_status read_word(parser *p, int qualified, const char *what, char **out) {
  skip_ws(p);
  size_t start, n = scan_word(p, qualified, &start);
  if (n == 0) {
    if (at_end(p)) return error_at(p, p->pos, QG_STATUS_PARSE, "expected %s, got end of text", what);
    return error_at(p, p->pos, QG_STATUS_PARSE, "expected %s, got '%c'", what, peek(p));
  }
  *out = qg__strndup(p->text + start, n);
  return *out ? QG_OK : qg_oom("module text");
}

/* ---- pre-scan ------------------------------------------------------------------------ */

/* Graphs may name classes declared later in the file, so every class and interface is
 * created before anything is parsed. Declarations are the lines that start (after blanks)
 * with `class`, `module class` or `interface`: graph text never starts a line that way. */
static qg_status prescan(parser *p) {
  size_t i = 0;
  while (i < p->len) {
    while (i < p->len && (p->text[i] == ' ' || p->text[i] == '\t')) i++;
    const char *s = p->text + i;
    size_t rest = p->len - i;
    int kind = -1; /* 0 class, 1 module class, 2 interface */
    size_t skip = 0;
    if (rest > 6 && memcmp(s, "class", 5) == 0 && (s[5] == ' ' || s[5] == '\t')) kind = 0, skip = 5;
    else if (rest > 13 && memcmp(s, "module", 6) == 0 && (s[6] == ' ' || s[6] == '\t')) {
      size_t k = 6;
      while (k < rest && (s[k] == ' ' || s[k] == '\t')) k++;
      if (rest - k > 6 && memcmp(s + k, "class", 5) == 0 && (s[k + 5] == ' ' || s[k + 5] == '\t')) kind = 1, skip = k + 5;
    } else if (rest > 10 && memcmp(s, "interface", 9) == 0 && (s[9] == ' ' || s[9] == '\t'))
      kind = 2, skip = 9;
    if (kind >= 0) {
      size_t k = i + skip;
      while (k < p->len && (p->text[k] == ' ' || p->text[k] == '\t')) k++;
      size_t ns = k;
      while (k < p->len && is_qual_char(p->text[k])) k++;
      if (k > ns) {
        char *name = qg__strndup(p->text + ns, k - ns);
        if (!name) return qg_oom("module text");
        qg_status st = QG_OK;
        if (qg_cu_find(p->cu, name)) {
          st = error_at(p, ns, QG_STATUS_PARSE, "'%s' is declared twice", name);
        } else if (kind == 2) {
          qg_type_t *t;
          st = qg_cu_define_interface(p->cu, name, &t);
        } else {
          qg_type_t *t;
          st = qg_cu_define_class(p->cu, name, kind == 1, &t);
        }
        if (st != QG_OK && st != QG_STATUS_OOM && st != QG_STATUS_PARSE) st = prefix_at(p, ns, st);
        qg__free(name);
        if (st != QG_OK) return st;
      }
    }
    while (i < p->len && p->text[i] != '\n') i++;
    i++;
  }
  return QG_OK;
}

/* ---- declarations ---------------------------------------------------------------------- */

static qg_status mark_declared(parser *p, size_t at, const qg_type_t *t, const char *what) {
  if (qg_hashmap_get(&p->declared, t->qualname))
    return error_at(p, at, QG_STATUS_PARSE, "%s '%s' is declared twice", what, t->qualname);
  if (qg_hashmap_put(&p->declared, t->qualname, (void *)t)) return qg_oom("module text");
  return QG_OK;
}

/* Parses `graph(...)` starting at the current position (after blanks). */
static qg_status parse_graph(parser *p, qg_graph_t **g) {
  skip_ws(p);
  if (p->len - p->pos < 6 || memcmp(p->text + p->pos, "graph(", 6) != 0)
    return error_at(p, p->pos, QG_STATUS_PARSE, "expected 'graph(' after '='");
  qg_parse_opts po = {0};
  po.cu = p->cu;
  po.filename = p->file;
  po.allow_unknown_ops = p->opts->allow_unknown_ops;
  po.no_unknown_classes = 1;
  advance_mark(p, p->pos);
  po.hint_offset = p->mark_off;
  po.hint_line = p->mark_line;
  size_t end = p->pos;
  QG_TRY(qg_graph_parse_at(p->text, p->len, p->pos, &po, g, &end));
  p->pos = end;
  return QG_OK;
}

/* End of the current line's content: the newline or a `#` comment. */
static size_t content_end(const parser *p) {
  size_t e = p->pos;
  while (e < p->len && p->text[e] != '\n' && p->text[e] != '#') e++;
  return e;
}

static qg_status parse_string(parser *p, char **out, size_t *out_len);

/* A slot name: a plain word, or a quoted string for names PyTorch allows but the word syntax
 * does not (qparam attributes such as "x.2_scale_0"). */
static qg_status read_slot_name(parser *p, const char *what, char **out) {
  skip_ws(p);
  if (peek(p) != '"') return read_word(p, 0, what, out);
  size_t len = 0;
  QG_TRY(parse_string(p, out, &len));
  if (len == 0 || strlen(*out) != len) {
    qg__free(*out);
    *out = NULL;
    return error_at(p, p->pos, QG_STATUS_PARSE, "a slot name must be a non-empty string without NUL bytes");
  }
  return QG_OK;
}

/* The printed form of a slot name (see read_slot_name). */
static void print_slot_name(qg_strbuf *out, const char *name) {
  int plain = name[0] != 0 && !(name[0] >= '0' && name[0] <= '9');
  for (const char *c = name; plain && *c; c++) plain = is_name_char(*c);
  if (plain) qg_strbuf_append(out, name);
  else qg_strbuf_append_quoted(out, name);
}

static qg_status parse_slot_decl(parser *p, qg_type_t *cls, qg_slot_kind kind) {
  char *name = NULL;
  skip_ws(p);
  size_t name_at = p->pos;
  QG_TRY(read_slot_name(p, "a slot name", &name));
  qg_status s = expect_char(p, ':', "after the slot name");
  if (s == QG_OK) {
    skip_blanks(p);
    size_t type_at = p->pos, end = content_end(p), used = 0;
    const qg_type_t *ty = NULL;
    qg_type_parse_opts to = {0};
    s = qg_type_parse(p->cu, p->text + type_at, end - type_at, &to, &ty, &used);
    if (s != QG_OK) {
      s = prefix_at(p, type_at, s);
    } else {
      p->pos = type_at + used;
      skip_blanks(p);
      if (p->pos < end)
        s = error_at(p, p->pos, QG_STATUS_PARSE, "unexpected text after the type of slot '%s'", name);
      else if (qg_class_find_slot(cls, name) >= 0)
        s = error_at(p, name_at, QG_STATUS_PARSE, "slot '%s' is declared twice in class %s", name, cls->qualname);
      else
        s = qg_class_add_slot(cls, name, ty, kind);
      if (kind != QG_SLOT_ATTRIBUTE) cls->is_module = 1;
    }
  }
  qg__free(name);
  return s;
}

static qg_status parse_string(parser *p, char **out, size_t *out_len);

/* ---- tensor constants (docs/formats.md, "Tensor constants") ---------------------------- */

/* The tensor-valued prim::Constant nodes of a graph in the order the format numbers them:
 * pre-order over the top block, each node before its blocks (in order), then the graphs of its
 * graph attributes (in attribute order), each walked the same way. */
typedef struct tconsts {
  qg_node_t **nodes;
  size_t n, cap;
} tconsts;

static qg_sym_t sym_value(void) { return qg_sym_lookup("value"); }

static const qg_attr *tensor_constant_attr(const qg_node_t *n) {
  if (n->kind != QG_SYM_prim_Constant) return NULL;
  const qg_attr *a = qg_node_attr(n, sym_value());
  return a && a->kind == QG_ATTR_TENSOR ? a : NULL;
}

static qg_status collect_graph(const qg_graph_t *g, tconsts *tc);

static qg_status collect_block(const qg_block_t *b, tconsts *tc) {
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    if (tensor_constant_attr(n)) {
      if (tc->n == tc->cap) {
        size_t cap = tc->cap ? tc->cap * 2 : 16;
        qg_node_t **nn = qg__realloc(tc->nodes, cap * sizeof *nn);
        if (!nn) return qg_oom("tensor constants");
        tc->nodes = nn;
        tc->cap = cap;
      }
      tc->nodes[tc->n++] = n;
    }
    for (uint32_t k = 0; k < n->nblocks; k++) QG_TRY(collect_block(n->blocks[k], tc));
    for (uint32_t k = 0; k < n->nattrs; k++) {
      const qg_attr *a = &n->attrs[k];
      if (a->kind == QG_ATTR_GRAPH && a->g) QG_TRY(collect_graph(a->g, tc));
      if (a->kind == QG_ATTR_GRAPHS)
        for (size_t j = 0; j < a->n; j++) QG_TRY(collect_graph(a->gs[j], tc));
    }
  }
  return QG_OK;
}

static qg_status collect_graph(const qg_graph_t *g, tconsts *tc) { return collect_block(qg_graph_block(g), tc); }

/* The dims of a detailed tensor type when all are known, else -1. */
static int type_sizes(const qg_type_t *t, int64_t *sizes) {
  if (!t || t->kind != QG_TYPE_TENSOR_DETAILED || t->tensor.ndim < 0 || t->tensor.ndim > QG_MAX_DIMS) return -1;
  for (int k = 0; k < t->tensor.ndim; k++) {
    if (t->tensor.sizes[k] < 0) return -1;
    sizes[k] = t->tensor.sizes[k];
  }
  return t->tensor.ndim;
}

static void describe_shape(qg_strbuf *b, int ndim, const int64_t *shape) {
  qg_strbuf_putc(b, '[');
  for (int k = 0; k < ndim; k++) qg_strbuf_printf(b, k ? ", %lld" : "%lld", (long long)shape[k]);
  qg_strbuf_putc(b, ']');
}

/* What the graph text says about constant n, checked against the bundle tensor t:
 *   `<Tensor>` (parsed as an empty placeholder): more than 10 elements (PyTorch prints fewer
 *     inline); dtype and sizes of the output type where it gives them;
 *   `{x}`: one element; the output type's dtype and sizes where given;
 *   ATen's inline repr (2..10 elements): exactly its dtype and shape.
 * The values themselves are not compared: the text keeps only 4 decimals. */
static qg_status check_constant(const parser *p, size_t at, const qg_node_t *n, const qg_tensor *t, size_t idx,
                                const char *name) {
  const qg_tensor *old = tensor_constant_attr(n)->t;
  const qg_type_t *ty = n->noutputs == 1 ? n->outputs[0]->type : NULL;
  int64_t numel = qg_tensor_numel(t), onumel = qg_tensor_numel(old);
  int64_t sizes[QG_MAX_DIMS];
  int tnd = type_sizes(ty, sizes);
  qg_strbuf why = QG_STRBUF_INIT;
  const int type_dtype = ty && ty->kind == QG_TYPE_TENSOR_DETAILED && ty->tensor.has_dtype;
  if (qg_dtype_info(t->dtype)->is_quantized && !t->quantizer) {
    qg_strbuf_append(&why, "is quantized but has no quantizer (its quantgraph.quant metadata is missing)");
  } else if (type_dtype && qg_dtype_info(ty->tensor.dtype)->is_quantized && ty->tensor.dtype != t->dtype) {
    /* before the <Tensor> size rule: a quantized constant prints <Tensor> at any size */
    qg_strbuf_printf(&why, "has dtype %s, but its type is %s", qg_dtype_info(t->dtype)->name, ty->str);
  } else if (onumel == 0 && numel <= 10 && !qg_dtype_info(t->dtype)->is_quantized) { /* quantized: always <Tensor> */
    qg_strbuf_printf(&why, "has %lld element(s), but the graph prints it as <Tensor> (more than 10)", (long long)numel);
  } else if (onumel == 1 && numel != 1) {
    qg_strbuf_printf(&why, "has %lld elements, but the graph prints one ({...})", (long long)numel);
  } else if (onumel > 1 && (t->dtype != old->dtype || t->ndim != old->ndim ||
                            memcmp(t->shape, old->shape, (size_t)t->ndim * sizeof t->shape[0]) != 0)) {
    qg_strbuf_printf(&why, "is %s ", qg_dtype_info(t->dtype)->name);
    describe_shape(&why, t->ndim, t->shape);
    qg_strbuf_printf(&why, ", but the graph prints a %s ", qg_dtype_info(old->dtype)->name);
    describe_shape(&why, old->ndim, old->shape);
  } else if (type_dtype && ty->tensor.dtype != t->dtype) {
    qg_strbuf_printf(&why, "has dtype %s, but its type is %s", qg_dtype_info(t->dtype)->name, ty->str);
  } else if (tnd >= 0 && (tnd != t->ndim || memcmp(sizes, t->shape, (size_t)tnd * sizeof sizes[0]) != 0)) {
    qg_strbuf_append(&why, "has shape ");
    describe_shape(&why, t->ndim, t->shape);
    qg_strbuf_printf(&why, ", but its type is %s", ty->str);
  }
  qg_status s = qg_strbuf_ok(&why);
  if (s == QG_OK && why.len) {
    qg_strbuf v = QG_STRBUF_INIT;
    qg_value_print_name(n->outputs[0], &v);
    s = qg_strbuf_ok(&v);
    if (s == QG_OK)
      s = error_at(p, at, QG_STATUS_TYPE, "tensor \"%s\" for constant %zu (%%%s, graph line %d) %s", name, idx,
                   qg_strbuf_cstr(&v), n->line, qg_strbuf_cstr(&why));
    qg_strbuf_free(&v);
  }
  qg_strbuf_free(&why);
  return s;
}

/* After a method or function graph: an optional `constants = [tensor "NAME", ...]` line that
 * gives the data of the graph's tensor constants, in collect order. Each tensor replaces the
 * value parsed from the text (which is a placeholder or only 4 decimals precise). */
static qg_status parse_constants(parser *p, qg_graph_t *g, const char *what) {
  skip_ws(p);
  size_t line_at = p->pos, ws, n = scan_word(p, 0, &ws);
  if (!word_is(p, ws, n, "constants")) {
    p->pos = line_at;
    return QG_OK;
  }
  QG_TRY(expect_char(p, '=', "after 'constants'"));
  QG_TRY(expect_char(p, '[', "to open the constants list"));
  tconsts tc = {0};
  qg_status s = collect_graph(g, &tc);
  size_t i = 0;
  int closed = 0;
  while (s == QG_OK) {
    skip_ws(p);
    if (peek(p) == ']') {
      p->pos++;
      closed = 1;
      break;
    }
    if (i > 0) {
      if (peek(p) != ',') {
        s = at_end(p) ? error_at(p, line_at, QG_STATUS_PARSE, "unexpected end of text: the constants list is not closed")
                      : error_at(p, p->pos, QG_STATUS_PARSE, "expected ',' or ']' in the constants list");
        break;
      }
      p->pos++;
      skip_ws(p);
    }
    size_t at = p->pos, kw, kn = scan_word(p, 0, &kw);
    if (!word_is(p, kw, kn, "tensor")) {
      s = error_at(p, at, QG_STATUS_PARSE, "expected 'tensor \"NAME\"' in the constants list");
      break;
    }
    skip_blanks(p);
    char *name = NULL;
    size_t nlen;
    if ((s = parse_string(p, &name, &nlen)) != QG_OK) break;
    qg_tensor *t = NULL;
    if (i >= tc.n) {
      s = error_at(p, at, QG_STATUS_TYPE, "%s has %zu tensor constant(s), but the constants list gives more", what,
                   tc.n);
    } else if (!p->opts->lookup) {
      s = error_at(p, at, QG_STATUS_NOT_FOUND, "tensor \"%s\": no tensor storage was given to the parser", name);
    } else {
      s = p->opts->lookup(p->opts->lookup_ud, name, &t);
      if (s == QG_STATUS_NOT_FOUND) s = error_at(p, at, s, "tensor \"%s\" is not in the bundle", name);
      else if (s != QG_OK) s = prefix_at(p, at, s);
    }
    if (s == QG_OK) s = check_constant(p, at, tc.nodes[i], t, i, name);
    if (s == QG_OK) s = qg_node_set_t(tc.nodes[i], sym_value(), t);
    qg_tensor_release(t);
    qg__free(name);
    i++;
  }
  if (s == QG_OK && closed && i != tc.n)
    s = error_at(p, line_at, QG_STATUS_TYPE, "%s has %zu tensor constant(s), but the constants list gives %zu", what,
                 tc.n, i);
  qg__free(tc.nodes);
  return s;
}

/* After a method or function graph (and its constants line): an optional
 * `signature = "NAME(ARGS) -> RET"` line, the TorchScript schema with argument defaults
 * (str(method.schema)). It must parse as a schema and have one argument per graph input; the
 * interpreter fills omitted trailing arguments from its defaults. Stored in m->signature. */
static qg_status parse_signature(parser *p, qg_method *m, const char *what) {
  skip_ws(p);
  size_t line_at = p->pos, ws, n = scan_word(p, 0, &ws);
  if (!word_is(p, ws, n, "signature")) {
    p->pos = line_at;
    return QG_OK;
  }
  QG_TRY(expect_char(p, '=', "after 'signature'"));
  skip_blanks(p);
  size_t at = p->pos, len;
  char *text = NULL;
  QG_TRY(parse_string(p, &text, &len));
  /* A scratch unit: class names in the signature (self's class) must not add opaque classes
   * to the module's unit. */
  qg_cu_t *scratch = NULL;
  qg_schema_t *schema = NULL;
  qg_status s = qg_cu_create(&scratch);
  if (s == QG_OK && strlen(text) != len)
    s = error_at(p, at, QG_STATUS_PARSE, "the signature of %s contains a NUL character", what);
  if (s == QG_OK) {
    s = qg_schema_parse(scratch, text, &schema);
    if (s != QG_OK && s != QG_STATUS_OOM) {
      s = qg_error_prefix(s, "the signature of %s", what);
      s = prefix_at(p, at, s);
    }
  }
  if (s == QG_OK && (schema->is_vararg || schema->nargs != qg_graph_ninputs(m->graph)))
    s = error_at(p, at, QG_STATUS_TYPE, "the signature of %s has %zu argument%s%s, but its graph has %zu input%s",
                 what, schema->nargs, schema->nargs == 1 ? "" : "s", schema->is_vararg ? " and '...'" : "",
                 qg_graph_ninputs(m->graph), qg_graph_ninputs(m->graph) == 1 ? "" : "s");
  if (s == QG_OK) {
    skip_ws(p);
    size_t next = p->pos, w2, n2 = scan_word(p, 0, &w2);
    if (word_is(p, w2, n2, "signature")) s = error_at(p, next, QG_STATUS_PARSE, "%s has two signature lines", what);
    p->pos = next;
  }
  if (s == QG_OK) {
    qg__free(m->signature);
    m->signature = text;
    text = NULL;
  }
  qg_schema_free(schema);
  qg_cu_release(scratch);
  qg__free(text);
  return s;
}

/* `NAME(ARGS) -> RET` up to the end of the line (interface methods and `native method`s):
 * declares it on t with add(t, NAME, whole signature). */
static qg_status parse_method_signature(parser *p, qg_type_t *t,
                                        qg_status (*add)(qg_type_t *, const char *, const char *)) {
  skip_blanks(p);
  size_t sig = p->pos, end = content_end(p), mn = sig;
  while (mn < end && is_name_char(p->text[mn])) mn++;
  if (mn == sig || mn >= end || p->text[mn] != '(')
    return error_at(p, sig, QG_STATUS_PARSE, "expected a method signature 'NAME(ARGS) -> RET'");
  while (end > sig && (p->text[end - 1] == ' ' || p->text[end - 1] == '\t' || p->text[end - 1] == '\r')) end--;
  char *mname = qg__strndup(p->text + sig, mn - sig);
  char *schema = qg__strndup(p->text + sig, end - sig);
  qg_status s = QG_OK;
  if (!mname || !schema) s = qg_oom("module text");
  else if (qg_class_find_method(t, mname))
    s = error_at(p, sig, QG_STATUS_PARSE, "method '%s' is declared twice in %s", mname, t->qualname);
  else s = add(t, mname, schema);
  qg__free(mname);
  qg__free(schema);
  QG_TRY(s);
  p->pos = end;
  return QG_OK;
}

static qg_status parse_class(parser *p, size_t decl_at) {
  char *name = NULL;
  QG_TRY(read_word(p, 1, "a class name", &name));
  qg_type_t *cls = qg_cu_find(p->cu, name);
  qg__free(name);
  QG_ASSERT(cls); /* the pre-scan declared it */
  QG_TRY(mark_declared(p, decl_at, cls, "class"));
  QG_TRY(expect_char(p, '{', "to open the class body"));
  size_t open_at = p->pos - 1;
  for (;;) {
    skip_ws(p);
    if (at_end(p))
      return error_at(p, open_at, QG_STATUS_PARSE, "unexpected end of text: '{' of class %s is not closed",
                      cls->qualname);
    if (peek(p) == '}') {
      p->pos++;
      return QG_OK;
    }
    size_t at, n = scan_word(p, 0, &at);
    if (word_is(p, at, n, "parameter")) QG_TRY(parse_slot_decl(p, cls, QG_SLOT_PARAMETER));
    else if (word_is(p, at, n, "buffer")) QG_TRY(parse_slot_decl(p, cls, QG_SLOT_BUFFER));
    else if (word_is(p, at, n, "module")) QG_TRY(parse_slot_decl(p, cls, QG_SLOT_MODULE));
    else if (word_is(p, at, n, "attribute")) QG_TRY(parse_slot_decl(p, cls, QG_SLOT_ATTRIBUTE));
    else if (word_is(p, at, n, "native")) {
      skip_blanks(p);
      size_t mat, mn = scan_word(p, 0, &mat);
      if (!word_is(p, mat, mn, "method"))
        return error_at(p, mat, QG_STATUS_PARSE, "expected 'method' after 'native' in class %s", cls->qualname);
      QG_TRY(parse_method_signature(p, cls, qg_class_add_native_method));
    } else if (word_is(p, at, n, "method")) {
      char *mname = NULL;
      skip_ws(p);
      size_t mat = p->pos;
      QG_TRY(read_word(p, 0, "a method name", &mname));
      qg_status s = expect_char(p, '=', "after the method name");
      qg_graph_t *g = NULL;
      if (s == QG_OK && qg_class_find_method(cls, mname))
        s = error_at(p, mat, QG_STATUS_PARSE, "method '%s' is declared twice in class %s", mname, cls->qualname);
      if (s == QG_OK) s = parse_graph(p, &g);
      if (s == QG_OK) s = qg_class_add_method(cls, mname, g);
      if (s == QG_OK) {
        char what[512];
        snprintf(what, sizeof what, "method %s of class %s", mname, cls->qualname);
        s = parse_constants(p, qg_class_find_method(cls, mname)->graph, what);
        if (s == QG_OK) s = parse_signature(p, qg_class_find_method(cls, mname), what);
      }
      qg__free(mname);
      QG_TRY(s);
    } else {
      return error_at(p, at, QG_STATUS_PARSE,
                      "expected 'parameter', 'buffer', 'module', 'attribute', 'method', 'native method' or '}' in class %s",
                      cls->qualname);
    }
  }
}

static qg_status parse_interface(parser *p, size_t decl_at) {
  char *name = NULL;
  QG_TRY(read_word(p, 1, "an interface name", &name));
  qg_type_t *it = qg_cu_find(p->cu, name);
  qg__free(name);
  QG_ASSERT(it);
  QG_TRY(mark_declared(p, decl_at, it, "interface"));
  QG_TRY(expect_char(p, '{', "to open the interface body"));
  size_t open_at = p->pos - 1;
  for (;;) {
    skip_ws(p);
    if (at_end(p))
      return error_at(p, open_at, QG_STATUS_PARSE, "unexpected end of text: '{' of interface %s is not closed",
                      it->qualname);
    if (peek(p) == '}') {
      p->pos++;
      return QG_OK;
    }
    size_t at, n = scan_word(p, 0, &at);
    if (!word_is(p, at, n, "method"))
      return error_at(p, at, QG_STATUS_PARSE, "expected 'method' or '}' in interface %s", it->qualname);
    QG_TRY(parse_method_signature(p, it, qg_interface_add_method));
  }
}

static qg_status parse_function(parser *p) {
  char *name = NULL;
  skip_ws(p);
  size_t at = p->pos;
  QG_TRY(read_word(p, 1, "a function name", &name));
  qg_status s = QG_OK;
  if (qg_cu_find(p->cu, name)) s = error_at(p, at, QG_STATUS_PARSE, "'%s' is declared twice", name);
  if (s == QG_OK) s = expect_char(p, '=', "after the function name");
  qg_graph_t *g = NULL;
  if (s == QG_OK) s = parse_graph(p, &g);
  qg_type_t *fn;
  if (s == QG_OK) s = qg_cu_define_function(p->cu, name, g, &fn);
  if (s == QG_OK) {
    char what[512];
    snprintf(what, sizeof what, "function %s", name);
    s = parse_constants(p, fn->methods[0].graph, what);
    if (s == QG_OK) s = parse_signature(p, &fn->methods[0], what);
  }
  qg__free(name);
  return s;
}

/* ---- values ---------------------------------------------------------------------------- */

static qg_status parse_value(parser *p, qg_ival *out);

static qg_status parse_string(parser *p, char **out, size_t *out_len) {
  size_t at = p->pos;
  if (peek(p) != '"') return error_at(p, p->pos, QG_STATUS_PARSE, "expected a string in double quotes");
  p->pos++;
  qg_strbuf b = QG_STRBUF_INIT;
  for (;;) {
    if (at_end(p) || peek(p) == '\n') {
      qg_strbuf_free(&b);
      return error_at(p, at, QG_STATUS_PARSE, "unterminated string");
    }
    char c = p->text[p->pos++];
    if (c == '"') break;
    if (c != '\\') {
      qg_strbuf_putc(&b, c);
      continue;
    }
    char e = peek(p);
    p->pos++;
    switch (e) {
    case 'n': qg_strbuf_putc(&b, '\n'); break;
    case 't': qg_strbuf_putc(&b, '\t'); break;
    case 'r': qg_strbuf_putc(&b, '\r'); break;
    case '0': qg_strbuf_putc(&b, '\0'); break;
    case '"': case '\\': case '\'': qg_strbuf_putc(&b, e); break;
    case 'x': {
      int v = 0, k = 0;
      while (k < 2 && isxdigit((unsigned char)peek(p))) {
        char h = p->text[p->pos++];
        v = v * 16 + (isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
        k++;
      }
      if (k == 0) {
        qg_strbuf_free(&b);
        return error_at(p, p->pos - 2, QG_STATUS_PARSE, "'\\x' needs hex digits");
      }
      qg_strbuf_putc(&b, (char)v);
      break;
    }
    default:
      qg_strbuf_free(&b);
      return error_at(p, p->pos - 2, QG_STATUS_PARSE, "unknown escape '\\%c' in string", e ? e : '?');
    }
  }
  qg_status ok = qg_strbuf_ok(&b);
  if (ok != QG_OK) {
    qg_strbuf_free(&b);
    return ok;
  }
  *out_len = b.len;
  if (b.len == 0) {
    qg_strbuf_free(&b);
    *out = qg__strdup("");
    return *out ? QG_OK : qg_oom("module text");
  }
  *out = qg_strbuf_detach(&b);
  return QG_OK;
}

static qg_status parse_number(parser *p, qg_ival *out) {
  size_t at = p->pos, e = p->pos;
  while (e < p->len && (isalnum((unsigned char)p->text[e]) || strchr(".+-", p->text[e]))) e++;
  size_t n = e - at;
  char buf[64];
  if (n == 0 || n >= sizeof buf) return error_at(p, at, QG_STATUS_PARSE, "malformed number");
  memcpy(buf, p->text + at, n);
  buf[n] = '\0';
  p->pos = e;
  const char *digits = buf + (buf[0] == '-' || buf[0] == '+');
  if (strcmp(digits, "inf") == 0 || strcmp(digits, "nan") == 0) {
    double d = digits[0] == 'i' ? INFINITY : NAN;
    *out = qg_ival_double(buf[0] == '-' ? -d : d);
    return QG_OK;
  }
  char *end = NULL;
  errno = 0;
  if (strpbrk(buf, ".eE")) {
    double d = strtod(buf, &end);
    if (*end || end == buf) return error_at(p, at, QG_STATUS_PARSE, "malformed float '%s'", buf);
    *out = qg_ival_double(d);
    return QG_OK;
  }
  long long v = strtoll(buf, &end, 10);
  if (*end || end == buf) return error_at(p, at, QG_STATUS_PARSE, "malformed integer '%s'", buf);
  if (errno == ERANGE) return error_at(p, at, QG_STATUS_PARSE, "integer '%s' does not fit in 64 bits", buf);
  *out = qg_ival_int(v);
  return QG_OK;
}

static qg_status parse_device(const char *s, qg_device *d) {
  if (strcmp(s, "cpu") == 0) {
    *d = (qg_device){QG_DEVICE_CPU, -1};
    return QG_OK;
  }
  if (strncmp(s, "cuda", 4) == 0) {
    if (s[4] == '\0') {
      *d = (qg_device){QG_DEVICE_CUDA, -1};
      return QG_OK;
    }
    if (s[4] == ':' && isdigit((unsigned char)s[5])) {
      char *end;
      long v = strtol(s + 5, &end, 10);
      if (*end == '\0' && v < 1 << 20) {
        *d = (qg_device){QG_DEVICE_CUDA, (int)v};
        return QG_OK;
      }
    }
  }
  return QG_STATUS_PARSE;
}

/* `{ slot = value ... }` for class cls; the '{' is next. */
static qg_status parse_object_body(parser *p, const qg_type_t *cls, size_t type_at, qg_ival *out) {
  QG_TRY(expect_char(p, '{', "to open the object"));
  size_t open_at = p->pos - 1;
  qg_ival obj;
  QG_TRY(qg_ival_object_new(cls, &obj));
  size_t *given = qg__calloc(cls->nslots ? cls->nslots : 1, sizeof *given); /* 1 + offset of the first value */
  if (!given) {
    qg_ival_release(&obj);
    return qg_oom("module text");
  }
  qg_status s = QG_OK;
  char *name = NULL;
  for (;;) {
    skip_ws(p);
    if (at_end(p)) {
      s = error_at(p, open_at, QG_STATUS_PARSE, "unexpected end of text: '{' of this %s object is not closed",
                   cls->qualname);
      break;
    }
    if (peek(p) == '}') {
      for (size_t i = 0; i < cls->nslots && s == QG_OK; i++) {
        if (given[i]) continue;
        int ol, oc; /* computed only on error: it rescans the text */
        position(p, type_at, &ol, &oc);
        s = error_at(p, p->pos, QG_STATUS_PARSE, "the %s object opened at %d:%d does not give slot '%s'",
                     cls->qualname, ol, oc, cls->slots[i].name);
      }
      p->pos++;
      break;
    }
    size_t name_at = p->pos;
    if ((s = read_slot_name(p, "a slot name or '}'", &name)) != QG_OK) break;
    long idx = qg_class_find_slot(cls, name);
    if (idx < 0) {
      s = error_at(p, name_at, QG_STATUS_TYPE, "class %s has no slot '%s'", cls->qualname, name);
      break;
    }
    if (given[idx]) {
      int l, c;
      position(p, given[idx] - 1, &l, &c);
      s = error_at(p, name_at, QG_STATUS_PARSE, "slot '%s' is given twice (first at %d:%d)", name, l, c);
      break;
    }
    given[idx] = name_at + 1;
    if ((s = expect_char(p, '=', "after the slot name")) != QG_OK) break;
    skip_ws(p);
    size_t value_at = p->pos;
    qg_ival v;
    if ((s = parse_value(p, &v)) != QG_OK) break;
    const qg_type_t *ty = cls->slots[idx].type;
    if (!qg_ival_fits_type(&v, ty)) {
      qg_strbuf d = QG_STRBUF_INIT;
      qg_ival_describe(&v, &d);
      s = qg_strbuf_ok(&d);
      if (s == QG_OK)
        s = error_at(p, value_at, QG_STATUS_TYPE, "value %.200s (a %s) does not fit slot '%s' of type %s",
                     qg_strbuf_cstr(&d), qg_ival_kind_name(v.kind), name, ty->str);
      qg_strbuf_free(&d);
      qg_ival_release(&v);
      break;
    }
    /* An int literal in a float slot is the float it denotes. */
    const qg_type_t *base = ty->kind == QG_TYPE_OPTIONAL ? ty->elems[0] : ty;
    if (v.kind == QG_IVAL_INT && base->kind == QG_TYPE_FLOAT) v = qg_ival_double((double)v.u.i);
    if ((v.kind == QG_IVAL_LIST && base->kind == QG_TYPE_LIST) || (v.kind == QG_IVAL_TUPLE && base->kind == QG_TYPE_TUPLE))
      v.u.list->type = base;
    if (v.kind == QG_IVAL_DICT && base->kind == QG_TYPE_DICT) v.u.dict->type = base;
    qg_ival_object_set(&obj, (size_t)idx, v);
    qg__free(name);
    name = NULL;
  }
  qg__free(name);
  qg__free(given);
  if (s != QG_OK) {
    qg_ival_release(&obj);
    return s;
  }
  *out = obj;
  return QG_OK;
}

/* Items of a list, tuple or dict up to `close`. */
static qg_status parse_items(parser *p, qg_ival *coll, char close, int is_dict, int *trailing_comma) {
  size_t open_at = p->pos - 1;
  *trailing_comma = 0;
  for (;;) {
    skip_ws(p);
    if (at_end(p)) return error_at(p, open_at, QG_STATUS_PARSE, "unexpected end of text: '%c' is not closed", p->text[open_at]);
    if (peek(p) == close) {
      p->pos++;
      return QG_OK;
    }
    qg_ival k, v;
    QG_TRY(parse_value(p, &k));
    if (is_dict) {
      qg_status s = expect_char(p, ':', "between a dict key and its value");
      if (s == QG_OK) {
        skip_ws(p);
        s = parse_value(p, &v);
      }
      if (s != QG_OK) {
        qg_ival_release(&k);
        return s;
      }
      QG_TRY(qg_ival_dict_put(coll, k, v));
    } else {
      QG_TRY(qg_ival_list_push(coll, k));
    }
    skip_ws(p);
    *trailing_comma = 0;
    if (peek(p) == ',') {
      p->pos++;
      *trailing_comma = 1;
    } else if (peek(p) != close) {
      if (at_end(p)) return error_at(p, open_at, QG_STATUS_PARSE, "unexpected end of text: '%c' is not closed", p->text[open_at]);
      return error_at(p, p->pos, QG_STATUS_PARSE, "expected ',' or '%c', got '%c'", close, peek(p));
    }
  }
}

static qg_status parse_value(parser *p, qg_ival *out) {
  skip_ws(p);
  size_t at = p->pos;
  if (at_end(p)) return error_at(p, at, QG_STATUS_PARSE, "expected a value, got end of text");
  char c = peek(p);
  if (c == '[' || c == '(' || c == '{') {
    p->pos++;
    qg_ival coll;
    if (c == '{') QG_TRY(qg_ival_dict_new(&coll));
    else QG_TRY(qg_ival_list_new(c == '[' ? QG_IVAL_LIST : QG_IVAL_TUPLE, 0, &coll));
    int trailing = 0;
    qg_status s = parse_items(p, &coll, c == '[' ? ']' : c == '(' ? ')' : '}', c == '{', &trailing);
    if (s == QG_OK && c == '(' && coll.u.list->len == 1 && !trailing)
      s = error_at(p, at, QG_STATUS_PARSE, "a one-element tuple is written '(v,)'");
    if (s != QG_OK) {
      qg_ival_release(&coll);
      return s;
    }
    *out = coll;
    return QG_OK;
  }
  if (c == '"') {
    char *str;
    size_t n;
    QG_TRY(parse_string(p, &str, &n));
    qg_status s = qg_ival_string_new(str, n, out);
    qg__free(str);
    return s;
  }
  if (isdigit((unsigned char)c) || c == '-' || c == '+') return parse_number(p, out);
  size_t ws, n = scan_word(p, 1, &ws);
  if (n == 0) return error_at(p, at, QG_STATUS_PARSE, "expected a value, got '%c'", c);
  if (word_is(p, ws, n, "None")) return *out = qg_ival_none(), QG_OK;
  if (word_is(p, ws, n, "True")) return *out = qg_ival_bool(1), QG_OK;
  if (word_is(p, ws, n, "False")) return *out = qg_ival_bool(0), QG_OK;
  if (word_is(p, ws, n, "inf")) return *out = qg_ival_double(INFINITY), QG_OK;
  if (word_is(p, ws, n, "nan")) return *out = qg_ival_double(NAN), QG_OK;
  if (word_is(p, ws, n, "tensor") || word_is(p, ws, n, "device")) {
    int is_tensor = p->text[ws] == 't';
    skip_blanks(p);
    size_t sat = p->pos;
    char *str;
    size_t slen;
    QG_TRY(parse_string(p, &str, &slen));
    qg_status s = QG_OK;
    if (is_tensor) {
      qg_tensor *t = NULL;
      if (!p->opts->lookup) {
        s = error_at(p, sat, QG_STATUS_NOT_FOUND, "tensor \"%s\": no tensor storage was given to the parser", str);
      } else {
        s = p->opts->lookup(p->opts->lookup_ud, str, &t);
        if (s == QG_STATUS_NOT_FOUND) s = error_at(p, sat, s, "tensor \"%s\" is not in the bundle", str);
        else if (s != QG_OK) s = prefix_at(p, sat, s);
      }
      if (s == QG_OK) *out = qg_ival_tensor(t);
    } else {
      qg_device d;
      if (parse_device(str, &d) != QG_OK) s = error_at(p, sat, QG_STATUS_PARSE, "unknown device \"%s\"", str);
      else *out = qg_ival_device(d);
    }
    qg__free(str);
    return s;
  }
  /* A class name: a nested object. */
  char *name = qg__strndup(p->text + ws, n);
  if (!name) return qg_oom("module text");
  qg_type_t *cls = qg_cu_find(p->cu, name);
  qg_status s = QG_OK;
  if (!cls || cls->kind != QG_TYPE_CLASS)
    s = error_at(p, ws, QG_STATUS_TYPE, "unknown class '%s'", name);
  qg__free(name);
  QG_TRY(s);
  return parse_object_body(p, cls, ws, out);
}

static qg_status parse_root(parser *p, qg_ival *root) {
  skip_ws(p);
  size_t at = p->pos;
  char *name = NULL;
  QG_TRY(read_word(p, 1, "the root class name", &name));
  qg_type_t *cls = qg_cu_find(p->cu, name);
  qg_status s = QG_OK;
  if (!cls || cls->kind != QG_TYPE_CLASS) s = error_at(p, at, QG_STATUS_TYPE, "unknown class '%s'", name);
  qg__free(name);
  QG_TRY(s);
  return parse_object_body(p, cls, at, root);
}

static qg_status parse_module(parser *p, qg_ival *root) {
  static const char magic[] = "quantgraph module";
  skip_ws(p);
  if (p->len - p->pos < sizeof magic - 1 || memcmp(p->text + p->pos, magic, sizeof magic - 1) != 0)
    return error_at(p, p->pos, QG_STATUS_PARSE, "module text must start with 'quantgraph module 1'");
  p->pos += sizeof magic - 1;
  skip_blanks(p);
  size_t vat, vn = scan_word(p, 0, &vat);
  if (!word_is(p, vat, vn, "1"))
    return error_at(p, vat, QG_STATUS_PARSE, "unsupported module text version '%.*s' (this build reads 1)", (int)vn,
                    p->text + vat);
  QG_TRY(prescan(p));
  int have_root = 0;
  for (;;) {
    skip_ws(p);
    if (at_end(p)) break;
    size_t at, n = scan_word(p, 0, &at);
    if (word_is(p, at, n, "class")) {
      QG_TRY(parse_class(p, at));
    } else if (word_is(p, at, n, "module")) {
      skip_ws(p);
      size_t at2, n2 = scan_word(p, 0, &at2);
      if (!word_is(p, at2, n2, "class")) return error_at(p, at2, QG_STATUS_PARSE, "expected 'class' after 'module'");
      QG_TRY(parse_class(p, at));
    } else if (word_is(p, at, n, "interface")) {
      QG_TRY(parse_interface(p, at));
    } else if (word_is(p, at, n, "function")) {
      QG_TRY(parse_function(p));
    } else if (word_is(p, at, n, "root")) {
      if (have_root) return error_at(p, at, QG_STATUS_PARSE, "a second 'root' declaration");
      QG_TRY(parse_root(p, root));
      have_root = 1;
    } else if (peek(p) == '}' && n == 0) {
      return error_at(p, at, QG_STATUS_PARSE, "unbalanced '}'");
    } else {
      return error_at(p, at, QG_STATUS_PARSE, "expected 'class', 'module class', 'interface', 'function' or 'root'");
    }
  }
  if (!have_root) return error_at(p, p->pos, QG_STATUS_PARSE, "no 'root' declaration");
  return QG_OK;
}

qg_status qg_module_text_parse(const char *text, size_t len, const qg_module_text_opts *opts, qg_cu_t **cu_out,
                               qg_ival *root_out) {
  qg_module_text_opts defaults = {0};
  if (!opts) opts = &defaults;
  parser p = {0};
  p.text = text;
  p.len = len;
  p.opts = opts;
  p.file = opts->filename ? opts->filename : "<module>";
  p.declared = (qg_hashmap)QG_HASHMAP_INIT;
  QG_TRY(qg_cu_create(&p.cu));
  qg_ival root = qg_ival_none();
  qg_status s = parse_module(&p, &root);
  qg_hashmap_free(&p.declared);
  if (s != QG_OK) {
    /* Objects point at the unit's classes: release them first. */
    qg_ival_release(&root);
    qg_cu_release(p.cu);
    return s;
  }
  *cu_out = p.cu;
  *root_out = root;
  return QG_OK;
}

/* ======================================================================================== */
/* Printing                                                                                  */
/* ======================================================================================== */

void qg_tensor_names_free(qg_tensor_names *tn) {
  if (!tn) return;
  for (size_t i = 0; i < tn->n; i++) qg__free(tn->names[i]);
  qg__free(tn->names);
  qg__free(tn->tensors);
  *tn = (qg_tensor_names){0};
}

typedef struct printer {
  qg_strbuf *out;
  qg_tensor_names names;
  qg_tensor_names consts; /* tensor constants: always their own names (not shared with slots) */
  qg_strbuf path; /* dotted path of the value being printed */
  qg_status status;
} printer;

static void indent(printer *pr, int depth) {
  for (int i = 0; i < depth; i++) qg_strbuf_append(pr->out, "  ");
}

/* The name of tensor t: the first path where the printer met it. */
static const char *tensor_name(printer *pr, qg_tensor *t) {
  for (size_t i = 0; i < pr->names.n; i++)
    if (pr->names.tensors[i] == t) return pr->names.names[i];
  if (qg_strbuf_ok(&pr->path) != QG_OK) return NULL;
  if (pr->names.n == pr->names.cap) {
    size_t cap = pr->names.cap ? pr->names.cap * 2 : 16;
    char **nn = qg__realloc(pr->names.names, cap * sizeof *nn);
    if (!nn) return NULL;
    pr->names.names = nn;
    qg_tensor **nt = qg__realloc(pr->names.tensors, cap * sizeof *nt);
    if (!nt) return NULL;
    pr->names.tensors = nt;
    pr->names.cap = cap;
  }
  char *name = qg__strdup(qg_strbuf_cstr(&pr->path));
  if (!name) return NULL;
  pr->names.names[pr->names.n] = name;
  pr->names.tensors[pr->names.n++] = t;
  return name;
}

static void print_value(printer *pr, const qg_ival *v, int depth);

static void print_object_body(printer *pr, const qg_ival *v, int depth) {
  const qg_ival_object *o = v->u.obj;
  qg_strbuf_printf(pr->out, "%s {\n", o->type->qualname);
  for (size_t i = 0; i < o->nslots; i++) {
    size_t mark = pr->path.len;
    if (mark) qg_strbuf_putc(&pr->path, '.');
    qg_strbuf_append(&pr->path, o->type->slots[i].name);
    indent(pr, depth + 1);
    print_slot_name(pr->out, o->type->slots[i].name);
    qg_strbuf_append(pr->out, " = ");
    print_value(pr, &o->slots[i], depth + 1);
    qg_strbuf_putc(pr->out, '\n');
    pr->path.len = mark;
    if (pr->path.data) pr->path.data[mark] = '\0';
  }
  indent(pr, depth);
  qg_strbuf_putc(pr->out, '}');
}

static void print_items(printer *pr, const qg_ival *items, const qg_ival *keys, size_t n, int depth) {
  for (size_t i = 0; i < n; i++) {
    if (i) qg_strbuf_append(pr->out, ", ");
    if (keys) {
      print_value(pr, &keys[i], depth);
      qg_strbuf_append(pr->out, ": ");
    }
    /* Path of an item: its index, or for dict values the key (as the exporter names them). */
    size_t mark = pr->path.len;
    if (mark) qg_strbuf_putc(&pr->path, '.');
    if (keys && keys[i].kind == QG_IVAL_STRING) qg_strbuf_append(&pr->path, keys[i].u.str->data);
    else if (keys && keys[i].kind == QG_IVAL_INT) qg_strbuf_printf(&pr->path, "%lld", (long long)keys[i].u.i);
    else if (keys && keys[i].kind == QG_IVAL_BOOL) qg_strbuf_append(&pr->path, keys[i].u.b ? "True" : "False");
    else qg_strbuf_printf(&pr->path, "%zu", i);
    print_value(pr, &items[i], depth);
    pr->path.len = mark;
    if (pr->path.data) pr->path.data[mark] = '\0';
  }
}

static void print_value(printer *pr, const qg_ival *v, int depth) {
  switch (v->kind) {
  case QG_IVAL_NONE: qg_strbuf_append(pr->out, "None"); break;
  case QG_IVAL_BOOL: qg_strbuf_append(pr->out, v->u.b ? "True" : "False"); break;
  case QG_IVAL_INT: qg_strbuf_printf(pr->out, "%lld", (long long)v->u.i); break;
  case QG_IVAL_DOUBLE: qg_format_double(v->u.d, pr->out); break;
  case QG_IVAL_STRING:
    if (strlen(v->u.str->data) != v->u.str->len && pr->status == QG_OK)
      pr->status = qg_set_error(QG_STATUS_TYPE, "string value with an embedded NUL at %s cannot be written",
                                qg_strbuf_cstr(&pr->path));
    qg_strbuf_append_quoted(pr->out, v->u.str->data);
    break;
  case QG_IVAL_DEVICE:
    qg_strbuf_append(pr->out, "device \"");
    qg_strbuf_append(pr->out, v->u.device.kind == QG_DEVICE_CUDA ? "cuda" : "cpu");
    if (v->u.device.index >= 0) qg_strbuf_printf(pr->out, ":%d", v->u.device.index);
    qg_strbuf_putc(pr->out, '"');
    break;
  case QG_IVAL_TENSOR: {
    const char *name = tensor_name(pr, v->u.tensor);
    if (!name) {
      pr->out->oom = 1;
      break;
    }
    qg_strbuf_append(pr->out, "tensor ");
    qg_strbuf_append_quoted(pr->out, name);
    break;
  }
  case QG_IVAL_LIST:
    qg_strbuf_putc(pr->out, '[');
    print_items(pr, v->u.list->items, NULL, v->u.list->len, depth);
    qg_strbuf_putc(pr->out, ']');
    break;
  case QG_IVAL_TUPLE:
    qg_strbuf_putc(pr->out, '(');
    print_items(pr, v->u.list->items, NULL, v->u.list->len, depth);
    if (v->u.list->len == 1) qg_strbuf_putc(pr->out, ',');
    qg_strbuf_putc(pr->out, ')');
    break;
  case QG_IVAL_DICT:
    qg_strbuf_putc(pr->out, '{');
    print_items(pr, v->u.dict->values, v->u.dict->keys, v->u.dict->len, depth);
    qg_strbuf_putc(pr->out, '}');
    break;
  case QG_IVAL_OBJECT: print_object_body(pr, v, depth); break;
  default:
    if (pr->status == QG_OK)
      pr->status = qg_set_error(QG_STATUS_TYPE, "value of kind %s at %s cannot be written",
                                qg_ival_kind_name(v->kind), qg_strbuf_cstr(&pr->path));
  }
}

static void print_graph(printer *pr, const qg_graph_t *g) {
  qg_graph_print(g, NULL, pr->out);
}

static int names_push(qg_tensor_names *tn, char *name, qg_tensor *t) {
  if (tn->n == tn->cap) {
    size_t cap = tn->cap ? tn->cap * 2 : 16;
    char **nn = qg__realloc(tn->names, cap * sizeof *nn);
    if (!nn) return -1;
    tn->names = nn;
    qg_tensor **nt = qg__realloc(tn->tensors, cap * sizeof *nt);
    if (!nt) return -1;
    tn->tensors = nt;
    tn->cap = cap;
  }
  tn->names[tn->n] = name;
  tn->tensors[tn->n++] = t;
  return 0;
}

/* `  constants = [tensor "PREFIX.0", ...]` after a graph with tensor constants, naming the
 * tensors PREFIX.i. Not written when a constant is a `<Tensor>` placeholder (a text parsed
 * without its data): there is no data to store, and the graph keeps printing `<Tensor>`. */
static void print_constants(printer *pr, const qg_graph_t *g, const char *prefix) {
  tconsts tc = {0};
  qg_status s = collect_graph(g, &tc);
  if (s != QG_OK) {
    pr->out->oom = 1;
    return;
  }
  int complete = tc.n > 0;
  for (size_t i = 0; i < tc.n && complete; i++)
    if (qg_tensor_numel(tensor_constant_attr(tc.nodes[i])->t) == 0) complete = 0;
  if (complete) {
    qg_strbuf_append(pr->out, "  constants = [");
    for (size_t i = 0; i < tc.n; i++) {
      qg_strbuf name = QG_STRBUF_INIT;
      qg_strbuf_printf(&name, "%s.%zu", prefix, i);
      if (qg_strbuf_ok(&name) != QG_OK) {
        qg_strbuf_free(&name);
        pr->out->oom = 1;
        break;
      }
      char *owned = qg_strbuf_detach(&name);
      if (names_push(&pr->consts, owned, tensor_constant_attr(tc.nodes[i])->t) != 0) {
        qg__free(owned);
        pr->out->oom = 1;
        break;
      }
      qg_strbuf_append(pr->out, i ? ", tensor " : "tensor ");
      qg_strbuf_append_quoted(pr->out, owned);
    }
    qg_strbuf_append(pr->out, "]\n");
  }
  qg__free(tc.nodes);
}

/* `  signature = "..."` after a graph (and its constants line), when the method has one. */
static void print_signature(qg_strbuf *out, const qg_method *m) {
  if (!m->signature) return;
  qg_strbuf_append(out, "  signature = ");
  qg_strbuf_append_quoted(out, m->signature);
  qg_strbuf_putc(out, '\n');
}

/* Prints class t after every class its slot types name (declarations before use). */
static void print_class(printer *pr, const qg_type_t *t, qg_hashmap *done);

static void print_deps(printer *pr, const qg_type_t *ty, qg_hashmap *done) {
  if (ty->kind == QG_TYPE_CLASS) {
    print_class(pr, ty, done);
    return;
  }
  for (size_t i = 0; i < ty->nelems; i++) print_deps(pr, ty->elems[i], done);
}

static void print_class(printer *pr, const qg_type_t *t, qg_hashmap *done) {
  if (qg_hashmap_get(done, t->qualname)) return;
  if (qg_hashmap_put(done, t->qualname, (void *)t)) {
    pr->out->oom = 1;
    return;
  }
  for (size_t i = 0; i < t->nslots; i++) print_deps(pr, t->slots[i].type, done);
  qg_strbuf_printf(pr->out, "%sclass %s {\n", t->is_module ? "module " : "", t->qualname);
  for (size_t i = 0; i < t->nslots; i++)
  {
    qg_strbuf_printf(pr->out, "  %s ", qg_slot_kind_name(t->slots[i].kind));
    print_slot_name(pr->out, t->slots[i].name);
    qg_strbuf_printf(pr->out, " : %s\n", t->slots[i].type->str);
  }
  for (size_t i = 0; i < t->nmethods; i++) {
    if (t->methods[i].is_native) {
      qg_strbuf_printf(pr->out, "  native method %s\n", t->methods[i].signature);
      continue;
    }
    qg_strbuf_printf(pr->out, "  method %s = ", t->methods[i].name);
    print_graph(pr, t->methods[i].graph);
    qg_strbuf prefix = QG_STRBUF_INIT;
    qg_strbuf_printf(&prefix, "__constants__.%s.%s", t->qualname, t->methods[i].name);
    if (qg_strbuf_ok(&prefix) == QG_OK) print_constants(pr, t->methods[i].graph, qg_strbuf_cstr(&prefix));
    else pr->out->oom = 1;
    qg_strbuf_free(&prefix);
    print_signature(pr->out, &t->methods[i]);
  }
  qg_strbuf_append(pr->out, "}\n\n");
}

qg_status qg_module_text_print(const qg_cu_t *cu, const qg_ival *root, qg_strbuf *out, qg_tensor_names *names) {
  if (root->kind != QG_IVAL_OBJECT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "the root of a module must be an object, not %s",
                        qg_ival_kind_name(root->kind));
  printer pr = {out, {0}, {0}, QG_STRBUF_INIT, QG_OK};
  qg_hashmap done = QG_HASHMAP_INIT;
  qg_strbuf_append(out, "quantgraph module 1\n\n");
  size_t n = qg_cu_ntypes(cu);
  for (size_t i = 0; i < n; i++) {
    const qg_type_t *t = qg_cu_type_at(cu, i);
    if (t->kind != QG_TYPE_INTERFACE) continue;
    qg_strbuf_printf(out, "interface %s {\n", t->qualname);
    for (size_t k = 0; k < t->nmethods; k++) qg_strbuf_printf(out, "  method %s\n", t->methods[k].signature);
    qg_strbuf_append(out, "}\n\n");
  }
  for (size_t i = 0; i < n; i++) {
    const qg_type_t *t = qg_cu_type_at(cu, i);
    if (t->kind == QG_TYPE_CLASS) print_class(&pr, t, &done);
  }
  for (size_t i = 0; i < n; i++) {
    const qg_type_t *t = qg_cu_type_at(cu, i);
    if (t->kind != QG_TYPE_FUNCTION || t->nmethods == 0) continue;
    qg_strbuf_printf(out, "function %s = ", t->qualname);
    print_graph(&pr, t->methods[0].graph);
    qg_strbuf prefix = QG_STRBUF_INIT;
    qg_strbuf_printf(&prefix, "__constants__.%s", t->qualname);
    if (qg_strbuf_ok(&prefix) == QG_OK) print_constants(&pr, t->methods[0].graph, qg_strbuf_cstr(&prefix));
    else out->oom = 1;
    qg_strbuf_free(&prefix);
    print_signature(out, &t->methods[0]);
    qg_strbuf_putc(out, '\n');
  }
  qg_strbuf_append(out, "root ");
  print_object_body(&pr, root, 0);
  qg_strbuf_putc(out, '\n');
  qg_hashmap_free(&done);
  qg_status s = pr.status;
  if (s == QG_OK) s = qg_strbuf_ok(&pr.path);
  if (s == QG_OK) s = qg_strbuf_ok(out);
  qg_strbuf_free(&pr.path);
  /* Constants after the slot tensors (names are owned by the table). */
  for (size_t i = 0; i < pr.consts.n && s == QG_OK; i++) {
    if (names_push(&pr.names, pr.consts.names[i], pr.consts.tensors[i]) != 0) s = qg_oom("module text");
    else pr.consts.names[i] = NULL;
  }
  qg_tensor_names_free(&pr.consts);
  if (s == QG_OK && names) *names = pr.names;
  else qg_tensor_names_free(&pr.names);
  return s;
}
