/* List, tuple, dict and string ops (aten::len, __getitem__, append, format, ...), with
 * TorchScript's semantics: negative indices count from the end, an index out of range is an
 * error ("list index out of range"), a missing dict key is "KeyError: key". Lists are
 * references: aten::append and aten::_set_item change every alias. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/interp_impl.h"

/* c10's IValue printing of a double (what str() and format() produce in TorchScript):
 * integral values below 1e10 as "1.", otherwise 17 significant digits ("0.10000000000000001"). */
static void print_double(double d, qg_strbuf *out) {
  if ((fpclassify(d) == FP_NORMAL || fpclassify(d) == FP_ZERO) && fabs(d) < 1e10) {
    int64_t i = (int64_t)d;
    if ((double)i == d) {
      qg_strbuf_printf(out, "%s%lld.", (i == 0 && signbit(d)) ? "-" : "", (long long)i);
      return;
    }
  }
  if (isnan(d)) qg_strbuf_append(out, "nan");
  else if (isinf(d)) qg_strbuf_append(out, d < 0 ? "-inf" : "inf");
  else qg_strbuf_printf(out, "%.17g", d);
}

/* str(v) as TorchScript prints it. */
static void print_value(const qg_ival *v, qg_strbuf *out) {
  switch (v->kind) {
  case QG_IVAL_DOUBLE: print_double(v->u.d, out); break;
  case QG_IVAL_STRING: qg_strbuf_appendn(out, v->u.str->data, v->u.str->len); break;
  case QG_IVAL_LIST:
  case QG_IVAL_TUPLE: {
    const qg_ival_list *l = v->u.list;
    qg_strbuf_putc(out, v->kind == QG_IVAL_LIST ? '[' : '(');
    for (size_t i = 0; i < l->len; i++) {
      if (i) qg_strbuf_append(out, ", ");
      print_value(&l->items[i], out);
    }
    if (v->kind == QG_IVAL_TUPLE && l->len == 1) qg_strbuf_putc(out, ',');
    qg_strbuf_putc(out, v->kind == QG_IVAL_LIST ? ']' : ')');
    break;
  }
  case QG_IVAL_DICT: {
    const qg_ival_dict *d = v->u.dict;
    qg_strbuf_putc(out, '{');
    for (size_t i = 0; i < d->len; i++) {
      if (i) qg_strbuf_append(out, ", ");
      print_value(&d->keys[i], out);
      qg_strbuf_append(out, ": ");
      print_value(&d->values[i], out);
    }
    qg_strbuf_putc(out, '}');
    break;
  }
  default: qg_ival_describe(v, out); break;
  }
}

static qg_status out_string(qg_op_call *c, size_t i, qg_strbuf *sb) {
  qg_status st = qg_strbuf_ok(sb);
  qg_ival s = qg_ival_none();
  if (st == QG_OK) st = qg_ival_string_new(qg_strbuf_cstr(sb), sb->len, &s);
  qg_strbuf_free(sb);
  if (st == QG_OK) qg_out_ival(c, i, s);
  return st;
}

/* Python index normalisation; error if out of range. */
static qg_status norm_index(int64_t idx, size_t len, const char *what, size_t *out) {
  int64_t n = (int64_t)len;
  if (idx < 0) idx += n;
  if (idx < 0 || idx >= n) return qg_set_error(QG_STATUS_RUNTIME, "%s index out of range", what);
  *out = (size_t)idx;
  return QG_OK;
}

static qg_status list_arg(const qg_op_call *c, size_t i, qg_ival_list **out) {
  const qg_ival *v = &c->args[i];
  if (v->kind != QG_IVAL_LIST && v->kind != QG_IVAL_TUPLE)
    return qg_set_error(QG_STATUS_TYPE, "%s argument #%zu must be a list, got %s", qg_sym_str(c->schema->name), i,
                        qg_ival_kind_name(v->kind));
  *out = v->u.list;
  return QG_OK;
}

static long dict_find(const qg_ival_dict *d, const qg_ival *key) {
  for (size_t i = 0; i < d->len; i++)
    if (qg_ival_equal(&d->keys[i], key)) return (long)i;
  return -1;
}

static qg_status key_error(const qg_ival *key) {
  qg_strbuf sb = QG_STRBUF_INIT;
  print_value(key, &sb);
  qg_status st = qg_strbuf_ok(&sb) == QG_OK ? qg_set_error(QG_STATUS_RUNTIME, "KeyError: %s", qg_strbuf_cstr(&sb))
                                            : QG_STATUS_OOM;
  qg_strbuf_free(&sb);
  return st;
}

/* ---- len / getitem / contains ------------------------------------------------------------- */

static qg_status op_len(qg_op_call *c) {
  const qg_ival *v = &c->args[0];
  int64_t n;
  switch (v->kind) {
  case QG_IVAL_LIST:
  case QG_IVAL_TUPLE:
  case QG_IVAL_DICT: n = (int64_t)qg_ival_len(v); break;
  case QG_IVAL_STRING: n = (int64_t)v->u.str->len; break;
  case QG_IVAL_TENSOR:
    if (v->u.tensor->ndim == 0) return qg_set_error(QG_STATUS_RUNTIME, "len() of a 0-d tensor");
    n = v->u.tensor->shape[0];
    break;
  default: return qg_set_error(QG_STATUS_TYPE, "len() of a %s", qg_ival_kind_name(v->kind));
  }
  qg_out_ival(c, 0, qg_ival_int(n));
  return QG_OK;
}

static qg_status op_getitem(qg_op_call *c) {
  const qg_ival *v = &c->args[0];
  if (v->kind == QG_IVAL_DICT) {
    long k = dict_find(v->u.dict, &c->args[1]);
    if (k < 0) return key_error(&c->args[1]);
    qg_out_ival(c, 0, qg_ival_copy(v->u.dict->values[k]));
    return QG_OK;
  }
  int64_t idx = 0;
  QG_TRY(qg_arg_int(c, 1, &idx));
  size_t i = 0;
  if (v->kind == QG_IVAL_STRING) {
    QG_TRY(norm_index(idx, v->u.str->len, "string", &i));
    qg_ival s;
    QG_TRY(qg_ival_string_new(v->u.str->data + i, 1, &s));
    qg_out_ival(c, 0, s);
    return QG_OK;
  }
  qg_ival_list *l = NULL;
  QG_TRY(list_arg(c, 0, &l));
  QG_TRY(norm_index(idx, l->len, v->kind == QG_IVAL_TUPLE ? "tuple" : "list", &i));
  qg_out_ival(c, 0, qg_ival_copy(l->items[i]));
  return QG_OK;
}

static qg_status op_contains(qg_op_call *c) {
  const qg_ival *v = &c->args[0];
  int found = 0;
  if (v->kind == QG_IVAL_DICT) {
    found = dict_find(v->u.dict, &c->args[1]) >= 0;
  } else {
    qg_ival_list *l = NULL;
    QG_TRY(list_arg(c, 0, &l));
    for (size_t i = 0; i < l->len && !found; i++) found = qg_ival_equal(&l->items[i], &c->args[1]);
  }
  qg_out_ival(c, 0, qg_ival_bool(found));
  return QG_OK;
}

/* ---- list mutation and construction --------------------------------------------------------- */

static qg_status op_append(qg_op_call *c) {
  qg_ival_list *l = NULL;
  QG_TRY(list_arg(c, 0, &l));
  QG_TRY(qg_ival_list_push(&c->args[0], qg_ival_copy(c->args[1])));
  if (c->nouts) qg_out_ival(c, 0, qg_ival_copy(c->args[0]));
  return QG_OK;
}

static qg_status copy_list(const qg_ival *src, qg_ival *out) {
  const qg_ival_list *l = src->u.list;
  QG_TRY(qg_ival_list_new(QG_IVAL_LIST, l->len, out));
  out->u.list->type = l->type;
  for (size_t i = 0; i < l->len; i++) QG_TRY(qg_ival_list_push(out, qg_ival_copy(l->items[i])));
  return QG_OK;
}

static qg_status op_list_copy(qg_op_call *c) {
  qg_ival_list *l = NULL;
  QG_TRY(list_arg(c, 0, &l));
  qg_ival r = qg_ival_none();
  qg_status st = copy_list(&c->args[0], &r);
  if (st != QG_OK) {
    qg_ival_release(&r);
    return st;
  }
  qg_out_ival(c, 0, r);
  return QG_OK;
}

/* aten::add.t: a new list a + b; aten::add_.t / extend.t: b appended to a in place. */
static qg_status op_list_concat(qg_op_call *c) {
  qg_ival_list *a = NULL, *b = NULL;
  QG_TRY(list_arg(c, 0, &a));
  QG_TRY(list_arg(c, 1, &b));
  const char *name = qg_sym_unqual(c->schema->name);
  int inplace = strcmp(name, "add") != 0;
  qg_ival r = qg_ival_none();
  if (inplace) r = qg_ival_copy(c->args[0]);
  else QG_TRY(qg_ival_list_new(QG_IVAL_LIST, a->len + b->len, &r));
  qg_status st = QG_OK;
  if (!inplace)
    for (size_t i = 0; i < a->len && st == QG_OK; i++) st = qg_ival_list_push(&r, qg_ival_copy(a->items[i]));
  size_t nb = b->len; /* b may be a itself */
  for (size_t i = 0; i < nb && st == QG_OK; i++) st = qg_ival_list_push(&r, qg_ival_copy(b->items[i]));
  if (st != QG_OK) {
    qg_ival_release(&r);
    return st;
  }
  if (!inplace) r.u.list->type = a->type;
  if (c->nouts) qg_out_ival(c, 0, r);
  else qg_ival_release(&r);
  return QG_OK;
}

static qg_status op_set_item(qg_op_call *c) {
  qg_ival *v = &c->args[0];
  if (v->kind == QG_IVAL_DICT) {
    QG_TRY(qg_ival_dict_put(v, qg_ival_copy(c->args[1]), qg_ival_copy(c->args[2])));
    return QG_OK;
  }
  qg_ival_list *l = NULL;
  int64_t idx = 0;
  size_t i = 0;
  QG_TRY(list_arg(c, 0, &l));
  QG_TRY(qg_arg_int(c, 1, &idx));
  QG_TRY(norm_index(idx, l->len, "list", &i));
  qg_ival_release(&l->items[i]);
  l->items[i] = qg_ival_copy(c->args[2]);
  if (c->nouts) qg_out_ival(c, 0, qg_ival_copy(*v));
  return QG_OK;
}

static qg_status op_insert(qg_op_call *c) {
  qg_ival_list *l = NULL;
  int64_t idx = 0;
  QG_TRY(list_arg(c, 0, &l));
  QG_TRY(qg_arg_int(c, 1, &idx));
  int64_t n = (int64_t)l->len;
  if (idx < 0) idx = idx + n < 0 ? 0 : idx + n;
  if (idx > n) idx = n;
  QG_TRY(qg_ival_list_push(&c->args[0], qg_ival_none()));
  memmove(&l->items[idx + 1], &l->items[idx], (size_t)(n - idx) * sizeof(qg_ival));
  l->items[idx] = qg_ival_copy(c->args[2]);
  return QG_OK;
}

static qg_status op_pop(qg_op_call *c) {
  qg_ival_list *l = NULL;
  int64_t idx = 0;
  size_t i = 0;
  QG_TRY(list_arg(c, 0, &l));
  QG_TRY(qg_arg_int(c, 1, &idx));
  if (l->len == 0) return qg_set_error(QG_STATUS_RUNTIME, "pop from empty list");
  QG_TRY(norm_index(idx, l->len, "pop", &i));
  qg_ival item = l->items[i];
  memmove(&l->items[i], &l->items[i + 1], (l->len - i - 1) * sizeof(qg_ival));
  l->len--;
  qg_out_ival(c, 0, item);
  return QG_OK;
}

static qg_status op_clear(qg_op_call *c) {
  qg_ival *v = &c->args[0];
  if (v->kind == QG_IVAL_DICT) {
    qg_ival_dict *d = v->u.dict;
    for (size_t i = 0; i < d->len; i++) {
      qg_ival_release(&d->keys[i]);
      qg_ival_release(&d->values[i]);
    }
    d->len = 0;
    return QG_OK;
  }
  qg_ival_list *l = NULL;
  QG_TRY(list_arg(c, 0, &l));
  for (size_t i = 0; i < l->len; i++) qg_ival_release(&l->items[i]);
  l->len = 0;
  return QG_OK;
}

/* aten::slice.t / slice.str (int? start, int? end, int step), Python slicing. */
static qg_status op_slice(qg_op_call *c) {
  const qg_ival *v = &c->args[0];
  int64_t n = v->kind == QG_IVAL_STRING ? (int64_t)v->u.str->len : (int64_t)qg_ival_len(v);
  int64_t start, end, step;
  int has_start, has_end;
  QG_TRY(qg_arg_opt_int(c, 1, &start, &has_start));
  QG_TRY(qg_arg_opt_int(c, 2, &end, &has_end));
  QG_TRY(qg_arg_int(c, 3, &step));
  if (step == 0) return qg_set_error(QG_STATUS_RUNTIME, "slice step cannot be zero");
  if (!has_start) start = step > 0 ? 0 : n - 1;
  else if (start < 0) start = start + n < 0 ? (step > 0 ? 0 : -1) : start + n;
  else if (start > n) start = step > 0 ? n : n - 1;
  if (!has_end) end = step > 0 ? n : -1;
  else if (end < 0) end = end + n < 0 ? (step > 0 ? 0 : -1) : end + n;
  else if (end > n) end = step > 0 ? n : n - 1;
  if (v->kind == QG_IVAL_STRING) {
    qg_strbuf sb = QG_STRBUF_INIT;
    for (int64_t i = start; step > 0 ? i < end : i > end; i += step) qg_strbuf_putc(&sb, v->u.str->data[i]);
    if (!sb.data) qg_strbuf_append(&sb, "");
    return out_string(c, 0, &sb);
  }
  qg_ival_list *l = NULL;
  QG_TRY(list_arg(c, 0, &l));
  qg_ival r;
  QG_TRY(qg_ival_list_new(QG_IVAL_LIST, 0, &r));
  r.u.list->type = l->type;
  for (int64_t i = start; step > 0 ? i < end : i > end; i += step) {
    qg_status st = qg_ival_list_push(&r, qg_ival_copy(l->items[i]));
    if (st != QG_OK) {
      qg_ival_release(&r);
      return st;
    }
  }
  qg_out_ival(c, 0, r);
  return QG_OK;
}

/* ---- dicts --------------------------------------------------------------------------------- */

static qg_status op_dict_view(qg_op_call *c) {
  const qg_ival *v = &c->args[0];
  if (v->kind != QG_IVAL_DICT) return qg_set_error(QG_STATUS_TYPE, "expected a dict, got %s", qg_ival_kind_name(v->kind));
  const qg_ival_dict *d = v->u.dict;
  const char *which = qg_sym_unqual(c->schema->name);
  qg_ival r;
  QG_TRY(qg_ival_list_new(QG_IVAL_LIST, d->len, &r));
  r.u.list->type = c->node->noutputs ? c->node->outputs[0]->type : NULL;
  qg_status st = QG_OK;
  for (size_t i = 0; i < d->len && st == QG_OK; i++) {
    if (which[0] == 'k') {
      st = qg_ival_list_push(&r, qg_ival_copy(d->keys[i]));
    } else if (which[0] == 'v') {
      st = qg_ival_list_push(&r, qg_ival_copy(d->values[i]));
    } else {
      qg_ival t;
      st = qg_ival_list_new(QG_IVAL_TUPLE, 2, &t);
      if (st == QG_OK) st = qg_ival_list_push(&t, qg_ival_copy(d->keys[i]));
      if (st == QG_OK) st = qg_ival_list_push(&t, qg_ival_copy(d->values[i]));
      if (st == QG_OK) st = qg_ival_list_push(&r, t);
      else qg_ival_release(&t);
    }
  }
  if (st != QG_OK) {
    qg_ival_release(&r);
    return st;
  }
  qg_out_ival(c, 0, r);
  return QG_OK;
}

static qg_status op_dict_get(qg_op_call *c) {
  const qg_ival *v = &c->args[0];
  if (v->kind != QG_IVAL_DICT) return qg_set_error(QG_STATUS_TYPE, "expected a dict, got %s", qg_ival_kind_name(v->kind));
  long k = dict_find(v->u.dict, &c->args[1]);
  if (k >= 0) qg_out_ival(c, 0, qg_ival_copy(v->u.dict->values[k]));
  else if (c->nargs > 2) qg_out_ival(c, 0, qg_ival_copy(c->args[2]));
  return QG_OK;
}

/* ---- strings ------------------------------------------------------------------------------- */

static qg_status op_str(qg_op_call *c) {
  qg_strbuf sb = QG_STRBUF_INIT;
  print_value(&c->args[0], &sb);
  if (!sb.data) qg_strbuf_append(&sb, "");
  return out_string(c, 0, &sb);
}

static qg_status op_str_add(qg_op_call *c) {
  const char *a, *b;
  QG_TRY(qg_arg_str(c, 0, &a));
  QG_TRY(qg_arg_str(c, 1, &b));
  qg_strbuf sb = QG_STRBUF_INIT;
  qg_strbuf_appendn(&sb, a, c->args[0].u.str->len);
  qg_strbuf_appendn(&sb, b, c->args[1].u.str->len);
  if (!sb.data) qg_strbuf_append(&sb, "");
  return out_string(c, 0, &sb);
}

/* aten::format(str self, ...): each "{}" takes the next argument, as TorchScript's format. */
static qg_status op_format(qg_op_call *c) {
  const char *fmt;
  QG_TRY(qg_arg_str(c, 0, &fmt));
  qg_strbuf sb = QG_STRBUF_INIT;
  size_t next = 1;
  for (const char *p = fmt; *p;) {
    if (p[0] == '{' && p[1] == '}') {
      if (next >= c->nargs) {
        qg_strbuf_free(&sb);
        return qg_set_error(QG_STATUS_RUNTIME, "Too few arguments for format string: %s", fmt);
      }
      print_value(&c->args[next++], &sb);
      p += 2;
    } else {
      qg_strbuf_putc(&sb, *p++);
    }
  }
  if (!sb.data) qg_strbuf_append(&sb, "");
  return out_string(c, 0, &sb);
}

/* aten::find(str self, str substr, int start=0, int end=-1) -> int: Python's str.find on
 * [start, end) with Python's negative-index clamping; -1 when absent. */
static qg_status op_find(qg_op_call *c) {
  const char *s, *sub;
  int64_t start, end;
  QG_TRY(qg_arg_str(c, 0, &s));
  QG_TRY(qg_arg_str(c, 1, &sub));
  QG_TRY(qg_arg_int(c, 2, &start));
  QG_TRY(qg_arg_int(c, 3, &end));
  int64_t n = (int64_t)c->args[0].u.str->len, m = (int64_t)c->args[1].u.str->len;
  if (start < 0) start = start + n < 0 ? 0 : start + n;
  if (end < 0) end = end + n < 0 ? 0 : end + n;
  if (end > n) end = n;
  int64_t found = -1;
  for (int64_t i = start; i + m <= end && found < 0; i++)
    if (memcmp(s + i, sub, (size_t)m) == 0) found = i;
  qg_out_ival(c, 0, qg_ival_int(found));
  return QG_OK;
}

/* aten::any / aten::all on a list of bool, int, float or str: Python's any() / all() on the
 * items' truth values. */
static int truthy(const qg_ival *v) {
  switch (v->kind) {
    case QG_IVAL_BOOL: return v->u.b;
    case QG_IVAL_INT: return v->u.i != 0;
    case QG_IVAL_DOUBLE: return v->u.d != 0;
    case QG_IVAL_STRING: return v->u.str->len != 0;
    default: return 1;
  }
}

static qg_status any_all(qg_op_call *c, int want_all) {
  const qg_ival *items;
  size_t n;
  QG_TRY(qg_arg_list(c, 0, &items, &n));
  int r = want_all;
  for (size_t i = 0; i < n; i++)
    if (truthy(&items[i]) != want_all) r = !want_all;
  qg_out_ival(c, 0, qg_ival_bool(r));
  return QG_OK;
}
static qg_status op_any(qg_op_call *c) { return any_all(c, 0); }
static qg_status op_all(qg_op_call *c) { return any_all(c, 1); }

static qg_status op_warn(qg_op_call *c) {
  /* Library code never prints: count the warning (qg_runner_warnings). */
  c->exec->runner->warnings++;
  return QG_OK;
}

static const qg_op_impl_entry list_table[] = {
    {"aten::len", "*", op_len},
    {"aten::__getitem__", "*", op_getitem},
    {"prim::StringIndex", "", op_getitem},
    {"aten::__contains__", "*", op_contains},
    {"aten::append", "t", op_append},
    {"aten::list", "t", op_list_copy},
    {"aten::copy", "t", op_list_copy},
    {"aten::add", "t", op_list_concat},
    {"aten::add_", "t", op_list_concat},
    {"aten::extend", "t", op_list_concat},
    {"aten::_set_item", "*", op_set_item},
    {"aten::insert", "t", op_insert},
    {"aten::pop", "t", op_pop},
    {"aten::clear", "*", op_clear},
    {"aten::slice", "t", op_slice},
    {"aten::slice", "str", op_slice},
    {"aten::keys", "*", op_dict_view},
    {"aten::values", "str", op_dict_view},
    {"aten::values", "int", op_dict_view},
    {"aten::values", "bool", op_dict_view},
    {"aten::values", "float", op_dict_view},
    {"aten::values", "Tensor", op_dict_view},
    {"aten::items", "*", op_dict_view},
    {"aten::get", "*", op_dict_get},
    {"aten::str", "", op_str},
    {"aten::add", "str", op_str_add},
    {"aten::format", "", op_format},
    {"aten::warn", "", op_warn},
    {"aten::find", "", op_find},
    {"aten::any", "bool", op_any},
    {"aten::any", "int", op_any},
    {"aten::any", "float", op_any},
    {"aten::any", "str", op_any},
    {"aten::all", "bool", op_all},
    {"aten::all", "int", op_all},
    {"aten::all", "float", op_all},
};

const qg_op_impl_entry *qg__ops_list_table(size_t *n) {
  *n = sizeof list_table / sizeof list_table[0];
  return list_table;
}
