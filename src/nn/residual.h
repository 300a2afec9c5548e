/* Residual addition. */
#ifndef NAC_NN_RESIDUAL_H
#define NAC_NN_RESIDUAL_H

#include <stddef.h>

/* y = a + b over n values; y may alias a or b. */
void nn_add_forward(float *y, const float *a, const float *b, size_t n);
/* da += dy and db += dy; either may be NULL. */
void nn_add_backward(float *da, float *db, const float *dy, size_t n);

#endif
