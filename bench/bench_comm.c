/* The exchange of one data-parallel step without the waiting: every rank enters together (an
 * all-gather of one int first), then the shard reduction of P floats (the built-in model's
 * 2,623,184 by default) and an all-gather of the VQ rows of a 16 x 1 s batch (1.39 MB). Prints
 * the median time per step on rank 0. Run under mpirun: mpirun -np 2 build/mpi/bench_comm [P] [REPS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "train/comm.h"
#include "bench_util.h"

int main(int argc, char **argv)
{
    size_t P = argc > 1 ? (size_t)atol(argv[1]) : 2623184;
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    nac_comm c;
    nac_error err = {0};
    if (nac_comm_init(&c, &err)) {
        fprintf(stderr, "bench_comm: %s\n", err.msg);
        return 1;
    }
    size_t vq = 1386000 / (size_t)c.size; /* this rank's share of the VQ rows, bytes */
    float *g = calloc(P, sizeof *g), *out = calloc(P, sizeof *out);
    unsigned char *vs = calloc(vq, 1), *vr = calloc(vq * (size_t)c.size, 1);
    double *t = calloc((size_t)reps, sizeof *t);
    int one = 1, *all = calloc((size_t)c.size, sizeof *all);
    if (!g || !out || !vs || !vr || !t || !all)
        return 1;
    for (size_t i = 0; i < P; i++)
        g[i] = (float)(i % 97) * 1e-3f;
    for (int r = 0; r < reps; r++) {
        if (nac_comm_allgather(&c, all, &one, sizeof one, &err))
            break;
        double t0 = bench_now();
        if (nac_comm_reduce_shards(&c, out, g, 1, P, c.size, &err) || nac_comm_allgather(&c, vr, vs, vq, &err))
            break;
        t[r] = bench_now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, bench_cmp_double);
    if (c.rank == 0)
        printf("%d ranks, %zu floats: exchange %.2f ms per step (median of %d; min %.2f)\n", c.size, P,
               1e3 * t[reps / 2], reps, 1e3 * t[0]);
    free(g);
    free(out);
    free(vs);
    free(vr);
    free(t);
    free(all);
    nac_comm_finalize(&c);
    return 0;
}
