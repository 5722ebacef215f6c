/* Op classification for the quantization passes; see quant_helper.h. The name lists are
 * PyTorch's (torch/csrc/jit/passes/quantization/helper.cpp). */
#include "passes/quant_helper.h"

#include <string.h>

#include "base/strbuf.h"
#include "base/symbol.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const k_static_quant_aten[] = {
    "conv1d",      "conv2d",    "conv3d",     "conv_transpose1d", "conv_transpose2d", "linear",
    "hardswish",   "hardswish_", "elu",        "elu_",             "celu",             "celu_",
    "batch_norm",  "layer_norm", "group_norm", "instance_norm",    "embedding_bag"};
static const char *const k_static_quant_call[] = {"conv2d",     "linear",     "batch_norm",    "hardswish",
                                                  "elu",        "celu",       "layer_norm",    "group_norm",
                                                  "instance_norm", "embedding_bag"};
static const char *const k_general_call[] = {
    /* shape */ "_max_pool1d", "_max_pool2d", "_max_pool3d", "dropout", "relu",
    /* value */ "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_avg_pool3d", "interpolate", "upsample", "upsample_bilinear", "upsample_nearest", "hardtanh",
    "leaky_relu"};
static const char *const k_general_shape_aten[] = {
    "max_pool1d", "max_pool2d", "max_pool3d", "flatten", "max", "min", "dropout", "reshape", "resize_", "chunk",
    "view", "transpose", "contiguous", "permute", "repeat", "repeat_interleave", "relu", "relu_", "squeeze",
    "squeeze_", "unsqueeze", "unsqueeze_", "detach", "detach_", "stack", "__getitem__"};
static const char *const k_general_value_aten[] = {
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "mean", "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "upsample_linear1d",
    "upsample_bilinear2d", "upsample_trilinear3d", "upsample_bicubic2d", "clamp", "hardtanh", "hardtanh_",
    "leaky_relu", "leaky_relu_"};
static const char *const k_fixed_qparams[] = {"hardsigmoid", "hardsigmoid_", "sigmoid", "sigmoid_", "tanh", "tanh_"};

static int in_list(const char *name, const char *const *list, size_t n) {
  if (!name) return 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp(name, list[i]) == 0) return 1;
  return 0;
}

static const char *aten_name(const qg_node_t *n) {
  return qg_sym_has_ns(n->kind, "aten") ? qg_sym_unqual(n->kind) : NULL;
}

const char *qg_qh_callee_name(const qg_node_t *n) {
  if (n->kind != QG_SYM_prim_CallFunction || n->ninputs == 0) return NULL;
  const qg_value_t *fv = n->inputs[0];
  const char *name = fv->node->kind == QG_SYM_prim_Constant ? qg_node_s(fv->node, "name") : NULL;
  if (name) return name;
  if (fv->type->kind == QG_TYPE_FUNCTION && fv->type->qualname) {
    const char *dot = strrchr(fv->type->qualname, '.');
    return dot ? dot + 1 : fv->type->qualname;
  }
  return NULL;
}

int qg_qh_is_aten(const qg_node_t *n, const char *name) {
  const char *a = aten_name(n);
  return a && strcmp(a, name) == 0;
}

int qg_qh_is_call(const qg_node_t *n, const char *name) {
  const char *c = qg_qh_callee_name(n);
  return c && strcmp(c, name) == 0;
}

int qg_qh_is_tensor_type(const qg_type_t *t) {
  return t && (t->kind == QG_TYPE_TENSOR || t->kind == QG_TYPE_TENSOR_DETAILED);
}

int qg_qh_is_tensor_or_list(const qg_type_t *t) {
  return qg_qh_is_tensor_type(t) || (t && t->kind == QG_TYPE_LIST && qg_qh_is_tensor_type(t->elems[0]));
}

int qg_qh_node_quantizable(const qg_node_t *n, int dynamic) {
  if (dynamic) return qg_qh_is_aten(n, "linear") || qg_qh_is_call(n, "linear");
  return in_list(aten_name(n), k_static_quant_aten, COUNT(k_static_quant_aten)) ||
         in_list(qg_qh_callee_name(n), k_static_quant_call, COUNT(k_static_quant_call));
}

int qg_qh_weight_only_static(const qg_node_t *n) {
  return qg_qh_is_aten(n, "embedding_bag") || qg_qh_is_call(n, "embedding_bag");
}

int qg_qh_propagate_quant_single(const qg_node_t *n) { return qg_qh_is_aten(n, "cat"); }

int qg_qh_propagate_quant_binary(const qg_node_t *n) {
  static const char *const ops[] = {"add", "add_", "mul", "mul_"};
  return in_list(aten_name(n), ops, COUNT(ops));
}

int qg_qh_use_quantizable(const qg_use_t *u, int dynamic) {
  /* F.batch_norm observes only its input (call argument 1), not running stats or affine. */
  if (!dynamic && qg_qh_is_call(u->user, "batch_norm")) return u->offset == 1;
  return qg_qh_node_quantizable(u->user, dynamic);
}

typedef struct func_arg {
  const char *name;
  uint32_t arg;
} func_arg;

/* Some use of v is aten::<name> input `arg` (aten list) or a call of <name> input `arg`. */
static int used_as(const qg_value_t *v, const func_arg *aten, size_t naten, const func_arg *call, size_t ncall) {
  for (uint32_t i = 0; i < v->nuses; i++) {
    const qg_use_t *u = &v->uses[i];
    const char *a = aten_name(u->user), *c = qg_qh_callee_name(u->user);
    for (size_t k = 0; a && k < naten; k++)
      if (u->offset == aten[k].arg && strcmp(a, aten[k].name) == 0) return 1;
    for (size_t k = 0; c && k < ncall; k++)
      if (u->offset == call[k].arg && strcmp(c, call[k].name) == 0) return 1;
  }
  return 0;
}

int qg_qh_is_weight(const qg_value_t *v) {
  static const func_arg aten[] = {{"conv1d", 1},           {"conv2d", 1}, {"conv3d", 1},       {"conv_transpose1d", 1},
                                  {"conv_transpose2d", 1}, {"linear", 1}, {"embedding_bag", 0}};
  static const func_arg call[] = {{"linear", 2}, {"embedding_bag", 2}};
  return used_as(v, aten, COUNT(aten), call, COUNT(call));
}

int qg_qh_is_bias(const qg_value_t *v) {
  static const func_arg aten[] = {{"conv1d", 2},           {"conv2d", 2}, {"conv3d", 2}, {"conv_transpose1d", 2},
                                  {"conv_transpose2d", 2}, {"linear", 2}};
  static const func_arg call[] = {{"linear", 3}};
  return used_as(v, aten, COUNT(aten), call, COUNT(call));
}

int qg_qh_is_embedding_bag_non_input(const qg_value_t *v) {
  static const func_arg aten[] = {{"embedding_bag", 2}, {"embedding_bag", 6}};
  return used_as(v, aten, COUNT(aten), NULL, 0);
}

int qg_qh_is_scalar(const qg_value_t *v) {
  const qg_type_t *t = v->type;
  if (t->kind == QG_TYPE_INT || t->kind == QG_TYPE_FLOAT || t->kind == QG_TYPE_NUMBER || t->kind == QG_TYPE_COMPLEX)
    return 1;
  if (!qg_qh_is_tensor_type(t) || v->node->kind != QG_SYM_prim_Constant) return 0;
  const qg_attr *a = qg_node_attr(v->node, qg_sym_lookup("value"));
  return a && a->kind == QG_ATTR_TENSOR && a->t && a->t->ndim == 0;
}

int qg_qh_general_call_function(const qg_node_t *n) {
  return in_list(qg_qh_callee_name(n), k_general_call, COUNT(k_general_call));
}

int qg_qh_fixed_qparams_op(const qg_node_t *n) {
  return in_list(aten_name(n), k_fixed_qparams, COUNT(k_fixed_qparams));
}

int qg_qh_general_shape_aten(const qg_node_t *n) {
  return in_list(aten_name(n), k_general_shape_aten, COUNT(k_general_shape_aten));
}

int qg_qh_general_value_aten(const qg_node_t *n) {
  if (in_list(aten_name(n), k_general_value_aten, COUNT(k_general_value_aten))) return 1;
  return qg_qh_propagate_quant_binary(n) && n->ninputs > 1 && qg_qh_is_scalar(n->inputs[1]);
}

int qg_qh_general_aten_function(const qg_node_t *n) {
  return qg_qh_general_shape_aten(n) || qg_qh_general_value_aten(n) || qg_qh_fixed_qparams_op(n);
}

int qg_qh_user_defined_call(const qg_node_t *n) {
  return n->kind == QG_SYM_prim_CallFunction && !qg_qh_general_call_function(n) &&
         !in_list(qg_qh_callee_name(n), k_static_quant_call, COUNT(k_static_quant_call));
}

int qg_qh_always_raises(const qg_block_t *b) {
  for (const qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    if (n->kind == QG_SYM_prim_RaiseException) return 1;
    if (n->kind == QG_SYM_prim_If && n->nblocks) {
      int all = 1;
      for (uint32_t i = 0; i < n->nblocks && all; i++) all = qg_qh_always_raises(n->blocks[i]);
      if (all) return 1;
    }
  }
  return 0;
}

static size_t put(qg_value_t **out, size_t max, size_t k, qg_value_t *v) {
  if (k < max) out[k] = v;
  return k + 1;
}

size_t qg_qh_pass_through_inputs(const qg_value_t *v, qg_value_t **out, size_t max) {
  const qg_node_t *n = v->node;
  size_t k = 0;
  if (qg_qh_general_call_function(n) && n->ninputs > 1) return put(out, max, 0, n->inputs[1]);
  if ((qg_qh_general_aten_function(n) || (qg_qh_is_aten(n, "sort") && v->offset == 0)) && n->ninputs > 0)
    return put(out, max, 0, n->inputs[0]);
  if (n->kind == QG_SYM_prim_If && n->noutputs == 1) {
    for (uint32_t i = 0; i < n->nblocks; i++)
      if (!qg_qh_always_raises(n->blocks[i]) && qg_block_noutputs(n->blocks[i]) > 0)
        k = put(out, max, k, qg_block_output(n->blocks[i], 0));
    return k;
  }
  if (n->kind == QG_SYM_prim_ListUnpack || n->kind == QG_SYM_prim_TupleUnpack)
    return qg_qh_is_tensor_type(v->type) && n->ninputs ? put(out, max, 0, n->inputs[0]) : 0;
  if (n->kind == QG_SYM_prim_ListConstruct && qg_qh_is_tensor_or_list(v->type) && !qg_qh_is_tensor_type(v->type)) {
    for (uint32_t i = 0; i < n->ninputs; i++) k = put(out, max, k, n->inputs[i]);
    return k;
  }
  if (n->kind == QG_SYM_prim_TupleConstruct) {
    for (uint32_t i = 0; i < n->ninputs; i++)
      if (qg_qh_is_tensor_type(n->inputs[i]->type)) k = put(out, max, k, n->inputs[i]);
    return k;
  }
  if (qg_qh_is_aten(n, "append")) {
    for (uint32_t i = 0; i < n->ninputs; i++) k = put(out, max, k, n->inputs[i]);
    return k;
  }
  return 0;
}

int qg_qh_module_type_name(const qg_value_t *v, char *buf, size_t size) {
  if (!v->type || v->type->kind != QG_TYPE_CLASS || !v->type->qualname) return -1;
  return qg_type_demangle(v->type->qualname, buf, size) == QG_OK ? 0 : -1;
}

static int module_call_of(const qg_node_t *n, const char *const *types, size_t ntypes, int any_forward) {
  if (n->kind != QG_SYM_prim_CallMethod || n->ninputs < 1) return 0;
  const char *name = qg_node_s(n, "name");
  if (!name || strncmp(name, "forward", 7) != 0) return 0;
  for (const char *p = name + 7; *p; p++)
    if (!any_forward || *p < '0' || *p > '9') return 0;
  char buf[512];
  if (qg_qh_module_type_name(n->inputs[0], buf, sizeof buf) != 0) return 0;
  return in_list(buf, types, ntypes);
}

static int const_int_is(const qg_value_t *v, int64_t want) {
  if (v->node->kind != QG_SYM_prim_Constant || v->type->kind != QG_TYPE_INT) return 0;
  const qg_attr *a = qg_node_attr(v->node, qg_sym_lookup("value"));
  return a && a->kind == QG_ATTR_INT && a->i == want;
}

/* The first node of a delay pattern (§2.6). */
static int delay_first(const qg_node_t *n) {
  static const char *const mods[] = {
      "__torch__.torch.nn.modules.linear.Linear",          "__torch__.torch.nn.modules.conv.Conv1d",
      "__torch__.torch.nn.modules.conv.Conv2d",            "__torch__.torch.nn.modules.conv.Conv3d",
      "__torch__.torch.nn.modules.batchnorm.BatchNorm2d", "__torch__.torch.nn.modules.batchnorm.BatchNorm3d"};
  if (module_call_of(n, mods, COUNT(mods), 0) && n->ninputs == 2) return 1;
  if (qg_qh_is_aten(n, "linear") && n->ninputs == 3) return 1;
  if ((qg_qh_is_aten(n, "add") || qg_qh_is_aten(n, "add_")) && n->ninputs == 3) return const_int_is(n->inputs[2], 1);
  return (qg_qh_is_aten(n, "mul") || qg_qh_is_aten(n, "mul_")) && n->ninputs == 2;
}

/* The relu of a delay pattern consuming `first` at input `offset`. */
static int delay_second(const qg_node_t *n, uint32_t offset) {
  static const char *const relu[] = {"__torch__.torch.nn.modules.activation.ReLU"};
  if (module_call_of(n, relu, COUNT(relu), 1)) return n->ninputs == 2 && offset == 1;
  if ((qg_qh_is_aten(n, "relu") || qg_qh_is_aten(n, "relu_")) && n->ninputs == 1) return offset == 0;
  if (qg_qh_is_call(n, "relu") && n->ninputs == 3 && offset == 1) {
    /* The function constant is inside the pattern: PyTorch's matcher needs it used once. */
    const qg_value_t *fv = n->inputs[0];
    return fv->node->kind == QG_SYM_prim_Constant && fv->nuses == 1;
  }
  return 0;
}

qg_value_t *qg_qh_delay_target(const qg_value_t *first) {
  if (first->nuses != 1 || first->node->noutputs != 1 || !delay_first(first->node)) return NULL;
  const qg_use_t *u = &first->uses[0];
  if (!delay_second(u->user, u->offset) || u->user->noutputs != 1) return NULL;
  return u->user->outputs[0];
}

qg_status qg_qh_name_after(qg_value_t *v, const qg_value_t *base, const char *suffix) {
  qg_strbuf sb = QG_STRBUF_INIT;
  qg_value_print_name(base, &sb);
  qg_strbuf_append(&sb, suffix);
  qg_status st = qg_strbuf_ok(&sb);
  if (st == QG_OK) st = qg_value_set_name(v, qg_strbuf_cstr(&sb));
  qg_strbuf_free(&sb);
  return st;
}
