/* Data-parallel shards: a global batch of B examples is cut into S shards of B / S examples, each
 * computed whole by one rank; the gradient is the mean of the shard gradients, summed in shard
 * order, so the result does not depend on how many ranks computed the shards (the step is
 * bit-identical for any rank count that divides S). */
#ifndef NAC_TRAIN_SHARD_H
#define NAC_TRAIN_SHARD_H

#include <stddef.h>

/* The shards [*s0, *s1) that rank of size ranks owns: S / size consecutive shards (size divides S). */
void nac_shard_range(int *s0, int *s1, int S, int rank, int size);

/* The fixed-order reduction, one shard at a time: acc (n) = g (n) for shard 0 (first != 0), then
 * acc += g for shards 1, 2, ... in order; nac_shard_finish divides by S. Every rank count makes
 * exactly these float operations on every element. */
void nac_shard_add(float *restrict acc, const float *restrict g, size_t n, int first);
void nac_shard_finish(float *acc, size_t n, int S);

#endif
