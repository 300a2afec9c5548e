/* nac audio: reading and writing audio files (libsndfile) and sample-rate conversion (soxr).
 * Samples are mono float in [-1, 1]; multichannel input is averaged to mono on reading.
 * Conventions as in nac.h: functions return a nac_status (0 = NAC_OK, negative = error) with
 * detail in the caller's nac_error (may be NULL); handles are opaque; destroy/close(NULL) is a
 * no-op. Threading: a reader, writer or resampler is used by one thread at a time; different
 * handles, and the whole-file functions, may run concurrently in any threads. */
#ifndef NAC_AUDIO_H
#define NAC_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- reading ------------------------------------------------------------------------------------
 * Any format libsndfile reads (WAV, FLAC, Ogg/Vorbis, ...). "-" is stdin: a stdin that is a pipe is
 * first copied to an unlinked temporary file (disk, not memory), so every format works there. */

typedef struct nac_audio_info {
    int sample_rate;    /* Hz */
    int channels;       /* in the file; reads are downmixed to mono */
    int64_t frames;     /* length in samples per channel, -1 if unknown (pipe) */
    char format[64];    /* human-readable, e.g. "WAV, 16-bit PCM" */
} nac_audio_info;

typedef struct nac_audio_reader nac_audio_reader;

/* Opens path ("-" = stdin) into *out (the caller closes it with nac_audio_reader_close).
 * Errors, each with a one-line message in err ("x.wav: not a readable audio file (...)"):
 * NAC_ERR_IO (missing file, directory, no permission), NAC_ERR_EMPTY (0 bytes or 0 samples),
 * NAC_ERR_FORMAT (not audio, or a header cut short), NAC_ERR_NOMEM. */
int nac_audio_reader_open(nac_audio_reader **out, const char *path, nac_error *err);
/* Headerless PCM ("raw"): what the bytes are, since the file cannot say. */
#define NAC_AUDIO_MAX_RATE 768000
#define NAC_AUDIO_MAX_CHANNELS 64
typedef struct nac_audio_raw {
    int encoding;     /* set by nac_audio_raw_set */
    int sample_rate;  /* Hz */
    int channels;     /* interleaved */
} nac_audio_raw;
/* Fills raw from an encoding name: "s16le" (signed 16-bit little-endian, the usual), "s16be",
 * "s24le", "s24be", "s32le", "s32be", "f32le", "f32be", "f64le", "f64be", "s8", "u8", "ulaw",
 * "alaw"; sample_rate 1..NAC_AUDIO_MAX_RATE, channels 1..NAC_AUDIO_MAX_CHANNELS. NAC_ERR_ARG (the
 * message lists the names) otherwise. */
int nac_audio_raw_set(nac_audio_raw *raw, const char *encoding, int sample_rate, int channels, nac_error *err);
/* As nac_audio_reader_open, for headerless PCM described by raw (path "-" = stdin, as there). A
 * trailing partial frame (fewer bytes than one sample of every channel) is not read. */
int nac_audio_reader_open_raw(nac_audio_reader **out, const char *path, const nac_audio_raw *raw, nac_error *err);
/* The file's properties; the pointer lives as long as the reader. */
const nac_audio_info *nac_audio_reader_info(const nac_audio_reader *r);
/* Reads up to max mono samples into x (max); *got = 0 at end of file. Bounded memory (blocks of
 * 4096 frames). A WAV cut inside its data gives the whole samples that are there, then end of
 * file. A damaged or cut FLAC/Ogg gives NAC_ERR_CORRUPT ("decoding failed after N samples"),
 * with *got the samples decoded in this call before the damage. */
int nac_audio_reader_read(nac_audio_reader *r, float *x, size_t max, size_t *got, nac_error *err);
void nac_audio_reader_close(nac_audio_reader *r);

/* The whole file as mono float: *x (n samples) is malloc'd, the caller frees it with free().
 * info (may be NULL) gets the file's properties. Errors as nac_audio_reader_open and
 * nac_audio_reader_read; on error *x is NULL and *n is 0. */
int nac_audio_read_all(float **x, size_t *n, nac_audio_info *info, const char *path, nac_error *err);

/* ---- writing ------------------------------------------------------------------------------------
 * Mono 16-bit PCM. Each sample is clipped to [-1, 1] (NaN written as 0) and stored as
 * round(x * 32768) capped at 32767, the exact inverse of the reader, so int16-representable
 * samples round-trip bit for bit. */

typedef struct nac_audio_writer nac_audio_writer;

/* Creates path at sample_rate Hz; the format comes from the extension (.wav or .flac, any case;
 * another extension is NAC_ERR_ARG). "-" = WAV on stdout: a regular file behind stdout gets a
 * normal header; a pipe gets a 44-byte header whose RIFF and data sizes are 0xFFFFFFFF ("length
 * unknown", read by libsndfile, sox and ffmpeg), then the samples as they come. NAC_ERR_IO when
 * the file cannot be created. The caller closes *out with nac_audio_writer_close. */
int nac_audio_writer_open(nac_audio_writer **out, const char *path, int sample_rate, nac_error *err);
/* NAC_OK if nac_audio_writer_open would take path's name ("-", .wav or .flac), else NAC_ERR_ARG with
 * the message it would give: a program can refuse a bad output name before doing any work. */
int nac_audio_writer_check_name(const char *path, nac_error *err);
/* Appends x (n samples). NAC_ERR_IO when the write fails. */
int nac_audio_writer_write(nac_audio_writer *w, const float *x, size_t n, nac_error *err);
/* Flushes, closes and frees w; returns the first error of the writer's life. w may be NULL. */
int nac_audio_writer_close(nac_audio_writer *w, nac_error *err);
/* Writes x (n samples at sample_rate Hz) to path in one call (open, write, close). */
int nac_audio_write_all(const char *path, const float *x, size_t n, int sample_rate, nac_error *err);

/* ---- resampling ---------------------------------------------------------------------------------
 * soxr at SOXR_HQ (20-bit, linear phase), float32 mono. soxr's own filter delay is trimmed, so
 * output sample k sits at input time k * in_rate / out_rate (aligned). */

typedef struct nac_resampler nac_resampler;

/* A streaming converter from in_rate to out_rate Hz (both > 0; NAC_ERR_ARG otherwise). The
 * caller destroys *out with nac_resampler_destroy. */
int nac_resampler_create(nac_resampler **out, double in_rate, double out_rate, nac_error *err);
void nac_resampler_destroy(nac_resampler *r);
/* Feeds in (n samples; n = 0 with in == NULL flushes the tail at the end of the stream) and
 * writes up to cap output samples to out, *got of them. After the last input, call again with
 * in = NULL, n = 0 until *got = 0. Any cap works: input that does not fit yet is copied and kept
 * for the next call (in need not outlive the call). Input after the flush is NAC_ERR_STATE. */
int nac_resampler_process(nac_resampler *r, float *out, size_t cap, size_t *got,
                          const float *in, size_t n, nac_error *err);

/* Whole buffer: *out (malloc'd, the caller frees it with free()) gets round(n * out_rate /
 * in_rate) samples, aligned with in. Equal rates copy. NAC_ERR_ARG, NAC_ERR_NOMEM. */
int nac_resample_all(float **out, size_t *out_n, const float *in, size_t n,
                     double in_rate, double out_rate, nac_error *err);

#ifdef __cplusplus
}
#endif
#endif
