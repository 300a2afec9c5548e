/* Tests of src/core: status text, RNG determinism, byte order, CRC. */
#include "test.h"

#include "core/bytes.h"
#include "core/crc32.h"
#include "core/rng.h"
#include "core/status.h"

#include <string.h>

TEST(core_strerror)
{
    for (int c = 0; c >= -20; c--)
        CHECK(nac_strerror(c) != NULL);
    nac_error e;
    CHECK(nac_error_set(&e, NAC_ERR_IO, "cannot open %s", "x.wav") == NAC_ERR_IO);
    CHECK(strcmp(nac_error_message(&e), "cannot open x.wav") == 0);
    CHECK(nac_error_set(NULL, NAC_ERR_ARG, "ignored") == NAC_ERR_ARG);
}

TEST(core_rng_seeded)
{
    nac_rng a, b;
    nac_rng_seed(&a, 42);
    nac_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        CHECK(nac_rng_u64(&a) == nac_rng_u64(&b));
    double sum = 0, sq = 0;
    for (int i = 0; i < 100000; i++) {
        double x = nac_rng_normal(&a);
        sum += x;
        sq += x * x;
    }
    CHECK_NEAR(sum / 100000, 0.0, 0.02);
    CHECK_NEAR(sq / 100000, 1.0, 0.02);
    for (int i = 0; i < 1000; i++)
        CHECK(nac_rng_below(&a, 7) < 7);
}

TEST(core_bytes_roundtrip)
{
    uint8_t b[8];
    nac_put_be32(b, 0x01020304u);
    CHECK(b[0] == 1 && b[3] == 4);
    CHECK(nac_get_be32(b) == 0x01020304u);
    nac_put_le32(b, 0x01020304u);
    CHECK(b[0] == 4 && nac_get_le32(b) == 0x01020304u);
    nac_put_be64(b, 0x0102030405060708ull);
    CHECK(nac_get_be64(b) == 0x0102030405060708ull);
    nac_put_le_f32(b, -1.5f);
    CHECK(nac_get_le_f32(b) == -1.5f);
}

TEST(core_crc32_known)
{
    /* The standard check value of CRC-32/ISO-HDLC. */
    CHECK(nac_crc32(0, "123456789", 9) == 0xCBF43926u);
}
