#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hashmap.h"
#include "base/status.h"
#include "base/strbuf.h"
#include "base/symbol.h"
#include "base/vec.h"
#include "util/testutil.h"

Test(status, names_and_messages) {
  cr_assert_str_eq(qg_status_name(QG_STATUS_OOM), "QG_STATUS_OOM");
  cr_assert_str_eq(qg_status_str(QG_STATUS_PARSE), "parse error");
  cr_assert_str_eq(qg_status_name((qg_status)12345), "QG_STATUS_?");
  cr_assert_eq(qg_set_error(QG_STATUS_PARSE, "x.ir:%d:%d: expected ')'", 3, 7), QG_STATUS_PARSE);
  cr_assert_str_eq(qg_last_error(), "x.ir:3:7: expected ')'");
  qg_error_prefix(QG_STATUS_PARSE, "loading %s", "m.safetensors");
  cr_assert_str_eq(qg_last_error(), "loading m.safetensors: x.ir:3:7: expected ')'");
  cr_assert_eq(qg_last_status(), QG_STATUS_PARSE);
}

Test(alloc, failure_injection) {
  qg__alloc_fail_after(1);
  void *a = qg__malloc(8);
  void *b = qg__malloc(8);
  cr_assert_not_null(a);
  cr_assert_null(b);
  cr_assert(qg__alloc_failed());
  qg__alloc_fail_after(-1);
  b = qg__malloc(8);
  cr_assert_not_null(b);
  qg__free(a);
  qg__free(b);
}

Test(containers, vec_and_strbuf) {
  QG_VEC(int) v = {0};
  for (int i = 0; i < 100; i++) cr_assert_eq(QG_VEC_PUSH(&v, i), 0);
  cr_assert_eq(v.len, 100);
  cr_assert_eq(v.data[99], 99);
  QG_VEC_FREE(&v);

  qg_strbuf b = QG_STRBUF_INIT;
  qg_strbuf_printf(&b, "%d-%s", 7, "x");
  qg_strbuf_append_quoted(&b, "a\"b\n");
  cr_assert_str_eq(qg_strbuf_cstr(&b), "7-x\"a\\\"b\\n\"");
  qg__alloc_fail_after(0);
  for (int i = 0; i < 100; i++) qg_strbuf_append(&b, "0123456789");
  qg__alloc_fail_after(-1);
  cr_assert_eq(qg_strbuf_ok(&b), QG_STATUS_OOM);
  qg_strbuf_free(&b);
}

Test(containers, hashmap) {
  qg_hashmap m = QG_HASHMAP_INIT;
  char keys[200][8];
  for (int i = 0; i < 200; i++) {
    snprintf(keys[i], sizeof keys[i], "k%d", i);
    cr_assert_eq(qg_hashmap_put(&m, keys[i], (void *)(long)(i + 1)), 0);
  }
  for (int i = 0; i < 200; i++) cr_assert_eq((long)qg_hashmap_get(&m, keys[i]), i + 1);
  cr_assert_null(qg_hashmap_get(&m, "nope"));
  cr_assert_eq((long)qg_hashmap_remove(&m, "k5"), 6);
  cr_assert_null(qg_hashmap_get(&m, "k5"));
  cr_assert_eq(m.len, 199);
  qg_hashmap_free(&m);
}

Test(symbols, predefined_and_interned) {
  cr_assert_str_eq(qg_sym_str(QG_SYM_aten_conv2d), "aten::conv2d");
  cr_assert_eq(qg_sym_lookup("prim::GetAttr"), QG_SYM_prim_GetAttr);
  qg_sym_t s, s2;
  QG_ASSERT_OK(qg_sym_intern("aten::hardswish", &s));
  QG_ASSERT_OK(qg_sym_intern("aten::hardswish", &s2));
  cr_assert_eq(s, s2);
  cr_assert_geq(s, QG_SYM__PREDEFINED);
  cr_assert_str_eq(qg_sym_unqual(s), "hardswish");
  cr_assert(qg_sym_has_ns(s, "aten"));
  cr_assert(!qg_sym_has_ns(s, "prim"));
  QG_ASSERT_OK(qg_sym_intern("aten::conv2d", &s));
  cr_assert_eq(s, QG_SYM_aten_conv2d);
}
