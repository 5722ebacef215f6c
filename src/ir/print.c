/* The graph printer: byte for byte what PyTorch's `str(graph)` prints (torch/csrc/jit/ir/ir.cpp:
 * Graph::print, Node::print, printAttributes; c10 IValue::repr for constant values;
 * c10::printQuotedString for strings), `with KIND_N = graph(...)` subgraph sections included. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/text.h"
#include "ir/text_impl.h"

/* ---- scalars as PyTorch prints them ---------------------------------------------------- */

/* IValue::repr of a double: integral values below 1e10 print as "1." / "-0.", everything else
 * with max_digits10 (17) significant digits in the default float format (%g). */
void qg__print_double(qg_strbuf *b, double d) {
  int c = fpclassify(d);
  if ((c == FP_NORMAL || c == FP_ZERO) && fabs(d) < 1e10) {
    int64_t i = (int64_t)d;
    if ((double)i == d) {
      if (i == 0 && signbit(d)) qg_strbuf_append(b, "-0.");
      else qg_strbuf_printf(b, "%" PRId64 ".", i);
      return;
    }
  }
  qg_strbuf_printf(b, "%.17g", d);
}

/* IValue repr of a complex: real, then the sign of the imaginary part, |imag|, "j". */
static void print_complex(qg_strbuf *b, double re, double im) {
  qg__print_double(b, re);
  qg_strbuf_putc(b, im >= 0 ? '+' : '-');
  qg__print_double(b, fabs(im));
  qg_strbuf_putc(b, 'j');
}

/* c10::printQuotedString. Non-printable bytes become a backslash and three "digits" computed
 * from the byte as a signed char, exactly as c10 does (so bytes >= 0x80 print oddly, e.g.
 * "\0)+" for 0xC3; the lexer decodes that form back). */
void qg__print_quoted(qg_strbuf *b, const char *s, size_t n) {
  qg_strbuf_putc(b, '"');
  for (size_t k = 0; k < n; k++) {
    signed char c = (signed char)s[k];
    switch (c) {
      case '\\': qg_strbuf_append(b, "\\\\"); break;
      case '\'': qg_strbuf_append(b, "\\'"); break;
      case '"': qg_strbuf_append(b, "\\\""); break;
      case '\a': qg_strbuf_append(b, "\\a"); break;
      case '\b': qg_strbuf_append(b, "\\b"); break;
      case '\f': qg_strbuf_append(b, "\\f"); break;
      case '\n': qg_strbuf_append(b, "\\n"); break;
      case '\r': qg_strbuf_append(b, "\\r"); break;
      case '\t': qg_strbuf_append(b, "\\t"); break;
      case '\v': qg_strbuf_append(b, "\\v"); break;
      default:
        if (c > 0x1f && c < 0x7f) {
          qg_strbuf_putc(b, (char)c);
        } else {
          int v = c;
          char buf[5] = {'\\', '0', '0', '0', '\0'};
          buf[3] = (char)(buf[3] + v % 8);
          v /= 8;
          buf[2] = (char)(buf[2] + v % 8);
          v /= 8;
          buf[1] = (char)(buf[1] + v);
          qg_strbuf_append(b, buf);
        }
    }
  }
  qg_strbuf_putc(b, '"');
}

/* ---- tensors --------------------------------------------------------------------------- */

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float f;
  if (exp == 0) {
    f = ldexpf((float)man, -24);
  } else if (exp == 31) {
    f = man ? NAN : INFINITY;
  } else {
    f = ldexpf((float)(man | 0x400), (int)exp - 25);
  }
  return sign ? -f : f;
}

int qg__tensor_elem(const qg_tensor *t, int64_t i, double *d, int64_t *l) {
  const char *p = qg_tensor_data(t);
  if (!p) return -1;
  /* Element i of the tensor in row-major order, honouring strides. */
  int64_t off = 0, rem = i;
  for (int k = t->ndim - 1; k >= 0; k--) {
    int64_t idx = t->shape[k] ? rem % t->shape[k] : 0;
    rem = t->shape[k] ? rem / t->shape[k] : 0;
    off += idx * t->strides[k];
  }
  size_t es = qg_dtype_info(t->dtype)->size;
  p += off * (int64_t)es;
  *d = 0;
  *l = 0;
  switch (t->dtype) {
    case QG_DTYPE_F32: { float v; memcpy(&v, p, 4); *d = v; return 1; }
    case QG_DTYPE_F64: { double v; memcpy(&v, p, 8); *d = v; return 1; }
    case QG_DTYPE_F16: { uint16_t v; memcpy(&v, p, 2); *d = half_to_float(v); return 1; }
    case QG_DTYPE_BF16: {
      uint16_t v;
      memcpy(&v, p, 2);
      uint32_t u = (uint32_t)v << 16;
      float f;
      memcpy(&f, &u, 4);
      *d = f;
      return 1;
    }
    case QG_DTYPE_U8: *l = *(const uint8_t *)p; return 0;
    case QG_DTYPE_I8: *l = *(const int8_t *)p; return 0;
    case QG_DTYPE_BOOL: *l = *(const uint8_t *)p != 0; return 0;
    case QG_DTYPE_I16: { int16_t v; memcpy(&v, p, 2); *l = v; return 0; }
    case QG_DTYPE_I32: { int32_t v; memcpy(&v, p, 4); *l = v; return 0; }
    case QG_DTYPE_I64: { int64_t v; memcpy(&v, p, 8); *l = v; return 0; }
    default: return -1; /* quantized: not printed inline */
  }
}

/* ir.cpp printAttribute(at::Tensor): one element prints as a boxed scalar "{0.5}" (default
 * ostream precision, i.e. %g), more than max_tensor_display_size (10) as "<Tensor>", and
 * anything in between as ATen's tensor repr with newlines turned into spaces (tensor_repr.c). An
 * empty tensor is the parser's placeholder for "<Tensor>" (see text.h). */
static void print_tensor(qg_strbuf *b, const qg_tensor *t) {
  if (!t) {
    qg_strbuf_append(b, "<Tensor>");
    return;
  }
  int64_t numel = qg_tensor_numel(t);
  if (numel == 0) {
    qg_strbuf_append(b, "<Tensor>"); /* the parser's placeholder (text.h) */
    return;
  }
  if (numel == 1) {
    double d;
    int64_t l;
    int r = qg__tensor_elem(t, 0, &d, &l);
    if (r < 0) {
      qg_strbuf_append(b, "<Tensor>");
    } else if (r == 1) {
      qg_strbuf_printf(b, "{%g}", d);
    } else {
      qg_strbuf_printf(b, "{%" PRId64 "}", l);
    }
    return;
  }
  if (numel > 10 || qg__print_tensor_repr(b, t) != 0) qg_strbuf_append(b, "<Tensor>");
}

/* ---- attributes ------------------------------------------------------------------------ */

static int is_constant_value(const qg_node_t *n, const qg_attr *a) {
  return n->kind == QG_SYM_prim_Constant && a->name == qg_sym_lookup("value");
}

/* The element type of a list-typed single output, or NULL. */
static const qg_type_t *list_elem_type(const qg_node_t *n) {
  if (n->noutputs != 1 || !n->outputs[0]->type) return NULL;
  const qg_type_t *t = n->outputs[0]->type;
  return t->kind == QG_TYPE_LIST && t->nelems == 1 ? t->elems[0] : NULL;
}

/* Constant lists are IValues: an empty one prints with its type, "annotate(List[int], [])". */
static int open_list(qg_strbuf *b, const qg_node_t *n, const qg_attr *a, size_t count, const char *dflt) {
  if (count == 0 && is_constant_value(n, a)) {
    const qg_type_t *et = list_elem_type(n);
    qg_strbuf_append(b, "annotate(List[");
    qg_strbuf_append(b, et ? et->str : dflt);
    qg_strbuf_append(b, "], [])");
    return 0;
  }
  qg_strbuf_putc(b, '[');
  return 1;
}

static void print_attr_value(qg_strbuf *b, const qg_node_t *n, const qg_attr *a) {
  switch (a->kind) {
    case QG_ATTR_INT: qg_strbuf_printf(b, "%" PRId64, a->i); break;
    case QG_ATTR_FLOAT: qg__print_double(b, a->f); break;
    case QG_ATTR_COMPLEX: print_complex(b, a->f, a->f2); break;
    case QG_ATTR_STRING: qg__print_quoted(b, a->s ? a->s : "", a->s ? strlen(a->s) : 0); break;
    case QG_ATTR_TENSOR: print_tensor(b, a->t); break;
    case QG_ATTR_TYPE: qg_type_print(a->ty, b); break;
    case QG_ATTR_INTS: {
      /* Bool lists are stored as ints; a constant of type bool[] prints True/False. */
      const qg_type_t *et = list_elem_type(n);
      int as_bool = is_constant_value(n, a) && et && et->kind == QG_TYPE_BOOL;
      if (!open_list(b, n, a, a->n, as_bool ? "bool" : "int")) break;
      for (size_t k = 0; k < a->n; k++) {
        if (k) qg_strbuf_append(b, ", ");
        if (as_bool) qg_strbuf_append(b, a->is[k] ? "True" : "False");
        else qg_strbuf_printf(b, "%" PRId64, a->is[k]);
      }
      qg_strbuf_putc(b, ']');
      break;
    }
    case QG_ATTR_FLOATS:
      if (!open_list(b, n, a, a->n, "float")) break;
      for (size_t k = 0; k < a->n; k++) {
        if (k) qg_strbuf_append(b, ", ");
        qg__print_double(b, a->fs[k]);
      }
      qg_strbuf_putc(b, ']');
      break;
    case QG_ATTR_STRINGS:
      if (!open_list(b, n, a, a->n, "str")) break;
      for (size_t k = 0; k < a->n; k++) {
        if (k) qg_strbuf_append(b, ", ");
        qg__print_quoted(b, a->ss[k], strlen(a->ss[k]));
      }
      qg_strbuf_putc(b, ']');
      break;
    case QG_ATTR_TENSORS: qg_strbuf_append(b, "[<Tensors>]"); break;
    case QG_ATTR_GRAPH: qg_strbuf_append(b, "<Graph>"); break;
    case QG_ATTR_GRAPHS: qg_strbuf_append(b, "[<Graphs>]"); break;
    case QG_ATTR_TYPES:
      qg_strbuf_putc(b, '[');
      for (size_t k = 0; k < a->n; k++) {
        if (k) qg_strbuf_append(b, ", ");
        qg_type_print(a->tys[k], b);
      }
      qg_strbuf_putc(b, ']');
      break;
  }
}

/* ---- nodes and graphs ------------------------------------------------------------------ */

static void print_ref(qg_strbuf *b, const qg_value_t *v) {
  qg_strbuf_putc(b, '%');
  qg_value_print_name(v, b);
}

static void print_refs(qg_strbuf *b, qg_value_t *const *vs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (i) qg_strbuf_append(b, ", ");
    print_ref(b, vs[i]);
  }
}

static void print_typed(qg_strbuf *b, const qg_value_t *v) {
  print_ref(b, v);
  qg_strbuf_append(b, " : ");
  qg_type_print(v->type ? v->type : qg_type_tensor(), b);
}

static void indent(qg_strbuf *b, int level) {
  for (int i = 0; i < level; i++) qg_strbuf_append(b, "  ");
}

static void print_block_inputs(qg_strbuf *b, const qg_block_t *blk, const char *delim) {
  size_t n = qg_block_ninputs(blk);
  for (size_t i = 0; i < n; i++) {
    if (i) qg_strbuf_append(b, delim);
    print_typed(b, qg_block_input(blk, i));
  }
}

static void print_block_outputs(qg_strbuf *b, const qg_block_t *blk) {
  size_t n = qg_block_noutputs(blk);
  for (size_t i = 0; i < n; i++) {
    if (i) qg_strbuf_append(b, ", ");
    print_ref(b, qg_block_output(blk, i));
  }
}

/* The graph of n's `Subgraph` attribute when it is a graph: such a node prints as a group
 * (PyTorch's Node::print tests hasAttribute(attr::Subgraph)). NULL otherwise. */
static const qg_graph_t *group_subgraph(const qg_node_t *n, qg_sym_t subgraph) {
  if (subgraph == QG_SYM_NONE) return NULL;
  const qg_attr *a = qg_node_attr(n, subgraph);
  return a && a->kind == QG_ATTR_GRAPH ? a->g : NULL;
}

/* Printing state of one Graph::print call: the options, whether this graph is the one the
 * caller asked for (PyTorch's print_source_locations=false applies to its top-level nodes
 * only), the attr::Subgraph symbol, and the number of groups printed so far (the size of
 * Graph::print's `groups` vector; nested subgraphs start their own count). */
typedef struct printer {
  const qg_print_opts *o;
  int outermost;
  qg_sym_t subgraph;
  size_t groups;
} printer;

/* One node line. pr is NULL when printing a lone node (PyTorch's operator<<(Node), which has
 * no groups: a subgraph then prints as an ordinary attribute, `Subgraph=<Graph>`). */
static void print_line(const qg_node_t *n, printer *pr, int source, qg_strbuf *b) {
  const qg_print_opts *o = pr ? pr->o : NULL;
  for (uint32_t i = 0; i < n->noutputs; i++) {
    if (i) qg_strbuf_append(b, ", ");
    print_typed(b, n->outputs[i]);
  }
  qg_strbuf_append(b, " = ");
  qg_strbuf_append(b, qg_sym_str(n->kind));
  int group = pr && group_subgraph(n, pr->subgraph);
  if (group) qg_strbuf_printf(b, "_%zu", pr->groups++);
  /* A group prints its other attributes, except prim::DifferentiableGraph which prints none. */
  int print_attrs = group ? n->nattrs > 1 && n->kind != qg_sym_lookup("prim::DifferentiableGraph") : n->nattrs > 0;
  if (print_attrs) {
    qg_strbuf_putc(b, '[');
    int k = 0;
    for (uint32_t i = 0; i < n->nattrs; i++) {
      if (group && n->attrs[i].name == pr->subgraph) continue;
      if (k++) qg_strbuf_append(b, ", ");
      qg_strbuf_append(b, qg_sym_unqual(n->attrs[i].name));
      qg_strbuf_putc(b, '=');
      print_attr_value(b, n, &n->attrs[i]);
    }
    qg_strbuf_putc(b, ']');
  }
  qg_strbuf_putc(b, '(');
  print_refs(b, n->inputs, n->ninputs);
  qg_strbuf_putc(b, ')');
  if (!(o && o->no_scope) && n->scope && n->scope[0]) {
    qg_strbuf_append(b, ", scope: ");
    qg_strbuf_append(b, n->scope);
  }
  if (source && !(o && o->no_source) && n->source.comment) {
    qg_strbuf_append(b, " # ");
    qg_strbuf_append(b, n->source.comment);
  }
}

/* `level` 1 is a graph's top level. Nodes in blocks always get their source comment from
 * PyTorch (Node::print recurses with the default print_source_locations=true). */
static void print_node(const qg_node_t *n, int level, printer *pr, qg_strbuf *b) {
  indent(b, level);
  print_line(n, pr, !(level == 1 && pr->outermost && pr->o && pr->o->no_source_top), b);
  qg_strbuf_putc(b, '\n');
  for (uint32_t i = 0; i < n->nblocks; i++) {
    const qg_block_t *blk = n->blocks[i];
    indent(b, level + 1);
    qg_strbuf_printf(b, "block%u(", i);
    print_block_inputs(b, blk, ", ");
    qg_strbuf_append(b, "):\n");
    for (qg_node_t *m = qg_block_first(blk); m != blk->ret; m = m->next) print_node(m, level + 2, pr, b);
    indent(b, level + 2);
    qg_strbuf_append(b, "-> (");
    print_block_outputs(b, blk);
    qg_strbuf_append(b, ")\n");
  }
}

static void print_graph(const qg_graph_t *g, const qg_print_opts *o, int outermost, qg_strbuf *b);

/* The `with KIND_N = graph(...)` sections, in the order the groups were numbered (pre-order,
 * blocks included). Each subgraph is printed by a Graph::print of its own (operator<<): its
 * groups are numbered from 0 and its own sections follow its return line, before ours go on. */
static void print_sections(const qg_block_t *blk, printer *pr, size_t *next, qg_strbuf *b) {
  for (qg_node_t *n = qg_block_first(blk); n != blk->ret; n = n->next) {
    const qg_graph_t *sub = group_subgraph(n, pr->subgraph);
    if (sub) {
      qg_strbuf_printf(b, "with %s_%zu = ", qg_sym_str(n->kind), (*next)++);
      print_graph(sub, pr->o, 0, b);
    }
    for (uint32_t i = 0; i < n->nblocks; i++) print_sections(n->blocks[i], pr, next, b);
  }
}

static void print_graph(const qg_graph_t *g, const qg_print_opts *o, int outermost, qg_strbuf *b) {
  printer pr = {o, outermost, qg_sym_lookup("Subgraph"), 0};
  const qg_block_t *top = qg_graph_block(g);
  qg_strbuf_append(b, "graph(");
  print_block_inputs(b, top, ",\n      ");
  qg_strbuf_append(b, "):\n");
  for (qg_node_t *n = qg_block_first(top); n != top->ret; n = n->next) print_node(n, 1, &pr, b);
  qg_strbuf_append(b, "  return (");
  print_block_outputs(b, top);
  qg_strbuf_append(b, ")\n");
  if (pr.groups) {
    size_t next = 0;
    print_sections(top, &pr, &next, b);
  }
}

void qg_node_print(const qg_node_t *n, qg_strbuf *out) { print_line(n, NULL, 1, out); }

void qg_graph_print(const qg_graph_t *g, const qg_print_opts *opts, qg_strbuf *out) { print_graph(g, opts, 1, out); }

char *qg_graph_to_string(const qg_graph_t *g, const qg_print_opts *opts) {
  qg_strbuf b = QG_STRBUF_INIT;
  qg_graph_print(g, opts, &b);
  if (b.oom) {
    qg_strbuf_free(&b);
    (void)qg_oom("graph text");
    return NULL;
  }
  return qg_strbuf_detach(&b);
}
