/* The packet API (include/nac/nac.h): PCM to self-contained .nac packets and back, for the
 * neural codec (bit-packed or range-coded VQ codes), the transform coder and the vocoder
 * (decoding only). Encoders queue framed packets; decoders queue one packet's frames (or
 * concealed ones) and hand the PCM out in slices, so no buffer grows with a packet's size beyond
 * what the container allows. */
#include "nac/nac.h"
#include "nac/vocoder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "dsp/biquad.h"
#include "format/nacfile.h"
#include "model/codec_model.h"
#include "packet/packet.h"
#include "tcx/tcx.h"
#include "vq/rvq.h"

#define CHUNK 4096          /* samples given to the neural encoder per call */
#define PACKET_BITS 6000    /* default packet: about this many bits, at least a second */
#define DEFAULT_FPP 50
#define MAX_NEURAL_FPP 1000
#define VOC_DEFAULT_FPP 25  /* tools/cmd_vocoder.c writes one second per packet */
#define RC_GAIN 0.02        /* adaptive stages: log threshold change per frame's worth of bits over target */
#define RC_DEBT_MAX 100.0   /* frames' worth of bits the rate control may run ahead or behind */
#define FRAMING_BYTES 7     /* a version-2 packet's sync word, number, length and check, about */

/* ---- encoder ----------------------------------------------------------------------------------- */

struct nac_packet_encoder {
    nac_stream_info info;
    int fpp, vbr, flushed;
    uint32_t seq;
    /* neural */
    nac_encoder *enc;
    int S, bits;
    nac_biquad hp;
    float *chunk;           /* (CHUNK) high-passed input */
    int32_t *codes;         /* (max_frames, S) from one push or flush */
    size_t max_frames;
    int32_t *pkt_codes;     /* (fpp, S) the packet being filled */
    /* adaptive stage counts (vbr NAC_VBR_ADAPTIVE, docs/packets.md) */
    const nac_rvq_coder *coder;
    int adaptive, set[NAC_VBR_MAX_SET], k, D;
    float *zq;              /* (2, D) a frame's latent from all its stages, and from fewer */
    uint8_t *pkt_fs;        /* (fpp) each frame's stage count */
    double tb, log_tau0, debt; /* target payload bits a frame, the starting threshold, bits spent
                              * above target so far (in bits) */
    /* transform */
    nac_tcx_encoder *tcx;
    double kbps;
    float *pkt_pcm;         /* (fpp * NAC_TCX_FRAME) */
    uint64_t total_in;
    /* both */
    size_t in_pkt;          /* frames (neural) or samples (transform) in the packet being filled */
    uint8_t *payload;       /* (payload_cap) */
    size_t payload_cap;
    uint8_t *q;             /* queued packets, each a size_t length then the bytes */
    size_t q_size, q_cap, q_head;
};

static int queue_packet(nac_packet_encoder *e, const uint8_t *payload, size_t len, nac_error *err)
{
    if (e->q_head == e->q_size)
        e->q_head = e->q_size = 0;
    size_t need = sizeof(size_t) + len + NAC_NACFILE_PACKET_OVERHEAD;
    if (need > e->q_cap - e->q_size) {
        size_t cap = e->q_cap ? e->q_cap : 4096;
        while (need > cap - e->q_size)
            cap *= 2;
        uint8_t *q = realloc(e->q, cap);
        if (!q)
            return nac_error_set(err, NAC_ERR_NOMEM, "out of memory queueing a packet");
        e->q = q;
        e->q_cap = cap;
    }
    size_t n = nac_nacfile_packet_frame(e->q + e->q_size + sizeof(size_t), e->info.version, e->seq++, payload, len);
    memcpy(e->q + e->q_size, &n, sizeof n);
    e->q_size += sizeof n + n;
    return NAC_OK;
}

/* The payload of the in_pkt frames of codes waiting in the packet. */
static int emit_neural(nac_packet_encoder *e, nac_error *err)
{
    size_t n = e->in_pkt, nb;
    int st;
    if (e->vbr)
        st = nac_vbr_encode(e->payload, e->payload_cap, &nb, e->pkt_codes, n, (size_t)e->fpp, e->S,
                            e->adaptive ? e->pkt_fs : NULL, err);
    else {
        nb = nac_rvq_packed_bytes(n * (size_t)e->S, e->bits);
        st = nac_rvq_pack(e->payload, e->pkt_codes, n * (size_t)e->S, e->bits, err);
    }
    e->in_pkt = 0;
    return st ? st : queue_packet(e, e->payload, nb, err);
}

/* Adaptive stages: the fewest of the stream's counts whose latent stays within the threshold of
 * the latent of all S stages (mean square per dimension); the threshold follows the bits spent so
 * far against the target (an integral control, slow enough that pauses save bits for speech).
 * Depends only on earlier frames, so any chunking of the input gives the same stream. */
static int choose_stages(nac_packet_encoder *e, const int32_t *c)
{
    float *zf = e->zq, *zp = e->zq + e->D;
    double tau = exp(e->log_tau0 + RC_GAIN * e->debt / e->tb);
    int Sf = e->S;
    nac_rvq_decode(zf, c, e->coder, 1, e->S, NULL);
    for (int j = 0; j + 1 < e->k; j++) {
        nac_rvq_decode(zp, c, e->coder, 1, e->set[j], NULL);
        double d = 0;
        for (int i = 0; i < e->D; i++)
            d += ((double)zf[i] - zp[i]) * ((double)zf[i] - zp[i]);
        if (d / e->D <= tau) {
            Sf = e->set[j];
            break;
        }
    }
    const int32_t *prev = e->in_pkt ? e->pkt_codes + (e->in_pkt - 1) * (size_t)e->S : NULL;
    double bits = nac_vbr_frame_bits(c, prev, Sf, prev ? e->pkt_fs[e->in_pkt - 1] : 0) + log2((double)e->k);
    e->debt = fmax(-RC_DEBT_MAX * e->tb, fmin(RC_DEBT_MAX * e->tb, e->debt + bits - e->tb));
    return Sf;
}

static int take_codes(nac_packet_encoder *e, size_t frames, nac_error *err)
{
    for (size_t k = 0; k < frames; k++) {
        if (e->adaptive)
            e->pkt_fs[e->in_pkt] = (uint8_t)choose_stages(e, e->codes + k * (size_t)e->S);
        memcpy(e->pkt_codes + e->in_pkt * (size_t)e->S, e->codes + k * (size_t)e->S, (size_t)e->S * sizeof *e->codes);
        if (++e->in_pkt == (size_t)e->fpp) {
            int st = emit_neural(e, err);
            if (st)
                return st;
        }
    }
    return NAC_OK;
}

static int emit_tcx(nac_packet_encoder *e, nac_error *err)
{
    size_t size;
    int st = nac_tcx_encode_packet(e->tcx, e->payload, &size, e->pkt_pcm, (int)(e->in_pkt / NAC_TCX_FRAME), err);
    e->in_pkt = 0;
    return st ? st : queue_packet(e, e->payload, size, err);
}

/* Transform mode: n samples of x (NULL: zeros) into the packet being filled. */
static int tcx_take(nac_packet_encoder *e, const float *x, size_t n, nac_error *err)
{
    size_t need = (size_t)e->fpp * NAC_TCX_FRAME;
    while (n > 0) {
        size_t take = n < need - e->in_pkt ? n : need - e->in_pkt;
        if (x)
            memcpy(e->pkt_pcm + e->in_pkt, x, take * sizeof *x), x += take;
        else
            memset(e->pkt_pcm + e->in_pkt, 0, take * sizeof *x);
        e->in_pkt += take, n -= take;
        if (e->in_pkt == need) {
            int st = emit_tcx(e, err);
            if (st)
                return st;
        }
    }
    return NAC_OK;
}

/* Adaptive stages: the threshold to start from for a target of kbps with S stages at most,
 * measured with the built-in model on dev speech (every 8th file of ../shared/data/dev: the
 * payload rate each threshold gave, docs/packets.md); the rate control corrects it as the stream
 * goes on. */
static double start_threshold(double kbps, int S)
{
    static const struct {
        int S, n;             /* the stream's stages at most; points */
        double kbps[8], tau[8];
    } tables[] = {{6, 5, {1.50, 1.72, 2.34, 2.87, 3.00}, {0.30, 0.20, 0.15, 0.10, 0.05}},
                  {12, 8, {1.82, 2.16, 2.57, 3.41, 4.51, 5.18, 5.76, 6.00},
                   {0.30, 0.25, 0.20, 0.15, 0.12, 0.10, 0.08, 0.06}},
                  {24, 4, {5.32, 6.68, 10.04, 12.0}, {0.12, 0.08, 0.05, 0.03}},
                  {48, 2, {12.0, 24.0}, {0.03, 0.003}}};
    size_t i = 0;
    while (i + 1 < sizeof tables / sizeof *tables && S > tables[i].S)
        i++;
    const double *k = tables[i].kbps, *t = tables[i].tau;
    int n = tables[i].n;
    if (kbps <= k[0])
        return t[0];
    for (int j = 1; j < n; j++)
        if (kbps <= k[j]) {
            double a = (kbps - k[j - 1]) / (k[j] - k[j - 1]);
            return exp((1 - a) * log(t[j - 1]) + a * log(t[j]));
        }
    return t[n - 1];
}

int nac_packet_encoder_create(nac_packet_encoder **out, const nac_model *m, const nac_packet_config *cfg,
                              nac_error *err)
{
    if (!out || !cfg)
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_encoder_create: NULL argument");
    *out = NULL;
    if (cfg->mode != NAC_MODE_NEURAL && cfg->mode != NAC_MODE_TRANSFORM)
        return nac_error_set(err, NAC_ERR_ARG, "packet encoder: mode %d is not neural (0) or transform (1)%s",
                             cfg->mode, cfg->mode == NAC_MODE_VOCODER ? ": the vocoder codes whole files" : "");
    if (cfg->version < 0 || cfg->version > NAC_FORMAT_VERSION)
        return nac_error_set(err, NAC_ERR_ARG, "packet encoder: container version %d is not 0..%d", cfg->version,
                             NAC_FORMAT_VERSION);
    if (!(cfg->kbps > 0 && cfg->kbps <= 1000))
        return nac_error_set(err, NAC_ERR_ARG, "packet encoder: %g kbps is not a rate", cfg->kbps);
    nac_packet_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a packet encoder");
    nac_stream_info *in = &e->info;
    int st = NAC_OK;
    in->version = (uint8_t)(cfg->version ? cfg->version : NAC_FORMAT_VERSION);
    in->mode = (uint8_t)cfg->mode;
    in->channels = cfg->channels ? cfg->channels : 1;
    in->length = cfg->length ? cfg->length : NAC_LENGTH_UNKNOWN;
    in->bitrate = (uint8_t)lround(fmin(cfg->kbps * 10, 255));
    e->kbps = cfg->kbps;
    if (cfg->mode == NAC_MODE_TRANSFORM) {
        if (cfg->vbr) {
            st = nac_error_set(err, NAC_ERR_ARG, "packet encoder: the transform coder has no VBR mode (its packets "
                                                 "fill a constant size)");
            goto fail;
        }
        e->fpp = cfg->frames_per_packet ? cfg->frames_per_packet : DEFAULT_FPP;
        if (e->fpp < 1 || e->fpp > NAC_TCX_MAX_PACKET_FRAMES) {
            st = nac_error_set(err, NAC_ERR_ARG, "packet encoder: the transform coder takes 1..%d frames per packet, "
                                                 "not %d", NAC_TCX_MAX_PACKET_FRAMES, e->fpp);
            goto fail;
        }
        if ((st = nac_tcx_encoder_create(&e->tcx, cfg->kbps, err)))
            goto fail;
        in->codec_rate = NAC_TCX_RATE;
        in->frame_size = NAC_TCX_FRAME;
        in->n_stages = 1;
        in->stage_bits[0] = 8;
        in->model_hash = NAC_TCX_HASH;
        in->delay = NAC_TCX_DELAY;
        e->payload_cap = nac_tcx_packet_bytes(cfg->kbps, e->fpp) + 1;
        if (!(e->pkt_pcm = malloc((size_t)e->fpp * NAC_TCX_FRAME * sizeof *e->pkt_pcm)) ||
            !(e->payload = malloc(e->payload_cap))) {
            st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a packet encoder");
            goto fail;
        }
    } else {
        if (!m) {
            st = nac_error_set(err, NAC_ERR_ARG, "packet encoder: the neural mode needs a model");
            goto fail;
        }
        nac_model_info mi;
        nac_model_get_info(m, &mi);
        double stage_kbps = (double)mi.bits_per_stage * mi.sample_rate / mi.frame_size / 1000;
        e->vbr = cfg->vbr;
        double fps = (double)mi.sample_rate / mi.frame_size;
        if (cfg->vbr) {
            if (cfg->vbr != NAC_VBR_LOSSLESS && cfg->vbr != NAC_VBR_ADAPTIVE) {
                st = nac_error_set(err, NAC_ERR_ARG, "packet encoder: vbr %d is not 0, NAC_VBR_LOSSLESS or "
                                                     "NAC_VBR_ADAPTIVE", cfg->vbr);
                goto fail;
            }
            if (mi.bits_per_stage != 10) {
                st = nac_error_set(err, NAC_ERR_MODEL, "packet encoder: the VBR tables code 10-bit stages, this model "
                                                       "has %d", mi.bits_per_stage);
                goto fail;
            }
            e->adaptive = cfg->vbr == NAC_VBR_ADAPTIVE && mi.n_stages >= 3 && cfg->kbps >= 3 * stage_kbps - 1e-9;
            if (e->adaptive) { /* the stream's stages: the first trained count whose frames cost 15% above
                                * the target, so that hard frames can take more than the average */
                int set[NAC_VBR_MAX_SET], k = nac_vbr_stage_set(mi.n_stages, set);
                e->S = set[k - 1];
                for (int j = 0; j < k; j++)
                    if (nac_vbr_expected_bits(set[j]) >= 1.15 * cfg->kbps * 1000 / fps) {
                        e->S = set[j];
                        break;
                    }
            } else { /* a target average: the stages whose coded size comes closest to it (docs/packets.md) */
                e->S = nac_vbr_stages_for_kbps(cfg->kbps, mi.n_stages);
            }
        } else {
            double stages = cfg->kbps / stage_kbps;
            if (fabs(stages - lround(stages)) > 1e-6 || lround(stages) < 1 || lround(stages) > mi.n_stages) {
                st = nac_error_set(err, NAC_ERR_ARG, "packet encoder: the neural codec codes 1..%d stages of %g kbps, "
                                                     "not %g kbps", mi.n_stages, stage_kbps, cfg->kbps);
                goto fail;
            }
            e->S = (int)lround(stages);
        }
        e->bits = mi.bits_per_stage;
        size_t frame_bits = (size_t)e->S * (size_t)e->bits;
        e->fpp = cfg->frames_per_packet ? cfg->frames_per_packet
                                        : (int)fmin(250, fmax(DEFAULT_FPP, ceil((double)PACKET_BITS / (double)frame_bits)));
        if (e->fpp < 1 || e->fpp > MAX_NEURAL_FPP ||
            nac_rvq_packed_bytes((size_t)e->fpp * (size_t)e->S, e->bits) > NAC_NACFILE_MAX_PAYLOAD) {
            st = nac_error_set(err, NAC_ERR_ARG, "packet encoder: %d frames per packet is not 1..%d or does not fit a "
                                                 "packet", e->fpp, MAX_NEURAL_FPP);
            goto fail;
        }
        if ((st = nac_encoder_create(&e->enc, m, e->S, err)))
            goto fail;
        in->codec_rate = (uint32_t)mi.sample_rate;
        in->frame_size = (uint32_t)mi.frame_size;
        in->n_stages = (uint16_t)e->S;
        for (int s = 0; s < e->S; s++)
            in->stage_bits[s] = (uint8_t)mi.bits_per_stage;
        in->model_hash = mi.hash;
        in->delay = (uint32_t)mi.delay;
        if (cfg->vbr) {
            in->vbr_table = e->adaptive ? nac_vbr_adaptive_hash() : nac_vbr_table_hash();
            in->bitrate = (uint8_t)lround(fmin(cfg->kbps * 10, 255));
        }
        if (e->adaptive) {
            e->coder = m->coder;
            e->D = m->net->rvq.cfg.dim;
            e->k = nac_vbr_stage_set(e->S, e->set);
            e->tb = cfg->kbps * 1000 / fps - 8.0 * FRAMING_BYTES / e->fpp;
            e->log_tau0 = log(start_threshold(cfg->kbps, e->S));
            if (e->tb < 1 || !(e->zq = malloc(2 * (size_t)e->D * sizeof *e->zq)) ||
                !(e->pkt_fs = malloc((size_t)e->fpp))) {
                st = e->tb < 1 ? nac_error_set(err, NAC_ERR_ARG, "packet encoder: %g kbps leaves no room for codes in "
                                                                 "packets of %d frames", cfg->kbps, e->fpp)
                               : nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a packet encoder");
                goto fail;
            }
        }
        nac_biquad_highpass(&e->hp, NAC_NEURAL_HIGHPASS_HZ, mi.sample_rate);
        /* one push of CHUNK, or the flush: what the encoder holds back (delay, a partial frame) too */
        e->max_frames = nac_encoder_max_frames(e->enc, CHUNK + (size_t)mi.delay + 2 * (size_t)mi.frame_size) + 8;
        /* a range-coded frame may exceed its constant-rate size: room for every code at 16 bits */
        e->payload_cap = e->vbr ? (size_t)e->fpp * (size_t)e->S * 2 + 16
                                : nac_rvq_packed_bytes((size_t)e->fpp * (size_t)e->S, e->bits) + 1;
        if (e->vbr && e->payload_cap > NAC_NACFILE_MAX_PAYLOAD)
            e->payload_cap = NAC_NACFILE_MAX_PAYLOAD;
        if (!(e->chunk = malloc(CHUNK * sizeof *e->chunk)) ||
            !(e->codes = malloc(e->max_frames * (size_t)e->S * sizeof *e->codes)) ||
            !(e->pkt_codes = malloc((size_t)e->fpp * (size_t)e->S * sizeof *e->pkt_codes)) ||
            !(e->payload = malloc(e->payload_cap))) {
            st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a packet encoder");
            goto fail;
        }
    }
    in->source_rate = cfg->source_rate ? cfg->source_rate : in->codec_rate;
    in->frames_per_packet = (uint16_t)e->fpp;
    if ((st = nac_nacfile_info_check(in, err)))
        goto fail;
    *out = e;
    return NAC_OK;
fail:
    nac_packet_encoder_destroy(e);
    return st;
}

void nac_packet_encoder_destroy(nac_packet_encoder *e)
{
    if (!e)
        return;
    nac_encoder_destroy(e->enc);
    nac_tcx_encoder_destroy(e->tcx);
    free(e->chunk), free(e->codes), free(e->pkt_codes), free(e->pkt_pcm), free(e->payload), free(e->q);
    free(e->zq), free(e->pkt_fs);
    free(e);
}

const nac_stream_info *nac_packet_encoder_info(const nac_packet_encoder *e) { return e ? &e->info : NULL; }

int nac_packet_encoder_push(nac_packet_encoder *e, const float *pcm, size_t n, nac_error *err)
{
    if (!e || (!pcm && n))
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_encoder_push: NULL argument");
    if (e->flushed)
        return nac_error_set(err, NAC_ERR_STATE, "nac_packet_encoder_push after flush");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(pcm[i]))
            return nac_error_set(err, NAC_ERR_NUMERIC, "sample %llu is %s; nac codes finite samples only",
                                 (unsigned long long)(e->total_in + i), isnan(pcm[i]) ? "NaN" : "infinite");
    if (e->tcx) {
        e->total_in += n;
        return tcx_take(e, pcm, n, err);
    }
    for (size_t i = 0; i < n;) {
        size_t m = n - i < CHUNK ? n - i : CHUNK, frames = 0;
        memcpy(e->chunk, pcm + i, m * sizeof *pcm);
        nac_biquad_run(&e->hp, e->chunk, m);
        int st = nac_encoder_push(e->enc, e->codes, e->max_frames, &frames, e->chunk, m, err);
        if (st || (st = take_codes(e, frames, err)))
            return st;
        i += m;
        e->total_in += m;
    }
    return NAC_OK;
}

int nac_packet_encoder_flush(nac_packet_encoder *e, nac_error *err)
{
    if (!e)
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_encoder_flush: NULL argument");
    if (e->flushed)
        return NAC_OK;
    e->flushed = 1;
    int st;
    if (e->tcx) { /* zeros until the decoder, NAC_TCX_DELAY behind, has put out every sample */
        size_t pad = nac_tcx_stream_frames((size_t)e->total_in) * NAC_TCX_FRAME - (size_t)e->total_in;
        if ((st = tcx_take(e, NULL, pad, err)))
            return st;
        return e->in_pkt ? emit_tcx(e, err) : NAC_OK;
    }
    size_t frames = 0;
    if ((st = nac_encoder_flush(e->enc, e->codes, e->max_frames, &frames, err)) || (st = take_codes(e, frames, err)))
        return st;
    return e->in_pkt ? emit_neural(e, err) : NAC_OK;
}

int nac_packet_encoder_next(nac_packet_encoder *e, const uint8_t **data, size_t *size)
{
    if (!e || !data || !size || e->q_head >= e->q_size)
        return NAC_END;
    size_t n;
    memcpy(&n, e->q + e->q_head, sizeof n);
    *data = e->q + e->q_head + sizeof n;
    *size = n;
    e->q_head += sizeof n + n;
    return NAC_OK;
}

/* A stream with adaptive stage counts (docs/format.md 2.3.4). */
static int adaptive_stream(const nac_stream_info *info)
{
    return info->vbr_table && info->vbr_table == nac_vbr_adaptive_hash();
}

int nac_stream_stage_counts(const nac_stream_info *info, int *counts)
{
    if (!info || !counts || info->mode != NAC_MODE_NEURAL || info->n_stages < 1)
        return 0;
    if (adaptive_stream(info))
        return nac_vbr_stage_set(info->n_stages, counts);
    counts[0] = info->n_stages;
    return 1;
}

int nac_packet_parse(nac_packet *pkt, const nac_stream_info *info, const uint8_t *data, size_t size, nac_error *err)
{
    if (!info)
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_parse: info is NULL");
    return nac_nacfile_packet_parse(pkt, info->version ? info->version : NAC_FORMAT_VERSION, data, size, err);
}

int nac_packet_frame(uint8_t *out, size_t cap, size_t *size, const nac_stream_info *info, uint32_t seq,
                     const uint8_t *payload, size_t len, nac_error *err)
{
    if (!out || !size || !info || (!payload && len))
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_frame: NULL argument");
    if (len > NAC_MAX_PAYLOAD || cap < len + NAC_MAX_PACKET_OVERHEAD)
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_frame: payload of %zu bytes (at most %d) or room for %zu "
                             "bytes (at least the payload plus %d)", len, NAC_MAX_PAYLOAD, cap,
                             NAC_MAX_PACKET_OVERHEAD);
    *size = nac_nacfile_packet_frame(out, info->version ? info->version : NAC_FORMAT_VERSION, seq, payload, len);
    return NAC_OK;
}

/* ---- decoder ----------------------------------------------------------------------------------- */

struct nac_packet_decoder {
    nac_stream_info info;
    size_t fpp, last_frames;
    size_t conceal;          /* concealed frames queued */
    /* neural */
    nac_decoder *dec;
    int S, Sd, bits;
    int32_t *codes;          /* (cap, S) one packet's codes */
    size_t cap, pend, pend_pos;
    size_t vbr_max;          /* frames a range-coded packet may hold: the stated frames per packet, or
                              * what a constant-rate packet could */
    int adaptive;            /* each frame states its stage count (fs) */
    uint8_t *fs;             /* (cap) each frame's count, at most Sd */
    /* transform */
    nac_tcx_decoder *tcx;
    float *tpcm;             /* (NAC_TCX_MAX_PACKET_FRAMES * NAC_TCX_FRAME) one decoded packet */
    size_t t_avail, t_pos;
    /* vocoder */
    nac_vocoder_codec *voc;
    int voc_fields, voc_bits;
    int32_t *vcodes;         /* (vcap, fields) every frame of the stream */
    size_t vF, vcap;
    float *vout;             /* the synthesised stream after finish */
    size_t vn, vpos;
};

int nac_packet_decoder_create(nac_packet_decoder **out, const nac_model *m, const nac_stream_info *info,
                              int n_stages, nac_error *err)
{
    if (!out || !info)
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_decoder_create: NULL argument");
    *out = NULL;
    int st = nac_nacfile_info_check(info, err);
    if (st)
        return st;
    nac_packet_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a packet decoder");
    d->info = *info;
    d->fpp = info->frames_per_packet;
    d->adaptive = adaptive_stream(info);
    if (info->vbr_table &&
        (info->mode != NAC_MODE_NEURAL || (info->vbr_table != nac_vbr_table_hash() && !d->adaptive))) {
        st = nac_error_set(err, NAC_ERR_UNSUPPORTED, "a variable-rate stream coded with table %08x, which this nac "
                                                     "does not have (it has %08x, and %08x with adaptive stages)",
                           info->vbr_table, nac_vbr_table_hash(), nac_vbr_adaptive_hash());
        goto fail;
    }
    if (info->mode == NAC_MODE_TRANSFORM) {
        if (info->codec_rate != NAC_TCX_RATE || info->frame_size != NAC_TCX_FRAME || info->delay != NAC_TCX_DELAY ||
            info->model_hash != NAC_TCX_HASH) {
            st = nac_error_set(err, NAC_ERR_UNSUPPORTED, "a transform-mode stream this version cannot decode");
            goto fail;
        }
        if (d->fpp > NAC_TCX_MAX_PACKET_FRAMES)
            d->fpp = NAC_TCX_MAX_PACKET_FRAMES;
        if ((st = nac_tcx_decoder_create(&d->tcx, err)))
            goto fail;
        if (!(d->tpcm = malloc((size_t)NAC_TCX_MAX_PACKET_FRAMES * NAC_TCX_FRAME * sizeof *d->tpcm))) {
            st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a packet decoder");
            goto fail;
        }
    } else if (info->mode == NAC_MODE_VOCODER) {
        if ((st = nac_vocoder_codec_from_hash(&d->voc, info->model_hash, err)))
            goto fail;
        nac_vocoder_codec_info ci;
        nac_vocoder_codec_get_info(d->voc, &ci);
        if (info->codec_rate != NAC_VOCODER_RATE || info->frame_size != NAC_VOCODER_FRAME_SAMPLES ||
            info->n_stages != ci.n_fields) {
            st = nac_error_set(err, NAC_ERR_FORMAT, "a vocoder stream with a codec rate, frame size or field count "
                                                    "this nac does not use");
            goto fail;
        }
        d->voc_fields = ci.n_fields;
        d->voc_bits = ci.bits_per_frame;
        if (!d->fpp)
            d->fpp = VOC_DEFAULT_FPP;
    } else {
        if (!m) {
            st = nac_error_set(err, NAC_ERR_ARG, "a neural-codec stream needs its model");
            goto fail;
        }
        nac_model_info mi;
        nac_model_get_info(m, &mi);
        int bits_ok = 1;
        for (unsigned s = 0; s < info->n_stages; s++)
            bits_ok = bits_ok && info->stage_bits[s] == mi.bits_per_stage;
        if (info->model_hash != mi.hash || (int)info->codec_rate != mi.sample_rate ||
            (int)info->frame_size != mi.frame_size || info->n_stages > mi.n_stages || !bits_ok ||
            (int)info->delay != mi.delay) {
            st = nac_error_set(err, NAC_ERR_MODEL, "the stream was encoded with model %08x; this is model %08x",
                               info->model_hash, mi.hash);
            goto fail;
        }
        d->S = info->n_stages;
        d->Sd = n_stages > 0 && n_stages < d->S ? n_stages : d->S;
        d->bits = mi.bits_per_stage;
        d->cap = (size_t)NAC_NACFILE_MAX_PAYLOAD * 8 / ((size_t)d->S * (size_t)d->bits) + 1;
        d->vbr_max = info->frames_per_packet ? info->frames_per_packet : d->cap; /* what a VBR packet may claim */
        if ((st = nac_decoder_create(&d->dec, m, err)))
            goto fail;
        if (d->adaptive && !info->frames_per_packet) {
            st = nac_error_set(err, NAC_ERR_FORMAT, "a stream with adaptive stage counts must state its frames per "
                                                    "packet");
            goto fail;
        }
        if (d->adaptive) /* its packets hold at most the stated frames (at most 60 s: 3000) */
            d->cap = info->frames_per_packet;
        if (!(d->codes = malloc(d->cap * (size_t)d->S * sizeof *d->codes)) ||
            (d->adaptive && !(d->fs = malloc(d->cap)))) {
            st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory creating a packet decoder");
            goto fail;
        }
    }
    *out = d;
    return NAC_OK;
fail:
    nac_packet_decoder_destroy(d);
    return st;
}

void nac_packet_decoder_destroy(nac_packet_decoder *d)
{
    if (!d)
        return;
    nac_decoder_destroy(d->dec);
    nac_tcx_decoder_destroy(d->tcx);
    nac_vocoder_codec_destroy(d->voc);
    free(d->codes), free(d->tpcm), free(d->vcodes), free(d->vout), free(d->fs);
    free(d);
}

size_t nac_packet_decoder_packet_frames(const nac_packet_decoder *d)
{
    if (!d)
        return 0;
    return d->fpp ? d->fpp : d->last_frames ? d->last_frames : DEFAULT_FPP;
}

/* Vocoder: room for n more frames of codes. */
static int voc_grow(nac_packet_decoder *d, size_t n, nac_error *err)
{
    if (d->vF + n <= d->vcap)
        return NAC_OK;
    size_t cap = (d->vF + n) * 2 + 64;
    int32_t *p = realloc(d->vcodes, cap * (size_t)d->voc_fields * sizeof *p);
    if (!p)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    d->vcodes = p;
    d->vcap = cap;
    return NAC_OK;
}

int nac_packet_decoder_conceal(nac_packet_decoder *d, size_t n_frames, nac_error *err)
{
    if (!d)
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_decoder_conceal: NULL argument");
    d->pend = d->pend_pos = d->t_avail = d->t_pos = 0;
    if (d->voc) { /* all-zero codes decode to silence (lowest energy, unvoiced) */
        if (!n_frames)
            return NAC_OK;
        int st = voc_grow(d, n_frames, err);
        if (st)
            return st;
        memset(d->vcodes + d->vF * (size_t)d->voc_fields, 0, n_frames * (size_t)d->voc_fields * sizeof *d->vcodes);
        d->vF += n_frames;
        return NAC_OK;
    }
    d->conceal = n_frames;
    return NAC_OK;
}

int nac_packet_decoder_decode(nac_packet_decoder *d, const nac_packet *pkt, size_t *frames, nac_error *err)
{
    if (frames)
        *frames = 0;
    if (!d || (pkt && !pkt->data && pkt->size))
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_decoder_decode: NULL argument");
    size_t lost = nac_packet_decoder_packet_frames(d);
    int st = nac_packet_decoder_conceal(d, 0, err);
    if (!pkt) {
        if (frames)
            *frames = lost;
        return nac_packet_decoder_conceal(d, lost, err);
    }
    nac_error why = {0};
    size_t n = 0;
    if (d->tcx) {
        int got = 0;
        st = nac_tcx_decode_packet(d->tcx, d->tpcm, &got, pkt->data, pkt->size, &why);
        n = (size_t)got;
        d->t_avail = st ? 0 : n * NAC_TCX_FRAME;
    } else if (d->voc) {
        n = pkt->size * 8 / (size_t)d->voc_bits;
        if (!(st = voc_grow(d, n, err))) {
            nac_vocoder_unpack(d->vcodes + d->vF * (size_t)d->voc_fields, &n, d->voc, pkt->data, pkt->size);
            d->vF += n;
        } else {
            return st;
        }
    } else {
        if (d->info.vbr_table) {
            st = nac_vbr_decode(d->codes, d->vbr_max, &n, pkt->data, pkt->size, d->info.frames_per_packet, d->S,
                                d->adaptive ? d->fs : NULL, &why);
        } else {
            n = pkt->size * 8 / ((size_t)d->S * (size_t)d->bits);
            if (n > d->cap)
                n = d->cap;
            st = nac_rvq_unpack(d->codes, pkt->data, pkt->size, n * (size_t)d->S, d->bits, &why);
        }
        if (!st && d->adaptive) /* rows stay S long; each frame decodes its count, at most Sd */
            for (size_t i = 0; i < n; i++)
                d->fs[i] = d->fs[i] < d->Sd ? d->fs[i] : (uint8_t)d->Sd;
        else if (!st && d->Sd < d->S)
            for (size_t i = 0; i < n; i++)
                memmove(d->codes + i * (size_t)d->Sd, d->codes + i * (size_t)d->S, (size_t)d->Sd * sizeof *d->codes);
        d->pend = st ? 0 : n;
    }
    if (st) { /* a payload that does not decode: conceal the packet */
        char msg[sizeof why.msg];
        memcpy(msg, nac_error_message(&why), sizeof msg);
        if (frames)
            *frames = lost;
        int st2 = nac_packet_decoder_conceal(d, lost, err);
        return st2 ? st2 : nac_error_set(err, NAC_ERR_CORRUPT, "%s (concealed)", msg);
    }
    d->last_frames = n;
    if (frames)
        *frames = n;
    return NAC_OK;
}

int nac_packet_decoder_read(nac_packet_decoder *d, float *pcm, size_t max, size_t *n, nac_error *err)
{
    if (n)
        *n = 0;
    if (!d || !pcm || !n || max < d->info.frame_size)
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_decoder_read: NULL argument or room for less than a frame");
    size_t fs = d->info.frame_size, room = max / fs;
    if (d->voc) {
        size_t m = d->vn - d->vpos < max ? d->vn - d->vpos : max;
        if (m)
            memcpy(pcm, d->vout + d->vpos, m * sizeof *pcm);
        d->vpos += m;
        *n = m;
        return NAC_OK;
    }
    if (d->conceal) {
        size_t m = d->conceal < room ? d->conceal : room;
        if (d->tcx) {
            if (m > NAC_TCX_MAX_PACKET_FRAMES)
                m = NAC_TCX_MAX_PACKET_FRAMES;
            nac_tcx_conceal(d->tcx, pcm, (int)m);
        } else {
            int st = nac_decoder_decode(d->dec, pcm, NULL, NULL, m, d->Sd, err);
            if (st)
                return st;
        }
        d->conceal -= m;
        *n = m * fs;
        return NAC_OK;
    }
    if (d->tcx) {
        size_t m = d->t_avail - d->t_pos < room * fs ? d->t_avail - d->t_pos : room * fs;
        memcpy(pcm, d->tpcm + d->t_pos, m * sizeof *pcm);
        d->t_pos += m;
        *n = m;
        return NAC_OK;
    }
    size_t m = d->pend - d->pend_pos < room ? d->pend - d->pend_pos : room;
    if (m) {
        int st = d->adaptive ? nac_decoder_decode_counts(d->dec, pcm, d->codes + d->pend_pos * (size_t)d->S, d->S,
                                                         d->fs + d->pend_pos, m, err)
                             : nac_decoder_decode(d->dec, pcm, d->codes + d->pend_pos * (size_t)d->Sd, NULL, m, d->Sd,
                                                  err);
        if (st)
            return st;
        d->pend_pos += m;
    }
    *n = m * fs;
    return NAC_OK;
}

int nac_packet_decoder_finish(nac_packet_decoder *d, nac_error *err)
{
    if (!d)
        return nac_error_set(err, NAC_ERR_ARG, "nac_packet_decoder_finish: NULL argument");
    if (!d->voc || d->vout || d->vF == 0)
        return NAC_OK;
    float *feat = NULL;
    size_t T = 0;
    nac_vocoder_grid g;
    nac_vocoder_grid_default(&g);
    int st = nac_vocoder_codec_decode(&feat, &T, d->voc, d->vcodes, d->vF, err);
    if (!st)
        st = nac_vocoder_synthesize(&d->vout, &d->vn, feat, T, &g, 1, err);
    free(feat);
    d->vpos = 0;
    return st;
}
