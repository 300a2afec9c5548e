/* Spectral training losses between a prediction y and a target x, both (B, T) waveforms:
 *  - multi-resolution STFT loss (Yamamoto et al. 2020, Parallel WaveGAN): per resolution,
 *    spectral convergence || |Y|-|X| ||_F / ||X||_F (Frobenius norms over the whole batch) plus
 *    mean |log(|Y|+eps) - log(|X|+eps)|, averaged over resolutions;
 *  - multi-scale log-mel L1 (DAC, Kumar et al. 2023): per scale, mean |log10(mel_y + eps) -
 *    log10(mel_x + eps)| with mel = fb @ |STFT|^power, averaged over scales.
 * Framing: the causal STFT of dsp/stft.h on the signal zero-padded at the end to
 * Tp = ceil((T + n_fft - hop) / hop) * hop samples, so that with the implicit n_fft - hop zeros
 * before the start every sample is seen by the same number of frames.
 * The loss objects own their plans, filterbanks and scratch (sized at create; no allocation per
 * call). One object is used by one thread at a time; inside a call the work is spread over
 * OpenMP threads and the result (value and gradient) is identical for any thread count. */
#ifndef NAC_NN_LOSS_SPECTRAL_H
#define NAC_NN_LOSS_SPECTRAL_H

#include "core/status.h"
#include "dsp/window.h"

#define NN_LOSS_MAX_SCALES 8

/* ---- multi-resolution STFT loss ----------------------------------------------------------- */

typedef struct nn_mrstft_config {
    int n_res;                     /* number of resolutions, 1..NN_LOSS_MAX_SCALES */
    int n_fft[NN_LOSS_MAX_SCALES]; /* even FFT sizes, 2..32768 */
    int hop[NN_LOSS_MAX_SCALES];   /* hops (0 < hop <= n_fft); 0 means n_fft / 4 */
    nac_window_kind window;        /* analysis window */
    float eps;                     /* in log(|Y| + eps); > 0 */
    float sc_weight, mag_weight;   /* weights of the two terms in each resolution */
} nn_mrstft_config;

/* n_fft 512/1024/2048, hop n_fft/4, Hann, eps 1e-5, both term weights 1. */
void nn_mrstft_config_default(nn_mrstft_config *c);

typedef struct nn_mrstft_loss nn_mrstft_loss;

/* Makes a loss object for calls with B <= max_B and T <= max_T. Returns NAC_OK, NAC_ERR_ARG (bad
 * config or sizes, detail in err) or NAC_ERR_NOMEM. *out is NULL on failure. */
int nn_mrstft_loss_create(nn_mrstft_loss **out, const nn_mrstft_config *cfg, int max_B, int max_T,
                          nac_error *err);
void nn_mrstft_loss_destroy(nn_mrstft_loss *l);

/* Returns the loss L(y, x) (unweighted) and, when dy is not NULL, accumulates
 * dy (B, T) += weight * dL/dy. y, x (B, T). The spectral-convergence term contributes nothing
 * when x is all zero (its denominator vanishes). Returns NAN, touching nothing, when B or T is
 * outside 1..max_B, 1..max_T. */
double nn_mrstft_loss_forward_backward(nn_mrstft_loss *l, float *dy, const float *y, const float *x,
                                       int B, int T, float weight);

/* ---- multi-scale log-mel loss ------------------------------------------------------------- */

typedef struct nn_melspec_config {
    int sample_rate;
    int n_scales;                   /* 1..NN_LOSS_MAX_SCALES */
    int win[NN_LOSS_MAX_SCALES];    /* window length = FFT size per scale (even) */
    int hop[NN_LOSS_MAX_SCALES];    /* 0 means win / 4 */
    int n_mels[NN_LOSS_MAX_SCALES];
    float fmin, fmax;               /* mel band edges in Hz; fmax 0 means sample_rate / 2 */
    float power;                    /* 1: mel of magnitudes (DAC), 2: mel of powers */
    float eps;                      /* in log10(mel + eps); > 0 */
    nac_window_kind window;
} nn_melspec_config;

/* Windows 256/512/1024/2048, hop win/4, 20/40/80/80 mels, 0 .. sample_rate/2, power 1,
 * eps 1e-5, Hann. */
void nn_melspec_config_default(nn_melspec_config *c, int sample_rate);

typedef struct nn_melspec_loss nn_melspec_loss;

/* As nn_mrstft_loss_create. */
int nn_melspec_loss_create(nn_melspec_loss **out, const nn_melspec_config *cfg, int max_B, int max_T,
                           nac_error *err);
void nn_melspec_loss_destroy(nn_melspec_loss *l);

/* As nn_mrstft_loss_forward_backward: returns the unweighted loss; dy (B, T) += weight * dL/dy
 * when dy is not NULL; NAN for B, T out of range. */
double nn_melspec_loss_forward_backward(nn_melspec_loss *l, float *dy, const float *y, const float *x,
                                        int B, int T, float weight);

#endif
