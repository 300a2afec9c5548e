/* Elementwise activations over n values. Forward outputs may alias inputs; backward accumulates (+=)
 * into dx and takes the forward input x (tanh: the forward output y). */
#ifndef NAC_NN_ACTIVATION_H
#define NAC_NN_ACTIVATION_H

#include <stddef.h>

/* ELU: x > 0 ? x : alpha*(exp(x)-1). */
void nn_elu_forward(float *y, const float *x, float alpha, size_t n);
void nn_elu_backward(float *dx, const float *dy, const float *x, float alpha, size_t n);
/* Leaky ReLU: x > 0 ? x : slope*x. */
void nn_lrelu_forward(float *y, const float *x, float slope, size_t n);
void nn_lrelu_backward(float *dx, const float *dy, const float *x, float slope, size_t n);
void nn_tanh_forward(float *y, const float *x, size_t n);
void nn_tanh_backward(float *dx, const float *dy, const float *y /* forward OUTPUT */, size_t n);
/* GELU, exact erf form (PyTorch default): 0.5 x (1 + erf(x / sqrt 2)). */
void nn_gelu_forward(float *y, const float *x, size_t n);
void nn_gelu_backward(float *dx, const float *dy, const float *x, size_t n);

#endif
