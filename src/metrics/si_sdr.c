/* Scale-invariant signal-to-distortion ratio (Le Roux, Wisdom, Erdogan, Hershey, "SDR -
 * half-baked or well done?", ICASSP 2019): project deg on ref, compare the projection with the
 * residual. No mean removal. */
#include "metrics/metrics.h"

#include <math.h>

#include "metrics/frames.h"

int nac_si_sdr(double *out, const float *ref, const float *deg, size_t n, nac_error *err)
{
    double rr = 0.0, rd = 0.0, res = 0.0;
    int rc = nac_metrics_check(ref, deg, n, 0, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        rr += (double)ref[i] * ref[i];
        rd += (double)ref[i] * deg[i];
    }
    if (rr == 0.0)
        return nac_error_set(err, NAC_ERR_EMPTY, "SI-SDR: the reference is silent");
    double a = rd / rr;
    /* The residual is summed directly: sum deg^2 - rd^2/rr cancels badly for good signals. */
    for (size_t i = 0; i < n; i++) {
        double e = (double)deg[i] - a * ref[i];
        res += e * e;
    }
    double target = a * a * rr;
    if (res == 0.0)
        *out = target > 0.0 ? INFINITY : -INFINITY;
    else
        *out = target > 0.0 ? 10.0 * log10(target / res) : -INFINITY;
    return NAC_OK;
}
