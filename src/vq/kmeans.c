/* k-means / LBG codebook training: fused-search assignment over fixed row blocks (per-block
 * double partial sums reduced in block order), counting-sort updates in row order. */
#include "vq/kmeans.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "vq/search.h"

#define BLOCK 1200 /* rows per parallel block (a multiple of the search tile) */
/* Below this many multiply-adds a loop runs on one thread: on a busy machine a parallel region
 * can cost a scheduler time slice. */
#define PAR_WORK 2000000.0

void nac_vq_train_opts_default(nac_vq_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->init = NAC_VQ_INIT_KMEANSPP;
    o->iters = 20;
    o->min_gain = 1e-4;
    o->split_eps = 0.01;
    o->seed = 1;
    o->restarts = 1;
}

typedef struct km {
    const float *x;
    size_t N, n_blocks;
    int K, M;
    float *cb;       /* (M, K) */
    float *packed;   /* packed cb */
    int32_t *labels; /* (N) */
    double *bsum;    /* (n_blocks) */
    size_t *count;   /* (M) */
    size_t *start;   /* (M + 1) */
    int32_t *order;  /* (N) rows grouped by cell, in row order */
    double *sigma;   /* (K) data std per dimension */
    int restart;     /* current restart, for progress reports */
    nac_rng rng;
} km;

/* ---- assignment ----------------------------------------------------------------------- */

/* Assigns every row to its nearest of the first m entries; returns the mean squared error per
 * element, from exact differences. */
static double assign(km *s, int m)
{
    const float *x = s->x, *cb = s->cb;
    int K = s->K;
    nac_vq_pack(s->packed, cb, m, K);
    long nb = (long)s->n_blocks;
#pragma omp parallel for schedule(dynamic, 1) if ((double)s->N * m * K > PAR_WORK)
    for (long b = 0; b < nb; b++) {
        size_t r0 = (size_t)b * BLOCK, r1 = r0 + BLOCK < s->N ? r0 + BLOCK : s->N;
        nac_vq_nearest(s->labels + r0, NULL, x + r0 * K, s->packed, (int)(r1 - r0), m, K);
        double acc = 0;
        for (size_t i = r0; i < r1; i++) {
            const float *xi = x + i * K, *c = cb + (size_t)s->labels[i] * K;
            float e = 0;
            for (int d = 0; d < K; d++) {
                float t = xi[d] - c[d];
                e += t * t;
            }
            acc += e;
        }
        s->bsum[b] = acc;
    }
    double tot = 0;
    for (size_t b = 0; b < s->n_blocks; b++)
        tot += s->bsum[b];
    return tot / ((double)s->N * K);
}

/* Cell sizes and rows grouped by cell (stable counting sort); returns the number of empty cells. */
static int group(km *s, int m)
{
    memset(s->count, 0, (size_t)m * sizeof *s->count);
    for (size_t i = 0; i < s->N; i++)
        s->count[s->labels[i]]++;
    s->start[0] = 0;
    int empty = 0;
    for (int k = 0; k < m; k++) {
        s->start[k + 1] = s->start[k] + s->count[k];
        empty += s->count[k] == 0;
    }
    size_t *pos = s->start; /* reuse as cursor, restored below */
    for (size_t i = 0; i < s->N; i++)
        s->order[pos[s->labels[i]]++] = (int32_t)i;
    for (int k = m; k > 0; k--)
        pos[k] = pos[k - 1];
    pos[0] = 0;
    return empty;
}

static void normalise(float *c, int K)
{
    double n2 = 0;
    for (int d = 0; d < K; d++)
        n2 += (double)c[d] * c[d];
    if (n2 > 0) {
        float inv = (float)(1.0 / sqrt(n2));
        for (int d = 0; d < K; d++)
            c[d] *= inv;
    }
}

/* A perturbed copy of entry j into entry e: c_e = c_j + eps * sigma * (random signs). */
static void split_into(km *s, int e, int j, double eps, int spherical)
{
    float *ce = s->cb + (size_t)e * s->K;
    const float *cj = s->cb + (size_t)j * s->K;
    for (int d = 0; d < s->K; d++) {
        double sign = (nac_rng_u64(&s->rng) >> 63) ? 1.0 : -1.0;
        ce[d] = (float)(cj[d] + sign * eps * s->sigma[d]);
    }
    if (spherical)
        normalise(ce, s->K);
}

/* Centroid update of the first m cells, then empty cells refilled from the most populated. */
static void update(km *s, int m, double eps, int spherical)
{
    int K = s->K;
#pragma omp parallel for schedule(dynamic, 16) if ((double)s->N * K > PAR_WORK)
    for (int k = 0; k < m; k++) {
        size_t n = s->count[k];
        if (!n)
            continue;
        double acc[64];
        double *a = acc;
        double *heap = NULL;
        if (K > 64) {
            heap = malloc((size_t)K * sizeof *heap);
            if (!heap)
                continue; /* keep the old centre: still a valid (not better) codebook */
            a = heap;
        }
        for (int d = 0; d < K; d++)
            a[d] = 0;
        for (size_t t = s->start[k]; t < s->start[k] + n; t++) {
            const float *xi = s->x + (size_t)s->order[t] * K;
            for (int d = 0; d < K; d++)
                a[d] += xi[d];
        }
        float *c = s->cb + (size_t)k * K;
        for (int d = 0; d < K; d++)
            c[d] = (float)(a[d] / (double)n);
        if (spherical)
            normalise(c, K);
        free(heap);
    }
    for (int e = 0; e < m; e++) {
        if (s->count[e])
            continue;
        int j = 0;
        for (int k = 1; k < m; k++)
            if (s->count[k] > s->count[j])
                j = k;
        if (s->count[j] < 2)
            break; /* nothing left to split */
        split_into(s, e, j, eps, spherical);
        s->count[e] = s->count[j] / 2;
        s->count[j] -= s->count[e];
    }
}

/* ---- seeding -------------------------------------------------------------------------- */

/* Squared distance with 8 interleaved partial sums (a fixed order, so still deterministic);
 * independent sums let the compiler vectorise and break the add latency chain. */
static float dist2(const float *restrict a, const float *restrict b, int K)
{
    float p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int d = 0;
    for (; d + 8 <= K; d += 8)
        for (int l = 0; l < 8; l++) {
            float t = a[d + l] - b[d + l];
            p[l] += t * t;
        }
    for (int l = 0; d < K; d++, l++) {
        float t = a[d] - b[d];
        p[l] += t * t;
    }
    return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
}

/* One row drawn with probability proportional to d2 (n rows, block sums bs over nb blocks). */
static size_t sample_d2(km *s, const float *d2, const double *bs, size_t n, size_t nb)
{
    double tot = 0;
    for (size_t b = 0; b < nb; b++)
        tot += bs[b];
    if (!(tot > 0))
        return (size_t)nac_rng_below(&s->rng, n);
    double u = nac_rng_uniform(&s->rng) * tot, acc = 0;
    size_t b = 0;
    while (b + 1 < nb && acc + bs[b] <= u)
        acc += bs[b++];
    size_t i = b * BLOCK, end = i + BLOCK < n ? i + BLOCK : n, pick = end - 1;
    for (; i < end; i++) {
        acc += d2[i];
        if (acc > u && d2[i] > 0) {
            pick = i;
            break;
        }
    }
    while (d2[pick] == 0 && pick > b * BLOCK) /* rounding at the block's end */
        pick--;
    return pick;
}

/* Greedy k-means++ (Arthur & Vassilvitskii 2007, section 6; scikit-learn's default) on a random
 * subset of at most max(256 M / L, 65536) rows (the work stays near that of classic seeding on
 * 256 M rows): each new centre is the best of L candidates drawn by D^2
 * sampling, the one that lowers the potential (sum of squared distances to the nearest centre)
 * most. L = 1 is the classic seeding. Candidate distances go to dl (L, n) already min'ed with the
 * current d2, so adopting a candidate is a copy. */
static int seed_kmeanspp(km *s, int L, nac_error *err)
{
    int K = s->K, M = s->M;
    size_t n = s->N, cap = (size_t)256 * M / (size_t)(L < 1 ? 1 : L);
    int32_t *rows = NULL;
    float *d2 = NULL, *sub = NULL, *dl = NULL;
    double *bs = NULL, *bl = NULL;
    size_t cand[64];
    int rc = NAC_OK;
    if (L < 1)
        L = 1;
    if (L > 64)
        L = 64;
    cap = (size_t)256 * M / (size_t)L;
    if (cap < 65536)
        cap = 65536;
    if (n > cap) {
        /* partial Fisher-Yates over all row indices, then sorted for memory order */
        rows = malloc(s->N * sizeof *rows);
        if (!rows)
            goto nomem;
        for (size_t i = 0; i < s->N; i++)
            rows[i] = (int32_t)i;
        for (size_t i = 0; i < cap; i++) {
            size_t j = i + (size_t)nac_rng_below(&s->rng, s->N - i);
            int32_t t = rows[i];
            rows[i] = rows[j];
            rows[j] = t;
        }
        n = cap;
        /* counting pass keeps it O(N): mark, then collect in order */
        uint8_t *mark = calloc(s->N, 1);
        if (!mark)
            goto nomem;
        for (size_t i = 0; i < n; i++)
            mark[rows[i]] = 1;
        size_t t = 0;
        for (size_t i = 0; i < s->N; i++)
            if (mark[i])
                rows[t++] = (int32_t)i;
        free(mark);
        sub = malloc(n * (size_t)K * sizeof *sub); /* contiguous copy: sequential access per step */
        if (!sub)
            goto nomem;
        for (size_t i = 0; i < n; i++)
            memcpy(sub + i * K, s->x + (size_t)rows[i] * K, (size_t)K * sizeof(float));
    }
    const float *X = sub ? sub : s->x;
    size_t nb = (n + BLOCK - 1) / BLOCK;
    d2 = malloc(n * sizeof *d2);
    dl = malloc((size_t)L * n * sizeof *dl);
    bs = malloc(nb * sizeof *bs);
    bl = malloc((size_t)L * nb * sizeof *bl);
    if (!d2 || !dl || !bs || !bl)
        goto nomem;
#define ROW(i) (X + (size_t)(i) * K)
    for (int m = 0; m < M; m++) {
        int nc = m == 0 ? 1 : L; /* the first centre: one uniform draw */
        for (int l = 0; l < nc; l++)
            cand[l] = m == 0 ? (size_t)nac_rng_below(&s->rng, n) : sample_d2(s, d2, bs, n, nb);
        if (m + 1 == M && nc == 1) {
            memcpy(s->cb + (size_t)m * K, ROW(cand[0]), (size_t)K * sizeof(float));
            break;
        }
#pragma omp parallel for schedule(dynamic, 1) if ((double)n * K * nc > PAR_WORK)
        for (long b = 0; b < (long)nb; b++) {
            size_t i0 = (size_t)b * BLOCK, i1 = i0 + BLOCK < n ? i0 + BLOCK : n;
            for (int l = 0; l < nc; l++) {
                const float *c = ROW(cand[l]);
                float *dd = dl + (size_t)l * n;
                double acc = 0;
                for (size_t i = i0; i < i1; i++) {
                    float e = dist2(ROW(i), c, K);
                    dd[i] = m == 0 || e < d2[i] ? e : d2[i];
                    acc += dd[i];
                }
                bl[(size_t)l * nb + b] = acc;
            }
        }
        int best = 0;
        double best_pot = INFINITY;
        for (int l = 0; l < nc; l++) {
            double pot = 0;
            for (size_t b = 0; b < nb; b++)
                pot += bl[(size_t)l * nb + b];
            if (pot < best_pot) {
                best_pot = pot;
                best = l;
            }
        }
        memcpy(s->cb + (size_t)m * K, ROW(cand[best]), (size_t)K * sizeof(float));
        memcpy(d2, dl + (size_t)best * n, n * sizeof *d2);
        memcpy(bs, bl + (size_t)best * nb, nb * sizeof *bs);
    }
#undef ROW
    goto done;
nomem:
    rc = nac_error_set(err, NAC_ERR_NOMEM, "out of memory in k-means++ seeding");
done:
    free(rows);
    free(sub);
    free(d2);
    free(dl);
    free(bs);
    free(bl);
    return rc;
}

/* ---- driver --------------------------------------------------------------------------- */

static void report(const nac_vq_train_opts *o, int m, int it, double mse, int empty, int restart)
{
    if (!o->progress)
        return;
    nac_vq_iter_info info = {m, it, mse, empty, restart};
    o->progress(o->ctx, &info);
}

/* Up to iters Lloyd iterations with m entries (early exit on small gain when min_gain > 0). */
static void lloyd(km *s, int m, const nac_vq_train_opts *o, double min_gain)
{
    double prev = 0;
    for (int it = 0; it < o->iters; it++) {
        double mse = assign(s, m);
        int empty = group(s, m);
        report(o, m, it, mse, empty, s->restart);
        update(s, m, o->split_eps, o->spherical);
        if (min_gain > 0 && it > 0 && prev - mse <= min_gain * prev)
            break;
        prev = mse;
    }
}

int nac_vq_train(float *cb, double *mse, int32_t *labels, const float *x, size_t N, int K, int M,
                 const nac_vq_train_opts *o, nac_error *err)
{
    if (K < 1 || M < 1 || N < 1)
        return nac_error_set(err, NAC_ERR_ARG, "k-means needs K, M and N >= 1 (K=%d, M=%d, N=%zu)", K, M, N);
    if (N < (size_t)M)
        return nac_error_set(err, NAC_ERR_ARG, "%zu training vectors are fewer than the %d codebook entries",
                             N, M);
    if (N > INT32_MAX)
        return nac_error_set(err, NAC_ERR_ARG, "too many training vectors (%zu)", N);
    if (o->iters < 0)
        return nac_error_set(err, NAC_ERR_ARG, "iterations must be >= 0");
    int rc = NAC_OK;
    km s = {0};
    s.x = x;
    s.N = N;
    s.K = K;
    s.M = M;
    s.cb = cb;
    s.n_blocks = (N + BLOCK - 1) / BLOCK;
    s.packed = nac_alloc(nac_vq_packed_floats(M, K) * sizeof(float));
    s.labels = labels ? labels : malloc(N * sizeof *s.labels);
    s.order = malloc(N * sizeof *s.order);
    s.bsum = malloc(s.n_blocks * sizeof *s.bsum);
    s.count = malloc((size_t)M * sizeof *s.count);
    s.start = malloc(((size_t)M + 1) * sizeof *s.start);
    s.sigma = calloc((size_t)K, sizeof *s.sigma);
    double *mean = calloc((size_t)K, sizeof *mean), *dist = malloc((size_t)M * sizeof *dist);
    float *best_cb = NULL;
    int *nsplit = malloc((size_t)M * sizeof *nsplit);
    if (!dist || !nsplit || !s.packed || !s.labels || !s.order || !s.bsum || !s.count || !s.start || !s.sigma || !mean) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "out of memory for k-means on %zu x %d vectors", N, K);
        goto done;
    }
    nac_rng_seed(&s.rng, o->seed);
    /* per-dimension mean and std (serial in row order: deterministic) */
    for (size_t i = 0; i < N; i++)
        for (int d = 0; d < K; d++)
            mean[d] += x[i * K + d];
    for (int d = 0; d < K; d++)
        mean[d] /= (double)N;
    for (size_t i = 0; i < N; i++)
        for (int d = 0; d < K; d++) {
            double t = x[i * K + d] - mean[d];
            s.sigma[d] += t * t;
        }
    for (int d = 0; d < K; d++)
        s.sigma[d] = sqrt(s.sigma[d] / (double)N);

    if (o->init == NAC_VQ_INIT_SPLIT) {
        for (int d = 0; d < K; d++)
            cb[d] = (float)mean[d];
        if (o->spherical)
            normalise(cb, K);
        int m = 1;
        lloyd(&s, m, o, o->min_gain);
        while (m < M) {
            int m2 = 2 * m < M ? 2 * m : M;
            /* m2 - m splits, given greedily to the cells of largest distortion per centre: a cell
             * holding several clusters may split more than once, a tight one not at all */
            assign(&s, m);
            for (int k = 0; k < m; k++) {
                dist[k] = 0;
                nsplit[k] = 0;
            }
            for (size_t i = 0; i < N; i++)
                dist[s.labels[i]] += dist2(x + i * K, cb + (size_t)s.labels[i] * K, K);
            for (int e = m; e < m2; e++) {
                int j = 0;
                for (int k = 1; k < m; k++)
                    if (dist[k] / (nsplit[k] + 1) > dist[j] / (nsplit[j] + 1))
                        j = k;
                split_into(&s, e, j, o->split_eps, o->spherical);
                nsplit[j]++;
            }
            m = m2;
            lloyd(&s, m, o, o->min_gain);
        }
    } else {
        int R = o->init == NAC_VQ_INIT_KMEANSPP && o->restarts > 1 ? o->restarts : 1;
        int L = o->candidates > 0 ? o->candidates : 2 + (int)(2.0 * log((double)M));
        double best = INFINITY;
        if (R > 1 && !(best_cb = malloc((size_t)M * K * sizeof *best_cb))) {
            rc = nac_error_set(err, NAC_ERR_NOMEM, "out of memory for k-means restarts");
            goto done;
        }
        for (int r = 0; r < R; r++) {
            s.restart = r;
            if (o->init == NAC_VQ_INIT_KMEANSPP && (rc = seed_kmeanspp(&s, L, err)))
                goto done;
            lloyd(&s, M, o, 0.0);
            if (R > 1) {
                double e = assign(&s, M);
                if (e < best) {
                    best = e;
                    memcpy(best_cb, cb, (size_t)M * K * sizeof *cb);
                }
            }
        }
        if (R > 1)
            memcpy(cb, best_cb, (size_t)M * K * sizeof *cb);
    }
    double e = assign(&s, M);
    if (mse)
        *mse = e;
done:
    nac_free(s.packed);
    if (!labels)
        free(s.labels);
    free(s.order);
    free(s.bsum);
    free(s.count);
    free(s.start);
    free(s.sigma);
    free(mean);
    free(dist);
    free(nsplit);
    free(best_cb);
    return rc;
}

int nac_vq_assign(int32_t *labels, double *mse, const float *x, const float *cb, size_t N, int K, int M,
                  nac_error *err)
{
    if (K < 1 || M < 1 || N > INT32_MAX)
        return nac_error_set(err, NAC_ERR_ARG, "bad sizes for assignment (K=%d, M=%d, N=%zu)", K, M, N);
    km s = {0};
    s.x = x;
    s.N = N;
    s.K = K;
    s.M = M;
    s.cb = (float *)cb; /* assign() only reads it */
    s.n_blocks = (N + BLOCK - 1) / BLOCK;
    s.labels = labels;
    s.packed = nac_alloc(nac_vq_packed_floats(M, K) * sizeof(float));
    s.bsum = malloc((s.n_blocks ? s.n_blocks : 1) * sizeof *s.bsum);
    int rc = NAC_OK;
    if (!s.packed || !s.bsum) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "out of memory for assignment");
    } else {
        double e = N ? assign(&s, M) : 0;
        if (mse)
            *mse = e;
    }
    nac_free(s.packed);
    free(s.bsum);
    return rc;
}
