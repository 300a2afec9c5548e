/* nac degrade: deterministic degradations of mono float PCM in [-1, 1]: the inputs that the
 * enhancement models learn to undo (nac/enhance.h), and test pairs for users (`nac degrade`).
 * Quantisers round through 16-bit integers as a codec would: linear N-bit (mid-tread, clipped),
 * 8-bit G.711 mu-law and A-law (segment encoding of ITU-T G.711), and sample-and-hold (each
 * block of N samples takes its first sample: quantisation in time, no anti-alias filter).
 * Band limits: a zero-phase windowed-sinc FIR low-pass, and narrowband conversion (low-pass,
 * optionally the 300-3400 Hz telephone band, resampled to 8 kHz through soxr). Noise is mixed
 * at a given SNR over the whole signal, or drawn from folders of recordings.
 * Conventions as in nac.h: functions that can fail return a nac_status (0 = NAC_OK, negative =
 * error) with detail in the caller's nac_error (may be NULL). Functions with y and x accept
 * y == x (in place); the arrays belong to the caller.
 * Threading: no global state; every function may run concurrently with any other on different
 * data. Every random choice follows from a seed. */
#ifndef NAC_DEGRADE_H
#define NAC_DEGRADE_H

#include <stddef.h>
#include <stdint.h>

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Linear quantisation to bits (2..16) bits: step 2^(1-bits), values clipped to the range. The
 * functions without a nac_error cannot fail (their arguments are the caller's to get right). */
void nac_degrade_bits(float *y, const float *x, size_t n, int bits);

/* G.711 codes of a 16-bit sample and back (the exact table of the standard). */
uint8_t nac_mulaw_encode(int16_t s);
int16_t nac_mulaw_decode(uint8_t code);
uint8_t nac_alaw_encode(int16_t s);
int16_t nac_alaw_decode(uint8_t code);
/* Round trip through 8-bit mu-law / A-law. */
void nac_degrade_mulaw(float *y, const float *x, size_t n);
void nac_degrade_alaw(float *y, const float *x, size_t n);

/* Sample-and-hold: y[i] = x[i - i % hold], hold >= 1. */
void nac_degrade_hold(float *y, const float *x, size_t n, int hold);

/* Zero-phase low-pass at hz (0 < hz < rate/2): Blackman-windowed sinc, 8 ms on either side.
 * NAC_ERR_ARG for a bad cutoff, NAC_ERR_NOMEM. */
int nac_degrade_lowpass(float *y, const float *x, size_t n, int sample_rate, double hz, nac_error *err);
/* Zero-phase high-pass (x minus its low-pass at hz). Errors as nac_degrade_lowpass. */
int nac_degrade_highpass(float *y, const float *x, size_t n, int sample_rate, double hz, nac_error *err);

/* Narrowband copy: *out (malloc'd: the caller frees it with free(); *out_n samples at out_rate) is
 * x resampled to out_rate (soxr: its own anti-alias filter); telephone also band-limits to
 * 300-3400 Hz. NAC_ERR_ARG (bad rates), NAC_ERR_NOMEM. */
int nac_degrade_narrowband(float **out, size_t *out_n, const float *x, size_t n, int sample_rate, int out_rate,
                           int telephone, nac_error *err);

/* y = clean + g * noise with g chosen so that sum clean^2 / sum (g noise)^2 = 10^(snr_db/10).
 * *gain (may be NULL) gets g. NAC_ERR_EMPTY when clean or noise is silent, NAC_ERR_NUMERIC for
 * non-finite input. */
int nac_degrade_mix(float *y, const float *clean, const float *noise, size_t n, double snr_db, double *gain,
                    nac_error *err);

/* 1 when all n samples are finite. */
int nac_degrade_finite(const float *x, size_t n);

/* ---- noise from folders ------------------------------------------------------------------------
 * Crops of recorded noise, babble (3 to 6 crops of other speech summed) and music, drawn
 * deterministically from a seed; each draw is filtered (random spectral tilt, one-pole low/high
 * pass) and given a slow level modulation. Each recording is used only within [from, to) of its
 * length, so one folder splits into disjoint training and development parts by time. */

/* What a draw was. */
enum { NAC_NOISE_FILE, NAC_NOISE_BABBLE, NAC_NOISE_MUSIC, NAC_NOISE_SYNTH };

typedef struct nac_degrade_noise_opts {
    const char *noise_dir;  /* folders of audio (any format, any rate, resampled); at least one */
    const char *babble_dir; /*   of the three; the others may be NULL */
    const char *music_dir;
    double from, to;        /* share of each noise or music file used: [from, to), 0 <= from < to <= 1 */
    double snr_lo, snr_hi;  /* dB: the SNR is drawn uniformly in [snr_lo, snr_hi] */
    uint64_t seed;
} nac_degrade_noise_opts;

/* Folders as given, [0, 1), SNR 5 dB, seed 1. */
void nac_degrade_noise_opts_default(nac_degrade_noise_opts *o, const char *noise_dir, const char *babble_dir,
                                    const char *music_dir);

/* Adds one noise draw to x (n samples at sample_rate, in place) at an SNR drawn from the options
 * (kinds weighted 0.55 noise, 0.2 babble, 0.1 music over the folders given). The folders are read
 * during the call and nothing is kept. *kind (may be NULL): NAC_NOISE_*; *snr_db (may be NULL): the
 * SNR used. NAC_ERR_ARG (no folder, bad range), NAC_ERR_IO or NAC_ERR_EMPTY (a folder without
 * audio), NAC_ERR_EMPTY (x silent), NAC_ERR_NUMERIC, NAC_ERR_NOMEM. */
int nac_degrade_add_noise(float *x, size_t n, int sample_rate, const nac_degrade_noise_opts *o, int *kind,
                          double *snr_db, nac_error *err);

#ifdef __cplusplus
}
#endif
#endif
