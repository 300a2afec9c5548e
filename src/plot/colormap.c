/* OKLab -> sRGB and the two colour paths of colormap.h. */
#include "plot/colormap.h"

#include <math.h>

/* OKLab (L, a, b) -> linear sRGB, matrices from Ottosson's definition of OKLab. */
static void oklab_to_linear(double L, double a, double b, double rgb[3])
{
    double l = L + 0.3963377774 * a + 0.2158037573 * b;
    double m = L - 0.1055613458 * a - 0.0638541728 * b;
    double s = L - 0.0894841775 * a - 1.2914855480 * b;
    l = l * l * l;
    m = m * m * m;
    s = s * s * s;
    rgb[0] = 4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s;
    rgb[1] = -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s;
    rgb[2] = -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s;
}

static uint8_t srgb_encode(double v)
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    v = v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055;
    return (uint8_t)lround(v * 255);
}

static int in_gamut(const double rgb[3])
{
    for (int k = 0; k < 3; k++)
        if (rgb[k] < -1e-6 || rgb[k] > 1 + 1e-6)
            return 0;
    return 1;
}

/* Lightness L, chroma C, hue h (degrees). Out of gamut, the chroma drops to the largest that
 * fits (bisection), so the path stays continuous along the gamut boundary. */
static void lch_to_srgb(double L, double C, double h, uint8_t out[3])
{
    double rgb[3], hr = h * M_PI / 180, lo = 0, hi = C;
    oklab_to_linear(L, C * cos(hr), C * sin(hr), rgb);
    if (!in_gamut(rgb)) {
        for (int i = 0; i < 40; i++) {
            double mid = 0.5 * (lo + hi);
            oklab_to_linear(L, mid * cos(hr), mid * sin(hr), rgb);
            if (in_gamut(rgb))
                lo = mid;
            else
                hi = mid;
        }
        oklab_to_linear(L, lo * cos(hr), lo * sin(hr), rgb);
    }
    for (int k = 0; k < 3; k++)
        out[k] = srgb_encode(rgb[k]);
}

/* Piecewise-linear interpolation through (x[i], y[i]), x increasing. */
static double interp(const double *x, const double *y, int n, double t)
{
    if (t <= x[0])
        return y[0];
    for (int i = 1; i < n; i++)
        if (t <= x[i])
            return y[i - 1] + (y[i] - y[i - 1]) * (t - x[i - 1]) / (x[i] - x[i - 1]);
    return y[n - 1];
}

void nac_colormap_init(nac_colormap *m, nac_colormap_kind kind)
{
    /* Sequential path: hue keeps increasing (290 -> 460 = 100 degrees) so it never turns back. */
    static const double kt[] = {0.0, 0.25, 0.5, 0.75, 1.0};
    static const double kc[] = {0.07, 0.16, 0.21, 0.18, 0.12};
    static const double kh[] = {285, 325, 370, 420, 460};
    for (int i = 0; i < 256; i++) {
        double t = i / 255.0;
        if (kind == NAC_COLORMAP_SEQUENTIAL) {
            double L = 0.16 + 0.8 * t;
            lch_to_srgb(L, interp(kt, kc, 5, t), interp(kt, kh, 5, t), m->rgb[i]);
        } else {
            /* Entries 127 and 128 are both the neutral middle, so 0 maps to it exactly. */
            double s = fabs(2 * t - 1) - 1 / 255.0;
            s = s < 0 ? 0 : s / (1 - 1 / 255.0);
            double L = 0.97 - 0.55 * s;
            lch_to_srgb(L, 0.22 * pow(s, 0.6), t < 0.5 ? 255 : 28, m->rgb[i]);
        }
    }
}

uint32_t nac_colormap_at(const nac_colormap *m, float t)
{
    int i;
    if (!(t == t))
        t = 0.5f;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    i = (int)lrintf(t * 255);
    return (uint32_t)m->rgb[i][0] << 16 | (uint32_t)m->rgb[i][1] << 8 | m->rgb[i][2];
}
