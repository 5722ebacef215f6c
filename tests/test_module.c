/* Values and the module text: construction, refcounting, equality, type fit, parse/print
 * round trips (with method graphs, interfaces, functions and forward references). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/ir.h"
#include "module/module.h"
#include "module/module_text.h"
#include "util/testutil.h"

/* ---- values -------------------------------------------------------------------------------- */

Test(value, containers_own_their_items) {
  qg_ival s, l, d;
  QG_ASSERT_OK(qg_ival_string_new("abc", 3, &s));
  QG_ASSERT_OK(qg_ival_list_new(QG_IVAL_LIST, 0, &l));
  QG_ASSERT_OK(qg_ival_list_push(&l, qg_ival_copy(s)));
  QG_ASSERT_OK(qg_ival_list_push(&l, qg_ival_int(7)));
  cr_assert_eq(s.u.str->refcount, 2);
  QG_ASSERT_OK(qg_ival_dict_new(&d));
  QG_ASSERT_OK(qg_ival_dict_put(&d, qg_ival_copy(s), qg_ival_copy(l)));
  QG_ASSERT_OK(qg_ival_dict_put(&d, qg_ival_copy(s), qg_ival_int(1))); /* replaces */
  cr_assert_eq(qg_ival_len(&d), 1);
  cr_assert_eq(l.u.list->refcount, 1);
  qg_ival_release(&l);
  cr_assert_eq(l.kind, QG_IVAL_NONE);
  cr_assert_eq(s.u.str->refcount, 2); /* the dict's key */
  qg_ival_release(&d);
  cr_assert_eq(s.u.str->refcount, 1);
  qg_ival_release(&s);
}

Test(value, equality_is_deep) {
  qg_ival a, b;
  QG_ASSERT_OK(qg_ival_list_new(QG_IVAL_TUPLE, 2, &a));
  QG_ASSERT_OK(qg_ival_list_new(QG_IVAL_TUPLE, 2, &b));
  QG_ASSERT_OK(qg_ival_list_push(&a, qg_ival_double(NAN)));
  QG_ASSERT_OK(qg_ival_list_push(&b, qg_ival_double(NAN)));
  cr_assert(qg_ival_equal(&a, &b));
  QG_ASSERT_OK(qg_ival_list_push(&a, qg_ival_double(0.0)));
  QG_ASSERT_OK(qg_ival_list_push(&b, qg_ival_double(-0.0)));
  cr_assert(!qg_ival_equal(&a, &b), "0.0 and -0.0 are different values to store");
  qg_ival_release(&a);
  qg_ival_release(&b);
  qg_ival i = qg_ival_int(1), f = qg_ival_double(1.0);
  cr_assert(!qg_ival_equal(&i, &f));
}

Test(value, format_double_reads_back) {
  const double cases[] = {1.0, 0.5, 1e-05, 0.1, 1.0 / 3.0, -2.5e300, 123456789.0, 5e-324};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    qg_strbuf b = QG_STRBUF_INIT;
    qg_format_double(cases[i], &b);
    const char *s = qg_strbuf_cstr(&b);
    cr_assert(strpbrk(s, ".e") != NULL, "%s reads as an int", s);
    cr_assert_eq(strtod(s, NULL), cases[i], "%s does not read back", s);
    qg_strbuf_free(&b);
  }
  qg_strbuf b = QG_STRBUF_INIT;
  qg_format_double(1.0, &b);
  qg_strbuf_append(&b, " ");
  qg_format_double(1e-05, &b);
  qg_strbuf_append(&b, " ");
  qg_format_double(-INFINITY, &b);
  qg_strbuf_append(&b, " ");
  qg_format_double(NAN, &b);
  cr_assert_str_eq(qg_strbuf_cstr(&b), "1.0 1e-05 -inf nan");
  qg_strbuf_free(&b);
  /* the shortest form, as Python's repr(): a float32 value widened needs 17 digits */
  const struct {
    double d;
    const char *want;
  } shortest[] = {{0.1, "0.1"}, {(double)0.1f, "0.10000000149011612"}, {1.0 / 3.0, "0.3333333333333333"},
                  {2.5e-7, "2.5e-07"}, {123456789.0, "123456789.0"}};
  for (size_t i = 0; i < sizeof shortest / sizeof shortest[0]; i++) {
    qg_strbuf c = QG_STRBUF_INIT;
    qg_format_double(shortest[i].d, &c);
    cr_expect_str_eq(qg_strbuf_cstr(&c), shortest[i].want);
    qg_strbuf_free(&c);
  }
}

static qg_status value_ops(void *ud) {
  (void)ud;
  qg_ival l = qg_ival_none(), d = qg_ival_none(), s = qg_ival_none();
  qg_status st = qg_ival_list_new(QG_IVAL_LIST, 0, &l);
  for (int i = 0; st == QG_OK && i < 20; i++) st = qg_ival_list_push(&l, qg_ival_int(i));
  if (st == QG_OK) st = qg_ival_dict_new(&d);
  if (st == QG_OK) st = qg_ival_string_new("k", 1, &s);
  for (int i = 0; st == QG_OK && i < 10; i++) st = qg_ival_dict_put(&d, qg_ival_int(i), qg_ival_copy(s));
  qg_ival_release(&l);
  qg_ival_release(&d);
  qg_ival_release(&s);
  return st;
}

Test(value, allocation_failures_are_clean) {
  cr_assert_gt(qg_test_every_alloc_failure(value_ops, NULL), 3);
}

/* ---- module text ------------------------------------------------------------------------- */

static qg_tensor *test_tensors[6];
static const char *test_tensor_names[6] = {"conv.weight", "conv.bias", "scale", "ws.0", "tens.k", NULL};

static void make_tensors(void) {
  for (int i = 0; i < 5; i++) {
    int64_t shape[1] = {i + 2};
    QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 1, shape, &test_tensors[i]));
  }
}
static void free_tensors(void) {
  for (int i = 0; i < 5; i++) qg_tensor_release(test_tensors[i]);
}

TestSuite(module_text, .init = make_tensors, .fini = free_tensors);

static qg_status lookup(void *ud, const char *name, qg_tensor **out) {
  (void)ud;
  for (int i = 0; test_tensor_names[i]; i++)
    if (strcmp(test_tensor_names[i], name) == 0) {
      qg_tensor_retain(test_tensors[i]);
      *out = test_tensors[i];
      return QG_OK;
    }
  return QG_STATUS_NOT_FOUND;
}

static const qg_module_text_opts opts = {"test.module", lookup, NULL, 0};

/* Canonical text: what the printer produces (interfaces, classes after their slot types,
 * functions, root; tensors named by first path). Graphs are PyTorch's str(graph). */
static const char canonical[] =
    "quantgraph module 1\n"
    "\n"
    "interface __torch__.MyInterface {\n"
    "  method forward(Tensor x) -> Tensor\n"
    "}\n"
    "\n"
    "module class __torch__.torch.nn.modules.conv.Conv2d {\n"
    "  parameter weight : Tensor\n"
    "  parameter bias : Tensor?\n"
    "  attribute training : bool\n"
    "  method forward = graph(%self : __torch__.torch.nn.modules.conv.Conv2d,\n"
    "      %input.1 : Tensor):\n"
    "  %weight : Tensor = prim::GetAttr[name=\"weight\"](%self)\n"
    "  %3 : Tensor = aten::mul(%input.1, %weight)\n"
    "  return (%3)\n"
    "}\n"
    "\n"
    "class __torch__.Config {\n"
    "  attribute eps : float\n"
    "  attribute names : str[]\n"
    "}\n"
    "\n"
    "module class __torch__.M {\n"
    "  module conv : __torch__.torch.nn.modules.conv.Conv2d\n"
    "  buffer scale : Tensor\n"
    "  attribute training : bool\n"
    "  attribute sizes : int[]\n"
    "  attribute cfg : __torch__.Config\n"
    "  attribute nums : Dict(str, float)\n"
    "  attribute pair : (int, Tensor)\n"
    "  attribute one : (int)\n"
    "  attribute dev : Device\n"
    "  attribute opt : int?\n"
    "  attribute ws : Tensor[]\n"
    "  attribute tens : Dict(str, Tensor)\n"
    "  method forward = graph(%self : __torch__.M,\n"
    "      %x.1 : Tensor):\n"
    "  %conv : __torch__.torch.nn.modules.conv.Conv2d = prim::GetAttr[name=\"conv\"](%self)\n"
    "  %3 : Tensor = prim::CallMethod[name=\"forward\"](%conv, %x.1)\n"
    "  return (%3)\n"
    "  signature = \"forward(__torch__.M self, Tensor x) -> Tensor\"\n"
    "}\n"
    "\n"
    "function __torch__.helper = graph(%x.1 : Tensor,\n"
    "      %s.1 : str):\n"
    "  return (%x.1)\n"
    "  signature = \"helper(Tensor x, str s=\\\"a\\\\\\\"b\\\") -> Tensor\"\n"
    "\n"
    "root __torch__.M {\n"
    "  conv = __torch__.torch.nn.modules.conv.Conv2d {\n"
    "    weight = tensor \"conv.weight\"\n"
    "    bias = tensor \"conv.bias\"\n"
    "    training = False\n"
    "  }\n"
    "  scale = tensor \"scale\"\n"
    "  training = True\n"
    "  sizes = [1, 2, 3]\n"
    "  cfg = __torch__.Config {\n"
    "    eps = 1e-05\n"
    "    names = [\"a\", \"b\\n\"]\n"
    "  }\n"
    "  nums = {\"inf\": inf, \"x\": -0.5}\n"
    "  pair = (-4, tensor \"conv.weight\")\n"
    "  one = (1,)\n"
    "  dev = device \"cuda:1\"\n"
    "  opt = None\n"
    "  ws = [tensor \"ws.0\", tensor \"scale\"]\n"
    "  tens = {\"k\": tensor \"tens.k\"}\n"
    "}\n";

static char *print_text(qg_cu_t *cu, const qg_ival *root) {
  qg_strbuf b = QG_STRBUF_INIT;
  QG_ASSERT_OK(qg_module_text_print(cu, root, &b, NULL));
  return qg_strbuf_detach(&b);
}

Test(module_text, canonical_text_round_trips_exactly) {
  qg_cu_t *cu;
  qg_ival root;
  QG_ASSERT_OK(qg_module_text_parse(canonical, strlen(canonical), &opts, &cu, &root));
  char *out = print_text(cu, &root);
  cr_assert_str_eq(out, canonical);
  qg__free(out);
  /* Typed values: the tuple's second item is the shared weight, not a copy. */
  const qg_ival *pair = qg_ival_object_get(&root, "pair");
  cr_assert_eq(pair->u.list->items[1].u.tensor, test_tensors[0]);
  const qg_ival *cfg = qg_ival_object_get(&root, "cfg");
  cr_assert_eq(qg_ival_object_get(cfg, "eps")->u.d, 1e-05);
  cr_assert(qg_cu_find(cu, "__torch__.M")->is_module);
  cr_assert(!qg_cu_find(cu, "__torch__.Config")->is_module);
  qg_ival_release(&root);
  qg_cu_release(cu);
}

Test(module_text, printing_is_canonical_for_any_layout) {
  /* Comments, odd spacing, int literals in float slots, `class` for a module class, and a
   * class whose graph names a class declared later. */
  static const char messy[] =
      "# a comment\n"
      "quantgraph module 1\n"
      "class __torch__.A {   # trailing comment\n"
      "  module b : __torch__.B\n"
      "  attribute f : float\n"
      "  method forward = graph(%self : __torch__.A):\n"
      "  %b : __torch__.B = prim::GetAttr[name=\"b\"](%self)\n"
      "  %c : __torch__.C = prim::CallMethod[name=\"make\"](%b)\n"
      "  return (%c)\n"
      "}\n"
      "module class __torch__.B { method make = graph(%self : __torch__.B):\n"
      "  %c : __torch__.C = prim::CreateObject()\n"
      "  return (%c)\n"
      "}\n"
      "class __torch__.C {\n}\n"
      "root __torch__.A { f = 2 b = __torch__.B { } }\n";
  qg_cu_t *cu;
  qg_ival root;
  QG_ASSERT_OK(qg_module_text_parse(messy, strlen(messy), &opts, &cu, &root));
  cr_assert_eq(qg_ival_object_get(&root, "f")->kind, QG_IVAL_DOUBLE);
  char *once = print_text(cu, &root);
  cr_assert(strstr(once, "module class __torch__.B {\n") < strstr(once, "module class __torch__.A {\n"),
            "B must be printed before A, whose slot names it:\n%s", once);
  cr_assert(strstr(once, "  f = 2.0\n"), "%s", once);
  qg_cu_t *cu2;
  qg_ival root2;
  QG_ASSERT_OK(qg_module_text_parse(once, strlen(once), &opts, &cu2, &root2));
  char *twice = print_text(cu2, &root2);
  cr_assert_str_eq(twice, once);
  cr_assert(qg_ival_equal(&root, &root2));
  qg__free(once);
  qg__free(twice);
  qg_ival_release(&root);
  qg_ival_release(&root2);
  qg_cu_release(cu);
  qg_cu_release(cu2);
}

Test(module_text, graph_errors_carry_the_outer_position) {
  static const char text[] =
      "quantgraph module 1\n"
      "class __torch__.A {\n"
      "  method forward = graph(%self : __torch__.A):\n"
      "  %1 : Tensor = aten::no_such_op(%self)\n"
      "  return (%1)\n"
      "}\n"
      "root __torch__.A {\n}\n";
  qg_cu_t *cu;
  qg_ival root;
  qg_status s = qg_module_text_parse(text, strlen(text), &opts, &cu, &root);
  cr_assert_eq(s, QG_STATUS_UNKNOWN_OP, "%s: %s", qg_status_name(s), qg_last_error());
  cr_assert(strstr(qg_last_error(), "test.module:4:"), "%s", qg_last_error());
}

Test(module_text, signatures_are_kept_with_their_method) {
  qg_cu_t *cu;
  qg_ival root;
  QG_ASSERT_OK(qg_module_text_parse(canonical, strlen(canonical), &opts, &cu, &root));
  const qg_type_t *m = qg_cu_find(cu, "__torch__.M");
  cr_assert_str_eq(qg_class_find_method(m, "forward")->signature, "forward(__torch__.M self, Tensor x) -> Tensor");
  const qg_type_t *conv = qg_cu_find(cu, "__torch__.torch.nn.modules.conv.Conv2d");
  cr_assert_null(qg_class_find_method(conv, "forward")->signature, "no signature line: none");
  const qg_type_t *fn = qg_cu_find(cu, "__torch__.helper");
  cr_assert_str_eq(fn->methods[0].signature, "helper(Tensor x, str s=\"a\\\"b\") -> Tensor");
  /* The signature's class name is parsed in a scratch unit: no opaque class appears. */
  cr_assert_null(qg_cu_find(cu, "__torch__.Other"));
  qg_ival_release(&root);
  qg_cu_release(cu);
}

/* A bad signature line fails with its line:col and the reason. */
static void expect_bad_signature(const char *sig_line, qg_status want, const char *line_col, const char *why) {
  char text[1024];
  snprintf(text, sizeof text,
           "quantgraph module 1\n"
           "class __torch__.A {\n"
           "  method forward = graph(%%self : __torch__.A,\n"
           "      %%x.1 : int):\n"
           "  return (%%x.1)\n"
           "%s\n"
           "}\n"
           "root __torch__.A {\n}\n",
           sig_line);
  qg_cu_t *cu;
  qg_ival root;
  qg_status s = qg_module_text_parse(text, strlen(text), &opts, &cu, &root);
  cr_assert_eq(s, want, "%s: %s: %s", sig_line, qg_status_name(s), qg_last_error());
  cr_expect(strstr(qg_last_error(), line_col), "%s: %s", sig_line, qg_last_error());
  cr_expect(strstr(qg_last_error(), why), "%s: %s", sig_line, qg_last_error());
}

Test(module_text, bad_signatures_are_errors) {
  expect_bad_signature("  signature = \"forward(__torch__.A self, int x=1 -> int\"", QG_STATUS_PARSE,
                       "test.module:6:15:", "the signature of method forward of class __torch__.A");
  expect_bad_signature("  signature = \"forward(__torch__.A self) -> int\"", QG_STATUS_TYPE, "test.module:6:15:",
                       "has 1 argument, but its graph has 2 inputs");
  expect_bad_signature("  signature = \"forward(__torch__.A self, int x, int y=2) -> int\"", QG_STATUS_TYPE,
                       "test.module:6:15:", "has 3 arguments, but its graph has 2 inputs");
  expect_bad_signature("  signature = \"forward(__torch__.A self, int x=None) -> int\"", QG_STATUS_TYPE,
                       "test.module:6:15:", "default None for non-optional type 'int'");
  expect_bad_signature("  signature = forward(__torch__.A self, int x) -> int", QG_STATUS_PARSE, "test.module:6:15:",
                       "expected a string");
  expect_bad_signature("  signature = \"forward(__torch__.A self, int x) -> int\"\n"
                       "  signature = \"forward(__torch__.A self, int x) -> int\"",
                       QG_STATUS_PARSE, "test.module:7:3:", "two signature lines");
}

Test(module_text, graph_naming_an_undeclared_class_fails) {
  static const char text[] =
      "quantgraph module 1\n"
      "class __torch__.A {\n"
      "  method forward = graph(%self : __torch__.Undeclared):\n"
      "  return (%self)\n"
      "}\n"
      "root __torch__.A {\n}\n";
  qg_cu_t *cu;
  qg_ival root;
  qg_status s = qg_module_text_parse(text, strlen(text), &opts, &cu, &root);
  cr_assert_neq(s, QG_OK);
  cr_assert(strstr(qg_last_error(), "test.module:3:"), "%s", qg_last_error());
  cr_assert(strstr(qg_last_error(), "__torch__.Undeclared"), "%s", qg_last_error());
}

static qg_status parse_print_free(void *ud) {
  (void)ud;
  qg_cu_t *cu;
  qg_ival root;
  qg_status s = qg_module_text_parse(canonical, strlen(canonical), &opts, &cu, &root);
  if (s != QG_OK) return s;
  qg_strbuf b = QG_STRBUF_INIT;
  qg_tensor_names names = {0};
  s = qg_module_text_print(cu, &root, &b, &names);
  if (s == QG_OK && (names.n != 5 || strcmp(qg_strbuf_cstr(&b), canonical) != 0))
    s = qg_set_error(QG_STATUS_CHECK_FAILED, "print under injection differs");
  qg_tensor_names_free(&names);
  qg_strbuf_free(&b);
  qg_ival_release(&root);
  qg_cu_release(cu);
  return s;
}

Test(module_text, allocation_failures_are_clean) {
  /* Warm the process-wide op registry and symbol table first: they are built once and kept. */
  QG_ASSERT_OK(parse_print_free(NULL));
  cr_assert_gt(qg_test_every_alloc_failure(parse_print_free, NULL), 50);
}

Test(module_text, tensor_names_follow_first_path) {
  qg_cu_t *cu;
  qg_ival root;
  QG_ASSERT_OK(qg_module_text_parse(canonical, strlen(canonical), &opts, &cu, &root));
  qg_strbuf b = QG_STRBUF_INIT;
  qg_tensor_names names = {0};
  QG_ASSERT_OK(qg_module_text_print(cu, &root, &b, &names));
  cr_assert_eq(names.n, 5);
  cr_assert_str_eq(names.names[3], "ws.0");
  cr_assert_str_eq(names.names[4], "tens.k");
  cr_assert_str_eq(names.names[0], "conv.weight");
  cr_assert_str_eq(names.names[1], "conv.bias");
  cr_assert_str_eq(names.names[2], "scale");
  cr_assert_eq(names.tensors[2], test_tensors[2]);
  qg_tensor_names_free(&names);
  qg_strbuf_free(&b);
  qg_ival_release(&root);
  qg_cu_release(cu);
}
