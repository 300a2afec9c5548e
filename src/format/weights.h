/* The nac weight file: one self-describing little-endian format for checkpoints and inference
 * models. A header, a key/value config (UTF-8 strings), a tensor table (name, dtype, shape,
 * offset, size, CRC-32) and 64-byte aligned tensor data. Byte layout: docs/format.md.
 * An embedded model (a byte array compiled in, scripts/embed.sh) goes through the same reader. */
#ifndef NAC_FORMAT_WEIGHTS_H
#define NAC_FORMAT_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define NAC_WEIGHTS_VERSION 1
#define NAC_WEIGHTS_MAX_NAME 63 /* bytes of UTF-8, without the terminating NUL */
#define NAC_WEIGHTS_MAX_DIMS 4
#define NAC_WEIGHTS_MAX_KEY 255 /* bytes of a config key */
#define NAC_WEIGHTS_ALIGN 64    /* every tensor's data starts at a multiple of this */

/* Storage type of a tensor. The numbers are the on-disk codes. */
typedef enum nac_dtype {
    NAC_DTYPE_F32 = 0,
    NAC_DTYPE_F16 = 1,  /* IEEE 754 binary16 */
    NAC_DTYPE_BF16 = 2, /* bfloat16: the top 16 bits of a float32 */
    NAC_DTYPE_I32 = 3,
    NAC_DTYPE_U8 = 4
} nac_dtype;

/* Bytes per element of dtype, 0 for an unknown code. */
size_t nac_dtype_size(int dtype);
/* "f32", "f16", "bf16", "i32", "u8" or "?"; never NULL. */
const char *nac_dtype_name(int dtype);

/* float32 <-> binary16 / bfloat16, rounding to nearest even; NaN stays NaN, overflow gives inf. */
uint16_t nac_f32_to_f16(float f);
float nac_f16_to_f32(uint16_t h);
uint16_t nac_f32_to_bf16(float f);
float nac_bf16_to_f32(uint16_t b);

/* One tensor of a loaded file. */
typedef struct nac_tensor_info {
    char name[NAC_WEIGHTS_MAX_NAME + 1]; /* NUL-terminated */
    nac_dtype dtype;
    int ndim;                          /* 0..4; 0 is a scalar (one element) */
    size_t shape[NAC_WEIGHTS_MAX_DIMS]; /* shape[0..ndim-1], all >= 1; the rest 0 */
    size_t count;                      /* elements: the product of the shape */
    uint64_t offset;                   /* byte offset of the data in the file */
    uint64_t nbytes;                   /* count * nac_dtype_size(dtype) */
    uint32_t crc;                      /* CRC-32 of the stored bytes */
} nac_tensor_info;

/* ---- writer ---------------------------------------------------------------------------- */

typedef struct nac_weights_writer nac_weights_writer;

/* Returns NAC_OK or NAC_ERR_NOMEM. */
int nac_weights_writer_create(nac_weights_writer **out, nac_error *err);
/* Frees the writer (not the tensor data it points to). NULL is a no-op. */
void nac_weights_writer_destroy(nac_weights_writer *w);

/* Sets config key to value (both copied; UTF-8 without NUL bytes; key 1..255 bytes). Setting
 * a key again replaces its value; keys keep the order of their first setting.
 * Returns NAC_OK, NAC_ERR_ARG (bad key or value) or NAC_ERR_NOMEM. */
int nac_weights_writer_set(nac_weights_writer *w, const char *key, const char *value, nac_error *err);
/* As nac_weights_writer_set with the value printed in decimal: "%lld", and "%.17g" for a
 * double so that it reads back bit for bit (value must be finite: NAC_ERR_NUMERIC otherwise). */
int nac_weights_writer_set_int(nac_weights_writer *w, const char *key, long long value, nac_error *err);
int nac_weights_writer_set_float(nac_weights_writer *w, const char *key, double value, nac_error *err);

/* Adds a tensor stored as dtype. data is float* for F32, F16 and BF16 (converted when saved),
 * int32_t* for I32 and uint8_t* for U8, holding the product of shape[0..ndim-1] elements
 * (row-major, last dimension fastest). The pointer is kept, not the data: data must stay valid
 * and unchanged until the last save call. name: UTF-8, 1..63 bytes, unique in the writer.
 * ndim 0..4, every dimension >= 1. Returns NAC_OK, NAC_ERR_ARG or NAC_ERR_NOMEM. */
int nac_weights_writer_add(nac_weights_writer *w, const char *name, nac_dtype dtype, int ndim,
                           const size_t *shape, const void *data, nac_error *err);

/* Writes the file atomically: to "<path>.tmp", fsync, then rename over path (on failure the
 * temporary file is removed and path is untouched). Returns NAC_OK, NAC_ERR_IO or NAC_ERR_NOMEM. */
int nac_weights_writer_save(const nac_weights_writer *w, const char *path, nac_error *err);
/* Writes the file into a new buffer (*out, *size); the caller frees *out with free().
 * Returns NAC_OK or NAC_ERR_NOMEM. */
int nac_weights_writer_save_mem(const nac_weights_writer *w, uint8_t **out, size_t *size, nac_error *err);

/* ---- reader ---------------------------------------------------------------------------- */

/* A loaded, fully validated weight file. Immutable: share it freely between threads. */
typedef struct nac_weights nac_weights;

/* Reads and validates a whole file: magic, version, every size and offset against the file
 * length, overlapping tensors, duplicate names and keys, the metadata CRC and every tensor CRC.
 * Returns NAC_OK; NAC_ERR_IO (cannot open or read), NAC_ERR_FORMAT (not a weight file, or
 * inconsistent), NAC_ERR_TRUNCATED, NAC_ERR_CORRUPT (CRC mismatch), NAC_ERR_UNSUPPORTED (newer
 * version) or NAC_ERR_NOMEM, with the detail in err. */
int nac_weights_load(nac_weights **out, const char *path, nac_error *err);
/* As nac_weights_load from size bytes at data, which are not copied: data must outlive the
 * handle (an embedded model: a static byte array). No alignment is required. */
int nac_weights_load_mem(nac_weights **out, const void *data, size_t size, nac_error *err);
/* NULL is a no-op. */
void nac_weights_destroy(nac_weights *w);

/* CRC-32 of the whole file as loaded: identifies a model (e.g. the .nac model hash). */
uint32_t nac_weights_crc(const nac_weights *w);

/* Tensors, in file order. nac_weights_tensor returns NULL when i >= count. */
size_t nac_weights_count(const nac_weights *w);
const nac_tensor_info *nac_weights_tensor(const nac_weights *w, size_t i);
/* The tensor called name, or NULL. */
const nac_tensor_info *nac_weights_find(const nac_weights *w, const char *name);
/* The stored bytes of t (little-endian, t->nbytes long; not necessarily aligned in memory). */
const uint8_t *nac_weights_data(const nac_weights *w, const nac_tensor_info *t);

/* Copies the tensor called name into out (count floats), converting F16/BF16 to float32, after
 * checking that its shape is shape[0..ndim-1]. Returns NAC_OK or NAC_ERR_MODEL (no such tensor,
 * other shape, or an integer dtype) with e.g. "tensor dec.3.w has shape [64,32,7], expected
 * [64,32,5]" in err. */
int nac_weights_read_f32(const nac_weights *w, const char *name, float *out, int ndim,
                         const size_t *shape, nac_error *err);
/* As nac_weights_read_f32 for I32 and U8 tensors (the dtype must match). */
int nac_weights_read_i32(const nac_weights *w, const char *name, int32_t *out, int ndim,
                         const size_t *shape, nac_error *err);
int nac_weights_read_u8(const nac_weights *w, const char *name, uint8_t *out, int ndim,
                        const size_t *shape, nac_error *err);

/* Config pairs, in file order; NULL when i >= count. Strings are NUL-terminated and owned by w. */
size_t nac_weights_config_count(const nac_weights *w);
const char *nac_weights_config_key(const nac_weights *w, size_t i);
const char *nac_weights_config_value(const nac_weights *w, size_t i);
/* The value of key, or NULL when absent. */
const char *nac_weights_config(const nac_weights *w, const char *key);
/* The value of key parsed as a whole decimal integer / a finite floating-point number.
 * Returns NAC_OK, NAC_ERR_MODEL (key absent) or NAC_ERR_FORMAT (not a number, out of range). */
int nac_weights_config_int(const nac_weights *w, const char *key, long long *out, nac_error *err);
/* An int config value within [-1000000, 1000000] (NAC_ERR_MODEL otherwise): a model's sizes, whose
 * own checks come after; the bound only keeps them inside int arithmetic. */
int nac_weights_config_size(const nac_weights *w, const char *key, int *out, nac_error *err);
int nac_weights_config_float(const nac_weights *w, const char *key, double *out, nac_error *err);

#endif
