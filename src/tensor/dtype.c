#include "tensor/dtype.h"

#include <string.h>

const qg_dtype_traits qg_dtype_traits_table[QG_DTYPE_COUNT] = {
    [QG_DTYPE_U8] = {"u8", "Byte", "U8", 0, 1, 0, 0},
    [QG_DTYPE_I8] = {"i8", "Char", "I8", 1, 1, 0, 0},
    [QG_DTYPE_I16] = {"i16", "Short", "I16", 2, 2, 0, 0},
    [QG_DTYPE_I32] = {"i32", "Int", "I32", 3, 4, 0, 0},
    [QG_DTYPE_I64] = {"i64", "Long", "I64", 4, 8, 0, 0},
    [QG_DTYPE_F16] = {"f16", "Half", "F16", 5, 2, 1, 0},
    [QG_DTYPE_F32] = {"f32", "Float", "F32", 6, 4, 1, 0},
    [QG_DTYPE_F64] = {"f64", "Double", "F64", 7, 8, 1, 0},
    [QG_DTYPE_BOOL] = {"bool", "Bool", "BOOL", 11, 1, 0, 0},
    [QG_DTYPE_BF16] = {"bf16", "BFloat16", "BF16", 15, 2, 1, 0},
    [QG_DTYPE_QINT8] = {"qint8", "QInt8", "I8", 12, 1, 0, 1},
    [QG_DTYPE_QUINT8] = {"quint8", "QUInt8", "U8", 13, 1, 0, 1},
    [QG_DTYPE_QINT32] = {"qint32", "QInt32", "I32", 14, 4, 0, 1},
    [QG_DTYPE_QUINT4X2] = {"quint4x2", "QUInt4x2", "U8", 16, 1, 0, 1},
};

int qg_dtype_from_ir_name(const char *name, size_t len, qg_dtype *out) {
  for (int i = 0; i < QG_DTYPE_COUNT; i++) {
    const char *n = qg_dtype_traits_table[i].ir_name;
    if (strlen(n) == len && memcmp(n, name, len) == 0) {
      *out = (qg_dtype)i;
      return 0;
    }
  }
  return -1;
}

int qg_dtype_from_safetensors(const char *name, qg_dtype *out) {
  for (int i = 0; i < QG_DTYPE_COUNT; i++) {
    if (qg_dtype_traits_table[i].is_quantized) continue;
    if (strcmp(qg_dtype_traits_table[i].safetensors, name) == 0) {
      *out = (qg_dtype)i;
      return 0;
    }
  }
  return -1;
}

int qg_dtype_from_torch(int scalar_type, qg_dtype *out) {
  for (int i = 0; i < QG_DTYPE_COUNT; i++) {
    if (qg_dtype_traits_table[i].torch_scalar_type == scalar_type) {
      *out = (qg_dtype)i;
      return 0;
    }
  }
  return -1;
}
