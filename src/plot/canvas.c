/* RGB canvas drawing primitives. */
#include "plot/canvas.h"

#include <stdlib.h>
#include <string.h>

#include "plot/font.h"
#include "plot/png.h"

int nac_canvas_init(nac_canvas *c, int w, int h, uint32_t background, nac_error *err)
{
    c->w = c->h = 0;
    c->rgb = NULL;
    if (w <= 0 || h <= 0 || w > 20000 || h > 20000)
        return nac_error_set(err, NAC_ERR_ARG, "invalid image size %dx%d (1..20000 pixels a side)", w, h);
    c->rgb = malloc((size_t)w * (size_t)h * 3);
    if (!c->rgb)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory for a %dx%d image", w, h);
    c->w = w;
    c->h = h;
    nac_canvas_rect(c, 0, 0, w, h, background);
    return NAC_OK;
}

void nac_canvas_free(nac_canvas *c)
{
    if (!c)
        return;
    free(c->rgb);
    c->rgb = NULL;
    c->w = c->h = 0;
}

int nac_canvas_save_png(const nac_canvas *c, const char *path, nac_error *err)
{
    return nac_png_write(path, c->rgb, c->w, c->h, err);
}

void nac_canvas_pixel(nac_canvas *c, int x, int y, uint32_t color)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h)
        return;
    uint8_t *p = c->rgb + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
    p[0] = (uint8_t)(color >> 16);
    p[1] = (uint8_t)(color >> 8);
    p[2] = (uint8_t)color;
}

void nac_canvas_rect(nac_canvas *c, int x, int y, int w, int h, uint32_t color)
{
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > c->w ? c->w : x + w, y1 = y + h > c->h ? c->h : y + h;
    for (int j = y0; j < y1; j++)
        for (int i = x0; i < x1; i++)
            nac_canvas_pixel(c, i, j, color);
}

void nac_canvas_frame(nac_canvas *c, int x, int y, int w, int h, uint32_t color)
{
    nac_canvas_rect(c, x, y, w, 1, color);
    nac_canvas_rect(c, x, y + h - 1, w, 1, color);
    nac_canvas_rect(c, x, y, 1, h, color);
    nac_canvas_rect(c, x + w - 1, y, 1, h, color);
}

void nac_canvas_line(nac_canvas *c, int x0, int y0, int x1, int y1, uint32_t color)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy;
    for (;;) {
        nac_canvas_pixel(c, x0, y0, color);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

int nac_canvas_text(nac_canvas *c, int x, int y, const char *s, int scale, uint32_t color, nac_align align)
{
    int w = nac_font_text_width(s, scale);
    if (align == NAC_ALIGN_CENTER)
        x -= w / 2;
    else if (align == NAC_ALIGN_RIGHT)
        x -= w;
    for (; *s; s++, x += NAC_FONT_ADVANCE * scale)
        for (int gy = 0; gy < NAC_FONT_H; gy++)
            for (int gx = 0; gx < NAC_FONT_W; gx++)
                if (nac_font_ink((unsigned char)*s, gx, gy))
                    nac_canvas_rect(c, x + gx * scale, y + gy * scale, scale, scale, color);
    return w;
}

void nac_canvas_text_up(nac_canvas *c, int x, int y, const char *s, int scale, uint32_t color)
{
    /* Glyph column gx becomes a row counted upwards, glyph row gy a column to the right. */
    int w = nac_font_text_width(s, scale);
    int bottom = y + w / 2, left = x - NAC_FONT_ASCENT * scale / 2;
    for (int k = 0; *s; s++, k++)
        for (int gy = 0; gy < NAC_FONT_H; gy++)
            for (int gx = 0; gx < NAC_FONT_W; gx++)
                if (nac_font_ink((unsigned char)*s, gx, gy))
                    nac_canvas_rect(c, left + gy * scale, bottom - (k * NAC_FONT_ADVANCE + gx + 1) * scale, scale,
                                    scale, color);
}
