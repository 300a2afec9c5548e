/* Periodic analysis/synthesis windows: w[j] for j = 0..n-1 with period n (the DFT-even form),
 * computed in double and rounded once to float. */
#include "dsp/window.h"

#include <math.h>

void nac_window_fill(float *w, int n, nac_window_kind kind)
{
    const double two_pi = 6.283185307179586476925286766559;
    for (int j = 0; j < n; j++) {
        double c = cos(two_pi * (double)j / (double)n);
        double v;
        switch (kind) {
        case NAC_WINDOW_HANN: v = 0.5 - 0.5 * c; break;
        case NAC_WINDOW_SQRT_HANN: v = sqrt(fmax(0.0, 0.5 - 0.5 * c)); break;
        case NAC_WINDOW_HAMMING: v = 0.54 - 0.46 * c; break;
        case NAC_WINDOW_RECT:
        default: v = 1.0; break;
        }
        w[j] = (float)v;
    }
}
