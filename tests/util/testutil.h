/* Shared helpers for the Criterion tests. */
#ifndef QG_TESTS_TESTUTIL_H
#define QG_TESTS_TESTUTIL_H

#include <stddef.h>

#include "base/status.h"
#include "module/module.h"

struct cJSON;

/* Asserts st == QG_OK, printing qg_last_error() otherwise. */
#define QG_ASSERT_OK(expr)                                                              \
  do {                                                                                  \
    qg_status qg__t = (expr);                                                           \
    cr_assert(qg__t == QG_OK, "%s failed: %s: %s", #expr, qg_status_name(qg__t),        \
              qg_last_error());                                                         \
  } while (0)

/* Reads a whole file (NUL-terminated) into memory owned by the caller (free()). Fails the
 * test if it cannot be read. *len may be NULL. */
char *qg_test_read_file(const char *path, size_t *len);
/* Path under tests/fixtures (static buffer, valid until the next call on this thread). */
const char *qg_test_fixture(const char *relpath);

/* Runs fn(ud) with an allocation failure injected at the 0th, 1st, 2nd, ... allocation until
 * a run completes without hitting the injected failure. Each failing run must return
 * QG_STATUS_OOM (asserted). fn must release everything it allocated before returning (so
 * LeakSanitizer can check). Returns the number of runs. */
size_t qg_test_every_alloc_failure(qg_status (*fn)(void *ud), void *ud);

/* A recorded op case run with status st: when the case expects an error (`error`, a fragment of
 * PyTorch's message, or NULL) or the run failed, the case is settled here: returns 1 and sets
 * *ok (0 with the reason in why when the status or message disagrees). Returns 0 (*ok left as
 * is) when the run succeeded as expected and its outputs are to be compared next. */
int qg_test_case_settled(const char *name, qg_status st, const struct cJSON *error, char *why, size_t whylen, int *ok);

/* Saves m to a temporary bundle and loads it back (the file is removed); fails the test on an
 * error. The caller frees the result. */
qg_module *qg_test_reload(const qg_module *m);

#endif
