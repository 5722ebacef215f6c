/* The rewrite tables of Finalize (quant_fusion_patterns.h), PyTorch's quantization_patterns.h
 * spelled as C string literals. The families are built by macros the way PyTorch builds them
 * with helper functions (getInputTensorQParamOpFusionInfo and friends), so each text is the one
 * PyTorch registers: same nodes, same inputs, same value names. */
#include "passes/quant_fusion_patterns.h"

/* ---- pieces shared by the families ------------------------------------------------------ */

/* Requantization of %r with the output qparams (graph inputs of the pattern). */
#define QUANT_R                                                                     \
  "  %r_quant = aten::quantize_per_tensor(%r, %r_scale, %r_zero_point, %r_dtype)\n" \
  "  return (%r_quant)\n"

/* Requantization of %r with the input's own qparams (ops that inherit them). */
#define QUANT_R_INHERITED                                  \
  "  %r_scale : float = aten::q_scale(%a_quant)\n"         \
  "  %r_zero_point : int = aten::q_zero_point(%a_quant)\n" \
  "  %r_dtype : int = prim::dtype(%a_quant)\n" QUANT_R

/* dequantize(a) and the unpacked, dequantized weight of a conv / linear. */
#define DQ_A_W(unpack)                                                      \
  "  %a_dequant = aten::dequantize(%a_quant)\n"                             \
  "  %w_quant : Tensor, %b : Tensor? = quantized::" unpack "(%packed_params)\n" \
  "  %w_dequant = aten::dequantize(%w_quant)\n"

/* ---- conv, conv_transpose, linear (rules 1-14) ------------------------------------------ */

#define CONV_HEADER \
  "graph(%a_quant, %packed_params, %r_scale, %r_zero_point, %r_dtype, %stride, %padding, %dilation, %groups):\n"
#define CONV_ARGS "(%a_dequant, %w_dequant, %b, %stride, %padding, %dilation, %groups)"
#define CONV_REPLACEMENT(qop) \
  CONV_HEADER "  %r_quant = " qop "(%a_quant, %packed_params, %r_scale, %r_zero_point)\n  return (%r_quant)\n"
/* conv{N}d; conv{N}d + relu; conv{N}d + relu_ */
#define CONV_RULES(N)                                                                                          \
  {"quantized::conv" #N "d",                                                                                   \
   CONV_HEADER DQ_A_W("conv" #N "d_unpack") "  %r = aten::conv" #N "d" CONV_ARGS "\n" QUANT_R,                 \
   CONV_REPLACEMENT("quantized::conv" #N "d"), 0},                                                             \
      {"quantized::conv" #N "d_relu",                                                                          \
       CONV_HEADER DQ_A_W("conv" #N "d_unpack") "  %conv_out = aten::conv" #N "d" CONV_ARGS "\n"               \
                                                "  %r = aten::relu(%conv_out)\n" QUANT_R,                      \
       CONV_REPLACEMENT("quantized::conv" #N "d_relu"), 0},                                                    \
      {"quantized::conv" #N "d_relu",                                                                          \
       CONV_HEADER DQ_A_W("conv" #N "d_unpack") "  %conv_out = aten::conv" #N "d" CONV_ARGS "\n"               \
                                                "  %r = aten::relu_(%conv_out)\n" QUANT_R,                     \
       CONV_REPLACEMENT("quantized::conv" #N "d_relu"), 0}

#define CONVT_HEADER                                                                             \
  "graph(%a_quant, %packed_params, %r_scale, %r_zero_point, %r_dtype, %stride, %padding, " \
  "%output_padding, %groups, %dilation):\n"
#define CONVT_RULE(N)                                                                                          \
  {"quantized::conv_transpose" #N "d",                                                                         \
   CONVT_HEADER DQ_A_W("conv_transpose" #N "d_unpack") "  %r = aten::conv_transpose" #N                        \
                                                       "d(%a_dequant, %w_dequant, %b, %stride, %padding, "     \
                                                       "%output_padding, %groups, %dilation)\n" QUANT_R,       \
   CONVT_HEADER "  %r_quant = quantized::conv_transpose" #N                                                   \
                "d(%a_quant, %packed_params, %r_scale, %r_zero_point)\n  return (%r_quant)\n",                 \
   0}

#define LINEAR_HEADER "graph(%a_quant, %packed_params, %r_scale, %r_zero_point, %r_dtype):\n"
#define LINEAR_REPLACEMENT(qop) \
  LINEAR_HEADER "  %r = " qop "(%a_quant, %packed_params, %r_scale, %r_zero_point)\n  return (%r)\n"
#define LINEAR_RELU_RULE(relu)                                                                              \
  {"quantized::linear_relu",                                                                                \
   LINEAR_HEADER DQ_A_W("linear_unpack") "  %linear_out = aten::linear(%a_dequant, %w_dequant, %b)\n"       \
                                         "  %r = " relu "(%linear_out)\n" QUANT_R,                          \
   LINEAR_REPLACEMENT("quantized::linear_relu"), 0}

/* ---- binary ops: add(+relu), mul(+relu), their scalar forms (rules 15-42) --------------- */

#define DQ_A_B                                    \
  "  %a_dequant = aten::dequantize(%a_quant)\n" \
  "  %b_dequant = aten::dequantize(%b_quant)\n"
#define ADD_HEADER "graph(%a_quant, %b_quant, %alpha, %scale, %zero_point, %dtype):\n"
#define MUL_HEADER "graph(%a_quant, %b_quant, %scale, %zero_point, %dtype):\n"
#define QUANT_RELU "  %r = aten::quantize_per_tensor(%r_relu, %scale, %zero_point, %dtype)\n  return (%r)\n"
#define ADD_RELU_RULE(add, relu)                                                                   \
  {"quantized::add_relu",                                                                          \
   ADD_HEADER DQ_A_B "  %r_add = " add "(%a_dequant, %b_dequant, %alpha)\n  %r_relu = " relu       \
                     "(%r_add)\n" QUANT_RELU,                                                      \
   ADD_HEADER "  %r = quantized::add_relu(%a_quant, %b_quant, %scale, %zero_point)\n  return (%r)\n", \
   QG_QF_ALPHA_IS_ONE}
#define ADD_RULE(add)                                                                                    \
  {"quantized::add",                                                                                     \
   ADD_HEADER DQ_A_B "  %r_add = " add "(%a_dequant, %b_dequant, %alpha)\n"                              \
                     "  %r = aten::quantize_per_tensor(%r_add, %scale, %zero_point, %dtype)\n  return (%r)\n", \
   ADD_HEADER "  %r = quantized::add(%a_quant, %b_quant, %scale, %zero_point)\n  return (%r)\n",        \
   QG_QF_ALPHA_IS_ONE}
#define MUL_RELU_RULE(mul, relu)                                                                            \
  {"quantized::mul_relu",                                                                                   \
   MUL_HEADER DQ_A_B "  %r_mul = " mul "(%a_dequant, %b_dequant)\n  %r_relu = " relu "(%r_mul)\n" QUANT_RELU, \
   MUL_HEADER "  %r = quantized::mul_relu(%a_quant, %b_quant, %scale, %zero_point)\n  return (%r)\n", 0}
#define MUL_RULE(mul)                                                                                    \
  {"quantized::mul",                                                                                     \
   MUL_HEADER DQ_A_B "  %r_mul = " mul "(%a_dequant, %b_dequant)\n"                                      \
                     "  %r = aten::quantize_per_tensor(%r_mul, %scale, %zero_point, %dtype)\n  return (%r)\n", \
   MUL_HEADER "  %r = quantized::mul(%a_quant, %b_quant, %scale, %zero_point)\n  return (%r)\n", 0}

/* An op whose output inherits the input's qparams: `op(dq(a), extra...)` requantized with
 * q_scale / q_zero_point / dtype of a (PyTorch's getInputTensorQParamOpPattern). */
#define INHERIT_PATTERN(op, extra)                                                          \
  "graph(%a_quant" extra "):\n  %a_dequant = aten::dequantize(%a_quant)\n  %r = " op "(%a_dequant" extra \
  ")\n" QUANT_R_INHERITED
/* The same op on the quantized tensor (getInputTensorQParamOpFusionInfo). */
#define INHERIT_RULE(op, extra) \
  {op, INHERIT_PATTERN(op, extra), "graph(%a_quant" extra "):\n  %r = " op "(%a_quant" extra ")\n  return (%r)\n", 0}
/* add_scalar / mul_scalar and their _out forms (getBinaryOpScalarFusionInfo). */
#define SCALAR_RULE(op, extra, qop, qextra, filters) \
  {qop, INHERIT_PATTERN(op, extra), "graph(%a_quant" extra "):\n  %r = " qop "(%a_quant" qextra ")\n  return (%r)\n", filters}
/* quantized::X_scalar(_out) followed by relu / relu_. */
#define SCALAR_RELU_RULE(qop, out_arg, relu, fused)                                                       \
  {fused, "graph(%a_quant, %b_scalar):\n  %r_op = " qop "(%a_quant, %b_scalar" out_arg ")\n  %r = " relu \
          "(%r_op)\n  return (%r)\n",                                                                     \
   "graph(%a_quant, %b_scalar):\n  %r = " fused "(%a_quant, %b_scalar" out_arg ")\n  return (%r)\n", 0}

/* ---- ops with observed output qparams (getObservedQParamOpFusionInfo) ------------------- */

#define OBSERVED_RULE(fp, qop, fp_extra, q_extra)                                                             \
  {qop,                                                                                                       \
   "graph(%a_quant" fp_extra ", %r_scale, %r_zero_point, %r_dtype):\n  %a_dequant = aten::dequantize(%a_quant)\n" \
   "  %r = " fp "(%a_dequant" fp_extra ")\n" QUANT_R,                                                         \
   "graph(%a_quant" fp_extra ", %r_scale, %r_zero_point, %r_dtype):\n  %r_quant = " qop "(%a_quant" q_extra     \
   ", %r_scale, %r_zero_point)\n  return (%r_quant)\n",                                                       \
   0}

#define BN_HEADER \
  "graph(%a_quant, %weight, %bias, %mean, %var, %training, %eaf, %eps, %7, %scale, %zero_point, %scalar_type):\n"
#define BN_CALL "(%a_dequant, %weight, %bias, %mean, %var, %training, %eaf, %eps, %7)\n"
#define BN_RELU_RULE(relu)                                                                                      \
  {"quantized::batch_norm_relu",                                                                                \
   BN_HEADER "  %a_dequant = aten::dequantize(%a_quant)\n  %bn_out = aten::batch_norm" BN_CALL                   \
             "  %relu = " relu "(%bn_out)\n"                                                                     \
             "  %r = aten::quantize_per_tensor(%relu, %scale, %zero_point, %scalar_type)\n  return (%r)\n",     \
   BN_HEADER "  %r = quantized::batch_norm_relu(%a_quant, %weight, %bias, %mean, %var, %eps, %scale, %zero_point)\n" \
             "  return (%r)\n",                                                                                 \
   0}

#define ELU_HEADER "graph(%a_quant, %alpha, %scale, %input_scale, %r_scale, %r_zero_point, %r_dtype):\n"
#define ELU_RULE(elu)                                                                                        \
  {"quantized::elu",                                                                                         \
   ELU_HEADER "  %a_dequant = aten::dequantize(%a_quant)\n  %r = " elu                                        \
              "(%a_dequant, %alpha, %scale, %input_scale)\n" QUANT_R,                                         \
   ELU_HEADER "  %r_quant = quantized::elu(%a_quant, %r_scale, %r_zero_point, %alpha, %scale, %input_scale)\n" \
              "  return (%r_quant)\n",                                                                        \
   0}

/* ---- clamp / hardtanh: scalar bounds quantized with their own qparams (getClampOpFusionInfo) */

#define SCALAR_QDQ(v)                                                                                    \
  "  " v "_float_scalar_type : int = prim::Constant[value=6]()\n"                                        \
  "  " v "_none : None = prim::Constant()\n"                                                             \
  "  " v "_tensor : Tensor = aten::scalar_tensor(" v ", " v "_float_scalar_type, " v "_none, " v "_none, " v \
  "_none)\n"                                                                                             \
  "  " v "_quant = aten::quantize_per_tensor(" v "_tensor, " v "_scale, " v "_zero_point, " v "_dtype)\n" \
  "  " v "_dequant = aten::dequantize(" v "_quant)\n"                                                    \
  "  " v "_scalar : float = aten::item(" v "_dequant)\n"
#define CLAMP_HEADER                                                                                    \
  "graph(%a_quant, %min, %max, %min_scale, %min_zero_point, %min_dtype, %max_scale, %max_zero_point, " \
  "%max_dtype, %r_scale, %r_zero_point, %r_dtype):\n"
#define CLAMP_RULE(op)                                                                                     \
  {op,                                                                                                     \
   CLAMP_HEADER SCALAR_QDQ("%min") SCALAR_QDQ("%max") "  %a_dequant = aten::dequantize(%a_quant)\n"         \
                                                      "  %r = " op "(%a_dequant, %min_scalar, %max_scalar)\n" QUANT_R, \
   CLAMP_HEADER "  %r = " op "(%a_quant, %min, %max)\n  return (%r)\n", 0}

/* ---- fixed output qparams: sigmoid/hardsigmoid 1/256, 0; tanh 2/256, 128 (quint8) ------- */

#define FIXED_RULE(op, scale, zero_point)                                                                 \
  {op,                                                                                                    \
   "graph(%a_quant):\n  %a_dequant = aten::dequantize(%a_quant)\n  %r = " op "(%a_dequant)\n"             \
   "  %r_scale : float = prim::Constant[value=" scale "]()\n"                                             \
   "  %r_zero_point : int = prim::Constant[value=" zero_point "]()\n"                                     \
   "  %r_dtype : int = prim::Constant[value=13]()\n" QUANT_R,                                             \
   "graph(%a_quant):\n  %r = " op "(%a_quant)\n  return (%r)\n", 0}

#define POOL1D_ARGS ", %kernel_size, %stride, %padding, %ceil_mode, %count_include_pad"
#define POOL_ARGS POOL1D_ARGS ", %divisor_override"
#define NORM_Q_ARGS ", %weight, %bias, %eps"

static const qg_quant_fusion_rule k_static[] = {
    CONV_RULES(1),
    CONV_RULES(2),
    CONV_RULES(3),
    CONVT_RULE(1),
    CONVT_RULE(2),
    {"quantized::linear",
     LINEAR_HEADER DQ_A_W("linear_unpack") "  %r = aten::linear(%a_dequant, %w_dequant, %b)\n" QUANT_R,
     LINEAR_REPLACEMENT("quantized::linear"), 0},
    LINEAR_RELU_RULE("aten::relu"),
    LINEAR_RELU_RULE("aten::relu_"),
    ADD_RELU_RULE("aten::add", "aten::relu"),
    ADD_RELU_RULE("aten::add", "aten::relu_"),
    ADD_RELU_RULE("aten::add_", "aten::relu"),
    ADD_RELU_RULE("aten::add_", "aten::relu_"),
    SCALAR_RULE("aten::add", ", %b_scalar, %alpha", "quantized::add_scalar", ", %b_scalar",
                QG_QF_ALPHA_IS_ONE | QG_QF_B_IS_SCALAR),
    SCALAR_RULE("aten::add_", ", %b_scalar, %alpha", "quantized::add_scalar_out", ", %b_scalar, %a_quant",
                QG_QF_ALPHA_IS_ONE | QG_QF_B_IS_SCALAR),
    /* these must come after add_scalar / add_scalar_out */
    SCALAR_RELU_RULE("quantized::add_scalar", "", "aten::relu", "quantized::add_scalar_relu"),
    SCALAR_RELU_RULE("quantized::add_scalar", "", "aten::relu_", "quantized::add_scalar_relu"),
    SCALAR_RELU_RULE("quantized::add_scalar_out", ", %a_quant", "aten::relu", "quantized::add_scalar_relu_out"),
    SCALAR_RELU_RULE("quantized::add_scalar_out", ", %a_quant", "aten::relu_", "quantized::add_scalar_relu_out"),
    ADD_RULE("aten::add"),
    ADD_RULE("aten::add_"),
    {"quantized::cat",
     "graph(%input_quant, %dim, %r_scale, %r_zero_point, %r_dtype):\n"
     "  %input_dequant = aten::dequantize(%input_quant)\n"
     "  %r = aten::cat(%input_dequant, %dim)\n" QUANT_R,
     "graph(%input_quant, %dim, %r_scale, %r_zero_point, %r_dtype):\n"
     "  %r_quant = quantized::cat(%input_quant, %dim, %r_scale, %r_zero_point)\n  return (%r_quant)\n",
     0},
    {"quantized::batch_norm",
     BN_HEADER "  %a_dequant = aten::dequantize(%a_quant)\n  %r_bn = aten::batch_norm" BN_CALL
               "  %r = aten::quantize_per_tensor(%r_bn, %scale, %zero_point, %scalar_type)\n  return (%r)\n",
     BN_HEADER "  %r = quantized::batch_norm(%a_quant, %weight, %bias, %mean, %var, %eps, %scale, %zero_point)\n"
               "  return (%r)\n",
     0},
    BN_RELU_RULE("aten::relu"),
    BN_RELU_RULE("aten::relu_"),
    SCALAR_RULE("aten::mul", ", %b_scalar", "quantized::mul_scalar", ", %b_scalar", QG_QF_B_IS_SCALAR),
    SCALAR_RULE("aten::mul_", ", %b_scalar", "quantized::mul_scalar_out", ", %b_scalar, %a_quant", QG_QF_B_IS_SCALAR),
    /* these must come after mul_scalar / mul_scalar_out */
    SCALAR_RELU_RULE("quantized::mul_scalar", "", "aten::relu", "quantized::mul_scalar_relu"),
    SCALAR_RELU_RULE("quantized::mul_scalar", "", "aten::relu_", "quantized::mul_scalar_relu"),
    SCALAR_RELU_RULE("quantized::mul_scalar_out", ", %a_quant", "aten::relu", "quantized::mul_scalar_relu_out"),
    SCALAR_RELU_RULE("quantized::mul_scalar_out", ", %a_quant", "aten::relu_", "quantized::mul_scalar_relu_out"),
    MUL_RELU_RULE("aten::mul", "aten::relu"),
    MUL_RELU_RULE("aten::mul", "aten::relu_"),
    MUL_RELU_RULE("aten::mul_", "aten::relu"),
    MUL_RELU_RULE("aten::mul_", "aten::relu_"),
    MUL_RULE("aten::mul"),
    MUL_RULE("aten::mul_"),
    OBSERVED_RULE("aten::hardswish", "quantized::hardswish", "", ""),
    OBSERVED_RULE("aten::hardswish_", "quantized::hardswish", "", ""),
    OBSERVED_RULE("aten::layer_norm", "quantized::layer_norm", ", %normalized_shape, %weight, %bias, %eps, %cudnn_enabled",
                  ", %normalized_shape" NORM_Q_ARGS),
    OBSERVED_RULE("aten::group_norm", "quantized::group_norm", ", %num_groups, %weight, %bias, %eps, %cudnn_enabled",
                  ", %num_groups" NORM_Q_ARGS),
    OBSERVED_RULE("aten::instance_norm", "quantized::instance_norm",
                  ", %weight, %bias, %running_mean, %running_var, %use_input_stats, %momentum, %eps, %cudnn_enabled",
                  NORM_Q_ARGS),
    ELU_RULE("aten::elu"),
    ELU_RULE("aten::elu_"),
    INHERIT_RULE("aten::avg_pool1d", POOL1D_ARGS),
    INHERIT_RULE("aten::avg_pool2d", POOL_ARGS),
    INHERIT_RULE("aten::avg_pool3d", POOL_ARGS),
    INHERIT_RULE("aten::adaptive_avg_pool1d", ", %output_size"),
    INHERIT_RULE("aten::adaptive_avg_pool2d", ", %output_size"),
    INHERIT_RULE("aten::adaptive_avg_pool3d", ", %output_size"),
    INHERIT_RULE("aten::mean", ", %dim"),
    INHERIT_RULE("aten::mean", ", %dim, %keepdim, %out"),
    INHERIT_RULE("aten::upsample_nearest1d", ", %output_size, %scales"),
    INHERIT_RULE("aten::upsample_nearest2d", ", %output_size, %scale_h, %scale_w"),
    INHERIT_RULE("aten::upsample_nearest3d", ", %output_size, %scale_d, %scale_h, %scale_w"),
    INHERIT_RULE("aten::upsample_linear1d", ", %output_size, %align_corners, %scales"),
    INHERIT_RULE("aten::upsample_bilinear2d", ", %output_size, %align_corners, %scale_h, %scale_w"),
    INHERIT_RULE("aten::upsample_trilinear3d", ", %output_size, %align_corners, %scale_d, %scale_h, %scale_w"),
    /* the .vec overloads */
    INHERIT_RULE("aten::upsample_nearest1d", ", %output_size, %scale_factors"),
    INHERIT_RULE("aten::upsample_nearest2d", ", %output_size, %scale_factors"),
    INHERIT_RULE("aten::upsample_nearest3d", ", %output_size, %scale_factors"),
    INHERIT_RULE("aten::upsample_linear1d", ", %output_size, %align_corners, %scale_factors"),
    INHERIT_RULE("aten::upsample_bilinear2d", ", %output_size, %align_corners, %scale_factors"),
    INHERIT_RULE("aten::upsample_trilinear3d", ", %output_size, %align_corners, %scale_factors"),
    CLAMP_RULE("aten::clamp"),
    CLAMP_RULE("aten::hardtanh"),
    CLAMP_RULE("aten::hardtanh_"),
    INHERIT_RULE("aten::leaky_relu", ", %negative_slope"),
    INHERIT_RULE("aten::leaky_relu_", ", %negative_slope"),
    FIXED_RULE("aten::hardsigmoid", "0.00390625", "0"),
    FIXED_RULE("aten::hardsigmoid_", "0.00390625", "0"),
    FIXED_RULE("aten::sigmoid", "0.00390625", "0"),
    FIXED_RULE("aten::sigmoid_", "0.00390625", "0"),
    FIXED_RULE("aten::tanh", "0.0078125", "128"),
    FIXED_RULE("aten::tanh_", "0.0078125", "128"),
};

#define DYN_HEADER "graph(%packed_params, %a, %reduce_range, %a_dtype):\n"
static const qg_quant_fusion_rule k_dynamic[] = {
    {"quantized::linear_dynamic",
     DYN_HEADER "  %a_scale : float, %a_zero_point : int = aten::_choose_qparams_per_tensor(%a, %reduce_range)\n"
                "  %a_quant = aten::quantize_per_tensor(%a, %a_scale, %a_zero_point, %a_dtype)\n"
                "  %a_dequant = aten::dequantize(%a_quant)\n"
                "  %w_quant : Tensor, %b : Tensor? = quantized::linear_unpack(%packed_params)\n"
                "  %w_dequant = aten::dequantize(%w_quant)\n"
                "  %r = aten::linear(%a_dequant, %w_dequant, %b)\n  return (%r)\n",
     DYN_HEADER "  %r = quantized::linear_dynamic(%a, %packed_params, %reduce_range)\n  return (%r)\n", 0},
    {"quantized::linear_dynamic_fp16",
     "graph(%packed_params, %a):\n"
     "  %w_unpacked : Tensor, %b : Tensor? = quantized::linear_unpack_fp16(%packed_params)\n"
     "  %r = aten::linear(%a, %w_unpacked, %b)\n  return (%r)\n",
     "graph(%packed_params, %a):\n  %r = quantized::linear_dynamic_fp16(%a, %packed_params)\n  return (%r)\n", 0},
    /* a float input (no dynamic activation quantization): reduce_range is True, which qnnpack
     * ignores */
    {"quantized::linear_dynamic",
     "graph(%packed_params, %a):\n"
     "  %w_quant : Tensor, %b : Tensor? = quantized::linear_unpack(%packed_params)\n"
     "  %w_dequant = aten::dequantize(%w_quant)\n"
     "  %r = aten::linear(%a, %w_dequant, %b)\n  return (%r)\n",
     "graph(%packed_params, %a):\n  %reduce_range : bool = prim::Constant[value=1]()\n"
     "  %r = quantized::linear_dynamic(%a, %packed_params, %reduce_range)\n  return (%r)\n",
     0},
};

/* Prepack/unpack: the packed value is typed with the class the prepack op returns (PyTorch's
 * parser takes it from the schema). */
#define PACKED_TYPE(cls) " : __torch__.torch.classes.quantized." cls " = "
#define CONV_PREPACK_HEADER "graph(%a_dequant, %w_quant, %b, %stride, %padding, %dilation, %groups):\n"
#define CONV_PREPACK_RULE(N, cls)                                                                             \
  {"quantized::conv" #N "d_prepack",                                                                          \
   CONV_PREPACK_HEADER "  %w_dequant = aten::dequantize(%w_quant)\n"                                          \
                       "  %r = aten::conv" #N "d(%a_dequant, %w_dequant, %b, %stride, %padding, %dilation, %groups)\n" \
                       "  return (%r)\n",                                                                     \
   CONV_PREPACK_HEADER "  %packed_params" PACKED_TYPE(cls) "quantized::conv" #N                              \
                       "d_prepack(%w_quant, %b, %stride, %padding, %dilation, %groups)\n"                     \
                       "  %w_quant_unpacked : Tensor, %b_unpacked : Tensor? = quantized::conv" #N             \
                       "d_unpack(%packed_params)\n"                                                           \
                       "  %w_dequant = aten::dequantize(%w_quant_unpacked)\n"                                 \
                       "  %r = aten::conv" #N "d(%a_dequant, %w_dequant, %b_unpacked, %stride, %padding, "    \
                       "%dilation, %groups)\n  return (%r)\n",                                                \
   0}
#define CONVT_PREPACK_HEADER "graph(%a_dequant, %w_quant, %b, %stride, %padding, %output_padding, %groups, %dilation):\n"
/* Note the argument order: the prepack op takes dilation before groups. */
#define CONVT_PREPACK_RULE(N)                                                                                 \
  {"quantized::conv_transpose" #N "d_prepack",                                                                \
   CONVT_PREPACK_HEADER "  %w_dequant = aten::dequantize(%w_quant)\n"                                         \
                        "  %r = aten::conv_transpose" #N "d(%a_dequant, %w_dequant, %b, %stride, %padding, "  \
                        "%output_padding, %groups, %dilation)\n  return (%r)\n",                              \
   CONVT_PREPACK_HEADER "  %packed_params" PACKED_TYPE("Conv2dPackedParamsBase") "quantized::conv_transpose" #N \
                        "d_prepack(%w_quant, %b, %stride, %padding, %output_padding, %dilation, %groups)\n"   \
                        "  %w_quant_unpacked : Tensor, %b_unpacked : Tensor? = quantized::conv_transpose" #N  \
                        "d_unpack(%packed_params)\n"                                                          \
                        "  %w_dequant = aten::dequantize(%w_quant_unpacked)\n"                                \
                        "  %r = aten::conv_transpose" #N "d(%a_dequant, %w_dequant, %b_unpacked, %stride, "   \
                        "%padding, %output_padding, %groups, %dilation)\n  return (%r)\n",                    \
   0}

static const qg_quant_fusion_rule k_prepack[] = {
    {"quantized::linear_prepack",
     "graph(%a_dequant, %w_quant, %b):\n"
     "  %w_dequant = aten::dequantize(%w_quant)\n"
     "  %r = aten::linear(%a_dequant, %w_dequant, %b)\n  return (%r)\n",
     "graph(%a_dequant, %w_quant, %b):\n"
     "  %packed_params" PACKED_TYPE("LinearPackedParamsBase") "quantized::linear_prepack(%w_quant, %b)\n"
     "  %w_quant_unpacked : Tensor, %b_unpacked : Tensor? = quantized::linear_unpack(%packed_params)\n"
     "  %w_dequant = aten::dequantize(%w_quant_unpacked)\n"
     "  %r = aten::linear(%a_dequant, %w_dequant, %b_unpacked)\n  return (%r)\n",
     0},
    {"quantized::linear_prepack_fp16",
     "graph(%w, %a_dq, %b):\n"
     "  %fp16_tensor = aten::_saturate_weight_to_fp16(%w)\n"
     "  %r = aten::linear(%a_dq, %fp16_tensor, %b)\n  return (%r)\n",
     "graph(%w, %a_dq, %b):\n"
     "  %packed_params" PACKED_TYPE("LinearPackedParamsBase") "quantized::linear_prepack_fp16(%w, %b)\n"
     "  %w_unpacked : Tensor, %b_unpacked : Tensor? = quantized::linear_unpack_fp16(%packed_params)\n"
     "  %r = aten::linear(%a_dq, %w_unpacked, %b_unpacked)\n  return (%r)\n",
     0},
    CONV_PREPACK_RULE(1, "Conv2dPackedParamsBase"), /* conv1d packs as 2d */
    CONV_PREPACK_RULE(2, "Conv2dPackedParamsBase"),
    CONV_PREPACK_RULE(3, "Conv3dPackedParamsBase"),
    CONVT_PREPACK_RULE(1),
    CONVT_PREPACK_RULE(2),
};

#define ADD_RELU_FUSION(op, args)                                                                           \
  {op "_relu", "graph(" args "):\n  %add_out = " op "(" args ")\n  %r = aten::relu(%add_out)\n  return (%r)\n", \
   "graph(" args "):\n  %r = " op "_relu(" args ")\n  return (%r)\n", 0}
/* quantized::add_out etc. produce the fused names add_relu_out / add_scalar_relu_out. */
#define ADD_RELU_OUT_FUSION(op, fused, args)                                                                   \
  {fused, "graph(" args "):\n  %add_out = " op "(" args ")\n  %r = aten::relu(%add_out)\n  return (%r)\n", \
   "graph(" args "):\n  %r = " fused "(" args ")\n  return (%r)\n", 0}

static const qg_quant_fusion_rule k_add_relu[] = {
    ADD_RELU_FUSION("quantized::add", "%a_quant, %b_quant, %scale, %zero_point"),
    ADD_RELU_OUT_FUSION("quantized::add_out", "quantized::add_relu_out", "%a_quant, %b_quant, %out_quant"),
    ADD_RELU_FUSION("quantized::add_scalar", "%a_quant, %b_scalar"),
    ADD_RELU_OUT_FUSION("quantized::add_scalar_out", "quantized::add_scalar_relu_out", "%a_quant, %b_scalar, %out_quant"),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const qg_quant_fusion_rule *qg__quant_fusion_rules(int dynamic, size_t *n) {
  *n = dynamic ? COUNT(k_dynamic) : COUNT(k_static);
  return dynamic ? k_dynamic : k_static;
}

const qg_quant_fusion_rule *qg__prepack_unpack_rules(size_t *n) {
  *n = COUNT(k_prepack);
  return k_prepack;
}

const qg_quant_fusion_rule *qg__add_relu_rules(size_t *n) {
  *n = COUNT(k_add_relu);
  return k_add_relu;
}
