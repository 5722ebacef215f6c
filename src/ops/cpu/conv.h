/* Float convolution and transposed convolution, 1-D to 3-D (aten::conv1d/2d/3d, their
 * .padding overloads with "same"/"valid", aten::conv_transpose1d/2d/3d and aten::_convolution).
 *
 * Layout is PyTorch's: input [N, C_in, *spatial] (or unbatched [C_in, *spatial]), weight
 * [C_out, C_in / groups, *kernel] for convolution and [C_in, C_out / groups, *kernel] for the
 * transposed form, bias [C_out]. f32 and f64 (input, weight and bias share one dtype); inputs
 * may have any strides.
 *
 * Implementation: for each image and group, one GEMM over all output pixels through
 * qg__gemm (OpenBLAS): im2col + GEMM for convolution (the input itself for 1x1 stride-1
 * kernels), GEMM + col2im for the transposed form. Temporary memory: C_in * prod(kernel) *
 * prod(output spatial) elements (C_out * ... * input spatial for transposed). */
#ifndef QG_OPS_CPU_CONV_H
#define QG_OPS_CPU_CONV_H

#include <stdint.h>

#include "ops/cpu/cpu_ops.h"

typedef enum qg_conv_padding_mode {
  QG_CONV_PADDING_EXPLICIT = 0, /* the `padding` values, symmetric */
  QG_CONV_PADDING_SAME,         /* padding="same": output size = input size (stride 1 only);
                                   an odd total pads one more on the high side, as PyTorch */
  QG_CONV_PADDING_VALID         /* padding="valid": no padding */
} qg_conv_padding_mode;

/* Every parameter of a convolution, expanded to one value per spatial dim (first nspatial
 * entries used). Fill with qg_conv_params_init, then set fields. */
typedef struct qg_conv_params {
  int nspatial; /* 1, 2 or 3 */
  int transposed;
  qg_conv_padding_mode padding_mode;
  int64_t stride[3];
  int64_t padding[3];
  int64_t dilation[3];
  int64_t output_padding[3]; /* transposed only */
  int64_t groups;
} qg_conv_params;

/* Defaults: stride 1, padding 0, dilation 1, output_padding 0, groups 1, explicit padding. */
void qg_conv_params_init(qg_conv_params *p, int nspatial, int transposed);

/* The general entry point. Validates shapes and parameters with PyTorch's messages
 * (QG_STATUS_INVALID_ARGUMENT: "Given groups=1, weight of size [8, 4, 3, 3], expected
 * input[1, 3, 5, 5] to have 4 channels, but got 3 channels instead", "negative padding is not
 * supported", "non-positive groups is not supported", ...; QG_STATUS_TYPE for mixed dtypes;
 * QG_STATUS_UNSUPPORTED for non-float), QG_STATUS_OOM. bias may be NULL. *out: a new
 * contiguous tensor owned by the caller. */
qg_status qg_cpu_conv(qg_tensor *input, qg_tensor *weight, qg_tensor *bias,
                      const qg_conv_params *p, qg_tensor **out) QG_MUST_USE;

/* aten::conv{nspatial}d(input, weight, bias, stride, padding, dilation, groups). Int lists
 * of length 1 are repeated (int[2] stride=1 in the schema); length 0 takes the default. */
qg_status qg_cpu_conv_nd(int nspatial, qg_tensor *input, qg_tensor *weight, qg_tensor *bias,
                         const int64_t *stride, int nstride, const int64_t *padding, int npadding,
                         const int64_t *dilation, int ndilation, int64_t groups,
                         qg_tensor **out) QG_MUST_USE;

/* aten::conv{nspatial}d.padding: padding is "same" or "valid" (anything else:
 * QG_STATUS_INVALID_ARGUMENT "Invalid padding string: 'foo'"). */
qg_status qg_cpu_conv_nd_padding_str(int nspatial, qg_tensor *input, qg_tensor *weight,
                                     qg_tensor *bias, const int64_t *stride, int nstride,
                                     const char *padding, const int64_t *dilation, int ndilation,
                                     int64_t groups, qg_tensor **out) QG_MUST_USE;

/* aten::conv_transpose{nspatial}d.input(input, weight, bias, stride, padding, output_padding,
 * groups, dilation) — PyTorch's argument order. */
qg_status qg_cpu_conv_transpose_nd(int nspatial, qg_tensor *input, qg_tensor *weight,
                                   qg_tensor *bias, const int64_t *stride, int nstride,
                                   const int64_t *padding, int npadding,
                                   const int64_t *output_padding, int noutput_padding,
                                   int64_t groups, const int64_t *dilation, int ndilation,
                                   qg_tensor **out) QG_MUST_USE;

/* aten::_convolution(input, weight, bias, stride, padding, dilation, transposed,
 * output_padding, groups, ...): the form traced graphs contain. The spatial rank comes from
 * weight (weight.dim() - 2); the benchmark/deterministic/cudnn/tf32 flags do not change CPU
 * results and are not taken. */
qg_status qg_cpu_convolution(qg_tensor *input, qg_tensor *weight, qg_tensor *bias,
                             const int64_t *stride, int nstride, const int64_t *padding,
                             int npadding, const int64_t *dilation, int ndilation, int transposed,
                             const int64_t *output_padding, int noutput_padding, int64_t groups,
                             qg_tensor **out) QG_MUST_USE;

/* ---- internal: shared by conv.c and conv_transpose.c ------------------------------------ */

/* Validated geometry of one convolution, 3-D with leading unit dims for 1-D and 2-D. */
typedef struct qg__conv_geom {
  qg_dtype dtype;
  int64_t n, c_in, c_out, groups;
  int64_t in[3], k[3], out[3];
  int64_t stride[3], dilation[3], pad_lo[3];
} qg__conv_geom;

/* The transposed convolution of contiguous x and w into the zeroed contiguous y (bias is
 * added by the caller). */
qg_status qg__conv_transpose_run(const qg__conv_geom *g, const void *x, const void *w,
                                 void *y) QG_MUST_USE;

#endif
