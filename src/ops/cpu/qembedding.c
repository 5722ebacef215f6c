/* Row-wise quantized embedding bags (qembedding.h). */
#include "ops/cpu/qembedding.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"

#define FP16_ONE 0x3C00u /* 1.0 in IEEE half */

static const char *prepack_name(int bits) {
  return bits == 8 ? "quantized::embedding_bag_byte_prepack" : "quantized::embedding_bag_4bit_prepack";
}

/* Bytes of a packed row holding d values. */
static int64_t packed_cols(int bits, int64_t d) { return bits == 8 ? d + 8 : d / 2 + 4; }

static qg_status check_bits(int bits) {
  if (bits != 8 && bits != 4)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "embedding_bag: bit rate %d is not 8 or 4", bits);
  return QG_OK;
}

static void row_min_max(const float *x, int64_t d, float *mn, float *mx) {
  float lo = x[0], hi = x[0];
  for (int64_t j = 1; j < d; j++) {
    lo = x[j] < lo ? x[j] : lo; /* std::min_element / max_element */
    hi = hi < x[j] ? x[j] : hi;
  }
  *mn = lo;
  *mx = hi;
}

/* FloatOrHalfToFused8BitRowwiseQuantizedSBFloat. */
static void pack_byte_rows(const float *w, int64_t rows, int64_t d, uint8_t *out) {
  for (int64_t r = 0; r < rows; r++) {
    const float *x = w + r * d;
    uint8_t *o = out + r * (d + 8);
    float mn, mx;
    row_min_max(x, d, &mn, &mx);
    float range = mx - mn, scale = range / 255.0f, inv = 255.0f / (range + 1e-8f);
    for (int64_t j = 0; j < d; j++) o[j] = (uint8_t)(long)nearbyintf((x[j] - mn) * inv);
    memcpy(o + d, &scale, 4);
    memcpy(o + d + 4, &mn, 4);
  }
}

/* Rounds v[0..n) to fp16 through the tensor layer (bit-exact with c10): the halves in *h (an
 * F16 tensor, caller releases) and the values back in v. */
static qg_status round_f16(float *v, int64_t n, qg_tensor **h) {
  *h = NULL;
  int64_t shape[1] = {n};
  qg_tensor *f = NULL, *back = NULL;
  QG_TRY(qg_tensor_from_data(QG_DTYPE_F32, 1, shape, v, &f));
  qg_status st = qg_tensor_to_dtype(f, QG_DTYPE_F16, h);
  if (st == QG_OK) st = qg_tensor_to_dtype(*h, QG_DTYPE_F32, &back);
  if (st == QG_OK && n) memcpy(v, qg_tensor_data(back), (size_t)n * sizeof *v);
  qg_tensor_release(f);
  qg_tensor_release(back);
  if (st != QG_OK) {
    qg_tensor_release(*h);
    *h = NULL;
  }
  return st;
}

/* FloatOrHalfToFusedNBitRowwiseQuantizedSBHalf with bit_rate 4. */
static qg_status pack_4bit_rows(const float *w, int64_t rows, int64_t d, uint8_t *out) {
  float *mins = qg__malloc((size_t)(rows ? rows : 1) * sizeof *mins);
  float *maxs = qg__malloc((size_t)(rows ? rows : 1) * sizeof *maxs);
  float *scales = qg__malloc((size_t)(rows ? rows : 1) * sizeof *scales);
  qg_tensor *mins_h = NULL, *scales_h = NULL;
  qg_status st = mins && maxs && scales ? QG_OK : qg_oom(prepack_name(4));
  for (int64_t r = 0; st == QG_OK && r < rows; r++) row_min_max(w + r * d, d, &mins[r], &maxs[r]);
  if (st == QG_OK) st = round_f16(mins, rows, &mins_h); /* the bias is stored in fp16 */
  for (int64_t r = 0; st == QG_OK && r < rows; r++) {
    float range = maxs[r] - mins[r];
    scales[r] = range == 0 ? 1.0f : range / 15.0f;
  }
  if (st == QG_OK) st = round_f16(scales, rows, &scales_h);
  int64_t oc = packed_cols(4, d);
  for (int64_t r = 0; st == QG_OK && r < rows; r++) {
    float scale = scales[r];
    uint16_t scale_bits = ((const uint16_t *)qg_tensor_data(scales_h))[r];
    if (scale == 0) scale = 1.0f, scale_bits = FP16_ONE;
    float inv = 1.0f / scale;
    if (isinf(inv)) scale = 1.0f, inv = 1.0f, scale_bits = FP16_ONE;
    const float *x = w + r * d;
    uint8_t *o = out + r * oc;
    for (int64_t j = 0; j < d; j++) {
      long q = (long)nearbyintf((x[j] - mins[r]) * inv);
      q = q < 0 ? 0 : q > 15 ? 15 : q;
      if (j % 2 == 0) o[j / 2] = (uint8_t)q;
      else o[j / 2] |= (uint8_t)(q << 4);
    }
    uint16_t bias_bits = ((const uint16_t *)qg_tensor_data(mins_h))[r];
    memcpy(o + d / 2, &scale_bits, 2);
    memcpy(o + d / 2 + 2, &bias_bits, 2);
  }
  qg_tensor_release(mins_h);
  qg_tensor_release(scales_h);
  qg__free(mins);
  qg__free(maxs);
  qg__free(scales);
  return st;
}

qg_status qg_cpu_embedding_bag_prepack(int bits, qg_tensor *weight, qg_tensor **out) {
  *out = NULL;
  QG_TRY(check_bits(bits));
  const char *op = prepack_name(bits);
  if (weight->dtype != QG_DTYPE_F32)
    return qg_set_error(QG_STATUS_TYPE, "%s: expected a float32 weight, got %s", op, qg_dtype_info(weight->dtype)->name);
  if (weight->ndim < 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: 'embedding_bag' weight should have at least 2 dims, got %d", op,
                        weight->ndim);
  int64_t d = weight->shape[weight->ndim - 1], rows = qg_tensor_numel(weight) / (d ? d : 1);
  if (d == 0) rows = 0;
  if (bits == 4 && d % 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                        "%s: qembeddingbag_4bit_prepack only works for the number of columns a multiple of 2 (got %lld)",
                        op, (long long)d);
  if (d == 0) return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: the weight has no columns", op);
  int64_t shape[QG_MAX_DIMS];
  memcpy(shape, weight->shape, (size_t)weight->ndim * sizeof *shape);
  shape[weight->ndim - 1] = packed_cols(bits, d);
  qg_tensor *wc = NULL, *y = NULL;
  QG_TRY(qg_tensor_contiguous(weight, &wc));
  qg_status st = qg_tensor_create(QG_DTYPE_U8, weight->ndim, shape, &y);
  if (st == QG_OK && rows) {
    if (bits == 8) pack_byte_rows(qg_tensor_data(wc), rows, d, qg_tensor_data(y));
    else st = pack_4bit_rows(qg_tensor_data(wc), rows, d, qg_tensor_data(y));
  }
  qg_tensor_release(wc);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}

/* ---- reading packed rows ------------------------------------------------------------------- */

typedef struct packed_rows {
  int bits;
  const uint8_t *data;
  int64_t rows, cols, d;
  float *scale, *bias; /* per row, as float */
  qg_tensor *sb_h;     /* 4-bit: the fp16 scales and biases, converted */
} packed_rows;

static void packed_free(packed_rows *p) {
  qg__free(p->scale);
  qg__free(p->bias);
  qg_tensor_release(p->sb_h);
}

/* Validates a 2-D (or batched, for unpack) uint8 packed weight and reads every row's scale and
 * bias. */
static qg_status packed_open(const char *op, int bits, const qg_tensor *packed, packed_rows *p) {
  memset(p, 0, sizeof *p);
  p->bits = bits;
  if (packed->dtype != QG_DTYPE_U8 || packed->ndim < 2)
    return qg_set_error(QG_STATUS_TYPE, "%s: expected a packed uint8 weight with at least 2 dims, got %s with %d dims",
                        op, qg_dtype_info(packed->dtype)->name, packed->ndim);
  p->cols = packed->shape[packed->ndim - 1];
  int64_t min_cols = bits == 8 ? 8 : 4;
  if (p->cols < min_cols)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: a packed row needs at least %lld bytes, got %lld", op,
                        (long long)min_cols, (long long)p->cols);
  p->d = bits == 8 ? p->cols - 8 : (p->cols - 4) * 2;
  p->rows = qg_tensor_numel(packed) / p->cols;
  p->data = qg_tensor_data(packed);
  p->scale = qg__malloc((size_t)(p->rows ? p->rows : 1) * sizeof *p->scale);
  p->bias = qg__malloc((size_t)(p->rows ? p->rows : 1) * sizeof *p->bias);
  if (!p->scale || !p->bias) {
    packed_free(p);
    return qg_oom(op);
  }
  if (bits == 8) {
    for (int64_t r = 0; r < p->rows; r++) {
      memcpy(&p->scale[r], p->data + r * p->cols + p->d, 4);
      memcpy(&p->bias[r], p->data + r * p->cols + p->d + 4, 4);
    }
    return QG_OK;
  }
  /* 4-bit: gather the fp16 pairs, convert them in one go. */
  int64_t shape[1] = {2 * p->rows};
  qg_tensor *h = NULL;
  qg_status st = qg_tensor_create(QG_DTYPE_F16, 1, shape, &h);
  if (st == QG_OK) {
    uint8_t *hd = qg_tensor_data(h);
    for (int64_t r = 0; r < p->rows; r++) memcpy(hd + 4 * r, p->data + r * p->cols + p->d / 2, 4);
    st = qg_tensor_to_dtype(h, QG_DTYPE_F32, &p->sb_h);
  }
  qg_tensor_release(h);
  if (st != QG_OK) {
    packed_free(p);
    return st;
  }
  const float *sb = qg_tensor_data(p->sb_h);
  for (int64_t r = 0; r < p->rows; r++) {
    p->scale[r] = sb[2 * r];
    p->bias[r] = sb[2 * r + 1];
  }
  return QG_OK;
}

static inline float packed_q(const packed_rows *p, int64_t r, int64_t j) {
  const uint8_t *row = p->data + r * p->cols;
  return p->bits == 8 ? (float)row[j] : (float)((row[j / 2] >> ((j % 2) * 4)) & 15);
}

qg_status qg_cpu_embedding_bag_unpack(int bits, qg_tensor *packed, qg_tensor **out) {
  *out = NULL;
  QG_TRY(check_bits(bits));
  const char *op = bits == 8 ? "quantized::embedding_bag_byte_unpack" : "quantized::embedding_bag_4bit_unpack";
  qg_tensor *pc = NULL, *y = NULL;
  packed_rows p;
  QG_TRY(qg_tensor_contiguous(packed, &pc));
  qg_status st = packed_open(op, bits, pc, &p);
  if (st == QG_OK) {
    int64_t shape[QG_MAX_DIMS];
    memcpy(shape, pc->shape, (size_t)pc->ndim * sizeof *shape);
    shape[pc->ndim - 1] = p.d;
    st = qg_tensor_create(QG_DTYPE_F32, pc->ndim, shape, &y);
    float *yd = st == QG_OK ? qg_tensor_data(y) : NULL;
    for (int64_t r = 0; yd && r < p.rows; r++)
      for (int64_t j = 0; j < p.d; j++) yd[r * p.d + j] = fmaf(packed_q(&p, r, j), p.scale[r], p.bias[r]);
    packed_free(&p);
  }
  qg_tensor_release(pc);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}

/* ---- bags ------------------------------------------------------------------------------------ */

/* An int64 copy of an index / offset tensor. */
static qg_status int64_values(const char *op, const char *what, qg_tensor *t, qg_tensor **out) {
  *out = NULL;
  if (t->dtype != QG_DTYPE_I64 && t->dtype != QG_DTYPE_I32)
    return qg_set_error(QG_STATUS_TYPE, "%s: %s must be int64 or int32, got %s", op, what, qg_dtype_info(t->dtype)->name);
  return qg_tensor_to_dtype(t, QG_DTYPE_I64, out);
}

/* Bag boundaries: starts[b], ends[b] for b < *nbags, validated against nidx. */
static qg_status bag_bounds(const char *op, const qg_embedding_bag_args *a, int64_t nidx, qg_tensor **offs,
                            int64_t *nbags, int64_t *bag_len) {
  *offs = NULL;
  *bag_len = 0;
  if (!a->offsets) {
    if (a->indices->ndim != 2)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: indices must be 2-D [bags, length] when offsets are not given, got %d-D", op,
                          a->indices->ndim);
    *nbags = a->indices->shape[0];
    *bag_len = a->indices->shape[1];
    return QG_OK;
  }
  if (a->indices->ndim != 1 || a->offsets->ndim != 1)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: indices and offsets must be 1-D (got %d-D and %d-D)", op,
                        a->indices->ndim, a->offsets->ndim);
  QG_TRY(int64_values(op, "offsets", a->offsets, offs));
  const int64_t *o = qg_tensor_data(*offs);
  int64_t n = (*offs)->shape[0];
  *nbags = a->include_last_offset ? n - 1 : n;
  if (*nbags < 0) *nbags = 0;
  for (int64_t b = 0; b < n; b++) {
    int64_t prev = b ? o[b - 1] : 0;
    if ((b == 0 && o[0] != 0) || o[b] < prev || o[b] > nidx) {
      qg_status st = qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                                  "%s: offsets must start at 0 and be non-decreasing up to the number of indices "
                                  "(%lld); offsets[%lld] = %lld",
                                  op, (long long)nidx, (long long)b, (long long)o[b]);
      qg_tensor_release(*offs);
      *offs = NULL;
      return st;
    }
  }
  return QG_OK;
}

qg_status qg_cpu_embedding_bag_rowwise(int bits, qg_tensor *packed, const qg_embedding_bag_args *a, qg_tensor **out) {
  *out = NULL;
  QG_TRY(check_bits(bits));
  const char *op = bits == 8 ? "quantized::embedding_bag_byte_rowwise_offsets"
                             : "quantized::embedding_bag_4bit_rowwise_offsets";
  if (packed->ndim != 2)
    return qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: the packed weight must be 2-D, got %d-D", op, packed->ndim);
  int64_t nidx = qg_tensor_numel(a->indices);
  if (a->per_sample_weights) {
    if (a->per_sample_weights->dtype != QG_DTYPE_F32 || qg_tensor_numel(a->per_sample_weights) != nidx)
      return qg_set_error(QG_STATUS_INVALID_ARGUMENT,
                          "%s: per_sample_weights must be float32 with one value per index (%lld), got %s with %lld",
                          op, (long long)nidx, qg_dtype_info(a->per_sample_weights->dtype)->name,
                          (long long)qg_tensor_numel(a->per_sample_weights));
  }
  qg_tensor *pc = NULL, *idx = NULL, *offs = NULL, *psw = NULL, *y = NULL;
  packed_rows p;
  int have_p = 0;
  int64_t nbags = 0, bag_len = 0;
  qg_status st = qg_tensor_contiguous(packed, &pc);
  if (st == QG_OK && (st = packed_open(op, bits, pc, &p)) == QG_OK) have_p = 1;
  if (st == QG_OK) st = int64_values(op, "indices", a->indices, &idx);
  if (st == QG_OK) st = bag_bounds(op, a, nidx, &offs, &nbags, &bag_len);
  if (st == QG_OK && a->per_sample_weights) st = qg_tensor_contiguous(a->per_sample_weights, &psw);
  if (st == QG_OK) {
    int64_t shape[2] = {nbags, have_p ? p.d : 0};
    st = qg_tensor_create(QG_DTYPE_F32, 2, shape, &y);
  }
  if (st == QG_OK) {
    const int64_t *ix = qg_tensor_data(idx), *o = offs ? qg_tensor_data(offs) : NULL;
    const float *ws = psw ? qg_tensor_data(psw) : NULL;
    float *yd = qg_tensor_data(y);
    for (int64_t b = 0; b < nbags && st == QG_OK; b++) {
      int64_t start = o ? o[b] : b * bag_len;
      int64_t end = o ? (b + 1 < offs->shape[0] ? o[b + 1] : nidx) : start + bag_len;
      float *acc = yd + b * p.d;
      for (int64_t i = start; i < end; i++) {
        int64_t r = ix[i];
        if (r < 0 || r >= p.rows) {
          st = qg_set_error(QG_STATUS_INVALID_ARGUMENT, "%s: index %lld (position %lld) is out of range for %lld rows",
                            op, (long long)r, (long long)i, (long long)p.rows);
          break;
        }
        float w = ws ? ws[i] : 1.0f, scale = w * p.scale[r], bias = w * p.bias[r];
        for (int64_t j = 0; j < p.d; j++) acc[j] = fmaf(scale, packed_q(&p, r, j), acc[j] + bias);
      }
    }
  }
  if (have_p) packed_free(&p);
  qg_tensor_release(pc);
  qg_tensor_release(idx);
  qg_tensor_release(offs);
  qg_tensor_release(psw);
  if (st != QG_OK) {
    qg_tensor_release(y);
    return st;
  }
  *out = y;
  return QG_OK;
}
