/* Causal STFT / inverse STFT and their adjoints on FFTW single-precision plans (see stft.h).
 * Spectra (B, F, Tf), T fastest. The inverse is normalised by C = sum_j w[j]^2 / hop, so that
 * istft(stft(x)) = x delayed by n_fft - hop whenever w^2 overlap-adds to a constant at this hop
 * (sqrt-Hann at hop n_fft/k, k >= 2, where C = 1 at k = 2; Hann or Hamming at n_fft/k, k >= 3;
 * rect at any hop dividing n_fft). */
#include "dsp/stft.h"

#include <fftw3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* Frames live on the stack (about 8 n_fft bytes), which bounds n_fft. */
#define NAC_STFT_MAX_N_FFT 32768

struct nac_stft {
    int n_fft, hop, bins;
    float *win; /* (n_fft) analysis window */
    float *syn; /* (n_fft) synthesis window w / (n_fft * C) */
    fftwf_plan r2c, c2r;
};

/* ---- scratch ------------------------------------------------------------------------------ */

/* Each frame works in a buffer of n_fft floats and a spectrum of bins complex values, both on
 * the stack of the calling thread, 64-byte aligned like the arrays the plans were made on.
 * Stack scratch keeps every execute function safe to call from any number of threads at once
 * (nested OpenMP regions and foreign threads included), with no allocation per call. */
static size_t scratch_floats(const nac_stft *s)
{
    return (((size_t)s->n_fft + 15) & ~(size_t)15) + 2 * (size_t)s->bins + 16;
}

static float *scratch_buf(float *raw)
{
    return (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
}

static fftwf_complex *scratch_spec(const nac_stft *s, float *buf)
{
    return (fftwf_complex *)(buf + (((size_t)s->n_fft + 15) & ~(size_t)15));
}

/* ---- create / destroy --------------------------------------------------------------------- */

int nac_stft_create(nac_stft **out, int n_fft, int hop, nac_window_kind window, nac_error *err)
{
    nac_stft *s = NULL;
    float *tmp_r = NULL;
    fftwf_complex *tmp_c = NULL;
    int rc = NAC_ERR_NOMEM;
    *out = NULL;
    if (n_fft < 2 || n_fft % 2 != 0 || n_fft > NAC_STFT_MAX_N_FFT || hop <= 0 || hop > n_fft)
        return nac_error_set(err, NAC_ERR_ARG,
                             "stft: n_fft %d must be even and at most %d, and 0 < hop %d <= n_fft",
                             n_fft, NAC_STFT_MAX_N_FFT, hop);
    s = calloc(1, sizeof *s);
    if (!s)
        goto fail;
    s->n_fft = n_fft;
    s->hop = hop;
    s->bins = n_fft / 2 + 1;
    s->win = nac_alloc((size_t)n_fft * sizeof(float));
    s->syn = nac_alloc((size_t)n_fft * sizeof(float));
    tmp_r = nac_alloc((size_t)n_fft * sizeof(float));
    tmp_c = nac_alloc((size_t)s->bins * sizeof(fftwf_complex));
    if (!s->win || !s->syn || !tmp_r || !tmp_c)
        goto fail;
    nac_window_fill(s->win, n_fft, window);
    double c = 0;
    for (int j = 0; j < n_fft; j++)
        c += (double)s->win[j] * (double)s->win[j];
    c /= hop;
    if (!(c > 0)) {
        rc = nac_error_set(err, NAC_ERR_ARG, "stft: window has no energy");
        goto fail_quiet;
    }
    for (int j = 0; j < n_fft; j++)
        s->syn[j] = (float)((double)s->win[j] / ((double)n_fft * c));
    /* FFTW's planner is not thread-safe; every planner call in nac goes through this section.
     * FFTW_ESTIMATE picks the same algorithm on every run, so results are reproducible. */
#pragma omp critical(nac_fftw_planner)
    {
        s->r2c = fftwf_plan_dft_r2c_1d(n_fft, tmp_r, tmp_c, FFTW_ESTIMATE);
        s->c2r = fftwf_plan_dft_c2r_1d(n_fft, tmp_c, tmp_r, FFTW_ESTIMATE);
    }
    if (!s->r2c || !s->c2r) {
        rc = nac_error_set(err, NAC_ERR_INTERNAL, "stft: FFTW could not plan n_fft %d", n_fft);
        goto fail_quiet;
    }
    /* Plans run only through the new-array execute functions, so the planning arrays can go. */
    nac_free(tmp_r);
    nac_free(tmp_c);
    *out = s;
    return NAC_OK;
fail:
    rc = nac_error_set(err, NAC_ERR_NOMEM, "stft: out of memory (n_fft %d)", n_fft);
fail_quiet:
    nac_free(tmp_r);
    nac_free(tmp_c);
    nac_stft_destroy(s);
    return rc;
}

void nac_stft_destroy(nac_stft *s)
{
    if (!s)
        return;
#pragma omp critical(nac_fftw_planner)
    {
        if (s->r2c)
            fftwf_destroy_plan(s->r2c);
        if (s->c2r)
            fftwf_destroy_plan(s->c2r);
    }
    nac_free(s->win);
    nac_free(s->syn);
    free(s);
}

int nac_stft_bins(const nac_stft *s) { return s->bins; }
int nac_stft_n_fft(const nac_stft *s) { return s->n_fft; }
int nac_stft_hop(const nac_stft *s) { return s->hop; }
const float *nac_stft_window(const nac_stft *s) { return s->win; }

/* ---- per-frame kernels (shared by batch and streaming, so both give identical bits) --------- */

/* buf (n_fft) holds the windowed frame; writes bins values to re/im at stride ts. */
static void frame_analyse(const nac_stft *s, float *restrict re, float *restrict im, size_t ts,
                          float *restrict buf, fftwf_complex *restrict spec)
{
    fftwf_execute_dft_r2c(s->r2c, buf, spec);
    for (int f = 0; f < s->bins; f++) {
        re[(size_t)f * ts] = spec[f][0];
        im[(size_t)f * ts] = spec[f][1];
    }
}

/* re/im (bins, stride ts) -> buf (n_fft) = unnormalised irfft, imaginary parts of the DC and
 * Nyquist bins ignored. */
static void frame_synth(const nac_stft *s, float *restrict buf, fftwf_complex *restrict spec,
                        const float *restrict re, const float *restrict im, size_t ts)
{
    int F = s->bins;
    for (int f = 0; f < F; f++) {
        spec[f][0] = re[(size_t)f * ts];
        spec[f][1] = im[(size_t)f * ts];
    }
    spec[0][1] = 0.0f;
    spec[F - 1][1] = 0.0f;
    fftwf_execute_dft_c2r(s->c2r, spec, buf);
}

/* ---- batch -------------------------------------------------------------------------------- */

void nac_stft_forward(const nac_stft *s, float *re, float *im, const float *x, int B, int T)
{
    const int n = s->n_fft, hop = s->hop, F = s->bins;
    const size_t Tf = (size_t)(T / hop);
    const long total = (long)B * (long)Tf;
    const float *w = s->win;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < total; i++) {
        float raw[scratch_floats(s)];
        float *buf = scratch_buf(raw);
        fftwf_complex *spec = scratch_spec(s, buf);
        size_t b = (size_t)i / Tf, t = (size_t)i % Tf;
        const float *xb = x + b * (size_t)T;
        long start = (long)t * hop + hop - n;
        for (int j = 0; j < n; j++) {
            long k = start + j;
            float v = k >= 0 ? xb[k] : 0.0f;
            buf[j] = w[j] * v;
        }
        size_t off = b * (size_t)F * Tf + t;
        frame_analyse(s, re + off, im + off, Tf, buf, spec);
    }
}

/* Adjoint of r2c: with G_k = dre_k + i dim_k, d/du_j = Re sum_k G_k e^{+2 pi i k j / n}, which is
 * c2r of (Re G_0, G_1/2, ..., G_{n/2-1}/2, Re G_{n/2}). Overlap-add runs frame by frame within
 * one example, so the parallel loop is over examples. */
void nac_stft_backward(const nac_stft *s, float *dx, const float *dre, const float *dim, int B, int T)
{
    const int n = s->n_fft, hop = s->hop, F = s->bins;
    const size_t Tf = (size_t)(T / hop);
    const float *w = s->win;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float raw[scratch_floats(s)];
        float *buf = scratch_buf(raw);
        fftwf_complex *spec = scratch_spec(s, buf);
        float *dxb = dx + (size_t)b * (size_t)T;
        for (size_t t = 0; t < Tf; t++) {
            size_t off = (size_t)b * (size_t)F * Tf + t;
            const float *gr = dre + off, *gi = dim + off;
            spec[0][0] = gr[0];
            spec[0][1] = 0.0f;
            for (int f = 1; f < F - 1; f++) {
                spec[f][0] = 0.5f * gr[(size_t)f * Tf];
                spec[f][1] = 0.5f * gi[(size_t)f * Tf];
            }
            spec[F - 1][0] = gr[(size_t)(F - 1) * Tf];
            spec[F - 1][1] = 0.0f;
            fftwf_execute_dft_c2r(s->c2r, spec, buf);
            long start = (long)t * hop + hop - n;
            int j0 = start < 0 ? (int)-start : 0;
            for (int j = j0; j < n; j++)
                dxb[start + j] += w[j] * buf[j];
        }
    }
}

void nac_istft_forward(const nac_stft *s, float *y, const float *re, const float *im, int B, int Tf)
{
    const int n = s->n_fft, hop = s->hop, F = s->bins;
    const size_t Ty = (size_t)Tf * (size_t)hop;
    const float *syn = s->syn;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float raw[scratch_floats(s)];
        float *buf = scratch_buf(raw);
        fftwf_complex *spec = scratch_spec(s, buf);
        float *yb = y + (size_t)b * Ty;
        memset(yb, 0, Ty * sizeof(float));
        for (size_t t = 0; t < (size_t)Tf; t++) {
            size_t off = (size_t)b * (size_t)F * (size_t)Tf + t;
            frame_synth(s, buf, spec, re + off, im + off, (size_t)Tf);
            size_t o = t * (size_t)hop;
            size_t jn = Ty - o < (size_t)n ? Ty - o : (size_t)n;
            for (size_t j = 0; j < jn; j++)
                yb[o + j] = yb[o + j] + syn[j] * buf[j];
        }
    }
}

/* Adjoint of the inverse: g = syn * dy over the frame, G = rfft(g); interior bins get 2 G (they
 * stand for two conjugate bins), DC and Nyquist get Re G and no imaginary part. */
void nac_istft_backward(const nac_stft *s, float *dre, float *dim, const float *dy, int B, int Tf)
{
    const int n = s->n_fft, hop = s->hop, F = s->bins;
    const size_t Ty = (size_t)Tf * (size_t)hop;
    const long total = (long)B * (long)Tf;
    const float *syn = s->syn;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < total; i++) {
        float raw[scratch_floats(s)];
        float *buf = scratch_buf(raw);
        fftwf_complex *spec = scratch_spec(s, buf);
        size_t b = (size_t)i / (size_t)Tf, t = (size_t)i % (size_t)Tf;
        const float *dyb = dy + b * Ty;
        size_t o = t * (size_t)hop;
        size_t jn = Ty - o < (size_t)n ? Ty - o : (size_t)n;
        for (size_t j = 0; j < jn; j++)
            buf[j] = syn[j] * dyb[o + j];
        for (size_t j = jn; j < (size_t)n; j++)
            buf[j] = 0.0f;
        fftwf_execute_dft_r2c(s->r2c, buf, spec);
        size_t off = b * (size_t)F * (size_t)Tf + t;
        float *gr = dre + off, *gi = dim + off;
        gr[0] += spec[0][0];
        for (int f = 1; f < F - 1; f++) {
            gr[(size_t)f * (size_t)Tf] += 2.0f * spec[f][0];
            gi[(size_t)f * (size_t)Tf] += 2.0f * spec[f][1];
        }
        gr[(size_t)(F - 1) * (size_t)Tf] += spec[F - 1][0];
    }
}

/* ---- streaming ---------------------------------------------------------------------------- */

int nac_stft_state_init(nac_stft_state *st, const nac_stft *s)
{
    size_t L = (size_t)(s->n_fft - s->hop);
    st->buf = calloc(L ? L : 1, sizeof(float));
    return st->buf ? NAC_OK : NAC_ERR_NOMEM;
}

void nac_stft_state_reset(nac_stft_state *st, const nac_stft *s)
{
    size_t L = (size_t)(s->n_fft - s->hop);
    if (st->buf && L)
        memset(st->buf, 0, L * sizeof(float));
}

void nac_stft_state_free(nac_stft_state *st)
{
    if (!st)
        return;
    free(st->buf);
    st->buf = NULL;
}

/* The history holds the L = n_fft - hop samples before x; sample k < 0 of this call is
 * hist[L + k]. Frames are built exactly as in nac_stft_forward. */
void nac_stft_stream(const nac_stft *s, nac_stft_state *st, float *re, float *im, const float *x, int T)
{
    const int n = s->n_fft, hop = s->hop, L = n - hop;
    const size_t Tf = (size_t)(T / hop);
    const float *w = s->win;
    float *hist = st->buf;
    float raw[scratch_floats(s)];
    float *buf = scratch_buf(raw);
    fftwf_complex *spec = scratch_spec(s, buf);
    for (size_t t = 0; t < Tf; t++) {
        long start = (long)t * hop + hop - n;
        for (int j = 0; j < n; j++) {
            long k = start + j;
            float v = k >= 0 ? x[k] : hist[L + k];
            buf[j] = w[j] * v;
        }
        frame_analyse(s, re + t, im + t, Tf, buf, spec);
    }
    long used = (long)Tf * hop;
    if (used >= L) {
        memcpy(hist, x + used - L, (size_t)L * sizeof(float));
    } else if (used > 0) {
        memmove(hist, hist + used, (size_t)(L - used) * sizeof(float));
        memcpy(hist + (L - used), x, (size_t)used * sizeof(float));
    }
}

/* The state holds the partial sums of the L output samples after the last block emitted.
 * Each sum is built in frame order from 0.0f, exactly as nac_istft_forward builds it. */
void nac_istft_stream(const nac_stft *s, nac_stft_state *st, float *y, const float *re, const float *im, int Tf)
{
    const int n = s->n_fft, hop = s->hop, L = n - hop;
    const float *syn = s->syn;
    float *tail = st->buf;
    float raw[scratch_floats(s)];
    float *buf = scratch_buf(raw);
    fftwf_complex *spec = scratch_spec(s, buf);
    for (size_t t = 0; t < (size_t)Tf; t++) {
        frame_synth(s, buf, spec, re + t, im + t, (size_t)Tf);
        float *yt = y + t * (size_t)hop;
        for (int j = 0; j < n; j++) {
            float prev = j < L ? tail[j] : 0.0f;
            float acc = prev + syn[j] * buf[j];
            if (j < hop)
                yt[j] = acc;
            else
                tail[j - hop] = acc;
        }
    }
}
