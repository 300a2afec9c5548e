/* Snake activation (Ziyin et al. 2020; as in BigVGAN/DAC): y = x + sin^2(a_c x) / a_c with a learnable
 * per-channel a (C); layout (B, C, T). As DAC, 1/a is computed as 1/(a + 1e-9). */
#ifndef NAC_NN_SNAKE_H
#define NAC_NN_SNAKE_H

void nn_snake_forward(float *y, const float *x, const float *a, int B, int C, int T);
/* Accumulates into dx (B, C, T) (may be NULL) and da (C) (may be NULL). */
void nn_snake_backward(float *dx, float *da, const float *dy, const float *x, const float *a, int B, int C, int T);

#endif
