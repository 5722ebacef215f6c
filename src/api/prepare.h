/* prepare_jit / prepare_dynamic_jit / fuse_conv_bn_jit and calibration (reference §1.1). */
#ifndef QG_API_PREPARE_H
#define QG_API_PREPARE_H

#include <stddef.h>

#include "base/status.h"
#include "module/module.h"
#include "passes/pass.h"
#include "quant/qconfig.h"
#include "tensor/tensor_ops.h"

/* fuse_conv_bn_jit: folds Conv2d/3d + BatchNorm2d/3d module pairs. inplace: m itself is
 * changed and *out = m; else m is untouched and *out is a new module. */
qg_status qg_fuse_conv_bn(qg_module *m, int inplace, qg_module **out) QG_MUST_USE;

/* prepare_jit (dynamic = 0) / prepare_dynamic_jit (dynamic = 1): conv-bn folding, then
 * InsertObservers on `forward` with the qconfig dict. inplace as qg_fuse_conv_bn. On failure an
 * in-place m may be partly changed (PyTorch's in-place prepare has the same property); with
 * inplace = 0 nothing is changed. report (optional) receives counts and the first warning. */
qg_status qg_prepare(qg_module *m, const qg_qconfig_dict *dict, int dynamic, int inplace, qg_module **out,
                     qg_pass_report *report) QG_MUST_USE;

/* Calibration: runs forward on every batch of `data`, whose tensors are named
 * "<batch>.<arg>" ("0.0", "0.1", "1.0", ...): batch b's arguments are "<b>.0" ... in order.
 * Batches run in increasing number; a gap in arguments or a name of another form is an error
 * naming it. progress (optional) is called after each batch. The model runs on copies of the
 * tensors: data is never modified, even by in-place ops. */
typedef struct qg_calibration_stats {
  size_t batches;
  size_t observers;        /* observer objects in the module */
  size_t observers_updated; /* observers whose state changed during calibration */
  double seconds;
} qg_calibration_stats;

typedef void (*qg_progress_fn)(size_t done, size_t total, void *ud);

qg_status qg_calibrate(qg_module *m, const qg_named_tensors *data, int num_threads, qg_progress_fn progress,
                       void *progress_ud, qg_calibration_stats *stats) QG_MUST_USE;

#endif
