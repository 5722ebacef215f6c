/* safetensors reader (mmap, validating, zero-copy) and atomic writer. */
#include "module/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/hashmap.h"
#include "module/json.h"

/* The mapping outlives the reader while tensors wrap it: the reader holds one reference and
 * every wrapped storage one more. */
struct qg_st_mapping {
  int refcount;
  void *base;
  size_t size;
};

static void mapping_release(void *owner) {
  struct qg_st_mapping *m = owner;
  if (!m || --m->refcount > 0) return;
  munmap(m->base, m->size);
  qg__free(m);
}

static const char dtype_list[] = "F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL";

/* ---- validation helpers -------------------------------------------------------------- */

typedef struct reader {
  const char *path;
  const char *header; /* in the mapping, not NUL-terminated */
  size_t header_len;
  size_t data_start, data_size;
} reader;

/* File offset of the first occurrence of "name" (quoted) in the header, so errors point at the
 * entry; 8 (the header start) if it cannot be found (e.g. the key uses escapes). */
static size_t key_offset(const reader *r, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i + n + 2 <= r->header_len; i++) {
    if (r->header[i] == '"' && memcmp(r->header + i + 1, name, n) == 0 && r->header[i + 1 + n] == '"')
      return 8 + i;
  }
  return 8;
}

static qg_status entry_error(const reader *r, const char *name, const char *fmt, ...) QG_PRINTF(3, 4);
static qg_status entry_error(const reader *r, const char *name, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return qg_set_error(QG_STATUS_FORMAT, "%s: tensor \"%s\" (header entry at byte %zu): %s", r->path, name,
                      key_offset(r, name), why);
}

/* A JSON number that is a non-negative integer exactly representable as a double. */
static int json_uint(const cJSON *j, uint64_t *out) {
  if (!cJSON_IsNumber(j)) return 0;
  double d = j->valuedouble;
  if (!(d >= 0) || d > 9007199254740992.0 || d != floor(d)) return 0;
  *out = (uint64_t)d;
  return 1;
}

static void describe_json(const cJSON *j, char *buf, size_t n) {
  if (cJSON_IsNumber(j)) snprintf(buf, n, "%.17g", j->valuedouble);
  else if (cJSON_IsString(j)) snprintf(buf, n, "string \"%.40s\"", j->valuestring);
  else if (cJSON_IsArray(j)) snprintf(buf, n, "an array");
  else if (cJSON_IsObject(j)) snprintf(buf, n, "an object");
  else if (cJSON_IsBool(j)) snprintf(buf, n, "a boolean");
  else snprintf(buf, n, "null");
}

static qg_status parse_entry(const reader *r, const cJSON *e, qg_st_tensor *t) {
  const char *name = e->string;
  char got[96];
  if (!cJSON_IsObject(e)) {
    describe_json(e, got, sizeof got);
    return entry_error(r, name, "expected an object with dtype, shape and data_offsets, got %s", got);
  }
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
  const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
  if (!dt) return entry_error(r, name, "missing key \"dtype\"");
  if (!sh) return entry_error(r, name, "missing key \"shape\"");
  if (!of) return entry_error(r, name, "missing key \"data_offsets\"");
  if (!cJSON_IsString(dt)) {
    describe_json(dt, got, sizeof got);
    return entry_error(r, name, "\"dtype\" must be a string, got %s", got);
  }
  if (!cJSON_IsArray(sh)) {
    describe_json(sh, got, sizeof got);
    return entry_error(r, name, "\"shape\" must be an array, got %s", got);
  }
  if (!cJSON_IsArray(of)) {
    describe_json(of, got, sizeof got);
    return entry_error(r, name, "\"data_offsets\" must be an array of two integers, got %s", got);
  }
  if (qg_dtype_from_safetensors(dt->valuestring, &t->dtype) != 0)
    return entry_error(r, name, "unknown dtype \"%s\" (expected one of %s)", dt->valuestring, dtype_list);

  int nd = cJSON_GetArraySize(sh);
  if (nd > QG_MAX_DIMS) return entry_error(r, name, "shape has %d dimensions, at most %d are supported", nd, QG_MAX_DIMS);
  t->ndim = nd;
  uint64_t numel = 1;
  int overflow = 0;
  int i = 0;
  for (const cJSON *d = sh->child; d; d = d->next, i++) {
    uint64_t v;
    if (!json_uint(d, &v)) {
      describe_json(d, got, sizeof got);
      return entry_error(r, name, "shape[%d] must be a non-negative integer, got %s", i, got);
    }
    t->shape[i] = (int64_t)v;
    if (v && numel > UINT64_MAX / v) overflow = 1;
    numel *= v;
  }

  if (cJSON_GetArraySize(of) != 2)
    return entry_error(r, name, "\"data_offsets\" must have exactly 2 entries, got %d", cJSON_GetArraySize(of));
  if (!json_uint(of->child, &t->begin) || !json_uint(of->child->next, &t->end)) {
    describe_json(json_uint(of->child, &t->begin) ? of->child->next : of->child, got, sizeof got);
    return entry_error(r, name, "data_offsets must be non-negative integers, got %s", got);
  }
  if (t->end < t->begin)
    return entry_error(r, name, "data_offsets [%llu, %llu] end before they begin", (unsigned long long)t->begin,
                       (unsigned long long)t->end);
  if (t->end > r->data_size)
    return entry_error(r, name,
                       "data_offsets [%llu, %llu] end at file byte %llu, past the end of the file (%zu bytes)",
                       (unsigned long long)t->begin, (unsigned long long)t->end,
                       (unsigned long long)(r->data_start + t->end), r->data_start + r->data_size);
  size_t esize = qg_dtype_info(t->dtype)->size;
  if (overflow || numel > UINT64_MAX / esize || numel * esize != t->end - t->begin)
    return entry_error(r, name, "%s with %llu elements needs %llu bytes but data_offsets [%llu, %llu] span %llu",
                       dt->valuestring, (unsigned long long)numel, (unsigned long long)(numel * esize),
                       (unsigned long long)t->begin, (unsigned long long)t->end,
                       (unsigned long long)(t->end - t->begin));
  return QG_OK;
}

static int cmp_begin(const void *a, const void *b) {
  const qg_st_tensor *x = *(const qg_st_tensor *const *)a, *y = *(const qg_st_tensor *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* Entries sorted by offset must tile the data section exactly. */
static qg_status check_tiling(const reader *r, qg_st_tensor *ts, size_t n) {
  if (n == 0) {
    if (r->data_size != 0)
      return qg_set_error(QG_STATUS_FORMAT, "%s: %zu bytes of data after the header at byte %zu belong to no tensor",
                          r->path, r->data_size, r->data_start);
    return QG_OK;
  }
  qg_st_tensor **order = qg__malloc(n * sizeof *order);
  if (!order) return qg_oom("safetensors offset check");
  for (size_t i = 0; i < n; i++) order[i] = &ts[i];
  qsort(order, n, sizeof *order, cmp_begin);
  qg_status st = QG_OK;
  uint64_t pos = 0;
  for (size_t i = 0; i < n && st == QG_OK; i++) {
    const qg_st_tensor *t = order[i];
    if (t->begin > pos)
      st = entry_error(r, t->name, "gap: data_offsets begin at %llu (file byte %llu) but the previous tensor ends at %llu",
                       (unsigned long long)t->begin, (unsigned long long)(r->data_start + t->begin),
                       (unsigned long long)pos);
    else if (t->begin < pos)
      st = entry_error(r, t->name,
                       "overlap: data_offsets begin at %llu (file byte %llu) inside tensor \"%s\" which ends at %llu",
                       (unsigned long long)t->begin, (unsigned long long)(r->data_start + t->begin),
                       order[i - 1]->name, (unsigned long long)pos);
    pos = t->end;
  }
  if (st == QG_OK && pos != r->data_size)
    st = qg_set_error(QG_STATUS_FORMAT, "%s: %llu bytes at file byte %llu after the last tensor belong to no tensor",
                      r->path, (unsigned long long)(r->data_size - pos), (unsigned long long)(r->data_start + pos));
  qg__free(order);
  return st;
}

static qg_status parse_metadata(const reader *r, const cJSON *meta, qg_safetensors *st) {
  if (!cJSON_IsObject(meta))
    return qg_set_error(QG_STATUS_FORMAT, "%s: \"__metadata__\" (header byte %zu) must be an object of strings",
                        r->path, key_offset(r, "__metadata__"));
  size_t n = (size_t)cJSON_GetArraySize(meta);
  if (n == 0) return QG_OK;
  st->meta_keys = qg__calloc(n, sizeof(char *));
  st->meta_values = qg__calloc(n, sizeof(char *));
  if (!st->meta_keys || !st->meta_values) return qg_oom("safetensors metadata");
  for (const cJSON *m = meta->child; m; m = m->next) {
    if (!cJSON_IsString(m))
      return qg_set_error(QG_STATUS_FORMAT, "%s: metadata value \"%s\" (header byte %zu) must be a string", r->path,
                          m->string, key_offset(r, m->string));
    char *k = qg__strdup(m->string), *v = qg__strdup(m->valuestring);
    if (!k || !v) {
      qg__free(k);
      qg__free(v);
      return qg_oom("safetensors metadata");
    }
    st->meta_keys[st->nmeta] = k;
    st->meta_values[st->nmeta++] = v;
  }
  return QG_OK;
}

static qg_status parse_header(reader *r, qg_safetensors *st) {
  qg__json_begin();
  cJSON *root = cJSON_ParseWithLength(r->header, r->header_len);
  if (!root) {
    if (qg__json_oom()) return qg_oom("the safetensors header");
    const char *at = cJSON_GetErrorPtr();
    size_t off = (at && at >= r->header && at <= r->header + r->header_len) ? (size_t)(at - r->header) + 8 : 8;
    return qg_set_error(QG_STATUS_FORMAT, "%s: header is not valid JSON (syntax error near file byte %zu)", r->path,
                        off);
  }
  qg_status s = QG_OK;
  qg_hashmap seen = QG_HASHMAP_INIT;
  if (!cJSON_IsObject(root)) {
    s = qg_set_error(QG_STATUS_FORMAT, "%s: header at byte 8 is not a JSON object", r->path);
    goto done;
  }
  size_t n = (size_t)cJSON_GetArraySize(root);
  st->tensors = qg__calloc(n ? n : 1, sizeof *st->tensors);
  if (!st->tensors) {
    s = qg_oom("safetensors entries");
    goto done;
  }
  for (const cJSON *e = root->child; e && s == QG_OK; e = e->next) {
    if (strcmp(e->string, "__metadata__") == 0) {
      if (st->meta_keys || qg_hashmap_get(&seen, e->string))
        s = qg_set_error(QG_STATUS_FORMAT, "%s: \"__metadata__\" appears twice in the header", r->path);
      else if ((s = parse_metadata(r, e, st)) == QG_OK && qg_hashmap_put(&seen, e->string, (void *)e))
        s = qg_oom("safetensors entries");
      continue;
    }
    qg_st_tensor *t = &st->tensors[st->ntensors];
    if ((s = parse_entry(r, e, t)) != QG_OK) break;
    if (qg_hashmap_get(&seen, e->string)) {
      s = entry_error(r, e->string, "duplicate tensor name");
      break;
    }
    if (qg_hashmap_put(&seen, e->string, (void *)e) || !(t->name = qg__strdup(e->string))) {
      s = qg_oom("safetensors entries");
      break;
    }
    st->ntensors++;
  }
  if (s == QG_OK) s = check_tiling(r, st->tensors, st->ntensors);
done:
  qg_hashmap_free(&seen);
  cJSON_Delete(root);
  return s;
}

/* Wraps (or, when misaligned, copies) every tensor's bytes. */
static qg_status make_tensors(qg_safetensors *st) {
  for (size_t i = 0; i < st->ntensors; i++) {
    qg_st_tensor *e = &st->tensors[i];
    size_t off = st->data_start + (size_t)e->begin, nbytes = (size_t)(e->end - e->begin);
    char *data = (char *)st->base + off;
    if (off % qg_dtype_info(e->dtype)->size == 0) {
      st->mapping->refcount++;
      qg_status s = qg_tensor_wrap(e->dtype, e->ndim, e->shape, data, nbytes, mapping_release, st->mapping, &e->tensor);
      if (s != QG_OK) {
        st->mapping->refcount--;
        return s == QG_STATUS_OOM ? s : qg_error_prefix(s, "%s: tensor \"%s\"", st->path, e->name);
      }
    } else {
      qg_status s = qg_tensor_create(e->dtype, e->ndim, e->shape, &e->tensor);
      if (s != QG_OK) return s == QG_STATUS_OOM ? s : qg_error_prefix(s, "%s: tensor \"%s\"", st->path, e->name);
      if (nbytes) memcpy(qg_tensor_data(e->tensor), data, nbytes);
    }
  }
  return QG_OK;
}

qg_status qg_safetensors_open(const char *path, qg_safetensors **out) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return qg_set_error(QG_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return qg_set_error(QG_STATUS_IO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    return qg_set_error(QG_STATUS_IO, "%s: not a regular file", path);
  }
  size_t size = (size_t)sb.st_size;
  if (size < 8) {
    close(fd);
    return qg_set_error(QG_STATUS_FORMAT, "%s: file is %zu bytes, too short for the 8-byte header length", path, size);
  }
  /* Copy-on-write private mapping: nothing is copied while tensors are only read (the no-copy
   * load), and an in-place op on a loaded tensor (x.add_(1) on a parameter) gets its own copy of
   * the touched pages instead of faulting; the file itself is never written. */
  void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  close(fd); /* the mapping keeps the file */
  if (base == MAP_FAILED) return qg_set_error(QG_STATUS_IO, "%s: cannot map: %s", path, strerror(map_errno));

  qg_status s = QG_OK;
  qg_safetensors *st = qg__calloc(1, sizeof *st);
  struct qg_st_mapping *m = qg__calloc(1, sizeof *m);
  if (!st || !m || !(st->path = qg__strdup(path))) {
    qg__free(m);
    munmap(base, size);
    qg_safetensors_close(st);
    return qg_oom("a safetensors reader");
  }
  *m = (struct qg_st_mapping){1, base, size};
  st->mapping = m;
  st->base = base;
  st->file_size = size;

  const unsigned char *p = base;
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
  if (hlen > QG_SAFETENSORS_MAX_HEADER) {
    s = qg_set_error(QG_STATUS_FORMAT, "%s: header length %llu at byte 0 exceeds the limit of %u bytes", path,
                     (unsigned long long)hlen, QG_SAFETENSORS_MAX_HEADER);
  } else if (hlen > size - 8) {
    s = qg_set_error(QG_STATUS_FORMAT, "%s: header length %llu at byte 0 runs past the end of the file (%zu bytes)",
                     path, (unsigned long long)hlen, size);
  } else {
    reader r = {path, (const char *)p + 8, (size_t)hlen, 8 + (size_t)hlen, size - 8 - (size_t)hlen};
    st->data_start = r.data_start;
    s = parse_header(&r, st);
    if (s == QG_OK) s = make_tensors(st);
  }
  if (s != QG_OK) {
    qg_safetensors_close(st);
    return s;
  }
  *out = st;
  return QG_OK;
}

void qg_safetensors_close(qg_safetensors *st) {
  if (!st) return;
  if (st->tensors) {
    for (size_t i = 0; i < st->ntensors; i++) {
      qg__free(st->tensors[i].name);
      qg_tensor_release(st->tensors[i].tensor);
    }
    qg__free(st->tensors);
  }
  for (size_t i = 0; i < st->nmeta; i++) {
    qg__free(st->meta_keys[i]);
    qg__free(st->meta_values[i]);
  }
  qg__free(st->meta_keys);
  qg__free(st->meta_values);
  mapping_release(st->mapping);
  qg__free(st->path);
  qg__free(st);
}

const qg_st_tensor *qg_safetensors_find(const qg_safetensors *st, const char *name) {
  for (size_t i = 0; i < st->ntensors; i++)
    if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
  return NULL;
}

const char *qg_safetensors_meta(const qg_safetensors *st, const char *key) {
  for (size_t i = 0; i < st->nmeta; i++)
    if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
  return NULL;
}

int qg_safetensors_owns(const qg_safetensors *st, const qg_tensor *t) {
  const char *d = qg_tensor_data(t), *b = st->base;
  return d && d >= b && d < b + st->file_size;
}

/* ---- writing --------------------------------------------------------------------------- */

static qg_status write_all(int fd, const void *buf, size_t n, const char *path) {
  const char *p = buf;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return qg_set_error(QG_STATUS_IO, "%s: write failed: %s", path, strerror(errno));
    }
    p += w;
    n -= (size_t)w;
  }
  return QG_OK;
}

qg_status qg_write_file_atomic(const char *path, const void *const *chunks, const size_t *lens, size_t nchunks) {
  size_t plen = strlen(path);
  static const char suffix[] = ".tmp-XXXXXX";
  char *tmp = qg__malloc(plen + sizeof suffix);
  if (!tmp) return qg_oom("a temporary file name");
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, suffix, sizeof suffix);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    qg_status s = qg_set_error(QG_STATUS_IO, "%s: cannot create a temporary file in its directory: %s", path,
                               strerror(errno));
    qg__free(tmp);
    return s;
  }
  qg_status s = QG_OK;
  if (fchmod(fd, 0644) != 0) s = qg_set_error(QG_STATUS_IO, "%s: chmod failed: %s", tmp, strerror(errno));
  for (size_t i = 0; i < nchunks && s == QG_OK; i++)
    if (lens[i]) s = write_all(fd, chunks[i], lens[i], tmp);
  if (s == QG_OK && fsync(fd) != 0) s = qg_set_error(QG_STATUS_IO, "%s: fsync failed: %s", tmp, strerror(errno));
  if (close(fd) != 0 && s == QG_OK) s = qg_set_error(QG_STATUS_IO, "%s: close failed: %s", tmp, strerror(errno));
  if (s == QG_OK && rename(tmp, path) != 0)
    s = qg_set_error(QG_STATUS_IO, "%s: cannot rename the temporary file into place: %s", path, strerror(errno));
  if (s != QG_OK) {
    unlink(tmp);
  } else {
    /* Make the rename durable: fsync the directory (best effort; some filesystems refuse). */
    char *slash = strrchr(tmp, '/');
    const char *dir = ".";
    if (slash) {
      *slash = '\0';
      dir = slash == tmp ? "/" : tmp;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
  }
  qg__free(tmp);
  return s;
}

static int cmp_write_order(const void *a, const void *b) {
  const qg_st_entry *x = a, *y = b;
  size_t sx = qg_dtype_info(x->tensor->dtype)->size, sy = qg_dtype_info(y->tensor->dtype)->size;
  if (sx != sy) return sx > sy ? -1 : 1;
  return strcmp(x->name, y->name);
}

static qg_status build_header(const qg_st_entry *order, size_t n, const char *const *mk, const char *const *mv,
                              size_t nmeta, char **out_json) {
  qg__json_begin();
  qg_status s = QG_OK;
  cJSON *root = cJSON_CreateObject();
  if (!root) return qg_oom("the safetensors header");
  if (nmeta) {
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    for (size_t i = 0; meta && i < nmeta; i++)
      if (!cJSON_AddStringToObject(meta, mk[i], mv[i])) meta = NULL;
    if (!meta) s = qg_oom("the safetensors header");
  }
  uint64_t pos = 0;
  for (size_t i = 0; i < n && s == QG_OK; i++) {
    const qg_tensor *t = order[i].tensor;
    uint64_t nb = qg_tensor_nbytes(t);
    cJSON *e = cJSON_AddObjectToObject(root, order[i].name);
    cJSON *shape = e ? cJSON_AddArrayToObject(e, "shape") : NULL;
    cJSON *offs = NULL;
    int ok = e && cJSON_AddStringToObject(e, "dtype", qg_dtype_info(t->dtype)->safetensors) && shape;
    for (int d = 0; ok && d < t->ndim; d++) {
      cJSON *num = cJSON_CreateNumber((double)t->shape[d]);
      ok = num && cJSON_AddItemToArray(shape, num);
      if (num && !ok) cJSON_Delete(num);
    }
    if (ok) {
      /* cJSON_AddObjectToObject appended "shape" before "dtype"; the reader is order-agnostic. */
      offs = cJSON_AddArrayToObject(e, "data_offsets");
      cJSON *b = cJSON_CreateNumber((double)pos), *en = cJSON_CreateNumber((double)(pos + nb));
      ok = offs && b && en;
      if (ok) {
        cJSON_AddItemToArray(offs, b);
        cJSON_AddItemToArray(offs, en);
      } else {
        cJSON_Delete(b);
        cJSON_Delete(en);
      }
    }
    if (!ok) s = qg_oom("the safetensors header");
    pos += nb;
  }
  if (s == QG_OK) {
    *out_json = cJSON_PrintUnformatted(root);
    if (!*out_json) s = qg_oom("the safetensors header");
  }
  cJSON_Delete(root);
  return s;
}

qg_status qg_safetensors_write(const char *path, const qg_st_entry *tensors, size_t ntensors,
                               const char *const *meta_keys, const char *const *meta_values, size_t nmeta) {
  for (size_t i = 0; i < ntensors; i++) {
    if (!tensors[i].tensor || !tensors[i].name)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: tensor entry %zu has no name or no tensor", path, i);
    if (strcmp(tensors[i].name, "__metadata__") == 0)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: \"__metadata__\" cannot name a tensor", path);
    if (!qg_tensor_is_contiguous(tensors[i].tensor))
      return qg_set_error(QG_STATUS_UNSUPPORTED, "%s: tensor \"%s\" is not contiguous", path, tensors[i].name);
  }
  qg_st_entry *order = qg__malloc((ntensors ? ntensors : 1) * sizeof *order);
  if (!order) return qg_oom("safetensors write order");
  if (ntensors) memcpy(order, tensors, ntensors * sizeof *order);
  qsort(order, ntensors, sizeof *order, cmp_write_order);
  /* Names are few (one per tensor attribute): a quadratic duplicate check is fine. */
  for (size_t i = 0; i < ntensors; i++)
    for (size_t j = i + 1; j < ntensors; j++)
      if (strcmp(tensors[i].name, tensors[j].name) == 0) {
        qg__free(order);
        return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: duplicate tensor name \"%s\"", path, tensors[i].name);
      }

  char *json = NULL;
  qg_status s = build_header(order, ntensors, meta_keys, meta_values, nmeta, &json);
  const void **chunks = NULL;
  size_t *lens = NULL;
  char *hdr = NULL;
  if (s == QG_OK) {
    size_t jlen = strlen(json), padded = (jlen + 7) / 8 * 8;
    hdr = qg__malloc(8 + padded);
    chunks = qg__malloc((ntensors + 1) * sizeof *chunks);
    lens = qg__malloc((ntensors + 1) * sizeof *lens);
    if (!hdr || !chunks || !lens) {
      s = qg_oom("the safetensors header");
    } else {
      uint64_t h = padded;
      for (int i = 0; i < 8; i++) hdr[i] = (char)((h >> (8 * i)) & 0xff);
      memcpy(hdr + 8, json, jlen);
      memset(hdr + 8 + jlen, ' ', padded - jlen);
      chunks[0] = hdr;
      lens[0] = 8 + padded;
      for (size_t i = 0; i < ntensors; i++) {
        chunks[i + 1] = qg_tensor_data(order[i].tensor);
        lens[i + 1] = qg_tensor_nbytes(order[i].tensor);
      }
      s = qg_write_file_atomic(path, chunks, lens, ntensors + 1);
    }
  }
  cJSON_free(json);
  qg__free(hdr);
  qg__free(chunks);
  qg__free(lens);
  qg__free(order);
  return s;
}
