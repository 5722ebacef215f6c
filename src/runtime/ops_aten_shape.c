/* aten views, joins/splits, size queries and dropout -> src/tensor/tensor_ops.h views and
 * src/ops/cpu/shape.h, misc.h. View ops return views sharing the input's storage, as PyTorch's
 * Tensor(a) returns; the in-place view ops (squeeze_, unsqueeze_) change the input tensor's own
 * geometry. */
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/misc.h"
#include "ops/cpu/shape.h"
#include "runtime/ops_aten_impl.h"

#define MAXL QG_MAX_DIMS

static int to_dim(int64_t d) { return d < INT32_MIN ? INT32_MIN : d > INT32_MAX ? INT32_MAX : (int)d; }

/* flatten.using_ints(self, int start_dim=0, int end_dim=-1) */
static qg_status flatten(qg_op_call *c) {
  qg_tensor *x, *y;
  int64_t s, e;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int(c, 1, &s));
  QG_TRY(qg_arg_int(c, 2, &e));
  QG_TRY(qg_tensor_flatten(x, to_dim(s), to_dim(e), &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

typedef qg_status (*shape_fn)(qg_tensor *t, int ndim, const int64_t *shape, qg_tensor **out);
static qg_status with_shape(qg_op_call *c, shape_fn f) {
  qg_tensor *x, *y;
  int64_t shape[MAXL];
  size_t n;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int_list(c, 1, shape, MAXL, &n));
  QG_TRY(f(x, (int)n, shape, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status view(qg_op_call *c) { return with_shape(c, qg_tensor_view); }
static qg_status reshape(qg_op_call *c) { return with_shape(c, qg_tensor_reshape); }
static qg_status permute(qg_op_call *c) { return with_shape(c, qg_tensor_permute); }

/* expand(self, int[] size, *, bool implicit=False) */
static qg_status expand(qg_op_call *c) {
  int implicit;
  if (c->nargs > 2) QG_TRY(qg_arg_bool(c, 2, &implicit));
  return with_shape(c, qg_tensor_expand);
}

/* view_as(self, other) / expand_as(self, other): the same as view / expand to other's shape. */
static qg_status as_shape_of(qg_op_call *c, qg_status (*fn)(qg_tensor *, int, const int64_t *, qg_tensor **)) {
  qg_tensor *x, *other, *y;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_tensor(c, 1, &other));
  QG_TRY(fn(x, other->ndim, other->shape, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status view_as(qg_op_call *c) { return as_shape_of(c, qg_tensor_view); }
static qg_status expand_as(qg_op_call *c) { return as_shape_of(c, qg_tensor_expand); }

static qg_status transpose(qg_op_call *c) {
  qg_tensor *x, *y;
  int64_t d0, d1;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int(c, 1, &d0));
  QG_TRY(qg_arg_int(c, 2, &d1));
  QG_TRY(qg_tensor_transpose(x, to_dim(d0), to_dim(d1), &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* contiguous(self, *, MemoryFormat memory_format=0): only contiguous_format (0) and preserve
 * (3, which keeps a strided tensor's layout; treated as contiguous here). */
static qg_status contiguous(qg_op_call *c) {
  qg_tensor *x, *y;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  if (c->nargs > 1 && !qg_arg_is_none(c, 1)) {
    int64_t mf;
    QG_TRY(qg_arg_int(c, 1, &mf));
    if (mf != 0 && mf != 3)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "aten::contiguous: memory format %lld is not supported (only "
                          "torch.contiguous_format)", (long long)mf);
  }
  QG_TRY(qg_tensor_contiguous(x, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* Makes x itself take v's geometry (in-place view ops). */
static void adopt_geometry(qg_tensor *x, const qg_tensor *v) {
  x->ndim = v->ndim;
  memcpy(x->shape, v->shape, sizeof x->shape);
  memcpy(x->strides, v->strides, sizeof x->strides);
  x->offset = v->offset;
}

/* squeeze(self), squeeze.dim(self, dim), squeeze_(...) */
/* The result of squeeze/unsqueeze: a new view, or for the in-place forms (squeeze_, unsqueeze_)
 * x itself taking the view's geometry, returned as an alias. */
static qg_status finish_view(qg_op_call *c, qg_tensor *x, qg_tensor *y, int inplace) {
  if (!inplace) {
    qg_out_tensor(c, 0, y);
    return QG_OK;
  }
  adopt_geometry(x, y);
  qg_tensor_release(y);
  qg__aten_out_alias(c, 0, x);
  return QG_OK;
}

static qg_status squeeze_common(qg_op_call *c, int inplace) {
  qg_tensor *x, *y;
  int64_t dim = QG_ALL_DIMS;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  if (c->nargs > 1) QG_TRY(qg_arg_int(c, 1, &dim));
  QG_TRY(qg_tensor_squeeze(x, to_dim(dim), &y));
  return finish_view(c, x, y, inplace);
}
static qg_status squeeze(qg_op_call *c) { return squeeze_common(c, 0); }
static qg_status squeeze_(qg_op_call *c) { return squeeze_common(c, 1); }

static qg_status unsqueeze_common(qg_op_call *c, int inplace) {
  qg_tensor *x, *y;
  int64_t dim;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int(c, 1, &dim));
  QG_TRY(qg_tensor_unsqueeze(x, to_dim(dim), &y));
  return finish_view(c, x, y, inplace);
}
static qg_status unsqueeze(qg_op_call *c) { return unsqueeze_common(c, 0); }
static qg_status unsqueeze_(qg_op_call *c) { return unsqueeze_common(c, 1); }

/* chunk(self, int chunks, int dim=0) */
static qg_status chunk(qg_op_call *c) {
  qg_tensor *x, **ts;
  int64_t chunks, dim, n;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int(c, 1, &chunks));
  QG_TRY(qg_arg_int(c, 2, &dim));
  QG_TRY(qg_cpu_chunk(x, chunks, dim, &ts, &n));
  return qg__aten_out_tensor_list(c, 0, ts, n);
}

/* split.Tensor(self, int split_size, int dim=0), split.sizes / split(self, int[] sizes, dim) */
static qg_status split(qg_op_call *c) {
  qg_tensor *x, **ts;
  int64_t dim, n;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int(c, 2, &dim));
  if (c->args[1].kind == QG_IVAL_INT) {
    int64_t size;
    QG_TRY(qg_arg_int(c, 1, &size));
    QG_TRY(qg_cpu_split(x, size, dim, &ts, &n));
  } else {
    const qg_ival *items;
    size_t k;
    QG_TRY(qg_arg_list(c, 1, &items, &k));
    int64_t *sizes = qg__malloc((k ? k : 1) * sizeof *sizes);
    if (!sizes) return qg_oom("aten::split sizes");
    size_t got;
    qg_status st = qg_arg_int_list(c, 1, sizes, k, &got);
    if (st == QG_OK) st = qg_cpu_split_with_sizes(x, sizes, (int)got, dim, &ts, &n);
    qg__free(sizes);
    QG_TRY(st);
  }
  return qg__aten_out_tensor_list(c, 0, ts, n);
}

/* unbind.int(self, int dim=0): select(dim, i) for every i. */
static qg_status unbind(qg_op_call *c) {
  qg_tensor *x;
  int64_t dim;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int(c, 1, &dim));
  int64_t nd = x->ndim;
  if (nd == 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Dimension specified as 0 but tensor has no dimensions");
  if (dim < -nd || dim >= nd)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "Dimension out of range (expected to be in range of [%lld, %lld], but got %lld)",
                        (long long)-nd, (long long)(nd - 1), (long long)dim);
  int d = (int)(dim < 0 ? dim + nd : dim);
  int64_t n = x->shape[d];
  qg_tensor **ts = qg__calloc((size_t)(n ? n : 1), sizeof *ts);
  if (!ts) return qg_oom("aten::unbind");
  for (int64_t i = 0; i < n; i++) {
    qg_status st = qg_tensor_select(x, d, i, &ts[i]);
    if (st != QG_OK) {
      qg_cpu_tensor_list_free(ts, n);
      return st;
    }
  }
  return qg__aten_out_tensor_list(c, 0, ts, n);
}

static qg_status select_op(qg_op_call *c) {
  qg_tensor *x, *y;
  int64_t dim, index;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int(c, 1, &dim));
  QG_TRY(qg_arg_int(c, 2, &index));
  QG_TRY(qg_tensor_select(x, to_dim(dim), index, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* slice.Tensor(self, int dim=0, int? start=None, int? end=None, int step=1) */
static qg_status slice(qg_op_call *c) {
  qg_tensor *x, *y;
  int64_t dim, start = 0, end = INT64_MAX, step;
  int has;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int(c, 1, &dim));
  QG_TRY(qg_arg_opt_int(c, 2, &start, &has));
  if (!has) start = 0;
  QG_TRY(qg_arg_opt_int(c, 3, &end, &has));
  if (!has) end = INT64_MAX;
  QG_TRY(qg_arg_int(c, 4, &step));
  QG_TRY(qg_tensor_slice(x, to_dim(dim), start, end, step, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* cat(Tensor[] tensors, int dim=0), stack(Tensor[] tensors, int dim=0) */
static qg_status join(qg_op_call *c, int stack) {
  const qg_ival *items;
  size_t n;
  int64_t dim;
  qg_tensor *y;
  QG_TRY(qg_arg_tensor_list(c, 0, &items, &n));
  QG_TRY(qg_arg_int(c, 1, &dim));
  if (n == 0)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, stack ? "stack expects a non-empty TensorList"
                                                          : "torch.cat(): expected a non-empty list of Tensors");
  qg_tensor **ts = qg__malloc(n * sizeof *ts);
  if (!ts) return qg_oom("aten::cat tensors");
  for (size_t k = 0; k < n; k++) ts[k] = items[k].u.tensor;
  qg_status st = stack ? qg_cpu_stack(ts, (int)n, dim, &y) : qg_cpu_cat(ts, (int)n, dim, &y);
  qg__free(ts);
  QG_TRY(st);
  qg_out_tensor(c, 0, y);
  return QG_OK;
}
static qg_status cat(qg_op_call *c) { return join(c, 0); }
static qg_status stack(qg_op_call *c) { return join(c, 1); }

/* ---- size queries ----------------------------------------------------------------------- */

static qg_status size(qg_op_call *c) {
  qg_tensor *x;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  if (c->nargs > 1) { /* size.int(self, int dim) */
    int64_t dim, nd = x->ndim > 0 ? x->ndim : 1;
    QG_TRY(qg_arg_int(c, 1, &dim));
    if (dim < -nd || dim >= nd || x->ndim == 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          x->ndim == 0 ? "Dimension specified as %lld but tensor has no dimensions"
                                       : "Dimension out of range (expected to be in range of [%lld, %lld], but got "
                                         "%lld)",
                          x->ndim == 0 ? (long long)dim : (long long)-nd, (long long)(nd - 1), (long long)dim);
    qg_out_ival(c, 0, qg_ival_int(x->shape[dim < 0 ? dim + nd : dim]));
    return QG_OK;
  }
  qg_ival list;
  QG_TRY(qg_ival_list_new(QG_IVAL_LIST, (size_t)x->ndim, &list));
  for (int d = 0; d < x->ndim; d++) {
    qg_status st = qg_ival_list_push(&list, qg_ival_int(x->shape[d]));
    if (st != QG_OK) {
      qg_ival_release(&list);
      return st;
    }
  }
  qg_out_ival(c, 0, list);
  return QG_OK;
}

static qg_status dim_op(qg_op_call *c) {
  qg_tensor *x;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  qg_out_ival(c, 0, qg_ival_int(x->ndim));
  return QG_OK;
}

static qg_status numel(qg_op_call *c) {
  qg_tensor *x;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  qg_out_ival(c, 0, qg_ival_int(qg_tensor_numel(x)));
  return QG_OK;
}

/* len.Tensor(Tensor t): the first size ("len() of a 0-d tensor" for 0-dim). */
static qg_status len(qg_op_call *c) {
  qg_tensor *x;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  if (x->ndim == 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "len() of a 0-d tensor");
  qg_out_ival(c, 0, qg_ival_int(x->shape[0]));
  return QG_OK;
}

static qg_status is_floating_point(qg_op_call *c) {
  qg_tensor *x;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  qg_dtype d = x->dtype;
  qg_out_ival(c, 0, qg_ival_bool(d == QG_DTYPE_F16 || d == QG_DTYPE_BF16 || d == QG_DTYPE_F32 || d == QG_DTYPE_F64));
  return QG_OK;
}

/* ---- dropout (evaluation only) ---------------------------------------------------------- */

/* dropout / feature_dropout / alpha_dropout (input, float p, bool train) and dropout_: with
 * train = False the input itself is returned, as PyTorch does; training mode is random and
 * refused. */
static qg_status dropout_common(qg_op_call *c, int inplace) {
  qg_tensor *x, *y;
  double p;
  int train;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_double(c, 1, &p));
  QG_TRY(qg_arg_bool(c, 2, &train));
  if (train)
    return qg_set_error(QG_STATUS_UNSUPPORTED,
                        "%s: training-mode dropout (train=True) is not supported; put the model in eval mode",
                        qg__aten_op_name(c));
  QG_TRY(qg_cpu_dropout(x, p, 0, &y));
  if (inplace) {
    qg_tensor_release(y);
    qg__aten_out_alias(c, 0, x);
  } else {
    qg_out_tensor(c, 0, y);
  }
  return QG_OK;
}
static qg_status dropout(qg_op_call *c) { return dropout_common(c, 0); }
static qg_status dropout_(qg_op_call *c) { return dropout_common(c, 1); }

/* ---- repeat and pad ------------------------------------------------------------------------ */

static qg_status repeat(qg_op_call *c) {
  qg_tensor *x, *y;
  int64_t reps[MAXL];
  size_t n;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int_list(c, 1, reps, MAXL, &n));
  QG_TRY(qg_cpu_repeat(x, reps, (int)n, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

/* pad(self, int[] pad, str mode="constant", float? value=None): constant mode only. */
static qg_status pad(qg_op_call *c) {
  qg_tensor *x, *y;
  int64_t p[2 * MAXL];
  size_t n;
  const char *mode;
  double value = 0;
  int has;
  QG_TRY(qg_arg_tensor(c, 0, &x));
  QG_TRY(qg_arg_int_list(c, 1, p, 2 * MAXL, &n));
  QG_TRY(qg_arg_str(c, 2, &mode));
  QG_TRY(qg_arg_opt_double(c, 3, &value, &has));
  if (strcmp(mode, "constant") != 0)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "aten::pad: mode '%s' is not supported (only 'constant')", mode);
  QG_TRY(qg_cpu_pad_constant(x, p, (int)n, has ? value : 0.0, &y));
  qg_out_tensor(c, 0, y);
  return QG_OK;
}

static const qg_op_impl_entry table[] = {
    {"aten::flatten", "using_ints", flatten},
    {"aten::view", "", view},
    {"aten::reshape", "", reshape},
    {"aten::permute", "", permute},
    {"aten::expand", "", expand},
    {"aten::view_as", "", view_as},
    {"aten::expand_as", "", expand_as},
    {"aten::transpose", "int", transpose},
    {"aten::contiguous", "", contiguous},
    {"aten::squeeze", "", squeeze},
    {"aten::squeeze", "dim", squeeze},
    {"aten::squeeze_", "", squeeze_},
    {"aten::squeeze_", "dim", squeeze_},
    {"aten::unsqueeze", "", unsqueeze},
    {"aten::unsqueeze_", "", unsqueeze_},
    {"aten::chunk", "", chunk},
    {"aten::split", "Tensor", split},
    {"aten::split", "sizes", split},
    {"aten::split", "", split},
    {"aten::unbind", "int", unbind},
    {"aten::select", "int", select_op},
    {"aten::slice", "Tensor", slice},
    {"aten::cat", "", cat},
    {"aten::stack", "", stack},
    {"aten::size", "", size},
    {"aten::size", "int", size},
    {"aten::dim", "", dim_op},
    {"aten::numel", "", numel},
    {"aten::len", "Tensor", len},
    {"aten::is_floating_point", "", is_floating_point},
    {"aten::dropout", "", dropout},
    {"aten::dropout_", "", dropout_},
    {"aten::feature_dropout", "", dropout},
    {"aten::alpha_dropout", "", dropout},
    {"aten::repeat", "", repeat},
    {"aten::pad", "", pad},
};

const qg_op_impl_entry *qg__ops_aten_shape_table(size_t *n) {
  *n = sizeof table / sizeof table[0];
  return table;
}
