/* Node equality (node_equal.h). */
#include "passes/node_equal.h"

#include <string.h>

#include "tensor/tensor.h"

/* PyTorch's tensorEqual: same dtype, device and values (at::equal, which for quantized tensors
 * also compares the qparams). A tensor without storage is a placeholder read from graph text
 * (`<Tensor>`: the value is not known), equal only to itself. */
static int tensor_equal(const qg_tensor *a, const qg_tensor *b) {
  if (a == b) return 1;
  if (!a || !b || !a->storage || !b->storage) return 0;
  if (a->dtype != b->dtype || a->ndim != b->ndim || a->storage->device.kind != b->storage->device.kind ||
      a->storage->device.index != b->storage->device.index)
    return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return 0;
  if ((a->quantizer == NULL) != (b->quantizer == NULL)) return 0;
  if (a->quantizer) {
    const qg_quantizer *p = a->quantizer, *q = b->quantizer;
    /* per-channel qparams are compared by identity: equal per-channel weights are rare */
    if (p->scheme != q->scheme || p->scale != q->scale || p->zero_point != q->zero_point || p->axis != q->axis ||
        p->scales != q->scales || p->zero_points != q->zero_points)
      return 0;
  }
  if (!qg_tensor_is_contiguous(a) || !qg_tensor_is_contiguous(b)) return 0;
  return memcmp(qg_tensor_data(a), qg_tensor_data(b), qg_tensor_nbytes(a)) == 0;
}

int qg__attr_equal(const qg_attr *a, const qg_attr *b, int tensors_by_value) {
  if (a->name != b->name || a->kind != b->kind || a->n != b->n) return 0;
  switch (a->kind) {
  case QG_ATTR_INT: return a->i == b->i;
  case QG_ATTR_FLOAT: return a->f == b->f;
  case QG_ATTR_COMPLEX: return a->f == b->f && a->f2 == b->f2;
  case QG_ATTR_STRING: return strcmp(a->s, b->s) == 0;
  case QG_ATTR_TENSOR: return tensors_by_value ? tensor_equal(a->t, b->t) : a->t == b->t;
  case QG_ATTR_TYPE: return qg_type_equal(a->ty, b->ty);
  case QG_ATTR_INTS: return a->n == 0 || memcmp(a->is, b->is, a->n * sizeof *a->is) == 0;
  case QG_ATTR_FLOATS:
    for (size_t i = 0; i < a->n; i++)
      if (a->fs[i] != b->fs[i]) return 0;
    return 1;
  case QG_ATTR_STRINGS:
    for (size_t i = 0; i < a->n; i++)
      if (strcmp(a->ss[i], b->ss[i]) != 0) return 0;
    return 1;
  case QG_ATTR_TENSORS:
    for (size_t i = 0; i < a->n; i++)
      if (tensors_by_value ? !tensor_equal(a->ts[i], b->ts[i]) : a->ts[i] != b->ts[i]) return 0;
    return 1;
  case QG_ATTR_TYPES:
    for (size_t i = 0; i < a->n; i++)
      if (!qg_type_equal(a->tys[i], b->tys[i])) return 0;
    return 1;
  default: return 0; /* graphs: never equal (PyTorch does not merge them either) */
  }
}

static const qg_attr *find_attr(const qg_node_t *n, qg_sym_t name) {
  for (uint32_t i = 0; i < n->nattrs; i++)
    if (n->attrs[i].name == name) return &n->attrs[i];
  return NULL;
}

int qg__node_equal(const qg_node_t *a, const qg_node_t *b) {
  if (a->kind != b->kind || a->noutputs != b->noutputs || a->ninputs != b->ninputs || a->nattrs != b->nattrs ||
      a->nblocks || b->nblocks)
    return 0;
  for (uint32_t i = 0; i < a->noutputs; i++)
    if (!qg_type_equal(a->outputs[i]->type, b->outputs[i]->type)) return 0;
  for (uint32_t i = 0; i < a->ninputs; i++)
    if (a->inputs[i] != b->inputs[i]) return 0;
  for (uint32_t i = 0; i < a->nattrs; i++) { /* the same names, in any order */
    const qg_attr *o = find_attr(b, a->attrs[i].name);
    if (!o || !qg__attr_equal(&a->attrs[i], o, 1)) return 0;
  }
  return 1;
}
