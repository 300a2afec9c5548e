/* Multi-scale mel distance: mean |log10 mel_ref - log10 mel_deg| over bands and frames, averaged
 * over four STFT scales (after the multi-scale mel losses of DAC, Kumar et al. 2023).
 * Scales at 16 kHz: n_fft 256/512/1024/2048 (16-128 ms) with 20/40/80/160 HTK mel bands;
 * at other rates the power of two nearest to the same durations. Magnitude (not power) spectra,
 * unnormalised FFT, periodic Hann, hop n_fft/4, mel values floored at 1e-5. */
#include "metrics/metrics.h"

#include <math.h>
#include <stdlib.h>

#include "dsp/mel.h"
#include "dsp/window.h"
#include "metrics/frames.h"

#define MEL_SCALES 4
#define MEL_FLOOR 1e-5f

static const double scale_seconds[MEL_SCALES] = {0.016, 0.032, 0.064, 0.128};
static const int scale_mels[MEL_SCALES] = {20, 40, 80, 160};

static int nearest_pow2(double x)
{
    int n = 16;
    while (n * 1.5 < x) /* nearest power of two (1.5 n rounds down) */
        n *= 2;
    return n;
}

static void mel_of(const nac_mel *m, float *mel, const float *mag)
{
    for (int b = 0; b < m->n_mels; b++) {
        const float *w = m->fb + (size_t)b * m->n_bins;
        double acc = 0.0;
        for (int k = m->lo[b]; k < m->hi[b]; k++)
            acc += (double)w[k] * mag[k];
        mel[b] = acc > MEL_FLOOR ? (float)acc : MEL_FLOOR;
    }
}

static int one_scale(double *out, const float *ref, const float *deg, size_t n, int sample_rate,
                     int n_fft, int n_mels, nac_error *err)
{
    nac_frame_spec s = {0};
    nac_mel m = {0};
    float *win = NULL, *sr = NULL, *sd = NULL, *mr = NULL, *md = NULL;
    int rc, hop = n_fft / 4;
    win = malloc((size_t)n_fft * sizeof *win);
    if (!win)
        goto nomem;
    nac_window_fill(win, n_fft, NAC_WINDOW_HANN);
    rc = nac_frame_spec_init(&s, n_fft, n_fft, win, err);
    if (rc < 0)
        goto fail;
    rc = nac_mel_init(&m, n_fft, sample_rate, n_mels, 0.0f, 0.5f * (float)sample_rate, err);
    if (rc < 0)
        goto fail;
    sr = malloc((size_t)s.n_bins * sizeof *sr);
    sd = malloc((size_t)s.n_bins * sizeof *sd);
    mr = malloc((size_t)n_mels * sizeof *mr);
    md = malloc((size_t)n_mels * sizeof *md);
    if (!sr || !sd || !mr || !md)
        goto nomem;

    size_t frames = nac_frame_count_padded(n, n_fft, hop);
    double total = 0.0;
    for (size_t f = 0; f < frames; f++) {
        size_t start = f * (size_t)hop;
        nac_frame_spec_power(&s, sr, ref + start, n - start);
        nac_frame_spec_power(&s, sd, deg + start, n - start);
        for (int k = 0; k < s.n_bins; k++) {
            sr[k] = sqrtf(sr[k]);
            sd[k] = sqrtf(sd[k]);
        }
        mel_of(&m, mr, sr);
        mel_of(&m, md, sd);
        double acc = 0.0;
        for (int b = 0; b < n_mels; b++)
            acc += fabs(log10((double)mr[b]) - log10((double)md[b]));
        total += acc / n_mels;
    }
    *out = total / (double)frames;
    rc = NAC_OK;
    goto fail;
nomem:
    rc = nac_error_set(err, NAC_ERR_NOMEM, "mel distance: out of memory");
fail:
    nac_frame_spec_free(&s);
    nac_mel_free(&m);
    free(win);
    free(sr);
    free(sd);
    free(mr);
    free(md);
    return rc;
}

int nac_mel_distance(double *out, const float *ref, const float *deg, size_t n, int sample_rate,
                     nac_error *err)
{
    int rc = nac_metrics_check(ref, deg, n, sample_rate, err);
    if (rc < 0)
        return rc;
    double sum = 0.0;
    for (int i = 0; i < MEL_SCALES; i++) {
        double d = 0.0;
        int n_fft = nearest_pow2(scale_seconds[i] * sample_rate);
        rc = one_scale(&d, ref, deg, n, sample_rate, n_fft, scale_mels[i], err);
        if (rc < 0)
            return rc;
        sum += d;
    }
    *out = sum / MEL_SCALES;
    return NAC_OK;
}
