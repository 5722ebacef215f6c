/* Attribute values: construction, refcounting, equality, type fit. */
#include "module/value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "tensor/tensor_ops.h"

static const char *const kind_names[QG_IVAL_KIND_COUNT] = {
#define QG__IVAL_NAME(name, str) [QG_IVAL_##name] = str,
    QG_IVAL_KIND_LIST(QG__IVAL_NAME)
#undef QG__IVAL_NAME
};

const char *qg_ival_kind_name(qg_ival_kind k) {
  return (unsigned)k < QG_IVAL_KIND_COUNT ? kind_names[k] : "?";
}

qg_status qg_ival_string_new(const char *s, size_t len, qg_ival *out) {
  if (len > SIZE_MAX - sizeof(qg_ival_string) - 1) return qg_oom("a string value");
  qg_ival_string *p = qg__malloc(sizeof *p + len + 1);
  if (!p) return qg_oom("a string value");
  p->refcount = 1;
  p->len = len;
  if (len) memcpy(p->data, s, len);
  p->data[len] = '\0';
  out->kind = QG_IVAL_STRING;
  out->u.str = p;
  return QG_OK;
}

qg_status qg_ival_list_new(qg_ival_kind kind, size_t reserve, qg_ival *out) {
  QG_ASSERT(kind == QG_IVAL_LIST || kind == QG_IVAL_TUPLE);
  qg_ival_list *p = qg__calloc(1, sizeof *p);
  if (!p) return qg_oom("a list value");
  p->refcount = 1;
  if (reserve && qg__grow((void **)&p->items, &p->cap, reserve, sizeof(qg_ival))) {
    qg__free(p);
    return qg_oom("a list value");
  }
  out->kind = kind;
  out->u.list = p;
  return QG_OK;
}

qg_status qg_ival_list_push(qg_ival *list, qg_ival item) {
  QG_ASSERT(list->kind == QG_IVAL_LIST || list->kind == QG_IVAL_TUPLE);
  qg_ival_list *p = list->u.list;
  if (qg__grow((void **)&p->items, &p->cap, p->len + 1, sizeof(qg_ival))) {
    qg_ival_release(&item);
    return qg_oom("a list item");
  }
  p->items[p->len++] = item;
  return QG_OK;
}

qg_status qg_ival_future_new(qg_ival value, qg_ival *out) {
  qg_ival f;
  qg_status st = qg_ival_list_new(QG_IVAL_TUPLE, 1, &f);
  if (st != QG_OK) {
    qg_ival_release(&value);
    return st;
  }
  f.u.list->items[f.u.list->len++] = value; /* room reserved above */
  f.kind = QG_IVAL_FUTURE;
  *out = f;
  return QG_OK;
}

qg_status qg_ival_dict_new(qg_ival *out) {
  qg_ival_dict *p = qg__calloc(1, sizeof *p);
  if (!p) return qg_oom("a dict value");
  p->refcount = 1;
  out->kind = QG_IVAL_DICT;
  out->u.dict = p;
  return QG_OK;
}

qg_status qg_ival_dict_put(qg_ival *dict, qg_ival key, qg_ival value) {
  QG_ASSERT(dict->kind == QG_IVAL_DICT);
  qg_ival_dict *p = dict->u.dict;
  for (size_t i = 0; i < p->len; i++) {
    if (qg_ival_equal(&p->keys[i], &key)) {
      qg_ival_release(&key);
      qg_ival_release(&p->values[i]);
      p->values[i] = value;
      return QG_OK;
    }
  }
  if (p->len == p->cap) {
    /* Grow both arrays to the same capacity; keep the old ones valid until both succeed. */
    size_t cap = p->cap ? p->cap * 2 : 4;
    qg_ival *k = qg__malloc(cap * sizeof *k);
    qg_ival *v = qg__malloc(cap * sizeof *v);
    if (!k || !v) {
      qg__free(k);
      qg__free(v);
      qg_ival_release(&key);
      qg_ival_release(&value);
      return qg_oom("a dict entry");
    }
    if (p->len) {
      memcpy(k, p->keys, p->len * sizeof *k);
      memcpy(v, p->values, p->len * sizeof *v);
    }
    qg__free(p->keys);
    qg__free(p->values);
    p->keys = k;
    p->values = v;
    p->cap = cap;
  }
  p->keys[p->len] = key;
  p->values[p->len] = value;
  p->len++;
  return QG_OK;
}

qg_status qg_ival_object_new(const qg_type_t *cls, qg_ival *out) {
  QG_ASSERT(cls && cls->kind == QG_TYPE_CLASS);
  size_t n = cls->nslots;
  qg_ival_object *p = qg__calloc(1, sizeof *p);
  if (!p) return qg_oom("an object");
  if (n && !(p->slots = qg__calloc(n, sizeof *p->slots))) {
    qg__free(p);
    return qg_oom("an object");
  }
  p->refcount = 1;
  p->type = cls;
  p->nslots = p->capslots = n;
  for (size_t i = 0; i < n; i++) p->slots[i] = qg_ival_none();
  out->kind = QG_IVAL_OBJECT;
  out->u.obj = p;
  return QG_OK;
}

qg_ival qg_ival_copy(qg_ival v) {
  switch (v.kind) {
  case QG_IVAL_TENSOR: qg_tensor_retain(v.u.tensor); break;
  case QG_IVAL_STRING: v.u.str->refcount++; break;
  case QG_IVAL_LIST:
  case QG_IVAL_TUPLE:
  case QG_IVAL_FUTURE: v.u.list->refcount++; break;
  case QG_IVAL_DICT: v.u.dict->refcount++; break;
  case QG_IVAL_OBJECT: v.u.obj->refcount++; break;
  default: break;
  }
  return v;
}

void qg_ival_release(qg_ival *v) {
  if (!v) return;
  switch (v->kind) {
  case QG_IVAL_TENSOR: qg_tensor_release(v->u.tensor); break;
  case QG_IVAL_STRING:
    if (--v->u.str->refcount == 0) qg__free(v->u.str);
    break;
  case QG_IVAL_LIST:
  case QG_IVAL_TUPLE:
  case QG_IVAL_FUTURE: {
    qg_ival_list *p = v->u.list;
    if (--p->refcount == 0) {
      for (size_t i = 0; i < p->len; i++) qg_ival_release(&p->items[i]);
      qg__free(p->items);
      qg__free(p);
    }
    break;
  }
  case QG_IVAL_DICT: {
    qg_ival_dict *p = v->u.dict;
    if (--p->refcount == 0) {
      for (size_t i = 0; i < p->len; i++) {
        qg_ival_release(&p->keys[i]);
        qg_ival_release(&p->values[i]);
      }
      qg__free(p->keys);
      qg__free(p->values);
      qg__free(p);
    }
    break;
  }
  case QG_IVAL_OBJECT: {
    qg_ival_object *p = v->u.obj;
    if (--p->refcount == 0) {
      for (size_t i = 0; i < p->nslots; i++) qg_ival_release(&p->slots[i]);
      qg__free(p->slots);
      qg__free(p);
    }
    break;
  }
  default: break;
  }
  *v = qg_ival_none();
}

void qg_ival_object_set(qg_ival *obj, size_t i, qg_ival v) {
  QG_ASSERT(obj->kind == QG_IVAL_OBJECT && i < obj->u.obj->nslots);
  qg_ival_release(&obj->u.obj->slots[i]);
  obj->u.obj->slots[i] = v;
}

qg_status qg_ival_object_put(qg_ival *obj, const char *slot, qg_ival v) {
  QG_ASSERT(obj->kind == QG_IVAL_OBJECT);
  qg_ival_object *p = obj->u.obj;
  long i = qg_class_find_slot(p->type, slot);
  if (i < 0) {
    qg_ival_release(&v);
    return qg_set_error(QG_STATUS_NOT_FOUND, "class %s has no attribute '%s'", p->type->qualname, slot);
  }
  if ((size_t)i >= p->nslots) {
    size_t n = p->type->nslots;
    if (qg__grow((void **)&p->slots, &p->capslots, n, sizeof *p->slots) != 0) {
      qg_ival_release(&v);
      return qg_oom("an object slot");
    }
    for (size_t k = p->nslots; k < n; k++) p->slots[k] = qg_ival_none();
    p->nslots = n;
  }
  qg_ival_object_set(obj, (size_t)i, v);
  return QG_OK;
}

qg_status qg_ival_deepcopy(const qg_ival *v, qg_ival *out) {
  *out = qg_ival_none();
  switch (v->kind) {
  case QG_IVAL_TENSOR: {
    qg_tensor *t = NULL;
    QG_TRY(qg_tensor_to_dtype(v->u.tensor, v->u.tensor->dtype, &t)); /* a contiguous copy */
    *out = qg_ival_tensor(t);
    return QG_OK;
  }
  case QG_IVAL_LIST:
  case QG_IVAL_TUPLE: {
    const qg_ival_list *l = v->u.list;
    QG_TRY(qg_ival_list_new(v->kind, l->len, out));
    out->u.list->type = l->type;
    for (size_t i = 0; i < l->len; i++) {
      qg_ival item;
      qg_status st = qg_ival_deepcopy(&l->items[i], &item);
      if (st == QG_OK) st = qg_ival_list_push(out, item);
      if (st != QG_OK) {
        qg_ival_release(out);
        return st;
      }
    }
    return QG_OK;
  }
  case QG_IVAL_DICT: {
    const qg_ival_dict *d = v->u.dict;
    QG_TRY(qg_ival_dict_new(out));
    out->u.dict->type = d->type;
    for (size_t i = 0; i < d->len; i++) {
      qg_ival val;
      qg_status st = qg_ival_deepcopy(&d->values[i], &val);
      if (st == QG_OK) st = qg_ival_dict_put(out, qg_ival_copy(d->keys[i]), val);
      if (st != QG_OK) {
        qg_ival_release(out);
        return st;
      }
    }
    return QG_OK;
  }
  case QG_IVAL_OBJECT: {
    const qg_ival_object *o = v->u.obj;
    QG_TRY(qg_ival_object_new(o->type, out));
    for (size_t i = 0; i < o->nslots && i < out->u.obj->nslots; i++) {
      qg_status st = qg_ival_deepcopy(&o->slots[i], &out->u.obj->slots[i]);
      if (st != QG_OK) {
        qg_ival_release(out);
        return st;
      }
    }
    return QG_OK;
  }
  default: *out = qg_ival_copy(*v); return QG_OK;
  }
}

size_t qg_ival_len(const qg_ival *v) {
  switch (v->kind) {
  case QG_IVAL_LIST:
  case QG_IVAL_TUPLE: return v->u.list->len;
  case QG_IVAL_DICT: return v->u.dict->len;
  default: return 0;
  }
}

const qg_ival *qg_ival_object_get(const qg_ival *obj, const char *slot) {
  if (obj->kind != QG_IVAL_OBJECT) return NULL;
  long i = qg_class_find_slot(obj->u.obj->type, slot);
  if (i < 0 || (size_t)i >= obj->u.obj->nslots) return NULL;
  return &obj->u.obj->slots[i];
}

static int tensor_equal(const qg_tensor *a, const qg_tensor *b) {
  if (a == b) return 1;
  if (a->dtype != b->dtype || a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return 0;
  size_t n = qg_tensor_nbytes(a);
  if (n == 0) return 1;
  /* Loaded and created tensors are contiguous; compare strided ones by refusing equality
   * rather than reading out of layout. */
  if (!qg_tensor_is_contiguous(a) || !qg_tensor_is_contiguous(b)) return 0;
  return memcmp(qg_tensor_data(a), qg_tensor_data(b), n) == 0;
}

int qg_ival_equal(const qg_ival *a, const qg_ival *b) {
  if (a->kind != b->kind) return 0;
  switch (a->kind) {
  case QG_IVAL_NONE: return 1;
  case QG_IVAL_BOOL: return a->u.b == b->u.b;
  case QG_IVAL_INT: return a->u.i == b->u.i;
  case QG_IVAL_DOUBLE:
    return (isnan(a->u.d) && isnan(b->u.d)) || memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;
  case QG_IVAL_DEVICE:
    return a->u.device.kind == b->u.device.kind && a->u.device.index == b->u.device.index;
  case QG_IVAL_STRING:
    return a->u.str->len == b->u.str->len && memcmp(a->u.str->data, b->u.str->data, a->u.str->len) == 0;
  case QG_IVAL_TENSOR: return tensor_equal(a->u.tensor, b->u.tensor);
  case QG_IVAL_LIST:
  case QG_IVAL_TUPLE:
  case QG_IVAL_FUTURE: {
    const qg_ival_list *x = a->u.list, *y = b->u.list;
    if (x->len != y->len) return 0;
    for (size_t i = 0; i < x->len; i++)
      if (!qg_ival_equal(&x->items[i], &y->items[i])) return 0;
    return 1;
  }
  case QG_IVAL_DICT: {
    const qg_ival_dict *x = a->u.dict, *y = b->u.dict;
    if (x->len != y->len) return 0;
    for (size_t i = 0; i < x->len; i++)
      if (!qg_ival_equal(&x->keys[i], &y->keys[i]) || !qg_ival_equal(&x->values[i], &y->values[i]))
        return 0;
    return 1;
  }
  case QG_IVAL_OBJECT: {
    const qg_ival_object *x = a->u.obj, *y = b->u.obj;
    if (x == y) return 1;
    if (strcmp(x->type->qualname, y->type->qualname) != 0 || x->nslots != y->nslots) return 0;
    for (size_t i = 0; i < x->nslots; i++)
      if (!qg_ival_equal(&x->slots[i], &y->slots[i])) return 0;
    return 1;
  }
  default: return 0;
  }
}

void qg_format_double(double d, qg_strbuf *out) {
  if (isnan(d)) {
    qg_strbuf_append(out, "nan");
    return;
  }
  if (isinf(d)) {
    qg_strbuf_append(out, d < 0 ? "-inf" : "inf");
    return;
  }
  /* Shortest %g form that reads back exactly (as Python's repr does). If p digits read back,
   * so do p + 1 (the nearer p + 1 digit decimal is at least as close), so the shortest
   * precision is found by bisection: about 4 conversions instead of up to 17 (per-channel
   * scales, stored as float64 copies of float32 values, need 16-17 digits). */
  char buf[400], best[400]; /* %g of a double: at most ~330 characters as far as GCC can tell */
  snprintf(best, sizeof best, "%.17g", d); /* 17 digits always read back */
  int lo = 1, hi = 17;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    snprintf(buf, sizeof buf, "%.*g", mid, d);
    if (strtod(buf, NULL) == d) {
      hi = mid;
      memcpy(best, buf, sizeof best);
    } else {
      lo = mid + 1;
    }
  }
  qg_strbuf_append(out, best);
  if (!strpbrk(best, ".eEn")) qg_strbuf_append(out, ".0");
}

void qg_ival_describe(const qg_ival *v, qg_strbuf *out) {
  switch (v->kind) {
  case QG_IVAL_NONE: qg_strbuf_append(out, "None"); break;
  case QG_IVAL_BOOL: qg_strbuf_append(out, v->u.b ? "True" : "False"); break;
  case QG_IVAL_INT: qg_strbuf_printf(out, "%lld", (long long)v->u.i); break;
  case QG_IVAL_DOUBLE: qg_format_double(v->u.d, out); break;
  case QG_IVAL_STRING: qg_strbuf_append_quoted(out, v->u.str->data); break;
  case QG_IVAL_DEVICE:
    qg_strbuf_append(out, v->u.device.kind == QG_DEVICE_CUDA ? "cuda" : "cpu");
    if (v->u.device.index >= 0) qg_strbuf_printf(out, ":%d", v->u.device.index);
    break;
  case QG_IVAL_TENSOR: {
    const qg_tensor *t = v->u.tensor;
    qg_strbuf_append(out, qg_dtype_info(t->dtype)->ir_name);
    qg_strbuf_putc(out, '[');
    for (int i = 0; i < t->ndim; i++) qg_strbuf_printf(out, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    qg_strbuf_putc(out, ']');
    break;
  }
  case QG_IVAL_LIST:
  case QG_IVAL_TUPLE: {
    const qg_ival_list *p = v->u.list;
    qg_strbuf_putc(out, v->kind == QG_IVAL_LIST ? '[' : '(');
    for (size_t i = 0; i < p->len; i++) {
      if (i) qg_strbuf_append(out, ", ");
      qg_ival_describe(&p->items[i], out);
    }
    if (v->kind == QG_IVAL_TUPLE && p->len == 1) qg_strbuf_putc(out, ',');
    qg_strbuf_putc(out, v->kind == QG_IVAL_LIST ? ']' : ')');
    break;
  }
  case QG_IVAL_DICT: {
    const qg_ival_dict *p = v->u.dict;
    qg_strbuf_putc(out, '{');
    for (size_t i = 0; i < p->len; i++) {
      if (i) qg_strbuf_append(out, ", ");
      qg_ival_describe(&p->keys[i], out);
      qg_strbuf_append(out, ": ");
      qg_ival_describe(&p->values[i], out);
    }
    qg_strbuf_putc(out, '}');
    break;
  }
  case QG_IVAL_OBJECT: qg_strbuf_printf(out, "%s {...}", v->u.obj->type->qualname); break;
  case QG_IVAL_FUTURE:
    qg_strbuf_append(out, "Future(");
    if (v->u.list->len) qg_ival_describe(&v->u.list->items[0], out);
    qg_strbuf_putc(out, ')');
    break;
  default: qg_strbuf_append(out, "?"); break;
  }
}

static int fits(const qg_ival *v, const qg_type_t *t, int shaped) {
  switch (t->kind) {
  case QG_TYPE_ANY: return 1;
  case QG_TYPE_TENSOR: return v->kind == QG_IVAL_TENSOR;
  case QG_TYPE_TENSOR_DETAILED:
    if (v->kind != QG_IVAL_TENSOR) return 0;
    if (!shaped) return 1;
    if (t->tensor.has_dtype && t->tensor.dtype != v->u.tensor->dtype) return 0;
    if (t->tensor.ndim >= 0 && t->tensor.ndim != v->u.tensor->ndim) return 0;
    return 1;
  case QG_TYPE_INT:
  case QG_TYPE_SCALAR_TYPE:
  case QG_TYPE_LAYOUT:
  case QG_TYPE_MEMORY_FORMAT: return v->kind == QG_IVAL_INT;
  case QG_TYPE_FLOAT: return v->kind == QG_IVAL_DOUBLE || v->kind == QG_IVAL_INT;
  case QG_TYPE_NUMBER:
    return v->kind == QG_IVAL_DOUBLE || v->kind == QG_IVAL_INT || v->kind == QG_IVAL_BOOL;
  case QG_TYPE_BOOL: return v->kind == QG_IVAL_BOOL;
  case QG_TYPE_STR: return v->kind == QG_IVAL_STRING;
  case QG_TYPE_NONE: return v->kind == QG_IVAL_NONE;
  case QG_TYPE_DEVICE: return v->kind == QG_IVAL_DEVICE;
  case QG_TYPE_OPTIONAL: return v->kind == QG_IVAL_NONE || fits(v, t->elems[0], shaped);
  case QG_TYPE_UNION:
    for (size_t i = 0; i < t->nelems; i++)
      if (fits(v, t->elems[i], shaped)) return 1;
    return 0;
  case QG_TYPE_LIST:
    if (v->kind != QG_IVAL_LIST) return 0;
    for (size_t i = 0; i < v->u.list->len; i++)
      if (!fits(&v->u.list->items[i], t->elems[0], shaped)) return 0;
    return 1;
  case QG_TYPE_TUPLE:
    if (v->kind != QG_IVAL_TUPLE || v->u.list->len != t->nelems) return 0;
    for (size_t i = 0; i < t->nelems; i++)
      if (!fits(&v->u.list->items[i], t->elems[i], shaped)) return 0;
    return 1;
  case QG_TYPE_DICT:
    if (v->kind != QG_IVAL_DICT) return 0;
    for (size_t i = 0; i < v->u.dict->len; i++)
      if (!fits(&v->u.dict->keys[i], t->elems[0], shaped) ||
          !fits(&v->u.dict->values[i], t->elems[1], shaped))
        return 0;
    return 1;
  case QG_TYPE_FUTURE:
    return v->kind == QG_IVAL_FUTURE && v->u.list->len == 1 && fits(&v->u.list->items[0], t->elems[0], shaped);
  case QG_TYPE_CLASS:
    return v->kind == QG_IVAL_OBJECT && strcmp(v->u.obj->type->qualname, t->qualname) == 0;
  case QG_TYPE_INTERFACE: {
    /* Structural: the object's class must define every method of the interface. */
    if (v->kind != QG_IVAL_OBJECT) return 0;
    for (size_t i = 0; i < t->nmethods; i++)
      if (!qg_class_find_method(v->u.obj->type, t->methods[i].name)) return 0;
    return 1;
  }
  default: return 0;
  }
}

int qg_ival_fits_type(const qg_ival *v, const qg_type_t *t) { return fits(v, t, 1); }

int qg_ival_fits_unshaped_type(const qg_ival *v, const qg_type_t *t) { return fits(v, t, 0); }
