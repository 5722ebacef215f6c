/* Graph text: the parser and printer for PyTorch's `str(graph)` syntax.
 *
 * The printer reproduces PyTorch's output byte for byte: the `graph(%a : T,\n      %b : T):`
 * header, one node per line indented two spaces per nesting level, `%out : Type = ns::op[attr=v](%in)`,
 * `, scope: ...` and ` # file:line:col` suffixes, `blockN(...):` / `-> (...)` for blocks, and
 * `return (...)` with a trailing newline. The parser accepts all of that (and what PyTorch 1.13
 * and 2.x print), keeps value names, scopes and source comments, and checks each op against the
 * registry: an unknown op is QG_STATUS_UNKNOWN_OP naming the op and line:col.
 *
 * Note [Constants in graph text]
 *   Attribute values map to qg_attr kinds as PyTorch stores them: ints and bools are INT
 *   (`[value=1]`), floats FLOAT (printed as c10's IValue::repr: `1.`, `0.10000000000000001`,
 *   `inf`), `1.+2.j` COMPLEX, strings STRING (c10::printQuotedString escapes, octal included),
 *   lists INTS / FLOATS / STRINGS, `[True, False]` INTS printed back as bools when the node is a
 *   prim::Constant of type bool[], `annotate(List[int], [])` an empty list, types TYPE / TYPES.
 *   Tensor constants: `{0.5}` is a one-element tensor of the output type's dtype (Float when
 *   the type does not say) and shape (0-dim unless the type gives a one-element shape); ATen's
 *   inline repr for 2..10 elements (`-0.2097 -0.1462 [ CPUFloatType{2} ]`) is read back with
 *   the text's precision (4 decimals) and reprinted the same way; `<Tensor>` (the value is not
 *   in the text) parses to a placeholder: an EMPTY tensor (numel 0, no storage) of the type's
 *   dtype, and the printer prints any empty tensor as `<Tensor>`. Code that needs the value
 *   must take it from the bundle. Not supported (QG_STATUS_UNSUPPORTED with line:col): tuple
 *   and dict constants (no graph PyTorch printed for our fixtures has one), and graph-valued
 *   attributes printed as `<Graph>` / `[<Graphs>]` (their value is not in the text; only a
 *   Subgraph is, see below).
 *
 * Note [Subgraph sections]
 *   As PyTorch's Graph::print, a node with a graph attribute named `Subgraph` (traced
 *   prim::fork, fusion groups; Note [Graph attributes] in ir.h) prints its kind with a group
 *   number, `prim::fork_0(%x)`, with its other attributes in brackets (none for
 *   prim::DifferentiableGraph), and after the graph's `return (...)` line comes one section per
 *   group, in numbering order: `with prim::fork_0 = graph(...):` ... `  return (...)`, no blank
 *   line between. Groups are numbered 0, 1, ... in print order, nodes in blocks included. Each
 *   subgraph is printed as a graph of its own: its groups are numbered from 0 again and its
 *   sections follow its own return line, before the enclosing graph's next section. Its source
 *   comments are always printed by PyTorch (see qg_print_opts.no_source_top).
 *   The parser reads a kind `ns::name_N` (N decimal, no leading zeros) as group N of op
 *   `ns::name` unless `ns::name_N` is itself a registered op; the registry check applies to
 *   `ns::name`. Each group needs exactly one section with the same name; a nested subgraph
 *   takes the sections that follow it until all of its own groups have one. Errors
 *   (QG_STATUS_PARSE, at line:col): a group name used twice, a section naming no group node
 *   ("names no node"), a second section for a group ("duplicate"), a group node without a
 *   section (reported at the node). Subgraphs nest at most as deep as blocks do.
 *
 *   Numeric value names (`%37`) are kept as names; the graph's unique counter is moved past
 *   the largest one so that values created later never print the same name. */
#ifndef QG_IR_TEXT_H
#define QG_IR_TEXT_H

#include <stddef.h>

#include "base/status.h"
#include "base/strbuf.h"
#include "ir/ir.h"

typedef struct qg_print_opts {
  int no_source; /* drop every " # file:line:col" comment (and scopes stay), in blocks and
                    `with` sections too */
  int no_scope;  /* drop ", scope: ..." */
  /* PyTorch's own `graph.str(False)`: drop the comments of the graph's top-level nodes only;
   * nodes in blocks and in `with` sections keep theirs, as Node::print and operator<<(Graph)
   * print them with the default print_source_locations=true. */
  int no_source_top;
} qg_print_opts;

/* Appends the graph text to out (check qg_strbuf_ok). opts may be NULL. */
void qg_graph_print(const qg_graph_t *g, const qg_print_opts *opts, qg_strbuf *out);
/* Convenience: a newly allocated string (qg__free) or NULL on OOM. */
char *qg_graph_to_string(const qg_graph_t *g, const qg_print_opts *opts);
/* Prints one node line (no newline, no indentation), as in error messages. */
void qg_node_print(const qg_node_t *n, qg_strbuf *out);

typedef struct qg_parse_opts {
  qg_cu_t *cu;          /* unit for types (NULL: a fresh unit per graph) */
  const char *filename; /* used in error messages ("<string>" if NULL) */
  int allow_unknown_ops;/* accept ops not in the registry (tests of the IR alone) */
  /* Classes named in the text but not defined in cu: create opaque ones (the default for
   * standalone graph text) or fail (module text, where every class must be declared). */
  int no_unknown_classes;
  /* Optional position hint for qg_graph_parse_at inside a large text: text[hint_offset] is the
   * first byte of line hint_line (1-based; 0 = no hint). Callers that parse many graphs from one
   * text (the module text) pass it so line numbers are not recounted from the beginning each
   * time, which would make loading quadratic in the text size. */
  size_t hint_offset;
  int hint_line;
} qg_parse_opts;

/* Parses a whole graph text. Errors: QG_STATUS_PARSE (syntax, "file:line:col: expected ..."),
 * QG_STATUS_UNKNOWN_OP, QG_STATUS_TYPE; no graph is returned on error. */
qg_status qg_graph_parse(const char *text, size_t len, const qg_parse_opts *opts, qg_graph_t **out) QG_MUST_USE;
/* Parses one graph that starts at text[start] (the 'g' of "graph(") inside a larger text,
 * stopping after its `return (...)` line and its `with ... = graph(...)` sections (Note
 * [Subgraph sections]); *end receives the offset just past them. Line and column numbers in
 * errors are those of the larger text. */
qg_status qg_graph_parse_at(const char *text, size_t len, size_t start, const qg_parse_opts *opts,
                            qg_graph_t **out, size_t *end) QG_MUST_USE;

/* Line (1-based) and column (1-based) of byte offset `off` in text. */
void qg_text_position(const char *text, size_t off, int *line, int *col);

#endif
