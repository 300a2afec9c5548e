/* Sample-rate conversion through soxr: SOXR_HQ (20-bit, linear phase), float32 mono. soxr
 * trims its own filter delay, so its output starts aligned with its input. When the caller's
 * output buffer is too small, soxr takes only part of the input: the rest waits in `pending`
 * (the caller's input need not outlive a call) and goes in first on the next call. */
#include "dsp/resample.h"

#include <math.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

struct nac_resampler {
    soxr_t soxr;     /* NULL for equal rates (a copy) */
    double in_rate, out_rate;
    float *pending;  /* (pend_cap) input not yet taken */
    size_t pend_n, pend_cap;
    int flushing;    /* end of input seen */
};

int nac_resampler_create(nac_resampler **out, double in_rate, double out_rate, nac_error *err)
{
    nac_resampler *r;
    if (!out)
        return nac_error_set(err, NAC_ERR_ARG, "nac_resampler_create: NULL argument");
    *out = NULL;
    if (!(in_rate > 0 && out_rate > 0 && isfinite(in_rate) && isfinite(out_rate)))
        return nac_error_set(err, NAC_ERR_ARG, "invalid sample rates %g -> %g Hz", in_rate, out_rate);
    r = calloc(1, sizeof *r);
    if (!r)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a resampler");
    r->in_rate = in_rate;
    r->out_rate = out_rate;
    if (in_rate != out_rate) {
        soxr_error_t e = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        r->soxr = soxr_create(in_rate, out_rate, 1, &e, &io, &q, NULL);
        if (!r->soxr || e) {
            nac_resampler_destroy(r);
            return nac_error_set(err, NAC_ERR_ARG, "cannot resample %g -> %g Hz (soxr: %s)", in_rate, out_rate,
                                 soxr_strerror(e));
        }
    }
    *out = r;
    return NAC_OK;
}

void nac_resampler_destroy(nac_resampler *r)
{
    if (!r)
        return;
    if (r->soxr)
        soxr_delete(r->soxr);
    free(r->pending);
    free(r);
}

static int keep_pending(nac_resampler *r, const float *in, size_t n, nac_error *err)
{
    if (r->pend_n + n > r->pend_cap) {
        size_t cap = 2 * (r->pend_n + n);
        float *p = realloc(r->pending, cap * sizeof *p);
        if (!p)
            return nac_error_set(err, NAC_ERR_NOMEM, "out of memory in the resampler");
        r->pending = p;
        r->pend_cap = cap;
    }
    memcpy(r->pending + r->pend_n, in, n * sizeof *in);
    r->pend_n += n;
    return NAC_OK;
}

/* Moves input from src (n samples) to out (room samples); returns how much input was taken. */
static int step(nac_resampler *r, size_t *taken, size_t *made, float *out, size_t room, const float *src, size_t n,
                nac_error *err)
{
    if (!r->soxr) {
        size_t m = n < room ? n : room;
        if (m)
            memcpy(out, src, m * sizeof *out);
        *taken = *made = m;
        return NAC_OK;
    }
    soxr_error_t e = soxr_process(r->soxr, src, n, taken, out, room, made);
    if (e)
        return nac_error_set(err, NAC_ERR_INTERNAL, "soxr: %s", e);
    return NAC_OK;
}

int nac_resampler_process(nac_resampler *r, float *out, size_t cap, size_t *got, const float *in, size_t n,
                          nac_error *err)
{
    size_t total = 0;
    int rc;
    if (!r || !got || (!out && cap) || (!in && n))
        return nac_error_set(err, NAC_ERR_ARG, "nac_resampler_process: NULL argument");
    *got = 0;
    if (in && r->flushing)
        return nac_error_set(err, NAC_ERR_STATE, "resampler: input after the end-of-stream flush");
    if (!in)
        r->flushing = 1;
    for (;;) {
        size_t taken = 0, made = 0;
        if (r->pend_n) {
            rc = step(r, &taken, &made, out + total, cap - total, r->pending, r->pend_n, err);
            if (rc < 0)
                return rc;
            memmove(r->pending, r->pending + taken, (r->pend_n - taken) * sizeof *r->pending);
            r->pend_n -= taken;
        } else if (n) {
            rc = step(r, &taken, &made, out + total, cap - total, in, n, err);
            if (rc < 0)
                return rc;
            in += taken;
            n -= taken;
        } else if (r->flushing && r->soxr) {
            soxr_error_t e = soxr_process(r->soxr, NULL, 0, NULL, out + total, cap - total, &made);
            if (e)
                return nac_error_set(err, NAC_ERR_INTERNAL, "soxr: %s", e);
            total += made;
            break;
        } else {
            break;
        }
        total += made;
        if (!taken && !made)
            break;
    }
    if (n) {
        rc = keep_pending(r, in, n, err);
        if (rc < 0)
            return rc;
    }
    *got = total;
    return NAC_OK;
}

int nac_resample_all(float **out, size_t *out_n, const float *in, size_t n, double in_rate, double out_rate,
                     nac_error *err)
{
    nac_resampler *r = NULL;
    float *y = NULL;
    size_t want, cap, len = 0;
    int rc;
    if (!out || !out_n || (!in && n))
        return nac_error_set(err, NAC_ERR_ARG, "nac_resample_all: NULL argument");
    *out = NULL;
    *out_n = 0;
    rc = nac_resampler_create(&r, in_rate, out_rate, err);
    if (rc < 0)
        return rc;
    want = (size_t)llround((double)n * out_rate / in_rate);
    /* soxr can give a few samples more than the exact ratio at the end; they are cut. */
    cap = want + 64;
    y = malloc(cap * sizeof *y);
    if (!y) {
        rc = nac_error_set(err, NAC_ERR_NOMEM, "out of memory resampling %zu samples", n);
        goto fail;
    }
    if (n) {
        size_t got;
        rc = nac_resampler_process(r, y, cap, &got, in, n, err);
        if (rc < 0)
            goto fail;
        len += got;
    }
    while (len < cap) {
        size_t got;
        rc = nac_resampler_process(r, y + len, cap - len, &got, NULL, 0, err);
        if (rc < 0)
            goto fail;
        if (!got)
            break;
        len += got;
    }
    if (len < want)
        memset(y + len, 0, (want - len) * sizeof *y);
    nac_resampler_destroy(r);
    *out = y;
    *out_n = want;
    return NAC_OK;
fail:
    free(y);
    nac_resampler_destroy(r);
    return rc;
}
