/* Tests of the parameter table (src/nn/params.c) and optimiser (src/nn/optim.c): table bookkeeping,
 * AdamW against torch.optim.AdamW (tests/fixtures/gen_nn.py), schedule endpoints, norms and clipping,
 * EMA, and a tiny conv autoencoder that must learn. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/rng.h"
#include "nn/activation.h"
#include "nn/conv1d.h"
#include "nn/convtr1d.h"
#include "nn/optim.h"
#include "nn/params.h"

TEST(nn_params_table)
{
    nn_params p = {0};
    nac_error err;
    int s1[2] = {3, 5}, s2[1] = {7}, s3[3] = {2, 2, 2}, bad[2] = {3, 0};
    CHECK(nn_params_add(&p, "enc.w", 2, s1, NN_INIT_NORMAL, 0.1f, 1, &err) == 0);
    CHECK(nn_params_add(&p, "enc.b", 1, s2, NN_INIT_CONST, 0.25f, 0, &err) == 1);
    CHECK(nn_params_add(&p, "enc.g", 3, s3, NN_INIT_ONE, 0, 0, &err) == 2);
    CHECK(nn_params_add(&p, "enc.u", 1, s2, NN_INIT_UNIFORM, 0.5f, 1, &err) == 3);
    CHECK(nn_params_add(&p, "enc.w", 1, s2, NN_INIT_ZERO, 0, 0, &err) == NAC_ERR_ARG);
    CHECK(nn_params_add(&p, "bad", 2, bad, NN_INIT_ZERO, 0, 0, &err) == NAC_ERR_ARG);
    CHECK(nn_params_add(&p, "bad", 5, s1, NN_INIT_ZERO, 0, 0, NULL) == NAC_ERR_ARG);
    CHECK(nn_params_add(&p, "", 1, s2, NN_INIT_ZERO, 0, 0, NULL) == NAC_ERR_ARG);
    CHECK(p.n == 4);
    CHECK(nn_params_find(&p, "enc.g") == 2 && nn_params_find(&p, "nope") == -1);
    CHECK(p.t[0].numel == 15 && p.t[2].numel == 8 && p.t[2].shape[3] == 1);
    for (int i = 0; i < p.n; i++)
        CHECK(p.t[i].offset % 16 == 0);
    CHECK(p.t[3].offset + p.t[3].numel <= p.total);
    CHECK(nn_params_alloc(&p, 1, &err) == 0);
    CHECK(nn_params_alloc(&p, 1, NULL) == NAC_ERR_STATE);
    CHECK(nn_params_add(&p, "late", 1, s2, NN_INIT_ZERO, 0, 0, NULL) == NAC_ERR_ARG);
    CHECK(((uintptr_t)p.data & 63) == 0 && ((uintptr_t)p.grad & 63) == 0 && p.m && p.v);
    for (int i = 0; i < p.n; i++)
        CHECK(((uintptr_t)nn_params_data(&p, i) & 63) == 0);
    nac_rng r;
    nac_rng_seed(&r, 3);
    nn_params_init(&p, &r);
    float *w = nn_params_data(&p, 0), *b = nn_params_data(&p, 1), *g = nn_params_data(&p, 2), *u = nn_params_data(&p, 3);
    double sq = 0;
    for (int i = 0; i < 15; i++)
        sq += (double)w[i] * w[i];
    CHECK(sq > 0 && sq < 15 * 0.1);
    for (int i = 0; i < 7; i++)
        CHECK(b[i] == 0.25f && u[i] >= -0.5f && u[i] < 0.5f);
    for (int i = 0; i < 8; i++)
        CHECK(g[i] == 1.0f);
    /* Same seed, same values. */
    float keep = w[4];
    nac_rng_seed(&r, 3);
    nn_params_init(&p, &r);
    CHECK(w[4] == keep);
    nn_params_grad(&p, 1)[2] = 5;
    nn_params_zero_grad(&p);
    CHECK(nn_params_grad(&p, 1)[2] == 0);
    nn_params_free(&p);
    CHECK(p.t == NULL && p.data == NULL && p.n == 0);
    nn_params_free(NULL);
}

TEST(nn_adamw_matches_torch)
{
    float d[91];
    CHECKF(nac_test_read_f32(d, 91, "nn_adamw.f32") == 0, "nn_adamw.f32 missing or not 91 floats");
    /* p0 (10), q0 (3), then per step gp (10) gq (3), then per step p (10) q (3). */
    nn_params p = {0};
    int sp[2] = {2, 5}, sq[1] = {3};
    CHECK(nn_params_add(&p, "p", 2, sp, NN_INIT_ZERO, 0, 1, NULL) == 0);
    CHECK(nn_params_add(&p, "q", 1, sq, NN_INIT_ZERO, 0, 0, NULL) == 1);
    CHECK(nn_params_alloc(&p, 1, NULL) == 0);
    memcpy(nn_params_data(&p, 0), d, 40);
    memcpy(nn_params_data(&p, 1), d + 10, 12);
    nn_adamw cfg = {0.9f, 0.99f, 1e-8f, 0.1f};
    double worst = 0;
    for (int step = 1; step <= 3; step++) {
        memcpy(nn_params_grad(&p, 0), d + 13 + (step - 1) * 13, 40);
        memcpy(nn_params_grad(&p, 1), d + 13 + (step - 1) * 13 + 10, 12);
        nn_adamw_step(&p, &cfg, 0.01f, step);
        const float *want = d + 52 + (step - 1) * 13;
        for (int i = 0; i < 13; i++) {
            float have = i < 10 ? nn_params_data(&p, 0)[i] : nn_params_data(&p, 1)[i - 10];
            double e = fabs(have - want[i]);
            worst = fmax(worst, e);
            if (!(e <= 2e-6)) {
                nn_params_free(&p);
                CHECKF(0, "step %d element %d: %.9g, torch %.9g", step, i, have, want[i]);
            }
        }
    }
    nn_params_free(&p);
    snprintf(t_->why, sizeof t_->why, "max abs error %.3g", worst);
}

TEST(nn_lr_schedule)
{
    CHECK(nn_lr_at(0, 100, 1000, 1e-3f, 1e-5f) == 0.0f);
    CHECK_NEAR(nn_lr_at(50, 100, 1000, 1e-3f, 1e-5f), 5e-4, 1e-9);
    CHECK_NEAR(nn_lr_at(100, 100, 1000, 1e-3f, 1e-5f), 1e-3, 1e-9);
    CHECK_NEAR(nn_lr_at(550, 100, 1000, 1e-3f, 1e-5f), 0.5 * (1e-3 + 1e-5), 1e-9);
    CHECK_NEAR(nn_lr_at(1000, 100, 1000, 1e-3f, 1e-5f), 1e-5, 1e-12);
    CHECK_NEAR(nn_lr_at(5000, 100, 1000, 1e-3f, 1e-5f), 1e-5, 1e-12);
    CHECK_NEAR(nn_lr_at(0, 0, 1000, 1e-3f, 0), 1e-3, 1e-9);
    float prev = 1;
    for (long s = 100; s <= 1000; s += 50) {
        float lr = nn_lr_at(s, 100, 1000, 1e-3f, 1e-5f);
        CHECK(lr <= prev);
        prev = lr;
    }
}

TEST(nn_grad_norm_clip_ema)
{
    nn_params p = {0};
    int s1[1] = {3}, s2[1] = {100001};
    CHECK(nn_params_add(&p, "a", 1, s1, NN_INIT_ZERO, 0, 0, NULL) == 0);
    CHECK(nn_params_add(&p, "b", 1, s2, NN_INIT_ZERO, 0, 0, NULL) == 1);
    CHECK(nn_params_alloc(&p, 0, NULL) == 0);
    float *ga = nn_params_grad(&p, 0), *gb = nn_params_grad(&p, 1);
    ga[0] = 3, ga[1] = 4;
    for (int i = 0; i < 100001; i++)
        gb[i] = (i % 7 == 0) ? 0.01f : -0.02f;
    double want = 25.0;
    for (int i = 0; i < 100001; i++)
        want += (double)gb[i] * gb[i];
    want = sqrt(want);
    double n2 = nn_grad_norm(&p);
#ifdef _OPENMP
    omp_set_num_threads(1);
    double n1 = nn_grad_norm(&p);
    omp_set_num_threads(2);
    CHECK(n1 == n2);
#endif
    CHECK_NEAR(n2, want, 1e-9 * want);
    double before = nn_grad_clip(&p, 1.0);
    CHECK(before == n2);
    CHECK_NEAR(nn_grad_norm(&p), 1.0, 1e-5);
    CHECK_NEAR(nn_grad_clip(&p, 10.0), 1.0, 1e-5);
    CHECK_NEAR(nn_grad_norm(&p), 1.0, 1e-5);
    nn_params_free(&p);

    float ema[4] = {1, 1, 1, 1}, data[4] = {0, 2, 4, 1};
    nn_ema_update(ema, data, 0.75f, 4);
    CHECK(ema[0] == 0.75f && ema[1] == 1.25f && ema[2] == 1.75f && ema[3] == 1.0f);
}

/* Encoder conv1d(1 -> 16, k 4, stride 2) + tanh, decoder convtr1d(16 -> 1, k 4, stride 2), MSE on a fixed
 * batch of sinusoid mixtures, AdamW: the loss must fall by more than 10x. */
TEST(nn_autoencoder_learns)
{
    enum { B = 4, T = 64, C = 16 };
    nn_conv1d enc = {1, C, 4, 2, 1, 1};
    nn_convtr1d dec = {C, 1, 4, 2};
    nn_params p = {0};
    int sew[3] = {C, 1, 4}, seb[1] = {C}, sdw[3] = {C, 1, 4}, sdb[1] = {1};
    CHECK(nn_params_add(&p, "enc.w", 3, sew, NN_INIT_UNIFORM, 0.5f, 1, NULL) == 0);
    CHECK(nn_params_add(&p, "enc.b", 1, seb, NN_INIT_ZERO, 0, 0, NULL) == 1);
    CHECK(nn_params_add(&p, "dec.w", 3, sdw, NN_INIT_UNIFORM, 0.25f, 1, NULL) == 2);
    CHECK(nn_params_add(&p, "dec.b", 1, sdb, NN_INIT_ZERO, 0, 0, NULL) == 3);
    CHECK(nn_params_alloc(&p, 1, NULL) == 0);
    nac_rng r;
    nac_rng_seed(&r, 77);
    nn_params_init(&p, &r);
    float x[B * T], h[B * C * T / 2], a[B * C * T / 2], y[B * T], dy[B * T], da[B * C * T / 2], dh[B * C * T / 2];
    for (int b = 0; b < B; b++) {
        double f1 = 0.05 + 0.1 * nac_rng_uniform(&r), f2 = 0.2 + 0.2 * nac_rng_uniform(&r);
        for (int t = 0; t < T; t++)
            x[b * T + t] = (float)(0.6 * sin(2 * M_PI * f1 * t) + 0.3 * sin(2 * M_PI * f2 * t + b));
    }
    nn_adamw cfg = {0.9f, 0.999f, 1e-8f, 1e-4f};
    double first = 0, last = 0;
    for (int step = 1; step <= 300; step++) {
        nn_conv1d_forward(h, x, NULL, nn_params_data(&p, 0), nn_params_data(&p, 1), &enc, B, T);
        nn_tanh_forward(a, h, B * C * T / 2);
        nn_convtr1d_forward(y, a, NULL, nn_params_data(&p, 2), nn_params_data(&p, 3), &dec, B, T / 2);
        double loss = 0;
        for (int i = 0; i < B * T; i++) {
            double d = (double)y[i] - x[i];
            loss += d * d;
            dy[i] = (float)(2.0 * d / (B * T));
        }
        loss /= B * T;
        if (step == 1)
            first = loss;
        last = loss;
        nn_params_zero_grad(&p);
        memset(da, 0, sizeof da);
        memset(dh, 0, sizeof dh);
        nn_convtr1d_backward(da, nn_params_grad(&p, 2), nn_params_grad(&p, 3), dy, a, nn_params_data(&p, 2), &dec, B,
                             T / 2);
        nn_tanh_backward(dh, da, a, B * C * T / 2);
        nn_conv1d_backward(NULL, nn_params_grad(&p, 0), nn_params_grad(&p, 1), dh, x, nn_params_data(&p, 0), &enc, B, T);
        nn_grad_clip(&p, 10.0);
        nn_adamw_step(&p, &cfg, nn_lr_at(step, 10, 300, 2e-2f, 1e-3f), step);
    }
    nn_params_free(&p);
    CHECKF(last * 10 < first, "loss %.4g -> %.4g, not 10x lower", first, last);
    snprintf(t_->why, sizeof t_->why, "MSE %.3g -> %.3g", first, last);
}
