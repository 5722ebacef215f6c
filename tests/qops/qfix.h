/* Fixture values of tests/fixtures/qops/qops.json (tools/fixtures/gen_qops.py) as runtime values,
 * and their bit-exact comparison with results. */
#ifndef QG_TESTS_QOPS_QFIX_H
#define QG_TESTS_QOPS_QFIX_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "module/value.h"
#include "tensor/tensor_ops.h"

/* The value a fixture entry describes: {"t"}, {"q", "dtype", "scale", "zp" | "scales", "zps",
 * "axis"}, {"int"}, {"float"}, {"bool"}, {"none"}, {"list"}, {"tuple"}. Tensors are fresh owned
 * copies. */
qg_ival qfix_value(const cJSON *v, const qg_named_tensors *nt);
/* 1 if got equals want exactly (quantized tensors: dtype, shape, stored integers and qparams;
 * float tensors bit for bit, NaN equal to NaN); else 0 with the first difference in err. */
int qfix_same(const qg_ival *got, const cJSON *want, const qg_named_tensors *nt, char *err, size_t errlen);

#endif
