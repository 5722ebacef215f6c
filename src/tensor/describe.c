/* A readable dump of a tensor for debugging and test failure messages. */
#include <math.h>

#include "tensor/tensor_impl.h"
#include "tensor/tensor_ops.h"

#define ELIDE_NUMEL 1000 /* larger tensors show the first and last EDGE entries per dim */
#define EDGE 3

static void put_value(const qg_tensor *t, const char *p, qg_strbuf *out) {
  qg__elem e = qg__elem_load(t->dtype, p);
  if (t->dtype == QG_DTYPE_BOOL) {
    qg_strbuf_append(out, e.i ? "True" : "False");
  } else if (e.is_int) {
    qg_strbuf_printf(out, "%lld", (long long)e.i);
  } else if (isnan(e.d)) {
    qg_strbuf_append(out, "nan");
  } else if (isinf(e.d)) {
    qg_strbuf_append(out, e.d < 0 ? "-inf" : "inf");
  } else if (e.d == floor(e.d) && fabs(e.d) < 1e15) {
    qg_strbuf_printf(out, "%.0f.", e.d); /* "1." as PyTorch prints integral floats */
  } else {
    qg_strbuf_printf(out, "%.6g", e.d);
  }
}

static void put_dim(const qg_tensor *t, int d, const char *p, int elide, qg_strbuf *out) {
  if (d == t->ndim) {
    put_value(t, p, out);
    return;
  }
  int64_t n = t->shape[d];
  size_t es = qg_dtype_info(t->dtype)->size;
  qg_strbuf_putc(out, '[');
  for (int64_t i = 0; i < n; i++) {
    if (i > 0) qg_strbuf_append(out, ", ");
    if (elide && n > 2 * EDGE && i == EDGE) {
      qg_strbuf_append(out, "..., ");
      i = n - EDGE;
    }
    put_dim(t, d + 1, p + i * t->strides[d] * (int64_t)es, elide, out);
  }
  qg_strbuf_putc(out, ']');
}

void qg_tensor_describe(const qg_tensor *t, qg_strbuf *out) {
  char buf[256];
  int64_t n = qg_tensor_numel(t);
  qg_strbuf_append(out, "tensor(");
  if (n == 0) {
    for (int i = 0; i < t->ndim; i++) qg_strbuf_putc(out, '[');
    for (int i = 0; i < t->ndim; i++) qg_strbuf_putc(out, ']');
  } else {
    put_dim(t, 0, qg_tensor_data(t), n > ELIDE_NUMEL, out);
  }
  qg_strbuf_printf(out, ", dtype=%s, shape=%s", qg_dtype_info(t->dtype)->name,
                   qg_shape_str(t->ndim, t->shape, buf, sizeof buf));
  if (!qg_tensor_is_contiguous(t))
    qg_strbuf_printf(out, ", strides=%s", qg_shape_str(t->ndim, t->strides, buf, sizeof buf));
  const qg_quantizer *q = t->quantizer;
  if (q && q->scheme == QG_QSCHEME_PER_TENSOR_AFFINE)
    qg_strbuf_printf(out, ", scale=%.9g, zero_point=%lld", q->scale, (long long)q->zero_point);
  else if (q)
    qg_strbuf_printf(out, ", per_channel_axis=%d", q->axis);
  qg_strbuf_putc(out, ')');
}
