/* safetensors files: a validating, zero-copy reader and an atomic writer.
 *
 * Reading maps the file privately (copy-on-write: the file is never written, and only pages
 * that an in-place op changes are copied). Each tensor wraps its bytes in the mapping (no copy); the
 * mapping is refcounted and stays alive while any tensor or the reader holds it, so tensors may
 * outlive the reader. A tensor whose offset is not aligned to its element size is copied (never
 * read unaligned). Validation follows docs/formats.md and reports the first problem with the
 * file name, the tensor name and the byte offset in the file.
 *
 * Writing orders tensors by descending element size, then by name, pads the header with spaces
 * to a multiple of 8, writes a temporary file in the destination directory, fsyncs it and
 * renames it over the destination: on any error no file (partial or temporary) is left. */
#ifndef QG_MODULE_SAFETENSORS_H
#define QG_MODULE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tensor/tensor.h"

/* Largest header the reader accepts (as the reference implementation). */
#define QG_SAFETENSORS_MAX_HEADER 100000000u

typedef struct qg_st_tensor {
  char *name;
  qg_dtype dtype;
  int ndim;
  int64_t shape[QG_MAX_DIMS];
  uint64_t begin, end; /* data_offsets, relative to the data section */
  qg_tensor *tensor;   /* one reference held by the reader */
} qg_st_tensor;

typedef struct qg_safetensors {
  char *path;
  size_t file_size;
  size_t data_start;  /* 8 + header length: file offset of the data section */
  const void *base;   /* the mapping (file offset 0) */
  struct qg_st_mapping *mapping;
  qg_st_tensor *tensors; /* in header order */
  size_t ntensors;
  char **meta_keys, **meta_values; /* __metadata__, in header order */
  size_t nmeta;
} qg_safetensors;

/* Opens and validates `path`. Errors: QG_STATUS_IO (cannot open/map), QG_STATUS_FORMAT
 * (malformed, message "PATH: ..."), QG_STATUS_OOM. */
qg_status qg_safetensors_open(const char *path, qg_safetensors **out) QG_MUST_USE;
void qg_safetensors_close(qg_safetensors *st); /* NULL is a no-op; tensors stay valid */

const qg_st_tensor *qg_safetensors_find(const qg_safetensors *st, const char *name);
const char *qg_safetensors_meta(const qg_safetensors *st, const char *key); /* NULL if absent */
/* True if t's data lies inside st's mapping (it was not copied). */
int qg_safetensors_owns(const qg_safetensors *st, const qg_tensor *t);

typedef struct qg_st_entry {
  const char *name;
  const qg_tensor *tensor; /* contiguous; quantized dtypes are written as their storage dtype */
} qg_st_entry;

/* Writes a safetensors file atomically. Metadata may be empty (nmeta = 0). Duplicate names,
 * non-contiguous tensors or an unwritable destination are errors; nothing is left behind. */
qg_status qg_safetensors_write(const char *path, const qg_st_entry *tensors, size_t ntensors,
                               const char *const *meta_keys, const char *const *meta_values,
                               size_t nmeta) QG_MUST_USE;

/* Writes `len` bytes to `path` atomically (temp file in the same directory, fsync, rename). */
qg_status qg_write_file_atomic(const char *path, const void *const *chunks, const size_t *lens,
                               size_t nchunks) QG_MUST_USE;

#endif
