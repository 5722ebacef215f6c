/* Embedding bag weights in InsertQuantDeQuant (reference §3.5): a weight observed by a
 * PlaceholderObserver whose custom_op names "embedding_bag_byte" / "embedding_bag_4bit" gets
 * its float aten::embedding_bag (or F.embedding_bag call) replaced directly by
 * quantized::embedding_bag_{byte,4bit}_rowwise_offsets on the prepacked weight. */
#include <string.h>

#include "passes/constant_impl.h"
#include "passes/passes.h"
#include "passes/quant_helper.h"

/* A prim::Constant holding scalar v before `before`. */
static qg_status constant(qg_graph_t *g, qg_node_t *before, const qg_type_t *t, qg_ival v, qg_value_t **out) {
  QG_TRY(qg__constant_insert(g, before, &v, t, out));
  QG_ASSERT(*out); /* scalars are always representable */
  return QG_OK;
}

static int is_none(const qg_value_t *v) { return v->type->kind == QG_TYPE_NONE; }

/* The float embedding_bag that reads the observed weight; *aten set for the aten form. */
static qg_node_t *float_op(const qg_value_t *w, int *aten) {
  for (uint32_t i = 0; i < w->nuses; i++) {
    qg_node_t *u = w->uses[i].user;
    if (qg_qh_is_aten(u, "embedding_bag") && w->uses[i].offset == 0) {
      *aten = 1;
      return u;
    }
    if (qg_qh_is_call(u, "embedding_bag") && w->uses[i].offset == 2) {
      *aten = 0;
      return u;
    }
  }
  return NULL;
}

qg_status qg__insert_embedding_bag(qg_graph_t *g, qg_node_t *observer_call, const char *op, qg_node_t **result);

qg_status qg__insert_embedding_bag(qg_graph_t *g, qg_node_t *observer_call, const char *op, qg_node_t **result) {
  *result = NULL;
  qg_value_t *w = observer_call->outputs[0];
  int aten = 0;
  qg_node_t *f = float_op(w, &aten);
  if (!f) return qg_set_error(QG_STATUS_UNSUPPORTED, "embedding_bag weight observer: no embedding_bag uses the weight");
  int four = strstr(op, "embedding_bag_4bit") != NULL;
  if (!four && !strstr(op, "embedding_bag_byte"))
    return qg_set_error(QG_STATUS_UNSUPPORTED, "unknown embedding_bag quantization '%s'", op);
  if (aten ? f->ninputs != 9 : f->ninputs != 12)
    return qg_set_error(QG_STATUS_UNSUPPORTED, "embedding_bag with %u inputs (expected %d)", f->ninputs, aten ? 9 : 12);
  if (!is_none(f->inputs[f->ninputs - 1]))
    return qg_set_error(QG_STATUS_UNSUPPORTED, "Expected aten::embedding_bag padding_idx input to be None");
  for (uint32_t i = 1; aten && i < f->noutputs; i++)
    if (f->outputs[i]->nuses)
      return qg_set_error(QG_STATUS_UNSUPPORTED, "Expected aten::embedding_bag to only have use for its first output.");
  /* prepack(weight[, optimized_qparams=False, nbins=200, ratio=0.16]) */
  qg_value_t *pin[4] = {w, NULL, NULL, NULL};
  size_t npin = 1;
  if (four) {
    QG_TRY(constant(g, f, qg_type_bool(), qg_ival_bool(0), &pin[1]));
    QG_TRY(constant(g, f, qg_type_int(), qg_ival_int(200), &pin[2]));
    QG_TRY(constant(g, f, qg_type_float(), qg_ival_double(0.16), &pin[3]));
    npin = 4;
  }
  qg_sym_t k_pack, k_op;
  QG_TRY(qg_sym_intern(four ? "quantized::embedding_bag_4bit_prepack" : "quantized::embedding_bag_byte_prepack", &k_pack));
  QG_TRY(qg_sym_intern(four ? "quantized::embedding_bag_4bit_rowwise_offsets"
                            : "quantized::embedding_bag_byte_rowwise_offsets",
                       &k_op));
  qg_value_t *falsev = NULL, *nonev = NULL, *mode0 = NULL;
  QG_TRY(constant(g, f, qg_type_bool(), qg_ival_bool(0), &falsev));
  QG_TRY(constant(g, f, qg_type_prim(QG_TYPE_NONE), qg_ival_none(), &nonev));
  qg_node_t *pack = NULL, *q = NULL;
  QG_TRY(qg_node_create(g, k_pack, 1, &pack));
  for (size_t i = 0; i < npin; i++) QG_TRY(qg_node_add_input(pack, pin[i]));
  qg_node_insert_before(pack, f);
  qg_value_t *in[9];
  if (aten) {
    qg_value_t *a[9] = {pack->outputs[0], f->inputs[1], f->inputs[2], f->inputs[3], f->inputs[4],
                        falsev,           f->inputs[6], nonev,        f->inputs[7]};
    memcpy(in, a, sizeof a);
  } else {
    QG_TRY(constant(g, f, qg_type_int(), qg_ival_int(0), &mode0)); /* F.embedding_bag: mode sum */
    qg_value_t *a[9] = {pack->outputs[0], f->inputs[1], f->inputs[3], f->inputs[6], mode0,
                        falsev,           f->inputs[9], nonev,        f->inputs[10]};
    memcpy(in, a, sizeof a);
  }
  QG_TRY(qg_node_create(g, k_op, 1, &q));
  for (size_t i = 0; i < 9; i++) QG_TRY(qg_node_add_input(q, in[i]));
  qg_node_insert_before(q, f);
  QG_TRY(qg_value_replace_all_uses_with(f->outputs[0], q->outputs[0]));
  qg_node_destroy(f);
  return QG_OK;
}
