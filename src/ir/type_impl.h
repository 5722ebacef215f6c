/* Internals shared by the type files (type.c, type_parse.c). Not API. */
#ifndef QG_IR_TYPE_IMPL_H
#define QG_IR_TYPE_IMPL_H

#include <stddef.h>

#include "base/hashmap.h"
#include "base/vec.h"
#include "ir/type.h"

struct qg_cu {
  long refcount;
  qg_hashmap interned;              /* printed form -> structural type (key = type->str) */
  QG_VEC(qg_type_t *) structural;   /* every interned type, for freeing */
  qg_hashmap named;                 /* qualname -> class / interface / function */
  QG_VEC(qg_type_t *) nominal;      /* definition order */
  int destroying;                   /* set while the last release frees everything */
};

/* An opaque class (or interface) named text[0..len): the parser met a name it had not seen.
 * A later qg_cu_define_class / qg_cu_define_interface of that name completes it in place. */
qg_status qg__cu_define_opaque(qg_cu_t *cu, qg_type_kind kind, const char *name, size_t len,
                               qg_type_t **out) QG_MUST_USE;
/* The interface whose qualified name is `name` or ends in "." + name (PyTorch prints
 * interfaces as `InterfaceType<Name>` with the unqualified name); NULL if none. */
qg_type_t *qg__cu_find_interface(const qg_cu_t *cu, const char *name, size_t len);
/* Frees a nominal type's printed form if it owns it (interfaces). */
void qg__nominal_free_str(qg_type_t *t);

#endif
