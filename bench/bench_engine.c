/* Engine benchmark: a SEANet-style causal convolutional autoencoder (base 16 channels, strides 2 4 5 8,
 * dilated residual units, 64-d latent at 50 Hz) built from src/nn layers, trained with MR-STFT + L1 and
 * AdamW at batch 8 x 1 s, and run forward alone on 10 s at batch 1 on one thread. bench/bench_engine.py
 * builds the same model in PyTorch and calls this binary; `make bench-engine` runs both.
 * Usage: bench_engine [--threads T] [--steps N] [--warmup W] [--infer-reps R] [--up convtr|shuffle]
 *                     [--check DIR]   (writes weights, input, output, loss and gradients for the parity check)
 *                     [--infer-s S]   (inference signal length, default 10)
 *                     [--layers]      (also prints per-layer inference and training times, LAYER lines)
 * Prints one line: RESULT impl=nac key=value ... */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/alloc.h"
#include "core/bytes.h"
#include "core/rng.h"
#include "nn/activation.h"
#include "nn/conv1d.h"
#include "nn/convtr1d.h"
#include "nn/loss_spectral.h"
#include "nn/loss_wave.h"
#include "nn/optim.h"
#include "nn/params.h"
#include "nn/pixshuf1d.h"
#include "nn/residual.h"
#include "bench_util.h"

enum { SR = 16000, BASE = 16, LATENT = 64, NBLK = 4, NRES = 3, MAX_OPS = 64 };
static const int strides[NBLK] = {2, 4, 5, 8};
static const int dils[NRES] = {1, 3, 9};

/* ---- the model: a list of ops, each with its own output buffer (kept for backward) ---- */

typedef enum op_kind { OP_CONV, OP_ELU, OP_RES, OP_UP } op_kind;

typedef struct op {
    op_kind kind;
    char name[32];
    int cin, cout, hin, hout; /* channels and samples per frame at input and output */
    nn_conv1d ca, cb;         /* OP_CONV: ca; OP_RES: ca (k3, dilated), cb (k1); OP_UP shuffle: ca (k2) */
    nn_convtr1d tr;           /* OP_UP convtr */
    int wa, ba, wb, bb;       /* parameter indices */
    float *out;               /* (B, cout, T/hout) */
    float *e1, *h1, *e2;      /* OP_RES internals (B, cin, T/hin); OP_UP shuffle: e1 holds the conv output */
} op;

typedef struct net {
    nn_params p;
    op ops[MAX_OPS];
    int n, shuffle;
    size_t cap;               /* largest B*T the buffers hold */
    double (*prof)[4];        /* NULL, or per-op seconds accumulated by net_forward: OP_RES: ELUs, conv a, conv b, add */
    double (*bprof)[4];       /* the same for net_backward: OP_RES: ELUs, adds and zeroing, conv a, conv b */
    float *g[4];              /* gradient scratch, each of the largest activation size */
} net;

static int add_param(net *m, const char *name, int ndim, int d0, int d1, int d2, float bound)
{
    int shape[3] = {d0, d1, d2};
    return nn_params_add(&m->p, name, ndim, shape, NN_INIT_UNIFORM, bound, ndim > 1, NULL);
}

/* A conv's weight and bias, initialised as PyTorch's default (uniform, bound 1/sqrt(fan_in)). */
static void add_conv(net *m, const char *name, const nn_conv1d *c, int *w, int *b)
{
    char s[64];
    float bound = 1.0f / sqrtf((float)(c->ic / c->groups * c->k));
    snprintf(s, sizeof s, "%s.w", name);
    *w = add_param(m, s, 3, c->oc, c->ic / c->groups, c->k, bound);
    snprintf(s, sizeof s, "%s.b", name);
    *b = add_param(m, s, 1, c->oc, 1, 1, bound);
}

static op *push(net *m, const char *name, op_kind kind, int cin, int cout, int hin, int hout)
{
    op *o = &m->ops[m->n++];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", name);
    o->kind = kind;
    o->cin = cin;
    o->cout = cout;
    o->hin = hin;
    o->hout = hout;
    return o;
}

static void push_conv(net *m, const char *name, int ic, int oc, int k, int stride, int h)
{
    op *o = push(m, name, OP_CONV, ic, oc, h, h * stride);
    o->ca = (nn_conv1d){.ic = ic, .oc = oc, .k = k, .stride = stride, .dil = 1, .groups = 1};
    add_conv(m, name, &o->ca, &o->wa, &o->ba);
}

static void push_res(net *m, const char *name, int c, int dil, int h)
{
    char s[48];
    op *o = push(m, name, OP_RES, c, c, h, h);
    o->ca = (nn_conv1d){.ic = c, .oc = c, .k = 3, .stride = 1, .dil = dil, .groups = 1};
    o->cb = (nn_conv1d){.ic = c, .oc = c, .k = 1, .stride = 1, .dil = 1, .groups = 1};
    snprintf(s, sizeof s, "%s.a", name);
    add_conv(m, s, &o->ca, &o->wa, &o->ba);
    snprintf(s, sizeof s, "%s.b", name);
    add_conv(m, s, &o->cb, &o->wb, &o->bb);
}

/* Causal upsampling by s with kernel 2s: a transposed conv (weights (IC, OC, 2s), bias (OC)), or the same map
 * as a causal conv k2 to OC*s channels and a pixel shuffle (weights (OC*s, IC, 2), bias (OC*s)). */
static void push_up(net *m, const char *name, int ic, int oc, int s, int h)
{
    char nm[64];
    op *o = push(m, name, OP_UP, ic, oc, h, h / s);
    if (m->shuffle) {
        o->ca = (nn_conv1d){.ic = ic, .oc = oc * s, .k = 2, .stride = 1, .dil = 1, .groups = 1};
        add_conv(m, name, &o->ca, &o->wa, &o->ba);
        return;
    }
    o->tr = (nn_convtr1d){.ic = ic, .oc = oc, .k = 2 * s, .stride = s};
    /* PyTorch's ConvTranspose1d default init: fan_in computed from weight dim 1 (OC) * K */
    float bound = 1.0f / sqrtf((float)(oc * 2 * s));
    snprintf(nm, sizeof nm, "%s.w", name);
    o->wa = add_param(m, nm, 3, ic, oc, 2 * s, bound);
    snprintf(nm, sizeof nm, "%s.b", name);
    o->ba = add_param(m, nm, 1, oc, 1, 1, bound);
}

static void push_elu(net *m, int c, int h) { push(m, "elu", OP_ELU, c, c, h, h); }

static void net_build(net *m)
{
    char s[32];
    int c = BASE, h = 1;
    push_conv(m, "enc.in", 1, c, 7, 1, h);
    for (int i = 0; i < NBLK; i++) {
        for (int r = 0; r < NRES; r++) {
            snprintf(s, sizeof s, "enc.%d.res%d", i, r);
            push_res(m, s, c, dils[r], h);
        }
        push_elu(m, c, h);
        snprintf(s, sizeof s, "enc.%d.down", i);
        push_conv(m, s, c, 2 * c, 2 * strides[i], strides[i], h);
        c *= 2;
        h *= strides[i];
    }
    push_elu(m, c, h);
    push_conv(m, "enc.out", c, LATENT, 3, 1, h);
    push_conv(m, "dec.in", LATENT, c, 7, 1, h);
    for (int i = NBLK - 1; i >= 0; i--) {
        push_elu(m, c, h);
        snprintf(s, sizeof s, "dec.%d.up", i);
        push_up(m, s, c, c / 2, strides[i], h);
        c /= 2;
        h /= strides[i];
        for (int r = 0; r < NRES; r++) {
            snprintf(s, sizeof s, "dec.%d.res%d", i, r);
            push_res(m, s, c, dils[r], h);
        }
    }
    push_elu(m, c, h);
    push_conv(m, "dec.out", c, 1, 7, 1, h);
}

static size_t act_size(const net *m, int c, int h) { return (size_t)c * (m->cap / (size_t)h); }

static int net_alloc(net *m, size_t cap)
{
    size_t big = 0;
    m->cap = cap;
    if (nn_params_alloc(&m->p, 1, NULL))
        return -1;
    for (int i = 0; i < m->n; i++) {
        op *o = &m->ops[i];
        size_t ni = act_size(m, o->cin, o->hin), no = act_size(m, o->cout, o->hout);
        big = ni > big ? ni : big;
        big = no > big ? no : big;
        if (!(o->out = nac_alloc(no * sizeof(float))))
            return -1;
        if (o->kind == OP_RES && (!(o->e1 = nac_alloc(ni * sizeof(float))) ||
                                  !(o->h1 = nac_alloc(ni * sizeof(float))) ||
                                  !(o->e2 = nac_alloc(ni * sizeof(float)))))
            return -1;
        if (o->kind == OP_UP && m->shuffle && !(o->e1 = nac_alloc(no * sizeof(float))))
            return -1;
    }
    for (int k = 0; k < 4; k++)
        if (!(m->g[k] = nac_alloc(big * sizeof(float))))
            return -1;
    return 0;
}

static void net_free(net *m)
{
    for (int i = 0; i < m->n; i++) {
        nac_free(m->ops[i].out);
        nac_free(m->ops[i].e1);
        nac_free(m->ops[i].h1);
        nac_free(m->ops[i].e2);
    }
    for (int k = 0; k < 4; k++)
        nac_free(m->g[k]);
    nn_params_free(&m->p);
}

/* Profiling: adds the time since *t0 to prof[i][k] and restarts *t0. */
static void lap(double (*prof)[4], int i, int k, double *t0)
{
    if (!prof)
        return;
    double t = bench_clock(CLOCK_MONOTONIC);
    prof[i][k] += t - *t0;
    *t0 = t;
}

/* x (B, 1, T) -> the decoder output (B, 1, T), returned (owned by the net). */
static const float *net_forward(net *m, const float *x, int B, int T)
{
    const float *in = x;
    double t0 = m->prof ? bench_clock(CLOCK_MONOTONIC) : 0.0;
    for (int i = 0; i < m->n; i++) {
        op *o = &m->ops[i];
        int Tin = T / o->hin;
        size_t n = (size_t)B * o->cin * Tin;
        float *wa = nn_params_data(&m->p, o->wa), *ba = nn_params_data(&m->p, o->ba);
        switch (o->kind) {
        case OP_CONV:
            nn_conv1d_forward(o->out, in, NULL, wa, ba, &o->ca, B, Tin);
            break;
        case OP_ELU:
            nn_elu_forward(o->out, in, 1.0f, n);
            break;
        case OP_RES:
            nn_elu_forward(o->e1, in, 1.0f, n);
            lap(m->prof, i, 0, &t0);
            nn_conv1d_forward(o->h1, o->e1, NULL, wa, ba, &o->ca, B, Tin);
            lap(m->prof, i, 1, &t0);
            nn_elu_forward(o->e2, o->h1, 1.0f, n);
            lap(m->prof, i, 0, &t0);
            nn_conv1d_forward(o->out, o->e2, NULL, nn_params_data(&m->p, o->wb), nn_params_data(&m->p, o->bb),
                              &o->cb, B, Tin);
            lap(m->prof, i, 2, &t0);
            nn_add_forward(o->out, o->out, in, n);
            lap(m->prof, i, 3, &t0);
            break;
        case OP_UP:
            if (m->shuffle) {
                nn_conv1d_forward(o->e1, in, NULL, wa, ba, &o->ca, B, Tin);
                nn_pixshuf1d_forward(o->out, o->e1, B, o->cout, Tin, o->hin / o->hout);
            } else {
                nn_convtr1d_forward(o->out, in, NULL, wa, ba, &o->tr, B, Tin);
            }
            break;
        }
        lap(m->prof, i, 0, &t0);
        in = o->out;
    }
    return in;
}

/* Gradients into m->p.grad (accumulated) from dy (B, 1, T). */
static void net_backward(net *m, float *dy, const float *x, int B, int T)
{
    float *g = dy, *spare = m->g[0];
    double t0 = m->bprof ? bench_clock(CLOCK_MONOTONIC) : 0.0;
    for (int i = m->n - 1; i >= 0; i--) {
        op *o = &m->ops[i];
        int Tin = T / o->hin;
        size_t n = (size_t)B * o->cin * Tin;
        const float *in = i ? m->ops[i - 1].out : x;
        float *dx = i ? spare : NULL;
        float *wa = nn_params_data(&m->p, o->wa), *dwa = nn_params_grad(&m->p, o->wa);
        float *dba = nn_params_grad(&m->p, o->ba);
        /* the residual path's gradient starts dx of a residual unit; every other op accumulates into zeros */
        if (dx && o->kind == OP_RES)
            memcpy(dx, g, n * sizeof(float));
        else if (dx)
            memset(dx, 0, n * sizeof(float));
        switch (o->kind) {
        case OP_CONV:
            nn_conv1d_backward(dx, dwa, dba, g, in, wa, &o->ca, B, Tin);
            break;
        case OP_ELU:
            nn_elu_backward(dx, g, in, 1.0f, n);
            break;
        case OP_RES: {
            float *d1 = m->g[2], *d2 = m->g[3];
            memset(d1, 0, n * sizeof(float));
            lap(m->bprof, i, 0, &t0);
            nn_conv1d_backward(d1, nn_params_grad(&m->p, o->wb), nn_params_grad(&m->p, o->bb), g, o->e2,
                               nn_params_data(&m->p, o->wb), &o->cb, B, Tin);
            lap(m->bprof, i, 2, &t0);
            memset(d2, 0, n * sizeof(float));
            nn_elu_backward(d2, d1, o->h1, 1.0f, n);
            memset(d1, 0, n * sizeof(float));
            lap(m->bprof, i, 0, &t0);
            nn_conv1d_backward(d1, dwa, dba, d2, o->e1, wa, &o->ca, B, Tin);
            lap(m->bprof, i, 1, &t0);
            nn_elu_backward(dx, d1, in, 1.0f, n);
            break;
        }
        case OP_UP:
            if (m->shuffle) {
                float *dz = m->g[2];
                size_t nz = (size_t)B * o->ca.oc * Tin;
                memset(dz, 0, nz * sizeof(float));
                nn_pixshuf1d_backward(dz, g, B, o->cout, Tin, o->hin / o->hout);
                nn_conv1d_backward(dx, dwa, dba, dz, in, wa, &o->ca, B, Tin);
            } else {
                nn_convtr1d_backward(dx, dwa, dba, g, in, wa, &o->tr, B, Tin);
            }
            break;
        }
        lap(m->bprof, i, 0, &t0);
        /* ping-pong: this op's input gradient is the next op's output gradient */
        spare = g == dy ? m->g[1] : g;
        g = dx;
    }
}

/* ---- training step and timing ---- */

typedef struct trainer {
    net m;
    nn_mrstft_loss *mr;
    nn_adamw opt;
    float *dy;
    long step;
    double phase[4];          /* seconds in forward, loss, backward, optimizer (zero_grad + AdamW) */
} trainer;

/* One step: forward, loss (MR-STFT + L1), backward, AdamW. Returns the loss before the update. */
static double train_step(trainer *t, const float *x, int B, int T, int update)
{
    double t0 = bench_clock(CLOCK_MONOTONIC), t1, t2, t3;
    const float *y = net_forward(&t->m, x, B, T);
    t1 = bench_clock(CLOCK_MONOTONIC);
    memset(t->dy, 0, (size_t)B * T * sizeof(float));
    double loss = nn_mrstft_loss_forward_backward(t->mr, t->dy, y, x, B, T, 1.0f) +
                  nn_l1_loss_forward_backward(t->dy, y, x, B, T, 1.0f);
    t2 = bench_clock(CLOCK_MONOTONIC);
    nn_params_zero_grad(&t->m.p);
    net_backward(&t->m, t->dy, x, B, T);
    t3 = bench_clock(CLOCK_MONOTONIC);
    if (update)
        nn_adamw_step(&t->m.p, &t->opt, 3e-4f, ++t->step);
    t->phase[0] += t1 - t0;
    t->phase[1] += t2 - t1;
    t->phase[2] += t3 - t2;
    t->phase[3] += bench_clock(CLOCK_MONOTONIC) - t3;
    return loss;
}

/* A speech-like test signal: a few harmonics with a slow vibrato plus noise, amplitude about 0.3. */
static void make_signal(float *x, int B, int T, uint64_t seed)
{
    nac_rng r;
    nac_rng_seed(&r, seed);
    for (int b = 0; b < B; b++) {
        double f0 = 100.0 + 100.0 * nac_rng_uniform(&r), ph = 0.0;
        for (int t = 0; t < T; t++) {
            double f = f0 * (1.0 + 0.05 * sin(2.0 * 3.14159265358979 * 3.0 * t / SR));
            ph += 2.0 * 3.14159265358979 * f / SR;
            double v = 0.0;
            for (int k = 1; k <= 4; k++)
                v += sin(k * ph) / k;
            x[(size_t)b * T + t] = (float)(0.15 * v + 0.02 * nac_rng_normal(&r));
        }
    }
}

static int write_f32(const char *dir, const char *name, const float *a, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint8_t buf[4];
    for (size_t i = 0; i < n; i++) {
        nac_put_le_f32(buf, a[i]);
        if (fwrite(buf, 4, 1, f) != 1) {
            fclose(f);
            return -1;
        }
    }
    return fclose(f) ? -1 : 0;
}

/* Parity check data: params.txt (name and shape per tensor, table order), params.f32, grads.f32 (one step's
 * gradients before the update), x.f32 (B, T), y.f32 (B, T), dy.f32 (B, T: d loss / d y), loss.txt (mrstft l1). */
static int write_check(trainer *t, const char *dir)
{
    enum { CB = 2, CT = 16000 };
    float *x = malloc(sizeof(float) * CB * CT);
    char path[1024];
    int rc = -1;
    if (!x)
        return -1;
    make_signal(x, CB, CT, 7);
    const float *y = net_forward(&t->m, x, CB, CT);
    memset(t->dy, 0, sizeof(float) * CB * CT);
    double mr = nn_mrstft_loss_forward_backward(t->mr, t->dy, y, x, CB, CT, 1.0f);
    double l1 = nn_l1_loss_forward_backward(t->dy, y, x, CB, CT, 1.0f);
    if (write_f32(dir, "x.f32", x, (size_t)CB * CT) || write_f32(dir, "y.f32", y, (size_t)CB * CT) ||
        write_f32(dir, "dy.f32", t->dy, (size_t)CB * CT))
        goto done;
    nn_params_zero_grad(&t->m.p);
    net_backward(&t->m, t->dy, x, CB, CT);
    snprintf(path, sizeof path, "%s/params.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        goto done;
    for (int i = 0; i < t->m.p.n; i++) {
        const nn_tensor *e = &t->m.p.t[i];
        fprintf(f, "%s", e->name);
        for (int d = 0; d < e->ndim; d++)
            fprintf(f, " %d", e->shape[d]);
        fprintf(f, "\n");
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/loss.txt", dir);
    if (!(f = fopen(path, "w")))
        goto done;
    fprintf(f, "%.9g %.9g %d %d\n", mr, l1, CB, CT);
    fclose(f);
    /* tensors one after the other, without the arena's alignment gaps */
    for (int which = 0; which < 2; which++) {
        snprintf(path, sizeof path, "%s/%s", dir, which ? "grads.f32" : "params.f32");
        if (!(f = fopen(path, "wb")))
            goto done;
        for (int i = 0; i < t->m.p.n; i++) {
            const nn_tensor *e = &t->m.p.t[i];
            const float *a = (which ? t->m.p.grad : t->m.p.data) + e->offset;
            uint8_t buf[4];
            for (size_t k = 0; k < e->numel; k++) {
                nac_put_le_f32(buf, a[k]);
                fwrite(buf, 4, 1, f);
            }
        }
        if (fclose(f))
            goto done;
    }
    rc = 0;
done:
    free(x);
    return rc;
}

/* Multiply-adds of op o on T input samples at batch 1 (for GFLOP/s). */
static double op_macs(const op *o, int T)
{
    int Tin = T / o->hin;
    switch (o->kind) {
    case OP_CONV: return nn_conv1d_macs(&o->ca, 1, Tin);
    case OP_RES: return nn_conv1d_macs(&o->ca, 1, Tin) + nn_conv1d_macs(&o->cb, 1, Tin);
    case OP_UP: return o->ca.k ? nn_conv1d_macs(&o->ca, 1, Tin) : nn_convtr1d_macs(&o->tr, 1, Tin);
    default: return 0.0;
    }
}

static double sum4(const double *v) { return v[0] + v[1] + v[2] + v[3]; }

/* One LAYER line per op: inference ms (1 thread, batch 1, T samples, mean of reps; OP_RES split into ELUs,
 * conv a, conv b, add) and, when tf and tb are not NULL, training forward and backward ms per step (from the
 * timed steps: batch 8 x 1 s, all threads). */
static void print_layers(net *m, const float *x, int T, int reps, double (*tf)[4], double (*tb)[4], int steps)
{
    static const char *kinds[] = {"conv", "elu", "res", "up"};
    double (*prof)[4] = calloc((size_t)m->n, sizeof *prof);
    if (!prof)
        return;
    m->prof = prof;
    for (int r = 0; r < reps; r++)
        net_forward(m, x, 1, T);
    m->prof = NULL;
    for (int i = 0; i < m->n; i++) {
        const op *o = &m->ops[i];
        printf("LAYER %d %s %s cin=%d cout=%d tin=%d macs=%.0f ms=%.3f", i, o->name, kinds[o->kind], o->cin, o->cout,
               T / o->hin, op_macs(o, T), 1e3 * sum4(prof[i]) / reps);
        if (o->kind == OP_RES)
            printf(" elu_ms=%.3f conv_a_ms=%.3f conv_b_ms=%.3f add_ms=%.3f", 1e3 * prof[i][0] / reps,
                   1e3 * prof[i][1] / reps, 1e3 * prof[i][2] / reps, 1e3 * prof[i][3] / reps);
        if (tf && tb && steps > 0) {
            printf(" train_fwd_ms=%.3f train_bwd_ms=%.3f", 1e3 * sum4(tf[i]) / steps, 1e3 * sum4(tb[i]) / steps);
            if (o->kind == OP_RES)
                printf(" bwd_elementwise_ms=%.3f bwd_conv_a_ms=%.3f bwd_conv_b_ms=%.3f", 1e3 * tb[i][0] / steps,
                       1e3 * tb[i][1] / steps, 1e3 * tb[i][2] / steps);
        }
        printf("\n");
    }
    free(prof);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Times training (`steps` steps after `warmup`, batch B x T, the current thread count) and single-thread inference
 * (one pass over infer_s seconds at batch 1, median of infer_reps after a warm-up); prints the RESULT line and,
 * with layers, the LAYER lines. x holds the net's capacity. Returns 0, or 1 when out of memory. */
static int bench_run(trainer *t, float *x, int B, int T, int steps, int warmup, int infer_s, int infer_reps,
                     int threads, int layers, size_t nparams)
{
    double (*tf)[4] = layers ? calloc((size_t)t->m.n, sizeof *tf) : NULL;
    double (*tb)[4] = layers ? calloc((size_t)t->m.n, sizeof *tb) : NULL;
    double *iw = malloc(sizeof(double) * (size_t)infer_reps), *ic = malloc(sizeof(double) * (size_t)infer_reps);
    int rc = 1, Ti = infer_s * SR;
    if (!iw || !ic || (layers && (!tf || !tb)))
        goto done;

    /* training: wall time of `steps` steps after `warmup`, with `threads` threads */
    make_signal(x, B, T, 1);
    double loss0 = 0.0, loss1 = 0.0;
    for (int i = 0; i < warmup; i++)
        loss0 = train_step(t, x, B, T, 1);
    t->m.prof = tf;
    t->m.bprof = tb;
    memset(t->phase, 0, sizeof t->phase);
    double w0 = bench_clock(CLOCK_MONOTONIC), c0 = bench_clock(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < steps; i++)
        loss1 = train_step(t, x, B, T, 1);
    double wall = bench_clock(CLOCK_MONOTONIC) - w0, cpu = bench_clock(CLOCK_PROCESS_CPUTIME_ID) - c0;
    t->m.prof = t->m.bprof = NULL;

    /* inference: one thread, batch 1, one pass over infer_s seconds; median of infer_reps after a warm-up */
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    make_signal(x, 1, Ti, 2);
    net_forward(&t->m, x, 1, Ti);
    for (int i = 0; i < infer_reps; i++) {
        double a = bench_clock(CLOCK_MONOTONIC), b = bench_clock(CLOCK_PROCESS_CPUTIME_ID);
        net_forward(&t->m, x, 1, Ti);
        iw[i] = bench_clock(CLOCK_MONOTONIC) - a;
        ic[i] = bench_clock(CLOCK_PROCESS_CPUTIME_ID) - b;
    }
    int ns = steps > 0 ? steps : 1;
    printf("RESULT impl=nac threads=%d params=%zu up=%s train_steps_per_s=%.4f train_cpu_s_per_step=%.4f "
           "infer_rtf=%.5f infer_cpu_rtf=%.5f loss_first=%.5f loss_last=%.5f fwd_ms=%.1f loss_ms=%.1f bwd_ms=%.1f "
           "opt_ms=%.1f\n",
           threads, nparams, t->m.shuffle ? "shuffle" : "convtr", steps / wall, cpu / ns,
           median(iw, infer_reps) / infer_s, median(ic, infer_reps) / infer_s, loss0, loss1, 1e3 * t->phase[0] / ns,
           1e3 * t->phase[1] / ns, 1e3 * t->phase[2] / ns, 1e3 * t->phase[3] / ns);
    if (layers)
        print_layers(&t->m, x, Ti, infer_reps, tf, tb, steps);
    rc = 0;
done:
    free(tf);
    free(tb);
    free(iw);
    free(ic);
    return rc;
}

int main(int argc, char **argv)
{
    int layers = 0, threads = 0, steps = 5, warmup = 2, infer_reps = 3, B = 8, T = SR, infer_s = 10;
    const char *check = NULL;
    trainer t = {.opt = {.beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = 0.01f}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--threads") && v)
            threads = atoi(argv[++i]);
        else if (!strcmp(a, "--steps") && v)
            steps = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup") && v)
            warmup = atoi(argv[++i]);
        else if (!strcmp(a, "--infer-reps") && v)
            infer_reps = atoi(argv[++i]);
        else if (!strcmp(a, "--up") && v)
            t.m.shuffle = !strcmp(argv[++i], "shuffle");
        else if (!strcmp(a, "--infer-s") && v)
            infer_s = atoi(argv[++i]);
        else if (!strcmp(a, "--layers"))
            layers = 1;
        else if (!strcmp(a, "--check") && v)
            check = argv[++i];
        else {
            fprintf(stderr, "usage: bench_engine [--threads T] [--steps N] [--warmup W] [--infer-reps R] "
                            "[--up convtr|shuffle] [--check DIR] [--layers]\n");
            return 2;
        }
    }
    if (steps < 0 || warmup < 0 || infer_reps < 1 || infer_s < 1) {
        fprintf(stderr, "bench_engine: need steps, warmup >= 0, infer-reps, infer-s >= 1\n");
        return 2;
    }
#ifdef _OPENMP
    if (threads <= 0)
        threads = omp_get_num_procs();
    omp_set_num_threads(threads);
#else
    threads = 1;
#endif
    net_build(&t.m);
    nn_mrstft_config mc;
    nn_mrstft_config_default(&mc);
    size_t cap = (size_t)B * T > (size_t)infer_s * SR ? (size_t)B * T : (size_t)infer_s * SR;
    float *x = malloc(sizeof(float) * cap);
    t.dy = malloc(sizeof(float) * cap);
    int rc = 1;
    if (!x || !t.dy || net_alloc(&t.m, cap) || nn_mrstft_loss_create(&t.mr, &mc, B, T, NULL)) {
        fprintf(stderr, "bench_engine: out of memory\n");
        goto done;
    }
    nac_rng r;
    nac_rng_seed(&r, 1);
    nn_params_init(&t.m.p, &r);
    size_t nparams = 0;
    for (int i = 0; i < t.m.p.n; i++)
        nparams += t.m.p.t[i].numel;
    if (check) {
        rc = write_check(&t, check) ? 1 : 0;
        if (rc)
            fprintf(stderr, "bench_engine: cannot write check data to %s\n", check);
        printf("RESULT impl=nac params=%zu check=%s\n", nparams, rc ? "failed" : "written");
        goto done;
    }

    rc = bench_run(&t, x, B, T, steps, warmup, infer_s, infer_reps, threads, layers, nparams);
    if (rc)
        fprintf(stderr, "bench_engine: out of memory\n");
done:
    free(x);
    free(t.dy);
    nn_mrstft_loss_destroy(t.mr);
    net_free(&t.m);
    return rc;
}
