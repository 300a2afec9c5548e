/* Tests of the codec network wiring: gradient check of the decoder path against central finite
 * differences, loss falling on a fixed batch, and save/load round trips. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "model/codec_io.h"
#include "nac/nac.h"
#include "model/codec_net.h"
#include "nn/loss_spectral.h"
#include "nn/optim.h"

static void tiny_config(nac_codec_config *c)
{
    nac_codec_config_default(c);
    c->n_fft = 32;
    c->hop = 16;
    c->down = 2;
    c->channels = 8;
    c->hidden = 12;
    c->kernel = 3;
    c->enc_hi = c->enc_lo = c->dec_lo = c->dec_hi = 1;
    c->latent_dim = c->rvq.dim = 6;
    c->rvq.n_stages = 2;
    c->rvq.codebook_size = 8;
    c->rvq.code_dim = 4;
}

/* L = sum(y * g) + vq.total + phase_weight * phase loss, in double. */
static double model_loss(nac_codec_train *w, const float *x, const float *g, int B, int T, float phase_weight)
{
    const float *y;
    nac_rvq_losses vq;
    if (nac_codec_train_forward(w, x, NULL, B, T, &y, &vq, NULL))
        return NAN;
    double s = vq.total;
    if (phase_weight > 0)
        s += phase_weight * nac_codec_train_phase_loss(w, NN_PHASE_ABS, NULL, phase_weight);
    for (size_t i = 0; i < (size_t)B * (size_t)T; i++)
        s += (double)y[i] * (double)g[i];
    return s;
}

static void decoder_gradcheck(nac_test *t_, int phase_head, float phase_weight)
{
    nac_codec_config c;
    tiny_config(&c);
    c.phase_head = phase_head;
    nac_codec_net *n = NULL;
    nac_codec_train *w = NULL;
    int B = 2, T = 128;
    CHECK(nac_codec_net_create(&n, &c, 0, NULL) == NAC_OK);
    nac_codec_net_init(n, 3);
    /* layer scales start small; make the path through every block matter */
    for (int i = 0; i < n->p.n; i++)
        if (strstr(n->p.t[i].name, "scale"))
            for (size_t j = 0; j < n->p.t[i].numel; j++)
                n->p.data[n->p.t[i].offset + j] = 0.7f;
    CHECK(nac_codec_train_create(&w, n, B, T, NULL) == NAC_OK);
    float *x = malloc(sizeof(float) * (size_t)(B * T)), *g = malloc(sizeof(float) * (size_t)(B * T));
    nac_rng r;
    nac_rng_seed(&r, 11);
    if (phase_head) { /* phase vectors away from (0, 0), where their direction turns too fast for
                       * finite differences */
        int F = nac_codec_bins(&c), hb = nn_params_find(&n->p, "dec.head.b");
        for (int k = F; k < 3 * F; k++)
            n->p.data[n->p.t[hb].offset + (size_t)k] = nac_rng_uniform(&r) < 0.5 ? -3.0f : 3.0f;
    }
    for (int i = 0; i < B * T; i++) {
        x[i] = (float)(0.3 * nac_rng_normal(&r));
        g[i] = phase_weight > 0 ? 0.0f : (float)nac_rng_normal(&r); /* one loss at a time */
    }
    double l0 = model_loss(w, x, g, B, T, phase_weight);
    CHECK(isfinite(l0));
    nn_params_zero_grad(&n->p);
    CHECK(nac_codec_train_backward(w, g, NULL) == NAC_OK);
    double worst = 0;
    const char *worst_name = "";
    int checked = 0;
    for (int i = 0; i < n->p.n; i++) {
        const nn_tensor *t = &n->p.t[i];
        if (strncmp(t->name, "dec.", 4))
            continue;
        for (int k = 0; k < 3; k++) {
            size_t j = t->offset + nac_rng_below(&r, t->numel);
            float keep = n->p.data[j];
            float h = 2e-3f * (fabsf(keep) > 1 ? fabsf(keep) : 1);
            n->p.data[j] = keep + h;
            double lp = model_loss(w, x, g, B, T, phase_weight);
            n->p.data[j] = keep - h;
            double lm = model_loss(w, x, g, B, T, phase_weight);
            n->p.data[j] = keep;
            double num = (lp - lm) / (2.0 * h), ana = n->p.grad[j];
            double e = fabs(num - ana) / (1e-3 + 1e-2 * fmax(fabs(num), fabs(ana)));
            if (getenv("NAC_GRADCHECK_VERBOSE"))
                printf("%-16s num %12.6f ana %12.6f err %.3f\n", t->name, num, ana, e);
            if (e > worst) {
                worst = e;
                worst_name = t->name;
            }
            checked++;
        }
    }
    CHECKF(worst <= 1.0, "worst gradient error %.3g (relative to tolerance) in %s", worst, worst_name);
    snprintf(t_->why, sizeof t_->why, "%d decoder elements, worst error %.3f of tolerance", checked, worst);
    /* encoder gradients exist (straight-through) */
    double enc = 0;
    int iw = nn_params_find(&n->p, "enc.in.w");
    for (size_t j = 0; j < n->p.t[iw].numel; j++)
        enc += fabs(n->p.grad[n->p.t[iw].offset + j]);
    CHECK(enc > 0);
    free(x);
    free(g);
    nac_codec_train_destroy(w);
    nac_codec_net_destroy(n);
}

TEST(model_decoder_gradcheck) { decoder_gradcheck(t_, 0, 0.0f); }
TEST(model_decoder_gradcheck_vector_phase) { decoder_gradcheck(t_, 1, 0.0f); }
/* the phase loss's gradient enters at the head, not through the waveform */
TEST(model_decoder_gradcheck_phase_loss) { decoder_gradcheck(t_, 0, 5.0f); }
TEST(model_decoder_gradcheck_phase_loss_vector_phase) { decoder_gradcheck(t_, 1, 5.0f); }

TEST(model_loss_falls_on_fixed_batch)
{
    nac_codec_config c;
    nac_codec_config_default(&c);
    c.channels = 32;
    c.hidden = 64;
    c.enc_hi = c.enc_lo = c.dec_lo = c.dec_hi = 1;
    c.rvq.n_stages = 4;
    c.rvq.codebook_size = 32;
    nac_codec_net *n = NULL;
    nac_codec_train *w = NULL;
    nn_melspec_loss *mel = NULL;
    int B = 2, T = 3200, delay = nac_codec_delay(&c), Tc = T - delay;
    CHECK(nac_codec_net_create(&n, &c, 1, NULL) == NAC_OK);
    nac_codec_net_init(n, 5);
    CHECK(nac_codec_train_create(&w, n, B, T, NULL) == NAC_OK);
    nn_melspec_config mc;
    nn_melspec_config_default(&mc, c.sample_rate);
    CHECK(nn_melspec_loss_create(&mel, &mc, B, Tc, NULL) == NAC_OK);
    float *x = calloc((size_t)(B * T), sizeof(float)), *dy = calloc((size_t)(B * T), sizeof(float));
    float *yc = calloc((size_t)(B * Tc), sizeof(float)), *xc = calloc((size_t)(B * Tc), sizeof(float));
    float *dyc = calloc((size_t)(B * Tc), sizeof(float));
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            x[b * T + t] = 0.2f * sinf(0.05f * (float)(b + 1) * (float)t) + 0.1f * sinf(0.31f * (float)t);
    nn_adamw opt = {0.8f, 0.99f, 1e-8f, 0.0f};
    double first = 0, last = 0;
    for (int step = 1; step <= 60; step++) {
        const float *y;
        nac_rvq_losses vq;
        CHECK(nac_codec_train_forward(w, x, NULL, B, T, &y, &vq, NULL) == NAC_OK);
        nac_codec_align(yc, xc, y, x, B, T, delay);
        memset(dyc, 0, sizeof(float) * (size_t)(B * Tc));
        double l = nn_melspec_loss_forward_backward(mel, dyc, yc, xc, B, Tc, 1.0f);
        nac_codec_unalign_grad(dy, dyc, B, T, delay);
        nn_params_zero_grad(&n->p);
        CHECK(nac_codec_train_backward(w, dy, NULL) == NAC_OK);
        nn_adamw_step(&n->p, &opt, 3e-3f, step);
        CHECK(nac_codec_train_update_vq(w, (uint64_t)step, NULL) == NAC_OK);
        if (step == 1)
            first = l;
        last = l;
    }
    CHECKF(last < 0.6 * first, "mel loss %.4f -> %.4f", first, last);
    snprintf(t_->why, sizeof t_->why, "mel loss %.3f -> %.3f in 60 steps", first, last);
    free(x);
    free(dy);
    free(yc);
    free(xc);
    free(dyc);
    nn_melspec_loss_destroy(mel);
    nac_codec_train_destroy(w);
    nac_codec_net_destroy(n);
}

TEST(model_save_load_roundtrip)
{
    nac_codec_config c;
    tiny_config(&c);
    nac_codec_net *n = NULL, *m = NULL;
    nac_weights *wf = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/model.nacw", nac_test_tmp_dir());
    CHECK(nac_codec_net_create(&n, &c, 1, NULL) == NAC_OK);
    nac_codec_net_init(n, 9);
    for (size_t i = 0; i < n->p.total; i++) {
        n->p.m[i] = (float)i * 1e-3f;
        n->p.v[i] = (float)i * 1e-4f;
    }
    nac_codec_save_opts so = {1, NAC_DTYPE_F32, NAC_DTYPE_F32, 0, NULL};
    CHECK(nac_codec_net_save(n, path, &so, NULL) == NAC_OK);
    nac_error e;
    int had = 0;
    CHECKF(nac_weights_load(&wf, path, &e) == NAC_OK, "%s", e.msg);
    CHECKF(nac_codec_net_from_weights(&m, wf, 1, &had, &e) == NAC_OK, "%s", e.msg);
    CHECK(had == 1);
    CHECK(m->p.total == n->p.total);
    for (int i = 0; i < n->p.n; i++) {
        size_t o = n->p.t[i].offset, k = n->p.t[i].numel * sizeof(float);
        CHECK(m->p.t[i].offset == o);
        CHECK(memcmp(m->p.data + o, n->p.data + o, k) == 0);
        CHECK(memcmp(m->p.m + o, n->p.m + o, k) == 0);
        CHECK(memcmp(m->p.v + o, n->p.v + o, k) == 0);
    }
    CHECK(memcmp(m->rvq_state, n->rvq_state, n->rvq.state_floats * sizeof(float)) == 0);
    CHECK(m->cfg.channels == c.channels && m->cfg.rvq.n_stages == c.rvq.n_stages);
    nac_weights_destroy(wf);
    nac_codec_net_destroy(m);
    nac_codec_net_destroy(n);
}

static void count_note(void *ctx, const char *name, const char *what)
{
    (void)name;
    (void)what;
    ++*(int *)ctx;
}

/* A model grafted into a grown config (the vector phase head: 3F head rows instead of 2F) keeps
 * every tensor that fits, the head's leading rows, and initialises the rest. */
TEST(model_graft_into_grown_head)
{
    nac_codec_config c;
    tiny_config(&c);
    nac_codec_net *n = NULL, *g = NULL;
    nac_weights *wf = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/graft.nacw", nac_test_tmp_dir());
    CHECK(nac_codec_net_create(&n, &c, 0, NULL) == NAC_OK);
    nac_codec_net_init(n, 9);
    nac_codec_save_opts so = {0, NAC_DTYPE_F32, NAC_DTYPE_F32, 0, NULL};
    CHECK(nac_codec_net_save(n, path, &so, NULL) == NAC_OK);
    CHECK(nac_weights_load(&wf, path, NULL) == NAC_OK);
    nac_codec_config c2 = c;
    c2.phase_head = 1;
    CHECK(nac_codec_net_create(&g, &c2, 0, NULL) == NAC_OK);
    nac_codec_net_init(g, 10);
    int hw = nn_params_find(&g->p, "dec.head.w");
    size_t head_old = n->p.t[hw].numel, head_new = g->p.t[hw].numel;
    CHECK(head_new == head_old * 3 / 2);
    float tail = g->p.data[g->p.t[hw].offset + head_new - 1];
    int notes = 0;
    nac_error e;
    CHECKF(nac_codec_net_graft(g, wf, count_note, &notes, &e) == NAC_OK, "%s", e.msg);
    CHECK(notes == 2); /* dec.head.w and dec.head.b */
    for (int i = 0; i < n->p.n; i++) {
        size_t k = n->p.t[i].numel;
        CHECKF(memcmp(g->p.data + g->p.t[i].offset, n->p.data + n->p.t[i].offset, k * sizeof(float)) == 0,
               "%s not copied", n->p.t[i].name);
    }
    CHECK(g->p.data[g->p.t[hw].offset + head_new - 1] == tail);
    CHECK(memcmp(g->rvq_state, n->rvq_state, n->rvq.state_floats * sizeof(float)) == 0);
    nac_weights_destroy(wf);
    nac_codec_net_destroy(g);
    nac_codec_net_destroy(n);
}

/* The streaming encoder and decoder of the public API compute what the training pass computes:
 * the same codes and, to rounding, the same output, for either phase head. */
static void stream_equals_training(nac_test *t_, int phase_head)
{
    nac_codec_config c;
    tiny_config(&c);
    c.phase_head = phase_head;
    enum { T = 640 };
    int fs = nac_codec_frame_size(&c), frames = T / fs, S = c.rvq.n_stages;
    nac_codec_net *n = NULL;
    nac_codec_train *w = NULL;
    nac_model *m = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/stream%d.nacw", nac_test_tmp_dir(), phase_head);
    CHECK(nac_codec_net_create(&n, &c, 0, NULL) == NAC_OK);
    nac_codec_net_init(n, 5);
    nac_codec_save_opts so = {0, NAC_DTYPE_F32, NAC_DTYPE_F32, 0, NULL};
    CHECK(nac_codec_net_save(n, path, &so, NULL) == NAC_OK);
    nac_error e;
    CHECKF(nac_model_load(&m, path, &e) == NAC_OK, "%s", e.msg);
    static float x[T], ys[T];
    nac_rng r;
    nac_rng_seed(&r, 3);
    for (int i = 0; i < T; i++)
        x[i] = (float)(0.2 * nac_rng_normal(&r));
    CHECK(nac_codec_train_create(&w, n, 1, T, NULL) == NAC_OK);
    const float *yt;
    nac_rvq_losses vq;
    CHECK(nac_codec_train_forward(w, x, NULL, 1, T, &yt, &vq, NULL) == NAC_OK);
    int32_t codes[64 * 8];
    CHECK(frames * S <= 64 * 8);
    nac_encoder *enc = NULL;
    nac_decoder *dec = NULL;
    size_t got = 0;
    CHECK(nac_encoder_create(&enc, m, S, NULL) == NAC_OK && nac_decoder_create(&dec, m, NULL) == NAC_OK);
    CHECK(nac_encoder_push(enc, codes, 64, &got, x, T, NULL) == NAC_OK && got == (size_t)frames);
    CHECK(memcmp(codes, nac_codec_train_codes(w), (size_t)frames * S * sizeof *codes) == 0);
    CHECK(nac_decoder_decode(dec, ys, codes, NULL, (size_t)frames, S, NULL) == NAC_OK);
    double worst = 0, peak = 0;
    for (int i = 0; i < T; i++) {
        worst = fmax(worst, fabs((double)ys[i] - yt[i]));
        peak = fmax(peak, fabs((double)yt[i]));
    }
    CHECKF(worst <= 1e-4 * peak, "streaming output differs from training by %.3g (peak %.3g)", worst, peak);
    snprintf(t_->why, sizeof t_->why, "largest difference %.2g of a peak %.2g", worst, peak);
    nac_encoder_destroy(enc);
    nac_decoder_destroy(dec);
    nac_model_destroy(m);
    nac_codec_train_destroy(w);
    nac_codec_net_destroy(n);
}

TEST(model_streaming_equals_training_angle_phase) { stream_equals_training(t_, 0); }
TEST(model_streaming_equals_training_vector_phase) { stream_equals_training(t_, 1); }

/* The whole path can carry the input's own phase: trained on the absolute phase loss alone, on a
 * fixed batch of noise (whose phase nothing but the code can tell), a small vector-head codec goes
 * from unrelated (1) to well below. The gradient has to reach the encoder through the VQ. */
TEST(model_learns_phase_on_fixed_batch)
{
    nac_codec_config c;
    nac_codec_config_default(&c);
    c.channels = 32;
    c.hidden = 64;
    c.enc_hi = c.enc_lo = c.dec_lo = c.dec_hi = 1;
    c.rvq.n_stages = 8;
    c.rvq.codebook_size = 64;
    c.phase_head = 1;
    nac_codec_net *n = NULL;
    nac_codec_train *w = NULL;
    enum { B = 2, T = 3200 };
    CHECK(nac_codec_net_create(&n, &c, 1, NULL) == NAC_OK);
    nac_codec_net_init(n, 5);
    CHECK(nac_codec_train_create(&w, n, B, T, NULL) == NAC_OK);
    static float x[B * T], dy[B * T]; /* dy stays 0: no waveform loss */
    nac_rng r;
    nac_rng_seed(&r, 1);
    for (int i = 0; i < B * T; i++)
        x[i] = 0.1f * (float)nac_rng_normal(&r);
    nn_adamw opt = {0.8f, 0.99f, 1e-8f, 0.0f};
    double first = 0, last = 0;
    for (int step = 1; step <= 100; step++) {
        const float *y;
        nac_rvq_losses vq;
        CHECK(nac_codec_train_forward(w, x, NULL, B, T, &y, &vq, NULL) == NAC_OK);
        double l = nac_codec_train_phase_loss(w, NN_PHASE_ABS, NULL, 1.0f);
        nn_params_zero_grad(&n->p);
        CHECK(nac_codec_train_backward(w, dy, NULL) == NAC_OK);
        nn_adamw_step(&n->p, &opt, 3e-3f, step);
        CHECK(nac_codec_train_update_vq(w, (uint64_t)step, NULL) == NAC_OK);
        if (step == 1)
            first = l;
        last = l;
    }
    CHECKF(first > 0.9 && last < 0.4, "phase loss %.3f -> %.3f", first, last);
    snprintf(t_->why, sizeof t_->why, "phase loss %.3f -> %.3f in 100 steps", first, last);
    nac_codec_train_destroy(w);
    nac_codec_net_destroy(n);
}
