/* Side effects, nondeterminism and writes of nodes (node_effects.h). */
#include <string.h>

#include "ir/schema.h"
#include "passes/node_effects.h"

int qg__node_has_side_effects(const qg_node_t *n) {
  switch (n->kind) {
  case QG_SYM_prim_RaiseException:
  case QG_SYM_prim_SetAttr:
  case QG_SYM_prim_CallFunction:
  case QG_SYM_prim_CallMethod:
  case QG_SYM_aten_wait: return 1;
  default: break;
  }
  /* The rest of PyTorch's list, by name (they are rare in quantization graphs). */
  static const char *const names[] = {
      "prim::PythonOp", "prim::IgnoredPythonOp", "prim::Print", "aten::warn", "aten::save", "aten::manual_seed",
      "prim::AddStatValue", "prim::TimePoint", "prim::BailoutTemplate", "prim::BailOut", "prim::rpc_async",
      "prim::rpc_sync", "prim::rpc_remote", "cuda::set_stream", "cuda::_set_device", "cuda::_current_device",
      "cuda::synchronize", "prim::Enter", "prim::Exit"};
  const char *k = qg_sym_str(n->kind);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(k, names[i]) == 0) return 1;
  return 0;
}

/* Calls fn on every overload of n's op whose arity fits n; returns the first non-zero. */
static int any_overload(const qg_node_t *n, int (*fn)(const qg_schema_t *s, size_t i), size_t i) {
  size_t count = 0;
  const qg_schema_t *const *ov = qg_op_overloads(n->kind, &count);
  for (size_t k = 0; k < count; k++) {
    const qg_schema_t *s = ov[k];
    if (s->flags & QG_OP_SPECIAL) continue;
    if (s->is_vararg ? n->ninputs < s->nargs : n->ninputs != s->nargs) continue;
    if (fn(s, i)) return 1;
  }
  return 0;
}

static int nondet(const qg_schema_t *s, size_t i) {
  (void)i;
  return (s->flags & QG_OP_NONDET) != 0;
}

static int writes_arg(const qg_schema_t *s, size_t i) {
  return i < s->nargs && s->args[i].alias && strchr(s->args[i].alias, '!') != NULL;
}

int qg__node_is_nondeterministic(const qg_node_t *n) { return any_overload(n, nondet, 0); }

int qg__node_writes_input(const qg_node_t *n, size_t i) {
  if (n->kind == QG_SYM_prim_CallFunction || n->kind == QG_SYM_prim_CallMethod) return 1;
  return any_overload(n, writes_arg, i);
}

static int effects_deep(const qg_node_t *n, int writes) {
  if (qg__node_has_side_effects(n)) return 1;
  for (uint32_t i = 0; writes && i < n->ninputs; i++)
    if (qg__node_writes_input(n, i)) return 1;
  for (uint32_t b = 0; b < n->nblocks; b++) {
    const qg_block_t *blk = n->blocks[b];
    for (const qg_node_t *x = qg_block_first(blk); x != blk->ret; x = x->next)
      if (effects_deep(x, writes)) return 1;
  }
  return 0;
}

int qg__node_has_effects_deep(const qg_node_t *n) { return effects_deep(n, 1); }
int qg__node_has_side_effects_deep(const qg_node_t *n) { return effects_deep(n, 0); }

int qg__type_is_mutable(const qg_type_t *t) {
  switch (t->kind) {
  case QG_TYPE_INT:
  case QG_TYPE_FLOAT:
  case QG_TYPE_COMPLEX:
  case QG_TYPE_BOOL:
  case QG_TYPE_STR:
  case QG_TYPE_NONE:
  case QG_TYPE_DEVICE:
  case QG_TYPE_NUMBER:
  case QG_TYPE_SCALAR_TYPE:
  case QG_TYPE_LAYOUT:
  case QG_TYPE_MEMORY_FORMAT:
  case QG_TYPE_QSCHEME:
  case QG_TYPE_FUNCTION:
  case QG_TYPE_FUNCTION_ANY: return 0;
  case QG_TYPE_OPTIONAL:
  case QG_TYPE_TUPLE:
  case QG_TYPE_UNION:
    for (size_t i = 0; i < t->nelems; i++)
      if (qg__type_is_mutable(t->elems[i])) return 1;
    return 0;
  default: return 1;
  }
}

/* The output of user may alias its input i: the schema gives that argument an alias set
 * without `!` (`Tensor(a) self` of view ops). */
static int returns_alias(const qg_schema_t *s, size_t i) {
  return i < s->nargs && s->args[i].alias && !strchr(s->args[i].alias, '!') && s->nreturns &&
         s->returns[0].alias != NULL;
}

int qg__value_is_written(const qg_value_t *v) {
  if (!qg__type_is_mutable(v->type)) return 0;
  for (uint32_t u = 0; u < v->nuses; u++) {
    const qg_node_t *user = v->uses[u].user;
    if (qg__node_writes_input(user, v->uses[u].offset)) return 1;
    /* Writes through a view write v too. */
    if (any_overload(user, returns_alias, v->uses[u].offset))
      for (uint32_t k = 0; k < user->noutputs; k++)
        if (qg__value_is_written(user->outputs[k])) return 1;
  }
  return 0;
}
