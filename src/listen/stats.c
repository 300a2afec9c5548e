/* Post-screening and per-condition statistics of MUSHRA ratings; Student's t distribution
 * through the regularised incomplete beta function (continued fraction, modified Lentz). */
#include "listen/listen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- Student's t */

/* Continued fraction of I_x(a, b) (valid for x < (a + 1) / (a + b + 2)). */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 500; m++) {
        double m2 = 2.0 * m;
        double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + num * d;
        c = 1 + num / c;
        d = 1 / (fabs(d) < tiny ? tiny : d);
        c = fabs(c) < tiny ? tiny : c;
        h *= d * c;
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + num * d;
        c = 1 + num / c;
        d = 1 / (fabs(d) < tiny ? tiny : d);
        c = fabs(c) < tiny ? tiny : c;
        double step = d * c;
        h *= step;
        if (fabs(step - 1) < 1e-15)
            break;
    }
    return h;
}

/* Regularised incomplete beta I_x(a, b). */
static double inc_beta(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double lf = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2))
        return exp(lf) * beta_cf(a, b, x) / a;
    return 1 - exp(lf) * beta_cf(b, a, 1 - x) / b;
}

double nac_listen_t_cdf(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    if (isinf(t))
        return t > 0 ? 1 : 0;
    double tail = 0.5 * inc_beta(0.5 * df, 0.5, df / (df + t * t));
    return t > 0 ? 1 - tail : tail;
}

double nac_listen_t_quantile(double p, double df)
{
    if (!(p > 0 && p < 1) || !(df > 0))
        return NAN;
    if (p == 0.5)
        return 0;
    if (p < 0.5)
        return -nac_listen_t_quantile(1 - p, df);
    /* bracket, then bisect: the CDF is monotone, and 200 halvings reach double precision */
    double lo = 0, hi = 1;
    while (nac_listen_t_cdf(hi, df) < p && hi < 1e300)
        hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (nac_listen_t_cdf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* ---------------------------------------------------------------- post-screening */

static long find_listener(const nac_listen_listener *ls, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ls[i].name, name))
            return (long)i;
    return -1;
}

int nac_listen_postscreen(nac_listen_listener **out, size_t *n, const nac_listen_ratings *rs, const char *ref_name,
                          double ref_min, double max_fraction, nac_error *err)
{
    *out = NULL;
    *n = 0;
    if (!rs || !ref_name)
        return nac_error_set(err, NAC_ERR_ARG, "postscreen: NULL argument");
    if (rs->n == 0)
        return nac_error_set(err, NAC_ERR_EMPTY, "no ratings");
    nac_listen_listener *ls = calloc(rs->n, sizeof *ls);
    size_t nl = 0;
    if (!ls)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < rs->n; i++) {
        const nac_listen_rating *r = &rs->r[i];
        long k = find_listener(ls, nl, r->listener);
        if (k < 0) {
            k = (long)nl++;
            memcpy(ls[k].name, r->listener, sizeof ls[k].name);
        }
        /* the parser rejects a second rating of one (listener, item, condition): one per item */
        if (!strcmp(r->condition, ref_name)) {
            ls[k].items++;
            ls[k].ref_low += r->score < ref_min;
        }
    }
    for (size_t k = 0; k < nl; k++)
        ls[k].kept = ls[k].items > 0 && ls[k].ref_low <= max_fraction * ls[k].items;
    *out = ls;
    *n = nl;
    return NAC_OK;
}

/* ---------------------------------------------------------------- per-condition statistics */

static int by_mean(const void *a, const void *b)
{
    const nac_listen_summary *x = a, *y = b;
    if (x->mean != y->mean)
        return x->mean < y->mean ? 1 : -1;
    return strcmp(x->condition, y->condition);
}

int nac_listen_summarise(nac_listen_summary **out, size_t *n, const nac_listen_ratings *rs,
                         const nac_listen_listener *ls, size_t nl, nac_error *err)
{
    *out = NULL;
    *n = 0;
    size_t kept = 0;
    for (size_t k = 0; k < nl; k++)
        kept += ls[k].kept != 0;
    if (kept == 0)
        return nac_error_set(err, NAC_ERR_EMPTY, "no listener passed post-screening");
    nac_listen_summary *s = calloc(rs->n, sizeof *s);
    double *sum2 = calloc(rs->n, sizeof *sum2);
    size_t ns = 0;
    if (!s || !sum2) {
        free(s);
        free(sum2);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    }
    /* two passes (mean, then squared deviations) keep the variance accurate */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < rs->n; i++) {
            const nac_listen_rating *r = &rs->r[i];
            long k = find_listener(ls, nl, r->listener);
            if (k < 0 || !ls[k].kept)
                continue;
            size_t c = 0;
            while (c < ns && strcmp(s[c].condition, r->condition))
                c++;
            if (pass == 0) {
                if (c == ns)
                    memcpy(s[ns++].condition, r->condition, sizeof s[c].condition);
                s[c].n++;
                s[c].mean += r->score;
            } else {
                double d = r->score - s[c].mean;
                sum2[c] += d * d;
            }
        }
        if (pass == 0)
            for (size_t c = 0; c < ns; c++)
                s[c].mean /= (double)s[c].n;
    }
    for (size_t c = 0; c < ns; c++) {
        if (s[c].n >= 2) {
            s[c].sd = sqrt(sum2[c] / (double)(s[c].n - 1));
            s[c].ci95 = nac_listen_t_quantile(0.975, (double)(s[c].n - 1)) * s[c].sd / sqrt((double)s[c].n);
        } else {
            s[c].sd = NAN;
            s[c].ci95 = NAN;
        }
    }
    free(sum2);
    qsort(s, ns, sizeof *s, by_mean);
    *out = s;
    *n = ns;
    return NAC_OK;
}
