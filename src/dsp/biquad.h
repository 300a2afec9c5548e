/* Second-order IIR sections (biquads), transposed direct form II in double precision so that
 * cut-offs far below the sample rate stay stable. Coefficients: the RBJ audio-EQ cookbook. */
#ifndef NAC_DSP_BIQUAD_H
#define NAC_DSP_BIQUAD_H

#include <stddef.h>

/* nac encode high-passes the neural codec's input here: DC and rumble are below its band and drive it
 * into noise (AMR-WB also cuts at 50 Hz). */
#define NAC_NEURAL_HIGHPASS_HZ 50

typedef struct nac_biquad {
    double b0, b1, b2, a1, a2; /* y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a1 y[n-1] - a2 y[n-2] */
    double z1, z2;             /* state */
} nac_biquad;

/* A 2nd-order Butterworth high-pass at fc Hz for sample rate fs Hz (0 < fc < fs / 2), state zeroed. */
void nac_biquad_highpass(nac_biquad *f, double fc, double fs);
/* Filters x (n) in place, carrying the state across calls. */
void nac_biquad_run(nac_biquad *f, float *x, size_t n);

#endif
