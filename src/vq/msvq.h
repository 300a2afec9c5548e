/* Multi-stage vector quantisation with M-best search (as Codec 2's vq_mbest): each stage
 * quantises the residual of the previous ones; the mbest lowest-error partial paths survive to
 * the next stage, and the best full path wins. mbest = 1 is greedy search; mbest >= the product
 * of all but the last stage's sizes is exhaustive search over all stage combinations.
 * Vectors are rows (N, K); codebooks (M_s, K). */
#ifndef NAC_VQ_MSVQ_H
#define NAC_VQ_MSVQ_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define NAC_MSVQ_MAX_STAGES 64
#define NAC_MSVQ_MAX_MBEST 4096

typedef struct nac_msvq nac_msvq;

/* Copies and packs n_stages codebooks cbs[s] (M[s], K). Returns NULL with err set on failure. */
nac_msvq *nac_msvq_create(const float *const *cbs, const int *M, int n_stages, int K, nac_error *err);
void nac_msvq_destroy(nac_msvq *q);

/* Quantises x (N, K). out (N, K): the sum of the chosen entries (may be NULL); idx (N, S): the
 * chosen entries (may be NULL); stage_se (S): += the squared error (summed over rows and
 * elements) left after each stage along the chosen path (may be NULL). mbest in
 * 1..NAC_MSVQ_MAX_MBEST. Parallel over rows; identical for any thread count. x must be finite.
 * Returns 0, NAC_ERR_ARG, NAC_ERR_NOMEM. */
int nac_msvq_quantize(float *out, int32_t *idx, double *stage_se, const float *x, const nac_msvq *q,
                      size_t N, int mbest, nac_error *err);

#endif
