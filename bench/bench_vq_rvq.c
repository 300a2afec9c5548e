/* Residual VQ layer timing at codec sizes: training forward + backward + update, inference
 * encode/decode, for the factorised (DAC-style) and plain (EnCodec-style, EMA) configurations.
 * Usage: bench_vq_rvq [N rows (default 1024, about 16 x 1.3 s at 50 Hz; at least the codebook size,
 * which the k-means initialisation needs)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "vq/rvq.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(getenv("BENCH_CPU") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int run(const char *name, int code_dim, int ema, int N)
{
    nac_rvq_config cfg;
    nac_rvq_config_default(&cfg);
    cfg.code_dim = code_dim;
    cfg.ema = ema;
    cfg.dead_threshold = ema ? 0.1f : 0.0f;
    nac_rvq_layout lay;
    nac_error err;
    if (nac_rvq_param_layout(&lay, &cfg, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int D = cfg.dim, S = cfg.n_stages;
    float *params = malloc(lay.param_floats * sizeof(float)), *grads = calloc(lay.param_floats, sizeof(float));
    float *state = malloc(lay.state_floats * sizeof(float));
    float *z = malloc(sizeof(float) * N * D), *zq = malloc(sizeof(float) * N * D);
    float *dz = calloc((size_t)N * D, sizeof(float)), *g = malloc(sizeof(float) * N * D);
    int32_t *codes = malloc(sizeof(int32_t) * N * S);
    int *nact = malloc(sizeof(int) * N);
    void *ws = nac_alloc(nac_rvq_workspace_size(&cfg, N));
    nac_rng r;
    nac_rng_seed(&r, 1);
    for (int i = 0; i < N * D; i++) {
        z[i] = (float)nac_rng_normal(&r);
        g[i] = (float)(1e-3 * nac_rng_normal(&r));
    }
    for (int i = 0; i < N; i++) /* quantizer dropout on half the rows, as DAC */
        nact[i] = i % 2 ? S : 1 + (int)nac_rng_below(&r, (uint64_t)S);
    nac_rvq_params_init(params, &lay, 2);
    double t0 = now();
    nac_rvq_kmeans_init(params, state, z, &lay, N, 5, 3, NULL);
    double t_init = now() - t0;
    int reps = 5;
    double tf = 0, tb = 0, tu = 0;
    for (int k = 0; k < reps; k++) {
        double a = now();
        nac_rvq_forward(zq, codes, NULL, ws, z, nact, params, &lay, N, NULL);
        double b = now();
        nac_rvq_backward(dz, grads, g, ws, params, &lay, N, NULL);
        double c = now();
        nac_rvq_update(params, state, NULL, ws, &lay, (uint64_t)k, NULL);
        tu += now() - c;
        tf += b - a;
        tb += c - b;
    }
    nac_rvq_coder *q = nac_rvq_coder_create(params, &lay, NULL);
    double a = now();
    for (int k = 0; k < reps; k++)
        nac_rvq_encode(codes, z, q, N, S, NULL);
    double te = (now() - a) / reps;
    a = now();
    for (int k = 0; k < reps; k++)
        nac_rvq_decode(zq, codes, q, N, S, NULL);
    double td = (now() - a) / reps;
    printf("%-34s N=%d D=%d S=%d M=%d: k-means init %.3f s; forward %.2f ms, backward %.2f ms, update %.2f ms; "
           "encode %.2f ms (%.0f frames/s), decode %.2f ms\n",
           name, N, D, S, cfg.codebook_size, t_init, 1e3 * tf / reps, 1e3 * tb / reps, 1e3 * tu / reps, 1e3 * te,
           N / te, 1e3 * td);
    nac_rvq_coder_destroy(q);
    free(params);
    free(grads);
    free(state);
    free(z);
    free(zq);
    free(dz);
    free(g);
    free(codes);
    free(nact);
    nac_free(ws);
    return 0;
}

int main(int argc, char **argv)
{
    int N = argc > 1 ? atoi(argv[1]) : 1024;
    if (N < 1024)
        N = 1024;
    int rc = 0;
    rc |= run("factorised (code_dim 8, gradient)", 8, 0, N);
    rc |= run("plain (EMA, dead-code restart)", 0, 1, N);
    return rc;
}
