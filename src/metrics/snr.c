/* Signal-to-noise ratio and segmental SNR of deg against ref, the error being ref - deg.
 * Segmental SNR as in Quackenbush et al. (1988) / Loizou (2007): per-frame SNR clamped to
 * [-10, 35] dB, averaged over frames. */
#include "metrics/metrics.h"

#include <math.h>

#include "metrics/frames.h"

#define SEG_SNR_MIN (-10.0)
#define SEG_SNR_MAX 35.0

int nac_snr(double *out, const float *ref, const float *deg, size_t n, nac_error *err)
{
    double es = 0.0, en = 0.0;
    int rc = nac_metrics_check(ref, deg, n, 0, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        double r = ref[i], e = (double)ref[i] - (double)deg[i];
        es += r * r;
        en += e * e;
    }
    if (es == 0.0)
        return nac_error_set(err, NAC_ERR_EMPTY, "SNR: the reference is silent");
    *out = en == 0.0 ? INFINITY : 10.0 * log10(es / en);
    return NAC_OK;
}

int nac_seg_snr(double *out, const float *ref, const float *deg, size_t n, int sample_rate,
                double frame_s, nac_error *err)
{
    int rc = nac_metrics_check(ref, deg, n, sample_rate, err);
    if (rc < 0)
        return rc;
    if (!(frame_s > 0.0) || frame_s * sample_rate < 1.0)
        return nac_error_set(err, NAC_ERR_ARG, "segmental SNR: frame of %g s is too short", frame_s);
    size_t len = (size_t)lround(frame_s * sample_rate);
    size_t frames = n / len;
    if (frames == 0) {
        frames = 1;
        len = n;
    }
    double sum = 0.0;
    for (size_t f = 0; f < frames; f++) {
        double es = 0.0, en = 0.0, snr;
        for (size_t i = f * len; i < (f + 1) * len; i++) {
            double r = ref[i], e = (double)ref[i] - (double)deg[i];
            es += r * r;
            en += e * e;
        }
        if (en == 0.0)
            snr = SEG_SNR_MAX;
        else if (es == 0.0)
            snr = SEG_SNR_MIN;
        else
            snr = fmin(SEG_SNR_MAX, fmax(SEG_SNR_MIN, 10.0 * log10(es / en)));
        sum += snr;
    }
    *out = sum / (double)frames;
    return NAC_OK;
}
