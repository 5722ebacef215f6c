/* Types: PyTorch-exact printing, parsing (graph, annotation and schema spellings), interning,
 * equality and import across units, classes, and allocation failure. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/ir.h"
#include "ir/type.h"
#include "util/testutil.h"

static const qg_type_parse_opts graph_opts = {1, 0};
static const qg_type_parse_opts strict_opts = {0, 0};
static const qg_type_parse_opts schema_opts = {0, 1};

static const qg_type_t *parse_ok(qg_cu_t *cu, const char *s, const qg_type_parse_opts *o) {
  const qg_type_t *t = NULL;
  size_t used = 0;
  QG_ASSERT_OK(qg_type_parse(cu, s, strlen(s), o, &t, &used));
  cr_assert_eq(used, strlen(s), "'%s': consumed %zu of %zu", s, used, strlen(s));
  cr_assert_not_null(t);
  return t;
}

static void expect_print(const qg_type_t *t, const char *want) {
  qg_strbuf b = QG_STRBUF_INIT;
  qg_type_print(t, &b);
  cr_assert_str_eq(qg_strbuf_cstr(&b), want);
  cr_assert_str_eq(t->str, want);
  qg_strbuf_free(&b);
}

/* Every form PyTorch's graph printer produces (checked against torch 1.13's str(graph)). */
static const char *const printed_forms[] = {
    "Tensor", "int", "float", "complex", "bool", "str", "NoneType", "Device", "Scalar", "Any",
    "Function", "int[]", "Tensor[]", "Tensor?", "int[]?", "Tensor?[]", "int[][]", "(Tensor, int)", "()",
    "(int, int)?", "Dict(str, Tensor)", "Dict(int, float[]?)", "Future[int]", "Future[Tensor]", "RRef[int]",
    "Union(int, NoneType, str)", "NamedTuple(a : int, b : Tensor)", "__torch__.M",
    "__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d", "__torch__.M[]",
    "Float(1, 3, 10, 10, strides=[300, 100, 10, 1], requires_grad=0, device=cpu)",
    "Float(requires_grad=0, device=cpu)", "Long(requires_grad=0, device=cpu)", "Float(*, 3)",
    "Float(*, 3, strides=[3, 1], requires_grad=0, device=cpu)", "Float(2, 3)", "Long()",
    "Float(*, *, device=cuda:0)", "FloatTensor(requires_grad=0, device=cpu)", "FloatTensor", "Tensor(2, 3)",
    "Tensor(requires_grad=1)", "Tensor(device=cpu)", "QUInt8(1, 8, strides=[8, 1], requires_grad=0, device=cpu)",
    "Float(1, 3, strides=[3, 1], requires_grad=0, device=cpu)[]", "Float(2, 3)?",
    "(Float(2, strides=[1], requires_grad=0, device=cpu), Long(requires_grad=0, device=cpu))",
};

Test(types, print_parse_round_trip) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  for (size_t i = 0; i < sizeof printed_forms / sizeof *printed_forms; i++) {
    const qg_type_t *t = parse_ok(cu, printed_forms[i], &graph_opts);
    expect_print(t, printed_forms[i]);
    /* Interned: parsing again gives the same pointer. */
    cr_assert_eq(parse_ok(cu, printed_forms[i], &graph_opts), t, "%s not interned", printed_forms[i]);
  }
  qg_cu_release(cu);
}

Test(types, primitives_are_singletons) {
  cr_assert_str_eq(qg_type_tensor()->str, "Tensor");
  cr_assert_str_eq(qg_type_prim(QG_TYPE_NUMBER)->str, "Scalar");
  cr_assert_str_eq(qg_type_none()->str, "NoneType");
  cr_assert_eq(qg_type_prim(QG_TYPE_INT), qg_type_int());
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  cr_assert_eq(parse_ok(cu, "int", &graph_opts), qg_type_int());
  cr_assert_eq(parse_ok(cu, "number", &graph_opts), qg_type_prim(QG_TYPE_NUMBER));
  cr_assert_eq(parse_ok(cu, "None", &graph_opts), qg_type_none());
  cr_assert(qg_type_is_tensor(qg_type_tensor()));
  cr_assert(qg_type_is_tensor(parse_ok(cu, "Float(2, 3)", &graph_opts)));
  cr_assert(!qg_type_is_tensor(qg_type_int()));
  qg_cu_release(cu);
}

Test(types, python_annotation_spellings) {
  static const char *const pairs[][2] = {
      {"List[int]", "int[]"},
      {"Optional[Tensor]", "Tensor?"},
      {"Optional[List[int]]", "int[]?"},
      {"List[Optional[Tensor]]", "Tensor?[]"},
      {"Tuple[int, int]", "(int, int)"},
      {"Tuple[()]", "()"},
      {"Tuple[Tensor, Tuple[int, str]]", "(Tensor, (int, str))"},
      {"Dict[str, Tensor]", "Dict(str, Tensor)"},
      {"Dict[str, List[Tensor]]", "Dict(str, Tensor[])"},
      {"Union[int, str]", "Union(int, str)"},
      {"Future[int]", "Future[int]"},
      {"Future(int)", "Future[int]"},
      {"Optional[__torch__.M]", "__torch__.M?"},
      {"List[ List[ int ] ]", "int[][]"},
  };
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
    const qg_type_t *t = parse_ok(cu, pairs[i][0], &graph_opts);
    cr_assert_str_eq(t->str, pairs[i][1], "%s printed %s", pairs[i][0], t->str);
    cr_assert_eq(t, parse_ok(cu, pairs[i][1], &graph_opts));
  }
  qg_cu_release(cu);
}

Test(types, detailed_tensor_fields) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  const qg_type_t *t = parse_ok(cu, "Float(1, *, 10, strides=[30, 10, 1], requires_grad=1, device=cuda:1)", &graph_opts);
  cr_assert_eq(t->kind, QG_TYPE_TENSOR_DETAILED);
  cr_assert(t->tensor.has_dtype);
  cr_assert_eq(t->tensor.dtype, QG_DTYPE_F32);
  cr_assert_eq(t->tensor.ndim, 3);
  cr_assert_eq(t->tensor.sizes[0], 1);
  cr_assert_eq(t->tensor.sizes[1], -1);
  cr_assert_eq(t->tensor.strides[0], 30);
  cr_assert_eq(t->tensor.requires_grad, 1);
  cr_assert_str_eq(t->tensor.device, "cuda:1");
  const qg_type_t *r = parse_ok(cu, "FloatTensor", &graph_opts);
  cr_assert_eq(r->tensor.ndim, -1);
  cr_assert(r->tensor.has_dtype);
  /* Strides with an unknown entry are not printed (PyTorch prints only complete strides). */
  qg_tensor_info ti;
  memset(&ti, 0, sizeof ti);
  ti.has_dtype = 1;
  ti.dtype = QG_DTYPE_I64;
  ti.ndim = 2;
  ti.sizes[0] = 2;
  ti.sizes[1] = 3;
  ti.has_strides = 1;
  ti.strides[0] = -1;
  ti.strides[1] = 1;
  ti.requires_grad = -1;
  const qg_type_t *d;
  QG_ASSERT_OK(qg_type_tensor_detailed(cu, &ti, &d));
  expect_print(d, "Long(2, 3)");
  cr_assert_eq(d, parse_ok(cu, "Long(2, 3)", &graph_opts));
  /* Nothing known: the primitive Tensor. */
  memset(&ti, 0, sizeof ti);
  ti.ndim = -1;
  ti.requires_grad = -1;
  QG_ASSERT_OK(qg_type_tensor_detailed(cu, &ti, &d));
  cr_assert_eq(d, qg_type_tensor());
  qg_cu_release(cu);
}

Test(types, consumed_stops_at_type_end) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  const char *s = "int[] = prim::ListConstruct()";
  const qg_type_t *t;
  size_t used;
  QG_ASSERT_OK(qg_type_parse(cu, s, strlen(s), &graph_opts, &t, &used));
  cr_assert_eq(used, 5);
  s = "Float(2, 3), %y : int";
  QG_ASSERT_OK(qg_type_parse(cu, s, strlen(s), &graph_opts, &t, &used));
  cr_assert_eq(used, 11);
  cr_assert_str_eq(t->str, "Float(2, 3)");
  /* len bounds the text: "int[]" cut to "int" is int. */
  QG_ASSERT_OK(qg_type_parse(cu, "int[]", 3, &graph_opts, &t, &used));
  cr_assert_eq(t, qg_type_int());
  cr_assert_eq(used, 3);
  qg_cu_release(cu);
}

static void schema_case(qg_cu_t *cu, const char *s, const char *type, const char *alias, const char *elem_alias,
                        long fixed) {
  const qg_type_t *t;
  size_t used;
  qg_type_parse_info info;
  QG_ASSERT_OK(qg_type_parse_ex(cu, s, strlen(s), &schema_opts, &t, &used, &info));
  cr_assert_eq(used, strlen(s), "%s: consumed %zu", s, used);
  cr_assert_str_eq(t->str, type, "%s parsed as %s", s, t->str);
  if (alias) {
    cr_assert_eq(info.alias_len, strlen(alias), "%s: alias length %zu", s, info.alias_len);
    cr_assert(memcmp(info.alias, alias, info.alias_len) == 0, "%s: alias", s);
  } else {
    cr_assert_eq(info.alias_len, 0, "%s: unexpected alias", s);
  }
  if (elem_alias) {
    cr_assert_eq(info.elem_alias_len, strlen(elem_alias));
    cr_assert(memcmp(info.elem_alias, elem_alias, info.elem_alias_len) == 0);
  } else {
    cr_assert_eq(info.elem_alias_len, 0, "%s: unexpected element alias", s);
  }
  cr_assert_eq(info.fixed_size, fixed, "%s: fixed size %ld", s, info.fixed_size);
}

Test(types, schema_syntax) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  schema_case(cu, "Tensor", "Tensor", NULL, NULL, -1);
  schema_case(cu, "Tensor(a!)", "Tensor", "a!", NULL, -1);
  schema_case(cu, "Tensor(a)", "Tensor", "a", NULL, -1);
  schema_case(cu, "Tensor(a -> *)", "Tensor", "a -> *", NULL, -1);
  schema_case(cu, "Tensor(b|a)", "Tensor", "b|a", NULL, -1);
  schema_case(cu, "Tensor(a!)[]", "Tensor[]", NULL, "a!", -1);
  schema_case(cu, "Tensor[](a!)", "Tensor[]", "a!", NULL, -1);
  schema_case(cu, "t(a)?", "t?", "a", NULL, -1);
  schema_case(cu, "int[2]", "int[]", NULL, NULL, 2);
  schema_case(cu, "int[1]?", "int[]?", NULL, NULL, 1);
  schema_case(cu, "int[]?", "int[]?", NULL, NULL, -1);
  schema_case(cu, "t", "t", NULL, NULL, -1);
  schema_case(cu, "t[]", "t[]", NULL, NULL, -1);
  schema_case(cu, "tVal", "tVal", NULL, NULL, -1);
  schema_case(cu, "ScalarType?", "ScalarType?", NULL, NULL, -1);
  schema_case(cu, "Layout?", "Layout?", NULL, NULL, -1);
  schema_case(cu, "MemoryFormat?", "MemoryFormat?", NULL, NULL, -1);
  schema_case(cu, "Generator?", "Generator?", NULL, NULL, -1);
  schema_case(cu, "SymInt", "int", NULL, NULL, -1);
  schema_case(cu, "SymInt[]", "int[]", NULL, NULL, -1);
  schema_case(cu, "Scalar", "Scalar", NULL, NULL, -1);
  schema_case(cu, "float[]?", "float[]?", NULL, NULL, -1);
  schema_case(cu, "Dict(str, t)", "Dict(str, t)", NULL, NULL, -1);
  schema_case(cu, "Dict(str, t)(a!)", "Dict(str, t)", "a!", NULL, -1);
  schema_case(cu, "Any", "Any", NULL, NULL, -1);
  schema_case(cu, "Storage", "Storage", NULL, NULL, -1);
  schema_case(cu, "Stream", "Stream", NULL, NULL, -1);
  schema_case(cu, "QScheme", "QScheme", NULL, NULL, -1);
  schema_case(cu, "Device?", "Device?", NULL, NULL, -1);
  schema_case(cu, "str?", "str?", NULL, NULL, -1);
  schema_case(cu, "(Tensor, t)", "(Tensor, t)", NULL, NULL, -1);
  schema_case(cu, "Future(t)", "Future[t]", NULL, NULL, -1);
  /* Known names in schemas: the class must be defined, unless unknown classes are allowed. */
  qg_type_t *cls;
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.torch.classes.quantized.Conv2dPackedParamsBase", 0, &cls));
  schema_case(cu, "__torch__.torch.classes.quantized.Conv2dPackedParamsBase",
              "__torch__.torch.classes.quantized.Conv2dPackedParamsBase", NULL, NULL, -1);
  qg_type_parse_info info;
  const qg_type_t *t;
  size_t used;
  QG_ASSERT_OK(qg_type_parse_ex(cu, "SymInt[]", 8, &schema_opts, &t, &used, &info));
  cr_assert(info.is_symint);
  /* A schema argument: the type stops before the name. */
  QG_ASSERT_OK(qg_type_parse_ex(cu, "Tensor(a!) self", 15, &schema_opts, &t, &used, &info));
  cr_assert_eq(used, 10);
  qg_cu_release(cu);
}

static void bad(qg_cu_t *cu, const char *s, const qg_type_parse_opts *o, qg_status want, const char *needle) {
  const qg_type_t *t = (const qg_type_t *)1;
  size_t used = 99;
  qg_status st = qg_type_parse(cu, s, strlen(s), o, &t, &used);
  cr_assert_eq(st, want, "'%s': got %s (%s)", s, qg_status_name(st), qg_last_error());
  cr_assert_null(t);
  cr_assert(strstr(qg_last_error(), needle), "'%s': message '%s' lacks '%s'", s, qg_last_error(), needle);
}

Test(types, bad_type_strings) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  bad(cu, "Foo", &graph_opts, QG_STATUS_TYPE, "unknown type 'Foo'");
  bad(cu, "List[int", &graph_opts, QG_STATUS_PARSE, "expected ']'");
  bad(cu, "Dict(str)", &graph_opts, QG_STATUS_TYPE, "Dict takes 2 types");
  bad(cu, "(int, ", &graph_opts, QG_STATUS_PARSE, "expected a type");
  bad(cu, "", &graph_opts, QG_STATUS_PARSE, "expected a type");
  bad(cu, "Float(2, 3, strides=[1])", &graph_opts, QG_STATUS_TYPE, "2 dimensions but 1 strides");
  bad(cu, "Float(2, colour=red)", &graph_opts, QG_STATUS_PARSE, "unknown tensor type keyword 'colour'");
  bad(cu, "Float(1, 2, 3, 4, 5, 6, 7, 8, 9)", &graph_opts, QG_STATUS_TYPE, "more than 8 dimensions");
  bad(cu, "Float(2, 3", &graph_opts, QG_STATUS_PARSE, "to close the tensor type");
  bad(cu, "int[2]", &graph_opts, QG_STATUS_PARSE, "expected ']'");
  bad(cu, "t", &graph_opts, QG_STATUS_TYPE, "unknown type 't'");
  bad(cu, "__torch__.Missing", &strict_opts, QG_STATUS_TYPE, "unknown class type '__torch__.Missing'");
  bad(cu, "Tensor(a!", &schema_opts, QG_STATUS_PARSE, "alias annotation not closed");
  bad(cu, "Float(99999999999999999999)", &graph_opts, QG_STATUS_PARSE, "number too large");
  /* Deep nesting is an error, not a stack overflow. */
  char deep[1024] = "";
  for (int i = 0; i < 100; i++) strcat(deep, "List[");
  strcat(deep, "int");
  for (int i = 0; i < 100; i++) strcat(deep, "]");
  bad(cu, deep, &graph_opts, QG_STATUS_PARSE, "nested more than");
  qg_cu_release(cu);
}

Test(types, unknown_classes_become_opaque) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  const qg_type_t *t = parse_ok(cu, "__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d", &graph_opts);
  cr_assert_eq(t->kind, QG_TYPE_CLASS);
  cr_assert(t->is_opaque);
  cr_assert_eq(qg_cu_find(cu, "__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d"), t);
  /* Defining it later completes the same object. */
  qg_type_t *cls;
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d", 1, &cls));
  cr_assert_eq(cls, t);
  cr_assert(!cls->is_opaque);
  cr_assert(cls->is_module);
  /* A second definition is refused. */
  qg_type_t *again;
  cr_assert_eq(qg_cu_define_class(cu, "__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d", 1, &again),
               QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "already defined"));
  qg_cu_release(cu);
}

Test(types, classes_slots_methods) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_type_t *m, *conv, *iface;
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.M", 1, &m));
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.torch.nn.modules.conv.Conv2d", 1, &conv));
  QG_ASSERT_OK(qg_class_add_slot(conv, "weight", qg_type_tensor(), QG_SLOT_PARAMETER));
  QG_ASSERT_OK(qg_class_add_slot(conv, "training", qg_type_bool(), QG_SLOT_ATTRIBUTE));
  QG_ASSERT_OK(qg_class_add_slot(m, "conv", conv, QG_SLOT_MODULE));
  cr_assert_eq(qg_class_add_slot(m, "conv", conv, QG_SLOT_MODULE), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "already has an attribute 'conv'"));
  cr_assert_eq(qg_class_find_slot(conv, "training"), 1);
  cr_assert_eq(qg_class_find_slot(conv, "bias"), -1);
  cr_assert_str_eq(qg_slot_kind_name(conv->slots[0].kind), "parameter");
  cr_assert_str_eq(m->str, "__torch__.M");

  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_create(cu, &g));
  qg_value_t *self;
  QG_ASSERT_OK(qg_graph_add_input(g, "self", m, &self));
  QG_ASSERT_OK(qg_class_add_method(m, "forward", g));
  cr_assert_eq(qg_class_find_method(m, "forward")->graph, g);
  cr_assert_null(qg_class_find_method(m, "backward"));
  /* A graph of another unit is refused and destroyed (ownership passes either way). */
  qg_graph_t *other;
  QG_ASSERT_OK(qg_graph_create(NULL, &other));
  cr_assert_eq(qg_class_add_method(m, "other", other), QG_STATUS_INVALID_ARGUMENT);

  QG_ASSERT_OK(qg_cu_define_interface(cu, "__torch__.I", &iface));
  QG_ASSERT_OK(qg_interface_add_method(iface, "forward", "forward(Tensor x) -> Tensor"));
  cr_assert_str_eq(qg_class_find_method(iface, "forward")->signature, "forward(Tensor x) -> Tensor");

  qg_graph_t *fg;
  qg_type_t *fn;
  QG_ASSERT_OK(qg_graph_create(cu, &fg));
  QG_ASSERT_OK(qg_cu_define_function(cu, "__torch__.helper", fg, &fn));
  cr_assert_str_eq(fn->str, "Function");
  cr_assert_str_eq(fn->methods[0].name, "helper");

  cr_assert_eq(qg_cu_ntypes(cu), 4);
  cr_assert_eq(qg_cu_type_at(cu, 0), m);
  cr_assert_eq(qg_cu_type_at(cu, 3), fn);
  /* Types built from classes intern too. */
  const qg_type_t *l1, *l2;
  QG_ASSERT_OK(qg_type_list(cu, m, &l1));
  QG_ASSERT_OK(qg_type_list(cu, m, &l2));
  cr_assert_eq(l1, l2);
  cr_assert_str_eq(l1->str, "__torch__.M[]");
  qg_cu_release(cu); /* frees the method graphs too: LeakSanitizer checks */
}

Test(types, equality_and_import_across_units) {
  qg_cu_t *a, *b;
  QG_ASSERT_OK(qg_cu_create(&a));
  QG_ASSERT_OK(qg_cu_create(&b));
  qg_type_t *ma, *mb;
  QG_ASSERT_OK(qg_cu_define_class(a, "__torch__.M", 1, &ma));
  const char *s = "Dict(str, (__torch__.M, Float(2, 3), int[]?, NamedTuple(x : int)))";
  const qg_type_t *ta = parse_ok(a, s, &graph_opts);
  const qg_type_t *out;
  /* Import needs the class in the destination. */
  cr_assert_eq(qg_type_import(b, ta, &out), QG_STATUS_TYPE);
  cr_assert(strstr(qg_last_error(), "'__torch__.M'"), "%s", qg_last_error());
  QG_ASSERT_OK(qg_cu_define_class(b, "__torch__.M", 1, &mb));
  QG_ASSERT_OK(qg_type_import(b, ta, &out));
  cr_assert_neq(out, ta);
  cr_assert_eq(out->cu, b);
  cr_assert(qg_type_equal(out, ta));
  cr_assert_str_eq(out->str, s);
  cr_assert_eq(out, parse_ok(b, s, &graph_opts));
  cr_assert(qg_type_equal(ma, mb));
  cr_assert(!qg_type_equal(ma, qg_type_int()));
  const qg_type_t *la, *lb;
  QG_ASSERT_OK(qg_type_list(a, qg_type_int(), &la));
  QG_ASSERT_OK(qg_type_optional(b, qg_type_int(), &lb));
  cr_assert(!qg_type_equal(la, lb));
  /* Primitives import as themselves; same-unit import is the identity. */
  QG_ASSERT_OK(qg_type_import(b, qg_type_float(), &out));
  cr_assert_eq(out, qg_type_float());
  QG_ASSERT_OK(qg_type_import(a, ta, &out));
  cr_assert_eq(out, ta);
  /* Opaque classes are recreated opaque. */
  const qg_type_t *op = parse_ok(a, "__torch__.Opaque", &graph_opts);
  QG_ASSERT_OK(qg_type_import(b, op, &out));
  cr_assert(out->is_opaque);
  cr_assert_eq(qg_cu_find(b, "__torch__.Opaque"), out);
  qg_cu_release(a);
  qg_cu_release(b);
}

Test(types, cu_refcount_with_graphs) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_create(cu, &g));
  qg_cu_release(cu); /* the graph keeps the unit alive */
  const qg_type_t *t;
  QG_ASSERT_OK(qg_type_list(qg_graph_cu(g), qg_type_int(), &t));
  cr_assert_str_eq(t->str, "int[]");
  qg_graph_destroy(g); /* last reference: frees the unit */
}

/* Builds a unit with every kind of type; must release everything on any failure. */
static qg_status build_types(void *ud) {
  (void)ud;
  qg_cu_t *cu;
  QG_TRY(qg_cu_create(&cu));
  qg_status st = QG_OK;
  qg_type_t *m;
  const qg_type_t *t, *l;
  size_t used0;
  static const char *const forms[] = {
      "Dict(str, Tensor[])", "Float(1, 3, strides=[3, 1], requires_grad=0, device=cpu)", "(int, Tensor?)",
      "NamedTuple(a : int, b : Tensor)", "Union(int, str)", "Future[int]", "__torch__.Unknown[]",
  };
  if ((st = qg_cu_define_class(cu, "__torch__.M", 1, &m)) != QG_OK) goto out;
  if ((st = qg_class_add_slot(m, "w", qg_type_tensor(), QG_SLOT_PARAMETER)) != QG_OK) goto out;
  if ((st = qg_type_list(cu, m, &l)) != QG_OK) goto out;
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
    size_t used;
    if ((st = qg_type_parse(cu, forms[i], strlen(forms[i]), &graph_opts, &t, &used)) != QG_OK) goto out;
  }
  qg_graph_t *g;
  if ((st = qg_graph_create(cu, &g)) != QG_OK) goto out;
  if ((st = qg_class_add_method(m, "forward", g)) != QG_OK) goto out;
  qg_type_t *iface;
  if ((st = qg_type_parse(cu, "InterfaceType<I>", 16, &graph_opts, &t, &used0)) != QG_OK) goto out;
  if ((st = qg_cu_define_interface(cu, "__torch__.I", &iface)) != QG_OK) goto out;
  if ((st = qg_interface_add_method(iface, "forward", "forward(Tensor x) -> Tensor")) != QG_OK) goto out;
  qg_cu_t *other;
  if ((st = qg_cu_create(&other)) != QG_OK) goto out;
  qg_type_t *m2;
  if ((st = qg_cu_define_class(other, "__torch__.M", 1, &m2)) == QG_OK) {
    const qg_type_t *dict;
    size_t used;
    if ((st = qg_type_parse(cu, "Dict(str, __torch__.M[])", 24, &graph_opts, &dict, &used)) == QG_OK)
      st = qg_type_import(other, dict, &t);
  }
  qg_cu_release(other);
out:
  qg_cu_release(cu);
  return st;
}

Test(types, every_allocation_failure) {
  size_t runs = qg_test_every_alloc_failure(build_types, NULL);
  cr_assert_gt(runs, 20);
}

Test(types, interfaces_print_like_pytorch) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_type_t *iface;
  QG_ASSERT_OK(qg_cu_define_interface(cu, "__torch__.OperatorIf", &iface));
  expect_print(iface, "InterfaceType<OperatorIf>");
  cr_assert_eq(parse_ok(cu, "InterfaceType<OperatorIf>", &strict_opts), iface);
  cr_assert_eq(parse_ok(cu, "InterfaceType<__torch__.OperatorIf>", &strict_opts), iface);
  bad(cu, "InterfaceType<Missing>", &strict_opts, QG_STATUS_TYPE, "unknown interface type 'Missing'");
  /* Unknown interfaces become opaque ones that a later definition completes. */
  const qg_type_t *op = parse_ok(cu, "InterfaceType<Later>", &graph_opts);
  cr_assert_eq(op->kind, QG_TYPE_INTERFACE);
  cr_assert(op->is_opaque);
  cr_assert_str_eq(op->qualname, "__torch__.Later");
  qg_type_t *later;
  QG_ASSERT_OK(qg_cu_define_interface(cu, "__torch__.Later", &later));
  cr_assert_eq(later, op);
  cr_assert(!later->is_opaque);
  /* An opaque class completed as an interface changes its printed form. */
  const qg_type_t *c = parse_ok(cu, "__torch__.Either", &graph_opts);
  expect_print(c, "__torch__.Either");
  qg_type_t *e;
  QG_ASSERT_OK(qg_cu_define_interface(cu, "__torch__.Either", &e));
  cr_assert_eq(e, c);
  expect_print(e, "InterfaceType<Either>");
  /* Import across units. */
  qg_cu_t *other;
  QG_ASSERT_OK(qg_cu_create(&other));
  const qg_type_t *out;
  cr_assert_eq(qg_type_import(other, iface, &out), QG_STATUS_TYPE);
  qg_type_t *iface2;
  QG_ASSERT_OK(qg_cu_define_interface(other, "__torch__.OperatorIf", &iface2));
  QG_ASSERT_OK(qg_type_import(other, iface, &out));
  cr_assert_eq(out, iface2);
  cr_assert(qg_type_equal(iface, iface2));
  qg_cu_release(other);
  qg_cu_release(cu);
}
