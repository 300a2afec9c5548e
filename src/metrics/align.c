/* Delay of a degraded signal relative to its reference. A decoder that invents its own phase
 * fools a plain waveform cross-correlation, so the delay is first found on short-time RMS
 * envelopes (2 ms hop), then refined by waveform cross-correlation within +-2 envelope hops.
 * Both correlations go through FFTs (float) so a minute of audio aligns in well under a second. */
#include "metrics/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/frames.h"

#define ENV_HOP_S 0.002
#define REFINE_HOPS 2
#define REFINE_MIN_CORR 0.2

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

    /* Fine: waveform correlation near the coarse delay, trusted only if clearly correlated. */
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
