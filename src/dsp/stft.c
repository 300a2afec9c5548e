/* Causal STFT / inverse STFT and their adjoints on FFTW single-precision plans (see stft.h and
 * stft_frames.h). Spectra (B, F, Tf), T fastest, or frame-major (B, Tf, S). The inverse is
 * normalised by C = sum_j w[j]^2 / hop, so that istft(stft(x)) = x delayed by n_fft - hop
 * whenever w^2 overlap-adds to a constant at this hop (sqrt-Hann at hop n_fft/k, k >= 2, where
 * C = 1 at k = 2; Hann or Hamming at n_fft/k, k >= 3; rect at any hop dividing n_fft). */
#include "dsp/stft.h"

#include <fftw3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "dsp/stft_frames.h"

/* Scratch lives on the stack (at most 8 n_fft bytes + 32 KiB per thread), which bounds n_fft. */
#define NAC_STFT_MAX_N_FFT 32768

struct nac_stft {
    int n_fft, hop, bins;
    int fstride; /* floats per spectrum row: 2 * bins rounded up to 16 (64 bytes) */
    int tile;    /* frames transposed together between row and (F, Tf) layouts */
    float *win;  /* (n_fft) analysis window */
    float *syn;  /* (n_fft) synthesis window w / (n_fft * C) */
    fftwf_plan r2c, c2r;
};

/* ---- scratch ------------------------------------------------------------------------------ */

/* Each thread works in a frame buffer of n_fft floats and `tile` spectrum rows, on its own
 * stack, 64-byte aligned like the arrays the plans were made on. Stack scratch keeps every
 * execute function safe to call from any number of threads at once (nested OpenMP regions and
 * foreign threads included), with no allocation per call. A tile stays under 32 KiB. */
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static size_t scratch_floats(const nac_stft *s)
{
    return round16((size_t)s->n_fft) + (size_t)s->tile * (size_t)s->fstride + 16;
}

/* The one-frame functions need the frame buffer and a single row. */
static size_t frame_scratch_floats(const nac_stft *s)
{
    return round16((size_t)s->n_fft) + (size_t)s->fstride + 16;
}

static float *align64(float *raw) { return (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63); }

static int aligned64(const void *p) { return ((uintptr_t)p & 63) == 0; }

/* Below this many windowed samples a call runs on the calling thread: waking a team costs
 * more than the work (results are the same either way). */
#define NAC_STFT_PARALLEL_MIN 32768L

/* ---- create / destroy --------------------------------------------------------------------- */

int nac_stft_create(nac_stft **out, int n_fft, int hop, nac_window_kind window, nac_error *err)
{
    nac_stft *s = NULL;
    float *tmp_r = NULL, *tmp_c = NULL;
    int rc;
    *out = NULL;
    if (n_fft < 2 || n_fft % 2 != 0 || n_fft > NAC_STFT_MAX_N_FFT || hop <= 0 || hop > n_fft)
        return nac_error_set(err, NAC_ERR_ARG,
                             "stft: n_fft %d must be even and at most %d, and 0 < hop %d <= n_fft",
                             n_fft, NAC_STFT_MAX_N_FFT, hop);
    s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->n_fft = n_fft;
    s->hop = hop;
    s->bins = n_fft / 2 + 1;
    s->fstride = (int)round16(2 * (size_t)s->bins);
    s->tile = 8192 / s->fstride;
    s->tile = s->tile < 1 ? 1 : s->tile > 16 ? 16 : s->tile;
    s->win = nac_alloc((size_t)n_fft * sizeof(float));
    s->syn = nac_alloc((size_t)n_fft * sizeof(float));
    tmp_r = nac_alloc((size_t)n_fft * sizeof(float));
    tmp_c = nac_alloc((size_t)s->fstride * sizeof(float));
    if (!s->win || !s->syn || !tmp_r || !tmp_c)
        goto nomem;
    nac_window_fill(s->win, n_fft, window);
    double c = 0;
    for (int j = 0; j < n_fft; j++)
        c += (double)s->win[j] * (double)s->win[j];
    c /= hop;
    if (!(c > 0)) {
        rc = nac_error_set(err, NAC_ERR_ARG, "stft: window has no energy");
        goto fail;
    }
    for (int j = 0; j < n_fft; j++)
        s->syn[j] = (float)((double)s->win[j] / ((double)n_fft * c));
    /* FFTW's planner is not thread-safe; every planner call in nac goes through this section.
     * FFTW_ESTIMATE picks the same algorithm on every run, so results are reproducible. */
#pragma omp critical(nac_fftw_planner)
    {
        s->r2c = fftwf_plan_dft_r2c_1d(n_fft, tmp_r, (fftwf_complex *)tmp_c, FFTW_ESTIMATE);
        s->c2r = fftwf_plan_dft_c2r_1d(n_fft, (fftwf_complex *)tmp_c, tmp_r, FFTW_ESTIMATE);
    }
    if (!s->r2c || !s->c2r) {
        rc = nac_error_set(err, NAC_ERR_INTERNAL, "stft: FFTW could not plan n_fft %d", n_fft);
        goto fail;
    }
    /* Plans run only through the new-array execute functions, so the planning arrays can go. */
    nac_free(tmp_r);
    nac_free(tmp_c);
    *out = s;
    return NAC_OK;
nomem:
    rc = nac_error_set(err, NAC_ERR_NOMEM, "stft: out of memory (n_fft %d)", n_fft);
fail:
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
int nac_stft_frame_stride(const nac_stft *s) { return s->fstride; }

/* ---- per-frame pieces, shared by batch and streaming so that both give identical bits ------ */

/* Frame samples j0 <= j < j1 fall inside a signal of T samples, for a frame starting at start. */
static void frame_span(const nac_stft *s, long start, long T, int *j0, int *j1)
{
    long a = -start, b = T - start;
    long n = s->n_fft;
    *j0 = (int)(a < 0 ? 0 : a > n ? n : a);
    *j1 = (int)(b < *j0 ? *j0 : b > n ? n : b);
}

/* buf (n_fft) <- w * x[start .. start + n_fft - 1] of one signal of T samples, zero outside it. */
static void fill_frame(const nac_stft *s, float *restrict buf, const float *restrict xb, long start, long T)
{
    const int n = s->n_fft;
    const float *restrict w = s->win;
    int j0, j1;
    frame_span(s, start, T, &j0, &j1);
    for (int j = 0; j < j0; j++)
        buf[j] = 0.0f;
    for (int j = j0; j < j1; j++)
        buf[j] = w[j] * xb[start + j];
    for (int j = j1; j < n; j++)
        buf[j] = 0.0f;
}

/* As fill_frame, with sample k < 0 taken from hist[L + k]. A zero history gives w * 0.0f = 0.0f
 * (windows are non-negative), the same bits as fill_frame's zeros. */
static void fill_frame_hist(const nac_stft *s, float *restrict buf, const float *restrict x,
                            const float *restrict hist, long start)
{
    const int n = s->n_fft, L = s->n_fft - s->hop;
    const float *restrict w = s->win;
    int j0 = start < 0 ? (int)-start : 0;
    for (int j = 0; j < j0; j++)
        buf[j] = w[j] * hist[L + start + j];
    for (int j = j0; j < n; j++)
        buf[j] = w[j] * x[start + j];
}

/* re, im (F, stride ts) [k] <- rows[k] for k < cnt. */
static void scatter_rows(const nac_stft *s, float *restrict re, float *restrict im, size_t ts,
                         const float *restrict rows, int cnt)
{
    const int F = s->bins, fs = s->fstride;
    for (int f = 0; f < F; f++) {
        float *restrict r = re + (size_t)f * ts, *restrict i = im + (size_t)f * ts;
        for (int k = 0; k < cnt; k++) {
            r[k] = rows[(size_t)k * fs + 2 * f];
            i[k] = rows[(size_t)k * fs + 2 * f + 1];
        }
    }
}

/* rows[k] <- re, im (F, stride ts) [k] for k < cnt. */
static void gather_rows(const nac_stft *s, float *restrict rows, const float *restrict re,
                        const float *restrict im, size_t ts, int cnt)
{
    const int F = s->bins, fs = s->fstride;
    for (int f = 0; f < F; f++) {
        const float *restrict r = re + (size_t)f * ts, *restrict i = im + (size_t)f * ts;
        for (int k = 0; k < cnt; k++) {
            rows[(size_t)k * fs + 2 * f] = r[k];
            rows[(size_t)k * fs + 2 * f + 1] = i[k];
        }
    }
}

/* Prepares a row for the adjoint of r2c, in place: with G_f = dre_f + i dim_f,
 * d/du_j = Re sum_f G_f e^{+2 pi i f j / n} = c2r(Re G_0, G_1/2, ..., G_{n/2-1}/2, Re G_{n/2}). */
static void adjoint_row(const nac_stft *s, float *restrict row)
{
    const int F = s->bins;
    row[1] = 0.0f;
    for (int f = 1; f < F - 1; f++) {
        row[2 * f] *= 0.5f;
        row[2 * f + 1] *= 0.5f;
    }
    row[2 * (F - 1) + 1] = 0.0f;
}

/* dx[start + j] += w[j] * buf[j] for the samples inside the signal of T samples. */
static void overlap_add_grad(const nac_stft *s, float *restrict dxb, const float *restrict buf, long start, long T)
{
    const float *restrict w = s->win;
    int j0, j1;
    frame_span(s, start, T, &j0, &j1);
    for (int j = j0; j < j1; j++)
        dxb[start + j] += w[j] * buf[j];
}

/* ---- batch, (B, F, Tf) layout ------------------------------------------------------------- */

void nac_stft_forward(const nac_stft *s, float *re, float *im, const float *x, int B, int T)
{
    const int n = s->n_fft, hop = s->hop, F = s->bins, nb = s->tile;
    const int Tf = T / hop, blocks = (Tf + nb - 1) / nb;
    const long total = (long)B * blocks;
#pragma omp parallel for schedule(static) if ((long)B * Tf * n >= NAC_STFT_PARALLEL_MIN)
    for (long i = 0; i < total; i++) {
        float raw[scratch_floats(s)];
        float *buf = align64(raw), *rows = buf + round16((size_t)n);
        int b = (int)(i / blocks), t0 = (int)(i % blocks) * nb;
        int cnt = Tf - t0 < nb ? Tf - t0 : nb;
        const float *xb = x + (size_t)b * T;
        for (int k = 0; k < cnt; k++) {
            fill_frame(s, buf, xb, (long)(t0 + k) * hop + hop - n, T);
            fftwf_execute_dft_r2c(s->r2c, buf, (fftwf_complex *)(rows + (size_t)k * s->fstride));
        }
        size_t off = (size_t)b * F * Tf + (size_t)t0;
        scatter_rows(s, re + off, im + off, (size_t)Tf, rows, cnt);
    }
}

/* Overlap-add runs frame by frame within one example, so the parallel loop is over examples. */
void nac_stft_backward(const nac_stft *s, float *dx, const float *dre, const float *dim, int B, int T)
{
    const int n = s->n_fft, hop = s->hop, F = s->bins, nb = s->tile;
    const int Tf = T / hop;
#pragma omp parallel for schedule(static) if ((long)B * Tf * n >= NAC_STFT_PARALLEL_MIN)
    for (int b = 0; b < B; b++) {
        float raw[scratch_floats(s)];
        float *buf = align64(raw), *rows = buf + round16((size_t)n);
        float *dxb = dx + (size_t)b * T;
        for (int t0 = 0; t0 < Tf; t0 += nb) {
            int cnt = Tf - t0 < nb ? Tf - t0 : nb;
            size_t off = (size_t)b * F * Tf + (size_t)t0;
            gather_rows(s, rows, dre + off, dim + off, (size_t)Tf, cnt);
            for (int k = 0; k < cnt; k++) {
                float *row = rows + (size_t)k * s->fstride;
                adjoint_row(s, row);
                fftwf_execute_dft_c2r(s->c2r, (fftwf_complex *)row, buf);
                overlap_add_grad(s, dxb, buf, (long)(t0 + k) * hop + hop - n, T);
            }
        }
    }
}

/* y (hop * Tf samples from o) += syn * buf, clipped to the Ty samples of the signal; each
 * sample's sum is built in frame order from 0.0f, as nac_istft_stream builds it. */
void nac_istft_forward(const nac_stft *s, float *y, const float *re, const float *im, int B, int Tf)
{
    const int n = s->n_fft, hop = s->hop, F = s->bins, nb = s->tile;
    const size_t Ty = (size_t)Tf * (size_t)hop;
    const float *syn = s->syn;
#pragma omp parallel for schedule(static) if ((long)B * Tf * n >= NAC_STFT_PARALLEL_MIN)
    for (int b = 0; b < B; b++) {
        float raw[scratch_floats(s)];
        float *buf = align64(raw), *rows = buf + round16((size_t)n);
        float *yb = y + (size_t)b * Ty;
        memset(yb, 0, Ty * sizeof(float));
        for (int t0 = 0; t0 < Tf; t0 += nb) {
            int cnt = Tf - t0 < nb ? Tf - t0 : nb;
            size_t off = (size_t)b * F * Tf + (size_t)t0;
            gather_rows(s, rows, re + off, im + off, (size_t)Tf, cnt);
            for (int k = 0; k < cnt; k++) {
                float *row = rows + (size_t)k * s->fstride;
                row[1] = 0.0f;
                row[2 * (F - 1) + 1] = 0.0f;
                fftwf_execute_dft_c2r(s->c2r, (fftwf_complex *)row, buf);
                size_t o = (size_t)(t0 + k) * (size_t)hop;
                size_t jn = Ty - o < (size_t)n ? Ty - o : (size_t)n;
                float *restrict yo = yb + o;
                for (size_t j = 0; j < jn; j++)
                    yo[j] = yo[j] + syn[j] * buf[j];
            }
        }
    }
}

/* Adjoint of the inverse: g = syn * dy over the frame, G = rfft(g); interior bins get 2 G (they
 * stand for two conjugate bins), DC and Nyquist get Re G and no imaginary part. */
void nac_istft_backward(const nac_stft *s, float *dre, float *dim, const float *dy, int B, int Tf)
{
    const int n = s->n_fft, hop = s->hop, F = s->bins, nb = s->tile, fs = s->fstride;
    const size_t Ty = (size_t)Tf * (size_t)hop;
    const int blocks = (Tf + nb - 1) / nb;
    const long total = (long)B * blocks;
    const float *syn = s->syn;
#pragma omp parallel for schedule(static) if ((long)B * Tf * n >= NAC_STFT_PARALLEL_MIN)
    for (long i = 0; i < total; i++) {
        float raw[scratch_floats(s)];
        float *buf = align64(raw), *rows = buf + round16((size_t)n);
        int b = (int)(i / blocks), t0 = (int)(i % blocks) * nb;
        int cnt = Tf - t0 < nb ? Tf - t0 : nb;
        const float *dyb = dy + (size_t)b * Ty;
        for (int k = 0; k < cnt; k++) {
            size_t o = (size_t)(t0 + k) * (size_t)hop;
            size_t jn = Ty - o < (size_t)n ? Ty - o : (size_t)n;
            for (size_t j = 0; j < jn; j++)
                buf[j] = syn[j] * dyb[o + j];
            for (size_t j = jn; j < (size_t)n; j++)
                buf[j] = 0.0f;
            fftwf_execute_dft_r2c(s->r2c, buf, (fftwf_complex *)(rows + (size_t)k * fs));
        }
        size_t off = (size_t)b * F * Tf + (size_t)t0;
        for (int f = 0; f < F; f++) {
            float *restrict gr = dre + off + (size_t)f * Tf, *restrict gi = dim + off + (size_t)f * Tf;
            const float sc = (f == 0 || f == F - 1) ? 1.0f : 2.0f, si = (f == 0 || f == F - 1) ? 0.0f : 2.0f;
            for (int k = 0; k < cnt; k++) {
                gr[k] += sc * rows[(size_t)k * fs + 2 * f];
                gi[k] += si * rows[(size_t)k * fs + 2 * f + 1];
            }
        }
    }
}

/* ---- one frame, row layout --------------------------------------------------------------- */

void nac_stft_frame_forward(const nac_stft *s, float *row, const float *x, int T, int t)
{
    const int n = s->n_fft, hop = s->hop;
    float raw[frame_scratch_floats(s)];
    float *buf = align64(raw), *rows = buf + round16((size_t)n);
    const int direct = aligned64(row);
    fill_frame(s, buf, x, (long)t * hop + hop - n, T);
    fftwf_execute_dft_r2c(s->r2c, buf, (fftwf_complex *)(direct ? row : rows));
    if (!direct)
        memcpy(row, rows, 2 * (size_t)s->bins * sizeof(float));
}

void nac_stft_frame_backward(const nac_stft *s, float *dx, float *drow, int T, int t)
{
    const int n = s->n_fft, hop = s->hop;
    float raw[frame_scratch_floats(s)];
    float *buf = align64(raw), *rows = buf + round16((size_t)n);
    if (!aligned64(drow)) {
        memcpy(rows, drow, 2 * (size_t)s->bins * sizeof(float));
        drow = rows;
    }
    adjoint_row(s, drow);
    fftwf_execute_dft_c2r(s->c2r, (fftwf_complex *)drow, buf);
    overlap_add_grad(s, dx, buf, (long)t * hop + hop - n, T);
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
 * hist[L + k]. */
void nac_stft_stream(const nac_stft *s, nac_stft_state *st, float *re, float *im, const float *x, int T)
{
    const int n = s->n_fft, hop = s->hop, L = n - hop, nb = s->tile;
    const int Tf = T / hop;
    float *hist = st->buf;
    float raw[scratch_floats(s)];
    float *buf = align64(raw), *rows = buf + round16((size_t)n);
    for (int t0 = 0; t0 < Tf; t0 += nb) {
        int cnt = Tf - t0 < nb ? Tf - t0 : nb;
        for (int k = 0; k < cnt; k++) {
            fill_frame_hist(s, buf, x, hist, (long)(t0 + k) * hop + hop - n);
            fftwf_execute_dft_r2c(s->r2c, buf, (fftwf_complex *)(rows + (size_t)k * s->fstride));
        }
        scatter_rows(s, re + t0, im + t0, (size_t)Tf, rows, cnt);
    }
    long used = (long)Tf * hop;
    if (used >= L) {
        memcpy(hist, x + used - L, (size_t)L * sizeof(float));
    } else if (used > 0) {
        memmove(hist, hist + used, (size_t)(L - used) * sizeof(float));
        memcpy(hist + (L - used), x, (size_t)used * sizeof(float));
    }
}

/* The state holds the partial sums of the L output samples after the last block emitted. */
void nac_istft_stream(const nac_stft *s, nac_stft_state *st, float *y, const float *re, const float *im, int Tf)
{
    const int n = s->n_fft, hop = s->hop, L = n - hop, F = s->bins, nb = s->tile;
    const float *syn = s->syn;
    float *tail = st->buf;
    float raw[scratch_floats(s)];
    float *buf = align64(raw), *rows = buf + round16((size_t)n);
    for (int t0 = 0; t0 < Tf; t0 += nb) {
        int cnt = Tf - t0 < nb ? Tf - t0 : nb;
        gather_rows(s, rows, re + t0, im + t0, (size_t)Tf, cnt);
        for (int k = 0; k < cnt; k++) {
            float *row = rows + (size_t)k * s->fstride;
            row[1] = 0.0f;
            row[2 * (F - 1) + 1] = 0.0f;
            fftwf_execute_dft_c2r(s->c2r, (fftwf_complex *)row, buf);
            float *yt = y + (size_t)(t0 + k) * hop;
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
}
