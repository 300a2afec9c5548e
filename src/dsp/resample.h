/* Sample-rate conversion through soxr (SOXR_HQ), float32 mono, streaming and whole-buffer. The API
 * is public (include/nac/audio.h, "resampling"); this header keeps the internal name. */
#ifndef NAC_DSP_RESAMPLE_H
#define NAC_DSP_RESAMPLE_H

#include "core/status.h"
#include "nac/audio.h"

#endif
