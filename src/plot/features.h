/* Pictures of feature vectors and latents: the PCA of a set of latent vectors as a 2-D histogram
 * with codebook entries as dots (the VQ-VAE encoder-space figure of Codec 2's ML experiments), and
 * one frame's feature vector against its quantised version (as Codec 2's vq_pager shows it). */
#ifndef NAC_PLOT_FEATURES_H
#define NAC_PLOT_FEATURES_H

#include <stddef.h>

#include "core/status.h"

/* PCA of z (N, D) to its two principal axes (of largest variance); a 2-D histogram of the
 * projections (log counts, sequential colours) and, when cb != NULL, the M entries of cb (M, D)
 * projected the same way as white dots. title may be NULL. Writes a PNG to path.
 * NAC_ERR_ARG (N < 2, D < 1), NAC_ERR_NOMEM, NAC_ERR_IO. */
int nac_plot_latent(const char *path, const float *z, size_t N, int D, const float *cb, int M,
                    const char *title, nac_error *err);

/* x (K) as a line of points over k = 0..K-1 in dB and, when q != NULL, q (K) beside it with the
 * error per k shaded; the title gets the frame's error in dB^2. Writes a PNG to path. */
int nac_plot_frame(const char *path, const float *x, const float *q, int K, const char *title, nac_error *err);

#endif
