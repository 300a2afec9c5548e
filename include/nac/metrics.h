/* nac metrics: objective quality metrics between a reference REF and a degraded signal DEG (mono
 * float PCM): SNR, SI-SDR, segmental SNR, log-spectral distance, multi-scale mel distance, STOI and
 * ESTOI, plus the delay estimation that aligns DEG to REF before them.
 *
 * The per-metric functions take two signals of equal length n that are already aligned
 * (ref[i] corresponds to deg[i]); nac_metrics_compute aligns, trims and computes them all.
 * Results come back through out-parameters; the inputs belong to the caller and are only read.
 * Threading: every function is reentrant and may run concurrently with any other on any data.
 * Each call makes its own FFTW plans (once per call, never per frame); nac serialises its FFTW
 * planning through the OpenMP critical section "nac_fftw_planner", so a program that also plans
 * FFTW transforms in other threads must not do so while nac calls run. Sums are in double.
 * Errors: NAC_OK, NAC_ERR_ARG (NULL pointer, n = 0, bad rate), NAC_ERR_NUMERIC (NaN or infinity
 * in the input), NAC_ERR_EMPTY (a silent reference where the metric needs energy),
 * NAC_ERR_TRUNCATED (too short, e.g. fewer than 30 speech frames for STOI), NAC_ERR_NOMEM; detail
 * in the caller's nac_error (may be NULL). */
#ifndef NAC_METRICS_H
#define NAC_METRICS_H

#include <stddef.h>

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nac_metrics {
    double snr;          /* dB; +INFINITY when deg == ref exactly */
    double si_sdr;       /* dB; +INFINITY when deg is an exact multiple of ref */
    double seg_snr;      /* dB, mean over 20 ms frames of per-frame SNR clamped to [-10, 35] */
    double lsd;          /* dB, log-spectral distance */
    double mel_distance; /* mean |log10 mel difference| over 4 scales */
    double stoi;         /* Taal et al. 2011, in about [0, 1] */
    double estoi;        /* Jensen & Taal 2016, in about [-1, 1] */
    long delay_samples;  /* delay of DEG relative to REF at the reference rate: deg[i + d] ~ ref[i] */
    size_t n_compared;   /* samples compared after alignment and trimming */
} nac_metrics;

typedef struct nac_metrics_opts {
    int align;              /* nonzero: estimate and compensate the delay (default 1) */
    double max_delay_s;     /* delays searched in [-max, +max] seconds (default 0.5) */
    double seg_frame_s;     /* segmental SNR frame length in seconds (default 0.02) */
} nac_metrics_opts;

void nac_metrics_opts_default(nac_metrics_opts *opts);

/* Aligns deg to ref (unless opts->align == 0), trims both to their overlap and computes every
 * metric. ref (nref), deg (ndeg) share sample_rate. opts may be NULL (defaults). */
int nac_metrics_compute(nac_metrics *out, const float *ref, size_t nref, const float *deg,
                        size_t ndeg, int sample_rate, const nac_metrics_opts *opts, nac_error *err);

/* As nac_metrics_compute for signals at different rates: deg is first resampled to ref_rate
 * (soxr, as nac_resample_all of nac/audio.h); delay_samples is in samples of ref_rate. */
int nac_metrics_compute_rates(nac_metrics *out, const float *ref, size_t nref, int ref_rate,
                              const float *deg, size_t ndeg, int deg_rate,
                              const nac_metrics_opts *opts, nac_error *err);

/* ---- delay estimation ----
 * *delay = d such that deg[i + d] best matches ref[i], |d| <= max_delay_s * sample_rate
 * (clamped to half the shorter signal). Coarse search by FFT cross-correlation of short-time
 * RMS envelopes (2 ms hop, 4 ms window, mean removed), which survives decoders that invent their
 * own phase; then FFT waveform cross-correlation within +-2 envelope hops of the coarse delay,
 * kept only if its normalised peak is at least 0.2 (otherwise the coarse delay stands). */
int nac_align_delay(long *delay, const float *ref, size_t nref, const float *deg, size_t ndeg,
                    int sample_rate, double max_delay_s, nac_error *err);

/* ---- waveform metrics ---- ref, deg (n) */
/* 10 log10(sum ref^2 / sum (ref - deg)^2). */
int nac_snr(double *out, const float *ref, const float *deg, size_t n, nac_error *err);
/* Scale-invariant SDR (Le Roux et al., ICASSP 2019), no mean removal:
 * a = <deg, ref> / <ref, ref>, 10 log10(|a ref|^2 / |deg - a ref|^2). */
int nac_si_sdr(double *out, const float *ref, const float *deg, size_t n, nac_error *err);
/* Mean over non-overlapping rectangular frames of frame_s seconds (the last partial frame is
 * dropped unless it is the only one) of 10 log10(sum ref^2 / sum (ref - deg)^2), each clamped
 * to [-10, 35] dB; a frame with no error counts as 35, one with error but a silent reference
 * as -10. */
int nac_seg_snr(double *out, const float *ref, const float *deg, size_t n, int sample_rate,
                double frame_s, nac_error *err);

/* ---- spectral distances ---- ref, deg (n)
 * Frames start every hop samples from 0; the last frames are zero-padded past n. */
/* Log-spectral distance: periodic Hann frames of n_fft = the power of two >= 32 ms (512 at
 * 16 kHz), hop n_fft/4; P = |X|^2 / sum(w^2); per frame sqrt(mean over the n_fft/2+1 bins of
 * (10 log10(P_ref + 1e-10) - 10 log10(P_deg + 1e-10))^2), averaged over frames. */
int nac_lsd(double *out, const float *ref, const float *deg, size_t n, int sample_rate,
            nac_error *err);
/* Multi-scale mel distance: for 4 scales with n_fft = 256, 512, 1024, 2048 at 16 kHz (the power
 * of two nearest to 16, 32, 64, 128 ms at other rates) and 20, 40, 80, 160 HTK mel bands over
 * 0..sample_rate/2, hop n_fft/4, periodic Hann, magnitude spectra (unnormalised
 * FFT); the mean over bands and frames of |log10 max(M_ref, 1e-5) - log10 max(M_deg, 1e-5)|,
 * then the mean over the scales. */
int nac_mel_distance(double *out, const float *ref, const float *deg, size_t n, int sample_rate,
                     nac_error *err);

/* ---- intelligibility ---- ref, deg (n)
 * As published (Taal et al., IEEE TASLP 2011; Jensen & Taal, IEEE/ACM TASLP 2016) and as the
 * reference MATLAB code / pystoi: resample to 10 kHz (with the filter of Octave's resample(), as
 * pystoi; the measure moves by ~2e-3 with another good resampler), drop frames more than 40 dB below the
 * loudest reference frame (256-sample MATLAB-hanning frames, hop 128) from both signals and
 * overlap-add the rest, 512-point FFT, 15 one-third-octave bands from 150 Hz, 30-frame
 * segments. STOI clips the normalised degraded envelope at beta = -15 dB SDR; ESTOI normalises
 * segment rows then columns. NAC_ERR_TRUNCATED if fewer than 30 frames of speech remain.
 * Differences from the reference code: no random dither in ESTOI's normalisation (norms get
 * + DBL_EPSILON instead, as pystoi does for STOI). stoi or estoi may be NULL. */
int nac_stoi_estoi(double *stoi, double *estoi, const float *ref, const float *deg, size_t n,
                   int sample_rate, nac_error *err);
int nac_stoi(double *out, const float *ref, const float *deg, size_t n, int sample_rate,
             nac_error *err);
int nac_estoi(double *out, const float *ref, const float *deg, size_t n, int sample_rate,
              nac_error *err);

#ifdef __cplusplus
}
#endif
#endif
