/* quantgraph run: runs a method of a bundle on tensors from a safetensors file and writes the
 * outputs to another (docs/runtime.md). Inputs are named "0", "1", ... by position; --arg N=VALUE
 * gives a scalar or list argument at position N instead. Outputs are flattened (nested tuples and
 * lists in order) and named "0", "1", ...; non-tensor outputs become 0-dim tensors (int -> I64,
 * float -> F64, bool -> BOOL); None and strings cannot be written and are an error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "module/module.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"

#define MAX_ARGS 64

/* VALUE of --arg: int, float, True/False, None, or a [..] list of those. */
static qg_status parse_value(const char **p, qg_ival *out) {
  const char *s = *p;
  while (*s == ' ') s++;
  if (*s == '[') {
    s++;
    QG_TRY(qg_ival_list_new(QG_IVAL_LIST, 0, out));
    while (*s == ' ') s++;
    if (*s == ']') {
      *p = s + 1;
      return QG_OK;
    }
    for (;;) {
      qg_ival item;
      qg_status st = parse_value(&s, &item);
      if (st == QG_OK) st = qg_ival_list_push(out, item);
      if (st != QG_OK) {
        qg_ival_release(out);
        return st;
      }
      while (*s == ' ') s++;
      if (*s == ',') {
        s++;
        continue;
      }
      if (*s == ']') {
        *p = s + 1;
        return QG_OK;
      }
      qg_ival_release(out);
      return qg_set_error(QG_STATUS_PARSE, "expected ',' or ']' at '%s'", s);
    }
  }
  static const struct {
    const char *word;
    int kind;
  } words[] = {{"True", 1}, {"true", 1}, {"False", 0}, {"false", 0}, {"None", -1}};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    size_t n = strlen(words[i].word);
    if (strncmp(s, words[i].word, n) == 0) {
      *out = words[i].kind < 0 ? qg_ival_none() : qg_ival_bool(words[i].kind);
      *p = s + n;
      return QG_OK;
    }
  }
  char *end;
  long long iv = strtoll(s, &end, 10);
  if (end != s && *end != '.' && *end != 'e' && *end != 'E' && *end != 'n' && *end != 'i') {
    *out = qg_ival_int(iv);
    *p = end;
    return QG_OK;
  }
  double d = strtod(s, &end);
  if (end == s) return qg_set_error(QG_STATUS_PARSE, "cannot read a value at '%s'", s);
  *out = qg_ival_double(d);
  *p = end;
  return QG_OK;
}

/* --check: compares every output with the tensor of the same name in ref (e.g. PyTorch's output
 * recorded by a fixture generator). Element-wise |got - want| <= tol * max(1, |want|) (relative
 * tolerance with an absolute floor, the parity criterion of docs/runtime.md); NaN must meet NaN.
 * Prints one line per output to stdout; returns QG_STATUS_CHECK_FAILED naming the first output
 * that is off, or whose name/shape does not match. */
static qg_status check_outputs(const qg_named_tensors *got, const char *ref_path, double tol) {
  qg_named_tensors ref = {0};
  QG_TRY(qg_named_tensors_load(ref_path, &ref));
  qg_status st = QG_OK;
  if (ref.n != got->n)
    st = qg_set_error(QG_STATUS_CHECK_FAILED, "--check %s: %zu reference tensors, but the method returned %zu outputs",
                      ref_path, ref.n, got->n);
  for (size_t i = 0; i < got->n && st == QG_OK; i++) {
    const qg_tensor *a = got->tensors[i], *b = qg_named_tensors_get(&ref, got->names[i]);
    if (!b) {
      st = qg_set_error(QG_STATUS_CHECK_FAILED, "--check %s: no reference tensor named '%s'", ref_path, got->names[i]);
      break;
    }
    int same_shape = a->ndim == b->ndim;
    for (int d = 0; same_shape && d < a->ndim; d++) same_shape = a->shape[d] == b->shape[d];
    if (!same_shape) {
      st = qg_set_error(QG_STATUS_CHECK_FAILED, "--check %s: output '%s' has another shape than the reference",
                        ref_path, got->names[i]);
      break;
    }
    double max_abs = 0, max_rel = 0;
    int64_t worst = -1;
    for (int64_t k = 0; k < qg_tensor_numel(a); k++) {
      double x = qg_tensor_get_flat(a, k), y = qg_tensor_get_flat(b, k);
      if (isnan(x) || isnan(y)) {
        if (isnan(x) != isnan(y) && worst < 0) worst = k;
        continue;
      }
      double d = x == y ? 0.0 : fabs(x - y); /* equal infinities are no error */
      double rel = d / fmax(1.0, fabs(y));
      if (d > max_abs) max_abs = d;
      if (rel > max_rel) max_rel = rel;
      if (!(rel <= tol) && worst < 0) worst = k;
    }
    printf("check %s: max abs error %.3g, max rel error %.3g (tolerance %.3g): %s\n", got->names[i], max_abs, max_rel,
           tol, worst < 0 ? "ok" : "MISMATCH");
    if (worst >= 0)
      st = qg_set_error(QG_STATUS_CHECK_FAILED, "--check %s: output '%s' element %lld is %.9g, the reference has %.9g",
                        ref_path, got->names[i], (long long)worst, qg_tensor_get_flat(a, worst),
                        qg_tensor_get_flat(b, worst));
  }
  qg_named_tensors_free(&ref);
  return st;
}

int qg_cmd_run(int argc, char **argv) {
  if (qg_cli_wants_help(argc, argv)) {
    qg_cli_print_usage("run", stdout);
    return QG_EXIT_OK;
  }
  const char *bundle = NULL, *input = NULL, *output = NULL, *method = "forward", *module = NULL, *device = "cpu";
  const char *check = NULL;
  double tol = 1e-5;
  const char *val;
  const char *argspecs[MAX_ARGS];
  size_t nspecs = 0;
  int threads = 0;
  for (int i = 1; i < argc; i++) {
    int r;
    if ((r = qg_cli_option(argc, argv, &i, "input", &val)) != 0) {
      if (r < 0) return qg_cli_usage_error("run", "--input needs a file");
      input = val;
    } else if ((r = qg_cli_option(argc, argv, &i, "method", &val)) != 0) {
      if (r < 0) return qg_cli_usage_error("run", "--method needs a name");
      method = val;
    } else if ((r = qg_cli_option(argc, argv, &i, "module", &val)) != 0) {
      if (r < 0) return qg_cli_usage_error("run", "--module needs a path");
      module = val;
    } else if ((r = qg_cli_option(argc, argv, &i, "device", &val)) != 0) {
      if (r < 0) return qg_cli_usage_error("run", "--device needs a name");
      device = val;
    } else if ((r = qg_cli_option(argc, argv, &i, "threads", &val)) != 0) {
      char *end;
      long n = r < 0 ? 0 : strtol(val, &end, 10);
      if (r < 0 || *end || n < 1 || n > 1024) return qg_cli_usage_error("run", "--threads needs a count from 1 to 1024");
      threads = (int)n;
    } else if ((r = qg_cli_option(argc, argv, &i, "check", &val)) != 0) {
      if (r < 0) return qg_cli_usage_error("run", "--check needs a file");
      check = val;
    } else if ((r = qg_cli_option(argc, argv, &i, "tolerance", &val)) != 0) {
      char *end;
      tol = r < 0 ? -1 : strtod(val, &end);
      if (r < 0 || *end || !(tol >= 0)) return qg_cli_usage_error("run", "--tolerance needs a non-negative number");
    } else if ((r = qg_cli_option(argc, argv, &i, "arg", &val)) != 0) {
      if (r < 0 || !strchr(val, '=')) return qg_cli_usage_error("run", "--arg needs N=VALUE");
      if (nspecs == MAX_ARGS) return qg_cli_usage_error("run", "too many --arg options");
      argspecs[nspecs++] = val;
    } else if (strcmp(argv[i], "-o") == 0 || (r = qg_cli_option(argc, argv, &i, "output", &val)) != 0) {
      if (strcmp(argv[i], "-o") == 0) {
        if (i + 1 >= argc) return qg_cli_usage_error("run", "-o needs a file");
        val = argv[++i];
      } else if (r < 0) {
        return qg_cli_usage_error("run", "--output needs a file");
      }
      output = val;
    } else if (argv[i][0] == '-') {
      return qg_cli_usage_error("run", "unknown option '%s'", argv[i]);
    } else if (!bundle) {
      bundle = argv[i];
    } else {
      return qg_cli_usage_error("run", "unexpected argument '%s'", argv[i]);
    }
  }
  if (!bundle) return qg_cli_usage_error("run", "missing BUNDLE");
  if (!output && !check) return qg_cli_usage_error("run", "missing -o OUT.safetensors (or --check REF.safetensors)");
  if (strcmp(device, "cpu") != 0) {
    if (strncmp(device, "cuda", 4) == 0)
      return qg_cli_error(QG_EXIT_BAD_INPUT, "--device %s: the CUDA backend cannot run models yet (use --device cpu)",
                          device);
    return qg_cli_usage_error("run", "unknown device '%s' (cpu or cuda)", device);
  }

  qg_module *m = NULL;
  qg_named_tensors in = {0};
  qg_ival args[MAX_ARGS];
  size_t nargs = 0;
  int rc = QG_EXIT_OK;
  qg_status st = qg_module_load(bundle, &m);
  if (st == QG_OK && input) st = qg_named_tensors_load(input, &in);
  /* Positions: every "0".."N-1" from the input file plus --arg positions. */
  for (size_t k = 0; k < MAX_ARGS; k++) args[k] = qg_ival_none();
  if (st == QG_OK) {
    for (size_t k = 0; k < in.n; k++) {
      char *end;
      unsigned long pos = strtoul(in.names[k], &end, 10);
      if (*end || end == in.names[k] || pos >= MAX_ARGS) {
        st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: tensor '%s' is not named by an argument position (0, 1, ...)",
                          input, in.names[k]);
        break;
      }
      qg_tensor_retain(in.tensors[k]);
      qg_ival_release(&args[pos]);
      args[pos] = qg_ival_tensor(in.tensors[k]);
      if (pos + 1 > nargs) nargs = pos + 1;
    }
  }
  for (size_t k = 0; k < nspecs && st == QG_OK; k++) {
    char *end;
    unsigned long pos = strtoul(argspecs[k], &end, 10);
    if (*end != '=' || end == argspecs[k] || pos >= MAX_ARGS) {
      qg_cli_usage_error("run", "--arg '%s': N must be an argument position", argspecs[k]);
      rc = QG_EXIT_USAGE;
      break;
    }
    const char *p = end + 1;
    qg_ival v;
    st = parse_value(&p, &v);
    if (st == QG_OK && *p) {
      qg_ival_release(&v);
      st = qg_set_error(QG_STATUS_PARSE, "trailing text '%s'", p);
    }
    if (st != QG_OK) {
      st = qg_error_prefix(st, "--arg %s", argspecs[k]);
      break;
    }
    qg_ival_release(&args[pos]);
    args[pos] = v;
    if (pos + 1 > nargs) nargs = pos + 1;
  }
  qg_ival result = qg_ival_none();
  if (st == QG_OK && rc == QG_EXIT_OK) {
    qg_run_opts opts = {threads};
    st = qg_run_method(m, module, method, args, nargs, &opts, &result);
  }
  if (st == QG_OK && rc == QG_EXIT_OK) {
    qg_cli_outputs o = {{0}, 0};
    st = qg_cli_flatten_outputs(&o, &result);
    if (st == QG_OK && output) st = qg_named_tensors_save(output, &o.nt);
    if (st == QG_OK && check) st = check_outputs(&o.nt, check, tol);
    qg_cli_outputs_free(&o);
  }
  if (st != QG_OK && rc == QG_EXIT_OK) rc = qg_cli_fail(st);
  qg_ival_release(&result);
  for (size_t k = 0; k < MAX_ARGS; k++) qg_ival_release(&args[k]);
  qg_named_tensors_free(&in);
  qg_module_free(m);
  return rc;
}
