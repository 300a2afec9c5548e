/* Multi-stage VQ, M-best search over blocks of rows: for each survivor the block's residuals are
 * scored against the stage codebook at once (vq/search.h), candidates kept in a sorted list per row. */
#include "vq/msvq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/alloc.h"
#include "vq/search.h"

#define B 96 /* rows per block (a multiple of the search tile) */

struct nac_msvq {
    int S, K, Mmax;
    int M[NAC_MSVQ_MAX_STAGES];
    float *cb[NAC_MSVQ_MAX_STAGES];     /* (M, K) */
    float *packed[NAC_MSVQ_MAX_STAGES];
};

nac_msvq *nac_msvq_create(const float *const *cbs, const int *M, int n_stages, int K, nac_error *err)
{
    if (n_stages < 1 || n_stages > NAC_MSVQ_MAX_STAGES || K < 1) {
        nac_error_set(err, NAC_ERR_ARG, "multi-stage VQ needs 1..%d stages and K >= 1 (got %d, K=%d)",
                      NAC_MSVQ_MAX_STAGES, n_stages, K);
        return NULL;
    }
    nac_msvq *q = calloc(1, sizeof *q);
    if (!q)
        goto nomem;
    q->S = n_stages;
    q->K = K;
    for (int s = 0; s < n_stages; s++) {
        if (M[s] < 1) {
            nac_error_set(err, NAC_ERR_ARG, "stage %d codebook is empty", s + 1);
            nac_msvq_destroy(q);
            return NULL;
        }
        q->M[s] = M[s];
        if (M[s] > q->Mmax)
            q->Mmax = M[s];
        q->cb[s] = nac_alloc((size_t)M[s] * K * sizeof(float));
        q->packed[s] = nac_alloc(nac_vq_packed_floats(M[s], K) * sizeof(float));
        if (!q->cb[s] || !q->packed[s])
            goto nomem;
        memcpy(q->cb[s], cbs[s], (size_t)M[s] * K * sizeof(float));
        nac_vq_pack(q->packed[s], q->cb[s], M[s], K);
    }
    return q;
nomem:
    nac_msvq_destroy(q);
    nac_error_set(err, NAC_ERR_NOMEM, "out of memory for the multi-stage VQ tables");
    return NULL;
}

void nac_msvq_destroy(nac_msvq *q)
{
    if (!q)
        return;
    for (int s = 0; s < q->S; s++) {
        nac_free(q->cb[s]);
        nac_free(q->packed[s]);
    }
    free(q);
}

typedef struct cand {
    double e;
    int j, k;
} cand;

typedef struct scratch {
    float *res[2];   /* (mbest, B, K) survivor residuals */
    int32_t *path[2]; /* (mbest, B, S) */
    float *scores;   /* (B, Mmax) */
    cand *top;       /* (B, mbest) sorted ascending */
    int *tn;         /* (B) */
} scratch;

static void scratch_free(scratch *w)
{
    nac_free(w->res[0]);
    nac_free(w->res[1]);
    free(w->path[0]);
    free(w->path[1]);
    nac_free(w->scores);
    free(w->top);
    free(w->tn);
}

static int scratch_alloc(scratch *w, const nac_msvq *q, int mbest)
{
    size_t nres = (size_t)mbest * B * q->K, npath = (size_t)mbest * B * q->S;
    memset(w, 0, sizeof *w);
    for (int i = 0; i < 2; i++) {
        w->res[i] = nac_alloc(nres * sizeof(float));
        w->path[i] = malloc(npath * sizeof(int32_t));
    }
    w->scores = nac_alloc((size_t)B * q->Mmax * sizeof(float));
    w->top = malloc((size_t)B * mbest * sizeof(cand));
    w->tn = malloc(B * sizeof(int));
    return w->res[0] && w->res[1] && w->path[0] && w->path[1] && w->scores && w->top && w->tn;
}

/* Inserts (e, j, k) into the sorted list l of n entries (capacity cap); equal errors keep the
 * earlier candidate first. Returns the new length. */
static int insert(cand *l, int n, int cap, double e, int j, int k)
{
    if (n == cap && !(e < l[n - 1].e))
        return n;
    int p = n < cap ? n : cap - 1;
    while (p > 0 && e < l[p - 1].e) {
        l[p] = l[p - 1];
        p--;
    }
    l[p].e = e;
    l[p].j = j;
    l[p].k = k;
    return n < cap ? n + 1 : n;
}

static void quantize_block(float *out, int32_t *idx, double *se, const float *x, const nac_msvq *q, int nb,
                           int mbest, scratch *w)
{
    int K = q->K, S = q->S, a = 0;
    size_t plane = (size_t)B * K;
    memcpy(w->res[0], x, (size_t)nb * K * sizeof(float));
    int nsurv = 1;
    for (int s = 0; s < S; s++) {
        int Ms = q->M[s];
        for (int r = 0; r < nb; r++)
            w->tn[r] = 0;
        for (int j = 0; j < nsurv; j++) {
            const float *R = w->res[a] + (size_t)j * plane;
            nac_vq_scores(w->scores, (size_t)Ms, R, q->packed[s], nb, Ms, K);
            for (int r = 0; r < nb; r++) {
                const float *rr = R + (size_t)r * K;
                double base = 0;
                for (int d = 0; d < K; d++)
                    base += (double)rr[d] * rr[d];
                cand *l = w->top + (size_t)r * mbest;
                int n = w->tn[r];
                const float *sc = w->scores + (size_t)r * Ms;
                /* cheap float pre-test (a threshold rounded up), exact test in double after it */
                float thr = n < mbest ? INFINITY : nextafterf((float)((l[n - 1].e - base) * 0.5), INFINITY);
                for (int k0 = 0; k0 < Ms; k0 += 16) {
                    int k1 = k0 + 16 < Ms ? k0 + 16 : Ms, any = 0;
                    for (int k = k0; k < k1; k++) /* branch-free, vectorisable group test */
                        any |= sc[k] <= thr;
                    if (!any)
                        continue;
                    for (int k = k0; k < k1; k++) {
                        if (!(sc[k] <= thr))
                            continue;
                        double e = base + 2.0 * (double)sc[k];
                        if (n < mbest || e < l[n - 1].e) {
                            n = insert(l, n, mbest, e, j, k);
                            if (n == mbest)
                                thr = nextafterf((float)((l[n - 1].e - base) * 0.5), INFINITY);
                        }
                    }
                }
                w->tn[r] = n;
            }
        }
        int nnew = w->tn[0];
        const float *cb = q->cb[s];
        for (int t = 0; t < nnew; t++)
            for (int r = 0; r < nb; r++) {
                const cand *c = w->top + (size_t)r * mbest + t;
                const float *src = w->res[a] + (size_t)c->j * plane + (size_t)r * K;
                const float *cv = cb + (size_t)c->k * K;
                float *dst = w->res[1 - a] + (size_t)t * plane + (size_t)r * K;
                for (int d = 0; d < K; d++)
                    dst[d] = src[d] - cv[d];
                int32_t *pd = w->path[1 - a] + ((size_t)t * B + r) * S;
                if (s > 0)
                    memcpy(pd, w->path[a] + ((size_t)c->j * B + r) * S, (size_t)s * sizeof(int32_t));
                pd[s] = c->k;
            }
        a = 1 - a;
        nsurv = nnew;
    }
    for (int r = 0; r < nb; r++) {
        int bt = 0;
        double be = 0;
        for (int t = 0; t < nsurv; t++) {
            const float *rr = w->res[a] + (size_t)t * plane + (size_t)r * K;
            double e = 0;
            for (int d = 0; d < K; d++)
                e += (double)rr[d] * rr[d];
            if (t == 0 || e < be) {
                be = e;
                bt = t;
            }
        }
        const int32_t *path = w->path[a] + ((size_t)bt * B + r) * S;
        const float *xr = x + (size_t)r * K;
        float res[64], acc[64];
        for (int d0 = 0; d0 < K; d0 += 64) { /* per-stage error along the chosen path */
            int nd = K - d0 < 64 ? K - d0 : 64;
            for (int d = 0; d < nd; d++) {
                res[d] = xr[d0 + d];
                acc[d] = 0.0f;
            }
            for (int s = 0; s < S; s++) {
                const float *cv = q->cb[s] + (size_t)path[s] * K + d0;
                double e = 0;
                for (int d = 0; d < nd; d++) {
                    res[d] -= cv[d];
                    acc[d] += cv[d];
                    e += (double)res[d] * res[d];
                }
                se[s] += e;
            }
            if (out)
                memcpy(out + (size_t)r * K + d0, acc, (size_t)nd * sizeof(float));
        }
        if (idx)
            memcpy(idx + (size_t)r * S, path, (size_t)S * sizeof(int32_t));
    }
}

int nac_msvq_quantize(float *out, int32_t *idx, double *stage_se, const float *x, const nac_msvq *q,
                      size_t N, int mbest, nac_error *err)
{
    if (mbest < 1 || mbest > NAC_MSVQ_MAX_MBEST)
        return nac_error_set(err, NAC_ERR_ARG, "M-best must be in 1..%d (got %d)", NAC_MSVQ_MAX_MBEST, mbest);
    if (N == 0)
        return NAC_OK;
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    size_t nblk = (N + B - 1) / B;
    if ((size_t)nt > nblk)
        nt = (int)nblk;
    double work = 0; /* one thread for small jobs: a parallel region can cost a time slice */
    for (int s = 0; s < q->S; s++)
        work += (double)N * q->M[s] * q->K * (s ? mbest : 1);
    if (work < 2e6)
        nt = 1;
    int S = q->S, rc = NAC_OK;
    scratch *w = calloc((size_t)nt, sizeof *w);
    double *part = calloc(nblk * S, sizeof *part);
    int ok = w && part;
    for (int i = 0; ok && i < nt; i++)
        ok = scratch_alloc(&w[i], q, mbest);
    if (!ok) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "out of memory for M-best search (M-best %d)", mbest);
        goto done;
    }
#pragma omp parallel for schedule(dynamic, 8) num_threads(nt)
    for (long b = 0; b < (long)nblk; b++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        size_t r0 = (size_t)b * B;
        int nb = N - r0 < B ? (int)(N - r0) : B;
        quantize_block(out ? out + r0 * q->K : NULL, idx ? idx + r0 * S : NULL, part + (size_t)b * S,
                       x + r0 * q->K, q, nb, mbest, &w[tid]);
    }
    if (stage_se)
        for (size_t b = 0; b < nblk; b++)
            for (int s = 0; s < S; s++)
                stage_se[s] += part[b * S + s];
done:
    if (w)
        for (int i = 0; i < nt; i++)
            scratch_free(&w[i]);
    free(w);
    free(part);
    return rc;
}
