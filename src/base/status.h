/* Status codes and error messages.
 *
 * Every fallible function returns a qg_status. The detailed message (what failed, where, why)
 * is kept in a thread-local buffer read with qg_last_error(); it stays valid until the next
 * qg_set_error() on the same thread. Library code never prints. */
#ifndef QG_BASE_STATUS_H
#define QG_BASE_STATUS_H

#include <stdarg.h>

#if defined(__GNUC__)
#define QG_MUST_USE __attribute__((warn_unused_result))
#define QG_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define QG_NORETURN __attribute__((noreturn))
#else
#define QG_MUST_USE
#define QG_PRINTF(fmt, args)
#define QG_NORETURN
#endif

/* X(NAME, value, short message). Values are append-only. */
#define QG_STATUS_LIST(X)                                                    \
  X(OK, 0, "success")                                                        \
  X(OOM, -1, "out of memory")                                                \
  X(INVALID_ARGUMENT, -2, "invalid argument")                                \
  X(PARSE, -3, "parse error")                                                \
  X(IO, -4, "I/O error")                                                     \
  X(FORMAT, -5, "malformed file")                                            \
  X(UNKNOWN_OP, -6, "unknown operator")                                      \
  X(TYPE, -7, "type error")                                                  \
  X(NOT_FOUND, -8, "not found")                                              \
  X(LINT, -9, "IR invariant violated")                                       \
  X(UNSUPPORTED, -10, "unsupported")                                         \
  X(CHECK_FAILED, -11, "check failed")                                       \
  X(RUNTIME, -12, "runtime error")                                           \
  X(CUDA, -13, "CUDA error")                                                 \
  X(NO_DEVICE, -14, "no device available")

typedef enum qg_status {
#define QG__STATUS_ENUM(name, value, msg) QG_STATUS_##name = value,
  QG_STATUS_LIST(QG__STATUS_ENUM)
#undef QG__STATUS_ENUM
} qg_status;

#define QG_OK QG_STATUS_OK

/* "QG_STATUS_OOM" style name; "QG_STATUS_?" for unknown values. */
const char *qg_status_name(qg_status s);
/* Short fixed message, e.g. "out of memory". */
const char *qg_status_str(qg_status s);

/* Records a detailed message for the calling thread and returns `s`, so callers can write
 * `return qg_set_error(QG_STATUS_PARSE, "%s:%d:%d: expected ')'", file, line, col);`.
 * Never allocates (fixed buffer, truncated at QG_ERROR_MAX). */
#define QG_ERROR_MAX 1024
qg_status qg_set_error(qg_status s, const char *fmt, ...) QG_PRINTF(2, 3);
qg_status qg_set_errorv(qg_status s, const char *fmt, va_list ap);
/* Prepends "prefix: " to the current message (adding context while unwinding); returns s. */
qg_status qg_error_prefix(qg_status s, const char *fmt, ...) QG_PRINTF(2, 3);
/* Message of the last qg_set_error on this thread ("" if none). */
const char *qg_last_error(void);
qg_status qg_last_status(void);
void qg_clear_error(void);

/* Out-of-memory shortcut: records "out of memory" (with what was being allocated). */
qg_status qg_oom(const char *what);

/* Internal invariant violation: prints and aborts. Never used for bad input. */
QG_NORETURN void qg__abort(const char *file, int line, const char *fmt, ...) QG_PRINTF(3, 4);
#define QG_ASSERT(cond)                                                              \
  do {                                                                               \
    if (!(cond)) qg__abort(__FILE__, __LINE__, "assertion failed: %s", #cond);      \
  } while (0)

/* Propagate a failing status. */
#define QG_TRY(expr)                                                                 \
  do {                                                                               \
    qg_status qg__s = (expr);                                                        \
    if (qg__s != QG_OK) return qg__s;                                                \
  } while (0)

#endif
