/* Internals of the subgraph matcher and rewriter (subgraph_match.c, subgraph_rewrite.c). Not
 * API: see subgraph.h.
 *
 * A compiled pattern numbers its values (inputs first, then node outputs in order) and its
 * nodes (in order), so a match is two arrays indexed by those numbers. */
#ifndef QG_IR_SUBGRAPH_IMPL_H
#define QG_IR_SUBGRAPH_IMPL_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/ir_impl.h"
#include "ir/subgraph.h"

typedef struct qg__pat_value {
  const qg_value_t *v;
  long producer;   /* index of the producing pattern node, -1 for a pattern input */
  uint32_t nuses;  /* uses in the pattern (the return node included) */
  int is_input, is_output;
} qg__pat_value;

typedef struct qg__pat_node {
  const qg_node_t *n;
  uint32_t *in, *out; /* value indices, n->ninputs / n->noutputs of them */
  int is_module;      /* match::module */
  regex_t **re;       /* per attribute: the compiled regex of a string attribute, or NULL */
} qg__pat_node;

struct qg_pattern {
  qg_graph_t *graph;
  qg__pat_value *values;
  size_t nvalues;
  qg__pat_node *nodes;
  size_t nnodes;
  size_t anchor;          /* node index */
  qg_sym_t anchor_kind;   /* the graph kind a candidate anchor must have */
  qg_sym_t module_sym;    /* match::module */
};

struct qg_match {
  const qg_pattern_t *p;
  qg_node_t *anchor;
  qg_node_t **nodes;   /* [p->nnodes] */
  qg_value_t **values; /* [p->nvalues] */
};

struct qg_matches {
  qg_match_t *items;
  size_t len, cap;
};

/* Parses and validates `text` for the role `what` ("pattern" / "replacement"); patterns
 * (is_pattern) also get the matcher's tables. On error the message names `what`. */
qg_status qg__pattern_compile(const char *text, const char *what, int is_pattern, qg_pattern_t **out) QG_MUST_USE;
/* Index of pattern value v, or -1. */
long qg__pattern_value_index(const qg_pattern_t *p, const qg_value_t *v);
/* Index of the pattern value named `name`, or -1. */
long qg__pattern_name_index(const qg_pattern_t *p, const char *name);

#endif
