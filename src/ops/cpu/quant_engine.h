/* The quantized engine whose numerics the CPU kernels reproduce: a process-wide setting, as
 * PyTorch's `torch.backends.quantized.engine`.
 *
 *   QG_ENGINE_FBGEMM   (default) FBGEMM's reference requantization (reference §5.6, §5.8): exact
 *                      int32 accumulation, float bias divided by act_scale * w_scale, float32
 *                      multiplier, round half to even. Bit-exact with torch 2.x 'fbgemm' on a CPU
 *                      whose int8 products are exact (AVX-512 VNNI; see docs/numerics.md for
 *                      FBGEMM's AVX2 int16 saturation).
 *   QG_ENGINE_QNNPACK  PyTorch QNNPACK (torch 1.13 'qnnpack'): bias quantized to int32 with
 *                      scale act_scale * w_scale and added to the accumulator, multiplier
 *                      (w_scale * act_scale) * (1 / out_scale) in float32, round half to even;
 *                      dynamic linear ignores reduce_range and quantizes its input with the
 *                      plain (non-LEGACY) formula.
 *
 * Which ops read it: quantized::linear / linear_relu / conv* / conv_transpose* and their dynamic
 * forms (ops/cpu/qlinear.h, qconv.h). Others (embedding_bag, fp16 linear, quantize) are the same
 * under both. Reading and writing are atomic; changing it while another thread runs a kernel
 * affects that kernel's next call only. */
#ifndef QG_OPS_CPU_QUANT_ENGINE_H
#define QG_OPS_CPU_QUANT_ENGINE_H

typedef enum qg_quant_engine {
  QG_ENGINE_FBGEMM = 0,
  QG_ENGINE_QNNPACK = 1
} qg_quant_engine;

/* Sets the engine for every later kernel call in the process. An unknown value is ignored. */
void qg_quant_engine_set(qg_quant_engine e);
qg_quant_engine qg_quant_engine_get(void);
/* "fbgemm" / "qnnpack" (NULL for an unknown value). */
const char *qg_quant_engine_name(qg_quant_engine e);

#endif
