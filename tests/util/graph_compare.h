/* Comparing our graph text with PyTorch's (header-only; used by tests/test_subgraph.c and
 * tests/test_passes_prep.c with the fixtures of tools/fixtures/gen_prep.py).
 *
 * New values print as %N where N comes from a per-graph counter, and PyTorch's counter counts
 * every value a graph ever had, so the two texts number new values differently. The texts are
 * compared after renumbering: every unnamed value (`%` then digits, not followed by a name
 * character) becomes `%#k`, k counting first appearances. Everything else (named values, types,
 * attributes, order, scopes, source comments) must be equal. */
#ifndef QG_TESTS_GRAPH_COMPARE_H
#define QG_TESTS_GRAPH_COMPARE_H

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/text.h"
#include "util/testutil.h"

static inline int qg_test_name_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.'; }

/* The renumbered copy of text (free()). Graph text (and with it the number of distinct unnamed
 * values) is small in the tests. */
static inline char *qg_test_renumber(const char *text) {
  size_t n = strlen(text), cap = n * 2 + 16, len = 0, nseen = 0;
  char *out = malloc(cap);
  char (*seen)[24] = calloc(n / 2 + 1, sizeof *seen);
  cr_assert(out && seen);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (text[i] == '%' && j < n && isdigit((unsigned char)text[j])) j++;
    if (text[i] == '%' && j > i + 1 && j - i - 1 < 24 && !qg_test_name_char(text[j])) {
      char num[24];
      memcpy(num, text + i + 1, j - i - 1);
      num[j - i - 1] = '\0';
      size_t k = 0;
      while (k < nseen && strcmp(seen[k], num) != 0) k++;
      if (k == nseen) memcpy(seen[nseen++], num, sizeof num);
      len += (size_t)snprintf(out + len, cap - len, "%%#%zu", k);
      i = j;
      continue;
    }
    out[len++] = text[i++];
    cr_assert(len + 32 < cap);
  }
  out[len] = '\0';
  free(seen);
  return out;
}

/* Asserts that g prints as `expected` up to value numbering. */
static inline void qg_test_assert_graph_text(const qg_graph_t *g, const char *expected, const char *what) {
  char *got = qg_graph_to_string(g, NULL);
  cr_assert(got != NULL);
  char *a = qg_test_renumber(got), *b = qg_test_renumber(expected);
  cr_expect(strcmp(a, b) == 0, "%s: graph differs from PyTorch's\n--- got:\n%s\n--- PyTorch:\n%s", what, got, expected);
  free(a);
  free(b);
  qg__free(got);
}

static inline cJSON *qg_test_load_json(const char *rel) {
  char *text = qg_test_read_file(qg_test_fixture(rel), NULL);
  cJSON *doc = cJSON_Parse(text);
  free(text);
  cr_assert(doc != NULL, "%s does not parse", rel);
  return doc;
}

static inline const char *qg_test_json_str(const cJSON *o, const char *key) {
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(e) ? e->valuestring : NULL;
}

/* The case named `name` of fixture file prep/<group>.json (owned by doc). */
static inline const cJSON *qg_test_prep_case(const cJSON *doc, const char *name) {
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
    const char *n = qg_test_json_str(c, "name");
    if (n && strcmp(n, name) == 0) return c;
  }
  cr_assert_fail("no case %s", name);
  return NULL;
}

/* Parses graph text (standalone: a fresh unit); fails the test on error. */
static inline qg_graph_t *qg_test_parse(const char *text) {
  qg_graph_t *g = NULL;
  qg_status st = qg_graph_parse(text, strlen(text), NULL, &g);
  cr_assert(st == QG_OK, "parse: %s: %s\n%s", qg_status_name(st), qg_last_error(), text);
  return g;
}

/* Failure injection around one call (with qg_test_every_alloc_failure): after
 * qg__alloc_fail_after(at) and the call, qg_test_injection_end() turns injection off so the test
 * can lint, print and free, and says whether the injected failure happened; then
 * qg_test_injection_report(failed) tells the helper (whose flag qg__alloc_fail_after reset). */
static inline int qg_test_injection_end(void) {
  int failed = qg__alloc_failed();
  qg__alloc_fail_after(-1);
  return failed;
}

static inline void qg_test_injection_report(int failed) {
  if (!failed) return;
  qg__alloc_fail_after(0);
  cr_assert_null(qg__malloc(1));
}

#endif
