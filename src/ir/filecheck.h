/* FileCheck in C: the assertions PyTorch's tests write as
 *   FileCheck().check("aten::conv2d").check_not("aten::batch_norm").run(str(graph))
 * with the same semantics as torch/csrc/jit/testing/file_check.cpp. */
#ifndef QG_IR_FILECHECK_H
#define QG_IR_FILECHECK_H

#include <stddef.h>

#include "base/status.h"
#include "ir/ir.h"

typedef struct qg_filecheck qg_filecheck_t;

qg_status qg_filecheck_create(qg_filecheck_t **out) QG_MUST_USE;
void qg_filecheck_destroy(qg_filecheck_t *fc);
/* Builders record directives; an allocation failure is sticky and reported by run. Each
 * returns fc so calls can be chained. */
qg_filecheck_t *qg_fc_check(qg_filecheck_t *fc, const char *pattern);
qg_filecheck_t *qg_fc_check_next(qg_filecheck_t *fc, const char *pattern);
qg_filecheck_t *qg_fc_check_same(qg_filecheck_t *fc, const char *pattern);
qg_filecheck_t *qg_fc_check_not(qg_filecheck_t *fc, const char *pattern);
/* count occurrences starting at the previous match; exactly: no more than count either. */
qg_filecheck_t *qg_fc_check_count(qg_filecheck_t *fc, const char *pattern, size_t count, int exactly);
qg_filecheck_t *qg_fc_check_dag(qg_filecheck_t *fc, const char *pattern);
/* Runs all directives on text. QG_OK, or QG_STATUS_CHECK_FAILED with a message like PyTorch's:
 * the failing directive and pattern, the position searched from, and the surrounding text
 * with a ~~~ marker. QG_STATUS_OOM if building failed. */
qg_status qg_filecheck_run(qg_filecheck_t *fc, const char *text) QG_MUST_USE;
/* Prints the graph (no source comments) and runs on that text. */
qg_status qg_filecheck_run_graph(qg_filecheck_t *fc, const qg_graph_t *g) QG_MUST_USE;
/* Builds a checker from "# CHECK: pat", "# CHECK-NEXT:", "# CHECK-SAME:", "# CHECK-NOT:",
 * "# CHECK-COUNT-N:", "# CHECK-COUNT-EXACTLY-N:", "# CHECK-DAG:" lines found in `directives`
 * (as PyTorch's run(checks_file, test_file) does). */
qg_status qg_filecheck_parse_directives(const char *directives, qg_filecheck_t **out) QG_MUST_USE;

#endif
