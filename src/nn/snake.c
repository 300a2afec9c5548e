/* Snake activation y = x + sin^2(a x) / a per channel (Ziyin et al. 2020), layout (B, C, T).
 * dy/dx = 1 + sin(2ax) a/(a+e); dy/da = x sin(2ax)/(a+e) - sin^2(ax)/(a+e)^2, with e = 1e-9. */
#include "nn/snake.h"

#include <math.h>
#include <stddef.h>

#define PAR_MIN 32768.0 /* elements below which threads cost more than they save */

#define SNAKE_EPS 1e-9f

void nn_snake_forward(float *y, const float *x, const float *a, int B, int C, int T)
{
    int par = (double)B * C * T > PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (long bc = 0; bc < (long)B * C; bc++) {
        float ac = a[bc % C], inv = 1.0f / (ac + SNAKE_EPS);
        const float *xr = x + (size_t)bc * T;
        float *yr = y + (size_t)bc * T;
        for (int t = 0; t < T; t++) {
            float s = sinf(ac * xr[t]);
            yr[t] = xr[t] + inv * s * s;
        }
    }
}

void nn_snake_backward(float *dx, float *da, const float *dy, const float *x, const float *a, int B, int C, int T)
{
    int par = (double)B * C * T > PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int c = 0; c < C; c++) {
        float ac = a[c], inv = 1.0f / (ac + SNAKE_EPS);
        double tot = 0.0;
        for (int b = 0; b < B; b++) {
            size_t off = ((size_t)b * C + c) * T;
            const float *xr = x + off, *dyr = dy + off;
            for (int t = 0; t < T; t++) {
                float s = sinf(ac * xr[t]), co = cosf(ac * xr[t]);
                float s2 = 2.0f * s * co;
                if (dx)
                    dx[off + t] += dyr[t] * (1.0f + ac * inv * s2);
                tot += (double)dyr[t] * (xr[t] * inv * s2 - inv * inv * s * s);
            }
        }
        if (da)
            da[c] += (float)tot;
    }
}
