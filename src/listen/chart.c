/* The report's picture: one bar per condition (its mean) with the 95% interval as a whisker, on
 * the MUSHRA scale with its five bands named, drawn with src/plot's canvas and font. */
#include "listen/listen.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot/canvas.h"
#include "plot/font.h"

#define BG 0xFFFFFFu
#define INK 0x202020u
#define GRID 0xD0D0D0u
#define BAND 0xF4F4F4u
#define BAR 0x7FA7D9u
#define BAR_REF 0xB0B0B0u
#define WHISKER 0x102040u

int nac_listen_chart(const char *path, const nac_listen_summary *s, size_t n, const char *title, nac_error *err)
{
    static const char *const bands[5] = {"Bad", "Poor", "Fair", "Good", "Excellent"};
    const int S = 2, ch = NAC_FONT_ASCENT * S; /* font scale, capital height */
    if (!path || !s || n == 0)
        return nac_error_set(err, NAC_ERR_ARG, "chart: nothing to draw");
    int label_w = 0, rotate;
    for (size_t i = 0; i < n; i++) {
        int w = nac_font_text_width(s[i].condition, S);
        label_w = w > label_w ? w : label_w;
    }
    /* a slot wide enough for its label, up to a point; past that the labels turn */
    int slot = label_w + 20 < 110 ? 110 : label_w + 20 > 170 ? 110 : label_w + 20;
    rotate = label_w + 20 > 170;
    int left = 70, right = 130, top = 60, plot_w = (int)n * slot;
    int bottom = 24 + (rotate ? label_w + 12 : ch + 12) + 2 * (ch + 12);
    int W = left + plot_w + right, H = top + 400 + bottom;
    if (W < 640)
        W = 640;
    int x0 = left, y0 = top, ph = 400, x1 = x0 + plot_w;
    nac_canvas c;
    int st = nac_canvas_init(&c, W, H, BG, err);
    if (st)
        return st;
    /* bands and grid: 0..100 in steps of 20 */
    for (int b = 0; b < 5; b++) {
        int ya = y0 + ph - (b + 1) * ph / 5, yb = y0 + ph - b * ph / 5;
        if (b % 2 == 1)
            nac_canvas_rect(&c, x0, ya, plot_w, yb - ya, BAND);
        nac_canvas_text(&c, x1 + 10, (ya + yb) / 2 - ch / 2, bands[b], S, INK, NAC_ALIGN_LEFT);
    }
    for (int v = 0; v <= 100; v += 20) {
        char t[8];
        int y = y0 + ph - v * ph / 100;
        nac_canvas_rect(&c, x0, y, plot_w, 1, GRID);
        nac_canvas_rect(&c, x0 - 6, y, 6, 1, INK);
        snprintf(t, sizeof t, "%d", v);
        nac_canvas_text(&c, x0 - 10, y - ch / 2, t, S, INK, NAC_ALIGN_RIGHT);
    }
    for (size_t i = 0; i < n; i++) {
        int cx = x0 + (int)i * slot + slot / 2, bw = slot / 2;
        double m = s[i].mean < 0 ? 0 : s[i].mean > 100 ? 100 : s[i].mean;
        int ym = y0 + ph - (int)lround(m * ph / 100);
        int is_ref = !strcmp(s[i].condition, "reference");
        nac_canvas_rect(&c, cx - bw / 2, ym, bw, y0 + ph - ym, is_ref ? BAR_REF : BAR);
        nac_canvas_frame(&c, cx - bw / 2, ym, bw, y0 + ph - ym + 1, INK);
        if (isfinite(s[i].ci95)) {
            double lo = fmax(0, s[i].mean - s[i].ci95), hi = fmin(100, s[i].mean + s[i].ci95);
            int ylo = y0 + ph - (int)lround(lo * ph / 100), yhi = y0 + ph - (int)lround(hi * ph / 100);
            for (int dx = -1; dx <= 1; dx++)
                nac_canvas_line(&c, cx + dx, ylo, cx + dx, yhi, WHISKER);
            nac_canvas_rect(&c, cx - 10, yhi - 1, 21, 3, WHISKER);
            nac_canvas_rect(&c, cx - 10, ylo - 1, 21, 3, WHISKER);
        }
        int y = y0 + ph + 12;
        if (rotate) {
            int w = nac_font_text_width(s[i].condition, S);
            nac_canvas_text_up(&c, cx, y + w / 2, s[i].condition, S, INK);
            y += label_w + 12;
        } else {
            nac_canvas_text(&c, cx, y, s[i].condition, S, INK, NAC_ALIGN_CENTER);
            y += ch + 12;
        }
        char t[48];
        if (isfinite(s[i].ci95))
            snprintf(t, sizeof t, "%.0f+-%.0f", s[i].mean, s[i].ci95);
        else
            snprintf(t, sizeof t, "%.0f", s[i].mean);
        nac_canvas_text(&c, cx, y, t, S, INK, NAC_ALIGN_CENTER);
        snprintf(t, sizeof t, "n=%zu", s[i].n);
        nac_canvas_text(&c, cx, y + ch + 12, t, S, 0x707070u, NAC_ALIGN_CENTER);
    }
    nac_canvas_frame(&c, x0, y0, plot_w + 1, ph + 1, INK);
    nac_canvas_text_up(&c, 18, y0 + ph / 2, "score (mean, 95% CI)", S, INK);
    if (title && title[0])
        nac_canvas_text(&c, W / 2, 20, title, S, INK, NAC_ALIGN_CENTER);
    st = nac_canvas_save_png(&c, path, err);
    nac_canvas_free(&c);
    return st;
}
