/* Tests of the multi-resolution STFT discriminator: finite-difference gradient checks (parameters and
 * input waveform, hinge and feature-matching losses), accumulation, thread independence, a D step
 * that widens the real/fake margin, save/load, and a resumed `nac train --adv-weight` run. */
#include "test.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "format/weights.h"
#include "model/disc.h"
#include "nn/optim.h"

enum { TB = 2, TT = 70 }; /* T not a multiple of any hop: exercises the padding */

static void tiny(nac_disc_config *c)
{
    nac_disc_config_default(c);
    c->n_res = 2;
    c->n_fft[0] = 16;
    c->n_fft[1] = 32;
    c->channels = 5;
}

static void fill(float *w, int n, uint64_t seed, double amp)
{
    nac_rng r;
    nac_rng_seed(&r, seed);
    for (int i = 0; i < n; i++)
        w[i] = (float)(amp * nac_rng_normal(&r));
}

/* which: 0 = D loss on all rows; 1 = G loss (adv 0.7, fm 1.3) */
static double loss_at(nac_disc *d, const float *w, int which)
{
    if (nac_disc_forward(d, w, 2 * TB, TT, NULL))
        return NAN;
    return which ? nac_disc_loss_g(d, TB, 0.7f, 1.3f, NULL, NULL) : nac_disc_loss_d(d, TB);
}

static double rel_err(double num, double ana, double scale)
{
    return fabs(num - ana) / (1e-3 * scale + 1e-2 * fmax(fabs(num), fabs(ana)));
}

/* Finite differences of loss_at in v (a parameter or input sample), in double. The losses are piecewise
 * linear in any one value (leaky ReLU, hinge, L1), so where a kink lies within h of v one of the
 * one-sided differences is still exact: the error is the smallest over the central and both one-sided
 * differences. *kink is set when the one-sided differences disagree. */
static double fd_err(nac_disc *d, float *w, float *v, int which, double ana, double scale, int *kink)
{
    static const float hs[2] = {2e-3f, 5e-4f}; /* the smaller step for kinks on both sides of v */
    float keep = *v;
    double l0 = loss_at(d, w, which), e = INFINITY;
    *kink = 0;
    for (int k = 0; k < 2; k++) {
        float h = hs[k];
        *v = keep + h;
        double lp = loss_at(d, w, which);
        *v = keep - h;
        double lm = loss_at(d, w, which);
        *v = keep;
        double fw = (lp - l0) / h, bw = (l0 - lm) / h, c = (lp - lm) / (2.0 * h);
        *kink |= rel_err(fw, bw, scale) > 1;
        e = fmin(e, fmin(rel_err(c, ana, scale), fmin(rel_err(fw, ana, scale), rel_err(bw, ana, scale))));
        if (getenv("NAC_GRADCHECK_VERBOSE"))
            printf("h %g fw %12.6g bw %12.6g ana %12.6g err %.3f\n", (double)h, fw, bw, ana, e);
    }
    return e;
}

/* D-loss gradient check on every parameter tensor (3 elements each) and 24 input samples. Returns the
 * worst error (relative to tolerance) and counts the elements over tolerance and near kinks. */
typedef struct gc_stats {
    double worst;
    const char *worst_name;
    int n, over, kinks;
} gc_stats;

static int gradcheck_d(gc_stats *s, float slope, uint64_t seed)
{
    nac_disc_config c;
    tiny(&c);
    c.slope = slope;
    nac_disc *d = NULL;
    if (nac_disc_create(&d, &c, 2 * TB, TT, 0, NULL))
        return 0;
    nac_disc_init(d, seed);
    nn_params *p = nac_disc_params(d);
    float w[2 * TB * TT], dw[2 * TB * TT] = {0};
    fill(w, 2 * TB * TT, seed + 4, 0.5);
    memset(s, 0, sizeof *s);
    s->worst_name = "";
    double l0 = loss_at(d, w, 0), gmax = 0, gx = 0;
    nn_params_zero_grad(p);
    int ok = isfinite(l0) && nac_disc_backward(d, dw, 1, 0, 2 * TB, NULL) == NAC_OK;
    nac_rng r;
    nac_rng_seed(&r, seed + 1);
    for (size_t j = 0; j < p->total; j++)
        gmax = fmax(gmax, fabs(p->grad[j]));
    for (int i = 0; i < 2 * TB * TT; i++)
        gx = fmax(gx, fabs(dw[i]));
    for (int i = 0; ok && i < p->n + 8; i++) {
        for (int k = 0; k < 3; k++) {
            int kink;
            double e;
            const char *name = "input";
            if (i < p->n) {
                const nn_tensor *t = &p->t[i];
                size_t j = t->offset + nac_rng_below(&r, t->numel);
                e = fd_err(d, w, p->data + j, 0, p->grad[j], gmax, &kink);
                name = t->name;
            } else {
                int j = (int)nac_rng_below(&r, 2 * TB * TT);
                e = fd_err(d, w, w + j, 0, dw[j], gx, &kink);
            }
            s->kinks += kink;
            s->over += e > 1;
            s->n++;
            if (e > s->worst) {
                s->worst = e;
                s->worst_name = name;
            }
        }
    }
    nac_disc_destroy(d);
    return ok && gx > 0 && gmax > 0;
}

TEST(disc_gradcheck_d_loss)
{
    /* Nearly linear (slope 0.99): finite differences are exact, so every element must agree; this
     * covers the STFT adjoint, padding, dilations and biases. */
    gc_stats a, b;
    CHECK(gradcheck_d(&a, 0.99f, 5));
    CHECKF(a.worst <= 1.0, "slope 0.99: worst gradient error %.3g of tolerance in %s", a.worst, a.worst_name);
    /* Slope 0.2: a perturbation can cross leaky-ReLU kinks on both sides, where no difference is exact;
     * allow one such element in 84 (and nothing wildly off). */
    CHECK(gradcheck_d(&b, 0.2f, 5));
    CHECKF(b.over <= 1 && b.worst <= 10 && 2 * b.kinks <= b.n, "slope 0.2: %d of %d over tolerance (worst %.3g in %s), %d near kinks",
           b.over, b.n, b.worst, b.worst_name, b.kinks);
    snprintf(t_->why, sizeof t_->why, "%d elements: slope 0.99 worst %.3f of tolerance; slope 0.2 worst %.3f (%s), %d over, %d near kinks",
             a.n, a.worst, b.worst, b.worst_name, b.over, b.kinks);
}

TEST(disc_gradcheck_g_loss_to_generated_input)
{
    nac_disc_config c;
    tiny(&c);
    nac_disc *d = NULL;
    CHECK(nac_disc_create(&d, &c, 2 * TB, TT, 0, NULL) == NAC_OK);
    nac_disc_init(d, 6);
    float w[2 * TB * TT], dw[TB * TT] = {0};
    fill(w, 2 * TB * TT, 10, 0.5);
    double adv, fm;
    CHECK(nac_disc_forward(d, w, 2 * TB, TT, NULL) == NAC_OK);
    double l0 = nac_disc_loss_g(d, TB, 0.7f, 1.3f, &adv, &fm);
    CHECK_NEAR(l0, 0.7f * adv + 1.3f * fm, 1e-9);
    CHECK(fm > 0 && adv > 0);
    CHECK(nac_disc_backward(d, dw, 0, TB, TB, NULL) == NAC_OK);
    double gx = 0, worst = 0;
    for (int i = 0; i < TB * TT; i++)
        gx = fmax(gx, fabs(dw[i]));
    nac_rng r;
    nac_rng_seed(&r, 4);
    int kinks = 0;
    for (int k = 0; k < 40; k++) {
        int i = (int)nac_rng_below(&r, TB * TT), kink;
        worst = fmax(worst, fd_err(d, w, w + TB * TT + i, 1, dw[i], gx, &kink));
        kinks += kink;
    }
    CHECK(gx > 0);
    CHECKF(worst <= 1.0, "worst generated-input gradient error %.3g of tolerance", worst);
    snprintf(t_->why, sizeof t_->why, "40 inputs: worst %.3f of tolerance, %d near kinks (adv %.3f, fm %.3f)", worst,
             kinks, adv, fm);
    nac_disc_destroy(d);
}

TEST(disc_backward_twice_doubles_and_threads_agree)
{
    nac_disc_config c;
    tiny(&c);
    nac_disc *d = NULL;
    CHECK(nac_disc_create(&d, &c, 2 * TB, TT, 0, NULL) == NAC_OK);
    nac_disc_init(d, 7);
    nn_params *p = nac_disc_params(d);
    size_t np = p->total;
    float w[2 * TB * TT], dw1[2 * TB * TT] = {0}, dw2[2 * TB * TT] = {0};
    float *g1 = malloc(np * sizeof *g1);
    CHECK(g1);
    fill(w, 2 * TB * TT, 11, 0.5);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    CHECK(nac_disc_forward(d, w, 2 * TB, TT, NULL) == NAC_OK);
    nac_disc_loss_g(d, TB, 1.0f, 2.0f, NULL, NULL);
    nn_params_zero_grad(p);
    CHECK(nac_disc_backward(d, dw1, 1, 0, 2 * TB, NULL) == NAC_OK);
    memcpy(g1, p->grad, np * sizeof *g1);
    omp_set_num_threads(2);
    CHECK(nac_disc_forward(d, w, 2 * TB, TT, NULL) == NAC_OK);
    nac_disc_loss_g(d, TB, 1.0f, 2.0f, NULL, NULL);
    nn_params_zero_grad(p);
    CHECK(nac_disc_backward(d, dw2, 1, 0, 2 * TB, NULL) == NAC_OK);
    omp_set_num_threads(threads);
    int same = !memcmp(g1, p->grad, np * sizeof *g1) && !memcmp(dw1, dw2, sizeof dw1);
    CHECK(nac_disc_backward(d, dw2, 1, 0, 2 * TB, NULL) == NAC_OK);
    double worst = 0;
    for (size_t j = 0; j < np; j++)
        worst = fmax(worst, fabs(p->grad[j] - 2 * g1[j]));
    for (int i = 0; i < 2 * TB * TT; i++)
        worst = fmax(worst, fabs(dw2[i] - 2 * dw1[i]));
    free(g1);
    nac_disc_destroy(d);
    CHECK(same);
    CHECKF(worst <= 1e-6, "second backward differs from doubling by %g", worst);
}

static double margin(const nac_disc *d, int B)
{
    const nac_disc_config *c = nac_disc_get_config(d);
    double m = 0;
    for (int r = 0; r < c->n_res; r++) {
        int Tf;
        const float *l = nac_disc_logits(d, r, &Tf);
        double sx = 0, sy = 0;
        for (int i = 0; i < B * Tf; i++) {
            sx += l[i];
            sy += l[B * Tf + i];
        }
        m += (sx - sy) / (B * Tf);
    }
    return m / c->n_res;
}

TEST(disc_step_widens_margin)
{
    nac_disc_config c;
    tiny(&c);
    nac_disc *d = NULL;
    CHECK(nac_disc_create(&d, &c, 2 * TB, TT, 1, NULL) == NAC_OK);
    nac_disc_init(d, 8);
    nn_params *p = nac_disc_params(d);
    float w[2 * TB * TT];
    fill(w + TB * TT, TB * TT, 12, 0.3); /* fake: white noise */
    for (int b = 0; b < TB; b++)       /* real: tones */
        for (int t = 0; t < TT; t++)
            w[b * TT + t] = 0.5f * sinf(0.3f * (float)(b + 1) * (float)t);
    nn_adamw opt = {0.8f, 0.99f, 1e-8f, 0.0f};
    double l0 = 0, m0 = 0, l = 0, m = 0;
    for (int s = 0; s <= 40; s++) {
        CHECK(nac_disc_forward(d, w, 2 * TB, TT, NULL) == NAC_OK);
        l = nac_disc_loss_d(d, TB);
        m = margin(d, TB);
        if (s == 0) {
            l0 = l;
            m0 = m;
        }
        if (s == 40)
            break;
        nn_params_zero_grad(p);
        CHECK(nac_disc_backward(d, NULL, 1, 0, 2 * TB, NULL) == NAC_OK);
        nn_adamw_step(p, &opt, 2e-3f, s + 1);
    }
    nac_disc_destroy(d);
    CHECKF(m > m0 + 0.1 && l < 0.95 * l0, "margin %.4f -> %.4f, D loss %.4f -> %.4f", m0, m, l0, l);
    snprintf(t_->why, sizeof t_->why, "40 steps: margin %.3f -> %.3f, D loss %.3f -> %.3f", m0, m, l0, l);
}

TEST(disc_save_load_roundtrip)
{
    nac_disc_config c;
    tiny(&c);
    nac_disc *d = NULL, *e = NULL;
    CHECK(nac_disc_create(&d, &c, 2 * TB, TT, 1, NULL) == NAC_OK);
    nac_disc_init(d, 9);
    nn_params *p = nac_disc_params(d);
    fill(p->m, (int)p->total, 13, 1.0);
    fill(p->v, (int)p->total, 14, 1.0);
    char path[512];
    snprintf(path, sizeof path, "%s/d.disc", nac_test_tmp_dir());
    nac_error err;
    CHECKF(nac_disc_save(d, path, 1234, &err) == NAC_OK, "%s", err.msg);
    long step = 0;
    int had = 0;
    CHECKF(nac_disc_load(&e, path, 2 * TB, TT, &step, &had, &err) == NAC_OK, "%s", err.msg);
    nn_params *q = nac_disc_params(e);
    int same = q->n == p->n && q->total == p->total;
    for (int i = 0; same && i < p->n; i++) { /* per tensor: the arenas' alignment gaps are not stored */
        size_t o = p->t[i].offset, b = p->t[i].numel * sizeof(float);
        same = !memcmp(q->data + o, p->data + o, b) && !memcmp(q->m + o, p->m + o, b) && !memcmp(q->v + o, p->v + o, b);
    }
    nac_disc_destroy(d);
    nac_disc_destroy(e);
    CHECKF(same && step == 1234 && had == 1, "same %d step %ld had %d", same, step, had);
    /* a workspace size of 0 is refused, not crashed on */
    CHECK(nac_disc_load(&e, path, 2 * TB, 0, NULL, NULL, NULL) == NAC_ERR_ARG);
}

/* nac train --adv-weight on a tiny model: an interrupted and resumed run ends with the same codec
 * tensors and the same discriminator file as an uninterrupted one. */
TEST(disc_train_adversarial_resume_is_bit_identical)
{
    const char *tmp = nac_test_tmp_dir(), *bin = nac_test_bin();
    char cfg[512], cmd[3072], pa[512], pb[512];
    snprintf(cfg, sizeof cfg, "%s/adv_tiny.cfg", tmp);
    FILE *f = fopen(cfg, "w");
    CHECK(f != NULL);
    fprintf(f, "channels = 16\nhidden = 24\nenc_hi = 1\nenc_lo = 1\ndec_lo = 1\ndec_hi = 1\n"
               "latent_dim = 16\nrvq.stages = 4\nrvq.codebook_size = 16\n");
    fclose(f);
    const char *common = "--batch 2 --seconds 0.4 --save-every 1000 --print-every 1000 --warmup 2 --seed 3 "
                         "--adv-weight 1 --adv-start 2";
    const char *steps[3] = {"--steps 6", "--steps 3", "--steps 6"}, *outs[3] = {"adv_a", "adv_b", "adv_b"};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s train --data %s --out %s/%s.nacw %s%s %s %s 2>/dev/null", bin,
                 nac_test_fixture_dir(), tmp, outs[i], i < 2 ? "--config " : "", i < 2 ? cfg : "", steps[i], common);
        CHECKF(nac_test_sh("%s", cmd) == 0, "%s", cmd);
    }
    nac_weights *a = NULL, *b = NULL;
    nac_error e;
    for (int k = 0; k < 2; k++) {
        snprintf(pa, sizeof pa, "%s/adv_a.nacw.%s", tmp, k ? "disc" : "ckpt");
        snprintf(pb, sizeof pb, "%s/adv_b.nacw.%s", tmp, k ? "disc" : "ckpt");
        CHECKF(nac_weights_load(&a, pa, &e) == NAC_OK, "%s", e.msg);
        CHECKF(nac_weights_load(&b, pb, &e) == NAC_OK, "%s", e.msg);
        int same = nac_weights_count(a) == nac_weights_count(b) && nac_weights_count(a) > 10;
        for (size_t i = 0; same && i < nac_weights_count(a); i++) {
            const nac_tensor_info *ta = nac_weights_tensor(a, i), *tb = nac_weights_find(b, ta->name);
            same = tb && tb->nbytes == ta->nbytes && !memcmp(nac_weights_data(a, ta), nac_weights_data(b, tb), ta->nbytes);
        }
        if (k)
            same = same && !strcmp(nac_weights_config(a, "disc.step"), "4") &&
                   !strcmp(nac_weights_config(b, "disc.step"), "4");
        nac_weights_destroy(a);
        nac_weights_destroy(b);
        CHECKF(same, "%s and %s differ", pa, pb);
    }
}
