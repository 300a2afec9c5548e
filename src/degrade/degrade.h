/* Deterministic degradations of mono float PCM in [-1, 1]: the inputs that the enhancement
 * models learn to undo (src/enhance), and test pairs for users (`nac degrade`).
 * Quantisers round through 16-bit integers as a codec would: linear N-bit (mid-tread, clipped),
 * 8-bit G.711 mu-law and A-law (segment encoding of ITU-T G.711), and sample-and-hold (each
 * block of N samples takes its first sample: quantisation in time, no anti-alias filter).
 * Band limits: a zero-phase windowed-sinc FIR low-pass, and narrowband conversion (low-pass,
 * optionally the 300-3400 Hz telephone band, resampled to 8 kHz through soxr). Noise is mixed
 * at a given SNR over the whole signal. Functions with y and x accept y == x. */
#ifndef NAC_DEGRADE_DEGRADE_H
#define NAC_DEGRADE_DEGRADE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Linear quantisation to bits (2..16) bits: step 2^(1-bits), values clipped to the range. */
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
/* Zero-phase high-pass (x minus its low-pass at hz). */
int nac_degrade_highpass(float *y, const float *x, size_t n, int sample_rate, double hz, nac_error *err);

/* Narrowband copy: *out (malloc'd, *out_n samples at out_rate) is x resampled to out_rate
 * (soxr: its own anti-alias filter); telephone also band-limits to 300-3400 Hz. */
int nac_degrade_narrowband(float **out, size_t *out_n, const float *x, size_t n, int sample_rate, int out_rate,
                           int telephone, nac_error *err);

/* y = clean + g * noise with g chosen so that sum clean^2 / sum (g noise)^2 = 10^(snr_db/10).
 * *gain (may be NULL) gets g. NAC_ERR_EMPTY when clean or noise is silent, NAC_ERR_NUMERIC for
 * non-finite input. */
int nac_degrade_mix(float *y, const float *clean, const float *noise, size_t n, double snr_db, double *gain,
                    nac_error *err);

/* 1 when all n samples are finite. */
int nac_degrade_finite(const float *x, size_t n);

#endif
