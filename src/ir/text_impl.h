/* Internals shared by the graph printer (print.c), the tensor repr printer (tensor_repr.c) and
 * the parser (parse.c). Not API. */
#ifndef QG_IR_TEXT_IMPL_H
#define QG_IR_TEXT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "tensor/tensor.h"

/* A double as c10's IValue::repr prints it ("1.", "-0.", "0.10000000000000001", "inf"). */
void qg__print_double(qg_strbuf *b, double d);
/* A string literal as c10::printQuotedString prints it. */
void qg__print_quoted(qg_strbuf *b, const char *s, size_t n);
/* Element i (row-major) of t: returns 1 and sets *d for floating dtypes, 0 and sets *l for
 * integer and bool dtypes, -1 when the dtype cannot be read this way (quantized) or t has no
 * data. */
int qg__tensor_elem(const qg_tensor *t, int64_t i, double *d, int64_t *l);
/* ATen's `operator<<(ostream, Tensor)` output with newlines replaced by spaces, which is what
 * PyTorch prints for constants of 2 to 10 elements: e.g. " 1  2 [ CPUFloatType{2} ]". Returns
 * 0, or -1 (nothing appended) for layouts it does not reproduce. */
int qg__print_tensor_repr(qg_strbuf *b, const qg_tensor *t);

#endif
