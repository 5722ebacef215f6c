/* Resolving the callee of prim::CallFunction (used by the interpreter and the passes). */
#include <string.h>

#include "ir/ir.h"

/* The free function a CallFunction's first input names: a Function-typed constant whose
 * `name` attribute is the function's last name component ("hardtanh" for
 * __torch__.torch.nn.functional.hardtanh), or a function type naming it. */
qg_graph_t *qg_callee_graph(const qg_node_t *n, const char **qualname, const char **why) {
  const char *unused_q, *unused_w;
  if (!qualname) qualname = &unused_q;
  if (!why) why = &unused_w;
  if (n->ninputs == 0) {
    *why = "prim::CallFunction without a function input";
    return NULL;
  }
  const qg_value_t *fv = n->inputs[0];
  if (fv->type->kind == QG_TYPE_FUNCTION && fv->type->nmethods && fv->type->methods[0].graph) {
    *qualname = fv->type->qualname;
    return fv->type->methods[0].graph;
  }
  const char *name = fv->node->kind == QG_SYM_prim_Constant ? qg_node_s(fv->node, "name") : NULL;
  if (!name) {
    *why = "the function input is not a named function constant";
    return NULL;
  }
  qg_graph_t *found = NULL;
  size_t nl = strlen(name);
  for (qg_cu_t *cu = qg_graph_cu(n->graph); cu;) {
    for (size_t i = 0; i < qg_cu_ntypes(cu); i++) {
      const qg_type_t *t = qg_cu_type_at(cu, i);
      if (t->kind != QG_TYPE_FUNCTION || !t->nmethods || !t->methods[0].graph) continue;
      size_t ql = strlen(t->qualname);
      if (strcmp(t->qualname, name) == 0 || (ql > nl && t->qualname[ql - nl - 1] == '.' &&
                                             strcmp(t->qualname + ql - nl, name) == 0)) {
        if (found) {
          *why = "the function name is ambiguous in the compilation unit";
          return NULL;
        }
        found = t->methods[0].graph;
        *qualname = t->qualname;
      }
    }
    break;
  }
  if (!found) *why = "no function of that name in the module's compilation unit";
  return found;
}

