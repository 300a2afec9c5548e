/* Audio files through libsndfile: the streaming mono reader and the mono WAV/FLAC writer. The API
 * is public (include/nac/audio.h, "reading" and "writing"); this header keeps the internal name. */
#ifndef NAC_AUDIO_AUDIO_FILE_H
#define NAC_AUDIO_AUDIO_FILE_H

#include "core/status.h"
#include "nac/audio.h"

#endif
