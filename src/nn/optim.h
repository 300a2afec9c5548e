/* AdamW (Loshchilov and Hutter 2019, PyTorch torch.optim.AdamW semantics), gradient norm and clipping,
 * learning-rate schedule and EMA of weights. Operate on the nn_params arenas; results are identical
 * for any thread count. */
#ifndef NAC_NN_OPTIM_H
#define NAC_NN_OPTIM_H

#include <stddef.h>

#include "nn/params.h"

typedef struct nn_adamw {
    float beta1, beta2, eps, weight_decay;
} nn_adamw;

/* One step on every tensor: p *= 1 - lr*wd (tensors with decay only); m, v updated;
 * p -= lr/(1-b1^step) * m / (sqrt(v)/sqrt(1-b2^step) + eps). step is 1-based. Needs m, v allocated. */
void nn_adamw_step(nn_params *p, const nn_adamw *cfg, float lr, long step);
/* Global L2 norm of all gradients, in double, independent of the thread count. */
double nn_grad_norm(const nn_params *p);
/* Scales all gradients by max_norm/norm if norm > max_norm; returns the norm before clipping. */
double nn_grad_clip(nn_params *p, double max_norm);
/* Linear warm-up base*step/warmup for step < warmup, then cosine decay from base (step == warmup)
 * to min_lr (step >= total). */
float nn_lr_at(long step, long warmup, long total, float base, float min_lr);
/* ema = decay*ema + (1-decay)*data over n values. */
void nn_ema_update(float *ema, const float *data, float decay, size_t n);

#endif
