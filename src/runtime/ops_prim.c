/* Prim / scalar / list / dict / string ops (qg__ops_prim_table). */
#include "runtime/runtime.h"

static const qg_op_impl_entry prim_table[] = {{"prim::__placeholder__", "", NULL}};

const qg_op_impl_entry *qg__ops_prim_table(size_t *n) {
  *n = 0;
  return prim_table;
}
