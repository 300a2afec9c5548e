/* Plumbing shared by the metrics: input checks, serialised FFTW planning, framed spectra. */
#include "metrics/frames.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int nac_metrics_check(const float *ref, const float *deg, size_t n, int sample_rate, nac_error *err)
{
    if (!ref || !deg)
        return nac_error_set(err, NAC_ERR_ARG, "metrics: NULL signal");
    if (n == 0)
        return nac_error_set(err, NAC_ERR_ARG, "metrics: empty signal");
    if (sample_rate != 0 && (sample_rate < 1000 || sample_rate > 768000))
        return nac_error_set(err, NAC_ERR_ARG, "metrics: sample rate %d Hz out of range", sample_rate);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(ref[i]))
            return nac_error_set(err, NAC_ERR_NUMERIC, "metrics: reference sample %zu is not finite", i);
        if (!isfinite(deg[i]))
            return nac_error_set(err, NAC_ERR_NUMERIC, "metrics: degraded sample %zu is not finite", i);
    }
    return NAC_OK;
}

fftwf_plan nac_fftw_plan_r2c(int n, float *in, fftwf_complex *out)
{
    fftwf_plan p;
#pragma omp critical(nac_fftw_planner)
    p = fftwf_plan_dft_r2c_1d(n, in, out, FFTW_ESTIMATE);
    return p;
}

fftwf_plan nac_fftw_plan_c2r(int n, fftwf_complex *in, float *out)
{
    fftwf_plan p;
#pragma omp critical(nac_fftw_planner)
    p = fftwf_plan_dft_c2r_1d(n, in, out, FFTW_ESTIMATE);
    return p;
}

void nac_fftw_destroy(fftwf_plan p)
{
    if (!p)
        return;
#pragma omp critical(nac_fftw_planner)
    fftwf_destroy_plan(p);
}

size_t nac_fft_good_size(size_t n)
{
    for (size_t m = n < 1 ? 1 : n;; m++) {
        size_t r = m;
        while (r % 2 == 0)
            r /= 2;
        while (r % 3 == 0)
            r /= 3;
        while (r % 5 == 0)
            r /= 5;
        if (r == 1)
            return m;
    }
}

int nac_frame_spec_init(nac_frame_spec *s, int win_len, int n_fft, const float *win, nac_error *err)
{
    memset(s, 0, sizeof *s);
    if (win_len < 1 || n_fft < win_len || n_fft % 2)
        return nac_error_set(err, NAC_ERR_ARG, "metrics: bad frame %d / FFT size %d", win_len, n_fft);
    s->win_len = win_len;
    s->n_fft = n_fft;
    s->n_bins = n_fft / 2 + 1;
    s->win = malloc((size_t)win_len * sizeof *s->win);
    s->in = fftwf_malloc((size_t)n_fft * sizeof *s->in);
    s->out = fftwf_malloc((size_t)s->n_bins * sizeof *s->out);
    if (!s->win || !s->in || !s->out)
        goto fail;
    memcpy(s->win, win, (size_t)win_len * sizeof *win);
    s->plan = nac_fftw_plan_r2c(n_fft, s->in, s->out);
    if (!s->plan)
        goto fail;
    return NAC_OK;
fail:
    nac_frame_spec_free(s);
    return nac_error_set(err, NAC_ERR_NOMEM, "metrics: out of memory for a %d-point FFT", n_fft);
}

void nac_frame_spec_free(nac_frame_spec *s)
{
    nac_fftw_destroy(s->plan);
    free(s->win);
    fftwf_free(s->in);
    fftwf_free(s->out);
    memset(s, 0, sizeof *s);
}

void nac_frame_spec_power(nac_frame_spec *s, float *power, const float *x, size_t avail)
{
    size_t m = avail < (size_t)s->win_len ? avail : (size_t)s->win_len;
    for (size_t j = 0; j < m; j++)
        s->in[j] = s->win[j] * x[j];
    for (size_t j = m; j < (size_t)s->n_fft; j++)
        s->in[j] = 0.0f;
    fftwf_execute(s->plan);
    for (int k = 0; k < s->n_bins; k++)
        power[k] = s->out[k][0] * s->out[k][0] + s->out[k][1] * s->out[k][1];
}

size_t nac_frame_count_padded(size_t n, int len, int hop)
{
    if (n <= (size_t)len)
        return 1;
    return 1 + (n - (size_t)len + (size_t)hop - 1) / (size_t)hop;
}
