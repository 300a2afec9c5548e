/* Plumbing shared by the metrics (internal): input checks, FFTW plan creation under one lock,
 * and a framed power spectrum with its plan and scratch made once per object. */
#ifndef NAC_METRICS_FRAMES_H
#define NAC_METRICS_FRAMES_H

#include <stddef.h>

#include <fftw3.h>

#include "core/status.h"

/* NAC_ERR_ARG for NULL pointers, n == 0 or a sample rate outside [1000, 768000] (rate 0 skips
 * that check); NAC_ERR_NUMERIC for NaN or infinity in ref or deg (n). */
int nac_metrics_check(const float *ref, const float *deg, size_t n, int sample_rate, nac_error *err);

/* FFTW's planner is not thread-safe: every plan in the metrics is made and destroyed here,
 * inside the OpenMP critical section "nac_fftw_planner". */
fftwf_plan nac_fftw_plan_r2c(int n, float *in, fftwf_complex *out);
fftwf_plan nac_fftw_plan_c2r(int n, fftwf_complex *in, float *out);
void nac_fftw_destroy(fftwf_plan p);

/* Smallest n' >= n whose only prime factors are 2, 3 and 5 (fast FFT sizes). */
size_t nac_fft_good_size(size_t n);

/* Frames of win_len samples, windowed and zero-padded to n_fft, turned into |X|^2 or |X|. */
typedef struct nac_frame_spec {
    int win_len, n_fft, n_bins;  /* n_bins = n_fft/2 + 1 */
    float *win;                  /* (win_len), owned */
    float *in;                   /* (n_fft), fftwf_malloc */
    fftwf_complex *out;          /* (n_bins), fftwf_malloc */
    fftwf_plan plan;
} nac_frame_spec;

/* win (win_len) is copied. win_len <= n_fft. */
int nac_frame_spec_init(nac_frame_spec *s, int win_len, int n_fft, const float *win, nac_error *err);
void nac_frame_spec_free(nac_frame_spec *s);
/* x holds avail samples from the frame start (fewer than win_len are zero-padded);
 * power (n_bins) = |rfft(w * x, n_fft)|^2 as float. */
void nac_frame_spec_power(nac_frame_spec *s, float *power, const float *x, size_t avail);

/* Number of frames of len samples every hop from 0 so that every sample is in one, the last
 * zero-padded: 1 if n <= len, else 1 + ceil((n - len) / hop). */
size_t nac_frame_count_padded(size_t n, int len, int hop);

#endif
