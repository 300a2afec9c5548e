/* Normalisation over channels C at each (b, t) (LayerNorm / RMSNorm of a channels-last model applied to
 * the (B, C, T) layout), with affine gamma, beta (C). Statistics are accumulated in double. */
#ifndef NAC_NN_NORM_H
#define NAC_NN_NORM_H

/* stats (B, T, 2): mean and rstd = 1/sqrt(var + eps) (biased variance), saved for backward. beta may be NULL. */
void nn_layernorm_forward(float *y, float *stats, const float *x, const float *gamma, const float *beta,
                          int B, int C, int T, float eps);
/* Accumulates into dx (B, C, T) (may be NULL), dgamma (C), dbeta (C) (either may be NULL). */
void nn_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                           const float *stats, const float *gamma, int B, int C, int T);

/* y = x * rstd * gamma, rstd = 1/sqrt(mean(x^2) + eps); stats (B, T) rstd. */
void nn_rmsnorm_forward(float *y, float *stats, const float *x, const float *gamma, int B, int C, int T, float eps);
void nn_rmsnorm_backward(float *dx, float *dgamma, const float *dy, const float *x, const float *stats,
                         const float *gamma, int B, int C, int T);

#endif
