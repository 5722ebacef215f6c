/* Attribute values: a tagged union in the spirit of TorchScript's IValue.
 *
 * A qg_ival is a small struct passed by value. Scalars (None, bool, int, double, device) live
 * inline; strings, lists, tuples, dicts and objects point to refcounted heap parts, tensors to a
 * refcounted qg_tensor. Ownership rule: a qg_ival variable owns one reference to its heap part;
 * qg_ival_copy() adds a reference, qg_ival_release() drops it and resets the variable to None.
 * Containers take ownership of the values stored into them.
 *
 * The runtime extends this type into the interpreter's value (future, dtype, ...); kinds are
 * append-only. Object graphs built by the module loader are trees, so plain refcounting never
 * leaks; code that builds cycles must break them itself. */
#ifndef QG_MODULE_VALUE_H
#define QG_MODULE_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "base/strbuf.h"
#include "ir/type.h"
#include "tensor/tensor.h"

/* X(NAME, printable name). Append-only. */
#define QG_IVAL_KIND_LIST(X) \
  X(NONE, "None")            \
  X(BOOL, "bool")            \
  X(INT, "int")              \
  X(DOUBLE, "float")         \
  X(STRING, "str")           \
  X(TENSOR, "Tensor")        \
  X(LIST, "list")            \
  X(TUPLE, "tuple")          \
  X(DICT, "dict")            \
  X(OBJECT, "object")        \
  X(DEVICE, "Device")        \
  X(FUTURE, "Future")

typedef enum qg_ival_kind {
#define QG__IVAL_ENUM(name, str) QG_IVAL_##name,
  QG_IVAL_KIND_LIST(QG__IVAL_ENUM)
#undef QG__IVAL_ENUM
  QG_IVAL_KIND_COUNT
} qg_ival_kind;

typedef struct qg_ival_string qg_ival_string;
typedef struct qg_ival_list qg_ival_list;
typedef struct qg_ival_dict qg_ival_dict;
typedef struct qg_ival_object qg_ival_object;

typedef struct qg_ival {
  qg_ival_kind kind;
  union {
    int b;                 /* BOOL: 0 or 1 */
    int64_t i;             /* INT */
    double d;              /* DOUBLE */
    qg_device device;      /* DEVICE */
    qg_tensor *tensor;     /* TENSOR: one reference */
    qg_ival_string *str;   /* STRING */
    qg_ival_list *list;    /* LIST and TUPLE; FUTURE: a one-item list holding the result */
    qg_ival_dict *dict;    /* DICT */
    qg_ival_object *obj;   /* OBJECT */
  } u;
} qg_ival;

struct qg_ival_string {
  int refcount;
  size_t len;
  char data[]; /* NUL-terminated; may contain embedded NULs (len is authoritative) */
};

struct qg_ival_list {
  int refcount;
  const qg_type_t *type; /* static type (List[T] / Tuple) when known, else NULL */
  size_t len, cap;
  qg_ival *items;
};

struct qg_ival_dict {
  int refcount;
  const qg_type_t *type; /* Dict(K, V) when known, else NULL */
  size_t len, cap;
  qg_ival *keys; /* insertion order, as Python dicts */
  qg_ival *values;
};

struct qg_ival_object {
  int refcount;
  const qg_type_t *type; /* a class type; the unit that owns it must outlive the object */
  size_t nslots, capslots;
  qg_ival *slots; /* in the class's slot order; grows when a pass adds a slot to the class
                   * (qg_ival_object_put), so an object stays valid for every reference */
};

/* Name of a kind ("int", "Tensor", ...). */
const char *qg_ival_kind_name(qg_ival_kind k);

/* ---- construction (scalars never fail) ------------------------------------------------- */
static inline qg_ival qg_ival_none(void) { qg_ival v = {QG_IVAL_NONE, {0}}; return v; }
static inline qg_ival qg_ival_bool(int b) { qg_ival v = {QG_IVAL_BOOL, {0}}; v.u.b = b != 0; return v; }
static inline qg_ival qg_ival_int(int64_t i) { qg_ival v = {QG_IVAL_INT, {0}}; v.u.i = i; return v; }
static inline qg_ival qg_ival_double(double d) { qg_ival v = {QG_IVAL_DOUBLE, {0}}; v.u.d = d; return v; }
static inline qg_ival qg_ival_device(qg_device d) { qg_ival v = {QG_IVAL_DEVICE, {0}}; v.u.device = d; return v; }
/* Takes over the caller's reference to t. */
static inline qg_ival qg_ival_tensor(qg_tensor *t) { qg_ival v = {QG_IVAL_TENSOR, {0}}; v.u.tensor = t; return v; }

/* A string value holding a copy of s[0..len). */
qg_status qg_ival_string_new(const char *s, size_t len, qg_ival *out) QG_MUST_USE;
/* An empty list (kind QG_IVAL_LIST) or tuple (QG_IVAL_TUPLE) with room for `reserve` items. */
qg_status qg_ival_list_new(qg_ival_kind kind, size_t reserve, qg_ival *out) QG_MUST_USE;
/* Appends item (ownership moves into the list, also on failure, where it is released). */
qg_status qg_ival_list_push(qg_ival *list, qg_ival item) QG_MUST_USE;
qg_status qg_ival_dict_new(qg_ival *out) QG_MUST_USE;
/* Inserts or replaces key -> value (both owned by the dict afterwards, released on failure). */
qg_status qg_ival_dict_put(qg_ival *dict, qg_ival key, qg_ival value) QG_MUST_USE;
/* A new object of class `cls` with every slot None. */
qg_status qg_ival_object_new(const qg_type_t *cls, qg_ival *out) QG_MUST_USE;
/* A completed future (prim::fork runs its body at once) holding `value` (ownership moves in,
 * also on failure, where it is released). Its result is out->u.list->items[0]. */
qg_status qg_ival_future_new(qg_ival value, qg_ival *out) QG_MUST_USE;

/* ---- ownership ------------------------------------------------------------------------- */
/* Returns v with one more reference (no allocation). */
qg_ival qg_ival_copy(qg_ival v);
/* Drops v's reference and sets *v to None. NULL is a no-op. */
void qg_ival_release(qg_ival *v);
/* Replaces obj's slot i (ownership of v moves in; the old value is released). */
void qg_ival_object_set(qg_ival *obj, size_t i, qg_ival v);

/* Sets obj's slot `slot` (ownership of v moves in, also on failure). A slot the class gained
 * after the object was made (qg_class_add_slot) is added to the object first. NOT_FOUND if the
 * class has no such slot. */
qg_status qg_ival_object_put(qg_ival *obj, const char *slot, qg_ival v) QG_MUST_USE;
/* A deep copy, like Python's copy.deepcopy of a module: objects, lists, tuples and dicts are
 * copied recursively, tensors are cloned (new storage); strings and scalars are shared. */
qg_status qg_ival_deepcopy(const qg_ival *v, qg_ival *out) QG_MUST_USE;

/* ---- access ---------------------------------------------------------------------------- */
static inline const char *qg_ival_str(const qg_ival *v) { return v->u.str->data; }
/* Number of items of a list, tuple or dict; 0 otherwise. */
size_t qg_ival_len(const qg_ival *v);
/* Slot of an object by name, or NULL. */
const qg_ival *qg_ival_object_get(const qg_ival *obj, const char *slot);

/* Deep equality: same kind and contents; tensors by dtype, shape and bytes; objects by class
 * name and slots; doubles bitwise-equal or both NaN. */
int qg_ival_equal(const qg_ival *a, const qg_ival *b);

/* Appends a one-line summary for humans ("[1, 2]", "Float[4, 3]", "__torch__.M {...}"). */
void qg_ival_describe(const qg_ival *v, qg_strbuf *out);

/* Does v fit static type t (as a slot value)? An int fits float. Returns 1 or 0. */
int qg_ival_fits_type(const qg_ival *v, const qg_type_t *t);
/* The same with every detailed tensor type taken as plain Tensor (dtype and sizes not checked):
 * PyTorch checks method arguments against the unshaped schema of the graph. */
int qg_ival_fits_unshaped_type(const qg_ival *v, const qg_type_t *t);

/* Formats a double so that strtod reads it back exactly and it cannot be read as an int
 * ("1.0", "0.5", "1e-05", "inf", "-inf", "nan"). */
void qg_format_double(double d, qg_strbuf *out);

#endif
