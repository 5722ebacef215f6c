/* quantgraph: one program, many subcommands (table below). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* One row per subcommand. */
static const qg_cli_command commands[] = {
    {"print", "print the method graphs of a bundle in PyTorch syntax",
     "usage: quantgraph print BUNDLE [--method NAME] [--module PATH] [--no-source]\n"
     "\n"
     "Prints the method graphs of a module exactly as PyTorch's str(graph) does.\n"
     "Without --method every method of the module's class is printed, each after a line\n"
     "'# method NAME of module PATH (CLASS)' (PATH is <root> for the root module).\n"
     "\n"
     "  --method NAME   print only this method, with no comment line\n"
     "  --module PATH   the submodule to print, by dotted path (default: the root)\n"
     "  --no-source     drop the '# file:line:col' source comments\n",
     qg_cmd_print},
    {"info", "show the module tree, attributes and parameter counts",
     "usage: quantgraph info BUNDLE [--json]\n"
     "\n"
     "Lists every module of the bundle (dotted path and class), its attributes with their\n"
     "kinds, types and values, and its parameter count and bytes (including submodules).\n"
     "\n"
     "  --json   print one JSON object instead of text\n",
     qg_cmd_info},
    {"run", "run a method of a bundle on tensors from a safetensors file",
     "usage: quantgraph run BUNDLE --input IN.safetensors -o OUT.safetensors [--method NAME]\n"
     "                      [--module PATH] [--device cpu] [--arg N=VALUE ...] [--threads N]\n"
     "                      [--check REF.safetensors [--tolerance R]]\n"
     "\n"
     "Runs METHOD (default forward) of the root module or of the submodule at PATH. Tensors of\n"
     "IN are the arguments by position: named \"0\", \"1\", ...; --arg N=VALUE gives argument N as\n"
     "an int, float, True/False, None or a list like [1,2]. Outputs are flattened (tuples and\n"
     "lists in order) into OUT as \"0\", \"1\", ...; ints, floats and bools are written as 0-dim\n"
     "I64 / F64 / BOOL tensors. OUT is replaced atomically. See docs/runtime.md.\n"
     "\n"
     "  --input FILE    safetensors file with the tensor arguments\n"
     "  -o, --output FILE  where to write the outputs\n"
     "  --method NAME   method to run (default: forward)\n"
     "  --module PATH   submodule to run, by dotted path (default: the root)\n"
     "  --device NAME   cpu (cuda is not available yet)\n"
     "  --arg N=VALUE   a non-tensor argument at position N\n"
     "  --threads N     threads for the BLAS kernels\n"
     "  --check REF     compare the outputs with REF's tensors of the same names (e.g. PyTorch's);\n"
     "                  exit 1 if any element differs by more than R * max(1, |ref|)\n"
     "  --tolerance R   relative tolerance with an absolute floor for --check (default 1e-5)\n",
     qg_cmd_run},
    {"prepare", "insert observers (prepare_jit): conv-bn folding + observers per qconfig",
     "usage: quantgraph prepare BUNDLE --qconfig NAME [--qconfig-for PATH=NAME|none ...]\n"
     "                          [--dynamic] [--histogram current|legacy|torch113] (-o OUT | --inplace)\n"
     "\n"
     "PyTorch's prepare_jit (prepare_dynamic_jit with --dynamic): folds Conv2d/3d + BatchNorm\n"
     "pairs, then inserts observers where the qconfig dict says, as PyTorch does. The qconfig\n"
     "dict maps module paths to named qconfigs: --qconfig gives the root's (\"\"), each\n"
     "--qconfig-for one submodule's (children inherit; 'none' skips a subtree). Names: default,\n"
     "per_channel, dynamic, per_channel_dynamic, float16_dynamic, histogram, fbgemm, x86,\n"
     "qnnpack, onednn (get_default_qconfig(engine)). A path that names no module is an error\n"
     "listing the modules. See docs/cli.md.\n"
     "\n"
     "  --qconfig NAME          qconfig of the root module (--dynamic alone: dynamic)\n"
     "  --qconfig-for PATH=NAME qconfig of the module at PATH, or PATH=none\n"
     "  --dynamic               dynamic quantization (observe linear inputs and weights only)\n"
     "  --histogram VARIANT     HistogramObserver update rule: current (PyTorch >= 2.5, default),\n"
     "                          legacy (PyTorch 2.4), torch113 (bit-exact with torch 1.13)\n"
     "  -o, --output FILE       where to write the prepared bundle\n"
     "  --inplace               rewrite BUNDLE instead (atomically)\n",
     qg_cmd_prepare},
    {"calibrate", "run a prepared bundle on calibration batches to fill its observers",
     "usage: quantgraph calibrate BUNDLE --data DATA.safetensors -o OUT [--threads N]\n"
     "\n"
     "Runs forward on every batch of DATA, whose tensors are named \"<batch>.<argument>\"\n"
     "(\"0.0\", \"0.1\", \"1.0\", ...), in batch order, so the observers that prepare inserted\n"
     "record statistics; saves the bundle with the observer state to OUT. Shows progress on a\n"
     "terminal and prints a summary (batches, observers updated, time).\n"
     "\n"
     "  --data FILE         calibration batches\n"
     "  -o, --output FILE   where to write the calibrated bundle\n"
     "  --threads N         threads for the BLAS kernels\n",
     qg_cmd_calibrate},
    {"opt", "run graph passes by name on a bundle",
     "usage: quantgraph opt BUNDLE --passes A,B,... -o OUT [--qconfig NAME] [--qconfig-for PATH=NAME]\n"
     "                      [--dynamic] | --list\n"
     "\n"
     "Runs the named passes in order on every method graph of the bundle and saves the result.\n"
     "--list prints the passes. Passes that need a qconfig (insert_observers) take the same\n"
     "--qconfig / --qconfig-for / --dynamic options as prepare. See docs/passes.md.\n",
     qg_cmd_opt},
    {"compare", "compare two bundles' outputs on the same inputs (errors, SQNR)",
     "usage: quantgraph compare A B --input IN.safetensors [--per-layer] [--json] [--threads N]\n"
     "\n"
     "Runs forward of A and of B on the tensors of IN (named \"0\", \"1\", ... by argument\n"
     "position) and reports for every output (flattened as `run` does) the number of elements,\n"
     "the max and mean absolute error of B against A and the SQNR of B in dB\n"
     "(10 log10(sum A^2 / sum (A - B)^2); inf when equal). Typically A is the float model and B\n"
     "its quantized version. With --per-layer (B converted with --debug) it first reports, worst\n"
     "SQNR first, the error each quantized value of B gets from its quantize -> dequantize round\n"
     "trip on these inputs.\n"
     "\n"
     "  --input FILE   the inputs\n"
     "  --per-layer    per quantized value of B (a debug-converted model)\n"
     "  --json         one JSON object instead of the table\n"
     "  --threads N    threads for the BLAS kernels\n",
     qg_cmd_compare},
    {"convert", "convert a calibrated bundle to int8 (convert_jit)",
     "usage: quantgraph convert BUNDLE [--debug] [--dynamic] -o OUT\n"
     "\n"
     "PyTorch's convert_jit on a prepared and calibrated bundle: observers become\n"
     "quantize/dequantize with their qparams; without --debug the float ops are then fused into\n"
     "quantized ops (quantized::conv2d, quantized::linear, ...), the module is frozen and the\n"
     "weights are prepacked. --debug stops before fusion (float ops between quantize and\n"
     "dequantize, qparams as attributes). --dynamic for a prepare --dynamic bundle.\n",
     qg_cmd_convert},
    {"quantize", "prepare + calibrate + convert in one step (quantize_jit)",
     "usage: quantgraph quantize BUNDLE --qconfig NAME [--qconfig-for PATH=NAME|none ...]\n"
     "                           --data DATA.safetensors [--debug] [--threads N] -o OUT\n"
     "\n"
     "PyTorch's quantize_jit: prepare with the qconfig dict (see `prepare --help`), calibrate on\n"
     "the batches of DATA (tensors \"<batch>.<argument>\", see `calibrate --help`), convert.\n",
     qg_cmd_quantize},
    {"quantize-dynamic", "dynamic quantization of linear layers (quantize_dynamic_jit)",
     "usage: quantgraph quantize-dynamic BUNDLE [--qconfig dynamic|per_channel_dynamic|float16_dynamic]\n"
     "                                   [--qconfig-for PATH=NAME|none ...] [--debug] -o OUT\n"
     "\n"
     "PyTorch's quantize_dynamic_jit: linear weights are quantized ahead of time, activations at\n"
     "run time (quantized::linear_dynamic); float16_dynamic keeps fp16 weights\n"
     "(quantized::linear_dynamic_fp16). No calibration data is needed. Default qconfig: dynamic.\n",
     qg_cmd_quantize_dynamic},
};

static const size_t ncommands = sizeof commands / sizeof commands[0];

int qg_cli_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("quantgraph: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

int qg_cli_fail(qg_status s) {
  const char *msg = qg_last_error();
  return qg_cli_error(QG_EXIT_BAD_INPUT, "%s", msg[0] ? msg : qg_status_str(s));
}

int qg_cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("quantgraph: ", stderr);
  if (cmd) fprintf(stderr, "%s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry 'quantgraph %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
  va_end(ap);
  return QG_EXIT_USAGE;
}

int qg_cli_option(int argc, char **argv, int *i, const char *name, const char **value) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0) return 0;
  if (a[2 + n] == '=') {
    *value = a + 3 + n;
    return 1;
  }
  if (a[2 + n] != '\0') return 0;
  if (*i + 1 >= argc) return -1;
  *value = argv[++*i];
  return 1;
}

int qg_cli_output_option(int argc, char **argv, int *i, const char **value) {
  if (strcmp(argv[*i], "-o") == 0) {
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
  }
  return qg_cli_option(argc, argv, i, "output", value);
}

void qg_cli_print_usage(const char *cmd, FILE *f) {
  for (size_t i = 0; i < ncommands; i++)
    if (strcmp(commands[i].name, cmd) == 0) fputs(commands[i].usage, f);
}

int qg_cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  return 0;
}

static void print_help(FILE *f) {
  fputs("usage: quantgraph [--help] [--version] COMMAND [ARGS]\n\n"
        "Graph-mode int8 quantization for TorchScript models.\n\n"
        "Commands:\n",
        f);
  for (size_t i = 0; i < ncommands; i++) fprintf(f, "  %-17s %s\n", commands[i].name, commands[i].summary);
  fputs("\nRun 'quantgraph COMMAND --help' for the options of a command.\n", f);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_help(stderr);
    return QG_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    if (strcmp(cmd, "help") == 0 && argc > 2) {
      for (size_t i = 0; i < ncommands; i++)
        if (strcmp(commands[i].name, argv[2]) == 0) {
          fputs(commands[i].usage, stdout);
          return QG_EXIT_OK;
        }
      return qg_cli_usage_error(NULL, "unknown command '%s'", argv[2]);
    }
    print_help(stdout);
    return QG_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
    printf("quantgraph %s\n", QG_CLI_VERSION);
    return QG_EXIT_OK;
  }
  if (cmd[0] == '-') return qg_cli_usage_error(NULL, "unknown option '%s'", cmd);
  for (size_t i = 0; i < ncommands; i++) {
    if (strcmp(commands[i].name, cmd) != 0) continue;
    if (qg_cli_wants_help(argc - 1, argv + 1)) {
      fputs(commands[i].usage, stdout);
      return QG_EXIT_OK;
    }
    return commands[i].run(argc - 1, argv + 1);
  }
  return qg_cli_usage_error(NULL, "unknown command '%s'", cmd);
}
