/* Mel filterbank: triangular filters on the HTK mel scale (mel = 2595 log10(1 + f/700)),
 * unnormalised peaks of 1, as torchaudio's default melscale_fbanks(norm=None, mel_scale="htk"). */
#ifndef NAC_DSP_MEL_H
#define NAC_DSP_MEL_H

#include "core/status.h"

typedef struct nac_mel {
    int n_mels, n_bins;   /* n_bins = n_fft/2 + 1 */
    float *fb;            /* (n_mels, n_bins), owned */
    int *lo, *hi;         /* per mel band, the range [lo, hi) of bins with non-zero weight */
} nac_mel;

int nac_mel_init(nac_mel *m, int n_fft, int sample_rate, int n_mels, float fmin, float fmax, nac_error *err);
void nac_mel_free(nac_mel *m);
/* mel (B, n_mels, T) = fb @ power (B, n_bins, T). */
void nac_mel_apply(const nac_mel *m, float *mel, const float *power, int B, int T);
/* dpower (B, n_bins, T) += fb^T @ dmel. */
void nac_mel_apply_backward(const nac_mel *m, float *dpower, const float *dmel, int B, int T);

#endif
