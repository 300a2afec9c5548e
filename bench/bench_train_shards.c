/* What sharding costs one process: two trainers of the built-in architecture side by side, one with
 * --shards 1 and one with --shards S, stepped alternately so that both see the same machine load;
 * prints the median seconds per step of each and their ratio.
 * Usage: bench_train_shards DATA [S] [STEPS] [BATCH] (threads: OMP_NUM_THREADS). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "nac/train.h"
#include "bench_util.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_train_shards DATA [SHARDS] [STEPS] [BATCH]\n");
        return 2;
    }
    int S = argc > 2 ? atoi(argv[2]) : 2, steps = argc > 3 ? atoi(argv[3]) : 30, B = argc > 4 ? atoi(argv[4]) : 8;
    char out[2][64];
    nac_trainer *t[2] = {NULL, NULL};
    double *dt[2] = {calloc((size_t)steps, sizeof(double)), calloc((size_t)steps, sizeof(double))};
    nac_error err = {0};
    for (int i = 0; i < 2; i++) {
        nac_train_opts o;
        nac_train_opts_default(&o);
        snprintf(out[i], sizeof out[i], "/tmp/bench_train_shards_%d_%d.nacw", (int)getpid(), i);
        o.data = argv[1];
        o.out = out[i];
        o.log = "/dev/null"; /* no CSV left behind */
        o.batch = B;
        o.shards = i ? S : 1;
        o.steps = steps;
        if (nac_trainer_create(&t[i], &o, NULL, NULL, &err)) {
            fprintf(stderr, "bench_train_shards: %s\n", err.msg);
            return 1;
        }
    }
    for (int s = 0; s < steps; s++)
        for (int i = 0; i < 2; i++) {
            double t0 = bench_now();
            if (nac_trainer_step(t[i], &err)) {
                fprintf(stderr, "bench_train_shards: %s\n", err.msg);
                return 1;
            }
            dt[i][s] = bench_now() - t0;
        }
    for (int i = 0; i < 2; i++)
        qsort(dt[i], (size_t)steps, sizeof(double), bench_cmp_double);
    printf("batch %d, %d steps each: shards 1 %.4f s/step, shards %d %.4f s/step (median); ratio %.3f\n", B, steps,
           dt[0][steps / 2], S, dt[1][steps / 2], dt[1][steps / 2] / dt[0][steps / 2]);
    for (int i = 0; i < 2; i++) {
        nac_trainer_destroy(t[i]);
        free(dt[i]);
    }
    return 0;
}
