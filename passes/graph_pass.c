/* Running a graph pass on every method graph of a module (passes.h). */
#include "passes/passes.h"

typedef struct graph_pass {
  qg_graph_pass_fn fn;
} graph_pass;

static qg_status run_one(qg_graph_t *g, void *ud, qg_pass_report *report) {
  const graph_pass *gp = ud;
  return gp->fn(g, report);
}

qg_status qg_run_graph_pass_on_module(qg_module *m, qg_graph_pass_fn fn, qg_pass_report *report) {
  graph_pass gp = {fn};
  return qg_for_each_method_graph(m, run_one, &gp, report);
}
