/* Pictures of feature vectors and latents: PCA histogram with codebook entries, one frame against
 * its quantised version. The API is public (include/nac/plot.h, "feature vectors and latents"). */
#ifndef NAC_PLOT_FEATURES_H
#define NAC_PLOT_FEATURES_H

#include "core/status.h"
#include "nac/plot.h"

#endif
