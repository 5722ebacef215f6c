/* Transposed convolution: per image and group one GEMM col = W_g^T x_g over all input pixels,
 * then col2im scatters-and-adds the columns into the output (see conv.h). */
#include <string.h>

#include "base/alloc.h"
#include "ops/cpu/conv.h"
#include "ops/cpu/gemm.h"

/* y[co, id*s - p + kd*d, ...] += col[(co, kd, kh, kw), (id, ih, iw)] for in-range targets. The
 * "input" of the transposed conv indexes columns; g->out is the output being written. */
#define COL2IM_BODY(T)                                                                          \
  do {                                                                                          \
    const T *src = (const T *)colv;                                                             \
    T *y = (T *)yv;                                                                             \
    for (int64_t c = 0; c < g->c_out; c++)                                                      \
      for (int64_t kd = 0; kd < g->k[0]; kd++)                                                  \
        for (int64_t kh = 0; kh < g->k[1]; kh++)                                                \
          for (int64_t kw = 0; kw < g->k[2]; kw++, src += P) {                                  \
            const T *row = src;                                                                 \
            for (int64_t id = 0; id < ID; id++) {                                               \
              int64_t od = id * g->stride[0] - g->pad_lo[0] + kd * g->dilation[0];              \
              for (int64_t ih = 0; ih < IH; ih++, row += IW) {                                  \
                int64_t oh = ih * g->stride[1] - g->pad_lo[1] + kh * g->dilation[1];            \
                if (od < 0 || od >= OD || oh < 0 || oh >= OH) continue;                         \
                T *dst = y + ((c * OD + od) * OH + oh) * OW;                                    \
                int64_t wbase = kw * g->dilation[2] - g->pad_lo[2];                             \
                for (int64_t iw = 0; iw < IW; iw++) {                                           \
                  int64_t ow = iw * g->stride[2] + wbase;                                       \
                  if (ow >= 0 && ow < OW) dst[ow] += row[iw];                                   \
                }                                                                               \
              }                                                                                 \
            }                                                                                   \
          }                                                                                     \
  } while (0)

static void col2im(const qg__conv_geom *g, const void *colv, void *yv) {
  const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
  const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
  const int64_t P = ID * IH * IW;
  if (g->dtype == QG_DTYPE_F64)
    COL2IM_BODY(double);
  else
    COL2IM_BODY(float);
}

qg_status qg__conv_transpose_run(const qg__conv_geom *g, const void *x, const void *w, void *y) {
  const size_t es = qg_dtype_info(g->dtype)->size;
  const int64_t P = g->in[0] * g->in[1] * g->in[2];
  const int64_t S_out = g->out[0] * g->out[1] * g->out[2];
  const int64_t K = g->k[0] * g->k[1] * g->k[2];
  const int64_t cig = g->c_in / g->groups, cog = g->c_out / g->groups;
  /* A 1x1 kernel with stride 1 and no padding maps columns to outputs one to one. */
  int direct = K == 1 && P == S_out;
  for (int i = 0; i < 3; i++) direct = direct && g->stride[i] == 1 && g->pad_lo[i] == 0;
  char *col = NULL;
  if (!direct && P > 0 && g->c_out > 0) {
    size_t count = (size_t)(g->c_out * K);
    if ((size_t)P > SIZE_MAX / es / count)
      return qg_set_error(QG_STATUS_OOM, "conv_transpose: column buffer size overflows");
    col = qg__malloc(count * (size_t)P * es);
    if (!col) return qg_oom("conv_transpose: column buffer");
  }
  qg_status st = QG_OK;
  for (int64_t n = 0; n < g->n && st == QG_OK; n++) {
    const char *xn = (const char *)x + (size_t)(n * g->c_in * P) * es;
    char *yn = (char *)y + (size_t)(n * g->c_out * S_out) * es;
    char *dst = direct ? yn : col;
    for (int64_t gi = 0; gi < g->groups && st == QG_OK && dst; gi++) {
      /* W_g is stored [cig, cog*K]; its transpose times x_g [cig, P] gives [cog*K, P]. */
      st = qg__gemm("conv_transpose", g->dtype, 1, 0, cog * K, P, cig, 1.0,
                    (const char *)w + (size_t)(gi * cig * cog * K) * es, cog * K,
                    xn + (size_t)(gi * cig * P) * es, P, 0.0,
                    dst + (size_t)(gi * cog * K * P) * es, P);
    }
    if (st == QG_OK && !direct && col) col2im(g, col, yn);
  }
  qg__free(col);
  return st;
}
