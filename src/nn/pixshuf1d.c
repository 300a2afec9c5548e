/* 1-D pixel shuffle: y[b,c,t*r+i] = x[b,c*r+i,t]; x (B, C*r, T), y (B, C, T*r). */
#include "nn/pixshuf1d.h"

#include <stddef.h>

#define PAR_MIN 32768.0 /* elements below which threads cost more than they save */

void nn_pixshuf1d_forward(float *y, const float *x, int B, int C, int T, int r)
{
    int par = (double)B * C * T * r > PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (long bc = 0; bc < (long)B * C; bc++) {
        float *yr = y + (size_t)bc * T * r;
        const float *xr = x + (size_t)bc * r * T;
        for (int i = 0; i < r; i++)
            for (int t = 0; t < T; t++)
                yr[(size_t)t * r + i] = xr[(size_t)i * T + t];
    }
}

void nn_pixshuf1d_backward(float *dx, const float *dy, int B, int C, int T, int r)
{
    int par = (double)B * C * T * r > PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (long bc = 0; bc < (long)B * C; bc++) {
        const float *dyr = dy + (size_t)bc * T * r;
        float *dxr = dx + (size_t)bc * r * T;
        for (int i = 0; i < r; i++)
            for (int t = 0; t < T; t++)
                dxr[(size_t)i * T + t] += dyr[(size_t)t * r + i];
    }
}
