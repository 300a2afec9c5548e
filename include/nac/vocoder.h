/* nac vocoder: a harmonic sinusoidal model of speech in the manner of Codec 2. Analysis finds, every
 * 10 ms, the pitch, the voicing and the amplitudes of the harmonics, and resamples the amplitudes
 * to K mel-spaced values in dB ("rate K") with their mean removed and kept as the frame energy.
 * Synthesis turns such rows back into speech: harmonic amplitudes, minimum phase from the
 * envelope, overlap-add. The low-rate coder codes the rows every 40 ms at 0.7, 1.2 or 1.6 kbps.
 * Feature rows, the synthesis and the payload are documented in docs/vocoder.md. */
#ifndef NAC_VOCODER_H
#define NAC_VOCODER_H

#include <stddef.h>
#include <stdint.h>

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NAC_VOCODER_RATE 16000 /* Hz: analysis and synthesis run at this rate */
#define NAC_VOCODER_HOP 160    /* samples per feature frame (10 ms) */
#define NAC_VOCODER_MAX_K 80   /* most rate-K values per row */
#define NAC_VOCODER_EXTRA 3    /* values after the K rate-K values: energy dB, F0 Hz, voicing */
#define NAC_VOCODER_F0_MIN 50.0f  /* Hz: the pitch range of the analysis */
#define NAC_VOCODER_F0_MAX 500.0f

/* The rate-K grid: K frequencies equally spaced on the mel scale (2595 log10(1 + f/700)) from
 * fmin to fmax Hz, both included. */
typedef struct nac_vocoder_grid {
    int K;      /* 2..NAC_VOCODER_MAX_K */
    float fmin; /* Hz, 20 <= fmin < fmax <= 8000 */
    float fmax;
} nac_vocoder_grid;

/* nac's grid: K = 20 from 200 to 7600 Hz (the whole 16 kHz band). */
void nac_vocoder_grid_default(nac_vocoder_grid *g);
/* Codec 2 700C's grid: K = 20 from 200 to 3700 Hz, for vectors comparable with c2enc --mlfeat. */
void nac_vocoder_grid_codec2(nac_vocoder_grid *g);
/* NAC_OK, or NAC_ERR_ARG saying which field is out of range. */
int nac_vocoder_grid_check(const nac_vocoder_grid *g, nac_error *err);

/* Analysis of x (n samples at NAC_VOCODER_RATE, float in [-1, 1]) into *feat (T, K + 3) with
 * T = ceil(n / NAC_VOCODER_HOP): per row the K rate-K values in dB with their mean removed, then
 * the mean (energy, dB), F0 (Hz, 0 when unvoiced) and voicing (1 voiced, 0 unvoiced). Row t
 * describes the 10 ms around sample t * HOP + HOP / 2. *feat is malloc'd (caller frees).
 * Deterministic, single-threaded. Returns NAC_OK, NAC_ERR_ARG (n = 0, bad grid),
 * NAC_ERR_NUMERIC (NaN or infinity in x) or NAC_ERR_NOMEM. */
int nac_vocoder_analyze(float **feat, size_t *n_frames, const float *x, size_t n,
                        const nac_vocoder_grid *g, nac_error *err);

/* Synthesis of T rows feat (T, K + 3) as written by nac_vocoder_analyze into *y (T * HOP samples at
 * NAC_VOCODER_RATE, malloc'd, caller frees). The rows are checked first (nac_vocoder_check_rows).
 * seed drives the random phases of unvoiced sounds. Returns NAC_OK, NAC_ERR_ARG, NAC_ERR_FORMAT or
 * NAC_ERR_NUMERIC (a bad row, named in err) or NAC_ERR_NOMEM. */
int nac_vocoder_synthesize(float **y, size_t *n, const float *feat, size_t T, const nac_vocoder_grid *g,
                           uint64_t seed, nac_error *err);

/* Checks rows (T, K + 3): finite; energy within [-100, 250] dB; F0 0 with voicing 0, or F0 within
 * [NAC_VOCODER_F0_MIN, NAC_VOCODER_F0_MAX] with voicing 1; rate-K values within +-200 dB.
 * NAC_ERR_NUMERIC or NAC_ERR_FORMAT naming row and column, with a hint at a wrong --k. */
int nac_vocoder_check_rows(const float *feat, size_t T, int K, nac_error *err);

/* ---- low-rate coder ----------------------------------------------------------------------------
 * Codes rows every 40 ms (4 rows): pitch and voicing, energy, and the rate-K vector through a
 * multi-stage VQ with M-best search; the decoder interpolates the 3 rows in between. Always on
 * nac's default grid (K = 20). The codebooks are built into the library. */

#define NAC_VOCODER_FRAME_ROWS 4   /* feature rows per coded frame */
#define NAC_VOCODER_FRAME_SAMPLES (NAC_VOCODER_FRAME_ROWS * NAC_VOCODER_HOP) /* 640: 40 ms */

typedef struct nac_vocoder_codec nac_vocoder_codec;

typedef struct nac_vocoder_codec_info {
    int bits_per_frame;  /* 28, 48 or 64 */
    double kbps;         /* 0.7, 1.2 or 1.6 */
    uint32_t hash;       /* CRC-32 of the mode and codebooks: the .nac model hash of this mode */
    int n_fields;        /* the frame's fields, in order, with their bits */
    int field_bits[16];
} nac_vocoder_codec_info;

/* kbps: 0.7, 1.2 or 1.6 (NAC_ERR_ARG otherwise). The codec is immutable: share it between threads. */
int nac_vocoder_codec_create(nac_vocoder_codec **out, double kbps, nac_error *err);
void nac_vocoder_codec_destroy(nac_vocoder_codec *c);
void nac_vocoder_codec_get_info(const nac_vocoder_codec *c, nac_vocoder_codec_info *info);
/* The codec whose hash is hash (from a .nac file), or NAC_ERR_MODEL. */
int nac_vocoder_codec_from_hash(nac_vocoder_codec **out, uint32_t hash, nac_error *err);

/* Quantises feature rows feat (T, 23) of the default grid into F = ceil(T / 4) frames of codes,
 * codes (F, n_fields), malloc'd into *codes. Returns NAC_OK, NAC_ERR_ARG or NAC_ERR_NOMEM. */
int nac_vocoder_codec_encode(int32_t **codes, size_t *n_frames, const nac_vocoder_codec *c, const float *feat,
                             size_t T, nac_error *err);
/* Rows (4 F, 23) from codes (F, n_fields) into *feat (malloc'd). Out-of-range codes are NAC_ERR_CORRUPT. */
int nac_vocoder_codec_decode(float **feat, size_t *T, const nac_vocoder_codec *c, const int32_t *codes,
                             size_t n_frames, nac_error *err);

/* Bit packing of frames of codes (F, n_fields), most significant bit first, fields in order,
 * the last byte zero-padded: ceil(F * bits_per_frame / 8) bytes. */
size_t nac_vocoder_packed_bytes(const nac_vocoder_codec *c, size_t n_frames);
void nac_vocoder_pack(uint8_t *out, const nac_vocoder_codec *c, const int32_t *codes, size_t n_frames);
/* Unpacks the frames that are whole in size bytes: *n_frames = floor(8 size / bits_per_frame). */
void nac_vocoder_unpack(int32_t *codes, size_t *n_frames, const nac_vocoder_codec *c, const uint8_t *data,
                        size_t size);

#ifdef __cplusplus
}
#endif

#endif
