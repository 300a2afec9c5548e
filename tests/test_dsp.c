/* Tests of src/dsp: windows, STFT against a direct DFT, perfect reconstruction, adjoints,
 * streaming against batch, thread-count independence, mel filterbank against torchaudio. */
#include "test.h"

#include "core/alloc.h"
#include "core/bytes.h"
#include "core/rng.h"
#include "dsp/mel.h"
#include "dsp/stft.h"
#include "dsp/stft_frames.h"
#include "dsp/window.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void fill_normal(float *x, size_t n, uint64_t seed, double scale)
{
    nac_rng r;
    nac_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * nac_rng_normal(&r));
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

/* Reads n little-endian float32 values from fixtures/name; 0 on success. */
TEST(dsp_window_values)
{
    float w[8];
    nac_window_fill(w, 8, NAC_WINDOW_HANN);
    const double hann8[8] = {0, 0.14644660940672624, 0.5, 0.8535533905932737, 1,
                             0.8535533905932737, 0.5, 0.14644660940672624};
    for (int j = 0; j < 8; j++)
        CHECK_NEAR(w[j], hann8[j], 1e-7);
    CHECK(w[0] == 0.0f);
    nac_window_fill(w, 8, NAC_WINDOW_SQRT_HANN);
    for (int j = 0; j < 8; j++)
        CHECK_NEAR(w[j], sqrt(hann8[j]), 1e-7);
    nac_window_fill(w, 8, NAC_WINDOW_HAMMING);
    CHECK_NEAR(w[0], 0.08, 1e-7);
    CHECK_NEAR(w[4], 1.0, 1e-7);
    CHECK_NEAR(w[2], 0.54, 1e-7);
    nac_window_fill(w, 8, NAC_WINDOW_RECT);
    for (int j = 0; j < 8; j++)
        CHECK(w[j] == 1.0f);
}

TEST(dsp_stft_create_rejects_bad_args)
{
    nac_stft *s = (nac_stft *)1;
    nac_error e;
    CHECK(nac_stft_create(&s, 31, 8, NAC_WINDOW_HANN, &e) == NAC_ERR_ARG);
    CHECK(s == NULL);
    CHECK(nac_stft_create(&s, 32, 0, NAC_WINDOW_HANN, &e) == NAC_ERR_ARG);
    CHECK(nac_stft_create(&s, 32, 33, NAC_WINDOW_HANN, NULL) == NAC_ERR_ARG);
    nac_stft_destroy(NULL);
}

/* Causal framing and the DFT sign convention, against a direct DFT in double. */
TEST(dsp_stft_matches_direct_dft)
{
    const int n = 30, hop = 7, B = 2, T = 70, Tf = T / hop, F = n / 2 + 1;
    nac_stft *s;
    CHECK(nac_stft_create(&s, n, hop, NAC_WINDOW_HANN, NULL) == NAC_OK);
    CHECK(nac_stft_bins(s) == F && nac_stft_n_fft(s) == n && nac_stft_hop(s) == hop);
    float x[B * T], re[B * F * Tf], im[B * F * Tf];
    fill_normal(x, B * T, 1, 1.0);
    nac_stft_forward(s, re, im, x, B, T);
    const float *w = nac_stft_window(s);
    double worst = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < Tf; t++)
            for (int f = 0; f < F; f++) {
                double sr = 0, si = 0;
                for (int j = 0; j < n; j++) {
                    int k = t * hop + hop - n + j;
                    double v = k >= 0 ? (double)w[j] * x[b * T + k] : 0;
                    double a = -2 * M_PI * f * j / n;
                    sr += v * cos(a);
                    si += v * sin(a);
                }
                size_t o = ((size_t)b * F + f) * Tf + t;
                double e = fmax(fabs(sr - re[o]), fabs(si - im[o]));
                if (e > worst)
                    worst = e;
            }
    nac_stft_destroy(s);
    CHECKF(worst < 2e-5, "worst |stft - dft| = %g", worst);
}

static void check_reconstruction(nac_test *t_, int n, int hop, nac_window_kind kind, int T)
{
    const int B = 2, Tf = T / hop, F = n / 2 + 1, delay = n - hop;
    nac_stft *s;
    CHECK(nac_stft_create(&s, n, hop, kind, NULL) == NAC_OK);
    float *x = malloc(sizeof(float) * B * T), *y = malloc(sizeof(float) * B * T);
    float *re = malloc(sizeof(float) * B * F * Tf), *im = malloc(sizeof(float) * B * F * Tf);
    CHECK(x && y && re && im);
    fill_normal(x, (size_t)B * T, 7, 0.3);
    for (int i = 0; i < B * T; i++)
        x[i] = fmaxf(-1.0f, fminf(1.0f, x[i]));
    nac_stft_forward(s, re, im, x, B, T);
    nac_istft_forward(s, y, re, im, B, Tf);
    double worst = 0;
    int at = -1;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            double want = i >= delay ? x[b * T + i - delay] : 0.0;
            double e = fabs(y[b * T + i] - want);
            if (e > worst) {
                worst = e;
                at = i;
            }
        }
    free(x);
    free(y);
    free(re);
    free(im);
    nac_stft_destroy(s);
    CHECKF(worst < 1e-5, "n_fft %d hop %d: worst error %g at sample %d", n, hop, worst, at);
    snprintf(t_->why, sizeof t_->why, "max error %.2g", worst);
}

/* Perfect reconstruction holds from the first sample: before the delay both sides are zero. */
TEST(dsp_stft_reconstructs_sqrt_hann_320_160) { check_reconstruction(t_, 320, 160, NAC_WINDOW_SQRT_HANN, 3200); }
TEST(dsp_stft_reconstructs_hann_512_128) { check_reconstruction(t_, 512, 128, NAC_WINDOW_HANN, 4096); }
TEST(dsp_stft_reconstructs_hann_640_160) { check_reconstruction(t_, 640, 160, NAC_WINDOW_HANN, 3200); }
TEST(dsp_stft_reconstructs_sqrt_hann_512_128) { check_reconstruction(t_, 512, 128, NAC_WINDOW_SQRT_HANN, 4096); }
TEST(dsp_stft_reconstructs_hamming_480_160) { check_reconstruction(t_, 480, 160, NAC_WINDOW_HAMMING, 3200); }
TEST(dsp_stft_reconstructs_rect_256_64) { check_reconstruction(t_, 256, 64, NAC_WINDOW_RECT, 2048); }

/* <A x, g> = <x, A^T g> for the STFT and the inverse, for several shapes (hop not dividing
 * n_fft included), in double. */
TEST(dsp_stft_adjoints)
{
    const int cfg[][3] = {{64, 16, NAC_WINDOW_HANN}, {30, 7, NAC_WINDOW_HAMMING},
                          {320, 160, NAC_WINDOW_SQRT_HANN}, {16, 16, NAC_WINDOW_RECT}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        const int n = cfg[c][0], hop = cfg[c][1], B = 3, Tf = 11, T = Tf * hop, F = n / 2 + 1;
        const size_t ns = (size_t)B * F * Tf;
        nac_stft *s;
        CHECK(nac_stft_create(&s, n, hop, (nac_window_kind)cfg[c][2], NULL) == NAC_OK);
        float *x = malloc(sizeof(float) * B * T), *dx = calloc((size_t)B * T, sizeof(float));
        float *re = malloc(sizeof(float) * ns), *im = malloc(sizeof(float) * ns);
        float *gr = malloc(sizeof(float) * ns), *gi = malloc(sizeof(float) * ns);
        float *dr = calloc(ns, sizeof(float)), *di = calloc(ns, sizeof(float));
        float *y = malloc(sizeof(float) * B * T), *gy = malloc(sizeof(float) * B * T);
        CHECK(x && dx && re && im && gr && gi && dr && di && y && gy);
        fill_normal(x, (size_t)B * T, 11 + c, 1.0);
        fill_normal(gr, ns, 12 + c, 1.0);
        fill_normal(gi, ns, 13 + c, 1.0);
        fill_normal(gy, (size_t)B * T, 14 + c, 1.0);
        /* stft */
        nac_stft_forward(s, re, im, x, B, T);
        nac_stft_backward(s, dx, gr, gi, B, T);
        double lhs = dot(re, gr, ns) + dot(im, gi, ns), rhs = dot(x, dx, (size_t)B * T);
        double rel1 = fabs(lhs - rhs) / fmax(1e-30, fabs(lhs) + fabs(rhs));
        /* istft, on the random spectrum gr, gi */
        nac_istft_forward(s, y, gr, gi, B, Tf);
        nac_istft_backward(s, dr, di, gy, B, Tf);
        double lhs2 = dot(y, gy, (size_t)B * T), rhs2 = dot(gr, dr, ns) + dot(gi, di, ns);
        double rel2 = fabs(lhs2 - rhs2) / fmax(1e-30, fabs(lhs2) + fabs(rhs2));
        free(x); free(dx); free(re); free(im); free(gr); free(gi); free(dr); free(di); free(y); free(gy);
        nac_stft_destroy(s);
        CHECKF(rel1 < 1e-6, "stft n_fft %d hop %d: <Ax,g> %.12g vs <x,A'g> %.12g", n, hop, lhs, rhs);
        CHECKF(rel2 < 1e-6, "istft n_fft %d hop %d: <Ax,g> %.12g vs <x,A'g> %.12g", n, hop, lhs2, rhs2);
    }
}

/* Backward accumulates: calling it twice doubles the gradient. */
TEST(dsp_stft_backward_accumulates)
{
    const int n = 64, hop = 16, B = 2, Tf = 9, T = Tf * hop, F = n / 2 + 1;
    const size_t ns = (size_t)B * F * Tf;
    nac_stft *s;
    CHECK(nac_stft_create(&s, n, hop, NAC_WINDOW_HANN, NULL) == NAC_OK);
    float g[2 * 33 * 9], h[2 * 33 * 9], dx1[B * T], dx2[B * T], dr1[2 * 33 * 9], dr2[2 * 33 * 9],
        di1[2 * 33 * 9], di2[2 * 33 * 9], dy[B * T];
    fill_normal(g, ns, 3, 1.0);
    fill_normal(h, ns, 4, 1.0);
    fill_normal(dy, (size_t)B * T, 5, 1.0);
    memset(dx1, 0, sizeof dx1);
    memset(dx2, 0, sizeof dx2);
    nac_stft_backward(s, dx1, g, h, B, T);
    nac_stft_backward(s, dx2, g, h, B, T);
    nac_stft_backward(s, dx2, g, h, B, T);
    memset(dr1, 0, sizeof dr1); memset(dr2, 0, sizeof dr2);
    memset(di1, 0, sizeof di1); memset(di2, 0, sizeof di2);
    nac_istft_backward(s, dr1, di1, dy, B, Tf);
    nac_istft_backward(s, dr2, di2, dy, B, Tf);
    nac_istft_backward(s, dr2, di2, dy, B, Tf);
    nac_stft_destroy(s);
    /* Frames overlap-add into dx, so the second call's sums round differently: near, not equal. */
    for (int i = 0; i < B * T; i++)
        CHECK_NEAR(dx2[i], 2 * dx1[i], 1e-6 * (1 + fabs(dx1[i])));
    for (size_t i = 0; i < ns; i++)
        CHECK(dr2[i] == 2 * dr1[i] && di2[i] == 2 * di1[i]);
}

/* Streaming gives the batch result bit for bit for any split into whole hops. */
TEST(dsp_stft_stream_equals_batch)
{
    const int cfg[][3] = {{320, 160, NAC_WINDOW_SQRT_HANN}, {512, 128, NAC_WINDOW_HANN},
                          {30, 7, NAC_WINDOW_HANN}, {16, 16, NAC_WINDOW_RECT}};
    nac_rng r;
    nac_rng_seed(&r, 99);
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        const int n = cfg[c][0], hop = cfg[c][1], Tf = 40, T = Tf * hop, F = n / 2 + 1;
        nac_stft *s;
        nac_stft_state st;
        CHECK(nac_stft_create(&s, n, hop, (nac_window_kind)cfg[c][2], NULL) == NAC_OK);
        CHECK(nac_stft_state_init(&st, s) == NAC_OK);
        float *x = malloc(sizeof(float) * T), *y = malloc(sizeof(float) * T), *y2 = malloc(sizeof(float) * T);
        float *re = malloc(sizeof(float) * F * Tf), *im = malloc(sizeof(float) * F * Tf);
        float *re2 = malloc(sizeof(float) * F * Tf), *im2 = malloc(sizeof(float) * F * Tf);
        float *cr = malloc(sizeof(float) * F * Tf), *ci = malloc(sizeof(float) * F * Tf);
        CHECK(x && y && y2 && re && im && re2 && im2 && cr && ci);
        fill_normal(x, (size_t)T, 21 + c, 0.5);
        nac_stft_forward(s, re, im, x, 1, T);
        nac_istft_forward(s, y, re, im, 1, Tf);
        int ok = 1;
        for (int trial = 0; trial < 3 && ok; trial++) {
            /* analysis in random chunks of 0..5 hops */
            nac_stft_state_reset(&st, s);
            int done = 0;
            while (done < Tf && ok) {
                int k = (int)nac_rng_below(&r, 6);
                if (k > Tf - done)
                    k = Tf - done;
                nac_stft_stream(s, &st, cr, ci, x + (size_t)done * hop, k * hop);
                for (int f = 0; f < F; f++)
                    for (int t = 0; t < k; t++) {
                        re2[(size_t)f * Tf + done + t] = cr[(size_t)f * k + t];
                        im2[(size_t)f * Tf + done + t] = ci[(size_t)f * k + t];
                    }
                done += k;
            }
            ok = memcmp(re, re2, sizeof(float) * F * Tf) == 0 && memcmp(im, im2, sizeof(float) * F * Tf) == 0;
            /* synthesis in random chunks */
            nac_stft_state_reset(&st, s);
            done = 0;
            while (done < Tf && ok) {
                int k = (int)nac_rng_below(&r, 6);
                if (k > Tf - done)
                    k = Tf - done;
                for (int f = 0; f < F; f++)
                    for (int t = 0; t < k; t++) {
                        cr[(size_t)f * k + t] = re[(size_t)f * Tf + done + t];
                        ci[(size_t)f * k + t] = im[(size_t)f * Tf + done + t];
                    }
                nac_istft_stream(s, &st, y2 + (size_t)done * hop, cr, ci, k);
                done += k;
            }
            ok = ok && memcmp(y, y2, sizeof(float) * T) == 0;
        }
        free(x); free(y); free(y2); free(re); free(im); free(re2); free(im2); free(cr); free(ci);
        nac_stft_state_free(&st);
        nac_stft_destroy(s);
        CHECKF(ok, "n_fft %d hop %d: streaming differs from batch", n, hop);
    }
}

/* One-frame functions: the same bits as the batch transform, frames past the end read zeros,
 * the backward is the adjoint, and misaligned rows work through the copy path. */
TEST(dsp_stft_frame_functions)
{
    const int n = 48, hop = 12, T = 100, F = n / 2 + 1, Tf = 12; /* frames run past T */
    nac_stft *s;
    CHECK(nac_stft_create(&s, n, hop, NAC_WINDOW_HANN, NULL) == NAC_OK);
    const int S = nac_stft_frame_stride(s);
    CHECK(S >= 2 * F && S % 16 == 0);
    const int Tpad = Tf * hop;
    float x[Tpad], re[F * Tf], im[F * Tf], dx[T], dx2[T];
    float *rows = nac_alloc(sizeof(float) * (size_t)(S * Tf + 16)), *g = malloc(sizeof(float) * (size_t)(S * Tf + 16));
    CHECK(rows && g);
    fill_normal(x, T, 51, 1.0);
    for (int i = T; i < Tpad; i++)
        x[i] = 0.0f;
    nac_stft_forward(s, re, im, x, 1, Tpad);
    int same = 1;
    for (int t = 0; t < Tf; t++) {
        nac_stft_frame_forward(s, rows + (size_t)t * S, x, T, t);
        nac_stft_frame_forward(s, g + 1, x, T, t); /* misaligned */
        for (int f = 0; f < F; f++) {
            float r = rows[(size_t)t * S + 2 * f], i = rows[(size_t)t * S + 2 * f + 1];
            same = same && r == re[f * Tf + t] && i == im[f * Tf + t] && g[1 + 2 * f] == r && g[2 + 2 * f] == i;
        }
    }
    CHECKF(same, "frame transform differs from nac_stft_forward");
    /* adjoint: <F x, G> = <x, F' G> over all frames, with G random */
    fill_normal(g, (size_t)S * Tf, 52, 1.0);
    double lhs = 0;
    for (int t = 0; t < Tf; t++)
        for (int f = 0; f < 2 * F; f++)
            lhs += (double)rows[(size_t)t * S + f] * g[(size_t)t * S + f];
    memset(dx, 0, sizeof dx);
    memcpy(rows, g, sizeof(float) * (size_t)S * Tf);
    for (int t = 0; t < Tf; t++)
        nac_stft_frame_backward(s, dx, rows + (size_t)t * S, T, t);
    double rhs = dot(x, dx, T);
    /* misaligned gradient rows give the same result */
    memset(dx2, 0, sizeof dx2);
    for (int t = 0; t < Tf; t++) {
        memcpy(rows + 1, g + (size_t)t * S, sizeof(float) * 2 * F);
        nac_stft_frame_backward(s, dx2, rows + 1, T, t);
    }
    nac_free(rows);
    free(g);
    nac_stft_destroy(s);
    CHECKF(fabs(lhs - rhs) <= 1e-6 * (fabs(lhs) + fabs(rhs)), "<Fx,g> %.12g vs <x,F'g> %.12g", lhs, rhs);
    CHECK(memcmp(dx, dx2, sizeof dx) == 0);
}

TEST(dsp_stft_threads_identical)
{
#ifdef _OPENMP
    /* large enough to pass the serial-below-threshold cut (B * Tf * n_fft >= 32768) */
    const int n = 256, hop = 64, B = 5, Tf = 41, T = Tf * hop, F = n / 2 + 1;
    const size_t ns = (size_t)B * F * Tf, nt = (size_t)B * T;
    nac_stft *s;
    CHECK(nac_stft_create(&s, n, hop, NAC_WINDOW_HANN, NULL) == NAC_OK);
    float *x = malloc(sizeof(float) * nt), *g = malloc(sizeof(float) * ns);
    float *out[2][6];
    for (int k = 0; k < 2; k++)
        for (int a = 0; a < 6; a++)
            out[k][a] = calloc(ns > nt ? ns : nt, sizeof(float));
    CHECK(x && g);
    fill_normal(x, nt, 31, 1.0);
    fill_normal(g, ns, 32, 1.0);
    int saved = omp_get_max_threads();
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k + 1);
        nac_stft_forward(s, out[k][0], out[k][1], x, B, T);
        nac_stft_backward(s, out[k][2], g, g, B, T);
        nac_istft_forward(s, out[k][3], g, g, B, Tf);
        nac_istft_backward(s, out[k][4], out[k][5], x, B, Tf);
    }
    omp_set_num_threads(saved);
    int same = 1;
    for (int a = 0; a < 6; a++)
        same = same && memcmp(out[0][a], out[1][a], sizeof(float) * (ns > nt ? ns : nt)) == 0;
    for (int k = 0; k < 2; k++)
        for (int a = 0; a < 6; a++)
            free(out[k][a]);
    free(x);
    free(g);
    nac_stft_destroy(s);
    CHECK(same);
#else
    SKIP("built without OpenMP");
#endif
}

static void check_mel_fixture(nac_test *t_, int n_fft, int sr, int n_mels, float fmin, float fmax)
{
    char name[64];
    snprintf(name, sizeof name, "mel_%d_%d_%d.f32", n_fft, sr, n_mels);
    nac_mel m;
    CHECK(nac_mel_init(&m, n_fft, sr, n_mels, fmin, fmax, NULL) == NAC_OK);
    size_t n = (size_t)n_mels * m.n_bins;
    float *ref = malloc(sizeof(float) * n);
    CHECK(ref);
    int rc = nac_test_read_f32(ref, n, name);
    double worst = 0;
    int at = -1, ranges_ok = 1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        double e = fabs(ref[i] - m.fb[i]);
        if (e > worst) {
            worst = e;
            at = (int)i;
        }
        int band = (int)(i / m.n_bins), k = (int)(i % m.n_bins);
        if ((m.fb[i] != 0) != (k >= m.lo[band] && k < m.hi[band]))
            ranges_ok = 0;
    }
    free(ref);
    nac_mel_free(&m);
    CHECKF(rc == 0, "cannot read fixture %s", name);
    CHECKF(worst < 1e-5, "%s: worst |fb - torch| = %g at band %d bin %d", name, worst,
           at / (n_fft / 2 + 1), at % (n_fft / 2 + 1));
    CHECK(ranges_ok);
}

TEST(dsp_mel_matches_torchaudio_16k) { check_mel_fixture(t_, 256, 16000, 20, 0.0f, 0.0f); }
TEST(dsp_mel_matches_torchaudio_24k) { check_mel_fixture(t_, 512, 24000, 40, 50.0f, 10000.0f); }

TEST(dsp_mel_rejects_bad_args)
{
    nac_mel m;
    CHECK(nac_mel_init(&m, 256, 16000, 20, 0.0f, 9000.0f, NULL) == NAC_ERR_ARG);
    CHECK(nac_mel_init(&m, 256, 16000, 0, 0.0f, 0.0f, NULL) == NAC_ERR_ARG);
    CHECK(nac_mel_init(&m, 255, 16000, 20, 0.0f, 0.0f, NULL) == NAC_ERR_ARG);
    nac_mel_free(&m);
}

/* mel_apply_backward is the adjoint of mel_apply and is thread-count independent. */
TEST(dsp_mel_adjoint_and_threads)
{
    const int B = 3, T = 51, n_fft = 512, M = 24, nb = n_fft / 2 + 1; /* B*nb*T >= 32768: parallel */
    nac_mel m;
    CHECK(nac_mel_init(&m, n_fft, 16000, M, 0.0f, 0.0f, NULL) == NAC_OK);
    float *p = malloc(sizeof(float) * B * nb * T), *dp = calloc((size_t)B * nb * T, sizeof(float));
    float *mel = malloc(sizeof(float) * B * M * T), *g = malloc(sizeof(float) * B * M * T);
    float *mel2 = malloc(sizeof(float) * B * M * T), *dp2 = calloc((size_t)B * nb * T, sizeof(float));
    CHECK(p && dp && mel && g && mel2 && dp2);
    fill_normal(p, (size_t)B * nb * T, 41, 1.0);
    fill_normal(g, (size_t)B * M * T, 42, 1.0);
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    nac_mel_apply(&m, mel, p, B, T);
    nac_mel_apply_backward(&m, dp, g, B, T);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    nac_mel_apply(&m, mel2, p, B, T);
    nac_mel_apply_backward(&m, dp2, g, B, T);
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    double lhs = dot(mel, g, (size_t)B * M * T), rhs = dot(p, dp, (size_t)B * nb * T);
    int same = memcmp(mel, mel2, sizeof(float) * B * M * T) == 0 &&
               memcmp(dp, dp2, sizeof(float) * B * nb * T) == 0;
    free(p); free(dp); free(mel); free(g); free(mel2); free(dp2);
    nac_mel_free(&m);
    CHECKF(fabs(lhs - rhs) <= 1e-6 * (fabs(lhs) + fabs(rhs)), "<Mp,g> %.12g vs <p,M'g> %.12g", lhs, rhs);
    CHECK(same);
}
