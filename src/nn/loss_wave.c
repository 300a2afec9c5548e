/* Waveform L1 loss (see loss_wave.h). The sum runs in one fixed order in double (it is memory
 * bound and cheap); the gradient, one value per sample, is spread over threads. */
#include "nn/loss_wave.h"

#include <math.h>
#include <stddef.h>

double nn_l1_loss_forward_backward(float *dy, const float *y, const float *x, int B, int T, float weight)
{
    if (B < 1 || T < 1)
        return 0.0;
    const size_t n = (size_t)B * (size_t)T;
    const double N = (double)n;
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += fabsf(y[i] - x[i]);
    if (dy) {
        const float c = (float)((double)weight / N);
#pragma omp parallel for schedule(static) if (n >= 65536)
        for (int b = 0; b < B; b++) {
            float *g = dy + (size_t)b * T;
            const float *yb = y + (size_t)b * T, *xb = x + (size_t)b * T;
            for (int i = 0; i < T; i++) {
                float d = yb[i] - xb[i];
                g[i] += d > 0 ? c : (d < 0 ? -c : 0.0f);
            }
        }
    }
    return total / N;
}
