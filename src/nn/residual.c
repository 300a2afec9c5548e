/* Residual addition and its gradient. */
#include "nn/residual.h"

void nn_add_forward(float *y, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void nn_add_backward(float *da, float *db, const float *dy, size_t n)
{
    if (da)
        for (size_t i = 0; i < n; i++)
            da[i] += dy[i];
    if (db)
        for (size_t i = 0; i < n; i++)
            db[i] += dy[i];
}
