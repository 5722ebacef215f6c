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

/* Additions (engineer "filecheck"); the functions above behave as documented there.
 *
 * Messages. A failing run returns QG_STATUS_CHECK_FAILED and keeps PyTorch's complete message,
 * byte for byte (trailing newline included), in the checker: qg_filecheck_message(). The same
 * text without its trailing newline goes to qg_last_error(); when it exceeds QG_ERROR_MAX the
 * context lines there are cut (marked "[...]") but the first line and the "From CHECK..." line
 * are kept. The returned string is owned by fc and valid until the next run or destroy; it is
 * "" after a successful run. A run with no directives fails with QG_STATUS_INVALID_ARGUMENT.
 *
 * Sticky errors. A builder call with a NULL pattern, or check_count(p, 0, 0) (which PyTorch
 * rejects: "Count == 0 && !exactly doesn't do anything"), is recorded as
 * QG_STATUS_INVALID_ARGUMENT and reported by the next run, as an allocation failure is
 * reported as QG_STATUS_OOM. check_count(p, 0, 1) is check_not(p).
 *
 * Parsing. qg_filecheck_parse_directives returns QG_STATUS_PARSE ("Could not parse check
 * at: ..." as PyTorch says), QG_STATUS_OOM, or QG_OK with *out owned by the caller. Where
 * PyTorch would misbehave it is stricter: the N of CHECK-COUNT-N must be decimal digits and be
 * followed by ": ", and CHECK-COUNT-0 without EXACTLY is an error. */
const char *qg_filecheck_message(const qg_filecheck_t *fc);
/* Runs on text[0..len) (text may contain NUL bytes). */
qg_status qg_filecheck_run_n(qg_filecheck_t *fc, const char *text, size_t len) QG_MUST_USE;
/* Number of recorded directives (CHECK-COUNT-EXACTLY-N counts as two, as in PyTorch). */
size_t qg_filecheck_ndirectives(const qg_filecheck_t *fc);

#endif
