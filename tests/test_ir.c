/* The IR core: building graphs through the API, every mutator followed by lint, lint catching
 * each broken invariant, uses, names, clone / insert_graph, attributes (graph attributes
 * included), allocation failure. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/ir.h"
#include "util/testutil.h"

#define LINT_OK(g) QG_ASSERT_OK(qg_graph_lint(g))

static qg_sym_t sym(const char *s) {
  qg_sym_t x;
  QG_ASSERT_OK(qg_sym_intern(s, &x));
  return x;
}

static const char *name_of(const qg_value_t *v) {
  static char buf[8][64];
  static int k;
  char *b = buf[k++ & 7];
  qg_strbuf s = QG_STRBUF_INIT;
  qg_value_print_name(v, &s);
  snprintf(b, 64, "%s", qg_strbuf_cstr(&s));
  qg_strbuf_free(&s);
  return b;
}

/* A structural dump (kinds, value names, types, attribute names, blocks) to compare graphs. */
static void dump_block(const qg_block_t *b, qg_strbuf *out) {
  qg_strbuf_append(out, "(");
  for (size_t i = 0; i < qg_block_ninputs(b); i++)
    qg_strbuf_printf(out, "%%%s:%s ", name_of(qg_block_input(b, i)), qg_block_input(b, i)->type->str);
  qg_strbuf_append(out, ")\n");
  for (qg_node_t *n = qg_block_first(b); n != b->ret; n = n->next) {
    for (uint32_t i = 0; i < n->noutputs; i++)
      qg_strbuf_printf(out, "%%%s:%s ", name_of(n->outputs[i]), n->outputs[i]->type->str);
    qg_strbuf_printf(out, "= %s[", qg_sym_str(n->kind));
    for (uint32_t i = 0; i < n->nattrs; i++) qg_strbuf_printf(out, "%s ", qg_sym_str(n->attrs[i].name));
    qg_strbuf_append(out, "](");
    for (uint32_t i = 0; i < n->ninputs; i++) qg_strbuf_printf(out, "%%%s ", name_of(n->inputs[i]));
    qg_strbuf_append(out, ")\n");
    for (uint32_t i = 0; i < n->nblocks; i++) {
      qg_strbuf_append(out, "block");
      dump_block(n->blocks[i], out);
    }
    for (uint32_t i = 0; i < n->nattrs; i++) { /* graph attributes, recursively */
      const qg_attr *a = &n->attrs[i];
      for (size_t k = 0; a->kind == QG_ATTR_GRAPH ? k < 1 : a->kind == QG_ATTR_GRAPHS && k < a->n; k++) {
        qg_strbuf_printf(out, "%s=graph", qg_sym_str(a->name));
        dump_block(qg_graph_block(a->kind == QG_ATTR_GRAPH ? a->g : a->gs[k]), out);
      }
    }
  }
  qg_strbuf_append(out, "return(");
  for (size_t i = 0; i < qg_block_noutputs(b); i++) qg_strbuf_printf(out, "%%%s ", name_of(qg_block_output(b, i)));
  qg_strbuf_append(out, ")\n");
}

static char *dump(const qg_graph_t *g) {
  qg_strbuf s = QG_STRBUF_INIT;
  dump_block(qg_graph_block(g), &s);
  return qg_strbuf_detach(&s);
}

static qg_node_t *add_node(qg_graph_t *g, const char *kind, size_t nin, qg_value_t *const *in, size_t nout) {
  qg_node_t *n;
  QG_ASSERT_OK(qg_graph_insert_new(g, sym(kind), nin, in, nout, &n));
  return n;
}

/* graph(%x, %y): %z = aten::add(%x, %y); %w = aten::relu(%z); return (%w) */
static qg_graph_t *simple_graph(qg_value_t **x, qg_value_t **y, qg_node_t **add, qg_node_t **relu) {
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_create(NULL, &g));
  QG_ASSERT_OK(qg_graph_add_input(g, "x", qg_type_tensor(), x));
  QG_ASSERT_OK(qg_graph_add_input(g, "y", qg_type_tensor(), y));
  qg_value_t *in[2] = {*x, *y};
  *add = add_node(g, "aten::add", 2, in, 1);
  QG_ASSERT_OK(qg_value_set_name((*add)->outputs[0], "z"));
  *relu = add_node(g, "aten::relu", 1, &(*add)->outputs[0], 1);
  QG_ASSERT_OK(qg_value_set_name((*relu)->outputs[0], "w"));
  QG_ASSERT_OK(qg_graph_register_output(g, (*relu)->outputs[0]));
  LINT_OK(g);
  return g;
}

static void expect_lint(const qg_graph_t *g, const char *needle) {
  qg_status st = qg_graph_lint(g);
  cr_assert_eq(st, QG_STATUS_LINT, "lint passed, expected '%s'", needle);
  cr_assert(strstr(qg_last_error(), needle), "lint message '%s' lacks '%s'", qg_last_error(), needle);
}

Test(ir, build_and_iterate) {
  qg_value_t *x, *y;
  qg_node_t *add, *relu;
  qg_graph_t *g = simple_graph(&x, &y, &add, &relu);
  cr_assert_eq(qg_graph_ninputs(g), 2);
  cr_assert_eq(qg_graph_input(g, 1), y);
  cr_assert_eq(qg_graph_noutputs(g), 1);
  cr_assert_eq(qg_graph_output(g, 0), relu->outputs[0]);
  qg_block_t *b = qg_graph_block(g);
  cr_assert_eq(qg_block_first(b), add);
  cr_assert_eq(add->next, relu);
  cr_assert_eq(relu->next, b->ret);
  cr_assert_eq(b->ret->next, add);
  cr_assert_eq(b->ret->prev, relu);
  cr_assert(qg_node_is_before(add, relu));
  cr_assert(!qg_node_is_before(relu, add));
  cr_assert_eq(x->nuses, 1);
  cr_assert_eq(x->uses[0].user, add);
  cr_assert_eq(y->uses[0].offset, 1);
  cr_assert_eq(add->outputs[0]->node, add);
  cr_assert_eq(qg_node_graph(add), g);
  cr_assert_str_eq(name_of(add->outputs[0]), "z");
  cr_assert_eq(qg_graph_insert_point(g), b->ret);
  qg_graph_destroy(g);
}

Test(ir, if_and_loop_blocks) {
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_create(NULL, &g));
  qg_value_t *c, *x, *n;
  QG_ASSERT_OK(qg_graph_add_input(g, "c", qg_type_bool(), &c));
  QG_ASSERT_OK(qg_graph_add_input(g, "x", qg_type_tensor(), &x));
  QG_ASSERT_OK(qg_graph_add_input(g, "n", qg_type_int(), &n));
  /* %r = prim::If(%c) block0(): %a = aten::relu(%x) -> (%a)  block1(): -> (%x) */
  qg_node_t *ifn = add_node(g, "prim::If", 1, &c, 1);
  qg_block_t *b0, *b1;
  QG_ASSERT_OK(qg_node_add_block(ifn, &b0));
  QG_ASSERT_OK(qg_node_add_block(ifn, &b1));
  qg_node_t *prev = qg_graph_set_insert_point(g, b0->ret);
  qg_node_t *relu = add_node(g, "aten::relu", 1, &x, 1);
  cr_assert_eq(relu->owner, b0);
  QG_ASSERT_OK(qg_block_register_output(b0, relu->outputs[0]));
  QG_ASSERT_OK(qg_block_register_output(b1, x));
  qg_graph_set_insert_point(g, prev);
  LINT_OK(g);
  /* %out = prim::Loop(%n, %c, %r) block0(%i, %acc): %s = aten::add(%acc, %x) -> (%c, %s) */
  qg_value_t *lin[3] = {n, c, ifn->outputs[0]};
  qg_node_t *loop = add_node(g, "prim::Loop", 3, lin, 1);
  qg_block_t *body;
  QG_ASSERT_OK(qg_node_add_block(loop, &body));
  qg_value_t *i, *acc;
  QG_ASSERT_OK(qg_block_add_input(body, "i", qg_type_int(), &i));
  QG_ASSERT_OK(qg_block_add_input(body, "acc", qg_type_tensor(), &acc));
  qg_node_t *s;
  qg_value_t *ain[2] = {acc, x};
  QG_ASSERT_OK(qg_node_create(g, sym("aten::add"), 1, &s));
  QG_ASSERT_OK(qg_node_add_input(s, ain[0]));
  QG_ASSERT_OK(qg_node_add_input(s, ain[1]));
  qg_node_insert_before(s, body->ret);
  QG_ASSERT_OK(qg_block_register_output(body, c));
  QG_ASSERT_OK(qg_block_register_output(body, s->outputs[0]));
  QG_ASSERT_OK(qg_graph_register_output(g, loop->outputs[0]));
  LINT_OK(g);
  /* Cross-block ordering as PyTorch's isBefore. */
  cr_assert(qg_node_is_before(relu, s));
  cr_assert(qg_node_is_before(ifn, s));
  cr_assert(!qg_node_is_before(s, relu));
  cr_assert(!qg_node_is_before(ifn, relu)); /* nested in it: neither before nor after */
  /* A value defined inside a block is not visible after the node. */
  qg_node_t *bad = add_node(g, "aten::neg", 1, &relu->outputs[0], 1);
  expect_lint(g, "not defined before this node");
  qg_node_destroy(bad);
  LINT_OK(g);
  /* Arity: an If needs 2 blocks with as many outputs as the node. */
  qg_block_erase_output(b1, 0);
  expect_lint(g, "block 1 of prim::If has 0 outputs but the node has 1");
  QG_ASSERT_OK(qg_block_register_output(b1, x));
  QG_ASSERT_OK(qg_block_add_input(body, "extra", qg_type_int(), NULL));
  expect_lint(g, "prim::Loop body has 3 inputs, expected 2");
  qg_block_erase_input(body, 2);
  LINT_OK(g);
  /* Destroying the whole loop after dropping its uses frees its block too. */
  qg_graph_erase_output(g, 0);
  qg_node_destroy(loop);
  LINT_OK(g);
  cr_assert_eq(ifn->next, qg_graph_block(g)->ret);
  qg_graph_destroy(g);
}

Test(ir, input_mutators) {
  qg_value_t *x, *y;
  qg_node_t *add, *relu;
  qg_graph_t *g = simple_graph(&x, &y, &add, &relu);
  QG_ASSERT_OK(qg_node_insert_input(add, 0, y)); /* add(%y, %x, %y) */
  LINT_OK(g);
  cr_assert_eq(y->nuses, 2);
  cr_assert_eq(add->inputs[2], y);
  QG_ASSERT_OK(qg_node_replace_input_with(add, y, x)); /* add(%x, %x, %x) */
  LINT_OK(g);
  cr_assert_eq(y->nuses, 0);
  cr_assert_eq(x->nuses, 3);
  QG_ASSERT_OK(qg_node_replace_input(add, 1, y)); /* add(%x, %y, %x) */
  LINT_OK(g);
  qg_node_remove_input(add, 0); /* add(%y, %x) */
  LINT_OK(g);
  cr_assert_eq(add->inputs[0], y);
  cr_assert_eq(x->uses[0].offset, 1);
  qg_node_remove_all_inputs(add);
  LINT_OK(g);
  cr_assert_eq(x->nuses + y->nuses, 0);
  cr_assert_eq(qg_node_insert_input(add, 5, x), QG_STATUS_INVALID_ARGUMENT);
  /* Graph inputs: erase refuses while used, insert at a position. */
  QG_ASSERT_OK(qg_node_add_input(add, x));
  cr_assert_eq(qg_graph_erase_input(g, 0), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "%x"), "%s", qg_last_error());
  QG_ASSERT_OK(qg_graph_erase_input(g, 1));
  qg_value_t *first;
  QG_ASSERT_OK(qg_graph_insert_input(g, 0, "self", qg_type_tensor(), &first));
  LINT_OK(g);
  cr_assert_eq(qg_graph_input(g, 0), first);
  cr_assert_eq(first->offset, 0);
  cr_assert_eq(x->offset, 1);
  qg_graph_destroy(g);
}

Test(ir, output_mutators_and_move) {
  qg_value_t *x, *y;
  qg_node_t *add, *relu;
  qg_graph_t *g = simple_graph(&x, &y, &add, &relu);
  qg_value_t *extra;
  QG_ASSERT_OK(qg_node_add_output(add, qg_type_int(), &extra));
  cr_assert_eq(extra->offset, 1);
  LINT_OK(g);
  qg_node_erase_output(add, 1);
  LINT_OK(g);
  /* A node without users moves freely; moving a user before its producer breaks lint. */
  qg_node_t *c = add_node(g, "prim::Constant", 0, NULL, 1);
  qg_node_move_before(c, add);
  LINT_OK(g);
  cr_assert_eq(qg_block_first(qg_graph_block(g)), c);
  qg_node_move_after(c, relu);
  LINT_OK(g);
  cr_assert_eq(relu->next, c);
  qg_node_move_after(c, qg_graph_block(g)->param); /* after param = first */
  cr_assert_eq(qg_block_first(qg_graph_block(g)), c);
  LINT_OK(g);
  qg_node_move_before(relu, add);
  expect_lint(g, "aten::relu(%z)");
  expect_lint(g, "is not defined before this node");
  qg_node_move_after(relu, add);
  LINT_OK(g);
  qg_node_destroy(c);
  LINT_OK(g);
  /* Insert after a node. */
  qg_node_t *d;
  QG_ASSERT_OK(qg_node_create(g, sym("aten::neg"), 1, &d));
  QG_ASSERT_OK(qg_node_add_input(d, x));
  qg_node_insert_after(d, add);
  cr_assert_eq(add->next, d);
  LINT_OK(g);
  qg_node_destroy(d);
  LINT_OK(g);
  qg_graph_destroy(g);
}

Test(ir, replace_all_uses) {
  qg_value_t *x, *y;
  qg_node_t *add, *relu;
  qg_graph_t *g = simple_graph(&x, &y, &add, &relu);
  qg_node_t *neg = add_node(g, "aten::neg", 1, &x, 1);
  qg_node_move_before(neg, add);
  QG_ASSERT_OK(qg_value_replace_all_uses_with(x, neg->outputs[0]));
  /* neg uses x itself: replacing all uses makes it use itself; undo on that node. */
  QG_ASSERT_OK(qg_node_replace_input(neg, 0, x));
  LINT_OK(g);
  cr_assert_eq(add->inputs[0], neg->outputs[0]);
  cr_assert_eq(x->nuses, 1);
  /* Replace the graph output. */
  QG_ASSERT_OK(qg_value_replace_all_uses_with(relu->outputs[0], add->outputs[0]));
  LINT_OK(g);
  cr_assert_eq(qg_graph_output(g, 0), add->outputs[0]);
  qg_node_destroy(relu);
  LINT_OK(g);
  /* Only uses after a node: y used by add (before neg2) and by mul (after). */
  qg_value_t *in[2] = {y, y};
  qg_node_t *neg2 = add_node(g, "aten::neg", 1, &y, 1);
  qg_node_t *mul = add_node(g, "aten::mul", 2, in, 1);
  QG_ASSERT_OK(qg_value_replace_all_uses_after_node_with(y, neg2, neg2->outputs[0]));
  LINT_OK(g);
  cr_assert_eq(add->inputs[1], y);
  cr_assert_eq(neg2->inputs[0], y);
  cr_assert_eq(mul->inputs[0], neg2->outputs[0]);
  cr_assert_eq(mul->inputs[1], neg2->outputs[0]);
  cr_assert_eq(neg2->outputs[0]->nuses, 2);
  qg_graph_destroy(g);
}

Test(ir, names_follow_pytorch_renaming) {
  /* The sequence and results are torch 1.13's Value.setDebugName. */
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_create(NULL, &g));
  qg_value_t *v[8];
  for (int i = 0; i < 8; i++) QG_ASSERT_OK(qg_graph_add_input(g, NULL, qg_type_tensor(), &v[i]));
  cr_assert_str_eq(name_of(v[3]), "3"); /* unnamed: the unique number */
  QG_ASSERT_OK(qg_value_set_name(v[0], "x"));
  QG_ASSERT_OK(qg_value_set_name(v[1], "x"));
  cr_assert_str_eq(name_of(v[0]), "x.1");
  cr_assert_str_eq(name_of(v[1]), "x");
  QG_ASSERT_OK(qg_value_set_name(v[2], "x"));
  cr_assert_str_eq(name_of(v[1]), "x.3");
  QG_ASSERT_OK(qg_value_set_name(v[3], "x.5"));
  QG_ASSERT_OK(qg_value_set_name(v[4], "x.5"));
  cr_assert_str_eq(name_of(v[3]), "x.6");
  cr_assert_str_eq(name_of(v[4]), "x.5");
  QG_ASSERT_OK(qg_value_set_name(v[5], "x"));
  cr_assert_str_eq(name_of(v[2]), "x.8");
  QG_ASSERT_OK(qg_value_set_name(v[6], "y.1"));
  QG_ASSERT_OK(qg_value_set_name(v[7], "y"));
  QG_ASSERT_OK(qg_value_set_name(v[6], "y"));
  cr_assert_str_eq(name_of(v[6]), "y");
  cr_assert_str_eq(name_of(v[7]), "y.1");
  LINT_OK(g);
  /* Numeric names are kept (the parser reproduces its input). */
  QG_ASSERT_OK(qg_value_set_name(v[0], "37"));
  cr_assert_str_eq(name_of(v[0]), "37");
  /* Clearing frees the name for others. */
  QG_ASSERT_OK(qg_value_set_name(v[0], NULL));
  cr_assert_null(v[0]->name);
  QG_ASSERT_OK(qg_value_set_name(v[1], "37"));
  cr_assert_str_eq(name_of(v[1]), "37");
  LINT_OK(g);
  /* Destroying a named value frees its name. */
  QG_ASSERT_OK(qg_graph_erase_input(g, 1));
  QG_ASSERT_OK(qg_value_set_name(v[2], "37"));
  cr_assert_str_eq(name_of(v[2]), "37");
  LINT_OK(g);
  qg_graph_destroy(g);
}

Test(ir, attributes) {
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_create(NULL, &g));
  qg_node_t *n = add_node(g, "prim::Constant", 0, NULL, 1);
  qg_sym_t value = sym("value"), name = sym("name"), ks = sym("kernel_size");
  QG_ASSERT_OK(qg_node_set_i(n, value, 3));
  QG_ASSERT_OK(qg_node_set_s(n, name, "conv"));
  int64_t k[2] = {3, 3};
  QG_ASSERT_OK(qg_node_set_is(n, ks, k, 2));
  cr_assert_eq(n->nattrs, 3);
  cr_assert_str_eq(qg_node_s(n, "name"), "conv");
  cr_assert_null(qg_node_s(n, "value")); /* wrong kind */
  cr_assert_null(qg_node_s(n, "never_interned_attribute_name"));
  /* Replacing keeps the position and may change the kind. */
  QG_ASSERT_OK(qg_node_set_f(n, value, 2.5));
  cr_assert_eq(n->attrs[0].name, value);
  cr_assert_eq(n->attrs[0].kind, QG_ATTR_FLOAT);
  cr_assert_eq(qg_node_attr(n, value)->f, 2.5);
  k[0] = 7; /* copied, not borrowed */
  cr_assert_eq(qg_node_attr(n, ks)->is[0], 3);
  cr_assert_eq(qg_node_remove_attr(n, name), 1);
  cr_assert_eq(qg_node_remove_attr(n, name), 0);
  cr_assert_eq(n->nattrs, 2);
  cr_assert_eq(n->attrs[1].name, ks);
  /* Tensors are retained. */
  qg_tensor *t;
  int64_t shape[1] = {4};
  QG_ASSERT_OK(qg_tensor_create(QG_DTYPE_F32, 1, shape, &t));
  QG_ASSERT_OK(qg_node_set_t(n, value, t));
  cr_assert_eq(t->refcount, 2);
  qg_tensor *ts[2] = {t, t};
  QG_ASSERT_OK(qg_node_set_ts(n, sym("ts"), ts, 2));
  cr_assert_eq(t->refcount, 4);
  QG_ASSERT_OK(qg_node_set_i(n, value, 1)); /* replacing releases */
  cr_assert_eq(t->refcount, 3);
  const char *ss[2] = {"a", "b"};
  double fs[1] = {0.5};
  const qg_type_t *tys[2] = {qg_type_int(), qg_type_tensor()};
  QG_ASSERT_OK(qg_node_set_ss(n, sym("ss"), ss, 2));
  QG_ASSERT_OK(qg_node_set_fs(n, sym("fs"), fs, 1));
  QG_ASSERT_OK(qg_node_set_tys(n, sym("tys"), tys, 2));
  QG_ASSERT_OK(qg_node_set_ty(n, sym("ty"), qg_type_float()));
  QG_ASSERT_OK(qg_node_set_c(n, sym("c"), 1.0, -2.0));
  QG_ASSERT_OK(qg_node_set_is(n, sym("empty"), NULL, 0));
  cr_assert_str_eq(qg_node_attr(n, sym("ss"))->ss[1], "b");
  cr_assert_eq(qg_node_attr(n, sym("c"))->f2, -2.0);
  cr_assert_eq(qg_node_attr(n, sym("empty"))->n, 0);
  cr_assert_eq(qg_node_set_t(n, value, NULL), QG_STATUS_INVALID_ARGUMENT);
  LINT_OK(g);
  /* Clone copies (and retains) attributes. */
  qg_graph_t *c;
  QG_ASSERT_OK(qg_graph_clone(g, &c));
  cr_assert_eq(t->refcount, 5);
  qg_graph_destroy(c);
  cr_assert_eq(t->refcount, 3);
  qg_graph_destroy(g); /* releases via the never-destroyed node's attributes */
  cr_assert_eq(t->refcount, 1);
  qg_tensor_release(t);
}

static qg_graph_t *control_flow_graph(void) {
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_create(NULL, &g));
  qg_value_t *c, *x;
  QG_ASSERT_OK(qg_graph_add_input(g, "c", qg_type_bool(), &c));
  QG_ASSERT_OK(qg_graph_add_input(g, "x.1", qg_type_tensor(), &x));
  qg_node_t *ifn = add_node(g, "prim::If", 1, &c, 1);
  QG_ASSERT_OK(qg_value_set_name(ifn->outputs[0], "r"));
  ifn->scope = qg_graph_strdup(g, "__module.conv", 13);
  ifn->source.comment = qg_graph_strdup(g, "m.py:3:4", 8);
  qg_block_t *b0, *b1;
  QG_ASSERT_OK(qg_node_add_block(ifn, &b0));
  QG_ASSERT_OK(qg_node_add_block(ifn, &b1));
  qg_node_t *prev = qg_graph_set_insert_point(g, b0->ret);
  qg_node_t *relu = add_node(g, "aten::relu", 1, &x, 1);
  QG_ASSERT_OK(qg_value_set_name(relu->outputs[0], "a"));
  QG_ASSERT_OK(qg_node_set_s(relu, sym("name"), "r"));
  QG_ASSERT_OK(qg_block_register_output(b0, relu->outputs[0]));
  QG_ASSERT_OK(qg_block_register_output(b1, x));
  qg_graph_set_insert_point(g, prev);
  qg_node_t *k = add_node(g, "prim::Constant", 0, NULL, 1);
  QG_ASSERT_OK(qg_node_set_i(k, sym("value"), 1));
  qg_value_set_type(k->outputs[0], qg_type_int());
  qg_value_t *in[3] = {ifn->outputs[0], x, k->outputs[0]};
  qg_node_t *add = add_node(g, "aten::add", 3, in, 1);
  QG_ASSERT_OK(qg_graph_register_output(g, add->outputs[0]));
  LINT_OK(g);
  return g;
}

Test(ir, clone_is_structurally_equal) {
  qg_graph_t *g = control_flow_graph();
  qg_graph_t *c;
  QG_ASSERT_OK(qg_graph_clone(g, &c));
  LINT_OK(c);
  cr_assert_eq(qg_graph_cu(c), qg_graph_cu(g));
  char *a = dump(g), *b = dump(c);
  cr_assert_str_eq(a, b);
  /* Deep: the copy has its own nodes and strings. */
  qg_node_t *ifc = qg_block_first(qg_graph_block(c));
  cr_assert_neq(ifc, qg_block_first(qg_graph_block(g)));
  cr_assert_str_eq(ifc->scope, "__module.conv");
  cr_assert_str_eq(ifc->source.comment, "m.py:3:4");
  qg__free(a);
  qg__free(b);
  qg_graph_destroy(g); /* the clone keeps the unit alive */
  LINT_OK(c);
  qg_graph_destroy(c);
}

Test(ir, insert_graph_inlines) {
  qg_graph_t *callee = control_flow_graph();
  qg_graph_t *dst;
  QG_ASSERT_OK(qg_graph_create(NULL, &dst));
  qg_value_t *c, *x;
  QG_ASSERT_OK(qg_graph_add_input(dst, "c", qg_type_bool(), &c));
  QG_ASSERT_OK(qg_graph_add_input(dst, "a", qg_type_tensor(), &x));
  qg_value_t *in[2] = {c, x};
  qg_value_t *out1, *out2;
  QG_ASSERT_OK(qg_graph_insert_graph(dst, callee, in, &out1));
  LINT_OK(dst);
  /* Setting the copied name "a" renamed the holder (the input), as PyTorch does. */
  cr_assert_str_eq(name_of(x), "a.1");
  QG_ASSERT_OK(qg_graph_insert_graph(dst, callee, in, &out2));
  LINT_OK(dst);
  cr_assert_neq(out1, out2);
  QG_ASSERT_OK(qg_graph_register_output(dst, out1));
  QG_ASSERT_OK(qg_graph_register_output(dst, out2));
  LINT_OK(dst);
  size_t count = 0;
  for (qg_node_t *n = qg_block_first(qg_graph_block(dst)); n != qg_graph_block(dst)->ret; n = n->next) count++;
  cr_assert_eq(count, 6);
  cr_assert_eq(out1->node->kind, QG_SYM_aten_add);
  cr_assert_eq(out1->node->inputs[1], x);
  /* Class-free types import into the other unit; the If keeps its blocks. */
  qg_node_t *ifn = qg_block_first(qg_graph_block(dst));
  cr_assert_eq(ifn->nblocks, 2);
  cr_assert_eq(qg_block_output(ifn->blocks[1], 0), x);
  /* Inserting at an insertion point inside a block. */
  qg_node_t *prev = qg_graph_set_insert_point(dst, ifn->blocks[0]->ret);
  qg_value_t *out3;
  QG_ASSERT_OK(qg_graph_insert_graph(dst, callee, in, &out3));
  qg_graph_set_insert_point(dst, prev);
  LINT_OK(dst);
  cr_assert_eq(out3->node->owner, ifn->blocks[0]);
  cr_assert_eq(qg_graph_insert_graph(dst, dst, in, &out3), QG_STATUS_INVALID_ARGUMENT);
  qg_graph_destroy(callee);
  qg_graph_destroy(dst);
}

Test(ir, insert_graph_imports_class_types) {
  qg_cu_t *a, *b;
  QG_ASSERT_OK(qg_cu_create(&a));
  QG_ASSERT_OK(qg_cu_create(&b));
  qg_type_t *ma, *mb;
  QG_ASSERT_OK(qg_cu_define_class(a, "__torch__.M", 1, &ma));
  qg_graph_t *src, *dst;
  QG_ASSERT_OK(qg_graph_create(a, &src));
  QG_ASSERT_OK(qg_graph_create(b, &dst));
  qg_value_t *self, *dself;
  QG_ASSERT_OK(qg_graph_add_input(src, "self", ma, &self));
  const qg_type_t *lst;
  QG_ASSERT_OK(qg_type_list(a, ma, &lst));
  qg_node_t *n = add_node(src, "prim::ListConstruct", 1, &self, 1);
  qg_value_set_type(n->outputs[0], lst);
  QG_ASSERT_OK(qg_node_set_ty(n, sym("ty"), ma));
  QG_ASSERT_OK(qg_graph_register_output(src, n->outputs[0]));
  QG_ASSERT_OK(qg_graph_add_input(dst, "self", qg_type_tensor(), &dself));
  qg_value_t *out;
  /* The class is not defined in b: a type error, and dst is left as it was. */
  cr_assert_eq(qg_graph_insert_graph(dst, src, &dself, &out), QG_STATUS_TYPE);
  cr_assert_eq(qg_block_first(qg_graph_block(dst)), qg_graph_block(dst)->ret);
  LINT_OK(dst);
  QG_ASSERT_OK(qg_cu_define_class(b, "__torch__.M", 1, &mb));
  QG_ASSERT_OK(qg_graph_insert_graph(dst, src, &dself, &out));
  cr_assert_eq(out->type->cu, b);
  cr_assert_str_eq(out->type->str, "__torch__.M[]");
  cr_assert_eq(qg_node_attr(out->node, sym("ty"))->ty, mb);
  LINT_OK(dst);
  qg_graph_destroy(src);
  qg_graph_destroy(dst);
  qg_cu_release(a);
  qg_cu_release(b);
}

Test(ir, lint_catches_corruption) {
  qg_value_t *x, *y;
  qg_node_t *add, *relu;
  qg_graph_t *g = simple_graph(&x, &y, &add, &relu);
  qg_block_t *b = qg_graph_block(g);

  x->nuses--; /* the use of x by add vanishes */
  expect_lint(g, "input 0 (%x) has 0 matching entries in its use list");
  x->nuses++;
  LINT_OK(g);

  x->uses[0].offset = 1; /* the use points at the wrong slot */
  expect_lint(g, "has use 0 at input 1 of aten::add, which is not this value");
  x->uses[0].offset = 0;

  int64_t topo = relu->topo;
  relu->topo = add->topo;
  expect_lint(g, "topological position");
  relu->topo = topo;

  relu->owner = NULL; /* caught first through add's use list */
  expect_lint(g, "output 0 (%z) has use 0 by a node that is not in the graph");
  qg_graph_t *other;
  QG_ASSERT_OK(qg_graph_create(NULL, &other));
  relu->owner = qg_graph_block(other);
  expect_lint(g, "owner is not the block that lists it");
  relu->owner = b;
  qg_graph_destroy(other);

  qg_node_t *saved = relu->prev;
  relu->prev = relu;
  expect_lint(g, "prev pointer does not point to the previous node");
  relu->prev = saved;

  add->outputs[0]->offset = 3;
  expect_lint(g, "records producer offset 3");
  add->outputs[0]->offset = 0;

  const qg_type_t *ty = add->outputs[0]->type;
  add->outputs[0]->type = NULL;
  expect_lint(g, "has no type");
  add->outputs[0]->type = ty;

  const char *nm = x->name;
  x->name = "not_registered";
  expect_lint(g, "named 'not_registered'");
  x->name = nm;

  b->param->kind = QG_SYM_prim_Constant;
  expect_lint(g, "param sentinel has the wrong kind");
  b->param->kind = QG_SYM_prim_Param;

  /* A use by a node that is not in any block. */
  qg_node_t *floating;
  QG_ASSERT_OK(qg_node_create(g, sym("aten::neg"), 1, &floating));
  QG_ASSERT_OK(qg_node_add_input(floating, x));
  expect_lint(g, "has use 1 by a node that is not in the graph");
  qg_node_destroy(floating);

  /* prim::If with one block. */
  qg_node_t *ifn = add_node(g, "prim::If", 1, &y, 0);
  qg_block_t *blk;
  QG_ASSERT_OK(qg_node_add_block(ifn, &blk));
  expect_lint(g, "prim::If must have 2 blocks, has 1");
  QG_ASSERT_OK(qg_node_add_block(ifn, &blk));
  LINT_OK(g);
  blk->owning_node = add;
  expect_lint(g, "owning node pointer is wrong");
  blk->owning_node = ifn;

  /* prim::Loop without its condition input. */
  qg_node_t *loop = add_node(g, "prim::Loop", 1, &y, 0);
  QG_ASSERT_OK(qg_node_add_block(loop, &blk));
  expect_lint(g, "prim::Loop needs a trip count and a condition input");
  qg_node_destroy(loop);

  /* Messages name the node with its outputs and inputs. */
  x->nuses--;
  expect_lint(g, "node '%z = aten::add(%x, %y)'");
  x->nuses++;
  LINT_OK(g);
  qg_graph_destroy(g);
}

Test(ir, topo_positions_survive_many_inserts) {
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_create(NULL, &g));
  qg_node_t *first = add_node(g, "prim::Constant", 0, NULL, 1);
  qg_node_t *last = add_node(g, "prim::Constant", 0, NULL, 1);
  /* Always inserting right before `last` halves the gap each time: forces renumbering. */
  qg_node_t *prev = first;
  for (int i = 0; i < 200; i++) {
    qg_node_t *n;
    QG_ASSERT_OK(qg_node_create(g, QG_SYM_prim_Constant, 1, &n));
    qg_node_insert_before(n, last);
    cr_assert(qg_node_is_before(prev, n));
    cr_assert(qg_node_is_before(n, last));
    prev = n;
  }
  /* And at the front. */
  for (int i = 0; i < 100; i++) {
    qg_node_t *n;
    QG_ASSERT_OK(qg_node_create(g, QG_SYM_prim_Constant, 1, &n));
    qg_node_insert_before(n, qg_block_first(qg_graph_block(g)));
    cr_assert(qg_node_is_before(n, first));
  }
  LINT_OK(g);
  qg_graph_destroy(g);
}

static int count_nodes(qg_node_t *n, void *ud) {
  (void)n;
  return ++*(int *)ud == 100 ? 7 : 0;
}

static int stop_at_relu(qg_node_t *n, void *ud) {
  *(qg_node_t **)ud = n;
  return n->kind == QG_SYM_aten_relu ? 42 : 0;
}

Test(ir, walk_is_preorder) {
  qg_graph_t *g = control_flow_graph();
  int count = 0;
  cr_assert_eq(qg_graph_walk(g, count_nodes, &count), 0);
  cr_assert_eq(count, 4); /* If, relu (nested), Constant, add */
  qg_node_t *seen = NULL;
  cr_assert_eq(qg_graph_walk(g, stop_at_relu, &seen), 42);
  cr_assert_eq(seen->kind, QG_SYM_aten_relu);
  qg_graph_destroy(g);
}

Test(ir, node_create_rejects_no_kind) {
  qg_graph_t *g;
  qg_node_t *n;
  QG_ASSERT_OK(qg_graph_create(NULL, &g));
  cr_assert_eq(qg_node_create(g, QG_SYM_NONE, 0, &n), QG_STATUS_INVALID_ARGUMENT);
  /* Nodes created and never inserted are freed with the graph (LeakSanitizer checks). */
  QG_ASSERT_OK(qg_node_create(g, QG_SYM_prim_Constant, 2, &n));
  QG_ASSERT_OK(qg_node_set_s(n, sym("name"), "dangling"));
  qg_graph_destroy(g);
}

/* Builds, mutates, clones and inlines; must free everything on any failure. */
static qg_status build_graph(void *ud) {
  (void)ud;
  qg_graph_t *g = NULL, *c = NULL, *d = NULL;
  qg_status st;
  qg_value_t *x, *cond, *outs[1];
  qg_node_t *ifn, *n, *loop;
  qg_block_t *b0, *b1, *body;
  qg_sym_t value;
#define T(e)                                                                                      \
  do {                                                                                            \
    if ((st = (e)) != QG_OK) goto out;                                                            \
  } while (0)
  T(qg_sym_intern("value", &value));
  T(qg_graph_create(NULL, &g));
  T(qg_graph_add_input(g, "cond", qg_type_bool(), &cond));
  T(qg_graph_add_input(g, "x", qg_type_tensor(), &x));
  T(qg_graph_insert_new(g, QG_SYM_prim_If, 1, &cond, 1, &ifn));
  T(qg_value_set_name(ifn->outputs[0], "r"));
  T(qg_node_add_block(ifn, &b0));
  T(qg_node_add_block(ifn, &b1));
  qg_node_t *prev = qg_graph_set_insert_point(g, b0->ret);
  st = qg_graph_insert_new(g, QG_SYM_aten_relu, 1, &x, 1, &n);
  qg_graph_set_insert_point(g, prev);
  if (st != QG_OK) goto out;
  T(qg_block_register_output(b0, n->outputs[0]));
  T(qg_block_register_output(b1, x));
  T(qg_graph_insert_new(g, QG_SYM_prim_Constant, 0, NULL, 1, &n));
  T(qg_node_set_i(n, value, 4));
  int64_t is[3] = {1, 2, 3};
  T(qg_node_set_is(n, value, is, 3));
  const char *ss[1] = {"s"};
  T(qg_node_set_ss(n, QG_SYM_prim_Constant, ss, 1));
  qg_value_t *lin[3] = {n->outputs[0], cond, ifn->outputs[0]};
  T(qg_graph_insert_new(g, QG_SYM_prim_Loop, 3, lin, 1, &loop));
  T(qg_node_add_block(loop, &body));
  qg_value_t *i, *acc;
  T(qg_block_add_input(body, "i", qg_type_int(), &i));
  T(qg_block_add_input(body, "acc", qg_type_tensor(), &acc));
  T(qg_block_register_output(body, cond));
  T(qg_block_register_output(body, acc));
  T(qg_value_set_name(loop->outputs[0], "x"));
  T(qg_graph_register_output(g, loop->outputs[0]));
  T(qg_value_replace_all_uses_with(x, acc));
  T(qg_value_replace_all_uses_with(acc, x));
  T(qg_graph_lint(g));
  T(qg_graph_clone(g, &c));
  T(qg_graph_create(qg_graph_cu(g), &d));
  qg_value_t *din[2];
  T(qg_graph_add_input(d, "cond", qg_type_bool(), &din[0]));
  T(qg_graph_add_input(d, "x", qg_type_tensor(), &din[1]));
  T(qg_graph_insert_graph(d, g, din, outs));
  T(qg_graph_insert_graph(d, c, din, outs));
  T(qg_graph_lint(d));
#undef T
out:
  /* Whatever happened, each graph must still be consistent. */
  if (g && st == QG_STATUS_OOM) QG_ASSERT(qg_graph_lint(g) == QG_OK || qg__alloc_failed());
  qg_graph_destroy(d);
  qg_graph_destroy(c);
  qg_graph_destroy(g);
  return st;
}

Test(ir, every_allocation_failure) {
  size_t runs = qg_test_every_alloc_failure(build_graph, NULL);
  cr_assert_gt(runs, 30);
}

/* After an injected failure in insert_graph, dst is unchanged and lint-clean. */
Test(ir, insert_graph_failure_rolls_back) {
  qg_graph_t *callee = control_flow_graph();
  for (long k = 0;; k++) {
    qg_graph_t *dst;
    QG_ASSERT_OK(qg_graph_create(NULL, &dst));
    qg_value_t *c, *x, *out;
    QG_ASSERT_OK(qg_graph_add_input(dst, "c", qg_type_bool(), &c));
    QG_ASSERT_OK(qg_graph_add_input(dst, "q", qg_type_tensor(), &x));
    qg_value_t *in[2] = {c, x};
    qg__alloc_fail_after(k);
    qg_status st = qg_graph_insert_graph(dst, callee, in, &out);
    int failed = qg__alloc_failed();
    qg__alloc_fail_after(-1);
    if (!failed) {
      QG_ASSERT_OK(st);
      LINT_OK(dst);
      qg_graph_destroy(dst);
      break;
    }
    cr_assert_eq(st, QG_STATUS_OOM);
    LINT_OK(dst);
    cr_assert_eq(qg_block_first(qg_graph_block(dst)), qg_graph_block(dst)->ret, "run %ld left nodes behind", k);
    cr_assert_eq(c->nuses + x->nuses, 0);
    qg_graph_destroy(dst);
  }
  qg_graph_destroy(callee);
}

/* ---- graph attributes (Note [Graph attributes]) ---------------------------------------- */

/* graph(%x): %r = aten::relu(%x); return (%r), in unit cu. */
static qg_graph_t *relu_graph(qg_cu_t *cu) {
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_create(cu, &g));
  qg_value_t *x;
  QG_ASSERT_OK(qg_graph_add_input(g, "x", qg_type_tensor(), &x));
  qg_node_t *r = add_node(g, "aten::relu", 1, &x, 1);
  QG_ASSERT_OK(qg_graph_register_output(g, r->outputs[0]));
  LINT_OK(g);
  return g;
}

/* graph(%x): %f = prim::fork[Subgraph=relu_graph](%x); return (%f); *fork receives the node. */
static qg_graph_t *fork_graph(qg_cu_t *cu, qg_node_t **fork) {
  qg_graph_t *g;
  QG_ASSERT_OK(qg_graph_create(cu, &g));
  qg_value_t *x;
  QG_ASSERT_OK(qg_graph_add_input(g, "x", qg_type_tensor(), &x));
  qg_node_t *f = add_node(g, "prim::fork", 1, &x, 1);
  QG_ASSERT_OK(qg_value_set_name(f->outputs[0], "f"));
  qg_sym_t sg;
  QG_ASSERT_OK(qg_sym_subgraph(&sg));
  qg_graph_t *sub = relu_graph(qg_graph_cu(g));
  QG_ASSERT_OK(qg_node_set_g_owned(f, sg, sub));
  QG_ASSERT_OK(qg_graph_register_output(g, f->outputs[0]));
  LINT_OK(g);
  if (fork) *fork = f;
  return g;
}

Test(ir_graph_attr, set_get_and_ownership_rules) {
  qg_sym_t sg;
  QG_ASSERT_OK(qg_sym_subgraph(&sg));
  cr_assert_str_eq(qg_sym_str(sg), "Subgraph");
  qg_node_t *f;
  qg_graph_t *g = fork_graph(NULL, &f);
  qg_graph_t *sub = qg_node_g(f, sg);
  cr_assert_not_null(sub);
  cr_assert_eq(qg_graph_parent_node(sub), f);
  cr_assert_null(qg_graph_parent_node(g));
  cr_assert_eq(qg_graph_cu(sub), qg_graph_cu(g));
  cr_assert_eq(qg_node_attr(f, sg)->kind, QG_ATTR_GRAPH);
  cr_assert_null(qg_node_g(f, sym("other")));
  QG_ASSERT_OK(qg_node_set_i(f, sym("n"), 1));
  cr_assert_null(qg_node_g(f, sym("n")), "an int attribute is not a graph");

  /* A graph already held by a node cannot be given to another. */
  qg_node_t *f2 = add_node(g, "prim::fork", 1, (qg_value_t *[]){qg_graph_input(g, 0)}, 1);
  cr_assert_eq(qg_node_set_g_owned(f2, sg, sub), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "already belongs to a prim::fork node"), "%s", qg_last_error());
  /* Another unit's graph: refused, and still the caller's. */
  qg_graph_t *other = relu_graph(NULL);
  cr_assert_eq(qg_node_set_g_owned(f2, sg, other), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "another unit"), "%s", qg_last_error());
  /* ... but a copy of it is fine (qg_node_set_g copies into the node's unit). */
  QG_ASSERT_OK(qg_node_set_g(f2, sg, other));
  cr_assert_neq(qg_node_g(f2, sg), other);
  cr_assert_eq(qg_graph_cu(qg_node_g(f2, sg)), qg_graph_cu(g));
  cr_assert_eq(qg_graph_parent_node(qg_node_g(f2, sg)), f2);
  qg_graph_destroy(other);
  /* A cycle: g given to a node inside its own subgraph. */
  qg_node_t *inner = qg_block_first(qg_graph_block(sub));
  cr_assert_eq(qg_node_set_g_owned(inner, sg, g), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "cycle"), "%s", qg_last_error());
  cr_assert_eq(qg_node_set_g_owned(f2, sg, NULL), QG_STATUS_INVALID_ARGUMENT);
  /* Replacing a graph attribute frees the old graph (LeakSanitizer checks). */
  qg_graph_t *again = relu_graph(qg_graph_cu(g));
  QG_ASSERT_OK(qg_node_set_g_owned(f2, sg, again));
  cr_assert_eq(qg_node_g(f2, sg), again);
  /* Lists of graphs. */
  const qg_graph_t *two[2] = {sub, again};
  QG_ASSERT_OK(qg_node_set_gs(f2, sym("gs"), two, 2));
  const qg_attr *a = qg_node_attr(f2, sym("gs"));
  cr_assert(a->kind == QG_ATTR_GRAPHS && a->n == 2 && a->gs[0] != sub && qg_graph_parent_node(a->gs[1]) == f2);
  QG_ASSERT_OK(qg_node_set_gs(f2, sym("none"), NULL, 0));
  LINT_OK(g);
  cr_assert_eq(qg_node_remove_attr(f2, sym("gs")), 1);
  LINT_OK(g);
  qg_graph_destroy(g); /* destroys every subgraph */
}

/* A method graph holding a subgraph: releasing the unit frees everything (the subgraph holds no
 * reference to the unit, or the unit would never be freed; LeakSanitizer checks). */
Test(ir_graph_attr, method_graph_with_subgraph_frees_its_unit) {
  qg_cu_t *cu;
  QG_ASSERT_OK(qg_cu_create(&cu));
  qg_type_t *cls;
  QG_ASSERT_OK(qg_cu_define_class(cu, "__torch__.M", 1, &cls));
  qg_node_t *f;
  qg_graph_t *g = fork_graph(cu, &f);
  QG_ASSERT_OK(qg_class_add_method(cls, "forward", g));
  LINT_OK(g);
  /* A method graph belongs to its class: it cannot become an attribute. */
  qg_graph_t *h = relu_graph(cu);
  qg_node_t *n = qg_block_first(qg_graph_block(h));
  qg_sym_t sg;
  QG_ASSERT_OK(qg_sym_subgraph(&sg));
  cr_assert_eq(qg_node_set_g_owned(n, sg, g), QG_STATUS_INVALID_ARGUMENT);
  cr_assert(strstr(qg_last_error(), "owned by a class or function"), "%s", qg_last_error());
  qg_graph_destroy(h);
  qg_cu_release(cu);
}

Test(ir_graph_attr, lint_checks_subgraphs) {
  qg_sym_t sg;
  QG_ASSERT_OK(qg_sym_subgraph(&sg));
  qg_node_t *f;
  qg_graph_t *g = fork_graph(NULL, &f);
  qg_graph_t *sub = qg_node_g(f, sg);
  qg_value_t *x = qg_graph_input(sub, 0);
  x->nuses--;
  expect_lint(g, "in graph attribute 'Subgraph' of node '%f = prim::fork(%x)': lint: node '%1 = aten::relu(%x)'");
  expect_lint(g, "input 0 (%x) has 0 matching entries in its use list");
  x->nuses++;
  LINT_OK(g);
  /* A NULL graph, then a graph claimed by two nodes. */
  qg_attr *a = (qg_attr *)qg_node_attr(f, sg);
  a->g = NULL;
  expect_lint(g, "graph attribute 'Subgraph' is NULL");
  a->g = sub;
  qg_node_t *f2 = add_node(g, "prim::fork", 1, (qg_value_t *[]){qg_graph_input(g, 0)}, 1);
  QG_ASSERT_OK(qg_node_set_g(f2, sg, sub));
  qg_graph_t *copy = qg_node_g(f2, sg);
  qg_attr *a2 = (qg_attr *)qg_node_attr(f2, sg);
  a2->g = sub; /* two nodes claim the same graph */
  expect_lint(g, "does not record this node as its parent");
  a2->g = copy;
  LINT_OK(g);
  qg_graph_destroy(g);
}

Test(ir_graph_attr, clone_and_insert_graph_copy_subgraphs) {
  qg_sym_t sg;
  QG_ASSERT_OK(qg_sym_subgraph(&sg));
  qg_node_t *f;
  qg_graph_t *g = fork_graph(NULL, &f);
  /* Nest one level deeper: a fork inside the subgraph. */
  qg_graph_t *sub = qg_node_g(f, sg);
  qg_node_t *inner = add_node(sub, "prim::fork", 1, (qg_value_t *[]){qg_graph_input(sub, 0)}, 1);
  QG_ASSERT_OK(qg_node_set_g_owned(inner, sg, relu_graph(qg_graph_cu(g))));
  LINT_OK(g);

  qg_graph_t *c;
  QG_ASSERT_OK(qg_graph_clone(g, &c));
  LINT_OK(c);
  char *da = dump(g), *db = dump(c);
  cr_assert_str_eq(da, db);
  cr_assert(strstr(da, "Subgraph=graph") != NULL);
  qg__free(da);
  qg__free(db);
  qg_node_t *cf = qg_block_first(qg_graph_block(c));
  qg_graph_t *csub = qg_node_g(cf, sg);
  cr_assert(csub && csub != sub && qg_graph_parent_node(csub) == cf);
  qg_node_t *cinner = qg_block_first(qg_graph_block(csub))->next;
  cr_assert_eq(qg_graph_parent_node(qg_node_g(cinner, sg)), cinner);

  /* Into another unit: the subgraphs move to dst's unit. */
  qg_graph_t *dst;
  QG_ASSERT_OK(qg_graph_create(NULL, &dst));
  qg_value_t *x, *out;
  QG_ASSERT_OK(qg_graph_add_input(dst, "y", qg_type_tensor(), &x));
  QG_ASSERT_OK(qg_graph_insert_graph(dst, g, &x, &out));
  QG_ASSERT_OK(qg_graph_register_output(dst, out));
  LINT_OK(dst);
  qg_graph_t *dsub = qg_node_g(out->node, sg);
  cr_assert(dsub && dsub != sub && qg_graph_cu(dsub) == qg_graph_cu(dst));
  cr_assert_eq(qg_graph_parent_node(dsub), out->node);
  qg_graph_destroy(g);
  LINT_OK(c);
  LINT_OK(dst);
  qg_graph_destroy(c);
  qg_graph_destroy(dst);
}

/* Sets, copies, clones and inlines graph attributes with a failure at every allocation. */
static qg_status build_with_subgraphs(void *ud) {
  (void)ud;
  qg_graph_t *g = NULL, *sub = NULL, *c = NULL, *d = NULL;
  qg_status st;
  qg_value_t *x, *y, *outs[1];
  qg_node_t *f, *r;
  qg_sym_t sg;
#define T(e)                                                                                      \
  do {                                                                                            \
    if ((st = (e)) != QG_OK) goto out;                                                            \
  } while (0)
  T(qg_sym_subgraph(&sg));
  T(qg_graph_create(NULL, &g));
  T(qg_graph_add_input(g, "x", qg_type_tensor(), &x));
  T(qg_graph_insert_new(g, QG_SYM_prim_fork, 1, &x, 1, &f));
  T(qg_graph_register_output(g, f->outputs[0]));
  T(qg_graph_create(qg_graph_cu(g), &sub));
  T(qg_graph_add_input(sub, "y", qg_type_tensor(), &y));
  T(qg_graph_insert_new(sub, QG_SYM_aten_relu, 1, &y, 1, &r));
  T(qg_graph_register_output(sub, r->outputs[0]));
  T(qg_node_set_g(r, sg, sub)); /* a copy of sub inside sub */
  T(qg_node_set_g_owned(f, sg, sub));
  sub = NULL; /* now f's */
  T(qg_node_set_gs(f, QG_SYM_prim_Constant, (const qg_graph_t *const[]){qg_node_g(f, sg)}, 1));
  T(qg_graph_lint(g));
  T(qg_graph_clone(g, &c));
  T(qg_graph_create(NULL, &d));
  qg_value_t *din;
  T(qg_graph_add_input(d, "x", qg_type_tensor(), &din));
  T(qg_graph_insert_graph(d, c, &din, outs));
  T(qg_graph_lint(d));
#undef T
out:
  if (g && st == QG_STATUS_OOM) QG_ASSERT(qg_graph_lint(g) == QG_OK || qg__alloc_failed());
  qg_graph_destroy(sub); /* set_g_owned failed: still ours */
  qg_graph_destroy(d);
  qg_graph_destroy(c);
  qg_graph_destroy(g);
  return st;
}

Test(ir_graph_attr, every_allocation_failure) {
  size_t runs = qg_test_every_alloc_failure(build_with_subgraphs, NULL);
  cr_assert_gt(runs, 30);
}
