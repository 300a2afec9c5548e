/* Crafted inputs (issue 15): .nac files whose checksums are valid but whose packets are lost,
 * swapped, repeated or numbered to cost hours; a run of sync words; model files that declare huge
 * networks; inputs encode must refuse or condition. Each test builds its input and asserts what
 * nac decode, nac info, nac encode and the loaders do with it. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/audio_file.h"
#include "core/crc32.h"
#include "dsp/biquad.h"
#include "format/nacfile.h"
#include "format/weights.h"
#include "model/codec_config.h"
#include "model/disc.h"
#include "nac/enhance.h"
#include "nac/nac.h"
#include "nac/vqvae.h"

#define CLIP_S 3 /* seconds of the speech fixture the CLI tests code */
#define PKT_FRAMES 10

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const char *tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", nac_test_tmp_dir(), name);
    return buf;
}

static long read_file(const char *path, uint8_t **out) { return nac_test_read_file(path, out); }

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Lines in a file; *well_formed: it ends with a newline and holds exactly one "nac decode:"
 * message per line, at the line's start (no message runs into the next). */
static int count_lines(const char *path, int *well_formed)
{
    uint8_t *b = NULL;
    long n = read_file(path, &b);
    int lines = 0, messages = 0, at_start = 0;
    for (long i = 0; i < n; i++) {
        lines += b[i] == '\n';
        if (i + 11 <= n && !memcmp(b + i, "nac decode:", 11)) {
            messages++;
            at_start += i == 0 || b[i - 1] == '\n';
        }
    }
    *well_formed = n >= 0 && (n == 0 || b[n - 1] == '\n') && messages == lines && at_start == lines;
    free(b);
    return lines;
}

/* ---- a clean stream to damage ------------------------------------------------------------------ */

typedef struct {
    nac_nacfile_info info;
    int n;             /* packets */
    uint32_t seq[64];
    uint8_t *data[64];
    size_t size[64];
} stream;

static void stream_free(stream *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->data[i]);
    s->n = 0;
}

/* Encodes CLIP_S seconds of the speech fixture with the CLI into clean.nac, decodes it to
 * clean.wav, and splits the stream into packets. Returns 0 or -1. */
static int make_clean(stream *s)
{
    char fix[512], wav[512], nac[512], out[512];
    snprintf(fix, sizeof fix, "%s/speech_thorsten_de.flac", nac_test_fixture_dir());
    float *x = NULL;
    size_t n = 0;
    nac_audio_info ai;
    if (nac_audio_read_all(&x, &n, &ai, fix, NULL) || n < (size_t)CLIP_S * (size_t)ai.sample_rate)
        return -1;
    int rc = nac_audio_write_all(tmp_path(wav, sizeof wav, "clip.wav"), x, (size_t)CLIP_S * (size_t)ai.sample_rate,
                                 ai.sample_rate, NULL);
    free(x);
    if (rc || nac_test_sh("%s encode -q %s %s --packet-frames %d", nac_test_bin(), wav,
                          tmp_path(nac, sizeof nac, "clean.nac"), PKT_FRAMES) != 0 ||
        nac_test_sh("%s decode -q %s %s", nac_test_bin(), nac, tmp_path(out, sizeof out, "clean.wav")) != 0)
        return -1;
    uint8_t *b = NULL;
    long size = read_file(nac, &b);
    nac_nacfile_reader *r = NULL;
    memset(s, 0, sizeof *s);
    if (size < 0 || nac_nacfile_reader_create_mem(&r, b, (size_t)size, NULL)) {
        free(b);
        return -1;
    }
    s->info = *nac_nacfile_reader_info(r);
    nac_nacfile_packet p;
    while (s->n < 64 && nac_nacfile_reader_next(r, &p, NULL) == NAC_OK) {
        s->seq[s->n] = p.seq;
        s->size[s->n] = p.size;
        s->data[s->n] = malloc(p.size + 1);
        memcpy(s->data[s->n], p.data, p.size);
        s->n++;
    }
    nac_nacfile_reader_destroy(r);
    free(b);
    return s->n >= 10 ? 0 : -1;
}

/* Writes the packets order[0..n-1] of s (indices; seqs[k] >= 0 overrides the sequence number) as
 * a valid .nac file (every CRC made by the writer) with metadata info. */
static int write_variant(const char *path, const stream *s, const nac_nacfile_info *info, const int *order,
                         const long long *seqs, int n)
{
    nac_nacfile_writer *w = NULL;
    if (nac_nacfile_writer_create_mem(&w, info, NULL))
        return -1;
    for (int k = 0; k < n; k++) {
        int i = order[k];
        uint32_t seq = seqs && seqs[k] >= 0 ? (uint32_t)seqs[k] : s->seq[i];
        if (nac_nacfile_writer_write(w, seq, s->data[i], s->size[i], NULL)) {
            nac_nacfile_writer_destroy(w);
            return -1;
        }
    }
    const uint8_t *b;
    size_t size;
    nac_nacfile_writer_buffer(w, &b, &size);
    int rc = write_file(path, b, size);
    nac_nacfile_writer_destroy(w);
    return rc;
}

typedef struct {
    int decode_rc, info_rc, warnings, well_formed;
    size_t samples;    /* decoded */
    size_t same_until; /* first sample where the output differs from clean.wav (samples if none) */
    double seconds;    /* decode wall time */
} outcome;

static int run_variant(const char *path, outcome *o)
{
    char out[512], errf[512], clean[512];
    tmp_path(out, sizeof out, "v.wav");
    tmp_path(errf, sizeof errf, "v.err");
    remove(out);
    double t0 = now();
    o->decode_rc = nac_test_sh("%s decode -q %s %s 2>%s", nac_test_bin(), path, out, errf);
    o->seconds = now() - t0;
    o->warnings = count_lines(errf, &o->well_formed);
    o->info_rc = nac_test_sh("%s info %s >/dev/null 2>&1", nac_test_bin(), path);
    float *y = NULL, *c = NULL;
    size_t ny = 0, nc = 0;
    o->samples = o->same_until = 0;
    if (nac_audio_read_all(&y, &ny, NULL, out, NULL) ||
        nac_audio_read_all(&c, &nc, NULL, tmp_path(clean, sizeof clean, "clean.wav"), NULL)) {
        free(y);
        return -1;
    }
    o->samples = ny;
    size_t i = 0;
    while (i < ny && i < nc && y[i] == c[i])
        i++;
    o->same_until = i;
    free(y);
    free(c);
    return 0;
}

/* ---- packets lost, swapped, repeated, going backwards ------------------------------------------ */

TEST(robust_nac_lost_swapped_repeated_packets)
{
    stream s;
    CHECK(make_clean(&s) == 0);
    char path[512], clean[512];
    tmp_path(path, sizeof path, "v.nac");
    size_t total = 0;
    {
        float *c = NULL;
        CHECK(nac_audio_read_all(&c, &total, NULL, tmp_path(clean, sizeof clean, "clean.wav"), NULL) == NAC_OK);
        free(c);
        CHECK(nac_test_sh("%s info %s/clean.nac >/dev/null", nac_test_bin(), nac_test_tmp_dir()) == 0);
    }
    size_t per_packet = (size_t)PKT_FRAMES * s.info.frame_size;
    const int k = 5; /* the damaged position */
    static const struct {
        const char *name;
        int warnings;
        int identical; /* output equal to the clean decode (dropped or reordered, nothing concealed) */
    } cases[] = {{"removed", 1, 0}, {"swapped", 1, 1}, {"repeated x3", 1, 1}, {"backwards", 1, 1}};
    char report[256] = "";
    for (int c = 0; c < 4; c++) {
        int order[80], n = 0;
        for (int i = 0; i < s.n; i++) {
            if (c == 0 && i == k)
                continue; /* removed */
            if (c == 1 && i == k) {
                order[n++] = k + 1, order[n++] = k, i++; /* swapped */
                continue;
            }
            order[n++] = i;
            if (c == 2 && i == k)
                order[n++] = k, order[n++] = k; /* three times in all */
            if (c == 3 && i == k)
                order[n++] = k - 2, order[n++] = k - 1, order[n++] = k; /* back to k - 2, then on */
        }
        CHECK(write_variant(path, &s, &s.info, order, NULL, n) == 0);
        outcome o;
        CHECK(run_variant(path, &o) == 0);
        CHECKF(o.decode_rc == 3, "%s: decode exit %d, want 3", cases[c].name, o.decode_rc);
        CHECKF(o.info_rc == 3, "%s: info exit %d, want 3 (like decode)", cases[c].name, o.info_rc);
        CHECKF(o.warnings == cases[c].warnings && o.well_formed, "%s: %d warning lines (well formed %d), want %d",
               cases[c].name, o.warnings, o.well_formed, cases[c].warnings);
        CHECKF(o.samples == total, "%s: %zu samples, the clean decode has %zu", cases[c].name, o.samples, total);
        if (cases[c].identical)
            CHECKF(o.same_until == total, "%s: differs from the clean decode at sample %zu", cases[c].name,
                   o.same_until);
        else /* nothing before the damage changes; the damaged packet's audio is concealed */
            CHECKF(o.same_until >= (size_t)k * per_packet - s.info.delay && o.same_until < total,
                   "%s: output differs from the clean decode at sample %zu (damage at %zu)", cases[c].name,
                   o.same_until, (size_t)k * per_packet);
        size_t len = strlen(report);
        snprintf(report + len, sizeof report - len, "%s%s %.2fs", len ? ", " : "", cases[c].name, o.seconds);
    }
    stream_free(&s);
    snprintf(t_->why, sizeof t_->why, "decode times: %s", report);
}

/* ---- sequence numbers that would cost hours ---------------------------------------------------- */

TEST(robust_nac_sequence_jumps)
{
    stream s;
    CHECK(make_clean(&s) == 0);
    char path[512], clean[512];
    tmp_path(path, sizeof path, "v.nac");
    size_t total = 0;
    {
        float *c = NULL;
        CHECK(nac_audio_read_all(&c, &total, NULL, tmp_path(clean, sizeof clean, "clean.wav"), NULL) == NAC_OK);
        free(c);
    }
    static const long long jumps[] = {1000, 0x7FFFFFFF, 0xFFFFFFFF};
    for (int unknown = 0; unknown < 2; unknown++) {
        nac_nacfile_info info = s.info;
        int order[64];
        if (unknown) { /* the clean stream without its length: every frame is written, padding included */
            info.length = NAC_NACFILE_LENGTH_UNKNOWN;
            for (int i = 0; i < s.n; i++)
                order[i] = i;
            outcome o;
            CHECK(write_variant(path, &s, &info, order, NULL, s.n) == 0 && run_variant(path, &o) == 0);
            CHECKF(o.decode_rc == 0 && o.samples >= total, "unknown length, clean: exit %d, %zu samples",
                   o.decode_rc, o.samples);
            total = o.samples;
        }
        for (int j = 0; j < 3; j++) {
            long long seqs[64];
            for (int i = 0; i < s.n; i++)
                order[i] = i, seqs[i] = i == 4 ? jumps[j] : -1;
            CHECK(write_variant(path, &s, &info, order, seqs, s.n) == 0);
            outcome o;
            CHECK(run_variant(path, &o) == 0);
            CHECKF(o.decode_rc == 3 && o.info_rc == 3, "seq %lld (length %s): decode exit %d, info exit %d",
                   jumps[j], unknown ? "unknown" : "known", o.decode_rc, o.info_rc);
            /* the jump is corruption: the packet is dropped and concealed when the next arrives (one report) */
            CHECKF(o.warnings == 1 && o.well_formed, "seq %lld: %d warning lines", jumps[j], o.warnings);
            CHECKF(o.samples == total, "seq %lld (length %s): %zu samples, want %zu", jumps[j],
                   unknown ? "unknown" : "known", o.samples, total);
            CHECKF(o.seconds < 20, "seq %lld: decode took %.1f s", jumps[j], o.seconds);
        }
    }
    /* a stream of unknown length that really jumps (two packets in a row agree) restarts without
     * concealing the gap; with its length known, no packet may lie beyond it. (Version 2 stores
     * sequence numbers modulo 65536, so a jump is one of at most 32767 packets: larger ones look
     * like late packets.) */
    nac_nacfile_info info = s.info;
    info.length = NAC_NACFILE_LENGTH_UNKNOWN;
    int order[64];
    long long seqs[64];
    for (int i = 0; i < s.n; i++)
        order[i] = i, seqs[i] = i >= 4 ? 20000 + i : -1;
    CHECK(write_variant(path, &s, &info, order, seqs, s.n) == 0);
    outcome o;
    CHECK(run_variant(path, &o) == 0);
    CHECKF(o.decode_rc == 3 && o.warnings == 1, "restart: decode exit %d, %d warnings", o.decode_rc, o.warnings);
    CHECKF(o.samples + (size_t)PKT_FRAMES * s.info.frame_size == total, /* the unknown-length total */
           "restart: %zu samples, want the clean %zu less the dropped packet", o.samples, total);
    stream_free(&s);
}

/* Library level: the gap bounds of docs/format.md 2.4, with the length unknown and with a stated
 * length far longer than the packets (the bounds do not trust it). */
TEST(robust_nac_gap_bounds)
{
    for (int known = 0; known < 2; known++) {
        nac_nacfile_info info;
        memset(&info, 0, sizeof info);
        info.source_rate = info.codec_rate = 16000;
        info.channels = 1;
        info.length = known ? 16000ull * 3600 * 10 : NAC_NACFILE_LENGTH_UNKNOWN; /* 10 hours */
        info.frame_size = 320;
        info.n_stages = 1;
        info.stage_bits[0] = 10;
        info.frames_per_packet = 50; /* 1 s per packet: a gap may count at most 60 */
        strcpy(info.encoder, "test");
        nac_nacfile_writer *w = NULL;
        CHECK(nac_nacfile_writer_create_mem(&w, &info, NULL) == NAC_OK);
        static const uint32_t seqs[] = {0, 1, 2, 63, 125, 126, 127, 200, 5000000};
        uint8_t payload[4] = {1, 2, 3, 4};
        for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
            CHECK(nac_nacfile_writer_write(w, seqs[i], payload, sizeof payload, NULL) == NAC_OK);
        const uint8_t *b;
        size_t n;
        nac_nacfile_writer_buffer(w, &b, &n);
        nac_nacfile_reader *r = NULL;
        CHECK(nac_nacfile_reader_create_mem(&r, b, n, NULL) == NAC_OK);
        char log[160] = "";
        nac_nacfile_packet p;
        int rc;
        while ((rc = nac_nacfile_reader_next(r, &p, NULL)) != NAC_NACFILE_END) {
            size_t len = strlen(log);
            if (rc == NAC_OK)
                snprintf(log + len, sizeof log - len, "%u+%u ", p.seq, p.lost);
            else
                snprintf(log + len, sizeof log - len, "X ");
        }
        nac_nacfile_reader_destroy(r);
        nac_nacfile_writer_destroy(w);
        /* 63: a gap of 60, accepted. 125: 61, dropped; 126 follows it: a restart, nothing concealed.
         * 200: a gap of 72, dropped; 5000000 does not follow it: dropped too (and beyond 10 hours) */
        CHECKF(!strcmp(log, "0+0 1+0 2+0 63+60 X 126+0 127+0 X X "), "length %s: %s", known ? "known" : "unknown",
               log);
    }
}

/* ---- resynchronisation in linear time ---------------------------------------------------------- */

TEST(robust_nac_resync_linear_time)
{
    nac_nacfile_info info;
    memset(&info, 0, sizeof info);
    info.source_rate = info.codec_rate = 16000;
    info.channels = 1;
    info.length = 16000;
    info.frame_size = 320;
    info.n_stages = 1;
    info.stage_bits[0] = 10;
    strcpy(info.encoder, "test");
    nac_nacfile_writer *w = NULL;
    CHECK(nac_nacfile_writer_create_mem(&w, &info, NULL) == NAC_OK);
    const uint8_t *h;
    size_t hn;
    nac_nacfile_writer_buffer(w, &h, &hn);
    size_t n = hn + (1u << 20);
    uint8_t *b = malloc(n);
    CHECK(b != NULL);
    memcpy(b, h, hn);
    nac_nacfile_writer_destroy(w);
    for (size_t i = hn; i < n; i++)
        b[i] = (i - hn) % 2 ? 0x5A : 0xA5; /* 1 MiB of sync words */
    char path[512];
    CHECK(write_file(tmp_path(path, sizeof path, "sync.nac"), b, n) == 0);
    nac_nacfile_reader *r = NULL;
    CHECK(nac_nacfile_reader_create_mem(&r, b, n, NULL) == NAC_OK);
    double t0 = now();
    nac_nacfile_packet p;
    int rc, reports = 0, packets = 0;
    while ((rc = nac_nacfile_reader_next(r, &p, NULL)) != NAC_NACFILE_END)
        reports += rc != NAC_OK, packets += rc == NAC_OK;
    double lib = now() - t0;
    nac_nacfile_reader_destroy(r);
    free(b);
    t0 = now();
    int info_rc = nac_test_sh("%s info %s >/dev/null", nac_test_bin(), path);
    double cli = now() - t0;
    CHECKF(packets == 0 && reports == 1, "%d packets, %d reports", packets, reports);
    CHECKF(info_rc == 3, "nac info exit %d", info_rc);
    /* was 12.4 s in nac info (quadratic); linear, it is some tens of ms (a sanitized build: more) */
    CHECKF(lib < 1.0 && cli < 2.0, "scanning 1 MiB of sync words took %.2f s (library), %.2f s (nac info)", lib, cli);
    snprintf(t_->why, sizeof t_->why, "1 MiB of A5 5A: %.3f s library, %.3f s nac info", lib, cli);
}

/* Span CRCs by combination equal direct ones (the reader's resynchronisation relies on it). */
TEST(robust_crc32_combine)
{
    uint8_t b[1000];
    for (int i = 0; i < 1000; i++)
        b[i] = (uint8_t)(i * 37 + 11);
    for (size_t a = 0; a < 1000; a += 97)
        for (size_t e = a; e <= 1000; e += 131) {
            uint32_t span = nac_crc32(0, b + a, e - a);
            uint32_t comb = nac_crc32(0, b, e) ^ nac_crc32_combine(nac_crc32(0, b, a), 0, e - a);
            uint32_t op = nac_crc32(0, b, e) ^ nac_crc32_combine_op(nac_crc32(0, b, a), 0, nac_crc32_combine_gen(e - a));
            CHECKF(span == comb && span == op, "[%zu, %zu): %08x vs %08x, %08x", a, e, span, comb, op);
        }
}

/* ---- a file cut at a packet boundary ----------------------------------------------------------- */

TEST(robust_nac_cut_at_packet_boundary)
{
    stream s;
    CHECK(make_clean(&s) == 0);
    char path[512];
    tmp_path(path, sizeof path, "v.nac");
    int order[64];
    for (int i = 0; i < s.n; i++)
        order[i] = i;
    for (int keep = s.n - 1; keep >= s.n - 3; keep -= 2) {
        CHECK(write_variant(path, &s, &s.info, order, NULL, keep) == 0);
        outcome o;
        CHECK(run_variant(path, &o) == 0);
        CHECKF(o.decode_rc == 3 && o.info_rc == 3, "cut after %d of %d packets: decode exit %d, info exit %d", keep,
               s.n, o.decode_rc, o.info_rc);
        CHECKF(o.warnings == 1 && o.well_formed, "cut after %d packets: %d warning lines (well formed %d)", keep,
               o.warnings, o.well_formed);
    }
    stream_free(&s);
}

/* ---- model files that declare more than they hold ---------------------------------------------- */

/* A weight file of config keys only (pairs key, value, ...), no tensors. */
static int config_only_model(uint8_t **out, size_t *size, const char *const *kv)
{
    nac_weights_writer *w = NULL;
    int st = nac_weights_writer_create(&w, NULL);
    for (; !st && kv[0]; kv += 2)
        st = nac_weights_writer_set(w, kv[0], kv[1], NULL);
    if (!st)
        st = nac_weights_writer_save_mem(w, out, size, NULL);
    nac_weights_writer_destroy(w);
    return st;
}

TEST(robust_model_size_bombs)
{
    static const char *const huge_net[] = {"format", "nac-codec", "codec.channels", "2048", "codec.hidden", "8192",
                                           "codec.enc_hi", "32", "codec.enc_lo", "32", "codec.dec_lo", "32",
                                           "codec.dec_hi", "32", "codec.kernel", "31", NULL};
    static const char *const huge_rvq[] = {"format", "nac-codec", "codec.rvq.stages", "48", "codec.rvq.codebook_size",
                                           "65536", "codec.latent_dim", "1024", "codec.rvq.code_dim", "1", NULL};
    static const char *const small_net[] = {"format", "nac-codec", "codec.channels", "16", "codec.hidden", "32", NULL};
    const char *const *cases[] = {huge_net, huge_rvq, small_net};
    const char *want[] = {"more than the", "more than the maxima", "missing"};
    char report[200] = "";
    for (int c = 0; c < 3; c++) {
        uint8_t *b = NULL;
        size_t n = 0;
        CHECK(config_only_model(&b, &n, cases[c]) == NAC_OK);
        nac_model *m = NULL;
        nac_error err = {0};
        double t0 = now();
        int rc = nac_model_load_mem(&m, b, n, &err);
        double dt = now() - t0;
        char path[512];
        CHECK(write_file(tmp_path(path, sizeof path, "bomb.nacw"), b, n) == 0);
        free(b);
        nac_model_destroy(m);
        CHECKF(rc == NAC_ERR_MODEL && strstr(err.msg, want[c]), "case %d (%zu bytes): rc %d '%s'", c, n, rc, err.msg);
        CHECKF(dt < 0.5, "case %d: refused after %.2f s", c, dt);
        int cli = nac_test_sh("%s info %s >/dev/null 2>&1", nac_test_bin(), path);
        CHECKF(cli == 1, "nac info on bomb %d: exit %d", c, cli);
        size_t len = strlen(report);
        snprintf(report + len, sizeof report - len, "%s%zu bytes: %.3f s", len ? ", " : "", n, dt);
    }
    snprintf(t_->why, sizeof t_->why, "%s", report);
}

/* The same for the other model loaders: an enhancement model and a VQ-VAE whose configs declare
 * the largest network their checks allow (several GB) but hold no tensor are refused before any
 * allocation, by the library and by the commands that read them; so is a discriminator
 * checkpoint of the adversarial trainer. */
TEST(robust_model_size_bombs_other_loaders)
{
    static const char *const enh[] = {"format", "nac-enhance", "enhance.task", "0", "enhance.sample_rate", "16000",
                                      "enhance.n_fft", "8192", "enhance.hop", "4096", "enhance.channels", "4096",
                                      "enhance.hidden", "8192", "enhance.blocks", "16", "enhance.kernel", "64",
                                      "enhance.in_kernel", "64", "enhance.gain_max", "2", "enhance.excite_gain_max",
                                      "2", "enhance.excite_lo", "0", "enhance.excite_hi", "0", NULL};
    static const char *const vqvae[] = {"format", "nac-vqvae", "vqvae.k", "256", "vqvae.ncat", "16", "vqvae.dim", "256",
                                        "vqvae.hidden", "2048", "vqvae.kernel", "15", "vqvae.stages", "48",
                                        "vqvae.entries", "65536", "vqvae.ema", "0", "vqvae.commitment", "0.25",
                                        "vqvae.dead", "1", NULL};
    char path[512], report[200] = "";
    const char *bin = nac_test_bin();
    for (int c = 0; c < 2; c++) {
        uint8_t *b = NULL;
        size_t n = 0;
        CHECK(config_only_model(&b, &n, c ? vqvae : enh) == NAC_OK);
        CHECK(write_file(tmp_path(path, sizeof path, c ? "bomb_vqvae.nacw" : "bomb_enh.nacw"), b, n) == 0);
        nac_error err = {0};
        double t0 = now();
        int rc;
        if (c) {
            nac_vqvae *m = NULL;
            rc = nac_vqvae_load(&m, path, 1, &err);
            nac_vqvae_destroy(m);
        } else {
            nac_enhance_model *m = NULL;
            rc = nac_enhance_model_load_mem(&m, b, n, &err);
            nac_enhance_model_destroy(m);
        }
        double dt = now() - t0;
        free(b);
        CHECKF(rc == NAC_ERR_MODEL && strstr(err.msg, "missing"), "case %d (%zu bytes): rc %d '%s'", c, n, rc, err.msg);
        CHECKF(dt < 0.5, "case %d: refused after %.2f s", c, dt);
        /* under a 1 GB address-space limit, so that an allocation of the declared network fails loudly
         * (not in a sanitized build: AddressSanitizer reserves terabytes of address space for itself) */
#ifdef __SANITIZE_ADDRESS__
        const char *limit = "true";
#else
        const char *limit = "ulimit -v 1000000";
#endif
        int info = nac_test_sh("%s && %s info %s >/dev/null 2>&1", limit, bin, path);
        const char *tmp = nac_test_tmp_dir();
        int use = c ? nac_test_sh("head -c 4096 /dev/zero > %s/zeros.f32 && %s && "
                                  "%s vqvae run %s %s/zeros.f32 %s/out.f32 >/dev/null 2>&1", tmp, limit, bin, path, tmp,
                                  tmp)
                    : nac_test_sh("%s && %s enhance %s/speech_thorsten_de.flac %s/x.wav --task denoise --model %s "
                                  ">/dev/null 2>&1", limit, bin, nac_test_fixture_dir(), tmp, path);
        CHECKF(info == 1 && use == 1, "case %d: nac info exit %d, the command using it exit %d", c, info, use);
        size_t len = strlen(report);
        snprintf(report + len, sizeof report - len, "%s%zu bytes: %.3f s", len ? ", " : "", n, dt);
    }
    /* the adversarial trainer's discriminator checkpoint: 4096 channels, kernel 15 (2 GB) */
    static const char *const disc[] = {"format", "nac-disc", "disc.n_res", "1", "disc.channels", "4096",
                                       "disc.kernel", "15", "disc.slope", "0.1", "disc.step", "0",
                                       "disc.n_fft.0", "1024", NULL};
    uint8_t *b = NULL;
    size_t n = 0;
    CHECK(config_only_model(&b, &n, disc) == NAC_OK);
    CHECK(write_file(tmp_path(path, sizeof path, "bomb_disc.nacw"), b, n) == 0);
    free(b);
    nac_disc *d = NULL;
    nac_error err = {0};
    double t0 = now();
    int rc = nac_disc_load(&d, path, 16, 16000, NULL, NULL, &err);
    double dt = now() - t0;
    nac_disc_destroy(d);
    CHECKF(rc == NAC_ERR_MODEL && strstr(err.msg, "missing") && dt < 0.5, "disc (%zu bytes): rc %d '%s' after %.2f s", n,
           rc, err.msg, dt);
    size_t len = strlen(report);
    snprintf(report + len, sizeof report - len, ", disc %zu bytes: %.3f s", n, dt);
    snprintf(t_->why, sizeof t_->why, "%s", report);
}

/* ---- inputs encode refuses or conditions ------------------------------------------------------- */

/* A float WAV written by hand (nac's writer refuses NaN-free rates above 655350 Hz, as it should). */
static int write_float_wav(const char *path, const float *x, size_t n, uint32_t rate)
{
    /* RIFF/WAVE, format 3 (IEEE float), mono 16 kHz */
    uint8_t h[44];
    uint32_t data = (uint32_t)(n * 4);
    memcpy(h, "RIFF", 4);
    uint32_t v[] = {36 + data};
    memcpy(h + 4, v, 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    uint32_t fmt_len = 16, bps = 4 * rate;
    uint16_t tag = 3, ch = 1, align = 4, bits = 32;
    memcpy(h + 16, &fmt_len, 4);
    memcpy(h + 20, &tag, 2);
    memcpy(h + 22, &ch, 2);
    memcpy(h + 24, &rate, 4);
    memcpy(h + 28, &bps, 4);
    memcpy(h + 32, &align, 2);
    memcpy(h + 34, &bits, 2);
    memcpy(h + 36, "data", 4);
    memcpy(h + 40, &data, 4);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite(h, 1, 44, f);
    fwrite(x, 4, n, f); /* the test machines are little-endian, as the header says */
    return fclose(f);
}

TEST(robust_encode_refuses_unwritable_rate)
{
    char in[512], out[512], errf[512];
    float x[768];
    for (int i = 0; i < 768; i++)
        x[i] = 0.1f * (float)(i % 7);
    CHECK(write_float_wav(tmp_path(in, sizeof in, "768k.wav"), x, 768, 768000) == 0);
    tmp_path(out, sizeof out, "768k.nac");
    remove(out);
    int rc = nac_test_sh("%s encode -q %s %s 2>%s", nac_test_bin(), in, out, tmp_path(errf, sizeof errf, "e.txt"));
    uint8_t *msg = NULL;
    long n = read_file(errf, &msg);
    int names = n > 0 && strstr((char *)msg, "655350") && strstr((char *)msg, "768k.wav");
    free(msg);
    FILE *f = fopen(out, "rb");
    CHECKF(rc == 1 && names && !f, "encode of 768 kHz: exit %d, message names rate and file: %d, output left: %d", rc,
           names, f != NULL);
}

TEST(robust_encode_non_finite_and_out_of_range)
{
    const size_t n = 16000;
    float *x = malloc(n * sizeof *x);
    CHECK(x != NULL);
    static const char *names[] = {"NaN", "infinite", "clipped"};
    for (int k = 0; k < 6; k++) { /* the neural codec (6 kbps), then the vocoder mode (1.2 kbps) */
        int c = k % 3;
        for (size_t i = 0; i < n; i++)
            x[i] = 0.2f * sinf(0.05f * (float)i);
        x[1234] = c == 0 ? NAN : c == 1 ? INFINITY : 1e30f;
        char in[512], errf[512];
        CHECK(write_float_wav(tmp_path(in, sizeof in, "bad.wav"), x, n, 16000) == 0);
        int rc = nac_test_sh("%s encode -q %s %s/bad.nac --kbps %s 2>%s", nac_test_bin(), in, nac_test_tmp_dir(),
                             k < 3 ? "6" : "1.2", tmp_path(errf, sizeof errf, "e.txt"));
        uint8_t *msg = NULL;
        long len = read_file(errf, &msg);
        int ok = len > 0 && strstr((char *)msg, names[c]) && strstr((char *)msg, "bad.wav");
        if (c < 2)
            ok = ok && strstr((char *)msg, "sample 1234");
        char shown[200] = "";
        if (len > 0)
            snprintf(shown, sizeof shown, "%.*s", (int)(len < 150 ? len : 150), (char *)msg);
        free(msg);
        CHECKF(rc == (c < 2 ? 1 : 0) && ok, "%s (%s): exit %d, message '%s'", names[c], k < 3 ? "neural" : "vocoder", rc,
               shown);
        if (c == 2)
            CHECK(nac_test_sh("%s decode -q %s/bad.nac %s/bad_out.wav", nac_test_bin(), nac_test_tmp_dir(),
                              nac_test_tmp_dir()) == 0);
    }
    free(x);
}

TEST(robust_encode_dc_is_not_noise)
{
    const size_t n = 32000;
    float *x = malloc(n * sizeof *x);
    CHECK(x != NULL);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.9f;
    char in[512], out[512];
    CHECK(nac_audio_write_all(tmp_path(in, sizeof in, "dc.wav"), x, n, 16000, NULL) == NAC_OK);
    free(x);
    tmp_path(out, sizeof out, "dc_out.wav");
    CHECK(nac_test_sh("%s encode -q %s %s/dc.nac && %s decode -q %s/dc.nac %s", nac_test_bin(), in,
                      nac_test_tmp_dir(), nac_test_bin(), nac_test_tmp_dir(), out) == 0);
    float *y = NULL;
    size_t ny = 0;
    CHECK(nac_audio_read_all(&y, &ny, NULL, out, NULL) == NAC_OK && ny == n);
    double e = 0;
    for (size_t i = 1600; i < ny; i++) /* after the high-pass's first 100 ms */
        e += (double)y[i] * y[i];
    free(y);
    double rms = sqrt(e / (double)(ny - 1600));
    /* before the high-pass: RMS 0.47 of clipping noise */
    CHECKF(rms < 0.01, "DC 0.9 decodes to RMS %.3f", rms);
    snprintf(t_->why, sizeof t_->why, "DC 0.9 -> RMS %.4f after 100 ms", rms);
}

TEST(robust_biquad_highpass_response)
{
    double gains[3];
    const double freqs[3] = {0, 50, 1000};
    for (int k = 0; k < 3; k++) {
        nac_biquad f;
        nac_biquad_highpass(&f, 50, 16000);
        float x[16000];
        for (int i = 0; i < 16000; i++)
            x[i] = (float)cos(2 * M_PI * freqs[k] * i / 16000);
        nac_biquad_run(&f, x, 16000);
        double e = 0;
        for (int i = 8000; i < 16000; i++)
            e += (double)x[i] * x[i];
        gains[k] = sqrt(e / 8000) / (k ? M_SQRT1_2 : 1);
    }
    CHECKF(gains[0] < 1e-4 && fabs(gains[1] - M_SQRT1_2) < 0.01 && fabs(gains[2] - 1) < 0.01,
           "gains at 0, 50, 1000 Hz: %.5f %.4f %.4f", gains[0], gains[1], gains[2]);
}

TEST(robust_decode_kbps_refused)
{
    char nac[512];
    float x[3200];
    for (int i = 0; i < 3200; i++)
        x[i] = 0.1f * sinf(0.03f * (float)i);
    char in[512];
    CHECK(nac_audio_write_all(tmp_path(in, sizeof in, "k.wav"), x, 3200, 16000, NULL) == NAC_OK);
    CHECK(nac_test_sh("%s encode -q %s %s", nac_test_bin(), in, tmp_path(nac, sizeof nac, "k.nac")) == 0);
    static const char *bad[] = {"1e300", "inf", "nan", "-1", "0", "1e-300x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = nac_test_sh("%s decode -q %s %s/k.wav --kbps %s 2>/dev/null", nac_test_bin(), nac,
                             nac_test_tmp_dir(), bad[i]);
        CHECKF(rc == 2, "--kbps %s: exit %d, want 2", bad[i], rc);
    }
    CHECK(nac_test_sh("%s decode -q %s %s/k.wav --kbps 3", nac_test_bin(), nac, nac_test_tmp_dir()) == 0);
}

/* The limits stated in codec_config.h hold for the built-in model (so they do not refuse it). */
TEST(robust_default_model_within_limits)
{
    nac_model *m = NULL;
    CHECK(nac_model_load_default(&m, NULL) == NAC_OK);
    nac_decoder *d = NULL;
    nac_encoder *e = NULL;
    CHECK(nac_decoder_create(&d, m, NULL) == NAC_OK && nac_encoder_create(&e, m, 12, NULL) == NAC_OK);
    nac_decoder_destroy(d);
    nac_encoder_destroy(e);
    nac_model_destroy(m);
}

/* Packets of 60 s holding nothing, every other number missing: each gap is within the reader's
 * bounds, but decode conceals no more than it decoded plus a minute (without that: 3.5 days of audio). */
TEST(robust_decode_concealment_budget)
{
    nac_model *m = NULL;
    nac_model_info mi;
    CHECK(nac_model_load_default(&m, NULL) == NAC_OK);
    nac_model_get_info(m, &mi);
    nac_model_destroy(m);
    nac_nacfile_info info;
    memset(&info, 0, sizeof info);
    info.source_rate = info.codec_rate = (uint32_t)mi.sample_rate;
    info.channels = 1;
    info.length = NAC_NACFILE_LENGTH_UNKNOWN;
    info.frame_size = (uint32_t)mi.frame_size;
    info.n_stages = 1;
    info.stage_bits[0] = (uint8_t)mi.bits_per_stage;
    info.model_hash = mi.hash;
    info.delay = (uint32_t)mi.delay;
    info.frames_per_packet = (uint16_t)(60 * mi.sample_rate / mi.frame_size);
    strcpy(info.encoder, "test");
    nac_nacfile_writer *w = NULL;
    CHECK(nac_nacfile_writer_create_mem(&w, &info, NULL) == NAC_OK);
    for (uint32_t i = 0; i < 5000; i++)
        CHECK(nac_nacfile_writer_write(w, 2 * i, NULL, 0, NULL) == NAC_OK);
    const uint8_t *b;
    size_t n;
    nac_nacfile_writer_buffer(w, &b, &n);
    char path[512], out[512];
    CHECK(write_file(tmp_path(path, sizeof path, "empty.nac"), b, n) == 0);
    nac_nacfile_writer_destroy(w);
    double t0 = now();
    int rc = nac_test_sh("%s decode -q %s %s 2>/dev/null", nac_test_bin(), path, tmp_path(out, sizeof out, "e.wav"));
    double dt = now() - t0;
    float *y = NULL;
    size_t ny = 0;
    CHECK(nac_audio_read_all(&y, &ny, NULL, out, NULL) == NAC_OK);
    free(y);
    CHECKF(rc == 3 && ny <= (size_t)(61 * mi.sample_rate), "exit %d, %.1f s of audio from %zu bytes", rc,
           (double)ny / mi.sample_rate, n);
    snprintf(t_->why, sizeof t_->why, "%zu bytes -> %.1f s of audio in %.2f s", n, (double)ny / mi.sample_rate, dt);
}
