/* Spectrogram pictures (PNG) of one, two (with their difference) or three signals, from the STFT
 * of dsp/stft.h. The API is public (include/nac/plot.h, "spectrograms"). */
#ifndef NAC_PLOT_SPECTROGRAM_H
#define NAC_PLOT_SPECTROGRAM_H

#include "core/status.h"
#include "nac/plot.h"

#endif
