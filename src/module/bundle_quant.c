/* Quantized tensors in bundles: the `quantgraph.quant.<name>` metadata (bundle_quant.h). */
#include "module/bundle_quant.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "module/json.h"
#include "module/value.h"
#include "tensor/tensor_ops.h"

typedef struct quant_entry {
  const char *name; /* borrowed from the reader's metadata key */
  qg_dtype dtype;
  qg_quantizer *q;
} quant_entry;

struct qg__bundle_quant {
  quant_entry *e;
  size_t n;
};

int qg__bundle_is_quant_key(const char *key) {
  return strncmp(key, QG_META_QUANT_PREFIX, sizeof QG_META_QUANT_PREFIX - 1) == 0;
}

void qg__bundle_quant_free(qg__bundle_quant *q) {
  if (!q) return;
  for (size_t i = 0; i < q->n; i++) qg_quantizer_release(q->e[i].q);
  qg__free(q->e);
  qg__free(q);
}

static int quantized_dtype_named(const char *s, qg_dtype *out) {
  for (int d = 0; d < QG_DTYPE_COUNT; d++)
    if (qg_dtype_info((qg_dtype)d)->is_quantized && strcmp(qg_dtype_info((qg_dtype)d)->name, s) == 0) {
      *out = (qg_dtype)d;
      return 1;
    }
  return 0;
}

/* A JSON number that is an integer (zero points). */
static int json_int(const cJSON *v, int64_t *out) {
  if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 9007199254740992.0)
    return 0;
  *out = (int64_t)v->valuedouble;
  return 1;
}

static int json_scale(const cJSON *v, double *out) {
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || !(v->valuedouble > 0)) return 0;
  *out = v->valuedouble;
  return 1;
}

/* Builds entry e for tensor t from the parsed JSON value; errors are FORMAT with `why`. */
static qg_status parse_entry(const cJSON *j, const qg_st_tensor *t, quant_entry *e, qg_strbuf *why) {
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype"), *sc = cJSON_GetObjectItemCaseSensitive(j, "scheme");
  if (!cJSON_IsObject(j)) return qg_strbuf_append(why, "not a JSON object"), QG_STATUS_FORMAT;
  if (!cJSON_IsString(dt) || !quantized_dtype_named(dt->valuestring, &e->dtype))
    return qg_strbuf_append(why, "\"dtype\" must be one of \"qint8\", \"quint8\", \"qint32\", \"quint4x2\""),
           QG_STATUS_FORMAT;
  if (strcmp(qg_dtype_info(e->dtype)->safetensors, qg_dtype_info(t->dtype)->safetensors) != 0) {
    qg_strbuf_printf(why, "%s is stored as %s, but the tensor is %s", qg_dtype_info(e->dtype)->name,
                     qg_dtype_info(e->dtype)->safetensors, qg_dtype_info(t->dtype)->safetensors);
    return QG_STATUS_FORMAT;
  }
  if (!cJSON_IsString(sc)) return qg_strbuf_append(why, "\"scheme\" must be a string"), QG_STATUS_FORMAT;
  if (strcmp(sc->valuestring, "per_tensor_affine") == 0) {
    double s;
    int64_t z;
    if (!json_scale(cJSON_GetObjectItemCaseSensitive(j, "scale"), &s))
      return qg_strbuf_append(why, "\"scale\" must be a finite positive number"), QG_STATUS_FORMAT;
    if (!json_int(cJSON_GetObjectItemCaseSensitive(j, "zero_point"), &z))
      return qg_strbuf_append(why, "\"zero_point\" must be an integer"), QG_STATUS_FORMAT;
    return qg_quantizer_per_tensor(s, z, &e->q);
  }
  if (strcmp(sc->valuestring, "per_channel_affine") != 0) {
    qg_strbuf_printf(why, "unknown \"scheme\" \"%.40s\" (per_tensor_affine or per_channel_affine)", sc->valuestring);
    return QG_STATUS_FORMAT;
  }
  const cJSON *ss = cJSON_GetObjectItemCaseSensitive(j, "scales"), *zs = cJSON_GetObjectItemCaseSensitive(j, "zero_points");
  int64_t axis;
  if (!json_int(cJSON_GetObjectItemCaseSensitive(j, "axis"), &axis) || axis < 0 || axis >= t->ndim) {
    qg_strbuf_printf(why, "\"axis\" must be an integer in [0, %d)", t->ndim);
    return QG_STATUS_FORMAT;
  }
  int64_t n = t->shape[axis];
  if (!cJSON_IsArray(ss) || !cJSON_IsArray(zs) || cJSON_GetArraySize(ss) != n || cJSON_GetArraySize(zs) != n) {
    qg_strbuf_printf(why, "\"scales\" and \"zero_points\" must be arrays of %lld values (dimension %lld)", (long long)n,
                     (long long)axis);
    return QG_STATUS_FORMAT;
  }
  int64_t shape[1] = {n};
  qg_tensor *st = NULL, *zt = NULL;
  qg_status s = qg_tensor_create(QG_DTYPE_F64, 1, shape, &st);
  if (s == QG_OK) s = qg_tensor_create(QG_DTYPE_I64, 1, shape, &zt);
  /* walk both arrays by their links: cJSON_GetArrayItem(i) is a list walk (quadratic here) */
  const cJSON *si = ss->child, *zi = zs->child;
  for (int64_t i = 0; s == QG_OK && i < n; i++, si = si->next, zi = zi->next) {
    double *sd = qg_tensor_data(st);
    int64_t *zd = qg_tensor_data(zt);
    if (!json_scale(si, &sd[i])) {
      qg_strbuf_printf(why, "scales[%lld] must be a finite positive number", (long long)i);
      s = QG_STATUS_FORMAT;
    } else if (!json_int(zi, &zd[i])) {
      qg_strbuf_printf(why, "zero_points[%lld] must be an integer", (long long)i);
      s = QG_STATUS_FORMAT;
    }
  }
  if (s == QG_OK) s = qg_quantizer_per_channel(st, zt, (int)axis, &e->q);
  qg_tensor_release(st);
  qg_tensor_release(zt);
  return s;
}

qg_status qg__bundle_quant_read(const qg_safetensors *st, qg__bundle_quant **out) {
  *out = NULL;
  size_t count = 0;
  for (size_t i = 0; i < st->nmeta; i++) count += qg__bundle_is_quant_key(st->meta_keys[i]);
  if (!count) return QG_OK;
  qg__bundle_quant *q = qg__calloc(1, sizeof *q);
  if (!q || !(q->e = qg__calloc(count, sizeof *q->e))) {
    qg__free(q);
    return qg_oom("bundle quantization metadata");
  }
  qg_status s = QG_OK;
  qg_strbuf why = QG_STRBUF_INIT;
  for (size_t i = 0; s == QG_OK && i < st->nmeta; i++) {
    const char *key = st->meta_keys[i];
    if (!qg__bundle_is_quant_key(key)) continue;
    const char *name = key + sizeof QG_META_QUANT_PREFIX - 1;
    const qg_st_tensor *t = qg_safetensors_find(st, name);
    if (!t) {
      s = qg_set_error(QG_STATUS_FORMAT, "%s: __metadata__ key \"%s\": the file has no tensor \"%s\"", st->path, key, name);
      break;
    }
    qg__json_begin();
    cJSON *j = cJSON_Parse(st->meta_values[i]);
    if (!j) {
      s = qg__json_oom() ? qg_oom("bundle quantization metadata")
                         : qg_set_error(QG_STATUS_FORMAT, "%s: __metadata__ key \"%s\": not valid JSON: %.80s", st->path,
                                        key, st->meta_values[i]);
      break;
    }
    quant_entry *e = &q->e[q->n];
    e->name = name;
    qg_strbuf_reset(&why);
    s = parse_entry(j, t, e, &why);
    cJSON_Delete(j);
    if (s == QG_OK) {
      q->n++;
    } else if (s != QG_STATUS_OOM) {
      if (!why.len) qg_strbuf_append(&why, qg_last_error()); /* the quantizer's own check */
      qg_status ws = qg_strbuf_ok(&why);
      s = ws != QG_OK ? ws
                      : qg_set_error(QG_STATUS_FORMAT, "%s: __metadata__ key \"%s\" (quantized tensor \"%s\"): %s",
                                     st->path, key, name, qg_strbuf_cstr(&why));
    }
  }
  qg_strbuf_free(&why);
  if (s != QG_OK) {
    qg__bundle_quant_free(q);
    return s;
  }
  *out = q;
  return QG_OK;
}

static void release_tensor(void *owner) { qg_tensor_release(owner); }

qg_status qg__bundle_quant_apply(const qg__bundle_quant *q, const char *name, qg_tensor *t, qg_tensor **out) {
  const quant_entry *e = NULL;
  for (size_t i = 0; q && i < q->n; i++)
    if (strcmp(q->e[i].name, name) == 0) e = &q->e[i];
  if (!e) {
    qg_tensor_retain(t);
    *out = t;
    return QG_OK;
  }
  /* A new header over the same bytes; the storage's release drops the reference to t. */
  qg_tensor *v;
  qg_tensor_retain(t);
  qg_status s = qg_tensor_wrap(e->dtype, t->ndim, t->shape, qg_tensor_data(t), qg_tensor_nbytes(t), release_tensor, t, &v);
  if (s != QG_OK) {
    qg_tensor_release(t);
    return s;
  }
  s = qg_tensor_set_quantizer(v, e->q);
  if (s != QG_OK) {
    qg_tensor_release(v);
    return s;
  }
  *out = v;
  return QG_OK;
}

qg_status qg__bundle_quant_describe(const char *name, const qg_tensor *t, qg_strbuf *out) {
  const qg_quantizer *q = t->quantizer;
  if (!q)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "saving tensor \"%s\": it has the quantized dtype %s but no quantizer",
                        name, qg_dtype_info(t->dtype)->name);
  qg_strbuf_printf(out, "{\"dtype\": \"%s\", ", qg_dtype_info(t->dtype)->name);
  if (q->scheme == QG_QSCHEME_PER_TENSOR_AFFINE) {
    qg_strbuf_append(out, "\"scheme\": \"per_tensor_affine\", \"scale\": ");
    qg_format_double(q->scale, out);
    qg_strbuf_printf(out, ", \"zero_point\": %lld}", (long long)q->zero_point);
    return qg_strbuf_ok(out);
  }
  qg_strbuf_printf(out, "\"scheme\": \"per_channel_affine\", \"axis\": %d, \"scales\": [", q->axis);
  int64_t n = q->scales->shape[0];
  for (int64_t i = 0; i < n; i++) {
    if (i) qg_strbuf_append(out, ", ");
    qg_format_double(qg_tensor_get_flat(q->scales, i), out);
  }
  qg_strbuf_append(out, "], \"zero_points\": [");
  for (int64_t i = 0; i < n; i++) qg_strbuf_printf(out, i ? ", %lld" : "%lld", (long long)qg_tensor_get_flat(q->zero_points, i));
  qg_strbuf_append(out, "]}");
  return qg_strbuf_ok(out);
}
