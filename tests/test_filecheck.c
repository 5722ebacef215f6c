/* FileCheck (src/ir/filecheck.c): every directive positive and negative, the subtle cases of
 * PyTorch's semantics, parsed directives, messages, sticky builder errors, allocation
 * failures, and a replay of the messages PyTorch itself produced
 * (tests/fixtures/filecheck/messages.json, from tools/fixtures/filecheck_messages.py). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/status.h"
#include "base/strbuf.h"
#include "ir/filecheck.h"
#include "ir/text.h"
#include "util/testutil.h"

/* A small graph as PyTorch prints it (line 6 is blank on purpose). */
static const char GRAPH[] =
    "graph(%x.1 : Tensor,\n"
    "      %w : Tensor):\n"
    "  %2 : int = prim::Constant[value=1]()\n"
    "  %3 : Tensor = aten::conv2d(%x.1, %w)\n"
    "  %4 : Tensor = aten::relu(%3)\n"
    "\n"
    "  %5 : Tensor = aten::add(%4, %3, %2)\n"
    "  %6 : Tensor = aten::add(%5, %5, %2)\n"
    "  %7 : Tensor = aten::dequantize(%6)\n"
    "  return (%7)\n";

static qg_filecheck_t *fc_new(void) {
  qg_filecheck_t *fc = NULL;
  QG_ASSERT_OK(qg_filecheck_create(&fc));
  cr_assert_not_null(fc);
  return fc;
}

/* Runs fc on text, destroys it and returns the status; the message is copied to msg. */
static char last_msg[8192];
static qg_status run_and_destroy(qg_filecheck_t *fc, const char *text) {
  qg_status st = qg_filecheck_run(fc, text);
  snprintf(last_msg, sizeof last_msg, "%s", qg_filecheck_message(fc));
  qg_filecheck_destroy(fc);
  return st;
}

#define EXPECT_PASS(fc, text)                                                              \
  do {                                                                                     \
    qg_status st_ = run_and_destroy((fc), (text));                                         \
    cr_assert_eq(st_, QG_OK, "expected a pass, got %s:\n%s", qg_status_name(st_), last_msg); \
  } while (0)

#define EXPECT_FAIL(fc, text)                                                                \
  do {                                                                                       \
    qg_status st_ = run_and_destroy((fc), (text));                                           \
    cr_assert_eq(st_, QG_STATUS_CHECK_FAILED, "expected a failure, got %s", qg_status_name(st_)); \
  } while (0)

#define EXPECT_MSG_HAS(needle) \
  cr_assert(strstr(last_msg, (needle)) != NULL, "message lacks \"%s\":\n%s", (needle), last_msg)

/* ---- check ------------------------------------------------------------------------------ */

Test(filecheck, check_finds_in_order) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(qg_fc_check(qg_fc_check(fc, "aten::conv2d"), "aten::relu"), "aten::dequantize");
  EXPECT_PASS(fc, GRAPH);
}

Test(filecheck, check_missing_reports_pattern_and_marker) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(fc, "aten::linear");
  EXPECT_FAIL(fc, GRAPH);
  cr_assert_str_eq(last_msg,
                   "Expected to find \"aten::linear\" but did not find it\n"
                   "Searched string:\n"
                   "graph(%x.1 : Tensor,\n"
                   "~~~~~~~~~~~~ <--- HERE\n"
                   "      %w : Tensor):\n"
                   "  %2 : int = prim::Constant[value=1]()\n"
                   "From CHECK: aten::linear\n");
  /* qg_last_error() has the same text without the final newline. */
  cr_assert_eq(qg_last_status(), QG_STATUS_CHECK_FAILED);
  cr_assert(strstr(qg_last_error(), "Expected to find \"aten::linear\"") == qg_last_error());
  size_t n = strlen(qg_last_error());
  cr_assert(n > 0 && qg_last_error()[n - 1] != '\n');
  cr_assert(strstr(qg_last_error(), "From CHECK: aten::linear") != NULL);
}

Test(filecheck, check_starts_after_previous_match) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(qg_fc_check(fc, "aten::relu"), "aten::conv2d"); /* conv2d comes before relu */
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("Expected to find \"aten::conv2d\" but did not find it");
  EXPECT_MSG_HAS("From CHECK: aten::conv2d\n");
  /* Two adds exist, not three. */
  fc = fc_new();
  qg_fc_check(qg_fc_check(fc, "aten::add"), "aten::add");
  EXPECT_PASS(fc, GRAPH);
  fc = fc_new();
  qg_fc_check(qg_fc_check(qg_fc_check(fc, "aten::add"), "aten::add"), "aten::add");
  EXPECT_FAIL(fc, GRAPH);
}

/* ---- check_next ------------------------------------------------------------------------- */

Test(filecheck, check_next) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_next(qg_fc_check(fc, "aten::conv2d"), "aten::relu");
  EXPECT_PASS(fc, GRAPH);
  /* The first directive may be check_next: it matches on line 2. */
  fc = fc_new();
  qg_fc_check_next(fc, "%w : Tensor");
  EXPECT_PASS(fc, GRAPH);
}

Test(filecheck, check_next_fails_across_blank_line) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_next(qg_fc_check(fc, "aten::relu"), "aten::add");
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("Expected to not find \"\\n\" but found it\n");
  EXPECT_MSG_HAS("From CHECK-NEXT: aten::add\n");
}

Test(filecheck, check_next_fails_two_lines_down_and_on_last_line) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_next(qg_fc_check(fc, "prim::Constant"), "aten::relu");
  EXPECT_FAIL(fc, GRAPH);
  fc = fc_new();
  qg_fc_check_next(qg_fc_check(fc, "b"), "c");
  EXPECT_FAIL(fc, "a b c"); /* no next line at all */
  EXPECT_MSG_HAS("Expected to find \"\\n\" but did not find it");
}

/* ---- check_same ------------------------------------------------------------------------- */

Test(filecheck, check_same) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_same(qg_fc_check(fc, "aten::add"), "%2)");
  EXPECT_PASS(fc, GRAPH);
  fc = fc_new();
  qg_fc_check_same(qg_fc_check(fc, "aten::relu"), "aten::add");
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("From CHECK-SAME: aten::add\n");
}

Test(filecheck, check_same_after_multiline_match) {
  /* The same line is the one where the previous match ended, not where it began. */
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_same(qg_fc_check(fc, "aten::relu(%3)\n\n  %5"), "aten::add");
  EXPECT_PASS(fc, GRAPH);
  fc = fc_new();
  qg_fc_check_same(qg_fc_check(fc, "aten::relu(%3)\n\n  %5"), "%6");
  EXPECT_FAIL(fc, GRAPH);
}

/* ---- check_not -------------------------------------------------------------------------- */

Test(filecheck, check_not_alone) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_not(fc, "aten::linear");
  EXPECT_PASS(fc, GRAPH);
  fc = fc_new();
  qg_fc_check_not(fc, "aten::relu");
  EXPECT_FAIL(fc, GRAPH);
  cr_assert_str_eq(last_msg,
                   "Expected to not find \"aten::relu\" but found it\n"
                   "  %2 : int = prim::Constant[value=1]()\n"
                   "  %3 : Tensor = aten::conv2d(%x.1, %w)\n"
                   "  %4 : Tensor = aten::relu(%3)\n"
                   "                ~~~~~~~~~~ <--- HERE\n"
                   "\n"
                   "  %5 : Tensor = aten::add(%4, %3, %2)\n"
                   "From CHECK-NOT: aten::relu\n");
}

Test(filecheck, check_not_between_two_checks) {
  /* relu lies between conv2d and add: forbidden there. */
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(qg_fc_check_not(qg_fc_check(fc, "aten::conv2d"), "aten::relu"), "aten::add");
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("From CHECK-NOT: aten::relu\n");
  /* dequantize occurs only after add: not in the gap, so it passes. */
  fc = fc_new();
  qg_fc_check(qg_fc_check_not(qg_fc_check(fc, "aten::conv2d"), "aten::dequantize"), "aten::add");
  EXPECT_PASS(fc, GRAPH);
}

Test(filecheck, check_not_at_end) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_not(qg_fc_check(fc, "aten::dequantize"), "aten::add");
  EXPECT_PASS(fc, GRAPH);
  fc = fc_new();
  qg_fc_check_not(qg_fc_check(fc, "aten::relu"), "aten::add");
  EXPECT_FAIL(fc, GRAPH);
  /* The marker sits under the first add after relu. */
  EXPECT_MSG_HAS("  %5 : Tensor = aten::add(%4, %3, %2)\n                ~~~~~~~~~ <--- HERE\n");
}

Test(filecheck, check_not_group_and_next_failure_first) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(qg_fc_check_not(qg_fc_check_not(qg_fc_check(fc, "conv2d"), "aten::linear"), "aten::relu"),
              "return");
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("From CHECK-NOT: aten::relu\n");
  /* When the check after a NOT fails, that failure is reported, not the NOT's. */
  fc = fc_new();
  qg_fc_check(qg_fc_check_not(fc, "aten::relu"), "aten::linear");
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("From CHECK: aten::linear\n");
}

/* ---- check_count ------------------------------------------------------------------------ */

Test(filecheck, check_count_not_exactly) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_count(fc, "aten::add", 2, 0);
  EXPECT_PASS(fc, GRAPH);
  fc = fc_new();
  qg_fc_check_count(fc, "aten::add", 1, 0); /* at least one: more is fine */
  EXPECT_PASS(fc, GRAPH);
  fc = fc_new();
  qg_fc_check_count(fc, "aten::add", 3, 0);
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("From CHECK-COUNT-3: aten::add\n");
}

Test(filecheck, check_count_exactly) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_count(fc, "aten::add", 2, 1);
  EXPECT_PASS(fc, GRAPH);
  fc = fc_new();
  qg_fc_check_count(fc, "aten::add", 1, 1);
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("Expected to not find \"aten::add\" but found it\n");
  EXPECT_MSG_HAS("From CHECK-NOT: aten::add\n");
  fc = fc_new();
  qg_fc_check_count(fc, "aten::add", 3, 1);
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("From CHECK-COUNT-3: aten::add\n");
}

Test(filecheck, check_count_exactly_only_up_to_next_match) {
  /* exactly = no further occurrence before the next positive match. */
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(qg_fc_check_count(fc, "aten::add", 2, 1), "aten::dequantize");
  EXPECT_PASS(fc, GRAPH);
  fc = fc_new();
  qg_fc_check(qg_fc_check_count(qg_fc_check(fc, "aten::conv2d"), "aten::add", 1, 1), "aten::dequantize");
  EXPECT_FAIL(fc, GRAPH);
}

Test(filecheck, check_count_zero) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_count(fc, "aten::quantize_per_channel", 0, 1);
  cr_assert_eq(qg_filecheck_ndirectives(fc), 1);
  EXPECT_PASS(fc, GRAPH);
  fc = fc_new();
  qg_fc_check_count(fc, "aten::relu", 0, 1);
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("From CHECK-NOT: aten::relu\n");
  /* Count 0 without exactly does nothing: PyTorch asserts, we report it. */
  fc = fc_new();
  qg_fc_check_count(fc, "aten::relu", 0, 0);
  cr_assert_eq(run_and_destroy(fc, GRAPH), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "Count == 0 && !exactly") != NULL, "%s", qg_last_error());
}

Test(filecheck, check_count_range_starts_at_first_occurrence) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_same(qg_fc_check_count(fc, "aten::add", 2, 0), "%2)");
  EXPECT_PASS(fc, GRAPH);
}

/* ---- check_dag -------------------------------------------------------------------------- */

Test(filecheck, check_dag_any_order) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(qg_fc_check_dag(qg_fc_check_dag(fc, "aten::relu"), "aten::conv2d"), "aten::add");
  EXPECT_PASS(fc, GRAPH);
}

Test(filecheck, check_dag_continues_after_furthest) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(qg_fc_check_dag(qg_fc_check_dag(fc, "aten::dequantize"), "aten::conv2d"), "aten::relu");
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("From CHECK: aten::relu\n");
}

Test(filecheck, check_dag_missing) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_dag(qg_fc_check_dag(fc, "aten::conv2d"), "aten::linear");
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("From CHECK-DAG: aten::linear\n");
}

Test(filecheck, check_not_after_dag_group) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(qg_fc_check_not(qg_fc_check_dag(qg_fc_check_dag(fc, "aten::relu"), "aten::conv2d"), "aten::add"),
              "return");
  EXPECT_FAIL(fc, GRAPH);
  fc = fc_new();
  qg_fc_check(qg_fc_check_not(qg_fc_check_dag(qg_fc_check_dag(fc, "aten::relu"), "aten::conv2d"), "aten::linear"),
              "return");
  EXPECT_PASS(fc, GRAPH);
}

/* ---- misc semantics and messages -------------------------------------------------------- */

Test(filecheck, empty_pattern_matches_at_start) {
  /* PyTorch finds "" at offset 0, so later checks search from the top again. */
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(qg_fc_check(qg_fc_check(fc, "return"), ""), "aten::relu");
  EXPECT_PASS(fc, GRAPH);
}

Test(filecheck, empty_text_and_no_final_newline) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(fc, "x");
  EXPECT_FAIL(fc, "");
  cr_assert_str_eq(last_msg, "Expected to find \"x\" but did not find it\nSearched string:\nFrom CHECK: x\n");
  fc = fc_new();
  qg_fc_check_not(fc, "x");
  EXPECT_PASS(fc, "");
  fc = fc_new();
  qg_fc_check_not(qg_fc_check(fc, "c"), "d");
  EXPECT_FAIL(fc, "a\nb\nc d");
  cr_assert_str_eq(last_msg, "Expected to not find \"d\" but found it\na\nb\nc d\n  ~ <--- HERE\nFrom CHECK-NOT: d\n");
}

Test(filecheck, quoted_patterns) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(fc, "a\"b\\c\t'\x01\xc3\xa9");
  EXPECT_FAIL(fc, "zzz\n");
  EXPECT_MSG_HAS("Expected to find \"a\\\"b\\\\c\\t\\'\\001\\303\\251\" but did not find it\n");
}

Test(filecheck, run_n_with_embedded_nul) {
  static const char text[] = "a\0b aten::relu";
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(fc, "aten::relu");
  QG_ASSERT_OK(qg_filecheck_run_n(fc, text, sizeof text - 1));
  cr_assert_eq(qg_filecheck_run(fc, text), QG_STATUS_CHECK_FAILED); /* stops at the NUL */
  /* A checker can be rerun; a pass clears the message. */
  QG_ASSERT_OK(qg_filecheck_run(fc, "aten::relu"));
  cr_assert_str_eq(qg_filecheck_message(fc), "");
  qg_filecheck_destroy(fc);
}

Test(filecheck, long_message_is_shortened_in_last_error) {
  /* A 3000-character line around the match. */
  size_t n = 3000;
  char *text = malloc(n + 32);
  cr_assert_not_null(text);
  memset(text, 'x', n);
  strcpy(text + n / 2, "aten::relu");
  text[n / 2 + 10] = 'y';
  text[n] = '\0';
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_not(fc, "aten::relu");
  cr_assert_eq(qg_filecheck_run(fc, text), QG_STATUS_CHECK_FAILED);
  const char *full = qg_filecheck_message(fc);
  cr_assert(strlen(full) > n + n / 2, "full message kept: %zu", strlen(full));
  const char *e = qg_last_error();
  cr_assert(strlen(e) < QG_ERROR_MAX);
  cr_assert(strncmp(e, "Expected to not find \"aten::relu\" but found it\n", 47) == 0, "%s", e);
  cr_assert(strstr(e, "[...]\n") != NULL, "%s", e);
  cr_assert(strstr(e, "From CHECK-NOT: aten::relu") != NULL, "%s", e);
  qg_filecheck_destroy(fc);
  free(text);
}

/* ---- builders: chaining and sticky errors ----------------------------------------------- */

Test(filecheck, builders_chain_and_tolerate_null) {
  qg_filecheck_t *fc = fc_new();
  cr_assert_eq(qg_fc_check(fc, "a"), fc);
  cr_assert_eq(qg_fc_check_next(fc, "b"), fc);
  cr_assert_eq(qg_fc_check_same(fc, "c"), fc);
  cr_assert_eq(qg_fc_check_not(fc, "d"), fc);
  cr_assert_eq(qg_fc_check_count(fc, "e", 2, 1), fc);
  cr_assert_eq(qg_fc_check_dag(fc, "f"), fc);
  cr_assert_eq(qg_filecheck_ndirectives(fc), 7);
  qg_filecheck_destroy(fc);
  /* A NULL checker (a failed create) flows through the chain and run reports it. */
  cr_assert_null(qg_fc_check_not(qg_fc_check(NULL, "a"), "b"));
  cr_assert_null(qg_fc_check_count(NULL, "a", 1, 1));
  cr_assert_eq(qg_filecheck_run(NULL, "x"), QG_STATUS_INVALID_ARGUMENT);
  qg_filecheck_destroy(NULL);
  cr_assert_eq(qg_filecheck_create(NULL), QG_STATUS_INVALID_ARGUMENT);
}

Test(filecheck, sticky_null_pattern_and_no_checks) {
  qg_filecheck_t *fc = fc_new();
  qg_fc_check(qg_fc_check(fc, NULL), "graph");
  cr_assert_eq(qg_filecheck_ndirectives(fc), 0);
  cr_assert_eq(qg_filecheck_run(fc, GRAPH), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "NULL pattern") != NULL);
  qg_filecheck_destroy(fc);
  fc = fc_new();
  cr_assert_eq(qg_filecheck_run(fc, GRAPH), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "No checks have been added") != NULL);
  cr_assert_eq(qg_filecheck_run(qg_fc_check(fc, "x"), NULL), QG_STATUS_INVALID_ARGUMENT);
  qg_filecheck_destroy(fc);
}

/* ---- directives parsed from text -------------------------------------------------------- */

static qg_filecheck_t *parse_ok(const char *directives) {
  qg_filecheck_t *fc = NULL;
  QG_ASSERT_OK(qg_filecheck_parse_directives(directives, &fc));
  cr_assert_not_null(fc);
  return fc;
}

Test(filecheck, directives_every_kind) {
  qg_filecheck_t *fc = parse_ok(
      "# CHECK: aten::conv2d\n"
      "# CHECK-NEXT: aten::relu\n"
      "# CHECK-NOT: aten::linear\n"
      "# CHECK: aten::add\n"
      "# CHECK-SAME: %2)\n"
      "# CHECK-COUNT-1: aten::add\n"
      "# CHECK-DAG: return\n"
      "# CHECK-DAG: dequantize\n");
  cr_assert_eq(qg_filecheck_ndirectives(fc), 8);
  EXPECT_PASS(fc, GRAPH);
  fc = parse_ok("# CHECK-COUNT-EXACTLY-2: aten::add\n");
  cr_assert_eq(qg_filecheck_ndirectives(fc), 2); /* the count and a CHECK-NOT */
  EXPECT_PASS(fc, GRAPH);
  fc = parse_ok("# CHECK-COUNT-EXACTLY-1: aten::add\n");
  EXPECT_FAIL(fc, GRAPH);
  EXPECT_MSG_HAS("From CHECK-NOT: aten::add\n");
  fc = parse_ok("# CHECK-COUNT-EXACTLY-0: aten::linear\n");
  cr_assert_eq(qg_filecheck_ndirectives(fc), 1);
  EXPECT_PASS(fc, GRAPH);
}

Test(filecheck, directives_layout) {
  /* Up to 6 blanks after '#', directives after code, last line without newline; a '#' that
   * starts no directive is skipped. */
  qg_filecheck_t *fc = parse_ok("x = 1  # CHECK: prim::Constant\n# a comment\n#\t  CHECK-SAME: value=1\n"
                                "  #      CHECK: aten::relu");
  cr_assert_eq(qg_filecheck_ndirectives(fc), 3);
  EXPECT_PASS(fc, GRAPH);
  /* 7 blanks is too many: not a directive. */
  fc = parse_ok("#       CHECK: nothing\n# CHECK: graph");
  cr_assert_eq(qg_filecheck_ndirectives(fc), 1);
  EXPECT_PASS(fc, GRAPH);
  /* No directives at all: run says so. */
  fc = parse_ok("no checks here\n");
  cr_assert_eq(qg_filecheck_ndirectives(fc), 0);
  cr_assert_eq(run_and_destroy(fc, GRAPH), QG_STATUS_INVALID_ARGUMENT);
}

Test(filecheck, directives_errors) {
  qg_filecheck_t *fc = (qg_filecheck_t *)1;
  cr_assert_eq(qg_filecheck_parse_directives("# CHECK-FOO: x\n", &fc), QG_STATUS_PARSE);
  cr_assert_null(fc);
  cr_assert_str_eq(qg_last_error(), "Could not parse check at:\n# CHECK-FOO: x\n       ~ <--- HERE\nCheck for bad input.");
  cr_assert_eq(qg_filecheck_parse_directives("# CHECK:aten::relu\n", &fc), QG_STATUS_PARSE);
  /* Stricter than PyTorch: the count must be digits followed by ": ". */
  cr_assert_eq(qg_filecheck_parse_directives("# CHECK-COUNT-2 aten::add\n", &fc), QG_STATUS_PARSE);
  cr_assert_eq(qg_filecheck_parse_directives("# CHECK-COUNT-x2: aten::add\n", &fc), QG_STATUS_PARSE);
  cr_assert(strstr(qg_last_error(), "non-negative decimal") != NULL, "%s", qg_last_error());
  cr_assert_eq(qg_filecheck_parse_directives("# CHECK-COUNT-0: aten::add\n", &fc), QG_STATUS_PARSE);
  cr_assert_eq(qg_filecheck_parse_directives("# CHECK-COUNT-2:aten::add\n", &fc), QG_STATUS_PARSE);
  cr_assert_eq(qg_filecheck_parse_directives("# CHECK-COUNT-2\n: x", &fc), QG_STATUS_PARSE);
  cr_assert(strstr(qg_last_error(), "Expected to find \":\" but did not find it") != NULL, "%s",
            qg_last_error());
  cr_assert_eq(qg_filecheck_parse_directives(NULL, &fc), QG_STATUS_INVALID_ARGUMENT);
  cr_assert_eq(qg_filecheck_parse_directives("# CHECK: x", NULL), QG_STATUS_INVALID_ARGUMENT);
}

/* ---- allocation failures ---------------------------------------------------------------- */

/* Builds and runs a passing checker; every allocation failure must give QG_STATUS_OOM. */
static qg_status build_and_run_passing(void *ud) {
  (void)ud;
  qg_filecheck_t *fc = NULL;
  QG_TRY(qg_filecheck_create(&fc));
  qg_fc_check_dag(qg_fc_check_dag(fc, "aten::relu"), "aten::conv2d");
  qg_fc_check_not(fc, "aten::linear");
  qg_fc_check_count(fc, "aten::add", 2, 1);
  qg_fc_check_same(qg_fc_check_next(qg_fc_check(fc, "aten::dequantize"), "return"), "%7");
  qg_status st = qg_filecheck_run(fc, GRAPH);
  qg_filecheck_destroy(fc);
  return st;
}

/* Builds and runs a failing checker: the failure message allocates too. QG_OK when the run
 * failed as expected with a complete message. */
static qg_status build_and_run_failing(void *ud) {
  (void)ud;
  qg_filecheck_t *fc = NULL;
  QG_TRY(qg_filecheck_create(&fc));
  qg_fc_check(qg_fc_check_not(qg_fc_check(fc, "aten::conv2d"), "aten::relu"), "aten::add");
  qg_status st = qg_filecheck_run(fc, GRAPH);
  if (st == QG_STATUS_CHECK_FAILED) {
    cr_assert(strstr(qg_filecheck_message(fc), "From CHECK-NOT: aten::relu\n") != NULL);
    st = QG_OK;
  } else if (st == QG_OK) {
    st = QG_STATUS_RUNTIME; /* must not pass */
  }
  qg_filecheck_destroy(fc);
  return st;
}

static qg_status parse_and_run(void *ud) {
  (void)ud;
  qg_filecheck_t *fc = NULL;
  QG_TRY(qg_filecheck_parse_directives("# CHECK: aten::conv2d\n# CHECK-NEXT: aten::relu\n"
                                       "# CHECK-COUNT-EXACTLY-2: aten::add\n# CHECK-DAG: return\n",
                                       &fc));
  qg_status st = qg_filecheck_run(fc, GRAPH);
  qg_filecheck_destroy(fc);
  return st;
}

static qg_status parse_error(void *ud) {
  (void)ud;
  qg_filecheck_t *fc = NULL;
  qg_status st = qg_filecheck_parse_directives("# CHECK: a\n# CHECK-WHAT: b\n", &fc);
  return st == QG_STATUS_PARSE ? QG_OK : st;
}

Test(filecheck, every_allocation_failure) {
  cr_assert_gt(qg_test_every_alloc_failure(build_and_run_passing, NULL), 5);
  cr_assert_gt(qg_test_every_alloc_failure(build_and_run_failing, NULL), 3);
  cr_assert_gt(qg_test_every_alloc_failure(parse_and_run, NULL), 3);
  cr_assert_gt(qg_test_every_alloc_failure(parse_error, NULL), 1);
}

/* ---- a real graph (the printer) --------------------------------------------------------- */

#ifndef QG_FILECHECK_NO_GRAPH_TEST /* defined only for a standalone build without the printer */
Test(filecheck, run_graph_prints_without_source_comments) {
  static const char src[] =
      "graph(%x : Tensor):\n"
      "  %1 : Tensor = aten::relu(%x) # m.py:3:8\n"
      "  %2 : Tensor = aten::relu(%1) # m.py:4:8\n"
      "  return (%2)\n";
  qg_parse_opts popts = {.allow_unknown_ops = 1};
  qg_graph_t *g = NULL;
  QG_ASSERT_OK(qg_graph_parse(src, sizeof src - 1, &popts, &g));
  /* The source comments are there to be dropped: the full print has them. */
  char *full = qg_graph_to_string(g, NULL);
  cr_assert_not_null(full);
  cr_assert(strstr(full, "# m.py:3:8") != NULL, "%s", full);
  qg__free(full);
  qg_filecheck_t *fc = fc_new();
  qg_fc_check_next(qg_fc_check_count(fc, "aten::relu", 2, 1), "return (%2)");
  qg_fc_check_not(fc, "m.py");
  QG_ASSERT_OK(qg_filecheck_run_graph(fc, g));
  qg_fc_check(fc, "aten::conv2d");
  cr_assert_eq(qg_filecheck_run_graph(fc, g), QG_STATUS_CHECK_FAILED);
  cr_assert(strstr(qg_filecheck_message(fc), "Expected to find \"aten::conv2d\"") != NULL);
  cr_assert_eq(qg_filecheck_run_graph(fc, NULL), QG_STATUS_INVALID_ARGUMENT);
  qg_filecheck_destroy(fc);
  qg_graph_destroy(g);
}

static qg_status check_graph(void *ud) {
  qg_filecheck_t *fc = NULL;
  QG_TRY(qg_filecheck_create(&fc));
  qg_fc_check_not(qg_fc_check_count(fc, "aten::relu", 1, 1), "m.py");
  qg_status st = qg_filecheck_run_graph(fc, ud);
  qg_filecheck_destroy(fc);
  return st;
}

Test(filecheck, run_graph_every_allocation_failure) {
  static const char src[] = "graph(%x : Tensor):\n  %1 : Tensor = aten::relu(%x) # m.py:3:8\n  return (%1)\n";
  qg_parse_opts popts = {.allow_unknown_ops = 1};
  qg_graph_t *g = NULL;
  QG_ASSERT_OK(qg_graph_parse(src, sizeof src - 1, &popts, &g));
  cr_assert_gt(qg_test_every_alloc_failure(check_graph, g), 2);
  qg_graph_destroy(g);
}
#endif

/* ---- replay of PyTorch's own verdicts and messages -------------------------------------- */

static qg_filecheck_t *build_case(const cJSON *checks) {
  qg_filecheck_t *fc = fc_new();
  const cJSON *ck;
  cJSON_ArrayForEach(ck, checks) {
    const char *kind = cJSON_GetArrayItem(ck, 0)->valuestring;
    const char *pat = cJSON_GetArrayItem(ck, 1)->valuestring;
    size_t count = (size_t)cJSON_GetArrayItem(ck, 2)->valuedouble;
    int exactly = cJSON_IsTrue(cJSON_GetArrayItem(ck, 3));
    if (!strcmp(kind, "check")) qg_fc_check(fc, pat);
    else if (!strcmp(kind, "check_next")) qg_fc_check_next(fc, pat);
    else if (!strcmp(kind, "check_same")) qg_fc_check_same(fc, pat);
    else if (!strcmp(kind, "check_not")) qg_fc_check_not(fc, pat);
    else if (!strcmp(kind, "check_dag")) qg_fc_check_dag(fc, pat);
    else if (!strcmp(kind, "check_count")) qg_fc_check_count(fc, pat, count, exactly);
    else cr_assert_fail("unknown kind %s", kind);
  }
  return fc;
}

Test(filecheck, pytorch_messages_replayed) {
  char *json = qg_test_read_file(qg_test_fixture("filecheck/messages.json"), NULL);
  cJSON *root = cJSON_Parse(json);
  cr_assert_not_null(root, "messages.json does not parse");
  const cJSON *cases = cJSON_GetObjectItem(root, "cases");
  size_t n = 0, failing = 0;
  const cJSON *c;
  cJSON_ArrayForEach(c, cases) {
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
    const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
    const char *want = cJSON_GetObjectItem(c, "message")->valuestring;
    int ok = cJSON_IsTrue(cJSON_GetObjectItem(c, "ok"));
    const cJSON *dir = cJSON_GetObjectItem(c, "directives");
    qg_filecheck_t *fc = NULL;
    if (dir) {
      qg_status pst = qg_filecheck_parse_directives(dir->valuestring, &fc);
      if (pst != QG_OK) {
        /* Parse errors are only in qg_last_error(), without the final newline. */
        cr_expect(!ok, "%s: parse failed: %s", name, qg_last_error());
        size_t wl = strlen(want);
        if (wl > 0 && want[wl - 1] == '\n') wl--;
        cr_expect(strlen(qg_last_error()) == wl && strncmp(qg_last_error(), want, wl) == 0,
                  "%s: parse message\n--- got:\n%s\n--- want:\n%s", name, qg_last_error(), want);
        n++;
        failing++;
        continue;
      }
    } else {
      fc = build_case(cJSON_GetObjectItem(c, "checks"));
    }
    qg_status st = qg_filecheck_run(fc, text);
    cr_expect_eq(st, ok ? QG_OK : QG_STATUS_CHECK_FAILED, "%s: got %s: %s", name,
                 qg_status_name(st), qg_filecheck_message(fc));
    cr_expect_str_eq(qg_filecheck_message(fc), want, "%s: message\n--- got:\n%s--- want:\n%s", name,
                     qg_filecheck_message(fc), want);
    failing += !ok;
    n++;
    qg_filecheck_destroy(fc);
  }
  cr_assert_gt(n, 300, "only %zu cases", n);
  cr_assert_gt(failing, 100);
  cJSON_Delete(root);
  free(json);
}
