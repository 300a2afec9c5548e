/* Tests of the training losses in src/nn/loss_spectral.c and src/nn/loss_wave.c: forward pinned
 * to PyTorch (tests/fixtures/gen_loss.py), finite-difference gradients, thread independence. */
#include "test.h"

#include "core/bytes.h"
#include "core/rng.h"
#include "nn/loss_spectral.h"
#include "nn/loss_wave.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void fill_normal(float *x, size_t n, uint64_t seed, double scale)
{
    nac_rng r;
    nac_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * nac_rng_normal(&r));
}

/* A loss under test, as one function of (dy, y) with x, B, T bound. */
typedef struct loss_case {
    nn_mrstft_loss *mr;
    nn_melspec_loss *mel;
    const float *x;
    int B, T;
} loss_case;

static double eval_loss(const loss_case *c, float *dy, const float *y, float weight)
{
    if (c->mr)
        return nn_mrstft_loss_forward_backward(c->mr, dy, y, c->x, c->B, c->T, weight);
    if (c->mel)
        return nn_melspec_loss_forward_backward(c->mel, dy, y, c->x, c->B, c->T, weight);
    return nn_l1_loss_forward_backward(dy, y, c->x, c->B, c->T, weight);
}

/* Central differences (in double, on the float loss) on every element of y against the
 * analytic gradient (weight w). The losses are means, so gradients are small: the tolerance is
 * |a - n| <= afrac * max|a| + rtol * max(|a|, |n|). Returns 0 on failure; why names the worst
 * element either way. */
static int gradcheck(const loss_case *c, float *y, float w, double h, double afrac, double rtol,
                     char *why, size_t why_n)
{
    size_t n = (size_t)c->B * c->T;
    float *dy = calloc(n, sizeof(float));
    if (!dy)
        return 0;
    eval_loss(c, dy, y, w);
    double amax = 0;
    for (size_t i = 0; i < n; i++)
        amax = fmax(amax, fabs(dy[i]));
    double worst = -INFINITY, wa = 0, wn = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = y[i];
        y[i] = (float)(keep + h);
        double hp = (double)y[i] - keep;
        double lp = eval_loss(c, NULL, y, 1.0f);
        y[i] = (float)(keep - h);
        double hm = keep - (double)y[i];
        double lm = eval_loss(c, NULL, y, 1.0f);
        y[i] = keep;
        double num = w * (lp - lm) / (hp + hm), a = dy[i];
        double excess = fabs(a - num) - (afrac * amax + rtol * fmax(fabs(a), fabs(num)));
        if (excess > worst) {
            worst = excess;
            wi = i;
            wa = a;
            wn = num;
        }
    }
    free(dy);
    snprintf(why, why_n, "worst element %zu: analytic %.6g numeric %.6g (max |grad| %.3g)", wi, wa, wn, amax);
    return worst <= 0 && amax > 0;
}

/* Targets and predictions for gradient checks: y near 2.5 x keeps every |Y| - |X| and
 * mel_y - mel_x away from the kinks of |.|, which finite differences cannot straddle. */
static void gradcheck_signals(float *y, float *x, size_t n, uint64_t seed)
{
    float *e = malloc(n * sizeof(float));
    fill_normal(x, n, seed, 0.5);
    fill_normal(e, n, seed + 1, 0.1);
    for (size_t i = 0; i < n; i++)
        y[i] = e ? 2.5f * x[i] + e[i] : 2.5f * x[i];
    free(e);
}

/* ---- forward against PyTorch -------------------------------------------------------------- */

TEST(loss_spectral_matches_torch)
{
    enum { B = 2, T = 4000 };
    static float y[B * T], x[B * T];
    float ref[4];
    CHECKF(nac_test_read_f32(y, B * T, "loss_y.f32") == 0 && nac_test_read_f32(x, B * T, "loss_x.f32") == 0 &&
               nac_test_read_f32(ref, 4, "loss_ref.f32") == 0,
           "cannot read loss fixtures in %s", nac_test_fixture_dir());
    double got[4];
    nn_mrstft_config mc;
    nn_mrstft_loss *mr;
    nn_mrstft_config_default(&mc);
    CHECK(nn_mrstft_loss_create(&mr, &mc, B, T, NULL) == NAC_OK);
    got[0] = nn_mrstft_loss_forward_backward(mr, NULL, y, x, B, T, 1.0f);
    nn_mrstft_loss_destroy(mr);
    mc.n_res = 2;
    mc.n_fft[0] = 64;
    mc.hop[0] = 16;
    mc.n_fft[1] = 128;
    mc.hop[1] = 48;
    mc.eps = 1e-3f;
    CHECK(nn_mrstft_loss_create(&mr, &mc, B, T, NULL) == NAC_OK);
    got[1] = nn_mrstft_loss_forward_backward(mr, NULL, y, x, B, T, 1.0f);
    nn_mrstft_loss_destroy(mr);

    nn_melspec_config ec;
    nn_melspec_loss *ml;
    nn_melspec_config_default(&ec, 16000);
    CHECK(nn_melspec_loss_create(&ml, &ec, B, T, NULL) == NAC_OK);
    got[2] = nn_melspec_loss_forward_backward(ml, NULL, y, x, B, T, 1.0f);
    nn_melspec_loss_destroy(ml);
    ec.n_scales = 2;
    ec.win[0] = 128;
    ec.hop[0] = 32;
    ec.n_mels[0] = 16;
    ec.win[1] = 400;
    ec.hop[1] = 100;
    ec.n_mels[1] = 40;
    ec.power = 2.0f;
    ec.eps = 1e-4f;
    CHECK(nn_melspec_loss_create(&ml, &ec, B, T, NULL) == NAC_OK);
    got[3] = nn_melspec_loss_forward_backward(ml, NULL, y, x, B, T, 1.0f);
    nn_melspec_loss_destroy(ml);

    double worst = 0;
    for (int i = 0; i < 4; i++) {
        double rel = fabs(got[i] - ref[i]) / fabs(ref[i]);
        CHECKF(rel < 2e-5, "case %d: loss %.9g, torch %.9g (rel %.2g)", i, got[i], (double)ref[i], rel);
        worst = fmax(worst, rel);
    }
    snprintf(t_->why, sizeof t_->why, "worst relative difference %.2g", worst);
}

/* ---- gradients ---------------------------------------------------------------------------- */

TEST(loss_mrstft_gradcheck)
{
    enum { B = 2, T = 45 };
    float y[B * T], x[B * T];
    gradcheck_signals(y, x, B * T, 1);
    nn_mrstft_config mc;
    nn_mrstft_config_default(&mc);
    mc.n_res = 2;
    mc.n_fft[0] = 16;
    mc.hop[0] = 4;
    mc.n_fft[1] = 32;
    mc.hop[1] = 0; /* n_fft / 4 */
    mc.sc_weight = 0.7f;
    nn_mrstft_loss *mr;
    CHECK(nn_mrstft_loss_create(&mr, &mc, B, T, NULL) == NAC_OK);
    loss_case c = {mr, NULL, x, B, T};
    char why[200];
    int ok = gradcheck(&c, y, 1.5f, 1e-3, 5e-3, 1e-2, why, sizeof why);
    nn_mrstft_loss_destroy(mr);
    CHECKF(ok, "%s", why);
    snprintf(t_->why, sizeof t_->why, "%s", why);
}

static void mel_gradcheck(nac_test *t_, float power)
{
    enum { B = 2, T = 57 };
    float y[B * T], x[B * T];
    gradcheck_signals(y, x, B * T, 3);
    nn_melspec_config ec;
    nn_melspec_config_default(&ec, 16000);
    ec.n_scales = 2;
    ec.win[0] = 16;
    ec.n_mels[0] = 4;
    ec.win[1] = 32;
    ec.hop[1] = 12;
    ec.n_mels[1] = 6;
    ec.power = power;
    nn_melspec_loss *ml;
    CHECK(nn_melspec_loss_create(&ml, &ec, B, T, NULL) == NAC_OK);
    loss_case c = {NULL, ml, x, B, T};
    char why[200];
    int ok = gradcheck(&c, y, 2.0f, 1e-3, 5e-3, 1e-2, why, sizeof why);
    nn_melspec_loss_destroy(ml);
    CHECKF(ok, "%s", why);
    snprintf(t_->why, sizeof t_->why, "%s", why);
}

TEST(loss_melspec_gradcheck_magnitude) { mel_gradcheck(t_, 1.0f); }
TEST(loss_melspec_gradcheck_power) { mel_gradcheck(t_, 2.0f); }

TEST(loss_l1_value_and_gradient)
{
    float y[6] = {1, 2, 3, 4, 5, 6}, x[6] = {1, 3, 1, 4, 7, 5}, dy[6] = {0};
    double v = nn_l1_loss_forward_backward(dy, y, x, 2, 3, 3.0f);
    CHECK_NEAR(v, (0 + 1 + 2 + 0 + 2 + 1) / 6.0, 1e-12);
    const float want[6] = {0, -0.5f, 0.5f, 0, -0.5f, 0.5f};
    for (int i = 0; i < 6; i++)
        CHECK(dy[i] == want[i]);
    CHECK(nn_l1_loss_forward_backward(NULL, y, x, 2, 3, 1.0f) == v);
}

/* ---- contracts: weight, accumulation, NULL gradient, threads, bounds, silence -------------- */

static void check_contracts(nac_test *t_, loss_case *c, float *y)
{
    size_t n = (size_t)c->B * c->T;
    float *d1 = calloc(n, sizeof(float)), *d2 = calloc(n, sizeof(float)), *d3 = calloc(n, sizeof(float));
    CHECK(d1 && d2 && d3);
    double v1 = eval_loss(c, d1, y, 1.0f);
    double v2 = eval_loss(c, d2, y, 2.0f);
    double v0 = eval_loss(c, NULL, y, 1.0f);
    eval_loss(c, d3, y, 1.0f);
    eval_loss(c, d3, y, 1.0f);
    /* Weight 2 doubles every term exactly; a second call adds the scales one by one, so its sum
     * rounds differently. */
    int exact = 1, near = 1;
    double dmax = 0;
    for (size_t i = 0; i < n; i++)
        dmax = fmax(dmax, fabs(d1[i]));
    for (size_t i = 0; i < n; i++) {
        exact = exact && d2[i] == 2 * d1[i];
        near = near && fabs(d3[i] - 2.0 * d1[i]) <= 1e-6 * dmax;
    }
    free(d1);
    free(d2);
    free(d3);
    CHECK(v1 == v2 && v1 == v0 && isfinite(v1));
    CHECKF(exact, "weight 2 does not give exactly twice the gradient");
    CHECKF(near, "two calls do not give twice the gradient");
}

TEST(loss_spectral_contracts)
{
    enum { B = 3, T = 1000 };
    static float y[B * T], x[B * T];
    fill_normal(x, B * T, 5, 0.3);
    fill_normal(y, B * T, 6, 0.3);
    nn_mrstft_config mc;
    nn_melspec_config ec;
    nn_mrstft_loss *mr;
    nn_melspec_loss *ml;
    nn_mrstft_config_default(&mc);
    nn_melspec_config_default(&ec, 16000);
    CHECK(nn_mrstft_loss_create(&mr, &mc, B, T, NULL) == NAC_OK);
    CHECK(nn_melspec_loss_create(&ml, &ec, B, T, NULL) == NAC_OK);
    loss_case cm = {mr, NULL, x, B, T}, ce = {NULL, ml, x, B, T}, cw = {NULL, NULL, x, B, T};
    check_contracts(t_, &cm, y);
    check_contracts(t_, &ce, y);
    check_contracts(t_, &cw, y);
    /* shorter calls than the maximum, and out-of-range sizes */
    CHECK(isfinite(nn_mrstft_loss_forward_backward(mr, NULL, y, x, 1, 333, 1.0f)));
    CHECK(isfinite(nn_melspec_loss_forward_backward(ml, NULL, y, x, 2, 7, 1.0f)));
    CHECK(isnan(nn_mrstft_loss_forward_backward(mr, NULL, y, x, B + 1, T, 1.0f)));
    CHECK(isnan(nn_melspec_loss_forward_backward(ml, NULL, y, x, B, T + 1, 1.0f)));
    CHECK(isnan(nn_melspec_loss_forward_backward(ml, NULL, y, x, 0, T, 1.0f)));
    /* a silent target and a silent prediction stay finite */
    float *dy = calloc((size_t)B * T, sizeof(float));
    CHECK(dy);
    memset(x, 0, sizeof x);
    double a = nn_mrstft_loss_forward_backward(mr, dy, y, x, B, T, 1.0f);
    double b = nn_melspec_loss_forward_backward(ml, dy, y, x, B, T, 1.0f);
    double c = nn_mrstft_loss_forward_backward(mr, dy, x, y, B, T, 1.0f);
    double d = nn_melspec_loss_forward_backward(ml, dy, x, y, B, T, 1.0f);
    int finite = 1;
    for (int i = 0; i < B * T; i++)
        finite = finite && isfinite(dy[i]);
    free(dy);
    nn_mrstft_loss_destroy(mr);
    nn_melspec_loss_destroy(ml);
    CHECK(isfinite(a) && isfinite(b) && isfinite(c) && isfinite(d) && finite);
}

TEST(loss_create_rejects_bad_config)
{
    nn_mrstft_config mc;
    nn_melspec_config ec;
    nn_mrstft_loss *mr = (nn_mrstft_loss *)1;
    nn_melspec_loss *ml = (nn_melspec_loss *)1;
    nac_error e;
    nn_mrstft_config_default(&mc);
    mc.n_fft[1] = 1023;
    CHECK(nn_mrstft_loss_create(&mr, &mc, 2, 100, &e) == NAC_ERR_ARG && mr == NULL);
    nn_mrstft_config_default(&mc);
    CHECK(nn_mrstft_loss_create(&mr, &mc, 0, 100, &e) == NAC_ERR_ARG);
    nn_melspec_config_default(&ec, 16000);
    ec.power = 1.5f;
    CHECK(nn_melspec_loss_create(&ml, &ec, 2, 100, &e) == NAC_ERR_ARG && ml == NULL);
    nn_melspec_config_default(&ec, 16000);
    ec.fmax = 9000.0f;
    CHECK(nn_melspec_loss_create(&ml, &ec, 2, 100, &e) == NAC_ERR_ARG && ml == NULL);
    nn_mrstft_loss_destroy(NULL);
    nn_melspec_loss_destroy(NULL);
}

TEST(loss_spectral_threads_identical)
{
#ifdef _OPENMP
    enum { B = 3, T = 4000 }; /* every scale above the serial-below-threshold cut */
    static float y[B * T], x[B * T], d[2][2][B * T];
    double v[2][2];
    fill_normal(x, B * T, 7, 0.3);
    fill_normal(y, B * T, 8, 0.3);
    nn_mrstft_config mc;
    nn_melspec_config ec;
    nn_mrstft_loss *mr;
    nn_melspec_loss *ml;
    nn_mrstft_config_default(&mc);
    nn_melspec_config_default(&ec, 16000);
    CHECK(nn_mrstft_loss_create(&mr, &mc, B, T, NULL) == NAC_OK);
    CHECK(nn_melspec_loss_create(&ml, &ec, B, T, NULL) == NAC_OK);
    memset(d, 0, sizeof d);
    int saved = omp_get_max_threads();
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k + 1);
        v[k][0] = nn_mrstft_loss_forward_backward(mr, d[k][0], y, x, B, T, 1.0f);
        v[k][1] = nn_melspec_loss_forward_backward(ml, d[k][1], y, x, B, T, 1.0f);
    }
    omp_set_num_threads(saved);
    nn_mrstft_loss_destroy(mr);
    nn_melspec_loss_destroy(ml);
    CHECK(v[0][0] == v[1][0] && v[0][1] == v[1][1]);
    CHECK(memcmp(d[0], d[1], sizeof d[0]) == 0);
#else
    SKIP("built without OpenMP");
#endif
}
