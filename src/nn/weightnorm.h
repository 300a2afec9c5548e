/* Weight normalisation (Salimans and Kingma 2016; PyTorch weight_norm with dim 0):
 * w[o,:] = g[o] * v[o,:] / ||v[o,:]||, v (OC, n), g (OC), w (OC, n). Norms in double. */
#ifndef NAC_NN_WEIGHTNORM_H
#define NAC_NN_WEIGHTNORM_H

void nn_weightnorm_forward(float *w, const float *v, const float *g, int OC, int n);
/* Accumulates into dv (OC, n) and dg (OC) from dw (OC, n). */
void nn_weightnorm_backward(float *dv, float *dg, const float *dw, const float *v, const float *g, int OC, int n);

#endif
