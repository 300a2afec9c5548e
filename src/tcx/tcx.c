/* Transform coder: see tcx.h. Everything that steers the range coder (envelope indices, the
 * packet's step index, contexts, shifts) is integer, so encoder and decoder agree bit for bit;
 * floats only turn indices into samples. */
#include "tcx/tcx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/range_coder.h"
#include "core/rng.h"
#include "dsp/mdct.h"
#include "tcx/tcx_tables.h"

#define N NAC_TCX_HOP
#define NB NAC_TCX_BANDS
#define BPF (NAC_TCX_FRAME / NAC_TCX_HOP) /* MDCT blocks per frame */
#define E_MAX 63          /* envelope index: band rms = 2^((e - E_ZERO) / 2); 0 = silent band */
#define E_ZERO 48
#define G_ZERO 176        /* step index: base step 2^((G - G_ZERO) / 8) */
#define SHAPE_NUM 12      /* step ~ rms^0.3: 4 * 0.3 eighth-octave steps per envelope step */
#define SHAPE_DEN 10
#define ROUNDING 0.35f    /* quantiser: m = floor(|x| / step + ROUNDING), a dead zone that saves bits */
#define FILL_CAP 0.2f     /* noise fill at most this fraction of the step (more raised the mel distance) */
#define SHARE_FLOOR 0.05   /* noise-fill share of a block with no coded energy, relative */
#define INC 24            /* adaptive model increment */
#define MAX_TOTAL 60000
#define TCTX 6            /* time-step contexts: the band below's step -2..2, and the first band */
#define HEAD 2            /* payload: frames, step index, then the range-coded data */

/* Band edges in MDCT bins of 50 Hz: 200 Hz bands to 1.6 kHz, 400 Hz above. */
static const int edges50[NB + 1] = {0, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136, 144, 152, 160};

#define EDGE(b) (edges50[b] * N / 160)
/* ---- adaptive frequency models ------------------------------------------------------------------ */

typedef struct model {
    uint16_t f[NAC_TCX_DELTAS > NAC_TCX_SYMBOLS ? NAC_TCX_DELTAS : NAC_TCX_SYMBOLS];
    uint32_t total;
    int n;
} model;

typedef struct models {
    model coef[NAC_TCX_CONTEXTS];
    model fdelta, tdelta[TCTX];
} models;

static void model_init(model *m, const uint16_t *init, int n)
{
    m->n = n;
    m->total = 0;
    for (int i = 0; i < n; i++)
        m->total += m->f[i] = init[i];
}

static void models_init(models *ms)
{
    for (int c = 0; c < NAC_TCX_CONTEXTS; c++)
        model_init(&ms->coef[c], nac_tcx_coef_init[c], NAC_TCX_SYMBOLS);
    model_init(&ms->fdelta, nac_tcx_delta_init, NAC_TCX_DELTAS);
    for (int c = 0; c < TCTX; c++)
        model_init(&ms->tdelta[c], nac_tcx_delta_init, NAC_TCX_DELTAS);
}

static void model_update(model *m, int s)
{
    m->f[s] += INC;
    m->total += INC;
    if (m->total > MAX_TOTAL) {
        m->total = 0;
        for (int i = 0; i < m->n; i++)
            m->total += m->f[i] = (uint16_t)((m->f[i] + 1) / 2);
    }
}

static void model_encode(nac_rc_encoder *rc, model *m, int s)
{
    uint32_t start = 0;
    for (int i = 0; i < s; i++)
        start += m->f[i];
    nac_rc_encode(rc, start, m->f[s], m->total);
    model_update(m, s);
}

static int model_decode(nac_rc_decoder *rc, model *m)
{
    uint32_t v = nac_rc_decode_freq(rc, m->total), start = 0;
    int s = 0;
    while (s < m->n - 1 && start + m->f[s] <= v)
        start += m->f[s++];
    nac_rc_decode_update(rc, start, m->f[s]);
    model_update(m, s);
    return s;
}

/* ---- shared arithmetic -------------------------------------------------------------------------- */

static int floor_div(int a, int b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Step of a band with envelope index e under the packet's step index g, in eighths of an octave. */
static int step_log(int g, int e)
{
    return g - G_ZERO + floor_div(SHAPE_NUM * (e - E_ZERO), SHAPE_DEN);
}

/* Context and low-bit shift of a band: r = log2(rms / step) in quarter octaves. */
static void band_context(int g, int e, int *ctx, int *shift)
{
    int r = floor_div(4 * (e - E_ZERO) - step_log(g, e), 2);
    int k = r > 10 ? clampi((r - 7) / 4, 0, 16) : 0;
    int rr = r - 4 * k;
    *shift = k;
    *ctx = rr < -16 ? 0 : clampi((rr + 16) / 2, 0, NAC_TCX_CONTEXTS - 1);
}

/* Context of band b's step in time: the step the band below took in the same frame. */
static int time_context(const uint8_t (*env)[NB], int f, int b)
{
    return b ? clampi(env[f][b - 1] - env[f - 1][b - 1], -2, 2) + 2 : TCTX - 1;
}

size_t nac_tcx_stream_frames(size_t n)
{
    return (n + NAC_TCX_DELAY + NAC_TCX_FRAME - 1) / NAC_TCX_FRAME;
}

size_t nac_tcx_packet_bytes(double kbps, int frames)
{
    return (size_t)floor(kbps * 2.5 * frames + 1e-9);
}

/* ---- magnitudes: context symbol, escape, low bits ----------------------------------------------- */

static void put_magnitude(nac_rc_encoder *rc, model *m, uint32_t mag, int k)
{
    uint32_t hi = mag >> k;
    if (hi < NAC_TCX_SYMBOLS - 1) {
        model_encode(rc, m, (int)hi);
    } else {
        model_encode(rc, m, NAC_TCX_SYMBOLS - 1);
        uint32_t v = hi - (NAC_TCX_SYMBOLS - 1) + 1; /* >= 1: Elias-gamma style length, then bits */
        int n = 0;
        while ((v >> n) > 1)
            n++;
        nac_rc_encode_bits(rc, (uint32_t)n, 5);
        if (n > 16)
            nac_rc_encode_bits(rc, v >> 16, n - 16);
        nac_rc_encode_bits(rc, v & 0xFFFFu, n < 16 ? n : 16);
    }
    if (k)
        nac_rc_encode_bits(rc, mag & ((1u << k) - 1), k);
}

static uint32_t get_magnitude(nac_rc_decoder *rc, model *m, int k)
{
    uint32_t hi = (uint32_t)model_decode(rc, m);
    if (hi == NAC_TCX_SYMBOLS - 1) {
        int n = (int)nac_rc_decode_bits(rc, 5);
        uint32_t v = 0;
        if (n > 16)
            v = nac_rc_decode_bits(rc, n - 16) << 16;
        v |= nac_rc_decode_bits(rc, n < 16 ? n : 16);
        v |= 1u << n; /* the leading one */
        if (n > 20)
            v = 1u << 20; /* no encoder writes more: keep the value sane */
        hi = v - 1 + (NAC_TCX_SYMBOLS - 1);
    }
    uint32_t mag = (hi << k);
    if (k)
        mag |= nac_rc_decode_bits(rc, k);
    return mag;
}

/* ---- encoder ------------------------------------------------------------------------------------ */

struct nac_tcx_encoder {
    double kbps;
    nac_mdct *mdct;
    float hist[N];                                             /* the input's last hop */
    float win[2 * N];
    float coef[NAC_TCX_MAX_PACKET_FRAMES][BPF][N];               /* the packet's MDCT blocks */
    uint8_t env[NAC_TCX_MAX_PACKET_FRAMES][NB];                /* coded envelope indices */
    uint8_t *trial;                                            /* a packet's worth of bytes */
};

int nac_tcx_encoder_create(nac_tcx_encoder **out, double kbps, nac_error *err)
{
    *out = NULL;
    if (!(kbps >= NAC_TCX_MIN_KBPS && kbps <= NAC_TCX_MAX_KBPS))
        return nac_error_set(err, NAC_ERR_ARG, "the transform coder runs at %g to %g kbps, not %g", NAC_TCX_MIN_KBPS,
                             NAC_TCX_MAX_KBPS, kbps);
    nac_tcx_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    e->kbps = kbps;
    int st = nac_mdct_create(&e->mdct, N, err);
    if (!st && !(e->trial = malloc(nac_tcx_packet_bytes(kbps, NAC_TCX_MAX_PACKET_FRAMES) + 16)))
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    if (st) {
        nac_tcx_encoder_destroy(e);
        return st;
    }
    *out = e;
    return NAC_OK;
}

void nac_tcx_encoder_destroy(nac_tcx_encoder *e)
{
    if (!e)
        return;
    nac_mdct_destroy(e->mdct);
    free(e->trial);
    free(e);
}

/* Envelope index of a band from its energy over both blocks. */
static int envelope_index(const float (*c)[N], int b)
{
    double s = 0.0;
    for (int j = 0; j < BPF; j++)
        for (int k = EDGE(b); k < EDGE(b + 1); k++)
            s += (double)c[j][k] * c[j][k];
    double ms = s / ((double)BPF * (EDGE(b + 1) - EDGE(b)));
    if (ms <= 0.0)
        return 0;
    return clampi((int)lround(log2(ms)) + E_ZERO, 0, E_MAX); /* 2 log2(rms) = log2(ms) */
}

/* Codes the envelopes (already in e->env) of `frames` frames: the first frame across frequency,
 * the others as steps in time. */
static void encode_envelope(nac_rc_encoder *rc, models *ms, const uint8_t (*env)[NB], int frames)
{
    nac_rc_encode_bits(rc, env[0][0], 6);
    for (int f = 0; f < frames; f++)
        for (int b = !f; b < NB; b++) {
            int prev = f ? env[f - 1][b] : env[f][b - 1];
            model *m = f ? &ms->tdelta[time_context(env, f, b)] : &ms->fdelta;
            model_encode(rc, m, env[f][b] - prev + NAC_TCX_DELTAS / 2);
        }
}

/* Codes the coefficients of the packet at step index g; returns the range coder's byte count. */
static size_t encode_coefs(nac_rc_encoder *rc, models *ms, const nac_tcx_encoder *e, int frames, int g)
{
    for (int f = 0; f < frames; f++)
        for (int b = 0; b < NB; b++) {
            int ev = e->env[f][b];
            if (!ev)
                continue;
            int ctx, k;
            band_context(g, ev, &ctx, &k);
            float inv = exp2f(-0.125f * (float)step_log(g, ev));
            for (int j = 0; j < BPF; j++)
                for (int i = EDGE(b); i < EDGE(b + 1); i++) {
                    float x = e->coef[f][j][i], a = fabsf(x) * inv + ROUNDING;
                    uint32_t mag = a < (float)(1 << 20) ? (uint32_t)a : 1u << 20;
                    put_magnitude(rc, &ms->coef[ctx], mag, k);
                    if (mag)
                        nac_rc_encode_bits(rc, x < 0.0f, 1);
                }
        }
    return nac_rc_encoder_finish(rc);
}

int nac_tcx_encode_packet(nac_tcx_encoder *e, uint8_t *out, size_t *size, const float *pcm, int frames,
                          nac_error *err)
{
    if (frames < 1 || frames > NAC_TCX_MAX_PACKET_FRAMES)
        return nac_error_set(err, NAC_ERR_ARG, "a packet holds 1..%d frames, not %d", NAC_TCX_MAX_PACKET_FRAMES,
                             frames);
    for (size_t i = 0; i < (size_t)frames * NAC_TCX_FRAME; i++)
        if (!isfinite(pcm[i]))
            return nac_error_set(err, NAC_ERR_NUMERIC, "sample %zu of the packet is not a finite number", i);
    /* analysis: block j of frame f covers [hist | first hop] then [the frame's two hops] */
    for (int f = 0; f < frames; f++) {
        const float *x = pcm + (size_t)f * NAC_TCX_FRAME;
        for (int j = 0; j < BPF; j++) {
            memcpy(e->win, j ? x + (j - 1) * N : e->hist, N * sizeof *x);
            memcpy(e->win + N, x + j * N, N * sizeof *x);
            nac_mdct_forward(e->mdct, e->coef[f][j], e->win);
        }
        memcpy(e->hist, x + (BPF - 1) * N, N * sizeof *x);
        for (int b = 0; b < NB; b++) {
            int want = envelope_index((const float (*)[N])e->coef[f], b);
            int prev = f ? e->env[f - 1][b] : b ? e->env[f][b - 1] : want;
            int d = clampi(want - prev, -(NAC_TCX_DELTAS / 2), NAC_TCX_DELTAS / 2);
            e->env[f][b] = (uint8_t)clampi(prev + d, 0, E_MAX);
        }
    }
    size_t budget = nac_tcx_packet_bytes(e->kbps, frames), room = budget - HEAD;
    /* the envelope's state is the start of every trial */
    models base;
    models_init(&base);
    nac_rc_encoder rc0;
    nac_rc_encoder_init(&rc0, e->trial, room);
    encode_envelope(&rc0, &base, (const uint8_t (*)[NB])e->env, frames);
    /* the finest step whose packet fits: the size falls as g grows (checked on the result) */
    int lo = 0, hi = 255;
    for (int pass = 0; pass < 2; pass++) {
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            models ms = base;
            nac_rc_encoder rc = rc0;
            if (encode_coefs(&rc, &ms, e, frames, mid) <= room)
                hi = mid;
            else
                lo = mid + 1;
        }
        models ms = base;
        nac_rc_encoder rc = rc0;
        size_t n = encode_coefs(&rc, &ms, e, frames, hi);
        if (n <= room) {
            memset(out, 0, budget);
            out[0] = (uint8_t)frames;
            out[1] = (uint8_t)hi;
            memcpy(out + HEAD, e->trial, n);
            *size = budget;
            return NAC_OK;
        }
        lo = hi + 1, hi = 255; /* not monotonic at this g: look above it */
        if (lo > 255)
            break;
    }
    return nac_error_set(err, NAC_ERR_ARG, "%g kbps cannot hold this packet's envelope", e->kbps);
}

/* ---- decoder ------------------------------------------------------------------------------------ */

struct nac_tcx_decoder {
    nac_mdct *mdct;
    float ola[2 * N];        /* the previous block's tail in [0, N), room for the next block */
    float coef[NAC_TCX_MAX_PACKET_FRAMES][BPF][N];  /* a packet's decoded blocks */
    uint8_t env[NAC_TCX_MAX_PACKET_FRAMES][NB];
    uint8_t last_env[NB];    /* for concealment */
    nac_rng rng;             /* signs of the noise fill */
};

int nac_tcx_decoder_create(nac_tcx_decoder **out, nac_error *err)
{
    *out = NULL;
    nac_tcx_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    int st = nac_mdct_create(&d->mdct, N, err);
    if (st) {
        free(d);
        return st;
    }
    nac_rng_seed(&d->rng, 0x7463u);
    *out = d;
    return NAC_OK;
}

void nac_tcx_decoder_destroy(nac_tcx_decoder *d)
{
    if (!d)
        return;
    nac_mdct_destroy(d->mdct);
    free(d);
}

/* Inverse transform of coef (N), overlap-added: N finished samples into pcm. */
static void synth_block(nac_tcx_decoder *d, float *pcm, const float *coef)
{
    memset(d->ola + N, 0, N * sizeof *d->ola);
    nac_mdct_inverse_add(d->mdct, d->ola, coef);
    memcpy(pcm, d->ola, N * sizeof *pcm);
    memmove(d->ola, d->ola + N, N * sizeof *d->ola);
}

/* Replaces the zeros of band b in a frame's two blocks by noise carrying the band energy (envelope
 * index ev) that the coded values lack, shared between the blocks in proportion to what each
 * carries already (so the quiet half of a frame with an onset stays quiet), at most cap. */
static void fill_band(float (*coef)[N], nac_rng *rng, int b, int ev, float cap)
{
    int n = EDGE(b + 1) - EDGE(b), zeros[BPF] = {0};
    double have[BPF] = {0.0}, all = 0.0;
    if (!ev)
        return;
    for (int j = 0; j < BPF; j++) {
        for (int i = EDGE(b); i < EDGE(b + 1); i++) {
            have[j] += (double)coef[j][i] * coef[j][i];
            zeros[j] += coef[j][i] == 0.0f;
        }
        all += have[j];
    }
    double want = exp2((ev - E_ZERO) * 1.0) * BPF * n; /* rms^2 = 2^(e - E_ZERO) over the frame */
    double rest = want - all, eps = SHARE_FLOOR * want;
    if (rest <= 0.0)
        return;
    for (int j = 0; j < BPF; j++) {
        if (!zeros[j])
            continue;
        double share = (have[j] + eps) / (all + BPF * eps);
        float lvl = (float)sqrt(rest * share / zeros[j]);
        if (lvl > cap)
            lvl = cap;
        for (int i = EDGE(b); i < EDGE(b + 1); i++)
            if (coef[j][i] == 0.0f)
                coef[j][i] = (nac_rng_u32(rng) & 1) ? lvl : -lvl;
    }
}

int nac_tcx_decode_packet(nac_tcx_decoder *d, float *pcm, int *frames, const uint8_t *in, size_t size,
                          nac_error *err)
{
    if (size < HEAD || in[0] < 1 || in[0] > NAC_TCX_MAX_PACKET_FRAMES)
        return nac_error_set(err, NAC_ERR_FORMAT, "transform packet of %zu bytes has no valid frame count", size);
    int nf = in[0], g = in[1];
    nac_rc_decoder rc;
    nac_rc_decoder_init(&rc, in + HEAD, size - HEAD);
    models ms;
    models_init(&ms);
    d->env[0][0] = (uint8_t)nac_rc_decode_bits(&rc, 6);
    for (int f = 0; f < nf; f++)
        for (int b = !f; b < NB; b++) {
            int prev = f ? d->env[f - 1][b] : d->env[f][b - 1];
            model *m = f ? &ms.tdelta[time_context((const uint8_t (*)[NB])d->env, f, b)] : &ms.fdelta;
            int v = prev + model_decode(&rc, m) - NAC_TCX_DELTAS / 2;
            if (v < 0 || v > E_MAX)
                return nac_error_set(err, NAC_ERR_FORMAT, "transform packet: envelope index %d out of range", v);
            d->env[f][b] = (uint8_t)v;
        }
    memset(d->coef, 0, (size_t)nf * sizeof d->coef[0]);
    for (int f = 0; f < nf; f++)
        for (int b = 0; b < NB; b++) {
            int ev = d->env[f][b];
            if (!ev)
                continue;
            int ctx, k;
            band_context(g, ev, &ctx, &k);
            float step = exp2f(0.125f * (float)step_log(g, ev));
            for (int j = 0; j < BPF; j++)
                for (int i = EDGE(b); i < EDGE(b + 1); i++) {
                    uint32_t mag = get_magnitude(&rc, &ms.coef[ctx], k);
                    if (mag) {
                        float v = (float)mag * step;
                        d->coef[f][j][i] = nac_rc_decode_bits(&rc, 1) ? -v : v;
                    }
                }
        }
    /* parsed whole before any output: a payload that fails changes no state */
    for (int f = 0; f < nf; f++) {
        for (int b = 0; b < NB; b++) {
            int ev = d->env[f][b];
            fill_band(d->coef[f], &d->rng, b, ev, FILL_CAP * exp2f(0.125f * (float)step_log(g, ev)));
        }
        for (int j = 0; j < BPF; j++)
            synth_block(d, pcm + (size_t)f * NAC_TCX_FRAME + (size_t)j * N, d->coef[f][j]);
    }
    memcpy(d->last_env, d->env[nf - 1], NB);
    *frames = nf;
    return NAC_OK;
}

void nac_tcx_conceal(nac_tcx_decoder *d, float *pcm, int frames)
{
    float blk[BPF][N];
    for (int f = 0; f < frames; f++) {
        memset(blk, 0, sizeof blk);
        for (int b = 0; b < NB; b++) {
            d->last_env[b] = (uint8_t)(d->last_env[b] > 2 ? d->last_env[b] - 2 : 0);
            fill_band(blk, &d->rng, b, d->last_env[b], INFINITY);
        }
        for (int j = 0; j < BPF; j++)
            synth_block(d, pcm + (size_t)f * NAC_TCX_FRAME + (size_t)j * N, blk[j]);
    }
}
