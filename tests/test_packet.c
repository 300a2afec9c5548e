/* Tests of the packet layer and the .nac files it reads and writes: version-1 files (committed
 * fixtures) still decode, exactly as the same packets in a version-2 file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_file.h"
#include "format/nacfile.h"
#include "nac/nac.h"
#include "test.h"

static long slurp(const char *path, uint8_t **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    *out = malloc(n > 0 ? (size_t)n : 1);
    if (!*out || fread(*out, 1, (size_t)n, f) != (size_t)n)
        n = -1;
    fclose(f);
    return n;
}

/* Copies the packets of the .nac in[0..n-1] into a file of container version `version` at path. */
static int transcode(const char *path, const uint8_t *in, size_t n, int version)
{
    nac_nacfile_reader *r = NULL;
    nac_nacfile_writer *w = NULL;
    if (nac_nacfile_reader_create_mem(&r, in, n, NULL))
        return -1;
    nac_nacfile_info info = *nac_nacfile_reader_info(r);
    info.version = (uint8_t)version;
    int rc = nac_nacfile_writer_create_mem(&w, &info, NULL);
    nac_nacfile_packet p;
    int got;
    while (!rc && (got = nac_nacfile_reader_next(r, &p, NULL)) == NAC_OK)
        rc = nac_nacfile_writer_write(w, p.seq, p.data, p.size, NULL);
    if (!rc) {
        const uint8_t *b;
        size_t size;
        nac_nacfile_writer_buffer(w, &b, &size);
        FILE *f = fopen(path, "wb");
        rc = !f || fwrite(b, 1, size, f) != size;
        if (f && fclose(f))
            rc = 1;
    }
    nac_nacfile_writer_destroy(w);
    nac_nacfile_reader_destroy(r);
    return rc ? -1 : 0;
}

/* Decodes a committed version-1 file and the same packets rewritten as version 2 with the CLI:
 * both exit 0 and give the same samples. The neural one only with the model that made it. */
TEST(packet_version1_files_decode)
{
    static const char *names[] = {"v1_12kbps", "v1_0.7kbps", "v1_3kbps"};
    int checked = 0;
    for (int k = 0; k < 3; k++) {
        char v1[512], v2[512], w1[512], w2[512];
        snprintf(v1, sizeof v1, "%s/%s.nac", nac_test_fixture_dir(), names[k]);
        snprintf(v2, sizeof v2, "%s/%s_as_v2.nac", nac_test_tmp_dir(), names[k]);
        snprintf(w1, sizeof w1, "%s/%s.wav", nac_test_tmp_dir(), names[k]);
        snprintf(w2, sizeof w2, "%s/%s_as_v2.wav", nac_test_tmp_dir(), names[k]);
        uint8_t *b = NULL;
        long n = slurp(v1, &b);
        CHECKF(n > 0, "%s missing", v1);
        CHECK(b[3] == 1);
        nac_nacfile_reader *r = NULL;
        int rc = nac_nacfile_reader_create_mem(&r, b, (size_t)n, NULL);
        uint32_t hash = rc == NAC_OK ? nac_nacfile_reader_info(r)->model_hash : 0;
        int mode = rc == NAC_OK ? nac_nacfile_reader_info(r)->mode : -1;
        nac_nacfile_reader_destroy(r);
        CHECK(rc == NAC_OK);
        if (mode == NAC_MODE_NEURAL) { /* the built-in model changes as it trains: decode with its own only */
            nac_model *m = NULL;
            nac_model_info mi = {0};
            if (nac_model_load_default(&m, NULL) == NAC_OK)
                nac_model_get_info(m, &mi);
            nac_model_destroy(m);
            if (mi.hash != hash) {
                CHECK(nac_test_sh("%s info %s >/dev/null", nac_test_bin(), v1) == 0);
                free(b);
                continue;
            }
        }
        rc = transcode(v2, b, (size_t)n, 2);
        free(b);
        CHECK(rc == 0);
        CHECKF(nac_test_sh("%s decode -q %s %s", nac_test_bin(), v1, w1) == 0, "%s", names[k]);
        CHECKF(nac_test_sh("%s decode -q %s %s", nac_test_bin(), v2, w2) == 0, "%s", names[k]);
        CHECK(nac_test_sh("%s info %s >/dev/null", nac_test_bin(), v1) == 0);
        float *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        CHECK(nac_audio_read_all(&x, &nx, NULL, w1, NULL) == NAC_OK);
        CHECK(nac_audio_read_all(&y, &ny, NULL, w2, NULL) == NAC_OK);
        int same = nx == ny && nx == 12800 && memcmp(x, y, nx * sizeof *x) == 0;
        free(x);
        free(y);
        CHECKF(same, "%s: %zu and %zu samples", names[k], nx, ny);
        checked++;
    }
    CHECK(checked >= 2);
}
