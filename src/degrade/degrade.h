/* Deterministic degradations of mono float PCM (quantisers, G.711, sample-and-hold, band limits,
 * narrowband conversion, noise mixing). The API is public (include/nac/degrade.h). */
#ifndef NAC_DEGRADE_DEGRADE_H
#define NAC_DEGRADE_DEGRADE_H

#include "core/status.h"
#include "nac/degrade.h"

#endif
