/* An RGB raster to draw figures on: filled rectangles, lines, text in the font of font.h.
 * Colours are 0xRRGGBB. Every drawing call clips to the canvas. */
#ifndef NAC_PLOT_CANVAS_H
#define NAC_PLOT_CANVAS_H

#include <stdint.h>

#include "core/status.h"

typedef struct nac_canvas {
    int w, h;
    uint8_t *rgb; /* (h, w, 3), owned */
} nac_canvas;

typedef enum nac_align {
    NAC_ALIGN_LEFT,   /* x is the left edge */
    NAC_ALIGN_CENTER, /* x is the middle */
    NAC_ALIGN_RIGHT   /* x is the right edge */
} nac_align;

int nac_canvas_init(nac_canvas *c, int w, int h, uint32_t background, nac_error *err);
void nac_canvas_free(nac_canvas *c);
int nac_canvas_save_png(const nac_canvas *c, const char *path, nac_error *err);

void nac_canvas_pixel(nac_canvas *c, int x, int y, uint32_t color);
void nac_canvas_rect(nac_canvas *c, int x, int y, int w, int h, uint32_t color);
/* One-pixel outline of the rectangle x..x+w-1, y..y+h-1. */
void nac_canvas_frame(nac_canvas *c, int x, int y, int w, int h, uint32_t color);
void nac_canvas_line(nac_canvas *c, int x0, int y0, int x1, int y1, uint32_t color);
/* Text with its top (capital height) at y; returns its width in pixels. */
int nac_canvas_text(nac_canvas *c, int x, int y, const char *s, int scale, uint32_t color, nac_align align);
/* Text turned 90 degrees anticlockwise (read bottom to top), centred on (x, y). */
void nac_canvas_text_up(nac_canvas *c, int x, int y, const char *s, int scale, uint32_t color);

#endif
