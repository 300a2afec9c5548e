/* Pitch and voicing: normalised cross-correlation (NCCF) on the signal decimated to 8 kHz, a few
 * candidate lags per 10 ms frame, and a dynamic-programming track through them with an unvoiced
 * state (the structure of Talkin's RAPT, 1995). Whole-signal (not streaming); deterministic. */
#ifndef NAC_VOCODER_PITCH_H
#define NAC_VOCODER_PITCH_H

#include <stddef.h>

#include "core/status.h"

/* x (n) at 16 kHz -> f0 (T) Hz (0 when unvoiced) for the T = ceil(n / 160) frames centred at
 * t * 160 + 80. Returns NAC_OK or NAC_ERR_NOMEM. */
int nac_pitch_track(float *f0, const float *x, size_t n, size_t T, nac_error *err);

#endif
