/* Raw little-endian float32 row files: whole-file and streaming readers, writers, validation. */
#include "vq/f32file.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/bytes.h"

static int host_is_le(void)
{
    const uint32_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* In place: little-endian bytes -> host floats. */
static void le_to_host(float *x, size_t n)
{
    if (host_is_le())
        return;
    uint8_t *b = (uint8_t *)x;
    for (size_t i = 0; i < n; i++)
        x[i] = nac_get_le_f32(b + 4 * i);
}

int nac_vq_f32_check_finite(const float *x, size_t N, int K, size_t row0, const char *name, nac_error *err)
{
    for (size_t i = 0; i < N * (size_t)K; i++)
        if (!isfinite(x[i]))
            return nac_error_set(err, NAC_ERR_NUMERIC, "%s: row %zu, column %zu is %s", name,
                                 row0 + i / (size_t)K, i % (size_t)K, isnan(x[i]) ? "NaN" : "infinite");
    return NAC_OK;
}

static int not_whole_rows(nac_error *err, const char *name, size_t bytes, int K)
{
    return nac_error_set(err, NAC_ERR_FORMAT,
                         "%s: %zu bytes is not a whole number of rows of K=%d float32 values (%zu bytes "
                         "each); wrong K?",
                         name, bytes, K, (size_t)K * 4);
}

int nac_vq_f32_read(float **out, size_t *n_rows, const char *path, int K, size_t max_bytes, nac_error *err)
{
    *out = NULL;
    *n_rows = 0;
    if (K < 1)
        return nac_error_set(err, NAC_ERR_ARG, "K must be at least 1 (got %d)", K);
    int is_stdin = !strcmp(path, "-");
    const char *name = is_stdin ? "stdin" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return nac_error_set(err, NAC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    int rc = NAC_OK;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        size_t size = (size_t)st.st_size;
        if (size == 0) {
            rc = nac_error_set(err, NAC_ERR_EMPTY, "%s is empty", name);
            goto fail;
        }
        if (size % ((size_t)K * 4)) {
            rc = not_whole_rows(err, name, size, K);
            goto fail;
        }
        if (max_bytes && size > max_bytes) {
            rc = nac_error_set(err, NAC_ERR_NOMEM,
                               "%s is %.1f MB, more than the %.1f MB this machine has available; "
                               "train on a subset of it",
                               name, size / 1e6, max_bytes / 1e6);
            goto fail;
        }
        cap = size;
        buf = nac_alloc(cap);
        if (!buf) {
            rc = nac_error_set(err, NAC_ERR_NOMEM, "cannot allocate %zu bytes for %s", cap, name);
            goto fail;
        }
        len = fread(buf, 1, cap, f);
        if (len != cap) {
            rc = nac_error_set(err, NAC_ERR_IO, "%s: read %zu of %zu bytes", name, len, cap);
            goto fail;
        }
    } else {
        for (;;) {
            if (len == cap) {
                size_t ncap = cap ? 2 * cap : (size_t)1 << 20;
                if (max_bytes && ncap > max_bytes + 4096)
                    ncap = max_bytes + 4096;
                if (ncap <= cap) {
                    rc = nac_error_set(err, NAC_ERR_NOMEM, "%s is larger than the %.1f MB available", name,
                                       max_bytes / 1e6);
                    goto fail;
                }
                uint8_t *nb = nac_alloc(ncap);
                if (!nb) {
                    rc = nac_error_set(err, NAC_ERR_NOMEM, "cannot allocate %zu bytes for %s", ncap, name);
                    goto fail;
                }
                if (len)
                    memcpy(nb, buf, len);
                nac_free(buf);
                buf = nb;
                cap = ncap;
            }
            size_t got = fread(buf + len, 1, cap - len, f);
            len += got;
            if (got == 0) {
                if (ferror(f)) {
                    rc = nac_error_set(err, NAC_ERR_IO, "cannot read %s", name);
                    goto fail;
                }
                break;
            }
        }
        if (len == 0) {
            rc = nac_error_set(err, NAC_ERR_EMPTY, "%s is empty", name);
            goto fail;
        }
        if (len % ((size_t)K * 4)) {
            rc = not_whole_rows(err, name, len, K);
            goto fail;
        }
    }
    size_t N = len / ((size_t)K * 4);
    le_to_host((float *)buf, N * (size_t)K);
    rc = nac_vq_f32_check_finite((const float *)buf, N, K, 0, name, err);
    if (rc)
        goto fail;
    if (!is_stdin)
        fclose(f);
    *out = (float *)buf;
    *n_rows = N;
    return NAC_OK;
fail:
    nac_free(buf);
    if (!is_stdin)
        fclose(f);
    return rc;
}

int nac_vq_f32_read_rows(float *x, size_t *n_rows, FILE *f, int K, size_t max_rows, size_t row0,
                         const char *name, nac_error *err)
{
    size_t want = max_rows * (size_t)K * 4, len = 0;
    uint8_t *b = (uint8_t *)x;
    *n_rows = 0;
    while (len < want) {
        size_t got = fread(b + len, 1, want - len, f);
        if (got == 0)
            break;
        len += got;
    }
    if (ferror(f))
        return nac_error_set(err, NAC_ERR_IO, "cannot read %s", name);
    if (len % ((size_t)K * 4))
        return nac_error_set(err, NAC_ERR_FORMAT,
                             "%s ends inside row %zu: its length is not a whole number of rows of K=%d "
                             "float32 values (%zu bytes each); wrong K?",
                             name, row0 + len / ((size_t)K * 4), K, (size_t)K * 4);
    size_t N = len / ((size_t)K * 4);
    le_to_host(x, N * (size_t)K);
    int rc = nac_vq_f32_check_finite(x, N, K, row0, name, err);
    if (rc)
        return rc;
    *n_rows = N;
    return NAC_OK;
}

int nac_vq_f32_write_rows(FILE *f, const float *x, size_t N, int K, const char *name, nac_error *err)
{
    size_t n = N * (size_t)K;
    if (host_is_le()) {
        if (fwrite(x, 4, n, f) != n)
            return nac_error_set(err, NAC_ERR_IO, "cannot write %s: %s", name, strerror(errno));
        return NAC_OK;
    }
    uint8_t tmp[4096];
    for (size_t i = 0; i < n;) {
        size_t m = 0;
        for (; m < sizeof tmp / 4 && i < n; m++, i++)
            nac_put_le_f32(tmp + 4 * m, x[i]);
        if (fwrite(tmp, 4, m, f) != m)
            return nac_error_set(err, NAC_ERR_IO, "cannot write %s: %s", name, strerror(errno));
    }
    return NAC_OK;
}

int nac_vq_f32_write(const char *path, const float *x, size_t N, int K, nac_error *err)
{
    int is_stdout = !strcmp(path, "-");
    FILE *f = is_stdout ? stdout : fopen(path, "wb");
    if (!f)
        return nac_error_set(err, NAC_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    int rc = nac_vq_f32_write_rows(f, x, N, K, is_stdout ? "stdout" : path, err);
    if (is_stdout) {
        if (!rc && fflush(f))
            rc = nac_error_set(err, NAC_ERR_IO, "cannot write stdout: %s", strerror(errno));
    } else if (fclose(f) && !rc) {
        rc = nac_error_set(err, NAC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return rc;
}
