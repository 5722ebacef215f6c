/* Bundles: a safetensors file whose metadata carries the module text (docs/formats.md). */
#include "module/module.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "module/module_text.h"

static qg_status lookup_tensor(void *ud, const char *name, qg_tensor **out) {
  const qg_st_tensor *e = qg_safetensors_find(ud, name);
  if (!e) return QG_STATUS_NOT_FOUND;
  qg_tensor_retain(e->tensor);
  *out = e->tensor;
  return QG_OK;
}

static qg_status copy_meta(qg_module *m, const qg_safetensors *st) {
  for (size_t i = 0; i < st->nmeta; i++) {
    if (strcmp(st->meta_keys[i], QG_META_FORMAT) == 0 || strcmp(st->meta_keys[i], QG_META_MODULE) == 0) continue;
    QG_TRY(qg_module_set_meta(m, st->meta_keys[i], st->meta_values[i]));
  }
  return QG_OK;
}

qg_status qg_module_load(const char *path, qg_module **out) {
  *out = NULL;
  qg_safetensors *st = NULL;
  QG_TRY(qg_safetensors_open(path, &st));
  qg_status s = QG_OK;
  const char *fmt = qg_safetensors_meta(st, QG_META_FORMAT);
  const char *text = qg_safetensors_meta(st, QG_META_MODULE);
  if (!fmt)
    s = qg_set_error(QG_STATUS_FORMAT, "%s: not a quantgraph bundle: __metadata__ has no \"%s\" key", path,
                     QG_META_FORMAT);
  else if (strcmp(fmt, QG_BUNDLE_FORMAT_VERSION) != 0)
    s = qg_set_error(QG_STATUS_FORMAT, "%s: unsupported %s \"%.40s\" (this build reads \"%s\")", path, QG_META_FORMAT,
                     fmt, QG_BUNDLE_FORMAT_VERSION);
  else if (!text)
    s = qg_set_error(QG_STATUS_FORMAT, "%s: __metadata__ has no \"%s\" key (the module text)", path, QG_META_MODULE);
  if (s != QG_OK) {
    qg_safetensors_close(st);
    return s;
  }

  size_t plen = strlen(path);
  char *where = qg__malloc(plen + sizeof ":" QG_META_MODULE);
  if (!where) {
    qg_safetensors_close(st);
    return qg_oom("a module");
  }
  memcpy(where, path, plen);
  memcpy(where + plen, ":" QG_META_MODULE, sizeof ":" QG_META_MODULE);
  qg_module_text_opts opts = {where, lookup_tensor, st, 0};
  qg_cu_t *cu = NULL;
  qg_ival root = qg_ival_none();
  s = qg_module_text_parse(text, strlen(text), &opts, &cu, &root);
  qg__free(where);
  qg_module *m = NULL;
  if (s == QG_OK) s = qg_module_create(cu, root, &m);
  if (s == QG_OK) {
    m->file = st;
    st = NULL;
    if (!(m->path = qg__strdup(path))) s = qg_oom("a module");
  }
  if (s == QG_OK) s = copy_meta(m, m->file);
  if (s != QG_OK) {
    qg_module_free(m);
    qg_safetensors_close(st);
    return s;
  }
  *out = m;
  return QG_OK;
}

qg_status qg_module_save(const qg_module *m, const char *path) {
  qg_strbuf text = QG_STRBUF_INIT;
  qg_tensor_names names = {0};
  qg_status s = qg_module_text_print(m->cu, &m->root, &text, &names);
  qg_st_entry *entries = NULL;
  const char **keys = NULL, **values = NULL;
  if (s == QG_OK) {
    entries = qg__malloc((names.n ? names.n : 1) * sizeof *entries);
    keys = qg__malloc((m->nmeta + 2) * sizeof *keys);
    values = qg__malloc((m->nmeta + 2) * sizeof *values);
    if (!entries || !keys || !values) s = qg_oom("saving a bundle");
  }
  if (s == QG_OK) {
    for (size_t i = 0; i < names.n; i++) entries[i] = (qg_st_entry){names.names[i], names.tensors[i]};
    size_t nm = 0;
    keys[nm] = QG_META_FORMAT;
    values[nm++] = QG_BUNDLE_FORMAT_VERSION;
    keys[nm] = QG_META_MODULE;
    values[nm++] = qg_strbuf_cstr(&text);
    for (size_t i = 0; i < m->nmeta; i++) {
      if (strcmp(m->meta_keys[i], QG_META_FORMAT) == 0 || strcmp(m->meta_keys[i], QG_META_MODULE) == 0) continue;
      keys[nm] = m->meta_keys[i];
      values[nm++] = m->meta_values[i];
    }
    s = qg_safetensors_write(path, entries, names.n, keys, values, nm);
  }
  qg__free(entries);
  qg__free(keys);
  qg__free(values);
  qg_tensor_names_free(&names);
  qg_strbuf_free(&text);
  return s;
}
