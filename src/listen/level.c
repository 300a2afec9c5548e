/* Active-speech levels and level matching (see listen.h): frame powers of the reference, the
 * P.56-like fixed point L = mean{p : p >= L / 10^1.59}, and the same frames measured in others. */
#include "listen/listen.h"

#include <math.h>
#include <stdlib.h>

#define MARGIN_DB 15.9 /* ITU-T P.56's margin between the active level and the activity threshold */

/* Frame length in samples (20 ms) and count; the last partial frame counts when it is the only one. */
static size_t frames_of(size_t n, int sr, size_t *len)
{
    *len = (size_t)(sr / 50);
    if (*len == 0)
        *len = 1;
    size_t f = n / *len;
    if (f == 0 && n > 0) {
        *len = n;
        f = 1;
    }
    return f;
}

static double frame_power(const float *x, size_t len)
{
    double s = 0;
    for (size_t i = 0; i < len; i++)
        s += (double)x[i] * x[i];
    return s / (double)len;
}

int nac_listen_active_level(double *db, const float *ref, const float *x, size_t n, int sample_rate,
                            nac_error *err)
{
    if (!db || !ref || !x || n == 0 || sample_rate <= 0)
        return nac_error_set(err, NAC_ERR_ARG, "active level: no signal");
    size_t len, F = frames_of(n, sample_rate, &len);
    double *p = malloc(F * sizeof *p);
    if (!p)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    double L = 0;
    for (size_t f = 0; f < F; f++) {
        p[f] = frame_power(ref + f * len, len);
        L += p[f];
    }
    L /= (double)F;
    if (!(L > 1e-12)) {
        free(p);
        return nac_error_set(err, NAC_ERR_EMPTY, "active level: the reference is silent");
    }
    /* The threshold only rises from the overall mean (the active frames' mean is at least the
     * mean of all), so the active set shrinks monotonically and the loop ends. */
    double thr = 0;
    for (int it = 0; it < 100; it++) {
        double next_thr = L * pow(10.0, -MARGIN_DB / 10), s = 0;
        size_t k = 0;
        for (size_t f = 0; f < F; f++)
            if (p[f] >= next_thr) {
                s += p[f];
                k++;
            }
        L = s / (double)k;
        if (next_thr == thr)
            break;
        thr = next_thr;
    }
    double s = 0;
    size_t k = 0;
    for (size_t f = 0; f < F; f++)
        if (p[f] >= thr) {
            s += x == ref ? p[f] : frame_power(x + f * len, len);
            k++;
        }
    free(p);
    double px = s / (double)k;
    *db = px > 0 ? 10 * log10(px) : -INFINITY;
    return NAC_OK;
}

int nac_listen_match_levels(float *const *x, int count, size_t n, int sample_rate, float peak, double *gains_db,
                            nac_error *err)
{
    if (!x || count < 1 || n == 0 || !(peak > 0))
        return nac_error_set(err, NAC_ERR_ARG, "match levels: invalid arguments");
    double ref_db, common = 1, *g = malloc((size_t)count * sizeof *g);
    int st;
    if (!g)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    if ((st = nac_listen_active_level(&ref_db, x[0], x[0], n, sample_rate, err)))
        goto done;
    for (int c = 0; c < count; c++) {
        double db;
        g[c] = 1;
        if (c > 0) {
            if ((st = nac_listen_active_level(&db, x[0], x[c], n, sample_rate, err)))
                goto done;
            /* a silent output (a broken codec) stays silent rather than amplified noise */
            g[c] = isfinite(db) ? pow(10.0, (ref_db - db) / 20) : 1;
        }
        double mx = 0;
        for (size_t i = 0; i < n; i++)
            mx = fmax(mx, fabs((double)x[c][i]) * g[c]);
        if (mx * common > peak)
            common = peak / mx;
    }
    for (int c = 0; c < count; c++) {
        float gc = (float)(g[c] * common);
        for (size_t i = 0; i < n; i++)
            x[c][i] *= gc;
        if (gains_db)
            gains_db[c] = 20 * log10(g[c] * common);
    }
    st = NAC_OK;
done:
    free(g);
    return st;
}

void nac_listen_fade(float *x, size_t n, size_t len)
{
    if (len > n / 2)
        len = n / 2;
    for (size_t i = 0; i < len; i++) {
        float w = (float)(0.5 - 0.5 * cos(M_PI * ((double)i + 0.5) / (double)len));
        x[i] *= w;
        x[n - 1 - i] *= w;
    }
}
