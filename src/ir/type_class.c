/* Nominal types: classes (modules and plain classes), interfaces and free functions, owned by
 * their compilation unit and found by qualified name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/ir.h"
#include "ir/type_impl.h"

const char *qg_slot_kind_name(qg_slot_kind k) {
  switch (k) {
  case QG_SLOT_PARAMETER: return "parameter";
  case QG_SLOT_BUFFER: return "buffer";
  case QG_SLOT_MODULE: return "module";
  case QG_SLOT_ATTRIBUTE: return "attribute";
  }
  return "?";
}

qg_type_t *qg_cu_find(const qg_cu_t *cu, const char *qualname) { return qg_hashmap_get(&cu->named, qualname); }
size_t qg_cu_ntypes(const qg_cu_t *cu) { return cu->nominal.len; }
qg_type_t *qg_cu_type_at(const qg_cu_t *cu, size_t i) {
  QG_ASSERT(i < cu->nominal.len);
  return cu->nominal.data[i];
}

/* The printed form of a nominal type (c10's str()): classes print their qualified name,
 * interfaces `InterfaceType<Name>` with the unqualified name, functions `Function`. Sets
 * t->str; OOM only for interfaces. */
static qg_status set_str(qg_type_t *t) {
  if (t->kind == QG_TYPE_FUNCTION) {
    t->str = "Function";
  } else if (t->kind == QG_TYPE_INTERFACE) {
    const char *dot = strrchr(t->qualname, '.');
    qg_strbuf b = QG_STRBUF_INIT;
    qg_strbuf_printf(&b, "InterfaceType<%s>", dot ? dot + 1 : t->qualname);
    if (qg_strbuf_ok(&b) != QG_OK) {
      qg_strbuf_free(&b);
      return qg_oom("interface type name");
    }
    t->str = qg_strbuf_detach(&b);
  } else {
    t->str = t->qualname;
  }
  return QG_OK;
}

static int owns_str(const qg_type_t *t) { return t->kind == QG_TYPE_INTERFACE && t->str != t->qualname; }

void qg__nominal_free_str(qg_type_t *t) {
  if (owns_str(t)) qg__free((void *)t->str);
  t->str = NULL;
}

/* Registers a new nominal type; on failure nothing is left behind. */
static qg_status add_nominal(qg_cu_t *cu, qg_type_kind kind, const char *name, size_t len, qg_type_t **out) {
  *out = NULL;
  qg_type_t *t = qg__calloc(1, sizeof *t);
  if (!t) return qg_oom("class type");
  t->kind = kind;
  t->cu = cu;
  t->qualname = qg__strndup(name, len);
  if (!t->qualname) goto oom;
  if (set_str(t) != QG_OK) goto oom;
  if (QG_VEC_RESERVE(&cu->nominal, cu->nominal.len + 1) != 0) goto oom;
  if (qg_hashmap_put(&cu->named, t->qualname, t) != 0) goto oom;
  cu->nominal.data[cu->nominal.len++] = t;
  *out = t;
  return QG_OK;
oom:
  if (t->str) qg__nominal_free_str(t);
  qg__free(t->qualname);
  qg__free(t);
  return qg_oom("class type");
}

qg_status qg__cu_define_opaque(qg_cu_t *cu, qg_type_kind kind, const char *name, size_t len, qg_type_t **out) {
  QG_ASSERT(kind == QG_TYPE_CLASS || kind == QG_TYPE_INTERFACE);
  QG_TRY(add_nominal(cu, kind, name, len, out));
  (*out)->is_opaque = 1;
  return QG_OK;
}

qg_type_t *qg__cu_find_interface(const qg_cu_t *cu, const char *name, size_t len) {
  for (size_t i = 0; i < cu->nominal.len; i++) {
    qg_type_t *t = cu->nominal.data[i];
    if (t->kind != QG_TYPE_INTERFACE) continue;
    size_t ql = strlen(t->qualname);
    if (ql == len && memcmp(t->qualname, name, len) == 0) return t;
    if (ql > len && t->qualname[ql - len - 1] == '.' && memcmp(t->qualname + ql - len, name, len) == 0) return t;
  }
  return NULL;
}

/* An existing opaque type may be completed as a class or interface of the same name. */
static qg_status define_named(qg_cu_t *cu, const char *qualname, qg_type_kind kind, qg_type_t **out) {
  *out = NULL;
  if (!qualname || !*qualname) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "defining a type: empty name");
  qg_type_t *old = qg_cu_find(cu, qualname);
  if (old) {
    if (!old->is_opaque || old->kind == QG_TYPE_FUNCTION)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "type '%s' is already defined in this unit", qualname);
    if (old->kind != kind) {
      qg_type_t tmp = *old;
      tmp.kind = kind;
      QG_TRY(set_str(&tmp));
      qg__nominal_free_str(old);
      old->kind = kind;
      old->str = tmp.str;
    }
    old->is_opaque = 0;
    *out = old;
    return QG_OK;
  }
  return add_nominal(cu, kind, qualname, strlen(qualname), out);
}

qg_status qg_cu_define_class(qg_cu_t *cu, const char *qualname, int is_module, qg_type_t **out) {
  QG_TRY(define_named(cu, qualname, QG_TYPE_CLASS, out));
  (*out)->is_module = is_module != 0;
  return QG_OK;
}

qg_status qg_cu_define_interface(qg_cu_t *cu, const char *qualname, qg_type_t **out) {
  return define_named(cu, qualname, QG_TYPE_INTERFACE, out);
}

/* Appends a method slot (name copied); the graph is attached by the caller on success. */
static qg_status push_method(qg_type_t *t, const char *name, qg_graph_t *graph, const char *signature) {
  qg_method m = {0};
  if (qg__grow((void **)&t->methods, &t->capmethods, t->nmethods + 1, sizeof *t->methods) != 0) goto oom;
  if (!(m.name = qg__strdup(name))) goto oom;
  if (signature && !(m.signature = qg__strdup(signature))) goto oom;
  m.graph = graph;
  t->methods[t->nmethods++] = m;
  return QG_OK;
oom:
  qg__free(m.name);
  return qg_oom("method");
}

qg_status qg_cu_define_function(qg_cu_t *cu, const char *qualname, qg_graph_t *graph, qg_type_t **out) {
  *out = NULL;
  qg_status st;
  if (!graph) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "defining function '%s': no graph", qualname);
  if (qg_graph_cu(graph) != cu) {
    st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "defining function '%s': the graph belongs to another unit", qualname);
    goto fail;
  }
  if (qg_cu_find(cu, qualname)) {
    st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "type '%s' is already defined in this unit", qualname);
    goto fail;
  }
  qg_type_t *f;
  if ((st = add_nominal(cu, QG_TYPE_FUNCTION, qualname, strlen(qualname), &f)) != QG_OK) goto fail;
  /* The method name is the last component of the qualified name. */
  const char *dot = strrchr(qualname, '.');
  if ((st = push_method(f, dot ? dot + 1 : qualname, graph, NULL)) != QG_OK) {
    /* Roll back the registration so the unit is as before. */
    qg_hashmap_remove(&cu->named, f->qualname);
    cu->nominal.len--;
    qg__free(f->methods); /* push_method may have grown the array before failing */
    qg__free(f->qualname);
    qg__free(f);
    goto fail;
  }
  qg__graph_detach_cu_ref(graph);
  *out = f;
  return QG_OK;
fail:
  qg_graph_destroy(graph);
  return st;
}

qg_status qg_class_add_slot(qg_type_t *cls, const char *name, const qg_type_t *type, qg_slot_kind kind) {
  if (cls->kind != QG_TYPE_CLASS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "adding slot '%s' to '%s': not a class", name, cls->str);
  if (!type) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "adding slot '%s' to '%s': no type", name, cls->qualname);
  if (qg_class_find_slot(cls, name) >= 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "class '%s' already has an attribute '%s'", cls->qualname, name);
  if (qg__grow((void **)&cls->slots, &cls->capslots, cls->nslots + 1, sizeof *cls->slots) != 0)
    return qg_oom("class slot");
  char *copy = qg__strdup(name);
  if (!copy) return qg_oom("class slot name");
  cls->slots[cls->nslots++] = (qg_class_slot){copy, type, kind};
  return QG_OK;
}

void qg_class_remove_slot(qg_type_t *cls, size_t i) {
  if (i >= cls->nslots) return;
  qg__free(cls->slots[i].name);
  memmove(&cls->slots[i], &cls->slots[i + 1], (cls->nslots - i - 1) * sizeof *cls->slots);
  cls->nslots--;
}

long qg_class_find_slot(const qg_type_t *cls, const char *name) {
  for (size_t i = 0; i < cls->nslots; i++)
    if (strcmp(cls->slots[i].name, name) == 0) return (long)i;
  return -1;
}

qg_status qg_class_add_method(qg_type_t *cls, const char *name, qg_graph_t *graph) {
  qg_status st;
  if (!graph) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "adding method '%s' to '%s': no graph", name, cls->str);
  if (cls->kind != QG_TYPE_CLASS) {
    st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "adding method '%s' to '%s': not a class", name, cls->str);
  } else if (qg_graph_cu(graph) != cls->cu) {
    st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "adding method '%s' to '%s': the graph belongs to another unit",
                      name, cls->qualname);
  } else if (qg_class_find_method(cls, name)) {
    st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "class '%s' already has a method '%s'", cls->qualname, name);
  } else if ((st = push_method(cls, name, graph, NULL)) == QG_OK) {
    qg__graph_detach_cu_ref(graph);
    return QG_OK;
  }
  qg_graph_destroy(graph);
  return st;
}

qg_status qg_interface_add_method(qg_type_t *iface, const char *name, const char *schema) {
  if (iface->kind != QG_TYPE_INTERFACE)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "adding method '%s' to '%s': not an interface", name, iface->str);
  if (!schema) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "interface method '%s': no schema", name);
  if (qg_class_find_method(iface, name))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "interface '%s' already has a method '%s'", iface->qualname, name);
  return push_method(iface, name, NULL, schema);
}

qg_status qg_class_add_native_method(qg_type_t *cls, const char *name, const char *signature) {
  if (cls->kind != QG_TYPE_CLASS)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "adding method '%s' to '%s': not a class", name, cls->str);
  if (!signature) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "native method '%s': no signature", name);
  if (qg_class_find_method(cls, name))
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "class '%s' already has a method '%s'", cls->qualname, name);
  QG_TRY(push_method(cls, name, NULL, signature));
  cls->methods[cls->nmethods - 1].is_native = 1;
  return QG_OK;
}

qg_method *qg_class_find_method(const qg_type_t *cls, const char *name) {
  for (size_t i = 0; i < cls->nmethods; i++)
    if (strcmp(cls->methods[i].name, name) == 0) return &cls->methods[i];
  return NULL;
}

qg_status qg_type_demangle(const char *qualname, char *buf, size_t size) {
  static const char k_mangle[] = "___torch_mangle_";
  size_t o = 0;
  for (const char *p = qualname; *p;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    int mangled = n > sizeof k_mangle - 1 && memcmp(p, k_mangle, sizeof k_mangle - 1) == 0;
    for (size_t k = sizeof k_mangle - 1; mangled && k < n; k++)
      if (p[k] < '0' || p[k] > '9') mangled = 0;
    if (!mangled || !dot) {
      if (o + n + 2 > size) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "class name too long: %s", qualname);
      if (o) buf[o++] = '.';
      memcpy(buf + o, p, n);
      o += n;
    }
    if (!dot) break;
    p = dot + 1;
  }
  if (o + 1 > size) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "class name too long: %s", qualname);
  buf[o] = 0;
  return QG_OK;
}

static long mangle_number(const char *qualname) {
  static const char k_mangle[] = "___torch_mangle_";
  long best = -1;
  for (const char *p = strstr(qualname, k_mangle); p; p = strstr(p + 1, k_mangle)) {
    long v = strtol(p + sizeof k_mangle - 1, NULL, 10);
    if (v > best) best = v;
  }
  return best;
}

qg_status qg_cu_mangle(const qg_cu_t *cu, const char *qualname, char *buf, size_t size) {
  long next = 0;
  for (size_t i = 0; i < qg_cu_ntypes(cu); i++) {
    const qg_type_t *t = qg_cu_type_at(cu, i);
    if (t->qualname && mangle_number(t->qualname) >= next) next = mangle_number(t->qualname) + 1;
  }
  char plain[512];
  QG_TRY(qg_type_demangle(qualname, plain, sizeof plain));
  const char *dot = strrchr(plain, '.');
  for (;; next++) {
    int n = dot ? snprintf(buf, size, "%.*s.___torch_mangle_%ld.%s", (int)(dot - plain), plain, next, dot + 1)
                : snprintf(buf, size, "___torch_mangle_%ld.%s", next, plain);
    if (n < 0 || (size_t)n >= size) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "class name too long: %s", qualname);
    if (!qg_cu_find(cu, buf)) return QG_OK;
  }
}
