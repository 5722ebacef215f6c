/* qg_op_impl_find: the implementation of a schema overload, searched in the op tables.
 * Called once per node when a plan is built (plans cache the result), so a linear scan of the
 * tables is fine. An entry with overload "*" matches every overload of its op; an exact
 * overload entry wins over "*". */
#include <string.h>

#include "runtime/interp_impl.h"

typedef const qg_op_impl_entry *(*table_fn)(size_t *n);

qg_op_impl qg_op_impl_find(const qg_schema_t *schema) {
  static const table_fn tables[] = {qg__ops_prim_table, qg__ops_scalar_table, qg__ops_list_table,
                                    qg__ops_aten_table, qg__ops_quant_table, qg__ops_qlinear_table};
  const char *name = qg_sym_str(schema->name);
  const char *overload = schema->overload ? schema->overload : "";
  qg_op_impl any = NULL;
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    size_t n = 0;
    const qg_op_impl_entry *e = tables[t](&n);
    for (size_t k = 0; k < n; k++) {
      if (strcmp(e[k].name, name) != 0) continue;
      if (strcmp(e[k].overload, overload) == 0) return e[k].impl;
      if (!any && strcmp(e[k].overload, "*") == 0) any = e[k].impl;
    }
  }
  return any;
}
