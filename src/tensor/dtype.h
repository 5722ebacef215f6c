/* Element types: one traits table drives names, sizes, the safetensors dtype string, PyTorch's
 * ScalarType number (what `prim::Constant[value=6]` means for a dtype argument) and the name the
 * IR printer uses in detailed tensor types (`Float(2, 3, ...)`). Append-only. */
#ifndef QG_TENSOR_DTYPE_H
#define QG_TENSOR_DTYPE_H

#include <stddef.h>

typedef enum qg_dtype {
  QG_DTYPE_U8,
  QG_DTYPE_I8,
  QG_DTYPE_I16,
  QG_DTYPE_I32,
  QG_DTYPE_I64,
  QG_DTYPE_F16,
  QG_DTYPE_F32,
  QG_DTYPE_F64,
  QG_DTYPE_BOOL,
  QG_DTYPE_BF16,
  QG_DTYPE_QINT8,
  QG_DTYPE_QUINT8,
  QG_DTYPE_QINT32,
  QG_DTYPE_QUINT4X2,
  QG_DTYPE_COUNT
} qg_dtype;

typedef struct qg_dtype_traits {
  const char *name;        /* "f32" */
  const char *ir_name;     /* "Float": the detailed tensor type name in printed graphs */
  const char *safetensors; /* "F32"; for quantized dtypes the storage type ("I8", "U8", "I32") */
  int torch_scalar_type;   /* c10::ScalarType number: Float = 6, QUInt8 = 13, ... */
  size_t size;             /* bytes per element (quint4x2: 1, two values per byte) */
  int is_float;
  int is_quantized;
} qg_dtype_traits;

extern const qg_dtype_traits qg_dtype_traits_table[QG_DTYPE_COUNT];

static inline const qg_dtype_traits *qg_dtype_info(qg_dtype d) { return &qg_dtype_traits_table[d]; }
/* Lookups; each returns 0 and sets *out, or -1 if unknown. */
int qg_dtype_from_ir_name(const char *name, size_t len, qg_dtype *out);
int qg_dtype_from_safetensors(const char *name, qg_dtype *out); /* non-quantized only */
int qg_dtype_from_torch(int scalar_type, qg_dtype *out);

#endif
