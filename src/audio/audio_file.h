/* Audio files through libsndfile: streaming mono reader (any format libsndfile reads: WAV,
 * FLAC, Ogg/Vorbis, ...; multichannel is averaged to mono) and a mono writer (WAV or FLAC,
 * chosen by extension; "-" is stdin/stdout as WAV). Samples are float in [-1, 1]. */
#ifndef NAC_AUDIO_AUDIO_FILE_H
#define NAC_AUDIO_AUDIO_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct nac_audio_info {
    int sample_rate;
    int channels;       /* in the file; reads are downmixed to mono */
    int64_t frames;     /* length in samples per channel, -1 if unknown (pipe) */
    char format[64];    /* human-readable, e.g. "WAV, 16-bit PCM" */
} nac_audio_info;

typedef struct nac_audio_reader nac_audio_reader;

/* Opens path ("-" = stdin). Missing, empty, unreadable or non-audio input gives a status and
 * a one-line message in err (e.g. "x.wav: not a readable audio file (Format not recognised.)").
 * Missing file, directory, no permission: NAC_ERR_IO. An empty file (0 bytes or 0 samples) is
 * NAC_ERR_EMPTY. Not audio, or a header cut short: NAC_ERR_FORMAT. A stdin that is a pipe is
 * first copied to an unlinked temporary file (disk, not memory), so every format works there.
 * A reader is for one thread at a time. */
int nac_audio_reader_open(nac_audio_reader **out, const char *path, nac_error *err);
const nac_audio_info *nac_audio_reader_info(const nac_audio_reader *r);
/* Reads up to max mono samples into x; *got = 0 at end of file. Bounded memory (blocks of
 * 4096 frames). A WAV cut inside its data gives the whole samples that are there, then end of
 * file. A damaged or cut FLAC/Ogg gives NAC_ERR_CORRUPT ("decoding failed after N samples"),
 * with *got the samples decoded in this call before the damage. */
int nac_audio_reader_read(nac_audio_reader *r, float *x, size_t max, size_t *got, nac_error *err);
void nac_audio_reader_close(nac_audio_reader *r);

/* Whole file as mono float; *x is malloc'd (free()), *n samples; info may be NULL. On error *x
 * is NULL and *n is 0. */
int nac_audio_read_all(float **x, size_t *n, nac_audio_info *info, const char *path, nac_error *err);

typedef struct nac_audio_writer nac_audio_writer;
/* Mono 16-bit PCM; format from the extension (.wav, .flac, any case; another extension is
 * NAC_ERR_ARG). "-" = WAV on stdout: a regular file behind stdout gets a normal header; a pipe
 * gets a 44-byte header whose RIFF and data sizes are 0xFFFFFFFF ("length unknown", read by
 * libsndfile, sox and ffmpeg), then the samples as they come. */
int nac_audio_writer_open(nac_audio_writer **out, const char *path, int sample_rate, nac_error *err);
/* Writes n samples: clipped to [-1, 1], NaN written as 0, int16 = round(x * 32768) capped at
 * 32767, the exact inverse of the reader, so int16-representable samples round-trip bit for bit. */
int nac_audio_writer_write(nac_audio_writer *w, const float *x, size_t n, nac_error *err);
/* Flushes and closes; returns the first error of the writer's life. w may be NULL. */
int nac_audio_writer_close(nac_audio_writer *w, nac_error *err);
int nac_audio_write_all(const char *path, const float *x, size_t n, int sample_rate, nac_error *err);

#endif
