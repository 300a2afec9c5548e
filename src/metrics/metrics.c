/* All metrics at once: align deg to ref, trim both to their overlap, compute each metric. */
#include "metrics/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/resample.h"
#include "metrics/frames.h"

void nac_metrics_opts_default(nac_metrics_opts *opts)
{
    opts->align = 1;
    opts->max_delay_s = 0.5;
    opts->seg_frame_s = 0.02;
}

int nac_metrics_compute(nac_metrics *out, const float *ref, size_t nref, const float *deg,
                        size_t ndeg, int sample_rate, const nac_metrics_opts *opts, nac_error *err)
{
    nac_metrics_opts def;
    nac_metrics m;
    long d = 0;
    int rc;
    if (!out || !ref || !deg)
        return nac_error_set(err, NAC_ERR_ARG, "metrics: NULL argument");
    if (nref == 0)
        return nac_error_set(err, NAC_ERR_EMPTY, "metrics: the reference is empty");
    if (ndeg == 0)
        return nac_error_set(err, NAC_ERR_EMPTY, "metrics: the degraded signal is empty");
    if (!opts) {
        nac_metrics_opts_default(&def);
        opts = &def;
    }
    memset(&m, 0, sizeof m);
    if (opts->align) {
        rc = nac_align_delay(&d, ref, nref, deg, ndeg, sample_rate, opts->max_delay_s, err);
        if (rc < 0)
            return rc;
    }
    /* deg[i + d] ~ ref[i]: skip d samples of deg (d > 0) or -d samples of ref (d < 0). */
    const float *r = ref, *g = deg;
    size_t nr = nref, ng = ndeg;
    if (d > 0) {
        g += d;
        ng -= (size_t)d;
    } else if (d < 0) {
        r += -d;
        nr -= (size_t)(-d);
    }
    size_t n = nr < ng ? nr : ng;
    m.delay_samples = d;
    m.n_compared = n;
    if ((rc = nac_snr(&m.snr, r, g, n, err)) < 0 ||
        (rc = nac_si_sdr(&m.si_sdr, r, g, n, err)) < 0 ||
        (rc = nac_seg_snr(&m.seg_snr, r, g, n, sample_rate, opts->seg_frame_s, err)) < 0 ||
        (rc = nac_lsd(&m.lsd, r, g, n, sample_rate, err)) < 0 ||
        (rc = nac_mel_distance(&m.mel_distance, r, g, n, sample_rate, err)) < 0 ||
        (rc = nac_stoi_estoi(&m.stoi, &m.estoi, r, g, n, sample_rate, err)) < 0)
        return rc;
    *out = m;
    return NAC_OK;
}

int nac_metrics_compute_rates(nac_metrics *out, const float *ref, size_t nref, int ref_rate,
                              const float *deg, size_t ndeg, int deg_rate,
                              const nac_metrics_opts *opts, nac_error *err)
{
    float *res = NULL;
    size_t nres = 0;
    int rc;
    if (ref_rate == deg_rate)
        return nac_metrics_compute(out, ref, nref, deg, ndeg, ref_rate, opts, err);
    if (!deg || ndeg == 0)
        return nac_error_set(err, NAC_ERR_EMPTY, "metrics: the degraded signal is empty");
    if (deg_rate < 1000 || deg_rate > 768000)
        return nac_error_set(err, NAC_ERR_ARG, "metrics: sample rate %d Hz out of range", deg_rate);
    rc = nac_resample_all(&res, &nres, deg, ndeg, deg_rate, ref_rate, err);
    if (rc < 0)
        return rc;
    rc = nac_metrics_compute(out, ref, nref, res, nres, ref_rate, opts, err);
    free(res);
    return rc;
}
