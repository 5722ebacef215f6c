/* Op table (being filled; see runtime.h). */
#include "runtime/runtime.h"

const qg_op_impl_entry *qg__ops_quant_table(size_t *n) {
  *n = 0;
  return NULL;
}
