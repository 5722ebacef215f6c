/* Operator schemas and the op registry.
 *
 * One table (src/ir/ops.def) lists every operator quantgraph knows, each row a schema in
 * PyTorch's syntax with overload name and defaults, e.g.
 *   "aten::conv2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=1,
 *                 int[2] padding=0, int[2] dilation=1, int groups=1) -> Tensor"
 * plus flags. The parser rejects ops not in the table (with the op and the line); passes and,
 * later, the interpreter find an op's argument names and defaults here. Ops that PyTorch
 * treats specially and that have no schema (prim::If, prim::Loop, prim::Constant,
 * prim::GetAttr, prim::CallMethod, ...) are listed with a schema of the form
 * "prim::If(...) -> ..." and the QG_OP_SPECIAL flag. */
#ifndef QG_IR_SCHEMA_H
#define QG_IR_SCHEMA_H

#include <stddef.h>

#include "base/status.h"
#include "base/symbol.h"
#include "ir/type.h"

enum {
  QG_OP_SPECIAL = 1 << 0,   /* no fixed signature (prim::If, prim::CallMethod, ...) */
  QG_OP_QUANTIZED = 1 << 1, /* produces or consumes quantized tensors */
  QG_OP_INPLACE = 1 << 2,   /* mutates its first argument (aten::add_, aten::relu_) */
  QG_OP_NONDET = 1 << 3     /* not safe for constant propagation (dropout in train mode, rand) */
};

typedef struct qg_schema_arg {
  const char *name;
  const qg_type_t *type;   /* in the registry's own unit; type variables are QG_TYPE_VAR */
  const char *type_str;    /* as written, e.g. "int[2]", "Tensor(a!)" */
  int fixed_list_len;      /* N for "int[N]", else 0 */
  const char *alias;       /* "a!" for "Tensor(a!)", or NULL */
  const char *default_str; /* "None", "1", "[0, 0]", "\"none\"", or NULL for no default */
  int kwarg_only;          /* after a bare '*' */
} qg_schema_arg;

typedef struct qg_schema {
  const char *text;     /* the schema as written in the table */
  qg_sym_t name;        /* aten::conv2d */
  const char *overload; /* "Tensor", "out", or "" */
  qg_schema_arg *args;
  size_t nargs;
  qg_schema_arg *returns;
  size_t nreturns;
  int is_vararg;        /* "..." in the arguments */
  int is_varret;        /* "..." in the returns */
  unsigned flags;       /* QG_OP_* */
} qg_schema_t;

/* Parses one schema string. The result owns all its strings; free with qg_schema_free. Parse
 * errors name the column: "schema 'aten::x(int a' col 13: expected ')'". */
qg_status qg_schema_parse(qg_cu_t *cu, const char *text, qg_schema_t **out) QG_MUST_USE;
void qg_schema_free(qg_schema_t *s);
/* Prints in PyTorch's canonical form (the same text FunctionSchema's operator<< gives). */
void qg_schema_print(const qg_schema_t *s, qg_strbuf *out);

/* The registry is built on first use (thread-safe). These return QG_STATUS_OOM if building
 * it fails; a malformed row in ops.def is an internal error (caught by the tests). */
qg_status qg_op_registry_init(void) QG_MUST_USE;
/* Every overload of `op` (registry order); count 0 if unknown. Requires qg_op_registry_init. */
const qg_schema_t *const *qg_op_overloads(qg_sym_t op, size_t *count);
int qg_op_is_known(qg_sym_t op);
size_t qg_op_registry_size(void);
const qg_schema_t *qg_op_registry_at(size_t i);

#endif
