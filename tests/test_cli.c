/* The quantgraph command: runs the built binary (QG_CLI_PATH) on bundles and checks output
 * and exit codes. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/alloc.h"
#include "module/module.h"
#include "module/module_text.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

static char tmpdir[256];
static char bundle[512];

static const char module_text[] =
    "quantgraph module 1\n"
    "\n"
    "module class __torch__.Sub {\n"
    "  parameter weight : Tensor\n"
    "  attribute training : bool\n"
    "  method forward = graph(%self : __torch__.Sub,\n"
    "      %x.1 : Tensor):\n"
    "  %weight : Tensor = prim::GetAttr[name=\"weight\"](%self)\n"
    "  %3 : Tensor = aten::mul(%x.1, %weight)\n"
    "  return (%3)\n"
    "}\n"
    "\n"
    "module class __torch__.M {\n"
    "  module sub : __torch__.Sub\n"
    "  buffer scale : Tensor\n"
    "  attribute sizes : int[]\n"
    "  method forward = graph(%self : __torch__.M,\n"
    "      %x.1 : Tensor):\n"
    "  %sub : __torch__.Sub = prim::GetAttr[name=\"sub\"](%self)\n"
    "  %3 : Tensor = prim::CallMethod[name=\"forward\"](%sub, %x.1)\n"
    "  return (%3)\n"
    "  method helper = graph(%self : __torch__.M):\n"
    "  %1 : int = prim::Constant[value=1]()\n"
    "  return (%1)\n"
    "}\n"
    "\n"
    "root __torch__.M {\n"
    "  sub = __torch__.Sub {\n"
    "    weight = tensor \"sub.weight\"\n"
    "    training = False\n"
    "  }\n"
    "  scale = tensor \"scale\"\n"
    "  sizes = [1, 2]\n"
    "}\n";

static qg_status lookup(void *ud, const char *name, qg_tensor **out) {
  (void)ud;
  int64_t shape[2] = {strcmp(name, "scale") == 0 ? 1 : 4, 3};
  return qg_tensor_create(QG_DTYPE_F32, strcmp(name, "scale") == 0 ? 1 : 2, shape, out);
}

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/qg-cli-XXXXXX");
  cr_assert(mkdtemp(tmpdir));
  snprintf(bundle, sizeof bundle, "%s/m.safetensors", tmpdir);
  qg_module_text_opts o = {"cli.module", lookup, NULL, 0};
  qg_cu_t *cu;
  qg_ival root;
  QG_ASSERT_OK(qg_module_text_parse(module_text, strlen(module_text), &o, &cu, &root));
  qg_module *m;
  QG_ASSERT_OK(qg_module_create(cu, root, &m));
  QG_ASSERT_OK(qg_module_set_meta(m, "quantgraph.engine", "qnnpack"));
  QG_ASSERT_OK(qg_module_save(m, bundle));
  qg_module_free(m);
}

static void teardown(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_assert(system(cmd) == 0);
}

TestSuite(cli, .init = setup, .fini = teardown);

typedef struct run_result {
  int code;
  char *out, *err;
} run_result;

static char *slurp(const char *path) {
  size_t n;
  return qg_test_read_file(path, &n);
}

/* Runs `quantgraph ARGS` (a shell fragment), capturing stdout and stderr. */
static run_result run(const char *args) {
  char cmd[5120], o[600], e[600];
  snprintf(o, sizeof o, "%s/stdout", tmpdir);
  snprintf(e, sizeof e, "%s/stderr", tmpdir);
  snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", QG_CLI_PATH, args, o, e);
  int st = system(cmd);
  cr_assert(WIFEXITED(st), "quantgraph %s did not exit normally", args);
  run_result r = {WEXITSTATUS(st), slurp(o), slurp(e)};
  return r;
}

static void done(run_result *r) {
  free(r->out);
  free(r->err);
}

Test(cli, help_and_version) {
  run_result r = run("--help");
  cr_assert_eq(r.code, 0);
  cr_assert(strstr(r.out, "usage: quantgraph"), "%s", r.out);
  cr_assert(strstr(r.out, "  print ") && strstr(r.out, "  info "), "%s", r.out);
  done(&r);
  r = run("print --help");
  cr_assert_eq(r.code, 0);
  cr_assert(strstr(r.out, "usage: quantgraph print BUNDLE"), "%s", r.out);
  done(&r);
  r = run("info -h");
  cr_assert_eq(r.code, 0);
  cr_assert(strstr(r.out, "usage: quantgraph info BUNDLE [--json]"), "%s", r.out);
  done(&r);
  r = run("--version");
  cr_assert_eq(r.code, 0);
  cr_assert(strncmp(r.out, "quantgraph ", 11) == 0, "%s", r.out);
  done(&r);
}

Test(cli, usage_errors_exit_2) {
  const char *cases[][2] = {
      {"", "usage: quantgraph"},
      {"frobnicate", "quantgraph: unknown command 'frobnicate'"},
      {"--frob", "quantgraph: unknown option '--frob'"},
      {"print", "quantgraph: print: missing BUNDLE"},
      {"print a b", "quantgraph: print: more than one bundle given ('a' and 'b')"},
      {"print x --method", "quantgraph: print: option '--method' needs a value"},
      {"info x --yaml", "quantgraph: info: unknown option '--yaml'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    run_result r = run(cases[i][0]);
    cr_expect_eq(r.code, 2, "'%s' exited %d", cases[i][0], r.code);
    cr_expect(strstr(r.err, cases[i][1]), "'%s': stderr \"%s\" lacks \"%s\"", cases[i][0], r.err, cases[i][1]);
    cr_expect_str_empty(r.out, "'%s' wrote to stdout", cases[i][0]);
    done(&r);
  }
}

Test(cli, print_one_method_is_exactly_the_graph) {
  char args[700];
  snprintf(args, sizeof args, "print '%s' --method forward", bundle);
  run_result r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert_str_eq(r.out,
                   "graph(%self : __torch__.M,\n"
                   "      %x.1 : Tensor):\n"
                   "  %sub : __torch__.Sub = prim::GetAttr[name=\"sub\"](%self)\n"
                   "  %3 : Tensor = prim::CallMethod[name=\"forward\"](%sub, %x.1)\n"
                   "  return (%3)\n");
  done(&r);
  snprintf(args, sizeof args, "print '%s' --module=sub --method forward", bundle);
  r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert(strncmp(r.out, "graph(%self : __torch__.Sub,\n", 29) == 0, "%s", r.out);
  done(&r);
}

Test(cli, print_all_methods_with_headers) {
  char args[700];
  snprintf(args, sizeof args, "print '%s'", bundle);
  run_result r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert(strncmp(r.out, "# method forward of module <root> (__torch__.M)\ngraph(%self", 59) == 0, "%s", r.out);
  cr_assert(strstr(r.out, "\n\n# method helper of module <root> (__torch__.M)\ngraph(%self : __torch__.M):\n"), "%s",
            r.out);
  done(&r);
}

Test(cli, bad_input_exits_1) {
  char args[700];
  snprintf(args, sizeof args, "print '%s' --method nope", bundle);
  run_result r = run(args);
  cr_assert_eq(r.code, 1);
  cr_assert(strstr(r.err, "quantgraph: ") == r.err && strstr(r.err, "has no method 'nope'"), "%s", r.err);
  done(&r);
  snprintf(args, sizeof args, "print '%s' --module nope", bundle);
  r = run(args);
  cr_assert_eq(r.code, 1);
  cr_assert(strstr(r.err, "has no attribute 'nope'"), "%s", r.err);
  done(&r);
  snprintf(args, sizeof args, "info '%s/missing.safetensors'", tmpdir);
  r = run(args);
  cr_assert_eq(r.code, 1);
  cr_assert(strstr(r.err, "quantgraph: ") == r.err && strstr(r.err, "missing.safetensors: cannot open"), "%s", r.err);
  done(&r);
  char garbage[600];
  snprintf(garbage, sizeof garbage, "%s/garbage.safetensors", tmpdir);
  FILE *f = fopen(garbage, "wb");
  fwrite("\x04\0\0\0\0\0\0\0{]}x", 1, 12, f);
  fclose(f);
  snprintf(args, sizeof args, "print '%s'", garbage);
  r = run(args);
  cr_assert_eq(r.code, 1);
  cr_assert(strstr(r.err, "header is not valid JSON"), "%s", r.err);
  cr_assert_str_empty(r.out);
  done(&r);
}

Test(cli, info_text) {
  char args[700];
  snprintf(args, sizeof args, "info '%s'", bundle);
  run_result r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert(strstr(r.out, "quantgraph.engine: qnnpack\n"), "%s", r.out);
  cr_assert(strstr(r.out, "<root> : __torch__.M  (parameters: 12 in 1 tensors, 48 bytes)\n"), "%s", r.out);
  cr_assert(strstr(r.out, "  buffer    scale : Tensor = Float[1]\n"), "%s", r.out);
  cr_assert(strstr(r.out, "  attribute sizes : int[] = [1, 2]\n"), "%s", r.out);
  cr_assert(strstr(r.out, "sub : __torch__.Sub  (parameters: 12 in 1 tensors, 48 bytes)\n"), "%s", r.out);
  cr_assert(strstr(r.out, "  parameter weight : Tensor = Float[4, 3]\n"), "%s", r.out);
  done(&r);
}

Test(cli, info_json) {
  char args[700];
  snprintf(args, sizeof args, "info --json '%s'", bundle);
  run_result r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cJSON *j = cJSON_Parse(r.out);
  cr_assert(j, "not JSON: %s", r.out);
  cJSON *mods = cJSON_GetObjectItem(j, "modules");
  cr_assert_eq(cJSON_GetArraySize(mods), 2);
  cJSON *sub = cJSON_GetArrayItem(mods, 1);
  cr_assert_str_eq(cJSON_GetObjectItem(sub, "path")->valuestring, "sub");
  cr_assert_str_eq(cJSON_GetObjectItem(sub, "class")->valuestring, "__torch__.Sub");
  cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(sub, "parameters"), "numel")->valuedouble, 12);
  cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(sub, "attributes"), 0);
  cr_assert_str_eq(cJSON_GetObjectItem(w, "kind")->valuestring, "parameter");
  cr_assert_str_eq(cJSON_GetObjectItem(w, "dtype")->valuestring, "f32");
  cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(w, "shape")), 2);
  cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "quantgraph.engine")->valuestring,
                   "qnnpack");
  cJSON_Delete(j);
  done(&r);
}

/* ---- prepare / calibrate / opt ---------------------------------------------------------------- */

/* A seed fixture (conv model) and calibration data with two batches in the "<b>.<a>" naming. */
static void seed_and_data(char *model, size_t nm, char *data, size_t nd) {
  snprintf(model, nm, "%s", qg_test_fixture("seed/insert_observers_child_qconfig.safetensors"));
  snprintf(data, nd, "%s/calib.safetensors", tmpdir);
  int64_t shape[4] = {1, 3, 7, 7};
  qg_named_tensors nt = {0};
  nt.n = 2;
  nt.names = qg__calloc(2, sizeof *nt.names);
  nt.tensors = qg__calloc(2, sizeof *nt.tensors);
  cr_assert(nt.names && nt.tensors);
  for (size_t b = 0; b < 2; b++) {
    nt.names[b] = qg__strdup(b ? "1.0" : "0.0");
    QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 4, shape, &nt.tensors[b]));
    float *x = qg_tensor_data(nt.tensors[b]);
    for (int64_t k = 0; k < qg_tensor_numel(nt.tensors[b]); k++) x[k] = (float)((k * 37 + b * 11) % 23) / 7.0f - 1.0f;
  }
  QG_ASSERT_OK(qg_named_tensors_save(data, &nt));
  qg_named_tensors_free(&nt);
}

Test(cli, prepare_calibrate_round_trip) {
  char model[512], data[512], args[2048];
  seed_and_data(model, sizeof model, data, sizeof data);
  snprintf(args, sizeof args, "prepare '%s' --qconfig default -o '%s/p.safetensors'", model, tmpdir);
  run_result r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  /* input, conv output (sub input), sub output, conv and fc weights */
  cr_assert(strstr(r.out, ": 5 observers (static)"), "%s", r.out);
  done(&r);
  snprintf(args, sizeof args, "calibrate '%s/p.safetensors' --data '%s' -o '%s/c.safetensors'", tmpdir, data, tmpdir);
  r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert(strstr(r.out, "2 batches, 5 of 5 observers updated"), "%s", r.out);
  done(&r);
  /* The calibrated observer state is in the bundle: conv's weight observer has a finite min. */
  char path[600];
  snprintf(path, sizeof path, "%s/c.safetensors", tmpdir);
  qg_module *m = NULL;
  QG_ASSERT_OK(qg_module_load(path, &m));
  const qg_ival *conv = NULL;
  QG_ASSERT_OK(qg_module_find(m, "conv", &conv));
  const qg_type_t *cls = conv->u.obj->type;
  int found = 0;
  for (size_t i = 0; i < cls->nslots; i++) {
    if (strncmp(cls->slots[i].name, "_observer_", 10) != 0) continue;
    const qg_ival *mn = qg_ival_object_get(&conv->u.obj->slots[i], "min_val");
    cr_assert(mn && mn->kind == QG_IVAL_TENSOR && isfinite(qg_tensor_get_flat(mn->u.tensor, 0)));
    found++;
  }
  cr_assert_eq(found, 1);
  qg_module_free(m);
}

Test(cli, prepare_errors) {
  char model[512], data[512], args[2048];
  seed_and_data(model, sizeof model, data, sizeof data);
  snprintf(args, sizeof args, "prepare '%s' --qconfig fbgem -o '%s/p.safetensors'", model, tmpdir);
  run_result r = run(args);
  cr_assert_eq(r.code, 1);
  cr_assert(strstr(r.err, "unknown qconfig 'fbgem'") && strstr(r.err, "fbgemm"), "%s", r.err);
  done(&r);
  snprintf(args, sizeof args, "prepare '%s' --qconfig-for sub.conv=default -o '%s/p.safetensors'", model, tmpdir);
  r = run(args);
  cr_assert_eq(r.code, 1);
  cr_assert(strstr(r.err, "no module at path 'sub.conv'") && strstr(r.err, "\"sub.fc\""), "%s", r.err);
  done(&r);
  snprintf(args, sizeof args, "prepare '%s' -o '%s/p.safetensors'", model, tmpdir);
  r = run(args);
  cr_assert_eq(r.code, 2);
  done(&r);
  snprintf(args, sizeof args, "prepare '%s' --qconfig default", model);
  r = run(args);
  cr_assert_eq(r.code, 2);
  cr_assert(strstr(r.err, "-o OUT"), "%s", r.err);
  done(&r);
  /* no partial output after a failure */
  snprintf(args, sizeof args, "%s/p.safetensors", tmpdir);
  cr_assert(access(args, F_OK) != 0);
}

Test(cli, calibrate_rejects_bad_batch_names) {
  char model[512], data[512], args[2048];
  seed_and_data(model, sizeof model, data, sizeof data);
  snprintf(args, sizeof args, "calibrate '%s' --data '%s' -o '%s/c.safetensors'", model, bundle, tmpdir);
  run_result r = run(args); /* the cli bundle's tensors are not named "<batch>.<arg>" */
  cr_assert_eq(r.code, 1);
  cr_assert(strstr(r.err, "is not \"<batch>.<argument>\""), "%s", r.err);
  done(&r);
}

Test(cli, opt_runs_passes_by_name) {
  char args[2048];
  run_result r = run("opt --list");
  cr_assert_eq(r.code, 0);
  cr_assert(strstr(r.out, "insert_observers") && strstr(r.out, "fold_conv_bn"), "%s", r.out);
  done(&r);
  snprintf(args, sizeof args, "opt '%s' --passes fold_conv_bn,insert_observers --qconfig default -o '%s/o.safetensors'",
           qg_test_fixture("seed/insert_observers.safetensors"), tmpdir);
  r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert(strstr(r.out, "insert_observers: 3 changes"), "%s", r.out);
  done(&r);
  snprintf(args, sizeof args, "opt '%s' --passes no_such_pass -o '%s/o2.safetensors'", bundle, tmpdir);
  r = run(args);
  cr_assert_eq(r.code, 1);
  cr_assert(strstr(r.err, "unknown pass 'no_such_pass'"), "%s", r.err);
  done(&r);
}

/* ---- quantize / convert / compare ------------------------------------------------------------- */

Test(cli, quantize_convert_and_compare) {
  char args[4096], ex_path[512], calib_path[512], input[512];
  /* qg_test_fixture returns a static buffer: copy each path at once */
  snprintf(ex_path, sizeof ex_path, "%s", qg_test_fixture("../../examples/tiny_cnn.safetensors"));
  snprintf(calib_path, sizeof calib_path, "%s", qg_test_fixture("../../examples/tiny_cnn_calib.safetensors"));
  snprintf(input, sizeof input, "%s", qg_test_fixture("../../examples/tiny_cnn_input.safetensors"));
  snprintf(args, sizeof args, "quantize '%s' --qconfig fbgemm --data '%s' -o '%s/q.safetensors'", ex_path, calib_path,
           tmpdir);
  run_result r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert(strstr(r.out, "calibrated on 8 batches"), "%s", r.out);
  done(&r);
  snprintf(args, sizeof args, "print '%s/q.safetensors' --method forward", tmpdir);
  r = run(args);
  cr_assert(strstr(r.out, "quantized::conv2d_relu(") && strstr(r.out, "quantized::linear("), "%s", r.out);
  done(&r);
  snprintf(args, sizeof args, "quantize '%s' --qconfig fbgemm --data '%s' --debug -o '%s/d.safetensors'", ex_path,
           calib_path, tmpdir);
  r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  done(&r);
  snprintf(args, sizeof args, "compare '%s' '%s/q.safetensors' --input '%s' --json", ex_path, tmpdir, input);
  r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cJSON *j = cJSON_Parse(r.out);
  cr_assert(j, "%s", r.out);
  const cJSON *o = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "outputs"), 0);
  double sqnr = cJSON_GetObjectItem(o, "sqnr_db")->valuedouble;
  cr_assert(sqnr > 30 && sqnr < 80, "SQNR %g", sqnr); /* int8 is close to float, not equal */
  cJSON_Delete(j);
  done(&r);
  snprintf(args, sizeof args, "compare '%s' '%s/d.safetensors' --input '%s' --per-layer", ex_path, tmpdir, input);
  r = run(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert(strstr(r.out, "quantized value") && strstr(r.out, "weight."), "%s", r.out);
  done(&r);
  snprintf(args, sizeof args, "compare '%s' '%s' --input '%s' --per-layer", ex_path, ex_path, input);
  r = run(args); /* a float model has no quantize nodes to probe */
  cr_assert_eq(r.code, 1);
  cr_assert(strstr(r.err, "convert it with --debug"), "%s", r.err);
  done(&r);
}

Test(cli, quantize_dynamic_errors) {
  char args[2048];
  snprintf(args, sizeof args, "quantize-dynamic '%s' --qconfig nope -o '%s/x.safetensors'", bundle, tmpdir);
  run_result r = run(args);
  cr_assert_eq(r.code, 1);
  cr_assert(strstr(r.err, "unknown qconfig 'nope'"), "%s", r.err);
  done(&r);
  snprintf(args, sizeof args, "quantize '%s' --qconfig default -o '%s/x.safetensors'", bundle, tmpdir);
  r = run(args);
  cr_assert_eq(r.code, 2);
  cr_assert(strstr(r.err, "--data"), "%s", r.err);
  done(&r);
}
