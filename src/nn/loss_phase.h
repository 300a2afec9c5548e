/* Level-weighted phase losses on the phases of a predicted spectrum (a frame-rate decoder's
 * head) against a complex target spectrum X.
 *
 * Three kinds, each a weighted mean of 1 - cos(predicted angle - target angle):
 *  - NN_PHASE_ABS: the phase itself, phi[f, t] against arg X[f, t - lag];
 *  - NN_PHASE_TIME: its frame-to-frame advance (the instantaneous frequency),
 *    phi[f, t] - phi[f, t-1] against arg(X[f, t-lag] conj X[f, t-1-lag]);
 *  - NN_PHASE_FREQ: its bin-to-bin difference (the group delay),
 *    phi[f, t] - phi[f-1, t] against arg(X[f, t-lag] conj X[f-1, t-lag]).
 * Each term counts by the compressed level of its bins, |X|^(2p) for one bin and |X1 X2|^p for a
 * pair (p = 0.3, the usual power-law compression in speech enhancement: quiet bins count without
 * dominating), and the sum is divided by the sum of those weights, so a loss is 1 for a phase
 * unrelated to the target's and 0 for the target's own. The two difference kinds ask for phase
 * coherence (harmonics that advance at their frequency, pulses in their place) without asking for
 * the absolute phase, which only a code that carries it can give. They leave the magnitudes alone.
 * Per-example weights w_b (NULL: all 1) pick the examples that count; `lag` shifts the target by
 * whole frames (a decoder whose output trails its input by `lag` hops). */
#ifndef NAC_NN_LOSS_PHASE_H
#define NAC_NN_LOSS_PHASE_H

typedef enum nn_phase_kind { NN_PHASE_ABS, NN_PHASE_TIME, NN_PHASE_FREQ } nn_phase_kind;

/* phase (B, F, T): the predicted phases in radians; xre, xim (B, F, T): the target. Returns the
 * loss (not multiplied by `weight`; 0 when every weight or level is 0) and, when dphase is not
 * NULL, accumulates dphase (B, F, T) += weight * dL/dphase. 0 <= lag < T, 0 < p <= 1. Parallel
 * over examples and bins; the result is identical for any thread count. NAN if out of memory. */
double nn_phase_loss(nn_phase_kind kind, float *dphase, const float *phase, const float *xre, const float *xim,
                     const float *w, int B, int F, int T, int lag, float p, float weight);

#endif
