/* Short-time Fourier transform and its inverse, with their adjoints (backward passes), on
 * FFTW single-precision plans made once in create and reused.
 *
 * Framing is causal: for a signal x of T samples (T a multiple of hop), frame t covers samples
 * x[(t+1)*hop - n_fft .. (t+1)*hop - 1] (samples before 0 are zero, or come from the stream
 * history), so there are T / hop frames and frame t needs no sample after (t+1)*hop - 1.
 * Spectra are (B, F, Tf) with F = n_fft/2 + 1 bins, T fastest, real and imaginary parts in two
 * arrays. X[f, t] = sum_j w[j] x[t*hop + hop - n_fft + j] exp(-2 pi i f j / n_fft).
 *
 * The inverse overlap-adds w[j] * irfft(X_t)[j] at output sample t*hop + j (irfft scaled by
 * 1/n_fft), keeping the first T samples. With a sqrt-Hann window and hop = n_fft/2 (or Hann with
 * the matching normalisation) istft(stft(x))[n] = x[n - (n_fft - hop)]: a delay of n_fft - hop.
 * Streaming variants keep the n_fft - hop samples of history / overlap in a state struct and
 * give bit-identical output to the batch functions for any split into whole hops. */
#ifndef NAC_DSP_STFT_H
#define NAC_DSP_STFT_H

#include "core/status.h"
#include "dsp/window.h"

typedef struct nac_stft nac_stft;

/* n_fft even, 0 < hop <= n_fft. The plan is immutable after create; execute functions may be
 * called from several threads at once (per-thread scratch is sized at create for
 * omp_get_max_threads()). */
int nac_stft_create(nac_stft **out, int n_fft, int hop, nac_window_kind window, nac_error *err);
void nac_stft_destroy(nac_stft *s);
int nac_stft_bins(const nac_stft *s);   /* n_fft/2 + 1 */
int nac_stft_n_fft(const nac_stft *s);
int nac_stft_hop(const nac_stft *s);
const float *nac_stft_window(const nac_stft *s); /* (n_fft) */

/* x (B, T) -> re, im (B, F, T/hop). T must be a multiple of hop. Parallel over B*frames. */
void nac_stft_forward(const nac_stft *s, float *re, float *im, const float *x, int B, int T);
/* Adjoint of forward: dx (B, T) += d(loss)/dx given dre, dim (B, F, T/hop). */
void nac_stft_backward(const nac_stft *s, float *dx, const float *dre, const float *dim, int B, int T);
/* re, im (B, F, Tf) -> y (B, Tf*hop), as described above (overwrites y). */
void nac_istft_forward(const nac_stft *s, float *y, const float *re, const float *im, int B, int Tf);
/* Adjoint of inverse: dre, dim (B, F, Tf) += from dy (B, Tf*hop). */
void nac_istft_backward(const nac_stft *s, float *dre, float *dim, const float *dy, int B, int Tf);

/* Streaming, one channel. State holds n_fft - hop samples; zero it with _reset. */
typedef struct nac_stft_state {
    float *buf; /* (n_fft - hop) */
} nac_stft_state;
int nac_stft_state_init(nac_stft_state *st, const nac_stft *s);
void nac_stft_state_reset(nac_stft_state *st, const nac_stft *s);
void nac_stft_state_free(nac_stft_state *st);
/* x (T), T a multiple of hop -> re, im (F, T/hop); updates the history. */
void nac_stft_stream(const nac_stft *s, nac_stft_state *st, float *re, float *im, const float *x, int T);
/* re, im (F, Tf) -> y (Tf*hop); carries the overlap tail in st. */
void nac_istft_stream(const nac_stft *s, nac_stft_state *st, float *y, const float *re, const float *im, int Tf);

#endif
