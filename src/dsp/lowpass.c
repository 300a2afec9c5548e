/* Windowed-sinc low-pass: h[k] = 2 fc sinc(2 fc (k - M)) w[k], k = 0..2M, Blackman window,
 * normalised to unit gain at DC; direct convolution in double (anchors and tests, not hot). */
#include "dsp/lowpass.h"

#include <math.h>
#include <stdlib.h>

int nac_lowpass(float *y, const float *x, size_t n, int sample_rate, double cutoff_hz, double transition_hz,
                nac_error *err)
{
    if (!y || (!x && n) || sample_rate <= 0 || !(cutoff_hz > 0) || !(cutoff_hz < 0.5 * sample_rate) ||
        !(transition_hz > 0))
        return nac_error_set(err, NAC_ERR_ARG, "lowpass: invalid cutoff %.1f Hz at %d Hz", cutoff_hz, sample_rate);
    /* the Blackman window's transition is about 5.5 / taps of the sample rate */
    double taps = ceil(5.5 * sample_rate / transition_hz);
    if (taps > 8191)
        return nac_error_set(err, NAC_ERR_ARG, "lowpass: transition %.1f Hz is too narrow", transition_hz);
    int M = (int)(taps / 2) + 1, L = 2 * M + 1;
    double *h = malloc((size_t)L * sizeof *h), sum = 0;
    if (!h)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    double fc = cutoff_hz / sample_rate;
    for (int k = 0; k < L; k++) {
        double t = k - M, s = t == 0 ? 2 * fc : sin(2 * M_PI * fc * t) / (M_PI * t);
        double w = 0.42 - 0.5 * cos(2 * M_PI * k / (L - 1)) + 0.08 * cos(4 * M_PI * k / (L - 1));
        h[k] = s * w;
        sum += h[k];
    }
    for (int k = 0; k < L; k++)
        h[k] /= sum;
    for (size_t i = 0; i < n; i++) {
        double acc = 0;
        /* y[i] = sum_k h[k] x[i + M - k], over the k that index inside x */
        long lo = (long)i + M - (long)n + 1, hi = (long)i + M;
        int k0 = lo > 0 ? (int)lo : 0, k1 = hi < L - 1 ? (int)hi : L - 1;
        for (int k = k0; k <= k1; k++)
            acc += h[k] * x[(long)i + M - k];
        y[i] = (float)acc;
    }
    free(h);
    return NAC_OK;
}
