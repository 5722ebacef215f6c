/* qg_module_clone: a deep copy through the module text (the same path a save and load take,
 * so a clone is exactly what a reloaded bundle would be), with every tensor copied. */
#include <string.h>

#include "base/alloc.h"
#include "module/module.h"
#include "module/module_text.h"
#include "tensor/tensor_ops.h"

static qg_status lookup_copy(void *ud, const char *name, qg_tensor **out) {
  const qg_tensor_names *names = ud;
  for (size_t i = 0; i < names->n; i++)
    if (strcmp(names->names[i], name) == 0) return qg_tensor_to_dtype(names->tensors[i], names->tensors[i]->dtype, out);
  return QG_STATUS_NOT_FOUND;
}

qg_status qg_module_clone(const qg_module *m, qg_module **out) {
  *out = NULL;
  qg_strbuf text = QG_STRBUF_INIT;
  qg_tensor_names names = {0};
  qg_status s = qg_module_text_print(m->cu, &m->root, &text, &names);
  qg_cu_t *cu = NULL;
  qg_ival root = qg_ival_none();
  if (s == QG_OK) {
    qg_module_text_opts opts = {"<clone>", lookup_copy, &names, 1};
    s = qg_module_text_parse(qg_strbuf_cstr(&text), text.len, &opts, &cu, &root);
  }
  qg_module *c = NULL;
  if (s == QG_OK) s = qg_module_create(cu, root, &c);
  for (size_t i = 0; s == QG_OK && i < m->nmeta; i++) s = qg_module_set_meta(c, m->meta_keys[i], m->meta_values[i]);
  if (s == QG_OK && m->path && !(c->path = qg__strdup(m->path))) s = qg_oom("a module clone");
  qg_tensor_names_free(&names);
  qg_strbuf_free(&text);
  if (s != QG_OK) {
    qg_module_free(c);
    return s;
  }
  *out = c;
  return QG_OK;
}
