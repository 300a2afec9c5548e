/* Codebook training on vectors x (N, K): k-means (greedy k-means++ seeding, restarts) or LBG
 * splitting, and nearest-entry assignment. The API is public (include/nac/vq.h, "codebook
 * training"). Assignment uses the fused GEMM-style search of vq/search.h; updates sum each cell's
 * members in row order (double), so the result is identical for any thread count. */
#ifndef NAC_VQ_KMEANS_H
#define NAC_VQ_KMEANS_H

#include "core/status.h"
#include "nac/vq.h"

#endif
