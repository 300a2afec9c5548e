/* Spectrogram pictures (PNG): one signal, or a reference and a degraded signal with their
 * difference. Power from the STFT of dsp/stft.h (Hann window, n_fft about 32 ms, hop n_fft/4),
 * in dBFS (a full-scale sine peaks at 0 dB), averaged over the frames that fall in a pixel
 * column; shown over the top range_db decibels, on a mel, log-frequency or linear axis. */
#ifndef NAC_PLOT_SPECTROGRAM_H
#define NAC_PLOT_SPECTROGRAM_H

#include <stddef.h>

#include "core/status.h"

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

/* All defaults (zeros). */
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

#endif
