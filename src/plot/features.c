/* Latent PCA histogram and single-frame pictures (see features.h). PCA: covariance in double,
 * the top two eigenvectors by power iteration with deflation (D is small). */
#include "plot/features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/canvas.h"
#include "plot/colormap.h"
#include "plot/font.h"

#define BG 0xffffffu
#define INK 0x202020u
#define GRID 0xd8d8d8u
#define S 2 /* font scale */

/* Top two principal axes of z (N, D) into ax (2, D); mean into mu (D). */
static int pca2(double *ax, double *mu, const float *z, size_t N, int D)
{
    double *C = calloc((size_t)D * D, sizeof *C), *v = malloc((size_t)D * sizeof *v);
    if (!C || !v) {
        free(C);
        free(v);
        return -1;
    }
    for (int d = 0; d < D; d++)
        mu[d] = 0;
    for (size_t i = 0; i < N; i++)
        for (int d = 0; d < D; d++)
            mu[d] += z[i * D + d];
    for (int d = 0; d < D; d++)
        mu[d] /= (double)N;
    for (size_t i = 0; i < N; i++)
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++)
                C[a * D + b] += (z[i * D + a] - mu[a]) * (z[i * D + b] - mu[b]);
    for (int p = 0; p < 2; p++) {
        double *u = ax + (size_t)p * D;
        for (int d = 0; d < D; d++)
            u[d] = 1.0 + 0.1 * d; /* a fixed start not orthogonal to the leading axes in practice */
        double lambda = 0;
        for (int it = 0; it < 500; it++) {
            double n2 = 0;
            for (int a = 0; a < D; a++) {
                v[a] = 0;
                for (int b = 0; b < D; b++)
                    v[a] += C[a * D + b] * u[b];
                n2 += v[a] * v[a];
            }
            lambda = sqrt(n2);
            if (!(lambda > 0))
                break;
            for (int a = 0; a < D; a++)
                u[a] = v[a] / lambda;
        }
        if (!(lambda > 0)) { /* no variance left: any unit vector orthogonal to the first */
            for (int d = 0; d < D; d++)
                u[d] = d == p;
        }
        for (int a = 0; a < D; a++) /* deflate */
            for (int b = 0; b < D; b++)
                C[a * D + b] -= lambda * u[a] * u[b];
    }
    free(C);
    free(v);
    return 0;
}

static void fmt_num(char *buf, size_t n, double v)
{
    snprintf(buf, n, fabs(v) < 10 ? "%.2g" : "%.0f", v);
}

/* Axis ticks from lo to hi: about n round values. */
static double tick_step(double lo, double hi, int n)
{
    double raw = (hi - lo) / n, p = pow(10, floor(log10(raw))), r = raw / p;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
}

static void axes(nac_canvas *c, int x0, int y0, int w, int h, double xlo, double xhi, double ylo, double yhi,
                 const char *xl, const char *yl)
{
    nac_canvas_frame(c, x0 - 1, y0 - 1, w + 2, h + 2, INK);
    char buf[32];
    double st = tick_step(xlo, xhi, 6);
    for (double t = ceil(xlo / st) * st; t <= xhi + 1e-9 * st; t += st) {
        int x = x0 + (int)lround((t - xlo) / (xhi - xlo) * (w - 1));
        nac_canvas_line(c, x, y0 + h, x, y0 + h + 5, INK);
        fmt_num(buf, sizeof buf, fabs(t) < 1e-9 * st ? 0 : t);
        nac_canvas_text(c, x, y0 + h + 10, buf, S, INK, NAC_ALIGN_CENTER);
    }
    st = tick_step(ylo, yhi, 6);
    for (double t = ceil(ylo / st) * st; t <= yhi + 1e-9 * st; t += st) {
        int y = y0 + h - 1 - (int)lround((t - ylo) / (yhi - ylo) * (h - 1));
        nac_canvas_line(c, x0 - 6, y, x0 - 1, y, INK);
        fmt_num(buf, sizeof buf, fabs(t) < 1e-9 * st ? 0 : t);
        nac_canvas_text(c, x0 - 10, y - NAC_FONT_ASCENT * S / 2, buf, S, INK, NAC_ALIGN_RIGHT);
    }
    nac_canvas_text(c, x0 + w / 2, y0 + h + 14 + NAC_FONT_H * S, xl, S, INK, NAC_ALIGN_CENTER);
    nac_canvas_text_up(c, 16, y0 + h / 2, yl, S, INK);
}

int nac_plot_latent(const char *path, const float *z, size_t N, int D, const float *cb, int M,
                    const char *title, nac_error *err)
{
    if (N < 2 || D < 1 || (cb && M < 1))
        return nac_error_set(err, NAC_ERR_ARG, "latent plot needs at least 2 vectors (got %zu, D %d)", N, D);
    enum { BINS = 160, PW = 640, PH = 640, X0 = 90, Y0 = 62 };
    double *ax = malloc(2 * (size_t)D * sizeof *ax), *mu = malloc((size_t)D * sizeof *mu);
    float *p = malloc(2 * (N + (cb ? (size_t)M : 0)) * sizeof *p);
    double *hist = calloc((size_t)BINS * BINS, sizeof *hist);
    nac_canvas c = {0};
    int st = NAC_OK;
    if (!ax || !mu || !p || !hist || pca2(ax, mu, z, N, D)) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory for the latent plot");
        goto done;
    }
    size_t np = N + (cb ? (size_t)M : 0);
    for (size_t i = 0; i < np; i++) {
        const float *v = i < N ? z + i * D : cb + (i - N) * D;
        for (int q = 0; q < 2; q++) {
            double s = 0;
            for (int d = 0; d < D; d++)
                s += (v[d] - mu[d]) * ax[q * D + d];
            p[2 * i + q] = (float)s;
        }
    }
    /* range: the latents' 0.1..99.9% extent, widened to hold the codebook, square axes */
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < np; i++)
        for (int q = 0; q < 2; q++) {
            lo = fmin(lo, p[2 * i + q]);
            hi = fmax(hi, p[2 * i + q]);
        }
    double pad = 0.03 * (hi - lo) + 1e-6;
    lo -= pad;
    hi += pad;
    for (size_t i = 0; i < N; i++) {
        int bx = (int)((p[2 * i] - lo) / (hi - lo) * BINS), by = (int)((p[2 * i + 1] - lo) / (hi - lo) * BINS);
        if (bx >= 0 && bx < BINS && by >= 0 && by < BINS)
            hist[by * BINS + bx] += 1;
    }
    double hmax = 0;
    for (int i = 0; i < BINS * BINS; i++)
        hmax = fmax(hmax, hist[i]);
    if ((st = nac_canvas_init(&c, X0 + PW + 30, Y0 + PH + 70, BG, err)))
        goto done;
    nac_colormap cm;
    nac_colormap_init(&cm, NAC_COLORMAP_SEQUENTIAL);
    for (int y = 0; y < PH; y++)
        for (int x = 0; x < PW; x++) {
            double h = hist[(size_t)(PH - 1 - y) * BINS / PH * BINS + (size_t)x * BINS / PW];
            uint32_t col = h > 0 ? nac_colormap_at(&cm, (float)(0.15 + 0.85 * log1p(h) / log1p(hmax))) : 0x000000u;
            nac_canvas_pixel(&c, X0 + x, Y0 + y, col);
        }
    for (int i = 0; cb && i < M; i++) {
        int x = X0 + (int)((p[2 * (N + i)] - lo) / (hi - lo) * (PW - 1));
        int y = Y0 + PH - 1 - (int)((p[2 * (N + i) + 1] - lo) / (hi - lo) * (PH - 1));
        nac_canvas_rect(&c, x - 2, y - 2, 5, 5, 0xffffffu);
        nac_canvas_frame(&c, x - 2, y - 2, 5, 5, 0x000000u);
    }
    axes(&c, X0, Y0, PW, PH, lo, hi, lo, hi, "principal axis 1", "principal axis 2");
    char buf[256];
    nac_canvas_text(&c, X0 + PW / 2, 8, title ? title : "encoder space (PCA)", S, INK, NAC_ALIGN_CENTER);
    snprintf(buf, sizeof buf, "%zu latents of D=%d%s", N, D, cb ? "; white dots: stage-1 entries" : "");
    nac_canvas_text(&c, X0 + PW / 2, 8 + (NAC_FONT_H + 4) * S, buf, S, INK, NAC_ALIGN_CENTER);
    st = nac_canvas_save_png(&c, path, err);
done:
    nac_canvas_free(&c);
    free(ax);
    free(mu);
    free(p);
    free(hist);
    return st;
}

int nac_plot_frame(const char *path, const float *x, const float *q, int K, const char *title, nac_error *err)
{
    if (K < 1)
        return nac_error_set(err, NAC_ERR_ARG, "frame plot needs K >= 1");
    enum { PW = 720, PH = 420, X0 = 90, Y0 = 84 };
    double lo = INFINITY, hi = -INFINITY, se = 0;
    for (int k = 0; k < K; k++) {
        lo = fmin(lo, x[k]);
        hi = fmax(hi, x[k]);
        if (q) {
            lo = fmin(lo, q[k]);
            hi = fmax(hi, q[k]);
            se += ((double)x[k] - q[k]) * ((double)x[k] - q[k]);
        }
    }
    double st10 = tick_step(lo, hi + 1e-6, 6);
    lo = floor(lo / st10) * st10;
    hi = ceil(hi / st10) * st10;
    if (hi - lo < 1e-6)
        hi = lo + 1;
    nac_canvas c = {0};
    int st = nac_canvas_init(&c, X0 + PW + 30, Y0 + PH + 80, BG, err);
    if (st)
        return st;
    int xk[1024], yx[1024], yq[1024];
    int n = K < 1024 ? K : 1024;
    for (int k = 0; k < n; k++) {
        xk[k] = X0 + (K > 1 ? (int)lround((double)k / (K - 1) * (PW - 1)) : PW / 2);
        yx[k] = Y0 + PH - 1 - (int)lround((x[k] - lo) / (hi - lo) * (PH - 1));
        if (q)
            yq[k] = Y0 + PH - 1 - (int)lround((q[k] - lo) / (hi - lo) * (PH - 1));
    }
    double gs = tick_step(lo, hi, 6); /* grid */
    for (double t = ceil(lo / gs) * gs; t <= hi; t += gs) {
        int y = Y0 + PH - 1 - (int)lround((t - lo) / (hi - lo) * (PH - 1));
        nac_canvas_line(&c, X0, y, X0 + PW - 1, y, GRID);
    }
    for (int k = 0; q && k < n; k++) /* error bars */
        nac_canvas_rect(&c, xk[k] - 3, yx[k] < yq[k] ? yx[k] : yq[k], 7, abs(yx[k] - yq[k]) + 1, 0xf4c0c0u);
    for (int k = 0; k < n; k++) {
        if (k)
            for (int o = -1; o <= 1; o++)
                nac_canvas_line(&c, xk[k - 1], yx[k - 1] + o, xk[k], yx[k] + o, 0x1f5fbfu);
        nac_canvas_rect(&c, xk[k] - 3, yx[k] - 3, 7, 7, 0x1f5fbfu);
        if (q) {
            if (k)
                nac_canvas_line(&c, xk[k - 1], yq[k - 1], xk[k], yq[k], 0xd04010u);
            nac_canvas_frame(&c, xk[k] - 4, yq[k] - 4, 9, 9, 0xd04010u);
        }
    }
    axes(&c, X0, Y0, PW, PH, 0, K - 1 > 0 ? K - 1 : 1, lo, hi, "k (mel-spaced band)", "dB");
    char buf[300];
    if (q)
        snprintf(buf, sizeof buf, "%s  error %.2f dB^2", title ? title : "frame", se / K);
    else
        snprintf(buf, sizeof buf, "%s", title ? title : "frame");
    nac_canvas_text(&c, X0 + PW / 2, 10, buf, S, INK, NAC_ALIGN_CENTER);
    int lx = X0, ly = 16 + (NAC_FONT_H + 6) * S; /* legend: one row between title and plot */
    nac_canvas_rect(&c, lx, ly, 9, 9, 0x1f5fbfu);
    lx += 16 + nac_canvas_text(&c, lx + 16, ly + 1, "input", S, INK, NAC_ALIGN_LEFT) + 24;
    if (q) {
        nac_canvas_frame(&c, lx, ly, 9, 9, 0xd04010u);
        lx += 16 + nac_canvas_text(&c, lx + 16, ly + 1, "compared", S, INK, NAC_ALIGN_LEFT) + 24;
        nac_canvas_rect(&c, lx, ly, 9, 9, 0xf4c0c0u);
        nac_canvas_text(&c, lx + 16, ly + 1, "difference", S, INK, NAC_ALIGN_LEFT);
    }
    st = nac_canvas_save_png(&c, path, err);
    nac_canvas_free(&c);
    return st;
}
