/* Op schemas (src/ir/schema.c) and the op registry (src/ir/schema_registry.c, ops.def). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "ir/schema.h"
#include "util/testutil.h"

static qg_sym_t sym(const char *s) {
  qg_sym_t out;
  QG_ASSERT_OK(qg_sym_intern(s, &out));
  return out;
}

/* The overload of `op` named `overload`; fails the test if absent. */
static const qg_schema_t *overload(const char *op, const char *ov) {
  QG_ASSERT_OK(qg_op_registry_init());
  size_t n = 0;
  const qg_schema_t *const *v = qg_op_overloads(sym(op), &n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i]->overload, ov) == 0) return v[i];
  cr_assert_fail("%s.%s is not in the registry", op, ov);
  return NULL;
}

static const qg_schema_arg *arg(const qg_schema_t *s, const char *name) {
  for (size_t i = 0; i < s->nargs; i++)
    if (strcmp(s->args[i].name, name) == 0) return &s->args[i];
  cr_assert_fail("%s has no argument %s", s->text, name);
  return NULL;
}

/* print(parse(text)) in a fresh unit. */
static char *reprint(const char *text) {
  qg_cu_t *cu;
  qg_schema_t *s;
  QG_ASSERT_OK(qg_cu_create(&cu));
  QG_ASSERT_OK(qg_schema_parse(cu, text, &s));
  qg_strbuf b = QG_STRBUF_INIT;
  qg_schema_print(s, &b);
  QG_ASSERT_OK(qg_strbuf_ok(&b));
  char *r = strdup(qg_strbuf_cstr(&b));
  qg_strbuf_free(&b);
  qg_schema_free(s);
  qg_cu_release(cu);
  return r;
}

/* The error message of a failing parse (static buffer). */
static const char *parse_error(const char *text, qg_status want) {
  static char msg[QG_ERROR_MAX];
  qg_cu_t *cu;
  qg_schema_t *s = (qg_schema_t *)1;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_status st = qg_schema_parse(cu, text, &s);
  cr_assert_eq(st, want, "parse of '%s' gave %s (%s), want %s", text, qg_status_name(st), qg_last_error(),
               qg_status_name(want));
  cr_assert_null(s, "a failed parse must leave *out NULL");
  snprintf(msg, sizeof msg, "%s", qg_last_error());
  qg_cu_release(cu);
  return msg;
}

/* ---- the table -------------------------------------------------------------------------- */

Test(registry, every_row_round_trips) {
  QG_ASSERT_OK(qg_op_registry_init());
  size_t n = qg_op_registry_size();
  cr_assert_gt(n, 1000, "ops.def has only %zu rows", n);
  qg_strbuf b = QG_STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    const qg_schema_t *s = qg_op_registry_at(i);
    cr_assert_not_null(s);
    qg_strbuf_reset(&b);
    qg_schema_print(s, &b);
    QG_ASSERT_OK(qg_strbuf_ok(&b));
    cr_assert_str_eq(qg_strbuf_cstr(&b), s->text, "row %zu does not round-trip", i + 1);
    /* Every argument and return has a resolved type and a name where one is required. */
    for (size_t j = 0; j < s->nargs; j++) {
      cr_assert_not_null(s->args[j].type, "%s: argument %zu has no type", s->text, j);
      cr_assert(s->args[j].name[0] != '\0', "%s: argument %zu has no name", s->text, j);
    }
    for (size_t j = 0; j < s->nreturns; j++)
      cr_assert_not_null(s->returns[j].type, "%s: return %zu has no type", s->text, j);
  }
  qg_strbuf_free(&b);
  cr_assert_null(qg_op_registry_at(n));
}

Test(registry, lookups_group_all_overloads) {
  QG_ASSERT_OK(qg_op_registry_init());
  size_t n = 0, total = 0;
  const qg_schema_t *const *v = qg_op_overloads(sym("aten::add"), &n);
  cr_assert_geq(n, 10, "aten::add has %zu overloads", n);
  const char *want[] = {"Tensor", "Scalar", "out", "t", "int", "float", "str"};
  for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
    int found = 0;
    for (size_t i = 0; i < n; i++) {
      cr_assert_eq(v[i]->name, sym("aten::add"));
      found |= strcmp(v[i]->overload, want[w]) == 0;
    }
    cr_assert(found, "aten::add.%s missing", want[w]);
  }
  cr_assert(qg_op_is_known(sym("aten::conv2d")));
  cr_assert_not(qg_op_is_known(sym("aten::no_such_op")));
  cr_assert_not(qg_op_is_known(QG_SYM_NONE));
  v = qg_op_overloads(sym("aten::no_such_op"), &n);
  cr_assert_null(v);
  cr_assert_eq(n, 0);
  /* Overload lists partition the table. */
  for (size_t i = 0; i < qg_op_registry_size(); i += n) {
    v = qg_op_overloads(qg_op_registry_at(i)->name, &n);
    cr_assert_eq(v[0], qg_op_registry_at(i), "row %zu is not the first of its overloads", i + 1);
    total += n;
  }
  cr_assert_eq(total, qg_op_registry_size());
}

Test(registry, conv2d_arguments_and_defaults) {
  const qg_schema_t *s = overload("aten::conv2d", "");
  const char *names[] = {"input", "weight", "bias", "stride", "padding", "dilation", "groups"};
  const char *defaults[] = {NULL, NULL, "None", "1", "0", "1", "1"};
  cr_assert_eq(s->nargs, 7);
  for (size_t i = 0; i < 7; i++) {
    cr_assert_str_eq(s->args[i].name, names[i]);
    if (defaults[i]) cr_assert_str_eq(s->args[i].default_str, defaults[i]);
    else cr_assert_null(s->args[i].default_str);
    cr_assert_not(s->args[i].kwarg_only);
  }
  cr_assert_eq(s->args[0].type->kind, QG_TYPE_TENSOR);
  cr_assert_eq(s->args[2].type->kind, QG_TYPE_OPTIONAL);
  cr_assert_eq(s->args[2].type->elems[0]->kind, QG_TYPE_TENSOR);
  cr_assert_str_eq(s->args[2].type_str, "Tensor?");
  const qg_schema_arg *stride = arg(s, "stride");
  cr_assert_str_eq(stride->type_str, "int[2]");
  cr_assert_eq(stride->fixed_list_len, 2);
  cr_assert_eq(stride->type->kind, QG_TYPE_LIST);
  cr_assert_eq(stride->type->elems[0]->kind, QG_TYPE_INT);
  cr_assert_eq(arg(s, "groups")->type->kind, QG_TYPE_INT);
  cr_assert_eq(arg(s, "groups")->fixed_list_len, 0);
  cr_assert_eq(s->nreturns, 1);
  cr_assert_str_eq(s->returns[0].name, "");
  cr_assert_eq(s->flags, 0u);
  const qg_schema_t *p = overload("aten::conv2d", "padding");
  cr_assert_str_eq(arg(p, "padding")->default_str, "\"valid\"");
  cr_assert_eq(arg(p, "padding")->type->kind, QG_TYPE_STR);
}

Test(registry, add_tensor_alpha_is_kwarg_only) {
  const qg_schema_t *s = overload("aten::add", "Tensor");
  const qg_schema_arg *alpha = arg(s, "alpha");
  cr_assert(alpha->kwarg_only);
  cr_assert_str_eq(alpha->default_str, "1");
  cr_assert_eq(alpha->type->kind, QG_TYPE_NUMBER);
  cr_assert_not(arg(s, "other")->kwarg_only);
  cr_assert_not(arg(overload("aten::add", "Scalar"), "alpha")->kwarg_only);
  const qg_schema_t *out = overload("aten::add", "out");
  cr_assert_str_eq(arg(out, "out")->alias, "a!");
  cr_assert_str_eq(out->returns[0].alias, "a!");
  cr_assert_null(arg(out, "self")->alias);
  /* In-place variants are flagged; out= variants are not. */
  cr_assert(overload("aten::add_", "Tensor")->flags & QG_OP_INPLACE);
  cr_assert(overload("aten::relu_", "")->flags & QG_OP_INPLACE);
  cr_assert_not(out->flags & QG_OP_INPLACE);
  cr_assert(overload("aten::dropout", "")->flags & QG_OP_NONDET);
  /* Type variables: aten::append.t(t[](a!) self, t(c -> *) el) -> t[](a!) */
  const qg_schema_t *ap = overload("aten::append", "t");
  cr_assert_eq(ap->args[0].type->kind, QG_TYPE_LIST);
  cr_assert_eq(ap->args[0].type->elems[0]->kind, QG_TYPE_VAR);
  cr_assert_str_eq(ap->args[0].alias, "a!");
  cr_assert_str_eq(ap->args[1].alias, "c -> *");
  cr_assert(ap->flags & QG_OP_INPLACE);
}

Test(registry, quantized_linear) {
  const qg_schema_t *s = overload("quantized::linear", "");
  cr_assert_eq(s->nargs, 4);
  cr_assert_str_eq(s->args[0].name, "X");
  cr_assert_str_eq(s->args[1].name, "W_prepack");
  cr_assert_eq(s->args[1].type->kind, QG_TYPE_CLASS);
  cr_assert_str_eq(s->args[1].type->qualname, "__torch__.torch.classes.quantized.LinearPackedParamsBase");
  cr_assert_str_eq(s->args[2].name, "Y_scale_i");
  cr_assert_eq(s->args[2].type->kind, QG_TYPE_FLOAT);
  cr_assert_str_eq(s->args[3].name, "Y_zero_point_i");
  cr_assert_eq(s->args[3].type->kind, QG_TYPE_INT);
  cr_assert_eq(s->nreturns, 1);
  cr_assert_str_eq(s->returns[0].name, "Y");
  cr_assert(s->flags & QG_OP_QUANTIZED);
  cr_assert_not(s->flags & QG_OP_SPECIAL);
  cr_assert(overload("aten::quantize_per_tensor", "")->flags & QG_OP_QUANTIZED);
  cr_assert(overload("aten::dequantize", "self")->flags & QG_OP_QUANTIZED);
  cr_assert(overload("aten::dequantize", "list")->flags & QG_OP_QUANTIZED);
  cr_assert_eq(overload("aten::dequantize", "list")->args[0].type->kind, QG_TYPE_LIST);
}

Test(registry, special_prim_ops) {
  const char *special[] = {"prim::If", "prim::Loop", "prim::Constant", "prim::GetAttr", "prim::SetAttr",
                           "prim::CallMethod", "prim::CallFunction", "prim::ListConstruct",
                           "prim::ListUnpack", "prim::TupleConstruct", "prim::DictConstruct",
                           "prim::fork", "prim::Param", "prim::Return", "prim::Enter", "prim::Exit",
                           "prim::isinstance"};
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
    const qg_schema_t *s = overload(special[i], "");
    cr_assert(s->flags & QG_OP_SPECIAL, "%s is not special", special[i]);
    cr_assert(s->is_vararg && s->is_varret, "%s", special[i]);
    cr_assert_eq(s->nargs, 0);
    cr_assert_eq(s->nreturns, 0);
  }
  cr_assert_str_eq(overload("prim::If", "")->text, "prim::If(...) -> ...");
  /* prim ops with a registered schema keep it and are not special. */
  const qg_schema_t *tu = overload("prim::TupleUnpack", "");
  cr_assert_not(tu->flags & QG_OP_SPECIAL);
  cr_assert_eq(tu->nargs, 1);
  cr_assert(tu->is_varret);
  cr_assert_not(overload("prim::NumToTensor", "Scalar")->flags & QG_OP_SPECIAL);
  cr_assert_eq(overload("aten::wait", "")->args[0].type->kind, QG_TYPE_FUTURE);
}

Test(registry, every_seed_op_is_known) {
  QG_ASSERT_OK(qg_op_registry_init());
  char *text = qg_test_read_file(qg_test_fixture("schema/seed_ops.txt"), NULL);
  size_t count = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == '#' || line[0] == '\0') continue;
    cr_assert(qg_op_is_known(sym(line)), "seed op %s is not in the registry", line);
    count++;
  }
  free(text);
  cr_assert_gt(count, 50, "seed_ops.txt lists only %zu ops", count);
}

Test(registry, model_and_pass_ops_are_known) {
  QG_ASSERT_OK(qg_op_registry_init());
  const char *ops[] = {
      "aten::batch_norm", "aten::max_pool2d", "aten::adaptive_avg_pool2d", "aten::flatten",
      "aten::hardtanh_", "aten::linear", "aten::layer_norm", "aten::softmax", "aten::dropout",
      "aten::_transformer_encoder_layer_fwd", "aten::_native_multi_head_attention",
      "aten::_choose_qparams_per_tensor", "aten::_saturate_weight_to_fp16",
      "aten::quantize_per_channel", "quantized::conv2d_relu", "quantized::conv2d_prepack",
      "quantized::conv2d_unpack", "quantized::linear_dynamic_fp16", "quantized::linear_prepack_fp16",
      "quantized::add_relu", "quantized::add_scalar", "quantized::mul", "quantized::cat",
      "quantized::batch_norm2d", "quantized::hardswish", "quantized::elu", "quantized::layer_norm",
      "quantized::group_norm", "quantized::instance_norm", "quantized::embedding_bag_byte_rowwise_offsets",
      "quantized::embedding_bag_4bit_rowwise_offsets", "quantized::embedding_bag_byte_prepack",
      "aten::append", "aten::len", "aten::__getitem__", "aten::size", "aten::dim", "aten::format",
      "aten::warn", "aten::eq", "aten::ne", "aten::lt", "aten::__is__", "aten::__isnot__", "aten::Int",
      "aten::Float", "aten::Bool", "aten::__not__", "prim::min", "prim::max", "prim::dtype",
      "prim::device", "prim::NumToTensor", "prim::TupleIndex", "prim::RaiseException",
      "prim::Uninitialized", "prim::unchecked_cast", "aten::wait", "prim::TypeCheck", "prim::BailOut",
      "prim::Guard", "prim::AutogradZero", "prim::ConstantChunk", "prim::MMTreeReduce",
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    cr_assert(qg_op_is_known(sym(ops[i])), "%s is not in the registry", ops[i]);
}

/* Concurrent first use: every thread sees the same, complete registry. */
static void *init_thread(void *ud) {
  (void)ud;
  if (qg_op_registry_init() != QG_OK) return NULL;
  return (void *)qg_op_registry_at(qg_op_registry_size() - 1);
}

Test(registry, concurrent_init) {
  pthread_t t[8];
  void *res[8];
  for (int i = 0; i < 8; i++) cr_assert_eq(pthread_create(&t[i], NULL, init_thread, NULL), 0);
  for (int i = 0; i < 8; i++) cr_assert_eq(pthread_join(t[i], &res[i]), 0);
  for (int i = 0; i < 8; i++) {
    cr_assert_not_null(res[i]);
    cr_assert_eq(res[i], res[0]);
  }
}

/* Out of memory while building the registry leaves it unbuilt, and a later call succeeds. */
Test(registry, init_retries_after_oom) {
  qg__alloc_fail_after(50);
  qg_status st = qg_op_registry_init();
  qg__alloc_fail_after(-1);
  cr_assert_eq(st, QG_STATUS_OOM, "%s", qg_status_name(st));
  cr_assert_eq(qg_op_registry_size(), 0);
  size_t n = 0;
  cr_assert_null(qg_op_overloads(sym("aten::add"), &n));
  QG_ASSERT_OK(qg_op_registry_init());
  cr_assert_gt(qg_op_registry_size(), 1000);
}

/* ---- the parser on hand-written schemas ------------------------------------------------- */

Test(parse, syntax_forms_round_trip) {
  const char *forms[] = {
      "aten::x(Tensor input, int[2] stride=1, int[2] padding=[0, 0], str padding_mode=\"zeros\") -> Tensor",
      "aten::x(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, "
      "MemoryFormat? memory_format=contiguous_format) -> Tensor",
      "aten::x(Tensor self, float eps=1e-05, float lo=-inf, float hi=inf, bool b=True, bool c=False, "
      "Scalar alpha=1, str s='single', str e=\"a\\\"b\") -> Tensor",
      "aten::x.out(Tensor(a!) self, Tensor(b -> *) other, *, Tensor(a!) out) -> Tensor(a!)",
      "aten::x(Tensor self) -> (Tensor values, Tensor indices)",
      "aten::x(Tensor self) -> (Tensor, Tensor)",
      "aten::x(Tensor self) -> ()",
      "aten::x(Tensor self) -> Tensor Y",
      "aten::x(Tensor self) -> ((Tensor, t))",
      "aten::x(Tensor self) -> (Tensor, ...)",
      "aten::format(str self, ...) -> str",
      "prim::If(...) -> ...",
      "aten::x() -> NoneType",
      "aten::x(t[](a!) l, Dict(str, t)(a) d, Future(t) f, (int, tVal)[] pairs, t1 a, t2 b) -> t(*)",
      "aten::x(Tensor?[] indices, Tensor?[]? maybe, SymInt[] size, int[1]? dim=None, t(a)? x=None) -> Tensor[](a)",
      "aten::x(__torch__.torch.classes.quantized.Conv2dPackedParamsBase packed) -> Tensor(b|a)",
      "forward(Tensor x) -> Tensor",
  };
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    char *r = reprint(forms[i]);
    cr_assert_str_eq(r, forms[i]);
    free(r);
  }
}

Test(parse, whitespace_is_canonicalized) {
  char *r = reprint("  aten::x.ov ( Tensor ( a ! ) self ,int [ 2 ] k = [ 1 ,2 ] , * , Dict( str,t ) ? d = None)->"
                    "( Tensor a , Tensor(b -> *)  ) ");
  cr_assert_str_eq(r, "aten::x.ov(Tensor(a!) self, int[2] k=[1, 2], *, Dict(str, t)? d=None) -> "
                      "(Tensor a, Tensor(b -> *))");
  free(r);
}

Test(parse, fields) {
  qg_cu_t *cu;
  qg_schema_t *s;
  QG_ASSERT_OK(qg_cu_create(&cu));
  QG_ASSERT_OK(qg_schema_parse(cu, "ns::op.over(Tensor(a!)[] out, *, int x=3, ...) -> (int, ...)", &s));
  cr_assert_eq(s->name, sym("ns::op"));
  cr_assert_str_eq(s->overload, "over");
  cr_assert_eq(s->nargs, 2);
  cr_assert_str_eq(s->args[0].type_str, "Tensor(a!)[]");
  cr_assert_str_eq(s->args[0].alias, "a!");
  cr_assert_eq(s->args[0].type->kind, QG_TYPE_LIST);
  cr_assert_not(s->args[0].kwarg_only);
  cr_assert(s->args[1].kwarg_only);
  cr_assert_str_eq(s->args[1].default_str, "3");
  cr_assert(s->is_vararg);
  cr_assert(s->is_varret);
  cr_assert_eq(s->nreturns, 1);
  cr_assert_eq(s->flags, 0u);
  qg_schema_free(s);
  qg_cu_release(cu);
  qg_schema_free(NULL);
}

Test(parse, errors_name_the_column) {
  const char *m = parse_error("aten::x(int a", QG_STATUS_PARSE);
  cr_assert(strstr(m, "schema 'aten::x(int a' col 14") && strstr(m, "expected ')'"), "%s", m);
  m = parse_error("aten::x(Tensr a) -> Tensor", QG_STATUS_TYPE);
  cr_assert(strstr(m, "col 9") && strstr(m, "unknown type 'Tensr'"), "%s", m);
  m = parse_error("aten::x(int a=@) -> Tensor", QG_STATUS_PARSE);
  cr_assert(strstr(m, "col 15") && strstr(m, "bad default"), "%s", m);
  m = parse_error("aten::x(int a=None) -> Tensor", QG_STATUS_TYPE);
  cr_assert(strstr(m, "col 15") && strstr(m, "default None for non-optional type 'int'"), "%s", m);
  m = parse_error("aten::x(int a=\"s\") -> int", QG_STATUS_TYPE);
  cr_assert(strstr(m, "string default"), "%s", m);
  m = parse_error("aten::x(int a=1) -> Tensor )", QG_STATUS_PARSE);
  cr_assert(strstr(m, "col 28") && strstr(m, "unexpected ')'"), "%s", m);
  m = parse_error("aten::x(str s=\"abc) -> int", QG_STATUS_PARSE);
  cr_assert(strstr(m, "unterminated string"), "%s", m);
  m = parse_error("aten::x(int a=1e) -> int", QG_STATUS_PARSE);
  cr_assert(strstr(m, "exponent"), "%s", m);
  m = parse_error("aten::x(int) -> int", QG_STATUS_PARSE);
  cr_assert(strstr(m, "col 12") && strstr(m, "expected an argument name"), "%s", m);
  m = parse_error("aten::x(int a) Tensor", QG_STATUS_PARSE);
  cr_assert(strstr(m, "expected '->'"), "%s", m);
  m = parse_error("aten::x(..., int a) -> int", QG_STATUS_PARSE);
  cr_assert(strstr(m, "'...' must be the last"), "%s", m);
  m = parse_error("aten::x(*, *, int a) -> int", QG_STATUS_PARSE);
  cr_assert(strstr(m, "second '*'"), "%s", m);
  m = parse_error("aten::x(int[ a) -> int", QG_STATUS_PARSE);
  cr_assert(strstr(m, "expected ']'"), "%s", m);
  m = parse_error("aten::x(Tensor(a! self) -> int", QG_STATUS_PARSE);
  cr_assert(strstr(m, "expected ')'"), "%s", m);
  m = parse_error("aten::x(Dict(str) d) -> int", QG_STATUS_TYPE);
  cr_assert(strstr(m, "Dict takes 2 type arguments"), "%s", m);
  m = parse_error("aten::x.(int a) -> int", QG_STATUS_PARSE);
  cr_assert(strstr(m, "overload name"), "%s", m);
  m = parse_error("(int a) -> int", QG_STATUS_PARSE);
  cr_assert(strstr(m, "col 1") && strstr(m, "operator name"), "%s", m);
  m = parse_error("aten::x(int a) -> Tensor = 1", QG_STATUS_PARSE);
  cr_assert(strstr(m, "default"), "%s", m);
  m = parse_error("", QG_STATUS_PARSE);
  cr_assert(strstr(m, "operator name"), "%s", m);
  /* Deep nesting is refused, not a stack overflow. */
  char deep[400];
  size_t k = (size_t)snprintf(deep, sizeof deep, "aten::x(");
  for (int i = 0; i < 100; i++) deep[k++] = '(';
  snprintf(deep + k, sizeof deep - k, "int a) -> int");
  m = parse_error(deep, QG_STATUS_PARSE);
  cr_assert(strstr(m, "nested too deeply"), "%s", m);
}

static qg_status parse_print_once(void *ud) {
  const char *text = ud;
  qg_cu_t *cu;
  QG_TRY(qg_cu_create(&cu));
  qg_schema_t *s = NULL;
  qg_status st = qg_schema_parse(cu, text, &s);
  if (st == QG_OK) {
    qg_strbuf b = QG_STRBUF_INIT;
    qg_schema_print(s, &b);
    st = qg_strbuf_ok(&b);
    if (st == QG_OK && strcmp(qg_strbuf_cstr(&b), text) != 0)
      st = qg_set_error(QG_STATUS_CHECK_FAILED, "reprint differs");
    qg_strbuf_free(&b);
  }
  qg_schema_free(s);
  qg_cu_release(cu);
  return st;
}

Test(parse, every_allocation_failure) {
  const char *texts[] = {
      "aten::conv2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=1, int[2] padding=0, "
      "int[2] dilation=1, int groups=1) -> Tensor",
      "aten::x.out(t[](a!) l, Dict(str, t)(a) d, Future(t) f, (int, tVal)[] pairs, *, "
      "__torch__.torch.classes.quantized.LinearPackedParamsBase w, Tensor(a!) out) -> (Tensor(a!) y, Tensor z)",
  };
  for (size_t i = 0; i < 2; i++) {
    size_t runs = qg_test_every_alloc_failure(parse_print_once, (void *)texts[i]);
    cr_assert_gt(runs, 10, "only %zu allocations for schema %zu", runs, i);
  }
}
