/* nac encode / decode / info: audio files <-> .nac files, through the packet and file API of
 * include/nac/nac.h only (audio file I/O and resampling from src/audio and src/dsp). */
#include "cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nac/audio.h"
#include "nac/enhance.h"
#include "nac/error.h"
#include "nac/nac.h"
#include "nac/vqvae.h"

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
    uint64_t want;        /* source samples expected, or NAC_LENGTH_UNKNOWN */
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
    if (k->want != NAC_LENGTH_UNKNOWN && k->written + nres > k->want)
        nres = (size_t)(k->want - k->written);
    k->written += nres;
    return nac_audio_writer_write(k->wr, res, nres, err);
}

/* Has the sink written all the samples the metadata states? */
static int sink_full(const pcm_sink *k) { return k->want != NAC_LENGTH_UNKNOWN && k->written >= k->want; }

#define SLICE 250 /* frames decoded per call: bounds the PCM buffer (5 s at 16 kHz) whatever a packet holds */

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
static void damage_packet(damage_log *d, const nac_packet *p, const char *action)
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

/* ---- encode ---------------------------------------------------------------------------------------- */

static void encode_usage(FILE *f)
{
    fprintf(f, "usage: nac encode IN OUT.nac [--kbps K] [--vbr | --vbr-lossless] [--mode M] [--model FILE]\n"
               "                  [--packet-frames N] [--raw --rate HZ [--channels N] [--sample-format F]] [-q]\n\n"
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
               "  --vbr              variable rate (neural codec), --kbps the average it holds (packets\n"
               "                     included), any rate from 1.5 kbps: each 20 ms frame codes only as many\n"
               "                     VQ stages (3, 6, 12, ...) as its sound needs, pauses fewer, and the\n"
               "                     codes are range-coded with tables learned from speech (docs/packets.md).\n"
               "                     Constant rate is the default (radio links need it)\n"
               "  --vbr-lossless     the constant-rate codes of a fixed stage count, range-coded: the same\n"
               "                     audio as constant rate in 1-3%% fewer bytes (--kbps: a target from 0.5)\n"
               "  --mode M           auto (default: by the rate, as above), neural or transform\n"
               "  --model FILE       a model trained with nac train (default: the built-in model)\n"
               "  --packet-frames N  20 ms frames per packet (default: one second, or about 6000 bits where\n"
               "                     that is longer: 200 at 1.5 kbps, 100 at 3; fewer: less lost per\n"
               "                     damaged packet, more overhead: 7-8 bytes per packet)\n"
               "  --raw              IN is headerless PCM (a .raw or .pcm file, or a pipe): say what it is with\n"
               "                     --rate HZ (required), --channels N (default 1) and --sample-format F:\n"
               "                     s16le (default), s16be, s24le, s24be, s32le, s32be, f32le, f32be,\n"
               "                     f64le, f64be, s8, u8, ulaw, alaw\n"
               "  -q, --quiet        no progress line\n\n"
               "examples:\n  nac encode speech.wav speech.nac --kbps 6\n"
               "  arecord -f S16_LE -r 16000 -t raw | nac encode - speech.nac --raw --rate 16000\n"
               "  nac encode speech.wav speech.nac --kbps 24         (transform coder: near-transparent)\n"
               "  nac encode speech.wav speech.nac --kbps 2 --vbr    (variable rate, about 2 kbps)\n");
}

int nac_cmd_encode(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *model_path = NULL, *mode = "auto";
    const char *raw_format = NULL;
    double kbps = 6;
    int fpp = 0, quiet = 0, vbr = 0, status = 1, raw = 0, raw_rate = 0, raw_channels = 1;
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
            if (*end || !(kbps > 0 && kbps <= NAC_TRANSFORM_MAX_KBPS)) {
                fprintf(stderr, "nac encode: --kbps wants a rate in kbps (0.5 to 24 in steps of 0.5 for the neural "
                                "codec, %g to %g for the transform coder), not '%s'\n",
                        NAC_TRANSFORM_MIN_KBPS, NAC_TRANSFORM_MAX_KBPS, argv[i]);
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
        } else if (!strcmp(a, "--vbr")) {
            vbr = NAC_VBR_ADAPTIVE;
        } else if (!strcmp(a, "--vbr-lossless")) {
            vbr = NAC_VBR_LOSSLESS;
        } else if (!strcmp(a, "--raw")) {
            raw = 1;
        } else if (!strcmp(a, "--rate") && i + 1 < argc) {
            raw_rate = atoi(argv[++i]);
        } else if (!strcmp(a, "--channels") && i + 1 < argc) {
            raw_channels = atoi(argv[++i]);
        } else if (!strcmp(a, "--sample-format") && i + 1 < argc) {
            raw_format = argv[++i];
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
    nac_audio_raw raw_desc;
    nac_error aerr = {0};
    if (!raw && (raw_rate || raw_format || raw_channels != 1)) {
        fprintf(stderr, "nac encode: --rate, --channels and --sample-format describe --raw input; a file with a "
                        "header says them itself\n");
        return 2;
    }
    if (raw && nac_audio_raw_set(&raw_desc, raw_format ? raw_format : "s16le", raw_rate, raw_channels, &aerr)) {
        fprintf(stderr, "nac encode: --raw: %s%s\n", nac_error_message(&aerr), raw_rate ? "" : " (give --rate HZ)");
        return 2;
    }
    int transform = !strcmp(mode, "transform") || (!strcmp(mode, "auto") && !vbr && kbps >= NAC_TRANSFORM_AUTO_KBPS);
    if (transform && (vbr || kbps < NAC_TRANSFORM_MIN_KBPS || fpp > NAC_TRANSFORM_MAX_PACKET_FRAMES)) {
        fprintf(stderr, "nac encode: the transform coder runs at %g to %g kbps with at most %d frames per packet, "
                        "at a constant rate\n", NAC_TRANSFORM_MIN_KBPS, NAC_TRANSFORM_MAX_KBPS,
                NAC_TRANSFORM_MAX_PACKET_FRAMES);
        return 2;
    }
    if (!transform && (kbps > 24 || (!vbr && fabs(kbps * 2 - lround(kbps * 2)) > 1e-9) || kbps < 0.5)) {
        fprintf(stderr, "nac encode: the neural codec codes 0.5 to 24 kbps in steps of 0.5 (one VQ stage each; any "
                        "rate in that range with --vbr), not %g\n", kbps);
        return 2;
    }
    nac_error err = {0};
    nac_model *m = NULL;
    nac_packet_encoder *enc = NULL;
    nac_audio_reader *rd = NULL;
    nac_file_writer *wr = NULL;
    rate_stage rate = {0};
    float *pcm = NULL;
    int st, created = 0;
    if ((st = raw ? nac_audio_reader_open_raw(&rd, in, &raw_desc, &err) : nac_audio_reader_open(&rd, in, &err)))
        goto fail;
    const nac_audio_info *ai = nac_audio_reader_info(rd);
    if (ai->sample_rate > 655350) {
        st = nac_error_set(&err, NAC_ERR_UNSUPPORTED,
                           "%s: sample rate %d Hz is above %d Hz, the most a decoded WAV or FLAC file can have; "
                           "resample it first", in, ai->sample_rate, 655350);
        goto fail;
    }
    int show = !quiet && isatty(2) && (ai->frames < 0 || ai->frames > 30 * ai->sample_rate);
    if (!transform && (st = load_model(&m, model_path, &err)))
        goto fail;
    nac_packet_config cfg = {0};
    cfg.mode = transform ? NAC_MODE_TRANSFORM : NAC_MODE_NEURAL;
    cfg.kbps = kbps;
    cfg.frames_per_packet = fpp;
    cfg.vbr = vbr;
    if (vbr == NAC_VBR_ADAPTIVE && kbps < 1.5 && !quiet)
        fprintf(stderr, "nac encode: note: below 1.5 kbps --vbr codes a fixed stage count (as --vbr-lossless)\n");
    cfg.source_rate = (uint32_t)ai->sample_rate;
    cfg.channels = (uint16_t)ai->channels;
    cfg.length = ai->frames >= 0 ? (uint64_t)ai->frames : NAC_LENGTH_UNKNOWN;
    if ((st = nac_packet_encoder_create(&enc, m, &cfg, &err)))
        goto fail;
    const nac_stream_info *info = nac_packet_encoder_info(enc);
    if (ai->channels > 1)
        fprintf(stderr, "nac encode: note: mixing %d channels down to mono\n", ai->channels);
    if (ai->sample_rate != (int)info->codec_rate &&
        (st = nac_resampler_create(&rate.rs, ai->sample_rate, info->codec_rate, &err)))
        goto fail;
    if ((st = nac_file_writer_open(&wr, out, info, &err))) {
        char detail[sizeof err.msg];
        memcpy(detail, err.msg, sizeof detail);
        nac_error_set(&err, st, "%s: %s", out, detail);
        goto fail;
    }
    created = strcmp(out, "-") != 0;
    if (!(pcm = malloc(BLOCK * sizeof *pcm))) {
        st = nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    size_t total_in = 0, clipped = 0;
    for (int eof = 0; !eof;) {
        size_t got = 0, nres = 0;
        const float *res;
        if ((st = nac_audio_reader_read(rd, pcm, BLOCK, &got, &err)) ||
            (st = nac_cli_condition_input(pcm, got, total_in, &clipped, ai->sample_rate, in, &err)))
            goto fail;
        eof = got == 0;
        total_in += got;
        if ((st = rate_stage_run(&rate, &res, &nres, pcm, got, eof, &err)) ||
            (st = nac_packet_encoder_push(enc, res, nres, &err)) || (eof && (st = nac_packet_encoder_flush(enc, &err))))
            goto fail;
        const uint8_t *packet;
        size_t size;
        while (nac_packet_encoder_next(enc, &packet, &size) == NAC_OK)
            if ((st = nac_file_writer_write(wr, packet, size, &err)))
                goto fail;
        progress(show, "encode", (double)total_in / ai->sample_rate, (double)ai->frames / ai->sample_rate);
    }
    if (total_in == 0) {
        st = nac_error_set(&err, NAC_ERR_EMPTY, "%s: no audio samples", in);
        goto fail;
    }
    if (clipped)
        fprintf(stderr, "%snac encode: note: %s: %zu samples outside [-1, 1] were clipped\n", show ? "\n" : "", in,
                clipped);
    st = nac_file_writer_close(wr, &err);
    wr = NULL;
    if (st) {
        char detail[sizeof err.msg];
        memcpy(detail, err.msg, sizeof detail);
        nac_error_set(&err, st, "%s: %s", out, detail);
        goto fail;
    }
    if (show)
        fprintf(stderr, "\n");
    status = 0;
    goto done;
fail:
    fprintf(stderr, "%snac encode: %s\n", isatty(2) && !quiet ? "\r" : "", nac_error_message(&err));
    nac_file_writer_close(wr, NULL);
    wr = NULL;
    if (created)
        remove(out);
done:
    nac_audio_reader_close(rd);
    nac_resampler_destroy(rate.rs);
    free(rate.out);
    nac_packet_encoder_destroy(enc);
    nac_model_destroy(m);
    free(pcm);
    return status;
}

/* ---- decode ---------------------------------------------------------------------------------------- */

/* Writes the audio the decoder holds into the sink, SLICE frames at a time (stops once the sink
 * has the stated length: the rest is never decoded). */
static int drain(nac_packet_decoder *d, pcm_sink *k, float *pcm, size_t cap, nac_error *err)
{
    while (!sink_full(k)) {
        size_t n = 0;
        int st = nac_packet_decoder_read(d, pcm, cap, &n, err);
        if (st || n == 0 || (st = sink_write(k, pcm, n, 0, err)))
            return st;
    }
    return NAC_OK;
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
    nac_error name_err = {0};
    if (nac_audio_writer_check_name(out, &name_err)) { /* a usage error, found before any work */
        fprintf(stderr, "nac decode: %s\n", nac_error_message(&name_err));
        return 2;
    }
    nac_error err = {0};
    nac_model *m = NULL;
    nac_file_reader *rd = NULL;
    nac_packet_decoder *dec = NULL;
    pcm_sink sink = {0};
    float *pcm = NULL;
    int st, warned = 0;
    if ((st = nac_file_reader_open(&rd, in, &err))) {
        char detail[sizeof err.msg];
        memcpy(detail, err.msg, sizeof detail);
        nac_error_set(&err, st, "%s: %s", in, detail);
        goto fail;
    }
    const nac_stream_info *info = nac_file_reader_info(rd);
    int show = 0, Sd = 0;
    double secs = info->length != NAC_LENGTH_UNKNOWN ? (double)info->length / info->source_rate : 0;
    if (info->mode == NAC_MODE_NEURAL) {
        if ((st = load_model(&m, model_path, &err)))
            goto fail;
        nac_model_info mi;
        nac_model_get_info(m, &mi);
        Sd = kbps > 0 ? nac_model_stages_for_kbps(m, kbps) : 0;
        if (Sd > info->n_stages) {
            double have = info->n_stages * mi.bits_per_stage * (double)mi.sample_rate / mi.frame_size / 1000;
            fprintf(stderr, "nac decode: note: %s holds %d stages (%.1f kbps); --kbps %g asks for more, so it "
                            "decodes at %.1f kbps\n", in, info->n_stages, have, kbps, have);
            Sd = 0;
        }
    } else if (kbps > 0) {
        fprintf(stderr, "nac decode: note: %s was made by the %s, which decodes at its coded rate (%.1f kbps) only; "
                        "--kbps is ignored\n", in, info->mode == NAC_MODE_TRANSFORM ? "transform coder" : "vocoder",
                info->bitrate / 10.0);
    }
    if ((st = nac_packet_decoder_create(&dec, m, info, Sd, &err))) {
        char detail[sizeof err.msg];
        memcpy(detail, err.msg, sizeof detail);
        if (st == NAC_ERR_MODEL)
            nac_error_set(&err, st, "%s: %s (%s): pass the encoder's model with --model", in, detail,
                          model_path ? model_path : "built-in");
        else
            nac_error_set(&err, st, "%s: %s", in, detail);
        goto fail;
    }
    size_t cap = SLICE * (size_t)info->frame_size;
    if (!(pcm = malloc(cap * sizeof *pcm))) {
        st = nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((info->source_rate != info->codec_rate &&
         (st = nac_resampler_create(&sink.rate.rs, info->codec_rate, info->source_rate, &err))) ||
        (st = nac_audio_writer_open(&sink.wr, out, (int)info->source_rate, &err)))
        goto fail;
    sink.skip = info->delay;
    sink.want = info->length;
    uint64_t decoded = 0, concealed = 0, conceal_extra = 60 * (uint64_t)info->codec_rate / info->frame_size;
    show = !quiet && isatty(2) && secs > 30;
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%snac decode: warning: %s: ", show ? "\n" : "", in);
    damage_log dlog = {stderr, prefix, "", 0, 0};
    for (;;) {
        nac_packet pkt;
        nac_error e2 = {0};
        int r = nac_file_reader_next(rd, &pkt, &e2);
        if (r == NAC_END)
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
        uint64_t conceal = (uint64_t)pkt.lost * nac_packet_decoder_packet_frames(dec),
                 allowed = decoded + conceal_extra - concealed;
        if (conceal > allowed)
            conceal = allowed;
        concealed += conceal;
        size_t frames = 0;
        if (conceal && !sink_full(&sink) &&
            ((st = nac_packet_decoder_conceal(dec, (size_t)conceal, &err)) || (st = drain(dec, &sink, pcm, cap, &err))))
            goto fail;
        int pr = nac_packet_decoder_decode(dec, &pkt, &frames, &e2);
        if (pr == NAC_ERR_CORRUPT) { /* a payload that passed its CRC but does not decode: concealed */
            char what[500];
            snprintf(what, sizeof what, "packet %lu: %s", (unsigned long)pkt.seq, nac_error_message(&e2));
            damage_flush(&dlog, what);
        } else if (pr) {
            st = nac_error_set(&err, pr, "%s: %s", in, nac_error_message(&e2));
            goto fail;
        }
        if ((st = drain(dec, &sink, pcm, cap, &err)))
            goto fail;
        decoded += frames;
        progress(show, "decode", (double)sink.written / info->source_rate, secs);
    }
    if ((st = nac_packet_decoder_finish(dec, &err)) || (st = drain(dec, &sink, pcm, cap, &err)) ||
        (st = sink_write(&sink, NULL, 0, 1, &err)))
        goto fail;
    if (sink.want != NAC_LENGTH_UNKNOWN && sink.written < sink.want) {
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
    nac_file_reader_close(rd);
    nac_resampler_destroy(sink.rate.rs);
    free(sink.rate.out);
    nac_packet_decoder_destroy(dec);
    nac_model_destroy(m);
    free(pcm);
    return status;
}

/* ---- info ------------------------------------------------------------------------------------------ */

/* nac info on a weight file (path) or the built-in model (NULL): a codec, enhancement or VQ-VAE
 * model, told apart by their loaders (each refuses the others' files with NAC_ERR_MODEL). */
static int info_model(const char *path)
{
    nac_error err = {0}, e2 = {0};
    nac_model *m = NULL;
    nac_enhance_model *em = NULL;
    nac_vqvae *vm = NULL;
    if (!load_model(&m, path, &err)) {
        nac_model_info mi;
        nac_model_get_info(m, &mi);
        printf("model %s: codec\n  hash %08x\n  sample rate %d Hz, frame %d samples (%.0f ms), delay %d samples (%.1f ms)\n"
               "  %d VQ stages of %d bits: %.1f to %.1f kbps\n  training steps %lld\n",
               path ? path : "built-in", mi.hash, mi.sample_rate, mi.frame_size, 1000.0 * mi.frame_size / mi.sample_rate,
               mi.delay, 1000.0 * mi.delay / mi.sample_rate, mi.n_stages, mi.bits_per_stage,
               (double)mi.bits_per_stage * mi.sample_rate / mi.frame_size / 1000,
               (double)mi.n_stages * mi.bits_per_stage * mi.sample_rate / mi.frame_size / 1000, mi.train_steps);
        nac_model_destroy(m);
        return 0;
    }
    if (err.code == NAC_ERR_MODEL && !nac_enhance_model_load(&em, path, &e2)) {
        nac_enhance_info ei;
        nac_enhance_model_get_info(em, &ei);
        printf("model %s: enhancement (%s)\n  hash %08x\n  sample rate %d Hz, frame %d samples, delay %d samples, "
               "latency %d samples (%.0f ms)\n  %zu parameters\n  training steps %lld\n",
               path, nac_enhance_task_name(ei.task), ei.hash, ei.sample_rate, ei.hop, ei.delay, ei.latency,
               1000.0 * ei.latency / ei.sample_rate, ei.n_params, ei.train_steps);
        nac_enhance_model_destroy(em);
        return 0;
    }
    if (err.code == NAC_ERR_MODEL && e2.code == NAC_ERR_MODEL && !nac_vqvae_load(&vm, path, 0, &e2)) {
        nac_vqvae_info vi;
        nac_vqvae_get_info(vm, &vi);
        printf("model %s: VQ-VAE on feature rows\n  %d features per row, %d rows per latent step, latent %d\n", path,
               vi.k, vi.ncat, vi.dim);
        if (vi.stages > 0)
            printf("  %d VQ stages of %d entries: %.1f bits per latent step\n", vi.stages, vi.entries,
                   vi.stages * log2(vi.entries));
        else
            printf("  no quantiser (an autoencoder)\n");
        printf("  training steps %ld\n", vi.step);
        nac_vqvae_destroy(vm);
        return 0;
    }
    /* none of them: the codec loader's message names the file's format */
    fprintf(stderr, "nac info: %s: %s\n", path, nac_error_message(&err));
    return 1;
}

int nac_cmd_info(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc == 2 ? stdout : stderr,
                "usage: nac info FILE\n\nDescribes a .nac file (header, metadata, packets, damage) or a model "
                "file\n(codec, enhancement or VQ-VAE: architecture, size, training steps). FILE 'default' describes the built-in model.\n"
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
        return info_model(f ? path : NULL);
    }
    fclose(f);
    nac_file_reader *rd = NULL;
    if (nac_file_reader_open(&rd, path, &err)) {
        fprintf(stderr, "nac info: %s: %s\n", path, nac_error_message(&err));
        return 1;
    }
    const nac_stream_info *in = nac_file_reader_info(rd);
    printf("%s: nac stream\n  source %u Hz, %u channel(s), ", path, in->source_rate, in->channels);
    if (in->length == NAC_LENGTH_UNKNOWN)
        printf("length unknown\n");
    else
        printf("%llu samples (%.2f s)\n", (unsigned long long)in->length, (double)in->length / in->source_rate);
    if (in->mode == NAC_MODE_TRANSFORM)
        printf("  transform coder at %.1f kbps, codec %u Hz, frame %u samples, delay %u, %u frames per packet\n",
               in->bitrate / 10.0, in->codec_rate, in->frame_size, in->delay, in->frames_per_packet);
    else if (in->mode == NAC_MODE_VOCODER)
        nac_vocoder_print_info(in);
    else {
        int counts[NAC_MAX_STAGES], k = nac_stream_stage_counts(in, counts);
        char each[80] = "";
        for (int j = 0; j + 1 < k; j++) /* "3 or 6", "3, 6, or 12" */
            snprintf(each + strlen(each), sizeof each - strlen(each), k > 2 ? "%d, " : "%d ", counts[j]);
        printf("  codec %u Hz, frame %u samples, delay %u, %s%u stages x %u bits (%.1f kbps%s), %u frames per "
               "packet\n", in->codec_rate, in->frame_size, in->delay, k > 1 ? "up to " : "", in->n_stages,
               in->stage_bits[0], (double)in->n_stages * in->stage_bits[0] * in->codec_rate / in->frame_size / 1000,
               k > 1 ? " at most" : in->vbr_table ? " at a constant rate; range-coded: variable" : "",
               in->frames_per_packet);
        if (k > 1)
            printf("  adaptive stage counts: each frame codes %sor %u stages, range-coded\n", each, in->n_stages);
    }
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
        nac_packet pkt;
        nac_error e2;
        int r = nac_file_reader_next(rd, &pkt, &e2);
        if (r == NAC_END)
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
        /* a range-coded packet's frames are in its payload: count the stated frames per packet */
        frames += (in->vbr_table ? fpp : (uint64_t)pkt.size * 8 / frame_bits) + (uint64_t)pkt.lost * fpp;
    }
    /* what decode would give: the frames' samples less the delay, at the source rate */
    double have = ((double)frames * in->frame_size - in->delay) * in->source_rate / in->codec_rate;
    if (!status && in->mode == NAC_MODE_NEURAL && in->length != NAC_LENGTH_UNKNOWN && have < (double)in->length) {
        char what[160];
        snprintf(what, sizeof what, "the stream ends early: it holds %.2f of %.2f s", have > 0 ? have / in->source_rate : 0.0,
                 (double)in->length / in->source_rate);
        damage_flush(&dlog, what);
    }
    damage_flush(&dlog, NULL);
    printf("  %ld packets (%llu payload bytes), %ld damage reports, %ld packets lost\n", packets,
           (unsigned long long)bytes, dlog.events, lost);
    /* the real bitrate: every byte of the file over the audio it holds (the stated length) */
    long long size = status ? -1 : (long long)nac_file_reader_offset(rd);
    double secs = in->length != NAC_LENGTH_UNKNOWN ? (double)in->length / in->source_rate
                  : have > 0 ? have / in->source_rate : 0;
    if (size > 0 && secs > 0) {
        double real = size * 8.0 / secs / 1000, nominal = in->bitrate / 10.0;
        printf("  real bitrate %.3f kbps (%lld bytes x 8 / %.2f s)", real, size, secs);
        if (nominal > 0)
            printf(", %s %.1f kbps: %s %+.2f%%", in->vbr_table ? "target" : "nominal", nominal,
                   in->vbr_table ? "difference" : "overhead", 100 * (real / nominal - 1));
        printf("\n  bytes: %llu header and metadata, %llu packet framing, %llu payload\n", (unsigned long long)head,
               (unsigned long long)(size - (long long)head - (long long)bytes), (unsigned long long)bytes);
    }
    nac_file_reader_close(rd);
    return status ? status : dlog.events ? 3 : 0;
}
