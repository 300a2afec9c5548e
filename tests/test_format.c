/* Tests of src/format: the weight file and the .nac container. Round trips, every truncation
 * length and a byte flip at every position of small files, version refusal, file == memory. */
#include "test.h"

#include "core/bytes.h"
#include "core/crc32.h"
#include "core/rng.h"
#include "core/crc16.h"
#include "format/nacfile.h"
#include "format/utf8.h"
#include "format/weights.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- conversions ----------------------------------------------------------------------- */

TEST(format_utf8)
{
    CHECK(nac_utf8_valid((const uint8_t *)"plain", 5));
    CHECK(nac_utf8_valid((const uint8_t *)"na\xc3\xafve \xe2\x82\xac \xf0\x9f\x8e\xb5", 15));
    CHECK(!nac_utf8_valid((const uint8_t *)"a\0b", 3));           /* NUL */
    CHECK(!nac_utf8_valid((const uint8_t *)"\xc0\xaf", 2));        /* overlong */
    CHECK(!nac_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));    /* surrogate */
    CHECK(!nac_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    CHECK(!nac_utf8_valid((const uint8_t *)"\xe2\x82", 2));        /* cut short */
    CHECK(!nac_utf8_valid((const uint8_t *)"\x80", 1));
}

TEST(format_half_conversions)
{
    /* Every half and bfloat16 value survives the trip through float32. */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = nac_f16_to_f32((uint16_t)h);
        if (isnan(f))
            CHECK(isnan(nac_f16_to_f32(nac_f32_to_f16(f))));
        else
            CHECKF(nac_f32_to_f16(f) == h, "f16 0x%04x -> %g -> 0x%04x", h, f, nac_f32_to_f16(f));
        float b = nac_bf16_to_f32((uint16_t)h);
        if (isnan(b))
            CHECK(isnan(nac_bf16_to_f32(nac_f32_to_bf16(b))));
        else
            CHECK(nac_f32_to_bf16(b) == h);
    }
    CHECK(nac_f32_to_f16(1.0f) == 0x3C00);
    CHECK(nac_f32_to_f16(-2.0f) == 0xC000);
    CHECK(nac_f32_to_f16(65504.0f) == 0x7BFF);
    CHECK(nac_f32_to_f16(65519.0f) == 0x7BFF);
    CHECK(nac_f32_to_f16(65520.0f) == 0x7C00); /* rounds to infinity */
    CHECK(nac_f32_to_f16(0x1p-24f) == 0x0001);
    CHECK(nac_f32_to_f16(0x1p-25f) == 0x0000);  /* tie, to even */
    CHECK(nac_f32_to_f16(0x1.8p-24f) == 0x0002); /* tie, to even */
    CHECK(nac_f32_to_f16(0x1.000002p-25f) == 0x0001);
    CHECK(nac_f32_to_f16(-0.0f) == 0x8000);
    CHECK(nac_f32_to_f16(1.0f + 0x1p-11f) == 0x3C00); /* tie, to even */
    CHECK(nac_f32_to_f16(1.0f + 0x1.8p-11f) == 0x3C01);
    CHECK(nac_f32_to_bf16(1.0f + 0x1p-8f) == 0x3F80);
    CHECK(nac_f32_to_bf16(1.0f + 0x1.8p-8f) == 0x3F81);
    CHECK(nac_f32_to_bf16(3.4028235e38f) == 0x7F80); /* FLT_MAX rounds to infinity */

    /* Random floats of every magnitude: nearest rounding, i.e. error <= half an ulp. */
    nac_rng rng;
    nac_rng_seed(&rng, 7);
    for (int i = 0; i < 200000; i++) {
        uint32_t bits = nac_rng_u32(&rng) & 0x7FFFFFFF;
        float x;
        memcpy(&x, &bits, 4);
        if (isnan(x))
            continue;
        float h = nac_f16_to_f32(nac_f32_to_f16(x)), b = nac_bf16_to_f32(nac_f32_to_bf16(x));
        float ax = fabsf(x);
        if (ax < 65504.0f) {
            double bound = ax < 0x1p-14f ? 0x1p-25 : ldexp(1.0, ilogb(x) - 11);
            CHECKF(fabs((double)h - x) <= bound, "f16 of %a is %a", x, h);
        }
        if (!isinf(b))
            CHECKF(fabs((double)b - x) <= fmax(ldexp(1.0, ilogb(x) - 8), 0x1p-134), "bf16 of %a is %a", x, b);
#ifdef __FLT16_MAX__
        if (ax < 65520.0f) { /* the compiler's own conversion rounds to nearest even too */
            _Float16 ref = (_Float16)x;
            uint16_t rb;
            memcpy(&rb, &ref, 2);
            CHECKF(nac_f32_to_f16(x) == rb, "f16 of %a: 0x%04x, compiler 0x%04x", x, nac_f32_to_f16(x), rb);
        }
#endif
    }
}

/* ---- weight files ---------------------------------------------------------------------- */

#define W_N1 37
#define W_N2 (3 * 5 * 2)
static float w_f32[W_N1], w_f16[W_N2], w_bf16[2 * 3 * 2 * 2], w_scalar[1];
static int32_t w_i32[7];
static uint8_t w_u8[5];

/* A small file with every dtype and ndim 0..4. */
static int make_weights(uint8_t **buf, size_t *size, nac_error *err)
{
    nac_rng rng;
    nac_rng_seed(&rng, 11);
    for (int i = 0; i < W_N1; i++)
        w_f32[i] = (float)nac_rng_normal(&rng);
    for (int i = 0; i < W_N2; i++)
        w_f16[i] = (float)(nac_rng_normal(&rng) * 3.0);
    for (int i = 0; i < 24; i++)
        w_bf16[i] = (float)(nac_rng_normal(&rng) * 1e-3);
    w_scalar[0] = 0.125f;
    for (int i = 0; i < 7; i++)
        w_i32[i] = (int32_t)(nac_rng_u32(&rng) >> 1) - 0x40000000;
    w_i32[0] = INT32_MIN;
    w_i32[1] = INT32_MAX;
    for (int i = 0; i < 5; i++)
        w_u8[i] = (uint8_t)(250 + i);
    nac_weights_writer *w;
    int rc = nac_weights_writer_create(&w, err);
    if (rc < 0)
        return rc;
    size_t s1[] = {W_N1}, s2[] = {3, 5, 2}, s3[] = {2, 3, 2, 2}, s4[] = {7}, s5[] = {1, 5};
    if ((rc = nac_weights_writer_set(w, "model", "tiny", err)) < 0 ||
        (rc = nac_weights_writer_set_int(w, "step", 1234567890123LL, err)) < 0 ||
        (rc = nac_weights_writer_set_float(w, "lr", 0.1, err)) < 0 ||
        (rc = nac_weights_writer_set(w, "note", "na\xc3\xafve \xe2\x82\xac", err)) < 0 ||
        (rc = nac_weights_writer_set(w, "model", "tiny-v2", err)) < 0 || /* replaces */
        (rc = nac_weights_writer_add(w, "enc.0.w", NAC_DTYPE_F32, 1, s1, w_f32, err)) < 0 ||
        (rc = nac_weights_writer_add(w, "adam.m", NAC_DTYPE_F16, 3, s2, w_f16, err)) < 0 ||
        (rc = nac_weights_writer_add(w, "adam.v", NAC_DTYPE_BF16, 4, s3, w_bf16, err)) < 0 ||
        (rc = nac_weights_writer_add(w, "gain", NAC_DTYPE_F32, 0, NULL, w_scalar, err)) < 0 ||
        (rc = nac_weights_writer_add(w, "codes", NAC_DTYPE_I32, 1, s4, w_i32, err)) < 0 ||
        (rc = nac_weights_writer_add(w, "bytes", NAC_DTYPE_U8, 2, s5, w_u8, err)) < 0)
        goto done;
    rc = nac_weights_writer_save_mem(w, buf, size, err);
done:
    nac_weights_writer_destroy(w);
    return rc;
}

/* Does w hold exactly what make_weights wrote? 0 if so; otherwise a line number. */
static int weights_differ(const nac_weights *w)
{
    float f[64];
    int32_t i32[7];
    uint8_t u8[5];
    size_t s1[] = {W_N1}, s2[] = {3, 5, 2}, s3[] = {2, 3, 2, 2}, s4[] = {7}, s5[] = {1, 5};
    if (nac_weights_count(w) != 6 || nac_weights_config_count(w) != 4)
        return __LINE__;
    if (strcmp(nac_weights_config_key(w, 0), "model") || strcmp(nac_weights_config_value(w, 0), "tiny-v2") ||
        strcmp(nac_weights_config_key(w, 3), "note") || strcmp(nac_weights_config(w, "note"), "na\xc3\xafve \xe2\x82\xac"))
        return __LINE__;
    long long step;
    double lr;
    if (nac_weights_config_int(w, "step", &step, NULL) != NAC_OK || step != 1234567890123LL)
        return __LINE__;
    if (nac_weights_config_float(w, "lr", &lr, NULL) != NAC_OK || lr != 0.1)
        return __LINE__;
    if (nac_weights_read_f32(w, "enc.0.w", f, 1, s1, NULL) != NAC_OK || memcmp(f, w_f32, sizeof w_f32))
        return __LINE__;
    if (nac_weights_read_f32(w, "adam.m", f, 3, s2, NULL) != NAC_OK)
        return __LINE__;
    for (int i = 0; i < W_N2; i++)
        if (f[i] != nac_f16_to_f32(nac_f32_to_f16(w_f16[i])) || fabsf(f[i] - w_f16[i]) > fabsf(w_f16[i]) * 0x1p-11f)
            return __LINE__;
    if (nac_weights_read_f32(w, "adam.v", f, 4, s3, NULL) != NAC_OK)
        return __LINE__;
    for (int i = 0; i < 24; i++)
        if (fabsf(f[i] - w_bf16[i]) > fabsf(w_bf16[i]) * 0x1p-8f)
            return __LINE__;
    if (nac_weights_read_f32(w, "gain", f, 0, NULL, NULL) != NAC_OK || f[0] != 0.125f)
        return __LINE__;
    if (nac_weights_read_i32(w, "codes", i32, 1, s4, NULL) != NAC_OK || memcmp(i32, w_i32, sizeof i32))
        return __LINE__;
    if (nac_weights_read_u8(w, "bytes", u8, 2, s5, NULL) != NAC_OK || memcmp(u8, w_u8, sizeof u8))
        return __LINE__;
    return 0;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

/* Re-seals the metadata CRC after a deliberate edit of a weight file. */
static void reseal_weights(uint8_t *buf)
{
    uint64_t meta = nac_get_le64(buf + 16);
    nac_put_le32(buf + meta, nac_crc32(0, buf, (size_t)meta));
}

TEST(format_weights_roundtrip)
{
    nac_error err = {0};
    uint8_t *buf = NULL;
    size_t size = 0;
    CHECKF(make_weights(&buf, &size, &err) == NAC_OK, "%s", nac_error_message(&err));
    nac_weights *w = NULL;
    int rc = nac_weights_load_mem(&w, buf, size, &err);
    CHECKF(rc == NAC_OK, "%s", nac_error_message(&err));
    int line = weights_differ(w);
    const nac_tensor_info *t = nac_weights_find(w, "adam.v");
    int ok = t && t->dtype == NAC_DTYPE_BF16 && t->ndim == 4 && t->count == 24 && t->nbytes == 48 &&
             t->offset % 64 == 0 && nac_weights_find(w, "nope") == NULL;
    for (size_t i = 0; i < nac_weights_count(w); i++)
        ok = ok && nac_weights_tensor(w, i)->offset % 64 == 0;
    ok = ok && nac_weights_tensor(w, 6) == NULL && nac_weights_crc(w) == nac_crc32(0, buf, size);

    /* Errors of the typed readers. */
    float f[64];
    size_t wrong[] = {3, 5, 3};
    int rc_shape = nac_weights_read_f32(w, "adam.m", f, 3, wrong, &err);
    int msg_ok = strcmp(err.msg, "tensor adam.m has shape [3,5,2], expected [3,5,3]") == 0;
    int rc_missing = nac_weights_read_f32(w, "dec.3.w", f, 3, wrong, NULL);
    int rc_dtype = nac_weights_read_f32(w, "codes", f, 1, (size_t[]){7}, NULL);
    int rc_key = nac_weights_config_int(w, "absent", &(long long){0}, NULL);
    int rc_notint = nac_weights_config_int(w, "lr", &(long long){0}, NULL);
    int rc_notfloat = nac_weights_config_float(w, "model", &(double){0}, NULL);
    nac_weights_destroy(w);
    free(buf);
    CHECKF(line == 0, "content differs (test_format.c:%d)", line);
    CHECK(ok);
    CHECK(rc_shape == NAC_ERR_MODEL);
    CHECKF(msg_ok, "message: %s", err.msg);
    CHECK(rc_missing == NAC_ERR_MODEL && rc_dtype == NAC_ERR_MODEL && rc_key == NAC_ERR_MODEL);
    CHECK(rc_notint == NAC_ERR_FORMAT && rc_notfloat == NAC_ERR_FORMAT);
}

TEST(format_weights_writer_rejects)
{
    nac_weights_writer *w;
    CHECK(nac_weights_writer_create(&w, NULL) == NAC_OK);
    float x[4] = {0};
    size_t s[] = {4}, z[] = {0};
    int r1 = nac_weights_writer_add(w, "a", NAC_DTYPE_F32, 1, s, x, NULL);
    int r2 = nac_weights_writer_add(w, "a", NAC_DTYPE_F32, 1, s, x, NULL);          /* duplicate */
    int r3 = nac_weights_writer_add(w, "", NAC_DTYPE_F32, 1, s, x, NULL);           /* empty name */
    int r4 = nac_weights_writer_add(w, "0123456789012345678901234567890123456789012345678901234567890123",
                                    NAC_DTYPE_F32, 1, s, x, NULL);                  /* 64 bytes */
    int r5 = nac_weights_writer_add(w, "b", NAC_DTYPE_F32, 1, z, x, NULL);          /* zero dim */
    int r6 = nac_weights_writer_add(w, "c", (nac_dtype)9, 1, s, x, NULL);           /* dtype */
    int r7 = nac_weights_writer_add(w, "d", NAC_DTYPE_F32, 5, (size_t[]){1, 1, 1, 1, 1}, x, NULL);
    int r8 = nac_weights_writer_set(w, "k", "\xff", NULL);
    int r9 = nac_weights_writer_set_float(w, "k", NAN, NULL);
    int r10 = nac_weights_writer_add(w, "e\xc3", NAC_DTYPE_F32, 1, s, x, NULL);
    nac_error err;
    int r11 = nac_weights_writer_save(w, "/nonexistent-dir/x.nacw", &err);
    nac_weights_writer_destroy(w);
    nac_weights_writer_destroy(NULL);
    nac_weights_destroy(NULL);
    CHECK(r1 == NAC_OK);
    CHECK(r2 == NAC_ERR_ARG && r3 == NAC_ERR_ARG && r4 == NAC_ERR_ARG && r5 == NAC_ERR_ARG);
    CHECK(r6 == NAC_ERR_ARG && r7 == NAC_ERR_ARG && r8 == NAC_ERR_ARG && r10 == NAC_ERR_ARG);
    CHECK(r9 == NAC_ERR_NUMERIC);
    CHECK(r11 == NAC_ERR_IO);
}

TEST(format_weights_file_equals_mem)
{
    nac_error err = {0};
    uint8_t *buf = NULL;
    size_t size = 0;
    CHECKF(make_weights(&buf, &size, &err) == NAC_OK, "%s", nac_error_message(&err));
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/w.nacw", nac_test_tmp_dir());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);

    /* Same tensors through the file writer: the saved bytes equal the memory writer's. */
    nac_weights *a = NULL, *b = NULL;
    int rc = nac_weights_load_mem(&a, buf, size, &err);
    nac_weights_writer *w = NULL;
    if (rc == NAC_OK)
        rc = nac_weights_writer_create(&w, &err);
    for (size_t i = 0; rc == NAC_OK && i < nac_weights_config_count(a); i++)
        rc = nac_weights_writer_set(w, nac_weights_config_key(a, i), nac_weights_config_value(a, i), &err);
    if (rc == NAC_OK) {
        rc = nac_weights_writer_add(w, "enc.0.w", NAC_DTYPE_F32, 1, (size_t[]){W_N1}, w_f32, &err);
        rc = rc ? rc : nac_weights_writer_add(w, "adam.m", NAC_DTYPE_F16, 3, (size_t[]){3, 5, 2}, w_f16, &err);
        rc = rc ? rc : nac_weights_writer_add(w, "adam.v", NAC_DTYPE_BF16, 4, (size_t[]){2, 3, 2, 2}, w_bf16, &err);
        rc = rc ? rc : nac_weights_writer_add(w, "gain", NAC_DTYPE_F32, 0, NULL, w_scalar, &err);
        rc = rc ? rc : nac_weights_writer_add(w, "codes", NAC_DTYPE_I32, 1, (size_t[]){7}, w_i32, &err);
        rc = rc ? rc : nac_weights_writer_add(w, "bytes", NAC_DTYPE_U8, 2, (size_t[]){1, 5}, w_u8, &err);
    }
    if (rc == NAC_OK)
        rc = nac_weights_writer_save(w, path, &err);
    nac_weights_writer_destroy(w);
    if (rc == NAC_OK)
        rc = nac_weights_load(&b, path, &err);
    int same = 0, line = -1;
    if (rc == NAC_OK) {
        FILE *f = fopen(path, "rb");
        uint8_t *disk = malloc(size + 1);
        same = f && disk && fread(disk, 1, size + 1, f) == size && memcmp(disk, buf, size) == 0;
        if (f)
            fclose(f);
        free(disk);
        line = weights_differ(b);
        same = same && nac_weights_crc(a) == nac_weights_crc(b);
    }
    int tmp_gone = access(tmp, F_OK) != 0;
    nac_weights_destroy(a);
    nac_weights_destroy(b);
    free(buf);
    CHECKF(rc == NAC_OK, "%s", nac_error_message(&err));
    CHECK(same);
    CHECKF(line == 0, "file reader content differs (test_format.c:%d)", line);
    CHECK(tmp_gone);

    /* Path errors name the file. */
    nac_weights *c = NULL;
    char missing[600];
    snprintf(missing, sizeof missing, "%s/absent.nacw", nac_test_tmp_dir());
    CHECK(nac_weights_load(&c, missing, &err) == NAC_ERR_IO && c == NULL);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    fseek(f, 300, SEEK_SET);
    fputc('x', f);
    fclose(f);
    rc = nac_weights_load(&c, path, &err);
    CHECK(rc < 0 && c == NULL);
    CHECKF(strncmp(err.msg, path, strlen(path)) == 0, "message: %s", err.msg);
}

TEST(format_weights_every_truncation)
{
    nac_error err = {0};
    uint8_t *buf = NULL;
    size_t size = 0;
    CHECKF(make_weights(&buf, &size, &err) == NAC_OK, "%s", nac_error_message(&err));
    int bad = -1, rc = 0;
    for (size_t n = 0; n < size && bad < 0; n++) {
        uint8_t *cut = dup_bytes(buf, n); /* exactly n bytes, so a sanitizer sees any overread */
        nac_weights *w = (nac_weights *)1;
        rc = nac_weights_load_mem(&w, cut, n, &err);
        if (rc >= 0 || w != NULL || (n >= 4 && rc != NAC_ERR_TRUNCATED))
            bad = (int)n;
        nac_weights_destroy(rc >= 0 ? w : NULL);
        free(cut);
    }
    /* A precise message when tensor data is cut. */
    nac_weights *w = NULL;
    int rc_last = nac_weights_load_mem(&w, buf, size - 1, &err);
    char expect[128];
    snprintf(expect, sizeof expect, "tensor bytes: data ends at byte %zu, file has %zu", size, size - 1);
    int msg_ok = strcmp(err.msg, expect) == 0;
    free(buf);
    CHECKF(bad < 0, "length %d of %zu: status %d", bad, size, rc);
    CHECK(rc_last == NAC_ERR_TRUNCATED);
    CHECKF(msg_ok, "message: %s", err.msg);
}

TEST(format_weights_every_byte_flip)
{
    nac_error err = {0};
    uint8_t *buf = NULL;
    size_t size = 0;
    CHECKF(make_weights(&buf, &size, &err) == NAC_OK, "%s", nac_error_message(&err));
    /* The bytes that may change without an error: padding between metadata and tensors. */
    uint8_t *padding = calloc(size, 1);
    CHECK(padding != NULL);
    nac_weights *ref = NULL;
    CHECK(nac_weights_load_mem(&ref, buf, size, &err) == NAC_OK);
    for (size_t i = nac_get_le64(buf + 16) + 4; i < size; i++)
        padding[i] = 1;
    for (size_t k = 0; k < nac_weights_count(ref); k++) {
        const nac_tensor_info *t = nac_weights_tensor(ref, k);
        memset(padding + t->offset, 0, (size_t)t->nbytes);
    }
    nac_weights_destroy(ref);
    int bad = -1, rc = 0, n_ok = 0;
    static const uint8_t flips[] = {0xFF, 0x01, 0x80};
    for (size_t i = 0; i < size && bad < 0; i++) {
        for (int k = 0; k < 3 && bad < 0; k++) {
            uint8_t *c = dup_bytes(buf, size);
            c[i] ^= flips[k];
            nac_weights *w = NULL;
            rc = nac_weights_load_mem(&w, c, size, &err);
            /* Our reader does not look at padding: a flip there loads the same content. */
            if (rc == NAC_OK) {
                n_ok++;
                if (!padding[i] || weights_differ(w))
                    bad = (int)i;
            } else if (rc >= 0 || w != NULL || padding[i]) {
                bad = (int)i;
            }
            nac_weights_destroy(w);
            free(c);
        }
    }
    free(padding);
    free(buf);
    CHECKF(bad < 0, "flip at byte %d of %zu: status %d (%s)", bad, size, rc, err.msg);
    CHECK(n_ok > 0); /* there is padding, and flips there are harmless */
}

TEST(format_weights_rejects_bad_tables)
{
    nac_error err = {0};
    uint8_t *buf = NULL;
    size_t size = 0;
    CHECKF(make_weights(&buf, &size, &err) == NAC_OK, "%s", nac_error_message(&err));
    uint64_t meta = nac_get_le64(buf + 16);
    size_t table = (size_t)meta - 6 * 104; /* 6 tensors of 104 bytes end the metadata */
    nac_weights *w = NULL;
    int rc[8];
    uint8_t *c;

    c = dup_bytes(buf, size); /* newer version: refused before anything else */
    nac_put_le32(c + 4, 2);
    rc[0] = nac_weights_load_mem(&w, c, size, &err);
    free(c);
    c = dup_bytes(buf, size); /* duplicate name: tensor 1 renamed as tensor 0 */
    memcpy(c + table + 104, c + table, 64);
    reseal_weights(c);
    rc[1] = nac_weights_load_mem(&w, c, size, &err);
    int dup_msg = strcmp(err.msg, "duplicate tensor name enc.0.w") == 0;
    free(c);
    c = dup_bytes(buf, size); /* overlap: tensor 1 moved onto tensor 0 */
    memcpy(c + table + 104 + 88, c + table + 88, 8);
    reseal_weights(c);
    rc[2] = nac_weights_load_mem(&w, c, size, &err);
    free(c);
    c = dup_bytes(buf, size); /* unknown dtype */
    c[table + 64] = 7;
    reseal_weights(c);
    rc[3] = nac_weights_load_mem(&w, c, size, &err);
    free(c);
    c = dup_bytes(buf, size); /* offset beyond the end of the file */
    nac_put_le64(c + table + 88, 1u << 20);
    reseal_weights(c);
    rc[4] = nac_weights_load_mem(&w, c, size, &err);
    free(c);
    c = dup_bytes(buf, size); /* bad magic */
    c[0] = 'X';
    rc[5] = nac_weights_load_mem(&w, c, size, &err);
    free(c);
    c = malloc(size + 64); /* trailing bytes */
    memcpy(c, buf, size);
    memset(c + size, 0, 64);
    rc[6] = nac_weights_load_mem(&w, c, size + 64, &err);
    free(c);
    c = dup_bytes(buf, size); /* tensor data changed: its CRC */
    c[size - 1] ^= 1;
    rc[7] = nac_weights_load_mem(&w, c, size, &err);
    free(c);
    free(buf);
    CHECK(rc[0] == NAC_ERR_UNSUPPORTED);
    CHECK(rc[1] == NAC_ERR_FORMAT && dup_msg);
    CHECK(rc[2] == NAC_ERR_FORMAT);
    CHECK(rc[3] == NAC_ERR_FORMAT);
    CHECK(rc[4] == NAC_ERR_TRUNCATED);
    CHECK(rc[5] == NAC_ERR_FORMAT);
    CHECK(rc[6] == NAC_ERR_FORMAT);
    CHECK(rc[7] == NAC_ERR_CORRUPT);
    CHECK(w == NULL);
}

/* ---- .nac container -------------------------------------------------------------------- */

/* The container version the generic .nac tests write: each runs for version 1 and version 2. */
static int g_version = 1;

static void example_info(nac_nacfile_info *in)
{
    memset(in, 0, sizeof *in);
    in->version = (uint8_t)g_version;
    in->source_rate = 44100;
    in->channels = 1;
    in->length = 88200;
    in->codec_rate = 16000;
    in->frame_size = 320;
    in->n_stages = 3;
    in->stage_bits[0] = in->stage_bits[1] = in->stage_bits[2] = 10;
    in->model_hash = 0xDEADBEEF;
    in->delay = 160;
    in->bitrate = 15;
    in->frames_per_packet = 1;
    strcpy(in->encoder, "nac 0.1.0");
}

#define N_PKT 6
static const size_t pkt_len[N_PKT] = {4, 0, 19, 1, 40, 7};

static void pkt_payload(int k, uint8_t *out)
{
    for (size_t i = 0; i < pkt_len[k]; i++)
        out[i] = (uint8_t)(k * 37 + i * 11 + 3);
    if (k == 2 && pkt_len[k] > 8) { /* a sync word inside a payload must not fool the reader */
        out[4] = NAC_NACFILE_SYNC0;
        out[5] = NAC_NACFILE_SYNC1;
    }
}

/* Small stream: header, metadata and N_PKT packets with sequence numbers 0..N_PKT-1. */
static int make_nac(uint8_t **buf, size_t *size, size_t *pkt_start, nac_error *err)
{
    nac_nacfile_info in;
    example_info(&in);
    nac_nacfile_writer *w;
    int rc = nac_nacfile_writer_create_mem(&w, &in, err);
    if (rc < 0)
        return rc;
    for (int k = 0; k < N_PKT && rc == NAC_OK; k++) {
        uint8_t p[64];
        const uint8_t *data;
        size_t n;
        nac_nacfile_writer_buffer(w, &data, &n);
        pkt_start[k] = n;
        pkt_payload(k, p);
        rc = nac_nacfile_writer_write(w, (uint32_t)k, p, pkt_len[k], err);
    }
    if (rc == NAC_OK)
        rc = nac_nacfile_writer_finish(w, err);
    if (rc == NAC_OK) {
        const uint8_t *data;
        nac_nacfile_writer_buffer(w, &data, size);
        pkt_start[N_PKT] = *size;
        *buf = dup_bytes(data, *size);
    }
    nac_nacfile_writer_destroy(w);
    return rc;
}

/* Reads a whole stream; records each packet's seq (or -1 for a corrupt report, -2 for truncated)
 * in log[] and checks payloads. Returns the log length, or -1000 - line on an unexpected result. */
static int read_log(nac_nacfile_reader *r, int *log, int cap)
{
    int n = 0;
    for (int guard = 0; guard < 100; guard++) {
        nac_nacfile_packet p;
        nac_error err;
        int rc = nac_nacfile_reader_next(r, &p, &err);
        if (rc == NAC_NACFILE_END)
            return nac_nacfile_reader_next(r, &p, &err) == NAC_NACFILE_END ? n : -1000 - __LINE__;
        if (n == cap)
            return -1000 - __LINE__;
        if (rc == NAC_OK) {
            uint8_t want[64];
            if (p.seq >= N_PKT || p.size != pkt_len[p.seq])
                return -1000 - __LINE__;
            pkt_payload((int)p.seq, want);
            if (memcmp(want, p.data, p.size) != 0)
                return -1000 - __LINE__;
            log[n++] = (int)p.seq;
        } else if (rc == NAC_ERR_CORRUPT) {
            log[n++] = -1;
        } else if (rc == NAC_ERR_TRUNCATED) {
            log[n++] = -2;
        } else {
            return -1000 - __LINE__;
        }
    }
    return -1000 - __LINE__;
}

/* Opens a reader on data[0..n-1] from memory (via_file 0) or through a FILE (1). */
static int open_nac(nac_nacfile_reader **r, FILE **f, const uint8_t *data, size_t n, int via_file, nac_error *err)
{
    *f = NULL;
    if (!via_file)
        return nac_nacfile_reader_create_mem(r, data, n, err);
    *f = n ? fmemopen((void *)data, n, "rb") : fopen("/dev/null", "rb");
    if (!*f)
        return NAC_ERR_IO;
    return nac_nacfile_reader_create(r, *f, err);
}

static void nac_roundtrip_body(nac_test *t_);
TEST(format_nac_roundtrip)
{
    g_version = 1;
    nac_roundtrip_body(t_);
}
TEST(format_nac2_roundtrip)
{
    g_version = 2;
    nac_roundtrip_body(t_);
    g_version = 1;
}
static void nac_roundtrip_body(nac_test *t_)
{
    nac_error err = {0};
    uint8_t *buf = NULL;
    size_t size = 0, starts[N_PKT + 1];
    CHECKF(make_nac(&buf, &size, starts, &err) == NAC_OK, "%s", nac_error_message(&err));
    nac_nacfile_info want;
    example_info(&want);
    for (int via = 0; via < 2; via++) {
        nac_nacfile_reader *r = NULL;
        FILE *f;
        int rc = open_nac(&r, &f, buf, size, via, &err);
        int info_ok = rc == NAC_OK && memcmp(nac_nacfile_reader_info(r), &want, sizeof want) == 0;
        int log[16], n = rc == NAC_OK ? read_log(r, log, 16) : -1;
        nac_nacfile_reader_destroy(r);
        if (f)
            fclose(f);
        CHECKF(rc == NAC_OK, "%s", nac_error_message(&err));
        CHECK(info_ok);
        CHECKF(n == N_PKT, "via %d: %d", via, n);
        for (int k = 0; k < N_PKT; k++)
            CHECK(log[k] == k);
    }
    CHECK(buf[0] == 'N' && buf[1] == 'A' && buf[2] == 'C' && buf[3] == g_version && buf[8] == 15);
    CHECK(nac_get_be32(buf + 4) == starts[0] - 9);
    free(buf);

    /* Largest and empty payloads; the lost count from sequence numbers; a FILE writer. */
    FILE *f = tmpfile();
    CHECK(f != NULL);
    nac_nacfile_writer *w;
    CHECK(nac_nacfile_writer_create(&w, f, &want, &err) == NAC_OK);
    uint8_t *big = malloc(NAC_NACFILE_MAX_PAYLOAD);
    CHECK(big != NULL);
    for (size_t i = 0; i < NAC_NACFILE_MAX_PAYLOAD; i++)
        big[i] = (uint8_t)(i * 7);
    int rc1 = nac_nacfile_writer_write(w, 0, big, NAC_NACFILE_MAX_PAYLOAD, &err);
    int rc2 = nac_nacfile_writer_write(w, 3, NULL, 0, &err);
    int rc3 = nac_nacfile_writer_write(w, 4, big, NAC_NACFILE_MAX_PAYLOAD + 1, &err);
    int rc4 = nac_nacfile_writer_finish(w, &err);
    int rc5 = nac_nacfile_writer_write(w, 5, big, 1, &err);
    nac_nacfile_writer_destroy(w);
    rewind(f);
    nac_nacfile_reader *r = NULL;
    nac_nacfile_packet p1 = {0}, p2 = {0};
    int rr = nac_nacfile_reader_create(&r, f, &err), s1 = -99, s2 = -99, s3 = -99, big_ok = 0;
    if (rr == NAC_OK) {
        s1 = nac_nacfile_reader_next(r, &p1, &err);
        big_ok = s1 == NAC_OK && p1.size == NAC_NACFILE_MAX_PAYLOAD && memcmp(p1.data, big, p1.size) == 0;
        s2 = nac_nacfile_reader_next(r, &p2, &err);
        s3 = nac_nacfile_reader_next(r, &p2, &err);
    }
    nac_nacfile_reader_destroy(r);
    fclose(f);
    free(big);
    CHECK(rc1 == NAC_OK && rc2 == NAC_OK && rc3 == NAC_ERR_ARG && rc4 == NAC_OK && rc5 == NAC_ERR_STATE);
    CHECKF(rr == NAC_OK, "%s", nac_error_message(&err));
    CHECK(big_ok && p1.lost == 0 && p1.offset == starts[0]);
    CHECK(s2 == NAC_OK && p2.seq == 3 && p2.lost == 2 && p2.size == 0);
    CHECK(s3 == NAC_NACFILE_END);
}

static void nac_through_a_pipe_body(nac_test *t_);
TEST(format_nac_through_a_pipe)
{
    g_version = 1;
    nac_through_a_pipe_body(t_);
}
TEST(format_nac2_through_a_pipe)
{
    g_version = 2;
    nac_through_a_pipe_body(t_);
    g_version = 1;
}
static void nac_through_a_pipe_body(nac_test *t_)
{
    /* The writer never seeks: header, metadata and packets go through a pipe. */
    int fd[2];
    CHECK(pipe(fd) == 0);
    FILE *out = fdopen(fd[1], "wb"), *in = fdopen(fd[0], "rb");
    CHECK(out && in);
    nac_nacfile_info info;
    example_info(&info);
    info.length = NAC_NACFILE_LENGTH_UNKNOWN;
    info.frames_per_packet = 0;
    nac_error err = {0};
    nac_nacfile_writer *w;
    int rc = nac_nacfile_writer_create(&w, out, &info, &err);
    for (int k = 0; k < N_PKT && rc == NAC_OK; k++) {
        uint8_t p[64];
        pkt_payload(k, p);
        rc = nac_nacfile_writer_write(w, (uint32_t)k, p, pkt_len[k], &err);
    }
    if (rc == NAC_OK)
        rc = nac_nacfile_writer_finish(w, &err);
    nac_nacfile_writer_destroy(w);
    fclose(out);
    CHECKF(rc == NAC_OK, "%s", nac_error_message(&err));
    nac_nacfile_reader *r = NULL;
    rc = nac_nacfile_reader_create(&r, in, &err);
    int info_ok = rc == NAC_OK && memcmp(nac_nacfile_reader_info(r), &info, sizeof info) == 0;
    int log[16], n = rc == NAC_OK ? read_log(r, log, 16) : -1;
    nac_nacfile_reader_destroy(r);
    fclose(in);
    CHECKF(rc == NAC_OK, "%s", nac_error_message(&err));
    CHECK(info_ok);
    CHECK(n == N_PKT);
}

static void nac_every_truncation_body(nac_test *t_);
TEST(format_nac_every_truncation)
{
    g_version = 1;
    nac_every_truncation_body(t_);
}
TEST(format_nac2_every_truncation)
{
    g_version = 2;
    nac_every_truncation_body(t_);
    g_version = 1;
}
static void nac_every_truncation_body(nac_test *t_)
{
    nac_error err = {0};
    uint8_t *buf = NULL;
    size_t size = 0, starts[N_PKT + 1];
    CHECKF(make_nac(&buf, &size, starts, &err) == NAC_OK, "%s", nac_error_message(&err));
    int bad = -1, why = 0;
    for (size_t n = 0; n < size && bad < 0; n++) {
        for (int via = 0; via < 2 && bad < 0; via++) {
            uint8_t *cut = dup_bytes(buf, n);
            nac_nacfile_reader *r = NULL;
            FILE *f;
            int rc = open_nac(&r, &f, cut, n, via, &err);
            if (n < starts[0]) {
                if (rc != NAC_ERR_TRUNCATED || r)
                    bad = (int)n, why = __LINE__;
            } else if (rc != NAC_OK) {
                bad = (int)n, why = __LINE__;
            } else {
                /* The whole packets before the cut, then the cut reported (unless it falls
                 * between packets), then the end. */
                int whole = 0;
                while (whole < N_PKT && starts[whole + 1] <= n)
                    whole++;
                int log[16], m = read_log(r, log, 16);
                int expect = whole + (starts[whole] < n ? 1 : 0);
                if (m != expect)
                    bad = (int)n, why = m < -1000 ? m : __LINE__;
                for (int k = 0; bad < 0 && k < whole; k++)
                    if (log[k] != k)
                        bad = (int)n, why = __LINE__;
                if (bad < 0 && expect > whole && log[whole] != -2)
                    bad = (int)n, why = __LINE__;
            }
            nac_nacfile_reader_destroy(r);
            if (f)
                fclose(f);
            free(cut);
        }
    }
    free(buf);
    CHECKF(bad < 0, "cut at %d: test_format.c:%d", bad, why);
}

static void nac_every_byte_flip_body(nac_test *t_);
TEST(format_nac_every_byte_flip)
{
    g_version = 1;
    nac_every_byte_flip_body(t_);
}
TEST(format_nac2_every_byte_flip)
{
    g_version = 2;
    nac_every_byte_flip_body(t_);
    g_version = 1;
}
static void nac_every_byte_flip_body(nac_test *t_)
{
    nac_error err = {0};
    uint8_t *buf = NULL;
    size_t size = 0, starts[N_PKT + 1];
    CHECKF(make_nac(&buf, &size, starts, &err) == NAC_OK, "%s", nac_error_message(&err));
    int bad = -1, why = 0;
    static const uint8_t flips[] = {0xFF, 0x01, 0x80};
    for (size_t i = 0; i < size && bad < 0; i++) {
        for (int k = 0; k < 3 && bad < 0; k++) {
            for (int via = 0; via < 2 && bad < 0; via++) {
                uint8_t *c = dup_bytes(buf, size);
                c[i] ^= flips[k];
                nac_nacfile_reader *r = NULL;
                FILE *f;
                int rc = open_nac(&r, &f, c, size, via, &err);
                if (i < starts[0]) {
                    if (rc >= 0 || r)
                        bad = (int)i, why = __LINE__;
                } else if (rc != NAC_OK) {
                    bad = (int)i, why = __LINE__;
                } else {
                    /* The flipped packet is reported damaged, every other one delivered. */
                    int hit = 0;
                    while (starts[hit + 1] <= i)
                        hit++;
                    int log[16], m = read_log(r, log, 16), j = 0;
                    if (m != N_PKT)
                        bad = (int)i, why = m < -1000 ? m : __LINE__;
                    for (int p = 0; bad < 0 && p < N_PKT; p++, j++) {
                        int want = p == hit ? (log[j] == -2 ? -2 : -1) : p;
                        if (log[j] != want || (want == -2 && hit != N_PKT - 1))
                            bad = (int)i, why = __LINE__;
                    }
                }
                nac_nacfile_reader_destroy(r);
                if (f)
                    fclose(f);
                free(c);
            }
        }
    }
    free(buf);
    CHECKF(bad < 0, "flip at %d: test_format.c:%d", bad, why);
}

/* Rebuilds a stream's header and metadata with extra TLV bytes before the CRC tag. */
static uint8_t *with_extra_tlv(const uint8_t *buf, size_t size, size_t meta_end, const uint8_t *extra,
                               size_t n_extra, size_t *out_size)
{
    uint8_t *c = malloc(size + n_extra);
    if (!c)
        return NULL;
    size_t crc_at = meta_end - 7;
    memcpy(c, buf, crc_at);
    memcpy(c + crc_at, extra, n_extra);
    memcpy(c + crc_at + n_extra, buf + crc_at, size - crc_at);
    nac_put_be32(c + 4, nac_get_be32(buf + 4) + (uint32_t)n_extra);
    nac_put_be32(c + crc_at + n_extra + 3, nac_crc32(0, c, crc_at + n_extra + 3));
    *out_size = size + n_extra;
    return c;
}

TEST(format_nac_versions_and_tags)
{
    nac_error err = {0};
    uint8_t *buf = NULL;
    size_t size = 0, starts[N_PKT + 1];
    CHECKF(make_nac(&buf, &size, starts, &err) == NAC_OK, "%s", nac_error_message(&err));
    nac_nacfile_reader *r = NULL;
    uint8_t *c = dup_bytes(buf, size);
    c[3] = 3;
    int rc_version = nac_nacfile_reader_create_mem(&r, c, size, &err);
    c[3] = 1;
    c[0] = 'M';
    int rc_magic = nac_nacfile_reader_create_mem(&r, c, size, &err);
    free(c);

    /* An unknown tag (a newer writer's) is skipped; a known tag twice is refused. */
    static const uint8_t unknown[] = {0x42, 0x00, 0x05, 1, 2, 3, 4, 5, 0x00, 0x00, 0x00};
    size_t n;
    c = with_extra_tlv(buf, size, starts[0], unknown, sizeof unknown, &n);
    CHECK(c != NULL);
    int rc_unknown = nac_nacfile_reader_create_mem(&r, c, n, &err);
    int log[16], m = rc_unknown == NAC_OK ? read_log(r, log, 16) : -1;
    nac_nacfile_reader_destroy(r);
    r = NULL;
    free(c);
    static const uint8_t twice[] = {NAC_TAG_DELAY, 0x00, 0x04, 0, 0, 0, 1};
    c = with_extra_tlv(buf, size, starts[0], twice, sizeof twice, &n);
    int rc_twice = nac_nacfile_reader_create_mem(&r, c, n, &err);
    free(c);
    static const uint8_t bad_len[] = {0x20, 0x00, 0x09, 1};
    c = with_extra_tlv(buf, size, starts[0], bad_len, sizeof bad_len, &n);
    int rc_badlen = nac_nacfile_reader_create_mem(&r, c, n, &err);
    free(c);

    /* A required tag missing: the stream written without the encoder tag (renamed to 0x7E). */
    c = dup_bytes(buf, size);
    size_t pos = 9;
    while (c[pos] != NAC_TAG_ENCODER)
        pos += 3 + nac_get_be16(c + pos + 1);
    c[pos] = 0x7E;
    nac_put_be32(c + starts[0] - 4, nac_crc32(0, c, starts[0] - 4));
    int rc_missing = nac_nacfile_reader_create_mem(&r, c, size, &err);
    int msg_missing = strcmp(err.msg, "metadata lacks the required tag 0x0a") == 0;
    free(c);

    /* Insane values are refused by the writer and by the reader. */
    nac_nacfile_info info;
    example_info(&info);
    info.stage_bits[1] = 0;
    nac_nacfile_writer *w = NULL;
    int rc_wbits = nac_nacfile_writer_create_mem(&w, &info, &err);
    example_info(&info);
    info.frame_size = 0;
    int rc_wframe = nac_nacfile_info_check(&info, &err);
    c = dup_bytes(buf, size);
    pos = 9;
    while (c[pos] != NAC_TAG_CODEC_RATE)
        pos += 3 + nac_get_be16(c + pos + 1);
    nac_put_be32(c + pos + 3, 100);
    nac_put_be32(c + starts[0] - 4, nac_crc32(0, c, starts[0] - 4));
    int rc_rate = nac_nacfile_reader_create_mem(&r, c, size, &err);
    free(c);
    free(buf);

    CHECK(rc_version == NAC_ERR_UNSUPPORTED);
    CHECK(rc_magic == NAC_ERR_FORMAT);
    CHECKF(rc_unknown == NAC_OK, "%s", nac_error_message(&err));
    CHECK(m == N_PKT);
    CHECK(rc_twice == NAC_ERR_FORMAT && rc_badlen == NAC_ERR_FORMAT);
    CHECK(rc_missing == NAC_ERR_FORMAT && msg_missing);
    CHECK(rc_wbits == NAC_ERR_ARG && w == NULL && rc_wframe == NAC_ERR_ARG);
    CHECK(rc_rate == NAC_ERR_FORMAT);
    CHECK(r == NULL);
}

static void nac_resync_after_garbage_body(nac_test *t_);
TEST(format_nac_resync_after_garbage)
{
    g_version = 1;
    nac_resync_after_garbage_body(t_);
}
TEST(format_nac2_resync_after_garbage)
{
    g_version = 2;
    nac_resync_after_garbage_body(t_);
    g_version = 1;
}
static void nac_resync_after_garbage_body(nac_test *t_)
{
    nac_error err = {0};
    uint8_t *buf = NULL;
    size_t size = 0, starts[N_PKT + 1];
    CHECKF(make_nac(&buf, &size, starts, &err) == NAC_OK, "%s", nac_error_message(&err));
    /* Garbage with false sync words between packets 2 and 3, and after the last one. */
    static const uint8_t junk[] = {0xA5, 0x5A, 0, 0, 0, 9, 0, 1, 7, 1, 2, 3, 4, 0xA5, 0xA5, 0x5A, 0xFF, 0xFF};
    size_t n = size + 2 * sizeof junk;
    uint8_t *c = malloc(n);
    CHECK(c != NULL);
    memcpy(c, buf, starts[3]);
    memcpy(c + starts[3], junk, sizeof junk);
    memcpy(c + starts[3] + sizeof junk, buf + starts[3], size - starts[3]);
    memcpy(c + size + sizeof junk, junk, sizeof junk);
    nac_nacfile_reader *r = NULL;
    int rc = nac_nacfile_reader_create_mem(&r, c, n, &err);
    int log[16], m = rc == NAC_OK ? read_log(r, log, 16) : -1;
    nac_nacfile_reader_destroy(r);
    free(c);
    free(buf);
    CHECK(rc == NAC_OK);
    CHECKF(m == N_PKT + 2, "%d", m);
    int want[] = {0, 1, 2, -1, 3, 4, 5, -1};
    for (int k = 0; k < N_PKT + 2; k++)
        CHECKF(log[k] == want[k], "entry %d: %d", k, log[k]);
}

/* The worked examples of docs/format.md: a 40 ms clip, two 20 ms frames of two 10-bit codes,
 * (1, 2) and (1023, 4), packed MSB first into 3 bytes each, one frame per packet. Writes the
 * stream of the given container version; *hex gets its bytes in hex; returns the writer (the
 * caller destroys it) or NULL. */
static const uint8_t example_f0[] = {0x00, 0x40, 0x20}, example_f1[] = {0xFF, 0xC0, 0x40};

static nac_nacfile_writer *worked_example(nac_nacfile_info *in, int version, char *hex, size_t cap)
{
    memset(in, 0, sizeof *in);
    in->source_rate = 16000;
    in->channels = 1;
    in->length = 640;
    in->codec_rate = 16000;
    in->frame_size = 320;
    in->n_stages = 2;
    in->stage_bits[0] = in->stage_bits[1] = 10;
    in->model_hash = 0x12345678;
    in->bitrate = 10;
    in->version = (uint8_t)version;
    strcpy(in->encoder, "nac 0.1.0");
    nac_nacfile_writer *w = NULL;
    if (nac_nacfile_writer_create_mem(&w, in, NULL) || nac_nacfile_writer_write(w, 0, example_f0, 3, NULL) ||
        nac_nacfile_writer_write(w, 1, example_f1, 3, NULL) || nac_nacfile_writer_finish(w, NULL)) {
        nac_nacfile_writer_destroy(w);
        return NULL;
    }
    const uint8_t *data;
    size_t n, k;
    nac_nacfile_writer_buffer(w, &data, &n);
    for (k = 0; k < n && 2 * k + 2 < cap; k++)
        snprintf(hex + 2 * k, 3, "%02x", data[k]);
    hex[2 * k] = '\0';
    return w;
}

TEST(format_nac_worked_example)
{
    nac_nacfile_info in;
    char hex[1024];
    nac_nacfile_writer *w = worked_example(&in, 1, hex, sizeof hex);
    CHECK(w != NULL);
    nac_nacfile_writer_destroy(w);
    static const char expect[] =
        "4e414301000000500a"
        "01000400003e80" "0200020001" "0300080000000000000280" "04000400003e80" "050004000001400600020002"
        "0700020a0a" "08000412345678" "09000400000000" "0a00096e616320302e312e30" "ff00040f2f2c51"
        "a55a0000000000030040203fabd48d"
        "a55a000000010003ffc0403c5ecad6";
    CHECKF(strcmp(hex, expect) == 0, "%s", hex);
}

/* Version 2, byte for byte, and what a reader makes of it. */
TEST(format_nac2_worked_example)
{
    nac_nacfile_info in;
    char hex[256];
    nac_nacfile_writer *w = worked_example(&in, 2, hex, sizeof hex);
    CHECK(w != NULL);
    static const char expect[] = "4e414302000000170a" "0c8005" "1802" "2112345678" "2a096e616320302e312e30" "eb56"
                                 "a55a000003004020bc62" "a55a000103ffc040ae6e";
    int same = strcmp(hex, expect) == 0;
    const uint8_t *data;
    size_t n;
    nac_nacfile_writer_buffer(w, &data, &n);
    nac_error err = {0};
    nac_nacfile_reader *r = NULL;
    int rc = nac_nacfile_reader_create_mem(&r, data, n, &err);
    int info_ok = rc == NAC_OK && memcmp(nac_nacfile_reader_info(r), &in, sizeof in) == 0;
    nac_nacfile_packet p0 = {0}, p1 = {0};
    int r0 = rc == NAC_OK ? nac_nacfile_reader_next(r, &p0, &err) : rc, r1 = nac_nacfile_reader_next(r, &p1, &err);
    int ok0 = r0 == NAC_OK && p0.seq == 0 && p0.size == 3 && p0.offset == 32 && memcmp(p0.data, example_f0, 3) == 0;
    int ok1 = r1 == NAC_OK && p1.seq == 1 && p1.size == 3 && p1.offset == 42 && memcmp(p1.data, example_f1, 3) == 0;
    int r2 = nac_nacfile_reader_next(r, &p1, &err);
    nac_nacfile_reader_destroy(r);
    nac_nacfile_writer_destroy(w);
    CHECKF(same, "%s", hex);
    CHECK(info_ok && ok0 && ok1 && r2 == NAC_NACFILE_END);
}

/* Version-2 metadata: defaults, unknown fields skipped, bad ones refused; packet framing and the
 * 16-bit sequence numbers unwrapped across 65536. */
TEST(format_nac2_fields_and_packets)
{
    nac_nacfile_info in;
    g_version = 2;
    example_info(&in);
    g_version = 1;
    in.stage_bits[1] = 7; /* stage bits as bytes */
    in.channels = 2;
    in.mode = 1;
    in.vbr_table = 0xABCDEF01;
    memset(in.encoder, 0, sizeof in.encoder);
    in.length = NAC_NACFILE_LENGTH_UNKNOWN; /* no bound on the first sequence number */
    nac_error err = {0};
    nac_nacfile_writer *w;
    CHECK(nac_nacfile_writer_create_mem(&w, &in, &err) == NAC_OK);
    /* packets 65533 (a first number that far is dropped: docs/format.md 2.4; the next one agrees and
     * restarts the stream), 65534, 65535, 65536 (stored as 0), a lost one, 65538; one long payload
     * (CRC-32) */
    uint8_t *big = calloc(5000, 1);
    CHECK(big != NULL);
    int rc = 0;
    for (uint32_t q = 65533; q <= 65538 && !rc; q++)
        if (q != 65537)
            rc = nac_nacfile_writer_write(w, q, big, q == 65536 ? 5000 : 10, &err);
    free(big);
    const uint8_t *data;
    size_t n;
    nac_nacfile_writer_buffer(w, &data, &n);
    uint8_t *buf = dup_bytes(data, n);
    nac_nacfile_writer_destroy(w);
    CHECK(rc == NAC_OK && buf);
    nac_nacfile_reader *r = NULL;
    rc = nac_nacfile_reader_create_mem(&r, buf, n, &err);
    in.version = 2;
    int info_ok = rc == NAC_OK && memcmp(nac_nacfile_reader_info(r), &in, sizeof in) == 0;
    uint32_t seq[8], lost[8];
    size_t size[8];
    int m = 0;
    nac_nacfile_packet p;
    int first = rc == NAC_OK ? nac_nacfile_reader_next(r, &p, &err) : rc;
    while (rc == NAC_OK && m < 8 && nac_nacfile_reader_next(r, &p, &err) == NAC_OK)
        seq[m] = p.seq, lost[m] = p.lost, size[m++] = p.size;
    nac_nacfile_reader_destroy(r);
    CHECKF(rc == NAC_OK, "%s", nac_error_message(&err));
    CHECK(info_ok);
    CHECK(first == NAC_ERR_CORRUPT);
    CHECKF(m == 4, "%d packets", m);
    CHECK(seq[0] == 65534 && seq[1] == 65535 && seq[2] == 65536 && seq[3] == 65538);
    CHECK(lost[3] == 1 && lost[2] == 0 && size[2] == 5000 && size[3] == 10);

    /* One framed packet on its own: parse, and every damage to it refused. */
    uint8_t pk[32];
    static const uint8_t pay[5] = {1, 2, 3, 4, 5};
    size_t pn = nac_nacfile_packet_frame(pk, 2, 70000, pay, 5);
    nac_nacfile_packet q;
    CHECK(pn == 12 && nac_nacfile_packet_parse(&q, 2, pk, pn, &err) == NAC_OK && q.seq == 70000 - 65536 &&
          q.size == 5 && memcmp(q.data, pay, 5) == 0);
    CHECK(nac_nacfile_packet_parse(&q, 2, pk, pn - 1, &err) == NAC_ERR_TRUNCATED);
    CHECK(nac_nacfile_packet_parse(&q, 2, pk, pn + 1, &err) == NAC_ERR_CORRUPT);
    int all = 1;
    for (size_t i = 0; i < pn; i++)
        for (int b = 0; b < 8; b++) {
            pk[i] ^= (uint8_t)(1 << b);
            all = all && nac_nacfile_packet_parse(&q, 2, pk, pn, NULL) < 0;
            pk[i] ^= (uint8_t)(1 << b);
        }
    CHECK(all);

    /* Metadata: an unknown field is skipped; a wrong wire type, a missing stage count, an
     * over-long varint and a bad CRC are refused. Fields are rebuilt with a valid CRC-16. */
    size_t meta_end = 9 + nac_get_be32(buf + 4);
    static const uint8_t unknown[] = {0xF2, 0x03, 1, 2, 3}, wrong_type[] = {0x19, 0, 0, 0, 3},
                         twice[] = {0x18, 0x03}, long_varint[] = {0x0C, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                                                  0x80, 0x80, 0x80, 0x80, 0x01};
    const uint8_t *extras[] = {unknown, wrong_type, twice, long_varint};
    size_t extra_n[] = {sizeof unknown, sizeof wrong_type, sizeof twice, sizeof long_varint};
    int want[] = {NAC_OK, NAC_ERR_FORMAT, NAC_ERR_FORMAT, NAC_ERR_FORMAT}, got[4];
    for (int t = 0; t < 4; t++) {
        uint8_t *c = malloc(n + extra_n[t]);
        CHECK(c != NULL);
        memcpy(c, buf, meta_end - 2);
        memcpy(c + meta_end - 2, extras[t], extra_n[t]);
        memcpy(c + meta_end - 2 + extra_n[t], buf + meta_end - 2, n - meta_end + 2);
        nac_put_be32(c + 4, nac_get_be32(buf + 4) + (uint32_t)extra_n[t]);
        nac_put_be16(c + meta_end - 2 + extra_n[t], nac_crc16(NAC_CRC16_INIT, c, meta_end - 2 + extra_n[t]));
        got[t] = nac_nacfile_reader_create_mem(&r, c, n + extra_n[t], &err);
        nac_nacfile_reader_destroy(r);
        r = NULL;
        free(c);
    }
    for (int t = 0; t < 4; t++)
        CHECKF(got[t] == want[t], "case %d: %d", t, got[t]);
    buf[meta_end - 1] ^= 1;
    CHECK(nac_nacfile_reader_create_mem(&r, buf, n, &err) == NAC_ERR_CORRUPT && r == NULL);
    free(buf);
}

TEST(format_crc16_check_value)
{
    CHECK(nac_crc16(NAC_CRC16_INIT, "123456789", 9) == 0x29B1);
    /* the shift operator gives any span's CRC from running registers */
    uint8_t b[300];
    uint16_t R[301] = {0};
    for (int i = 0; i < 300; i++) {
        b[i] = (uint8_t)(i * 91 + 7);
        R[i + 1] = nac_crc16(R[i], b + i, 1);
    }
    int bad = 0;
    for (int a = 0; a < 300; a += 7)
        for (int c = a; c <= 300; c += 5)
            bad += (uint16_t)(R[c] ^ nac_crc16_shift((uint16_t)(NAC_CRC16_INIT ^ R[a]), nac_crc16_shift_gen((uint64_t)(c - a)))) !=
                   nac_crc16(NAC_CRC16_INIT, b + a, (size_t)(c - a));
    CHECK(bad == 0);
}

TEST(format_weights_large_tensors)
{
    /* Tensors longer than the writer's conversion chunk, through a file. */
    enum { N = 10007 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    CHECK(x && y);
    nac_rng rng;
    nac_rng_seed(&rng, 5);
    for (int i = 0; i < N; i++)
        x[i] = (float)nac_rng_normal(&rng);
    nac_error err = {0};
    nac_weights_writer *w = NULL;
    size_t shape[] = {N};
    int rc = nac_weights_writer_create(&w, &err);
    rc = rc ? rc : nac_weights_writer_add(w, "a", NAC_DTYPE_F32, 1, shape, x, &err);
    rc = rc ? rc : nac_weights_writer_add(w, "b", NAC_DTYPE_F16, 1, shape, x, &err);
    rc = rc ? rc : nac_weights_writer_add(w, "c", NAC_DTYPE_BF16, 1, shape, x, &err);
    char path[512];
    snprintf(path, sizeof path, "%s/large.nacw", nac_test_tmp_dir());
    rc = rc ? rc : nac_weights_writer_save(w, path, &err);
    nac_weights_writer_destroy(w);
    nac_weights *r = NULL;
    rc = rc ? rc : nac_weights_load(&r, path, &err);
    double worst[3] = {0, 0, 0};
    int read_ok = 1;
    for (int k = 0; rc == NAC_OK && k < 3; k++) {
        read_ok = read_ok && nac_weights_read_f32(r, (const char[][2]){"a", "b", "c"}[k], y, 1, shape, &err) == NAC_OK;
        for (int i = 0; i < N; i++)
            worst[k] = fmax(worst[k], fabs((double)y[i] - x[i]) / fmax(fabs(x[i]), 1e-30));
    }
    nac_weights_destroy(r);
    free(x);
    free(y);
    CHECKF(rc == NAC_OK, "%s", nac_error_message(&err));
    CHECK(read_ok);
    CHECK(worst[0] == 0.0);
    CHECKF(worst[1] <= 0x1p-11, "f16 relative error %g", worst[1]);
    CHECKF(worst[2] <= 0x1p-8, "bf16 relative error %g", worst[2]);
}

TEST(format_nac_large_stream_via_file)
{
    /* Big packets (past the reader's buffer), damage in some of them, and 240 KB of metadata
     * from unknown tags, all through a FILE. */
    enum { NP = 24 };
    nac_nacfile_info info;
    example_info(&info);
    nac_error err = {0};
    nac_nacfile_writer *w = NULL;
    int rc = nac_nacfile_writer_create_mem(&w, &info, &err);
    CHECKF(rc == NAC_OK, "%s", nac_error_message(&err));
    uint8_t *p = malloc(NAC_NACFILE_MAX_PAYLOAD);
    CHECK(p != NULL);
    size_t len[NP], start[NP + 1];
    nac_rng rng;
    nac_rng_seed(&rng, 3);
    for (int k = 0; k < NP && rc == NAC_OK; k++) {
        len[k] = k % 3 == 0 ? (size_t)(NAC_NACFILE_MAX_PAYLOAD - k) : (size_t)nac_rng_below(&rng, 5000);
        for (size_t i = 0; i < len[k]; i++)
            p[i] = (uint8_t)(i % 97 == 0 ? 0xA5 : i % 97 == 1 ? 0x5A : k + i); /* false sync words */
        const uint8_t *d;
        nac_nacfile_writer_buffer(w, &d, &start[k]);
        rc = nac_nacfile_writer_write(w, (uint32_t)k, p, len[k], &err);
    }
    const uint8_t *d;
    size_t n;
    nac_nacfile_writer_buffer(w, &d, &n);
    start[NP] = n;
    /* 4 unknown tags of 60000 bytes before the CRC tag. */
    size_t extra_n = 4 * 60003;
    uint8_t *extra = calloc(extra_n, 1);
    CHECK(extra != NULL);
    for (int t = 0; t < 4; t++) {
        extra[t * 60003] = 0x60;
        nac_put_be16(extra + t * 60003 + 1, 60000);
    }
    size_t size;
    uint8_t *buf = with_extra_tlv(d, n, start[0], extra, extra_n, &size);
    nac_nacfile_writer_destroy(w);
    free(extra);
    CHECK(buf != NULL);
    static const int damaged[] = {3, 4, 9, 23};
    for (int j = 0; j < 4; j++)
        buf[start[damaged[j]] + extra_n + 20] ^= 0x10;
    FILE *f = tmpfile();
    CHECK(f != NULL);
    int wrote = fwrite(buf, 1, size, f) == size;
    rewind(f);
    nac_nacfile_reader *r = NULL;
    rc = nac_nacfile_reader_create(&r, f, &err);
    int log[64], m = 0, payload_ok = 1;
    uint32_t lost[64];
    for (int guard = 0; rc == NAC_OK && guard < 64; guard++) {
        nac_nacfile_packet pk;
        int s = nac_nacfile_reader_next(r, &pk, &err);
        if (s == NAC_NACFILE_END)
            break;
        log[m] = s == NAC_OK ? (int)pk.seq : s;
        lost[m++] = s == NAC_OK ? pk.lost : 0;
        if (s == NAC_OK) {
            payload_ok = payload_ok && pk.size == len[pk.seq] && pk.offset == start[pk.seq] + extra_n;
            for (size_t i = 0; payload_ok && i < pk.size; i++)
                payload_ok = pk.data[i] == (uint8_t)(i % 97 == 0 ? 0xA5 : i % 97 == 1 ? 0x5A : pk.seq + i);
        }
    }
    nac_nacfile_reader_destroy(r);
    fclose(f);
    free(buf);
    free(p);
    CHECK(wrote);
    CHECKF(rc == NAC_OK, "%s", nac_error_message(&err));
    CHECK(payload_ok);
    /* 3 and 4 are adjacent: one damaged region, then 5 arrives with 2 lost. */
    int want[] = {0, 1, 2, NAC_ERR_CORRUPT, 5, 6, 7, 8, NAC_ERR_CORRUPT, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                  21, 22, NAC_ERR_CORRUPT};
    int nw = (int)(sizeof want / sizeof want[0]);
    CHECKF(m == nw, "%d entries", m);
    for (int k = 0; k < nw; k++)
        CHECKF(log[k] == want[k], "entry %d: %d, expected %d", k, log[k], want[k]);
    CHECK(lost[4] == 2 && lost[9] == 1 && lost[5] == 0);
}
