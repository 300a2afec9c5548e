/* MDCT of hop N with a 2N-sample sine window (Princen-Bradley), orthonormal, so that the
 * overlap-add of the inverse transforms of consecutive blocks rebuilds the signal exactly (TDAC).
 * Block j covers the 2N samples [jN - N, jN + N) of the input; after the inverse of block j has
 * been added, the N samples [jN - N, jN) are final. Direct O(N^2) products with a precomputed
 * basis: N is small (160 at 16 kHz) and the transform is a small part of the coder's time. */
#ifndef NAC_DSP_MDCT_H
#define NAC_DSP_MDCT_H

#include "core/status.h"

typedef struct nac_mdct nac_mdct;

/* N in 2..4096. */
int nac_mdct_create(nac_mdct **out, int n, nac_error *err);
void nac_mdct_destroy(nac_mdct *m);
int nac_mdct_size(const nac_mdct *m);
/* coef (N) from the 2N samples x (windowed inside). */
void nac_mdct_forward(const nac_mdct *m, float *restrict coef, const float *restrict x);
/* Adds the windowed inverse of coef (N) into y (2N): overlap-add with the previous block's tail. */
void nac_mdct_inverse_add(const nac_mdct *m, float *restrict y, const float *restrict coef);

#endif
