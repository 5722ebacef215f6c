/* Interned symbols for op kinds and attribute names ("aten::conv2d", "prim::GetAttr",
 * "value", "name"). A symbol is a small integer; equal strings give equal symbols for the
 * life of the process. The table is global and thread-safe. */
#ifndef QG_BASE_SYMBOL_H
#define QG_BASE_SYMBOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef uint32_t qg_sym_t;

enum {
  QG_SYM_NONE = 0,
#define X(ns, name) QG_SYM_##ns##_##name,
#include "base/symbols.def"
#undef X
  QG_SYM__PREDEFINED
};

/* Interns `s` ("ns::name" or a plain attribute name). OOM on allocation failure. */
qg_status qg_sym_intern(const char *s, qg_sym_t *out) QG_MUST_USE;
qg_status qg_sym_internn(const char *s, size_t n, qg_sym_t *out) QG_MUST_USE;
/* Existing symbol for s, or QG_SYM_NONE if never interned. Never allocates. */
qg_sym_t qg_sym_lookup(const char *s);
/* The full string ("aten::conv2d"); valid for the life of the process. */
const char *qg_sym_str(qg_sym_t s);
/* The part after "::" ("conv2d" for aten::conv2d), pointing into qg_sym_str(s); the whole
 * string for a plain name. qg_sym_has_ns(s, "aten") tests the namespace. */
const char *qg_sym_unqual(qg_sym_t s);
int qg_sym_has_ns(qg_sym_t s, const char *ns);

#endif
