/* Tests of src/vq: nearest-neighbour kernels, k-means/LBG training, multi-stage M-best search,
 * raw float32 files, and the residual VQ layer (surrogate gradient check, EMA, inference, packing). */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/alloc.h"
#include "core/rng.h"
#include "vq/f32file.h"
#include "vq/kmeans.h"
#include "vq/msvq.h"
#include "vq/rvq.h"
#include "vq/search.h"

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

static void fill_normal(float *x, size_t n, double scale, nac_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * nac_rng_normal(r));
}

/* Exact nearest in double: index, best and second-best squared distance. */
static int brute_nearest(const float *x, const float *C, int M, int K, double *best, double *second)
{
    int bi = 0;
    double b = INFINITY, s2 = INFINITY;
    for (int k = 0; k < M; k++) {
        double e = 0;
        for (int d = 0; d < K; d++) {
            double t = (double)x[d] - C[(size_t)k * K + d];
            e += t * t;
        }
        if (e < b) {
            s2 = b;
            b = e;
            bi = k;
        } else if (e < s2) {
            s2 = e;
        }
    }
    *best = b;
    *second = s2;
    return bi;
}

/* ---- search kernels ------------------------------------------------------------------- */

TEST(vq_search_kernels_agree)
{
    static const int sizes[][3] = {{37, 53, 7}, {13, 16, 20}, {6, 1, 3}, {50, 130, 33}, {1, 2, 1}};
    nac_rng r;
    nac_rng_seed(&r, 11);
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int N = sizes[t][0], M = sizes[t][1], K = sizes[t][2];
        float *X = malloc(sizeof(float) * N * K), *C = malloc(sizeof(float) * M * K);
        float *pk = nac_alloc(nac_vq_packed_floats(M, K) * sizeof(float));
        float *S1 = malloc(sizeof(float) * N * M), *S2 = malloc(sizeof(float) * N * M);
        int32_t *i1 = malloc(sizeof(int32_t) * N), *i2 = malloc(sizeof(int32_t) * N);
        float *b1 = malloc(sizeof(float) * N);
        fill_normal(X, (size_t)N * K, 1.0, &r);
        fill_normal(C, (size_t)M * K, 1.0, &r);
        nac_vq_pack(pk, C, M, K);
        nac_vq_nearest(i1, b1, X, pk, N, M, K);
        nac_vq_nearest_ref(i2, NULL, X, pk, N, M, K);
        nac_vq_scores(S1, (size_t)M, X, pk, N, M, K);
        nac_vq_scores_ref(S2, (size_t)M, X, pk, N, M, K);
        for (int n = 0; n < N; n++) {
            double best, second;
            int bi = brute_nearest(X + (size_t)n * K, C, M, K, &best, &second);
            double x2 = 0;
            for (int d = 0; d < K; d++)
                x2 += (double)X[n * K + d] * X[n * K + d];
            CHECK_NEAR(x2 + 2.0 * b1[n], best, 1e-4 * (1 + best));
            if (second - best > 1e-3) {
                CHECKF(i1[n] == bi, "N=%d M=%d K=%d row %d: simd %d, exact %d", N, M, K, n, i1[n], bi);
                CHECKF(i2[n] == bi, "N=%d M=%d K=%d row %d: ref %d, exact %d", N, M, K, n, i2[n], bi);
            }
            for (int k = 0; k < M; k++)
                CHECK_NEAR(S1[(size_t)n * M + k], S2[(size_t)n * M + k], 1e-5 * (1 + fabs(S2[(size_t)n * M + k])));
        }
        free(X);
        free(C);
        nac_free(pk);
        free(S1);
        free(S2);
        free(i1);
        free(i2);
        free(b1);
    }
    if (!nac_vq_simd_active())
        SKIP("no AVX2/FMA: only the portable kernel was compared with exact search");
}

TEST(vq_search_chunk_independent)
{
    enum { N = 41, M = 70, K = 9 };
    nac_rng r;
    nac_rng_seed(&r, 12);
    float X[N * K], C[M * K], sc_all[N], sc_one[N];
    int32_t all[N], one[N];
    float *pk = nac_alloc(nac_vq_packed_floats(M, K) * sizeof(float));
    fill_normal(X, N * K, 1.0, &r);
    fill_normal(C, M * K, 1.0, &r);
    nac_vq_pack(pk, C, M, K);
    nac_vq_nearest(all, sc_all, X, pk, N, M, K);
    for (int n = 0; n < N; n++) /* one row at a time, and in odd-sized chunks */
        nac_vq_nearest(one + n, sc_one + n, X + n * K, pk, 1, M, K);
    for (int n = 0; n < N; n++)
        CHECK(all[n] == one[n] && memcmp(&sc_all[n], &sc_one[n], sizeof(float)) == 0);
    for (int n0 = 0; n0 < N; n0 += 5)
        nac_vq_nearest(one + n0, sc_one + n0, X + n0 * K, pk, N - n0 < 5 ? N - n0 : 5, M, K);
    CHECK(memcmp(all, one, sizeof all) == 0 && memcmp(sc_all, sc_one, sizeof sc_all) == 0);
    nac_free(pk);
}

/* ---- k-means / LBG --------------------------------------------------------------------- */

/* N points around G centres (spread sd) in K dims: corners of a box with sides 4, 2, 1, ... */
static void mixture(float *x, float *centres, size_t N, int G, int K, double sd, uint64_t seed)
{
    nac_rng r;
    nac_rng_seed(&r, seed);
    for (int g = 0; g < G; g++)
        for (int d = 0; d < K; d++)
            centres[g * K + d] = (float)((((g % (1 << K)) >> d) & 1) ? 4.0 / (1 << d) : 0.0) + (float)(0.1 * (g >> K));
    for (size_t i = 0; i < N; i++) {
        int g = (int)(i % (size_t)G);
        for (int d = 0; d < K; d++)
            x[i * K + d] = centres[g * K + d] + (float)(sd * nac_rng_normal(&r));
    }
}

typedef struct trace {
    int n;
    double mse[512];
    int m[512];
    int empty[512];
} trace;

static void record(void *ctx, const nac_vq_iter_info *it)
{
    trace *t = ctx;
    if (t->n < 512) {
        t->mse[t->n] = it->mse;
        t->m[t->n] = it->n_entries;
        t->empty[t->n] = it->n_empty;
        t->n++;
    }
}

TEST(vq_kmeans_recovers_centres)
{
    enum { G = 8, K = 3, N = 4000 };
    float *x = malloc(sizeof(float) * N * K), cent[G * K], cb[G * K];
    mixture(x, cent, N, G, K, 0.05, 21);
    for (int method = 0; method < 2; method++) {
        nac_vq_train_opts o;
        nac_vq_train_opts_default(&o);
        o.init = method ? NAC_VQ_INIT_SPLIT : NAC_VQ_INIT_KMEANSPP;
        o.iters = 30;
        o.seed = 5;
        double mse = 0;
        nac_error e;
        CHECKF(nac_vq_train(cb, &mse, NULL, x, N, K, G, &o, &e) == 0, "%s", e.msg);
        for (int g = 0; g < G; g++) {
            double best = INFINITY, second;
            brute_nearest(cent + g * K, cb, G, K, &best, &second);
            CHECKF(sqrt(best) < 0.01, "method %d: centre %d is %.4f from the nearest trained entry", method, g,
                   sqrt(best));
        }
        CHECK_NEAR(mse, 0.05 * 0.05, 0.0004);
    }
    free(x);
}

TEST(vq_kmeans_error_never_rises)
{
    enum { G = 24, K = 5, N = 6000, M = 40 };
    float *x = malloc(sizeof(float) * N * K), cent[G * K], *cb = malloc(sizeof(float) * M * K);
    mixture(x, cent, N, G, K, 0.2, 22);
    for (int method = 0; method < 2; method++) {
        trace t = {0};
        nac_vq_train_opts o;
        nac_vq_train_opts_default(&o);
        o.init = method ? NAC_VQ_INIT_SPLIT : NAC_VQ_INIT_KMEANSPP;
        o.iters = 15;
        o.progress = record;
        o.ctx = &t;
        double mse;
        CHECK(nac_vq_train(cb, &mse, NULL, x, N, K, M, &o, NULL) == 0);
        CHECK(t.n >= 2);
        if (method)
            CHECK(t.m[0] == 1 && t.m[t.n - 1] == M);
        for (int i = 1; i < t.n; i++)
            CHECKF(t.mse[i] <= t.mse[i - 1] * (1 + 1e-6), "method %d: iteration %d: %.9g after %.9g", method, i,
                   t.mse[i], t.mse[i - 1]);
        CHECK(mse <= t.mse[t.n - 1] * (1 + 1e-6));
    }
    /* a start with duplicated entries: empty cells are reported and refilled, error still falls */
    for (int k = 0; k < M; k++)
        memcpy(cb + k * K, x + (k % 4) * K, sizeof(float) * K);
    trace t = {0};
    nac_vq_train_opts o;
    nac_vq_train_opts_default(&o);
    o.init = NAC_VQ_INIT_GIVEN;
    o.iters = 10;
    o.progress = record;
    o.ctx = &t;
    CHECK(nac_vq_train(cb, NULL, NULL, x, N, K, M, &o, NULL) == 0);
    CHECK(t.empty[0] == M - 4);
    CHECK(t.empty[t.n - 1] < t.empty[0]);
    for (int i = 1; i < t.n; i++)
        CHECK(t.mse[i] <= t.mse[i - 1] * (1 + 1e-6));
    free(x);
    free(cb);
}

TEST(vq_kmeans_threads_identical)
{
    /* large enough that the assignment and update loops run in parallel */
    enum { G = 16, K = 20, N = 105000, M = 32 };
    float *x = malloc(sizeof(float) * N * K), cent[G * K], a[M * K], b[M * K];
    mixture(x, cent, N, G, K, 0.3, 23);
    double ea, eb;
    for (int method = 0; method < 2; method++) {
        nac_vq_train_opts o;
        nac_vq_train_opts_default(&o);
        o.init = method ? NAC_VQ_INIT_SPLIT : NAC_VQ_INIT_KMEANSPP;
        o.iters = 3;
        set_threads(1);
        CHECK(nac_vq_train(a, &ea, NULL, x, N, K, M, &o, NULL) == 0);
        set_threads(2);
        CHECK(nac_vq_train(b, &eb, NULL, x, N, K, M, &o, NULL) == 0);
        CHECK(memcmp(a, b, sizeof a) == 0 && ea == eb);
    }
    free(x);
}

/* The issue 11 setup scaled down (300 instead of 1875 vectors per component): 32 Gaussians in 20
 * dimensions, centres from N(0, 16), unit noise, 30 Lloyd iterations. Lloyd from the true centres
 * gives the optimum (about the noise variance). With this few vectors a close pair of components
 * traps every seeding now and then (scikit-learn's greedy k-means++ too); greedy seeding must do
 * better than classic on average, restarts must never end above one run, and 4 restarts of the
 * greedy seeding must reach the optimum for every seed. */
TEST(vq_kmeanspp_gaussian_mixture)
{
    enum { G = 32, K = 20, N = 300 * G, SEEDS = 4 };
    float *x = malloc(sizeof(float) * N * K), cent[G * K], cb[G * K];
    CHECK(x);
    nac_rng r;
    nac_rng_seed(&r, 11);
    fill_normal(cent, (size_t)G * K, 4.0, &r);
    for (size_t i = 0; i < N; i++) {
        int g = (int)nac_rng_below(&r, G);
        for (int d = 0; d < K; d++)
            x[i * K + d] = cent[g * K + d] + (float)nac_rng_normal(&r);
    }
    nac_vq_train_opts o;
    nac_vq_train_opts_default(&o);
    o.iters = 30;
    double opt, e;
    memcpy(cb, cent, sizeof cb);
    o.init = NAC_VQ_INIT_GIVEN;
    CHECK(nac_vq_train(cb, &opt, NULL, x, N, K, G, &o, NULL) == 0);
    CHECK_NEAR(opt, 1.0, 0.03);
    o.init = NAC_VQ_INIT_KMEANSPP;
    double sum_classic = 0, sum_greedy = 0;
    for (int seed = 1; seed <= SEEDS; seed++) {
        o.seed = (uint64_t)seed;
        o.candidates = 1;
        o.restarts = 1;
        CHECK(nac_vq_train(cb, &e, NULL, x, N, K, G, &o, NULL) == 0);
        sum_classic += e / opt;
        o.candidates = 0;
        CHECK(nac_vq_train(cb, &e, NULL, x, N, K, G, &o, NULL) == 0);
        sum_greedy += e / opt;
        double single = e;
        o.restarts = 4;
        CHECK(nac_vq_train(cb, &e, NULL, x, N, K, G, &o, NULL) == 0);
        CHECKF(e <= single, "seed %d: 4 restarts end at %.6g, above one run's %.6g", seed, e, single);
        CHECKF(e / opt < 1.001, "seed %d: greedy k-means++ with 4 restarts ends at %.4f times the optimum", seed,
               e / opt);
    }
    CHECKF(sum_classic / SEEDS > 1.2, "classic k-means++ averaged %.3f of the optimum: the mixture is too easy",
           sum_classic / SEEDS);
    CHECKF(sum_greedy < sum_classic - 0.1 * SEEDS, "greedy seeding averaged %.4f, classic %.4f",
           sum_greedy / SEEDS, sum_classic / SEEDS);
    free(x);
}

TEST(vq_kmeans_rejects_too_few_vectors)
{
    float x[10 * 2] = {0}, cb[16 * 2];
    nac_vq_train_opts o;
    nac_vq_train_opts_default(&o);
    nac_error e;
    CHECK(nac_vq_train(cb, NULL, NULL, x, 10, 2, 16, &o, &e) == NAC_ERR_ARG);
    CHECK(strstr(e.msg, "fewer") != NULL);
}

/* ---- multi-stage M-best ---------------------------------------------------------------- */

TEST(vq_msvq_mbest1_is_greedy)
{
    enum { N = 300, K = 6, S = 3, M = 24 };
    nac_rng r;
    nac_rng_seed(&r, 31);
    float *x = malloc(sizeof(float) * N * K), *cb[S], *res = malloc(sizeof(float) * N * K);
    int Ms[S] = {M, M, M};
    fill_normal(x, (size_t)N * K, 1.0, &r);
    for (int s = 0; s < S; s++) {
        cb[s] = malloc(sizeof(float) * M * K);
        fill_normal(cb[s], (size_t)M * K, 1.0 / (1 << s), &r);
    }
    nac_msvq *q = nac_msvq_create((const float *const *)cb, Ms, S, K, NULL);
    CHECK(q != NULL);
    int32_t *idx = malloc(sizeof(int32_t) * N * S), *g = malloc(sizeof(int32_t) * N);
    double se[S] = {0};
    CHECK(nac_msvq_quantize(NULL, idx, se, x, q, N, 1, NULL) == 0);
    memcpy(res, x, sizeof(float) * N * K);
    for (int s = 0; s < S; s++) { /* greedy: nearest entry of each stage to the running residual */
        double mse;
        CHECK(nac_vq_assign(g, &mse, res, cb[s], N, K, M, NULL) == 0);
        CHECK_NEAR(se[s] / ((double)N * K), 0, 1e9); /* finite */
        for (int n = 0; n < N; n++) {
            CHECKF(idx[n * S + s] == g[n], "row %d stage %d: mbest-1 %d, greedy %d", n, s, idx[n * S + s], g[n]);
            for (int d = 0; d < K; d++)
                res[n * K + d] -= cb[s][g[n] * K + d];
        }
    }
    for (int s = 1; s < S; s++)
        CHECK(se[s] < se[s - 1]);
    nac_msvq_destroy(q);
    for (int s = 0; s < S; s++)
        free(cb[s]);
    free(x);
    free(res);
    free(idx);
    free(g);
}

TEST(vq_msvq_mbest_large_is_exhaustive)
{
    enum { N = 200, K = 4, S = 3, M0 = 5, M1 = 4, M2 = 6 };
    nac_rng r;
    nac_rng_seed(&r, 32);
    int Ms[S] = {M0, M1, M2};
    float *cb[S], *x = malloc(sizeof(float) * N * K), *out = malloc(sizeof(float) * N * K);
    fill_normal(x, (size_t)N * K, 1.0, &r);
    for (int s = 0; s < S; s++) {
        cb[s] = malloc(sizeof(float) * Ms[s] * K);
        fill_normal(cb[s], (size_t)Ms[s] * K, 0.8, &r);
    }
    nac_msvq *q = nac_msvq_create((const float *const *)cb, Ms, S, K, NULL);
    int32_t *idx = malloc(sizeof(int32_t) * N * S), *idx1 = malloc(sizeof(int32_t) * N * S);
    CHECK(nac_msvq_quantize(out, idx, NULL, x, q, N, M0 * M1, NULL) == 0);
    CHECK(nac_msvq_quantize(NULL, idx1, NULL, x, q, N, 1, NULL) == 0);
    int differs_from_greedy = 0;
    for (int n = 0; n < N; n++) {
        double best = INFINITY, second = INFINITY;
        int bi[S] = {0};
        for (int a = 0; a < M0; a++)
            for (int b = 0; b < M1; b++)
                for (int c = 0; c < M2; c++) {
                    double e = 0;
                    for (int d = 0; d < K; d++) {
                        double t = (double)x[n * K + d] - cb[0][a * K + d] - cb[1][b * K + d] - cb[2][c * K + d];
                        e += t * t;
                    }
                    if (e < best) {
                        second = best;
                        best = e;
                        bi[0] = a, bi[1] = b, bi[2] = c;
                    } else if (e < second) {
                        second = e;
                    }
                }
        double got = 0;
        for (int d = 0; d < K; d++) {
            double t = (double)x[n * K + d] - out[n * K + d];
            got += t * t;
        }
        CHECK_NEAR(got, best, 1e-5 * (1 + best));
        if (second - best > 1e-4)
            for (int s = 0; s < S; s++)
                CHECKF(idx[n * S + s] == bi[s], "row %d stage %d: %d vs exhaustive %d", n, s, idx[n * S + s], bi[s]);
        differs_from_greedy |= memcmp(idx + n * S, idx1 + n * S, sizeof(int32_t) * S) != 0;
    }
    CHECK(differs_from_greedy); /* the test would be vacuous otherwise */
    nac_msvq_destroy(q);
    for (int s = 0; s < S; s++)
        free(cb[s]);
    free(x);
    free(out);
    free(idx);
    free(idx1);
}

TEST(vq_msvq_threads_identical)
{
    enum { N = 3000, K = 5, S = 2, M = 33 };
    nac_rng r;
    nac_rng_seed(&r, 33);
    int Ms[S] = {M, M};
    float *cb[S], *x = malloc(sizeof(float) * N * K), *o1 = malloc(sizeof(float) * N * K),
                  *o2 = malloc(sizeof(float) * N * K);
    fill_normal(x, (size_t)N * K, 1.0, &r);
    for (int s = 0; s < S; s++) {
        cb[s] = malloc(sizeof(float) * M * K);
        fill_normal(cb[s], (size_t)M * K, 0.7, &r);
    }
    nac_msvq *q = nac_msvq_create((const float *const *)cb, Ms, S, K, NULL);
    double e1[S] = {0}, e2[S] = {0};
    set_threads(1);
    CHECK(nac_msvq_quantize(o1, NULL, e1, x, q, N, 5, NULL) == 0);
    set_threads(2);
    CHECK(nac_msvq_quantize(o2, NULL, e2, x, q, N, 5, NULL) == 0);
    CHECK(memcmp(o1, o2, sizeof(float) * N * K) == 0 && memcmp(e1, e2, sizeof e1) == 0);
    nac_msvq_destroy(q);
    for (int s = 0; s < S; s++)
        free(cb[s]);
    free(x);
    free(o1);
    free(o2);
}

/* ---- raw float32 files ------------------------------------------------------------------- */

static void tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", nac_test_tmp_dir(), name);
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        if (n)
            fwrite(b, 1, n, f);
        fclose(f);
    }
}

TEST(vq_f32_roundtrip)
{
    char p[512];
    tmp_path(p, sizeof p, "rt.f32");
    float x[5 * 3];
    for (int i = 0; i < 15; i++)
        x[i] = (float)i * 0.37f - 2.0f;
    CHECK(nac_vq_f32_write(p, x, 5, 3, NULL) == 0);
    FILE *f = fopen(p, "rb");
    unsigned char b[4];
    CHECK(f && fread(b, 1, 4, f) == 4);
    fclose(f);
    CHECK(b[3] == 0xc0 && b[2] == 0x00); /* -2.0f little-endian: 00 00 00 c0 */
    float *y;
    size_t n;
    CHECK(nac_vq_f32_read(&y, &n, p, 3, 0, NULL) == 0);
    CHECK(n == 5 && memcmp(x, y, sizeof x) == 0);
    nac_free(y);
}

TEST(vq_f32_bad_inputs)
{
    char p[512];
    nac_error e;
    float *y = NULL;
    size_t n;
    tmp_path(p, sizeof p, "bad.f32");
    float x[7] = {1, 2, 3, 4, 5, 6, 7};
    write_bytes(p, x, sizeof x); /* 28 bytes: not rows of K = 2 */
    CHECK(nac_vq_f32_read(&y, &n, p, 2, 0, &e) == NAC_ERR_FORMAT);
    CHECKF(strstr(e.msg, "28 bytes") && strstr(e.msg, "K=2"), "%s", e.msg);
    write_bytes(p, x, 0);
    CHECK(nac_vq_f32_read(&y, &n, p, 2, 0, &e) == NAC_ERR_EMPTY);
    CHECKF(strstr(e.msg, "empty"), "%s", e.msg);
    x[5] = NAN;
    write_bytes(p, x, 6 * sizeof(float));
    CHECK(nac_vq_f32_read(&y, &n, p, 2, 0, &e) == NAC_ERR_NUMERIC);
    CHECKF(strstr(e.msg, "row 2, column 1 is NaN"), "%s", e.msg);
    x[5] = 6;
    write_bytes(p, x, 6 * sizeof(float));
    CHECK(nac_vq_f32_read(&y, &n, p, 2, 8, &e) == NAC_ERR_NOMEM); /* larger than allowed */
    CHECK(nac_vq_f32_read(&y, &n, "/nonexistent/x.f32", 2, 0, &e) == NAC_ERR_IO);
    CHECK(y == NULL);
    /* streaming reader: a stream that ends inside a row */
    write_bytes(p, x, 7 * sizeof(float));
    FILE *f = fopen(p, "rb");
    float buf[8];
    CHECK(nac_vq_f32_read_rows(buf, &n, f, 2, 4, 0, "stdin", &e) == NAC_ERR_FORMAT);
    fclose(f);
    CHECKF(strstr(e.msg, "row 3"), "%s", e.msg);
}

/* ---- residual VQ: surrogate gradient check --------------------------------------------- */

/* The DAC computation in double with the codes frozen: every stop-gradient is a constant taken
 * at the reference point (e0, c0 recorded when record != 0). Its derivative is what backward must
 * return. Returns <g, zq> + commitment_weight * commitment + codebook_weight * codebook. */
typedef struct sur {
    const nac_rvq_layout *lay;
    const int32_t *codes; /* (N, S) */
    const int *nact;
    const float *g;       /* (N, D) */
    int N;
    double *e0, *c0;      /* (S, N, Dc) */
    double *zq;           /* (N, D), output */
} sur;

static double surrogate(sur *u, const float *params, const float *z, int record)
{
    const nac_rvq_config *c = &u->lay->cfg;
    int S = c->n_stages, D = c->dim, M = c->codebook_size, Dc = c->code_dim ? c->code_dim : D, N = u->N;
    const float *C = params + u->lay->params[NAC_RVQ_CODEBOOK].offset;
    const float *Wi = c->code_dim ? params + u->lay->params[NAC_RVQ_IN_W].offset : NULL;
    const float *bi = c->code_dim ? params + u->lay->params[NAC_RVQ_IN_B].offset : NULL;
    const float *Wo = c->code_dim ? params + u->lay->params[NAC_RVQ_OUT_W].offset : NULL;
    const float *bo = c->code_dim ? params + u->lay->params[NAC_RVQ_OUT_B].offset : NULL;
    double commit = 0, cbl = 0, dot = 0;
    double r[64], e[64], q[64], y[64];
    for (int n = 0; n < N; n++) {
        for (int d = 0; d < D; d++) {
            r[d] = z[n * D + d];
            u->zq[n * D + d] = 0;
        }
        for (int s = 0; s < u->nact[n] && s < S; s++) {
            int k = u->codes[n * S + s];
            const float *ck = C + ((size_t)s * M + k) * Dc;
            for (int j = 0; j < Dc; j++) {
                if (c->code_dim) {
                    e[j] = bi[s * Dc + j];
                    for (int d = 0; d < D; d++)
                        e[j] += (double)Wi[((size_t)s * Dc + j) * D + d] * r[d];
                } else {
                    e[j] = r[j];
                }
            }
            double *e0 = u->e0 + ((size_t)s * N + n) * Dc, *c0 = u->c0 + ((size_t)s * N + n) * Dc;
            if (record)
                for (int j = 0; j < Dc; j++) {
                    e0[j] = e[j];
                    c0[j] = ck[j];
                }
            for (int j = 0; j < Dc; j++) {
                q[j] = e[j] + (c0[j] - e0[j]);
                commit += (e[j] - c0[j]) * (e[j] - c0[j]);
                cbl += (e0[j] - ck[j]) * (e0[j] - ck[j]);
            }
            for (int d = 0; d < D; d++) {
                if (c->code_dim) {
                    y[d] = bo[s * D + d];
                    for (int j = 0; j < Dc; j++)
                        y[d] += (double)Wo[((size_t)s * D + d) * Dc + j] * q[j];
                } else {
                    y[d] = q[d];
                }
                u->zq[n * D + d] += y[d];
                r[d] -= y[d];
            }
        }
        for (int d = 0; d < D; d++)
            dot += u->g[n * D + d] * u->zq[n * D + d];
    }
    double norm = (double)N * Dc;
    return dot + c->commitment_weight * commit / norm + (c->ema ? 0.0 : c->codebook_weight * cbl / norm);
}

static int close_enough(double a, double n) { return fabs(a - n) <= 1e-4 + 1e-2 * fmax(fabs(a), fabs(n)); }

static void rvq_gradcheck(nac_test *t_, int code_dim, int ema)
{
    enum { N = 7, D = 6, S = 3 };
    nac_rvq_config cfg;
    nac_rvq_config_default(&cfg);
    cfg.n_stages = S;
    cfg.dim = D;
    cfg.codebook_size = 5;
    cfg.code_dim = code_dim;
    cfg.ema = ema;
    cfg.commitment_weight = 0.7f;
    cfg.codebook_weight = 1.3f;
    nac_rvq_layout lay;
    nac_error err;
    CHECKF(nac_rvq_param_layout(&lay, &cfg, &err) == 0, "%s", err.msg);
    size_t P = lay.param_floats;
    int Dc = code_dim ? code_dim : D;
    float *params = malloc(P * sizeof(float)), *grads = calloc(P, sizeof(float));
    float *pp = malloc(P * sizeof(float));
    nac_rvq_params_init(params, &lay, 41);
    nac_rng r;
    nac_rng_seed(&r, 42);
    float z[N * D], dz[N * D] = {0}, zq[N * D], g[N * D], zz[N * D];
    fill_normal(z, N * D, 1.0, &r);
    fill_normal(g, N * D, 1.0, &r);
    int nact[N] = {3, 2, 0, 1, 3, 3, 2};
    int32_t codes[N * S];
    void *ws = nac_alloc(nac_rvq_workspace_size(&cfg, N));
    nac_rvq_losses L;
    CHECK(nac_rvq_forward(zq, codes, &L, ws, z, nact, params, &lay, N, &err) == 0);
    for (int n = 0; n < N; n++)
        for (int s = 0; s < S; s++)
            CHECK((codes[n * S + s] >= 0) == (s < nact[n]));
    CHECK(nac_rvq_backward(dz, grads, g, ws, params, &lay, N, &err) == 0);

    double e0[S * N * D], c0[S * N * D], szq[N * D]; /* Dc <= D here */
    sur u = {&lay, codes, nact, g, N, e0, c0, szq};
    double f0 = surrogate(&u, params, z, 1);
    /* the forward's values equal the surrogate's at the reference point */
    double dot = 0;
    for (int i = 0; i < N * D; i++) {
        CHECK_NEAR(zq[i], szq[i], 1e-5);
        dot += g[i] * (double)zq[i];
    }
    CHECK_NEAR(dot + L.total, f0, 1e-4);
    if (ema)
        CHECK(L.codebook == 0);

    const double h = 1e-3;
    double worst = 0;
    char where[64] = "";
    for (size_t i = 0; i < P; i++) { /* every parameter */
        memcpy(pp, params, P * sizeof(float));
        pp[i] = params[i] + (float)h;
        double hp = (double)pp[i] - params[i];
        double fp = surrogate(&u, pp, z, 0);
        pp[i] = params[i] - (float)h;
        double hm = (double)params[i] - pp[i];
        double fm = surrogate(&u, pp, z, 0);
        double num = (fp - fm) / (hp + hm), a = grads[i];
        double rel = fabs(a - num) / (1e-4 + 1e-2 * fmax(fabs(a), fabs(num)));
        if (rel > worst) {
            worst = rel;
            snprintf(where, sizeof where, "param %zu: %.6g vs %.6g", i, a, num);
        }
        CHECKF(close_enough(a, num), "code_dim %d ema %d param %zu: analytic %.7g, numeric %.7g", code_dim, ema, i,
               a, num);
    }
    for (int i = 0; i < N * D; i++) { /* every latent */
        memcpy(zz, z, sizeof zz);
        zz[i] = z[i] + (float)h;
        double hp = (double)zz[i] - z[i];
        double fp = surrogate(&u, params, zz, 0);
        zz[i] = z[i] - (float)h;
        double hm = (double)z[i] - zz[i];
        double fm = surrogate(&u, params, zz, 0);
        double num = (fp - fm) / (hp + hm);
        CHECKF(close_enough(dz[i], num), "code_dim %d ema %d dz[%d]: analytic %.7g, numeric %.7g", code_dim, ema, i,
               dz[i], num);
    }
    /* backward twice doubles the gradients */
    float *g2 = calloc(P, sizeof(float)), dz2[N * D] = {0};
    CHECK(nac_rvq_backward(dz2, g2, g, ws, params, &lay, N, &err) == 0);
    CHECK(nac_rvq_backward(dz2, g2, g, ws, params, &lay, N, &err) == 0);
    for (size_t i = 0; i < P; i++)
        CHECK_NEAR(g2[i], 2 * grads[i], 1e-6 * (1 + fabs(grads[i])));
    for (int i = 0; i < N * D; i++)
        CHECK_NEAR(dz2[i], 2 * dz[i], 1e-6 * (1 + fabs(dz[i])));
    snprintf(t_->why, sizeof t_->why, "worst |a-n|/tol %.2e at %s", worst, where);
    free(g2);
    free(params);
    free(grads);
    free(pp);
    nac_free(ws);
    (void)Dc;
}

TEST(vq_rvq_gradcheck_plain) { rvq_gradcheck(t_, 0, 0); }
TEST(vq_rvq_gradcheck_factorised) { rvq_gradcheck(t_, 3, 0); }
TEST(vq_rvq_gradcheck_ema) { rvq_gradcheck(t_, 0, 1); }

/* ---- residual VQ: lookup, inference, threads --------------------------------------------- */

static int make_rvq(nac_rvq_layout *lay, float **params, int S, int D, int M, int code_dim, uint64_t seed)
{
    nac_rvq_config cfg;
    nac_rvq_config_default(&cfg);
    cfg.n_stages = S;
    cfg.dim = D;
    cfg.codebook_size = M;
    cfg.code_dim = code_dim;
    if (nac_rvq_param_layout(lay, &cfg, NULL))
        return -1;
    *params = malloc(lay->param_floats * sizeof(float));
    nac_rvq_params_init(*params, lay, seed);
    if (!code_dim) /* codebooks on the scale of successive residuals */
        for (int s = 0; s < S; s++)
            for (size_t i = 0; i < (size_t)M * D; i++)
                (*params)[(size_t)s * M * D + i] *= 1.0f / (float)(1 << s);
    return 0;
}

TEST(vq_rvq_codes_are_nearest)
{
    enum { N = 60, D = 10, S = 2, M = 40 };
    for (int fact = 0; fact < 2; fact++) {
        nac_rvq_layout lay;
        float *params;
        CHECK(make_rvq(&lay, &params, S, D, M, fact ? 4 : 0, 51) == 0);
        int Dc = fact ? 4 : D;
        nac_rng r;
        nac_rng_seed(&r, 52);
        float z[N * D], zq[N * D];
        int32_t codes[N * S];
        fill_normal(z, N * D, 1.0, &r);
        void *ws = nac_alloc(nac_rvq_workspace_size(&lay.cfg, N));
        CHECK(nac_rvq_forward(zq, codes, NULL, ws, z, NULL, params, &lay, N, NULL) == 0);
        /* stage 0 by brute force in double (normalised when factorised) */
        const float *C = params + lay.params[NAC_RVQ_CODEBOOK].offset;
        float Cn[M * 8 > M * D ? M * 8 : M * D], v[16];
        for (int k = 0; k < M; k++) {
            double nn = 0;
            for (int j = 0; j < Dc; j++)
                nn += (double)C[k * Dc + j] * C[k * Dc + j];
            for (int j = 0; j < Dc; j++)
                Cn[k * Dc + j] = fact ? (float)(C[k * Dc + j] / sqrt(nn)) : C[k * Dc + j];
        }
        int checked = 0;
        for (int n = 0; n < N; n++) {
            if (fact) {
                const float *W = params + lay.params[NAC_RVQ_IN_W].offset, *b = params + lay.params[NAC_RVQ_IN_B].offset;
                double nn = 0, e[8];
                for (int j = 0; j < Dc; j++) {
                    e[j] = b[j];
                    for (int d = 0; d < D; d++)
                        e[j] += (double)W[j * D + d] * z[n * D + d];
                    nn += e[j] * e[j];
                }
                for (int j = 0; j < Dc; j++)
                    v[j] = (float)(e[j] / sqrt(nn));
            } else {
                memcpy(v, z + n * D, sizeof(float) * D);
            }
            double best, second;
            int bi = brute_nearest(v, Cn, M, Dc, &best, &second);
            if (second - best > 1e-4) {
                CHECKF(codes[n * S] == bi, "fact %d row %d: %d vs exact %d", fact, n, codes[n * S], bi);
                checked++;
            }
        }
        CHECK(checked > N / 2);
        nac_free(ws);
        free(params);
    }
}

TEST(vq_rvq_inference_matches_training)
{
    enum { N = 53, D = 12, S = 4, M = 64 };
    for (int fact = 0; fact < 2; fact++) {
        nac_rvq_layout lay;
        float *params;
        CHECK(make_rvq(&lay, &params, S, D, M, fact ? 8 : 0, 61) == 0);
        nac_rng r;
        nac_rng_seed(&r, 62);
        float z[N * D], zq[N * D], zq2[N * D], zq3[N * D];
        int32_t codes[N * S], enc[N * S], enc2[N * 2];
        fill_normal(z, N * D, 1.0, &r);
        void *ws = nac_alloc(nac_rvq_workspace_size(&lay.cfg, N));
        set_threads(2);
        CHECK(nac_rvq_forward(zq, codes, NULL, ws, z, NULL, params, &lay, N, NULL) == 0);
        nac_rvq_coder *q = nac_rvq_coder_create(params, &lay, NULL);
        CHECK(q != NULL);
        set_threads(1);
        CHECK(nac_rvq_encode(enc, z, q, N, S, NULL) == 0);
        CHECK(memcmp(enc, codes, sizeof enc) == 0);
        CHECK(nac_rvq_decode(zq2, enc, q, N, S, NULL) == 0);
        CHECK(memcmp(zq, zq2, sizeof zq) == 0); /* bit-exact */
        /* chunk independence: frames one at a time, first 2 stages */
        for (int n = 0; n < N; n++)
            CHECK(nac_rvq_encode(enc2 + n * 2, z + n * D, q, 1, 2, NULL) == 0);
        for (int n = 0; n < N; n++)
            CHECK(enc2[n * 2] == codes[n * S] && enc2[n * 2 + 1] == codes[n * S + 1]);
        /* fewer stages: same as training with n_active = 2 */
        int nact[N];
        for (int n = 0; n < N; n++)
            nact[n] = 2;
        CHECK(nac_rvq_forward(zq3, NULL, NULL, ws, z, nact, params, &lay, N, NULL) == 0);
        CHECK(nac_rvq_decode(zq2, enc2, q, N, 2, NULL) == 0);
        CHECK(memcmp(zq2, zq3, sizeof zq) == 0);
        int32_t bad = M;
        nac_error e;
        CHECK(nac_rvq_decode(zq2, &bad, q, 1, 1, &e) == NAC_ERR_ARG);
        z[5] = NAN;
        CHECK(nac_rvq_encode(enc, z, q, N, S, &e) == NAC_ERR_NUMERIC);
        nac_rvq_coder_destroy(q);
        nac_free(ws);
        free(params);
    }
}

TEST(vq_rvq_threads_identical)
{
    /* large enough that forward, backward and parameter-gradient loops run in parallel */
    enum { N = 1100, D = 64, S = 3, M = 64 };
    for (int fact = 0; fact < 2; fact++) {
        nac_rvq_layout lay;
        float *params;
        CHECK(make_rvq(&lay, &params, S, D, M, fact ? 16 : 0, 71) == 0);
        nac_rng r;
        nac_rng_seed(&r, 72);
        float *z = malloc(sizeof(float) * N * D), *g = malloc(sizeof(float) * N * D);
        fill_normal(z, (size_t)N * D, 1.0, &r);
        fill_normal(g, (size_t)N * D, 1.0, &r);
        int nact[N];
        for (int n = 0; n < N; n++)
            nact[n] = (int)nac_rng_below(&r, S + 1);
        float *out[2][3];
        void *ws = nac_alloc(nac_rvq_workspace_size(&lay.cfg, N));
        for (int t = 0; t < 2; t++) {
            set_threads(t + 1);
            out[t][0] = calloc((size_t)N * D, sizeof(float));
            out[t][1] = calloc((size_t)N * D, sizeof(float));
            out[t][2] = calloc(lay.param_floats, sizeof(float));
            CHECK(nac_rvq_forward(out[t][0], NULL, NULL, ws, z, nact, params, &lay, N, NULL) == 0);
            CHECK(nac_rvq_backward(out[t][1], out[t][2], g, ws, params, &lay, N, NULL) == 0);
        }
        CHECK(memcmp(out[0][0], out[1][0], sizeof(float) * N * D) == 0);
        CHECK(memcmp(out[0][1], out[1][1], sizeof(float) * N * D) == 0);
        CHECK(memcmp(out[0][2], out[1][2], sizeof(float) * lay.param_floats) == 0);
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < 3; i++)
                free(out[t][i]);
        nac_free(ws);
        free(z);
        free(g);
        free(params);
    }
}

/* ---- residual VQ: EMA, dead codes, k-means init, usage -------------------------------- */

TEST(vq_rvq_ema_update_and_restart)
{
    enum { N = 40, D = 3, M = 6 };
    nac_rvq_config cfg;
    nac_rvq_config_default(&cfg);
    cfg.n_stages = 1;
    cfg.dim = D;
    cfg.codebook_size = M;
    cfg.code_dim = 0;
    cfg.ema = 1;
    cfg.ema_decay = 0.0f; /* one step: codebook = mean of assigned vectors */
    cfg.ema_eps = 0.0f;
    cfg.dead_threshold = 0.5f;
    nac_rvq_layout lay;
    CHECK(nac_rvq_param_layout(&lay, &cfg, NULL) == 0);
    CHECK(lay.n_state == 2 && lay.state_floats == (size_t)M + M * D);
    float params[M * D], state[M + M * D], z[N * D], zq[N * D];
    /* entries 0..3 near four clusters, 4 and 5 far away (never used) */
    static const float pos[4][D] = {{0, 0, 0}, {4, 0, 0}, {0, 4, 0}, {0, 0, 4}};
    for (int k = 0; k < M; k++)
        for (int d = 0; d < D; d++)
            params[k * D + d] = k < 4 ? pos[k][d] + 0.3f : 100.0f + k;
    nac_rng r;
    nac_rng_seed(&r, 81);
    for (int n = 0; n < N; n++)
        for (int d = 0; d < D; d++)
            z[n * D + d] = pos[n % 4][d] + (float)(0.1 * nac_rng_normal(&r));
    nac_rvq_state_init(state, params, &lay);
    void *ws = nac_alloc(nac_rvq_workspace_size(&cfg, N));
    int32_t codes[N];
    CHECK(nac_rvq_forward(zq, codes, NULL, ws, z, NULL, params, &lay, N, NULL) == 0);
    int nr[1];
    CHECK(nac_rvq_update(params, state, nr, ws, &lay, 7, NULL) == 0);
    CHECK(nr[0] == 2);
    for (int k = 0; k < 4; k++) {
        CHECK_NEAR(state[k], N / 4, 1e-6);
        for (int d = 0; d < D; d++) {
            double m = 0;
            for (int n = k; n < N; n += 4)
                m += z[n * D + d];
            CHECK_NEAR(params[k * D + d], m / (N / 4), 1e-5);
        }
    }
    for (int k = 4; k < M; k++) { /* restarted onto a batch vector */
        int found = 0;
        for (int n = 0; n < N && !found; n++)
            found = !memcmp(params + k * D, z + n * D, sizeof(float) * D);
        CHECK(found);
        CHECK(state[k] >= cfg.dead_threshold);
    }
    nac_rvq_usage u;
    nac_rvq_code_usage(&u, codes, &lay, N);
    CHECK_NEAR(u.perplexity, 4.0, 1e-9);
    CHECK(u.n_used == 4);
    nac_free(ws);
}

TEST(vq_rvq_kmeans_init_reduces_error)
{
    enum { N = 2000, D = 8, S = 3, M = 16 };
    for (int fact = 0; fact < 2; fact++) {
        nac_rvq_layout lay;
        float *params;
        CHECK(make_rvq(&lay, &params, S, D, M, fact ? 4 : 0, 91) == 0);
        float *state = malloc(lay.state_floats * sizeof(float));
        float *z = malloc(sizeof(float) * N * D), *zq = malloc(sizeof(float) * N * D);
        nac_rng r;
        nac_rng_seed(&r, 92);
        for (int n = 0; n < N; n++) /* clustered latents */
            for (int d = 0; d < D; d++)
                z[n * D + d] = (float)(2.0 * ((n % 11) == d) + 0.3 * nac_rng_normal(&r));
        void *ws = nac_alloc(nac_rvq_workspace_size(&lay.cfg, N));
        nac_rvq_losses before, after;
        CHECK(nac_rvq_forward(zq, NULL, &before, ws, z, NULL, params, &lay, N, NULL) == 0);
        nac_error e;
        CHECKF(nac_rvq_kmeans_init(params, state, z, &lay, N, 10, 3, &e) == 0, "%s", e.msg);
        int32_t *codes = malloc(sizeof(int32_t) * N * S);
        CHECK(nac_rvq_forward(zq, codes, &after, ws, z, NULL, params, &lay, N, NULL) == 0);
        if (fact) /* random projections: the code-space error is what k-means minimises */
            CHECKF(after.commitment < 0.5 * before.commitment, "%g -> %g", before.commitment, after.commitment);
        else
            CHECKF(after.stage_mse[0] < 0.5 * before.stage_mse[0] && after.stage_mse[S - 1] < after.stage_mse[0],
                   "%g -> %g", before.stage_mse[0], after.stage_mse[0]);
        nac_rvq_usage u[S];
        nac_rvq_code_usage(u, codes, &lay, N);
        CHECK(u[0].n_used >= M - 2);
        nac_rvq_state_usage(u, state, &lay);
        CHECK(u[0].perplexity > 4);
        nac_free(ws);
        free(codes);
        free(state);
        free(z);
        free(zq);
        free(params);
    }
}

TEST(vq_rvq_bitpack_roundtrip)
{
    int32_t codes[13], back[13];
    uint8_t buf[64];
    nac_rng r;
    nac_rng_seed(&r, 101);
    for (int bits = 1; bits <= 20; bits++) {
        for (int i = 0; i < 13; i++)
            codes[i] = (int32_t)nac_rng_below(&r, 1u << bits);
        CHECK(nac_rvq_pack(buf, codes, 13, bits, NULL) == 0);
        CHECK(nac_rvq_unpack(back, buf, nac_rvq_packed_bytes(13, bits), 13, bits, NULL) == 0);
        CHECK(memcmp(codes, back, sizeof codes) == 0);
    }
    int32_t c2[2] = {0x3FF, 0x001}; /* two 10-bit codes, MSB first */
    CHECK(nac_rvq_pack(buf, c2, 2, 10, NULL) == 0);
    CHECK(buf[0] == 0xFF && buf[1] == 0xC0 && buf[2] == 0x10);
    CHECK(nac_rvq_packed_bytes(2, 10) == 3);
    int32_t big = 1024;
    CHECK(nac_rvq_pack(buf, &big, 1, 10, NULL) == NAC_ERR_ARG);
    CHECK(nac_rvq_unpack(back, buf, 2, 2, 10, NULL) == NAC_ERR_TRUNCATED);
}

TEST(vq_rvq_layout_and_config)
{
    nac_rvq_config cfg;
    nac_rvq_config_default(&cfg);
    nac_rvq_layout lay;
    CHECK(nac_rvq_param_layout(&lay, &cfg, NULL) == 0);
    CHECK(lay.n_params == 5 && lay.n_state == 1);
    CHECK(!strcmp(lay.params[NAC_RVQ_CODEBOOK].name, "codebook"));
    CHECK(lay.params[NAC_RVQ_CODEBOOK].shape[0] == 12 && lay.params[NAC_RVQ_CODEBOOK].shape[1] == 1024 &&
          lay.params[NAC_RVQ_CODEBOOK].shape[2] == 8);
    CHECK(lay.params[NAC_RVQ_IN_W].shape[1] == 8 && lay.params[NAC_RVQ_IN_W].shape[2] == 128);
    size_t tot = 0;
    for (int i = 0; i < lay.n_params; i++)
        tot += lay.params[i].count;
    CHECK(tot == lay.param_floats);
    nac_error e;
    cfg.n_stages = 49;
    CHECK(nac_rvq_param_layout(&lay, &cfg, &e) == NAC_ERR_ARG);
    CHECK(strstr(e.msg, "n_stages") != NULL);
    nac_rvq_config_default(&cfg);
    cfg.ema_decay = 1.0f;
    CHECK(nac_rvq_param_layout(&lay, &cfg, &e) == NAC_ERR_ARG);
}

/* ---- residual VQ against PyTorch (tests/fixtures/gen_rvq.py) ----------------------------- */

static void rvq_fixture(nac_test *t_, const char *file, int N, int D, int S, int M, int code_dim)
{
    nac_rvq_config cfg;
    nac_rvq_config_default(&cfg);
    cfg.n_stages = S;
    cfg.dim = D;
    cfg.codebook_size = M;
    cfg.code_dim = code_dim;
    cfg.commitment_weight = 0.25f;
    cfg.codebook_weight = 1.0f;
    nac_rvq_layout lay;
    CHECK(nac_rvq_param_layout(&lay, &cfg, NULL) == 0);
    size_t P = lay.param_floats, ND = (size_t)N * D;
    size_t total = P + 2 * ND + N + ND + (size_t)N * S + 2 + ND + P;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", nac_test_fixture_dir(), file);
    float *f;
    size_t rows;
    nac_error e;
    CHECKF(nac_vq_f32_read(&f, &rows, path, 1, 0, &e) == 0, "%s", e.msg);
    CHECKF(rows == total, "%s: %zu floats, expected %zu", file, rows, total);
    const float *params = f, *z = f + P, *g = z + ND, *na = g + ND, *zq_ref = na + N, *codes_ref = zq_ref + ND;
    const float *loss_ref = codes_ref + (size_t)N * S, *dz_ref = loss_ref + 2, *grad_ref = dz_ref + ND;
    int nact[64];
    for (int n = 0; n < N; n++)
        nact[n] = (int)na[n];
    float *zq = malloc(ND * sizeof(float)), *dz = calloc(ND, sizeof(float)), *grads = calloc(P, sizeof(float));
    int32_t *codes = malloc(sizeof(int32_t) * N * S);
    void *ws = nac_alloc(nac_rvq_workspace_size(&cfg, N));
    nac_rvq_losses L;
    CHECK(nac_rvq_forward(zq, codes, &L, ws, z, nact, params, &lay, N, NULL) == 0);
    CHECK(nac_rvq_backward(dz, grads, g, ws, params, &lay, N, NULL) == 0);
    for (int i = 0; i < N * S; i++)
        CHECKF(codes[i] == (int32_t)codes_ref[i], "%s: code %d: %d vs torch %d", file, i, codes[i],
               (int)codes_ref[i]);
    double worst = 0;
    for (size_t i = 0; i < ND; i++) {
        CHECK_NEAR(zq[i], zq_ref[i], 1e-5 * (1 + fabs(zq_ref[i])));
        CHECK_NEAR(dz[i], dz_ref[i], 1e-5 * (1 + fabs(dz_ref[i])));
    }
    CHECK_NEAR(L.commitment, loss_ref[0], 1e-5 * (1 + loss_ref[0]));
    CHECK_NEAR(L.codebook, loss_ref[1], 1e-5 * (1 + loss_ref[1]));
    for (size_t i = 0; i < P; i++) {
        double d = fabs(grads[i] - grad_ref[i]);
        worst = d > worst ? d : worst;
        CHECKF(d <= 1e-5 * (1 + fabs(grad_ref[i])), "%s: grad %zu: %.8g vs torch %.8g", file, i, grads[i],
               grad_ref[i]);
    }
    snprintf(t_->why, sizeof t_->why, "worst parameter-gradient difference %.2e", worst);
    nac_free(f);
    free(zq);
    free(dz);
    free(grads);
    free(codes);
    nac_free(ws);
}

TEST(vq_rvq_matches_torch_plain) { rvq_fixture(t_, "rvq_plain_9_6_3_5.f32", 9, 6, 3, 5, 0); }
TEST(vq_rvq_matches_torch_factorised) { rvq_fixture(t_, "rvq_fact_11_7_4_6_3.f32", 11, 7, 4, 6, 3); }
