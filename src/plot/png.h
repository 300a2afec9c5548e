/* PNG output through libpng: 8-bit RGB, no alpha. */
#ifndef NAC_PLOT_PNG_H
#define NAC_PLOT_PNG_H

#include <stdint.h>

#include "core/status.h"

/* Writes rgb (h, w, 3) row-major to path. NAC_ERR_ARG for bad sizes, NAC_ERR_IO when the file
 * cannot be written (message names the path). */
int nac_png_write(const char *path, const uint8_t *rgb, int w, int h, nac_error *err);

#endif
