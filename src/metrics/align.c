/* Delay of a degraded signal relative to its reference. A decoder that invents its own phase
 * fools a plain waveform cross-correlation, so the delay is first found on short-time RMS
 * envelopes (2 ms hop), then checked on log spectra (the lag within +-3 envelope hops, in
 * half-hop steps, whose log power spectra differ least), then refined by waveform
 * cross-correlation within +-2 envelope hops when the waveforms are clearly correlated.
 * Both correlations go through FFTs (float) so a minute of audio aligns in well under a second. */
#include "metrics/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/frames.h"

#define ENV_HOP_S 0.002
#define REFINE_HOPS 2
#define REFINE_MIN_CORR 0.2
#define SPEC_HOPS 3          /* spectral check: lags within +-SPEC_HOPS envelope hops */
#define SPEC_WIN_S 0.032     /* spectral check: frame length */
#define SPEC_MAX_FRAMES 400  /* spectral check: frames compared per lag (spread over the signal) */

/* c[l + L] = sum_i a[i] b[i + l] for l in [-L, L] (terms outside b are zero). */
static int xcorr_fft(double *c, const float *a, size_t na, const float *b, size_t nb, long L,
                     nac_error *err)
{
    size_t nmax = na > nb ? na : nb;
    size_t N = nac_fft_good_size(nmax + (size_t)L + 1);
    size_t nc = N / 2 + 1;
    float *fa = NULL, *fb = NULL;
    fftwf_complex *A = NULL, *B = NULL;
    fftwf_plan pa = NULL, pb = NULL, pc = NULL;
    int rc = NAC_OK;
    if (N > (size_t)0x7fffffff)
        return nac_error_set(err, NAC_ERR_ARG, "align: signal too long (%zu samples)", nmax);
    fa = fftwf_malloc(N * sizeof *fa);
    fb = fftwf_malloc(N * sizeof *fb);
    A = fftwf_malloc(nc * sizeof *A);
    B = fftwf_malloc(nc * sizeof *B);
    if (!fa || !fb || !A || !B)
        goto nomem;
    pa = nac_fftw_plan_r2c((int)N, fa, A);
    pb = nac_fftw_plan_r2c((int)N, fb, B);
    pc = nac_fftw_plan_c2r((int)N, A, fa);
    if (!pa || !pb || !pc)
        goto nomem;
    memcpy(fa, a, na * sizeof *fa);
    memset(fa + na, 0, (N - na) * sizeof *fa);
    memcpy(fb, b, nb * sizeof *fb);
    memset(fb + nb, 0, (N - nb) * sizeof *fb);
    fftwf_execute(pa);
    fftwf_execute(pb);
    /* conj(A) * B is the spectrum of the correlation sum_i a[i] b[i + l]. */
    for (size_t k = 0; k < nc; k++) {
        float re = A[k][0] * B[k][0] + A[k][1] * B[k][1];
        float im = A[k][0] * B[k][1] - A[k][1] * B[k][0];
        A[k][0] = re;
        A[k][1] = im;
    }
    fftwf_execute(pc);
    for (long l = -L; l <= L; l++)
        c[l + L] = fa[l >= 0 ? (size_t)l : N - (size_t)(-l)] / (double)N;
    goto done;
nomem:
    rc = nac_error_set(err, NAC_ERR_NOMEM, "align: out of memory for a %zu-point FFT", N);
done:
    nac_fftw_destroy(pa);
    nac_fftw_destroy(pb);
    nac_fftw_destroy(pc);
    fftwf_free(fa);
    fftwf_free(fb);
    fftwf_free(A);
    fftwf_free(B);
    return rc;
}

/* env (n / hop): RMS over [k hop, k hop + 2 hop), mean removed. */
static float *rms_envelope(const float *x, size_t n, size_t hop, size_t *ne)
{
    size_t m = n / hop;
    float *env = malloc((m ? m : 1) * sizeof *env);
    double mean = 0.0;
    if (!env)
        return NULL;
    for (size_t k = 0; k < m; k++) {
        size_t lo = k * hop, hi = lo + 2 * hop < n ? lo + 2 * hop : n;
        double e = 0.0;
        for (size_t i = lo; i < hi; i++)
            e += (double)x[i] * x[i];
        env[k] = (float)sqrt(e / (double)(hi - lo));
        mean += env[k];
    }
    mean = m ? mean / (double)m : 0.0;
    for (size_t k = 0; k < m; k++)
        env[k] -= (float)mean;
    *ne = m;
    return env;
}

static long argmax(const double *c, long count)
{
    long best = 0;
    for (long i = 1; i < count; i++)
        if (c[i] > c[best])
            best = i;
    return best;
}

/* Mean |log10 P_ref - log10 P_deg| over frames spread across the overlap of ref and deg shifted
 * by lag (deg[i + lag] ~ ref[i]); HUGE_VAL when they do not overlap by a frame. */
static double spectral_mismatch(nac_frame_spec *sp, float *pr, float *pd, const float *ref, size_t nref,
                                const float *deg, size_t ndeg, long lag)
{
    long r0 = lag < 0 ? -lag : 0, end = (long)nref;
    if ((long)ndeg - lag < end)
        end = (long)ndeg - lag;
    long span = end - r0 - sp->win_len;
    if (span < 0)
        return HUGE_VAL;
    long frames = span / (sp->win_len / 2) + 1;
    if (frames > SPEC_MAX_FRAMES)
        frames = SPEC_MAX_FRAMES;
    double sum = 0;
    for (long f = 0; f < frames; f++) {
        long at = r0 + (frames > 1 ? span * f / (frames - 1) : 0);
        nac_frame_spec_power(sp, pr, ref + at, (size_t)sp->win_len);
        nac_frame_spec_power(sp, pd, deg + at + lag, (size_t)sp->win_len);
        double d = 0;
        for (int k = 0; k < sp->n_bins; k++)
            d += fabs(log10((double)pr[k] + 1e-10) - log10((double)pd[k] + 1e-10));
        sum += d / sp->n_bins;
    }
    return sum / (double)frames;
}

/* The lag near coarse (within +-SPEC_HOPS hops, half-hop steps) with the least spectral mismatch. */
static int spectral_check(long *best, const float *ref, size_t nref, const float *deg, size_t ndeg,
                          int sample_rate, long coarse, long hop, long max_lag, nac_error *err)
{
    nac_frame_spec sp;
    int win = (int)lround(SPEC_WIN_S * sample_rate);
    float *w = malloc((size_t)win * sizeof *w), *pr = NULL, *pd = NULL;
    if (!w)
        return nac_error_set(err, NAC_ERR_NOMEM, "align: out of memory");
    for (int i = 0; i < win; i++)
        w[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / win));
    int rc = nac_frame_spec_init(&sp, win, (int)nac_fft_good_size((size_t)win), w, err);
    free(w);
    if (rc < 0)
        return rc;
    pr = malloc((size_t)sp.n_bins * sizeof *pr);
    pd = malloc((size_t)sp.n_bins * sizeof *pd);
    if (!pr || !pd) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "align: out of memory");
        goto done;
    }
    double best_d = HUGE_VAL;
    long step = hop / 2 > 0 ? hop / 2 : 1;
    *best = coarse;
    for (long lag = coarse - SPEC_HOPS * hop; lag <= coarse + SPEC_HOPS * hop; lag += step) {
        if (lag < -max_lag || lag > max_lag)
            continue;
        double d = spectral_mismatch(&sp, pr, pd, ref, nref, deg, ndeg, lag);
        /* ties go to the lag nearest the coarse estimate */
        if (d < best_d - 1e-12 || (fabs(d - best_d) <= 1e-12 && labs(lag - coarse) < labs(*best - coarse))) {
            best_d = d;
            *best = lag;
        }
    }
    rc = NAC_OK;
done:
    free(pr);
    free(pd);
    nac_frame_spec_free(&sp);
    return rc;
}

int nac_align_delay(long *delay, const float *ref, size_t nref, const float *deg, size_t ndeg,
                    int sample_rate, double max_delay_s, nac_error *err)
{
    float *er = NULL, *ed = NULL;
    double *c = NULL;
    size_t ner = 0, ned = 0;
    int rc;
    if (!delay || !ref || !deg || nref == 0 || ndeg == 0)
        return nac_error_set(err, NAC_ERR_ARG, "align: empty or NULL signal");
    if (sample_rate < 1000 || sample_rate > 768000)
        return nac_error_set(err, NAC_ERR_ARG, "align: sample rate %d Hz out of range", sample_rate);
    if (!(max_delay_s >= 0.0) || max_delay_s > 3600.0)
        return nac_error_set(err, NAC_ERR_ARG, "align: bad maximum delay %g s", max_delay_s);
    rc = nac_metrics_check(ref, ref, nref, 0, err);
    if (rc == NAC_OK)
        rc = nac_metrics_check(deg, deg, ndeg, 0, err);
    if (rc < 0)
        return rc;

    size_t shorter = nref < ndeg ? nref : ndeg;
    long max_lag = lround(max_delay_s * sample_rate);
    if ((size_t)max_lag > shorter / 2)
        max_lag = (long)(shorter / 2);
    *delay = 0;
    if (max_lag == 0)
        return NAC_OK;

    /* Coarse: envelopes. */
    size_t hop = (size_t)lround(ENV_HOP_S * sample_rate);
    long coarse = 0;
    er = rms_envelope(ref, nref, hop, &ner);
    ed = rms_envelope(deg, ndeg, hop, &ned);
    if (!er || !ed)
        goto nomem;
    if (ner >= 2 && ned >= 2) {
        long L = (long)((size_t)max_lag / hop);
        c = malloc((size_t)(2 * L + 1) * sizeof *c);
        if (!c)
            goto nomem;
        rc = xcorr_fft(c, er, ner, ed, ned, L, err);
        if (rc < 0)
            goto fail;
        coarse = (argmax(c, 2 * L + 1) - L) * (long)hop;
        free(c);
        c = NULL;
    }

    /* Check on log spectra: robust when the phase is made up. */
    rc = spectral_check(&coarse, ref, nref, deg, ndeg, sample_rate, coarse, (long)hop, max_lag, err);
    if (rc < 0)
        goto fail;

    /* Fine: waveform correlation near that delay, trusted only if clearly correlated. */
    long lo = coarse - REFINE_HOPS * (long)hop, hi = coarse + REFINE_HOPS * (long)hop;
    if (lo < -max_lag)
        lo = -max_lag;
    if (hi > max_lag)
        hi = max_lag;
    long L = labs(lo) > labs(hi) ? labs(lo) : labs(hi);
    c = malloc((size_t)(2 * L + 1) * sizeof *c);
    if (!c)
        goto nomem;
    rc = xcorr_fft(c, ref, nref, deg, ndeg, L, err);
    if (rc < 0)
        goto fail;
    long fine = lo + argmax(c + (lo + L), hi - lo + 1);
    double er2 = 0.0, ed2 = 0.0;
    for (size_t i = 0; i < nref; i++)
        er2 += (double)ref[i] * ref[i];
    for (size_t i = 0; i < ndeg; i++)
        ed2 += (double)deg[i] * deg[i];
    double peak = c[fine + L] / (sqrt(er2 * ed2) + 1e-30);
    *delay = peak >= REFINE_MIN_CORR ? fine : coarse;
    rc = NAC_OK;
    goto fail;
nomem:
    rc = nac_error_set(err, NAC_ERR_NOMEM, "align: out of memory");
fail:
    free(er);
    free(ed);
    free(c);
    return rc;
}
