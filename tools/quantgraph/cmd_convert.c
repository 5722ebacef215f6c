/* quantgraph convert / quantize / quantize-dynamic: convert_jit on a calibrated bundle, and the
 * whole quantize_jit / quantize_dynamic_jit flows (docs/cli.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/convert.h"
#include "cli.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct job {
  const char *cmd, *bundle, *output, *data;
  int debug, dynamic, threads;
  qg_cli_qconfig q;
} job;

/* Options shared by the three commands; qconfig options only where `qconfig` is set. */
static int parse(job *j, int argc, char **argv, int qconfig, int data) {
  const char *val;
  for (int i = 1; i < argc; i++) {
    int r = qconfig ? qg_cli_qconfig_option(j->cmd, argc, argv, &i, &j->q) : 0;
    if (r > 1) return r;
    if (r == 1) continue;
    if ((r = qg_cli_output_option(argc, argv, &i, &val)) != 0) {
      if (r < 0) return qg_cli_usage_error(j->cmd, "-o needs a file");
      j->output = val;
    } else if (data && (r = qg_cli_option(argc, argv, &i, "data", &val)) != 0) {
      if (r < 0) return qg_cli_usage_error(j->cmd, "--data needs a file");
      j->data = val;
    } else if ((r = qg_cli_option(argc, argv, &i, "threads", &val)) != 0) {
      if (r < 0 || atoi(val) < 1) return qg_cli_usage_error(j->cmd, "--threads needs a positive number");
      j->threads = atoi(val);
    } else if (strcmp(argv[i], "--debug") == 0) {
      j->debug = 1;
    } else if (!strcmp(j->cmd, "convert") && strcmp(argv[i], "--dynamic") == 0) {
      j->dynamic = 1;
    } else if (argv[i][0] == '-') {
      return qg_cli_usage_error(j->cmd, "unknown option '%s'", argv[i]);
    } else if (!j->bundle) {
      j->bundle = argv[i];
    } else {
      return qg_cli_usage_error(j->cmd, "unexpected argument '%s'", argv[i]);
    }
  }
  if (!j->bundle) return qg_cli_usage_error(j->cmd, "missing BUNDLE");
  if (!j->output) return qg_cli_usage_error(j->cmd, "missing -o OUT");
  if (data && !j->data) return qg_cli_usage_error(j->cmd, "missing --data DATA.safetensors");
  return QG_EXIT_OK;
}

static int finish(const job *j, qg_status st, qg_module *m, qg_module *out, double t0, const char *what) {
  double t1 = now_s();
  if (st == QG_OK) st = qg_module_save(out, j->output);
  if (out != m) qg_module_free(out);
  qg_module_free(m);
  if (st != QG_OK) return qg_cli_fail(st);
  printf("%s %s -> %s%s in %.1f ms\n", what, j->bundle, j->output, j->debug ? " (debug)" : "", (t1 - t0) * 1e3);
  return QG_EXIT_OK;
}

int qg_cmd_convert(int argc, char **argv) {
  job j = {"convert", NULL, NULL, NULL, 0, 0, 0, {0}};
  int rc = parse(&j, argc, argv, 0, 0);
  if (rc != QG_EXIT_OK) return rc;
  qg_module *m = NULL, *out = NULL;
  qg_status st = qg_module_load(j.bundle, &m);
  double t0 = now_s();
  if (st == QG_OK) st = qg_convert(m, j.dynamic, j.debug, 1, &out, NULL);
  return finish(&j, st, m, out, t0, "converted");
}

int qg_cmd_quantize(int argc, char **argv) {
  job j = {"quantize", NULL, NULL, NULL, 0, 0, 0, {0}};
  int rc = parse(&j, argc, argv, 1, 1);
  if (rc != QG_EXIT_OK) return rc;
  if (!j.q.root && !j.q.nfor) return qg_cli_usage_error("quantize", "missing --qconfig NAME (or --qconfig-for)");
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  qg_named_tensors data = {0};
  qg_module *m = NULL, *out = NULL;
  qg_calibration_stats cs = {0};
  qg_status st = qg_cli_qconfig_build(&j.q, NULL, &d);
  if (st == QG_OK) st = qg_module_load(j.bundle, &m);
  if (st == QG_OK) st = qg_qconfig_dict_check(&d, m);
  if (st == QG_OK) st = qg_named_tensors_load(j.data, &data);
  double t0 = now_s();
  if (st == QG_OK) st = qg_quantize(m, &d, &data, j.debug, 1, j.threads, &out, &cs, NULL);
  if (st == QG_OK) printf("calibrated on %zu batches (%zu observers)\n", cs.batches, cs.observers);
  qg_named_tensors_free(&data);
  qg_qconfig_dict_free(&d);
  return finish(&j, st, m, out, t0, "quantized");
}

int qg_cmd_quantize_dynamic(int argc, char **argv) {
  job j = {"quantize-dynamic", NULL, NULL, NULL, 0, 0, 0, {0}};
  int rc = parse(&j, argc, argv, 1, 0);
  if (rc != QG_EXIT_OK) return rc;
  qg_qconfig_dict d = QG_QCONFIG_DICT_INIT;
  qg_module *m = NULL, *out = NULL;
  qg_status st = qg_cli_qconfig_build(&j.q, "dynamic", &d);
  if (st == QG_OK) st = qg_module_load(j.bundle, &m);
  if (st == QG_OK) st = qg_qconfig_dict_check(&d, m);
  double t0 = now_s();
  if (st == QG_OK) st = qg_quantize_dynamic(m, &d, j.debug, 1, &out, NULL);
  qg_qconfig_dict_free(&d);
  return finish(&j, st, m, out, t0, "quantized (dynamic)");
}
