/* Named tensor files: every tensor of a safetensors file, by name, on top of module/safetensors. */
#include <string.h>

#include "base/alloc.h"
#include "module/safetensors.h"
#include "tensor/tensor_ops.h"

void qg_named_tensors_free(qg_named_tensors *nt) {
  if (!nt) return;
  for (size_t i = 0; i < nt->n; i++) {
    if (nt->names) qg__free(nt->names[i]);
    if (nt->tensors) qg_tensor_release(nt->tensors[i]);
  }
  qg__free(nt->names);
  qg__free(nt->tensors);
  nt->names = NULL;
  nt->tensors = NULL;
  nt->n = 0;
}

qg_status qg_named_tensors_load(const char *path, qg_named_tensors *out) {
  qg_safetensors *st;
  memset(out, 0, sizeof *out);
  QG_TRY(qg_safetensors_open(path, &st));
  qg_named_tensors nt = {0};
  qg_status s = QG_OK;
  if (st->ntensors) {
    nt.names = qg__calloc(st->ntensors, sizeof *nt.names);
    nt.tensors = qg__calloc(st->ntensors, sizeof *nt.tensors);
    if (!nt.names || !nt.tensors) s = qg_oom("named tensor tables");
  }
  for (size_t i = 0; s == QG_OK && i < st->ntensors; i++) {
    nt.names[i] = qg__strdup(st->tensors[i].name);
    if (!nt.names[i]) {
      s = qg_oom("a tensor name");
      break;
    }
    nt.tensors[i] = st->tensors[i].tensor;
    qg_tensor_retain(nt.tensors[i]);
    nt.n = i + 1;
  }
  qg_safetensors_close(st);
  if (s != QG_OK) {
    if (!nt.n) { /* nothing counted yet: free the tables directly */
      qg__free(nt.names);
      qg__free(nt.tensors);
    } else {
      qg_named_tensors_free(&nt);
    }
    return s;
  }
  *out = nt;
  return QG_OK;
}

qg_status qg_named_tensors_save(const char *path, const qg_named_tensors *nt) {
  qg_st_entry *entries = nt->n ? qg__calloc(nt->n, sizeof *entries) : NULL;
  qg_tensor **dense = nt->n ? qg__calloc(nt->n, sizeof *dense) : NULL;
  qg_status s = QG_OK;
  if (nt->n && (!entries || !dense)) s = qg_oom("named tensor entries");
  size_t made = 0;
  for (size_t i = 0; s == QG_OK && i < nt->n; i++) {
    s = qg_tensor_contiguous(nt->tensors[i], &dense[i]);
    if (s != QG_OK) break;
    made = i + 1;
    entries[i].name = nt->names[i];
    entries[i].tensor = dense[i];
  }
  if (s == QG_OK) s = qg_safetensors_write(path, entries, nt->n, NULL, NULL, 0);
  for (size_t i = 0; i < made; i++) qg_tensor_release(dense[i]);
  qg__free(dense);
  qg__free(entries);
  return s;
}

qg_tensor *qg_named_tensors_get(const qg_named_tensors *nt, const char *name) {
  for (size_t i = 0; i < nt->n; i++)
    if (strcmp(nt->names[i], name) == 0) return nt->tensors[i];
  return NULL;
}
