/* The rewrite tables of Finalize (reference §4): PyTorch's quantization_patterns.h as data.
 *
 * Every rule is a pattern and a replacement in graph text (ir/subgraph.h), applied by a fresh
 * rewrite over the whole graph, one rule after the other in table order (the order matters:
 * add_scalar must run before add_scalar + relu, conv + relu before conv alone). The texts are
 * PyTorch's, value names included (filters find values by name), checked against torch 1.13 by
 * tools/fixtures/gen_finalize.py (tests/test_finalize.c runs every rule on a minimal input and
 * compares with what PyTorch's pass made of the same input). Rules carry no value-name pairs:
 * replacement nodes get no source comment, as in PyTorch. */
#ifndef QG_PASSES_QUANT_FUSION_PATTERNS_H
#define QG_PASSES_QUANT_FUSION_PATTERNS_H

#include <stddef.h>

#include "passes/pass.h"

/* Filters a rule needs (all must accept a match; quant_fusion.c implements them). */
enum {
  QG_QF_ALPHA_IS_ONE = 1u << 0, /* PyTorch's aten_add_alpha_is_one: %alpha is the int constant 1 */
  QG_QF_B_IS_SCALAR = 1u << 1   /* PyTorch's input_b_is_scalar: %b_scalar is a number or a 0-dim tensor constant */
};

typedef struct qg_quant_fusion_rule {
  const char *op;          /* what the rule produces ("quantized::conv2d_relu"), for reports and tests */
  const char *pattern;     /* graph text */
  const char *replacement; /* graph text with the same inputs */
  unsigned filters;        /* QG_QF_* bits */
} qg_quant_fusion_rule;

/* QuantFusion (§4.3 static, in PyTorch's order; §4.4 dynamic: linear_dynamic with dynamic
 * activation quantization, linear_dynamic_fp16, then linear_dynamic on a float input). */
const qg_quant_fusion_rule *qg__quant_fusion_rules(int dynamic, size_t *n);
/* InsertPrepackUnpack (§4.2): linear, linear fp16, conv1d/2d/3d, conv_transpose1d/2d. */
const qg_quant_fusion_rule *qg__prepack_unpack_rules(size_t *n);
/* FuseQuantizedAddRelu (§6.7): add, add_out, add_scalar, add_scalar_out followed by aten::relu. */
const qg_quant_fusion_rule *qg__add_relu_rules(size_t *n);

/* Runs rules[0..nrules) on g in order, each with its filters (quant_fusion.c); report->changed
 * counts the matches rewritten. */
qg_status qg__quant_rules_run(qg_graph_t *g, const qg_quant_fusion_rule *rules, size_t nrules,
                              qg_pass_report *report) QG_MUST_USE;

#endif
