/* Pitch tracking: NCCF candidates at 8 kHz, then a Viterbi search over candidates and an unvoiced
 * state per frame. Costs follow RAPT's shape: a voiced candidate costs 1 - nccf (slightly more for
 * long lags, against period doubling), the unvoiced state costs the best nccf plus a bias; moving
 * between pitches costs in proportion to the log frequency ratio, a voicing change a constant. */
#include "vocoder/pitch.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nac/vocoder.h"

#define FS2 8000                 /* decimated rate */
#define HOP2 80                  /* 10 ms at 8 kHz */
#define WIN2 160                 /* NCCF window: 20 ms */
#define LAG_MIN 16               /* 500 Hz */
#define LAG_MAX 160              /* 50 Hz */
#define N_CAND 6                 /* voiced candidates kept per frame */
#define DEC_TAPS 31              /* decimation low-pass */
#define CAND_MIN 0.3f            /* nccf below this is no candidate */
#define LAG_WT 0.25f             /* cost of long lags */
#define FREQ_WT 0.6f             /* cost per unit |log f ratio| between frames */
#define VOICE_TRANS 0.25f        /* cost of a voicing change */
#define UV_BIAS 0.42f            /* unvoiced cost: bias + best nccf */
#define SILENCE_DB 45.0          /* frames this far below the loudest are unvoiced */

typedef struct cand {
    float lag;  /* fractional lag, 8 kHz samples; 0 = unvoiced */
    float cost; /* local cost */
} cand;

/* Low-pass at 3.4 kHz (Hamming-windowed sinc), every other sample, DC removed by the mean. */
static void decimate(float *y, size_t n2, const float *x, size_t n)
{
    double h[DEC_TAPS], sum = 0;
    int c = DEC_TAPS / 2;
    for (int k = 0; k < DEC_TAPS; k++) {
        double t = k - c, fc = 3400.0 / 16000.0;
        double s = t == 0 ? 2 * fc : sin(2 * M_PI * fc * t) / (M_PI * t);
        h[k] = s * (0.54 - 0.46 * cos(2 * M_PI * k / (DEC_TAPS - 1)));
        sum += h[k];
    }
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    for (size_t j = 0; j < n2; j++) {
        double acc = 0;
        long i0 = (long)(2 * j) - c;
        for (int k = 0; k < DEC_TAPS; k++) {
            long i = i0 + k;
            if (i >= 0 && (size_t)i < n)
                acc += h[k] * (x[i] - mean);
        }
        y[j] = (float)(acc / sum);
    }
}

static float dot(const float *a, const float *b, int n)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

int nac_pitch_track(float *f0, const float *x, size_t n, size_t T, nac_error *err)
{
    /* d holds the decimated signal with LAG_MAX + WIN2 zeros of padding on both sides */
    size_t n2 = (n + 1) / 2, pad = LAG_MAX + WIN2;
    float *d = calloc(n2 + 2 * pad, sizeof *d);
    float *phi = malloc((LAG_MAX + 2) * sizeof *phi);
    cand *cs = malloc(T * (N_CAND + 1) * sizeof *cs);
    float *acc = malloc(T * (N_CAND + 1) * sizeof *acc);
    int *back = malloc(T * (N_CAND + 1) * sizeof *back);
    double *edb = malloc(T * sizeof *edb);
    if (!d || !phi || !cs || !acc || !back || !edb) {
        free(d), free(phi), free(cs), free(acc), free(back), free(edb);
        return nac_error_set(err, NAC_ERR_NOMEM, "pitch: out of memory (%zu frames)", T);
    }
    decimate(d + pad, n2, x, n);
    const float *s = d + pad;
    double emax = -1e30;
    for (size_t t = 0; t < T; t++) {
        long c = (long)(t * HOP2 + HOP2 / 2);
        double e = dot(s + c - WIN2 / 2, s + c - WIN2 / 2, WIN2) / WIN2;
        edb[t] = 10 * log10(e + 1e-12);
        if (edb[t] > emax)
            emax = edb[t];
    }
    for (size_t t = 0; t < T; t++) {
        long c = (long)(t * HOP2 + HOP2 / 2);
        cand *ct = cs + t * (N_CAND + 1);
        int nc = 0;
        float best = 0;
        int quiet = edb[t] < emax - SILENCE_DB || edb[t] < -85;
        /* phi[k] for lags LAG_MIN - 1 .. LAG_MAX + 1: the two windows sit symmetrically around c */
        for (int k = LAG_MIN - 1; k <= LAG_MAX + 1; k++) {
            const float *a = s + c - k / 2 - WIN2 / 2, *b = a + k;
            float ab = dot(a, b, WIN2), aa = dot(a, a, WIN2), bb = dot(b, b, WIN2);
            phi[k] = aa > 0 && bb > 0 ? ab / sqrtf(aa * bb) : 0;
        }
        for (int k = LAG_MIN; k <= LAG_MAX && !quiet; k++) {
            if (!(phi[k] > CAND_MIN && phi[k] >= phi[k - 1] && phi[k] > phi[k + 1]))
                continue;
            /* parabolic peak */
            float a = phi[k - 1], b = phi[k], cc = phi[k + 1], den = a - 2 * b + cc;
            float dk = den < 0 ? 0.5f * (a - cc) / den : 0;
            if (dk > 0.5f || dk < -0.5f)
                dk = 0;
            float val = b - 0.25f * (a - cc) * dk;
            if (val > 1)
                val = 1;
            if (val > best)
                best = val;
            float lag = k + dk, cost = 1 - val * (1 - LAG_WT * lag / LAG_MAX);
            if (nc < N_CAND) {
                ct[nc].lag = lag, ct[nc].cost = cost;
                nc++;
            } else {
                int worst = 0;
                for (int j = 1; j < N_CAND; j++)
                    if (ct[j].cost > ct[worst].cost)
                        worst = j;
                if (cost < ct[worst].cost)
                    ct[worst].lag = lag, ct[worst].cost = cost;
            }
        }
        for (int j = nc; j < N_CAND; j++)
            ct[j].lag = -1, ct[j].cost = FLT_MAX; /* unused slot */
        ct[N_CAND].lag = 0;
        ct[N_CAND].cost = quiet ? 0 : UV_BIAS + best;
    }
    /* Viterbi */
    for (size_t t = 0; t < T; t++) {
        cand *ct = cs + t * (N_CAND + 1);
        for (int j = 0; j <= N_CAND; j++) {
            float *a = acc + t * (N_CAND + 1) + j;
            int *bk = back + t * (N_CAND + 1) + j;
            if (ct[j].lag < 0) {
                *a = FLT_MAX, *bk = 0;
                continue;
            }
            if (t == 0) {
                *a = ct[j].cost, *bk = N_CAND;
                continue;
            }
            const cand *cp = cs + (t - 1) * (N_CAND + 1);
            const float *ap = acc + (t - 1) * (N_CAND + 1);
            float bestc = FLT_MAX;
            int bi = N_CAND;
            for (int i = 0; i <= N_CAND; i++) {
                if (ap[i] == FLT_MAX)
                    continue;
                float tr;
                if ((cp[i].lag > 0) != (ct[j].lag > 0))
                    tr = VOICE_TRANS;
                else if (ct[j].lag > 0)
                    tr = FREQ_WT * fabsf(logf(ct[j].lag / cp[i].lag));
                else
                    tr = 0;
                if (ap[i] + tr < bestc)
                    bestc = ap[i] + tr, bi = i;
            }
            *a = bestc + ct[j].cost;
            *bk = bi;
        }
    }
    int j = N_CAND;
    const float *al = acc + (T - 1) * (N_CAND + 1);
    for (int i = 0; i <= N_CAND; i++)
        if (al[i] < al[j])
            j = i;
    for (size_t t = T; t-- > 0;) {
        float lag = cs[t * (N_CAND + 1) + j].lag;
        f0[t] = lag > 0 ? (float)FS2 / lag : 0;
        j = back[t * (N_CAND + 1) + j];
    }
    /* a voiced frame alone between unvoiced ones is more likely an error than speech */
    for (size_t t = 0; t < T; t++)
        if (f0[t] > 0 && (t == 0 || f0[t - 1] == 0) && (t + 1 == T || f0[t + 1] == 0))
            f0[t] = 0;
    for (size_t t = 0; t < T; t++) {
        if (f0[t] < NAC_VOCODER_F0_MIN && f0[t] > 0)
            f0[t] = NAC_VOCODER_F0_MIN;
        if (f0[t] > NAC_VOCODER_F0_MAX)
            f0[t] = NAC_VOCODER_F0_MAX;
    }
    free(d), free(phi), free(cs), free(acc), free(back), free(edb);
    return NAC_OK;
}
