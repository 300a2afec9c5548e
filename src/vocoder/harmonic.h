/* The harmonic model of one frame: amplitudes of the harmonics of F0 measured from a windowed
 * spectrum, the rate-K grid, and the conversions between harmonic amplitudes (rate L) and rate K.
 * Amplitudes are in Codec 2's units: A = 16384 a for a sinusoid of amplitude a (full scale 1),
 * i.e. half the amplitude in 16-bit sample units, so that 20 log10 A compares with Codec 2's dB. */
#ifndef NAC_VOCODER_HARMONIC_H
#define NAC_VOCODER_HARMONIC_H

#include <stddef.h>

#include "core/status.h"
#include "nac/vocoder.h"

#define NAC_HARM_WIN 400      /* analysis window: 25 ms Hann */
#define NAC_HARM_NFFT 1024
#define NAC_HARM_UV_F0 100.0f /* Hz: harmonic spacing of unvoiced frames */
#define NAC_HARM_MAX_L 160    /* most harmonics (8000 / 50) */
#define NAC_HARM_FLOOR_DB 0.0f   /* amplitudes below 0 dB (A < 1) are raised to it */
#define NAC_HARM_RANGE_DB 50.0f  /* and those more than this below the frame's peak to that */

/* The analysis spectrum: a window, an FFT plan and scratch, made once. */
typedef struct nac_harm_analyzer nac_harm_analyzer;
int nac_harm_analyzer_create(nac_harm_analyzer **out, nac_error *err);
void nac_harm_analyzer_destroy(nac_harm_analyzer *a);

/* Power spectrum of the window centred at sample c of x (n samples, zeros outside):
 * (NAC_HARM_NFFT / 2 + 1) values, scaled so that a band's sum is A^2 (see harmonic amplitudes).
 * Points into the analyzer; valid until its next call. */
const float *nac_harm_spectrum(nac_harm_analyzer *a, const float *x, size_t n, long c);

/* Refines f0 (Hz) within +-4% to the value whose harmonics below 3 kHz gather the most
 * magnitude in the power spectrum P. */
float nac_harm_refine_f0(const float *P, float f0);

/* Harmonic amplitudes A[1..L] (A[0] unused) of spacing f0 Hz from P: the root of the power in
 * the band of each harmonic, [m - 1/2, m + 1/2) f0. Returns L = floor(7999 / f0). */
int nac_harm_amplitudes(float *A, const float *P, float f0);

/* The grid's K frequencies in Hz (K). */
void nac_harm_grid_freqs(float *fk, const nac_vocoder_grid *g);

/* Rate L -> rate K: the harmonic amplitudes in dB (floored as above) interpolated linearly over
 * frequency at fk (K) into out (K) dB; constant beyond the first and last harmonic. */
void nac_harm_to_rate_k(float *out, const float *A, int L, float f0, const float *fk, int K);

/* Rate K -> dB at any frequency f: linear interpolation over the grid, constant outside it. */
float nac_harm_rate_k_at(const float *vk, const float *fk, int K, float f);

#endif
