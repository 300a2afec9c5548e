/* Weight normalisation w[o,:] = g[o] v[o,:] / ||v[o,:]|| and its gradient
 * dg = <dw, v>/||v||, dv = g/||v|| (dw - <dw, v> v / ||v||^2). */
#include "nn/weightnorm.h"

#include <math.h>
#include <stddef.h>

#define PAR_MIN 32768.0 /* elements below which threads cost more than they save */

void nn_weightnorm_forward(float *w, const float *v, const float *g, int OC, int n)
{
    int par = (double)OC * n > PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int o = 0; o < OC; o++) {
        const float *vr = v + (size_t)o * n;
        double ss = 0.0;
        for (int i = 0; i < n; i++)
            ss += (double)vr[i] * vr[i];
        float scale = (float)(g[o] / sqrt(ss));
        for (int i = 0; i < n; i++)
            w[(size_t)o * n + i] = scale * vr[i];
    }
}

void nn_weightnorm_backward(float *dv, float *dg, const float *dw, const float *v, const float *g, int OC, int n)
{
    int par = (double)OC * n > PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int o = 0; o < OC; o++) {
        const float *vr = v + (size_t)o * n, *dwr = dw + (size_t)o * n;
        double ss = 0.0, dot = 0.0;
        for (int i = 0; i < n; i++) {
            ss += (double)vr[i] * vr[i];
            dot += (double)dwr[i] * vr[i];
        }
        double norm = sqrt(ss);
        if (dg)
            dg[o] += (float)(dot / norm);
        if (dv) {
            float a = (float)(g[o] / norm), bcoef = (float)(g[o] * dot / (norm * ss));
            for (int i = 0; i < n; i++)
                dv[(size_t)o * n + i] += a * dwr[i] - bcoef * vr[i];
        }
    }
}
