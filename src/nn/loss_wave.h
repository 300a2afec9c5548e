/* Waveform L1 loss between a prediction y and a target x, both (B, T): mean |y - x|. */
#ifndef NAC_NN_LOSS_WAVE_H
#define NAC_NN_LOSS_WAVE_H

/* Returns mean |y - x| over B*T samples (unweighted, accumulated in double) and, when dy is not
 * NULL, accumulates dy (B, T) += weight * sign(y - x) / (B*T) (0 where y == x). y, x (B, T).
 * Parallel over examples; the result is identical for any thread count. */
double nn_l1_loss_forward_backward(float *dy, const float *y, const float *x, int B, int T, float weight);

#endif
