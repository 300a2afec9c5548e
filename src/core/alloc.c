/* Aligned allocation. */
#include "core/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *nac_alloc(size_t n)
{
    if (n == 0)
        return NULL;
    size_t rounded = (n + 63) & ~(size_t)63;
    if (rounded < n)
        return NULL;
    return aligned_alloc(64, rounded);
}

void *nac_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = nac_alloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void nac_free(void *p) { free(p); }
