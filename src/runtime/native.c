/* The native class registry (see native.h) and method calls from C. */
#include "runtime/native.h"

#include <string.h>

#include "base/alloc.h"
#include "quant/packed_params.h"

#include "runtime/runtime.h"

typedef const qg_native_class_impl *(*table_fn)(size_t *n);
static const table_fn k_tables[] = {qg__native_observer_classes, qg__native_packed_params_classes};

static const qg_native_class_impl *find_class(const char *demangled) {
  for (size_t t = 0; t < sizeof k_tables / sizeof k_tables[0]; t++) {
    size_t n = 0;
    const qg_native_class_impl *c = k_tables[t](&n);
    for (size_t i = 0; i < n; i++)
      if (strcmp(c[i].qualname, demangled) == 0) return &c[i];
  }
  return NULL;
}

static const qg_native_method_impl *find_method(const qg_native_class_impl *c, const char *method) {
  for (size_t i = 0; c && i < c->nmethods; i++)
    if (strcmp(c->methods[i].name, method) == 0) return &c->methods[i];
  return NULL;
}

const qg_native_method_impl *qg_native_find(const qg_type_t *cls, const char *method) {
  if (!cls || cls->kind != QG_TYPE_CLASS || !cls->qualname) return NULL;
  const qg_method *m = qg_class_find_method(cls, method);
  if (!m || !m->is_native) return NULL;
  char name[512];
  if (qg_type_demangle(cls->qualname, name, sizeof name) != QG_OK) return NULL;
  return find_method(find_class(name), method);
}

qg_status qg_native_declare_methods(qg_type_t *cls, const char *qualname) {
  const qg_native_class_impl *c = find_class(qualname);
  if (!c) return qg_set_error(QG_STATUS_NOT_FOUND, "no native class named %s", qualname);
  for (size_t i = 0; i < c->nmethods; i++) QG_TRY(qg_class_add_native_method(cls, c->methods[i].name, c->methods[i].signature));
  return QG_OK;
}

qg_status qg_call_method(qg_module *m, qg_ival *self, const char *name, const qg_ival *args, size_t nargs,
                         qg_ival *out) {
  if (self->kind != QG_IVAL_OBJECT)
    return qg_set_error(QG_STATUS_TYPE, "calling method '%s': expected an object, got %s", name,
                        qg_ival_kind_name(self->kind));
  const qg_type_t *cls = self->u.obj->type;
  const qg_method *meth = qg_class_find_method(cls, name);
  if (!meth) return qg_set_error(QG_STATUS_NOT_FOUND, "object of class %s has no method '%s'", cls->qualname, name);
  *out = qg_ival_none();
  if (meth->is_native) {
    const qg_native_method_impl *impl = qg_native_find(cls, name);
    if (!impl)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "%s.%s is declared native but no implementation is registered",
                          cls->qualname, name);
    qg_status st = impl->fn(self, args, nargs, out);
    return st == QG_OK || st == QG_STATUS_OOM ? st : qg_error_prefix(st, "%s.%s", cls->qualname, name);
  }
  if (!meth->graph) return qg_set_error(QG_STATUS_NOT_FOUND, "%s.%s has no graph", cls->qualname, name);
  size_t nin = qg_graph_ninputs(meth->graph), nout = qg_graph_noutputs(meth->graph);
  if (nin != nargs + 1)
    return qg_set_error(QG_STATUS_TYPE, "%s.%s() expects %zu arguments, got %zu", cls->qualname, name,
                        nin ? nin - 1 : 0, nargs);
  qg_ival *in = qg__calloc(nin, sizeof *in), *res = qg__calloc(nout ? nout : 1, sizeof *res);
  qg_status st = (in && res) ? QG_OK : qg_oom("method arguments");
  qg_runner *r = NULL;
  if (st == QG_OK) st = qg_runner_create(m, NULL, &r);
  if (st == QG_OK) {
    in[0] = *self;
    for (size_t i = 0; i < nargs; i++) in[i + 1] = args[i];
    st = qg_runner_run_graph(r, meth->graph, in, nin, res);
  }
  if (st == QG_OK && nout == 1) {
    *out = res[0];
  } else if (st == QG_OK) {
    st = qg_ival_list_new(QG_IVAL_TUPLE, nout, out);
    for (size_t i = 0; i < nout; i++) {
      if (st == QG_OK) st = qg_ival_list_push(out, res[i]);
      else qg_ival_release(&res[i]);
    }
    if (st != QG_OK) qg_ival_release(out);
  }
  qg_runner_free(r);
  qg__free(in);
  qg__free(res);
  return st;
}
