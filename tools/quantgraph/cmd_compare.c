/* quantgraph compare: runs two bundles (typically the float model and its quantized version) on
 * the same inputs and reports, per output, the max and mean absolute error and the SQNR of B
 * against A (A is the reference). --per-layer (B a debug-converted model): the same for every
 * quantized value of B, comparing the float value that was quantized with its quantize ->
 * dequantize round trip, worst first. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "module/module.h"
#include "runtime/runtime.h"

typedef struct err_stats {
  double max_abs, mean_abs, sqnr_db;
  int64_t numel;
} err_stats;

/* SQNR = 10 log10(sum ref^2 / sum (ref - x)^2); +inf when x equals ref. */
static qg_status compare_tensors(const qg_tensor *ref, const qg_tensor *x, err_stats *e) {
  int64_t n = qg_tensor_numel(ref);
  if (n != qg_tensor_numel(x) || ref->ndim != x->ndim)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "shapes differ (%lld vs %lld elements)", (long long)n,
                        (long long)qg_tensor_numel(x));
  double sig = 0, noise = 0, sum_abs = 0, max_abs = 0;
  for (int64_t k = 0; k < n; k++) {
    double a = qg_tensor_get_flat(ref, k), b = qg_tensor_get_flat(x, k), d = fabs(a - b);
    sig += a * a;
    noise += (a - b) * (a - b);
    sum_abs += d;
    if (d > max_abs || isnan(d)) max_abs = d;
  }
  e->numel = n;
  e->max_abs = max_abs;
  e->mean_abs = n ? sum_abs / (double)n : 0;
  e->sqnr_db = noise == 0 ? INFINITY : 10.0 * log10(sig / noise);
  return QG_OK;
}

static qg_status run_flat(qg_module *m, const qg_named_tensors *in, int threads, qg_cli_outputs *out) {
  qg_ival args[64];
  size_t n = 0;
  for (; n < 64; n++) {
    char name[16];
    snprintf(name, sizeof name, "%zu", n);
    qg_tensor *t = qg_named_tensors_get(in, name);
    if (!t) break;
    args[n] = qg_ival_tensor(t);
  }
  qg_run_opts opts = {threads};
  qg_ival res = qg_ival_none();
  QG_TRY(qg_run_method(m, NULL, "forward", args, n, &opts, &res));
  qg_status st = qg_cli_flatten_outputs(out, &res);
  qg_ival_release(&res);
  return st;
}

/* --per-layer: every quantize node of B's forward (a debug-converted model) becomes a probe:
 * the float value it quantizes and a fresh dequantize of its result are appended to the graph's
 * outputs, so one run yields both for every quantized value. Returns the number of probes;
 * names[k] receives the value's debug name (graph arena). */
static qg_status add_probes(qg_module *b, const char **names, size_t max, size_t *n) {
  *n = 0;
  const qg_method *f = qg_class_find_method(b->root.u.obj->type, "forward");
  if (!f || !f->graph) return qg_set_error(QG_STATUS_NOT_FOUND, "B has no forward method");
  qg_graph_t *g = f->graph;
  qg_block_t *top = qg_graph_block(g);
  for (qg_node_t *q = qg_block_first(top); q != top->ret; q = q->next) {
    if (q->kind != QG_SYM_aten_quantize_per_tensor && q->kind != QG_SYM_aten_quantize_per_channel) continue;
    if (*n >= max) break;
    qg_node_t *d = NULL;
    QG_TRY(qg_node_create(g, QG_SYM_aten_dequantize, 1, &d));
    QG_TRY(qg_node_add_input(d, q->outputs[0]));
    qg_node_insert_after(d, q);
    QG_TRY(qg_graph_register_output(g, q->inputs[0]));
    QG_TRY(qg_graph_register_output(g, d->outputs[0]));
    names[(*n)++] = q->inputs[0]->name ? q->inputs[0]->name : "(unnamed)";
    q = d;
  }
  return QG_OK;
}

typedef struct probe_stat {
  const char *name;
  err_stats e;
} probe_stat;

static int by_sqnr(const void *a, const void *b) {
  double x = ((const probe_stat *)a)->e.sqnr_db, y = ((const probe_stat *)b)->e.sqnr_db;
  return (x > y) - (x < y);
}

static void print_stats(const char *what, const err_stats *e, int json, int first) {
  if (json) {
    printf("%s{\"name\": \"%s\", \"numel\": %lld, \"max_abs_error\": %.9g, \"mean_abs_error\": %.9g, \"sqnr_db\": ",
           first ? "" : ", ", what, (long long)e->numel, e->max_abs, e->mean_abs);
    if (isinf(e->sqnr_db)) printf("null}");
    else printf("%.4f}", e->sqnr_db);
  } else {
    printf("%-24s %10lld %14.6g %14.6g %10.2f\n", what, (long long)e->numel, e->max_abs, e->mean_abs, e->sqnr_db);
  }
}

int qg_cmd_compare(int argc, char **argv) {
  const char *a_path = NULL, *b_path = NULL, *input = NULL, *val;
  int json = 0, threads = 0, per_layer = 0;
  for (int i = 1; i < argc; i++) {
    int r;
    if ((r = qg_cli_option(argc, argv, &i, "input", &val)) != 0) {
      if (r < 0) return qg_cli_usage_error("compare", "--input needs a file");
      input = val;
    } else if ((r = qg_cli_option(argc, argv, &i, "threads", &val)) != 0) {
      if (r < 0 || atoi(val) < 1) return qg_cli_usage_error("compare", "--threads needs a positive number");
      threads = atoi(val);
    } else if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[i], "--per-layer") == 0) {
      per_layer = 1;
    } else if (argv[i][0] == '-') {
      return qg_cli_usage_error("compare", "unknown option '%s'", argv[i]);
    } else if (!a_path) {
      a_path = argv[i];
    } else if (!b_path) {
      b_path = argv[i];
    } else {
      return qg_cli_usage_error("compare", "unexpected argument '%s'", argv[i]);
    }
  }
  if (!a_path || !b_path) return qg_cli_usage_error("compare", "needs two bundles A B");
  if (!input) return qg_cli_usage_error("compare", "missing --input IN.safetensors");
  qg_module *a = NULL, *b = NULL;
  qg_named_tensors in = {0};
  qg_cli_outputs oa = {{0}, 0}, ob = {{0}, 0};
  qg_status st = qg_module_load(a_path, &a);
  if (st == QG_OK) st = qg_module_load(b_path, &b);
  if (st == QG_OK) st = qg_named_tensors_load(input, &in);
  const char *probe_names[1024];
  size_t nprobes = 0, nout_b = 0;
  if (st == QG_OK && per_layer) {
    const qg_method *f = qg_class_find_method(b->root.u.obj->type, "forward");
    nout_b = f && f->graph ? qg_graph_noutputs(f->graph) : 0;
    st = add_probes(b, probe_names, 1024, &nprobes);
    if (st == QG_OK && nprobes == 0)
      st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "--per-layer: B has no quantize nodes (convert it with --debug)");
  }
  if (st == QG_OK) st = run_flat(a, &in, threads, &oa);
  if (st == QG_OK) st = run_flat(b, &in, threads, &ob);
  if (st == QG_OK && per_layer) {
    /* the probes are the last 2 * nprobes flattened outputs of B */
    probe_stat *ps = calloc(nprobes, sizeof *ps);
    size_t base = ob.nt.n - 2 * nprobes;
    for (size_t k = 0; st == QG_OK && k < nprobes; k++) {
      ps[k].name = probe_names[k];
      st = compare_tensors(ob.nt.tensors[base + 2 * k], ob.nt.tensors[base + 2 * k + 1], &ps[k].e);
    }
    qsort(ps, nprobes, sizeof *ps, by_sqnr);
    if (st == QG_OK && !json)
      printf("%-24s %10s %14s %14s %10s\n", "quantized value", "elements", "max abs err", "mean abs err", "SQNR dB");
    if (st == QG_OK && json) printf("{\"b\": \"%s\", \"per_layer\": [", b_path);
    for (size_t k = 0; st == QG_OK && k < nprobes; k++) print_stats(ps[k].name, &ps[k].e, json, k == 0);
    if (st == QG_OK && json) printf("]}\n");
    if (st == QG_OK && !json) printf("\n");
    free(ps);
    for (size_t k = 0; k < 2 * nprobes; k++) { /* drop the probes from B's outputs */
      free(ob.nt.names[ob.nt.n - 1]);
      qg_tensor_release(ob.nt.tensors[--ob.nt.n]);
    }
    (void)nout_b;
  }
  if (st == QG_OK && oa.nt.n != ob.nt.n)
    st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "A returns %zu outputs, B returns %zu", oa.nt.n, ob.nt.n);
  if (st == QG_OK && !json) printf("%-24s %10s %14s %14s %10s\n", "output", "elements", "max abs err", "mean abs err", "SQNR dB");
  if (st == QG_OK && json) printf("{\"a\": \"%s\", \"b\": \"%s\", \"outputs\": [", a_path, b_path);
  for (size_t i = 0; st == QG_OK && i < oa.nt.n; i++) {
    err_stats e = {0, 0, 0, 0};
    st = compare_tensors(oa.nt.tensors[i], ob.nt.tensors[i], &e);
    if (st != QG_OK) st = qg_error_prefix(st, "output %zu", i);
    else print_stats(oa.nt.names[i], &e, json, i == 0);
  }
  if (st == QG_OK && json) printf("]}\n");
  qg_cli_outputs_free(&oa);
  qg_cli_outputs_free(&ob);
  qg_named_tensors_free(&in);
  qg_module_free(a);
  qg_module_free(b);
  return st == QG_OK ? QG_EXIT_OK : qg_cli_fail(st);
}
