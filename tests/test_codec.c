/* Tests of the codec API and the nac encode/decode CLI with the built-in model: chunk-invariant
 * streaming, quality floors on real speech at every bitrate, damaged and cut files, odd inputs. */
#include "test.h"

#include <omp.h>

#include <stdlib.h>
#include <string.h>

#include "audio/audio_file.h"
#include "core/rng.h"
#include "metrics/metrics.h"
#include "model/model_image.h"
#include "nac/nac.h"

static const char *speech(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/speech_thorsten_de.flac", nac_test_fixture_dir());
    return path;
}

/* Encodes x (n) pushing `chunk` samples at a time; returns frames, codes malloc'd (frames, S). */
static size_t encode_chunked(nac_model *m, int S, const float *x, size_t n, size_t chunk, int32_t **codes)
{
    nac_encoder *e = NULL;
    nac_model_info mi;
    nac_model_get_info(m, &mi);
    size_t cap = n / (size_t)mi.frame_size + 16, total = 0;
    *codes = malloc(cap * (size_t)S * sizeof **codes);
    if (nac_encoder_create(&e, m, S, NULL))
        return 0;
    for (size_t i = 0; i < n; i += chunk) {
        size_t k = n - i < chunk ? n - i : chunk, got = 0;
        if (nac_encoder_push(e, *codes + total * (size_t)S, cap - total, &got, x + i, k, NULL))
            return 0;
        total += got;
    }
    size_t got = 0;
    if (nac_encoder_flush(e, *codes + total * (size_t)S, cap - total, &got, NULL))
        return 0;
    nac_encoder_destroy(e);
    return total + got;
}

TEST(codec_chunked_encoding_equals_one_pass)
{
    nac_model *m = NULL;
    nac_error err;
    int threads = omp_get_max_threads();
    omp_set_num_threads(1); /* frame-by-frame work: fork/join would dominate */
    CHECKF(nac_model_load_default(&m, &err) == NAC_OK, "%s", err.msg);
    float *x = NULL;
    size_t n = 0;
    CHECK(nac_audio_read_all(&x, &n, NULL, speech(), &err) == NAC_OK);
    n = n > 16000 ? 16000 : n;
    int32_t *ref = NULL, *got = NULL;
    size_t fr = encode_chunked(m, 12, x, n, n, &ref);
    CHECK(fr > 0);
    static const size_t chunks[] = {1, 7, 320, 333, 8000};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        size_t f2 = encode_chunked(m, 12, x, n, chunks[c], &got);
        CHECKF(f2 == fr, "chunk %zu: %zu frames, one pass %zu", chunks[c], f2, fr);
        CHECKF(memcmp(got, ref, fr * 12 * sizeof *ref) == 0, "chunk %zu: codes differ", chunks[c]);
        free(got);
    }
    /* decoding in pieces equals decoding at once */
    nac_decoder *d1 = NULL, *d2 = NULL;
    CHECK(nac_decoder_create(&d1, m, NULL) == NAC_OK && nac_decoder_create(&d2, m, NULL) == NAC_OK);
    float *y1 = malloc(fr * 320 * sizeof(float)), *y2 = malloc(fr * 320 * sizeof(float));
    CHECK(nac_decoder_decode(d1, y1, ref, NULL, fr, 12, NULL) == NAC_OK);
    for (size_t f = 0; f < fr; f++)
        CHECK(nac_decoder_decode(d2, y2 + f * 320, ref + f * 12, NULL, 1, 12, NULL) == NAC_OK);
    CHECK(memcmp(y1, y2, fr * 320 * sizeof(float)) == 0);
    free(y1);
    free(y2);
    free(ref);
    free(x);
    nac_decoder_destroy(d1);
    nac_decoder_destroy(d2);
    nac_model_destroy(m);
    omp_set_num_threads(threads);
}

/* ---- through the CLI ---------------------------------------------------------------------------- */

#include <sndfile.h>

/* STOI and SI-SDR of deg against ref (same length; nac's decoder removes its own delay). */
static void quality_of(double *stoi, double *si_sdr, const char *ref, const char *deg)
{
    float *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    *stoi = *si_sdr = -100;
    if (!nac_audio_read_all(&x, &nx, NULL, ref, NULL) && !nac_audio_read_all(&y, &ny, NULL, deg, NULL) && nx == ny) {
        nac_stoi(stoi, x, y, nx, 16000, NULL);
        nac_si_sdr(si_sdr, x, y, nx, NULL);
    }
    free(x);
    free(y);
}

/* Quality floors of the built-in codec on the committed clip (see README "Quality"): STOI well
 * above what silence, noise or a broken decoder give (< 0.45), a little below what the codec
 * reaches; at 12 and 24 kbps (the transform coder) also SI-SDR, since the waveform must follow. */
TEST(codec_cli_quality_floor_every_bitrate)
{
    static const char *rates[] = {"1.5", "3", "6", "12", "24"};
    static const double floors[] = {0.87, 0.91, 0.93, 0.97, 0.99};
    static const double sdr_floors[] = {-100, -100, -100, 15, 24};
    const char *tmp = nac_test_tmp_dir();
    char msg[256] = "";
    for (int i = 0; i < 5; i++) {
        CHECK(nac_test_sh("%s encode -q %s %s/q.nac --kbps %s", nac_test_bin(), speech(), tmp, rates[i]) == 0);
        CHECK(nac_test_sh("%s decode -q %s/q.nac %s/q.wav", nac_test_bin(), tmp, tmp) == 0);
        char out[512];
        snprintf(out, sizeof out, "%s/q.wav", tmp);
        double s, sdr;
        quality_of(&s, &sdr, speech(), out);
        CHECKF(s >= floors[i], "%s kbps: STOI %.3f below the floor %.2f", rates[i], s, floors[i]);
        CHECKF(sdr >= sdr_floors[i], "%s kbps: SI-SDR %.1f dB below the floor %.0f", rates[i], sdr, sdr_floors[i]);
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, "%s%s:%.3f", i ? " " : "STOI ", rates[i], s);
        if (sdr_floors[i] > -100)
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "/%.1fdB", sdr);
    }
    snprintf(t_->why, sizeof t_->why, "%s", msg);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

TEST(codec_cli_damaged_and_cut_files)
{
    const char *tmp = nac_test_tmp_dir();
    char nac[512], bad[512];
    snprintf(nac, sizeof nac, "%s/d.nac", tmp);
    snprintf(bad, sizeof bad, "%s/bad.nac", tmp);
    CHECK(nac_test_sh("%s encode -q %s %s --kbps 6 --packet-frames 10", nac_test_bin(), speech(), nac) == 0);
    long size = file_size(nac);
    CHECK(size > 100);
    FILE *f = fopen(nac, "rb");
    unsigned char *buf = malloc((size_t)size);
    CHECK(f && fread(buf, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    int flips = 0, cuts = 0, damaged = 0;
    /* flipped bytes all over the file: decode never crashes; packet damage is concealed */
    for (long pos = 0; pos < size; pos += size / 12 + 1) {
        FILE *o = fopen(bad, "wb");
        unsigned char keep = buf[pos];
        buf[pos] ^= 0x5A;
        fwrite(buf, 1, (size_t)size, o);
        fclose(o);
        buf[pos] = keep;
        int rc = nac_test_sh("%s decode -q %s %s/bad.wav 2>/dev/null", nac_test_bin(), bad, tmp);
        CHECKF(rc == 0 || rc == 1 || rc == 3, "flip at %ld: exit %d", pos, rc);
        damaged += rc == 3;
        flips++;
    }
    /* cut at every packet boundary (sync words) and inside packets */
    for (long pos = 1; pos < size; pos++) {
        int boundary = pos + 1 < size && buf[pos] == 0xA5 && buf[pos + 1] == 0x5A;
        if (!boundary && pos % 997)
            continue;
        FILE *o = fopen(bad, "wb");
        fwrite(buf, 1, (size_t)pos, o);
        fclose(o);
        int rc = nac_test_sh("%s decode -q %s %s/bad.wav 2>%s/err.txt", nac_test_bin(), bad, tmp, tmp);
        CHECKF(rc == 1 || rc == 3, "cut at %ld: exit %d (a cut file must not decode as clean)", pos, rc);
        char errf[512];
        snprintf(errf, sizeof errf, "%s/err.txt", tmp);
        CHECKF(file_size(errf) > 0, "cut at %ld: nothing reported", pos);
        cuts++;
    }
    free(buf);
    CHECKF(damaged > 0, "no flip was reported as concealed damage (exit 3)");
    snprintf(t_->why, sizeof t_->why, "%d flips (%d concealed, exit 3), %d cuts", flips, damaged, cuts);
}

static int write_wav(const char *path, const float *x, long frames, int rate, int channels)
{
    SF_INFO info = {0};
    info.samplerate = rate;
    info.channels = channels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f)
        return -1;
    sf_writef_float(f, x, frames);
    return sf_close(f);
}

TEST(codec_cli_odd_inputs)
{
    const char *tmp = nac_test_tmp_dir();
    static const struct {
        const char *name;
        int rate, channels;
        long frames;
    } cases[] = {{"silence", 16000, 1, 16000}, {"dc", 16000, 1, 16000},      {"noise", 16000, 1, 16000},
                 {"one", 16000, 1, 1},         {"stereo48k", 48000, 2, 48000}};
    nac_rng r;
    nac_rng_seed(&r, 1);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long n = cases[c].frames * cases[c].channels;
        float *x = calloc((size_t)n, sizeof *x);
        for (long i = 0; i < n; i++) {
            if (!strcmp(cases[c].name, "dc"))
                x[i] = 0.5f;
            else if (!strcmp(cases[c].name, "noise"))
                x[i] = nac_rng_uniform(&r) < 0.5 ? -1.0f : 1.0f;
            else if (!strcmp(cases[c].name, "stereo48k"))
                x[i] = 0.3f * sinf(0.05f * (float)(i / 2)) * (i % 2 ? 1.0f : 0.5f);
            else if (!strcmp(cases[c].name, "one"))
                x[i] = 0.25f;
        }
        char in[512], out[512];
        snprintf(in, sizeof in, "%s/%s.wav", tmp, cases[c].name);
        snprintf(out, sizeof out, "%s/%s_out.wav", tmp, cases[c].name);
        CHECK(write_wav(in, x, cases[c].frames, cases[c].rate, cases[c].channels) == 0);
        free(x);
        CHECKF(nac_test_sh("%s encode -q %s %s/o.nac 2>/dev/null", nac_test_bin(), in, tmp) == 0, "%s: encode failed", cases[c].name);
        CHECKF(nac_test_sh("%s decode -q %s/o.nac %s", nac_test_bin(), tmp, out) == 0, "%s: decode failed", cases[c].name);
        nac_audio_info info;
        float *y = NULL;
        size_t ny = 0;
        CHECK(nac_audio_read_all(&y, &ny, &info, out, NULL) == NAC_OK || cases[c].frames == 1);
        if (y) {
            CHECKF((long)ny == cases[c].frames && info.sample_rate == cases[c].rate,
                   "%s: decoded %zu samples at %d Hz, want %ld at %d", cases[c].name, ny, info.sample_rate,
                   cases[c].frames, cases[c].rate);
            for (size_t i = 0; i < ny; i++)
                CHECK(isfinite(y[i]));
        }
        free(y);
    }
}

#include <pthread.h>

typedef struct {
    const nac_model *m;
    const float *x;
    size_t n;
    float *y;
    int rc;
} thread_job;

/* Encodes and decodes x with its own handles on the shared model. */
static void *code_job(void *arg)
{
    thread_job *j = arg;
    int32_t *codes = NULL;
    size_t frames = encode_chunked((nac_model *)j->m, 6, j->x, j->n, 4000, &codes);
    nac_decoder *d = NULL;
    j->rc = frames == 0 || nac_decoder_create(&d, j->m, NULL) ||
            nac_decoder_decode(d, j->y, codes, NULL, frames, 6, NULL);
    nac_decoder_destroy(d);
    free(codes);
    return NULL;
}

TEST(codec_handles_independent_across_threads)
{
    nac_model *m = NULL;
    CHECK(nac_model_load_default(&m, NULL) == NAC_OK);
    float *x = NULL;
    size_t n = 0;
    CHECK(nac_audio_read_all(&x, &n, NULL, speech(), NULL) == NAC_OK);
    n = n > 32000 ? 32000 : n;
    size_t out = (n / 320 + 8) * 320;
    thread_job jobs[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = (thread_job){m, x, n, calloc(out, sizeof(float)), -1};
        CHECK(pthread_create(&th[i], NULL, code_job, &jobs[i]) == 0);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++) {
        CHECKF(jobs[i].rc == 0, "thread %d failed", i);
        CHECKF(memcmp(jobs[i].y, jobs[0].y, out * sizeof(float)) == 0, "thread %d decoded differently", i);
    }
    for (int i = 0; i < 3; i++)
        free(jobs[i].y);
    free(x);
    nac_model_destroy(m);
}

TEST(codec_handle_thread_count_changes_nothing_but_speed)
{
    nac_model *m = NULL;
    CHECK(nac_model_load_default(&m, NULL) == NAC_OK);
    float *x = NULL;
    size_t n = 0;
    CHECK(nac_audio_read_all(&x, &n, NULL, speech(), NULL) == NAC_OK);
    n = n > 32000 ? 32000 : n;
    int32_t codes[2][200 * 12];
    float *y[2] = {malloc(200 * 320 * sizeof(float)), malloc(200 * 320 * sizeof(float))};
    size_t fr[2] = {0, 0};
    int before = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        nac_encoder *e = NULL;
        nac_decoder *d = NULL;
        CHECK(nac_encoder_create(&e, m, 12, NULL) == NAC_OK && nac_decoder_create(&d, m, NULL) == NAC_OK);
        nac_encoder_set_threads(e, t + 1);
        nac_decoder_set_threads(d, t + 1);
        size_t more = 0;
        CHECK(nac_encoder_push(e, codes[t], 200, &fr[t], x, n, NULL) == NAC_OK);
        CHECK(nac_encoder_flush(e, codes[t] + fr[t] * 12, 200 - fr[t], &more, NULL) == NAC_OK);
        fr[t] += more;
        CHECK(nac_decoder_decode(d, y[t], codes[t], NULL, fr[t], 12, NULL) == NAC_OK);
        CHECKF(omp_get_max_threads() == before, "the caller's thread count changed to %d", omp_get_max_threads());
        nac_encoder_destroy(e);
        nac_decoder_destroy(d);
    }
    CHECK(fr[0] == fr[1] && memcmp(codes[0], codes[1], fr[0] * 12 * sizeof(int32_t)) == 0);
    CHECK(memcmp(y[0], y[1], fr[0] * 320 * sizeof(float)) == 0);
    free(y[0]);
    free(y[1]);
    free(x);
    nac_model_destroy(m);
}

TEST(codec_cli_refuses_to_overwrite_its_input_and_says_when_kbps_is_too_high)
{
    const char *tmp = nac_test_tmp_dir();
    char wav[512], link[512], nac[512];
    snprintf(wav, sizeof wav, "%s/self.wav", tmp);
    snprintf(link, sizeof link, "%s/self_link.wav", tmp);
    snprintf(nac, sizeof nac, "%s/self.nac", tmp);
    CHECK(nac_test_sh("sox %s %s trim 0 1 2>/dev/null || cp %s %s", speech(), wav, speech(), wav) == 0);
    long before = file_size(wav);
    CHECK(nac_test_sh("%s encode --quiet %s %s 2>/dev/null", nac_test_bin(), wav, wav) == 2);
    CHECK(nac_test_sh("ln -sf %s %s && %s encode -q %s %s --kbps 12 2>/dev/null", wav, link, nac_test_bin(), wav,
                      link) == 2);
    CHECK(file_size(wav) == before);
    CHECK(nac_test_sh("%s encode --quiet %s %s --kbps 6", nac_test_bin(), wav, nac) == 0);
    CHECK(nac_test_sh("%s decode -q %s %s 2>/dev/null", nac_test_bin(), nac, nac) == 2);
    CHECK(nac_test_sh("%s decode --quiet %s %s --kbps 24 2>%s/note.txt", nac_test_bin(), nac, wav, tmp) == 0);
    CHECK(nac_test_sh("grep -q 'asks for more' %s/note.txt", tmp) == 0);
}

/* The built-in model is read in place from its image: the same model as its weight file, to the bit. */
TEST(codec_builtin_image_equals_weight_file)
{
    nac_model *mi = NULL, *mf = NULL;
    nac_error err;
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    CHECKF(nac_model_load_default(&mi, &err) == NAC_OK, "%s", err.msg);
    CHECKF(nac_model_load(&mf, "models/default.nacw", &err) == NAC_OK, "%s", err.msg);
    nac_model_info a, b;
    nac_model_get_info(mi, &a);
    nac_model_get_info(mf, &b);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    float *x = NULL;
    size_t n = 0;
    CHECK(nac_audio_read_all(&x, &n, NULL, speech(), &err) == NAC_OK);
    n = n > 32000 ? 32000 : n;
    int32_t *ci = NULL, *cf = NULL;
    size_t fi = encode_chunked(mi, a.n_stages, x, n, 320, &ci), ff = encode_chunked(mf, a.n_stages, x, n, n, &cf);
    CHECK(fi == ff && fi > 0);
    CHECK(memcmp(ci, cf, fi * (size_t)a.n_stages * sizeof *ci) == 0);
    nac_decoder *di = NULL, *df = NULL;
    CHECK(nac_decoder_create(&di, mi, NULL) == NAC_OK && nac_decoder_create(&df, mf, NULL) == NAC_OK);
    float *yi = malloc(fi * 320 * sizeof(float)), *yf = malloc(fi * 320 * sizeof(float));
    for (size_t f = 0; f < fi; f++) /* frame by frame (narrow kernels) against one call (wide ones) */
        CHECK(nac_decoder_decode(di, yi + f * 320, ci + f * a.n_stages, NULL, 1, a.n_stages, NULL) == NAC_OK);
    CHECK(nac_decoder_decode(df, yf, cf, NULL, fi, a.n_stages, NULL) == NAC_OK);
    CHECK(memcmp(yi, yf, fi * 320 * sizeof(float)) == 0);
    /* and the image's wide paths: one encode call and one decode call */
    int32_t *cw = NULL;
    size_t fw = encode_chunked(mi, a.n_stages, x, n, n, &cw);
    int same = fw == ff && !memcmp(cw, cf, fw * (size_t)a.n_stages * sizeof *cw);
    free(cw);
    CHECK(same);
    nac_decoder_reset(di);
    CHECK(nac_decoder_decode(di, yi, ci, NULL, fi, a.n_stages, NULL) == NAC_OK);
    CHECK(memcmp(yi, yf, fi * 320 * sizeof(float)) == 0);
    /* something that is not an image is refused, not read */
    static const unsigned char junk[256] __attribute__((aligned(64))) = "NACIMG00";
    nac_model *bad = NULL;
    CHECK(nac_model_image_load(&bad, junk, sizeof junk, NULL) == NAC_ERR_FORMAT && !bad);
    free(yi);
    free(yf);
    free(ci);
    free(cf);
    free(x);
    nac_decoder_destroy(di);
    nac_decoder_destroy(df);
    nac_model_destroy(mi);
    nac_model_destroy(mf);
    omp_set_num_threads(threads);
}

/* Headerless PCM in (file or pipe) codes like the same samples in a WAV; a bad output name and raw
 * options without --raw (or --raw without a rate) are usage errors, found before any work. */
TEST(codec_cli_raw_input_and_output_names)
{
    const char *tmp = nac_test_tmp_dir(), *bin = nac_test_bin();
    char wav[512];
    snprintf(wav, sizeof wav, "%s/raw_src.wav", tmp);
    CHECK(nac_test_sh("sox %s -r 16000 -b 16 %s trim 0 1 2>/dev/null", speech(), wav) == 0);
    CHECK(nac_test_sh("sox %s -t raw -e signed -b 16 -L %s/raw_src.raw", wav, tmp) == 0);
    CHECK(nac_test_sh("%s encode -q %s %s/from_wav.nac", bin, wav, tmp) == 0);
    CHECK(nac_test_sh("%s encode -q %s/raw_src.raw %s/from_raw.nac --raw --rate 16000", bin, tmp, tmp) == 0);
    CHECK(nac_test_sh("cat %s/raw_src.raw | %s encode -q - %s/from_pipe.nac --raw --rate 16000 --sample-format s16le",
                      tmp, bin, tmp) == 0);
    CHECK(nac_test_sh("cmp -s %s/from_wav.nac %s/from_raw.nac && cmp -s %s/from_wav.nac %s/from_pipe.nac", tmp, tmp,
                      tmp, tmp) == 0);
    CHECK(nac_test_sh("%s encode -q %s/raw_src.raw %s/x.nac --raw 2>/dev/null", bin, tmp, tmp) == 2);
    CHECK(nac_test_sh("%s encode -q %s %s/x.nac --rate 8000 2>/dev/null", bin, wav, tmp) == 2);
    CHECK(nac_test_sh("%s encode -q %s/raw_src.raw %s/x.nac --raw --rate 16000 --sample-format s12 2>/dev/null", bin,
                      tmp, tmp) == 2);
    CHECK(nac_test_sh("%s decode -q %s/from_wav.nac %s/out.mp3 2>/dev/null", bin, tmp, tmp) == 2);
    CHECK(nac_test_sh("test ! -e %s/out.mp3", tmp) == 0);
}
