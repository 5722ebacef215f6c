/* quantgraph calibrate: runs a prepared bundle on calibration batches so its observers record
 * statistics, and saves it (docs/cli.md). DATA holds batch b's argument a as tensor "b.a". */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "api/prepare.h"
#include "cli.h"

static void show_progress(size_t done, size_t total, void *ud) {
  (void)ud;
  fprintf(stderr, "\rcalibrating: batch %zu/%zu", done, total);
  if (done == total) fputc('\n', stderr);
  fflush(stderr);
}

int qg_cmd_calibrate(int argc, char **argv) {
  const char *bundle = NULL, *data = NULL, *output = NULL, *val;
  int threads = 0;
  for (int i = 1; i < argc; i++) {
    int r;
    if ((r = qg_cli_output_option(argc, argv, &i, &val)) != 0) {
      if (r < 0) return qg_cli_usage_error("calibrate", "-o needs a file");
      output = val;
    } else if ((r = qg_cli_option(argc, argv, &i, "data", &val)) != 0) {
      if (r < 0) return qg_cli_usage_error("calibrate", "--data needs a file");
      data = val;
    } else if ((r = qg_cli_option(argc, argv, &i, "threads", &val)) != 0) {
      char *end = NULL;
      long n = r > 0 ? strtol(val, &end, 10) : 0;
      if (r < 0 || !end || *end || n < 1 || n > 1024) return qg_cli_usage_error("calibrate", "--threads needs 1..1024");
      threads = (int)n;
    } else if (argv[i][0] == '-') {
      return qg_cli_usage_error("calibrate", "unknown option '%s'", argv[i]);
    } else if (!bundle) {
      bundle = argv[i];
    } else {
      return qg_cli_usage_error("calibrate", "unexpected argument '%s'", argv[i]);
    }
  }
  if (!bundle) return qg_cli_usage_error("calibrate", "missing BUNDLE");
  if (!data) return qg_cli_usage_error("calibrate", "missing --data DATA.safetensors");
  if (!output) return qg_cli_usage_error("calibrate", "missing -o OUT");
  qg_module *m = NULL;
  qg_named_tensors batches = {0};
  qg_calibration_stats stats = {0};
  qg_status st = qg_module_load(bundle, &m);
  if (st == QG_OK) st = qg_named_tensors_load(data, &batches);
  if (st == QG_OK)
    st = qg_calibrate(m, &batches, threads, isatty(fileno(stderr)) ? show_progress : NULL, NULL, &stats);
  if (st == QG_OK) st = qg_module_save(m, output);
  qg_named_tensors_free(&batches);
  qg_module_free(m);
  if (st != QG_OK) return qg_cli_fail(st);
  if (stats.observers == 0) fprintf(stderr, "quantgraph: warning: %s has no observers (run prepare first)\n", bundle);
  printf("calibrated %s -> %s: %zu batches, %zu of %zu observers updated, %.1f ms\n", bundle, output, stats.batches,
         stats.observers_updated, stats.observers, stats.seconds * 1e3);
  return QG_EXIT_OK;
}
