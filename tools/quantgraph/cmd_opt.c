/* quantgraph opt: runs graph passes by name on a bundle (passes/registry.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "passes/passes.h"

static void list_passes(FILE *f) {
  size_t n = 0, na = 0;
  const qg_pass_info *p = qg_passes(&n);
  const qg_pass_args_info *pa = qg_passes_with_args(&na);
  for (size_t i = 0; i < n; i++) fprintf(f, "  %-26s %s\n", p[i].name, p[i].help);
  for (size_t i = 0; i < na; i++) fprintf(f, "  %-26s %s (needs --qconfig)\n", pa[i].name, pa[i].help);
}

/* Runs the comma-separated passes in order, printing one line per pass. */
static qg_status run_passes(qg_module *m, const char *list, const qg_pass_args *args) {
  char name[128];
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n == 0 || n >= sizeof name)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "--passes: empty or overlong pass name in '%s'", list);
    memcpy(name, p, n);
    name[n] = 0;
    p += n + (comma ? 1 : 0);
    qg_pass_report rep = {0};
    const qg_pass_info *pi = qg_pass_find(name);
    const qg_pass_args_info *pa = pi ? NULL : qg_pass_with_args_find(name);
    if (!pi && !pa) return qg_set_error(QG_STATUS_NOT_FOUND, "unknown pass '%s' (quantgraph opt --list)", name);
    qg_status st = pi ? pi->run(m, &rep) : pa->run(m, args, &rep);
    if (st != QG_OK) return st == QG_STATUS_OOM ? st : qg_error_prefix(st, "pass %s", name);
    printf("%s: %zu changes\n", name, rep.changed);
    if (rep.warnings) fprintf(stderr, "quantgraph: warning: %s: %s\n", name, rep.warning);
  }
  return QG_OK;
}

int qg_cmd_opt(int argc, char **argv) {
  const char *bundle = NULL, *output = NULL, *passes = NULL, *val;
  qg_cli_qconfig q = {0};
  int dynamic = 0;
  for (int i = 1; i < argc; i++) {
    int r = qg_cli_qconfig_option("opt", argc, argv, &i, &q);
    if (r > 1) return r;
    if (r == 1) continue;
    if ((r = qg_cli_output_option(argc, argv, &i, &val)) != 0) {
      if (r < 0) return qg_cli_usage_error("opt", "-o needs a file");
      output = val;
    } else if ((r = qg_cli_option(argc, argv, &i, "passes", &val)) != 0) {
      if (r < 0) return qg_cli_usage_error("opt", "--passes needs a comma-separated list");
      passes = val;
    } else if (strcmp(argv[i], "--list") == 0) {
      list_passes(stdout);
      return QG_EXIT_OK;
    } else if (strcmp(argv[i], "--dynamic") == 0) {
      dynamic = 1;
    } else if (argv[i][0] == '-') {
      return qg_cli_usage_error("opt", "unknown option '%s'", argv[i]);
    } else if (!bundle) {
      bundle = argv[i];
    } else {
      return qg_cli_usage_error("opt", "unexpected argument '%s'", argv[i]);
    }
  }
  if (!bundle) return qg_cli_usage_error("opt", "missing BUNDLE");
  if (!passes) return qg_cli_usage_error("opt", "missing --passes a,b,c (see --list)");
  if (!output) return qg_cli_usage_error("opt", "missing -o OUT");
  qg_qconfig_dict dict = QG_QCONFIG_DICT_INIT;
  qg_module *m = NULL;
  qg_status st = qg_cli_qconfig_build(&q, NULL, &dict);
  qg_pass_args args = {dict.n ? &dict : NULL, dynamic};
  if (st == QG_OK) st = qg_module_load(bundle, &m);
  if (st == QG_OK) st = qg_qconfig_dict_check(&dict, m); /* unknown paths: list the modules */
  if (st == QG_OK) st = run_passes(m, passes, &args);
  if (st == QG_OK) st = qg_module_save(m, output);
  qg_module_free(m);
  qg_qconfig_dict_free(&dict);
  return st == QG_OK ? QG_EXIT_OK : qg_cli_fail(st);
}
