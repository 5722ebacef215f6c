/* Quantized concatenation (quantized_cat.h). */
#include "ops/cpu/quantized_cat.h"

#include "base/alloc.h"
#include "ops/cpu/quantized_common.h"
#include "ops/cpu/quantized_quantize.h"
#include "ops/cpu/shape.h"

qg_status qg_cpu_qcat(qg_tensor *const *xs, int n, int64_t dim, int has_qparams, double scale, int64_t zero_point,
                      int relu, int stack, qg_tensor **out) {
  if (n <= 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "torch.cat(): expected a non-empty list of Tensors");
  QG_TRY(qg_q_check_per_tensor(stack ? "stack" : "cat", xs[0]));
  for (int i = 1; i < n; i++) {
    if (xs[i]->dtype != xs[0]->dtype) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "All dtypes must be the same.");
    if (!xs[i]->quantizer || xs[i]->quantizer->scheme != xs[0]->quantizer->scheme)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "Quantization schemes must be the same.");
  }
  if (!has_qparams) {
    scale = xs[0]->quantizer->scale;
    zero_point = xs[0]->quantizer->zero_point;
  }
  qg_tensor **fs = qg__calloc((size_t)n, sizeof *fs);
  if (!fs) return qg_oom("quantized cat inputs");
  qg_status st = QG_OK;
  for (int i = 0; i < n && st == QG_OK; i++) st = qg_cpu_dequantize(xs[i], &fs[i]);
  qg_tensor *y = NULL, *r = NULL;
  if (st == QG_OK) st = stack ? qg_cpu_stack(fs, n, dim, &y) : qg_cpu_cat(fs, n, dim, &y);
  if (st == QG_OK) st = qg_cpu_quantize_per_tensor(y, scale, zero_point, xs[0]->dtype, &r);
  if (st == QG_OK && relu) {
    void *p = qg_tensor_data(r);
    for (int64_t k = 0, m = qg_tensor_numel(r); k < m; k++)
      if (qg_q_load(r->dtype, p, k) < zero_point) qg_q_store(r->dtype, p, k, zero_point);
  }
  if (st == QG_OK) *out = r;
  qg_tensor_release(y);
  for (int i = 0; i < n; i++) qg_tensor_release(fs[i]);
  qg__free(fs);
  return st;
}
