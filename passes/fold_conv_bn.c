/* fold_conv_bn: folds each BatchNorm2d/3d module into the Conv2d/3d module that feeds it, as
 * PyTorch's FoldConvBatchNorm (torch/csrc/jit/passes/fold_conv_bn.cpp; Python:
 * torch.ao.quantization.quantize_jit.fuse_conv_bn_jit). Spec: reference §6.1; user docs:
 * docs/passes.md, "fold_conv_bn".
 *
 * Steps, each as PyTorch does them:
 *  1. add_conv_biases: a module whose class demangles to torch.nn.modules.conv.Conv1d/2d/3d and
 *     has no `bias` slot (traced convs built with bias=False) gets a parameter slot
 *     `bias : Tensor?` holding None (the class gains the slot, every instance gets None), and
 *     the class's forward graph reads it: `%bias : Tensor = prim::GetAttr[name="bias"](%self)`
 *     inserted before every aten::_convolution with 12 or 13 inputs, which takes it as input 2.
 *  2. For the 2d pattern, then the 3d pattern, each with a fresh plan:
 *     analyze: a worklist (a stack: the root first; each module pushes its children in slot
 *     order, so the last child is visited next) visits every module and every method graph of
 *     its class. The first time a graph is seen, its matches are listed: a prim::CallMethod
 *     forward(bn, conv_out) whose input conv_out comes from prim::CallMethod forward(conv, x) in
 *     the same block, used only there, with conv's class Conv2d and bn's BatchNorm2d (or both
 *     3d). A match whose parameters cannot be extracted is skipped (extract_params); the others
 *     are recorded for the graph (rewrite bn's output to conv's, delete bn's CallMethod and the
 *     GetAttr that fetched bn). Every time the graph is seen (once per module instance of a
 *     shared class), new conv parameters are computed for that instance's recorded pairs.
 *     transform: conv.weight / conv.bias := the new tensors (the last computed for a conv
 *     wins), then the recorded rewrites and deletions.
 *
 * Differences from PyTorch (docs/passes.md): in place (PyTorch folds module.clone(); the API
 * layer clones first); BatchNorm's `eps` is also found in a prim::CallFunction to
 * F.batch_norm (scripted BatchNorm keeps eps as a class constant, which bundles do not carry;
 * TorchScript inlines it as a prim::Constant argument of that call); malformed parameters
 * (a conv weight that is not a tensor, statistics whose size is not the conv's output channels,
 * non-float or mixed dtypes) are errors instead of exceptions or broadcasts; a bn GetAttr
 * still used elsewhere is kept (PyTorch would fail destroying it); a GetAttr chain that does
 * not start at `self` is an error, as in PyTorch.
 *
 * OOM: the pass returns QG_STATUS_OOM, frees everything it allocated and leaves every graph
 * lint-clean, but the module may be half-modified (bias slots added, some convs updated, some
 * graphs rewritten). Callers that need the original intact clone first (the API does). */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "base/vec.h"
#include "ir/ir.h"
#include "ir/type.h"
#include "module/module.h"
#include "module/value.h"
#include "passes/passes.h"
#include "tensor/tensor_ops.h"

#define CONV_PREFIX "__torch__.torch.nn.modules.conv.Conv"
#define BN_PREFIX "__torch__.torch.nn.modules.batchnorm.BatchNorm"

static const char *disp(const char *path) { return *path ? path : "<root>"; }

/* Is t a class whose demangled name is prefix + "<dim>d"? dim 0: 1d, 2d or 3d. */
static int class_is(const qg_type_t *t, const char *prefix, int dim) {
  if (!t || t->kind != QG_TYPE_CLASS) return 0;
  char buf[256];
  if (qg_type_demangle(t->qualname, buf, sizeof buf) != QG_OK) {
    qg_clear_error(); /* longer than any name we look for */
    return 0;
  }
  size_t n = strlen(prefix);
  if (strncmp(buf, prefix, n) != 0 || buf[n] < '1' || buf[n] > '3' || strcmp(buf + n + 1, "d") != 0) return 0;
  return dim == 0 || buf[n] - '0' == dim;
}

/* The object's slot `name`, or NULL when its class has none. */
static qg_ival *slot_value(qg_ival *obj, const char *name) {
  if (obj->kind != QG_IVAL_OBJECT) return NULL;
  long i = qg_class_find_slot(obj->u.obj->type, name);
  if (i < 0 || (size_t)i >= obj->u.obj->nslots) return NULL;
  return &obj->u.obj->slots[i];
}

/* Pre-order over the module objects under obj (obj first, then module slots in slot order). */
typedef qg_status (*visit_fn)(qg_ival *obj, void *ud);
static qg_status visit_modules(qg_ival *obj, visit_fn fn, void *ud) {
  QG_TRY(fn(obj, ud));
  for (size_t i = 0; i < obj->u.obj->nslots; i++) {
    const qg_type_t *cls = obj->u.obj->type;
    if (i < cls->nslots && cls->slots[i].kind == QG_SLOT_MODULE && obj->u.obj->slots[i].kind == QG_IVAL_OBJECT)
      QG_TRY(visit_modules(&obj->u.obj->slots[i], fn, ud));
  }
  return QG_OK;
}

/* Nodes of g in PyTorch's findPatternMatches order: a stack of blocks, the top block first;
 * each block's nodes in order, pushing the blocks of each node as it is passed. */
typedef QG_VEC(qg_node_t *) node_vec;
static qg_status nodes_in_match_order(const qg_graph_t *g, node_vec *out) {
  QG_VEC(qg_block_t *) stack = {0};
  qg_status st = QG_VEC_PUSH(&stack, qg_graph_block(g)) ? qg_oom("fold_conv_bn: block stack") : QG_OK;
  while (st == QG_OK && stack.len) {
    qg_block_t *b = stack.data[--stack.len];
    for (qg_node_t *n = qg_block_first(b); st == QG_OK && n != b->ret; n = n->next) {
      if (QG_VEC_PUSH(out, n)) st = qg_oom("fold_conv_bn: node list");
      for (uint32_t k = 0; st == QG_OK && k < n->nblocks; k++)
        if (QG_VEC_PUSH(&stack, n->blocks[k])) st = qg_oom("fold_conv_bn: block stack");
    }
  }
  QG_VEC_FREE(&stack);
  return st;
}

/* ---- step 1: a bias slot for convs without one --------------------------------------------- */

/* Sets the new `bias` slot of every instance of class ud to None. */
static qg_status put_none_bias(qg_ival *obj, void *ud) {
  if (obj->u.obj->type != ud) return QG_OK;
  return qg_ival_object_put(obj, "bias", qg_ival_none());
}

/* `%bias : Tensor = prim::GetAttr[name="bias"](%self)` before conv, which then reads it as
 * input 2 (PyTorch's replaceConvBiasWithGetAttr; the GetAttr's value is named "bias", a
 * previous holder of that name becomes "bias.N" as in PyTorch). */
static qg_status read_bias_before(qg_graph_t *g, qg_node_t *conv, qg_sym_t sym_name) {
  qg_value_t *self = qg_graph_input(g, 0);
  qg_node_t *prev = qg_graph_set_insert_point(g, conv), *ga = NULL;
  qg_status st = qg_graph_insert_new(g, QG_SYM_prim_GetAttr, 1, &self, 1, &ga);
  qg_graph_set_insert_point(g, prev);
  if (st != QG_OK) return st;
  qg_value_set_type(ga->outputs[0], qg_type_tensor());
  st = qg_node_set_s(ga, sym_name, "bias");
  if (st == QG_OK) st = qg_value_set_name(ga->outputs[0], "bias");
  if (st == QG_OK) st = qg_node_replace_input(conv, 2, ga->outputs[0]);
  if (st != QG_OK) qg_node_destroy(ga); /* still unused */
  return st;
}

/* Every aten::_convolution of the class's forward graph: the 13-input form first, then the
 * 12-input ("deprecated") one, each in match order, as PyTorch applies its two patterns. */
static qg_status read_bias_in_forward(qg_type_t *cls) {
  qg_method *fw = qg_class_find_method(cls, "forward");
  if (!fw || !fw->graph) return QG_OK;
  qg_graph_t *g = fw->graph;
  if (qg_graph_ninputs(g) == 0 || qg_graph_input(g, 0)->type != cls)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "fold_conv_bn: %s.forward: the first input is not self",
                        cls->qualname);
  qg_sym_t sym_name;
  QG_TRY(qg_sym_intern("name", &sym_name));
  node_vec nodes = {0};
  qg_status st = nodes_in_match_order(g, &nodes);
  for (uint32_t arity = 13; st == QG_OK && arity >= 12; arity--)
    for (size_t i = 0; st == QG_OK && i < nodes.len; i++) {
      qg_node_t *n = nodes.data[i];
      if (n->kind != QG_SYM_aten__convolution) continue;
      if (n->ninputs == arity && n->noutputs == 1 && n->nattrs == 0) st = read_bias_before(g, n, sym_name);
    }
  QG_VEC_FREE(&nodes);
  return st;
}

typedef struct bias_scan {
  QG_VEC(qg_type_t *) classes; /* conv classes without a bias slot, each once */
} bias_scan;

static qg_status find_biasless_convs(qg_ival *obj, void *ud) {
  bias_scan *s = ud;
  qg_type_t *cls = (qg_type_t *)obj->u.obj->type;
  if (!class_is(cls, CONV_PREFIX, 0) || qg_class_find_slot(cls, "bias") >= 0) return QG_OK;
  for (size_t i = 0; i < s->classes.len; i++)
    if (s->classes.data[i] == cls) return QG_OK;
  return QG_VEC_PUSH(&s->classes, cls) ? qg_oom("fold_conv_bn: class list") : QG_OK;
}

static qg_status add_conv_biases(qg_module *m, qg_pass_report *report) {
  bias_scan scan = {{0}};
  qg_status st = visit_modules(&m->root, find_biasless_convs, &scan);
  for (size_t i = 0; st == QG_OK && i < scan.classes.len; i++) {
    qg_type_t *cls = scan.classes.data[i];
    const qg_type_t *opt = NULL;
    st = qg_type_optional(m->cu, qg_type_tensor(), &opt);
    if (st == QG_OK) st = qg_class_add_slot(cls, "bias", opt, QG_SLOT_PARAMETER);
    if (st == QG_OK) st = visit_modules(&m->root, put_none_bias, cls);
    if (st == QG_OK) st = read_bias_in_forward(cls);
    if (st == QG_OK && report) report->changed++;
  }
  QG_VEC_FREE(&scan.classes);
  return st;
}

/* ---- parameter extraction ------------------------------------------------------------------ */

typedef struct conv_bn_params {
  qg_tensor *w, *b;          /* conv weight; conv bias or NULL (zeros) */
  qg_tensor *rm, *rv;        /* bn running_mean, running_var */
  qg_tensor *gamma, *beta;   /* bn weight or NULL (ones); bn bias or NULL (zeros) */
  double eps;
} conv_bn_params;

/* A tensor slot as PyTorch's hastensor(): *out = the tensor, or NULL when the slot is absent or
 * None. Any other value is malformed. */
static qg_status tensor_slot(qg_ival *obj, const char *path, const char *name, qg_tensor **out) {
  qg_ival *v = slot_value(obj, name);
  *out = NULL;
  if (!v || v->kind == QG_IVAL_NONE) return QG_OK;
  if (v->kind != QG_IVAL_TENSOR)
    return qg_set_error(QG_STATUS_TYPE, "fold_conv_bn: module '%s': `%s` is a %s, expected a Tensor", disp(path), name,
                        qg_ival_kind_name(v->kind));
  *out = v->u.tensor;
  return QG_OK;
}

/* The value of a prim::Constant's `value` attribute, or NULL (None constants, non-constants). */
static const qg_attr *constant_attr(const qg_value_t *v) {
  if (v->node->kind != QG_SYM_prim_Constant) return NULL;
  qg_sym_t sym = qg_sym_lookup("value");
  return sym == QG_SYM_NONE ? NULL : qg_node_attr(v->node, sym);
}

static int is_constant(const qg_value_t *v) { return v->node->kind == QG_SYM_prim_Constant; }

/* Is n a call of F.batch_norm(input, running_mean, running_var, weight, bias, training,
 * momentum, eps)? Its callee is a Function constant named "batch_norm" (or a function type). */
static int is_functional_batch_norm(const qg_node_t *n) {
  if (n->kind != QG_SYM_prim_CallFunction || n->ninputs != 9 || n->noutputs != 1) return 0;
  const qg_value_t *f = n->inputs[0];
  if (f->type->kind == QG_TYPE_FUNCTION) {
    size_t l = strlen(f->type->qualname);
    return l >= 11 && strcmp(f->type->qualname + l - 11, ".batch_norm") == 0;
  }
  const char *name = f->node->kind == QG_SYM_prim_Constant ? qg_node_s(f->node, "name") : NULL;
  return name && strcmp(name, "batch_norm") == 0;
}

/* The batch_norm call of bn's forward graph (PyTorch matches the pattern aten::batch_norm with
 * 9 inputs): *call and the input indices of weight, bias and eps. *call = NULL with *ok = 0
 * when there are several; *call = NULL with *ok = 1 when there is none. */
typedef struct bn_call {
  const qg_node_t *call;
  int iweight, ibias, ieps;
} bn_call;

static qg_status find_bn_call(const qg_type_t *bn_cls, bn_call *out, int *ok) {
  memset(out, 0, sizeof *out);
  *ok = 1;
  qg_method *fw = qg_class_find_method(bn_cls, "forward");
  if (!fw || !fw->graph) return QG_OK;
  node_vec nodes = {0};
  qg_status st = nodes_in_match_order(fw->graph, &nodes);
  size_t naten = 0, nfunc = 0;
  const qg_node_t *aten = NULL, *func = NULL;
  for (size_t i = 0; st == QG_OK && i < nodes.len; i++) {
    const qg_node_t *n = nodes.data[i];
    if (n->kind == QG_SYM_aten_batch_norm && n->ninputs == 9 && n->noutputs == 1 && n->nattrs == 0) {
      if (naten++ == 0) aten = n;
    } else if (is_functional_batch_norm(n)) {
      if (nfunc++ == 0) func = n;
    }
  }
  QG_VEC_FREE(&nodes);
  if (st != QG_OK) return st;
  if (naten > 1) { /* PyTorch: more than one match -> not extracted */
    *ok = 0;
  } else if (naten == 1) {
    *out = (bn_call){aten, 1, 2, 7}; /* aten::batch_norm(input, weight, bias, mean, var, training, momentum, eps, cudnn) */
  } else if (nfunc > 1) {
    *ok = 0;
  } else if (nfunc == 1) {
    *out = (bn_call){func, 4, 5, 8}; /* CallFunction(f, input, mean, var, weight, bias, training, momentum, eps) */
  }
  return QG_OK;
}

/* bn weight / bias as PyTorch's extractOptionalBNParams: the slot if the class has one (a
 * tensor, else the default), else the call's argument, which must be a constant (a tensor, else
 * the default). *ok = 0 when it cannot be known. */
static void optional_bn_tensor(qg_ival *bn, const bn_call *call, int index, const char *name, qg_tensor **out,
                               int *ok) {
  qg_ival *v = slot_value(bn, name);
  *out = NULL;
  if (v) {
    if (v->kind == QG_IVAL_TENSOR) *out = v->u.tensor;
    return;
  }
  if (!call->call || !is_constant(call->call->inputs[index])) {
    *ok = 0;
    return;
  }
  const qg_attr *a = constant_attr(call->call->inputs[index]);
  if (a && a->kind == QG_ATTR_TENSOR) *out = a->t;
}

static qg_status bn_eps(qg_ival *bn, const char *bn_path, const bn_call *call, double *eps, int *ok) {
  qg_ival *v = slot_value(bn, "eps");
  if (v) {
    if (v->kind == QG_IVAL_DOUBLE) *eps = v->u.d;
    else if (v->kind == QG_IVAL_INT) *eps = (double)v->u.i;
    else
      return qg_set_error(QG_STATUS_TYPE, "fold_conv_bn: module '%s': `eps` is a %s, expected a float", disp(bn_path),
                          qg_ival_kind_name(v->kind));
    return QG_OK;
  }
  if (!call->call || !is_constant(call->call->inputs[call->ieps])) {
    *ok = 0;
    return QG_OK;
  }
  const qg_attr *a = constant_attr(call->call->inputs[call->ieps]);
  if (a && a->kind == QG_ATTR_FLOAT) *eps = a->f;
  else if (a && a->kind == QG_ATTR_INT) *eps = (double)a->i;
  else
    return qg_set_error(QG_STATUS_TYPE, "fold_conv_bn: module '%s': the eps argument of its batch_norm is not a number",
                        disp(bn_path));
  return QG_OK;
}

/* A per-channel tensor of the pair must be 1-D with one element per conv output channel and
 * have the conv weight's dtype. */
static qg_status check_channels(const qg_tensor *t, const qg_tensor *w, const char *owner, const char *name) {
  if (!t) return QG_OK;
  if (t->ndim != 1 || t->shape[0] != w->shape[0])
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "fold_conv_bn: module '%s': `%s` has shape %s, expected [%lld] (the conv's output channels)",
                        disp(owner), name, qg_shape_str(t->ndim, t->shape, (char[96]){0}, 96), (long long)w->shape[0]);
  if (t->dtype != w->dtype)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "fold_conv_bn: module '%s': `%s` is %s but the conv weight is %s",
                        disp(owner), name, qg_dtype_info(t->dtype)->name, qg_dtype_info(w->dtype)->name);
  return QG_OK;
}

/* PyTorch's tryExtractingConvBNParameters: *ok = 0 when the pair is not folded (a parameter is
 * absent or unknown); an error when a parameter is malformed. Tensors are borrowed. */
static qg_status extract_params(qg_ival *conv, const char *conv_path, qg_ival *bn, const char *bn_path,
                                conv_bn_params *p, int *ok) {
  memset(p, 0, sizeof *p);
  *ok = 0;
  QG_TRY(tensor_slot(conv, conv_path, "weight", &p->w));
  QG_TRY(tensor_slot(bn, bn_path, "running_mean", &p->rm));
  QG_TRY(tensor_slot(bn, bn_path, "running_var", &p->rv));
  qg_ival *bias = slot_value(conv, "bias");
  if (!p->w || !bias || !p->rm || !p->rv) return QG_OK;
  QG_TRY(tensor_slot(conv, conv_path, "bias", &p->b));
  bn_call call;
  int found = 1;
  QG_TRY(find_bn_call(bn->u.obj->type, &call, &found));
  if (!found) return QG_OK;
  QG_TRY(bn_eps(bn, bn_path, &call, &p->eps, &found));
  optional_bn_tensor(bn, &call, call.iweight, "weight", &p->gamma, &found);
  optional_bn_tensor(bn, &call, call.ibias, "bias", &p->beta, &found);
  if (!found) return QG_OK;
  if (p->w->dtype != QG_DTYPE_F32 && p->w->dtype != QG_DTYPE_F64)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "fold_conv_bn: module '%s': weight dtype %s (only float32 and float64 fold)",
                        disp(conv_path), qg_dtype_info(p->w->dtype)->name);
  if (p->w->ndim < 1)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "fold_conv_bn: module '%s': the weight is 0-dimensional",
                        disp(conv_path));
  QG_TRY(check_channels(p->b, p->w, conv_path, "bias"));
  QG_TRY(check_channels(p->rm, p->w, bn_path, "running_mean"));
  QG_TRY(check_channels(p->rv, p->w, bn_path, "running_var"));
  QG_TRY(check_channels(p->gamma, p->w, bn_path, "weight"));
  QG_TRY(check_channels(p->beta, p->w, bn_path, "bias"));
  *ok = 1;
  return QG_OK;
}

/* ---- the new parameters -------------------------------------------------------------------- */

/* PyTorch's computeUpdatedConvWeightAndBias, elementwise in the parameters' dtype with ATen's
 * operation order (each step rounded, no fused multiply-add):
 *   r = rsqrt(var + (T)eps)  (ATen: 1 / sqrt)      W' = W * (gamma * r)  per output channel
 *   b' = ((b - mean) * r) * gamma + beta
 * Absent gamma / beta / b are PyTorch's ones_like / zeros_like, written as literals. */
#define FOLD_LOOP(T, SQRT)                                                                        \
  do {                                                                                           \
    const T *w = wd, *rm = rmd, *rv = rvd, *b = bd, *g = gd, *be = bed;                          \
    T *nw = nwd, *nb = nbd;                                                                      \
    for (int64_t o = 0; o < nout; o++) {                                                         \
      T r = (T)1 / SQRT(rv[o] + (T)eps);                                                         \
      T go = g ? g[o] : (T)1, beo = be ? be[o] : (T)0, bo = b ? b[o] : (T)0;                     \
      T s = go * r;                                                                              \
      for (int64_t k = 0; k < per; k++) nw[o * per + k] = w[o * per + k] * s;                    \
      T t = (bo - rm[o]) * r;                                                                    \
      t = t * go;                                                                                \
      nb[o] = t + beo;                                                                           \
    }                                                                                            \
  } while (0)

static void fold_values(qg_dtype dt, int64_t nout, int64_t per, double eps, const void *wd, const void *bd,
                        const void *rmd, const void *rvd, const void *gd, const void *bed, void *nwd, void *nbd) {
  if (dt == QG_DTYPE_F32) FOLD_LOOP(float, sqrtf);
  else FOLD_LOOP(double, sqrt);
}

static const void *data_or_null(qg_tensor *t) { return t ? qg_tensor_data(t) : NULL; }

/* Only the conv's slot refers to the weight and its memory is ours (not a bundle mapping, not
 * shared with a view): folding may then write the new weight over the old one, which saves
 * allocating and faulting in a second copy of every folded weight (most of fold's time). */
static int exclusively_owned(const qg_tensor *t) {
  return t->refcount == 1 && t->storage && t->storage->refcount == 1 && !t->storage->release &&
         !t->storage->owner && t->offset == 0 && !t->quantizer && qg_tensor_is_contiguous(t);
}

static qg_status compute_folded(const conv_bn_params *p, qg_tensor **new_w, qg_tensor **new_b) {
  int in_place = exclusively_owned(p->w);
  qg_tensor *src[6] = {p->w, p->b, p->rm, p->rv, p->gamma, p->beta}, *c[6] = {0};
  qg_status st = QG_OK;
  for (int i = 0; i < 6 && st == QG_OK; i++)
    if (src[i]) st = qg_tensor_contiguous(src[i], &c[i]);
  *new_w = *new_b = NULL;
  /* fold_values writes every element (element i of the weight is read before it is written) */
  if (st == QG_OK && in_place) {
    qg_tensor_retain(p->w);
    *new_w = p->w;
  } else if (st == QG_OK) {
    st = qg_tensor_create_uninit(p->w->dtype, p->w->ndim, p->w->shape, new_w);
  }
  if (st == QG_OK) st = qg_tensor_create_uninit(p->w->dtype, 1, p->w->shape, new_b);
  if (st == QG_OK) {
    int64_t nout = p->w->shape[0], per = nout ? qg_tensor_numel(p->w) / nout : 0;
    fold_values(p->w->dtype, nout, per, p->eps, data_or_null(c[0]), data_or_null(c[1]), data_or_null(c[2]),
                data_or_null(c[3]), data_or_null(c[4]), data_or_null(c[5]), qg_tensor_data(*new_w),
                qg_tensor_data(*new_b));
  } else {
    qg_tensor_release(*new_w);
    *new_w = NULL;
  }
  for (int i = 0; i < 6; i++) qg_tensor_release(c[i]);
  return st;
}

/* ---- step 2: analyze and transform, once per pattern --------------------------------------- */

typedef struct site {
  const qg_value_t *conv_inst, *bn_inst; /* the CallMethods' receivers */
} site;

typedef struct graph_sites {
  const qg_graph_t *g;
  QG_VEC(site) sites;
} graph_sites;

typedef struct new_params {
  qg_ival_object *conv;
  char *path; /* for messages */
  qg_tensor *w, *b;
} new_params;

typedef struct fold_plan {
  int dim;                      /* 2 or 3 */
  QG_VEC(graph_sites) graphs;   /* every graph seen, with its folded pairs */
  node_vec bn_calls;            /* CallMethod forward(bn, conv_out) to remove */
  node_vec bn_getattrs;         /* the GetAttrs that fetched bn, removed when unused */
  QG_VEC(new_params) params;
  size_t folded;
} fold_plan;

static void plan_free(fold_plan *p) {
  for (size_t i = 0; i < p->graphs.len; i++) QG_VEC_FREE(&p->graphs.data[i].sites);
  QG_VEC_FREE(&p->graphs);
  QG_VEC_FREE(&p->bn_calls);
  QG_VEC_FREE(&p->bn_getattrs);
  for (size_t i = 0; i < p->params.len; i++) {
    qg__free(p->params.data[i].path);
    qg_tensor_release(p->params.data[i].w);
    qg_tensor_release(p->params.data[i].b);
  }
  QG_VEC_FREE(&p->params);
}

static int is_forward_call(const qg_node_t *n) {
  if (n->kind != QG_SYM_prim_CallMethod || n->ninputs != 2 || n->noutputs != 1 || n->nattrs != 1) return 0;
  const qg_attr *a = &n->attrs[0];
  return a->kind == QG_ATTR_STRING && strcmp(qg_sym_str(a->name), "name") == 0 && strcmp(a->s, "forward") == 0;
}

/* The pattern (reference §6.1, matcher rules §4.1) with bn as the anchor. */
static int matches_pattern(const qg_node_t *bn, int dim) {
  if (!is_forward_call(bn)) return 0;
  const qg_value_t *conv_out = bn->inputs[1];
  const qg_node_t *conv = conv_out->node;
  return conv->owner == bn->owner && is_forward_call(conv) && conv_out->nuses == 1 &&
         class_is(conv->inputs[0]->type, CONV_PREFIX, dim) && class_is(bn->inputs[0]->type, BN_PREFIX, dim);
}

/* The module object a CallMethod receiver stands for: the prim::GetAttr chain from the graph's
 * self (PyTorch's getModuleAccessPath + findChildModule), its dotted path from the root in
 * *path. */
static qg_status resolve_module(qg_ival *cur, const char *cur_path, const qg_graph_t *g, const qg_value_t *inst,
                                qg_ival **out, qg_strbuf *path) {
  const char *names[64];
  size_t n = 0;
  const qg_value_t *self = qg_graph_ninputs(g) ? qg_graph_input(g, 0) : NULL, *it = inst;
  while (it != self && it->node->kind == QG_SYM_prim_GetAttr && it->node->ninputs == 1 && n < 64) {
    names[n] = qg_node_s(it->node, "name");
    if (!names[n]) break;
    n++;
    it = it->node->inputs[0];
  }
  if (it != self)
    return qg_set_error(QG_STATUS_UNSUPPORTED,
                        "fold_conv_bn: module '%s': can't handle the access pattern of GetAttr: a module called by "
                        "prim::CallMethod is not reached from self through prim::GetAttr",
                        disp(cur_path));
  qg_strbuf_reset(path);
  qg_strbuf_append(path, cur_path);
  qg_ival *o = cur;
  for (size_t k = n; k-- > 0;) {
    if (path->len) qg_strbuf_putc(path, '.');
    qg_strbuf_append(path, names[k]);
    o = slot_value(o, names[k]);
    if (!o || o->kind != QG_IVAL_OBJECT)
      return qg_set_error(QG_STATUS_NOT_FOUND, "fold_conv_bn: module '%s': no submodule '%s'", disp(cur_path), names[k]);
  }
  QG_TRY(qg_strbuf_ok(path));
  *out = o;
  return QG_OK;
}

/* The conv's bias slot must be a parameter (PyTorch: "Expected conv module to have a bias
 * parameter"). */
static qg_status check_bias_is_parameter(const qg_ival *conv, const char *conv_path) {
  const qg_type_t *cls = conv->u.obj->type;
  long i = qg_class_find_slot(cls, "bias");
  if (i < 0 || cls->slots[i].kind != QG_SLOT_PARAMETER)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "fold_conv_bn: module '%s': expected conv module to have a bias parameter (`bias` is %s)",
                        disp(conv_path), i < 0 ? "missing" : qg_slot_kind_name(cls->slots[i].kind));
  return QG_OK;
}

/* Records W', b' for conv (the last one computed for a conv wins, as PyTorch's map). */
static qg_status plan_params(fold_plan *p, qg_ival *conv, const char *conv_path, qg_tensor *w, qg_tensor *b) {
  for (size_t i = 0; i < p->params.len; i++)
    if (p->params.data[i].conv == conv->u.obj) {
      qg_tensor_release(p->params.data[i].w);
      qg_tensor_release(p->params.data[i].b);
      p->params.data[i].w = w;
      p->params.data[i].b = b;
      return QG_OK;
    }
  new_params np = {conv->u.obj, qg__strdup(conv_path), w, b};
  if (!np.path || QG_VEC_PUSH(&p->params, np)) {
    qg__free(np.path);
    qg_tensor_release(w);
    qg_tensor_release(b);
    return qg_oom("fold_conv_bn: planned parameters");
  }
  return QG_OK;
}

/* The first visit of graph g: its matches, filtered and checked, recorded as sites and
 * planned graph edits. */
static qg_status list_sites(fold_plan *p, graph_sites *gs, qg_ival *cur, const char *cur_path, qg_strbuf *cpath,
                            qg_strbuf *bpath) {
  node_vec nodes = {0};
  qg_status st = nodes_in_match_order(gs->g, &nodes);
  for (size_t i = 0; st == QG_OK && i < nodes.len; i++) {
    qg_node_t *bn = nodes.data[i];
    if (!matches_pattern(bn, p->dim)) continue;
    site s = {bn->inputs[1]->node->inputs[0], bn->inputs[0]};
    qg_ival *conv, *bnm;
    conv_bn_params params;
    int ok;
    st = resolve_module(cur, cur_path, gs->g, s.conv_inst, &conv, cpath);
    if (st == QG_OK) st = resolve_module(cur, cur_path, gs->g, s.bn_inst, &bnm, bpath);
    if (st == QG_OK) st = extract_params(conv, qg_strbuf_cstr(cpath), bnm, qg_strbuf_cstr(bpath), &params, &ok);
    if (st != QG_OK || !ok) continue;
    if (QG_VEC_PUSH(&gs->sites, s) || QG_VEC_PUSH(&p->bn_calls, bn)) st = qg_oom("fold_conv_bn: plan");
    if (st == QG_OK && bn->inputs[0]->node->kind == QG_SYM_prim_GetAttr &&
        QG_VEC_PUSH(&p->bn_getattrs, bn->inputs[0]->node))
      st = qg_oom("fold_conv_bn: plan");
    if (st == QG_OK) st = check_bias_is_parameter(conv, qg_strbuf_cstr(cpath));
  }
  QG_VEC_FREE(&nodes);
  return st;
}

/* One method graph of module `cur` (PyTorch's analyze, inner loop). */
static qg_status analyze_graph(fold_plan *p, qg_ival *cur, const char *cur_path, const qg_graph_t *g) {
  size_t gi = 0;
  while (gi < p->graphs.len && p->graphs.data[gi].g != g) gi++;
  qg_strbuf cpath = QG_STRBUF_INIT, bpath = QG_STRBUF_INIT;
  qg_status st = QG_OK;
  if (gi == p->graphs.len) {
    graph_sites fresh = {g, {0}};
    if (QG_VEC_PUSH(&p->graphs, fresh)) return qg_oom("fold_conv_bn: graph list");
    st = list_sites(p, &p->graphs.data[gi], cur, cur_path, &cpath, &bpath);
  }
  graph_sites *gs = &p->graphs.data[gi];
  for (size_t i = 0; st == QG_OK && i < gs->sites.len; i++) {
    qg_ival *conv, *bnm;
    conv_bn_params params;
    int ok = 0;
    qg_tensor *w = NULL, *b = NULL;
    st = resolve_module(cur, cur_path, g, gs->sites.data[i].conv_inst, &conv, &cpath);
    if (st == QG_OK) st = resolve_module(cur, cur_path, g, gs->sites.data[i].bn_inst, &bnm, &bpath);
    if (st == QG_OK) st = extract_params(conv, qg_strbuf_cstr(&cpath), bnm, qg_strbuf_cstr(&bpath), &params, &ok);
    if (st == QG_OK && !ok) /* PyTorch asserts: instances of one class must all fold */
      st = qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "fold_conv_bn: modules '%s' and '%s': their parameters cannot be folded, but those of another "
                        "instance of the same class could",
                        disp(qg_strbuf_cstr(&cpath)), disp(qg_strbuf_cstr(&bpath)));
    if (st == QG_OK) st = compute_folded(&params, &w, &b);
    if (st == QG_OK) st = plan_params(p, conv, qg_strbuf_cstr(&cpath), w, b);
  }
  qg_strbuf_free(&cpath);
  qg_strbuf_free(&bpath);
  return st;
}

typedef struct work_item {
  qg_ival *obj;
  char *path;
} work_item;

/* PyTorch's analyze: a stack of modules, children pushed in slot order, every method graph of
 * each. */
static qg_status analyze(fold_plan *p, qg_module *m) {
  QG_VEC(work_item) stack = {0};
  char *root_path = qg__strdup("");
  work_item root = {&m->root, root_path};
  if (!root_path || QG_VEC_PUSH(&stack, root)) {
    qg__free(root_path);
    return qg_oom("fold_conv_bn: module worklist");
  }
  qg_status st = QG_OK;
  while (st == QG_OK && stack.len) {
    work_item w = stack.data[--stack.len];
    const qg_type_t *cls = w.obj->u.obj->type;
    qg_strbuf child = QG_STRBUF_INIT;
    for (size_t i = 0; st == QG_OK && i < cls->nslots && i < w.obj->u.obj->nslots; i++) {
      qg_ival *v = &w.obj->u.obj->slots[i];
      if (cls->slots[i].kind != QG_SLOT_MODULE || v->kind != QG_IVAL_OBJECT) continue;
      qg_strbuf_reset(&child);
      qg_strbuf_printf(&child, "%s%s%s", w.path, *w.path ? "." : "", cls->slots[i].name);
      char *cp = qg_strbuf_detach(&child);
      work_item c = {v, cp};
      if (!cp || QG_VEC_PUSH(&stack, c)) {
        qg__free(cp);
        st = qg_oom("fold_conv_bn: module worklist");
      }
    }
    qg_strbuf_free(&child);
    for (size_t k = 0; st == QG_OK && k < cls->nmethods; k++)
      if (cls->methods[k].graph) {
        st = analyze_graph(p, w.obj, w.path, cls->methods[k].graph);
        if (st != QG_OK && st != QG_STATUS_OOM)
          st = qg_error_prefix(st, "%s (%s)", disp(w.path), cls->methods[k].name);
      }
    qg__free(w.path);
  }
  for (size_t i = 0; i < stack.len; i++) qg__free(stack.data[i].path);
  QG_VEC_FREE(&stack);
  return st;
}

/* conv.bias := b. The slot is a parameter (checked); if its declared type cannot hold a tensor
 * (NoneType), it becomes Tensor? (PyTorch sets the value without a type check). */
static qg_status set_bias(qg_cu_t *cu, qg_ival *conv, qg_tensor *b) {
  qg_type_t *cls = (qg_type_t *)conv->u.obj->type;
  long i = qg_class_find_slot(cls, "bias");
  qg_ival v = qg_ival_tensor(b);
  if (i >= 0 && !qg_ival_fits_type(&v, cls->slots[i].type)) {
    const qg_type_t *opt;
    qg_status st = qg_type_optional(cu, qg_type_tensor(), &opt);
    if (st != QG_OK) {
      qg_ival_release(&v);
      return st;
    }
    cls->slots[i].type = opt;
  }
  return qg_ival_object_put(conv, "bias", v);
}

static qg_status transform(fold_plan *p, qg_module *m) {
  for (size_t i = 0; i < p->params.len; i++) {
    new_params *np = &p->params.data[i];
    qg_ival conv = {QG_IVAL_OBJECT, {0}};
    conv.u.obj = np->conv;
    qg_tensor *w = np->w, *b = np->b;
    np->w = np->b = NULL; /* moved into the slots, also on failure */
    qg_status st = qg_ival_object_put(&conv, "weight", qg_ival_tensor(w));
    if (st != QG_OK) {
      qg_tensor_release(b);
      return st;
    }
    QG_TRY(set_bias(m->cu, &conv, b));
  }
  for (size_t i = 0; i < p->bn_calls.len; i++) {
    qg_node_t *bn = p->bn_calls.data[i];
    QG_TRY(qg_value_replace_all_uses_with(bn->outputs[0], bn->inputs[1]));
  }
  for (size_t i = 0; i < p->bn_calls.len; i++) {
    qg_node_destroy(p->bn_calls.data[i]);
    p->folded++;
  }
  p->bn_calls.len = 0;
  for (size_t i = 0; i < p->bn_getattrs.len; i++) {
    qg_node_t *ga = p->bn_getattrs.data[i];
    int dup = 0;
    for (size_t k = 0; k < i && !dup; k++) dup = p->bn_getattrs.data[k] == ga;
    if (!dup && ga->outputs[0]->nuses == 0) qg_node_destroy(ga);
  }
  p->bn_getattrs.len = 0;
  return QG_OK;
}

qg_status qg_fold_conv_bn(qg_module *m, qg_pass_report *report) {
  if (!m || m->root.kind != QG_IVAL_OBJECT)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "fold_conv_bn: the module has no root object");
  QG_TRY(add_conv_biases(m, report));
  for (int dim = 2; dim <= 3; dim++) {
    fold_plan plan = {0};
    plan.dim = dim;
    qg_status st = analyze(&plan, m);
    if (st == QG_OK) st = transform(&plan, m);
    if (report) report->changed += plan.folded;
    plan_free(&plan);
    if (st != QG_OK) return st;
  }
  return QG_OK;
}
