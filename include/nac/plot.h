/* nac plot: pictures as PNG files. Spectrograms of one signal, of a reference and a degraded
 * signal with their difference, or of clean, degraded and restored signals; the PCA of latent
 * vectors with codebook entries; one feature frame against its quantised version.
 * Spectrograms: power from a Hann-windowed STFT (n_fft about 32 ms, hop n_fft/4) in dBFS (a
 * full-scale sine peaks at 0 dB), averaged over the frames that fall in a pixel column, shown over
 * the top range_db decibels on a mel, log-frequency or linear axis.
 * Conventions as in nac.h: functions return a nac_status (0 = NAC_OK, negative = error) with
 * detail in the caller's nac_error (may be NULL). The inputs belong to the caller and are only
 * read; each call allocates and frees its own image. Errors: NAC_ERR_EMPTY (no samples),
 * NAC_ERR_ARG (bad sizes or options), NAC_ERR_NOMEM, NAC_ERR_IO (the file cannot be written).
 * Threading: every function is reentrant and may run concurrently with any other (FFTW planning
 * is serialised as described in nac/metrics.h). */
#ifndef NAC_PLOT_H
#define NAC_PLOT_H

#include <stddef.h>

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- spectrograms ------------------------------------------------------------------------------ */

typedef enum nac_plot_freq_scale {
    NAC_PLOT_FREQ_MEL,    /* HTK mel, 0 .. sr/2 (the default) */
    NAC_PLOT_FREQ_LOG,    /* log frequency, 50 Hz .. sr/2 */
    NAC_PLOT_FREQ_LINEAR  /* linear, 0 .. sr/2 */
} nac_plot_freq_scale;

typedef struct nac_plot_opts {
    int width, height;             /* whole image in pixels; 0 = default (1200x520, compare 1200x1080) */
    nac_plot_freq_scale freq_scale;
    const char *title;             /* drawn on top; NULL or "" = none */
    const char *ref_label;         /* compare: names of the two signals; NULL = "reference", */
    const char *deg_label;         /*   "degraded" */
    const char *res_label;         /* compare3: name of the third signal; NULL = "restored" */
    float range_db;                /* colours span [top - range_db, top]; 0 = 80 */
    float diff_range_db;           /* compare: difference shown in [-r, r] dB; 0 = automatic */
    int n_fft, hop;                /* 0 = chosen from the sample rate (512 and 128 at 16 kHz) */
} nac_plot_opts;

/* All defaults (zeros). The strings in opts are only read during a call. */
void nac_plot_opts_init(nac_plot_opts *o);

/* Writes a spectrogram of x (n samples at sample_rate) to the PNG file path. opts may be NULL.
 * NAC_ERR_EMPTY for n = 0, NAC_ERR_ARG for bad sizes or options, NAC_ERR_IO if the file cannot
 * be written. Non-finite samples are drawn as silence. */
int nac_plot_spectrogram(const char *path, const float *x, size_t n, int sample_rate, const nac_plot_opts *opts,
                         nac_error *err);

/* Writes three panels sharing the time and frequency axes: the reference, the degraded signal
 * (one colour scale for both, its top from the louder of the two) and their difference
 * DEG - REF in dB on a diverging map (red: DEG has more energy, blue: less). Both signals
 * must have the same sample rate; the shorter one is greyed out past its end. */
int nac_plot_compare(const char *path, const float *ref, size_t nref, const float *deg, size_t ndeg, int sample_rate,
                     const nac_plot_opts *opts, nac_error *err);

/* Three spectrograms on one colour scale and shared axes, one above the other: a clean reference,
 * a degraded copy and the restored signal (e.g. nac enhance's output). Same rate for all. */
int nac_plot_compare3(const char *path, const float *ref, size_t nref, const float *deg, size_t ndeg, const float *res,
                      size_t nres, int sample_rate, const nac_plot_opts *opts, nac_error *err);

/* ---- feature vectors and latents ---------------------------------------------------------------
 * The PCA of a set of latent vectors as a 2-D histogram with codebook entries as dots (the VQ-VAE
 * encoder-space figure of Codec 2's ML experiments), and one frame's feature vector against its
 * quantised version (as Codec 2's vq_pager shows it). */

/* PCA of z (N, D) to its two principal axes (of largest variance); a 2-D histogram of the
 * projections (log counts, sequential colours) and, when cb != NULL, the M entries of cb (M, D)
 * projected the same way as white dots. title may be NULL. Writes a PNG to path.
 * NAC_ERR_ARG (N < 2, D < 1), NAC_ERR_NOMEM, NAC_ERR_IO. */
int nac_plot_latent(const char *path, const float *z, size_t N, int D, const float *cb, int M,
                    const char *title, nac_error *err);

/* x (K) as a line of points over k = 0..K-1 in dB and, when q != NULL, q (K) beside it with the
 * error per k shaded; the title gets the frame's error in dB^2. Writes a PNG to path. */
int nac_plot_frame(const char *path, const float *x, const float *q, int K, const char *title, nac_error *err);

#ifdef __cplusplus
}
#endif
#endif
