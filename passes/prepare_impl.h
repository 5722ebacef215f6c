/* Internals shared by the prepare passes (insert_observers.c, split_class_types.c). */
#ifndef QG_PASSES_PREPARE_IMPL_H
#define QG_PASSES_PREPARE_IMPL_H

#include "ir/ir_impl.h"
#include "module/module.h"
#include "quant/qconfig.h"

/* The effective qconfig of every module object (reference §2.1): the dict entry of its exact
 * path, else its parent's; the root's is the entry "" or None. Values are the dict entry
 * (const qg_qconfig_entry *; its is_none says None) or qg__no_qconfig when no entry applies. */
extern const qg_qconfig_entry qg__no_qconfig;
qg_status qg__fill_qconfig_map(const qg_module *m, const qg_qconfig_dict *d, qg__ptrmap *out) QG_MUST_USE;
/* The qconfig of obj from the map (NULL when None or absent). */
const qg_qconfig *qg__qconfig_of(const qg__ptrmap *map, const qg_ival *obj);

/* Splits class types shared by module objects that need different graphs (reference §2.2, but
 * keyed by (type, qconfig, child types) so that instances whose children differ also get their
 * own type, which PyTorch fails on: pytorch#54583). The first group of a type keeps the type;
 * other groups get a copy named by qg_cu_mangle with cloned method graphs. Afterwards every
 * module slot type and every GetAttr/CallMethod receiver in a method graph names the class of
 * the object it reaches. Methods that take objects other than self are rejected as PyTorch
 * does. */
qg_status qg__split_class_types(qg_module *m, const qg__ptrmap *qmap) QG_MUST_USE;

/* The object a GetAttr chain ending in `instance` reaches from `self_obj` (the object whose
 * graph holds the chain; self is that graph's input 0). NOT_FOUND with PyTorch's message if
 * the chain does not start at self; *out NULL (QG_OK) if a link is not an object. */
qg_status qg__resolve_module(const qg_ival *self_obj, const qg_value_t *instance, const qg_ival **out) QG_MUST_USE;

#endif
