/* Zero-phase low-pass filtering: a linear-phase windowed-sinc FIR (Blackman window) applied
 * centred, so the output has no delay. Stop band below -70 dB from cutoff + transition. */
#ifndef NAC_DSP_LOWPASS_H
#define NAC_DSP_LOWPASS_H

#include <stddef.h>

#include "core/status.h"

/* y (n) = x (n) low-passed at cutoff_hz, with a transition band of about transition_hz
 * (the FIR length follows from it: about 5.5 sample_rate / transition_hz taps). Samples outside
 * x count as zero. y may not alias x. NAC_ERR_ARG for a cutoff outside (0, sample_rate / 2)
 * or a transition that gives more than 8191 taps. */
int nac_lowpass(float *y, const float *x, size_t n, int sample_rate, double cutoff_hz, double transition_hz,
                nac_error *err);

#endif
