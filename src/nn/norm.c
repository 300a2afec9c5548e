/* LayerNorm and RMSNorm over channels at each (b, t) of a (B, C, T) tensor. Work is tiled over
 * time so the channel loop reads rows contiguously; statistics in double. */
#include "nn/norm.h"

#include <math.h>
#include <stddef.h>

#define PAR_MIN 32768.0 /* elements below which threads cost more than they save */

#define TT 64 /* time tile */

/* Time tile `task` (batch b, times t0..) of the layernorm forward. */
static void layernorm_forward_task(float *y, float *stats, const float *x, const float *gamma, const float *beta,
                                   int C, int T, float eps, int nt, long task)
{
    int b = (int)(task / nt), t0 = (int)(task % nt) * TT, n = T - t0 < TT ? T - t0 : TT;
    const float *xb = x + (size_t)b * C * T + t0;
    float *yb = y + (size_t)b * C * T + t0;
    double sum[TT] = {0}, sq[TT] = {0};
    float mean[TT], rstd[TT];
    for (int c = 0; c < C; c++)
        for (int i = 0; i < n; i++)
            sum[i] += xb[(size_t)c * T + i];
    for (int i = 0; i < n; i++)
        sum[i] /= C;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < n; i++) {
            double d = xb[(size_t)c * T + i] - sum[i];
            sq[i] += d * d;
        }
    for (int i = 0; i < n; i++) {
        mean[i] = (float)sum[i];
        rstd[i] = (float)(1.0 / sqrt(sq[i] / C + eps));
        stats[((size_t)b * T + t0 + i) * 2] = mean[i];
        stats[((size_t)b * T + t0 + i) * 2 + 1] = rstd[i];
    }
    for (int c = 0; c < C; c++) {
        float gc = gamma[c], bc = beta ? beta[c] : 0.0f;
        for (int i = 0; i < n; i++)
            yb[(size_t)c * T + i] = (xb[(size_t)c * T + i] - mean[i]) * rstd[i] * gc + bc;
    }
}

void nn_layernorm_forward(float *y, float *stats, const float *x, const float *gamma, const float *beta,
                          int B, int C, int T, float eps)
{
    int nt = (T + TT - 1) / TT;
    long ntask = (long)B * nt;
    if ((double)B * C * T > PAR_MIN) {
#pragma omp parallel for schedule(static)
        for (long task = 0; task < ntask; task++)
            layernorm_forward_task(y, stats, x, gamma, beta, C, T, eps, nt, task);
    } else { /* a streaming frame: no OpenMP team, not even one of one thread (about a microsecond) */
        for (long task = 0; task < ntask; task++)
            layernorm_forward_task(y, stats, x, gamma, beta, C, T, eps, nt, task);
    }
}

void nn_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                           const float *stats, const float *gamma, int B, int C, int T)
{
    int par = (double)B * C * T > PAR_MIN;
    if (dx) {
        int nt = (T + TT - 1) / TT;
#pragma omp parallel for schedule(static) if (par)
        for (long task = 0; task < (long)B * nt; task++) {
            int b = (int)(task / nt), t0 = (int)(task % nt) * TT, n = T - t0 < TT ? T - t0 : TT;
            size_t off = (size_t)b * C * T + t0;
            const float *st = stats + ((size_t)b * T + t0) * 2;
            double sg[TT] = {0}, sgx[TT] = {0};
            for (int c = 0; c < C; c++)
                for (int i = 0; i < n; i++) {
                    float g = dy[off + (size_t)c * T + i] * gamma[c];
                    float xh = (x[off + (size_t)c * T + i] - st[2 * i]) * st[2 * i + 1];
                    sg[i] += g;
                    sgx[i] += (double)g * xh;
                }
            float mg[TT], mgx[TT];
            for (int i = 0; i < n; i++) {
                mg[i] = (float)(sg[i] / C);
                mgx[i] = (float)(sgx[i] / C);
            }
            for (int c = 0; c < C; c++)
                for (int i = 0; i < n; i++) {
                    size_t k = off + (size_t)c * T + i;
                    float g = dy[k] * gamma[c];
                    float xh = (x[k] - st[2 * i]) * st[2 * i + 1];
                    dx[k] += st[2 * i + 1] * (g - mg[i] - xh * mgx[i]);
                }
        }
    }
    if (dgamma || dbeta) {
#pragma omp parallel for schedule(static) if (par)
        for (int c = 0; c < C; c++) {
            double sgm = 0.0, sb = 0.0;
            for (int b = 0; b < B; b++) {
                const float *xr = x + ((size_t)b * C + c) * T, *dyr = dy + ((size_t)b * C + c) * T;
                const float *st = stats + (size_t)b * T * 2;
                for (int t = 0; t < T; t++) {
                    sgm += (double)dyr[t] * ((xr[t] - st[2 * t]) * st[2 * t + 1]);
                    sb += dyr[t];
                }
            }
            if (dgamma)
                dgamma[c] += (float)sgm;
            if (dbeta)
                dbeta[c] += (float)sb;
        }
    }
}

void nn_rmsnorm_forward(float *y, float *stats, const float *x, const float *gamma, int B, int C, int T, float eps)
{
    int par = (double)B * C * T > PAR_MIN;
    int nt = (T + TT - 1) / TT;
#pragma omp parallel for schedule(static) if (par)
    for (long task = 0; task < (long)B * nt; task++) {
        int b = (int)(task / nt), t0 = (int)(task % nt) * TT, n = T - t0 < TT ? T - t0 : TT;
        const float *xb = x + (size_t)b * C * T + t0;
        float *yb = y + (size_t)b * C * T + t0;
        double sq[TT] = {0};
        float rstd[TT];
        for (int c = 0; c < C; c++)
            for (int i = 0; i < n; i++)
                sq[i] += (double)xb[(size_t)c * T + i] * xb[(size_t)c * T + i];
        for (int i = 0; i < n; i++) {
            rstd[i] = (float)(1.0 / sqrt(sq[i] / C + eps));
            stats[(size_t)b * T + t0 + i] = rstd[i];
        }
        for (int c = 0; c < C; c++)
            for (int i = 0; i < n; i++)
                yb[(size_t)c * T + i] = xb[(size_t)c * T + i] * rstd[i] * gamma[c];
    }
}

void nn_rmsnorm_backward(float *dx, float *dgamma, const float *dy, const float *x, const float *stats,
                         const float *gamma, int B, int C, int T)
{
    int par = (double)B * C * T > PAR_MIN;
    if (dx) {
        int nt = (T + TT - 1) / TT;
#pragma omp parallel for schedule(static) if (par)
        for (long task = 0; task < (long)B * nt; task++) {
            int b = (int)(task / nt), t0 = (int)(task % nt) * TT, n = T - t0 < TT ? T - t0 : TT;
            size_t off = (size_t)b * C * T + t0;
            const float *rs = stats + (size_t)b * T + t0;
            double sgx[TT] = {0};
            for (int c = 0; c < C; c++)
                for (int i = 0; i < n; i++)
                    sgx[i] += (double)dy[off + (size_t)c * T + i] * gamma[c] * x[off + (size_t)c * T + i];
            float coef[TT];
            for (int i = 0; i < n; i++)
                coef[i] = (float)(sgx[i] / C) * rs[i] * rs[i];
            for (int c = 0; c < C; c++)
                for (int i = 0; i < n; i++) {
                    size_t k = off + (size_t)c * T + i;
                    dx[k] += rs[i] * (dy[k] * gamma[c] - x[k] * coef[i]);
                }
        }
    }
    if (dgamma) {
#pragma omp parallel for schedule(static) if (par)
        for (int c = 0; c < C; c++) {
            double s = 0.0;
            for (int b = 0; b < B; b++) {
                const float *xr = x + ((size_t)b * C + c) * T, *dyr = dy + ((size_t)b * C + c) * T;
                const float *rs = stats + (size_t)b * T;
                for (int t = 0; t < T; t++)
                    s += (double)dyr[t] * xr[t] * rs[t];
            }
            dgamma[c] += (float)s;
        }
    }
}
