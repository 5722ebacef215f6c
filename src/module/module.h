/* Modules: a compilation unit (class types with their method graphs) plus the root object
 * (the instance tree of attribute values), plus what keeps its tensors alive (the bundle's
 * mapping) and the bundle metadata.
 *
 * A "module" in the tree is an object reached from the root through slots of kind
 * QG_SLOT_MODULE; its path is the dotted slot names from the root ("" for the root itself,
 * "layer1.0.conv1"). Attribute paths add the slot name ("layer1.0.conv1.weight").
 *
 * Bundles (docs/formats.md) are loaded and saved with qg_module_load / qg_module_save
 * (bundle.c); the module text format is in module_text.h. */
#ifndef QG_MODULE_MODULE_H
#define QG_MODULE_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "ir/type.h"
#include "module/safetensors.h"
#include "module/value.h"

/* Metadata keys of a bundle (docs/formats.md). */
#define QG_META_FORMAT "quantgraph.format"
#define QG_META_MODULE "quantgraph.module"
#define QG_META_TORCH_VERSION "quantgraph.torch_version"
#define QG_META_ENGINE "quantgraph.engine"
#define QG_META_SOURCE "quantgraph.source"
#define QG_BUNDLE_FORMAT_VERSION "1"

typedef struct qg_module {
  qg_cu_t *cu;           /* one reference */
  qg_ival root;          /* an object of a class of cu */
  qg_safetensors *file;  /* the bundle it was loaded from, or NULL */
  char *path;            /* file path, or NULL */
  /* Metadata other than quantgraph.format / quantgraph.module, in file order. */
  char **meta_keys, **meta_values;
  size_t nmeta;
} qg_module;

/* A module from a unit and a root object; takes over the caller's references to both (also on
 * failure, where they are released). */
qg_status qg_module_create(qg_cu_t *cu, qg_ival root, qg_module **out) QG_MUST_USE;
void qg_module_free(qg_module *m); /* NULL is a no-op */

/* Removes attribute `name` from class cls and from every object of that class in m's tree
 * (values released). NOT_FOUND if the class has no such slot. */
qg_status qg_module_remove_slot(qg_module *m, qg_type_t *cls, const char *name) QG_MUST_USE;

/* A deep copy of m (new unit, new objects, every tensor copied); metadata kept. */
qg_status qg_module_clone(const qg_module *m, qg_module **out) QG_MUST_USE;

/* Metadata (NULL if absent); set replaces or appends. */
const char *qg_module_meta(const qg_module *m, const char *key);
qg_status qg_module_set_meta(qg_module *m, const char *key, const char *value) QG_MUST_USE;

/* The class of an object value (NULL for non-objects). */
const qg_type_t *qg_object_class(const qg_ival *obj);

/* Submodule by dotted path ("" is the root). NOT_FOUND names the first missing component;
 * TYPE if a component is not a module slot. */
qg_status qg_module_find(const qg_module *m, const char *path, const qg_ival **out) QG_MUST_USE;
/* Any slot value by dotted path from the root ("conv.weight", "sizes"). */
qg_status qg_module_attr(const qg_module *m, const char *path, const qg_ival **out) QG_MUST_USE;

/* Visits every module object in pre-order (root first, then module slots in slot order).
 * fn returns nonzero to stop the walk. `path` is valid during the call only. */
typedef int (*qg_module_visit_fn)(const char *path, const qg_ival *obj, int depth, void *ud);
qg_status qg_module_walk(const qg_module *m, qg_module_visit_fn fn, void *ud) QG_MUST_USE;

/* Parameters of a module object and its submodules, as PyTorch's `m.parameters()`: tensors in
 * parameter slots (None skipped), each tensor counted once even if reachable twice. */
typedef struct qg_param_stats {
  size_t tensors; /* number of parameter tensors */
  int64_t numel;  /* total elements */
  size_t bytes;   /* total bytes */
} qg_param_stats;
qg_status qg_module_param_stats(const qg_ival *obj, qg_param_stats *out) QG_MUST_USE;

/* ---- bundles (bundle.c) ---------------------------------------------------------------- */

/* Loads and validates a bundle. Every error names the file and the place (tensor name and
 * byte offset, or line:col in the module text). Tensors are not copied: they view the mapped
 * file, which stays mapped while the module or any of its tensors lives. The mapping is
 * copy-on-write: in-place ops on loaded tensors work and copy only the pages they change; the
 * file is never modified. */
qg_status qg_module_load(const char *path, qg_module **out) QG_MUST_USE;
/* Saves atomically: the file at `path` is replaced whole, or, on error, left untouched. */
qg_status qg_module_save(const qg_module *m, const char *path) QG_MUST_USE;

#endif
