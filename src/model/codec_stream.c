/* The public codec API: models, streaming encoder and decoder. Inference runs the same layer
 * functions as training, in chunks of up to CHUNK latent frames, with each causal layer's history
 * kept in the handle, so output does not depend on how the caller splits the stream. */
#include "nac/nac.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "format/weights.h"
#include "model/codec_io.h"
#include "model/codec_model.h"
#include "model/codec_net.h"
#include "nn/conv1d.h"
#include "nn/norm.h"
#include "nn/pixshuf1d.h"
#include "vq/rvq.h"

#define CHUNK 100 /* latent frames per internal forward call (2 s): bounds scratch, amortises weight packing */
#define CONCEAL_FADE 0.7f


/* ---- models -------------------------------------------------------------------------------------- */

/* Packs every convolution's weights once, as the products want them, so a streaming call does not
 * repack them (which cost more than the product itself for a 20 ms frame). */
static int pack_weights(nac_codec_net *n, nac_error *err)
{
    const nac_codec_config *c = &n->cfg;
    static const nac_codec_conv_id ids[] = {NAC_CONV_IN, NAC_CONV_DOWN, NAC_CONV_LAT, NAC_CONV_DIN, NAC_CONV_UP,
                                            NAC_CONV_HEAD};
    int w[] = {n->in_w, n->down_w, n->lat_w, n->din_w, n->up_w, n->head_w};
    for (int i = 0; i < 6; i++) {
        nn_conv1d cv = nac_codec_conv(c, ids[i]);
        size_t nf = nn_conv1d_packed_floats(&cv);
        if (!nf)
            continue;
        float *buf = nac_alloc(nf * sizeof(float));
        if (!buf)
            return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        nn_conv1d_pack_weights(buf, nn_params_data(&n->p, w[i]), &cv);
        int st = nn_params_set_packed(&n->p, w[i], buf, nf, err);
        if (st)
            return st;
    }
    for (int i = 0; i < n->n_blocks; i++) {
        int st = nac_convnext_pack(&n->p, &n->blocks[i], err);
        if (st)
            return st;
    }
    int st = nn_params_pack_half(&n->p, err); /* an f16 model: halves, the same values */
    return st < 0 ? st : NAC_OK;
}

static int model_from_weights(nac_model **out, nac_weights *w, nac_error *err)
{
    nac_model *m = calloc(1, sizeof *m);
    int st;
    if (!m)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    if ((st = nac_codec_net_from_weights(&m->net, w, NN_PARAMS_INFERENCE, NULL, err)))
        goto fail;
    if (!(m->coder = nac_rvq_coder_create(m->net->p.data, &m->net->rvq, err))) {
        st = err ? err->code : NAC_ERR_NOMEM;
        goto fail;
    }
    if ((st = pack_weights(m->net, err)))
        goto fail;
    long long steps = -1;
    nac_weights_config_int(w, "train.step", &steps, NULL);
    nac_model_info_make(&m->info, &m->net->cfg, nac_weights_crc(w), steps);
    *out = m;
    return NAC_OK;
fail:
    nac_model_destroy(m);
    return st;
}

void nac_model_info_make(nac_model_info *info, const nac_codec_config *c, uint32_t hash, long long train_steps)
{
    int bits = 0;
    while ((1 << bits) < c->rvq.codebook_size)
        bits++;
    *info = (nac_model_info){c->sample_rate, nac_codec_frame_size(c), nac_codec_delay(c), c->rvq.n_stages, bits,
                             hash, train_steps};
}

int nac_model_load(nac_model **out, const char *path, nac_error *err)
{
    nac_weights *w = NULL;
    *out = NULL;
    int st = nac_weights_load(&w, path, err);
    if (!st)
        st = model_from_weights(out, w, err);
    nac_weights_destroy(w);
    return st;
}

int nac_model_load_mem(nac_model **out, const void *data, size_t size, nac_error *err)
{
    nac_weights *w = NULL;
    *out = NULL;
    int st = nac_weights_load_mem(&w, data, size, err);
    if (!st)
        st = model_from_weights(out, w, err);
    nac_weights_destroy(w);
    return st;
}

void nac_model_destroy(nac_model *m)
{
    if (!m)
        return;
    nac_rvq_coder_destroy(m->coder);
    nac_codec_net_destroy(m->net);
    free(m);
}

void nac_model_get_info(const nac_model *m, nac_model_info *info) { *info = m->info; }

int nac_model_stages_for_kbps(const nac_model *m, double kbps)
{
    double frames_per_s = (double)m->info.sample_rate / m->info.frame_size;
    double s = floor(kbps * 1000.0 / (frames_per_s * m->info.bits_per_stage) + 1e-9);
    if (!(s >= 1)) /* also NaN */
        return 1;
    return s > m->info.n_stages ? m->info.n_stages : (int)s; /* compared as double: no overflow on 1e300 */
}

/* ---- shared inference machinery -------------------------------------------------------------------- */

/* Block activations and the two ping-pong buffers, sized for CHUNK latent frames. */
typedef struct runner {
    const nac_codec_net *net;
    int Tl, Tf;          /* chunk sizes */
    float *mem;
    float *a, *b;        /* (max(C*down, 3F, 2F, ...), Tf) each */
    float *acts;         /* block activations */
    float *re, *im;      /* (F, Tf) */
    float *stats;        /* layernorm statistics (Tf, 2) */
    float *hist;         /* all histories, laid out by hist_* offsets */
    size_t hist_floats;
} runner;

static size_t maxz(size_t a, size_t b) { return a > b ? a : b; }

static int runner_init(runner *r, const nac_codec_net *net, size_t hist_floats, nac_error *err)
{
    const nac_codec_config *c = &net->cfg;
    size_t F = (size_t)nac_codec_bins(c), C = (size_t)c->channels;
    r->net = net;
    r->Tl = CHUNK;
    r->Tf = CHUNK * c->down;
    size_t Tf = (size_t)r->Tf;
    size_t wide = maxz(maxz(C * (size_t)c->down, 3 * F), maxz(2 * F, (size_t)c->latent_dim)) * Tf;
    size_t acts = 0;
    for (int i = 0; i < net->n_blocks; i++)
        acts = maxz(acts, nac_convnext_act_floats(&net->blocks[i], 1, r->Tf));
    size_t total = 2 * wide + acts + 2 * F * Tf + 2 * Tf + hist_floats + 64;
    if (total > NAC_CODEC_MAX_SCRATCH)
        return nac_error_set(err, NAC_ERR_MODEL, "a stream of this model needs %zu floats of scratch, more than the %d "
                             "allowed", total, NAC_CODEC_MAX_SCRATCH);
    r->mem = nac_calloc(total, sizeof(float));
    if (!r->mem)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    r->a = r->mem;
    r->b = r->a + wide;
    r->acts = r->b + wide;
    r->re = r->acts + acts;
    r->im = r->re + F * Tf;
    r->stats = r->im + F * Tf;
    r->hist = r->stats + 2 * Tf;
    r->hist_floats = hist_floats;
    return NAC_OK;
}

/* Runs blocks [i0, i1) over x (C, T) with histories at *h (advanced); result in x or y (returned). */
static float *run_blocks(runner *r, int i0, int i1, float *x, float *y, float **h, int T)
{
    nac_codec_net *net = (nac_codec_net *)r->net;
    for (int i = i0; i < i1; i++) {
        nac_convnext_acts a;
        nac_convnext_acts_bind(&a, r->acts, &net->blocks[i], 1, T);
        nac_convnext_forward(y, &a, x, *h, &net->p, &net->blocks[i], 1, T);
        nac_convnext_hist_update(*h, x, &net->blocks[i], 1, T);
        *h += nac_convnext_hist_floats(&net->blocks[i]);
        float *t = x;
        x = y;
        y = t;
    }
    return x;
}

/* A conv with history at *h (advanced). */
static void run_conv(float *y, const float *x, float **h, const nac_codec_net *net, int w, int b, nn_conv1d c, int T)
{
    nn_params *p = (nn_params *)&net->p;
    nn_conv1d_forward_packed(y, x, *h, nn_params_data(p, w), nn_params_packed(p, w), nn_params_data(p, b), &c, 1, T);
    nn_conv1d_hist_update(*h, x, &c, 1, T);
    *h += (size_t)c.ic * (size_t)nn_conv1d_hist_len(&c);
}

static size_t blocks_hist(const nac_codec_net *n, int i0, int i1)
{
    size_t s = 0;
    for (int i = i0; i < i1; i++)
        s += nac_convnext_hist_floats(&n->blocks[i]);
    return s;
}

static void transpose(float *y, const float *x, int R, int Cc)
{
    for (int i = 0; i < R; i++)
        for (int j = 0; j < Cc; j++)
            y[(size_t)j * (size_t)R + (size_t)i] = x[(size_t)i * (size_t)Cc + (size_t)j];
}

/* ---- encoder ------------------------------------------------------------------------------------- */

struct nac_encoder {
    const nac_model *m;
    int n_stages;
    int threads;
    runner r;
    nac_stft_state stft;
    float *pcm;       /* pending samples (< frame_size), then a chunk's worth */
    size_t pending;
    float *z;         /* (D, Tl) / rows */
};

int nac_encoder_create(nac_encoder **out, const nac_model *m, int n_stages, nac_error *err)
{
    const nac_codec_net *n = m->net;
    const nac_codec_config *c = &n->cfg;
    *out = NULL;
    if (n_stages < 1 || n_stages > c->rvq.n_stages)
        return nac_error_set(err, NAC_ERR_ARG, "%d stages requested; the model has 1..%d", n_stages, c->rvq.n_stages);
    nac_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    e->m = m;
    e->n_stages = n_stages;
    e->threads = 1;
    nn_conv1d down = nac_codec_conv(c, NAC_CONV_DOWN);
    size_t hist = blocks_hist(n, 0, c->enc_hi + c->enc_lo) + (size_t)c->channels * (size_t)nn_conv1d_hist_len(&down);
    int st = runner_init(&e->r, n, hist, err);
    if (st)
        goto fail;
    e->pcm = nac_calloc((size_t)CHUNK * (size_t)nac_codec_frame_size(c), sizeof(float));
    e->z = nac_calloc((size_t)CHUNK * 2 * (size_t)c->latent_dim, sizeof(float));
    if (!e->pcm || !e->z || nac_stft_state_init(&e->stft, n->stft)) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = e;
    return NAC_OK;
fail:
    nac_encoder_destroy(e);
    return st;
}

void nac_encoder_destroy(nac_encoder *e)
{
    if (!e)
        return;
    nac_free(e->r.mem);
    nac_free(e->pcm);
    nac_free(e->z);
    nac_stft_state_free(&e->stft);
    free(e);
}

void nac_encoder_reset(nac_encoder *e)
{
    memset(e->r.hist, 0, e->r.hist_floats * sizeof(float));
    nac_stft_state_reset(&e->stft, e->m->net->stft);
    e->pending = 0;
}

size_t nac_encoder_max_frames(const nac_encoder *e, size_t n)
{
    return (e->pending + n) / (size_t)e->m->info.frame_size;
}

/* Encodes Tl whole frames from e->pcm into codes (Tl, n_stages). */
static int encode_chunk(nac_encoder *e, int32_t *codes, int Tl, nac_error *err)
{
    const nac_codec_net *n = e->m->net;
    const nac_codec_config *c = &n->cfg;
    runner *r = &e->r;
    int F = nac_codec_bins(c), C = c->channels, D = c->latent_dim, Tf = Tl * c->down;
    float *h = r->hist;
    nn_params *p = (nn_params *)&n->p;
    nac_stft_stream(n->stft, &e->stft, r->re, r->im, e->pcm, Tf * c->hop);
    nac_codec_features(r->b, r->re, r->im, 1, F, Tf);
    nn_conv1d cin = nac_codec_conv(c, NAC_CONV_IN);
    nn_conv1d_forward_packed(r->a, r->b, NULL, nn_params_data(p, n->in_w), nn_params_packed(p, n->in_w),
                             nn_params_data(p, n->in_b), &cin, 1, Tf);
    float *x = run_blocks(r, 0, c->enc_hi, r->a, r->b, &h, Tf);
    float *y = x == r->a ? r->b : r->a;
    run_conv(y, x, &h, n, n->down_w, n->down_b, nac_codec_conv(c, NAC_CONV_DOWN), Tf);
    x = run_blocks(r, c->enc_hi, c->enc_hi + c->enc_lo, y, x, &h, Tl);
    y = x == r->a ? r->b : r->a;
    nn_layernorm_forward(y, r->stats, x, nn_params_data(p, n->eln_g), nn_params_data(p, n->eln_b), 1, C, Tl, NAC_CODEC_LN_EPS);
    nn_conv1d clat = nac_codec_conv(c, NAC_CONV_LAT);
    nn_conv1d_forward_packed(e->z, y, NULL, nn_params_data(p, n->lat_w), nn_params_packed(p, n->lat_w),
                             nn_params_data(p, n->lat_b), &clat, 1, Tl);
    float *rows = e->z + (size_t)CHUNK * (size_t)D;
    transpose(rows, e->z, D, Tl);
    return nac_rvq_encode(codes, rows, e->m->coder, Tl, e->n_stages, err);
}

/* The handle's thread count for the span of one call (OpenMP's setting is per calling thread). */
static int threads_enter(int want)
{
#ifdef _OPENMP
    int prev = omp_get_max_threads();
    omp_set_num_threads(want);
    return prev;
#else
    (void)want;
    return 1;
#endif
}

static void threads_leave(int prev)
{
#ifdef _OPENMP
    omp_set_num_threads(prev);
#else
    (void)prev;
#endif
}

static int encoder_push(nac_encoder *e, int32_t *codes, size_t max_frames, size_t *frames, const float *pcm, size_t n,
                        nac_error *err);

int nac_encoder_push(nac_encoder *e, int32_t *codes, size_t max_frames, size_t *frames, const float *pcm, size_t n,
                     nac_error *err)
{
    int prev = threads_enter(e->threads);
    int st = encoder_push(e, codes, max_frames, frames, pcm, n, err);
    threads_leave(prev);
    return st;
}

void nac_encoder_set_threads(nac_encoder *e, int threads) { e->threads = threads > 0 ? threads : 1; }

static int encoder_push(nac_encoder *e, int32_t *codes, size_t max_frames, size_t *frames, const float *pcm, size_t n,
                        nac_error *err)
{
    size_t fs = (size_t)e->m->info.frame_size, cap = (size_t)CHUNK * fs, done = 0;
    *frames = 0;
    if (nac_encoder_max_frames(e, n) > max_frames)
        return nac_error_set(err, NAC_ERR_ARG, "codes buffer holds %zu frames, %zu needed", max_frames,
                             nac_encoder_max_frames(e, n));
    while (n > 0) {
        size_t take = cap - e->pending < n ? cap - e->pending : n;
        memcpy(e->pcm + e->pending, pcm, take * sizeof *pcm);
        e->pending += take;
        pcm += take;
        n -= take;
        size_t whole = e->pending / fs;
        if (whole == 0)
            break;
        if (e->pending < cap && n > 0)
            continue;
        int st = encode_chunk(e, codes + done * (size_t)e->n_stages, (int)whole, err);
        if (st)
            return st;
        done += whole;
        e->pending -= whole * fs;
        memmove(e->pcm, e->pcm + whole * fs, e->pending * sizeof *e->pcm);
    }
    *frames = done;
    return NAC_OK;
}

int nac_encoder_flush(nac_encoder *e, int32_t *codes, size_t max_frames, size_t *frames, nac_error *err)
{
    size_t fs = (size_t)e->m->info.frame_size;
    /* enough zeros to complete the partial frame and to push the delayed tail out */
    size_t need = e->pending + (size_t)e->m->info.delay;
    size_t zeros = (need + fs - 1) / fs * fs - e->pending;
    float zero[256] = {0};
    size_t total = 0;
    *frames = 0;
    while (zeros > 0) {
        size_t k = zeros < 256 ? zeros : 256, got = 0;
        if (nac_encoder_max_frames(e, k) > max_frames - total)
            return nac_error_set(err, NAC_ERR_ARG, "codes buffer too small for the flush");
        int st = nac_encoder_push(e, codes + total * (size_t)e->n_stages, max_frames - total, &got, zero, k, err);
        if (st)
            return st;
        total += got;
        zeros -= k;
    }
    *frames = total;
    return NAC_OK;
}

/* ---- decoder ------------------------------------------------------------------------------------- */

struct nac_decoder {
    const nac_model *m;
    int threads;
    runner r;
    nac_stft_state istft;
    int32_t *codes;     /* (CHUNK, S) */
    float *zq;          /* rows (CHUNK, D), then (D, CHUNK) */
    float *last;        /* (D) last good latent */
    float *gain;        /* (CHUNK) output gain per frame */
    int lost_run;       /* consecutive concealed frames */
    int have_last;
};

int nac_decoder_create(nac_decoder **out, const nac_model *m, nac_error *err)
{
    const nac_codec_net *n = m->net;
    const nac_codec_config *c = &n->cfg;
    *out = NULL;
    nac_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    d->m = m;
    d->threads = 1;
    nn_conv1d din = nac_codec_conv(c, NAC_CONV_DIN), up = nac_codec_conv(c, NAC_CONV_UP);
    size_t hist = blocks_hist(n, c->enc_hi + c->enc_lo, n->n_blocks) +
                  (size_t)din.ic * (size_t)nn_conv1d_hist_len(&din) + (size_t)up.ic * (size_t)nn_conv1d_hist_len(&up);
    int st = runner_init(&d->r, n, hist, err);
    if (st)
        goto fail;
    d->codes = calloc((size_t)CHUNK * (size_t)c->rvq.n_stages, sizeof *d->codes);
    d->zq = nac_calloc(2 * (size_t)CHUNK * (size_t)c->latent_dim, sizeof(float));
    d->last = nac_calloc((size_t)c->latent_dim, sizeof(float));
    d->gain = nac_calloc(CHUNK, sizeof(float));
    if (!d->codes || !d->zq || !d->last || !d->gain || nac_stft_state_init(&d->istft, n->stft)) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = d;
    return NAC_OK;
fail:
    nac_decoder_destroy(d);
    return st;
}

void nac_decoder_destroy(nac_decoder *d)
{
    if (!d)
        return;
    nac_free(d->r.mem);
    free(d->codes);
    nac_free(d->zq);
    nac_free(d->last);
    nac_free(d->gain);
    nac_stft_state_free(&d->istft);
    free(d);
}

void nac_decoder_reset(nac_decoder *d)
{
    memset(d->r.hist, 0, d->r.hist_floats * sizeof(float));
    nac_stft_state_reset(&d->istft, d->m->net->stft);
    d->lost_run = 0;
    d->have_last = 0;
}

/* Decodes Tl frames whose latents are in d->zq rows (Tl, D) into pcm. */
static void decode_chunk(nac_decoder *d, float *pcm, int Tl)
{
    const nac_codec_net *n = d->m->net;
    const nac_codec_config *c = &n->cfg;
    runner *r = &d->r;
    int F = nac_codec_bins(c), C = c->channels, D = c->latent_dim, Tf = Tl * c->down;
    float *h = r->hist;
    nn_params *p = (nn_params *)&n->p;
    float *zq = d->zq + (size_t)CHUNK * (size_t)D;
    transpose(zq, d->zq, Tl, D);
    run_conv(r->a, zq, &h, n, n->din_w, n->din_b, nac_codec_conv(c, NAC_CONV_DIN), Tl);
    float *x = run_blocks(r, c->enc_hi + c->enc_lo, c->enc_hi + c->enc_lo + c->dec_lo, r->a, r->b, &h, Tl);
    float *y = x == r->a ? r->b : r->a;
    run_conv(y, x, &h, n, n->up_w, n->up_b, nac_codec_conv(c, NAC_CONV_UP), Tl);
    nn_pixshuf1d_forward(x, y, 1, C, Tl, c->down);
    x = run_blocks(r, c->enc_hi + c->enc_lo + c->dec_lo, n->n_blocks, x, y, &h, Tf);
    y = x == r->a ? r->b : r->a;
    nn_layernorm_forward(y, r->stats, x, nn_params_data(p, n->oln_g), nn_params_data(p, n->oln_b), 1, C, Tf, NAC_CODEC_LN_EPS);
    nn_conv1d chead = nac_codec_conv(c, NAC_CONV_HEAD);
    nn_conv1d_forward_packed(x, y, NULL, nn_params_data(p, n->head_w), nn_params_packed(p, n->head_w),
                             nn_params_data(p, n->head_b), &chead, 1, Tf);
    nac_codec_polar(r->re, r->im, x, 1, F, Tf, c->phase_head);
    nac_istft_stream(n->stft, &d->istft, pcm, r->re, r->im, Tf);
    size_t fs = (size_t)nac_codec_frame_size(c);
    for (int t = 0; t < Tl; t++)
        if (d->gain[t] != 1.0f)
            for (size_t i = 0; i < fs; i++)
                pcm[(size_t)t * fs + i] *= d->gain[t];
}

static int decoder_decode(nac_decoder *d, float *pcm, const int32_t *codes, int stride, const uint8_t *counts,
                          const uint8_t *lost, size_t n_frames, nac_error *err);

void nac_decoder_set_threads(nac_decoder *d, int threads) { d->threads = threads > 0 ? threads : 1; }

int nac_decoder_decode(nac_decoder *d, float *pcm, const int32_t *codes, const uint8_t *lost, size_t n_frames,
                       int n_stages, nac_error *err)
{
    int prev = threads_enter(d->threads);
    int st = decoder_decode(d, pcm, codes, n_stages, NULL, lost, n_frames, err);
    threads_leave(prev);
    return st;
}

int nac_decoder_decode_counts(nac_decoder *d, float *pcm, const int32_t *codes, int stride, const uint8_t *counts,
                              size_t n_frames, nac_error *err)
{
    if (!codes || !counts)
        return nac_error_set(err, NAC_ERR_ARG, "nac_decoder_decode_counts: NULL codes or counts");
    for (size_t f = 0; f < n_frames; f++)
        if (counts[f] < 1 || counts[f] > stride)
            return nac_error_set(err, NAC_ERR_ARG, "frame %zu: %d stages of a row of %d", f, counts[f], stride);
    int prev = threads_enter(d->threads);
    int st = decoder_decode(d, pcm, codes, stride, counts, NULL, n_frames, err);
    threads_leave(prev);
    return st;
}

/* Frames of codes (n_frames, stride), frame f with its first counts[f] codes (all stride when
 * counts is NULL). */
static int decoder_decode(nac_decoder *d, float *pcm, const int32_t *codes, int stride, const uint8_t *counts,
                          const uint8_t *lost, size_t n_frames, nac_error *err)
{
    const nac_codec_config *c = &d->m->net->cfg;
    int D = c->latent_dim;
    size_t fs = (size_t)nac_codec_frame_size(c);
    if (stride < 1 || stride > c->rvq.n_stages)
        return nac_error_set(err, NAC_ERR_ARG, "%d stages requested; the model has 1..%d", stride, c->rvq.n_stages);
    for (size_t f0 = 0; f0 < n_frames; f0 += CHUNK) {
        int Tl = n_frames - f0 < CHUNK ? (int)(n_frames - f0) : CHUNK;
        for (int t = 0; t < Tl; t++) {
            size_t f = f0 + (size_t)t;
            float *row = d->zq + (size_t)t * (size_t)D;
            int is_lost = !codes || (lost && lost[f]);
            if (!is_lost) {
                int st = nac_rvq_decode(row, codes + f * (size_t)stride, d->m->coder, 1, counts ? counts[f] : stride,
                                        err);
                if (st == NAC_ERR_ARG)
                    is_lost = 1; /* a code out of range: damaged input, conceal */
                else if (st)
                    return st;
            }
            if (is_lost) {
                if (d->have_last)
                    memcpy(row, d->last, (size_t)D * sizeof *row);
                else
                    memset(row, 0, (size_t)D * sizeof *row);
                d->lost_run++;
                d->gain[t] = powf(CONCEAL_FADE, (float)d->lost_run);
            } else {
                memcpy(d->last, row, (size_t)D * sizeof *row);
                d->have_last = 1;
                d->lost_run = 0;
                d->gain[t] = 1.0f;
            }
        }
        decode_chunk(d, pcm + f0 * fs, Tl);
    }
    return NAC_OK;
}
