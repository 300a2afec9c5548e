/* Speed of the training losses and the STFT at a training batch: B = 16, T = 16000 (1 s at
 * 16 kHz). Usage: OMP_NUM_THREADS=2 build/bench_loss [reps]. Prints ms per call: wall-clock median and minimum, and the
 * median CPU time of the process (all threads; robust on a shared machine). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/rng.h"
#include "dsp/stft.h"
#include "nn/loss_spectral.h"
#include "nn/loss_wave.h"
#include "bench_util.h"

enum { B = 16, T = 16000 };

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct ctx {
    nn_mrstft_loss *mr;
    nn_melspec_loss *ml;
    nac_stft *st;
    float *y, *x, *dy, *re, *im;
} ctx;

static void run(ctx *c, int which)
{
    switch (which) {
    case 0: nn_mrstft_loss_forward_backward(c->mr, c->dy, c->y, c->x, B, T, 1.0f); break;
    case 1: nn_mrstft_loss_forward_backward(c->mr, NULL, c->y, c->x, B, T, 1.0f); break;
    case 2: nn_melspec_loss_forward_backward(c->ml, c->dy, c->y, c->x, B, T, 1.0f); break;
    case 3: nn_melspec_loss_forward_backward(c->ml, NULL, c->y, c->x, B, T, 1.0f); break;
    case 4: nn_l1_loss_forward_backward(c->dy, c->y, c->x, B, T, 1.0f); break;
    case 5: nac_stft_forward(c->st, c->re, c->im, c->y, B, T); break;
    case 6: nac_istft_forward(c->st, c->dy, c->re, c->im, B, T / 160); break;
    case 7: nac_stft_backward(c->st, c->dy, c->re, c->im, B, T); break;
    case 8: nac_istft_backward(c->st, c->re, c->im, c->y, B, T / 160); break;
    }
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    static const char *names[] = {"mrstft fwd+bwd (512/1024/2048)", "mrstft fwd only",
                                  "mel fwd+bwd (256..2048, 20/40/80/80)", "mel fwd only", "wave L1 fwd+bwd",
                                  "stft 640/160 fwd", "istft 640/160 fwd", "stft 640/160 bwd",
                                  "istft 640/160 bwd"};
    ctx c = {0};
    nn_mrstft_config mc;
    nn_melspec_config ec;
    nn_mrstft_config_default(&mc);
    nn_melspec_config_default(&ec, 16000);
    if (nn_mrstft_loss_create(&c.mr, &mc, B, T, NULL) || nn_melspec_loss_create(&c.ml, &ec, B, T, NULL) ||
        nac_stft_create(&c.st, 640, 160, NAC_WINDOW_HANN, NULL)) {
        fprintf(stderr, "bench_loss: create failed\n");
        return 1;
    }
    c.y = malloc(sizeof(float) * B * T);
    c.x = malloc(sizeof(float) * B * T);
    c.dy = calloc((size_t)B * T, sizeof(float));
    c.re = malloc(sizeof(float) * B * 321 * (T / 160));
    c.im = malloc(sizeof(float) * B * 321 * (T / 160));
    if (!c.y || !c.x || !c.dy || !c.re || !c.im)
        return 1;
    nac_rng r;
    nac_rng_seed(&r, 1);
    for (int i = 0; i < B * T; i++) {
        c.x[i] = (float)(0.1 * nac_rng_normal(&r));
        c.y[i] = 0.8f * c.x[i] + (float)(0.02 * nac_rng_normal(&r));
    }
#ifdef _OPENMP
    printf("threads %d, B %d, T %d, median of %d\n", omp_get_max_threads(), B, T, reps);
#endif
    double *t = malloc(sizeof(double) * (size_t)reps), *cpu = malloc(sizeof(double) * (size_t)reps);
    for (int w = 0; w < 9; w++) {
        run(&c, w);
        for (int k = 0; k < reps; k++) {
            double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            run(&c, w);
            t[k] = clock_s(CLOCK_MONOTONIC) - t0;
            cpu[k] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        }
        qsort(t, (size_t)reps, sizeof(double), bench_cmp_double);
        qsort(cpu, (size_t)reps, sizeof(double), bench_cmp_double);
        printf("%-40s %8.2f ms wall (min %.2f), %8.2f ms cpu\n", names[w], 1e3 * t[reps / 2], 1e3 * t[0],
               1e3 * cpu[reps / 2]);
    }
    free(t);
    free(cpu);
    nn_mrstft_loss_destroy(c.mr);
    nn_melspec_loss_destroy(c.ml);
    nac_stft_destroy(c.st);
    free(c.y); free(c.x); free(c.dy); free(c.re); free(c.im);
    return 0;
}
