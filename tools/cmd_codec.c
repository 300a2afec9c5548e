/* nac encode / decode / info: audio files <-> .nac files with the neural codec. */
#include "cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio_file.h"
#include "core/status.h"
#include "dsp/biquad.h"
#include "dsp/resample.h"
#include "format/nacfile.h"
#include "format/weights.h"
#include "nac/nac.h"
#include "tcx/tcx.h"
#include "vq/rvq.h"

#define BLOCK 32000 /* samples read per step (2 s at 16 kHz: one internal chunk) */


static int load_model(nac_model **m, const char *path, nac_error *err)
{
    if (!path || !strcmp(path, "default"))
        return nac_model_load_default(m, err);
    return nac_model_load(m, path, err);
}

/* Converts between rates (or passes through) in streaming blocks; output in out (grown as needed). */
typedef struct rate_stage {
    nac_resampler *rs;
    float *out;
    size_t cap;
} rate_stage;

static int rate_stage_run(rate_stage *s, const float **y, size_t *ny, const float *x, size_t n, int flush,
                          nac_error *err)
{
    if (!s->rs) {
        *y = x;
        *ny = flush ? 0 : n;
        return NAC_OK;
    }
    size_t total = 0, got = 0;
    /* one call takes the input (what does not fit is kept inside); at the end, drain until empty */
    do {
        if (s->cap - total < n * 8 + 8192) {
            size_t cap = s->cap * 2 + n * 8 + 8192;
            float *p = realloc(s->out, cap * sizeof *p);
            if (!p)
                return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
            s->out = p;
            s->cap = cap;
        }
        int st = nac_resampler_process(s->rs, s->out + total, s->cap - total, &got, flush ? NULL : x, flush ? 0 : n, err);
        if (st)
            return st;
        total += got;
    } while (flush && got > 0);
    *y = s->out;
    *ny = total;
    return NAC_OK;
}

/* Decoder output: drops the codec delay, converts to the source rate, trims to the source length. */
typedef struct pcm_sink {
    rate_stage rate;
    nac_audio_writer *wr;
    size_t skip;          /* codec-rate samples still to drop */
    uint64_t want;        /* source samples expected, or NAC_NACFILE_LENGTH_UNKNOWN */
    uint64_t written;
} pcm_sink;

static int sink_write(pcm_sink *k, const float *pcm, size_t n, int flush, nac_error *err)
{
    const float *res = NULL;
    size_t nres = 0, off = k->skip < n ? k->skip : n;
    k->skip -= off;
    int st = rate_stage_run(&k->rate, &res, &nres, pcm ? pcm + off : NULL, n - off, flush, err);
    if (st)
        return st;
    if (k->want != NAC_NACFILE_LENGTH_UNKNOWN && k->written + nres > k->want)
        nres = (size_t)(k->want - k->written);
    k->written += nres;
    return nac_audio_writer_write(k->wr, res, nres, err);
}

/* Has the sink written all the samples the metadata states? */
static int sink_full(const pcm_sink *k) { return k->want != NAC_NACFILE_LENGTH_UNKNOWN && k->written >= k->want; }

#define SLICE 250 /* frames decoded per call: bounds the PCM buffer (5 s at 16 kHz) whatever a packet holds */

/* Decodes n frames of codes (n, S), or conceals n frames when codes is NULL, into the sink, SLICE
 * frames at a time into pcm (SLICE * frame_size); stops once the sink has the stated length. */
static int decode_slices(pcm_sink *k, nac_decoder *dec, float *pcm, const int32_t *codes, size_t n, int S,
                         int frame_size, nac_error *err)
{
    for (size_t i = 0; i < n && !sink_full(k); i += SLICE) {
        size_t m = n - i < SLICE ? n - i : SLICE;
        int st = nac_decoder_decode(dec, pcm, codes ? codes + i * (size_t)S : NULL, NULL, m, S, err);
        if (st || (st = sink_write(k, pcm, m * (size_t)frame_size, 0, err)))
            return st;
    }
    return NAC_OK;
}

/* Damage reports of one stream, one line per event: damaged bytes and the packets they cost are
 * one event, so are two swapped packets. prefix starts each line. */
typedef struct damage_log {
    FILE *f;
    const char *prefix;
    char pending[512]; /* a reader report waiting for the packet that tells what it cost */
    long events;
    int swap_open;     /* the first of two reordered packets was reported */
} damage_log;

static void damage_flush(damage_log *d, const char *more)
{
    if (!d->pending[0] && !more)
        return;
    fprintf(d->f, "%s%s%s%s\n", d->prefix, d->pending, d->pending[0] && more ? "; " : "", more ? more : "");
    d->pending[0] = '\0';
    d->events++;
}

/* A report from the reader (NAC_ERR_CORRUPT, NAC_ERR_TRUNCATED). */
static void damage_report(damage_log *d, const char *msg)
{
    damage_flush(d, NULL);
    snprintf(d->pending, sizeof d->pending, "%s", msg);
}

/* A packet the reader returned: ends the pending report with what it cost. */
static void damage_packet(damage_log *d, const nac_nacfile_packet *p, const char *action)
{
    char what[200] = "";
    if (p->lost)
        snprintf(what, sizeof what, "%lu packet%s lost before byte %llu (sequence %lu follows %ld)%s",
                 (unsigned long)p->lost, p->lost == 1 ? "" : "s", (unsigned long long)p->offset, (unsigned long)p->seq,
                 (long)p->seq - (long)p->lost - 1, action);
    else if (p->reordered && !d->swap_open)
        snprintf(what, sizeof what, "packets %lu and %lu arrive in swapped order (byte %llu): reordered",
                 (unsigned long)p->seq, (unsigned long)p->seq + 1, (unsigned long long)p->offset);
    if (p->reordered)
        d->swap_open = !d->swap_open;
    damage_flush(d, what[0] ? what : NULL);
}

static void progress(int on, const char *verb, double done_s, double total_s)
{
    if (!on)
        return;
    if (total_s > 0)
        fprintf(stderr, "\rnac %s: %.0f%% (%.1f of %.1f s)", verb, 100.0 * done_s / total_s, done_s, total_s);
    else
        fprintf(stderr, "\rnac %s: %.1f s", verb, done_s);
}

/* ---- transform mode (the high rates) ---------------------------------------------------------------- */

static int condition_input(float *x, size_t n, size_t first, size_t *clipped, int rate, const char *path,
                           nac_error *err);

/* Encodes with the transform coder: packets of fpp 20 ms frames, each exactly the rate's size. */
static int encode_tcx(nac_audio_reader *rd, FILE *f, const char *in, double kbps, int fpp, int show, nac_error *err)
{
    const nac_audio_info *ai = nac_audio_reader_info(rd);
    nac_tcx_encoder *enc = NULL;
    nac_nacfile_writer *wr = NULL;
    rate_stage rate = {0};
    float *pcm = malloc(BLOCK * sizeof *pcm), *pkt = malloc((size_t)fpp * NAC_TCX_FRAME * sizeof *pkt);
    uint8_t *payload = malloc(nac_tcx_packet_bytes(kbps, fpp) + 1);
    int st = NAC_OK;
    if (!pcm || !pkt || !payload) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((ai->sample_rate != NAC_TCX_RATE && (st = nac_resampler_create(&rate.rs, ai->sample_rate, NAC_TCX_RATE, err))) ||
        (st = nac_tcx_encoder_create(&enc, kbps, err)))
        goto done;
    nac_nacfile_info info;
    memset(&info, 0, sizeof info);
    info.source_rate = (uint32_t)ai->sample_rate;
    info.channels = (uint16_t)ai->channels;
    info.length = ai->frames >= 0 ? (uint64_t)ai->frames : NAC_NACFILE_LENGTH_UNKNOWN;
    info.codec_rate = NAC_TCX_RATE;
    info.frame_size = NAC_TCX_FRAME;
    info.n_stages = 1;
    info.stage_bits[0] = 8;
    info.model_hash = NAC_TCX_HASH;
    info.delay = NAC_TCX_DELAY;
    info.frames_per_packet = (uint16_t)fpp;
    info.mode = NAC_MODE_TRANSFORM;
    info.bitrate = (uint8_t)lround(kbps * 10 > 255 ? 255 : kbps * 10);
    if ((st = nac_nacfile_writer_create(&wr, f, &info, err)))
        goto done;
    size_t fill = 0, total_in = 0, total_res = 0, clipped = 0, need = (size_t)fpp * NAC_TCX_FRAME;
    uint32_t seq = 0;
    for (int eof = 0; !eof;) {
        size_t got = 0, nres = 0;
        const float *res;
        if ((st = nac_audio_reader_read(rd, pcm, BLOCK, &got, err)) ||
            (st = condition_input(pcm, got, total_in, &clipped, ai->sample_rate, in, err)))
            goto done;
        eof = got == 0;
        total_in += got;
        if ((st = rate_stage_run(&rate, &res, &nres, pcm, got, eof, err)))
            goto done;
        total_res += nres;
        /* at the end: zeros until the decoder, NAC_TCX_DELAY behind, has put out every sample */
        size_t pad = 0;
        if (eof) {
            size_t frames = nac_tcx_stream_frames(total_res);
            pad = frames * NAC_TCX_FRAME - total_res;
        }
        while (nres > 0 || pad > 0 || (eof && fill > 0)) {
            size_t take = nres < need - fill ? nres : need - fill;
            memcpy(pkt + fill, res, take * sizeof *pkt);
            fill += take, res += take, nres -= take;
            size_t z = pad < need - fill ? pad : need - fill;
            if (!nres) {
                memset(pkt + fill, 0, z * sizeof *pkt);
                fill += z, pad -= z;
            }
            if (fill == need || (eof && !nres && !pad && fill > 0)) {
                size_t size;
                if ((st = nac_tcx_encode_packet(enc, payload, &size, pkt, (int)(fill / NAC_TCX_FRAME), err)) ||
                    (st = nac_nacfile_writer_write(wr, seq++, payload, size, err)))
                    goto done;
                fill = 0;
            }
        }
        progress(show, "encode", (double)total_in / ai->sample_rate, (double)ai->frames / ai->sample_rate);
    }
    if (total_in == 0) {
        st = nac_error_set(err, NAC_ERR_EMPTY, "%s: no audio samples", in);
        goto done;
    }
    st = nac_nacfile_writer_finish(wr, err);
    if (!st && clipped)
        fprintf(stderr, "%snac encode: note: %s: %zu samples outside [-1, 1] were clipped\n", show ? "\n" : "", in,
                clipped);
done:
    nac_nacfile_writer_destroy(wr);
    nac_resampler_destroy(rate.rs);
    free(rate.out);
    nac_tcx_encoder_destroy(enc);
    free(pcm);
    free(pkt);
    free(payload);
    return st;
}

/* ---- encode ---------------------------------------------------------------------------------------- */

/* Input samples x (n), the first being sample `first` of the file: refuses NaN and infinity (the
 * network would turn them into non-finite latents), clips the rest to [-1, 1] (counted in *clipped). */
static int condition_input(float *x, size_t n, size_t first, size_t *clipped, int rate, const char *path,
                           nac_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return nac_error_set(err, NAC_ERR_NUMERIC, "%s: sample %zu (%.2f s) is %s; nac codes finite samples only",
                                 path, first + i, (double)(first + i) / rate, isnan(x[i]) ? "NaN" : "infinite");
        if (x[i] > 1.0f || x[i] < -1.0f) {
            x[i] = x[i] > 0 ? 1.0f : -1.0f;
            (*clipped)++;
        }
    }
    return NAC_OK;
}

static void encode_usage(FILE *f)
{
    fprintf(f, "usage: nac encode IN OUT.nac [--kbps K] [--mode M] [--model FILE] [--packet-frames N] [-q]\n\n"
               "Compresses IN (wav, flac, ogg, ... at any rate; multichannel is mixed to mono) at a constant\n"
               "bitrate. IN or OUT may be '-' for stdin/stdout. Samples outside [-1, 1] are clipped (with a\n"
               "note), NaN or infinite samples are refused, rates above 655350 Hz are refused (no WAV or FLAC\n"
               "can hold them). The neural codec high-passes its input at 50 Hz (DC and rumble are below its\n"
               "band and drive it into noise); the transform coder codes them.\n\n"
               "  --kbps K           bitrate in kbps (default 6). Below 12: the neural codec, 0.5 to 24 in\n"
               "                     steps of 0.5 (each is one VQ stage of 10 bits per 20 ms frame; 1.5, 3,\n"
               "                     6, 12 and 24 are the rates it was trained for). From 12: the transform\n"
               "                     coder, which follows the waveform (8 to 25.5 with --mode transform)\n"
               "                     0.7, 1.2, 1.6: the harmonic vocoder's low-rate mode (docs/vocoder.md;\n"
               "                     nac encode --kbps 0.7 --help)\n"
               "  --mode M           auto (default: by the rate, as above), neural or transform\n"
               "  --model FILE       a model trained with nac train (default: the built-in model)\n"
               "  --packet-frames N  20 ms frames per packet (default 50; fewer: less lost per damaged\n"
               "                     packet, more overhead: 12 bytes per packet)\n"
               "  -q, --quiet        no progress line\n\n"
               "examples:\n  nac encode speech.wav speech.nac --kbps 6\n"
               "  nac encode speech.wav speech.nac --kbps 24         (transform coder: near-transparent)\n");
}

int nac_cmd_encode(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *model_path = NULL, *mode = "auto";
    double kbps = 6;
    int fpp = 0, quiet = 0, status = 1;
    if (nac_vocoder_kbps_arg(argc, argv)) /* 0.7, 1.2, 1.6 kbps: the vocoder mode, tools/cmd_vocoder.c */
        return nac_vocoder_cmd_encode(argc, argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            encode_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--kbps") && i + 1 < argc) {
            char *end;
            kbps = strtod(argv[++i], &end);
            if (*end || !(kbps > 0 && kbps <= NAC_TCX_MAX_KBPS)) {
                fprintf(stderr, "nac encode: --kbps wants a rate in kbps (0.5 to 24 in steps of 0.5 for the neural "
                                "codec, %g to %g for the transform coder), not '%s'\n",
                        NAC_TCX_MIN_KBPS, NAC_TCX_MAX_KBPS, argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--mode") && i + 1 < argc) {
            mode = argv[++i];
            if (strcmp(mode, "auto") && strcmp(mode, "neural") && strcmp(mode, "transform")) {
                fprintf(stderr, "nac encode: --mode must be auto, neural or transform, not '%s'\n", mode);
                return 2;
            }
        } else if (!strcmp(a, "--model") && i + 1 < argc) {
            model_path = argv[++i];
        } else if (!strcmp(a, "--packet-frames") && i + 1 < argc) {
            fpp = atoi(argv[++i]);
            if (fpp < 1 || fpp > 1000) {
                fprintf(stderr, "nac encode: --packet-frames must be 1..1000\n");
                return 2;
            }
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (nac_cli_positional("encode", "nac encode --help", a, &in, &out)) {
            return 2;
        }
    }
    if (!in || !out) {
        encode_usage(stderr);
        return 2;
    }
    if (nac_cli_refuse_same_file("encode", in, out))
        return 2;
    int transform = !strcmp(mode, "transform") || (!strcmp(mode, "auto") && kbps >= NAC_TCX_AUTO_KBPS);
    if (!fpp) /* a second, or about 6000 bits where that is longer: 4 s at 1.5 kbps, 2 s at 3 (docs/format.md) */
        fpp = (int)fmin(250, fmax(50, ceil(6000 / (kbps * 20))));
    if (transform && (kbps < NAC_TCX_MIN_KBPS || fpp > NAC_TCX_MAX_PACKET_FRAMES)) {
        fprintf(stderr, "nac encode: the transform coder runs at %g to %g kbps with at most %d frames per packet\n",
                NAC_TCX_MIN_KBPS, NAC_TCX_MAX_KBPS, NAC_TCX_MAX_PACKET_FRAMES);
        return 2;
    }
    if (!transform && (kbps > 24 || fabs(kbps * 2 - lround(kbps * 2)) > 1e-9)) {
        fprintf(stderr, "nac encode: the neural codec codes 0.5 to 24 kbps in steps of 0.5 (one VQ stage each), "
                        "not %g\n", kbps);
        return 2;
    }
    nac_error err = {0};
    nac_model *m = NULL;
    nac_encoder *enc = NULL;
    nac_audio_reader *rd = NULL;
    nac_nacfile_writer *wr = NULL;
    rate_stage rate = {0};
    FILE *f = NULL;
    float *pcm = NULL;
    int32_t *codes = NULL, *packet = NULL;
    uint8_t *payload = NULL;
    int st;
    if ((st = nac_audio_reader_open(&rd, in, &err)))
        goto fail;
    const nac_audio_info *ai = nac_audio_reader_info(rd);
    if (ai->sample_rate > NAC_NACFILE_MAX_SOURCE_RATE) {
        st = nac_error_set(&err, NAC_ERR_UNSUPPORTED,
                           "%s: sample rate %d Hz is above %d Hz, the most a decoded WAV or FLAC file can have; "
                           "resample it first", in, ai->sample_rate, NAC_NACFILE_MAX_SOURCE_RATE);
        goto fail;
    }
    int show = !quiet && isatty(2) && (ai->frames < 0 || ai->frames > 30 * ai->sample_rate);
    if (transform) {
        if (ai->channels > 1)
            fprintf(stderr, "nac encode: note: mixing %d channels down to mono\n", ai->channels);
        f = strcmp(out, "-") ? fopen(out, "wb") : stdout;
        if (!f) {
            st = nac_error_set(&err, NAC_ERR_IO, "%s: cannot create: %s", out, strerror(errno));
            goto fail;
        }
        if ((st = encode_tcx(rd, f, in, kbps, fpp, show, &err)))
            goto fail;
        goto finish;
    }
    if ((st = load_model(&m, model_path, &err)))
        goto fail;
    nac_biquad hp;
    nac_biquad_highpass(&hp, NAC_NEURAL_HIGHPASS_HZ, ai->sample_rate);
    nac_model_info mi;
    nac_model_get_info(m, &mi);
    int S = nac_model_stages_for_kbps(m, kbps);
    if (ai->channels > 1)
        fprintf(stderr, "nac encode: note: mixing %d channels down to mono\n", ai->channels);
    if (ai->sample_rate != mi.sample_rate &&
        (st = nac_resampler_create(&rate.rs, ai->sample_rate, mi.sample_rate, &err)))
        goto fail;
    if ((st = nac_encoder_create(&enc, m, S, &err)))
        goto fail;
    f = strcmp(out, "-") ? fopen(out, "wb") : stdout;
    if (!f) {
        st = nac_error_set(&err, NAC_ERR_IO, "%s: cannot create: %s", out, strerror(errno));
        goto fail;
    }
    nac_nacfile_info info;
    memset(&info, 0, sizeof info);
    info.source_rate = (uint32_t)ai->sample_rate;
    info.channels = (uint16_t)ai->channels;
    info.length = ai->frames >= 0 ? (uint64_t)ai->frames : NAC_NACFILE_LENGTH_UNKNOWN;
    info.codec_rate = (uint32_t)mi.sample_rate;
    info.frame_size = (uint32_t)mi.frame_size;
    info.n_stages = (uint16_t)S;
    for (int s = 0; s < S; s++)
        info.stage_bits[s] = (uint8_t)mi.bits_per_stage;
    info.model_hash = mi.hash;
    info.delay = (uint32_t)mi.delay;
    info.frames_per_packet = (uint16_t)fpp;
    info.bitrate = (uint8_t)lround(kbps * 10);
    if ((st = nac_nacfile_writer_create(&wr, f, &info, &err)))
        goto fail;
    size_t max_frames = nac_encoder_max_frames(enc, 4 * BLOCK + (size_t)mi.delay + 2 * (size_t)mi.frame_size) + 8;
    pcm = malloc(BLOCK * sizeof *pcm);
    codes = malloc(max_frames * (size_t)S * sizeof *codes);
    packet = malloc((size_t)fpp * (size_t)S * sizeof *packet);
    payload = malloc(nac_rvq_packed_bytes((size_t)fpp * (size_t)S, mi.bits_per_stage) + 1);
    if (!pcm || !codes || !packet || !payload) {
        st = nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    size_t in_pkt = 0, total_in = 0, clipped = 0;
    uint32_t seq = 0;
    for (int eof = 0; !eof;) {
        size_t got = 0, nres = 0, frames = 0;
        const float *res;
        if ((st = nac_audio_reader_read(rd, pcm, BLOCK, &got, &err)))
            goto fail;
        eof = got == 0;
        if ((st = condition_input(pcm, got, total_in, &clipped, ai->sample_rate, in, &err)))
            goto fail;
        nac_biquad_run(&hp, pcm, got);
        total_in += got;
        if ((st = rate_stage_run(&rate, &res, &nres, pcm, got, eof, &err)) ||
            (st = nac_encoder_push(enc, codes, max_frames, &frames, res, nres, &err)))
            goto fail;
        if (eof) {
            size_t more = 0;
            if ((st = nac_encoder_flush(enc, codes + frames * (size_t)S, max_frames - frames, &more, &err)))
                goto fail;
            frames += more;
        }
        for (size_t k = 0; k < frames; k++) {
            memcpy(packet + in_pkt * (size_t)S, codes + k * (size_t)S, (size_t)S * sizeof *packet);
            if (++in_pkt == (size_t)fpp || (eof && k + 1 == frames)) {
                size_t nb = nac_rvq_packed_bytes(in_pkt * (size_t)S, mi.bits_per_stage);
                if ((st = nac_rvq_pack(payload, packet, in_pkt * (size_t)S, mi.bits_per_stage, &err)) ||
                    (st = nac_nacfile_writer_write(wr, seq++, payload, nb, &err)))
                    goto fail;
                in_pkt = 0;
            }
        }
        progress(show, "encode", (double)total_in / ai->sample_rate, (double)ai->frames / ai->sample_rate);
    }
    if (total_in == 0) {
        st = nac_error_set(&err, NAC_ERR_EMPTY, "%s: no audio samples", in);
        goto fail;
    }
    if (clipped)
        fprintf(stderr, "%snac encode: note: %s: %zu samples outside [-1, 1] were clipped\n", show ? "\n" : "", in,
                clipped);
    if ((st = nac_nacfile_writer_finish(wr, &err)))
        goto fail;
finish:
    if (f != stdout && fclose(f) != 0) {
        f = NULL;
        st = nac_error_set(&err, NAC_ERR_IO, "%s: write failed: %s", out, strerror(errno));
        goto fail;
    }
    f = NULL;
    if (show)
        fprintf(stderr, "\n");
    status = 0;
    goto done;
fail:
    fprintf(stderr, "%snac encode: %s\n", isatty(2) && !quiet ? "\r" : "", nac_error_message(&err));
    if (f && f != stdout) {
        fclose(f);
        f = NULL;
        remove(out);
    }
done:
    if (f && f != stdout)
        fclose(f);
    nac_nacfile_writer_destroy(wr);
    nac_audio_reader_close(rd);
    nac_resampler_destroy(rate.rs);
    free(rate.out);
    nac_encoder_destroy(enc);
    nac_model_destroy(m);
    free(pcm);
    free(codes);
    free(packet);
    free(payload);
    return status;
}

/* ---- decode ---------------------------------------------------------------------------------------- */

/* What turns packets into PCM: the neural decoder (codes) or the transform decoder (payloads). */
typedef struct decode_backend {
    nac_decoder *dec;      /* neural: */
    int32_t *codes;        /* (cap, S) */
    size_t cap;
    int S, Sd, bits;
    nac_tcx_decoder *tcx;  /* transform */
    float *pcm;            /* (SLICE * frame_size), SLICE >= NAC_TCX_MAX_PACKET_FRAMES */
    int frame_size, fpp;
} decode_backend;

/* Conceals n frames into the sink (stops once it has the stated length). */
static int backend_conceal(decode_backend *b, pcm_sink *k, size_t n, nac_error *err)
{
    if (!b->tcx)
        return decode_slices(k, b->dec, b->pcm, NULL, n, b->Sd, b->frame_size, err);
    for (size_t i = 0; i < n && !sink_full(k); i += SLICE) {
        size_t m = n - i < SLICE ? n - i : SLICE;
        nac_tcx_conceal(b->tcx, b->pcm, (int)m);
        int st = sink_write(k, b->pcm, m * (size_t)b->frame_size, 0, err);
        if (st)
            return st;
    }
    return NAC_OK;
}

/* Decodes one packet into the sink; *frames gets the frames it held. A transform payload that does
 * not parse is reported in dlog and concealed. */
static int backend_packet(decode_backend *b, pcm_sink *k, const nac_nacfile_packet *pkt, size_t *frames,
                          damage_log *dlog, nac_error *err)
{
    if (b->tcx) {
        nac_error e2 = {0};
        int got = 0;
        if (nac_tcx_decode_packet(b->tcx, b->pcm, &got, pkt->data, pkt->size, &e2)) {
            char what[500];
            snprintf(what, sizeof what, "packet %lu: %s (concealed)", (unsigned long)pkt->seq, nac_error_message(&e2));
            damage_flush(dlog, what);
            *frames = (size_t)b->fpp;
            return backend_conceal(b, k, *frames, err);
        }
        *frames = (size_t)got;
        return sink_full(k) ? NAC_OK : sink_write(k, b->pcm, (size_t)got * (size_t)b->frame_size, 0, err);
    }
    size_t n = pkt->size * 8 / ((size_t)b->S * (size_t)b->bits);
    if (n > b->cap)
        n = b->cap;
    int st = nac_rvq_unpack(b->codes, pkt->data, pkt->size, n * (size_t)b->S, b->bits, err);
    if (st)
        return st;
    if (b->Sd < b->S)
        for (size_t i = 0; i < n; i++)
            memmove(b->codes + i * (size_t)b->Sd, b->codes + i * (size_t)b->S, (size_t)b->Sd * sizeof *b->codes);
    *frames = n;
    return decode_slices(k, b->dec, b->pcm, b->codes, n, b->Sd, b->frame_size, err);
}


static void decode_usage(FILE *f)
{
    fprintf(f, "usage: nac decode IN.nac OUT.wav|OUT.flac [--kbps LOWER] [--model FILE] [-q]\n\n"
               "Decodes a .nac file to 16-bit WAV or FLAC at the source's sample rate. IN or OUT may be '-'\n"
               "(stdout gives WAV). Damaged packets are detected by their CRC, skipped and concealed; lost\n"
               "packets are concealed, repeated or late ones dropped, swapped ones reordered, a sequence number\n"
               "that jumps past the stated length or a minute of audio dropped as corrupt (docs/format.md);\n"
               "one warning line each. A truncated file decodes up to the cut. Exit status: 0 clean, 3 damage\n"
               "found (the output is written), 1 error (no usable output), 2 usage.\n\n"
               "  --kbps LOWER   decode with fewer VQ stages than were coded (neural codec only; a\n"
               "                 transform-coded file decodes at its own rate)\n"
               "  --model FILE   the model the file was encoded with (default: the built-in model)\n"
               "  -q, --quiet    no progress line\n\n"
               "example:\n  nac decode speech.nac speech_out.wav\n");
}

int nac_cmd_decode(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *model_path = NULL;
    double kbps = 0;
    int quiet = 0, status = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            decode_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--kbps") && i + 1 < argc) {
            char *end;
            kbps = strtod(argv[++i], &end);
            if (*end || !(kbps > 0 && kbps <= 1000)) { /* also refuses nan and inf */
                fprintf(stderr, "nac decode: --kbps wants a bitrate in kbps (0 < K <= 1000, e.g. 1.5, 3, 6, 12 or "
                                "24), not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--model") && i + 1 < argc) {
            model_path = argv[++i];
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (nac_cli_positional("decode", "nac decode --help", a, &in, &out)) {
            return 2;
        }
    }
    if (!in || !out) {
        decode_usage(stderr);
        return 2;
    }
    if (nac_cli_refuse_same_file("decode", in, out))
        return 2;
    nac_error err = {0};
    nac_model *m = NULL;
    nac_nacfile_reader *rd = NULL;
    pcm_sink sink = {0};
    decode_backend be = {0};
    FILE *f = NULL;
    float *pcm = NULL;
    int st, warned = 0;
    f = strcmp(in, "-") ? fopen(in, "rb") : stdin;
    if (!f) {
        st = nac_error_set(&err, NAC_ERR_IO, "%s: cannot open: %s", in, strerror(errno));
        goto fail;
    }
    if ((st = nac_nacfile_reader_create(&rd, f, &err))) {
        char detail[sizeof err.msg];
        memcpy(detail, err.msg, sizeof detail);
        nac_error_set(&err, st, "%s: %s", in, detail);
        goto fail;
    }
    if (nac_nacfile_reader_info(rd)->mode == NAC_MODE_VOCODER) { /* tools/cmd_vocoder.c */
        status = nac_vocoder_decode_stream(rd, in, out, quiet);
        goto done;
    }
    const nac_nacfile_info *info = nac_nacfile_reader_info(rd);
    int show = 0;
    double secs = info->length != NAC_NACFILE_LENGTH_UNKNOWN ? (double)info->length / info->source_rate : 0;
    int frame_rate;
    if (info->mode == NAC_MODE_TRANSFORM) {
        if (info->codec_rate != NAC_TCX_RATE || info->frame_size != NAC_TCX_FRAME || info->delay != NAC_TCX_DELAY ||
            info->model_hash != NAC_TCX_HASH) {
            st = nac_error_set(&err, NAC_ERR_UNSUPPORTED, "%s: a transform-mode stream this version cannot decode", in);
            goto fail;
        }
        if (kbps > 0)
            fprintf(stderr, "nac decode: note: %s was made by the transform coder, which decodes at its coded rate "
                            "(%.1f kbps) only; --kbps is ignored\n", in, info->bitrate / 10.0);
        if ((st = nac_tcx_decoder_create(&be.tcx, &err)))
            goto fail;
        be.frame_size = NAC_TCX_FRAME;
        frame_rate = NAC_TCX_RATE;
        sink.skip = NAC_TCX_DELAY;
    } else {
        if ((st = load_model(&m, model_path, &err)))
            goto fail;
        nac_model_info mi;
        nac_model_get_info(m, &mi);
        if (info->model_hash != mi.hash || (int)info->codec_rate != mi.sample_rate ||
            (int)info->frame_size != mi.frame_size || info->n_stages > mi.n_stages) {
            st = nac_error_set(&err, NAC_ERR_MODEL,
                               "%s was encoded with model %08x; this is model %08x (%s): pass the encoder's model "
                               "with --model",
                               in, info->model_hash, mi.hash, model_path ? model_path : "built-in");
            goto fail;
        }
        be.S = info->n_stages;
        be.Sd = kbps > 0 ? nac_model_stages_for_kbps(m, kbps) : be.S;
        if (be.Sd > be.S) {
            fprintf(stderr, "nac decode: note: %s holds %d stages (%.1f kbps); --kbps %g asks for more, so it "
                            "decodes at %.1f kbps\n", in, be.S, be.S * mi.bits_per_stage * (double)mi.sample_rate /
                            mi.frame_size / 1000, kbps, be.S * mi.bits_per_stage * (double)mi.sample_rate /
                            mi.frame_size / 1000);
            be.Sd = be.S;
        }
        be.bits = mi.bits_per_stage;
        be.frame_size = mi.frame_size;
        be.cap = 65535 * 8 / ((size_t)be.S * (size_t)be.bits) + 1; /* frames of the largest packet */
        if ((st = nac_decoder_create(&be.dec, m, &err)))
            goto fail;
        if (!(be.codes = malloc(be.cap * (size_t)be.S * sizeof *be.codes))) {
            st = nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
            goto fail;
        }
        frame_rate = mi.sample_rate;
        sink.skip = (size_t)mi.delay;
    }
    be.fpp = info->frames_per_packet ? info->frames_per_packet : 50;
    if (be.tcx && be.fpp > NAC_TCX_MAX_PACKET_FRAMES)
        be.fpp = NAC_TCX_MAX_PACKET_FRAMES;
    if (!(pcm = be.pcm = malloc(SLICE * (size_t)be.frame_size * sizeof *pcm))) {
        st = nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (((int)info->source_rate != frame_rate &&
         (st = nac_resampler_create(&sink.rate.rs, frame_rate, info->source_rate, &err))) ||
        (st = nac_audio_writer_open(&sink.wr, out, (int)info->source_rate, &err)))
        goto fail;
    sink.want = info->length;
    uint64_t decoded = 0, concealed = 0, conceal_extra = 60 * (uint64_t)frame_rate / (uint64_t)be.frame_size;
    show = !quiet && isatty(2) && secs > 30;
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%snac decode: warning: %s: ", show ? "\n" : "", in);
    damage_log dlog = {stderr, prefix, "", 0, 0};
    for (;;) {
        nac_nacfile_packet pkt;
        nac_error e2 = {0};
        int r = nac_nacfile_reader_next(rd, &pkt, &e2);
        if (r == NAC_NACFILE_END)
            break;
        if (r == NAC_ERR_CORRUPT || r == NAC_ERR_TRUNCATED) {
            damage_report(&dlog, nac_error_message(&e2));
            continue;
        }
        if (r) {
            st = nac_error_set(&err, r, "%s: %s", in, nac_error_message(&e2));
            goto fail;
        }
        damage_packet(&dlog, &pkt, ", concealed");
        /* Concealment for whole lost packets first: at most as many frames as were decoded plus
         * a minute (the reader bounds the packets; this bounds their audio, whatever their size),
         * and nothing past the length the metadata states. */
        uint64_t conceal = (uint64_t)pkt.lost * (uint64_t)be.fpp, allowed = decoded + conceal_extra - concealed;
        if (conceal > allowed)
            conceal = allowed;
        concealed += conceal;
        size_t frames = 0;
        if ((st = backend_conceal(&be, &sink, (size_t)conceal, &err)) ||
            (st = backend_packet(&be, &sink, &pkt, &frames, &dlog, &err)))
            goto fail;
        decoded += frames;
        progress(show, "decode", (double)sink.written / info->source_rate, secs);
    }
    if ((st = sink_write(&sink, NULL, 0, 1, &err)))
        goto fail;
    if (sink.want != NAC_NACFILE_LENGTH_UNKNOWN && sink.written < sink.want) {
        char what[160];
        snprintf(what, sizeof what, "the stream ends early: decoded %.2f of %.2f s, the rest is missing",
                 (double)sink.written / info->source_rate, secs);
        damage_flush(&dlog, what);
    }
    damage_flush(&dlog, NULL);
    warned = dlog.events > 0;
    st = nac_audio_writer_close(sink.wr, &err);
    sink.wr = NULL;
    if (st)
        goto fail;
    if (show)
        fprintf(stderr, "\n");
    status = warned ? 3 : 0;
    goto done;
fail:
    fprintf(stderr, "nac decode: %s\n", nac_error_message(&err));
done:
    if (sink.wr)
        nac_audio_writer_close(sink.wr, NULL);
    if (f && f != stdin)
        fclose(f);
    nac_nacfile_reader_destroy(rd);
    nac_resampler_destroy(sink.rate.rs);
    free(sink.rate.out);
    nac_decoder_destroy(be.dec);
    nac_tcx_decoder_destroy(be.tcx);
    nac_model_destroy(m);
    free(pcm);
    free(be.codes);
    return status;
}

/* ---- info ------------------------------------------------------------------------------------------ */

int nac_cmd_info(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc == 2 ? stdout : stderr,
                "usage: nac info FILE\n\nDescribes a .nac file (header, metadata, packets, damage) or a model "
                "file\n(architecture, size, training steps). FILE 'default' describes the built-in model.\n"
                "Exit status: 0 a clean file or a model, 3 a .nac file with damage (lost, dropped or damaged\n"
                "packets, or audio missing at the end: what nac decode would conceal), 1 error, 2 usage.\n\n"
                "example:\n  nac info speech.nac\n");
        return argc == 2 ? 0 : 2;
    }
    const char *path = argv[1];
    nac_error err = {0};
    FILE *f = strcmp(path, "default") ? fopen(path, "rb") : NULL;
    if (!f && strcmp(path, "default")) {
        fprintf(stderr, "nac info: %s: cannot open: %s\n", path, strerror(errno));
        return 1;
    }
    unsigned char magic[4] = {0};
    size_t got = f ? fread(magic, 1, 4, f) : 0;
    if (f)
        rewind(f);
    if (!f || (got == 4 && !memcmp(magic, "NACW", 4))) {
        if (f)
            fclose(f);
        nac_model *m = NULL;
        if (load_model(&m, path, &err)) {
            fprintf(stderr, "nac info: %s: %s\n", path, nac_error_message(&err));
            return 1;
        }
        nac_model_info mi;
        nac_model_get_info(m, &mi);
        printf("model %s\n  hash %08x\n  sample rate %d Hz, frame %d samples (%.0f ms), delay %d samples (%.1f ms)\n"
               "  %d VQ stages of %d bits: %.1f to %.1f kbps\n  training steps %lld\n",
               f ? path : "built-in", mi.hash, mi.sample_rate, mi.frame_size, 1000.0 * mi.frame_size / mi.sample_rate,
               mi.delay, 1000.0 * mi.delay / mi.sample_rate, mi.n_stages, mi.bits_per_stage,
               (double)mi.bits_per_stage * mi.sample_rate / mi.frame_size / 1000,
               (double)mi.n_stages * mi.bits_per_stage * mi.sample_rate / mi.frame_size / 1000, mi.train_steps);
        nac_model_destroy(m);
        return 0;
    }
    nac_nacfile_reader *rd = NULL;
    if (nac_nacfile_reader_create(&rd, f, &err)) {
        fprintf(stderr, "nac info: %s: %s\n", path, nac_error_message(&err));
        fclose(f);
        return 1;
    }
    const nac_nacfile_info *in = nac_nacfile_reader_info(rd);
    printf("%s: nac stream\n  source %u Hz, %u channel(s), ", path, in->source_rate, in->channels);
    if (in->length == NAC_NACFILE_LENGTH_UNKNOWN)
        printf("length unknown\n");
    else
        printf("%llu samples (%.2f s)\n", (unsigned long long)in->length, (double)in->length / in->source_rate);
    if (in->mode == NAC_MODE_TRANSFORM)
        printf("  transform coder at %.1f kbps, codec %u Hz, frame %u samples, delay %u, %u frames per packet\n",
               in->bitrate / 10.0, in->codec_rate, in->frame_size, in->delay, in->frames_per_packet);
    else if (in->mode == NAC_MODE_VOCODER)
        nac_vocoder_print_info(in);
    else
        printf("  codec %u Hz, frame %u samples, delay %u, %u stages x %u bits (%.1f kbps), %u frames per packet\n",
               in->codec_rate, in->frame_size, in->delay, in->n_stages, in->stage_bits[0],
               (double)in->n_stages * in->stage_bits[0] * in->codec_rate / in->frame_size / 1000,
               in->frames_per_packet);
    printf("  model %08x, encoder %s%s%s, container version %u%s\n", in->model_hash, in->encoder[0] ? "'" : "",
           in->encoder[0] ? in->encoder : "not stated", in->encoder[0] ? "'" : "", in->version,
           in->vbr_table ? ", variable rate" : "");
    /* the same reader and rules as decode, so both see the same damage (and exit 3 on it) */
    long packets = 0, lost = 0;
    uint64_t bytes = 0, frames = 0, head = 0;
    damage_log dlog = {stdout, "  damage: ", "", 0, 0};
    unsigned frame_bits = 0;
    for (unsigned s = 0; s < in->n_stages; s++)
        frame_bits += in->stage_bits[s];
    uint64_t fpp = in->frames_per_packet ? in->frames_per_packet : 50;
    int status = 0;
    for (;;) {
        nac_nacfile_packet pkt;
        nac_error e2;
        int r = nac_nacfile_reader_next(rd, &pkt, &e2);
        if (r == NAC_NACFILE_END)
            break;
        if (r == NAC_ERR_CORRUPT || r == NAC_ERR_TRUNCATED) {
            damage_report(&dlog, nac_error_message(&e2));
            continue;
        }
        if (r) {
            damage_flush(&dlog, NULL);
            printf("  read error: %s\n", nac_error_message(&e2));
            status = 1;
            break;
        }
        damage_packet(&dlog, &pkt, "");
        if (!packets)
            head = pkt.offset;
        packets++;
        lost += pkt.lost;
        bytes += pkt.size;
        frames += (uint64_t)pkt.size * 8 / frame_bits + (uint64_t)pkt.lost * fpp;
    }
    /* what decode would give: the frames' samples less the delay, at the source rate */
    double have = ((double)frames * in->frame_size - in->delay) * in->source_rate / in->codec_rate;
    if (!status && in->mode == NAC_MODE_NEURAL && in->length != NAC_NACFILE_LENGTH_UNKNOWN && have < (double)in->length) {
        char what[160];
        snprintf(what, sizeof what, "the stream ends early: it holds %.2f of %.2f s", have > 0 ? have / in->source_rate : 0.0,
                 (double)in->length / in->source_rate);
        damage_flush(&dlog, what);
    }
    damage_flush(&dlog, NULL);
    printf("  %ld packets (%llu payload bytes), %ld damage reports, %ld packets lost\n", packets,
           (unsigned long long)bytes, dlog.events, lost);
    /* the real bitrate: every byte of the file over the audio it holds (the stated length) */
    long long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    double secs = in->length != NAC_NACFILE_LENGTH_UNKNOWN ? (double)in->length / in->source_rate
                  : have > 0 ? have / in->source_rate : 0;
    if (size > 0 && secs > 0) {
        double real = size * 8.0 / secs / 1000, nominal = in->bitrate / 10.0;
        printf("  real bitrate %.3f kbps (%lld bytes x 8 / %.2f s)", real, size, secs);
        if (nominal > 0)
            printf(", nominal %.1f kbps: overhead %+.2f%%", nominal, 100 * (real / nominal - 1));
        printf("\n  bytes: %llu header and metadata, %llu packet framing, %llu payload\n", (unsigned long long)head,
               (unsigned long long)(size - (long long)head - (long long)bytes), (unsigned long long)bytes);
    }
    nac_nacfile_reader_destroy(rd);
    fclose(f);
    return status ? status : dlog.events ? 3 : 0;
}
