/* Aligned allocation for tensors and scratch (64-byte lines, so SIMD loads never split). */
#ifndef NAC_CORE_ALLOC_H
#define NAC_CORE_ALLOC_H

#include <stddef.h>

/* Returns 64-byte aligned memory (NULL on failure or n == 0); free with nac_free. */
void *nac_alloc(size_t n);
/* As nac_alloc, zero-filled. */
void *nac_calloc(size_t count, size_t size);
void nac_free(void *p);

#endif
