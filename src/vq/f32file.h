/* Raw float32 feature files (Codec 2 style): no header, little-endian, rows of K floats.
 * Readers validate the length (a whole number of rows, not empty) and that every value is finite. */
#ifndef NAC_VQ_F32FILE_H
#define NAC_VQ_F32FILE_H

#include <stddef.h>
#include <stdio.h>

#include "core/status.h"

/* Reads all of path ("-" = stdin) as rows of K floats into *out (N, K), allocated with nac_alloc
 * (caller frees with nac_free); *n_rows = N. max_bytes > 0 refuses files larger than that with
 * NAC_ERR_NOMEM and a message saying so. Errors: NAC_ERR_IO (cannot open/read), NAC_ERR_EMPTY,
 * NAC_ERR_FORMAT (length not a multiple of 4K), NAC_ERR_NUMERIC (NaN/inf, with row and column),
 * NAC_ERR_NOMEM. */
int nac_vq_f32_read(float **out, size_t *n_rows, const char *path, int K, size_t max_bytes,
                    nac_error *err);

/* Reads up to max_rows rows of K floats from f into x (max_rows, K); *n_rows = rows read (0 at
 * end of file). row0 is the index of the first row in the stream (for messages); name names the
 * stream in messages. NAC_ERR_FORMAT if the stream ends inside a row, NAC_ERR_NUMERIC for NaN/inf. */
int nac_vq_f32_read_rows(float *x, size_t *n_rows, FILE *f, int K, size_t max_rows, size_t row0,
                         const char *name, nac_error *err);

/* Writes x (N, K) to f / path ("-" = stdout) as little-endian float32. NAC_ERR_IO on failure. */
int nac_vq_f32_write_rows(FILE *f, const float *x, size_t N, int K, const char *name, nac_error *err);
int nac_vq_f32_write(const char *path, const float *x, size_t N, int K, nac_error *err);

/* Checks that x (N, K) is finite; NAC_ERR_NUMERIC naming row0 + row and column otherwise. */
int nac_vq_f32_check_finite(const float *x, size_t N, int K, size_t row0, const char *name,
                            nac_error *err);

#endif
