/* Tests of src/audio (libsndfile reader/writer) and src/dsp/resample (soxr). */
#include "test.h"

#include "audio/audio_file.h"
#include "core/rng.h"
#include "dsp/resample.h"

#include <fcntl.h>
#include <malloc.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void tmp_path(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "%s/%s", nac_test_tmp_dir(), name);
}

/* n random int16-representable samples in [-1, 1), with both extremes. */
static float *int16_signal(size_t n, uint64_t seed)
{
    nac_rng g;
    float *x = malloc(n * sizeof *x);
    nac_rng_seed(&g, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((int)nac_rng_below(&g, 65536) - 32768) / 32768.0f;
    x[0] = -1.0f;
    x[1] = 32767.0f / 32768.0f;
    return x;
}

static int write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void check_roundtrip(nac_test *t_, const char *name, const char *fmt_word)
{
    char path[512];
    size_t n = 12345, m = 0;
    float *x = int16_signal(n, 7), *y = NULL;
    nac_audio_info info;
    nac_error e;
    tmp_path(path, sizeof path, name);
    CHECKF(nac_audio_write_all(path, x, n, 22050, &e) == NAC_OK, "%s", e.msg);
    CHECKF(nac_audio_read_all(&y, &m, &info, path, &e) == NAC_OK, "%s", e.msg);
    CHECK(m == n);
    CHECK(info.sample_rate == 22050 && info.channels == 1 && info.frames == (int64_t)n);
    CHECKF(strstr(info.format, fmt_word) != NULL, "format '%s'", info.format);
    for (size_t i = 0; i < n; i++)
        CHECKF(x[i] == y[i], "sample %zu: wrote %.9g read %.9g", i, x[i], y[i]);
    free(x);
    free(y);
}

TEST(audio_wav_roundtrip_bitexact) { check_roundtrip(t_, "rt.wav", "WAV"); }
TEST(audio_flac_roundtrip_bitexact) { check_roundtrip(t_, "rt.FLAC", "FLAC"); }

TEST(audio_write_clips_and_zeroes_nan)
{
    char path[512];
    float x[5] = {1.5f, -2.0f, 1.0f, -1.0f, NAN}, *y = NULL;
    size_t m;
    nac_error e;
    tmp_path(path, sizeof path, "clip.wav");
    CHECKF(nac_audio_write_all(path, x, 5, 8000, &e) == NAC_OK, "%s", e.msg);
    CHECKF(nac_audio_read_all(&y, &m, NULL, path, &e) == NAC_OK, "%s", e.msg);
    CHECK(m == 5);
    CHECK(y[0] == 32767.0f / 32768.0f && y[1] == -1.0f && y[2] == 32767.0f / 32768.0f && y[3] == -1.0f);
    CHECK(y[4] == 0.0f);
    free(y);
}

TEST(audio_stereo_is_downmixed)
{
    char path[512];
    enum { N = 5000 };
    SF_INFO si = {.samplerate = 16000, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    float *lr = malloc(2 * N * sizeof *lr), *y = NULL;
    size_t m;
    nac_audio_info info;
    nac_error e;
    SNDFILE *f;
    tmp_path(path, sizeof path, "stereo.wav");
    for (int i = 0; i < N; i++) {
        lr[2 * i] = 0.5f * sinf(0.01f * (float)i);
        lr[2 * i + 1] = (i % 7) * 0.1f - 0.3f;
    }
    f = sf_open(path, SFM_WRITE, &si);
    CHECK(f != NULL);
    CHECK(sf_writef_float(f, lr, N) == N);
    sf_close(f);
    CHECKF(nac_audio_read_all(&y, &m, &info, path, &e) == NAC_OK, "%s", e.msg);
    CHECK(m == N && info.channels == 2 && info.sample_rate == 16000);
    for (int i = 0; i < N; i++)
        CHECK_NEAR(y[i], 0.5 * ((double)lr[2 * i] + lr[2 * i + 1]), 1e-7);
    free(lr);
    free(y);
}

static void expect_open_error(nac_test *t_, const char *path, int code, const char *word)
{
    nac_audio_reader *r = NULL;
    float *y = NULL;
    size_t m = 0;
    nac_error e;
    nac_error_clear(&e);
    int rc = nac_audio_reader_open(&r, path, &e);
    CHECKF(rc == code, "%s: status %d (%s), expected %d", path, rc, e.msg, code);
    CHECK(r == NULL);
    CHECKF(strstr(e.msg, word) != NULL, "%s: message '%s' lacks '%s'", path, e.msg, word);
    CHECK(strchr(e.msg, '\n') == NULL);
    CHECK(nac_audio_read_all(&y, &m, NULL, path, NULL) == code);
    CHECK(y == NULL && m == 0);
}

TEST(audio_bad_inputs_give_status_and_message)
{
    char dir[512], path[512], good[512];
    unsigned char junk[3000];
    nac_rng g;
    float x[1000];
    nac_error e;
    nac_rng_seed(&g, 3);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)nac_rng_below(&g, 256);
    for (int i = 0; i < 1000; i++)
        x[i] = (float)(i - 500) / 32768.0f;

    tmp_path(path, sizeof path, "missing.wav");
    expect_open_error(t_, path, NAC_ERR_IO, "no such file");
    if (t_->failed)
        return;

    tmp_path(path, sizeof path, "empty.wav");
    CHECK(write_bytes(path, "", 0) == 0);
    expect_open_error(t_, path, NAC_ERR_EMPTY, "empty");
    if (t_->failed)
        return;

    tmp_path(dir, sizeof dir, "a_dir.wav");
    CHECK(mkdir(dir, 0755) == 0);
    expect_open_error(t_, dir, NAC_ERR_IO, "directory");
    if (t_->failed)
        return;

    tmp_path(path, sizeof path, "text.wav");
    CHECK(write_bytes(path, "hello, this is not audio\n", 25) == 0);
    expect_open_error(t_, path, NAC_ERR_FORMAT, "not a readable audio file");
    if (t_->failed)
        return;

    tmp_path(path, sizeof path, "random.flac");
    CHECK(write_bytes(path, junk, sizeof junk) == 0);
    expect_open_error(t_, path, NAC_ERR_FORMAT, "not a readable audio file");
    if (t_->failed)
        return;

    /* A valid WAV cut inside its header. */
    tmp_path(good, sizeof good, "good.wav");
    CHECKF(nac_audio_write_all(good, x, 1000, 16000, &e) == NAC_OK, "%s", e.msg);
    CHECK(file_size(good) == 44 + 2000);
    {
        unsigned char buf[2044];
        FILE *f = fopen(good, "rb");
        CHECK(f && fread(buf, 1, sizeof buf, f) == sizeof buf);
        fclose(f);
        tmp_path(path, sizeof path, "cut_header.wav");
        CHECK(write_bytes(path, buf, 30) == 0);
        expect_open_error(t_, path, NAC_ERR_FORMAT, "cut_header.wav");
        if (t_->failed)
            return;
        /* A header that promises no samples. */
        tmp_path(path, sizeof path, "no_samples.wav");
        CHECK(nac_audio_write_all(path, x, 0, 16000, &e) == NAC_OK);
        expect_open_error(t_, path, NAC_ERR_EMPTY, "no audio samples");
        if (t_->failed)
            return;

        /* Cut inside the data (header says 1000 samples, 600.5 are there): we read the 600
         * whole samples that are there, exactly, like sox and ffmpeg do. */
        float *y = NULL;
        size_t m = 0;
        tmp_path(path, sizeof path, "cut_data.wav");
        CHECK(write_bytes(path, buf, 44 + 1201) == 0);
        CHECKF(nac_audio_read_all(&y, &m, NULL, path, &e) == NAC_OK, "%s", e.msg);
        CHECKF(m == 600, "read %zu samples", m);
        for (size_t i = 0; i < m; i++)
            CHECK(y[i] == x[i]);
        free(y);
    }

    /* Writer: unknown extension, unwritable place. */
    CHECK(nac_audio_write_all("out.mp3", x, 10, 16000, &e) == NAC_ERR_ARG);
    CHECK(strstr(e.msg, ".wav") != NULL);
    tmp_path(path, sizeof path, "no/such/dir/out.wav");
    CHECK(nac_audio_write_all(path, x, 10, 16000, &e) == NAC_ERR_IO);
    CHECK(nac_audio_write_all(good, x, 10, 0, &e) == NAC_ERR_ARG);
}

/* "-" reads stdin: a FLAC file through a pipe (libsndfile alone cannot decode FLAC from one). */
TEST(audio_stdin_pipe_flac)
{
    char path[512];
    size_t n = 4000, m = 0;
    float *x = int16_signal(n, 11), *y = NULL;
    unsigned char *bytes = malloc(65536);
    int p[2], saved;
    long len;
    nac_audio_info info;
    nac_error e;
    int rc;
    tmp_path(path, sizeof path, "pipe.flac");
    CHECKF(nac_audio_write_all(path, x, n, 16000, &e) == NAC_OK, "%s", e.msg);
    len = file_size(path);
    CHECK(len > 0 && len < 60000); /* fits in a pipe buffer, so no second process is needed */
    {
        FILE *f = fopen(path, "rb");
        CHECK(f && fread(bytes, 1, (size_t)len, f) == (size_t)len);
        fclose(f);
    }
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], bytes, (size_t)len) == len);
    close(p[1]);
    saved = dup(0);
    dup2(p[0], 0);
    close(p[0]);
    rc = nac_audio_read_all(&y, &m, &info, "-", &e);
    dup2(saved, 0);
    close(saved);
    CHECKF(rc == NAC_OK, "%s", e.msg);
    CHECK(m == n && info.sample_rate == 16000);
    for (size_t i = 0; i < n; i++)
        CHECK(x[i] == y[i]);
    free(x);
    free(y);
    free(bytes);
}

/* "-" writes WAV to stdout; to a pipe the header says "length unknown" and readers still get
 * every sample. */
TEST(audio_stdout_pipe_wav)
{
    char path[512];
    size_t n = 3000, m = 0;
    float *x = int16_signal(n, 5), *y = NULL;
    unsigned char *bytes = malloc(65536);
    int p[2], saved, rc;
    ssize_t got, total = 0;
    nac_error e;
    CHECK(pipe(p) == 0);
    fflush(stdout);
    saved = dup(1);
    dup2(p[1], 1);
    close(p[1]);
    rc = nac_audio_write_all("-", x, n, 16000, &e);
    dup2(saved, 1);
    close(saved);
    CHECKF(rc == NAC_OK, "%s", e.msg);
    while ((got = read(p[0], bytes + total, (size_t)(65536 - total))) > 0)
        total += got;
    close(p[0]);
    CHECKF(total == 44 + 2 * (ssize_t)n, "%zd bytes", total);
    CHECK(memcmp(bytes, "RIFF", 4) == 0 && memcmp(bytes + 36, "data", 4) == 0);
    tmp_path(path, sizeof path, "from_pipe.wav");
    CHECK(write_bytes(path, bytes, (size_t)total) == 0);
    CHECKF(nac_audio_read_all(&y, &m, NULL, path, &e) == NAC_OK, "%s", e.msg);
    CHECK(m == n);
    for (size_t i = 0; i < n; i++)
        CHECK(x[i] == y[i]);
    free(x);
    free(y);
    free(bytes);
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* 10 minutes at 16 kHz (19 MB of WAV) written and read back in blocks; the heap never holds
 * more than a small fraction of it. */
TEST(audio_long_file_streams_in_bounded_memory)
{
    enum { SR = 16000, BLK = 1000 };
    const size_t n = (size_t)SR * 600;
    char path[512];
    float buf[BLK];
    size_t done = 0, got, base, peak = 0;
    nac_audio_writer *w = NULL;
    nac_audio_reader *r = NULL;
    nac_error e;
    tmp_path(path, sizeof path, "long.wav");
    base = heap_in_use();
    CHECKF(nac_audio_writer_open(&w, path, SR, &e) == NAC_OK, "%s", e.msg);
    for (size_t i = 0; i < n; i += BLK) {
        for (int j = 0; j < BLK; j++)
            buf[j] = (float)((int)((i + (size_t)j) % 65536) - 32768) / 32768.0f;
        CHECKF(nac_audio_writer_write(w, buf, BLK, &e) == NAC_OK, "%s", e.msg);
        if (heap_in_use() > peak)
            peak = heap_in_use();
    }
    CHECKF(nac_audio_writer_close(w, &e) == NAC_OK, "%s", e.msg);
    CHECK(file_size(path) == (long)(44 + 2 * n));

    CHECKF(nac_audio_reader_open(&r, path, &e) == NAC_OK, "%s", e.msg);
    CHECK(nac_audio_reader_info(r)->frames == (int64_t)n);
    for (;;) {
        CHECKF(nac_audio_reader_read(r, buf, BLK, &got, &e) == NAC_OK, "%s", e.msg);
        if (heap_in_use() > peak)
            peak = heap_in_use();
        if (!got)
            break;
        for (size_t j = 0; j < got; j++)
            if (buf[j] != (float)((int)((done + j) % 65536) - 32768) / 32768.0f)
                CHECKF(0, "sample %zu differs", done + j);
        done += got;
    }
    nac_audio_reader_close(r);
    CHECK(done == n);
    CHECKF(peak - base < (size_t)1 << 20, "heap grew by %zu bytes for a %zu-byte file", peak - base, 2 * n);
}

/* ---------------------------------------------------------------- resample */

static double snr_db(const float *ref, const float *x, size_t from, size_t to)
{
    double s = 0, d = 0;
    for (size_t i = from; i < to; i++) {
        s += (double)ref[i] * ref[i];
        d += ((double)x[i] - ref[i]) * ((double)x[i] - ref[i]);
    }
    return 10 * log10(s / (d + 1e-30));
}

TEST(resample_tone_roundtrip_snr)
{
    enum { N = 16000 };
    float *x = malloc(N * sizeof *x), *up = NULL, *down = NULL, *ideal;
    size_t nu, nd;
    nac_error e;
    for (int i = 0; i < N; i++)
        x[i] = 0.5f * sinf(2.0f * (float)M_PI * 1000.0f * (float)i / 16000.0f);
    CHECKF(nac_resample_all(&up, &nu, x, N, 16000, 48000, &e) == NAC_OK, "%s", e.msg);
    CHECK(nu == 3 * N);
    ideal = malloc(nu * sizeof *ideal);
    for (size_t i = 0; i < nu; i++)
        ideal[i] = (float)(0.5 * sin(2.0 * M_PI * 1000.0 * (double)i / 48000.0));
    double s_up = snr_db(ideal, up, 3000, nu - 3000);
    CHECKF(s_up > 60, "16k->48k SNR %.1f dB", s_up);
    CHECKF(nac_resample_all(&down, &nd, up, nu, 48000, 16000, &e) == NAC_OK, "%s", e.msg);
    CHECK(nd == N);
    double s_rt = snr_db(x, down, 1000, N - 1000);
    CHECKF(s_rt > 60, "16k->48k->16k SNR %.1f dB", s_rt);
    free(x);
    free(up);
    free(down);
    free(ideal);
}

TEST(resample_lengths_and_equal_rates)
{
    float x[12345], *y = NULL;
    size_t m;
    nac_error e;
    for (int i = 0; i < 12345; i++)
        x[i] = 0.001f * (float)(i % 100);
    CHECK(nac_resample_all(&y, &m, x, 12345, 44100, 16000, &e) == NAC_OK);
    CHECK(m == (size_t)llround(12345.0 * 16000 / 44100));
    free(y);
    CHECK(nac_resample_all(&y, &m, x, 7, 16000, 24000, &e) == NAC_OK);
    CHECK(m == 11);
    free(y);
    CHECK(nac_resample_all(&y, &m, x, 12345, 16000, 16000, &e) == NAC_OK);
    CHECK(m == 12345 && memcmp(x, y, sizeof x) == 0);
    free(y);
    CHECK(nac_resample_all(&y, &m, x, 0, 16000, 8000, &e) == NAC_OK);
    CHECK(m == 0);
    free(y);
    CHECK(nac_resample_all(&y, &m, x, 10, 16000, 0, &e) == NAC_ERR_ARG);
    CHECK(y == NULL);
}

/* Streaming in uneven chunks, with output buffers often too small, gives the same samples as
 * the whole-buffer call. */
TEST(resample_stream_matches_whole)
{
    enum { N = 20000 };
    const double rates[][2] = {{16000, 48000}, {44100, 16000}, {16000, 16000}};
    nac_rng g;
    float *x = malloc(N * sizeof *x), *y = malloc(4 * N * sizeof *y), *whole = NULL;
    nac_error e;
    nac_rng_seed(&g, 9);
    for (int i = 0; i < N; i++)
        x[i] = 0.3f * sinf(0.05f * (float)i) + 0.1f * (float)nac_rng_normal(&g);
    for (int k = 0; k < 3; k++) {
        nac_resampler *r = NULL;
        size_t nw, len = 0, pos = 0, got;
        CHECK(nac_resample_all(&whole, &nw, x, N, rates[k][0], rates[k][1], &e) == NAC_OK);
        CHECK(nac_resampler_create(&r, rates[k][0], rates[k][1], &e) == NAC_OK);
        while (pos < N) {
            size_t n = 1 + nac_rng_below(&g, 700), cap = 1 + nac_rng_below(&g, 900);
            if (n > N - pos)
                n = N - pos;
            CHECK(nac_resampler_process(r, y + len, cap, &got, x + pos, n, &e) == NAC_OK);
            CHECK(got <= cap);
            pos += n;
            len += got;
        }
        do {
            CHECK(nac_resampler_process(r, y + len, 333, &got, NULL, 0, &e) == NAC_OK);
            len += got;
        } while (got);
        CHECK(nac_resampler_process(r, y, 10, &got, x, 10, &e) == NAC_ERR_STATE);
        nac_resampler_destroy(r);
        CHECKF(len >= nw && len <= nw + 8, "stream gave %zu samples, whole %zu", len, nw);
        for (size_t i = 0; i < nw; i++)
            CHECK_NEAR(y[i], whole[i], 1e-5);
        free(whole);
        whole = NULL;
    }
    free(x);
    free(y);
}

/* A FLAC cut mid-stream: libFLAC cannot tell a cut from damage, so the reader reports
 * NAC_ERR_CORRUPT with how far it got (the streaming reader has delivered those samples). */
TEST(audio_truncated_flac_is_corrupt)
{
    char path[512], cut[512];
    size_t n = 20000, m = 7;
    float *x = int16_signal(n, 21), *y = NULL;
    unsigned char *bytes = malloc(100000);
    long len;
    nac_error e;
    tmp_path(path, sizeof path, "whole.flac");
    tmp_path(cut, sizeof cut, "cut.flac");
    CHECKF(nac_audio_write_all(path, x, n, 16000, &e) == NAC_OK, "%s", e.msg);
    len = file_size(path);
    CHECK(len > 1000 && len <= 100000);
    {
        FILE *f = fopen(path, "rb");
        CHECK(f && fread(bytes, 1, (size_t)len, f) == (size_t)len);
        fclose(f);
    }
    CHECK(write_bytes(cut, bytes, (size_t)len / 2) == 0);
    CHECK(nac_audio_read_all(&y, &m, NULL, cut, &e) == NAC_ERR_CORRUPT);
    CHECK(y == NULL && m == 0);
    CHECKF(strstr(e.msg, "cut.flac") && strstr(e.msg, "decoding failed"), "%s", e.msg);
    free(x);
    free(bytes);
}

/* Ogg/Vorbis (lossy) stereo, written with libsndfile directly: read as its mono average. */
TEST(audio_ogg_vorbis_stereo)
{
    char path[512];
    enum { N = 16000 };
    SF_INFO si = {.samplerate = 16000, .channels = 2, .format = SF_FORMAT_OGG | SF_FORMAT_VORBIS};
    float *lr = malloc(2 * N * sizeof *lr), *y = NULL;
    size_t m;
    nac_audio_info info;
    nac_error e;
    SNDFILE *f;
    tmp_path(path, sizeof path, "tone.ogg");
    for (int i = 0; i < N; i++)
        lr[2 * i] = lr[2 * i + 1] = 0.5f * sinf(2.0f * (float)M_PI * 440.0f * (float)i / 16000.0f);
    f = sf_open(path, SFM_WRITE, &si);
    if (!f)
        SKIP("this libsndfile cannot write Ogg/Vorbis (%s)", sf_strerror(NULL));
    CHECK(sf_writef_float(f, lr, N) == N);
    sf_close(f);
    CHECKF(nac_audio_read_all(&y, &m, &info, path, &e) == NAC_OK, "%s", e.msg);
    CHECK(m == N && info.channels == 2);
    CHECKF(strstr(info.format, "OGG") != NULL, "%s", info.format);
    double s = 0, d = 0;
    for (int i = 1000; i < N - 1000; i++) {
        s += (double)lr[2 * i] * lr[2 * i];
        d += ((double)y[i] - lr[2 * i]) * ((double)y[i] - lr[2 * i]);
    }
    CHECKF(10 * log10(s / d) > 20, "Vorbis SNR %.1f dB", 10 * log10(s / d));
    free(lr);
    free(y);
}

/* Headerless PCM: the bytes as described, little- and big-endian, stereo averaged, a trailing partial
 * frame left out; unknown encodings and impossible rates refused with the list of names. */
TEST(audio_raw_pcm_as_described)
{
    char path[512];
    enum { N = 1000 };
    int16_t le[2 * N];
    unsigned char be[2 * N + 1];
    float f[N];
    for (int i = 0; i < N; i++) {
        int v = (i * 37) % 65536 - 32768;
        le[2 * i] = (int16_t)v;
        le[2 * i + 1] = (int16_t)(v / 2);
        be[2 * i] = (unsigned char)((unsigned)v >> 8);
        be[2 * i + 1] = (unsigned char)(v & 0xFF);
        f[i] = (float)v / 32768.0f;
    }
    be[2 * N] = 0x7F; /* half a sample more */
    nac_audio_raw raw;
    nac_audio_reader *r = NULL;
    nac_error e;
    float y[N + 8];
    size_t got = 0;

    tmp_path(path, sizeof path, "stereo_s16le.raw");
    CHECK(write_bytes(path, le, sizeof le) == 0);
    CHECK(nac_audio_raw_set(&raw, "s16le", 8000, 2, &e) == NAC_OK);
    CHECKF(nac_audio_reader_open_raw(&r, path, &raw, &e) == NAC_OK, "%s", e.msg);
    CHECK(nac_audio_reader_info(r)->sample_rate == 8000 && nac_audio_reader_info(r)->frames == N);
    CHECK(nac_audio_reader_read(r, y, N + 8, &got, &e) == NAC_OK && got == N);
    for (int i = 0; i < N; i++)
        CHECK_NEAR(y[i], 0.5 * ((double)le[2 * i] + le[2 * i + 1]) / 32768.0, 1e-7);
    nac_audio_reader_close(r);

    tmp_path(path, sizeof path, "mono_s16be.raw");
    CHECK(write_bytes(path, be, sizeof be) == 0);
    CHECK(nac_audio_raw_set(&raw, "s16be", 16000, 1, &e) == NAC_OK);
    CHECKF(nac_audio_reader_open_raw(&r, path, &raw, &e) == NAC_OK, "%s", e.msg);
    CHECK(nac_audio_reader_read(r, y, N + 8, &got, &e) == NAC_OK && got == N);
    for (int i = 0; i < N; i++)
        CHECK(y[i] == f[i]);
    nac_audio_reader_close(r);

    tmp_path(path, sizeof path, "mono_f32le.raw");
    CHECK(write_bytes(path, f, sizeof f) == 0);
    CHECK(nac_audio_raw_set(&raw, "f32le", 16000, 1, &e) == NAC_OK);
    CHECKF(nac_audio_reader_open_raw(&r, path, &raw, &e) == NAC_OK, "%s", e.msg);
    CHECK(nac_audio_reader_read(r, y, N + 8, &got, &e) == NAC_OK && got == N);
    CHECK(memcmp(y, f, sizeof f) == 0);
    nac_audio_reader_close(r);

    CHECK(nac_audio_raw_set(&raw, "s17le", 16000, 1, &e) == NAC_ERR_ARG && strstr(e.msg, "s16le"));
    CHECK(nac_audio_raw_set(&raw, "s16le", 0, 1, &e) == NAC_ERR_ARG);
    CHECK(nac_audio_raw_set(&raw, "s16le", 16000, 0, &e) == NAC_ERR_ARG);
    tmp_path(path, sizeof path, "empty.raw");
    CHECK(write_bytes(path, "", 0) == 0);
    CHECK(nac_audio_raw_set(&raw, "s16le", 16000, 1, &e) == NAC_OK);
    CHECK(nac_audio_reader_open_raw(&r, path, &raw, &e) == NAC_ERR_EMPTY && !r);
}
