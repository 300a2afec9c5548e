/* Spectrogram and comparison figures. The signal goes through the streaming STFT in chunks of
 * CHUNK frames, and the power of the frames whose centres fall in a time cell (one per pixel
 * column at most) is averaged there, so memory is (columns x bins) whatever the length. Rows
 * of the picture map to frequency through the chosen scale: interpolated between bins where a
 * row is finer than a bin, the loudest bin of the row where it is coarser. */
#include "plot/spectrogram.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/stft.h"
#include "plot/canvas.h"
#include "plot/colormap.h"
#include "plot/font.h"

#define CHUNK 64            /* STFT frames per call */
#define INK 0x202020u       /* frames, ticks */
#define TEXT 0x303030u
#define BACKGROUND 0xFFFFFFu
#define MISSING 0xD9D9D9u   /* past the end of a signal */
#define TICK 5              /* tick length, pixels */

/* ---------------------------------------------------------------- options */

void nac_plot_opts_init(nac_plot_opts *o) { memset(o, 0, sizeof *o); }

typedef struct params {
    int w, h, n_fft, hop;
    int s;                /* font scale */
    float range, diff_range;
    nac_plot_freq_scale scale;
    const char *title;
} params;

static int resolve(params *p, const nac_plot_opts *o, int sr, int compare, nac_error *err)
{
    nac_plot_opts def;
    if (!o) {
        nac_plot_opts_init(&def);
        o = &def;
    }
    if (sr <= 0)
        return nac_error_set(err, NAC_ERR_ARG, "plot: invalid sample rate %d", sr);
    p->w = o->width ? o->width : 1200;
    p->h = o->height ? o->height : compare ? 1080 : 520;
    if (p->w < 320 || p->h < (compare ? 480 : 200) || p->w > 16000 || p->h > 16000)
        return nac_error_set(err, NAC_ERR_ARG, "plot: image %dx%d is outside 320x%d .. 16000x16000", p->w, p->h,
                             compare ? 480 : 200);
    p->n_fft = o->n_fft;
    if (!p->n_fft) {
        p->n_fft = 16;
        while (p->n_fft * 2 <= 0.04 * sr)
            p->n_fft *= 2;
    }
    p->hop = o->hop ? o->hop : p->n_fft / 4;
    if (p->n_fft < 8 || p->n_fft > 65536 || p->n_fft % 2 || p->hop < 1 || p->hop > p->n_fft)
        return nac_error_set(err, NAC_ERR_ARG, "plot: invalid STFT size n_fft %d hop %d", p->n_fft, p->hop);
    p->range = o->range_db > 0 ? o->range_db : 80;
    p->diff_range = o->diff_range_db;
    if (!(p->range <= 300) || !(p->diff_range >= 0 && p->diff_range <= 300))
        return nac_error_set(err, NAC_ERR_ARG, "plot: invalid dB range");
    if (o->freq_scale != NAC_PLOT_FREQ_MEL && o->freq_scale != NAC_PLOT_FREQ_LOG &&
        o->freq_scale != NAC_PLOT_FREQ_LINEAR)
        return nac_error_set(err, NAC_ERR_ARG, "plot: unknown frequency scale %d", (int)o->freq_scale);
    p->scale = o->freq_scale;
    p->title = o->title && o->title[0] ? o->title : NULL;
    p->s = (p->w >= 640 && p->h >= (compare ? 640 : 360)) ? 2 : 1;
    return NAC_OK;
}

/* ---------------------------------------------------------------- power in time cells */

typedef struct spec {
    int K, F, n_fft, sr;
    float *db; /* (K, F) dBFS; NaN in cells past the end of the signal */
} spec;

static void spec_free(spec *sp)
{
    free(sp->db);
    sp->db = NULL;
}

/* dur: seconds spanned by the K cells (at least the signal's length). */
static int spec_compute(spec *sp, const float *x, size_t n, int sr, double dur, int K, const params *p,
                        nac_error *err)
{
    const int n_fft = p->n_fft, hop = p->hop, F = n_fft / 2 + 1;
    nac_stft *st = NULL;
    nac_stft_state state = {0};
    float *chunk = NULL, *re = NULL, *im = NULL;
    double *acc = NULL, wsum = 0;
    int *cnt = NULL, rc;
    size_t frames = (n + (size_t)n_fft / 2 + (size_t)hop - 1) / (size_t)hop;
    memset(sp, 0, sizeof *sp);
    rc = nac_stft_create(&st, n_fft, hop, NAC_WINDOW_HANN, err);
    if (rc < 0)
        return rc;
    rc = nac_stft_state_init(&state, st);
    if (rc < 0) {
        nac_error_set(err, rc, "plot: out of memory for the STFT");
        goto done;
    }
    chunk = malloc((size_t)CHUNK * (size_t)hop * sizeof *chunk);
    re = malloc((size_t)CHUNK * (size_t)F * sizeof *re);
    im = malloc((size_t)CHUNK * (size_t)F * sizeof *im);
    acc = calloc((size_t)K * (size_t)F, sizeof *acc);
    cnt = calloc((size_t)K, sizeof *cnt);
    sp->db = malloc((size_t)K * (size_t)F * sizeof *sp->db);
    if (!chunk || !re || !im || !acc || !cnt || !sp->db) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "plot: out of memory for a %dx%d spectrogram", K, F);
        goto done;
    }
    for (int j = 0; j < n_fft; j++)
        wsum += nac_stft_window(st)[j];
    for (size_t t0 = 0; t0 < frames; t0 += CHUNK) {
        int nf = frames - t0 < CHUNK ? (int)(frames - t0) : CHUNK;
        size_t base = t0 * (size_t)hop;
        for (size_t i = 0; i < (size_t)nf * (size_t)hop; i++) {
            float v = base + i < n ? x[base + i] : 0.0f;
            chunk[i] = isfinite(v) ? v : 0.0f;
        }
        nac_stft_stream(st, &state, re, im, chunk, nf * hop);
        for (int j = 0; j < nf; j++) {
            /* Frame t ends at sample (t+1)*hop - 1 (causal framing): its centre is n_fft/2 earlier. */
            double centre = (double)(t0 + (size_t)j + 1) * hop - n_fft / 2;
            if (centre < 0 || centre >= (double)n)
                continue;
            int k = (int)(centre / sr / dur * K);
            if (k >= K)
                k = K - 1;
            double *a = acc + (size_t)k * (size_t)F;
            for (int f = 0; f < F; f++) {
                double r = re[(size_t)f * (size_t)nf + (size_t)j], q = im[(size_t)f * (size_t)nf + (size_t)j];
                a[f] += r * r + q * q;
            }
            cnt[k]++;
        }
    }
    /* A full-scale sine has |X| = wsum / 2 at its bin: scale so that it reads 0 dBFS. */
    for (int k = 0; k < K; k++) {
        float *d = sp->db + (size_t)k * (size_t)F;
        for (int f = 0; f < F; f++)
            d[f] = cnt[k] ? (float)(10 * log10(4 * acc[(size_t)k * F + f] / cnt[k] / (wsum * wsum) + 1e-12)) : NAN;
    }
    /* Cells inside the signal that no frame centre fell in (more columns than frames): nearest. */
    for (int k = 0; k < K; k++) {
        if (cnt[k] || (double)k * dur / K >= (double)n / sr)
            continue;
        int src = -1;
        for (int d = 1; d < K && src < 0; d++) {
            if (k - d >= 0 && cnt[k - d])
                src = k - d;
            else if (k + d < K && cnt[k + d])
                src = k + d;
        }
        if (src >= 0)
            memcpy(sp->db + (size_t)k * F, sp->db + (size_t)src * F, (size_t)F * sizeof *sp->db);
    }
    sp->K = K;
    sp->F = F;
    sp->n_fft = n_fft;
    sp->sr = sr;
    rc = NAC_OK;
done:
    if (rc < 0)
        spec_free(sp);
    nac_stft_state_free(&state);
    nac_stft_destroy(st);
    free(chunk);
    free(re);
    free(im);
    free(acc);
    free(cnt);
    return rc;
}

static float spec_max(const spec *sp)
{
    float m = -INFINITY;
    for (size_t i = 0; i < (size_t)sp->K * sp->F; i++)
        if (sp->db[i] > m)
            m = sp->db[i];
    return m;
}

/* ---------------------------------------------------------------- frequency axis */

typedef struct freq_axis {
    nac_plot_freq_scale scale;
    double fmin, fmax, smin, smax; /* in Hz and in scale units */
    int ph;                        /* panel height, pixels */
} freq_axis;

static double to_scale(nac_plot_freq_scale s, double f)
{
    return s == NAC_PLOT_FREQ_MEL ? 2595 * log10(1 + f / 700) : s == NAC_PLOT_FREQ_LOG ? log(f) : f;
}

static double from_scale(nac_plot_freq_scale s, double v)
{
    return s == NAC_PLOT_FREQ_MEL ? 700 * (pow(10, v / 2595) - 1) : s == NAC_PLOT_FREQ_LOG ? exp(v) : v;
}

static void freq_axis_init(freq_axis *a, nac_plot_freq_scale scale, int sr, int ph)
{
    a->scale = scale;
    a->fmax = sr / 2.0;
    a->fmin = scale != NAC_PLOT_FREQ_LOG ? 0 : a->fmax > 1000 ? 50 : a->fmax / 20;
    a->smin = to_scale(scale, a->fmin);
    a->smax = to_scale(scale, a->fmax);
    a->ph = ph;
}

/* Pixel offset from the panel top of frequency f (0 at fmax, ph at fmin). */
static double freq_to_y(const freq_axis *a, double f)
{
    return (1 - (to_scale(a->scale, f) - a->smin) / (a->smax - a->smin)) * a->ph;
}

static double y_to_freq(const freq_axis *a, double y)
{
    return from_scale(a->scale, a->smin + (1 - y / a->ph) * (a->smax - a->smin));
}

/* What row j of a panel shows: bins lo..hi (their maximum) when the row spans at least one whole
 * bin, else bin b0 and b0+1 mixed by frac. */
typedef struct row_map {
    int lo, hi, b0;
    float frac;
} row_map;

static row_map *row_maps(const freq_axis *a, int n_fft, int sr, int F)
{
    row_map *m = malloc((size_t)a->ph * sizeof *m);
    if (!m)
        return NULL;
    for (int j = 0; j < a->ph; j++) {
        double top = y_to_freq(a, j) * n_fft / sr, bot = y_to_freq(a, j + 1) * n_fft / sr;
        double mid = y_to_freq(a, j + 0.5) * n_fft / sr;
        m[j].lo = (int)ceil(bot);
        m[j].hi = (int)floor(top);
        if (m[j].hi > F - 1)
            m[j].hi = F - 1;
        if (top - bot < 1 || m[j].hi < m[j].lo) {
            m[j].hi = -1;
            m[j].b0 = (int)floor(mid);
            if (m[j].b0 > F - 2)
                m[j].b0 = F - 2;
            if (m[j].b0 < 0)
                m[j].b0 = 0;
            m[j].frac = (float)(mid - m[j].b0);
            m[j].frac = m[j].frac < 0 ? 0 : m[j].frac > 1 ? 1 : m[j].frac;
        }
    }
    return m;
}

static float row_value(const float *col, const row_map *r)
{
    if (r->hi >= r->lo) {
        float m = col[r->lo];
        for (int b = r->lo + 1; b <= r->hi; b++)
            m = col[b] > m ? col[b] : m;
        return m;
    }
    return col[r->b0] * (1 - r->frac) + col[r->b0 + 1] * r->frac;
}

static void freq_label(char *dst, size_t cap, double f)
{
    if (f < 1000)
        snprintf(dst, cap, "%d", (int)lround(f));
    else if (fmod(f, 1000) == 0)
        snprintf(dst, cap, "%dk", (int)(f / 1000));
    else
        snprintf(dst, cap, "%.1fk", f / 1000);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Frequency ticks at least gap pixels apart, sorted; returns how many (at most cap). Round
 * values go first (0, 100, 1k, 10k, then 2-5 series, then the rest), so a crowded axis keeps
 * the most readable ones. */
static int freq_ticks(double *out, int cap, const freq_axis *a, int gap)
{
    static const double levels[][8] = {
        {0, 100, 1000, 10000},
        {200, 500, 2000, 5000, 20000, 50000},
        {50, 300, 3000, 4000, 8000, 16000, 40000},
        {1500, 6000, 12000, 24000, 32000, 48000, 64000, 96000},
    };
    int n = 0;
    if (a->scale == NAC_PLOT_FREQ_LINEAR) {
        static const double steps[] = {10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000};
        double step = 100000;
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
            if (steps[i] / a->fmax * a->ph >= gap) {
                step = steps[i];
                break;
            }
        for (double f = 0; f <= a->fmax + 1e-6 && n < cap; f += step)
            out[n++] = f;
        return n;
    }
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++)
        for (size_t i = 0; i < sizeof levels[0] / sizeof levels[0][0] && n < cap; i++) {
            double f = levels[l][i], y = freq_to_y(a, f);
            int ok = f >= a->fmin - 1e-6 && f <= a->fmax + 1e-6 && (f > 0 || (l == 0 && i == 0));
            if (f == 0 && a->scale == NAC_PLOT_FREQ_LOG)
                ok = 0;
            for (int k = 0; k < n && ok; k++)
                if (fabs(freq_to_y(a, out[k]) - y) < gap)
                    ok = 0;
            if (ok)
                out[n++] = f;
        }
    qsort(out, (size_t)n, sizeof *out, cmp_double);
    return n;
}

/* ---------------------------------------------------------------- drawing pieces */

static void draw_freq_axis(nac_canvas *c, int x0, int y0, const freq_axis *a, int s, int labels)
{
    double ticks[64];
    char buf[32];
    int n = freq_ticks(ticks, 64, a, 2 * NAC_FONT_ASCENT * s + 2);
    for (int i = 0; i < n; i++) {
        int y = y0 + (int)lround(freq_to_y(a, ticks[i]));
        if (y >= y0 + a->ph)
            y = y0 + a->ph - 1;
        nac_canvas_rect(c, x0 - TICK, y, TICK, 1, INK);
        if (labels) {
            freq_label(buf, sizeof buf, ticks[i]);
            nac_canvas_text(c, x0 - TICK - 4, y - NAC_FONT_ASCENT * s / 2, buf, s, TEXT, NAC_ALIGN_RIGHT);
        }
    }
}

/* Time ticks below a panel (x0, width pw, bottom edge y) over [0, dur] seconds. */
static void draw_time_axis(nac_canvas *c, int x0, int y, int pw, double dur, int s, int labels)
{
    static const double steps[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5,
                                   10, 15, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200};
    double step = steps[sizeof steps / sizeof steps[0] - 1];
    char buf[32];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int chars = (int)log10(dur + 1) + (steps[i] < 0.01 ? 5 : steps[i] < 0.1 ? 4 : steps[i] < 1 ? 3 : 1);
        if (steps[i] / dur * pw >= (chars + 4) * NAC_FONT_ADVANCE * s) {
            step = steps[i];
            break;
        }
    }
    int dec = step < 0.01 ? 3 : step < 0.1 ? 2 : step < 1 ? (step == 0.25 ? 2 : 1) : 0;
    for (int i = 0;; i++) {
        double t = i * step;
        if (t > dur + 1e-9)
            break;
        int x = x0 + (int)lround(t / dur * pw);
        if (x >= x0 + pw)
            x = x0 + pw - 1;
        nac_canvas_rect(c, x, y, 1, TICK, INK);
        if (labels) {
            snprintf(buf, sizeof buf, "%.*f", dec, t);
            nac_canvas_text(c, x, y + TICK + 5, buf, s, TEXT, NAC_ALIGN_CENTER);
        }
    }
}

/* Vertical colour bar for values lo (bottom) .. hi (top), labelled every step; unit on its side.
 * diverging: the map runs over [-hi, hi] and labels carry a sign. */
static void draw_colorbar(nac_canvas *c, int x, int y, int w, int h, const nac_colormap *cm, float lo, float hi,
                          float step, const char *unit, int s, int signed_labels)
{
    char buf[32];
    int maxw = 0;
    for (int j = 0; j < h; j++) {
        float t = 1 - (j + 0.5f) / h;
        nac_canvas_rect(c, x, y + j, w, 1, nac_colormap_at(cm, t));
    }
    nac_canvas_frame(c, x - 1, y - 1, w + 2, h + 2, INK);
    for (float v = step * floorf(hi / step + 1e-4f); v >= lo - 1e-3f; v -= step) {
        int yy = y + (int)lround((hi - v) / (hi - lo) * (h - 1));
        nac_canvas_rect(c, x + w + 1, yy, TICK, 1, INK);
        if (signed_labels && v > 0.01f)
            snprintf(buf, sizeof buf, "+%g", (double)v);
        else
            snprintf(buf, sizeof buf, "%g", fabs(v) < 0.01 ? 0.0 : (double)v);
        int tw = nac_canvas_text(c, x + w + TICK + 5, yy - NAC_FONT_ASCENT * s / 2, buf, s, TEXT, NAC_ALIGN_LEFT);
        maxw = tw > maxw ? tw : maxw;
    }
    nac_canvas_text_up(c, x + w + TICK + 5 + maxw + 10 + NAC_FONT_ASCENT * s / 2, y + h / 2, unit, s, TEXT);
}

static void draw_spec_panel(nac_canvas *c, int x0, int y0, int pw, int ph, const spec *sp, const row_map *rm,
                            float lo, float hi, const nac_colormap *cm)
{
    for (int i = 0; i < pw; i++) {
        const float *col = sp->db + (size_t)((int)((i + 0.5) * sp->K / pw)) * sp->F;
        for (int j = 0; j < ph; j++) {
            float v = isnan(col[0]) ? NAN : row_value(col, &rm[j]);
            nac_canvas_pixel(c, x0 + i, y0 + j, isnan(v) ? MISSING : nac_colormap_at(cm, (v - lo) / (hi - lo)));
        }
    }
    nac_canvas_frame(c, x0 - 1, y0 - 1, pw + 2, ph + 2, INK);
}

/* Difference DEG - REF with both floored at lo, on [-r, r]. */
static void draw_diff_panel(nac_canvas *c, int x0, int y0, int pw, int ph, const spec *ref, const spec *deg,
                            const row_map *rm, float lo, float r, const nac_colormap *cm)
{
    for (int i = 0; i < pw; i++) {
        size_t k = (size_t)((int)((i + 0.5) * ref->K / pw)) * ref->F;
        const float *a = ref->db + k, *b = deg->db + k;
        for (int j = 0; j < ph; j++) {
            uint32_t color = MISSING;
            if (!isnan(a[0]) && !isnan(b[0])) {
                float va = row_value(a, &rm[j]), vb = row_value(b, &rm[j]);
                va = va < lo ? lo : va;
                vb = vb < lo ? lo : vb;
                color = nac_colormap_at(cm, 0.5f + (vb - va) / (2 * r));
            }
            nac_canvas_pixel(c, x0 + i, y0 + j, color);
        }
    }
    nac_canvas_frame(c, x0 - 1, y0 - 1, pw + 2, ph + 2, INK);
}

/* A symmetric range that holds 99% of the differences, in steps of 5 dB, 5 .. 40. */
static float auto_diff_range(const spec *ref, const spec *deg, float lo)
{
    enum { BINS = 400 }; /* 0.1 dB each */
    size_t hist[BINS] = {0}, total = 0, run = 0;
    for (size_t i = 0; i < (size_t)ref->K * ref->F; i++) {
        float a = ref->db[i], b = deg->db[i];
        if (isnan(a) || isnan(b))
            continue;
        a = a < lo ? lo : a;
        b = b < lo ? lo : b;
        int h = (int)(fabsf(b - a) * 10);
        hist[h >= BINS ? BINS - 1 : h]++;
        total++;
    }
    int h = 0;
    for (; h < BINS; h++) {
        run += hist[h];
        if (run >= 0.99 * total)
            break;
    }
    float r = 5 * ceilf((h + 1) / 10.0f / 5);
    return r < 5 ? 5 : r > 40 ? 40 : r;
}

static float colorbar_step(float range)
{
    return range <= 12 ? 2 : range <= 30 ? 5 : range <= 120 ? 10 : 20;
}

/* Title centred on the image at scale s + 1, or smaller if it does not fit, or cut short with
 * "..." at scale 1. Returns the bottom of the title block. */
static int draw_title(nac_canvas *c, const char *title, int s)
{
    char buf[512];
    int ts = s + 1, room = c->w - 20;
    if (!title)
        return 12;
    snprintf(buf, sizeof buf, "%s", title);
    while (ts > 1 && nac_font_text_width(buf, ts) > room)
        ts--;
    for (size_t len = strlen(buf); len > 3 && nac_font_text_width(buf, ts) > room; len--)
        memcpy(buf + len - 4, "...", 4);
    nac_canvas_text(c, c->w / 2, 14, buf, ts, INK, NAC_ALIGN_CENTER);
    return 14 + NAC_FONT_H * ts + 12;
}

/* Margins around the plotting area for scale s: left holds the rotated axis name and frequency
 * labels, bottom the time labels and name, right the colour bar. */
static int margin_left(int s) { return 12 + NAC_FONT_ASCENT * s + 12 + 4 * NAC_FONT_ADVANCE * s + TICK + 6; }
static int margin_bottom(int s) { return TICK + 5 + NAC_FONT_H * s + 8 + NAC_FONT_H * s + 10; }
static int margin_right(int s)
{
    return 22 + 18 + TICK + 5 + 4 * NAC_FONT_ADVANCE * s + 10 + NAC_FONT_ASCENT * s + 12;
}

/* ---------------------------------------------------------------- figures */

int nac_plot_spectrogram(const char *path, const float *x, size_t n, int sample_rate, const nac_plot_opts *opts,
                         nac_error *err)
{
    params p;
    spec sp = {0};
    nac_canvas c = {0};
    nac_colormap cm;
    freq_axis fa;
    row_map *rm = NULL;
    int rc, x0, y0, pw, ph;
    double dur;
    float hi, lo;
    if (!path || (!x && n))
        return nac_error_set(err, NAC_ERR_ARG, "nac_plot_spectrogram: NULL argument");
    if (n == 0)
        return nac_error_set(err, NAC_ERR_EMPTY, "plot: no samples to draw");
    rc = resolve(&p, opts, sample_rate, 0, err);
    if (rc < 0)
        return rc;
    rc = nac_canvas_init(&c, p.w, p.h, BACKGROUND, err);
    if (rc < 0)
        return rc;
    y0 = draw_title(&c, p.title, p.s);
    x0 = margin_left(p.s);
    pw = p.w - x0 - margin_right(p.s);
    ph = p.h - y0 - margin_bottom(p.s);
    if (pw < 64 || ph < 48) {
        rc = nac_error_set(err, NAC_ERR_ARG, "plot: image %dx%d is too small for its labels", p.w, p.h);
        goto done;
    }
    dur = (double)n / sample_rate;
    rc = spec_compute(&sp, x, n, sample_rate, dur, (size_t)pw < n ? pw : (int)n, &p, err);
    if (rc < 0)
        goto done;
    freq_axis_init(&fa, p.scale, sample_rate, ph);
    rm = row_maps(&fa, sp.n_fft, sample_rate, sp.F);
    if (!rm) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "plot: out of memory");
        goto done;
    }
    hi = 10 * ceilf(spec_max(&sp) / 10);
    lo = hi - p.range;
    nac_colormap_init(&cm, NAC_COLORMAP_SEQUENTIAL);
    draw_spec_panel(&c, x0, y0, pw, ph, &sp, rm, lo, hi, &cm);
    draw_freq_axis(&c, x0, y0, &fa, p.s, 1);
    nac_canvas_text_up(&c, 12 + NAC_FONT_ASCENT * p.s / 2, y0 + ph / 2, "frequency (Hz)", p.s, TEXT);
    draw_time_axis(&c, x0, y0 + ph + 1, pw, dur, p.s, 1);
    nac_canvas_text(&c, x0 + pw / 2, y0 + ph + TICK + 5 + NAC_FONT_H * p.s + 8, "time (s)", p.s, TEXT,
                    NAC_ALIGN_CENTER);
    draw_colorbar(&c, x0 + pw + 22, y0, 18, ph, &cm, lo, hi, colorbar_step(p.range), "dBFS", p.s, 0);
    rc = nac_canvas_save_png(&c, path, err);
done:
    free(rm);
    spec_free(&sp);
    nac_canvas_free(&c);
    return rc;
}

/* Three panels: ref, deg and (res == NULL) their difference, or the third signal res on the same
 * colour scale. */
static int compare_panels(const char *path, const float *ref, size_t nref, const float *deg, size_t ndeg,
                          const float *res, size_t nres, int sample_rate, const nac_plot_opts *opts, nac_error *err)
{
    params p;
    spec sr = {0}, sd = {0}, sx = {0};
    const char *res_name = opts && opts->res_label ? opts->res_label : "restored";
    nac_canvas c = {0};
    nac_colormap seq, div;
    freq_axis fa;
    row_map *rm = NULL;
    char label[512];
    const char *ref_name = opts && opts->ref_label ? opts->ref_label : "reference";
    const char *deg_name = opts && opts->deg_label ? opts->deg_label : "degraded";
    int rc, x0, top, pw, ph, lab, gap, K, py[3];
    size_t nmax = nref > ndeg ? nref : ndeg;
    if (res && nres > nmax)
        nmax = nres;
    double dur;
    float hi, lo, r;
    if (!path || (!ref && nref) || (!deg && ndeg))
        return nac_error_set(err, NAC_ERR_ARG, "nac_plot_compare: NULL argument");
    if (nref == 0 || ndeg == 0 || (res && nres == 0))
        return nac_error_set(err, NAC_ERR_EMPTY, "plot: the %s signal has no samples",
                             !nref ? "reference" : !ndeg ? "degraded" : "restored");
    rc = resolve(&p, opts, sample_rate, 1, err);
    if (rc < 0)
        return rc;
    rc = nac_canvas_init(&c, p.w, p.h, BACKGROUND, err);
    if (rc < 0)
        return rc;
    top = draw_title(&c, p.title, p.s);
    x0 = margin_left(p.s);
    pw = p.w - x0 - margin_right(p.s);
    lab = NAC_FONT_H * p.s + 8; /* panel label line */
    gap = 3 * p.s + 8;
    ph = (p.h - top - margin_bottom(p.s) - 3 * lab - 2 * gap) / 3;
    if (pw < 64 || ph < 48) {
        rc = nac_error_set(err, NAC_ERR_ARG, "plot: image %dx%d is too small for three panels", p.w, p.h);
        goto done;
    }
    for (int i = 0; i < 3; i++)
        py[i] = top + lab + i * (ph + gap + lab);
    dur = (double)nmax / sample_rate;
    K = (size_t)pw < nmax ? pw : (int)nmax;
    rc = spec_compute(&sr, ref, nref, sample_rate, dur, K, &p, err);
    if (rc >= 0)
        rc = spec_compute(&sd, deg, ndeg, sample_rate, dur, K, &p, err);
    if (rc >= 0 && res)
        rc = spec_compute(&sx, res, nres, sample_rate, dur, K, &p, err);
    if (rc < 0)
        goto done;
    freq_axis_init(&fa, p.scale, sample_rate, ph);
    rm = row_maps(&fa, sr.n_fft, sample_rate, sr.F);
    if (!rm) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "plot: out of memory");
        goto done;
    }
    hi = 10 * ceilf(fmaxf(fmaxf(spec_max(&sr), spec_max(&sd)), res ? spec_max(&sx) : -INFINITY) / 10);
    lo = hi - p.range;
    r = p.diff_range > 0 ? p.diff_range : auto_diff_range(&sr, &sd, lo);
    nac_colormap_init(&seq, NAC_COLORMAP_SEQUENTIAL);
    nac_colormap_init(&div, NAC_COLORMAP_DIVERGING);

    snprintf(label, sizeof label, "REF: %s", ref_name);
    nac_canvas_text(&c, x0, py[0] - lab + 2, label, p.s, INK, NAC_ALIGN_LEFT);
    draw_spec_panel(&c, x0, py[0], pw, ph, &sr, rm, lo, hi, &seq);
    snprintf(label, sizeof label, "DEG: %s", deg_name);
    nac_canvas_text(&c, x0, py[1] - lab + 2, label, p.s, INK, NAC_ALIGN_LEFT);
    draw_spec_panel(&c, x0, py[1], pw, ph, &sd, rm, lo, hi, &seq);
    if (res) {
        snprintf(label, sizeof label, "RESTORED: %s", res_name);
        nac_canvas_text(&c, x0, py[2] - lab + 2, label, p.s, INK, NAC_ALIGN_LEFT);
        draw_spec_panel(&c, x0, py[2], pw, ph, &sx, rm, lo, hi, &seq);
    } else {
        nac_canvas_text(&c, x0, py[2] - lab + 2, "DEG - REF: red = DEG louder, blue = DEG quieter", p.s, INK,
                        NAC_ALIGN_LEFT);
        draw_diff_panel(&c, x0, py[2], pw, ph, &sr, &sd, rm, lo, r, &div);
    }
    for (int i = 0; i < 3; i++) {
        draw_freq_axis(&c, x0, py[i], &fa, p.s, 1);
        draw_time_axis(&c, x0, py[i] + ph + 1, pw, dur, p.s, i == 2);
    }
    nac_canvas_text_up(&c, 12 + NAC_FONT_ASCENT * p.s / 2, (py[0] + py[2] + ph) / 2, "frequency (Hz)", p.s, TEXT);
    nac_canvas_text(&c, x0 + pw / 2, py[2] + ph + TICK + 5 + NAC_FONT_H * p.s + 8, "time (s)", p.s, TEXT,
                    NAC_ALIGN_CENTER);
    draw_colorbar(&c, x0 + pw + 22, py[0], 18, py[res ? 2 : 1] + ph - py[0], &seq, lo, hi, colorbar_step(p.range),
                  "dBFS", p.s, 0);
    if (!res)
        draw_colorbar(&c, x0 + pw + 22, py[2], 18, ph, &div, -r, r, colorbar_step(2 * r), "dB", p.s, 1);
    rc = nac_canvas_save_png(&c, path, err);
done:
    free(rm);
    spec_free(&sr);
    spec_free(&sd);
    spec_free(&sx);
    nac_canvas_free(&c);
    return rc;
}

int nac_plot_compare(const char *path, const float *ref, size_t nref, const float *deg, size_t ndeg, int sample_rate,
                     const nac_plot_opts *opts, nac_error *err)
{
    return compare_panels(path, ref, nref, deg, ndeg, NULL, 0, sample_rate, opts, err);
}

int nac_plot_compare3(const char *path, const float *ref, size_t nref, const float *deg, size_t ndeg, const float *res,
                      size_t nres, int sample_rate, const nac_plot_opts *opts, nac_error *err)
{
    if (!res)
        return nac_error_set(err, NAC_ERR_ARG, "nac_plot_compare3: NULL argument");
    return compare_panels(path, ref, nref, deg, ndeg, res, nres, sample_rate, opts, err);
}
