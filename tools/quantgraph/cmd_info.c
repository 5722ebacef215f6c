/* quantgraph info: the module tree with attributes and parameter counts (text or JSON). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "module/module.h"

typedef struct info_ctx {
  cJSON *modules; /* JSON mode: array being filled, else NULL */
  int oom;
  qg_status status;
} info_ctx;

static int visit_text(const char *path, const qg_ival *obj, int depth, void *ud) {
  info_ctx *ctx = ud;
  const qg_type_t *cls = qg_object_class(obj);
  qg_param_stats ps;
  if ((ctx->status = qg_module_param_stats(obj, &ps)) != QG_OK) return 1;
  printf("%s : %s  (parameters: %lld in %zu tensors, %zu bytes)\n", path[0] ? path : "<root>", cls->qualname,
         (long long)ps.numel, ps.tensors, ps.bytes);
  for (size_t i = 0; i < cls->nslots; i++) {
    const qg_ival *v = &obj->u.obj->slots[i];
    printf("  %-9s %s : %s", qg_slot_kind_name(cls->slots[i].kind), cls->slots[i].name, cls->slots[i].type->str);
    if (v->kind != QG_IVAL_OBJECT) {
      qg_strbuf d = QG_STRBUF_INIT;
      qg_ival_describe(v, &d);
      if ((ctx->status = qg_strbuf_ok(&d)) != QG_OK) {
        qg_strbuf_free(&d);
        return 1;
      }
      printf(" = %s", qg_strbuf_cstr(&d));
      qg_strbuf_free(&d);
    }
    putchar('\n');
  }
  (void)depth;
  return 0;
}

static int visit_json(const char *path, const qg_ival *obj, int depth, void *ud) {
  info_ctx *ctx = ud;
  const qg_type_t *cls = qg_object_class(obj);
  qg_param_stats ps;
  if ((ctx->status = qg_module_param_stats(obj, &ps)) != QG_OK) return 1;
  cJSON *m = cJSON_CreateObject();
  if (!m || !cJSON_AddItemToArray(ctx->modules, m)) {
    cJSON_Delete(m);
    ctx->oom = 1;
    return 1;
  }
  cJSON_AddStringToObject(m, "path", path);
  cJSON_AddStringToObject(m, "class", cls->qualname);
  cJSON_AddNumberToObject(m, "depth", depth);
  cJSON *p = cJSON_AddObjectToObject(m, "parameters");
  if (p) {
    cJSON_AddNumberToObject(p, "tensors", (double)ps.tensors);
    cJSON_AddNumberToObject(p, "numel", (double)ps.numel);
    cJSON_AddNumberToObject(p, "bytes", (double)ps.bytes);
  }
  cJSON *attrs = cJSON_AddArrayToObject(m, "attributes");
  for (size_t i = 0; attrs && i < cls->nslots; i++) {
    const qg_ival *v = &obj->u.obj->slots[i];
    cJSON *a = cJSON_CreateObject();
    if (!a || !cJSON_AddItemToArray(attrs, a)) {
      cJSON_Delete(a);
      ctx->oom = 1;
      return 1;
    }
    cJSON_AddStringToObject(a, "name", cls->slots[i].name);
    cJSON_AddStringToObject(a, "kind", qg_slot_kind_name(cls->slots[i].kind));
    cJSON_AddStringToObject(a, "type", cls->slots[i].type->str);
    cJSON_AddStringToObject(a, "value_kind", qg_ival_kind_name(v->kind));
    if (v->kind == QG_IVAL_TENSOR) {
      const qg_tensor *t = v->u.tensor;
      cJSON_AddStringToObject(a, "dtype", qg_dtype_info(t->dtype)->name);
      cJSON *shape = cJSON_AddArrayToObject(a, "shape");
      for (int d = 0; shape && d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
    } else if (v->kind != QG_IVAL_OBJECT) {
      qg_strbuf d = QG_STRBUF_INIT;
      qg_ival_describe(v, &d);
      if (qg_strbuf_ok(&d) == QG_OK) cJSON_AddStringToObject(a, "value", qg_strbuf_cstr(&d));
      else ctx->oom = 1;
      qg_strbuf_free(&d);
    }
  }
  return 0;
}

int qg_cmd_info(int argc, char **argv) {
  const char *bundle = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) json = 1;
    else if (argv[i][0] == '-' && argv[i][1] != '\0') return qg_cli_usage_error("info", "unknown option '%s'", argv[i]);
    else if (bundle) return qg_cli_usage_error("info", "more than one bundle given ('%s' and '%s')", bundle, argv[i]);
    else bundle = argv[i];
  }
  if (!bundle) return qg_cli_usage_error("info", "missing BUNDLE");

  qg_module *m = NULL;
  qg_status s = qg_module_load(bundle, &m);
  if (s != QG_OK) return qg_cli_fail(s);
  info_ctx ctx = {NULL, 0, QG_OK};
  int rc = QG_EXIT_OK;
  if (!json) {
    printf("bundle: %s\n", bundle);
    for (size_t i = 0; i < m->nmeta; i++) printf("%s: %s\n", m->meta_keys[i], m->meta_values[i]);
    putchar('\n');
    s = qg_module_walk(m, visit_text, &ctx);
  } else {
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = root ? cJSON_AddObjectToObject(root, "metadata") : NULL;
    if (root) cJSON_AddStringToObject(root, "bundle", bundle);
    for (size_t i = 0; meta && i < m->nmeta; i++) cJSON_AddStringToObject(meta, m->meta_keys[i], m->meta_values[i]);
    ctx.modules = root ? cJSON_AddArrayToObject(root, "modules") : NULL;
    if (!ctx.modules) ctx.oom = 1;
    else s = qg_module_walk(m, visit_json, &ctx);
    char *text = (!ctx.oom && s == QG_OK && ctx.status == QG_OK) ? cJSON_Print(root) : NULL;
    if (text) {
      puts(text);
      cJSON_free(text);
    } else if (s == QG_OK && ctx.status == QG_OK) {
      ctx.oom = 1;
    }
    cJSON_Delete(root);
  }
  if (s == QG_OK) s = ctx.status;
  if (s == QG_OK && ctx.oom) s = qg_oom("the JSON report");
  if (s != QG_OK) rc = qg_cli_fail(s);
  qg_module_free(m);
  if (fflush(stdout) != 0 && rc == QG_EXIT_OK) rc = qg_cli_error(QG_EXIT_BAD_INPUT, "cannot write the output");
  return rc;
}
