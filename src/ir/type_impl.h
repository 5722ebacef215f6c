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

/* An opaque class named text[0..len) (the parser met a name it had not seen). */
qg_status qg__cu_define_opaque_class(qg_cu_t *cu, const char *name, size_t len, qg_type_t **out) QG_MUST_USE;

#endif
