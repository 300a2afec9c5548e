/* Tests of src/nn layers: forwards pinned to PyTorch fixtures (tests/fixtures/gen_nn.py), central
 * finite-difference gradient checks, accumulation, streaming bit-exactness, thread independence,
 * SIMD against portable kernels, and a tiny autoencoder that must learn. */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/rng.h"
#include "nn/activation.h"
#include "nn/conv1d.h"
#include "nn/convtr1d.h"
#include "nn/gemm.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/optim.h"
#include "nn/params.h"
#include "nn/pixshuf1d.h"
#include "nn/residual.h"
#include "nn/snake.h"
#include "nn/weightnorm.h"

/* ---- helpers ---- */

static float *load_f32(const char *name, size_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", nac_test_fixture_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *p = malloc((size_t)len + 4);
    if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)len / 4;
    return p; /* the test machine is little-endian, as the fixtures */
}

static float *randn(size_t n, nac_rng *r, float scale)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(scale * nac_rng_normal(r));
    return p;
}

static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* Largest |a-b| / (atol + rtol*max(|a|,|b|)): <= 1 means within tolerance. */
static double worst_rel(const float *a, const float *b, size_t n, double atol, double rtol, size_t *at)
{
    double w = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        double m = fabs(a[i]) > fabs(b[i]) ? fabs(a[i]) : fabs(b[i]);
        double e = d / (atol + rtol * m);
        if (!(e <= w)) {
            w = e;
            if (at)
                *at = i;
        }
    }
    return w;
}

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

/* Central finite differences of loss() with respect to param[i] against grad[i] (at most max_checks
 * elements, evenly spread). Returns the worst |a-n| / (1e-4 + 1e-2 max(|a|,|n|)) and where. */
typedef double (*loss_fn)(void *ctx);
typedef struct gc_worst {
    double ratio, a, n;
    size_t idx;
} gc_worst;

static gc_worst gradcheck(loss_fn f, void *ctx, float *param, const float *grad, size_t n, float h,
                          size_t max_checks)
{
    gc_worst w = {0, 0, 0, 0};
    size_t step = n > max_checks ? n / max_checks : 1;
    for (size_t i = 0; i < n; i += step) {
        float keep = param[i];
        param[i] = keep + h;
        double lp = f(ctx);
        param[i] = keep - h;
        double lm = f(ctx);
        param[i] = keep;
        double num = (lp - lm) / (2.0 * h), an = grad[i];
        double m = fabs(num) > fabs(an) ? fabs(num) : fabs(an);
        double r = fabs(an - num) / (1e-4 + 1e-2 * m);
        if (!(r <= w.ratio)) {
            w.ratio = r;
            w.a = an;
            w.n = num;
            w.idx = i;
        }
    }
    return w;
}

#define NOTE(...) snprintf(t_->why, sizeof t_->why, __VA_ARGS__)
#define CHECK_GC(w, what)                                                                          \
    CHECKF((w).ratio <= 1.0, "%s: worst ratio %.3g at %zu (analytic %.7g, numeric %.7g)", what,   \
           (w).ratio, (w).idx, (w).a, (w).n)

/* ---- conv1d ---- */

static const int conv_fix[][8] = {{5, 7, 3, 1, 2, 1, 2, 13}, {6, 4, 4, 2, 1, 2, 2, 14}, {6, 6, 7, 1, 1, 6, 2, 11},
                                  {8, 5, 1, 1, 1, 1, 3, 9},  {3, 4, 6, 3, 1, 1, 2, 12}, {4, 3, 4, 4, 1, 1, 1, 16},
                                  {5, 5, 3, 1, 3, 5, 2, 17}, {4, 8, 5, 1, 1, 4, 1, 10}};

TEST(nn_conv1d_matches_torch)
{
    double worst = 0;
    for (int simd = 1; simd >= 0; simd--) {
        nn_simd_set(simd);
        for (size_t ci = 0; ci < sizeof conv_fix / sizeof conv_fix[0]; ci++) {
            const int *f = conv_fix[ci];
            nn_conv1d c = {f[0], f[1], f[2], f[3], f[4], f[5]};
            int B = f[6], T = f[7], To = T / c.stride;
            char name[128];
            snprintf(name, sizeof name, "nn_conv1d_%d_%d_%d_%d_%d_%d_%d_%d.f32", f[0], f[1], f[2], f[3], f[4], f[5],
                     B, T);
            size_t n, nx = (size_t)B * c.ic * T, nw = (size_t)c.oc * (c.ic / c.groups) * c.k, ny = (size_t)B * c.oc * To;
            float *d = load_f32(name, &n);
            CHECKF(d && n == nx + nw + c.oc + ny, "fixture %s missing or wrong size", name);
            float *y = zeros(ny);
            nn_conv1d_forward(y, d, NULL, d + nx, d + nx + nw, &c, B, T);
            size_t at = 0;
            double w = worst_rel(y, d + nx + nw + c.oc, ny, 1e-5, 1e-5, &at);
            float got = y[at], want = d[nx + nw + c.oc + at];
            free(y);
            free(d);
            CHECKF(w <= 1.0, "%s simd=%d: element %zu = %g, torch %g", name, simd, at, got, want);
            if (w > worst)
                worst = w;
        }
    }
    nn_simd_set(1);
    NOTE("worst err/tol %.3g", worst);
}

typedef struct conv_gc {
    nn_conv1d c;
    int B, T;
    float *x, *w, *b, *y, *g;
} conv_gc;

static double conv_loss(void *ctx)
{
    conv_gc *q = ctx;
    nn_conv1d_forward(q->y, q->x, NULL, q->w, q->b, &q->c, q->B, q->T);
    return dot(q->y, q->g, (size_t)q->B * q->c.oc * (q->T / q->c.stride));
}

static const int conv_cases[][8] = {
    /* ic, oc, k, stride, dil, groups, B, T */
    {3, 5, 3, 1, 1, 1, 2, 9},  {4, 6, 4, 2, 1, 2, 2, 10}, {5, 5, 7, 1, 2, 5, 2, 13}, {7, 3, 1, 1, 1, 1, 3, 5},
    {3, 4, 6, 3, 1, 1, 1, 12}, {6, 9, 3, 1, 3, 3, 1, 11}, {5, 5, 3, 2, 1, 5, 2, 8},  {2, 3, 5, 1, 1, 1, 1, 3},
};

TEST(nn_conv1d_gradcheck)
{
    nac_rng r;
    nac_rng_seed(&r, 11);
    double worst = 0;
    for (size_t ci = 0; ci < sizeof conv_cases / sizeof conv_cases[0]; ci++) {
        const int *f = conv_cases[ci];
        conv_gc q = {{f[0], f[1], f[2], f[3], f[4], f[5]}, f[6], f[7], 0, 0, 0, 0, 0};
        int To = q.T / q.c.stride;
        size_t nx = (size_t)q.B * q.c.ic * q.T, nw = (size_t)q.c.oc * (q.c.ic / q.c.groups) * q.c.k,
               ny = (size_t)q.B * q.c.oc * To;
        q.x = randn(nx, &r, 1);
        q.w = randn(nw, &r, 0.5f);
        q.b = randn(q.c.oc, &r, 1);
        q.y = zeros(ny);
        q.g = randn(ny, &r, 1);
        float *dx = zeros(nx), *dw = zeros(nw), *db = zeros(q.c.oc);
        nn_conv1d_backward(dx, dw, db, q.g, q.x, q.w, &q.c, q.B, q.T);
        gc_worst wx = gradcheck(conv_loss, &q, q.x, dx, nx, 1e-2f, 400);
        gc_worst ww = gradcheck(conv_loss, &q, q.w, dw, nw, 1e-2f, 400);
        gc_worst wb = gradcheck(conv_loss, &q, q.b, db, q.c.oc, 1e-2f, 400);
        /* Twice accumulates. */
        float *dx2 = malloc(nx * 4), *dw2 = malloc(nw * 4);
        memcpy(dx2, dx, nx * 4);
        memcpy(dw2, dw, nw * 4);
        nn_conv1d_backward(dx2, dw2, NULL, q.g, q.x, q.w, &q.c, q.B, q.T);
        for (size_t i = 0; i < nx; i++)
            dx[i] *= 2;
        for (size_t i = 0; i < nw; i++)
            dw[i] *= 2;
        double acc = worst_rel(dx2, dx, nx, 1e-5, 1e-5, NULL) + worst_rel(dw2, dw, nw, 1e-5, 1e-5, NULL);
        free(q.x), free(q.w), free(q.b), free(q.y), free(q.g), free(dx), free(dw), free(db), free(dx2), free(dw2);
        char what[96];
        snprintf(what, sizeof what, "case %zu dx", ci);
        CHECK_GC(wx, what);
        snprintf(what, sizeof what, "case %zu dw", ci);
        CHECK_GC(ww, what);
        snprintf(what, sizeof what, "case %zu db", ci);
        CHECK_GC(wb, what);
        CHECKF(acc <= 2.0, "case %zu: second backward did not double the gradients", ci);
        worst = fmax(worst, fmax(wx.ratio, fmax(ww.ratio, wb.ratio)));
    }
    NOTE("worst err/tol %.3g", worst);
}

/* Streaming in random chunks (multiples of the stride, single steps included) with hist_update must
 * equal one offline pass bit for bit; so must each batch element computed alone. */
static int conv_stream_case(const nn_conv1d *c, int B, int T, nac_rng *r)
{
    int s = c->stride, To = T / s, H = nn_conv1d_hist_len(c);
    size_t nx = (size_t)B * c->ic * T, nw = (size_t)c->oc * (c->ic / c->groups) * c->k, ny = (size_t)B * c->oc * To;
    float *x = randn(nx, r, 1), *w = randn(nw, r, 0.3f), *b = randn(c->oc, r, 1);
    float *y1 = zeros(ny), *y2 = zeros(ny), *hist = zeros((size_t)B * c->ic * H + 1);
    float *xc = zeros(nx), *yc = zeros(ny);
    nn_conv1d_forward(y1, x, NULL, w, b, c, B, T);
    int ok = 1;
    for (int t0 = 0; t0 < T;) {
        int steps = (int)nac_rng_below(r, 4) == 0 ? 1 : 1 + (int)nac_rng_below(r, (uint64_t)(To / 2 + 1));
        int Tc = steps * s;
        if (t0 + Tc > T)
            Tc = T - t0;
        for (int bc = 0; bc < B * c->ic; bc++)
            memcpy(xc + (size_t)bc * Tc, x + (size_t)bc * T + t0, (size_t)Tc * 4);
        nn_conv1d_forward(yc, xc, hist, w, b, c, B, Tc);
        nn_conv1d_hist_update(hist, xc, c, B, Tc);
        for (int bo = 0; bo < B * c->oc; bo++)
            memcpy(y2 + (size_t)bo * To + t0 / s, yc + (size_t)bo * (Tc / s), (size_t)(Tc / s) * 4);
        t0 += Tc;
    }
    if (memcmp(y1, y2, ny * 4) != 0)
        ok = 0;
    /* Batch element B-1 alone. */
    nn_conv1d_forward(yc, x + (size_t)(B - 1) * c->ic * T, NULL, w, b, c, 1, T);
    if (memcmp(yc, y1 + (size_t)(B - 1) * c->oc * To, (size_t)c->oc * To * 4) != 0)
        ok = 0;
    free(x), free(w), free(b), free(y1), free(y2), free(hist), free(xc), free(yc);
    return ok;
}

static const int stream_cases[][6] = {
    /* ic, oc, k, stride, dil, groups */
    {3, 5, 3, 1, 1, 1},   {4, 6, 4, 2, 1, 2},    {16, 16, 7, 1, 1, 16}, {16, 16, 7, 1, 3, 16}, {40, 100, 7, 1, 1, 1},
    {8, 8, 5, 1, 9, 1},   {12, 24, 8, 4, 1, 1},  {20, 40, 1, 1, 1, 1},  {6, 6, 4, 2, 1, 6},   {300, 20, 1, 1, 1, 1},
    {8, 12, 3, 3, 1, 2},
};

TEST(nn_conv1d_streaming_bitexact)
{
    nac_rng r;
    nac_rng_seed(&r, 5);
    for (int simd = 1; simd >= 0; simd--) {
        nn_simd_set(simd);
        for (size_t ci = 0; ci < sizeof stream_cases / sizeof stream_cases[0]; ci++) {
            const int *f = stream_cases[ci];
            nn_conv1d c = {f[0], f[1], f[2], f[3], f[4], f[5]};
            int T = c.stride * (int)(40 + nac_rng_below(&r, 120));
            int ok = conv_stream_case(&c, 2, T, &r);
            if (!ok)
                nn_simd_set(1);
            CHECKF(ok, "case %zu (simd %d, T %d): streaming or single-batch output differs", ci, simd, T);
        }
    }
    nn_simd_set(1);
}

/* Forward and backward at 1 and 2 threads, bit for bit. */
TEST(nn_conv1d_threads_identical)
{
    nac_rng r;
    nac_rng_seed(&r, 9);
    for (size_t ci = 0; ci < sizeof stream_cases / sizeof stream_cases[0]; ci++) {
        const int *f = stream_cases[ci];
        nn_conv1d c = {f[0], f[1], f[2], f[3], f[4], f[5]};
        int B = 3, T = c.stride * 600, To = T / c.stride;
        size_t nx = (size_t)B * c.ic * T, nw = (size_t)c.oc * (c.ic / c.groups) * c.k, ny = (size_t)B * c.oc * To;
        float *x = randn(nx, &r, 1), *w = randn(nw, &r, 0.3f), *b = randn(c.oc, &r, 1), *dy = randn(ny, &r, 1);
        float *out[2][4];
        for (int th = 0; th < 2; th++) {
            set_threads(th + 1);
            out[th][0] = zeros(ny), out[th][1] = zeros(nx), out[th][2] = zeros(nw), out[th][3] = zeros(c.oc);
            nn_conv1d_forward(out[th][0], x, NULL, w, b, &c, B, T);
            nn_conv1d_backward(out[th][1], out[th][2], out[th][3], dy, x, w, &c, B, T);
        }
        set_threads(2);
        int same = !memcmp(out[0][0], out[1][0], ny * 4) && !memcmp(out[0][1], out[1][1], nx * 4) &&
                   !memcmp(out[0][2], out[1][2], nw * 4) && !memcmp(out[0][3], out[1][3], c.oc * 4);
        for (int th = 0; th < 2; th++)
            for (int k = 0; k < 4; k++)
                free(out[th][k]);
        free(x), free(w), free(b), free(dy);
        CHECKF(same, "case %zu differs between 1 and 2 threads", ci);
    }
}

/* The AVX2 kernels against the portable ones, forward and backward. */
TEST(nn_conv1d_simd_matches_scalar)
{
    if (!nn_simd_enabled())
        SKIP("no AVX2+FMA on this CPU");
    nac_rng r;
    nac_rng_seed(&r, 21);
    double worst = 0;
    for (size_t ci = 0; ci < sizeof stream_cases / sizeof stream_cases[0]; ci++) {
        const int *f = stream_cases[ci];
        nn_conv1d c = {f[0], f[1], f[2], f[3], f[4], f[5]};
        int B = 2, T = c.stride * 97, To = T / c.stride;
        size_t nx = (size_t)B * c.ic * T, nw = (size_t)c.oc * (c.ic / c.groups) * c.k, ny = (size_t)B * c.oc * To;
        float *x = randn(nx, &r, 1), *w = randn(nw, &r, 0.3f), *b = randn(c.oc, &r, 1), *dy = randn(ny, &r, 1);
        float *o[2][3];
        for (int simd = 0; simd < 2; simd++) {
            nn_simd_set(simd);
            o[simd][0] = zeros(ny), o[simd][1] = zeros(nx), o[simd][2] = zeros(nw);
            nn_conv1d_forward(o[simd][0], x, NULL, w, b, &c, B, T);
            nn_conv1d_backward(o[simd][1], o[simd][2], NULL, dy, x, w, &c, B, T);
        }
        nn_simd_set(1);
        double e = fmax(worst_rel(o[0][0], o[1][0], ny, 1e-4, 1e-4, NULL),
                        fmax(worst_rel(o[0][1], o[1][1], nx, 1e-4, 1e-4, NULL),
                             worst_rel(o[0][2], o[1][2], nw, 1e-3, 1e-4, NULL)));
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < 3; k++)
                free(o[s][k]);
        free(x), free(w), free(b), free(dy);
        CHECKF(e <= 1.0, "case %zu: SIMD and portable kernels differ (err/tol %.3g)", ci, e);
        worst = fmax(worst, e);
    }
    NOTE("worst err/tol %.3g", worst);
}

/* ---- convtr1d ---- */

static const int convtr_fix[][6] = {{4, 3, 4, 2, 2, 7}, {3, 5, 6, 3, 1, 5}, {5, 2, 3, 2, 2, 6}, {2, 3, 1, 1, 1, 8},
                                    {3, 4, 8, 2, 2, 5}};

TEST(nn_convtr1d_matches_torch)
{
    double worst = 0;
    for (int simd = 1; simd >= 0; simd--) {
        nn_simd_set(simd);
        for (size_t ci = 0; ci < sizeof convtr_fix / sizeof convtr_fix[0]; ci++) {
            const int *f = convtr_fix[ci];
            nn_convtr1d c = {f[0], f[1], f[2], f[3]};
            int B = f[4], T = f[5];
            char name[128];
            snprintf(name, sizeof name, "nn_convtr1d_%d_%d_%d_%d_%d_%d.f32", f[0], f[1], f[2], f[3], B, T);
            size_t n, nx = (size_t)B * c.ic * T, nw = (size_t)c.ic * c.oc * c.k, ny = (size_t)B * c.oc * T * c.stride;
            float *d = load_f32(name, &n);
            CHECKF(d && n == nx + nw + c.oc + ny, "fixture %s missing or wrong size", name);
            float *y = zeros(ny);
            nn_convtr1d_forward(y, d, NULL, d + nx, d + nx + nw, &c, B, T);
            size_t at = 0;
            double w = worst_rel(y, d + nx + nw + c.oc, ny, 1e-5, 1e-5, &at);
            float got = y[at], want = d[nx + nw + c.oc + at];
            free(y);
            free(d);
            CHECKF(w <= 1.0, "%s simd=%d: element %zu = %g, torch %g", name, simd, at, got, want);
            worst = fmax(worst, w);
        }
    }
    nn_simd_set(1);
    NOTE("worst err/tol %.3g", worst);
}

typedef struct convtr_gc {
    nn_convtr1d c;
    int B, T;
    float *x, *w, *b, *y, *g;
} convtr_gc;

static double convtr_loss(void *ctx)
{
    convtr_gc *q = ctx;
    nn_convtr1d_forward(q->y, q->x, NULL, q->w, q->b, &q->c, q->B, q->T);
    return dot(q->y, q->g, (size_t)q->B * q->c.oc * q->T * q->c.stride);
}

static const int convtr_cases[][4] = {{3, 4, 4, 2}, {2, 3, 5, 3}, {4, 2, 3, 2}, {3, 3, 1, 1}, {2, 5, 8, 4}, {5, 3, 2, 2}};

TEST(nn_convtr1d_gradcheck)
{
    nac_rng r;
    nac_rng_seed(&r, 12);
    double worst = 0;
    for (size_t ci = 0; ci < sizeof convtr_cases / sizeof convtr_cases[0]; ci++) {
        const int *f = convtr_cases[ci];
        convtr_gc q = {{f[0], f[1], f[2], f[3]}, 2, 7, 0, 0, 0, 0, 0};
        size_t nx = (size_t)q.B * q.c.ic * q.T, nw = (size_t)q.c.ic * q.c.oc * q.c.k,
               ny = (size_t)q.B * q.c.oc * q.T * q.c.stride;
        q.x = randn(nx, &r, 1);
        q.w = randn(nw, &r, 0.5f);
        q.b = randn(q.c.oc, &r, 1);
        q.y = zeros(ny);
        q.g = randn(ny, &r, 1);
        float *dx = zeros(nx), *dw = zeros(nw), *db = zeros(q.c.oc);
        nn_convtr1d_backward(dx, dw, db, q.g, q.x, q.w, &q.c, q.B, q.T);
        gc_worst wx = gradcheck(convtr_loss, &q, q.x, dx, nx, 1e-2f, 200);
        gc_worst ww = gradcheck(convtr_loss, &q, q.w, dw, nw, 1e-2f, 200);
        gc_worst wb = gradcheck(convtr_loss, &q, q.b, db, q.c.oc, 1e-2f, 200);
        float *dx2 = malloc(nx * 4), *dw2 = malloc(nw * 4);
        memcpy(dx2, dx, nx * 4);
        memcpy(dw2, dw, nw * 4);
        nn_convtr1d_backward(dx2, dw2, NULL, q.g, q.x, q.w, &q.c, q.B, q.T);
        for (size_t i = 0; i < nx; i++)
            dx[i] *= 2;
        for (size_t i = 0; i < nw; i++)
            dw[i] *= 2;
        double acc = worst_rel(dx2, dx, nx, 1e-5, 1e-5, NULL) + worst_rel(dw2, dw, nw, 1e-5, 1e-5, NULL);
        free(q.x), free(q.w), free(q.b), free(q.y), free(q.g), free(dx), free(dw), free(db), free(dx2), free(dw2);
        char what[96];
        snprintf(what, sizeof what, "case %zu dx", ci);
        CHECK_GC(wx, what);
        snprintf(what, sizeof what, "case %zu dw", ci);
        CHECK_GC(ww, what);
        snprintf(what, sizeof what, "case %zu db", ci);
        CHECK_GC(wb, what);
        CHECKF(acc <= 2.0, "case %zu: second backward did not double the gradients", ci);
        worst = fmax(worst, fmax(wx.ratio, fmax(ww.ratio, wb.ratio)));
    }
    NOTE("worst err/tol %.3g", worst);
}

static const int convtr_big[][4] = {{4, 3, 4, 2},  {3, 5, 6, 3},    {16, 8, 16, 8}, {64, 32, 10, 5},
                                    {20, 7, 3, 2}, {130, 100, 4, 2}, {8, 8, 1, 1},   {300, 10, 2, 1}};

/* Random chunks of input frames (single frames included) with a carry equal one offline pass bit for bit. */
TEST(nn_convtr1d_streaming_bitexact)
{
    nac_rng r;
    nac_rng_seed(&r, 6);
    for (int simd = 1; simd >= 0; simd--) {
        nn_simd_set(simd);
        for (size_t ci = 0; ci < sizeof convtr_big / sizeof convtr_big[0]; ci++) {
            const int *f = convtr_big[ci];
            nn_convtr1d c = {f[0], f[1], f[2], f[3]};
            int B = 2, T = 30 + (int)nac_rng_below(&r, 150), s = c.stride, L = c.k - s;
            size_t nx = (size_t)B * c.ic * T, nw = (size_t)c.ic * c.oc * c.k, ny = (size_t)B * c.oc * T * s;
            float *x = randn(nx, &r, 1), *w = randn(nw, &r, 0.3f), *b = randn(c.oc, &r, 1);
            float *y1 = zeros(ny), *y2 = zeros(ny), *carry = zeros((size_t)B * c.oc * L + 1), *xc = zeros(nx),
                  *yc = zeros(ny);
            nn_convtr1d_forward(y1, x, NULL, w, b, &c, B, T);
            for (int t0 = 0; t0 < T;) {
                int Tc = nac_rng_below(&r, 3) == 0 ? 1 : 1 + (int)nac_rng_below(&r, (uint64_t)(T / 3));
                if (t0 + Tc > T)
                    Tc = T - t0;
                for (int bc = 0; bc < B * c.ic; bc++)
                    memcpy(xc + (size_t)bc * Tc, x + (size_t)bc * T + t0, (size_t)Tc * 4);
                nn_convtr1d_forward(yc, xc, carry, w, b, &c, B, Tc);
                for (int bo = 0; bo < B * c.oc; bo++)
                    memcpy(y2 + (size_t)bo * T * s + (size_t)t0 * s, yc + (size_t)bo * Tc * s, (size_t)Tc * s * 4);
                t0 += Tc;
            }
            int ok = !memcmp(y1, y2, ny * 4);
            nn_convtr1d_forward(yc, x + (size_t)c.ic * T, NULL, w, b, &c, 1, T);
            ok = ok && !memcmp(yc, y1 + (size_t)c.oc * T * s, (size_t)c.oc * T * s * 4);
            free(x), free(w), free(b), free(y1), free(y2), free(carry), free(xc), free(yc);
            if (!ok)
                nn_simd_set(1);
            CHECKF(ok, "case %zu (simd %d, T %d): streaming or single-batch output differs", ci, simd, T);
        }
    }
    nn_simd_set(1);
}

TEST(nn_convtr1d_threads_and_simd)
{
    nac_rng r;
    nac_rng_seed(&r, 8);
    double worst = 0;
    for (size_t ci = 0; ci < sizeof convtr_big / sizeof convtr_big[0]; ci++) {
        const int *f = convtr_big[ci];
        nn_convtr1d c = {f[0], f[1], f[2], f[3]};
        int B = 3, T = 77;
        size_t nx = (size_t)B * c.ic * T, nw = (size_t)c.ic * c.oc * c.k, ny = (size_t)B * c.oc * T * c.stride;
        float *x = randn(nx, &r, 1), *w = randn(nw, &r, 0.3f), *b = randn(c.oc, &r, 1), *dy = randn(ny, &r, 1);
        float *o[3][4];
        for (int run = 0; run < 3; run++) { /* 1 thread, 2 threads, portable */
            set_threads(run == 0 ? 1 : 2);
            nn_simd_set(run < 2);
            o[run][0] = zeros(ny), o[run][1] = zeros(nx), o[run][2] = zeros(nw), o[run][3] = zeros(c.oc);
            nn_convtr1d_forward(o[run][0], x, NULL, w, b, &c, B, T);
            nn_convtr1d_backward(o[run][1], o[run][2], o[run][3], dy, x, w, &c, B, T);
        }
        nn_simd_set(1);
        set_threads(2);
        int same = !memcmp(o[0][0], o[1][0], ny * 4) && !memcmp(o[0][1], o[1][1], nx * 4) &&
                   !memcmp(o[0][2], o[1][2], nw * 4) && !memcmp(o[0][3], o[1][3], c.oc * 4);
        double e = fmax(worst_rel(o[2][0], o[1][0], ny, 1e-4, 1e-4, NULL),
                        fmax(worst_rel(o[2][1], o[1][1], nx, 1e-4, 1e-4, NULL),
                             worst_rel(o[2][2], o[1][2], nw, 1e-3, 1e-4, NULL)));
        for (int run = 0; run < 3; run++)
            for (int k = 0; k < 4; k++)
                free(o[run][k]);
        free(x), free(w), free(b), free(dy);
        CHECKF(same, "case %zu differs between 1 and 2 threads", ci);
        CHECKF(e <= 1.0, "case %zu: SIMD and portable kernels differ (err/tol %.3g)", ci, e);
        worst = fmax(worst, e);
    }
    NOTE("SIMD vs portable worst err/tol %.3g", worst);
}

/* ---- linear ---- */

typedef struct lin_gc {
    int N, IN, OUT;
    float *x, *w, *b, *y, *g;
} lin_gc;

static double lin_loss(void *ctx)
{
    lin_gc *q = ctx;
    nn_linear_forward(q->y, q->x, q->w, q->b, q->N, q->IN, q->OUT);
    return dot(q->y, q->g, (size_t)q->N * q->OUT);
}

TEST(nn_linear_gradcheck_and_reference)
{
    nac_rng r;
    nac_rng_seed(&r, 13);
    static const int sz[][3] = {{3, 5, 7}, {1, 1, 1}, {17, 9, 4}, {7, 300, 20}};
    double worst = 0;
    for (size_t ci = 0; ci < 4; ci++) {
        lin_gc q = {sz[ci][0], sz[ci][1], sz[ci][2], 0, 0, 0, 0, 0};
        size_t nx = (size_t)q.N * q.IN, nw = (size_t)q.OUT * q.IN, ny = (size_t)q.N * q.OUT;
        q.x = randn(nx, &r, 1), q.w = randn(nw, &r, 0.5f), q.b = randn(q.OUT, &r, 1);
        q.y = zeros(ny), q.g = randn(ny, &r, 1);
        /* Reference forward in double. */
        nn_linear_forward(q.y, q.x, q.w, q.b, q.N, q.IN, q.OUT);
        double ref_err = 0;
        for (int n = 0; n < q.N; n++)
            for (int o = 0; o < q.OUT; o++) {
                double s = q.b[o];
                for (int i = 0; i < q.IN; i++)
                    s += (double)q.x[n * q.IN + i] * q.w[o * q.IN + i];
                ref_err = fmax(ref_err, fabs(s - q.y[n * q.OUT + o]) / (1e-5 + 1e-5 * fabs(s)));
            }
        float *dx = zeros(nx), *dw = zeros(nw), *db = zeros(q.OUT);
        nn_linear_backward(dx, dw, db, q.g, q.x, q.w, q.N, q.IN, q.OUT);
        gc_worst wx = gradcheck(lin_loss, &q, q.x, dx, nx, 1e-2f, 200);
        gc_worst ww = gradcheck(lin_loss, &q, q.w, dw, nw, 1e-2f, 200);
        gc_worst wb = gradcheck(lin_loss, &q, q.b, db, q.OUT, 1e-2f, 200);
        float *dx2 = malloc(nx * 4), *dw2 = malloc(nw * 4), *db2 = malloc(q.OUT * 4);
        memcpy(dx2, dx, nx * 4), memcpy(dw2, dw, nw * 4), memcpy(db2, db, q.OUT * 4);
        nn_linear_backward(dx2, dw2, db2, q.g, q.x, q.w, q.N, q.IN, q.OUT);
        for (size_t i = 0; i < nx; i++)
            dx[i] *= 2;
        for (size_t i = 0; i < nw; i++)
            dw[i] *= 2;
        for (int i = 0; i < q.OUT; i++)
            db[i] *= 2;
        double acc = worst_rel(dx2, dx, nx, 1e-5, 1e-5, NULL) + worst_rel(dw2, dw, nw, 1e-5, 1e-5, NULL) +
                     worst_rel(db2, db, q.OUT, 1e-5, 1e-5, NULL);
        free(dx2), free(dw2), free(db2);
        free(q.x), free(q.w), free(q.b), free(q.y), free(q.g), free(dx), free(dw), free(db);
        CHECKF(acc <= 3.0, "case %zu: second backward did not double the gradients", ci);
        CHECKF(ref_err <= 1.0, "case %zu: forward differs from the double reference (err/tol %.3g)", ci, ref_err);
        CHECK_GC(wx, "dx");
        CHECK_GC(ww, "dw");
        CHECK_GC(wb, "db");
        worst = fmax(worst, fmax(wx.ratio, fmax(ww.ratio, wb.ratio)));
    }
    NOTE("worst err/tol %.3g", worst);
}

/* ---- elementwise layers ---- */

typedef struct act_gc {
    int kind; /* 0 elu, 1 lrelu, 2 tanh, 3 gelu, 4 snake, 5 layernorm, 6 rmsnorm, 7 weightnorm, 8 pixshuf, 9 add */
    int B, C, T;
    size_t n;
    float *x, *p1, *p2, *y, *g, *stats;
} act_gc;

static void act_forward(act_gc *q)
{
    switch (q->kind) {
    case 0: nn_elu_forward(q->y, q->x, 0.7f, q->n); break;
    case 1: nn_lrelu_forward(q->y, q->x, 0.1f, q->n); break;
    case 2: nn_tanh_forward(q->y, q->x, q->n); break;
    case 3: nn_gelu_forward(q->y, q->x, q->n); break;
    case 4: nn_snake_forward(q->y, q->x, q->p1, q->B, q->C, q->T); break;
    case 5: nn_layernorm_forward(q->y, q->stats, q->x, q->p1, q->p2, q->B, q->C, q->T, 1e-5f); break;
    case 6: nn_rmsnorm_forward(q->y, q->stats, q->x, q->p1, q->B, q->C, q->T, 1e-6f); break;
    case 7: nn_weightnorm_forward(q->y, q->x, q->p1, q->C, q->T); break;
    case 8: nn_pixshuf1d_forward(q->y, q->x, q->B, q->C, q->T / 3, 3); break;
    case 9: nn_add_forward(q->y, q->x, q->p1, q->n); break;
    }
}

static double act_loss(void *ctx)
{
    act_gc *q = ctx;
    act_forward(q);
    return dot(q->y, q->g, q->n);
}

/* Backward into dx, dp1, dp2 (accumulating). */
static void act_backward(act_gc *q, float *dx, float *dp1, float *dp2)
{
    switch (q->kind) {
    case 0: nn_elu_backward(dx, q->g, q->x, 0.7f, q->n); break;
    case 1: nn_lrelu_backward(dx, q->g, q->x, 0.1f, q->n); break;
    case 2: nn_tanh_forward(q->y, q->x, q->n), nn_tanh_backward(dx, q->g, q->y, q->n); break;
    case 3: nn_gelu_backward(dx, q->g, q->x, q->n); break;
    case 4: nn_snake_backward(dx, dp1, q->g, q->x, q->p1, q->B, q->C, q->T); break;
    case 5:
        act_forward(q);
        nn_layernorm_backward(dx, dp1, dp2, q->g, q->x, q->stats, q->p1, q->B, q->C, q->T);
        break;
    case 6:
        act_forward(q);
        nn_rmsnorm_backward(dx, dp1, q->g, q->x, q->stats, q->p1, q->B, q->C, q->T);
        break;
    case 7: nn_weightnorm_backward(dx, dp1, q->g, q->x, q->p1, q->C, q->T); break;
    case 8: nn_pixshuf1d_backward(dx, q->g, q->B, q->C, q->T / 3, 3); break;
    case 9: nn_add_backward(dx, dp1, q->g, q->n); break;
    }
}

TEST(nn_elementwise_gradcheck)
{
    static const char *names[] = {"elu", "lrelu", "tanh", "gelu", "snake", "layernorm", "rmsnorm", "weightnorm",
                                  "pixshuf", "add"};
    nac_rng r;
    nac_rng_seed(&r, 14);
    double worst = 0;
    for (int kind = 0; kind < 10; kind++) {
        act_gc q = {kind, 2, 5, 9, 0, 0, 0, 0, 0, 0, 0};
        q.n = (size_t)q.B * q.C * q.T;
        if (kind == 7)
            q.n = (size_t)q.C * q.T;
        q.x = randn(q.n, &r, 1.5f);
        /* Keep inputs away from the kinks of ELU / leaky ReLU, where differences are not derivatives. */
        for (size_t i = 0; i < q.n; i++)
            if (fabsf(q.x[i]) < 0.05f)
                q.x[i] = 0.3f;
        q.p1 = randn(q.n, &r, 1);
        if (kind == 4)
            for (int c = 0; c < q.C; c++)
                q.p1[c] = 0.5f + 0.2f * c;
        q.p2 = randn(q.C, &r, 1);
        q.y = zeros(q.n);
        q.g = randn(q.n, &r, 1);
        q.stats = zeros((size_t)q.B * q.T * 2);
        size_t np1 = kind == 9 ? q.n : (size_t)q.C;
        float *dx = zeros(q.n), *dp1 = zeros(np1), *dp2 = zeros(q.C);
        act_backward(&q, dx, dp1, dp2);
        float h = kind <= 7 ? 1e-3f : 1e-2f;
        gc_worst wx = gradcheck(act_loss, &q, q.x, dx, q.n, h, 200);
        gc_worst w1 = {0, 0, 0, 0}, w2 = {0, 0, 0, 0};
        if (kind >= 4 && kind != 8)
            w1 = gradcheck(act_loss, &q, q.p1, dp1, np1, h, 200);
        if (kind == 5)
            w2 = gradcheck(act_loss, &q, q.p2, dp2, q.C, h, 200);
        /* A second backward doubles. */
        float *dx2 = malloc(q.n * 4);
        memcpy(dx2, dx, q.n * 4);
        act_backward(&q, dx2, dp1, dp2);
        for (size_t i = 0; i < q.n; i++)
            dx[i] *= 2;
        double acc = worst_rel(dx2, dx, q.n, 1e-6, 1e-5, NULL);
        free(q.x), free(q.p1), free(q.p2), free(q.y), free(q.g), free(q.stats), free(dx), free(dp1), free(dp2),
            free(dx2);
        char what[64];
        snprintf(what, sizeof what, "%s dx", names[kind]);
        CHECK_GC(wx, what);
        snprintf(what, sizeof what, "%s param 1", names[kind]);
        CHECK_GC(w1, what);
        snprintf(what, sizeof what, "%s param 2", names[kind]);
        CHECK_GC(w2, what);
        CHECKF(acc <= 1.0, "%s: second backward did not double dx", names[kind]);
        worst = fmax(worst, fmax(wx.ratio, fmax(w1.ratio, w2.ratio)));
    }
    NOTE("worst err/tol %.3g", worst);
}

TEST(nn_elementwise_match_torch)
{
    size_t n;
    float *d = load_f32("nn_act.f32", &n);
    CHECKF(d && n == 64 * 5, "nn_act.f32 missing or wrong size");
    float y[64];
    double w = 0;
    nn_elu_forward(y, d, 1.0f, 64);
    w = fmax(w, worst_rel(y, d + 64, 64, 1e-6, 1e-5, NULL));
    nn_lrelu_forward(y, d, 0.1f, 64);
    w = fmax(w, worst_rel(y, d + 128, 64, 1e-6, 1e-5, NULL));
    nn_tanh_forward(y, d, 64);
    w = fmax(w, worst_rel(y, d + 192, 64, 1e-6, 1e-5, NULL));
    nn_gelu_forward(y, d, 64);
    w = fmax(w, worst_rel(y, d + 256, 64, 1e-6, 1e-5, NULL));
    free(d);
    CHECKF(w <= 1.0, "activation differs from torch (err/tol %.3g)", w);

    d = load_f32("nn_snake.f32", &n);
    CHECKF(d && n == 60 + 3 + 60, "nn_snake.f32 missing or wrong size");
    float ys[60];
    nn_snake_forward(ys, d, d + 60, 2, 3, 10);
    double ws = worst_rel(ys, d + 63, 60, 1e-5, 1e-5, NULL);
    free(d);
    CHECKF(ws <= 1.0, "snake differs from torch (err/tol %.3g)", ws);

    d = load_f32("nn_norm.f32", &n);
    CHECKF(d && n == 60 + 6 + 6 + 60 + 60, "nn_norm.f32 missing or wrong size");
    float yn[60], st[20];
    nn_layernorm_forward(yn, st, d, d + 60, d + 66, 2, 6, 5, 1e-5f);
    double wl = worst_rel(yn, d + 72, 60, 1e-5, 1e-5, NULL);
    nn_rmsnorm_forward(yn, st, d, d + 60, 2, 6, 5, 1e-6f);
    double wr = worst_rel(yn, d + 132, 60, 1e-5, 1e-5, NULL);
    free(d);
    CHECKF(wl <= 1.0 && wr <= 1.0, "norm differs from torch (layernorm %.3g, rmsnorm %.3g)", wl, wr);

    d = load_f32("nn_weightnorm.f32", &n);
    CHECKF(d && n == 60 + 4 + 60, "nn_weightnorm.f32 missing or wrong size");
    float ww[60];
    nn_weightnorm_forward(ww, d, d + 60, 4, 15);
    double wn = worst_rel(ww, d + 64, 60, 1e-6, 1e-5, NULL);
    free(d);
    CHECKF(wn <= 1.0, "weight norm differs from torch (err/tol %.3g)", wn);

    float x[12], yp[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)i;
    nn_pixshuf1d_forward(yp, x, 1, 2, 3, 2); /* x (1, 4, 3) -> y (1, 2, 6) */
    static const float want[12] = {0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11};
    CHECK(memcmp(yp, want, sizeof want) == 0);
    NOTE("worst err/tol %.3g", fmax(w, fmax(ws, fmax(wl, fmax(wr, wn)))));
}

/* The AVX2 activations (vector exp, Chebyshev erfc) against the libm ones, tails and extremes included. */
TEST(nn_activation_simd_matches_scalar)
{
    if (!nn_simd_enabled())
        SKIP("no AVX2+FMA on this CPU");
    enum { N = 1003 };
    float x[N], dy[N], y[2][N], d[2][N];
    nac_rng r;
    nac_rng_seed(&r, 31);
    for (int i = 0; i < N; i++) {
        x[i] = i < 40 ? (float)(i - 20) * 5.0f : (float)(3.0 * nac_rng_normal(&r));
        dy[i] = (float)nac_rng_normal(&r);
    }
    double worst = 0;
    for (int kind = 0; kind < 2; kind++) {
        for (int simd = 0; simd < 2; simd++) {
            nn_simd_set(simd);
            for (int i = 0; i < N; i++)
                d[simd][i] = 0.5f;
            if (kind == 0) {
                nn_gelu_forward(y[simd], x, N);
                nn_gelu_backward(d[simd], dy, x, N);
            } else {
                nn_elu_forward(y[simd], x, 0.7f, N);
                nn_elu_backward(d[simd], dy, x, 0.7f, N);
            }
        }
        nn_simd_set(1);
        size_t at = 0;
        double ey = worst_rel(y[1], y[0], N, 1e-6, 1e-5, &at);
        CHECKF(ey <= 1.0, "%s forward: x = %g: %g vs libm %g", kind ? "elu" : "gelu", x[at], y[1][at], y[0][at]);
        double ed = worst_rel(d[1], d[0], N, 1e-6, 1e-5, &at);
        CHECKF(ed <= 1.0, "%s backward: x = %g: %g vs libm %g", kind ? "elu" : "gelu", x[at], d[1][at], d[0][at]);
        worst = fmax(worst, fmax(ey, ed));
    }
    NOTE("worst err/tol %.3g", worst);
}

/* The paths taken when scratch memory cannot be allocated give the same forwards (bit for bit) and
 * gradients. */
TEST(nn_conv_backward_without_scratch)
{
    nac_rng r;
    nac_rng_seed(&r, 41);
    double worst = 0;
    for (size_t ci = 0; ci < sizeof stream_cases / sizeof stream_cases[0]; ci++) {
        const int *f = stream_cases[ci];
        nn_conv1d c = {f[0], f[1], f[2], f[3], f[4], f[5]};
        int B = 2, T = c.stride * 53, To = T / c.stride;
        size_t nx = (size_t)B * c.ic * T, nw = (size_t)c.oc * (c.ic / c.groups) * c.k, ny = (size_t)B * c.oc * To;
        float *x = randn(nx, &r, 1), *w = randn(nw, &r, 0.3f), *dy = randn(ny, &r, 1);
        float *o[2][3];
        for (int pl = 0; pl < 2; pl++) {
            nn_scratch_set(pl);
            o[pl][0] = zeros(ny), o[pl][1] = zeros(nx), o[pl][2] = zeros(nw);
            nn_conv1d_forward(o[pl][0], x, NULL, w, NULL, &c, B, T);
            nn_conv1d_backward(o[pl][1], o[pl][2], NULL, dy, x, w, &c, B, T);
        }
        nn_scratch_set(1);
        int fwd_same = !memcmp(o[0][0], o[1][0], ny * 4);
        double e = fmax(worst_rel(o[0][1], o[1][1], nx, 1e-4, 1e-4, NULL),
                        worst_rel(o[0][2], o[1][2], nw, 1e-3, 1e-4, NULL));
        for (int pl = 0; pl < 2; pl++)
            for (int k = 0; k < 3; k++)
                free(o[pl][k]);
        free(x), free(w), free(dy);
        CHECKF(fwd_same, "conv case %zu: forward without scratch differs", ci);
        CHECKF(e <= 1.0, "conv case %zu: gradients without scratch differ (err/tol %.3g)", ci, e);
        worst = fmax(worst, e);
    }
    for (size_t ci = 0; ci < sizeof convtr_big / sizeof convtr_big[0]; ci++) {
        const int *f = convtr_big[ci];
        nn_convtr1d c = {f[0], f[1], f[2], f[3]};
        int B = 2, T = 41;
        size_t nx = (size_t)B * c.ic * T, nw = (size_t)c.ic * c.oc * c.k, ny = (size_t)B * c.oc * T * c.stride;
        float *x = randn(nx, &r, 1), *w = randn(nw, &r, 0.3f), *dy = randn(ny, &r, 1);
        float *o[2][3];
        for (int pl = 0; pl < 2; pl++) {
            nn_scratch_set(pl);
            o[pl][0] = zeros(nx), o[pl][1] = zeros(nw), o[pl][2] = zeros(ny);
            nn_convtr1d_backward(o[pl][0], o[pl][1], NULL, dy, x, w, &c, B, T);
            nn_convtr1d_forward(o[pl][2], x, NULL, w, NULL, &c, B, T);
        }
        nn_scratch_set(1);
        int fwd_same = !memcmp(o[0][2], o[1][2], ny * 4);
        double e = fmax(worst_rel(o[0][0], o[1][0], nx, 1e-4, 1e-4, NULL),
                        worst_rel(o[0][1], o[1][1], nw, 1e-3, 1e-4, NULL));
        for (int pl = 0; pl < 2; pl++)
            for (int k = 0; k < 3; k++)
                free(o[pl][k]);
        free(x), free(w), free(dy);
        CHECKF(fwd_same, "convtr case %zu: forward without scratch differs", ci);
        CHECKF(e <= 1.0, "convtr case %zu: gradients without scratch differ (err/tol %.3g)", ci, e);
        worst = fmax(worst, e);
    }
    NOTE("worst err/tol %.3g", worst);
}

/* Every other layer at 1 and 2 threads, bit for bit, on sizes above the serial thresholds. */
TEST(nn_layers_threads_identical)
{
    enum { B = 3, C = 64, T = 300, N = 200, IN = 96, OUT = 80 };
    size_t n = (size_t)B * C * T;
    nac_rng r;
    nac_rng_seed(&r, 51);
    float *x = randn(n, &r, 1), *dy = randn(n, &r, 1), *gam = randn(C, &r, 1), *bet = randn(C, &r, 1);
    float *lx = randn((size_t)N * IN, &r, 1), *lw = randn((size_t)OUT * IN, &r, 0.2f), *lb = randn(OUT, &r, 1);
    float *ldy = randn((size_t)N * OUT, &r, 1);
    for (int c = 0; c < C; c++)
        gam[c] = 0.5f + fabsf(gam[c]);
    float *out[2][12];
    for (int th = 0; th < 2; th++) {
        set_threads(th + 1);
        float **o = out[th];
        for (int k = 0; k < 12; k++)
            o[k] = zeros((n > (size_t)N * OUT ? n : (size_t)N * OUT) + 2 * C);
        float *st = zeros((size_t)B * T * 2);
        nn_layernorm_forward(o[0], st, x, gam, bet, B, C, T, 1e-5f);
        nn_layernorm_backward(o[1], o[2], o[3], dy, x, st, gam, B, C, T);
        nn_rmsnorm_forward(o[4], st, x, gam, B, C, T, 1e-6f);
        nn_rmsnorm_backward(o[5], o[6], dy, x, st, gam, B, C, T);
        nn_snake_forward(o[7], x, gam, B, C, T);
        nn_snake_backward(o[8], o[9], dy, x, gam, B, C, T);
        nn_gelu_forward(o[10], x, n);
        nn_gelu_backward(o[10], dy, x, n);
        nn_linear_forward(o[11], lx, lw, lb, N, IN, OUT);
        nn_linear_backward(o[11], o[11] + (size_t)N * IN, o[11] + (size_t)N * IN + (size_t)OUT * IN, ldy, lx, lw, N,
                           IN, OUT);
        nn_weightnorm_forward(o[2] + C, x, gam, C, B * T);
        nn_weightnorm_backward(o[3] + C, o[3], dy, x, gam, C, B * T);
        free(st);
    }
    set_threads(2);
    int bad = -1;
    size_t big = (n > (size_t)N * OUT ? n : (size_t)N * OUT) + 2 * C;
    for (int k = 0; k < 12 && bad < 0; k++)
        if (memcmp(out[0][k], out[1][k], big * 4) != 0)
            bad = k;
    for (int th = 0; th < 2; th++)
        for (int k = 0; k < 12; k++)
            free(out[th][k]);
    free(x), free(dy), free(gam), free(bet), free(lx), free(lw), free(lb), free(ldy);
    CHECKF(bad < 0, "output %d differs between 1 and 2 threads", bad);
}
