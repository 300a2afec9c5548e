/* Colour maps computed in OKLab (Ottosson 2020), a space where equal steps look about equally
 * different. Sequential: lightness rises linearly from near black to pale yellow while the hue
 * turns violet -> magenta -> orange -> yellow (in the spirit of magma, but our own path), so it
 * reads in greyscale too. Diverging: blue (negative) -> near white (0) -> red (positive), with
 * lightness symmetric about the middle. Colours outside sRGB lose chroma, never lightness. */
#ifndef NAC_PLOT_COLORMAP_H
#define NAC_PLOT_COLORMAP_H

#include <stdint.h>

typedef enum nac_colormap_kind {
    NAC_COLORMAP_SEQUENTIAL,
    NAC_COLORMAP_DIVERGING
} nac_colormap_kind;

typedef struct nac_colormap {
    uint8_t rgb[256][3];
} nac_colormap;

void nac_colormap_init(nac_colormap *m, nac_colormap_kind kind);
/* Colour at t in [0, 1] (clamped; NaN gives the middle) as 0xRRGGBB. */
uint32_t nac_colormap_at(const nac_colormap *m, float t);

#endif
