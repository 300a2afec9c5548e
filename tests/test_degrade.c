/* Tests of src/degrade: the G.711 tables (round trips, monotonic, known codes), linear
 * quantisation error bounds, sample-and-hold, FIR band limits, narrowband conversion, SNR of
 * mixtures, deterministic noise draws, and `nac degrade` on good and bad input. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "audio/audio_file.h"
#include "core/rng.h"
#include "degrade/degrade.h"
#include "degrade/noise.h"
#include "metrics/metrics.h"

TEST(degrade_g711_tables)
{
    /* every code decodes to a value that encodes back to the same code (except mu-law's two zeros) */
    for (int c = 0; c < 256; c++) {
        int16_t v = nac_alaw_decode((uint8_t)c);
        CHECKF(nac_alaw_encode(v) == c, "A-law code %d -> %d -> %d", c, v, nac_alaw_encode(v));
        v = nac_mulaw_decode((uint8_t)c);
        CHECKF(nac_mulaw_encode(v) == c || (v == 0 && (c == 0x7f || c == 0xff)), "mu-law code %d -> %d -> %d", c, v,
               nac_mulaw_encode(v));
    }
    /* known values of the standard: mu-law 0 -> 0xFF, full scale -> 0x80; A-law +0 -> 0xD5 */
    CHECK(nac_mulaw_encode(0) == 0xFF);
    CHECK(nac_mulaw_encode(32767) == 0x80);
    CHECK(nac_mulaw_encode(-32768) == 0x00);
    CHECK(nac_alaw_encode(0) == 0xD5);
    CHECK(nac_alaw_encode(-1) == 0x55);
    CHECK(nac_mulaw_decode(0x80) == 32124);
    CHECK(nac_alaw_decode(0xAA) == 32256);
    /* monotonic in the input */
    int last_m = -40000, last_a = -40000;
    for (int s = -32768; s <= 32767; s += 7) {
        int m = nac_mulaw_decode(nac_mulaw_encode((int16_t)s)), a = nac_alaw_decode(nac_alaw_encode((int16_t)s));
        CHECKF(m >= last_m && a >= last_a, "not monotonic at %d", s);
        last_m = m;
        last_a = a;
    }
}

static double snr_of(const float *x, const float *y, size_t n)
{
    double s;
    return nac_snr(&s, x, y, n, NULL) == NAC_OK ? s : -999;
}

TEST(degrade_quantisers_error)
{
    enum { N = 16000 };
    static float x[N], y[N];
    nac_rng r;
    nac_rng_seed(&r, 4);
    for (int i = 0; i < N; i++)
        x[i] = (float)(0.3 * sin(0.031 * i) + 0.05 * nac_rng_normal(&r));
    nac_degrade_bits(y, x, N, 8);
    double worst = 0;
    for (int i = 0; i < N; i++)
        worst = fmax(worst, fabs(y[i] - x[i]));
    CHECKF(worst <= 0.5 / 128 + 1e-7, "8-bit error %g above half a step", worst);
    double s8 = snr_of(x, y, N);
    nac_degrade_bits(y, x, N, 12);
    double s12 = snr_of(x, y, N);
    CHECKF(s12 > s8 + 20, "12 bits (%.1f dB) should beat 8 bits (%.1f dB) by about 24 dB", s12, s8);
    nac_degrade_mulaw(y, x, N);
    double sm = snr_of(x, y, N);
    nac_degrade_alaw(y, x, N);
    double sa = snr_of(x, y, N);
    CHECKF(sm > 30 && sm < 45 && sa > 30 && sa < 45, "G.711 SNR mu %.1f A %.1f dB, expected 30-45", sm, sa);
    /* companding keeps quiet signals: at -40 dB, mu-law beats 8-bit linear by far */
    for (int i = 0; i < N; i++)
        x[i] *= 0.01f;
    nac_degrade_mulaw(y, x, N);
    sm = snr_of(x, y, N);
    nac_degrade_bits(y, x, N, 8);
    s8 = snr_of(x, y, N);
    CHECKF(sm > s8 + 15, "quiet signal: mu-law %.1f dB vs linear %.1f dB", sm, s8);
    /* sample-and-hold */
    nac_degrade_hold(y, x, N, 3);
    for (int i = 0; i < N; i++)
        CHECK(y[i] == x[i - i % 3]);
    /* in place equals out of place */
    memcpy(y, x, sizeof x);
    nac_degrade_alaw(y, y, N);
    static float z[N];
    nac_degrade_alaw(z, x, N);
    CHECK(!memcmp(y, z, sizeof y));
}

/* Power of a sine of frequency hz after the filter, relative to before, in dB. */
static double sine_gain_db(double hz, double cut, int high)
{
    enum { N = 8000 };
    static float x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = (float)sin(2 * M_PI * hz * i / 16000.0);
    if ((high ? nac_degrade_highpass : nac_degrade_lowpass)(y, x, N, 16000, cut, NULL))
        return 999;
    double a = 0, b = 0;
    for (int i = 1000; i < N - 1000; i++) {
        a += (double)x[i] * x[i];
        b += (double)y[i] * y[i];
    }
    return 10 * log10(b / a);
}

TEST(degrade_band_limits)
{
    CHECK(fabs(sine_gain_db(1000, 4000, 0)) < 0.1);
    CHECK(sine_gain_db(5000, 4000, 0) < -50);
    CHECK(sine_gain_db(100, 300, 1) < -30);
    CHECK(fabs(sine_gain_db(1000, 300, 1)) < 0.1);
    nac_error e;
    float x[10] = {0};
    CHECK(nac_degrade_lowpass(x, x, 10, 16000, 9000, &e) == NAC_ERR_ARG);
    CHECK(nac_degrade_lowpass(x, x, 10, 16000, 0, &e) == NAC_ERR_ARG);
    /* narrowband: half the samples, and a 3 kHz tone survives while a 5 kHz one cannot exist */
    enum { N = 16000 };
    static float s[N];
    for (int i = 0; i < N; i++)
        s[i] = (float)(0.5 * sin(2 * M_PI * 3000 * i / 16000.0));
    float *nb = NULL;
    size_t nn = 0;
    CHECK(nac_degrade_narrowband(&nb, &nn, s, N, 16000, 8000, 1, &e) == NAC_OK);
    CHECK(nn == N / 2);
    double p = 0;
    for (size_t i = 1000; i < nn - 1000; i++)
        p += (double)nb[i] * nb[i];
    p /= (double)(nn - 2000);
    CHECKF(fabs(10 * log10(p / 0.125)) < 0.5, "3 kHz tone through the telephone band: %.2f dB", 10 * log10(p / 0.125));
    free(nb);
}

TEST(degrade_mix_snr)
{
    enum { N = 8000 };
    static float s[N], n[N], y[N], d[N];
    nac_rng r;
    nac_rng_seed(&r, 8);
    for (int i = 0; i < N; i++) {
        s[i] = (float)(0.2 * sin(0.05 * i));
        n[i] = (float)nac_rng_normal(&r);
    }
    double g;
    nac_error e;
    CHECK(nac_degrade_mix(y, s, n, N, 7.5, &g, &e) == NAC_OK);
    for (int i = 0; i < N; i++)
        d[i] = y[i] - s[i];
    double es = 0, en = 0;
    for (int i = 0; i < N; i++) {
        es += (double)s[i] * s[i];
        en += (double)d[i] * d[i];
    }
    CHECK_NEAR(10 * log10(es / en), 7.5, 1e-3);
    memset(n, 0, sizeof n);
    CHECK(nac_degrade_mix(y, s, n, N, 5, NULL, &e) == NAC_ERR_EMPTY);
    n[3] = NAN;
    CHECK(nac_degrade_mix(y, s, n, N, 5, NULL, &e) == NAC_ERR_NUMERIC);
}

TEST(degrade_noise_draws_deterministic)
{
    enum { T = 4000, F = 3 };
    nac_dataset ds = {0};
    float *audio[F];
    size_t len[F];
    for (int f = 0; f < F; f++) {
        len[f] = 6000 + 1000 * (size_t)f;
        audio[f] = malloc(len[f] * sizeof(float));
        for (size_t i = 0; i < len[f]; i++)
            audio[f][i] = (float)sin(0.01 * (f + 1) * (double)i) + (i >= len[f] * 3 / 4 ? 5.0f : 0.0f);
    }
    ds.n_files = F;
    ds.audio = audio;
    ds.len = len;
    for (int f = 0; f < F; f++)
        ds.total += len[f];
    nac_noise_bank b;
    nac_noise_bank_init(&b, &ds, NULL, NULL);
    b.augment = 0;
    b.p_synth = 0;
    b.to = 0.75;
    static float x[T], y[T], sc[2 * T];
    nac_rng r1, r2;
    nac_rng_seed(&r1, 11);
    nac_rng_seed(&r2, 11);
    for (int k = 0; k < 20; k++) {
        CHECK(nac_noise_draw(x, sc, &b, &r1, T) == NAC_NOISE_FILE);
        nac_noise_draw(y, sc, &b, &r2, T);
        CHECK(!memcmp(x, y, sizeof x));
        for (int t = 0; t < T; t++) /* the held-out last quarter (offset by 5) is never used */
            CHECKF(x[t] < 2, "draw %d reaches the held-out part at %d", k, t);
    }
    b.augment = 1;
    b.p_synth = 1;
    for (int k = 0; k < 20; k++) {
        nac_noise_draw(x, sc, &b, &r1, T);
        double e = 0;
        for (int t = 0; t < T; t++)
            e += (double)x[t] * x[t];
        CHECK(e > 0 && isfinite(e));
    }
    for (int f = 0; f < F; f++)
        free(audio[f]);
}

TEST(degrade_cli)
{
    const char *bin = nac_test_bin(), *tmp = nac_test_tmp_dir(), *fx = nac_test_fixture_dir();
    CHECK(nac_test_sh("%s degrade %s/speech_thorsten_de.flac %s/deg_u.wav --mulaw 2>/dev/null", bin, fx, tmp) == 0);
    CHECK(nac_test_sh("%s degrade %s/speech_thorsten_de.flac %s/deg_n8.wav --telephone 2>/dev/null", bin, fx, tmp) == 0);
    CHECK(nac_test_sh("%s degrade %s/speech_thorsten_de.flac %s/deg_h.wav --hold 3 --bits 10 2>/dev/null", bin, fx, tmp) == 0);
    float *x = NULL;
    size_t n = 0;
    nac_audio_info info;
    char p[512];
    snprintf(p, sizeof p, "%s/deg_n8.wav", tmp);
    CHECK(nac_audio_read_all(&x, &n, &info, p, NULL) == NAC_OK);
    CHECK(info.sample_rate == 8000 && n > 40000);
    free(x);
    /* the same seed gives the same mixture; another seed another */
    CHECK(nac_test_sh("%s degrade %s/metrics_clean_16k.wav %s/deg_a.wav --noise %s --snr 0:10 --seed 5 2>/dev/null && "
                      "%s degrade %s/metrics_clean_16k.wav %s/deg_b.wav --noise %s --snr 0:10 --seed 5 2>/dev/null && "
                      "cmp -s %s/deg_a.wav %s/deg_b.wav", bin, fx, tmp, fx, bin, fx, tmp, fx, tmp, tmp) == 0);
    CHECK(nac_test_sh("%s degrade %s/metrics_clean_16k.wav %s/deg_c.wav --noise %s --snr 0:10 --seed 6 2>/dev/null && "
                      "cmp -s %s/deg_a.wav %s/deg_c.wav", bin, fx, tmp, fx, tmp, tmp) == 1);
    /* usage errors exit 2; bad input exits 1 with one line */
    CHECK(nac_test_sh("%s degrade %s/speech_thorsten_de.flac %s/deg_x.wav 2>/dev/null", bin, fx, tmp) == 2);
    CHECK(nac_test_sh("%s degrade %s/speech_thorsten_de.flac %s/deg_x.wav --bits 40 2>/dev/null", bin, fx, tmp) == 2);
    CHECK(nac_test_sh("%s degrade %s/speech_thorsten_de.flac %s/deg_x.wav --mulaw --alaw 2>/dev/null", bin, fx, tmp) == 2);
    CHECK(nac_test_sh(": > %s/deg_empty.wav; %s degrade %s/deg_empty.wav %s/deg_x.wav --mulaw 2>/dev/null", tmp, bin, tmp, tmp) == 1);
    CHECK(nac_test_sh("head -c 3000 %s/speech_thorsten_de.flac > %s/deg_cut.flac; %s degrade %s/deg_cut.flac %s/deg_x.wav --mulaw "
                      "2>/dev/null; test $? -le 1", fx, tmp, bin, tmp, tmp) == 0);
    CHECK(nac_test_sh("%s degrade %s/speech_thorsten_de.flac %s/deg_x.wav --noise /nonexistent 2>/dev/null", bin, fx,
                      tmp) == 1);
}
