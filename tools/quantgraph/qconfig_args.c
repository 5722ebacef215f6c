/* Shared parsing of --qconfig / --qconfig-for / --histogram for prepare, opt and quantize. */
#include <string.h>

#include "cli.h"

static qg_status qconfig_add(qg_qconfig_dict *d, const char *path, const char *name, qg_histogram_variant v) {
  if (strcmp(name, "none") == 0 || strcmp(name, "None") == 0) return qg_qconfig_dict_set(d, path, NULL);
  qg_qconfig qc;
  QG_TRY(qg_qconfig_named(name, v, &qc));
  return qg_qconfig_dict_set(d, path, &qc);
}

static int histogram_variant(const char *s, qg_histogram_variant *out) {
  if (strcmp(s, "current") == 0) *out = QG_HISTOGRAM_CURRENT;
  else if (strcmp(s, "legacy") == 0) *out = QG_HISTOGRAM_LEGACY;
  else if (strcmp(s, "torch113") == 0) *out = QG_HISTOGRAM_LEGACY_113;
  else return -1;
  return 0;
}

int qg_cli_qconfig_option(const char *cmd, int argc, char **argv, int *i, qg_cli_qconfig *q) {
  const char *val;
  int r;
  if ((r = qg_cli_option(argc, argv, i, "qconfig", &val)) != 0) {
    if (r < 0) return qg_cli_usage_error(cmd, "--qconfig needs a name");
    q->root = val;
    return 1;
  }
  if ((r = qg_cli_option(argc, argv, i, "qconfig-for", &val)) != 0) {
    if (r < 0 || !strchr(val, '=')) return qg_cli_usage_error(cmd, "--qconfig-for needs PATH=NAME (or PATH=none)");
    if (q->nfor >= QG_CLI_MAX_QCONFIG_FOR) return qg_cli_usage_error(cmd, "too many --qconfig-for options");
    q->for_specs[q->nfor++] = val;
    return 1;
  }
  if ((r = qg_cli_option(argc, argv, i, "histogram", &val)) != 0) {
    if (r < 0 || histogram_variant(val, &q->variant) != 0)
      return qg_cli_usage_error(cmd, "--histogram takes current, legacy or torch113");
    return 1;
  }
  return 0;
}

qg_status qg_cli_qconfig_build(const qg_cli_qconfig *q, const char *default_root, qg_qconfig_dict *d) {
  const char *root = q->root ? q->root : (q->nfor ? NULL : default_root);
  if (root) QG_TRY(qconfig_add(d, "", root, q->variant));
  for (size_t k = 0; k < q->nfor; k++) {
    const char *eq = strchr(q->for_specs[k], '=');
    char path[512];
    size_t n = (size_t)(eq - q->for_specs[k]);
    if (n >= sizeof path) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "--qconfig-for: path too long");
    memcpy(path, q->for_specs[k], n);
    path[n] = 0;
    QG_TRY(qconfig_add(d, path, eq + 1, q->variant));
  }
  return QG_OK;
}
