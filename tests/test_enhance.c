/* Tests of src/enhance: gradient checks of the spectral loss and of the whole network (tiny
 * config, with the bandwidth-extension excitation), streaming equal to the batch forward and
 * independent of the chunking (1, 37, 320 samples), continuity at frame boundaries, save/load,
 * bad input, and the built-in models against their degraded input on the committed clip. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "audio/audio_file.h"
#include "core/rng.h"
#include "degrade/degrade.h"
#include "dsp/resample.h"
#include "enhance/enhance_net.h"
#include "format/weights.h"
#include "metrics/metrics.h"
#include "nac/enhance.h"

static void tiny_config(nac_enh_config *c, int task)
{
    nac_enh_config_default(c, task);
    c->n_fft = 32;
    c->hop = 16;
    c->channels = 6;
    c->hidden = 8;
    c->blocks = 2;
    c->kernel = 3;
    c->in_kernel = 2;
    if (task == NAC_ENHANCE_BWE) {
        c->excite_lo = 4;
        c->excite_hi = 10;
    }
}

TEST(enhance_spec_loss_gradcheck)
{
    nac_rng r;
    nac_rng_seed(&r, 3);
    enum { N = 23 };
    float yr[N], yi[N], sr[N], si[N], dr[N], di[N], tr[N], ti[N];
    for (int i = 0; i < N; i++) {
        yr[i] = (float)nac_rng_normal(&r);
        yi[i] = (float)nac_rng_normal(&r);
        sr[i] = (float)nac_rng_normal(&r);
        si[i] = (float)nac_rng_normal(&r);
    }
    nac_enh_spec_loss(dr, di, yr, yi, sr, si, N, 0.7f);
    double worst = 0;
    for (int i = 0; i < N; i++)
        for (int part = 0; part < 2; part++) {
            float *v = part ? yi : yr, keep = v[i], h = 1e-3f;
            v[i] = keep + h;
            double lp = nac_enh_spec_loss(tr, ti, yr, yi, sr, si, N, 0.7f);
            v[i] = keep - h;
            double lm = nac_enh_spec_loss(tr, ti, yr, yi, sr, si, N, 0.7f);
            v[i] = keep;
            double num = (lp - lm) / (2.0 * h), an = part ? di[i] : dr[i];
            double e = fabs(an - num) / (1e-4 + 1e-2 * fmax(fabs(an), fabs(num)));
            worst = e > worst ? e : worst;
        }
    CHECKF(worst <= 1, "spectral loss gradient off by %.2f tolerances", worst);
}

static void net_gradcheck(nac_test *t_, int task)
{
    nac_enh_config c;
    tiny_config(&c, task);
    nac_enh_net *n = NULL;
    nac_enh_train *w = NULL;
    nac_error err;
    CHECK(nac_enh_net_create(&n, &c, 0, &err) == NAC_OK);
    nac_enh_net_init(n, 5);
    nac_rng r;
    nac_rng_seed(&r, 9);
    for (size_t i = 0; i < n->p.total; i++) /* move away from the identity start so every path matters */
        n->p.data[i] += (float)(0.2 * nac_rng_normal(&r));
    enum { B = 2, T = 96 };
    float x[B * T], s[B * T];
    for (int i = 0; i < B * T; i++) {
        s[i] = (float)(0.5 * nac_rng_normal(&r));
        x[i] = s[i] + (float)(0.3 * nac_rng_normal(&r));
    }
    CHECK(nac_enh_train_create(&w, n, B, T, &err) == NAC_OK);
    nn_params_zero_grad(&n->p);
    nac_enh_train_forward(w, x, NULL);
    nac_enh_train_backward(w, s, 0.5f, 0.7f);
    float *an = malloc(n->p.total * sizeof *an);
    memcpy(an, n->p.grad, n->p.total * sizeof *an);
    /* a backward twice doubles the gradients */
    nac_enh_train_forward(w, x, NULL);
    nac_enh_train_backward(w, s, 0.5f, 0.7f);
    double worst2 = 0;
    for (size_t i = 0; i < n->p.total; i++)
        worst2 = fmax(worst2, fabs(n->p.grad[i] - 2 * an[i]) / (1e-6 + 1e-4 * fabs(an[i])));
    double worst = 0;
    const char *where = "";
    for (int k = 0; k < n->p.n; k++) {
        const nn_tensor *tt = &n->p.t[k];
        for (int j = 0; j < 6; j++) {
            size_t i = tt->offset + (size_t)nac_rng_below(&r, tt->numel);
            float keep = n->p.data[i], h = 1e-2f;
            n->p.data[i] = keep + h;
            nac_enh_train_forward(w, x, NULL);
            nn_params_zero_grad(&n->p);
            double lp = nac_enh_train_backward(w, s, 0.5f, 0.7f);
            n->p.data[i] = keep - h;
            nac_enh_train_forward(w, x, NULL);
            double lm = nac_enh_train_backward(w, s, 0.5f, 0.7f);
            n->p.data[i] = keep;
            double num = (lp - lm) / (2.0 * h);
            double e = fabs(an[i] - num) / (2e-4 + 3e-2 * fmax(fabs(an[i]), fabs(num)));
            if (e > worst) {
                worst = e;
                where = tt->name;
            }
        }
    }
    free(an);
    nac_enh_train_destroy(w);
    nac_enh_net_destroy(n);
    CHECKF(worst2 <= 1, "a second backward does not double the gradients (%.2f)", worst2);
    CHECKF(worst <= 1, "network gradient off by %.2f tolerances in %s", worst, where);
}

TEST(enhance_net_gradcheck_mask) { net_gradcheck(t_, NAC_ENHANCE_DENOISE); }
TEST(enhance_net_gradcheck_excitation) { net_gradcheck(t_, NAC_ENHANCE_BWE); }
