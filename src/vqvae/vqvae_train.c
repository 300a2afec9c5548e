/* Training of the VQ-VAE (include/nac/train.h, nac_vqvae_train_run): random sequences of a feature
 * file, AdamW with warm-up and cosine decay, clipping, k-means initialisation of the codebooks at
 * vq_start, EMA / dead-code maintenance, checkpoints in the model file (with the AdamW moments) that
 * --resume continues, and the dB^2 on held-out features at every checkpoint. */
#include "nac/train.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/status.h"
#include "nn/optim.h"
#include "train/report.h"
#include "vq/f32file.h"
#include "vqvae/vqvae.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void nac_vqvae_train_opts_default(nac_vqvae_train_opts *o)
{
    nac_vqvae_config c;
    nac_vqvae_config_default(&c);
    memset(o, 0, sizeof *o);
    o->k = c.k;
    o->ncat = c.ncat;
    o->dim = c.dim;
    o->hidden = c.hidden;
    o->stages = c.stages;
    o->entries = c.entries;
    o->steps = 4000;
    o->batch = 32;
    o->seq = 32;
    o->lr = 1e-3;
    o->vq_start = -1;
    o->save_every = 500;
    o->seed = 1;
}

static int file_db2(double *db2, const nac_vqvae *m, const float *x, size_t T, int quantise, nac_error *err)
{
    float *y = nac_alloc(T * (size_t)m->cfg.k * sizeof(float));
    if (!y)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    nac_vqvae_fwd o = {0};
    o.quantise = quantise;
    int st = nac_vqvae_run(y, m, x, T, &o, err);
    double se = 0;
    for (size_t i = 0; !st && i < T * (size_t)m->cfg.k; i++)
        se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
    *db2 = se / ((double)T * m->cfg.k);
    nac_free(y);
    return st;
}

static void fill_batch(float *xb, const float *x, size_t N, int K, int B, int frames, nac_rng *r)
{
    for (int b = 0; b < B; b++) {
        size_t s = (size_t)nac_rng_below(r, N - (size_t)frames + 1);
        memcpy(xb + (size_t)b * frames * K, x + s * K, (size_t)frames * K * sizeof(float));
    }
}

int nac_vqvae_train_run(const nac_vqvae_train_opts *opt, nac_train_report report, void *ctx,
                        volatile sig_atomic_t *stop, nac_error *err)
{
    if (!opt || !opt->in || !opt->out)
        return nac_error_set(err, NAC_ERR_ARG, "VQ-VAE training needs a feature file and an output path");
    nac_vqvae_config c;
    nac_vqvae_config_default(&c);
    c.k = opt->k, c.ncat = opt->ncat, c.dim = opt->dim, c.hidden = opt->hidden, c.stages = opt->stages;
    c.entries = opt->entries;
    c.ema = opt->ema;
    if (opt->threads > 0)
        omp_set_num_threads(opt->threads);
    double steps = (double)opt->steps, vq_start = opt->vq_start < 0 ? floor(steps / 10) : (double)opt->vq_start;
    double noise = opt->noise_var, lr = opt->lr, tlimit = opt->time_limit;
    long save_every = opt->save_every > 0 ? opt->save_every : 500;
    uint64_t seed = opt->seed;
    const char *in = opt->in, *out = opt->out, *val = opt->val;
    int st = NAC_OK, B = opt->batch, Tg = opt->seq, frames;
    if (B < 1 || Tg < 1 || steps < 1)
        return nac_error_set(err, NAC_ERR_ARG, "batch, seq and steps must be positive");
    float *x = NULL, *xv = NULL, *xb = NULL, *xk = NULL;
    size_t N = 0, Nv = 0;
    nac_vqvae *m = NULL;
    nac_vqvae_work *w = NULL, *wk = NULL;
    if (opt->resume) {
        if ((st = nac_vqvae_load(&m, out, 1, err)))
            goto fail;
        c = m->cfg; /* the checkpoint's architecture wins */
        nac_train_note(report, ctx, "nac vqvae train: resuming %s at step %ld", out, m->step);
    }
    if ((st = nac_vq_f32_read(&x, &N, in, c.k, 0, err)))
        goto fail;
    if (val && (st = nac_vq_f32_read(&xv, &Nv, val, c.k, 0, err)))
        goto fail;
    if (!opt->resume) {
        if ((st = nac_vqvae_create(&m, &c, 1, seed, err)))
            goto fail;
        nac_vqvae_set_norm(m, x, N);
    }
    frames = Tg * c.ncat;
    if (N < (size_t)frames) {
        st = nac_error_set(err, NAC_ERR_ARG, "%s has %zu frames, fewer than one sequence (%d)", in, N, frames);
        goto fail;
    }
    xb = nac_alloc((size_t)B * frames * c.k * sizeof(float));
    if (!xb) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = nac_vqvae_work_create(&w, m, B, Tg, err)))
        goto fail;
    nac_train_note(report, ctx,
        "nac vqvae train: %zu frames of K=%d from %s; ncat %d, dim %d, hidden %d, %d x %d-entry VQ%s, "
        "noise var %g; %zu parameters; %ld steps of %d x %d frames",
        N, c.k, in, c.ncat, c.dim, c.hidden, c.stages, c.entries, c.ema ? " (EMA)" : "", noise, m->p.total,
        (long)steps, B, frames);
    nn_adamw adam = {0.9f, 0.99f, 1e-8f, 1e-5f};
    nac_rng rng;
    nac_rng_seed(&rng, seed * 7919u + (uint64_t)m->step);
    double t0 = now(), tl = t0, acc_mse = 0, acc_vq = 0;
    int acc_n = 0;
    long start_step = m->step;
    while (m->step < (long)steps) {
        long s = m->step;
        int quantise = c.stages > 0 && s >= (long)vq_start;
        if (c.stages > 0 && s == (long)vq_start) {
            /* k-means initialisation from the encoder's outputs on a sample of the data */
            int nk = c.entries * 8 > 16384 ? c.entries * 8 : 16384;
            int Bk = (nk + Tg - 1) / Tg;
            if ((size_t)Bk * frames > 4 * N)
                Bk = (int)(4 * N / frames) + 1;
            if ((size_t)Bk * Tg < (size_t)c.entries) {
                st = nac_error_set(err, NAC_ERR_ARG, "too little data for %d codebook entries", c.entries);
                goto fail;
            }
            xk = nac_alloc((size_t)Bk * frames * c.k * sizeof(float));
            if (!xk) {
                st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory for k-means initialisation");
                goto fail;
            }
            fill_batch(xk, x, N, c.k, Bk, frames, &rng);
            if ((st = nac_vqvae_work_create(&wk, m, Bk, Tg, err)) ||
                (st = nac_vqvae_kmeans_init(wk, xk, Bk, Tg, 20, seed + 17, err)))
                goto fail;
            nac_vqvae_work_destroy(wk);
            wk = NULL;
            nac_free(xk);
            xk = NULL;
            nac_train_note(report, ctx, "  step %ld: codebooks initialised by k-means on %d latents", s, Bk * Tg);
        }
        fill_batch(xb, x, N, c.k, B, frames, &rng);
        nac_vqvae_fwd o = {0};
        o.quantise = quantise;
        o.noise_var = (float)noise;
        o.seed = nac_rng_u64(&rng);
        nac_vqvae_loss loss;
        nn_params_zero_grad(&m->p);
        if ((st = nac_vqvae_forward(NULL, &loss, w, xb, B, Tg, &o, err)) || (st = nac_vqvae_backward(w, err)))
            goto fail;
        nn_grad_clip(&m->p, 1.0);
        float lr_now = nn_lr_at(s, 100, (long)steps, (float)lr, (float)lr * 0.05f);
        nn_adamw_step(&m->p, &adam, lr_now, s + 1);
        if ((st = nac_vqvae_update_vq(w, nac_rng_u64(&rng), err)))
            goto fail;
        m->step = s + 1;
        acc_mse += loss.mse;
        acc_vq += loss.vq;
        acc_n++;
        int last = m->step == (long)steps || (tlimit > 0 && now() - t0 > tlimit) || (stop && *stop);
        if (m->step % 50 == 0 || last) {
            double t = now();
            char used[512] = "";
            if (quantise) {
                nac_rvq_usage u[NAC_RVQ_MAX_STAGES];
                nac_rvq_state_usage(u, m->rvq_state, &m->rvq);
                size_t p = (size_t)snprintf(used, sizeof used, "  used");
                for (int q = 0; q < c.stages && p < sizeof used; q++)
                    p += (size_t)snprintf(used + p, sizeof used - p, " %d", u[q].n_used);
            }
            nac_train_note(report, ctx, "  step %6ld  dB^2 %7.3f  vq %.4f%s  %.2f steps/s  lr %.2g", m->step, acc_mse / acc_n,
                acc_vq / acc_n, used, acc_n / (t - tl), lr_now);
            tl = t;
            acc_mse = acc_vq = 0;
            acc_n = 0;
        }
        if (m->step % save_every == 0 || last) {
            if (xv) {
                double dv, dq;
                if ((st = file_db2(&dv, m, xv, Nv, 0, err)) || (st = file_db2(&dq, m, xv, Nv, 1, err)))
                    goto fail;
                nac_train_note(report, ctx, "  step %6ld  val dB^2 %.3f without VQ, %.3f with VQ", m->step, dv, dq);
            }
            if ((st = nac_vqvae_save(m, out, 1, err)))
                goto fail;
        }
        if (last)
            break;
    }
    nac_train_note(report, ctx, "nac vqvae train: %ld steps in %.1f s; model in %s", m->step - start_step, now() - t0, out);
fail:
    nac_vqvae_work_destroy(w);
    nac_vqvae_work_destroy(wk);
    nac_vqvae_destroy(m);
    nac_free(x);
    nac_free(xv);
    nac_free(xb);
    nac_free(xk);
    return st;
}
