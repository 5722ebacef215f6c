/* Compilation units, primitive singletons, interned structural types, printing, equality and
 * import. Classes, interfaces and functions live in type_class.c; parsing in type_parse.c.
 *
 * Interning: a structural type's key is its printed form (which is canonical: every component
 * that distinguishes two types is printed), so the unit's map from printed form to type gives
 * pointer equality for equal types within one unit. */
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/ir.h"
#include "ir/type_impl.h"

/* ---- primitives ------------------------------------------------------------------------ */

#define PRIM(k, s) [k] = {.kind = k, .str = s}
static const qg_type_t prims[QG_TYPE__PRIMITIVE_COUNT] = {
    PRIM(QG_TYPE_TENSOR, "Tensor"),
    PRIM(QG_TYPE_INT, "int"),
    PRIM(QG_TYPE_FLOAT, "float"),
    PRIM(QG_TYPE_COMPLEX, "complex"),
    PRIM(QG_TYPE_BOOL, "bool"),
    PRIM(QG_TYPE_STR, "str"),
    PRIM(QG_TYPE_NONE, "NoneType"),
    PRIM(QG_TYPE_DEVICE, "Device"),
    PRIM(QG_TYPE_NUMBER, "Scalar"),
    PRIM(QG_TYPE_ANY, "Any"),
    PRIM(QG_TYPE_SCALAR_TYPE, "ScalarType"),
    PRIM(QG_TYPE_LAYOUT, "Layout"),
    PRIM(QG_TYPE_MEMORY_FORMAT, "MemoryFormat"),
    PRIM(QG_TYPE_GENERATOR, "Generator"),
    PRIM(QG_TYPE_STORAGE, "Storage"),
    PRIM(QG_TYPE_STREAM, "Stream"),
    PRIM(QG_TYPE_CAPSULE, "Capsule"),
    PRIM(QG_TYPE_QSCHEME, "QScheme"),
    PRIM(QG_TYPE_FUNCTION_ANY, "Function"),
};
#undef PRIM

const qg_type_t *qg_type_prim(qg_type_kind kind) {
  QG_ASSERT((int)kind >= 0 && kind < QG_TYPE__PRIMITIVE_COUNT);
  return &prims[kind];
}

static int is_prim(const qg_type_t *t) { return t >= prims && t < prims + QG_TYPE__PRIMITIVE_COUNT; }
static int is_nominal(const qg_type_t *t) {
  return t->kind == QG_TYPE_CLASS || t->kind == QG_TYPE_INTERFACE || t->kind == QG_TYPE_FUNCTION;
}

/* ---- compilation units ----------------------------------------------------------------- */

qg_status qg_cu_create(qg_cu_t **out) {
  *out = NULL;
  qg_cu_t *cu = qg__calloc(1, sizeof *cu);
  if (!cu) return qg_oom("compilation unit");
  cu->refcount = 1;
  *out = cu;
  return QG_OK;
}

void qg_cu_retain(qg_cu_t *cu) {
  QG_ASSERT(cu && cu->refcount > 0);
  cu->refcount++;
}

static void free_structural(qg_type_t *t) {
  if (t->elem_names) {
    for (size_t i = 0; i < t->nelems; i++) qg__free(t->elem_names[i]);
    qg__free(t->elem_names);
  }
  qg__free((void *)t->elems);
  qg__free((void *)t->str);
  qg__free(t);
}

/* Frees a class, interface or function with its slots and methods. */
static void free_nominal(qg_type_t *t) {
  for (size_t i = 0; i < t->nmethods; i++) {
    qg_graph_destroy(t->methods[i].graph);
    qg__free(t->methods[i].name);
    qg__free(t->methods[i].signature);
  }
  qg__free(t->methods);
  for (size_t i = 0; i < t->nslots; i++) qg__free(t->slots[i].name);
  qg__free(t->slots);
  qg__nominal_free_str(t); /* classes share str with qualname; functions print a static "Function" */
  qg__free(t->qualname);
  qg__free(t);
}

void qg_cu_release(qg_cu_t *cu) {
  if (!cu) return;
  QG_ASSERT(cu->refcount > 0);
  if (--cu->refcount > 0) return;
  cu->destroying = 1;
  /* Method graphs first: they refer to the types freed below. Method graphs hold no
   * reference to the unit (see qg__graph_detach_cu_ref), so destroying them cannot recurse. */
  for (size_t i = 0; i < cu->nominal.len; i++) {
    qg_type_t *t = cu->nominal.data[i];
    for (size_t m = 0; m < t->nmethods; m++) {
      qg_graph_destroy(t->methods[m].graph);
      t->methods[m].graph = NULL;
    }
  }
  for (size_t i = 0; i < cu->nominal.len; i++) free_nominal(cu->nominal.data[i]);
  for (size_t i = 0; i < cu->structural.len; i++) free_structural(cu->structural.data[i]);
  QG_VEC_FREE(&cu->nominal);
  QG_VEC_FREE(&cu->structural);
  qg_hashmap_free(&cu->named);
  qg_hashmap_free(&cu->interned);
  qg__free(cu);
}

/* ---- printing -------------------------------------------------------------------------- */

static int strides_printable(const qg_tensor_info *ti) {
  if (ti->ndim <= 0 || !ti->has_strides) return 0;
  for (int i = 0; i < ti->ndim; i++)
    if (ti->strides[i] < 0) return 0;
  return 1;
}

/* c10's operator<< for TensorType at full verbosity. */
static void print_tensor_info(const qg_tensor_info *ti, qg_strbuf *b) {
  if (ti->has_dtype) {
    qg_strbuf_append(b, qg_dtype_info(ti->dtype)->ir_name);
    if (ti->ndim < 0) qg_strbuf_append(b, "Tensor");
  } else {
    qg_strbuf_append(b, "Tensor");
  }
  int n = 0;
  if (ti->ndim >= 0) {
    qg_strbuf_putc(b, '(');
    for (int i = 0; i < ti->ndim; i++) {
      if (i > 0) qg_strbuf_append(b, ", ");
      if (ti->sizes[i] >= 0)
        qg_strbuf_printf(b, "%lld", (long long)ti->sizes[i]);
      else
        qg_strbuf_putc(b, '*');
    }
    if (strides_printable(ti)) {
      qg_strbuf_append(b, ", strides=[");
      for (int i = 0; i < ti->ndim; i++)
        qg_strbuf_printf(b, "%s%lld", i ? ", " : "", (long long)ti->strides[i]);
      qg_strbuf_putc(b, ']');
    }
    n = ti->ndim;
    if (ti->requires_grad >= 0) qg_strbuf_printf(b, "%srequires_grad=%d", n++ > 0 ? ", " : "", ti->requires_grad);
    if (ti->has_device) qg_strbuf_printf(b, "%sdevice=%s", n++ > 0 ? ", " : "", ti->device);
    qg_strbuf_putc(b, ')');
  } else {
    if (ti->requires_grad >= 0) qg_strbuf_printf(b, "(requires_grad=%d", ti->requires_grad), n++;
    if (ti->has_device) qg_strbuf_printf(b, "%sdevice=%s", n++ > 0 ? ", " : "(", ti->device);
    if (n > 0) qg_strbuf_putc(b, ')');
  }
}

/* The printed form of a structural type made of the given parts. */
static void print_parts(qg_type_kind kind, size_t n, const qg_type_t *const *elems, const char *const *names,
                        const qg_tensor_info *ti, const char *var, qg_strbuf *b) {
  switch (kind) {
  case QG_TYPE_TENSOR_DETAILED: print_tensor_info(ti, b); return;
  case QG_TYPE_LIST: qg_strbuf_append(b, elems[0]->str); qg_strbuf_append(b, "[]"); return;
  case QG_TYPE_OPTIONAL: qg_strbuf_append(b, elems[0]->str); qg_strbuf_putc(b, '?'); return;
  case QG_TYPE_FUTURE: qg_strbuf_printf(b, "Future[%s]", elems[0]->str); return;
  case QG_TYPE_RREF: qg_strbuf_printf(b, "RRef[%s]", elems[0]->str); return;
  case QG_TYPE_VAR: qg_strbuf_append(b, var); return;
  case QG_TYPE_TUPLE:
  case QG_TYPE_DICT:
  case QG_TYPE_UNION:
    qg_strbuf_append(b, kind == QG_TYPE_DICT ? "Dict(" : kind == QG_TYPE_UNION ? "Union(" : names ? "NamedTuple(" : "(");
    for (size_t i = 0; i < n; i++) {
      if (i) qg_strbuf_append(b, ", ");
      if (names) qg_strbuf_printf(b, "%s : ", names[i]);
      qg_strbuf_append(b, elems[i]->str);
    }
    qg_strbuf_putc(b, ')');
    return;
  default: QG_ASSERT(!"not a structural type kind");
  }
}

void qg_type_print(const qg_type_t *t, qg_strbuf *out) { qg_strbuf_append(out, t->str); }

/* ---- interning ------------------------------------------------------------------------- */

static qg_status intern(qg_cu_t *cu, qg_type_kind kind, size_t n, const qg_type_t *const *elems,
                        const char *const *names, const qg_tensor_info *ti, const char *var,
                        const qg_type_t **out) {
  *out = NULL;
  QG_ASSERT(cu != NULL);
  for (size_t i = 0; i < n; i++) QG_ASSERT(elems[i] != NULL);
  qg_strbuf b = QG_STRBUF_INIT;
  print_parts(kind, n, elems, names, ti, var, &b);
  if (qg_strbuf_ok(&b) != QG_OK) {
    qg_strbuf_free(&b);
    return qg_oom("type name");
  }
  qg_type_t *found = qg_hashmap_get(&cu->interned, b.data);
  if (found) {
    qg_strbuf_free(&b);
    *out = found;
    return QG_OK;
  }
  qg_type_t *t = qg__calloc(1, sizeof *t);
  if (!t) goto oom;
  t->kind = kind;
  t->cu = cu;
  t->str = qg_strbuf_detach(&b);
  if (n) {
    const qg_type_t **e = qg__calloc(n, sizeof *e);
    if (!e) goto oom;
    memcpy(e, elems, n * sizeof *e);
    t->elems = e;
    t->nelems = n;
  }
  if (names) {
    t->elem_names = qg__calloc(n ? n : 1, sizeof(char *));
    if (!t->elem_names) goto oom;
    for (size_t i = 0; i < n; i++)
      if (!(t->elem_names[i] = qg__strdup(names[i]))) goto oom;
  }
  if (ti) t->tensor = *ti;
  if (QG_VEC_RESERVE(&cu->structural, cu->structural.len + 1) != 0) goto oom;
  if (qg_hashmap_put(&cu->interned, t->str, t) != 0) goto oom;
  cu->structural.data[cu->structural.len++] = t;
  *out = t;
  return QG_OK;
oom:
  qg_strbuf_free(&b);
  if (t) free_structural(t);
  return qg_oom("type");
}

qg_status qg_type_list(qg_cu_t *cu, const qg_type_t *elem, const qg_type_t **out) {
  return intern(cu, QG_TYPE_LIST, 1, &elem, NULL, NULL, NULL, out);
}
qg_status qg_type_optional(qg_cu_t *cu, const qg_type_t *elem, const qg_type_t **out) {
  return intern(cu, QG_TYPE_OPTIONAL, 1, &elem, NULL, NULL, NULL, out);
}
qg_status qg_type_future(qg_cu_t *cu, const qg_type_t *elem, const qg_type_t **out) {
  return intern(cu, QG_TYPE_FUTURE, 1, &elem, NULL, NULL, NULL, out);
}
qg_status qg_type_rref(qg_cu_t *cu, const qg_type_t *elem, const qg_type_t **out) {
  return intern(cu, QG_TYPE_RREF, 1, &elem, NULL, NULL, NULL, out);
}
qg_status qg_type_tuple(qg_cu_t *cu, size_t n, const qg_type_t *const *elems, const qg_type_t **out) {
  return intern(cu, QG_TYPE_TUPLE, n, elems, NULL, NULL, NULL, out);
}
qg_status qg_type_named_tuple(qg_cu_t *cu, size_t n, const char *const *names, const qg_type_t *const *elems,
                              const qg_type_t **out) {
  QG_ASSERT(names != NULL);
  return intern(cu, QG_TYPE_TUPLE, n, elems, names, NULL, NULL, out);
}
qg_status qg_type_union(qg_cu_t *cu, size_t n, const qg_type_t *const *elems, const qg_type_t **out) {
  return intern(cu, QG_TYPE_UNION, n, elems, NULL, NULL, NULL, out);
}
qg_status qg_type_dict(qg_cu_t *cu, const qg_type_t *key, const qg_type_t *value, const qg_type_t **out) {
  const qg_type_t *kv[2] = {key, value};
  return intern(cu, QG_TYPE_DICT, 2, kv, NULL, NULL, NULL, out);
}
qg_status qg_type_var(qg_cu_t *cu, const char *name, const qg_type_t **out) {
  if (!name || !*name) {
    *out = NULL;
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "qg_type_var: empty type variable name");
  }
  return intern(cu, QG_TYPE_VAR, 0, NULL, NULL, NULL, name, out);
}

qg_status qg_type_tensor_detailed(qg_cu_t *cu, const qg_tensor_info *info, const qg_type_t **out) {
  *out = NULL;
  if (info->ndim > 8)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "detailed tensor type: rank %d exceeds the maximum of 8",
                        info->ndim);
  if (info->has_dtype && ((int)info->dtype < 0 || info->dtype >= QG_DTYPE_COUNT))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "detailed tensor type: bad dtype %d", (int)info->dtype);
  /* Normalize so that equal printed forms mean equal infos (the first one interned wins). */
  qg_tensor_info ti;
  memset(&ti, 0, sizeof ti);
  ti.has_dtype = info->has_dtype != 0;
  ti.dtype = ti.has_dtype ? info->dtype : (qg_dtype)0;
  ti.ndim = info->ndim < 0 ? -1 : info->ndim;
  for (int i = 0; i < ti.ndim; i++) {
    ti.sizes[i] = info->sizes[i] < 0 ? -1 : info->sizes[i];
    ti.strides[i] = info->strides[i];
  }
  ti.has_strides = info->has_strides != 0;
  if (!strides_printable(&ti)) {
    ti.has_strides = 0;
    memset(ti.strides, 0, sizeof ti.strides);
  }
  ti.requires_grad = info->requires_grad < 0 ? -1 : info->requires_grad > 0;
  if (info->has_device && info->device[0]) {
    ti.has_device = 1;
    size_t dl = strnlen(info->device, sizeof ti.device - 1);
    memcpy(ti.device, info->device, dl);
  }
  if (!ti.has_dtype && ti.ndim < 0 && ti.requires_grad < 0 && !ti.has_device) {
    *out = qg_type_tensor();
    return QG_OK;
  }
  return intern(cu, QG_TYPE_TENSOR_DETAILED, 0, NULL, NULL, &ti, NULL, out);
}

/* ---- queries --------------------------------------------------------------------------- */

int qg_type_equal(const qg_type_t *a, const qg_type_t *b) {
  if (a == b) return 1;
  if (!a || !b || a->kind != b->kind) return 0;
  if (is_nominal(a)) return strcmp(a->qualname, b->qualname) == 0;
  return strcmp(a->str, b->str) == 0;
}

int qg_type_is_tensor(const qg_type_t *t) {
  return t && (t->kind == QG_TYPE_TENSOR || t->kind == QG_TYPE_TENSOR_DETAILED);
}

/* ---- import ---------------------------------------------------------------------------- */

qg_status qg_type_import(qg_cu_t *dst, const qg_type_t *t, const qg_type_t **out) {
  *out = NULL;
  if (is_prim(t) || t->cu == dst) {
    *out = t;
    return QG_OK;
  }
  switch (t->kind) {
  case QG_TYPE_TENSOR_DETAILED: return qg_type_tensor_detailed(dst, &t->tensor, out);
  case QG_TYPE_VAR: return qg_type_var(dst, t->str, out);
  case QG_TYPE_CLASS:
  case QG_TYPE_INTERFACE:
  case QG_TYPE_FUNCTION: {
    qg_type_t *found = qg_cu_find(dst, t->qualname);
    if (!found && t->kind != QG_TYPE_FUNCTION && t->is_opaque) {
      QG_TRY(qg__cu_define_opaque(dst, t->kind, t->qualname, strlen(t->qualname), &found));
    }
    if (!found)
      return qg_set_error(QG_STATUS_TYPE, "importing type '%s': it is not defined in the destination unit",
                          t->qualname);
    if (found->kind != t->kind)
      return qg_set_error(QG_STATUS_TYPE, "importing type '%s': the destination unit defines it as another kind",
                          t->qualname);
    *out = found;
    return QG_OK;
  }
  default: break;
  }
  /* Containers: import the parts, then intern the same shape in dst. */
  const qg_type_t *small[8];
  const qg_type_t **parts = small;
  if (t->nelems > 8) {
    parts = qg__calloc(t->nelems, sizeof *parts);
    if (!parts) return qg_oom("type import");
  }
  qg_status st = QG_OK;
  for (size_t i = 0; i < t->nelems && st == QG_OK; i++) st = qg_type_import(dst, t->elems[i], &parts[i]);
  if (st == QG_OK)
    st = intern(dst, t->kind, t->nelems, parts, (const char *const *)t->elem_names, NULL, NULL, out);
  if (parts != small) qg__free(parts);
  return st;
}
