/* Bundles: a safetensors file whose metadata carries the module text and the quantizers of its
 * quantized tensors (docs/formats.md). */
#include "module/module.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "module/bundle_quant.h"
#include "module/module_text.h"

typedef struct lookup_ctx {
  const qg_safetensors *st;
  const qg__bundle_quant *quant;
} lookup_ctx;

/* A tensor of the file; quantized ones get their dtype and quantizer back (bundle_quant.h). */
static qg_status lookup_tensor(void *ud, const char *name, qg_tensor **out) {
  const lookup_ctx *ctx = ud;
  const qg_st_tensor *e = qg_safetensors_find(ctx->st, name);
  if (!e) return QG_STATUS_NOT_FOUND;
  return qg__bundle_quant_apply(ctx->quant, name, e->tensor, out);
}

/* Keys the writer regenerates (format, module text, quantizers) are not kept. */
static int generated_key(const char *key) {
  return strcmp(key, QG_META_FORMAT) == 0 || strcmp(key, QG_META_MODULE) == 0 || qg__bundle_is_quant_key(key);
}

static qg_status copy_meta(qg_module *m, const qg_safetensors *st) {
  for (size_t i = 0; i < st->nmeta; i++) {
    if (generated_key(st->meta_keys[i])) continue;
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

  qg__bundle_quant *quant = NULL;
  s = qg__bundle_quant_read(st, &quant);
  if (s != QG_OK) {
    qg_safetensors_close(st);
    return s;
  }
  size_t plen = strlen(path);
  char *where = qg__malloc(plen + sizeof ":" QG_META_MODULE);
  if (!where) {
    qg__bundle_quant_free(quant);
    qg_safetensors_close(st);
    return qg_oom("a module");
  }
  memcpy(where, path, plen);
  memcpy(where + plen, ":" QG_META_MODULE, sizeof ":" QG_META_MODULE);
  lookup_ctx ctx = {st, quant};
  qg_module_text_opts opts = {where, lookup_tensor, &ctx, 0};
  qg_cu_t *cu = NULL;
  qg_ival root = qg_ival_none();
  s = qg_module_text_parse(text, strlen(text), &opts, &cu, &root);
  qg__free(where);
  qg__bundle_quant_free(quant);
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

/* The `quantgraph.quant.<name>` key and value of every quantized tensor (keys[i], values[i]
 * owned; *n set even on failure so the caller frees what was made). */
static qg_status quant_meta(const qg_tensor_names *names, char **keys, char **values, size_t *n) {
  *n = 0;
  for (size_t i = 0; i < names->n; i++) {
    const qg_tensor *t = names->tensors[i];
    if (!qg_dtype_info(t->dtype)->is_quantized) continue;
    qg_strbuf k = QG_STRBUF_INIT, v = QG_STRBUF_INIT;
    qg_strbuf_printf(&k, "%s%s", QG_META_QUANT_PREFIX, names->names[i]);
    qg_status s = qg_strbuf_ok(&k);
    if (s == QG_OK) s = qg__bundle_quant_describe(names->names[i], t, &v);
    if (s != QG_OK) {
      qg_strbuf_free(&k);
      qg_strbuf_free(&v);
      return s;
    }
    keys[*n] = qg_strbuf_detach(&k);
    values[*n] = qg_strbuf_detach(&v);
    (*n)++;
  }
  return QG_OK;
}

qg_status qg_module_save(const qg_module *m, const char *path) {
  qg_strbuf text = QG_STRBUF_INIT;
  qg_tensor_names names = {0};
  qg_status s = qg_module_text_print(m->cu, &m->root, &text, &names);
  qg_st_entry *entries = NULL;
  const char **keys = NULL, **values = NULL;
  char **qkeys = NULL, **qvalues = NULL;
  size_t nq = 0;
  if (s == QG_OK) {
    size_t cap = m->nmeta + 2 + names.n;
    entries = qg__malloc((names.n ? names.n : 1) * sizeof *entries);
    keys = qg__malloc(cap * sizeof *keys);
    values = qg__malloc(cap * sizeof *values);
    qkeys = qg__calloc(names.n ? names.n : 1, sizeof *qkeys);
    qvalues = qg__calloc(names.n ? names.n : 1, sizeof *qvalues);
    if (!entries || !keys || !values || !qkeys || !qvalues) s = qg_oom("saving a bundle");
  }
  if (s == QG_OK) s = quant_meta(&names, qkeys, qvalues, &nq);
  if (s == QG_OK) {
    for (size_t i = 0; i < names.n; i++) entries[i] = (qg_st_entry){names.names[i], names.tensors[i]};
    size_t nm = 0;
    keys[nm] = QG_META_FORMAT;
    values[nm++] = QG_BUNDLE_FORMAT_VERSION;
    keys[nm] = QG_META_MODULE;
    values[nm++] = qg_strbuf_cstr(&text);
    for (size_t i = 0; i < m->nmeta; i++) {
      if (generated_key(m->meta_keys[i])) continue;
      keys[nm] = m->meta_keys[i];
      values[nm++] = m->meta_values[i];
    }
    for (size_t i = 0; i < nq; i++) {
      keys[nm] = qkeys[i];
      values[nm++] = qvalues[i];
    }
    s = qg_safetensors_write(path, entries, names.n, keys, values, nm);
  }
  for (size_t i = 0; i < nq; i++) {
    qg__free(qkeys[i]);
    qg__free(qvalues[i]);
  }
  qg__free(qkeys);
  qg__free(qvalues);
  qg__free(entries);
  qg__free(keys);
  qg__free(values);
  qg_tensor_names_free(&names);
  qg_strbuf_free(&text);
  return s;
}
