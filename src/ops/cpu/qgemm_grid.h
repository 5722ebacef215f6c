/* The column operand of the implicit convolution (qgemm.h): the input of one image and group
 * rearranged once per call so that every kernel tap is a constant offset, and the GEMM reads
 * the 16 positions x 4 channels of a quad as one 64-byte vector, with no im2col.
 *
 * The input is padded (with the activation zero point, as FBGEMM's im2col fills) and split by
 * stride phase: phase (pz, py, px) holds the padded samples at coordinates = phase (mod stride),
 * so along a grid row consecutive positions are consecutive outputs' samples for any stride.
 * Layout: [channel quad][phase slot][Dq][Hq][Wq][4 channels], the 4 channels of a quad
 * interleaved per sample (channels past cin are 0, matching the zero weights packed there), and
 * only the phases some tap uses are built (a 1x1 stride-2 conv builds one). Position
 * p = (oz * Hq + oy) * Wq + ox computes output (oz, oy, ox) when ox < OW and oy < OH; tap
 * (kz, ky, kx) reads slot(phase) + p + ((kz*dz / sz) * Hq + ky*dy / sy) * Wq + kx*dx / sx. The
 * other positions (the grid's right and bottom margins) are computed and dropped: OW / Wq of
 * the work is useful (56 / 58 for ResNet's 3x3 layers). */
#ifndef QG_OPS_CPU_QGEMM_GRID_H
#define QG_OPS_CPU_QGEMM_GRID_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "ops/cpu/qgemm.h"

typedef struct qg__qgrid {
  int64_t in[3], stride[3], pad[3], out[3]; /* (z, y, x) */
  int64_t q[3];                             /* grid dims: ceil(padded / stride) */
  int64_t cin, ncq;
  int ntaps, nslot;
  int64_t *tap;  /* ntaps byte offsets, order (kz, ky, kx) as the weight's */
  int64_t *slot; /* nslot x 3 phases */
  int64_t plane; /* bytes of one phase */
  int64_t cq_stride;
  size_t bytes; /* the whole operand, with the slack the last vectors read past the end */
  int64_t J;    /* positions up to the last output */
} qg__qgrid;

/* Geometry of a convolution over in[] with kernel k[], stride, pad, dilation and output out[]
 * (all (z, y, x); 2-D: a unit depth), cin channels. OOM. */
qg_status qg__qgrid_init(qg__qgrid *g, const int64_t in[3], const int64_t k[3], const int64_t stride[3],
                         const int64_t pad[3], const int64_t dil[3], const int64_t out[3], int64_t cin) QG_MUST_USE;
void qg__qgrid_free(qg__qgrid *g);
/* Fills buf (g->bytes) from cin channels of x (channel c at x + c * cstride, dims in[]). */
void qg__qgrid_fill(const qg__qgrid *g, const uint8_t *x, int64_t cstride, int32_t za, uint8_t *buf);
/* The column-operand fields of m (cols, ncq, cq_stride, vstride, ntaps, tap, J, gw, ow, gh, oh). */
void qg__qgrid_operand(const qg__qgrid *g, const uint8_t *buf, qg__qmm *m);

#endif
