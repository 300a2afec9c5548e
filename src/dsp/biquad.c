/* Biquad filters: RBJ cookbook coefficients, transposed direct form II. */
#include "dsp/biquad.h"

#include <math.h>

void nac_biquad_highpass(nac_biquad *f, double fc, double fs)
{
    double w0 = 2 * M_PI * fc / fs, c = cos(w0), alpha = sin(w0) / (2 * M_SQRT1_2), a0 = 1 + alpha;
    f->b0 = (1 + c) / 2 / a0;
    f->b1 = -(1 + c) / a0;
    f->b2 = f->b0;
    f->a1 = -2 * c / a0;
    f->a2 = (1 - alpha) / a0;
    f->z1 = f->z2 = 0;
}

void nac_biquad_run(nac_biquad *f, float *x, size_t n)
{
    double z1 = f->z1, z2 = f->z2;
    for (size_t i = 0; i < n; i++) {
        double in = x[i], y = f->b0 * in + z1;
        z1 = f->b1 * in - f->a1 * y + z2;
        z2 = f->b2 * in - f->a2 * y;
        x[i] = (float)y;
    }
    f->z1 = z1;
    f->z2 = z2;
}
