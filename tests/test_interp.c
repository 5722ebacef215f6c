/* The interpreter: scalar / list / control-flow semantics against PyTorch-recorded cases
 * (tests/fixtures/interp/cases.json, tools/fixtures/gen_interp_fixtures.py), module calls
 * (CallMethod, interface slots, CallFunction, GetAttr/SetAttr), error messages, allocation
 * failures, node-kind coverage of the fixture graphs, and `quantgraph run`. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "ir/text.h"
#include "module/module.h"
#include "module/module_text.h"
#include "runtime/interp_impl.h"
#include "runtime/runtime.h"
#include "tensor/tensor_ops.h"
#include "util/testutil.h"

/* ---- tagged JSON values (see the generator) ------------------------------------------------ */

static qg_ival decode(const cJSON *j) {
  const cJSON *v = j->child;
  cr_assert(v, "empty tagged value");
  qg_ival out = qg_ival_none();
  if (strcmp(v->string, "none") == 0) return out;
  if (strcmp(v->string, "bool") == 0) return qg_ival_bool(cJSON_IsTrue(v));
  if (strcmp(v->string, "int") == 0) {
    /* ints beyond 2^53 are written as strings (cJSON reads numbers as doubles) */
    if (cJSON_IsString(v)) return qg_ival_int(strtoll(v->valuestring, NULL, 10));
    return qg_ival_int((int64_t)v->valuedouble);
  }
  if (strcmp(v->string, "float") == 0) {
    if (cJSON_IsString(v)) {
      const char *s = v->valuestring;
      return qg_ival_double(strcmp(s, "nan") == 0 ? NAN : strcmp(s, "inf") == 0 ? INFINITY : -INFINITY);
    }
    return qg_ival_double(v->valuedouble);
  }
  if (strcmp(v->string, "str") == 0) {
    QG_ASSERT_OK(qg_ival_string_new(v->valuestring, strlen(v->valuestring), &out));
    return out;
  }
  if (strcmp(v->string, "list") == 0 || strcmp(v->string, "tuple") == 0) {
    QG_ASSERT_OK(qg_ival_list_new(v->string[0] == 'l' ? QG_IVAL_LIST : QG_IVAL_TUPLE, 0, &out));
    for (const cJSON *it = v->child; it; it = it->next) QG_ASSERT_OK(qg_ival_list_push(&out, decode(it)));
    return out;
  }
  if (strcmp(v->string, "dict") == 0) {
    QG_ASSERT_OK(qg_ival_dict_new(&out));
    for (const cJSON *it = v->child; it; it = it->next)
      QG_ASSERT_OK(qg_ival_dict_put(&out, decode(it->child), decode(it->child->next)));
    return out;
  }
  cr_assert_fail("unknown tag %s", v->string);
  return out;
}

/* Equality for results: doubles must be bit-equal (or both NaN). */
static int same(const qg_ival *a, const qg_ival *b) { return qg_ival_equal(a, b); }

static char *describe(const qg_ival *v) {
  qg_strbuf sb = QG_STRBUF_INIT;
  qg_ival_describe(v, &sb);
  return qg_strbuf_detach(&sb);
}

static cJSON *load_cases(void) {
  char *text = qg_test_read_file(qg_test_fixture("interp/cases.json"), NULL);
  cJSON *root = cJSON_Parse(text);
  free(text);
  cr_assert(root, "cases.json does not parse");
  return root;
}

/* Parses the case's graph into a fresh unit holding its helper functions. */
static qg_graph_t *case_graph(const cJSON *c, qg_cu_t *cu) {
  const cJSON *fns = cJSON_GetObjectItem(c, "functions");
  for (const cJSON *f = fns ? fns->child : NULL; f; f = f->next) {
    const char *text = cJSON_GetObjectItem(f, "graph")->valuestring;
    qg_parse_opts po = {0};
    po.cu = cu;
    qg_graph_t *g;
    QG_ASSERT_OK(qg_graph_parse(text, strlen(text), &po, &g));
    qg_type_t *ft;
    QG_ASSERT_OK(qg_cu_define_function(cu, cJSON_GetObjectItem(f, "name")->valuestring, g, &ft));
  }
  const char *text = cJSON_GetObjectItem(c, "graph")->valuestring;
  qg_parse_opts po = {0};
  po.cu = cu;
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_parse(text, strlen(text), &po, &g));
  return g;
}

Test(interp, pytorch_cases) {
  cJSON *root = load_cases();
  const cJSON *cases = cJSON_GetObjectItem(root, "cases");
  int n = 0;
  for (const cJSON *c = cases->child; c; c = c->next, n++) {
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
    qg_cu_t *cu;
    QG_ASSERT_OK(qg_cu_create(&cu));
    qg_graph_t *g = case_graph(c, cu);
    qg_ival inputs[8];
    size_t nin = 0;
    for (const cJSON *in = cJSON_GetObjectItem(c, "inputs")->child; in; in = in->next) inputs[nin++] = decode(in);
    qg_ival out = qg_ival_none();
    cr_assert_eq(qg_graph_noutputs(g), 1, "%s", name);
    qg_status st = qg_run_graph(g, inputs, nin, NULL, &out);
    const cJSON *err = cJSON_GetObjectItem(c, "error");
    if (err) {
      cr_expect_neq(st, QG_OK, "%s: expected error '%s'", name, err->valuestring);
      cr_expect(strstr(qg_last_error(), err->valuestring) != NULL, "%s: error '%s' lacks '%s'", name,
                qg_last_error(), err->valuestring);
      /* every runtime error names the node */
      if (st != QG_OK) cr_expect(strstr(qg_last_error(), "graph: ") == qg_last_error(), "%s: %s", name, qg_last_error());
    } else {
      cr_expect_eq(st, QG_OK, "%s: %s", name, qg_last_error());
      if (st == QG_OK) {
        qg_ival want = decode(cJSON_GetObjectItem(c, "result"));
        char *got_s = describe(&out), *want_s = describe(&want);
        cr_expect(same(&out, &want), "%s: got %s, PyTorch gave %s", name, got_s, want_s);
        qg__free(got_s);
        qg__free(want_s);
        qg_ival_release(&want);
      }
    }
    qg_ival_release(&out);
    for (size_t i = 0; i < nin; i++) qg_ival_release(&inputs[i]);
    qg_graph_destroy(g);
    qg_cu_release(cu);
  }
  cr_assert_gt(n, 80);
  cJSON_Delete(root);
}

/* ---- a hand-written module: CallMethod, interface slots, CallFunction, SetAttr ---------- */

static const char module_text[] =
    "quantgraph module 1\n"
    "\n"
    "interface __torch__.Scaler {\n"
    "  method forward(int x) -> int\n"
    "}\n"
    "\n"
    "module class __torch__.Counter {\n"
    "  attribute count : int\n"
    "  attribute scale : int\n"
    "  attribute training : bool\n"
    "  method forward = graph(%self : __torch__.Counter,\n"
    "      %x.1 : int):\n"
    "  %1 : int = prim::Constant[value=1]()\n"
    "  %c : int = prim::GetAttr[name=\"count\"](%self)\n"
    "  %c2 : int = aten::add(%c, %1)\n"
    "   = prim::SetAttr[name=\"count\"](%self, %c2)\n"
    "  %s : int = prim::GetAttr[name=\"scale\"](%self)\n"
    "  %r : int = aten::mul(%x.1, %s)\n"
    "  return (%r)\n"
    "  method boom = graph(%self : __torch__.Counter,\n"
    "      %x.1 : Tensor):\n"
    "  %1 : int = prim::Constant[value=1]()\n"
    "  %y : Tensor = aten::add(%x.1, %x.1, %1)\n"
    "  %z : Tensor = aten::mm(%y, %x.1)\n"
    "  return (%z)\n"
    "}\n"
    "\n"
    "module class __torch__.M {\n"
    "  module sub : __torch__.Counter\n"
    "  module impl : InterfaceType<Scaler>\n"
    "  attribute training : bool\n"
    "  attribute nums : int[]\n"
    "  method forward = graph(%self : __torch__.M,\n"
    "      %x.1 : int):\n"
    "  %sub : __torch__.Counter = prim::GetAttr[name=\"sub\"](%self)\n"
    "  %a : int = prim::CallMethod[name=\"forward\"](%sub, %x.1)\n"
    "  %impl : InterfaceType<Scaler> = prim::GetAttr[name=\"impl\"](%self)\n"
    "  %b : int = prim::CallMethod[name=\"forward\"](%impl, %a)\n"
    "  %f : Function = prim::Constant[name=\"helper\"]()\n"
    "  %c : int = prim::CallFunction(%f, %b)\n"
    "  %nums : int[] = prim::GetAttr[name=\"nums\"](%self)\n"
    "  %l : int[] = aten::append(%nums, %c)\n"
    "  return (%c)\n"
    "  method tensor_in = graph(%self : __torch__.M,\n"
    "      %x.1 : Float(2, 2, strides=[2, 1], requires_grad=0, device=cpu)):\n"
    "  %sub : __torch__.Counter = prim::GetAttr[name=\"sub\"](%self)\n"
    "  %y : Tensor = prim::CallMethod[name=\"boom\"](%sub, %x.1)\n"
    "  return (%y)\n"
    "  method missing_attr = graph(%self : __torch__.M,\n"
    "      %x.1 : int):\n"
    "  %sub : __torch__.Counter = prim::GetAttr[name=\"sub\"](%self)\n"
    "  %q : int = prim::GetAttr[name=\"nope\"](%sub)\n"
    "  return (%q)\n"
    "  method const_tensor = graph(%self : __torch__.M):\n"
    "  %t : Tensor = prim::Constant[value=<Tensor>]()\n"
    "  return (%t)\n"
    "}\n"
    "\n"
    "function __torch__.helper = graph(%x.1 : int):\n"
    "  %2 : int = prim::Constant[value=7]()\n"
    "  %3 : int = aten::sub(%x.1, %2)\n"
    "  return (%3)\n"
    "\n"
    "root __torch__.M {\n"
    "  sub = __torch__.Counter {\n"
    "    count = 0\n"
    "    scale = 3\n"
    "    training = False\n"
    "  }\n"
    "  impl = __torch__.Counter {\n"
    "    count = 10\n"
    "    scale = 5\n"
    "    training = False\n"
    "  }\n"
    "  training = False\n"
    "  nums = [1]\n"
    "}\n";

static qg_module *load_test_module(void) {
  qg_module_text_opts o = {"test.module", NULL, NULL, 0};
  qg_cu_t *cu;
  qg_ival root;
  QG_ASSERT_OK(qg_module_text_parse(module_text, strlen(module_text), &o, &cu, &root));
  qg_module *m;
  QG_ASSERT_OK(qg_module_create(cu, root, &m));
  return m;
}

Test(interp, module_calls_and_setattr) {
  qg_module *m = load_test_module();
  qg_runner *r;
  QG_ASSERT_OK(qg_runner_create(m, NULL, &r));
  for (int k = 0; k < 3; k++) {
    qg_ival arg = qg_ival_int(2), out = qg_ival_none();
    QG_ASSERT_OK(qg_runner_run(r, NULL, "forward", &arg, 1, &out));
    /* (2 * 3) via sub, * 5 via the interface slot, - 7 via the function */
    cr_assert_eq(out.kind, QG_IVAL_INT);
    cr_assert_eq(out.u.i, 2 * 3 * 5 - 7);
  }
  const qg_ival *count, *icount, *nums;
  QG_ASSERT_OK(qg_module_attr(m, "sub.count", &count));
  QG_ASSERT_OK(qg_module_attr(m, "impl.count", &icount));
  QG_ASSERT_OK(qg_module_attr(m, "nums", &nums));
  cr_assert_eq(count->u.i, 3, "SetAttr mutates the object: %lld", (long long)count->u.i);
  cr_assert_eq(icount->u.i, 13);
  /* aten::append on an attribute list mutates the module's list (aliasing) */
  cr_assert_eq(qg_ival_len(nums), 4);
  /* the runner cached one plan per graph: forward, Counter.forward, helper */
  cr_assert_eq(r->all.len, 3);
  /* running a submodule directly */
  qg_ival arg = qg_ival_int(4), out;
  QG_ASSERT_OK(qg_runner_run(r, "sub", "forward", &arg, 1, &out));
  cr_assert_eq(out.u.i, 12);
  qg_runner_free(r);
  qg_module_free(m);
}

static void expect_error(qg_module *m, const char *method, const qg_ival *args, size_t nargs, qg_status want,
                         const char *const *needles) {
  qg_ival out = qg_ival_none();
  qg_status st = qg_run_method(m, NULL, method, args, nargs, NULL, &out);
  cr_assert_eq(st, want, "%s: got %s: %s", method, qg_status_name(st), qg_last_error());
  for (; *needles; needles++)
    cr_expect(strstr(qg_last_error(), *needles), "%s: '%s' lacks '%s'", method, qg_last_error(), *needles);
}

Test(interp, errors_name_module_method_node) {
  qg_module *m = load_test_module();
  qg_ival two[2] = {qg_ival_int(1), qg_ival_int(2)};
  expect_error(m, "forward", two, 2, QG_STATUS_INVALID_ARGUMENT,
               (const char *const[]){"<root> (forward)", "forward() expects 1 argument (x), got 2", NULL});
  qg_ival s;
  QG_ASSERT_OK(qg_ival_string_new("x", 1, &s));
  expect_error(m, "forward", &s, 1, QG_STATUS_TYPE,
               (const char *const[]){"forward() argument 'x' (position 0) must be int, got str", NULL});
  qg_ival_release(&s);
  /* a detailed tensor input accepts any tensor, as PyTorch's unshaped method schema does (a
   * model traced on one shape runs on others): a dtype the graph cannot compute fails at the
   * node; a non-tensor fails the argument check */
  qg_tensor *t;
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_I64, 2, (int64_t[]){2, 2}, &t));
  qg_ival tv = qg_ival_tensor(t);
  expect_error(m, "tensor_in", &tv, 1, QG_STATUS_UNSUPPORTED,
               (const char *const[]){"aten::mm(%y, %x.1)", "expected a float32 or float64 input, got i64", NULL});
  qg_ival_release(&tv);
  qg_ival an_int = qg_ival_int(1);
  expect_error(m, "tensor_in", &an_int, 1, QG_STATUS_TYPE,
               (const char *const[]){"must be Float(2, 2, strides=[2, 1], requires_grad=0, device=cpu), got int", NULL});
  /* a kernel failure inside a submodule method: names the submodule path, method and node */
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 2, (int64_t[]){2, 2}, &t));
  tv = qg_ival_tensor(t);
  qg_ival out = qg_ival_none();
  qg_status st = qg_run_method(m, NULL, "tensor_in", &tv, 1, NULL, &out);
  if (st == QG_OK) {
    qg_ival_release(&out); /* aten::mm of 2x2 by 2x2 succeeds: fine */
  } else {
    cr_expect(strstr(qg_last_error(), "sub (boom): %"), "%s", qg_last_error());
  }
  qg_ival_release(&tv);
  /* missing attribute */
  qg_ival one = qg_ival_int(1);
  expect_error(m, "missing_attr", &one, 1, QG_STATUS_NOT_FOUND,
               (const char *const[]){"<root> (missing_attr): %q : int = prim::GetAttr[name=\"nope\"](%sub)",
                                     "has no attribute 'nope'", NULL});
  expect_error(m, "const_tensor", NULL, 0, QG_STATUS_UNSUPPORTED,
               (const char *const[]){"prim::Constant[value=<Tensor>]()", "without data", NULL});
  expect_error(m, "nosuch", NULL, 0, QG_STATUS_NOT_FOUND, (const char *const[]){"has no method 'nosuch'", NULL});
  qg_module_free(m);
}

Test(interp, raise_exception_status) {
  static const char g_text[] =
      "graph(%x.1 : int):\n"
      "  %m : str = prim::Constant[value=\"too big\"]()\n"
      "  %c : str = prim::Constant[value=\"builtins.ValueError\"]()\n"
      "   = prim::RaiseException(%m, %c)\n"
      "  return (%x.1)\n";
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_parse(g_text, strlen(g_text), NULL, &g));
  qg_ival in = qg_ival_int(1), out = qg_ival_none();
  cr_assert_eq(qg_run_graph(g, &in, 1, NULL, &out), QG_STATUS_RUNTIME);
  cr_assert(strstr(qg_last_error(), "builtins.ValueError: too big"), "%s", qg_last_error());
  cr_assert(strstr(qg_last_error(), "prim::RaiseException(%m, %c)"), "%s", qg_last_error());
  qg_graph_destroy(g);
}

/* fork / wait run in order and pass values through a Future. */
Test(interp, fork_wait) {
  static const char g_text[] =
      "graph(%x.1 : int):\n"
      "  %f.1 : Future[int] = prim::fork_0(%x.1)\n"
      "  %r : int = aten::wait(%f.1)\n"
      "  return (%r)\n"
      "with prim::fork_0 = graph(%x.1 : int):\n"
      "  %1 : int = prim::Constant[value=3]()\n"
      "  %2 : int = aten::mul(%x.1, %1)\n"
      "  return (%2)\n";
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_parse(g_text, strlen(g_text), NULL, &g));
  qg_ival in = qg_ival_int(5), out = qg_ival_none();
  QG_ASSERT_OK(qg_run_graph(g, &in, 1, NULL, &out));
  cr_assert_eq(out.u.i, 15);
  qg_graph_destroy(g);
}

/* ---- allocation failure at every allocation while running a loop --------------------------- */

static const char loop_text[] =
    "graph(%n.1 : int):\n"
    "  %t : bool = prim::Constant[value=1]()\n"
    "  %0 : int = prim::Constant[value=0]()\n"
    "  %l.1 : int[] = prim::ListConstruct()\n"
    "  %s : int = prim::Loop(%n.1, %t, %0)\n"
    "    block0(%i.1 : int, %acc.1 : int):\n"
    "      %a : int = aten::add(%acc.1, %i.1)\n"
    "      %l2 : int[] = aten::append(%l.1, %a)\n"
    "      %s1 : str = prim::Constant[value=\"{}-{}\"]()\n"
    "      %s2 : str = aten::format(%s1, %i.1, %l.1)\n"
    "      -> (%t, %a)\n"
    "  %tup : (int, int[]) = prim::TupleConstruct(%s, %l.1)\n"
    "  return (%tup)\n";

static qg_status run_loop_once(void *ud) {
  const qg_graph_t *g = ud;
  qg_ival in = qg_ival_int(4), out = qg_ival_none();
  qg_status st = qg_run_graph(g, &in, 1, NULL, &out);
  if (st == QG_OK) {
    cr_assert_eq(out.kind, QG_IVAL_TUPLE);
    cr_assert_eq(out.u.list->items[0].u.i, 6);
    cr_assert_eq(qg_ival_len(&out.u.list->items[1]), 4);
  }
  qg_ival_release(&out);
  return st;
}

Test(interp, every_allocation_failure) {
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_parse(loop_text, strlen(loop_text), NULL, &g));
  QG_ASSERT_OK(qg_op_registry_init());
  size_t runs = qg_test_every_alloc_failure(run_loop_once, g);
  cr_assert_gt(runs, 10);
  qg_graph_destroy(g);
}

/* ---- coverage: every node kind of the fixture graphs has an implementation ------------------ */

typedef struct coverage {
  qg_strbuf missing_scalar; /* prim / scalar ops without an implementation (must stay empty) */
  qg_strbuf missing_tensor; /* tensor ops (engineer atenops's), informative */
} coverage;

static int tensor_op(const qg_node_t *n, const qg_schema_t *s) {
  for (uint32_t i = 0; i < n->ninputs; i++)
    if (qg_type_is_tensor(n->inputs[i]->type)) return 1;
  for (uint32_t i = 0; i < n->noutputs; i++)
    if (qg_type_is_tensor(n->outputs[i]->type)) return 1;
  return s && (s->flags & QG_OP_QUANTIZED);
}

static void note(qg_strbuf *b, const char *what) {
  if (b->data && strstr(b->data, what)) return;
  qg_strbuf_append(b, what);
  qg_strbuf_append(b, " ");
}

static void cover_block(const qg__pblock *pb, coverage *cv) {
  for (size_t i = 0; i < pb->nnodes; i++) {
    const qg__pnode *pn = &pb->nodes[i];
    for (uint32_t k = 0; k < pn->nblocks; k++) cover_block(&pn->blocks[k], cv);
    if (pn->kind != QG_P_MISSING) continue;
    char what[256];
    const qg_schema_t *s = qg__match_schema(pn->node);
    snprintf(what, sizeof what, "%s%s%s", qg_sym_str(pn->node->kind), s && s->overload[0] ? "." : "",
             s ? s->overload : "");
    if (pn->node->kind == QG_SYM_prim_CallFunction) continue; /* standalone text: no unit functions */
    note(tensor_op(pn->node, s) ? &cv->missing_tensor : &cv->missing_scalar, what);
  }
}

static void cover_graph(const char *text, coverage *cv) {
  qg_graph_t *g;
  qg_parse_opts po = {0};
  if (qg_graph_parse(text, strlen(text), &po, &g) != QG_OK) return; /* test_text covers parsing */
  qg__plan *p;
  QG_ASSERT_OK(qg__plan_build(g, &p));
  cover_block(&p->top, cv);
  qg__plan_free(p);
  qg_graph_destroy(g);
}

Test(interp, fixture_node_kinds_are_implemented) {
  coverage cv = {QG_STRBUF_INIT, QG_STRBUF_INIT};
  FILE *ls = popen("ls " QG_FIXTURE_DIR "/seed/*.json " QG_FIXTURE_DIR "/text/pytorch/*.txt", "r");
  cr_assert(ls);
  char path[1024];
  int files = 0;
  while (fgets(path, sizeof path, ls)) {
    path[strcspn(path, "\n")] = 0;
    char *text = qg_test_read_file(path, NULL);
    files++;
    if (strstr(path, ".json")) {
      cJSON *j = cJSON_Parse(text);
      const cJSON *methods = j ? cJSON_GetObjectItem(j, "methods") : NULL;
      for (const cJSON *mm = methods ? methods->child : NULL; mm; mm = mm->next)
        cover_graph(cJSON_GetObjectItem(mm, "graph")->valuestring, &cv);
      const cJSON *fns = j ? cJSON_GetObjectItem(j, "functions") : NULL;
      for (const cJSON *f = fns ? fns->child : NULL; f; f = f->next)
        cover_graph(cJSON_GetObjectItem(f, "graph")->valuestring, &cv);
      cJSON_Delete(j);
    } else {
      cover_graph(text, &cv);
    }
    free(text);
  }
  pclose(ls);
  cr_assert_gt(files, 50);
  if (cv.missing_tensor.len) cr_log_info("tensor ops without an implementation: %s", qg_strbuf_cstr(&cv.missing_tensor));
  cr_expect_eq(cv.missing_scalar.len, 0, "prim/scalar ops without an implementation: %s",
               qg_strbuf_cstr(&cv.missing_scalar));
  qg_strbuf_free(&cv.missing_scalar);
  qg_strbuf_free(&cv.missing_tensor);
}

/* ---- the seed models run end to end where their ops exist ----------------------------------- */

Test(interp, tiny_cnn_matches_pytorch) {
  qg_module *m;
  QG_ASSERT_OK(qg_module_load(QG_FIXTURE_DIR "/../../examples/tiny_cnn.safetensors", &m));
  qg_named_tensors in, exp;
  QG_ASSERT_OK(qg_named_tensors_load(QG_FIXTURE_DIR "/../../examples/tiny_cnn_input.safetensors", &in));
  QG_ASSERT_OK(qg_named_tensors_load(QG_FIXTURE_DIR "/../../examples/tiny_cnn_expected.safetensors", &exp));
  qg_tensor *x = qg_named_tensors_get(&in, "0");
  qg_tensor *want = qg_named_tensors_get(&exp, "0");
  cr_assert(x && want, "the example input and expected output are named \"0\"");
  qg_ival arg = qg_ival_tensor(x), out = qg_ival_none();
  qg_status st = qg_run_method(m, NULL, "forward", &arg, 1, NULL, &out);
  cr_assert_eq(st, QG_OK, "%s", qg_last_error());
  cr_assert_eq(out.kind, QG_IVAL_TENSOR);
  qg_tensor *got = out.u.tensor;
  cr_assert_eq(qg_tensor_numel(got), qg_tensor_numel(want));
  for (int64_t i = 0; i < qg_tensor_numel(want); i++) {
    double a = qg_tensor_get_flat(got, i), b = qg_tensor_get_flat(want, i);
    /* The parity criterion for f32: relative 1e-5 with an absolute floor of 1e-5. */
    cr_assert(fabs(a - b) <= 1e-5 * fmax(1.0, fabs(b)), "element %lld: %.9g vs PyTorch %.9g", (long long)i, a, b);
  }
  qg_ival_release(&out);
  qg_named_tensors_free(&in);
  qg_named_tensors_free(&exp);
  qg_module_free(m);
}

/* ---- quantgraph run ------------------------------------------------------------------------ */

static int run_cli(const char *args, char *err, size_t errlen) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "%s %s 2>&1", QG_CLI_PATH, args);
  FILE *p = popen(cmd, "r");
  cr_assert(p);
  size_t n = fread(err, 1, errlen - 1, p);
  err[n] = 0;
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(interp, cli_run_tiny_cnn) {
  char dir[] = "/tmp/qg_interp_XXXXXX";
  cr_assert(mkdtemp(dir));
  char in_path[256], out_path[256], args[2048], msg[4096];
  snprintf(in_path, sizeof in_path, "%s/in.safetensors", dir);
  snprintf(out_path, sizeof out_path, "%s/out.safetensors", dir);
  qg_named_tensors io;
  QG_ASSERT_OK(qg_named_tensors_load(QG_FIXTURE_DIR "/../../examples/tiny_cnn_input.safetensors", &io));
  QG_ASSERT_OK(qg_named_tensors_save(in_path, &io));
  snprintf(args, sizeof args, "run %s/../../examples/tiny_cnn.safetensors --input %s -o %s --threads 1", QG_FIXTURE_DIR,
           in_path, out_path);
  cr_assert_eq(run_cli(args, msg, sizeof msg), 0, "%s", msg);
  qg_named_tensors out;
  QG_ASSERT_OK(qg_named_tensors_load(out_path, &out));
  cr_assert_eq(out.n, 1);
  cr_assert_str_eq(out.names[0], "0");
  qg_named_tensors_free(&out);
  /* --check against PyTorch's recorded output passes at the parity tolerance, and fails (exit 1,
   * naming the element) when the tolerance is impossibly tight. */
  snprintf(args, sizeof args,
           "run %s/../../examples/tiny_cnn.safetensors --input %s --check %s/../../examples/tiny_cnn_expected.safetensors",
           QG_FIXTURE_DIR, in_path, QG_FIXTURE_DIR);
  cr_assert_eq(run_cli(args, msg, sizeof msg), 0, "%s", msg);
  cr_assert(strstr(msg, "check 0: max abs error") && strstr(msg, ": ok"), "%s", msg);
  strncat(args, " --tolerance 0", sizeof args - strlen(args) - 1);
  cr_assert_eq(run_cli(args, msg, sizeof msg), 1, "%s", msg);
  cr_assert(strstr(msg, "MISMATCH") && strstr(msg, "output '0' element"), "%s", msg);
  /* errors: wrong arity names the method; cuda is refused clearly; missing output is usage */
  snprintf(args, sizeof args, "run %s/../../examples/tiny_cnn.safetensors -o %s", QG_FIXTURE_DIR, out_path);
  cr_assert_eq(run_cli(args, msg, sizeof msg), 1, "%s", msg);
  /* the example bundle carries forward's signature: x is named as missing, without a default */
  cr_assert(strstr(msg, "forward() missing argument 'x' (position 0), which has no default"), "%s", msg);
  snprintf(args, sizeof args, "run %s/../../examples/tiny_cnn.safetensors --input %s -o %s --device cuda",
           QG_FIXTURE_DIR, in_path, out_path);
  cr_assert_eq(run_cli(args, msg, sizeof msg), 1, "%s", msg);
  cr_assert(strstr(msg, "CUDA backend cannot run models yet"), "%s", msg);
  snprintf(args, sizeof args, "run %s/../../examples/tiny_cnn.safetensors --input %s", QG_FIXTURE_DIR, in_path);
  cr_assert_eq(run_cli(args, msg, sizeof msg), 2, "%s", msg);
  qg_named_tensors_free(&io);
  unlink(in_path);
  unlink(out_path);
  rmdir(dir);
}
