/* Subgraph matching and rewriting driven by graph-text patterns: PyTorch's SubgraphMatcher
 * (torch/csrc/jit/ir/subgraph_matcher.cpp) and SubgraphRewriter
 * (torch/csrc/jit/passes/subgraph_rewrite.cpp), which the quantization passes use for
 * FuseLinear, QuantFusion and friends.
 *
 * A pattern is graph text (text.h) such as
 *
 *   graph(%input, %weight, %bias, %alpha):
 *     %out = aten::matmul(%input, %weight)
 *     %res = aten::add_(%out, %bias, %alpha)
 *     return (%res)
 *
 * Untyped values are Tensor, as in PyTorch's parser; types are never compared.
 *
 * Note [Pattern matching rules] (PyTorch's, checked against torch 1.13)
 *   - The anchor is the node producing the pattern's first output; a match is tried at every
 *     graph node of the anchor's kind (a cheap kind test skips all other nodes), walking the
 *     graph as PyTorch does: the top block first, then sub-blocks from a stack (the last
 *     pushed first), so match order, and with it which of two overlapping matches wins, is
 *     PyTorch's.
 *   - From the anchor, pattern nodes are mapped to graph nodes along producer edges. Nodes
 *     match if they have the same kind, the same number of inputs and outputs and the same
 *     attributes: the same number of attributes, each pattern attribute present on the graph
 *     node with the same kind and an equal value. Only int (bools are ints), float, complex and
 *     string attributes can match; strings are full-match POSIX extended regular expressions
 *     when the pattern's string contains a regex metacharacter (PyTorch uses std::regex), else
 *     compared for equality. So `prim::Constant[value=1]()` matches the int or bool constant 1
 *     and `prim::Constant()` matches None constants only. `match::module[name="Conv2d"](%self)`
 *     matches a prim::GetAttr whose output class name ends with the given string.
 *   - Pattern inputs match any value (also one defined in an enclosing block); one pattern
 *     input always maps to the same graph value (two inputs may map to the same value).
 *   - Every matched node is in the anchor's block: matches never span blocks.
 *   - An intermediate value (produced in the pattern and not a pattern output) must have
 *     exactly as many uses in the graph as in the pattern, so it cannot escape the match.
 *   - Every pattern node must be reachable from the anchor through producer edges; pattern
 *     nodes may not have blocks (QG_STATUS_INVALID_ARGUMENT when the pattern is created).
 *
 * Note [Rewriting] (SubgraphRewriter::rewriteSinglePatternOnGraph)
 *   All matches are found first, then processed in order. A match is skipped when a filter
 *   rejects it, when it shares a node with a match already rewritten in this run, when the
 *   replacement could not be inserted before every use of the pattern outputs, or when a
 *   pattern input is bound to a value the match itself produces (PyTorch would build a cycle).
 *   For the others the replacement graph is inserted right after the latest definition of the
 *   values bound to the pattern inputs (which may be in an enclosing block, as in PyTorch),
 *   with its inputs bound by name to the pattern inputs of the same name; its outputs take the
 *   types of the values they replace. Replacement values never keep their names (PyTorch's
 *   parser drops them), so new values print as %N. A replacement node takes the source
 *   comment of a matched node when a value-name pair {replacement value, pattern value} links
 *   their outputs (PyTorch's value_name_pairs); otherwise it has no comment and no scope.
 *   After all matches are inserted, the uses of the pattern outputs are redirected and the
 *   matched nodes deleted.
 *   OOM: the graph always stays valid (lint-clean). A failure before the uses are redirected
 *   leaves the graph unchanged; a failure while redirecting leaves some matches rewritten and
 *   the others as they were (with their inserted replacement unused). */
#ifndef QG_IR_SUBGRAPH_H
#define QG_IR_SUBGRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "ir/ir.h"

typedef struct qg_pattern qg_pattern_t; /* a compiled pattern */
typedef struct qg_match qg_match_t;     /* one match of a pattern in a graph */
typedef struct qg_matches qg_matches_t; /* the matches of one search */

/* ---- patterns and matching ------------------------------------------------------------- */

/* Parses and validates a pattern. Errors: QG_STATUS_PARSE (the text, with line:col),
 * QG_STATUS_UNKNOWN_OP (an op that is neither registered nor match::module),
 * QG_STATUS_INVALID_ARGUMENT (no nodes, no outputs, a pattern input returned directly, a node
 * with blocks, a node not reachable from the anchor), QG_STATUS_OOM. *out is owned by the
 * caller (qg_pattern_destroy). */
qg_status qg_pattern_create(const char *text, qg_pattern_t **out) QG_MUST_USE;
void qg_pattern_destroy(qg_pattern_t *p); /* NULL is a no-op */
/* The parsed pattern graph (borrowed; lives as long as p). Its values keep their names. */
const qg_graph_t *qg_pattern_graph(const qg_pattern_t *p);
/* The pattern value named `name` ("alpha" for %alpha), or NULL. */
const qg_value_t *qg_pattern_value(const qg_pattern_t *p, const char *name);

/* Every match of p in g, nested blocks included, in PyTorch's order (Note [Pattern matching
 * rules]). Matches may overlap. *out is owned by the caller and valid while g is not
 * changed. Cost: one kind comparison per graph node plus a walk of the pattern per candidate. */
qg_status qg_pattern_find(const qg_pattern_t *p, qg_graph_t *g, qg_matches_t **out) QG_MUST_USE;
size_t qg_matches_count(const qg_matches_t *ms);
const qg_match_t *qg_matches_at(const qg_matches_t *ms, size_t i);
void qg_matches_destroy(qg_matches_t *ms); /* NULL is a no-op */

/* The graph node matched by the pattern's anchor. */
qg_node_t *qg_match_anchor(const qg_match_t *m);
/* The graph value bound to the pattern value named `name` (a pattern input such as "alpha",
 * or a named value produced in the pattern), or NULL if the pattern has no such value. */
qg_value_t *qg_match_value(const qg_match_t *m, const char *name);
/* The same by pattern value / pattern node (from qg_pattern_graph); NULL if not in the pattern. */
qg_value_t *qg_match_value_of(const qg_match_t *m, const qg_value_t *pattern_value);
qg_node_t *qg_match_node_of(const qg_match_t *m, const qg_node_t *pattern_node);
/* The pattern this match belongs to. */
const qg_pattern_t *qg_match_pattern(const qg_match_t *m);

/* ---- constant helpers for filters ------------------------------------------------------ */

/* The `value` attribute of the prim::Constant producing v, or NULL (not a constant, or None). */
const qg_attr *qg_value_constant_attr(const qg_value_t *v);
/* 1 and *out set if v is an int constant (type int, not bool), else 0. */
int qg_value_constant_int(const qg_value_t *v, int64_t *out);
/* 1 if v is produced by prim::Constant (None included), else 0. */
int qg_value_is_constant(const qg_value_t *v);
/* 1 and *out set if the value bound to pattern value `name` is an int constant, else 0. */
int qg_match_int_constant(const qg_match_t *m, const char *name, int64_t *out);

/* ---- rewriting ------------------------------------------------------------------------- */

/* A filter accepts (returns 1) or rejects (0) a match; all filters of a run must accept. */
typedef struct qg_match_filter {
  int (*fn)(const qg_match_t *m, void *ud);
  void *ud;
} qg_match_filter;

/* Links the replacement node producing value `replacement` to the matched node producing
 * pattern value `pattern`, whose source comment it takes (PyTorch's value_name_pairs). */
typedef struct qg_name_pair {
  const char *replacement;
  const char *pattern;
} qg_name_pair;

typedef struct qg_rewrite qg_rewrite_t;

/* Compiles a rule: pattern (as qg_pattern_create) and replacement graph text. The replacement
 * must have as many outputs as the pattern and every one of its inputs must have the name of a
 * pattern input; the pattern needs at least one input. Every pair must name a value produced
 * by a node on each side. Errors as qg_pattern_create, naming "pattern" or "replacement". */
qg_status qg_rewrite_create(const char *pattern, const char *replacement, const qg_name_pair *pairs, size_t npairs,
                            qg_rewrite_t **out) QG_MUST_USE;
void qg_rewrite_destroy(qg_rewrite_t *rw); /* NULL is a no-op */
const qg_pattern_t *qg_rewrite_pattern(const qg_rewrite_t *rw);

/* Rewrites every accepted match of rw in g (Note [Rewriting]); *nrewritten (may be NULL)
 * receives the number of matches rewritten. Errors: QG_STATUS_OOM (see the note). */
qg_status qg_rewrite_run(const qg_rewrite_t *rw, qg_graph_t *g, const qg_match_filter *filters, size_t nfilters,
                         size_t *nrewritten) QG_MUST_USE;

/* qg_rewrite_create + qg_rewrite_run, with the compiled rewrite cached by its texts for the
 * life of the process (passes call this on every graph of a model). */
qg_status qg_rewrite_graph(qg_graph_t *g, const char *pattern, const char *replacement, const qg_name_pair *pairs,
                           size_t npairs, const qg_match_filter *filters, size_t nfilters,
                           size_t *nrewritten) QG_MUST_USE;

#endif
