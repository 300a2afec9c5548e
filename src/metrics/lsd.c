/* Log-spectral distance: per frame, the RMS over frequency of the dB difference of the two
 * power spectra; averaged over frames. Frames: periodic Hann of 32 ms rounded up to a power of
 * two, hop a quarter of that; power normalised by sum(w^2) and floored at 1e-10 (-100 dB). */
#include "metrics/metrics.h"

#include <math.h>
#include <stdlib.h>

#include "dsp/window.h"
#include "metrics/frames.h"

#define LSD_FLOOR 1e-10

static int lsd_fft_size(int sample_rate)
{
    int n = 16;
    while (n < (int)lround(0.032 * sample_rate))
        n *= 2;
    return n;
}

int nac_lsd(double *out, const float *ref, const float *deg, size_t n, int sample_rate,
            nac_error *err)
{
    nac_frame_spec s = {0};
    float *win = NULL, *pr = NULL, *pd = NULL;
    int rc = nac_metrics_check(ref, deg, n, sample_rate, err);
    if (rc < 0)
        return rc;
    int n_fft = lsd_fft_size(sample_rate), hop = n_fft / 4;
    win = malloc((size_t)n_fft * sizeof *win);
    if (!win) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "LSD: out of memory");
        goto fail;
    }
    nac_window_fill(win, n_fft, NAC_WINDOW_HANN);
    rc = nac_frame_spec_init(&s, n_fft, n_fft, win, err);
    if (rc < 0)
        goto fail;
    pr = malloc((size_t)s.n_bins * sizeof *pr);
    pd = malloc((size_t)s.n_bins * sizeof *pd);
    if (!pr || !pd) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "LSD: out of memory");
        goto fail;
    }
    double wss = 0.0;
    for (int j = 0; j < n_fft; j++)
        wss += (double)win[j] * win[j];

    size_t frames = nac_frame_count_padded(n, n_fft, hop);
    double total = 0.0;
    for (size_t f = 0; f < frames; f++) {
        size_t start = f * (size_t)hop;
        nac_frame_spec_power(&s, pr, ref + start, n - start);
        nac_frame_spec_power(&s, pd, deg + start, n - start);
        double sq = 0.0;
        for (int k = 0; k < s.n_bins; k++) {
            double d = 10.0 * (log10(pr[k] / wss + LSD_FLOOR) - log10(pd[k] / wss + LSD_FLOOR));
            sq += d * d;
        }
        total += sqrt(sq / s.n_bins);
    }
    *out = total / (double)frames;
    rc = NAC_OK;
fail:
    nac_frame_spec_free(&s);
    free(win);
    free(pr);
    free(pd);
    return rc;
}
