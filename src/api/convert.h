/* convert_jit / convert_dynamic_jit / quantize_jit / quantize_dynamic_jit (reference §1.1). */
#ifndef QG_API_CONVERT_H
#define QG_API_CONVERT_H

#include "api/prepare.h"

/* convert_jit: InsertQuantDeQuant + propagation on `forward`; unless debug, Finalize
 * (prepack/unpack, QuantFusion, freezing, prepack folding); then, in both modes, constant
 * propagation and DCE of forward, as quantize_jit.py's _convert_jit does. inplace as qg_prepare (PyTorch converts in place after
 * its own prepare). report (optional) accumulates counts and the first warning. */
qg_status qg_convert(qg_module *m, int dynamic, int debug, int inplace, qg_module **out,
                     qg_pass_report *report) QG_MUST_USE;

/* quantize_jit: prepare (copy or in place), calibrate on `data` (batches as qg_calibrate
 * reads them), convert. stats (optional) receives the calibration summary. */
qg_status qg_quantize(qg_module *m, const qg_qconfig_dict *dict, const qg_named_tensors *data, int debug, int inplace,
                      int num_threads, qg_module **out, qg_calibration_stats *stats, qg_pass_report *report) QG_MUST_USE;

/* quantize_dynamic_jit: prepare_dynamic + convert_dynamic (weights observed during convert). */
qg_status qg_quantize_dynamic(qg_module *m, const qg_qconfig_dict *dict, int debug, int inplace, qg_module **out,
                              qg_pass_report *report) QG_MUST_USE;

#endif
