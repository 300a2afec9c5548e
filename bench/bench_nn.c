/* GFLOP/s of the nn kernels on the codec's hot shapes, forward and backward, at 1 and 2 threads,
 * with OpenBLAS sgemm on the pointwise shapes as a yardstick. Usage: bench_nn [filter] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/rng.h"
#include "nn/conv1d.h"
#include "nn/convtr1d.h"
#include "nn/gemm.h"

/* On a shared machine, 1-thread rows use process CPU time (immune to being descheduled); 2-thread rows
 * use wall time (the only fair clock for a parallel speed-up). */
static int use_cpu_clock = 1;

static double now(void)
{
    struct timespec ts;
    clock_gettime(use_cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static float *rnd(size_t n, nac_rng *r)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)nac_rng_normal(r) * 0.1f;
    return p;
}

static int reps_for(double flop) { int r = (int)(2e9 / (flop + 1)); return r < 2 ? 2 : r > 50 ? 50 : r; }

typedef struct shape {
    const char *name;
    int tr; /* 0 conv, 1 convtr */
    int ic, oc, k, s, dil, groups, B, T;
} shape;

static const shape shapes[] = {
    /* the codec's default model (src/model): C 192, hidden 384, 100 frames/s, down 2 */
    {"codec pw 192->384 T100 B16", 0, 192, 384, 1, 1, 1, 1, 16, 100},
    {"codec pw 384->192 T100 B16", 0, 384, 192, 1, 1, 1, 1, 16, 100},
    {"codec pw 192->384 T50 B16", 0, 192, 384, 1, 1, 1, 1, 16, 50},
    {"codec dw k7 C192 T100 B16", 0, 192, 192, 7, 1, 1, 192, 16, 100},
    {"codec down 192 k4 s2 T100 B16", 0, 192, 192, 4, 2, 1, 1, 16, 100},
    {"codec up 192->384 k3 T50 B16", 0, 192, 384, 3, 1, 1, 1, 16, 50},
    /* the brief's hot shapes */
    {"pw 256->512 T100 B16", 0, 256, 512, 1, 1, 1, 1, 16, 100},
    {"pw 512->256 T100 B16", 0, 512, 256, 1, 1, 1, 1, 16, 100},
    {"pw 256->512 T1600 B8", 0, 256, 512, 1, 1, 1, 1, 8, 1600},
    {"pw 512->256 T1600 B8", 0, 512, 256, 1, 1, 1, 1, 8, 1600},
    {"dw k7 C256 T100 B16", 0, 256, 256, 7, 1, 1, 256, 16, 100},
    {"dw k7 C256 T1600 B8", 0, 256, 256, 7, 1, 1, 256, 8, 1600},
    {"conv 1->32 k7 T16000 B8", 0, 1, 32, 7, 1, 1, 1, 8, 16000},
    {"conv 32->32 k3 d3 T16000 B8", 0, 32, 32, 3, 1, 3, 1, 8, 16000},
    {"conv 32->32 k1 T16000 B8", 0, 32, 32, 1, 1, 1, 1, 8, 16000},
    {"conv 16->16 k7 d9 T16000 B8", 0, 16, 16, 7, 1, 9, 1, 8, 16000},
    {"conv 32->64 k4 s2 T16000 B8", 0, 32, 64, 4, 2, 1, 1, 8, 16000},
    {"conv 64->64 k3 d1 T8000 B8", 0, 64, 64, 3, 1, 1, 1, 8, 8000},
    {"conv 128->256 k16 s8 T2000 B8", 0, 128, 256, 16, 8, 1, 1, 8, 2000},
    {"conv 256->256 k7 T250 B8", 0, 256, 256, 7, 1, 1, 1, 8, 250},
    {"convtr 256->128 k16 s8 T250 B8", 1, 256, 128, 16, 8, 1, 1, 8, 250},
    {"convtr 64->32 k4 s2 T8000 B8", 1, 64, 32, 4, 2, 1, 1, 8, 8000},
    {"convtr 256->256 k4 s2 T100 B16", 1, 256, 256, 4, 2, 1, 1, 16, 100},
};

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    nac_rng r;
    nac_rng_seed(&r, 1);
    printf("%-32s %3s %9s %9s %9s %9s\n", "shape", "thr", "fwd GF/s", "dx GF/s", "dw GF/s", "sgemm");
    printf("(1 thread: CPU time; 2 threads: wall time; sgemm: OpenBLAS on the pointwise shapes)\n");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *sh = &shapes[si];
        if (filter && !strstr(sh->name, filter))
            continue;
        int To = sh->tr ? sh->T * sh->s : sh->T / sh->s;
        size_t nx = (size_t)sh->B * sh->ic * sh->T, ny = (size_t)sh->B * sh->oc * To;
        size_t nw = (size_t)sh->oc * (sh->ic / sh->groups) * sh->k;
        nn_conv1d c = {sh->ic, sh->oc, sh->k, sh->s, sh->dil, sh->groups};
        nn_convtr1d ct = {sh->ic, sh->oc, sh->k, sh->s};
        double macs = sh->tr ? nn_convtr1d_macs(&ct, sh->B, sh->T) : nn_conv1d_macs(&c, sh->B, sh->T);
        float *x = rnd(nx, &r), *w = rnd(nw, &r), *b = rnd(sh->oc, &r), *y = rnd(ny, &r), *dy = rnd(ny, &r);
        float *dx = calloc(nx, 4), *dw = calloc(nw, 4);
        int reps = reps_for(2 * macs);
        for (int th = 1; th <= 2; th++) {
#ifdef _OPENMP
            omp_set_num_threads(th);
            openblas_set_num_threads(th);
#endif
            use_cpu_clock = th == 1;
            double best[4] = {1e9, 1e9, 1e9, 1e9};
            for (int rep = 0; rep < reps; rep++) {
                double t0 = now();
                if (sh->tr)
                    nn_convtr1d_forward(y, x, NULL, w, b, &ct, sh->B, sh->T);
                else
                    nn_conv1d_forward(y, x, NULL, w, b, &c, sh->B, sh->T);
                double t1 = now();
                if (sh->tr)
                    nn_convtr1d_backward(dx, NULL, NULL, dy, x, w, &ct, sh->B, sh->T);
                else
                    nn_conv1d_backward(dx, NULL, NULL, dy, x, w, &c, sh->B, sh->T);
                double t2 = now();
                if (sh->tr)
                    nn_convtr1d_backward(NULL, dw, NULL, dy, x, w, &ct, sh->B, sh->T);
                else
                    nn_conv1d_backward(NULL, dw, NULL, dy, x, w, &c, sh->B, sh->T);
                double t3 = now();
                if (sh->k == 1 && sh->groups == 1) {
                    for (int bi = 0; bi < sh->B; bi++)
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, sh->oc, sh->T, sh->ic, 1.0f, w, sh->ic,
                                    x + (size_t)bi * sh->ic * sh->T, sh->T, 0.0f, y + (size_t)bi * sh->oc * sh->T, sh->T);
                }
                double t4 = now();
                double d[4] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
                for (int i = 0; i < 4; i++)
                    if (d[i] < best[i])
                        best[i] = d[i];
            }
            printf("%-32s %3d %9.1f %9.1f %9.1f", sh->name, th, 2e-9 * macs / best[0], 2e-9 * macs / best[1],
                   2e-9 * macs / best[2]);
            if (sh->k == 1 && sh->groups == 1)
                printf(" %9.1f", 2e-9 * macs / best[3]);
            printf("   (fwd %.2f ms)\n", 1e3 * best[0]);
            fflush(stdout);
        }
        free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw);
    }
    return 0;
}
