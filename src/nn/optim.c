/* AdamW with PyTorch's update order, global gradient norm/clipping in double over fixed chunks
 * (so the sum order never depends on the thread count), cosine schedule and weight EMA. */
#include "nn/optim.h"

#include <math.h>

#define NORM_CHUNKS 64

void nn_adamw_step(nn_params *p, const nn_adamw *cfg, float lr, long step)
{
    float b1 = cfg->beta1, b2 = cfg->beta2;
    double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    float decay_mul = 1.0f - lr * cfg->weight_decay;
    for (int ti = 0; ti < p->n; ti++) {
        const nn_tensor *t = &p->t[ti];
        float *w = p->data + t->offset, *g = p->grad + t->offset, *m = p->m + t->offset, *v = p->v + t->offset;
        float dm = t->decay ? decay_mul : 1.0f;
        long n = (long)t->numel;
#pragma omp parallel for schedule(static) if (n > 65536)
        for (long i = 0; i < n; i++) {
            float gi = g[i];
            m[i] = b1 * m[i] + (1.0f - b1) * gi;
            v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
            float denom = sqrtf(v[i]) / bc2_sqrt + cfg->eps;
            w[i] = w[i] * dm - step_size * (m[i] / denom);
        }
    }
}

double nn_grad_norm(const nn_params *p)
{
    double part[NORM_CHUNKS];
    size_t n = p->total;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int c = 0; c < NORM_CHUNKS; c++) {
        size_t lo = n * c / NORM_CHUNKS, hi = n * (c + 1) / NORM_CHUNKS;
        double s = 0.0;
        for (size_t i = lo; i < hi; i++)
            s += (double)p->grad[i] * p->grad[i];
        part[c] = s;
    }
    double s = 0.0;
    for (int c = 0; c < NORM_CHUNKS; c++)
        s += part[c];
    return sqrt(s);
}

double nn_grad_clip(nn_params *p, double max_norm)
{
    double norm = nn_grad_norm(p);
    if (norm > max_norm && norm > 0.0) {
        float scale = (float)(max_norm / norm);
        long n = (long)p->total;
#pragma omp parallel for schedule(static) if (n > 65536)
        for (long i = 0; i < n; i++)
            p->grad[i] *= scale;
    }
    return norm;
}

float nn_lr_at(long step, long warmup, long total, float base, float min_lr)
{
    if (step < warmup)
        return (float)((double)base * step / warmup);
    if (step >= total)
        return min_lr;
    double prog = (double)(step - warmup) / (double)(total - warmup);
    return (float)(min_lr + 0.5 * (base - min_lr) * (1.0 + cos(M_PI * prog)));
}

void nn_ema_update(float *ema, const float *data, float decay, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++)
        ema[i] = decay * ema[i] + (1.0f - decay) * data[i];
}
