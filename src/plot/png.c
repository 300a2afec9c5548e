/* PNG writer on libpng. libpng reports errors by longjmp to the setjmp below. */
#include "plot/png.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

int nac_png_write(const char *path, const uint8_t *rgb, int w, int h, nac_error *err)
{
    FILE *f = NULL;
    png_structp png = NULL;
    png_infop info = NULL;
    volatile int rc = NAC_OK; /* live across setjmp */
    if (!path || !rgb || w <= 0 || h <= 0 || w > 100000 || h > 100000)
        return nac_error_set(err, NAC_ERR_ARG, "png: invalid image %dx%d", w, h);
    f = fopen(path, "wb");
    if (!f)
        return nac_error_set(err, NAC_ERR_IO, "%s: cannot open for writing (%s)", path, strerror(errno));
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (png)
        info = png_create_info_struct(png);
    if (!png || !info) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "%s: out of memory in libpng", path);
        goto done;
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = nac_error_set(err, NAC_ERR_IO, "%s: write failed", path);
        goto done;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, (png_const_bytep)(rgb + (size_t)y * (size_t)w * 3));
    png_write_end(png, NULL);
done:
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    if (fclose(f) != 0 && rc == NAC_OK)
        rc = nac_error_set(err, NAC_ERR_IO, "%s: write failed (%s)", path, strerror(errno));
    return rc;
}
