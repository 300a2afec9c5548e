/* Level-weighted phase losses (see loss_phase.h).
 * A term pairs bin k with a neighbour j (the previous frame, the bin below, or none for the
 * absolute phase): predicted angle d = phi_k - phi_j, target e^{i D} = X_k conj(X_j) / |X_k X_j|,
 * weight a = |X_k X_j|^p, loss a (1 - cos(d - D)), gradient a sin(d - D) into phi_k and minus that
 * into phi_j. One pass evaluates every term once (loss, normaliser, a sin(d - D)); a second lets each
 * bin gather the terms it belongs to (as k and as j), so bins can be spread over threads without
 * two threads writing one place. */
#include "nn/loss_phase.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

typedef struct phase_ctx {
    nn_phase_kind kind;
    const float *phase, *xre, *xim;
    int F, T, lag;
    float p;
} phase_ctx;

/* The term whose first bin is (b, f, t), t >= lag: 0 if that term does not exist. Writes its
 * weight to *a and sin(d - D) to *s; returns 1 - cos(d - D). */
static float term(const phase_ctx *c, int b, int f, int t, float *a, float *s)
{
    int f2 = f, t2 = t;
    *a = *s = 0.0f;
    if (c->kind == NN_PHASE_TIME)
        t2 = t - 1;
    else if (c->kind == NN_PHASE_FREQ)
        f2 = f - 1;
    if (t2 < c->lag || f2 < 0)
        return 0.0f;
    size_t F = (size_t)c->F, T = (size_t)c->T;
    size_t xk = ((size_t)b * F + (size_t)f) * T + (size_t)(t - c->lag);
    size_t xj = ((size_t)b * F + (size_t)f2) * T + (size_t)(t2 - c->lag);
    const float *ph = c->phase + (size_t)b * F * T;
    float kr = c->xre[xk], ki = c->xim[xk], tr = kr, ti = ki, d = ph[(size_t)f * T + (size_t)t];
    if (c->kind != NN_PHASE_ABS) { /* X_k conj(X_j) */
        float jr = c->xre[xj], ji = c->xim[xj];
        tr = kr * jr + ki * ji;
        ti = ki * jr - kr * ji;
        d -= ph[(size_t)f2 * T + (size_t)t2];
    }
    float m2 = tr * tr + ti * ti;
    if (!(m2 > 0))
        return 0.0f;
    float inv = 1.0f / sqrtf(m2), cd = cosf(d), sd = sinf(d);
    *a = c->kind == NN_PHASE_ABS ? powf(m2, c->p) : powf(m2, 0.5f * c->p);
    *s = (sd * tr - cd * ti) * inv;         /* sin(d - D) */
    return 1.0f - (cd * tr + sd * ti) * inv; /* 1 - cos(d - D) */
}

double nn_phase_loss(nn_phase_kind kind, float *dphase, const float *phase, const float *xre, const float *xim,
                     const float *w, int B, int F, int T, int lag, float p, float weight)
{
    if (B < 1 || F < 1 || T <= lag || lag < 0)
        return 0.0;
    phase_ctx c = {kind, phase, xre, xim, F, T, lag, p};
    size_t rows = (size_t)B * (size_t)F;
    double *norm = calloc(rows, sizeof *norm), *part = calloc(rows, sizeof *part);
    float *as = dphase ? calloc(rows * (size_t)T, sizeof *as) : NULL; /* a sin(d - D) of each term, by first bin */
    if (!norm || !part || (dphase && !as)) {
        free(norm);
        free(part);
        free(as);
        return NAN;
    }
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        int b = (int)(r / (size_t)F), f = (int)(r % (size_t)F);
        float wb = w ? w[b] : 1.0f, a, s;
        double sa = 0, sl = 0;
        if (wb != 0.0f)
            for (int t = lag; t < T; t++) {
                float l = term(&c, b, f, t, &a, &s);
                sa += a;
                sl += (double)(a * l);
                if (as)
                    as[r * (size_t)T + (size_t)t] = a * s;
            }
        norm[r] = (double)wb * sa;
        part[r] = (double)wb * sl;
    }
    double total_norm = 0, total = 0;
    for (size_t r = 0; r < rows; r++) {
        total_norm += norm[r];
        total += part[r];
    }
    free(norm);
    free(part);
    if (dphase && total_norm > 0) {
        const float g = (float)((double)weight / total_norm);
#pragma omp parallel for schedule(static)
        for (size_t r = 0; r < rows; r++) {
            int b = (int)(r / (size_t)F), f = (int)(r % (size_t)F);
            float wb = w ? w[b] : 1.0f;
            if (wb == 0.0f)
                continue;
            float *d = dphase + r * (size_t)T;
            const float *own = as + r * (size_t)T;
            /* the term the bin starts, minus the one it ends: the next frame's, or the bin above's */
            const float *next = kind == NN_PHASE_TIME                  ? own + 1
                                : kind == NN_PHASE_FREQ && f + 1 < F ? own + T
                                                                       : NULL;
            for (int t = lag; t < T; t++) {
                float gk = own[t];
                if (next && (kind != NN_PHASE_TIME || t + 1 < T))
                    gk -= next[t];
                d[t] += g * wb * gk;
            }
        }
    }
    free(as);
    return total_norm > 0 ? total / total_norm : 0.0;
}
