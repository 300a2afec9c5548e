/* Tests of the level-weighted phase losses (src/nn/loss_phase.c): values at the target's own
 * phase, at an unrelated phase, at a known offset and under per-bin or per-frame offsets, the
 * per-example weights and lag, finite-difference gradient checks of the three kinds, and thread
 * independence. */
#include "test.h"

#include "core/rng.h"
#include "nn/loss_phase.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { B = 3, F = 5, T = 9 };

/* a random target spectrum, and phases (B, F, T): the target's moved by `shift` frames and
 * rotated by `offset` radians */
static void make_case(float *pred, float *xre, float *xim, int shift, float offset, uint64_t seed)
{
    nac_rng r;
    nac_rng_seed(&r, seed);
    for (int i = 0; i < B * F * T; i++) {
        xre[i] = (float)nac_rng_normal(&r);
        xim[i] = (float)nac_rng_normal(&r);
    }
    for (int b = 0; b < B; b++)
        for (int f = 0; f < F; f++)
            for (int t = 0; t < T; t++) {
                int ts = t - shift < 0 ? 0 : t - shift;
                size_t xi = ((size_t)b * F + f) * T + (size_t)ts;
                pred[((size_t)b * F + f) * T + t] = atan2f(xim[xi], xre[xi]) + offset;
            }
}

TEST(loss_phase_values)
{
    static float pred[B * F * T], xre[B * F * T], xim[B * F * T], d[B * F * T];
    make_case(pred, xre, xim, 0, 0.0f, 1);
    double v = nn_phase_loss(NN_PHASE_ABS, d, pred, xre, xim, NULL, B, F, T, 0, 0.3f, 1.0f);
    CHECKF(fabs(v) < 1e-6, "own phase: loss %g", v);
    /* a constant rotation by 1 radian costs 1 - cos(1) in every bin, whatever the levels */
    make_case(pred, xre, xim, 0, 1.0f, 1);
    v = nn_phase_loss(NN_PHASE_ABS, NULL, pred, xre, xim, NULL, B, F, T, 0, 0.3f, 1.0f);
    CHECK_NEAR(v, 1.0 - cos(1.0), 1e-5);
    /* the target one frame later matches with lag 1, not with lag 0 */
    make_case(pred, xre, xim, 1, 0.0f, 2);
    CHECK(fabs(nn_phase_loss(NN_PHASE_ABS, NULL, pred, xre, xim, NULL, B, F, T, 1, 0.3f, 1.0f)) < 1e-6);
    CHECK(nn_phase_loss(NN_PHASE_ABS, NULL, pred, xre, xim, NULL, B, F, T, 0, 0.3f, 1.0f) > 0.3);
    /* unrelated phases: about 1 */
    make_case(pred, xre, xim, 0, 0.0f, 3);
    nac_rng r;
    nac_rng_seed(&r, 9);
    static float big[B * F * 400], bre[B * F * 400], bim[B * F * 400];
    for (int i = 0; i < B * F * 400; i++) {
        bre[i] = (float)nac_rng_normal(&r);
        bim[i] = (float)nac_rng_normal(&r);
    }
    for (int i = 0; i < B * F * 400; i++)
        big[i] = (float)(6.3 * nac_rng_uniform(&r));
    v = nn_phase_loss(NN_PHASE_ABS, NULL, big, bre, bim, NULL, B, F, 400, 0, 0.3f, 1.0f);
    CHECK_NEAR(v, 1.0, 0.05);
    snprintf(t_->why, sizeof t_->why, "unrelated phases: %.3f", v);
}

TEST(loss_phase_weights)
{
    static float pred[B * F * T], xre[B * F * T], xim[B * F * T], d[B * F * T];
    make_case(pred, xre, xim, 0, 0.0f, 4);
    /* example 1 wrong, the others right: weight 0 on it gives 0, and no gradient anywhere */
    for (int i = 0; i < F * T; i++)
        pred[1 * F * T + i] += 2.0f;
    float w0[B] = {1, 0, 1}, w1[B] = {0, 1, 0};
    memset(d, 0, sizeof d);
    CHECK(fabs(nn_phase_loss(NN_PHASE_ABS, d, pred, xre, xim, w0, B, F, T, 0, 0.3f, 1.0f)) < 1e-6);
    for (int i = 0; i < B * F * T; i++)
        CHECKF(fabs(d[i]) < 1e-7f, "gradient %g at %d with the wrong example weighted 0", d[i], i);
    CHECK_NEAR(nn_phase_loss(NN_PHASE_ABS, d, pred, xre, xim, w1, B, F, T, 0, 0.3f, 1.0f), 1.0 - cos(2.0), 1e-5);
    /* all weights 0, or a silent target: 0, no gradient */
    float wz[B] = {0, 0, 0};
    CHECK(nn_phase_loss(NN_PHASE_ABS, d, pred, xre, xim, wz, B, F, T, 0, 0.3f, 1.0f) == 0.0);
    memset(xre, 0, sizeof xre);
    memset(xim, 0, sizeof xim);
    memset(d, 0, sizeof d);
    CHECK(nn_phase_loss(NN_PHASE_ABS, d, pred, xre, xim, NULL, B, F, T, 0, 0.3f, 1.0f) == 0.0);
    for (int i = 0; i < B * F * T; i++)
        CHECK(d[i] == 0.0f);
}

static void phase_gradcheck(nac_test *t_, nn_phase_kind kind)
{
    static float pred[B * F * T], xre[B * F * T], xim[B * F * T], d[B * F * T];
    make_case(pred, xre, xim, 0, 0.0f, 5);
    nac_rng r;
    nac_rng_seed(&r, 6);
    for (int i = 0; i < B * F * T; i++)
        pred[i] += (float)(0.8 * nac_rng_normal(&r));
    float w[B] = {1.0f, 0.5f, 2.0f};
    const float weight = 1.7f;
    memset(d, 0, sizeof d);
    nn_phase_loss(kind, d, pred, xre, xim, w, B, F, T, 1, 0.3f, weight);
    double worst = 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < F * T; i++) {
            size_t k = (size_t)b * F * T + (size_t)i;
            float keep = pred[k];
            const double h = 1e-2;
            pred[k] = keep + (float)h;
            double lp = nn_phase_loss(kind, NULL, pred, xre, xim, w, B, F, T, 1, 0.3f, weight);
            pred[k] = keep - (float)h;
            double lm = nn_phase_loss(kind, NULL, pred, xre, xim, w, B, F, T, 1, 0.3f, weight);
            pred[k] = keep;
            double num = weight * (lp - lm) / (2 * h), err = fabs(num - d[k]);
            double tol = 1e-6 + 2e-3 * fabs(num);
            CHECKF(err <= tol, "example %d entry %d: analytic %.6g, numeric %.6g", b, i, (double)d[k], num);
            worst = fmax(worst, err / tol);
        }
    snprintf(t_->why, sizeof t_->why, "worst error / tolerance %.2f", worst);
}

TEST(loss_phase_gradcheck_abs) { phase_gradcheck(t_, NN_PHASE_ABS); }
TEST(loss_phase_gradcheck_time) { phase_gradcheck(t_, NN_PHASE_TIME); }
TEST(loss_phase_gradcheck_freq) { phase_gradcheck(t_, NN_PHASE_FREQ); }

/* A phase off by a constant per bin has the target's advance in time; off by a constant per frame,
 * the target's differences across bins: the difference losses are 0 there, the absolute one not. */
TEST(loss_phase_differences_ignore_offsets)
{
    static float pred[B * F * T], xre[B * F * T], xim[B * F * T];
    nac_rng r;
    nac_rng_seed(&r, 21);
    make_case(pred, xre, xim, 1, 0.0f, 7);
    for (int b = 0; b < B; b++)
        for (int f = 0; f < F; f++) {
            float off = (float)(6.3 * nac_rng_uniform(&r));
            for (int t = 0; t < T; t++)
                pred[((size_t)b * F + f) * T + t] += off;
        }
    CHECK(fabs(nn_phase_loss(NN_PHASE_TIME, NULL, pred, xre, xim, NULL, B, F, T, 1, 0.3f, 1.0f)) < 1e-5);
    CHECK(nn_phase_loss(NN_PHASE_FREQ, NULL, pred, xre, xim, NULL, B, F, T, 1, 0.3f, 1.0f) > 0.2);
    CHECK(nn_phase_loss(NN_PHASE_ABS, NULL, pred, xre, xim, NULL, B, F, T, 1, 0.3f, 1.0f) > 0.2);
    make_case(pred, xre, xim, 1, 0.0f, 7);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float off = (float)(6.3 * nac_rng_uniform(&r));
            for (int f = 0; f < F; f++)
                pred[((size_t)b * F + f) * T + t] += off;
        }
    CHECK(fabs(nn_phase_loss(NN_PHASE_FREQ, NULL, pred, xre, xim, NULL, B, F, T, 1, 0.3f, 1.0f)) < 1e-5);
    CHECK(nn_phase_loss(NN_PHASE_TIME, NULL, pred, xre, xim, NULL, B, F, T, 1, 0.3f, 1.0f) > 0.2);
}

TEST(loss_phase_threads_identical)
{
#ifdef _OPENMP
    enum { T2 = 300 };
    static float pred[B * F * T2], xre[B * F * T2], xim[B * F * T2], d[2][B * F * T2];
    nac_rng r;
    nac_rng_seed(&r, 11);
    for (int i = 0; i < B * F * T2; i++) {
        xre[i] = (float)nac_rng_normal(&r);
        xim[i] = (float)nac_rng_normal(&r);
    }
    for (int i = 0; i < B * F * T2; i++)
        pred[i] = (float)nac_rng_normal(&r);
    memset(d, 0, sizeof d);
    double v[2] = {0, 0};
    int saved = omp_get_max_threads();
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k + 1);
        for (int kind = NN_PHASE_ABS; kind <= NN_PHASE_FREQ; kind++)
            v[k] += nn_phase_loss((nn_phase_kind)kind, d[k], pred, xre, xim, NULL, B, F, T2, 1, 0.3f, 1.0f);
    }
    omp_set_num_threads(saved);
    CHECK(v[0] == v[1]);
    CHECK(memcmp(d[0], d[1], sizeof d[0]) == 0);
#else
    SKIP("built without OpenMP");
#endif
}
