/* The nac weight file (docs/format.md): little-endian, written field by field.
 * Header 32 bytes, config pairs, tensor table (104 bytes per tensor), metadata CRC, then the
 * tensor data at 64-byte aligned offsets. The reader validates everything before use. */
#include "format/weights.h"

#include "core/alloc.h"
#include "core/bytes.h"
#include "core/crc32.h"
#include "format/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_SIZE 32
#define ENTRY_SIZE 104
#define NAME_FIELD 64
#define CHUNK 4096 /* elements converted at a time when writing */

static const uint8_t weights_magic[4] = {'N', 'A', 'C', 'W'};

/* ---- dtypes and conversions ------------------------------------------------------------ */

size_t nac_dtype_size(int dtype)
{
    switch (dtype) {
    case NAC_DTYPE_F32: return 4;
    case NAC_DTYPE_F16: return 2;
    case NAC_DTYPE_BF16: return 2;
    case NAC_DTYPE_I32: return 4;
    case NAC_DTYPE_U8: return 1;
    default: return 0;
    }
}

const char *nac_dtype_name(int dtype)
{
    switch (dtype) {
    case NAC_DTYPE_F32: return "f32";
    case NAC_DTYPE_F16: return "f16";
    case NAC_DTYPE_BF16: return "bf16";
    case NAC_DTYPE_I32: return "i32";
    case NAC_DTYPE_U8: return "u8";
    default: return "?";
    }
}

/* Rounds m / 2^shift to the nearest integer, ties to even (shift 1..31). */
static uint32_t round_shift(uint32_t m, unsigned shift)
{
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1)))
        q++;
    return q;
}

uint16_t nac_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t a = x & 0x7FFFFFFF;
    if (a > 0x7F800000) /* NaN: keep it quiet and keep the top payload bits */
        return (uint16_t)(sign | 0x7E00 | ((a >> 13) & 0x3FF));
    if (a >= 0x477FF000) /* >= 65520 rounds to infinity (and infinity itself) */
        return (uint16_t)(sign | 0x7C00);
    if (a >= 0x38800000) { /* normal half: rebias the exponent, round 13 mantissa bits */
        uint32_t h = ((a >> 23) - 112) << 10 | ((a >> 13) & 0x3FF);
        uint32_t rem = a & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
            h++; /* a carry into the exponent is the correct rounding */
        return (uint16_t)(sign | h);
    }
    /* Subnormal half: the value in units of 2^-24 is m * 2^(e - 126) with e the float exponent. */
    uint32_t e = a >> 23;
    if (e < 102) /* below 2^-25: rounds to zero */
        return sign;
    uint32_t m = (a & 0x7FFFFF) | 0x800000;
    return (uint16_t)(sign | round_shift(m, 126 - e)); /* 1024 becomes the smallest normal */
}

float nac_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1F, m = h & 0x3FF, x;
    if (e == 0x1F) {
        x = sign | 0x7F800000 | (m << 13);
    } else if (e != 0) {
        x = sign | ((e + 112) << 23) | (m << 13);
    } else {
        float v = (float)m * 0x1p-24f; /* exact: m < 2^10 */
        return sign ? -v : v;
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

uint16_t nac_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFF) > 0x7F800000)
        return (uint16_t)((x >> 16) | 0x40);
    x += 0x7FFF + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

float nac_bf16_to_f32(uint16_t b)
{
    uint32_t x = (uint32_t)b << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* Stored bytes of elements [first, first + n) of data, for a tensor of dtype. */
static void encode(uint8_t *dst, nac_dtype dtype, const void *data, size_t first, size_t n)
{
    const float *f = data;
    const int32_t *i32 = data;
    switch (dtype) {
    case NAC_DTYPE_F32:
        for (size_t i = 0; i < n; i++)
            nac_put_le_f32(dst + 4 * i, f[first + i]);
        break;
    case NAC_DTYPE_F16:
        for (size_t i = 0; i < n; i++)
            nac_put_le16(dst + 2 * i, nac_f32_to_f16(f[first + i]));
        break;
    case NAC_DTYPE_BF16:
        for (size_t i = 0; i < n; i++)
            nac_put_le16(dst + 2 * i, nac_f32_to_bf16(f[first + i]));
        break;
    case NAC_DTYPE_I32:
        for (size_t i = 0; i < n; i++)
            nac_put_le32(dst + 4 * i, (uint32_t)i32[first + i]);
        break;
    case NAC_DTYPE_U8:
        memcpy(dst, (const uint8_t *)data + first, n);
        break;
    }
}

static uint64_t align_up(uint64_t x) { return (x + NAC_WEIGHTS_ALIGN - 1) & ~(uint64_t)(NAC_WEIGHTS_ALIGN - 1); }

static void format_shape(char *buf, size_t cap, int ndim, const size_t *shape)
{
    size_t n = 0;
    n += (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, d ? ",%zu" : "%zu", shape[d]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

/* ---- writer ---------------------------------------------------------------------------- */

typedef struct wpair {
    char *key, *value;
} wpair;

typedef struct wtensor {
    char name[NAME_FIELD];
    nac_dtype dtype;
    int ndim;
    size_t shape[NAC_WEIGHTS_MAX_DIMS];
    size_t count;
    const void *data;
} wtensor;

struct nac_weights_writer {
    wpair *pairs;
    size_t n_pairs, cap_pairs;
    wtensor *tensors;
    size_t n_tensors, cap_tensors;
};

int nac_weights_writer_create(nac_weights_writer **out, nac_error *err)
{
    if (!out)
        return nac_error_set(err, NAC_ERR_ARG, "nac_weights_writer_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a weights writer");
    return NAC_OK;
}

void nac_weights_writer_destroy(nac_weights_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_pairs; i++) {
        free(w->pairs[i].key);
        free(w->pairs[i].value);
    }
    free(w->pairs);
    free(w->tensors);
    free(w);
}

int nac_weights_writer_set(nac_weights_writer *w, const char *key, const char *value, nac_error *err)
{
    if (!w || !key || !value)
        return nac_error_set(err, NAC_ERR_ARG, "nac_weights_writer_set: NULL argument");
    size_t klen = strlen(key), vlen = strlen(value);
    if (klen == 0 || klen > NAC_WEIGHTS_MAX_KEY || !nac_utf8_valid((const uint8_t *)key, klen))
        return nac_error_set(err, NAC_ERR_ARG, "config key \"%.64s\" must be 1..%d bytes of UTF-8",
                             key, NAC_WEIGHTS_MAX_KEY);
    if (vlen > UINT32_MAX || !nac_utf8_valid((const uint8_t *)value, vlen))
        return nac_error_set(err, NAC_ERR_ARG, "config value of \"%s\" is not valid UTF-8", key);
    char *v = malloc(vlen + 1);
    if (!v)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory storing config \"%s\"", key);
    memcpy(v, value, vlen + 1);
    for (size_t i = 0; i < w->n_pairs; i++) {
        if (strcmp(w->pairs[i].key, key) == 0) {
            free(w->pairs[i].value);
            w->pairs[i].value = v;
            return NAC_OK;
        }
    }
    char *k = malloc(klen + 1);
    if (!k)
        goto nomem;
    memcpy(k, key, klen + 1);
    if (w->n_pairs == w->cap_pairs) {
        size_t cap = w->cap_pairs ? 2 * w->cap_pairs : 16;
        wpair *p = realloc(w->pairs, cap * sizeof *p);
        if (!p) {
            free(k);
            goto nomem;
        }
        w->pairs = p;
        w->cap_pairs = cap;
    }
    w->pairs[w->n_pairs].key = k;
    w->pairs[w->n_pairs].value = v;
    w->n_pairs++;
    return NAC_OK;
nomem:
    free(v);
    return nac_error_set(err, NAC_ERR_NOMEM, "out of memory storing config \"%s\"", key);
}

int nac_weights_writer_set_int(nac_weights_writer *w, const char *key, long long value, nac_error *err)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", value);
    return nac_weights_writer_set(w, key, buf, err);
}

int nac_weights_writer_set_float(nac_weights_writer *w, const char *key, double value, nac_error *err)
{
    char buf[40];
    if (!isfinite(value))
        return nac_error_set(err, NAC_ERR_NUMERIC, "config \"%s\": value is not finite", key ? key : "");
    snprintf(buf, sizeof buf, "%.17g", value);
    return nac_weights_writer_set(w, key, buf, err);
}

int nac_weights_writer_add(nac_weights_writer *w, const char *name, nac_dtype dtype, int ndim,
                           const size_t *shape, const void *data, nac_error *err)
{
    if (!w || !name || !data || (ndim > 0 && !shape))
        return nac_error_set(err, NAC_ERR_ARG, "nac_weights_writer_add: NULL argument");
    size_t len = strlen(name);
    if (len == 0 || len > NAC_WEIGHTS_MAX_NAME || !nac_utf8_valid((const uint8_t *)name, len))
        return nac_error_set(err, NAC_ERR_ARG, "tensor name \"%.64s\" must be 1..%d bytes of UTF-8",
                             name, NAC_WEIGHTS_MAX_NAME);
    if (nac_dtype_size((int)dtype) == 0)
        return nac_error_set(err, NAC_ERR_ARG, "tensor %s: unknown dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > NAC_WEIGHTS_MAX_DIMS)
        return nac_error_set(err, NAC_ERR_ARG, "tensor %s: ndim %d is not in 0..%d", name, ndim,
                             NAC_WEIGHTS_MAX_DIMS);
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0 || shape[d] > UINT32_MAX || count > SIZE_MAX / 4 / shape[d])
            return nac_error_set(err, NAC_ERR_ARG, "tensor %s: dimension %d is %zu", name, d, shape[d]);
        count *= shape[d];
    }
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return nac_error_set(err, NAC_ERR_ARG, "tensor %s added twice", name);
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? 2 * w->cap_tensors : 32;
        wtensor *t = realloc(w->tensors, cap * sizeof *t);
        if (!t)
            return nac_error_set(err, NAC_ERR_NOMEM, "out of memory adding tensor %s", name);
        w->tensors = t;
        w->cap_tensors = cap;
    }
    wtensor *t = &w->tensors[w->n_tensors++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, len);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    t->count = count;
    t->data = data;
    return NAC_OK;
}

/* Where everything goes: computed once, used by both passes. */
typedef struct layout {
    uint64_t meta_size, file_size;
    uint64_t *offsets; /* per tensor */
    uint32_t *crcs;    /* per tensor */
} layout;

static int make_layout(const nac_weights_writer *w, layout *l, nac_error *err)
{
    uint64_t pos = HEADER_SIZE;
    for (size_t i = 0; i < w->n_pairs; i++)
        pos += 8 + strlen(w->pairs[i].key) + strlen(w->pairs[i].value);
    pos += (uint64_t)ENTRY_SIZE * w->n_tensors;
    l->meta_size = pos;
    l->file_size = pos + 4;
    l->offsets = malloc((w->n_tensors + 1) * sizeof *l->offsets);
    l->crcs = malloc((w->n_tensors + 1) * sizeof *l->crcs);
    if (!l->offsets || !l->crcs) {
        free(l->offsets);
        free(l->crcs);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory laying out a weight file");
    }
    pos = align_up(pos + 4);
    for (size_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        uint8_t buf[CHUNK * 4];
        uint32_t crc = 0;
        size_t es = nac_dtype_size((int)t->dtype);
        for (size_t k = 0; k < t->count; k += CHUNK) {
            size_t n = t->count - k < CHUNK ? t->count - k : CHUNK;
            encode(buf, t->dtype, t->data, k, n);
            crc = nac_crc32(crc, buf, n * es);
        }
        l->crcs[i] = crc;
        l->offsets[i] = pos;
        l->file_size = pos + (uint64_t)t->count * es;
        pos = align_up(l->file_size);
    }
    return NAC_OK;
}

/* Output to a FILE or to a buffer, with a running CRC of everything put. */
typedef struct sink {
    FILE *f;
    uint8_t *mem;
    uint64_t pos;
    uint32_t crc;
    int failed;
} sink;

static void put(sink *s, const void *p, size_t n)
{
    if (s->failed || n == 0)
        return;
    if (s->f) {
        if (fwrite(p, 1, n, s->f) != n)
            s->failed = 1;
    } else {
        memcpy(s->mem + s->pos, p, n);
    }
    s->crc = nac_crc32(s->crc, p, n);
    s->pos += n;
}

static void put_zeros_to(sink *s, uint64_t pos)
{
    static const uint8_t zeros[NAC_WEIGHTS_ALIGN];
    while (s->pos < pos) {
        uint64_t n = pos - s->pos < sizeof zeros ? pos - s->pos : sizeof zeros;
        put(s, zeros, (size_t)n);
    }
}

static void emit(const nac_weights_writer *w, const layout *l, sink *s)
{
    uint8_t b[ENTRY_SIZE];
    memcpy(b, weights_magic, 4);
    nac_put_le32(b + 4, NAC_WEIGHTS_VERSION);
    nac_put_le32(b + 8, (uint32_t)w->n_pairs);
    nac_put_le32(b + 12, (uint32_t)w->n_tensors);
    nac_put_le64(b + 16, l->meta_size);
    nac_put_le64(b + 24, l->file_size);
    put(s, b, HEADER_SIZE);
    for (size_t i = 0; i < w->n_pairs; i++) {
        size_t kl = strlen(w->pairs[i].key), vl = strlen(w->pairs[i].value);
        nac_put_le32(b, (uint32_t)kl);
        put(s, b, 4);
        put(s, w->pairs[i].key, kl);
        nac_put_le32(b, (uint32_t)vl);
        put(s, b, 4);
        put(s, w->pairs[i].value, vl);
    }
    for (size_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        memset(b, 0, sizeof b);
        memcpy(b, t->name, NAME_FIELD);
        b[64] = (uint8_t)t->dtype;
        b[65] = (uint8_t)t->ndim;
        nac_put_le32(b + 68, l->crcs[i]);
        for (int d = 0; d < t->ndim; d++)
            nac_put_le32(b + 72 + 4 * d, (uint32_t)t->shape[d]);
        nac_put_le64(b + 88, l->offsets[i]);
        nac_put_le64(b + 96, (uint64_t)t->count * nac_dtype_size((int)t->dtype));
        put(s, b, ENTRY_SIZE);
    }
    nac_put_le32(b, s->crc);
    put(s, b, 4);
    for (size_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        uint8_t buf[CHUNK * 4];
        size_t es = nac_dtype_size((int)t->dtype);
        put_zeros_to(s, l->offsets[i]);
        for (size_t k = 0; k < t->count; k += CHUNK) {
            size_t n = t->count - k < CHUNK ? t->count - k : CHUNK;
            encode(buf, t->dtype, t->data, k, n);
            put(s, buf, n * es);
        }
    }
}

int nac_weights_writer_save_mem(const nac_weights_writer *w, uint8_t **out, size_t *size, nac_error *err)
{
    if (!w || !out || !size)
        return nac_error_set(err, NAC_ERR_ARG, "nac_weights_writer_save_mem: NULL argument");
    layout l;
    int rc = make_layout(w, &l, err);
    if (rc < 0)
        return rc;
    if (l.file_size > SIZE_MAX) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "weight file of %llu bytes does not fit in memory",
                           (unsigned long long)l.file_size);
        goto done;
    }
    sink s = {0};
    s.mem = malloc((size_t)l.file_size);
    if (!s.mem) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "out of memory for a weight file of %llu bytes",
                           (unsigned long long)l.file_size);
        goto done;
    }
    emit(w, &l, &s);
    *out = s.mem;
    *size = (size_t)l.file_size;
done:
    free(l.offsets);
    free(l.crcs);
    return rc;
}

int nac_weights_writer_save(const nac_weights_writer *w, const char *path, nac_error *err)
{
    if (!w || !path)
        return nac_error_set(err, NAC_ERR_ARG, "nac_weights_writer_save: NULL argument");
    layout l = {0};
    FILE *f = NULL;
    int created = 0;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory saving %s", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int rc = make_layout(w, &l, err);
    if (rc < 0)
        goto fail;
    f = fopen(tmp, "wb");
    if (!f) {
        rc = nac_error_set(err, NAC_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto fail;
    }
    created = 1;
    sink s = {0};
    s.f = f;
    emit(w, &l, &s);
    if (s.failed || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = nac_error_set(err, NAC_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto fail;
    }
    FILE *g = f;
    f = NULL;
    if (fclose(g) != 0) {
        rc = nac_error_set(err, NAC_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        rc = nac_error_set(err, NAC_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto fail;
    }
    /* Make the rename durable too; a directory that cannot be opened is not an error. */
    const char *slash = strrchr(path, '/');
    memcpy(tmp, path, plen + 1);
    if (slash)
        tmp[slash == path ? 1 : slash - path] = '\0';
    else
        strcpy(tmp, ".");
    int dfd = open(tmp, O_RDONLY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(tmp);
    free(l.offsets);
    free(l.crcs);
    return NAC_OK;
fail:
    if (f)
        fclose(f);
    if (created)
        remove(tmp);
    free(tmp);
    free(l.offsets);
    free(l.crcs);
    return rc;
}

/* ---- reader ---------------------------------------------------------------------------- */

typedef struct rpair {
    const char *key, *value;
} rpair;

struct nac_weights {
    const uint8_t *data;
    size_t size;
    uint8_t *owned; /* the file's bytes when loaded from a path */
    uint32_t crc;
    nac_tensor_info *tensors;
    size_t n_tensors;
    const nac_tensor_info **by_name;
    rpair *pairs, *pairs_sorted;
    size_t n_pairs;
    char *pool; /* config strings */
};

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp((*(const nac_tensor_info *const *)a)->name, (*(const nac_tensor_info *const *)b)->name);
}

static int cmp_tensor_offset(const void *a, const void *b)
{
    uint64_t x = (*(const nac_tensor_info *const *)a)->offset, y = (*(const nac_tensor_info *const *)b)->offset;
    return x < y ? -1 : x > y;
}

static int cmp_pair_key(const void *a, const void *b)
{
    return strcmp(((const rpair *)a)->key, ((const rpair *)b)->key);
}

/* Reads one length-prefixed config string at *pos (< end); copies it NUL-terminated to *pool. */
static int parse_string(const uint8_t *p, uint64_t *pos, uint64_t end, char **pool, const char **out,
                        const char *what, uint32_t index, nac_error *err)
{
    if (end - *pos < 4)
        return nac_error_set(err, NAC_ERR_FORMAT, "config entry %u: %s length runs past the config section",
                             index, what);
    uint32_t len = nac_get_le32(p + *pos);
    *pos += 4;
    if (len > end - *pos)
        return nac_error_set(err, NAC_ERR_FORMAT,
                             "config entry %u: %s of %u bytes runs past the config section", index, what, len);
    if (!nac_utf8_valid(p + *pos, len))
        return nac_error_set(err, NAC_ERR_FORMAT, "config entry %u: %s is not valid UTF-8", index, what);
    memcpy(*pool, p + *pos, len);
    (*pool)[len] = '\0';
    *out = *pool;
    *pool += len + 1;
    *pos += len;
    return NAC_OK;
}

static int parse_tensor(const uint8_t *e, uint32_t index, uint64_t meta_size, uint64_t file_size, size_t n,
                        nac_tensor_info *t, nac_error *err)
{
    size_t len = strnlen((const char *)e, NAME_FIELD);
    if (len == 0 || len == NAME_FIELD)
        return nac_error_set(err, NAC_ERR_FORMAT, "tensor %u: name is empty or longer than %d bytes", index,
                             NAC_WEIGHTS_MAX_NAME);
    for (size_t k = len; k < NAME_FIELD; k++)
        if (e[k] != 0)
            return nac_error_set(err, NAC_ERR_FORMAT, "tensor %u: name padding is not zero", index);
    if (!nac_utf8_valid(e, len))
        return nac_error_set(err, NAC_ERR_FORMAT, "tensor %u: name is not valid UTF-8", index);
    memset(t, 0, sizeof *t);
    memcpy(t->name, e, len);
    unsigned dtype = e[64], ndim = e[65];
    size_t es = nac_dtype_size((int)dtype);
    if (es == 0)
        return nac_error_set(err, NAC_ERR_FORMAT, "tensor %s: unknown dtype %u", t->name, dtype);
    if (ndim > NAC_WEIGHTS_MAX_DIMS)
        return nac_error_set(err, NAC_ERR_FORMAT, "tensor %s: ndim %u is more than %d", t->name, ndim,
                             NAC_WEIGHTS_MAX_DIMS);
    if (nac_get_le16(e + 66) != 0)
        return nac_error_set(err, NAC_ERR_FORMAT, "tensor %s: reserved field is not zero", t->name);
    t->dtype = (nac_dtype)dtype;
    t->ndim = (int)ndim;
    t->crc = nac_get_le32(e + 68);
    uint64_t count = 1;
    for (unsigned d = 0; d < NAC_WEIGHTS_MAX_DIMS; d++) {
        uint32_t dim = nac_get_le32(e + 72 + 4 * d);
        if (d < ndim && dim == 0)
            return nac_error_set(err, NAC_ERR_FORMAT, "tensor %s: dimension %u is zero", t->name, d);
        if (d >= ndim && dim != 0)
            return nac_error_set(err, NAC_ERR_FORMAT, "tensor %s: unused dimension %u is %u, not 0", t->name,
                                 d, dim);
        if (d < ndim) {
            if (count > UINT64_MAX / 8 / dim)
                return nac_error_set(err, NAC_ERR_FORMAT, "tensor %s: shape overflows", t->name);
            count *= dim;
            t->shape[d] = dim;
        }
    }
    t->offset = nac_get_le64(e + 88);
    t->nbytes = nac_get_le64(e + 96);
    if (t->nbytes != count * es)
        return nac_error_set(err, NAC_ERR_FORMAT, "tensor %s: size is %llu bytes, its shape and dtype give %llu",
                             t->name, (unsigned long long)t->nbytes, (unsigned long long)(count * es));
    if (t->offset % NAC_WEIGHTS_ALIGN != 0)
        return nac_error_set(err, NAC_ERR_FORMAT, "tensor %s: offset %llu is not a multiple of %d", t->name,
                             (unsigned long long)t->offset, NAC_WEIGHTS_ALIGN);
    if (t->offset < meta_size + 4)
        return nac_error_set(err, NAC_ERR_FORMAT, "tensor %s: data at byte %llu overlaps the metadata",
                             t->name, (unsigned long long)t->offset);
    if (t->offset > UINT64_MAX - t->nbytes)
        return nac_error_set(err, NAC_ERR_FORMAT, "tensor %s: offset overflows", t->name);
    uint64_t end = t->offset + t->nbytes;
    if (end > n)
        return nac_error_set(err, NAC_ERR_TRUNCATED, "tensor %s: data ends at byte %llu, file has %zu", t->name,
                             (unsigned long long)end, n);
    if (end > file_size)
        return nac_error_set(err, NAC_ERR_FORMAT, "tensor %s: data ends at byte %llu, past the file size %llu",
                             t->name, (unsigned long long)end, (unsigned long long)file_size);
    if (count > SIZE_MAX)
        return nac_error_set(err, NAC_ERR_UNSUPPORTED, "tensor %s is too large for this machine", t->name);
    t->count = (size_t)count;
    return NAC_OK;
}

static int parse(nac_weights *w, nac_error *err)
{
    const uint8_t *p = w->data;
    size_t n = w->size;
    if (memcmp(p, weights_magic, n < 4 ? n : 4) != 0)
        return nac_error_set(err, NAC_ERR_FORMAT, "not a nac weight file (bad magic)");
    if (n < HEADER_SIZE)
        return nac_error_set(err, NAC_ERR_TRUNCATED, "file has %zu bytes, the header needs %d", n, HEADER_SIZE);
    uint32_t version = nac_get_le32(p + 4);
    if (version == 0)
        return nac_error_set(err, NAC_ERR_FORMAT, "weight file version 0 is invalid");
    if (version > NAC_WEIGHTS_VERSION)
        return nac_error_set(err, NAC_ERR_UNSUPPORTED, "weight file version %u is newer than this reader (%d)",
                             version, NAC_WEIGHTS_VERSION);
    uint32_t n_config = nac_get_le32(p + 8), n_tensors = nac_get_le32(p + 12);
    uint64_t meta_size = nac_get_le64(p + 16), file_size = nac_get_le64(p + 24);
    if (meta_size < HEADER_SIZE || file_size < 4 || meta_size > file_size - 4)
        return nac_error_set(err, NAC_ERR_FORMAT, "header is inconsistent: metadata size %llu, file size %llu",
                             (unsigned long long)meta_size, (unsigned long long)file_size);
    if (meta_size + 4 > n)
        return nac_error_set(err, NAC_ERR_TRUNCATED, "metadata ends at byte %llu, file has %zu",
                             (unsigned long long)(meta_size + 4), n);
    uint32_t stored = nac_get_le32(p + meta_size), crc = nac_crc32(0, p, (size_t)meta_size);
    if (stored != crc)
        return nac_error_set(err, NAC_ERR_CORRUPT, "metadata CRC mismatch (stored 0x%08x, computed 0x%08x)",
                             stored, crc);
    if (n_tensors > (meta_size - HEADER_SIZE) / ENTRY_SIZE)
        return nac_error_set(err, NAC_ERR_FORMAT, "%u tensors do not fit in %llu bytes of metadata", n_tensors,
                             (unsigned long long)meta_size);
    uint64_t cfg_end = meta_size - (uint64_t)ENTRY_SIZE * n_tensors;
    if (n_config > (cfg_end - HEADER_SIZE) / 8)
        return nac_error_set(err, NAC_ERR_FORMAT, "%u config entries do not fit in the config section", n_config);

    /* Config: the strings plus one NUL each fit in the section's bytes (8 length bytes per pair). */
    w->pool = malloc((size_t)(cfg_end - HEADER_SIZE) + 1);
    w->pairs = malloc((n_config + 1) * sizeof *w->pairs);
    w->pairs_sorted = malloc((n_config + 1) * sizeof *w->pairs_sorted);
    w->tensors = malloc((n_tensors + 1) * sizeof *w->tensors);
    w->by_name = malloc((n_tensors + 1) * sizeof *w->by_name);
    if (!w->pool || !w->pairs || !w->pairs_sorted || !w->tensors || !w->by_name)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory reading a weight file");
    uint64_t pos = HEADER_SIZE;
    char *pool = w->pool;
    int rc;
    for (uint32_t i = 0; i < n_config; i++) {
        if ((rc = parse_string(p, &pos, cfg_end, &pool, &w->pairs[i].key, "key", i, err)) < 0)
            return rc;
        if (w->pairs[i].key[0] == '\0' || strlen(w->pairs[i].key) > NAC_WEIGHTS_MAX_KEY)
            return nac_error_set(err, NAC_ERR_FORMAT, "config entry %u: key length must be 1..%d", i,
                                 NAC_WEIGHTS_MAX_KEY);
        if ((rc = parse_string(p, &pos, cfg_end, &pool, &w->pairs[i].value, "value", i, err)) < 0)
            return rc;
    }
    if (pos != cfg_end)
        return nac_error_set(err, NAC_ERR_FORMAT, "config section ends at byte %llu, the tensor table at %llu",
                             (unsigned long long)pos, (unsigned long long)cfg_end);
    w->n_pairs = n_config;
    memcpy(w->pairs_sorted, w->pairs, n_config * sizeof *w->pairs);
    qsort(w->pairs_sorted, n_config, sizeof *w->pairs_sorted, cmp_pair_key);
    for (uint32_t i = 1; i < n_config; i++)
        if (strcmp(w->pairs_sorted[i - 1].key, w->pairs_sorted[i].key) == 0)
            return nac_error_set(err, NAC_ERR_FORMAT, "duplicate config key %s", w->pairs_sorted[i].key);

    for (uint32_t i = 0; i < n_tensors; i++, pos += ENTRY_SIZE) {
        if ((rc = parse_tensor(p + pos, i, meta_size, file_size, n, &w->tensors[i], err)) < 0)
            return rc;
        w->by_name[i] = &w->tensors[i];
    }
    w->n_tensors = n_tensors;
    if (file_size > n)
        return nac_error_set(err, NAC_ERR_TRUNCATED, "file has %zu bytes, its header says %llu", n,
                             (unsigned long long)file_size);
    if (file_size < n)
        return nac_error_set(err, NAC_ERR_FORMAT, "file has %zu bytes, %zu more than its header says", n,
                             n - (size_t)file_size);

    /* Overlaps, with the table sorted by offset; then duplicate names, sorted by name. */
    qsort(w->by_name, n_tensors, sizeof *w->by_name, cmp_tensor_offset);
    for (uint32_t i = 1; i < n_tensors; i++) {
        const nac_tensor_info *a = w->by_name[i - 1], *b = w->by_name[i];
        if (a->offset + a->nbytes > b->offset)
            return nac_error_set(err, NAC_ERR_FORMAT, "tensors %s and %s overlap (bytes %llu and %llu)", a->name,
                                 b->name, (unsigned long long)a->offset, (unsigned long long)b->offset);
    }
    qsort(w->by_name, n_tensors, sizeof *w->by_name, cmp_tensor_name);
    for (uint32_t i = 1; i < n_tensors; i++)
        if (strcmp(w->by_name[i - 1]->name, w->by_name[i]->name) == 0)
            return nac_error_set(err, NAC_ERR_FORMAT, "duplicate tensor name %s", w->by_name[i]->name);

    for (uint32_t i = 0; i < n_tensors; i++) {
        const nac_tensor_info *t = &w->tensors[i];
        uint32_t c = nac_crc32(0, p + t->offset, (size_t)t->nbytes);
        if (c != t->crc)
            return nac_error_set(err, NAC_ERR_CORRUPT, "tensor %s: CRC mismatch (stored 0x%08x, computed 0x%08x)",
                                 t->name, t->crc, c);
    }
    w->crc = nac_crc32(0, p, n);
    return NAC_OK;
}

int nac_weights_load_mem(nac_weights **out, const void *data, size_t size, nac_error *err)
{
    if (!out || (!data && size))
        return nac_error_set(err, NAC_ERR_ARG, "nac_weights_load_mem: NULL argument");
    *out = NULL;
    nac_weights *w = calloc(1, sizeof *w);
    if (!w)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory loading weights");
    w->data = data ? data : (const uint8_t *)"";
    w->size = size;
    int rc = parse(w, err);
    if (rc < 0) {
        nac_weights_destroy(w);
        return rc;
    }
    *out = w;
    return NAC_OK;
}

int nac_weights_load(nac_weights **out, const char *path, nac_error *err)
{
    if (!out || !path)
        return nac_error_set(err, NAC_ERR_ARG, "nac_weights_load: NULL argument");
    *out = NULL;
    int rc;
    uint8_t *buf = NULL;
    size_t size = 0;
    nac_weights *w = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return nac_error_set(err, NAC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = nac_error_set(err, NAC_ERR_IO, "%s is not a regular file", path);
        goto fail;
    }
    if ((uintmax_t)st.st_size > SIZE_MAX) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "%s is too large to load", path);
        goto fail;
    }
    size = (size_t)st.st_size;
    buf = nac_alloc(size ? size : 1);
    if (!buf) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "out of memory loading %s (%zu bytes)", path, size);
        goto fail;
    }
    if (fread(buf, 1, size, f) != size || ferror(f)) {
        rc = nac_error_set(err, NAC_ERR_IO, "cannot read %s", path);
        goto fail;
    }
    fclose(f);
    f = NULL;
    w = calloc(1, sizeof *w);
    if (!w) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "out of memory loading %s", path);
        goto fail;
    }
    w->data = buf;
    w->owned = buf;
    w->size = size;
    buf = NULL;
    rc = parse(w, err);
    if (rc < 0) {
        if (err) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s: %s", path, err->msg);
            size_t len = strlen(msg) < sizeof err->msg ? strlen(msg) : sizeof err->msg - 1;
            memcpy(err->msg, msg, len);
            err->msg[len] = '\0';
        }
        goto fail;
    }
    *out = w;
    return NAC_OK;
fail:
    if (f)
        fclose(f);
    nac_free(buf);
    nac_weights_destroy(w);
    return rc;
}

void nac_weights_destroy(nac_weights *w)
{
    if (!w)
        return;
    nac_free(w->owned);
    free(w->tensors);
    free(w->by_name);
    free(w->pairs);
    free(w->pairs_sorted);
    free(w->pool);
    free(w);
}

uint32_t nac_weights_crc(const nac_weights *w) { return w ? w->crc : 0; }

size_t nac_weights_count(const nac_weights *w) { return w ? w->n_tensors : 0; }

const nac_tensor_info *nac_weights_tensor(const nac_weights *w, size_t i)
{
    return w && i < w->n_tensors ? &w->tensors[i] : NULL;
}

const nac_tensor_info *nac_weights_find(const nac_weights *w, const char *name)
{
    if (!w || !name)
        return NULL;
    size_t lo = 0, hi = w->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(w->by_name[mid]->name, name);
        if (c == 0)
            return w->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const uint8_t *nac_weights_data(const nac_weights *w, const nac_tensor_info *t)
{
    return w && t ? w->data + t->offset : NULL;
}

/* The tensor called name if its shape is shape[0..ndim-1] and its dtype one of those allowed. */
static int lookup(const nac_weights *w, const char *name, int ndim, const size_t *shape, int allow_float,
                  nac_dtype want, const nac_tensor_info **out, nac_error *err)
{
    if (!w || !name || (ndim > 0 && !shape))
        return nac_error_set(err, NAC_ERR_ARG, "nac_weights_read: NULL argument");
    const nac_tensor_info *t = nac_weights_find(w, name);
    if (!t)
        return nac_error_set(err, NAC_ERR_MODEL, "no tensor named %s", name);
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = t->shape[d] == shape[d];
    if (!same) {
        char a[96], b[96];
        format_shape(a, sizeof a, t->ndim, t->shape);
        format_shape(b, sizeof b, ndim < 0 ? 0 : ndim > NAC_WEIGHTS_MAX_DIMS ? NAC_WEIGHTS_MAX_DIMS : ndim, shape);
        return nac_error_set(err, NAC_ERR_MODEL, "tensor %s has shape %s, expected %s", name, a, b);
    }
    int ok = allow_float ? (t->dtype == NAC_DTYPE_F32 || t->dtype == NAC_DTYPE_F16 || t->dtype == NAC_DTYPE_BF16)
                         : t->dtype == want;
    if (!ok)
        return nac_error_set(err, NAC_ERR_MODEL, "tensor %s is stored as %s, expected %s", name,
                             nac_dtype_name((int)t->dtype), allow_float ? "f32, f16 or bf16" : nac_dtype_name((int)want));
    *out = t;
    return NAC_OK;
}

int nac_weights_read_f32(const nac_weights *w, const char *name, float *out, int ndim, const size_t *shape,
                         nac_error *err)
{
    const nac_tensor_info *t;
    int rc = lookup(w, name, ndim, shape, 1, NAC_DTYPE_F32, &t, err);
    if (rc < 0)
        return rc;
    const uint8_t *p = w->data + t->offset;
    switch (t->dtype) {
    case NAC_DTYPE_F32:
        for (size_t i = 0; i < t->count; i++)
            out[i] = nac_get_le_f32(p + 4 * i);
        break;
    case NAC_DTYPE_F16:
        for (size_t i = 0; i < t->count; i++)
            out[i] = nac_f16_to_f32(nac_get_le16(p + 2 * i));
        break;
    default:
        for (size_t i = 0; i < t->count; i++)
            out[i] = nac_bf16_to_f32(nac_get_le16(p + 2 * i));
        break;
    }
    return NAC_OK;
}

int nac_weights_read_i32(const nac_weights *w, const char *name, int32_t *out, int ndim, const size_t *shape,
                         nac_error *err)
{
    const nac_tensor_info *t;
    int rc = lookup(w, name, ndim, shape, 0, NAC_DTYPE_I32, &t, err);
    if (rc < 0)
        return rc;
    const uint8_t *p = w->data + t->offset;
    for (size_t i = 0; i < t->count; i++)
        out[i] = (int32_t)nac_get_le32(p + 4 * i);
    return NAC_OK;
}

int nac_weights_read_u8(const nac_weights *w, const char *name, uint8_t *out, int ndim, const size_t *shape,
                        nac_error *err)
{
    const nac_tensor_info *t;
    int rc = lookup(w, name, ndim, shape, 0, NAC_DTYPE_U8, &t, err);
    if (rc < 0)
        return rc;
    memcpy(out, w->data + t->offset, t->count);
    return NAC_OK;
}

size_t nac_weights_config_count(const nac_weights *w) { return w ? w->n_pairs : 0; }

const char *nac_weights_config_key(const nac_weights *w, size_t i)
{
    return w && i < w->n_pairs ? w->pairs[i].key : NULL;
}

const char *nac_weights_config_value(const nac_weights *w, size_t i)
{
    return w && i < w->n_pairs ? w->pairs[i].value : NULL;
}

const char *nac_weights_config(const nac_weights *w, const char *key)
{
    if (!w || !key)
        return NULL;
    rpair k = {key, NULL};
    const rpair *r = bsearch(&k, w->pairs_sorted, w->n_pairs, sizeof k, cmp_pair_key);
    return r ? r->value : NULL;
}

int nac_weights_config_int(const nac_weights *w, const char *key, long long *out, nac_error *err)
{
    const char *v = nac_weights_config(w, key);
    if (!v)
        return nac_error_set(err, NAC_ERR_MODEL, "config has no key %s", key ? key : "(null)");
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno == ERANGE || (*v != '-' && *v != '+' && (*v < '0' || *v > '9')))
        return nac_error_set(err, NAC_ERR_FORMAT, "config %s = \"%.64s\" is not an integer", key, v);
    *out = x;
    return NAC_OK;
}

int nac_weights_config_size(const nac_weights *w, const char *key, int *out, nac_error *err)
{
    long long v;
    int st = nac_weights_config_int(w, key, &v, err);
    if (st)
        return st;
    if (v < -1000000 || v > 1000000)
        return nac_error_set(err, NAC_ERR_MODEL, "config %s = %lld is out of range", key, v);
    *out = (int)v;
    return NAC_OK;
}

int nac_weights_config_float(const nac_weights *w, const char *key, double *out, nac_error *err)
{
    const char *v = nac_weights_config(w, key);
    if (!v)
        return nac_error_set(err, NAC_ERR_MODEL, "config has no key %s", key ? key : "(null)");
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || !isfinite(x) || (*v != '-' && *v != '+' && *v != '.' && (*v < '0' || *v > '9')))
        return nac_error_set(err, NAC_ERR_FORMAT, "config %s = \"%.64s\" is not a finite number", key, v);
    *out = x;
    return NAC_OK;
}
