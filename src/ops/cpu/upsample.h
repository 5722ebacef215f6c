/* Float upsampling as F.interpolate: nearest (aten::upsample_nearest{1,2,3}d) and linear
 * (aten::upsample_linear1d, upsample_bilinear2d, upsample_trilinear3d), with align_corners,
 * and both of PyTorch's ways to give the size:
 *  - the .vec overloads: exactly one of output_size or scale_factors; with scale factors the
 *    output size is floor(in * scale) and the index mapping uses 1/scale (what
 *    F.interpolate(scale_factor=s) does when recompute_scale_factor is not set);
 *  - the plain overloads: output_size plus optional per-dim scales (<= 0 = None) that, when
 *    given, define the mapping instead of in/out.
 * Index and weight arithmetic follows PyTorch's CPU kernels in the input's precision (float
 * for f32), so nearest picks the same source pixel as PyTorch. Input [N, C, *spatial], f32 or
 * f64, any strides; the result is a new contiguous tensor owned by the caller. */
#ifndef QG_OPS_CPU_UPSAMPLE_H
#define QG_OPS_CPU_UPSAMPLE_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

typedef enum qg_upsample_mode {
  QG_UPSAMPLE_NEAREST = 0,
  QG_UPSAMPLE_LINEAR /* linear / bilinear / trilinear by rank */
} qg_upsample_mode;

/* The .vec form: output_size (noutput_size == nspatial) or scale_factors (nscale ==
 * nspatial); the other must be absent (NULL / 0). align_corners is ignored for nearest.
 * Errors: QG_STATUS_INVALID_ARGUMENT ("Must specify exactly one of output_size and
 * scale_factors", sizes that are not positive, wrong input rank), QG_STATUS_OOM. */
qg_status qg_cpu_upsample_vec(int nspatial, qg_upsample_mode mode, qg_tensor *input,
                              const int64_t *output_size, int noutput_size,
                              const double *scale_factors, int nscale, int align_corners,
                              qg_tensor **out) QG_MUST_USE;

/* The plain form: output_size (nspatial values) and scales (NULL, or nspatial values where
 * <= 0 means None). */
qg_status qg_cpu_upsample(int nspatial, qg_upsample_mode mode, qg_tensor *input,
                          const int64_t *output_size, const double *scales, int align_corners,
                          qg_tensor **out) QG_MUST_USE;

#endif
