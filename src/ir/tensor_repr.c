/* ATen's tensor repr (aten/src/ATen/core/Formatting.cpp, `print(ostream, Tensor, linesize=80)`)
 * for the small constants that `str(graph)` shows inline (2 to 10 elements), with every newline
 * replaced by a space as ir.cpp does. The quirks are ATen's own and are kept on purpose (checked
 * against torch 1.13 in tests/fixtures/text/pytorch/tensor_reprs.txt):
 *   - the largest magnitude is updated only when the *signed* value exceeds it;
 *   - "Columns a to b" is followed directly by the row values, without a newline;
 *   - the scale line "0.001 *" uses %g with the precision (4) left by the fixed format. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ir/text_impl.h"

#define LINESIZE 80

typedef enum { FMT_DEFAULT, FMT_FIXED, FMT_SCI } num_fmt;

typedef struct fmt {
  num_fmt kind;
  double scale;
  int sz; /* field width */
} fmt;

/* Values are converted to double first, as ATen does (`tensor.to(kDouble)`). */
static fmt print_format(const double *v, int64_t n) {
  fmt f = {FMT_DEFAULT, 1.0, 0};
  int int_mode = 1;
  for (int64_t i = 0; i < n; i++) {
    if (isfinite(v[i]) && v[i] != ceil(v[i])) {
      int_mode = 0;
      break;
    }
  }
  int64_t off = 0;
  while (off < n && !isfinite(v[off])) off++;
  double exp_min = 1, exp_max = 1;
  if (off < n) {
    exp_min = fabs(v[off]);
    exp_max = fabs(v[off]);
    for (int64_t i = off; i < n; i++) {
      double z = fabs(v[i]);
      if (isfinite(z)) {
        if (z < exp_min) exp_min = z;
        if (v[i] > exp_max) exp_max = z; /* sic: signed comparison, as in ATen */
      }
    }
    exp_min = exp_min != 0 ? floor(log10(exp_min)) + 1 : 1;
    exp_max = exp_max != 0 ? floor(log10(exp_max)) + 1 : 1;
  }
  if (int_mode) {
    if (exp_max > 9) {
      f.kind = FMT_SCI;
      f.sz = 11;
    } else {
      f.kind = FMT_DEFAULT;
      f.sz = (int)exp_max + 1;
    }
  } else if (exp_max - exp_min > 4) {
    f.kind = FMT_SCI;
    f.sz = 11;
    if (fabs(exp_max) > 99 || fabs(exp_min) > 99) f.sz++;
  } else if (exp_max > 5 || exp_max < 0) {
    f.kind = FMT_FIXED;
    f.sz = 7;
    f.scale = pow(10, exp_max - 1);
  } else {
    f.kind = FMT_FIXED;
    f.sz = exp_max == 0 ? 7 : (int)exp_max + 6;
  }
  return f;
}

static void put_num(qg_strbuf *b, const fmt *f, double x) {
  char tmp[64];
  switch (f->kind) {
    case FMT_SCI: snprintf(tmp, sizeof tmp, "%.4e", x); break;
    case FMT_FIXED: snprintf(tmp, sizeof tmp, "%.4f", x); break;
    default: snprintf(tmp, sizeof tmp, "%g", x); break;
  }
  qg_strbuf_printf(b, "%*s", f->sz, tmp);
}

/* The scale line; the precision is the one the number format left on the stream. */
static void put_scale(qg_strbuf *b, const fmt *f) {
  qg_strbuf_printf(b, f->kind == FMT_DEFAULT ? "%g *" : "%.4g *", f->scale);
  qg_strbuf_putc(b, ' ');
}

static void put_indent(qg_strbuf *b, int indent) {
  for (int i = 0; i < indent; i++) qg_strbuf_putc(b, ' ');
}

/* ATen's __printMatrix for a rows x cols matrix stored row-major in v. */
static void print_matrix(qg_strbuf *b, const double *v, int64_t rows, int64_t cols, int indent) {
  fmt f = print_format(v, rows * cols);
  put_indent(b, indent);
  int64_t per_line = (LINESIZE - indent) / (f.sz + 1);
  int64_t first = 0, last = -1;
  while (first < cols) {
    last = first + per_line <= cols ? first + per_line - 1 : cols - 1;
    if (per_line < cols) {
      if (first != 0) qg_strbuf_putc(b, ' ');
      qg_strbuf_printf(b, "Columns %lld to %lld", (long long)first + 1, (long long)last + 1);
      put_indent(b, indent);
    }
    if (f.scale != 1) {
      put_scale(b, &f);
      put_indent(b, indent);
    }
    for (int64_t l = 0; l < rows; l++) {
      for (int64_t c = first; c <= last; c++) {
        put_num(b, &f, v[l * cols + c] / f.scale);
        if (c == last) {
          qg_strbuf_putc(b, ' ');
          if (l != rows - 1) {
            put_indent(b, indent);
            if (f.scale != 1) qg_strbuf_putc(b, ' ');
          }
        } else {
          qg_strbuf_putc(b, ' ');
        }
      }
    }
    first = last + 1;
  }
}

static const char *type_name(qg_dtype d) {
  switch (d) {
    case QG_DTYPE_U8: return "CPUByteType";
    case QG_DTYPE_I8: return "CPUCharType";
    case QG_DTYPE_I16: return "CPUShortType";
    case QG_DTYPE_I32: return "CPUIntType";
    case QG_DTYPE_I64: return "CPULongType";
    case QG_DTYPE_F16: return "CPUHalfType";
    case QG_DTYPE_F32: return "CPUFloatType";
    case QG_DTYPE_F64: return "CPUDoubleType";
    case QG_DTYPE_BOOL: return "CPUBoolType";
    case QG_DTYPE_BF16: return "CPUBFloat16Type";
    default: return NULL;
  }
}

int qg__print_tensor_repr(qg_strbuf *b, const qg_tensor *t) {
  const char *tn = type_name(t->dtype);
  int64_t n = qg_tensor_numel(t);
  if (!tn || t->ndim < 1 || n < 1 || n > 10) return -1;
  double v[10];
  for (int64_t i = 0; i < n; i++) {
    double d;
    int64_t l;
    int r = qg__tensor_elem(t, i, &d, &l);
    if (r < 0) return -1;
    v[i] = r == 1 ? d : (double)l;
  }
  if (t->ndim == 1) {
    fmt f = print_format(v, n);
    if (f.scale != 1) put_scale(b, &f);
    for (int64_t i = 0; i < n; i++) {
      put_num(b, &f, v[i] / f.scale);
      qg_strbuf_putc(b, ' ');
    }
  } else if (t->ndim == 2) {
    print_matrix(b, v, t->shape[0], t->shape[1], 0);
  } else {
    /* ATen's __printTensor: one "(i,j,.,.) = " matrix per index of the leading dims, the
     * first leading dim varying fastest (as ATen's counter does). */
    int lead = t->ndim - 2;
    int64_t rows = t->shape[lead], cols = t->shape[lead + 1], mat = rows * cols;
    int64_t counter[QG_MAX_DIMS] = {0};
    for (int64_t s = 0; s * mat < n; s++) {
      if (s) qg_strbuf_putc(b, ' ');
      qg_strbuf_putc(b, '(');
      int64_t off = 0, stride = mat;
      for (int k = lead - 1; k >= 0; k--) {
        off += counter[k] * stride;
        stride *= t->shape[k];
      }
      for (int k = 0; k < lead; k++) qg_strbuf_printf(b, "%lld,", (long long)counter[k] + 1);
      qg_strbuf_append(b, ".,.) =  "); /* "= " then a newline */
      print_matrix(b, v + off, rows, cols, 1);
      for (int k = 0; k < lead; k++) {
        if (++counter[k] < t->shape[k]) break;
        counter[k] = 0;
      }
    }
  }
  qg_strbuf_printf(b, "[ %s{", tn);
  for (int k = 0; k < t->ndim; k++) qg_strbuf_printf(b, k ? ",%lld" : "%lld", (long long)t->shape[k]);
  qg_strbuf_append(b, "} ]");
  return 0;
}
