/* Bundle load benchmark: time to load a bundle (mmap + header validation + module text parse,
 * which parses every method graph) and to lint every graph, peak memory, and a check that no
 * tensor bytes were copied (every tensor's data lies inside the mapping).
 *
 *   bench_load BUNDLE [--repeat N] [--json FILE]
 *
 * Prints one line per measurement and, with --json, a Google-Benchmark-style JSON report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_util.h"
#include "ir/ir.h"
#include "module/module.h"
#include "module/safetensors.h"

static long peak_rss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* Lints every method graph of every class in the unit; returns the number of graphs and nodes. */
static qg_status lint_all(const qg_cu_t *cu, size_t *ngraphs) {
  *ngraphs = 0;
  for (size_t i = 0; i < qg_cu_ntypes(cu); i++) {
    const qg_type_t *t = qg_cu_type_at(cu, i);
    for (size_t j = 0; j < t->nmethods; j++) {
      if (!t->methods[j].graph) continue;
      QG_TRY(qg_graph_lint(t->methods[j].graph));
      (*ngraphs)++;
    }
  }
  return QG_OK;
}

int main(int argc, char **argv) {
  const char *path = NULL, *json = NULL;
  int repeat = 20;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else if (!path) path = argv[i];
    else {
      fprintf(stderr, "usage: bench_load BUNDLE [--repeat N] [--json FILE]\n");
      return 2;
    }
  }
  if (!path || repeat < 1) {
    fprintf(stderr, "usage: bench_load BUNDLE [--repeat N] [--json FILE]\n");
    return 2;
  }
  long rss_before = peak_rss_kb();
  double *load_t = calloc((size_t)repeat, sizeof *load_t);
  double *lint_t = calloc((size_t)repeat, sizeof *lint_t);
  size_t ngraphs = 0, ntensors = 0, copied = 0, file_size = 0;
  for (int r = 0; r < repeat; r++) {
    qg_module *m = NULL;
    double t0 = now_s();
    if (qg_module_load(path, &m) != QG_OK) {
      fprintf(stderr, "bench_load: %s\n", qg_last_error());
      return 1;
    }
    double t1 = now_s();
    if (lint_all(m->cu, &ngraphs) != QG_OK) {
      fprintf(stderr, "bench_load: lint: %s\n", qg_last_error());
      return 1;
    }
    double t2 = now_s();
    load_t[r] = t1 - t0;
    lint_t[r] = t2 - t1;
    if (r == 0) {
      file_size = m->file->file_size;
      ntensors = m->file->ntensors;
      for (size_t i = 0; i < m->file->ntensors; i++)
        if (!qg_safetensors_owns(m->file, m->file->tensors[i].tensor)) copied++;
    }
    qg_module_free(m);
  }
  long rss_peak = peak_rss_kb();
  qsort(load_t, (size_t)repeat, sizeof *load_t, cmp_double);
  qsort(lint_t, (size_t)repeat, sizeof *lint_t, cmp_double);
  double load_med = load_t[repeat / 2] * 1e3, lint_med = lint_t[repeat / 2] * 1e3;
  printf("bundle            %s (%.1f MB, %zu tensors, %zu graphs)\n", path, (double)file_size / 1e6,
         ntensors, ngraphs);
  printf("load (median)     %.3f ms  (min %.3f ms, %d runs)\n", load_med, load_t[0] * 1e3, repeat);
  printf("lint (median)     %.3f ms\n", lint_med);
  printf("peak RSS          %.1f MB (%.1f MB before loading)\n", (double)rss_peak / 1024.0,
         (double)rss_before / 1024.0);
  printf("tensors copied    %zu of %zu\n", copied, ntensors);
  if (json) {
    FILE *f = fopen(json, "w");
    if (!f) {
      perror(json);
      return 1;
    }
    fprintf(f,
            "{\"context\": {\"executable\": \"bench_load\", \"bundle\": \"%s\", \"file_bytes\": %zu},\n"
            " \"benchmarks\": [\n"
            "  {\"name\": \"load\", \"run_type\": \"iteration\", \"iterations\": %d, \"real_time\": %.6f, "
            "\"min_time\": %.6f, \"time_unit\": \"ms\"},\n"
            "  {\"name\": \"lint\", \"run_type\": \"iteration\", \"iterations\": %d, \"real_time\": %.6f, "
            "\"time_unit\": \"ms\", \"graphs\": %zu},\n"
            "  {\"name\": \"memory\", \"peak_rss_mb\": %.1f, \"rss_before_mb\": %.1f, \"tensors\": %zu, "
            "\"tensors_copied\": %zu}\n ]}\n",
            path, file_size, repeat, load_med, load_t[0] * 1e3, repeat, lint_med, ngraphs,
            (double)rss_peak / 1024.0, (double)rss_before / 1024.0, ntensors, copied);
    fclose(f);
  }
  free(load_t);
  free(lint_t);
  return copied ? 1 : 0;
}
