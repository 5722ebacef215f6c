/* Native classes: class types whose methods are C functions (observers, packed weights).
 *
 * A native class is an ordinary class type in the module (slots hold its state, so bundles save
 * it and graphs name it exactly as PyTorch does: `prim::GetAttr[name="_observer_0"]` +
 * `prim::CallMethod[name="forward"]`), whose methods are declared `native method SIG` in the
 * module text (qg_class_add_native_method). The implementation is found by the class's
 * demangled qualified name ("__torch__.torch.ao.quantization.observer.MinMaxObserver", any
 * `___torch_mangle_N` removed) and the method name in the tables listed in native.c. */
#ifndef QG_RUNTIME_NATIVE_H
#define QG_RUNTIME_NATIVE_H

#include <stddef.h>

#include "base/status.h"
#include "module/module.h"
#include "module/value.h"

/* self: the object (slots may be replaced with qg_ival_object_set); args: the arguments after
 * self (borrowed); *out: None on entry, receives the owned result (a tuple for several values,
 * as TorchScript methods return one value). */
typedef qg_status (*qg_native_fn)(qg_ival *self, const qg_ival *args, size_t nargs, qg_ival *out);

typedef struct qg_native_method_impl {
  const char *name;      /* "forward" */
  const char *signature; /* "forward(Tensor x) -> Tensor": what qg_native_declare_methods declares */
  qg_native_fn fn;
} qg_native_method_impl;

typedef struct qg_native_class_impl {
  const char *qualname; /* demangled */
  const qg_native_method_impl *methods;
  size_t nmethods;
} qg_native_class_impl;

/* The implementation of cls.method, or NULL when cls is not a native class or has no such
 * native method. */
const qg_native_method_impl *qg_native_find(const qg_type_t *cls, const char *method);

/* Declares every method of the registered native class `qualname` on cls (which must not have
 * them yet). NOT_FOUND if no native class has that name. */
qg_status qg_native_declare_methods(qg_type_t *cls, const char *qualname) QG_MUST_USE;

/* Calls method `name` of object self: a native method directly, a graph method through the
 * interpreter (a fresh runner for `m`; m may be NULL when the method is native). The result is
 * a single value or a tuple for several returns (as qg_run_method). */
qg_status qg_call_method(qg_module *m, qg_ival *self, const char *name, const qg_ival *args, size_t nargs,
                         qg_ival *out) QG_MUST_USE;

/* Tables of native classes, one per provider (src/quant/observer_*.c, ...). */
const qg_native_class_impl *qg__native_observer_classes(size_t *n);

#endif
