/* The process-wide quantized engine setting (quant_engine.h). */
#include "ops/cpu/quant_engine.h"

#include <stdatomic.h>
#include <stddef.h>

static _Atomic int g_engine = QG_ENGINE_FBGEMM;

void qg_quant_engine_set(qg_quant_engine e) {
  if (e == QG_ENGINE_FBGEMM || e == QG_ENGINE_QNNPACK) atomic_store(&g_engine, (int)e);
}

qg_quant_engine qg_quant_engine_get(void) { return (qg_quant_engine)atomic_load(&g_engine); }

const char *qg_quant_engine_name(qg_quant_engine e) {
  switch (e) {
  case QG_ENGINE_FBGEMM: return "fbgemm";
  case QG_ENGINE_QNNPACK: return "qnnpack";
  }
  return NULL;
}
