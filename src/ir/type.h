/* TorchScript types and the compilation unit that owns them.
 *
 * Primitive types (Tensor, int, float, bool, str, NoneType, Device, Scalar, Any, ...) are
 * static singletons. Every other type (List, Optional, Tuple, Dict, Future, detailed tensor
 * types, classes, interfaces, functions) belongs to a compilation unit (qg_cu_t) and lives as
 * long as it. Structural types are interned per unit by their printed form, so within one unit
 * equal types are equal pointers; across units compare with qg_type_equal().
 *
 * Printing follows PyTorch's `str(graph)` (c10 `operator<<(ostream&, const Type&)`, which the
 * IR printer uses; checked against torch 1.13): `Tensor`, `int[]`, `Tensor?`, `int[]?`,
 * `(int, Tensor)`, `()`, `NamedTuple(a : int, b : Tensor)`, `Dict(str, Tensor)`,
 * `Future[int]` (square brackets in graphs), `RRef[int]`, `Union(int, str)`, `Scalar` (the
 * number type), `__torch__.M`, `InterfaceType<MyInterface>` (interfaces print their unqualified
 * name; the parser finds the interface by that name), `Function` (function constants), and the
 * detailed tensor forms
 * traced graphs carry:
 *   `Float(1, 3, 10, 10, strides=[300, 100, 10, 1], requires_grad=0, device=cpu)`
 *   `Float(*, 3)`            (unknown dim; strides are printed only when all are known)
 *   `Long(requires_grad=0, device=cpu)`   (rank 0)   `Long()`   (rank 0, nothing else known)
 *   `FloatTensor(requires_grad=0, device=cpu)`, `FloatTensor`   (dtype known, rank unknown)
 *   `Tensor(2, 3)`, `Tensor(requires_grad=1)`   (dtype unknown)
 * A detailed tensor type that knows nothing is the primitive `Tensor`. */
#ifndef QG_IR_TYPE_H
#define QG_IR_TYPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "base/strbuf.h"
#include "tensor/dtype.h"

typedef struct qg_cu qg_cu_t;
typedef struct qg_graph qg_graph_t;

typedef enum qg_type_kind {
  /* primitives (singletons) */
  QG_TYPE_TENSOR,       /* "Tensor" (a tensor with nothing known) */
  QG_TYPE_INT,          /* "int" */
  QG_TYPE_FLOAT,        /* "float" */
  QG_TYPE_COMPLEX,      /* "complex" */
  QG_TYPE_BOOL,         /* "bool" */
  QG_TYPE_STR,          /* "str" */
  QG_TYPE_NONE,         /* "NoneType" */
  QG_TYPE_DEVICE,       /* "Device" */
  QG_TYPE_NUMBER,       /* "Scalar" (schema) / "number" */
  QG_TYPE_ANY,          /* "Any" */
  QG_TYPE_SCALAR_TYPE,  /* "ScalarType" (schemas only; an int in graphs) */
  QG_TYPE_LAYOUT,       /* "Layout" (schemas only) */
  QG_TYPE_MEMORY_FORMAT,/* "MemoryFormat" (schemas only) */
  QG_TYPE_GENERATOR,    /* "Generator" */
  QG_TYPE_STORAGE,      /* "Storage" */
  QG_TYPE_STREAM,       /* "Stream" */
  QG_TYPE_CAPSULE,      /* "Capsule" */
  QG_TYPE_QSCHEME,      /* "QScheme" */
  QG_TYPE_FUNCTION_ANY, /* "Function" without a known function */
  QG_TYPE__PRIMITIVE_COUNT,
  /* structural (interned per compilation unit) */
  QG_TYPE_TENSOR_DETAILED = QG_TYPE__PRIMITIVE_COUNT, /* Float(2, 3, strides=..., ...) */
  QG_TYPE_LIST,     /* T[] */
  QG_TYPE_OPTIONAL, /* T? */
  QG_TYPE_TUPLE,    /* (T, U) */
  QG_TYPE_DICT,     /* Dict(K, V) */
  QG_TYPE_FUTURE,   /* Future[T] */
  QG_TYPE_RREF,     /* RRef[T] */
  QG_TYPE_UNION,    /* Union(T, U) */
  QG_TYPE_VAR,      /* a schema type variable: t, t1 */
  /* nominal (owned by the compilation unit, found by qualified name) */
  QG_TYPE_CLASS,     /* __torch__.M, __torch__.torch.classes.quantized.Conv2dPackedParamsBase */
  QG_TYPE_INTERFACE, /* qualname __torch__.MyInterface, prints InterfaceType<MyInterface> */
  QG_TYPE_FUNCTION,  /* a free function: prints as "Function" */
  QG_TYPE_KIND_COUNT
} qg_type_kind;

/* What a detailed tensor type knows; every field may be unknown. */
typedef struct qg_tensor_info {
  int has_dtype;          /* 0: printed as "Tensor(...)"  */
  qg_dtype dtype;
  int ndim;               /* -1 unknown */
  int64_t sizes[8];       /* -1 = unknown dim, printed "*" */
  int has_strides;
  int64_t strides[8];     /* -1 = unknown, printed "*" */
  int requires_grad;      /* -1 unknown, 0, 1 */
  int has_device;
  char device[24];        /* "cpu", "cuda:0" */
} qg_tensor_info;

typedef enum qg_slot_kind {
  QG_SLOT_PARAMETER,
  QG_SLOT_BUFFER,
  QG_SLOT_MODULE,
  QG_SLOT_ATTRIBUTE
} qg_slot_kind;

typedef struct qg_class_slot {
  char *name;
  const struct qg_type *type;
  qg_slot_kind kind;
} qg_class_slot;

typedef struct qg_method {
  char *name;
  qg_graph_t *graph;          /* classes and functions: owned; NULL for interface methods */
  char *signature;            /* interface methods: "forward(Tensor x) -> Tensor"; class methods and
                               * functions: their schema with defaults when the module text gives one
                               * (`signature = "..."`, docs/formats.md), else NULL */
  int is_native;              /* a C implementation (src/runtime/native.h) keyed by the class's
                               * demangled name; graph is NULL, signature holds the schema */
} qg_method;

typedef struct qg_type {
  qg_type_kind kind;
  const char *str; /* the canonical printed form, e.g. "int[]" (owned by the type / static) */
  /* structural: contained types (List: 1, Optional: 1, Tuple: n, Dict: 2, Future: 1) */
  const struct qg_type **elems;
  size_t nelems;
  char **elem_names; /* named tuples: field names, else NULL */
  qg_tensor_info tensor; /* QG_TYPE_TENSOR_DETAILED */
  /* nominal */
  char *qualname;        /* "__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d" */
  qg_cu_t *cu;           /* owning unit (borrowed back-pointer) */
  int is_module;         /* class types: a module class (has parameters/submodules slots) */
  int is_opaque;         /* created by the parser from a name it had not seen: no slots known */
  qg_class_slot *slots;  /* classes: in declaration order */
  size_t nslots, capslots;
  qg_method *methods;    /* classes, interfaces; functions: exactly one */
  size_t nmethods, capmethods;
} qg_type_t;

/* ---- compilation unit ------------------------------------------------------------------ */

/* A new empty unit with refcount 1. */
qg_status qg_cu_create(qg_cu_t **out) QG_MUST_USE;
void qg_cu_retain(qg_cu_t *cu);
/* Drops a reference; the last one frees every type, class, method graph and function. */
void qg_cu_release(qg_cu_t *cu);

/* ---- primitive and structural types ---------------------------------------------------- */

const qg_type_t *qg_type_prim(qg_type_kind kind); /* kind < QG_TYPE__PRIMITIVE_COUNT */
#define qg_type_tensor() qg_type_prim(QG_TYPE_TENSOR)
#define qg_type_int() qg_type_prim(QG_TYPE_INT)
#define qg_type_float() qg_type_prim(QG_TYPE_FLOAT)
#define qg_type_bool() qg_type_prim(QG_TYPE_BOOL)
#define qg_type_str() qg_type_prim(QG_TYPE_STR)
#define qg_type_none() qg_type_prim(QG_TYPE_NONE)
#define qg_type_device() qg_type_prim(QG_TYPE_DEVICE)
#define qg_type_any() qg_type_prim(QG_TYPE_ANY)

/* Each returns the unit's interned type (creating it on first use). OOM on failure. */
qg_status qg_type_list(qg_cu_t *cu, const qg_type_t *elem, const qg_type_t **out) QG_MUST_USE;
qg_status qg_type_optional(qg_cu_t *cu, const qg_type_t *elem, const qg_type_t **out) QG_MUST_USE;
qg_status qg_type_future(qg_cu_t *cu, const qg_type_t *elem, const qg_type_t **out) QG_MUST_USE;
qg_status qg_type_tuple(qg_cu_t *cu, size_t n, const qg_type_t *const *elems, const qg_type_t **out) QG_MUST_USE;
qg_status qg_type_dict(qg_cu_t *cu, const qg_type_t *key, const qg_type_t *value, const qg_type_t **out) QG_MUST_USE;
qg_status qg_type_tensor_detailed(qg_cu_t *cu, const qg_tensor_info *info, const qg_type_t **out) QG_MUST_USE;
/* The same type interned in another unit (class types are looked up by name there and must
 * exist). Used when copying graphs between units. */
qg_status qg_type_import(qg_cu_t *dst, const qg_type_t *t, const qg_type_t **out) QG_MUST_USE;

/* Additive constructors (interned like the ones above). Union keeps the given order. */
qg_status qg_type_rref(qg_cu_t *cu, const qg_type_t *elem, const qg_type_t **out) QG_MUST_USE;
qg_status qg_type_union(qg_cu_t *cu, size_t n, const qg_type_t *const *elems, const qg_type_t **out) QG_MUST_USE;
/* NamedTuple(a : int, b : Tensor): names[i] labels elems[i]. */
qg_status qg_type_named_tuple(qg_cu_t *cu, size_t n, const char *const *names, const qg_type_t *const *elems,
                              const qg_type_t **out) QG_MUST_USE;
/* A schema type variable (`t`, `t1`, `tVal`). */
qg_status qg_type_var(qg_cu_t *cu, const char *name, const qg_type_t **out) QG_MUST_USE;

/* Structural equality (same printed form and, for nominal types, same qualified name). */
int qg_type_equal(const qg_type_t *a, const qg_type_t *b);
/* Tensor or a detailed tensor type. */
int qg_type_is_tensor(const qg_type_t *t);
/* Appends the printed form (same as t->str). */
void qg_type_print(const qg_type_t *t, qg_strbuf *out);

/* Options for parsing a type in graph text, schemas or module text. */
typedef struct qg_type_parse_opts {
  /* Unknown `__torch__.*` names become opaque class types in the unit (PyTorch's parser
   * accepts any class name in graph text). If 0 they are QG_STATUS_TYPE errors. */
  int create_unknown_classes;
  /* Accept schema-only spellings: `Tensor(a!)` alias annotations, `t` type variables,
   * `ScalarType`, `Layout`, `int[2]` fixed-size lists, `SymInt`. */
  int schema_syntax;
} qg_type_parse_opts;

/* Parses one type starting at text[0] (len bytes available). *consumed = bytes used. On error
 * returns QG_STATUS_TYPE / QG_STATUS_PARSE with a message naming the offending text; the
 * caller adds the line:col prefix. */
qg_status qg_type_parse(qg_cu_t *cu, const char *text, size_t len, const qg_type_parse_opts *opts,
                        const qg_type_t **out, size_t *consumed) QG_MUST_USE;

/* What schema syntax adds beyond the type itself (filled by qg_type_parse_ex). The alias
 * pointers point into the parsed text; a length of 0 means "no annotation". Annotations on
 * types nested inside tuples, dicts or futures are accepted and not reported. */
typedef struct qg_type_parse_info {
  /* Annotation on the whole type, without parentheses: "a!" for `Tensor(a!)` and
   * `Tensor[](a!)`, "a" for `t(a)?`, "a -> *", "b|a", "*". */
  const char *alias;
  size_t alias_len;
  /* Annotation on the element of a list: "a!" for `Tensor(a!)[]`. */
  const char *elem_alias;
  size_t elem_alias_len;
  long fixed_size; /* `int[2]`: 2 (the type is int[]); -1 when not a fixed-size list */
  int is_symint;   /* spelled `SymInt` / `SymInt[]` (the type is int / int[]) */
} qg_type_parse_info;

/* qg_type_parse that also reports the schema extras in *info (may be NULL; always reset). */
qg_status qg_type_parse_ex(qg_cu_t *cu, const char *text, size_t len, const qg_type_parse_opts *opts,
                           const qg_type_t **out, size_t *consumed, qg_type_parse_info *info) QG_MUST_USE;

/* ---- classes, interfaces, functions ---------------------------------------------------- */

/* A new class (module or plain) named `qualname`; QG_STATUS_INVALID_ARGUMENT if the name is
 * taken by a non-opaque type. An opaque class or interface of that name (made by the parser
 * from a name it had not seen) is completed in place, so earlier pointers to it stay valid;
 * its kind becomes the one defined. */
/* qualname without its `___torch_mangle_N.` components (PyTorch's demangling):
 * "__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d" -> "__torch__.torch.nn.modules.conv.Conv2d".
 * INVALID_ARGUMENT if it does not fit in size bytes. */
qg_status qg_type_demangle(const char *qualname, char *buf, size_t size) QG_MUST_USE;
/* A class name not yet used in cu made from qualname as PyTorch's NameMangler does: an
 * existing `___torch_mangle_N` component gets a fresh number, else `___torch_mangle_N.` is
 * inserted before the last component; N is one more than any mangle number in the unit. */
qg_status qg_cu_mangle(const qg_cu_t *cu, const char *qualname, char *buf, size_t size) QG_MUST_USE;
qg_status qg_cu_define_class(qg_cu_t *cu, const char *qualname, int is_module, qg_type_t **out) QG_MUST_USE;
qg_status qg_cu_define_interface(qg_cu_t *cu, const char *qualname, qg_type_t **out) QG_MUST_USE;
/* A free function; takes ownership of `graph` (also on failure). */
qg_status qg_cu_define_function(qg_cu_t *cu, const char *qualname, qg_graph_t *graph, qg_type_t **out) QG_MUST_USE;
/* Finds a class, interface or function by qualified name; NULL if absent. */
qg_type_t *qg_cu_find(const qg_cu_t *cu, const char *qualname);
/* Iteration in definition order. */
size_t qg_cu_ntypes(const qg_cu_t *cu);
qg_type_t *qg_cu_type_at(const qg_cu_t *cu, size_t i);

qg_status qg_class_add_slot(qg_type_t *cls, const char *name, const qg_type_t *type, qg_slot_kind kind) QG_MUST_USE;
/* Index of the slot or -1. */
long qg_class_find_slot(const qg_type_t *cls, const char *name);
/* Removes slot i from the class (later slots move down by one). Objects of the class must drop
 * their value at i too: qg_module_remove_slot does both for a module tree. */
void qg_class_remove_slot(qg_type_t *cls, size_t i);
/* Adds a method; takes ownership of `graph` (also on failure). */
qg_status qg_class_add_method(qg_type_t *cls, const char *name, qg_graph_t *graph) QG_MUST_USE;
/* Interface methods carry a schema string instead of a graph, e.g. "forward(Tensor x) -> Tensor". */
qg_status qg_interface_add_method(qg_type_t *iface, const char *name, const char *schema) QG_MUST_USE;
/* Declares a method implemented in C (observers, packed params): signature is its schema,
 * "forward(Tensor x) -> Tensor" (the first argument, self, is implicit). */
qg_status qg_class_add_native_method(qg_type_t *cls, const char *name, const char *signature) QG_MUST_USE;
qg_method *qg_class_find_method(const qg_type_t *cls, const char *name);

const char *qg_slot_kind_name(qg_slot_kind k); /* "parameter", "buffer", "module", "attribute" */

#endif
