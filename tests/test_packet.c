/* Tests of the packet layer (include/nac/nac.h) and the .nac files it reads and writes: packets
 * streamed with losses and damage through the public API, the CLI's exit codes on the same, VBR
 * identical to constant rate, the range coder under extreme tables, and version-1 files
 * (committed fixtures) decoding exactly as the same packets in a version-2 file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_file.h"
#include "core/range_coder.h"
#include "core/rng.h"
#include "format/nacfile.h"
#include "nac/metrics.h"
#include "nac/nac.h"
#include "packet/packet.h"
#include "test.h"

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
        long n = nac_test_read_file(v1, &b);
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

/* ---- streaming through the public API ---------------------------------------------------------- */

#define MAXP 64

typedef struct {
    int n;
    uint8_t *p[MAXP];
    size_t size[MAXP];
    nac_stream_info info;
} packets;

static void packets_free(packets *ps)
{
    for (int i = 0; i < ps->n; i++)
        free(ps->p[i]);
    ps->n = 0;
}

/* 1.5 s of the speech fixture at 16 kHz. */
static float *speech(size_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/speech_thorsten_de.flac", nac_test_fixture_dir());
    float *x = NULL;
    nac_audio_info ai;
    if (nac_audio_read_all(&x, n, &ai, path, NULL) || ai.sample_rate != 16000 || *n < 24000) {
        free(x);
        return NULL;
    }
    *n = 24000;
    return x;
}

/* Encodes x with cfg, pushing chunks of random sizes (seed; 0: all at once). */
static int encode_packets(packets *ps, const nac_model *m, const nac_packet_config *cfg, const float *x, size_t n,
                          uint64_t seed, nac_error *err)
{
    nac_packet_encoder *e = NULL;
    memset(ps, 0, sizeof *ps);
    int st = nac_packet_encoder_create(&e, m, cfg, err);
    if (st)
        return st;
    ps->info = *nac_packet_encoder_info(e);
    nac_rng rng;
    nac_rng_seed(&rng, seed);
    for (size_t i = 0; i <= n && !st;) {
        size_t k = seed ? 1 + (size_t)nac_rng_below(&rng, 3000) : n;
        if (k > n - i)
            k = n - i;
        st = i == n ? nac_packet_encoder_flush(e, err) : nac_packet_encoder_push(e, x + i, k, err);
        i += k ? k : 1;
        const uint8_t *d;
        size_t size;
        while (!st && nac_packet_encoder_next(e, &d, &size) == NAC_OK) {
            if (ps->n == MAXP || !(ps->p[ps->n] = malloc(size)))
                st = NAC_ERR_NOMEM;
            else {
                memcpy(ps->p[ps->n], d, size);
                ps->size[ps->n++] = size;
            }
        }
    }
    nac_packet_encoder_destroy(e);
    return st;
}

/* Decodes ps through the API: packets with lost[i] set are not sent (decode(NULL)), damaged[i]
 * ones get a flipped byte (the parse fails: concealed too). *y gets the PCM (malloc'd). Returns
 * the count of packets concealed, or -1. */
static int decode_packets(float **y, size_t *ny, const nac_model *m, const packets *ps, const uint8_t *lost,
                          const uint8_t *damaged, int n_stages)
{
    nac_packet_decoder *d = NULL;
    if (nac_packet_decoder_create(&d, m, &ps->info, n_stages, NULL))
        return -1;
    size_t cap = 250 * (size_t)ps->info.frame_size, total = 0, room = 0;
    float *pcm = malloc(cap * sizeof *pcm);
    *y = NULL;
    int concealed = 0, bad = !pcm;
    for (int i = 0; i < ps->n && !bad; i++) {
        uint8_t buf[70000];
        memcpy(buf, ps->p[i], ps->size[i]);
        if (damaged && damaged[i])
            buf[ps->size[i] / 2] ^= 0x24;
        nac_packet pkt;
        int st = lost && lost[i] ? NAC_ERR_CORRUPT : nac_packet_parse(&pkt, &ps->info, buf, ps->size[i], NULL);
        if (st == NAC_OK && pkt.seq != (uint32_t)i)
            bad = 1;
        concealed += st != NAC_OK;
        if (nac_packet_decoder_decode(d, st == NAC_OK ? &pkt : NULL, NULL, NULL) < 0)
            bad = 1;
        for (size_t n = 1; n > 0 && !bad;) {
            if (nac_packet_decoder_read(d, pcm, cap, &n, NULL))
                bad = 1;
            if (total + n > room) {
                room = (total + n) * 2;
                float *p = realloc(*y, room * sizeof *p);
                if (!p)
                    bad = 1;
                else
                    *y = p;
            }
            if (!bad)
                memcpy(*y + total, pcm, n * sizeof *pcm), total += n;
        }
    }
    free(pcm);
    nac_packet_decoder_destroy(d);
    *ny = total;
    return bad ? -1 : concealed;
}

TEST(packet_stream_with_losses)
{
    size_t n = 0;
    float *x = speech(&n);
    CHECK(x != NULL);
    nac_model *m = NULL;
    nac_error err = {0};
    CHECK(nac_model_load_default(&m, &err) == NAC_OK);
    nac_packet_config cfg = {.mode = NAC_MODE_NEURAL, .kbps = 3, .frames_per_packet = 5, .length = n};
    packets a, b;
    int st = encode_packets(&a, m, &cfg, x, n, 0, &err);
    int st2 = encode_packets(&b, m, &cfg, x, n, 7, &err); /* any chunking: the same bytes */
    free(x);
    CHECKF(st == NAC_OK && st2 == NAC_OK, "%s", nac_error_message(&err));
    int same = a.n == b.n;
    for (int i = 0; same && i < a.n; i++)
        same = a.size[i] == b.size[i] && memcmp(a.p[i], b.p[i], a.size[i]) == 0;
    packets_free(&b);
    CHECK(same);
    /* 1.5 s + 10 ms delay = 76 frames (the last one padded): 16 packets of 5 frames, the last of 1 */
    CHECKF(a.n == 16 && a.info.frames_per_packet == 5 && a.info.n_stages == 6, "%d packets", a.n);
    float *clean = NULL, *y = NULL;
    size_t nc = 0, ny = 0;
    CHECK(decode_packets(&clean, &nc, m, &a, NULL, NULL, 0) == 0);
    CHECK(nc == 76 * 320);
    /* random losses and damage (seeded): every packet is concealed, the length is kept, the audio
     * before the first loss is identical, the concealed stretches fade */
    nac_rng rng;
    nac_rng_seed(&rng, 3);
    uint8_t lost[MAXP] = {0}, damaged[MAXP] = {0};
    int first = a.n, want = 0;
    for (int i = 2; i < a.n - 1; i++) {
        lost[i] = nac_rng_below(&rng, 4) == 0;
        damaged[i] = !lost[i] && nac_rng_below(&rng, 5) == 0;
        if ((lost[i] || damaged[i]) && first == a.n)
            first = i;
        want += lost[i] || damaged[i];
    }
    int got = decode_packets(&y, &ny, m, &a, lost, damaged, 0);
    CHECKF(got == want && want >= 2, "%d concealed, %d lost or damaged", got, want);
    CHECK(ny == nc);
    size_t cut = (size_t)first * 5 * 320, k = 0;
    while (k < ny && y[k] == clean[k])
        k++;
    CHECKF(k == cut, "identical up to %zu, first loss at %zu", k, cut);
    /* a lost packet's last frame is quieter than the speech it replaces (fades x0.7 per frame) */
    double e_loss = 0, e_clean = 0;
    for (size_t i = cut + 4 * 320; i < cut + 5 * 320; i++)
        e_loss += (double)y[i] * y[i], e_clean += (double)clean[i] * clean[i];
    CHECKF(e_loss < e_clean, "energy %g against %g", e_loss, e_clean);
    free(y);
    /* fewer stages at the decoder: a lower rate, same length */
    CHECK(decode_packets(&y, &ny, m, &a, NULL, NULL, 3) == 0 && ny == nc);
    free(y);
    free(clean);

    /* the file API: write, read back, and the CLI on it, whole and with two packets left out */
    char path[512], path2[512], wav[512];
    snprintf(path, sizeof path, "%s/api.nac", nac_test_tmp_dir());
    snprintf(path2, sizeof path2, "%s/api_lost.nac", nac_test_tmp_dir());
    snprintf(wav, sizeof wav, "%s/api.wav", nac_test_tmp_dir());
    for (int variant = 0; variant < 2; variant++) {
        nac_file_writer *w = NULL;
        st = nac_file_writer_open(&w, variant ? path2 : path, &a.info, &err);
        for (int i = 0; i < a.n && !st; i++)
            if (!variant || (i != 4 && i != 9))
                st = nac_file_writer_write(w, a.p[i], a.size[i], &err);
        int cl = nac_file_writer_close(w, &err);
        CHECKF(st == NAC_OK && cl == NAC_OK, "%s", nac_error_message(&err));
    }
    nac_file_reader *r = NULL;
    CHECK(nac_file_reader_open(&r, path, &err) == NAC_OK);
    int info_ok = memcmp(nac_file_reader_info(r), &a.info, sizeof a.info) == 0, k2 = 0, ok = 1;
    nac_packet p;
    while ((st = nac_file_reader_next(r, &p, &err)) == NAC_OK) {
        nac_packet q;
        ok = ok && nac_packet_parse(&q, &a.info, a.p[k2], a.size[k2], NULL) == NAC_OK && q.size == p.size &&
             memcmp(q.data, p.data, p.size) == 0 && p.seq == (uint32_t)k2;
        k2++;
    }
    uint64_t end = nac_file_reader_offset(r);
    nac_file_reader_close(r);
    CHECK(info_ok && ok && st == NAC_END && k2 == a.n);
    size_t bytes = 9;
    for (int i = 0; i < a.n; i++)
        bytes += a.size[i];
    CHECK(end > bytes && end < bytes + 40);
    CHECK(nac_test_sh("%s decode -q %s %s", nac_test_bin(), path, wav) == 0);
    CHECK(nac_test_sh("%s decode -q %s %s 2>/dev/null", nac_test_bin(), path2, wav) == 3);
    CHECK(nac_test_sh("%s info %s >/dev/null", nac_test_bin(), path2) == 3);
    /* a packet that is not one is refused by the writer */
    nac_file_writer *w = NULL;
    CHECK(nac_file_writer_open(&w, path, &a.info, &err) == NAC_OK);
    a.p[0][3] ^= 1;
    CHECK(nac_file_writer_write(w, a.p[0], a.size[0], &err) == NAC_ERR_ARG);
    CHECK(nac_file_writer_write(w, a.p[1], a.size[1] - 1, &err) == NAC_ERR_ARG);
    nac_file_writer_close(w, NULL);
    packets_free(&a);
    nac_model_destroy(m);
}

TEST(packet_transform_mode_and_errors)
{
    size_t n = 0;
    float *x = speech(&n);
    CHECK(x != NULL);
    nac_error err = {0};
    nac_packet_config cfg = {.mode = NAC_MODE_TRANSFORM, .kbps = 12, .frames_per_packet = 10};
    packets a;
    CHECK(encode_packets(&a, NULL, &cfg, x, n, 5, &err) == NAC_OK);
    /* 1.5 s: 76 frames with the delay: 8 packets of 10, the last of 6; each exactly the rate's size
     * (300 bytes) and 8 bytes of framing */
    CHECKF(a.n == 8 && a.size[0] == 300 + 8 && a.info.mode == NAC_MODE_TRANSFORM, "%d packets, %zu bytes", a.n,
           a.size[0]);
    float *y = NULL, *z = NULL;
    size_t ny = 0, nz = 0;
    uint8_t lost[MAXP] = {0};
    lost[3] = 1;
    CHECK(decode_packets(&y, &ny, NULL, &a, NULL, NULL, 0) == 0 && ny == 76 * 320);
    CHECK(decode_packets(&z, &nz, NULL, &a, lost, NULL, 0) == 1 && nz == ny);
    size_t k = 0;
    while (k < ny && y[k] == z[k])
        k++;
    CHECK(k == 3 * 10 * 320);
    free(y), free(z), free(x);
    /* what the API refuses */
    nac_packet_encoder *e = NULL;
    nac_packet_config bad = cfg;
    bad.frames_per_packet = 251;
    CHECK(nac_packet_encoder_create(&e, NULL, &bad, &err) == NAC_ERR_ARG && e == NULL);
    bad = cfg;
    bad.mode = NAC_MODE_NEURAL;
    CHECK(nac_packet_encoder_create(&e, NULL, &bad, &err) == NAC_ERR_ARG); /* no model */
    bad.mode = NAC_MODE_VOCODER;
    CHECK(nac_packet_encoder_create(&e, NULL, &bad, &err) == NAC_ERR_ARG);
    nac_packet_decoder *d = NULL;
    nac_stream_info info = a.info;
    info.model_hash ^= 1;
    CHECK(nac_packet_decoder_create(&d, NULL, &info, 0, &err) == NAC_ERR_UNSUPPORTED && d == NULL);
    info = a.info;
    info.mode = NAC_MODE_NEURAL;
    CHECK(nac_packet_decoder_create(&d, NULL, &info, 0, &err) == NAC_ERR_ARG);
    nac_model *m = NULL;
    CHECK(nac_model_load_default(&m, &err) == NAC_OK);
    CHECK(nac_packet_decoder_create(&d, m, &info, 0, &err) == NAC_ERR_MODEL); /* the transform's hash */
    nac_model_destroy(m);
    /* a crafted transform payload with a valid CRC: concealed, reported, no crash */
    CHECK(nac_packet_decoder_create(&d, NULL, &a.info, 0, &err) == NAC_OK);
    uint8_t junk[40] = {255, 3, 1, 2, 3}, framed[64];
    size_t fn = nac_nacfile_packet_frame(framed, 2, 0, junk, sizeof junk);
    nac_packet p;
    size_t frames = 0, got = 0;
    float pcm[320 * 10];
    CHECK(nac_packet_parse(&p, &a.info, framed, fn, &err) == NAC_OK);
    CHECK(nac_packet_decoder_decode(d, &p, &frames, &err) == NAC_ERR_CORRUPT && frames == 10);
    CHECK(nac_packet_decoder_read(d, pcm, 320 * 10, &got, &err) == NAC_OK && got == 3200);
    CHECK(nac_packet_decoder_read(d, pcm, 100, &got, &err) == NAC_ERR_ARG);
    nac_packet_decoder_destroy(d);
    packets_free(&a);
}

/* ---- range coder and VBR ----------------------------------------------------------------------- */

/* Round trip of symbols under a table of n entries summing to exactly NAC_RC_MAX_TOTAL, with the
 * symbols chosen by `how`: 0 uniformly (so improbable ones often), 1 always the rarest, 2 always
 * the likeliest. Returns the first symbol that differs, or -1; *bytes gets the stream's size. */
static int rc_round_trip(const uint32_t *f, int n, const int *sym, int count, size_t *bytes)
{
    uint32_t cum[1025];
    cum[0] = 0;
    for (int i = 0; i < n; i++)
        cum[i + 1] = cum[i] + f[i];
    size_t cap = (size_t)count * 3 + 16;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return 0;
    nac_rc_encoder e;
    nac_rc_encoder_init(&e, buf, cap);
    for (int k = 0; k < count; k++)
        nac_rc_encode(&e, cum[sym[k]], f[sym[k]], NAC_RC_MAX_TOTAL);
    *bytes = nac_rc_encoder_finish(&e);
    nac_rc_decoder d;
    nac_rc_decoder_init(&d, buf, *bytes);
    int bad = *bytes > cap ? 0 : -1;
    for (int k = 0; k < count && bad < 0; k++) {
        uint32_t v = nac_rc_decode_freq(&d, NAC_RC_MAX_TOTAL);
        int s = 0;
        while (cum[s + 1] <= v)
            s++;
        nac_rc_decode_update(&d, cum[s], f[s]);
        if (s != sym[k])
            bad = k;
    }
    free(buf);
    return bad;
}

TEST(range_coder_extreme_tables)
{
    enum { COUNT = 20000 };
    int *sym = malloc(COUNT * sizeof *sym);
    uint32_t f[1024];
    CHECK(sym != NULL);
    nac_rng rng;
    nac_rng_seed(&rng, 21);
    for (int trial = 0; trial < 9; trial++) {
        /* trials 0-2: one symbol holds 65536 - (n - 1), the rest 1 each; 3-5: random tables of 1024
         * entries (as the VBR tables) with a few huge ones; 6-8: two symbols, 65535 and 1 */
        int n = trial < 3 ? 2 + (int)nac_rng_below(&rng, 1000) : trial < 6 ? 1024 : 2;
        uint32_t total = 0;
        for (int i = 0; i < n; i++)
            f[i] = trial < 3 ? 1 : trial < 6 ? 1 + (uint32_t)nac_rng_below(&rng, i % 97 == 0 ? 2000 : 40) : 1;
        for (int i = 0; i < n; i++)
            total += f[i];
        int big = n == 2 ? 0 : (int)nac_rng_below(&rng, (uint64_t)n);
        f[big] += NAC_RC_MAX_TOTAL - total;
        int rare = big == n - 1 ? n - 2 : n - 1; /* not symbol 0: its bytes would be all zeros, stored as none */
        for (int how = 0; how < 3; how++) {
            for (int k = 0; k < COUNT; k++)
                sym[k] = how == 0 ? (int)nac_rng_below(&rng, (uint64_t)n) : how == 1 ? rare : big;
            size_t bytes = 0;
            int bad = rc_round_trip(f, n, sym, COUNT, &bytes);
            CHECKF(bad < 0, "trial %d, choice %d: symbol %d differs", trial, how, bad);
            /* the size is the information: -log2(f / 65536) bits per symbol (16 for a frequency of 1) */
            if (how > 0) {
                double want = COUNT * log2(65536.0 / f[sym[0]]) / 8;
                CHECKF(fabs((double)bytes - want) <= 8 + 0.001 * want, "trial %d, choice %d: %zu bytes, information %.1f",
                       trial, how, bytes, want);
            }
        }
    }
    free(sym);
}

TEST(packet_vbr_round_trip_and_identity)
{
    /* the payload coder on random codes, including every code 0 and 1023, across the table's end */
    int S = nac_vbr_table_stages() + 2;
    CHECK(nac_vbr_table_stages() >= 24 && nac_vbr_table_hash() != 0);
    enum { F = 40 };
    int32_t *codes = malloc((size_t)F * (size_t)S * sizeof *codes), *back = malloc((size_t)F * (size_t)S * sizeof *back);
    uint8_t *buf = malloc((size_t)F * (size_t)S * 2 + 16);
    CHECK(codes && back && buf);
    nac_rng rng;
    nac_rng_seed(&rng, 9);
    for (int trial = 0; trial < 3; trial++) {
        for (int i = 0; i < F * S; i++)
            codes[i] = trial == 0 ? (int32_t)nac_rng_below(&rng, 1024) : trial == 1 ? 0 : 1023;
        size_t size = 0, got = 0;
        nac_error err = {0};
        size_t fpp = trial == 2 ? 0 : F; /* full packets and a stated frame count */
        CHECK(nac_vbr_encode(buf, (size_t)F * (size_t)S * 2 + 16, &size, codes, F, fpp, S, NULL, &err) == NAC_OK);
        int dst = nac_vbr_decode(back, F, &got, buf, size, fpp, S, NULL, &err);
        CHECKF(dst == NAC_OK && got == F, "trial %d: %s", trial, nac_error_message(&err));
        CHECKF(memcmp(codes, back, (size_t)F * (size_t)S * sizeof *codes) == 0, "trial %d", trial);
        /* too many frames */
        CHECK(nac_vbr_decode(back, F - 1, &got, buf, size, fpp, S, NULL, &err) == NAC_ERR_CORRUPT);
    }
    codes[5] = 1024;
    size_t size;
    CHECK(nac_vbr_encode(buf, (size_t)F * (size_t)S * 2 + 16, &size, codes, F, F, S, NULL, NULL) == NAC_ERR_ARG);
    free(codes), free(back), free(buf);

    /* a stream coded at a variable rate decodes to exactly the constant-rate samples; a damaged VBR
     * packet is caught by its CRC and concealed like a constant-rate one */
    size_t n = 0;
    float *x = speech(&n);
    CHECK(x != NULL);
    nac_model *m = NULL;
    CHECK(nac_model_load_default(&m, NULL) == NAC_OK);
    nac_packet_config cfg = {.mode = NAC_MODE_NEURAL, .kbps = 3, .frames_per_packet = 10};
    packets cbr, vbr;
    CHECK(encode_packets(&cbr, m, &cfg, x, n, 0, NULL) == NAC_OK);
    cfg.vbr = NAC_VBR_LOSSLESS;
    cfg.kbps = 3 * nac_vbr_expected_bits(6) / 60 + 0.01; /* the target that selects the same 6 stages */
    CHECK(encode_packets(&vbr, m, &cfg, x, n, 3, NULL) == NAC_OK);
    free(x);
    CHECKF(vbr.info.n_stages == 6 && vbr.info.vbr_table == nac_vbr_table_hash() && vbr.n == cbr.n, "%d stages",
           vbr.info.n_stages);
    float *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    uint8_t damaged[MAXP] = {0};
    CHECK(decode_packets(&a, &na, m, &cbr, NULL, NULL, 0) == 0);
    CHECK(decode_packets(&b, &nb, m, &vbr, NULL, NULL, 0) == 0);
    CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0);
    free(b);
    damaged[2] = 1;
    CHECK(decode_packets(&b, &nb, m, &vbr, NULL, damaged, 0) == 1 && nb == na);
    size_t k = 0;
    while (k < nb && a[k] == b[k])
        k++;
    CHECK(k == 2 * 10 * 320);
    free(b);
    /* fewer stages at the decoder work on VBR too */
    CHECK(decode_packets(&b, &nb, m, &vbr, NULL, NULL, 3) == 0 && nb == na);
    free(a), free(b);
    /* a crafted VBR payload with a valid CRC (not full, then claims about 60000 frames): concealed
     * and reported */
    nac_packet_decoder *d = NULL;
    CHECK(nac_packet_decoder_create(&d, m, &vbr.info, 0, NULL) == NAC_OK);
    uint8_t junk[8] = {0x75, 0x30, 0x7F, 0xFF, 0, 1, 2, 3}, framed[32];
    size_t fn = nac_nacfile_packet_frame(framed, 2, 0, junk, sizeof junk), frames = 0;
    nac_packet p;
    nac_error err = {0};
    CHECK(nac_packet_parse(&p, &vbr.info, framed, fn, &err) == NAC_OK);
    int st = nac_packet_decoder_decode(d, &p, &frames, &err);
    nac_packet_decoder_destroy(d);
    CHECKF(st == NAC_ERR_CORRUPT && frames == 10, "%d: %s", st, nac_error_message(&err));
    packets_free(&cbr);
    packets_free(&vbr);
    nac_model_destroy(m);
}

/* Adaptive stage counts (NAC_VBR_ADAPTIVE): every frame states how many stages it codes, one of
 * the stream's counts; the frames really differ; the stream is the same for
 * any chunking of the input; the packet decoder gives the audio of decoding each frame with its
 * own count; the rate holds its target; and at 4 kbps the sound is nearer the 6 kbps sound than
 * the 3 kbps one. */
TEST(packet_vbr_adaptive_stages)
{
    size_t n = 0;
    float *x = speech(&n);
    CHECK(x != NULL);
    nac_model *m = NULL;
    CHECK(nac_model_load_default(&m, NULL) == NAC_OK);
    nac_packet_config cfg = {.mode = NAC_MODE_NEURAL, .kbps = 4, .frames_per_packet = 25, .vbr = NAC_VBR_ADAPTIVE};
    packets a, b, c3, c6;
    CHECK(encode_packets(&a, m, &cfg, x, n, 0, NULL) == NAC_OK);
    CHECK(encode_packets(&b, m, &cfg, x, n, 7, NULL) == NAC_OK);
    int counts[NAC_MAX_STAGES], k = nac_stream_stage_counts(&a.info, counts);
    CHECKF(k == 3 && counts[0] == 3 && counts[1] == 6 && counts[2] == 12 && a.info.n_stages == 12 &&
               a.info.vbr_table == nac_vbr_adaptive_hash() && a.info.vbr_table != nac_vbr_table_hash(),
           "%d counts, %d stages", k, a.info.n_stages);
    int same = a.n == b.n;
    size_t bytes = 0;
    for (int i = 0; same && i < a.n; i++)
        same = a.size[i] == b.size[i] && !memcmp(a.p[i], b.p[i], a.size[i]), bytes += a.size[i];
    CHECK(same);
    /* the frames' counts, read back from the payloads */
    int used[13] = {0};
    static int32_t codes[MAXP * 25 * 12];
    static uint8_t fs[MAXP * 25];
    size_t frames_all = 0;
    for (int i = 0; i < a.n; i++) {
        nac_packet p;
        size_t F = 0;
        CHECK(nac_packet_parse(&p, &a.info, a.p[i], a.size[i], NULL) == NAC_OK);
        CHECK(nac_vbr_decode(codes + frames_all * 12, 25, &F, p.data, p.size, 25, 12, fs + frames_all, NULL) == NAC_OK);
        for (size_t f = frames_all; f < frames_all + F; f++)
            used[fs[f] <= 12 ? fs[f] : 0]++;
        frames_all += F;
    }
    CHECKF(used[0] == 0 && (used[3] > 0) + (used[6] > 0) + (used[12] > 0) >= 2 &&
               used[3] + used[6] + used[12] == (int)frames_all,
           "frames with 3 / 6 / 12 stages: %d / %d / %d of %zu", used[3], used[6], used[12], frames_all);
    /* the rate: packet bytes over the audio, against the target (the first second has no history) */
    double kbps = bytes * 8.0 / ((double)n / 16000) / 1000;
    CHECKF(kbps > 0.8 * cfg.kbps && kbps < 1.2 * cfg.kbps, "%.3f kbps for a target of 4", kbps);
    /* quality between the constant rates around it */
    nac_packet_config cbr = {.mode = NAC_MODE_NEURAL, .kbps = 3, .frames_per_packet = 25};
    CHECK(encode_packets(&c3, m, &cbr, x, n, 0, NULL) == NAC_OK);
    cbr.kbps = 6;
    CHECK(encode_packets(&c6, m, &cbr, x, n, 0, NULL) == NAC_OK);
    float *ya = NULL, *y3 = NULL, *y6 = NULL, *yr = NULL;
    size_t na = 0, n3 = 0, n6 = 0, nr = 0;
    CHECK(decode_packets(&ya, &na, m, &a, NULL, NULL, 0) == 0);
    CHECK(decode_packets(&y3, &n3, m, &c3, NULL, NULL, 0) == 0);
    CHECK(decode_packets(&y6, &n6, m, &c6, NULL, NULL, 0) == 0);
    CHECK(na == n6 && n3 == n6 && na > 20000 && na == frames_all * 320);
    /* the packet decoder's audio is each frame decoded with its own count, one frame at a time */
    nac_decoder *dec = NULL;
    float *yf = malloc(na * sizeof *yf);
    CHECK(yf && nac_decoder_create(&dec, m, NULL) == NAC_OK);
    for (size_t f = 0; f < frames_all; f++)
        CHECK(nac_decoder_decode(dec, yf + f * 320, codes + f * 12, NULL, 1, fs[f], NULL) == NAC_OK);
    uint8_t zero[2] = {6, 0};
    int refused = nac_decoder_decode_counts(dec, yf, codes, 12, zero, 2, NULL) == NAC_ERR_ARG &&
                  nac_decoder_decode_counts(dec, yf, codes, 12, fs, 0, NULL) == NAC_OK;
    nac_decoder_destroy(dec);
    same = !memcmp(yf, ya, na * sizeof *ya);
    free(yf);
    CHECK(same && refused);
    double m3 = 0, m6 = 0;
    CHECK(nac_mel_distance(&m3, y6, y3, na, 16000, NULL) == NAC_OK);
    CHECK(nac_mel_distance(&m6, y6, ya, na, 16000, NULL) == NAC_OK);
    CHECKF(m6 < m3, "mel distance to the 6 kbps sound: adaptive 4 kbps %.4f, 3 kbps %.4f", m6, m3);
    /* fewer stages at the decoder still decode, to the length */
    CHECK(decode_packets(&yr, &nr, m, &a, NULL, NULL, 6) == 0 && nr == na);
    snprintf(t_->why, sizeof t_->why, "%.3f kbps for 4; frames 3/6/12: %d/%d/%d; mel to 6 kbps %.4f (3 kbps %.4f)",
             kbps, used[3], used[6], used[12], m6, m3);
    free(ya), free(y3), free(y6), free(yr), free(x);
    /* a stream with adaptive stage counts must state its frames per packet */
    nac_stream_info bad = a.info;
    bad.frames_per_packet = 0;
    nac_packet_decoder *d = NULL;
    CHECK(nac_packet_decoder_create(&d, m, &bad, 0, NULL) == NAC_ERR_FORMAT && !d);
    packets_free(&a), packets_free(&b), packets_free(&c3), packets_free(&c6);
    nac_model_destroy(m);
}

/* The vocoder mode decodes through the same loop as the others (issue 15): a lost packet and a
 * damaged one are each one warning line, concealed in place, exit 3, the length kept. */
TEST(packet_vocoder_damage_through_the_cli)
{
    size_t n = 0;
    float *x = speech(&n);
    CHECK(x != NULL);
    char wav[512], nac[512], cut[512], out[512], errf[512];
    snprintf(wav, sizeof wav, "%s/voc_in.wav", nac_test_tmp_dir());
    snprintf(nac, sizeof nac, "%s/voc.nac", nac_test_tmp_dir());
    snprintf(cut, sizeof cut, "%s/voc_cut.nac", nac_test_tmp_dir());
    snprintf(out, sizeof out, "%s/voc_out.wav", nac_test_tmp_dir());
    snprintf(errf, sizeof errf, "%s/voc.err", nac_test_tmp_dir());
    int rc = nac_audio_write_all(wav, x, n, 16000, NULL);
    free(x);
    CHECK(rc == NAC_OK);
    CHECK(nac_test_sh("%s encode -q %s %s --kbps 0.7 --packet-frames 5", nac_test_bin(), wav, nac) == 0);
    uint8_t *b = NULL;
    long size = nac_test_read_file(nac, &b);
    CHECK(size > 0);
    nac_file_reader *r = NULL;
    nac_file_writer *w = NULL;
    CHECK(nac_file_reader_open_mem(&r, b, (size_t)size, NULL) == NAC_OK);
    nac_stream_info info = *nac_file_reader_info(r);
    CHECK(info.mode == NAC_MODE_VOCODER && info.version == 2);
    CHECK(nac_file_writer_open(&w, cut, &info, NULL) == NAC_OK);
    nac_packet p;
    int k = 0, ok = 1;
    uint64_t at[64] = {0};
    uint8_t framed[1024];
    while (k < 64 && nac_file_reader_next(r, &p, NULL) == NAC_OK) {
        at[k] = p.offset;
        size_t fn = nac_nacfile_packet_frame(framed, 2, p.seq, p.data, p.size);
        if (k != 3) /* lost */
            ok = ok && nac_file_writer_write(w, framed, fn, NULL) == NAC_OK;
        k++;
    }
    nac_file_reader_close(r);
    free(b);
    CHECK(ok && k >= 8);
    CHECK(nac_file_writer_close(w, NULL) == NAC_OK);
    /* packet 6 damaged: it sits where it was, less the packet left out */
    size = nac_test_read_file(cut, &b);
    CHECK(size > 0);
    b[at[6] - (at[4] - at[3]) + 6] ^= 0x40;
    FILE *f = fopen(cut, "wb");
    CHECK(f != NULL);
    ok = fwrite(b, 1, (size_t)size, f) == (size_t)size;
    free(b);
    CHECK(fclose(f) == 0 && ok);
    CHECK(nac_test_sh("%s decode -q %s %s", nac_test_bin(), nac, out) == 0);
    float *y = NULL, *z = NULL;
    size_t ny = 0, nz = 0;
    CHECK(nac_audio_read_all(&y, &ny, NULL, out, NULL) == NAC_OK);
    CHECK(nac_test_sh("%s decode -q %s %s 2>%s", nac_test_bin(), cut, out, errf) == 3);
    CHECK(nac_audio_read_all(&z, &nz, NULL, out, NULL) == NAC_OK);
    int same_len = ny == nz && ny == n;
    free(y), free(z);
    CHECKF(same_len, "%zu and %zu samples, want %zu", ny, nz, n);
    uint8_t *msg = NULL;
    long len = nac_test_read_file(errf, &msg);
    int lines = 0;
    for (long i = 0; i < len; i++)
        lines += msg[i] == '\n';
    free(msg);
    CHECKF(lines == 2, "%d warning lines", lines);
    CHECK(nac_test_sh("%s info %s >/dev/null", nac_test_bin(), cut) == 3);
}
