/* Graph passes: each file of passes/ is one pass (one job), callable alone from C and by name
 * from `quantgraph opt BUNDLE --passes a,b,c -o OUT` through the table in passes/registry.c.
 *
 * Module passes take the whole module (they may add or change attributes, clone class types);
 * graph passes take one graph. Every pass leaves graphs that pass qg_graph_lint (tests check
 * it after each pass). Passes never print; diagnostics that PyTorch only warns about are
 * counted in qg_pass_report. */
#ifndef QG_PASSES_PASS_H
#define QG_PASSES_PASS_H

#include <stddef.h>

#include "base/status.h"
#include "ir/ir.h"
#include "module/module.h"

/* What a pass did, for the CLI and tests (all optional to fill). */
typedef struct qg_pass_report {
  size_t changed;   /* rewrites / insertions made */
  size_t warnings;  /* PyTorch would have warned (e.g. prim::Loop not supported) */
  char warning[256]; /* the first warning's text */
} qg_pass_report;

typedef qg_status (*qg_module_pass_fn)(qg_module *m, qg_pass_report *report);

/* What parameterised passes need (insert_observers): from `quantgraph opt --qconfig ...`. */
struct qg_qconfig_dict;
typedef struct qg_pass_args {
  const struct qg_qconfig_dict *qconfig;
  int dynamic;
} qg_pass_args;
typedef qg_status (*qg_module_pass_args_fn)(qg_module *m, const qg_pass_args *args, qg_pass_report *report);

typedef struct qg_pass_info {
  const char *name; /* "fold_conv_bn": the name `quantgraph opt --passes` takes */
  const char *help; /* one line */
  qg_module_pass_fn run;
} qg_pass_info;

/* Parameterised passes (a second table in registry.c). */
typedef struct qg_pass_args_info {
  const char *name;
  const char *help;
  qg_module_pass_args_fn run;
} qg_pass_args_info;
const qg_pass_args_info *qg_passes_with_args(size_t *n);
const qg_pass_args_info *qg_pass_with_args_find(const char *name);

/* All registered passes (passes/registry.c), in a stable order. */
const qg_pass_info *qg_passes(size_t *n);
const qg_pass_info *qg_pass_find(const char *name);

/* Applies fn to every method graph of every class type of m's unit (each graph once, shared
 * class types included), stopping at the first error, which is prefixed with the class and
 * method. For module passes built from graph passes. */
qg_status qg_for_each_method_graph(qg_module *m, qg_status (*fn)(qg_graph_t *g, void *ud, qg_pass_report *r),
                                   void *ud, qg_pass_report *report) QG_MUST_USE;

#endif
