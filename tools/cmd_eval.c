/* nac eval REF DEG: objective metrics of a degraded file against its reference (src/metrics/),
 * after aligning the two; a human-readable table or one JSON object. */
#include "cmd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nac/audio.h"
#include "nac/error.h"
#include "nac/metrics.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nac eval REF DEG [--json] [--no-align] [--max-delay SEC]\n"
            "\n"
            "Objective metrics of the degraded audio DEG against the reference REF (any format\n"
            "libsndfile reads; multichannel is averaged to mono; DEG is resampled to REF's rate).\n"
            "DEG is first aligned to REF: its delay is estimated on short-time energy envelopes,\n"
            "checked on log spectra (robust to a codec's made-up phase), refined by waveform\n"
            "cross-correlation when the waveforms correlate, compensated, and both are trimmed to\n"
            "their overlap. The delay is reported in samples of REF (positive: DEG is late).\n"
            "Use --no-align for a codec whose output is known to be aligned.\n"
            "\n"
            "metrics:\n"
            "  snr           SNR in dB, 10 log10(sum ref^2 / sum (ref - deg)^2)\n"
            "  si_sdr        scale-invariant SDR in dB (Le Roux et al. 2019)\n"
            "  seg_snr       segmental SNR in dB, 20 ms frames clamped to [-10, 35]\n"
            "  lsd           log-spectral distance in dB (32 ms frames)\n"
            "  mel_distance  mean |log10 mel difference| over 4 scales (16-128 ms frames)\n"
            "  stoi, estoi   STOI (Taal et al. 2011) and extended STOI (Jensen & Taal 2016),\n"
            "                computed as pystoi / the authors' MATLAB code; need about 0.4 s\n"
            "                of speech\n"
            "\n"
            "options:\n"
            "  --json           print exactly one JSON object (keys: snr, si_sdr, seg_snr, lsd,\n"
            "                   mel_distance, stoi, estoi, delay_samples, sample_rate,\n"
            "                   deg_sample_rate, duration, compared_samples); an infinite SNR\n"
            "                   (identical signals) is written as null\n"
            "  --no-align       compare sample by sample from the start, no delay search\n"
            "  --max-delay SEC  largest delay searched, either sign (default 0.5)\n"
            "  -h, --help       this text\n"
            "\n"
            "examples:\n"
            "  nac eval speech.wav speech_decoded.wav\n"
            "  nac eval speech.flac speech_decoded.wav --json\n"
            "  nac eval clean.wav noisy.wav --no-align\n"
            "  nac eval ref.wav late.wav --max-delay 2\n");
}

static void json_number(const char *key, double v, int last)
{
    if (isfinite(v))
        printf("\"%s\": %.6f%s", key, v, last ? "" : ", ");
    else
        printf("\"%s\": null%s", key, last ? "" : ", ");
}

static void human_db(const char *label, double v)
{
    if (isinf(v))
        printf("%-14s %s\n", label, v > 0 ? "inf (identical)" : "-inf");
    else
        printf("%-14s %8.2f dB\n", label, v);
}

int nac_cmd_eval(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL};
    int npaths = 0, json = 0, status = 1;
    nac_metrics_opts opts;
    nac_metrics m;
    nac_error err;
    nac_audio_info ri, di;
    float *ref = NULL, *deg = NULL;
    size_t nref = 0, ndeg = 0;

    nac_metrics_opts_default(&opts);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--no-align")) {
            opts.align = 0;
        } else if (!strcmp(a, "--max-delay")) {
            char *end;
            if (i + 1 >= argc) {
                fprintf(stderr, "nac eval: --max-delay needs a value in seconds\n");
                return 2;
            }
            opts.max_delay_s = strtod(argv[++i], &end);
            if (*end || end == argv[i] || !(opts.max_delay_s >= 0.0) || opts.max_delay_s > 3600.0) {
                fprintf(stderr, "nac eval: --max-delay wants seconds in [0, 3600], not '%s'\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "nac eval: unknown option '%s' (try nac eval --help)\n", a);
            return 2;
        } else if (npaths < 2) {
            paths[npaths++] = a;
        } else {
            fprintf(stderr, "nac eval: too many arguments ('%s'); usage: nac eval REF DEG [options]\n", a);
            return 2;
        }
    }
    if (npaths != 2) {
        fprintf(stderr, "nac eval: need a reference and a degraded file; usage: nac eval REF DEG "
                        "[--json] [--no-align] [--max-delay SEC]\n");
        return 2;
    }
    if (!strcmp(paths[0], "-") && !strcmp(paths[1], "-")) {
        fprintf(stderr, "nac eval: only one of REF and DEG can be standard input\n");
        return 2;
    }

    if (nac_audio_read_all(&ref, &nref, &ri, paths[0], &err) < 0 ||
        nac_audio_read_all(&deg, &ndeg, &di, paths[1], &err) < 0) {
        fprintf(stderr, "nac eval: %s\n", nac_error_message(&err));
        goto done;
    }
    if (nref == 0 || ndeg == 0) {
        fprintf(stderr, "nac eval: %s is empty\n", nref == 0 ? paths[0] : paths[1]);
        goto done;
    }
    if (nac_metrics_compute_rates(&m, ref, nref, ri.sample_rate, deg, ndeg, di.sample_rate, &opts,
                                  &err) < 0) {
        fprintf(stderr, "nac eval: %s vs %s: %s\n", paths[1], paths[0], nac_error_message(&err));
        goto done;
    }

    double sr = ri.sample_rate;
    if (json) {
        printf("{");
        json_number("snr", m.snr, 0);
        json_number("si_sdr", m.si_sdr, 0);
        json_number("seg_snr", m.seg_snr, 0);
        json_number("lsd", m.lsd, 0);
        json_number("mel_distance", m.mel_distance, 0);
        json_number("stoi", m.stoi, 0);
        json_number("estoi", m.estoi, 0);
        printf("\"delay_samples\": %ld, \"sample_rate\": %d, \"deg_sample_rate\": %d, ",
               m.delay_samples, ri.sample_rate, di.sample_rate);
        json_number("duration", (double)m.n_compared / sr, 0);
        printf("\"compared_samples\": %zu}\n", m.n_compared);
    } else {
        printf("%-14s %s (%d Hz, %.3f s)\n", "reference", paths[0], ri.sample_rate, (double)nref / sr);
        printf("%-14s %s (%d Hz, %.3f s)\n", "degraded", paths[1], di.sample_rate,
               (double)ndeg / di.sample_rate);
        if (opts.align)
            printf("%-14s %+ld samples (%+.2f ms%s)\n", "delay", m.delay_samples,
                   1000.0 * (double)m.delay_samples / sr,
                   m.delay_samples > 0 ? ", degraded is late" : m.delay_samples < 0 ? ", degraded is early" : "");
        else
            printf("%-14s not searched (--no-align)\n", "delay");
        printf("%-14s %.3f s\n", "compared", (double)m.n_compared / sr);
        human_db("SNR", m.snr);
        human_db("SI-SDR", m.si_sdr);
        human_db("segmental SNR", m.seg_snr);
        human_db("LSD", m.lsd);
        printf("%-14s %8.4f\n", "mel distance", m.mel_distance);
        printf("%-14s %8.4f\n", "STOI", m.stoi);
        printf("%-14s %8.4f\n", "ESTOI", m.estoi);
    }
    status = 0;
done:
    free(ref);
    free(deg);
    return status;
}
