/* quantgraph prepare: prepare_jit / prepare_dynamic_jit on a bundle (conv-bn folding, then
 * observers per the qconfig dict), saved as a new bundle for calibration. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/prepare.h"
#include "cli.h"

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

static int count_observer(const char *path, const qg_ival *obj, int depth, void *ud) {
  (void)path;
  (void)depth;
  if (qg_observer_kind_of(obj->u.obj->type) >= 0) ++*(size_t *)ud;
  return 0;
}

int qg_cmd_prepare(int argc, char **argv) {
  const char *bundle = NULL, *output = NULL, *val;
  int dynamic = 0, inplace = 0;
  qg_cli_qconfig q = {0};
  for (int i = 1; i < argc; i++) {
    int r = qg_cli_qconfig_option("prepare", argc, argv, &i, &q);
    if (r > 1) return r;
    if (r == 1) continue;
    if ((r = qg_cli_output_option(argc, argv, &i, &val)) != 0) {
      if (r < 0) return qg_cli_usage_error("prepare", "-o needs a file");
      output = val;
    } else if (strcmp(argv[i], "--dynamic") == 0) {
      dynamic = 1;
    } else if (strcmp(argv[i], "--inplace") == 0) {
      inplace = 1;
    } else if (argv[i][0] == '-') {
      return qg_cli_usage_error("prepare", "unknown option '%s'", argv[i]);
    } else if (!bundle) {
      bundle = argv[i];
    } else {
      return qg_cli_usage_error("prepare", "unexpected argument '%s'", argv[i]);
    }
  }
  if (!bundle) return qg_cli_usage_error("prepare", "missing BUNDLE");
  if (!q.root && !q.nfor && !dynamic) return qg_cli_usage_error("prepare", "missing --qconfig NAME (or --qconfig-for)");
  if (!output && !inplace) return qg_cli_usage_error("prepare", "missing -o OUT (or --inplace to rewrite BUNDLE)");
  if (!output) output = bundle;

  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  qg_qconfig_dict dict = QG_QCONFIG_DICT_INIT;
  qg_module *m = NULL, *prepared = NULL;
  qg_pass_report report = {0};
  qg_status st = qg_cli_qconfig_build(&q, dynamic ? "dynamic" : NULL, &dict);
  if (st == QG_OK) st = qg_module_load(bundle, &m);
  if (st == QG_OK) st = qg_qconfig_dict_check(&dict, m); /* unknown paths: list the modules */
  double t_load = seconds_since(&t0);
  if (st == QG_OK) st = qg_prepare(m, &dict, dynamic, 1, &prepared, &report);
  double t_prep = seconds_since(&t0) - t_load;
  size_t nobs = 0;
  if (st == QG_OK) st = qg_module_walk(prepared, count_observer, &nobs);
  if (st == QG_OK) st = qg_module_save(prepared, output);
  qg_qconfig_dict_free(&dict);
  qg_module_free(m); /* prepared is m (in place: the loaded copy is ours to change) */
  if (st != QG_OK) return qg_cli_fail(st);
  if (report.warnings) fprintf(stderr, "quantgraph: warning: %s\n", report.warning);
  printf("prepared %s -> %s: %zu observers (%s), load %.1f ms, prepare %.1f ms\n", bundle, output, nobs,
         dynamic ? "dynamic" : "static", t_load * 1e3, t_prep * 1e3);
  return QG_EXIT_OK;
}
