/* quantgraph print: method graphs of a bundle, byte for byte as PyTorch prints them. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "base/alloc.h"
#include "ir/text.h"
#include "module/module.h"

static int print_method(const qg_method *meth, const qg_print_opts *po) {
  char *text = qg_graph_to_string(meth->graph, po);
  if (!text) return qg_cli_fail(QG_STATUS_OOM);
  fputs(text, stdout);
  qg__free(text);
  return QG_EXIT_OK;
}

int qg_cmd_print(int argc, char **argv) {
  const char *bundle = NULL, *method = NULL, *module = "";
  qg_print_opts po = {0};
  for (int i = 1; i < argc; i++) {
    int r;
    if ((r = qg_cli_option(argc, argv, &i, "method", &method)) != 0 ||
        (r = qg_cli_option(argc, argv, &i, "module", &module)) != 0) {
      if (r < 0) return qg_cli_usage_error("print", "option '%s' needs a value", argv[i]);
    } else if (strcmp(argv[i], "--no-source") == 0) {
      po.no_source = 1;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return qg_cli_usage_error("print", "unknown option '%s'", argv[i]);
    } else if (bundle) {
      return qg_cli_usage_error("print", "more than one bundle given ('%s' and '%s')", bundle, argv[i]);
    } else {
      bundle = argv[i];
    }
  }
  if (!bundle) return qg_cli_usage_error("print", "missing BUNDLE");

  qg_module *m = NULL;
  qg_status s = qg_module_load(bundle, &m);
  if (s != QG_OK) return qg_cli_fail(s);
  int rc = QG_EXIT_OK;
  const qg_ival *obj = NULL;
  if ((s = qg_module_find(m, module, &obj)) != QG_OK) {
    rc = qg_cli_fail(s);
    goto done;
  }
  const qg_type_t *cls = qg_object_class(obj);
  const char *label = module[0] ? module : "<root>";
  if (method) {
    const qg_method *meth = qg_class_find_method(cls, method);
    if (!meth || !meth->graph) {
      rc = qg_cli_error(QG_EXIT_BAD_INPUT, "%s: module %s (%s) has no method '%s'", bundle, label, cls->qualname, method);
      goto done;
    }
    rc = print_method(meth, &po);
    goto done;
  }
  if (cls->nmethods == 0) fprintf(stderr, "quantgraph: note: module %s (%s) has no methods\n", label, cls->qualname);
  for (size_t i = 0; i < cls->nmethods && rc == QG_EXIT_OK; i++) {
    if (i) fputc('\n', stdout);
    printf("# method %s of module %s (%s)\n", cls->methods[i].name, label, cls->qualname);
    rc = print_method(&cls->methods[i], &po);
  }
done:
  qg_module_free(m);
  if (fflush(stdout) != 0 && rc == QG_EXIT_OK) rc = qg_cli_error(QG_EXIT_BAD_INPUT, "cannot write the output");
  return rc;
}
