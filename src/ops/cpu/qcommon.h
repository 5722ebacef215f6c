/* Checks and parameter extraction shared by the quantized conv / linear kernels (qconv.c,
 * qlinear.c, qlinear_dynamic.c): the activation's per-tensor qparams, the weight's qparams as
 * one (scale, zero point) per output channel, and new quint8 outputs. Messages name the op. */
#ifndef QG_OPS_CPU_QCOMMON_H
#define QG_OPS_CPU_QCOMMON_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

/* The weight's qparams per output channel. */
typedef struct qg__qw {
  int64_t n;       /* output channels */
  int per_channel; /* the weight is per-channel affine (FBGEMM divides the bias then) */
  double *scales;  /* n */
  int32_t *zps;    /* n */
} qg__qw;

/* w must be qint8 with a per-tensor quantizer, or a per-channel one along axis 0 with n
 * channels (allow_per_channel = 0 refuses per-channel: transposed conv). */
qg_status qg__qw_init(qg__qw *q, const char *op, const qg_tensor *w, int64_t n, int allow_per_channel) QG_MUST_USE;
void qg__qw_free(qg__qw *q);

/* x must be a per-tensor quint8 tensor: its scale and zero point. */
qg_status qg__q_act(const char *op, const qg_tensor *x, double *scale, int32_t *zp) QG_MUST_USE;

/* A bias of n float32 values (contiguous copy in *contig when needed; release it after) or NULL. */
qg_status qg__q_bias(const char *op, qg_tensor *bias, int64_t n, qg_tensor **contig, const float **data) QG_MUST_USE;
/* The checks of qg__q_bias alone (PyTorch's messages): NULL, or float32 [n]. */
qg_status qg__q_check_bias(const char *op, const qg_tensor *bias, int64_t n) QG_MUST_USE;

/* A new quint8 tensor with per-tensor (scale, zero_point); checks scale > 0 and 0 <= zp <= 255. */
qg_status qg__q_out(const char *op, int ndim, const int64_t *shape, double scale, int64_t zp,
                    qg_tensor **out) QG_MUST_USE;

#endif
