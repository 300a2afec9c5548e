/* Shard ownership and the fixed-order reduction of shard gradients. */
#include "train/shard.h"

#include <string.h>

void nac_shard_range(int *s0, int *s1, int S, int rank, int size)
{
    int k = S / size;
    *s0 = rank * k;
    *s1 = *s0 + k;
}

void nac_shard_add(float *restrict acc, const float *restrict g, size_t n, int first)
{
    if (first) {
        memcpy(acc, g, n * sizeof *acc);
        return;
    }
    for (size_t i = 0; i < n; i++)
        acc[i] += g[i];
}

void nac_shard_finish(float *acc, size_t n, int S)
{
    if (S == 1)
        return;
    float s = (float)S;
    for (size_t i = 0; i < n; i++)
        acc[i] /= s;
}
