/* The quantgraph command: shared declarations for the subcommands.
 *
 * Adding a subcommand: write cmd_<name>.c with `int qg_cmd_<name>(int argc, char **argv)`
 * (argv[0] is the subcommand name), declare it below, and add one row to the table in main.c.
 * Exit codes: 0 success, 1 bad input (a file that does not load, a missing method), 2 bad
 * usage (unknown flag, missing argument). Errors go to stderr prefixed "quantgraph: ". */
#ifndef QG_TOOLS_CLI_H
#define QG_TOOLS_CLI_H

#include <stdio.h>

#include "base/status.h"
#include "quant/qconfig.h"
#include "tensor/tensor_ops.h"

#define QG_CLI_VERSION "0.1.0"

enum { QG_EXIT_OK = 0, QG_EXIT_BAD_INPUT = 1, QG_EXIT_USAGE = 2 };

typedef struct qg_cli_command {
  const char *name;
  const char *summary; /* one line for `quantgraph --help` */
  const char *usage;   /* full text for `quantgraph NAME --help` */
  int (*run)(int argc, char **argv);
} qg_cli_command;

/* Prints "quantgraph: MESSAGE" to stderr and returns `code`. */
int qg_cli_error(int code, const char *fmt, ...) QG_PRINTF(2, 3);
/* Prints the library's last error for status s and returns QG_EXIT_BAD_INPUT. */
int qg_cli_fail(qg_status s);
/* A usage error for subcommand `cmd`: prints the message and a hint, returns QG_EXIT_USAGE. */
int qg_cli_usage_error(const char *cmd, const char *fmt, ...) QG_PRINTF(2, 3);

/* Option parsing helper: if argv[*i] is `--NAME VALUE` or `--NAME=VALUE`, stores VALUE in *value,
 * advances *i past it and returns 1; returns -1 if the value is missing; 0 if it is another arg. */
int qg_cli_option(int argc, char **argv, int *i, const char *name, const char **value);
/* As qg_cli_option for `-o FILE` / `--output FILE` / `--output=FILE`. */
int qg_cli_output_option(int argc, char **argv, int *i, const char **value);
/* Prints the usage text of `cmd` (from the table) to f. */
void qg_cli_print_usage(const char *cmd, FILE *f);
/* True if argv[i..] contains --help or -h (handled before other parsing). */
int qg_cli_wants_help(int argc, char **argv);

/* ---- qconfig options (qconfig_args.c): --qconfig NAME, --qconfig-for PATH=NAME|none,
 * --histogram current|legacy|torch113 ---- */
#define QG_CLI_MAX_QCONFIG_FOR 64
typedef struct qg_cli_qconfig {
  const char *root;
  const char *for_specs[QG_CLI_MAX_QCONFIG_FOR];
  size_t nfor;
  qg_histogram_variant variant;
} qg_cli_qconfig;
/* 1 if argv[*i] was a qconfig option (consumed), 0 if not, or a usage exit code (> 1). */
int qg_cli_qconfig_option(const char *cmd, int argc, char **argv, int *i, qg_cli_qconfig *q);
/* The dict: "" -> --qconfig (or default_root when neither --qconfig nor --qconfig-for is
 * given; NULL for none), plus every --qconfig-for. Unknown names: NOT_FOUND listing the known. */
qg_status qg_cli_qconfig_build(const qg_cli_qconfig *q, const char *default_root, qg_qconfig_dict *d) QG_MUST_USE;

/* ---- outputs (outputs.c) ---- */
typedef struct qg_cli_outputs {
  qg_named_tensors nt; /* names "0", "1", ... (malloc'd) */
  size_t cap;
} qg_cli_outputs;
/* Appends the tensors of v (flattened) to o. */
qg_status qg_cli_flatten_outputs(qg_cli_outputs *o, const qg_ival *v) QG_MUST_USE;
void qg_cli_outputs_free(qg_cli_outputs *o);

int qg_cmd_print(int argc, char **argv);
int qg_cmd_info(int argc, char **argv);
int qg_cmd_run(int argc, char **argv);
int qg_cmd_prepare(int argc, char **argv);
int qg_cmd_calibrate(int argc, char **argv);
int qg_cmd_opt(int argc, char **argv);
int qg_cmd_compare(int argc, char **argv);
int qg_cmd_convert(int argc, char **argv);
int qg_cmd_quantize(int argc, char **argv);
int qg_cmd_quantize_dynamic(int argc, char **argv);

#endif
