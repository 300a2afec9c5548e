/* Objective quality metrics (SNR, SI-SDR, segmental SNR, LSD, mel distance, STOI, ESTOI) and delay
 * estimation. The API is public (include/nac/metrics.h); src/metrics/frames.h holds the framing
 * and FFT helpers the metrics share. */
#ifndef NAC_METRICS_METRICS_H
#define NAC_METRICS_METRICS_H

#include "core/status.h"
#include "nac/metrics.h"

#endif
