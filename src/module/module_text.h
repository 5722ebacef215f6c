/* The module text (docs/formats.md, "Module text"): class, interface and function
 * declarations with their graphs, and the instance tree with typed values.
 *
 * Printing is canonical: interfaces, then classes (each after the classes its slots name), then
 * functions, then the root; tensors are named by the dotted path where the printer first meets
 * them (depth-first, in slot order), so parse(print(x)) prints as print(x). */
#ifndef QG_MODULE_MODULE_TEXT_H
#define QG_MODULE_MODULE_TEXT_H

#include <stddef.h>

#include "base/status.h"
#include "base/strbuf.h"
#include "ir/type.h"
#include "module/value.h"

/* Resolves `tensor "NAME"`: sets *out to a new reference, or returns QG_STATUS_NOT_FOUND (the
 * parser then reports the name and position) or another error. */
typedef qg_status (*qg_tensor_lookup_fn)(void *ud, const char *name, qg_tensor **out);

typedef struct qg_module_text_opts {
  const char *filename;      /* prefix of error positions ("<module>" if NULL) */
  qg_tensor_lookup_fn lookup; /* NULL: any `tensor` value is an error */
  void *lookup_ud;
  int allow_unknown_ops;     /* passed to the graph parser */
} qg_module_text_opts;

/* Parses module text into a new unit and root object. Errors: QG_STATUS_PARSE (syntax),
 * QG_STATUS_TYPE (a value that does not fit its slot, an unknown class), QG_STATUS_NOT_FOUND
 * (a missing tensor), each "FILE:LINE:COL: ..."; nothing is returned on error. */
qg_status qg_module_text_parse(const char *text, size_t len, const qg_module_text_opts *opts, qg_cu_t **cu_out,
                               qg_ival *root_out) QG_MUST_USE;

/* The tensors a print names, in first-met order (names owned). */
typedef struct qg_tensor_names {
  size_t n, cap;
  char **names;
  qg_tensor **tensors; /* borrowed */
} qg_tensor_names;
void qg_tensor_names_free(qg_tensor_names *tn);

/* Appends the canonical text of (cu, root) to out. If names is not NULL it receives the tensor
 * table (which a bundle writer stores). OOM or TYPE (a value the format cannot express). */
qg_status qg_module_text_print(const qg_cu_t *cu, const qg_ival *root, qg_strbuf *out,
                               qg_tensor_names *names) QG_MUST_USE;

#endif
