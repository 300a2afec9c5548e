/* One STFT frame at a time, for consumers that do not want the (B, F, Tf) layout of stft.h (the
 * training losses fuse their per-frame work around these). A spectrum row holds the F bins as
 * interleaved (re, im) pairs in S = nac_stft_frame_stride() floats (2F rounded up to 16); FFTW
 * reads and writes 64-byte aligned rows in place, other rows go through a copy. Framing and
 * values are exactly those of nac_stft_forward. Thread-safe like the other execute functions. */
#ifndef NAC_DSP_STFT_FRAMES_H
#define NAC_DSP_STFT_FRAMES_H

#include "dsp/stft.h"

/* Floats per spectrum row: 2 * (n_fft/2 + 1) rounded up to a multiple of 16. */
int nac_stft_frame_stride(const nac_stft *s);

/* row (S) <- spectrum of frame t of the signal x (T samples): the windowed samples
 * x[(t+1)*hop - n_fft .. (t+1)*hop - 1], zero outside 0..T-1 (so frames may run past the end).
 * Floats 2F..S-1 of row are left untouched. */
void nac_stft_frame_forward(const nac_stft *s, float *row, const float *x, int T, int t);

/* dx (T) += the adjoint of nac_stft_frame_forward at frame t applied to drow (S), dropping
 * samples outside 0..T-1. drow is scratch: its contents are destroyed. */
void nac_stft_frame_backward(const nac_stft *s, float *dx, float *drow, int T, int t);

#endif
