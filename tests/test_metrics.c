/* Tests of src/metrics: limiting cases, gain and delay behaviour, SNR of seeded noise, STOI and
 * ESTOI against an independent numpy implementation (tests/fixtures/gen_stoi.py). */
#include "test.h"

#include "audio/audio_file.h"
#include "core/rng.h"
#include "dsp/resample.h"
#include "dsp/stft.h"
#include "metrics/metrics.h"

#include <stdlib.h>
#include <string.h>

/* The 2.5 s, 16 kHz speech fixture (or another fixture file); NULL if unreadable. */
static float *read_fixture(const char *name, size_t *n, int *rate)
{
    char path[512];
    nac_audio_info info;
    float *x = NULL;
    snprintf(path, sizeof path, "%s/%s", nac_test_fixture_dir(), name);
    if (nac_audio_read_all(&x, n, &info, path, NULL) < 0)
        return NULL;
    *rate = info.sample_rate;
    return x;
}

static double energy(const float *x, size_t n)
{
    double e = 0.0;
    for (size_t i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return e;
}

/* deg (n) = ref + white Gaussian noise of variance mean(ref^2) / 10^(snr/10), seeded. */
static void add_noise(float *deg, const float *ref, size_t n, double snr_db, uint64_t seed)
{
    nac_rng r;
    nac_rng_seed(&r, seed);
    double sigma = sqrt(energy(ref, n) / (double)n / pow(10.0, snr_db / 10.0));
    for (size_t i = 0; i < n; i++)
        deg[i] = ref[i] + (float)(sigma * nac_rng_normal(&r));
}

TEST(metrics_identical_signals)
{
    size_t n;
    int sr;
    nac_metrics m;
    nac_error e;
    float *x = read_fixture("metrics_clean_16k.wav", &n, &sr);
    CHECK(x != NULL);
    int rc = nac_metrics_compute(&m, x, n, x, n, sr, NULL, &e);
    free(x);
    CHECKF(rc == NAC_OK, "%s", nac_error_message(&e));
    CHECK(isinf(m.snr) && m.snr > 0);
    CHECK(isinf(m.si_sdr) && m.si_sdr > 0);
    CHECK_NEAR(m.seg_snr, 35.0, 0.0);
    CHECK_NEAR(m.lsd, 0.0, 0.0);
    CHECK_NEAR(m.mel_distance, 0.0, 0.0);
    CHECK_NEAR(m.stoi, 1.0, 1e-9);
    CHECK_NEAR(m.estoi, 1.0, 1e-9);
    CHECK(m.delay_samples == 0);
    CHECK(m.n_compared == n);
}

TEST(metrics_gain)
{
    size_t n;
    int sr;
    double snr, si0, si1, st0, st1, es0, es1;
    float *x = read_fixture("metrics_clean_16k.wav", &n, &sr);
    float *y = malloc(n * sizeof *y), *z = malloc(n * sizeof *z);
    CHECK(x && y && z);
    /* Pure gain g: the error is (1 - g) ref, so SNR = -20 log10 |1 - g|. */
    const double gains[] = {0.5, 0.9, 1.5, 3.0};
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < n; i++)
            y[i] = (float)gains[k] * x[i];
        CHECK(nac_snr(&snr, x, y, n, NULL) == NAC_OK);
        CHECK_NEAR(snr, -20.0 * log10(fabs(1.0 - gains[k])), 1e-4);
        CHECK(nac_si_sdr(&si0, x, y, n, NULL) == NAC_OK);
        CHECK(si0 > 100.0);
    }
    /* A noisy signal and its scaled copies: SI-SDR and STOI do not move, SNR does. */
    add_noise(y, x, n, 5.0, 7);
    CHECK(nac_si_sdr(&si0, x, y, n, NULL) == NAC_OK);
    CHECK(nac_stoi_estoi(&st0, &es0, x, y, n, sr, NULL) == NAC_OK);
    CHECK(nac_snr(&snr, x, y, n, NULL) == NAC_OK);
    CHECK_NEAR(snr, 5.0, 0.1);
    for (size_t i = 0; i < n; i++)
        z[i] = 0.3f * y[i];
    CHECK(nac_si_sdr(&si1, x, z, n, NULL) == NAC_OK);
    CHECK(nac_stoi_estoi(&st1, &es1, x, z, n, sr, NULL) == NAC_OK);
    CHECK_NEAR(si1, si0, 1e-4);
    CHECK_NEAR(st1, st0, 1e-5);
    CHECK_NEAR(es1, es0, 1e-5);
    CHECK(nac_snr(&snr, x, z, n, NULL) == NAC_OK);
    CHECK(snr < 3.0);
    free(x);
    free(y);
    free(z);
}

TEST(metrics_delay_recovered)
{
    size_t n;
    int sr;
    nac_error e;
    float *x = read_fixture("metrics_clean_16k.wav", &n, &sr);
    float *y = malloc((n + 1000) * sizeof *y), *noisy = malloc(n * sizeof *noisy);
    CHECK(x && y && noisy);
    add_noise(noisy, x, n, 0.0, 11);
    const long delays[] = {37, -37, 480, -480, 0, 1};
    for (int k = 0; k < 6; k++) {
        for (int with_noise = 0; with_noise < 2; with_noise++) {
            const float *src = with_noise ? noisy : x;
            long d = delays[k], got = 99999;
            /* deg[i] = src[i - d]: late by d samples (zeros in front), or early (cut). */
            size_t ny = 0;
            if (d >= 0) {
                memset(y, 0, (size_t)d * sizeof *y);
                memcpy(y + d, src, n * sizeof *y);
                ny = n + (size_t)d;
            } else {
                memcpy(y, src + (-d), (n - (size_t)(-d)) * sizeof *y);
                ny = n - (size_t)(-d);
            }
            int rc = nac_align_delay(&got, x, n, y, ny, sr, 0.5, &e);
            CHECKF(rc == NAC_OK, "%s", nac_error_message(&e));
            CHECKF(got == d, "delay %ld (noise %d): estimated %ld", d, with_noise, got);
            if (!with_noise) {
                nac_metrics m;
                rc = nac_metrics_compute(&m, x, n, y, ny, sr, NULL, &e);
                CHECKF(rc == NAC_OK, "%s", nac_error_message(&e));
                CHECK(m.delay_samples == d);
                CHECK(isinf(m.snr));
                CHECK_NEAR(m.stoi, 1.0, 1e-9);
            }
        }
    }
    free(x);
    free(y);
    free(noisy);
}

TEST(metrics_delay_with_invented_phase)
{
    /* A "decoder" that keeps STFT magnitudes but makes up phases: istft(|X| e^{i phi}) with a
     * causal sqrt-Hann STFT delays by n_fft - hop = 384 samples. The waveform correlation is
     * meaningless here; the envelope stage must still land within 2 envelope hops (64). */
    size_t n;
    int sr;
    nac_stft *s = NULL;
    nac_rng r;
    float *x = read_fixture("metrics_clean_16k.wav", &n, &sr);
    CHECK(x != NULL);
    const int n_fft = 512, hop = 128;
    int T = (int)(n / hop) * hop, Tf = T / hop, F = n_fft / 2 + 1;
    float *re = malloc((size_t)F * Tf * sizeof *re), *im = malloc((size_t)F * Tf * sizeof *im);
    float *y = malloc((size_t)T * sizeof *y);
    CHECK(re && im && y);
    CHECK(nac_stft_create(&s, n_fft, hop, NAC_WINDOW_SQRT_HANN, NULL) == NAC_OK);
    nac_stft_forward(s, re, im, x, 1, T);
    nac_rng_seed(&r, 3);
    for (size_t i = 0; i < (size_t)F * Tf; i++) {
        double mag = hypot(re[i], im[i]), ph = 2.0 * M_PI * nac_rng_uniform(&r);
        re[i] = (float)(mag * cos(ph));
        im[i] = (float)(mag * sin(ph));
    }
    nac_istft_forward(s, y, re, im, 1, Tf);
    nac_stft_destroy(s);
    long d = 0;
    CHECK(nac_align_delay(&d, x, (size_t)T, y, (size_t)T, sr, 0.5, NULL) == NAC_OK);
    CHECKF(labs(d - (n_fft - hop)) <= 64, "estimated %ld, true %d", d, n_fft - hop);
    snprintf(t_->why, sizeof t_->why, "estimated %ld, true %d", d, n_fft - hop);
    free(x);
    free(re);
    free(im);
    free(y);
}

TEST(metrics_snr_of_white_noise)
{
    size_t n;
    int sr;
    float *x = read_fixture("metrics_clean_16k.wav", &n, &sr);
    float *y = malloc(n * sizeof *y);
    CHECK(x && y);
    const double levels[] = {-5.0, 0.0, 5.0, 10.0, 20.0, 40.0};
    for (int k = 0; k < 6; k++) {
        double snr, seg, si;
        add_noise(y, x, n, levels[k], 100 + (uint64_t)k);
        CHECK(nac_snr(&snr, x, y, n, NULL) == NAC_OK);
        CHECK_NEAR(snr, levels[k], 0.1);
        /* Uncorrelated noise: the projection barely changes, SI-SDR stays close to SNR. */
        CHECK(nac_si_sdr(&si, x, y, n, NULL) == NAC_OK);
        CHECK_NEAR(si, levels[k], 0.2);
        CHECK(nac_seg_snr(&seg, x, y, n, sr, 0.02, NULL) == NAC_OK);
        CHECK(seg >= -10.0 && seg <= 35.0);
    }
    free(x);
    free(y);
}

TEST(metrics_monotonic_in_snr)
{
    size_t n;
    int sr;
    float *x = read_fixture("metrics_clean_16k.wav", &n, &sr);
    float *y = malloc(n * sizeof *y);
    CHECK(x && y);
    const double levels[] = {-10.0, -5.0, 0.0, 5.0, 10.0, 20.0, 30.0};
    double prev[5] = {-1e9, -1e9, -1e9, 1e9, 1e9}; /* stoi, estoi, segsnr up; lsd, mel down */
    for (int k = 0; k < 7; k++) {
        double v[5];
        add_noise(y, x, n, levels[k], 42);
        CHECK(nac_stoi_estoi(&v[0], &v[1], x, y, n, sr, NULL) == NAC_OK);
        CHECK(nac_seg_snr(&v[2], x, y, n, sr, 0.02, NULL) == NAC_OK);
        CHECK(nac_lsd(&v[3], x, y, n, sr, NULL) == NAC_OK);
        CHECK(nac_mel_distance(&v[4], x, y, n, sr, NULL) == NAC_OK);
        CHECKF(v[0] > prev[0] && v[1] > prev[1] && v[2] > prev[2],
               "at %g dB: stoi %g estoi %g segsnr %g after %g %g %g", levels[k], v[0], v[1], v[2],
               prev[0], prev[1], prev[2]);
        CHECKF(v[3] < prev[3] && v[4] < prev[4], "at %g dB: lsd %g mel %g after %g %g",
               levels[k], v[3], v[4], prev[3], prev[4]);
        memcpy(prev, v, sizeof prev);
    }
    free(x);
    free(y);
}

/* Each line of metrics_stoi_ref.txt: clean.wav noisy.wav stoi estoi (numpy reference). */
TEST(metrics_stoi_matches_reference)
{
    char path[512], clean[128], noisy[128];
    double worst10 = 0.0, worst16 = 0.0, want_s, want_e;
    int lines = 0;
    snprintf(path, sizeof path, "%s/metrics_stoi_ref.txt", nac_test_fixture_dir());
    FILE *f = fopen(path, "r");
    CHECKF(f != NULL, "cannot open %s", path);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        size_t nx = 0, ny = 0;
        int srx = 0, sry = 0;
        double s, e;
        nac_error err;
        if (line[0] == '#' || sscanf(line, "%127s %127s %lf %lf", clean, noisy, &want_s, &want_e) != 4)
            continue;
        float *x = read_fixture(clean, &nx, &srx), *y = read_fixture(noisy, &ny, &sry);
        if (!x || !y || nx != ny || srx != sry) {
            free(x);
            free(y);
            fclose(f);
            CHECKF(0, "fixture %s / %s unreadable or mismatched", clean, noisy);
        }
        int rc = nac_stoi_estoi(&s, &e, x, y, nx, srx, &err);
        free(x);
        free(y);
        if (rc != NAC_OK)
            fclose(f);
        CHECKF(rc == NAC_OK, "%s: %s", noisy, nac_error_message(&err));
        /* Float envelopes against float64 numpy: rounding only (about 5e-7 seen). */
        double tol = 1e-5, dev = fmax(fabs(s - want_s), fabs(e - want_e));
        if (dev > tol)
            fclose(f);
        CHECKF(dev <= tol, "%s: stoi %.6f (numpy %.6f), estoi %.6f (numpy %.6f)", noisy, s,
               want_s, e, want_e);
        if (srx == 10000)
            worst10 = fmax(worst10, dev);
        else
            worst16 = fmax(worst16, dev);
        lines++;
    }
    fclose(f);
    CHECK(lines == 8);
    snprintf(t_->why, sizeof t_->why, "worst |C - numpy|: %.2g at 10 kHz, %.2g at 16 kHz", worst10,
             worst16);
}

TEST(metrics_errors)
{
    size_t n;
    int sr;
    double v;
    nac_metrics m;
    nac_error e;
    float *x = read_fixture("metrics_clean_16k.wav", &n, &sr);
    float *z = calloc(n, sizeof *z);
    CHECK(x && z);
    /* 0.3 s of speech is fewer than 30 STOI frames. */
    CHECK(nac_stoi(&v, x, x, (size_t)(0.3 * sr), sr, &e) == NAC_ERR_TRUNCATED);
    CHECK(strstr(nac_error_message(&e), "too short for STOI") != NULL);
    CHECK(nac_metrics_compute(&m, z, n, x, n, sr, NULL, &e) == NAC_ERR_EMPTY);
    CHECK(nac_metrics_compute(&m, x, 0, x, n, sr, NULL, &e) == NAC_ERR_EMPTY);
    x[5] = NAN;
    CHECK(nac_snr(&v, x, x, n, &e) == NAC_ERR_NUMERIC);
    CHECK(nac_metrics_compute(&m, x, n, z, n, sr, NULL, &e) == NAC_ERR_NUMERIC);
    free(x);
    free(z);
}

TEST(metrics_other_rate)
{
    /* The degraded signal at 22.05 kHz: resampled to the reference's 16 kHz, no delay, and
     * the band-limited copy is near-perfect in STOI. */
    size_t n, n2 = 0;
    int sr;
    float *y = NULL;
    nac_metrics m;
    nac_error e;
    float *x = read_fixture("metrics_clean_16k.wav", &n, &sr);
    CHECK(x != NULL);
    int rc = nac_resample_all(&y, &n2, x, n, sr, 22050, &e);
    CHECKF(rc == NAC_OK, "%s", nac_error_message(&e));
    rc = nac_metrics_compute_rates(&m, x, n, sr, y, n2, 22050, NULL, &e);
    free(x);
    free(y);
    CHECKF(rc == NAC_OK, "%s", nac_error_message(&e));
    CHECKF(labs(m.delay_samples) <= 1, "delay %ld", m.delay_samples);
    CHECKF(m.stoi > 0.99 && m.snr > 20.0, "stoi %g snr %g", m.stoi, m.snr);
}
