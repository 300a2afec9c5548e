/* nac plot: spectrogram pictures (PNG) of one file, or of a reference and a degraded file with
 * their difference. */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nac/audio.h"
#include "nac/error.h"
#include "nac/plot.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nac plot spectrogram IN OUT.png [options]\n"
            "       nac plot compare REF DEG [RESTORED] OUT.png [options]\n"
            "       nac plot latent MODEL IN.f32 OUT.png    (nac plot latent --help)\n"
            "       nac plot frame IN.f32 OUT.png --frame N [--compare Q.f32]\n"
            "\n"
            "Draws spectrograms as PNG pictures. IN, REF and DEG are audio files (WAV, FLAC, Ogg, ...;\n"
            "'-' reads standard input); several channels are averaged to mono.\n"
            "\n"
            "  spectrogram   power over time and frequency, in dB below full scale (dBFS)\n"
            "  compare       three panels on shared axes: REF, DEG (one colour scale for both) and\n"
            "                their difference DEG - REF in dB: red where DEG has more energy (noise,\n"
            "                artefacts), blue where it has less (lost detail). DEG is resampled to\n"
            "                REF's rate if they differ. With a third file RESTORED (e.g. nac enhance's\n"
            "                output): REF, DEG and RESTORED one above the other on one colour scale.\n"
            "\n"
            "options:\n"
            "  --mel           mel frequency axis (default): detail where speech has it\n"
            "  --logf          log-frequency axis from 50 Hz: harmonics equally spaced\n"
            "  --linear        linear frequency axis\n"
            "  --title T       title on top (spectrogram: default is the file name)\n"
            "  --width W       image width in pixels (default 1200)\n"
            "  --height H      image height in pixels (default 520; compare 1080)\n"
            "  --range DB      dynamic range shown below the loudest point (default 80)\n"
            "  --diff-range DB compare: difference shown in [-DB, +DB] (default: fits 99%%)\n"
            "  --n-fft N       STFT size (default about 32 ms: 512 at 16 kHz), hop N/4\n"
            "  --hop N         STFT hop in samples\n"
            "  -h, --help      this help\n"
            "\n"
            "examples:\n"
            "  nac plot spectrogram speech.wav speech.png\n"
            "  nac plot spectrogram speech.flac speech.png --logf --title \"speaker 1\"\n"
            "  nac plot compare speech.wav decoded.wav compare.png\n"
            "  nac decode speech.nac - | nac plot compare speech.wav - compare.png --diff-range 20\n"
            "  nac plot compare clean.wav noisy.wav denoised.wav stack.png   (three spectrograms, one scale)\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_float(const char *s, float lo, float hi, float *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = (float)v;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    if (!strcmp(path, "-"))
        return "stdin";
    return b ? b + 1 : path;
}

static int load(float **x, size_t *n, nac_audio_info *info, const char *path);

/* nac plot compare REF DEG RESTORED OUT.png: three spectrograms on one scale (every file resampled
 * to REF's rate). Returns the exit status. */
static int compare3(const char *const *pos, nac_plot_opts *o)
{
    float *x[3] = {0};
    size_t n[3] = {0};
    nac_audio_info info[3];
    nac_error e;
    int rc = 1;
    for (int i = 0; i < 3; i++) {
        if (i > 0 && !strcmp(pos[i], "-")) {
            fprintf(stderr, "nac plot compare: only REF may be standard input with three files\n");
            goto done;
        }
        if (load(&x[i], &n[i], &info[i], pos[i]) < 0)
            goto done;
        if (i > 0 && info[i].sample_rate != info[0].sample_rate) {
            float *r = NULL;
            size_t nr = 0;
            if (nac_resample_all(&r, &nr, x[i], n[i], info[i].sample_rate, info[0].sample_rate, &e) < 0) {
                fprintf(stderr, "nac plot: %s\n", nac_error_message(&e));
                goto done;
            }
            free(x[i]);
            x[i] = r;
            n[i] = nr;
        }
    }
    o->ref_label = base_name(pos[0]);
    o->deg_label = base_name(pos[1]);
    o->res_label = base_name(pos[2]);
    if (nac_plot_compare3(pos[3], x[0], n[0], x[1], n[1], x[2], n[2], info[0].sample_rate, o, &e) < 0) {
        fprintf(stderr, "nac plot: %s\n", nac_error_message(&e));
        goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < 3; i++)
        free(x[i]);
    return rc;
}

static int load(float **x, size_t *n, nac_audio_info *info, const char *path)
{
    nac_error e;
    if (nac_audio_read_all(x, n, info, path, &e) < 0) {
        fprintf(stderr, "nac plot: %s\n", nac_error_message(&e));
        return -1;
    }
    if (info->channels > 1)
        fprintf(stderr, "note: %s: downmixing %d channels to mono\n", base_name(path), info->channels);
    return 0;
}

int nac_cmd_plot(int argc, char **argv)
{
    nac_plot_opts o;
    const char *pos[4];
    const char *mode;
    int npos = 0, need, rc = 1;
    float *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    nac_audio_info ia, ib;
    nac_error e;
    char title[512];

    nac_plot_opts_init(&o);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    mode = argv[1];
    if (!strcmp(mode, "-h") || !strcmp(mode, "--help") || !strcmp(mode, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(mode, "latent") || !strcmp(mode, "frame"))
        return nac_cmd_plot_features(argc, argv); /* tools/cmd_plot_feat.c */
    if (strcmp(mode, "spectrogram") && strcmp(mode, "compare")) {
        fprintf(stderr, "nac plot: unknown figure '%s': use spectrogram, compare, latent or frame (try nac plot --help)\n",
                mode);
        return 2;
    }
    need = !strcmp(mode, "compare") ? 3 : 2;
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(s, "--mel")) {
            o.freq_scale = NAC_PLOT_FREQ_MEL;
        } else if (!strcmp(s, "--logf") || !strcmp(s, "--log")) {
            o.freq_scale = NAC_PLOT_FREQ_LOG;
        } else if (!strcmp(s, "--linear")) {
            o.freq_scale = NAC_PLOT_FREQ_LINEAR;
        } else if (!strcmp(s, "--title") || !strcmp(s, "--width") || !strcmp(s, "--height") ||
                   !strcmp(s, "--range") || !strcmp(s, "--diff-range") || !strcmp(s, "--n-fft") ||
                   !strcmp(s, "--hop")) {
            if (!val) {
                fprintf(stderr, "nac plot: %s needs a value (try nac plot --help)\n", s);
                return 2;
            }
            i++;
            if (!strcmp(s, "--title"))
                o.title = val;
            else if (!strcmp(s, "--width"))
                bad = parse_int(val, 320, 16000, &o.width);
            else if (!strcmp(s, "--height"))
                bad = parse_int(val, 200, 16000, &o.height);
            else if (!strcmp(s, "--range"))
                bad = parse_float(val, 1, 300, &o.range_db);
            else if (!strcmp(s, "--diff-range"))
                bad = parse_float(val, 0.1f, 300, &o.diff_range_db);
            else if (!strcmp(s, "--n-fft"))
                bad = parse_int(val, 8, 65536, &o.n_fft) || (o.n_fft % 2);
            else
                bad = parse_int(val, 1, 65536, &o.hop);
            if (bad) {
                fprintf(stderr, "nac plot: invalid value '%s' for %s (try nac plot --help)\n", val, s);
                return 2;
            }
        } else if (s[0] == '-' && s[1] != '\0') {
            fprintf(stderr, "nac plot: unknown option '%s' (try nac plot --help)\n", s);
            return 2;
        } else {
            if (npos == need + (need == 3)) { /* compare takes an optional third signal */
                fprintf(stderr, "nac plot %s: too many arguments ('%s')\n", mode, s);
                return 2;
            }
            pos[npos++] = s;
        }
    }
    if (need == 3 && npos == 4) { /* REF DEG RESTORED OUT.png */
        rc = compare3(pos, &o);
        goto done;
    }
    if (npos < need) {
        fprintf(stderr, "nac plot %s: expected %s (try nac plot --help)\n", mode,
                need == 3 ? "REF DEG OUT.png" : "IN OUT.png");
        return 2;
    }
    if (need == 3 && !strcmp(pos[0], "-") && !strcmp(pos[1], "-")) {
        fprintf(stderr, "nac plot compare: REF and DEG cannot both be standard input\n");
        return 2;
    }
    if (o.hop && o.n_fft && o.hop > o.n_fft) {
        fprintf(stderr, "nac plot: --hop %d is larger than --n-fft %d\n", o.hop, o.n_fft);
        return 2;
    }

    if (load(&a, &na, &ia, pos[0]) < 0)
        goto done;
    if (need == 2) {
        if (!o.title) {
            snprintf(title, sizeof title, "%s  (%d Hz, %.2f s)", base_name(pos[0]), ia.sample_rate,
                     (double)na / ia.sample_rate);
            o.title = title;
        }
        if (nac_plot_spectrogram(pos[1], a, na, ia.sample_rate, &o, &e) < 0) {
            fprintf(stderr, "nac plot: %s\n", nac_error_message(&e));
            goto done;
        }
    } else {
        if (load(&b, &nb, &ib, pos[1]) < 0)
            goto done;
        if (ib.sample_rate != ia.sample_rate) {
            float *r = NULL;
            size_t nr = 0;
            fprintf(stderr, "note: resampling %s from %d to %d Hz\n", base_name(pos[1]), ib.sample_rate,
                    ia.sample_rate);
            if (nac_resample_all(&r, &nr, b, nb, ib.sample_rate, ia.sample_rate, &e) < 0) {
                fprintf(stderr, "nac plot: %s\n", nac_error_message(&e));
                goto done;
            }
            free(b);
            b = r;
            nb = nr;
        }
        o.ref_label = base_name(pos[0]);
        o.deg_label = base_name(pos[1]);
        if (nac_plot_compare(pos[2], a, na, b, nb, ia.sample_rate, &o, &e) < 0) {
            fprintf(stderr, "nac plot: %s\n", nac_error_message(&e));
            goto done;
        }
    }
    rc = 0;
done:
    free(a);
    free(b);
    return rc;
}
