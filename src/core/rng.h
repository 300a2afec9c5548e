/* Seeded pseudo-random numbers: xoshiro256** seeded through splitmix64.
 * The state is a plain struct: copy it to checkpoint, no hidden global state. */
#ifndef NAC_CORE_RNG_H
#define NAC_CORE_RNG_H

#include <stdint.h>

typedef struct nac_rng {
    uint64_t s[4];
} nac_rng;

void nac_rng_seed(nac_rng *r, uint64_t seed);
uint64_t nac_rng_u64(nac_rng *r);
uint32_t nac_rng_u32(nac_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t nac_rng_below(nac_rng *r, uint64_t n);
/* Uniform double in [0, 1). */
double nac_rng_uniform(nac_rng *r);
/* Standard normal (Box-Muller; one value per call). */
double nac_rng_normal(nac_rng *r);

#endif
