/* Analysis and synthesis windows (periodic, as for spectral analysis). */
#ifndef NAC_DSP_WINDOW_H
#define NAC_DSP_WINDOW_H

typedef enum nac_window_kind {
    NAC_WINDOW_HANN,
    NAC_WINDOW_SQRT_HANN,
    NAC_WINDOW_HAMMING,
    NAC_WINDOW_RECT
} nac_window_kind;

/* w (n): periodic window, w[j] for j = 0..n-1 (Hann: 0.5 - 0.5 cos(2 pi j / n)). */
void nac_window_fill(float *w, int n, nac_window_kind kind);

#endif
