/* Runners (plan cache) and the public entry points qg_run_method / qg_run_graph, with the
 * argument checks PyTorch's method call makes: argument count and types against the graph's
 * inputs ("forward() expects 1 argument (x), got 2"). */
#include <string.h>

#include "ops/cpu/gemm.h"
#include "runtime/interp_impl.h"

qg_status qg_runner_create(qg_module *m, const qg_run_opts *opts, qg_runner **out) {
  qg_runner *r = qg__calloc(1, sizeof *r);
  if (!r) return qg_oom("a runner");
  r->module = m;
  if (opts) r->opts = *opts;
  *out = r;
  return QG_OK;
}

void qg_runner_free(qg_runner *r) {
  if (!r) return;
  for (size_t i = 0; i < r->all.len; i++) qg__plan_free(r->all.data[i]);
  for (size_t i = 0; i < r->defaults.len; i++) qg__defaults_free(r->defaults.data[i]);
  QG_VEC_FREE(&r->defaults);
  QG_VEC_FREE(&r->all);
  qg__ptrmap_free(&r->plans);
  qg__free(r);
}

size_t qg_runner_warnings(const qg_runner *r) { return r->warnings; }

qg_status qg__runner_plan(qg_runner *r, const qg_graph_t *g, qg__plan **out) {
  qg__plan *p = qg__ptrmap_get(&r->plans, g);
  if (p) {
    *out = p;
    return QG_OK;
  }
  QG_TRY(qg__plan_build(g, &p));
  if (QG_VEC_PUSH(&r->all, p)) {
    qg__plan_free(p);
    return qg_oom("the plan cache");
  }
  if (qg__ptrmap_put(&r->plans, g, p)) {
    r->all.len--;
    qg__plan_free(p);
    return qg_oom("the plan cache");
  }
  *out = p;
  return QG_OK;
}

/* "x" for a graph input named "x.1" (TorchScript appends .N to argument names). */
static void arg_name(const qg_value_t *v, size_t pos, qg_strbuf *sb) {
  if (!v->name) {
    qg_strbuf_printf(sb, "#%zu", pos);
    return;
  }
  size_t n = strlen(v->name);
  const char *dot = strrchr(v->name, '.');
  if (dot && dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1)) n = (size_t)(dot - v->name);
  qg_strbuf_appendn(sb, v->name, n);
}

/* Checks count and types of the arguments (not counting self when has_self). */
static qg_status check_args(const qg_graph_t *g, int has_self, const char *method, const qg_ival *args,
                            size_t nargs) {
  size_t first = has_self ? 1 : 0, want = qg_graph_ninputs(g) - first;
  qg_strbuf sb = QG_STRBUF_INIT;
  qg_status st = QG_OK;
  if (nargs != want) {
    for (size_t i = 0; i < want; i++) {
      if (i) qg_strbuf_append(&sb, ", ");
      arg_name(qg_graph_input(g, first + i), i, &sb);
    }
    QG_TRY(qg_strbuf_ok(&sb));
    st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s() expects %zu argument%s (%s), got %zu", method, want,
                      want == 1 ? "" : "s", qg_strbuf_cstr(&sb), nargs);
    qg_strbuf_free(&sb);
    return st;
  }
  for (size_t i = 0; i < nargs; i++) {
    const qg_value_t *in = qg_graph_input(g, first + i);
    /* the unshaped type, as PyTorch's GraphFunction schema: a model traced on one shape accepts
     * others (its graph keeps the traced sizes as types) */
    if (qg_ival_fits_unshaped_type(&args[i], in->type)) continue;
    qg_strbuf_reset(&sb);
    arg_name(in, i, &sb);
    qg_strbuf_append(&sb, "\t");
    qg_ival_describe(&args[i], &sb);
    if (qg_strbuf_ok(&sb) != QG_OK) {
      qg_strbuf_free(&sb);
      return QG_STATUS_OOM;
    }
    const char *s = qg_strbuf_cstr(&sb);
    const char *tab = strchr(s, '\t');
    st = qg_set_error(QG_STATUS_TYPE, "%s() argument '%.*s' (position %zu) must be %s, got %s %s", method,
                      (int)(tab - s), s, i, in->type->str, qg_ival_kind_name(args[i].kind), tab + 1);
    break;
  }
  qg_strbuf_free(&sb);
  return st;
}

static void apply_opts(const qg_runner *r) {
  if (r->opts.num_threads > 0) qg_cpu_set_num_threads(r->opts.num_threads);
}

qg_status qg_runner_run(qg_runner *r, const char *module_path, const char *method, const qg_ival *args,
                        size_t nargs, qg_ival *out) {
  if (!r->module) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "qg_runner_run: the runner has no module");
  const qg_ival *obj = NULL;
  const char *path = module_path ? module_path : "";
  QG_TRY(qg_module_find(r->module, path, &obj));
  const qg_type_t *cls = qg_object_class(obj);
  const qg_method *m = cls ? qg_class_find_method(cls, method) : NULL;
  if (!m || !m->graph)
    return qg_set_error(QG_STATUS_NOT_FOUND, "module '%s' (class %s) has no method '%s'", path[0] ? path : "<root>",
                        cls ? cls->qualname : "?", method);
  const qg_graph_t *g = m->graph;
  size_t nin = qg_graph_ninputs(g), nout = qg_graph_noutputs(g);
  qg_ival *inputs = NULL, *outs = NULL;
  qg_status st = QG_OK;
  if (nin == 0) st = qg_set_error(QG_STATUS_TYPE, "%s(): the method graph has no self input", method);
  if (st == QG_OK && nargs + 1 < nin && m->signature) {
    /* Omitted trailing arguments take the signature's defaults (as PyTorch's call does). */
    const qg__defaults *d = NULL;
    st = qg__defaults_get(r, m, &d);
    if (st == QG_OK && !(inputs = qg__calloc(nin, sizeof *inputs))) st = qg_oom("method arguments");
    if (st == QG_OK) st = qg__defaults_fill(d, 1, method, args, nargs, inputs + 1);
    if (st == QG_OK) st = check_args(g, 1, method, inputs + 1, nin - 1);
  } else if (st == QG_OK) {
    st = check_args(g, 1, method, args, nargs);
    if (st == QG_OK && !(inputs = qg__calloc(nin, sizeof *inputs))) st = qg_oom("method arguments");
    for (size_t i = 0; st == QG_OK && i < nargs; i++) inputs[i + 1] = args[i];
  }
  if (st == QG_OK && !(outs = qg__calloc(nout ? nout : 1, sizeof *outs))) st = qg_oom("method arguments");
  if (st != QG_OK) {
    qg__free(inputs);
    return st == QG_STATUS_OOM ? st : qg_error_prefix(st, "%s (%s)", path[0] ? path : "<root>", method);
  }
  inputs[0] = *obj; /* borrowed, as the arguments and the defaults */
  apply_opts(r);
  qg_exec ex = {r, 0, 0};
  st = qg__exec_graph(&ex, g, inputs, nin, obj, m->name, outs);
  qg__free(inputs);
  if (st == QG_OK) {
    if (nout == 1) {
      *out = outs[0];
    } else {
      /* Several graph outputs (rare in TorchScript, which returns tuples): return a tuple. */
      qg_ival t;
      st = qg_ival_list_new(QG_IVAL_TUPLE, nout, &t);
      for (size_t i = 0; i < nout; i++) {
        if (st == QG_OK) st = qg_ival_list_push(&t, outs[i]);
        else qg_ival_release(&outs[i]);
      }
      if (st == QG_OK) *out = t;
      else qg_ival_release(&t);
    }
  }
  qg__free(outs);
  return st;
}

qg_status qg_runner_run_graph(qg_runner *r, const qg_graph_t *g, const qg_ival *inputs, size_t ninputs,
                              qg_ival *outputs) {
  qg_status st = check_args(g, 0, "graph", inputs, ninputs);
  if (st != QG_OK) return st;
  apply_opts(r);
  qg_exec ex = {r, 0, 0};
  for (size_t i = 0; i < qg_graph_noutputs(g); i++) outputs[i] = qg_ival_none();
  return qg__exec_graph(&ex, g, inputs, ninputs, NULL, "graph", outputs);
}

qg_status qg_run_method(qg_module *m, const char *module_path, const char *method, const qg_ival *args,
                        size_t nargs, const qg_run_opts *opts, qg_ival *out) {
  qg_runner *r = NULL;
  QG_TRY(qg_runner_create(m, opts, &r));
  qg_status st = qg_runner_run(r, module_path, method, args, nargs, out);
  qg_runner_free(r);
  return st;
}

qg_status qg_run_graph(const qg_graph_t *g, const qg_ival *inputs, size_t ninputs, const qg_run_opts *opts,
                       qg_ival *outputs) {
  qg_runner *r = NULL;
  QG_TRY(qg_runner_create(NULL, opts, &r));
  qg_status st = qg_runner_run_graph(r, g, inputs, ninputs, outputs);
  qg_runner_free(r);
  return st;
}
