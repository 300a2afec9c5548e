/* xoshiro256** (Blackman and Vigna 2018), seeded with splitmix64. */
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void nac_rng_seed(nac_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

uint64_t nac_rng_u64(nac_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t nac_rng_u32(nac_rng *r) { return (uint32_t)(nac_rng_u64(r) >> 32); }

uint64_t nac_rng_below(nac_rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = nac_rng_u64(r);
    while (x >= limit);
    return x % n;
}

double nac_rng_uniform(nac_rng *r) { return (double)(nac_rng_u64(r) >> 11) * 0x1.0p-53; }

double nac_rng_normal(nac_rng *r)
{
    double u1 = 1.0 - nac_rng_uniform(r); /* (0, 1] */
    double u2 = nac_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
