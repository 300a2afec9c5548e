/* Seeded permutations and names that reveal nothing (see listen.h). */
#include "listen/listen.h"

#include <stdio.h>
#include <string.h>

void nac_listen_shuffle(int *perm, int n, nac_rng *r)
{
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)nac_rng_below(r, (uint64_t)i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

void nac_listen_permutation(int *perm, int n, uint64_t seed)
{
    nac_rng r;
    nac_rng_seed(&r, seed);
    nac_listen_shuffle(perm, n, &r);
}

void nac_listen_names(char (*names)[16], int count, nac_rng *r)
{
    for (int i = 0; i < count; i++) {
        int unique;
        do {
            snprintf(names[i], 16, "s%010llx", (unsigned long long)(nac_rng_u64(r) & 0xFFFFFFFFFFULL));
            unique = 1;
            for (int j = 0; j < i && unique; j++)
                unique = strcmp(names[i], names[j]) != 0;
        } while (!unique);
    }
}
