/* Module objects: creation, metadata, lookup by dotted path, walking, parameter counts. */
#include "module/module.h"

#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"

qg_status qg_module_create(qg_cu_t *cu, qg_ival root, qg_module **out) {
  if (root.kind != QG_IVAL_OBJECT) {
    qg_ival_release(&root);
    qg_cu_release(cu);
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "the root of a module must be an object");
  }
  qg_module *m = qg__calloc(1, sizeof *m);
  if (!m) {
    qg_ival_release(&root);
    qg_cu_release(cu);
    return qg_oom("a module");
  }
  m->cu = cu;
  m->root = root;
  *out = m;
  return QG_OK;
}

void qg_module_free(qg_module *m) {
  if (!m) return;
  /* Objects point at the unit's classes, and tensors into the file: release in that order. */
  qg_ival_release(&m->root);
  qg_cu_release(m->cu);
  qg_safetensors_close(m->file);
  for (size_t i = 0; i < m->nmeta; i++) {
    qg__free(m->meta_keys[i]);
    qg__free(m->meta_values[i]);
  }
  qg__free(m->meta_keys);
  qg__free(m->meta_values);
  qg__free(m->path);
  qg__free(m);
}

const char *qg_module_meta(const qg_module *m, const char *key) {
  for (size_t i = 0; i < m->nmeta; i++)
    if (strcmp(m->meta_keys[i], key) == 0) return m->meta_values[i];
  return NULL;
}

qg_status qg_module_set_meta(qg_module *m, const char *key, const char *value) {
  char *v = qg__strdup(value);
  if (!v) return qg_oom("module metadata");
  for (size_t i = 0; i < m->nmeta; i++) {
    if (strcmp(m->meta_keys[i], key) == 0) {
      qg__free(m->meta_values[i]);
      m->meta_values[i] = v;
      return QG_OK;
    }
  }
  char *k = qg__strdup(key);
  char **nk = k ? qg__realloc(m->meta_keys, (m->nmeta + 1) * sizeof *nk) : NULL;
  if (nk) m->meta_keys = nk;
  char **nv = nk ? qg__realloc(m->meta_values, (m->nmeta + 1) * sizeof *nv) : NULL;
  if (nv) m->meta_values = nv;
  if (!nv) {
    qg__free(k);
    qg__free(v);
    return qg_oom("module metadata");
  }
  m->meta_keys[m->nmeta] = k;
  m->meta_values[m->nmeta++] = v;
  return QG_OK;
}

const qg_type_t *qg_object_class(const qg_ival *obj) {
  return obj->kind == QG_IVAL_OBJECT ? obj->u.obj->type : NULL;
}

/* Follows path components through object slots. If modules_only, every component must be a
 * module slot. */
static qg_status resolve(const qg_module *m, const char *path, int modules_only, const qg_ival **out) {
  const qg_ival *cur = &m->root;
  const char *p = path;
  if (*p == '\0') {
    if (!modules_only) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "empty attribute path");
    *out = cur;
    return QG_OK;
  }
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (cur->kind != QG_IVAL_OBJECT)
      return qg_set_error(QG_STATUS_TYPE, "'%.*s' in path '%s': the value before it is a %s, not an object", (int)n, p,
                          path, qg_ival_kind_name(cur->kind));
    const qg_type_t *cls = cur->u.obj->type;
    long idx = -1;
    for (size_t i = 0; i < cls->nslots; i++)
      if (strlen(cls->slots[i].name) == n && memcmp(cls->slots[i].name, p, n) == 0) idx = (long)i;
    if (idx < 0)
      return qg_set_error(QG_STATUS_NOT_FOUND, "path '%s': %s has no attribute '%.*s'", path, cls->qualname, (int)n, p);
    if (modules_only && cls->slots[idx].kind != QG_SLOT_MODULE)
      return qg_set_error(QG_STATUS_TYPE, "path '%s': '%.*s' of %s is a %s, not a module", path, (int)n, p,
                          cls->qualname, qg_slot_kind_name(cls->slots[idx].kind));
    cur = &cur->u.obj->slots[idx];
    if (!dot) break;
    p = dot + 1;
  }
  *out = cur;
  return QG_OK;
}

qg_status qg_module_find(const qg_module *m, const char *path, const qg_ival **out) {
  return resolve(m, path, 1, out);
}

qg_status qg_module_attr(const qg_module *m, const char *path, const qg_ival **out) {
  return resolve(m, path, 0, out);
}

static qg_status walk(const qg_ival *obj, qg_strbuf *path, int depth, qg_module_visit_fn fn, void *ud, int *stop) {
  QG_TRY(qg_strbuf_ok(path));
  if (fn(qg_strbuf_cstr(path), obj, depth, ud)) {
    *stop = 1;
    return QG_OK;
  }
  const qg_type_t *cls = obj->u.obj->type;
  for (size_t i = 0; i < cls->nslots && !*stop; i++) {
    const qg_ival *v = &obj->u.obj->slots[i];
    if (cls->slots[i].kind != QG_SLOT_MODULE || v->kind != QG_IVAL_OBJECT) continue;
    size_t mark = path->len;
    if (mark) qg_strbuf_putc(path, '.');
    qg_strbuf_append(path, cls->slots[i].name);
    qg_status s = walk(v, path, depth + 1, fn, ud, stop);
    path->len = mark;
    if (path->data) path->data[mark] = '\0';
    QG_TRY(s);
  }
  return QG_OK;
}

qg_status qg_module_walk(const qg_module *m, qg_module_visit_fn fn, void *ud) {
  qg_strbuf path = QG_STRBUF_INIT;
  qg_strbuf_append(&path, "");
  int stop = 0;
  qg_status s = walk(&m->root, &path, 0, fn, ud, &stop);
  qg_strbuf_free(&path);
  return s;
}

typedef struct seen_tensors {
  const qg_tensor **data;
  size_t len, cap;
} seen_tensors;

static qg_status collect_params(const qg_ival *obj, seen_tensors *seen, qg_param_stats *st) {
  const qg_type_t *cls = obj->u.obj->type;
  for (size_t i = 0; i < obj->u.obj->nslots; i++) {
    const qg_ival *v = &obj->u.obj->slots[i];
    if (cls->slots[i].kind == QG_SLOT_MODULE && v->kind == QG_IVAL_OBJECT) {
      QG_TRY(collect_params(v, seen, st));
      continue;
    }
    if (cls->slots[i].kind != QG_SLOT_PARAMETER || v->kind != QG_IVAL_TENSOR) continue;
    int dup = 0;
    for (size_t k = 0; k < seen->len && !dup; k++) dup = seen->data[k] == v->u.tensor;
    if (dup) continue;
    if (qg__grow((void **)&seen->data, &seen->cap, seen->len + 1, sizeof *seen->data))
      return qg_oom("parameter statistics");
    seen->data[seen->len++] = v->u.tensor;
    st->tensors++;
    st->numel += qg_tensor_numel(v->u.tensor);
    st->bytes += qg_tensor_nbytes(v->u.tensor);
  }
  return QG_OK;
}

qg_status qg_module_param_stats(const qg_ival *obj, qg_param_stats *out) {
  *out = (qg_param_stats){0};
  if (obj->kind != QG_IVAL_OBJECT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "parameter statistics need an object, not %s",
                        qg_ival_kind_name(obj->kind));
  seen_tensors seen = {0};
  qg_status s = collect_params(obj, &seen, out);
  qg__free(seen.data);
  return s;
}

static void drop_slot(qg_ival *obj, const qg_type_t *cls, size_t i) {
  qg_ival_object *o = obj->u.obj;
  for (size_t k = 0; k < o->nslots; k++) /* children first: the tree may hold cls deeper */
    if (o->type->slots[k].kind == QG_SLOT_MODULE && o->slots[k].kind == QG_IVAL_OBJECT) drop_slot(&o->slots[k], cls, i);
  if (o->type != cls || i >= o->nslots) return;
  qg_ival_release(&o->slots[i]);
  memmove(&o->slots[i], &o->slots[i + 1], (o->nslots - i - 1) * sizeof *o->slots);
  o->nslots--;
}

qg_status qg_module_remove_slot(qg_module *m, qg_type_t *cls, const char *name) {
  long i = qg_class_find_slot(cls, name);
  if (i < 0) return qg_set_error(QG_STATUS_NOT_FOUND, "class %s has no attribute '%s'", cls->qualname, name);
  drop_slot(&m->root, cls, (size_t)i);
  qg_class_remove_slot(cls, (size_t)i);
  return QG_OK;
}
