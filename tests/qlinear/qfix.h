/* Access to the quantized conv / linear / embedding_bag fixtures recorded by
 * tools/fixtures/gen_qlinear.py (tests/fixtures/qlinear/<engine>.{json,safetensors}) and replay
 * of their cases, through the CPU kernels or through the interpreter (prepack op + op). */
#ifndef QG_TESTS_QLINEAR_QFIX_H
#define QG_TESTS_QLINEAR_QFIX_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/status.h"
#include "base/strbuf.h"
#include "module/safetensors.h"
#include "module/value.h"
#include "tensor/tensor.h"

typedef struct qfix {
  cJSON *doc;
  qg_safetensors *st;
} qfix;

/* engine: "fbgemm", "fbgemm_avx2" or "qnnpack". Fails the test if the files are missing. */
void qfix_open(qfix *f, const char *engine);
void qfix_close(qfix *f);
/* The case named `name`, or NULL. */
const cJSON *qfix_case(const qfix *f, const char *name);
/* The tensor of an input role: quantized roles rebuilt as quantized tensors from their integer
 * storage and recorded qparams, others as stored. New reference; NULL for None or absent. */
qg_tensor *qfix_input(const qfix *f, const cJSON *c, const char *role);
qg_tensor *qfix_expected(const qfix *f, const cJSON *c); /* the recorded output (new reference) */
/* A tensor from its JSON description ({"t": name} or a quantized one); NULL for JSON null. */
qg_tensor *qfix_described(const qfix *f, const cJSON *desc);
double qfix_param_d(const cJSON *c, const char *name);
int64_t qfix_param_i(const cJSON *c, const char *name);
int qfix_param_list(const cJSON *c, const char *name, int64_t *v); /* returns the length */

/* Runs a case: `via_graph` 0 calls the CPU kernels, 1 runs the ops through the interpreter
 * (quantized::*_prepack then the op on the packed params). */
qg_status qfix_run(const qfix *f, const cJSON *c, int via_graph, qg_tensor **out);

/* Parses `text` and runs it with inputs in[0..nin) (ownership moves in; released); outs receive
 * the graph's outputs (owned). *warnings (may be NULL): the runner's warning count. */
qg_status qfix_run_text(const char *text, qg_ival *in, size_t nin, qg_ival *outs, size_t *warnings);

/* Exact comparison (dtype, shape, qparams, every element; floats bitwise). Returns the number of
 * differing elements (-1 for a dtype/shape/qparams mismatch) and describes the first few in msg. */
int64_t qfix_compare(const qg_tensor *got, const qg_tensor *want, qg_strbuf *msg);

/* Replays every case of an engine's file whose name contains `filter` (NULL: all) and not
 * `exclude` (NULL: none); appends a line per failing case to report; returns the number of
 * failures. *ncases receives the count run. */
size_t qfix_replay(const char *engine, const char *filter, const char *exclude, int via_graph, size_t *ncases,
                   qg_strbuf *report);

#endif
