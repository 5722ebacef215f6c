/* replaceConvolutionWithAtenConv (reference §6.5; passes.h), as PyTorch's
 * graph_rewrite_helper.cpp: constant propagation (so traced int lists become constants), then
 * for each target op in PyTorch's order (conv1d, conv2d, conv3d, conv_transpose1d, 2d, 3d) the
 * 13-argument and the 12-argument aten::_convolution rewritten when stride, padding, dilation
 * and output_padding are constant int lists of the target's rank and `transposed` is the
 * constant the target needs. PyTorch fails on non-constant parameters; here such a node is
 * left alone. The benchmark / deterministic / cudnn_enabled / allow_tf32 flags are dropped. */
#include <stdio.h>

#include "ir/subgraph.h"
#include "passes/passes.h"

#define CONV_ARGS "%a, %w, %b, %stride, %padding, %dilation, %transposed, %output_padding, %groups, %benchmark, " \
                  "%deterministic, %cudnn_enabled"

static const char k_convolution[] =
    "graph(" CONV_ARGS ", %allow_tf32):\n"
    "  %r = aten::_convolution(" CONV_ARGS ", %allow_tf32)\n"
    "  return (%r)\n";
static const char k_convolution_deprecated[] =
    "graph(" CONV_ARGS "):\n"
    "  %r = aten::_convolution(" CONV_ARGS ")\n"
    "  return (%r)\n";

typedef struct conv_target {
  const char *op;
  int rank;
  int transposed;
} conv_target;

static const conv_target k_targets[] = {
    {"aten::conv1d", 1, 0},           {"aten::conv2d", 2, 0},           {"aten::conv3d", 3, 0},
    {"aten::conv_transpose1d", 1, 1}, {"aten::conv_transpose2d", 2, 1}, {"aten::conv_transpose3d", 3, 1},
};

static int int_list_of_rank(const qg_match_t *m, const char *name, int rank) {
  const qg_value_t *v = qg_match_value(m, name);
  const qg_attr *a = v ? qg_value_constant_attr(v) : NULL;
  return a && a->kind == QG_ATTR_INTS && v->type->kind == QG_TYPE_LIST && v->type->elems[0]->kind == QG_TYPE_INT &&
         a->n == (size_t)rank;
}

static int conv_params_fit(const qg_match_t *m, void *ud) {
  const conv_target *t = ud;
  const qg_value_t *tr = qg_match_value(m, "transposed");
  const qg_attr *a = tr ? qg_value_constant_attr(tr) : NULL;
  if (!a || a->kind != QG_ATTR_INT || tr->type->kind != QG_TYPE_BOOL || (a->i != 0) != t->transposed) return 0;
  return int_list_of_rank(m, "stride", t->rank) && int_list_of_rank(m, "padding", t->rank) &&
         int_list_of_rank(m, "dilation", t->rank) && int_list_of_rank(m, "output_padding", t->rank);
}

static qg_status rewrite_to(qg_graph_t *g, const conv_target *t, size_t *n) {
  char repl[512];
  if (t->transposed)
    snprintf(repl, sizeof repl,
             "graph(%%a, %%w, %%b, %%stride, %%padding, %%output_padding, %%groups, %%dilation):\n"
             "  %%r = %s(%%a, %%w, %%b, %%stride, %%padding, %%output_padding, %%groups, %%dilation)\n"
             "  return (%%r)\n",
             t->op);
  else
    snprintf(repl, sizeof repl,
             "graph(%%a, %%w, %%b, %%stride, %%padding, %%dilation, %%groups):\n"
             "  %%r = %s(%%a, %%w, %%b, %%stride, %%padding, %%dilation, %%groups)\n"
             "  return (%%r)\n",
             t->op);
  qg_match_filter filter = {conv_params_fit, (void *)t};
  size_t a = 0, b = 0;
  QG_TRY(qg_rewrite_graph(g, k_convolution, repl, NULL, 0, &filter, 1, &a));
  QG_TRY(qg_rewrite_graph(g, k_convolution_deprecated, repl, NULL, 0, &filter, 1, &b));
  *n += a + b;
  return QG_OK;
}

qg_status qg_replace_convolution_graph(qg_graph_t *g, qg_pass_report *report) {
  QG_TRY(qg_constant_propagation_graph(g, NULL));
  size_t n = 0;
  for (size_t i = 0; i < sizeof k_targets / sizeof k_targets[0]; i++) QG_TRY(rewrite_to(g, &k_targets[i], &n));
  if (report) report->changed += n;
  return QG_OK;
}

qg_status qg_replace_convolution_module(qg_module *m, qg_pass_report *report) {
  return qg_run_graph_pass_on_module(m, qg_replace_convolution_graph, report);
}
