/* qg__ops_qlinear_table: quantized conv / linear / embedding_bag ops, their prepack / unpack and
 * the packed params accessors (families in ops_qlinear_linear.c, ops_qlinear_conv.c,
 * ops_qlinear_embed.c), plus the helpers they share. */
#include "runtime/interp_impl.h"
#include "runtime/ops_qlinear_impl.h"

static const qg_op_impl_entry k_table[] = {
    /* linear */
    {"quantized::linear_prepack", "", qg__qlin_linear_prepack},
    {"quantized::linear_prepack_fp16", "", qg__qlin_linear_prepack_fp16},
    {"quantized::linear_unpack", "", qg__qlin_linear_unpack},
    {"quantized::linear_unpack_fp16", "", qg__qlin_linear_unpack},
    {"quantized::linear", "", qg__qlin_linear},
    {"quantized::linear_relu", "", qg__qlin_linear_relu},
    {"quantized::linear_dynamic", "", qg__qlin_linear_dynamic},
    {"quantized::linear_relu_dynamic", "", qg__qlin_linear_relu_dynamic},
    {"quantized::linear_dynamic_fp16", "", qg__qlin_linear_dynamic_fp16},
    {"quantized::linear_relu_dynamic_fp16", "", qg__qlin_linear_relu_dynamic_fp16},
    /* conv: prepack */
    {"quantized::conv1d_prepack", "", qg__qlin_conv_prepack},
    {"quantized::conv2d_prepack", "", qg__qlin_conv_prepack},
    {"quantized::conv_prepack", "", qg__qlin_conv_prepack},
    {"quantized::conv3d_prepack", "", qg__qlin_conv_prepack},
    {"quantized::conv_transpose1d_prepack", "", qg__qlin_conv_prepack},
    {"quantized::conv_transpose2d_prepack", "", qg__qlin_conv_prepack},
    {"quantized::conv_transpose3d_prepack", "", qg__qlin_conv_prepack},
    /* conv: unpack */
    {"quantized::conv1d_unpack", "", qg__qlin_conv_unpack},
    {"quantized::conv2d_unpack", "", qg__qlin_conv_unpack},
    {"quantized::conv_unpack", "", qg__qlin_conv_unpack},
    {"quantized::conv3d_unpack", "", qg__qlin_conv_unpack},
    {"quantized::conv_transpose1d_unpack", "", qg__qlin_conv_unpack},
    {"quantized::conv_transpose2d_unpack", "", qg__qlin_conv_unpack},
    {"quantized::conv_transpose3d_unpack", "", qg__qlin_conv_unpack},
    /* conv: accessors */
    {"quantized::conv2d_stride", "", qg__qlin_conv_accessor},
    {"quantized::conv2d_padding", "", qg__qlin_conv_accessor},
    {"quantized::conv2d_output_padding", "", qg__qlin_conv_accessor},
    {"quantized::conv2d_dilation", "", qg__qlin_conv_accessor},
    {"quantized::conv2d_groups", "", qg__qlin_conv_accessor},
    {"quantized::conv2d_transpose", "", qg__qlin_conv_accessor},
    {"quantized::conv3d_stride", "", qg__qlin_conv_accessor},
    {"quantized::conv3d_padding", "", qg__qlin_conv_accessor},
    {"quantized::conv3d_output_padding", "", qg__qlin_conv_accessor},
    {"quantized::conv3d_dilation", "", qg__qlin_conv_accessor},
    {"quantized::conv3d_groups", "", qg__qlin_conv_accessor},
    {"quantized::conv3d_transpose", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose2d_stride", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose2d_padding", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose2d_output_padding", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose2d_dilation", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose2d_groups", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose2d_transpose", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose3d_stride", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose3d_padding", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose3d_output_padding", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose3d_dilation", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose3d_groups", "", qg__qlin_conv_accessor},
    {"quantized::conv_transpose3d_transpose", "", qg__qlin_conv_accessor},
    /* conv: run (the packed-params overloads; the legacy ones with explicit stride etc. are not
     * implemented) */
    {"quantized::conv1d", "", qg__qlin_conv},
    {"quantized::conv1d_relu", "", qg__qlin_conv},
    {"quantized::conv2d", "new", qg__qlin_conv},
    {"quantized::conv2d_relu", "new", qg__qlin_conv},
    {"quantized::conv3d", "new", qg__qlin_conv},
    {"quantized::conv3d_relu", "new", qg__qlin_conv},
    {"quantized::conv_transpose1d", "", qg__qlin_conv},
    {"quantized::conv_transpose2d", "", qg__qlin_conv},
    {"quantized::conv_transpose3d", "", qg__qlin_conv},
    /* embedding bag */
    {"quantized::embedding_bag_byte_prepack", "", qg__qlin_embedding_prepack},
    {"quantized::embedding_bag_4bit_prepack", "", qg__qlin_embedding_prepack},
    {"quantized::embedding_bag_byte_unpack", "", qg__qlin_embedding_unpack},
    {"quantized::embedding_bag_4bit_unpack", "", qg__qlin_embedding_unpack},
    {"quantized::embedding_bag_byte_rowwise_offsets", "", qg__qlin_embedding_bag_rowwise},
    {"quantized::embedding_bag_4bit_rowwise_offsets", "", qg__qlin_embedding_bag_rowwise},
    {"quantized::embedding_bag_byte", "", qg__qlin_embedding_bag_packed},
    {"quantized::embedding_bag_4bit", "", qg__qlin_embedding_bag_packed},
    {"quantized::embedding_byte", "", qg__qlin_embedding_lookup},
    {"quantized::embedding_4bit", "", qg__qlin_embedding_lookup},
};

const qg_op_impl_entry *qg__ops_qlinear_table(size_t *n) {
  *n = sizeof k_table / sizeof k_table[0];
  return k_table;
}

/* ---- shared helpers ------------------------------------------------------------------------ */

const char *qg__qlin_op_name(const qg_op_call *c) { return c->schema ? qg_sym_str(c->schema->name) : "quantized op"; }

qg_status qg__qlin_out_unit(const qg_op_call *c, qg_cu_t **cu) {
  const qg_type_t *t = c->node && c->node->noutputs ? c->node->outputs[0]->type : NULL;
  if (!t || t->kind != QG_TYPE_CLASS || !t->cu)
    return qg_set_error(QG_STATUS_TYPE, "%s: the node's output must have a packed params class type, got %s",
                        qg__qlin_op_name(c), t ? t->str : "no type");
  *cu = t->cu;
  return QG_OK;
}

qg_status qg__qlin_arg_object(const qg_op_call *c, size_t i, const qg_ival **out) {
  if (i >= c->nargs || c->args[i].kind != QG_IVAL_OBJECT)
    return qg_set_error(QG_STATUS_TYPE, "%s: argument %zu must be a packed params object, got %s", qg__qlin_op_name(c),
                        i, i < c->nargs ? qg_ival_kind_name(c->args[i].kind) : "nothing");
  *out = &c->args[i];
  return QG_OK;
}

void qg__qlin_warn(qg_op_call *c) {
  if (c->exec && c->exec->runner) c->exec->runner->warnings++;
}
