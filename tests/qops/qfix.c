/* Fixture values for the quantized-op tests (qfix.h). */
#include "qops/qfix.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/testutil.h"

static const cJSON *item(const cJSON *v, const char *key) { return cJSON_GetObjectItemCaseSensitive(v, key); }

static double num(const cJSON *v) {
  if (cJSON_IsString(v)) {
    if (strcmp(v->valuestring, "nan") == 0) return NAN;
    return strcmp(v->valuestring, "inf") == 0 ? INFINITY : -INFINITY;
  }
  return v->valuedouble;
}

static qg_dtype qdtype(const char *name) {
  if (strcmp(name, "quint8") == 0) return QG_DTYPE_QUINT8;
  if (strcmp(name, "qint8") == 0) return QG_DTYPE_QINT8;
  cr_assert(strcmp(name, "qint32") == 0, "unknown quantized dtype %s", name);
  return QG_DTYPE_QINT32;
}

static const qg_tensor *named(const qg_named_tensors *nt, const cJSON *v) {
  const qg_tensor *t = qg_named_tensors_get(nt, v->valuestring);
  cr_assert(t != NULL, "tensor %s missing", v->valuestring);
  return t;
}

/* The quantizer a {"q": ...} entry describes. */
static qg_quantizer *quantizer_of(const cJSON *v, const qg_named_tensors *nt) {
  qg_quantizer *q;
  if (item(v, "scale")) {
    QG_ASSERT_OK(qg_quantizer_per_tensor(item(v, "scale")->valuedouble, (int64_t)item(v, "zp")->valuedouble, &q));
  } else {
    QG_ASSERT_OK(qg_quantizer_per_channel(named(nt, item(v, "scales")), named(nt, item(v, "zps")),
                                          item(v, "axis")->valueint, &q));
  }
  return q;
}

qg_ival qfix_value(const cJSON *v, const qg_named_tensors *nt) {
  const cJSON *e;
  if ((e = item(v, "t"))) {
    qg_tensor *copy;
    const qg_tensor *t = named(nt, e);
    QG_ASSERT_OK(qg_tensor_to_dtype(t, t->dtype, &copy));
    return qg_ival_tensor(copy);
  }
  if ((e = item(v, "q"))) {
    const qg_tensor *ints = named(nt, e);
    qg_quantizer *q = quantizer_of(v, nt);
    qg_tensor *t;
    QG_ASSERT_OK(qg_tensor_create_quantized(qdtype(item(v, "dtype")->valuestring), ints->ndim, ints->shape, q, &t));
    qg_quantizer_release(q);
    for (int64_t i = 0; i < qg_tensor_numel(t); i++) qg_tensor_set_flat(t, i, qg_tensor_get_flat(ints, i));
    return qg_ival_tensor(t);
  }
  if ((e = item(v, "int"))) return qg_ival_int((int64_t)e->valuedouble);
  if ((e = item(v, "float"))) return qg_ival_double(num(e));
  if ((e = item(v, "bool"))) return qg_ival_bool(cJSON_IsTrue(e));
  if (item(v, "none")) return qg_ival_none();
  int tuple = 0;
  if (!(e = item(v, "list"))) {
    e = item(v, "tuple");
    tuple = 1;
  }
  cr_assert(e != NULL, "unknown fixture value");
  qg_ival l;
  QG_ASSERT_OK(qg_ival_list_new(tuple ? QG_IVAL_TUPLE : QG_IVAL_LIST, 0, &l));
  const cJSON *it;
  cJSON_ArrayForEach(it, e) QG_ASSERT_OK(qg_ival_list_push(&l, qfix_value(it, nt)));
  return l;
}

static int same_bits(double x, double y) { return (isnan(x) && isnan(y)) || (x == y && signbit(x) == signbit(y)); }

static int same_tensor(const qg_tensor *g, const cJSON *want, const qg_named_tensors *nt, char *err, size_t errlen) {
  const cJSON *qe = item(want, "q");
  const qg_tensor *w = named(nt, qe ? qe : item(want, "t"));
  const qg_dtype wd = qe ? qdtype(item(want, "dtype")->valuestring) : w->dtype;
  if (g->dtype != wd) {
    snprintf(err, errlen, "dtype %s, expected %s", qg_dtype_info(g->dtype)->name, qg_dtype_info(wd)->name);
    return 0;
  }
  char s1[QG_SHAPE_STR_MAX], s2[QG_SHAPE_STR_MAX];
  if (g->ndim != w->ndim || memcmp(g->shape, w->shape, sizeof(int64_t) * (size_t)g->ndim) != 0) {
    snprintf(err, errlen, "shape %s, expected %s", qg_shape_str(g->ndim, g->shape, s1, sizeof s1),
             qg_shape_str(w->ndim, w->shape, s2, sizeof s2));
    return 0;
  }
  if (qe) {
    const qg_quantizer *q = g->quantizer;
    if (!q) {
      snprintf(err, errlen, "no quantizer");
      return 0;
    }
    if (item(want, "scale")) {
      const double ws = item(want, "scale")->valuedouble;
      const int64_t wz = (int64_t)item(want, "zp")->valuedouble;
      if (q->scheme != QG_QSCHEME_PER_TENSOR_AFFINE || q->scale != ws || q->zero_point != wz) {
        snprintf(err, errlen, "qparams (%.17g, %lld), expected (%.17g, %lld)", q->scale, (long long)q->zero_point, ws,
                 (long long)wz);
        return 0;
      }
    } else {
      const qg_tensor *ws = named(nt, item(want, "scales")), *wz = named(nt, item(want, "zps"));
      int ok = q->scheme == QG_QSCHEME_PER_CHANNEL_AFFINE && q->axis == item(want, "axis")->valueint &&
               qg_tensor_numel(q->scales) == qg_tensor_numel(ws);
      for (int64_t i = 0; ok && i < qg_tensor_numel(ws); i++)
        ok = qg_tensor_get_flat(q->scales, i) == qg_tensor_get_flat(ws, i) &&
             qg_tensor_get_flat(q->zero_points, i) == qg_tensor_get_flat(wz, i);
      if (!ok) {
        snprintf(err, errlen, "per-channel qparams differ");
        return 0;
      }
    }
  }
  int64_t bad = -1, nbad = 0;
  for (int64_t i = 0; i < qg_tensor_numel(w); i++) {
    if (!same_bits(qg_tensor_get_flat(g, i), qg_tensor_get_flat(w, i))) {
      if (bad < 0) bad = i;
      nbad++;
    }
  }
  if (bad >= 0) {
    snprintf(err, errlen, "%lld of %lld elements differ; first: element %lld got %.17g expected %.17g",
             (long long)nbad, (long long)qg_tensor_numel(w), (long long)bad, qg_tensor_get_flat(g, bad),
             qg_tensor_get_flat(w, bad));
    return 0;
  }
  return 1;
}

int qfix_same(const qg_ival *got, const cJSON *want, const qg_named_tensors *nt, char *err, size_t errlen) {
  const cJSON *e;
  if (item(want, "t") || item(want, "q")) {
    if (got->kind != QG_IVAL_TENSOR) {
      snprintf(err, errlen, "expected a tensor, got %s", qg_ival_kind_name(got->kind));
      return 0;
    }
    return same_tensor(got->u.tensor, want, nt, err, errlen);
  }
  if ((e = item(want, "int"))) {
    if (got->kind != QG_IVAL_INT || got->u.i != (int64_t)e->valuedouble) {
      snprintf(err, errlen, "expected int %lld", (long long)e->valuedouble);
      return 0;
    }
    return 1;
  }
  if ((e = item(want, "float"))) {
    if (got->kind != QG_IVAL_DOUBLE || !same_bits(got->u.d, num(e))) {
      snprintf(err, errlen, "expected float %.17g, got %.17g", num(e), got->kind == QG_IVAL_DOUBLE ? got->u.d : NAN);
      return 0;
    }
    return 1;
  }
  if ((e = item(want, "bool"))) return got->kind == QG_IVAL_BOOL && got->u.b == cJSON_IsTrue(e);
  if (item(want, "none")) return got->kind == QG_IVAL_NONE;
  e = item(want, "list") ? item(want, "list") : item(want, "tuple");
  if ((got->kind != QG_IVAL_LIST && got->kind != QG_IVAL_TUPLE) || (size_t)cJSON_GetArraySize(e) != got->u.list->len) {
    snprintf(err, errlen, "expected a list of %d", cJSON_GetArraySize(e));
    return 0;
  }
  size_t k = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, e) {
    if (!qfix_same(&got->u.list->items[k++], it, nt, err, errlen)) return 0;
  }
  return 1;
}
