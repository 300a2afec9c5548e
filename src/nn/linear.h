/* Fully connected layer: y (N, OUT) = x (N, IN) W^T + b, W (OUT, IN) as PyTorch nn.Linear.
 * Each output is a fixed-order chain (bias, then k ascending): identical for any thread count. */
#ifndef NAC_NN_LINEAR_H
#define NAC_NN_LINEAR_H

/* b (OUT) or NULL. y must not alias x. */
void nn_linear_forward(float *y, const float *x, const float *w, const float *b, int N, int IN, int OUT);
/* Accumulates into dx (N, IN) (may be NULL), dw (OUT, IN), db (OUT) (may be NULL). */
void nn_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        int N, int IN, int OUT);

#endif
