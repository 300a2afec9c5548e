/* Short-time objective intelligibility: STOI (Taal, Hendriks, Heusdens, Jensen, IEEE TASLP 19(7),
 * 2011) and extended STOI (Jensen, Taal, IEEE/ACM TASLP 24(11), 2016), with the constants and
 * framing of the authors' MATLAB code: 10 kHz, 256-sample frames (MATLAB hanning) every 128,
 * 512-point FFT, 15 one-third-octave bands from 150 Hz, segments of 30 frames (384 ms).
 * The resampling to 10 kHz uses the filter of Octave's resample() (Kaiser-windowed sinc, 60 dB
 * rejection, roll-off a tenth of the cutoff), as pystoi does: the measure depends on it at the
 * 1e-3 level (soxr instead moved STOI by 2e-3 on noisy speech).
 * Envelopes X, Y are (bands, frames) with frames fastest. */
#include "metrics/metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/frames.h"

#define STOI_FS 10000
#define STOI_FRAME 256
#define STOI_HOP 128
#define STOI_NFFT 512
#define STOI_BINS (STOI_NFFT / 2 + 1)
#define STOI_BANDS 15
#define STOI_MIN_FREQ 150.0
#define STOI_SEG 30
#define STOI_BETA_DB (-15.0)
#define STOI_DYN_RANGE_DB 40.0

/* MATLAB's hanning(n): symmetric, without the zero end points. */
static void matlab_hanning(float *w, int n)
{
    for (int k = 1; k <= n; k++)
        w[k - 1] = (float)(0.5 * (1.0 - cos(2.0 * M_PI * k / (n + 1))));
}

/* The FFT bin nearest to f Hz (the lower one on a tie, as MATLAB's min). */
static int nearest_bin(double f)
{
    int best = 0;
    double best_d = INFINITY;
    for (int k = 0; k < STOI_BINS; k++) {
        double d = fabs(k * (double)STOI_FS / STOI_NFFT - f);
        if (d < best_d) {
            best_d = d;
            best = k;
        }
    }
    return best;
}

/* Band j sums bins [lo[j], hi[j]): edges at 150 * 2^((2j -+ 1)/6) Hz snapped to bins. */
static void third_octave_bands(int *lo, int *hi)
{
    for (int j = 0; j < STOI_BANDS; j++) {
        lo[j] = nearest_bin(STOI_MIN_FREQ * pow(2.0, (2.0 * j - 1.0) / 6.0));
        hi[j] = nearest_bin(STOI_MIN_FREQ * pow(2.0, (2.0 * j + 1.0) / 6.0));
    }
}

/* ---- resampling to 10 kHz ---- */

/* Modified Bessel function of the first kind, order 0 (power series). */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, q = 0.25 * x * x;
    for (int k = 1; k < 500 && term > 1e-17 * sum; k++) {
        term *= q / ((double)k * k);
        sum += term;
    }
    return sum;
}

static long gcd_long(long a, long b)
{
    while (b) {
        long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* y = x resampled by up/down with Octave's resample() design: h[t] = kaiser(t) * 2 up fc
 * sinc(2 fc t), |t| <= L, fc = 1 / (2 max(up, down)), normalised to sum up; output sample m
 * is sum_j x[j] h[m down - j up], ceil(n up / down) samples. */
static int resample_octave(float **out, size_t *nout, const float *x, size_t n, int rate,
                           nac_error *err)
{
    long g = gcd_long(STOI_FS, rate), up = STOI_FS / g, down = rate / g;
    double fc = 1.0 / (2.0 * (double)(up > down ? up : down));
    double rolloff = fc / 10.0, rejection_db = 60.0;
    long L = (long)ceil((rejection_db - 8.0) / (28.714 * rolloff));
    double beta = 0.1102 * (rejection_db - 8.7), i0_beta = bessel_i0(beta), sum = 0.0;
    double *h = malloc((size_t)(2 * L + 1) * sizeof *h);
    size_t m_out = (size_t)(((unsigned long long)n * (unsigned long long)up + (unsigned long long)down - 1) /
                            (unsigned long long)down);
    float *y = malloc((m_out ? m_out : 1) * sizeof *y);
    if (!h || !y) {
        free(h);
        free(y);
        return nac_error_set(err, NAC_ERR_NOMEM, "STOI: out of memory resampling %d Hz", rate);
    }
    for (long t = -L; t <= L; t++) {
        double r = (double)t / (double)L, arg = 2.0 * fc * (double)t;
        double sinc = t == 0 ? 1.0 : sin(M_PI * arg) / (M_PI * arg);
        h[t + L] = bessel_i0(beta * sqrt(fmax(0.0, 1.0 - r * r))) / i0_beta * 2.0 * (double)up * fc * sinc;
        sum += h[t + L];
    }
    for (long t = 0; t <= 2 * L; t++)
        h[t] *= (double)up / sum;
    for (size_t m = 0; m < m_out; m++) {
        long long c = (long long)m * down; /* input position times up */
        long long j0 = c - L <= 0 ? 0 : (c - L + up - 1) / up;
        long long j1 = (c + L) / up;
        if (j1 > (long long)n - 1)
            j1 = (long long)n - 1;
        double acc = 0.0;
        for (long long j = j0; j <= j1; j++)
            acc += (double)x[j] * h[c - j * up + L];
        y[m] = (float)acc;
    }
    free(h);
    *out = y;
    *nout = m_out;
    return NAC_OK;
}

/* ---- the measures ---- */

/* Frames start every hop while start < n - frame (as the reference code's 1:K:(L-N)). */
static size_t frame_count(size_t n)
{
    return n > STOI_FRAME ? (n - STOI_FRAME + STOI_HOP - 1) / STOI_HOP : 0;
}

/* Drops the frames of both signals whose reference energy is more than 40 dB below the loudest
 * reference frame and overlap-adds the windowed frames that remain into xs, ys (n, zeroed
 * here). Returns the length of the result, 0 if no frame exists. */
static size_t drop_silent_frames(float *xs, float *ys, const float *x, const float *y, size_t n,
                                 const float *w, double *energy)
{
    size_t frames = frame_count(n), kept = 0;
    double top = -INFINITY;
    memset(xs, 0, n * sizeof *xs);
    memset(ys, 0, n * sizeof *ys);
    for (size_t f = 0; f < frames; f++) {
        const float *xf = x + f * STOI_HOP;
        double e = 0.0;
        for (int j = 0; j < STOI_FRAME; j++) {
            float v = w[j] * xf[j];
            e += (double)v * v;
        }
        energy[f] = 20.0 * log10(sqrt(e) + DBL_EPSILON);
        if (energy[f] > top)
            top = energy[f];
    }
    for (size_t f = 0; f < frames; f++) {
        if (!(energy[f] > top - STOI_DYN_RANGE_DB))
            continue;
        const float *xf = x + f * STOI_HOP, *yf = y + f * STOI_HOP;
        float *xo = xs + kept * STOI_HOP, *yo = ys + kept * STOI_HOP;
        for (int j = 0; j < STOI_FRAME; j++) {
            xo[j] += w[j] * xf[j];
            yo[j] += w[j] * yf[j];
        }
        kept++;
    }
    return kept ? (kept - 1) * STOI_HOP + STOI_FRAME : 0;
}

/* env (STOI_BANDS, frames): sqrt of the band power of each frame of x (n). */
static void band_envelopes(float *env, size_t frames, const float *x, nac_frame_spec *s,
                           float *power, const int *lo, const int *hi)
{
    for (size_t t = 0; t < frames; t++) {
        nac_frame_spec_power(s, power, x + t * STOI_HOP, STOI_FRAME);
        for (int j = 0; j < STOI_BANDS; j++) {
            double acc = 0.0;
            for (int k = lo[j]; k < hi[j]; k++)
                acc += power[k];
            env[(size_t)j * frames + t] = (float)sqrt(acc);
        }
    }
}

/* Mean over segments and bands of the correlation between the clean envelope and the
 * normalised, clipped degraded envelope. */
static double stoi_from_envelopes(const float *X, const float *Y, size_t frames)
{
    const double clip = 1.0 + pow(10.0, -STOI_BETA_DB / 20.0);
    double total = 0.0;
    for (size_t m = STOI_SEG; m <= frames; m++) {
        for (int j = 0; j < STOI_BANDS; j++) {
            const float *a = X + (size_t)j * frames + (m - STOI_SEG);
            const float *b = Y + (size_t)j * frames + (m - STOI_SEG);
            double aa = 0.0, bb = 0.0, yp[STOI_SEG], am = 0.0, ym = 0.0;
            for (int i = 0; i < STOI_SEG; i++) {
                aa += (double)a[i] * a[i];
                bb += (double)b[i] * b[i];
            }
            double alpha = sqrt(aa) / (sqrt(bb) + DBL_EPSILON);
            for (int i = 0; i < STOI_SEG; i++) {
                yp[i] = fmin(alpha * b[i], clip * a[i]);
                ym += yp[i];
                am += a[i];
            }
            am /= STOI_SEG;
            ym /= STOI_SEG;
            double xy = 0.0, xx = 0.0, yy = 0.0;
            for (int i = 0; i < STOI_SEG; i++) {
                double u = a[i] - am, v = yp[i] - ym;
                xy += u * v;
                xx += u * u;
                yy += v * v;
            }
            total += xy / ((sqrt(xx) + DBL_EPSILON) * (sqrt(yy) + DBL_EPSILON));
        }
    }
    return total / ((double)(frames - STOI_SEG + 1) * STOI_BANDS);
}

/* s (STOI_BANDS, STOI_SEG): rows to zero mean and unit norm, then columns likewise. */
static void row_col_normalise(double *s)
{
    for (int j = 0; j < STOI_BANDS; j++) {
        double *r = s + j * STOI_SEG, mean = 0.0, sq = 0.0;
        for (int i = 0; i < STOI_SEG; i++)
            mean += r[i];
        mean /= STOI_SEG;
        for (int i = 0; i < STOI_SEG; i++) {
            r[i] -= mean;
            sq += r[i] * r[i];
        }
        double inv = 1.0 / (sqrt(sq) + DBL_EPSILON);
        for (int i = 0; i < STOI_SEG; i++)
            r[i] *= inv;
    }
    for (int i = 0; i < STOI_SEG; i++) {
        double mean = 0.0, sq = 0.0;
        for (int j = 0; j < STOI_BANDS; j++)
            mean += s[j * STOI_SEG + i];
        mean /= STOI_BANDS;
        for (int j = 0; j < STOI_BANDS; j++) {
            s[j * STOI_SEG + i] -= mean;
            sq += s[j * STOI_SEG + i] * s[j * STOI_SEG + i];
        }
        double inv = 1.0 / (sqrt(sq) + DBL_EPSILON);
        for (int j = 0; j < STOI_BANDS; j++)
            s[j * STOI_SEG + i] *= inv;
    }
}

/* Mean over segments of (1/N) sum of the products of the row- and column-normalised segments. */
static double estoi_from_envelopes(const float *X, const float *Y, size_t frames)
{
    double total = 0.0, xs[STOI_BANDS * STOI_SEG], ys[STOI_BANDS * STOI_SEG];
    for (size_t m = STOI_SEG; m <= frames; m++) {
        for (int j = 0; j < STOI_BANDS; j++)
            for (int i = 0; i < STOI_SEG; i++) {
                xs[j * STOI_SEG + i] = X[(size_t)j * frames + m - STOI_SEG + i];
                ys[j * STOI_SEG + i] = Y[(size_t)j * frames + m - STOI_SEG + i];
            }
        row_col_normalise(xs);
        row_col_normalise(ys);
        double d = 0.0;
        for (int k = 0; k < STOI_BANDS * STOI_SEG; k++)
            d += xs[k] * ys[k];
        total += d / STOI_SEG;
    }
    return total / (double)(frames - STOI_SEG + 1);
}

int nac_stoi_estoi(double *stoi, double *estoi, const float *ref, const float *deg, size_t n,
                   int sample_rate, nac_error *err)
{
    float *x10 = NULL, *y10 = NULL, *xs = NULL, *ys = NULL, *X = NULL, *Y = NULL;
    float power[STOI_BINS], w[STOI_FRAME];
    double *energy = NULL;
    const float *x = ref, *y = deg;
    size_t n10 = n, ny10 = n;
    int lo[STOI_BANDS], hi[STOI_BANDS];
    nac_frame_spec s = {0};
    int rc = nac_metrics_check(ref, deg, n, sample_rate, err);
    if (rc < 0)
        return rc;
    if (sample_rate != STOI_FS) {
        rc = resample_octave(&x10, &n10, ref, n, sample_rate, err);
        if (rc < 0)
            goto fail;
        rc = resample_octave(&y10, &ny10, deg, n, sample_rate, err);
        if (rc < 0)
            goto fail;
        if (ny10 < n10)
            n10 = ny10;
        x = x10;
        y = y10;
    }
    xs = malloc(n10 * sizeof *xs);
    ys = malloc(n10 * sizeof *ys);
    energy = malloc((frame_count(n10) + 1) * sizeof *energy);
    if (!xs || !ys || !energy)
        goto nomem;
    matlab_hanning(w, STOI_FRAME);
    size_t len = drop_silent_frames(xs, ys, x, y, n10, w, energy);
    size_t frames = frame_count(len);
    if (frames < STOI_SEG) {
        rc = nac_error_set(err, NAC_ERR_TRUNCATED,
                           "too short for STOI: %zu frames of speech after removing silence, "
                           "%d (384 ms) needed", frames, STOI_SEG);
        goto fail;
    }
    X = malloc((size_t)STOI_BANDS * frames * sizeof *X);
    Y = malloc((size_t)STOI_BANDS * frames * sizeof *Y);
    if (!X || !Y)
        goto nomem;
    rc = nac_frame_spec_init(&s, STOI_FRAME, STOI_NFFT, w, err);
    if (rc < 0)
        goto fail;
    third_octave_bands(lo, hi);
    band_envelopes(X, frames, xs, &s, power, lo, hi);
    band_envelopes(Y, frames, ys, &s, power, lo, hi);
    if (stoi)
        *stoi = stoi_from_envelopes(X, Y, frames);
    if (estoi)
        *estoi = estoi_from_envelopes(X, Y, frames);
    rc = NAC_OK;
    goto fail;
nomem:
    rc = nac_error_set(err, NAC_ERR_NOMEM, "STOI: out of memory");
fail:
    nac_frame_spec_free(&s);
    free(x10);
    free(y10);
    free(xs);
    free(ys);
    free(X);
    free(Y);
    free(energy);
    return rc;
}

int nac_stoi(double *out, const float *ref, const float *deg, size_t n, int sample_rate,
             nac_error *err)
{
    return nac_stoi_estoi(out, NULL, ref, deg, n, sample_rate, err);
}

int nac_estoi(double *out, const float *ref, const float *deg, size_t n, int sample_rate,
              nac_error *err)
{
    return nac_stoi_estoi(NULL, out, ref, deg, n, sample_rate, err);
}
