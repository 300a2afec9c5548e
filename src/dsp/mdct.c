/* MDCT: X[k] = sqrt(2/N) sum_n w[n] x[n] cos(pi/N (n + 1/2 + N/2)(k + 1/2)), w[n] = sin(pi (n + 1/2) / 2N). */
#include "dsp/mdct.h"

#include <math.h>
#include <stdlib.h>

struct nac_mdct {
    int n;
    float *basis;  /* (N, 2N): window times cosine, scaled */
};

int nac_mdct_create(nac_mdct **out, int n, nac_error *err)
{
    *out = NULL;
    if (n < 2 || n > 4096)
        return nac_error_set(err, NAC_ERR_ARG, "MDCT size %d is not in 2..4096", n);
    nac_mdct *m = calloc(1, sizeof *m);
    if (!m || !(m->basis = malloc((size_t)n * 2 * (size_t)n * sizeof *m->basis))) {
        free(m);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    }
    m->n = n;
    double scale = sqrt(2.0 / n);
    for (int k = 0; k < n; k++)
        for (int i = 0; i < 2 * n; i++) {
            double w = sin(M_PI * (i + 0.5) / (2.0 * n));
            m->basis[(size_t)k * 2 * n + i] = (float)(scale * w * cos(M_PI / n * (i + 0.5 + n / 2.0) * (k + 0.5)));
        }
    *out = m;
    return NAC_OK;
}

void nac_mdct_destroy(nac_mdct *m)
{
    if (!m)
        return;
    free(m->basis);
    free(m);
}

int nac_mdct_size(const nac_mdct *m)
{
    return m->n;
}

void nac_mdct_forward(const nac_mdct *m, float *restrict coef, const float *restrict x)
{
    int n2 = 2 * m->n;
    for (int k = 0; k < m->n; k++) {
        const float *b = m->basis + (size_t)k * n2;
        float acc = 0.0f;
        for (int i = 0; i < n2; i++)
            acc += b[i] * x[i];
        coef[k] = acc;
    }
}

void nac_mdct_inverse_add(const nac_mdct *m, float *restrict y, const float *restrict coef)
{
    int n2 = 2 * m->n;
    for (int k = 0; k < m->n; k++) {
        const float *b = m->basis + (size_t)k * n2;
        float c = coef[k];
        if (c != 0.0f)
            for (int i = 0; i < n2; i++)
                y[i] += c * b[i];
    }
}
