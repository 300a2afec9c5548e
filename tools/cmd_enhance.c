/* nac enhance (restore degraded speech with a built-in or given model), nac degrade (make
 * degraded test copies) and nac train --task (train an enhancement model). */
#include "cmd.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nac/audio.h"
#include "nac/degrade.h"
#include "nac/enhance.h"
#include "nac/error.h"

/* ---- nac train --task ------------------------------------------------------------------------ */

static volatile sig_atomic_t train_stop;

static void on_signal(int sig)
{
    (void)sig;
    train_stop = 1;
}

static void train_usage(FILE *f)
{
    fprintf(f,
            "usage: nac train --task denoise|dequantize|bwe --data DIR --out MODEL [options]\n\n"
            "Trains an enhancement model: every step crops clean speech from DIR (the label) and degrades a\n"
            "copy (the input): denoise mixes noise from --noise DIR (recordings), babble of other speakers\n"
            "from DIR and music from --music DIR at SNRs in --snr A:B; dequantize uses mu-law, A-law, 6-10 bit\n"
            "linear and sample-and-hold 2-4; bwe makes 8 kHz and telephone-band (300-3400 Hz) copies.\n"
            "Writes MODEL and MODEL.ckpt every --save-every steps and on Ctrl-C; an existing MODEL.ckpt is\n"
            "resumed exactly. Log: MODEL with .csv (step, loss, validation).\n\n"
            "options:\n"
            "  --task T           denoise, dequantize or bwe (required)\n"
            "  --data DIR         clean training speech (required)\n"
            "  --val DIR          development speech: fixed validation pairs, SI-SDR every --val-every steps\n"
            "  --noise DIR        noise recordings (denoise: required). Each file's first --noise-split of\n"
            "                     its length (default 0.75) is used for training, the rest for validation\n"
            "  --music DIR        music to mix as noise too (optional)\n"
            "  --snr A:B          training SNR range in dB (default -5:25)\n"
            "  --out MODEL        output model (required)\n"
            "  --steps N          train until step N (default 20000), --time-limit SEC (stop and save)\n"
            "  --batch B          examples per step (default 16), --seconds S crop length (default 1)\n"
            "  --lr LR            peak learning rate (default 2e-3), --min-lr (default 1e-4), --warmup N (200)\n"
            "  --channels C --hidden H --blocks N --kernel K   architecture of a new model (96, 192, 4, 7)\n"
            "  --init MODEL       start a new run from MODEL's weights (fine-tuning; 'builtin': the\n"
            "                     built-in model of the task), not random ones; its architecture is kept\n"
            "  --snr-weight W     weight of the inverse-SNR term (default 1; dequantize 0.5; bwe 0),\n"
            "                     --cplx-weight W of the compressed complex term (default 1; bwe 0: the new\n"
            "                     band's phase is made up, so only magnitudes are matched)\n"
            "  --snr-log 0|1      the SNR term as log10(error / clean energy), so good inputs still count\n"
            "                     (default 1 for dequantize, 0 otherwise)\n"
            "  --threads N        OpenMP threads (default: all cores); --seed S (default 1)\n"
            "  --save-every N (200)  --val-every N (500)  --val-files N (16)  --log FILE\n\n"
            "example:\n"
            "  nac train --task denoise --data ../shared/data/train --val ../shared/data/dev \\\n"
            "      --noise ../shared/data/noise --music ../shared/data/music --out my_denoise.nacw --time-limit 1800\n");
}

static void train_report(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "nac train: %s\n", line);
}

static int parse_range(double *a, double *b, const char *v)
{
    char *end;
    *a = strtod(v, &end);
    if (end == v || *end != ':')
        return -1;
    const char *s = end + 1;
    *b = strtod(s, &end);
    if (end == s || *end || !isfinite(*a) || !isfinite(*b) || *b < *a)
        return -1;
    return 0;
}

int nac_cmd_train_enhance(int argc, char **argv)
{
    nac_enh_train_opts o;
    nac_enhance_task task = NAC_ENHANCE_DENOISE;
    int have_task = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--task") && i + 1 < argc) {
            if (nac_enhance_task_parse(&task, argv[i + 1])) {
                fprintf(stderr, "nac train: unknown task '%s': use denoise, dequantize or bwe\n", argv[i + 1]);
                return 2;
            }
            have_task = 1;
        }
    nac_enh_train_opts_default(&o, task);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            train_usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "nac train: %s needs a value (see nac train --task denoise --help)\n", a);
            return 2;
        }
        i++;
        const char **s = !strcmp(a, "--data") ? &o.data : !strcmp(a, "--val") ? &o.val : !strcmp(a, "--noise") ? &o.noise
                         : !strcmp(a, "--music") ? &o.music : !strcmp(a, "--out") ? &o.out : !strcmp(a, "--log") ? &o.log
                         : !strcmp(a, "--init") ? &o.init
                         : NULL;
        if (s) {
            *s = v;
            continue;
        }
        if (!strcmp(a, "--task"))
            continue;
        if (!strcmp(a, "--snr")) {
            if (parse_range(&o.snr_lo, &o.snr_hi, v)) {
                fprintf(stderr, "nac train: --snr wants A:B in dB with A <= B, not '%s'\n", v);
                return 2;
            }
            continue;
        }
        char *end;
        double x = strtod(v, &end);
        if (end == v || *end || !isfinite(x) || x < 0) {
            fprintf(stderr, "nac train: %s wants a non-negative number, not '%s'\n", a, v);
            return 2;
        }
        if (!strcmp(a, "--steps")) o.steps = (long)x;
        else if (!strcmp(a, "--time-limit")) o.time_limit = x;
        else if (!strcmp(a, "--batch")) o.batch = (int)x;
        else if (!strcmp(a, "--seconds")) o.seconds = x;
        else if (!strcmp(a, "--lr")) o.lr = x;
        else if (!strcmp(a, "--min-lr")) o.min_lr = x;
        else if (!strcmp(a, "--warmup")) o.warmup = (int)x;
        else if (!strcmp(a, "--clip")) o.clip = x;
        else if (!strcmp(a, "--snr-weight")) o.w_snr = x;
        else if (!strcmp(a, "--snr-log")) o.snr_log = x != 0;
        else if (!strcmp(a, "--cplx-weight")) o.w_cplx = x;
        else if (!strcmp(a, "--seed")) o.seed = (int)x;
        else if (!strcmp(a, "--threads")) o.threads = (int)x;
        else if (!strcmp(a, "--save-every")) o.save_every = (int)x;
        else if (!strcmp(a, "--val-every")) o.val_every = (int)x;
        else if (!strcmp(a, "--val-files")) o.val_files = (int)x;
        else if (!strcmp(a, "--print-every")) o.print_every = (int)x;
        else if (!strcmp(a, "--noise-split")) o.noise_split = x;
        else if (!strcmp(a, "--channels")) o.channels = (int)x;
        else if (!strcmp(a, "--hidden")) o.hidden = (int)x;
        else if (!strcmp(a, "--blocks")) o.blocks = (int)x;
        else if (!strcmp(a, "--kernel")) o.kernel = (int)x;
        else {
            fprintf(stderr, "nac train: unknown option '%s' for --task (see nac train --task denoise --help)\n", a);
            return 2;
        }
    }
    if (!have_task || !o.data || !o.out) {
        fprintf(stderr, "nac train: --task, --data and --out are required (see nac train --task denoise --help)\n");
        return 2;
    }
    if (o.batch < 1 || o.seconds <= 0 || o.save_every < 1 || o.print_every < 1 || o.val_every < 1 ||
        o.noise_split <= 0 || o.noise_split > 1) {
        fprintf(stderr, "nac train: --batch, --seconds, --save-every, --val-every must be positive, --noise-split in (0, 1]\n");
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    nac_error err = {0};
    if (nac_enh_train_run(&o, train_report, NULL, &train_stop, &err)) {
        fprintf(stderr, "nac train: %s\n", nac_error_message(&err));
        return 1;
    }
    return 0;
}

/* ---- shared ---------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads a whole audio file, rejecting empty and non-finite input with one line. */
static int read_input(const char *cmd, const char *path, float **x, size_t *n, int *rate)
{
    nac_error err = {0};
    nac_audio_info info;
    if (nac_audio_read_all(x, n, &info, path, &err)) {
        fprintf(stderr, "nac %s: %s\n", cmd, nac_error_message(&err));
        return 1;
    }
    if (*n == 0) {
        fprintf(stderr, "nac %s: %s holds no samples\n", cmd, path);
        free(*x);
        return 1;
    }
    if (!nac_degrade_finite(*x, *n)) {
        fprintf(stderr, "nac %s: %s holds NaN or infinite samples\n", cmd, path);
        free(*x);
        return 1;
    }
    *rate = info.sample_rate;
    return 0;
}

/* ---- nac enhance ----------------------------------------------------------------------------- */

static void enhance_usage(FILE *f)
{
    fprintf(f,
            "usage: nac enhance IN OUT --task denoise|dequantize|bwe [--model M] [--quiet]\n\n"
            "Restores speech with a small causal model (20 ms latency, streaming): denoise removes background\n"
            "noise; dequantize undoes 8-bit mu-law / A-law / linear quantisation and sample-and-hold; bwe\n"
            "extends 8 kHz (telephone) audio to 16 kHz. IN: WAV, FLAC, Ogg, any rate (mixed to mono);\n"
            "OUT: .wav or .flac ('-' for stdin/stdout). The models work at 16 kHz: OUT has IN's rate and\n"
            "length (bwe: 16 kHz when IN is below 16 kHz). --model M uses a model file from\n"
            "`nac train --task ...` instead of the built-in one.\n\n"
            "examples:\n"
            "  nac enhance noisy.wav clean.wav --task denoise\n"
            "  nac degrade speech.wav ulaw.wav --mulaw && nac enhance ulaw.wav restored.wav --task dequantize\n"
            "  nac degrade speech.wav phone.wav --rate 8000 && nac enhance phone.wav wide.wav --task bwe\n");
}

int nac_cmd_enhance(int argc, char **argv)
{
    const char *pos[2] = {0}, *task_s = NULL, *model_path = NULL;
    int npos = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            enhance_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--task") || !strcmp(a, "--model")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "nac enhance: %s needs a value\n", a);
                return 2;
            }
            *(!strcmp(a, "--task") ? &task_s : &model_path) = argv[++i];
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "nac enhance: unknown option '%s' (see nac enhance --help)\n", a);
            return 2;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "nac enhance: too many arguments (see nac enhance --help)\n");
            return 2;
        }
    }
    nac_enhance_task task;
    if (npos != 2 || !task_s) {
        fprintf(stderr, "nac enhance: need IN, OUT and --task (see nac enhance --help)\n");
        return 2;
    }
    if (nac_enhance_task_parse(&task, task_s)) {
        fprintf(stderr, "nac enhance: unknown task '%s': use denoise, dequantize or bwe\n", task_s);
        return 2;
    }
    nac_error err = {0};
    nac_enhance_model *m = NULL;
    float *x = NULL, *x16 = NULL, *y = NULL, *yo = NULL;
    size_t n = 0, n16 = 0, no = 0;
    int rate = 0, status = 1;
    if ((model_path ? nac_enhance_model_load(&m, model_path, &err) : nac_enhance_model_load_builtin(&m, task, &err)) ||
        nac_enhance_model_check_task(m, task, &err)) {
        fprintf(stderr, "nac enhance: %s%s%s\n", model_path ? model_path : "", model_path ? ": " : "",
                nac_error_message(&err));
        goto done;
    }
    if (read_input("enhance", pos[0], &x, &n, &rate))
        goto done;
    nac_enhance_info info;
    nac_enhance_model_get_info(m, &info);
    double t0 = now_s();
    if (rate != info.sample_rate) {
        if (nac_resample_all(&x16, &n16, x, n, rate, info.sample_rate, &err))
            goto fail;
    } else {
        x16 = x;
        n16 = n;
        x = NULL;
    }
    if (!(y = malloc(n16 * sizeof *y))) {
        nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (nac_enhance_buffer(m, y, x16, n16, &err))
        goto fail;
    int out_rate = task == NAC_ENHANCE_BWE && rate < info.sample_rate ? info.sample_rate : rate;
    if (out_rate != info.sample_rate) {
        if (nac_resample_all(&yo, &no, y, n16, info.sample_rate, out_rate, &err))
            goto fail;
    } else {
        yo = y;
        no = n16;
        y = NULL;
    }
    double dt = now_s() - t0;
    if (nac_audio_write_all(pos[1], yo, no, out_rate, &err))
        goto fail;
    if (!quiet)
        fprintf(stderr, "nac enhance: %s, %.2f s of audio at %d Hz -> %d Hz in %.3f s (%.0fx real time)\n",
                nac_enhance_task_name(task), (double)n16 / info.sample_rate, rate, out_rate, dt,
                dt > 0 ? (double)n16 / info.sample_rate / dt : 0);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "nac enhance: %s\n", nac_error_message(&err));
done:
    free(x);
    free(x16);
    free(y);
    if (yo != y)
        free(yo);
    nac_enhance_model_destroy(m);
    return status;
}

/* ---- nac degrade ----------------------------------------------------------------------------- */

static void degrade_usage(FILE *f)
{
    fprintf(f,
            "usage: nac degrade IN OUT [options]\n\n"
            "Makes a degraded copy of IN (deterministic for --seed), applying in this order: noise, low-pass,\n"
            "narrowband, quantisation, Codec 2. OUT has IN's rate unless --rate or --codec2 change it.\n\n"
            "options:\n"
            "  --noise DIR        mix noise drawn from the audio files under DIR (a random crop, filtered)\n"
            "  --babble DIR       ... or babble: 3-6 crops of the speech under DIR summed\n"
            "  --music DIR        ... or music from DIR (with several sources one kind is drawn per call)\n"
            "  --snr A:B          SNR in dB, drawn uniformly in [A, B] (default 5:5; the value is printed)\n"
            "  --noise-part P     which part of each noise file: all (default), train (first 75%%) or dev\n"
            "                     (last 25%%: the part `nac train --task denoise` never trains on)\n"
            "  --bits N           linear quantisation to N bits (2-16)\n"
            "  --mulaw, --alaw    8-bit G.711 mu-law / A-law\n"
            "  --hold N           sample-and-hold: every N-th sample held for N samples\n"
            "  --lowpass HZ       zero-phase low-pass at HZ (--highpass HZ: high-pass)\n"
            "  --rate R           resample to R Hz (--rate 8000: narrowband)\n"
            "  --telephone        telephone band: 300-3400 Hz at 8 kHz\n"
            "  --codec2 MODE      through Codec 2 at 8 kHz (c2enc/c2dec: apt-get install codec2), MODE 3200,\n"
            "                     2400, 1600, 1400, 1300, 1200, 700C, ...; Codec 2 delays its output (about\n"
            "                     18 ms at 3200): nac eval aligns it\n"
            "  --seed S           seed of every random choice (default 1)\n\n"
            "examples:\n"
            "  nac degrade speech.wav noisy.wav --noise ../shared/data/noise --snr 0:10 --noise-part dev --seed 3\n"
            "  nac degrade speech.wav ulaw.wav --mulaw\n"
            "  nac degrade speech.wav phone.wav --telephone\n");
}

/* Runs prog with args, quietly; 0 on exit status 0. */
static int run_tool(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        FILE *nul = freopen("/dev/null", "w", stdout);
        nul = nul ? freopen("/dev/null", "w", stderr) : NULL;
        (void)nul;
        execvp(argv[0], argv);
        _exit(127);
    }
    int ws;
    if (waitpid(pid, &ws, 0) < 0)
        return -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static int codec2(float **out, size_t *out_n, const float *x, size_t n, const char *mode, nac_error *err)
{
    char dir[] = "/tmp/nac_codec2_XXXXXX", raw[64], bit[64], dec[64];
    float *y = NULL;
    int st = NAC_OK;
    *out = NULL;
    *out_n = 0;
    if (!mkdtemp(dir))
        return nac_error_set(err, NAC_ERR_IO, "cannot make a temporary folder");
    snprintf(raw, sizeof raw, "%s/in.raw", dir);
    snprintf(bit, sizeof bit, "%s/c.bit", dir);
    snprintf(dec, sizeof dec, "%s/out.raw", dir);
    FILE *f = fopen(raw, "wb");
    if (!f) {
        st = nac_error_set(err, NAC_ERR_IO, "cannot write %s", raw);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        float v = roundf(x[i] * 32768.0f);
        int s = v > 32767 ? 32767 : v < -32768 ? -32768 : (int)v;
        fputc(s & 0xff, f);
        fputc((s >> 8) & 0xff, f);
    }
    fclose(f);
    char *enc[] = {"c2enc", (char *)mode, raw, bit, NULL}, *decv[] = {"c2dec", (char *)mode, bit, dec, NULL};
    int rc = run_tool(enc);
    if (rc == 127) {
        st = nac_error_set(err, NAC_ERR_UNSUPPORTED, "--codec2 needs c2enc and c2dec (apt-get install codec2)");
        goto done;
    }
    if (rc || run_tool(decv)) {
        st = nac_error_set(err, NAC_ERR_ARG, "c2enc/c2dec failed for mode '%s' (try 3200, 1600 or 700C)", mode);
        goto done;
    }
    if (!(f = fopen(dec, "rb"))) {
        st = nac_error_set(err, NAC_ERR_IO, "c2dec wrote nothing");
        goto done;
    }
    size_t cap = n + 8192, k = 0;
    if (!(y = malloc(cap * sizeof *y))) {
        fclose(f);
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto done;
    }
    int lo, hi;
    while (k < cap && (lo = fgetc(f)) != EOF && (hi = fgetc(f)) != EOF)
        y[k++] = (float)(int16_t)(uint16_t)(lo | hi << 8) / 32768.0f;
    fclose(f);
    *out = y;
    *out_n = k;
done:
    remove(raw);
    remove(bit);
    remove(dec);
    rmdir(dir);
    return st;
}

int nac_cmd_degrade(int argc, char **argv)
{
    const char *pos[2] = {0}, *noise_dir = NULL, *babble_dir = NULL, *music_dir = NULL, *part = "all", *c2 = NULL;
    double snr_a = 5, snr_b = 5, lowpass = 0, highpass = 0;
    int npos = 0, bits = 0, mulaw = 0, alaw = 0, hold = 0, out_rate = 0, tel = 0, seed = 1, ops = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            degrade_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--mulaw") || !strcmp(a, "--alaw") || !strcmp(a, "--telephone")) {
            *(!strcmp(a, "--mulaw") ? &mulaw : !strcmp(a, "--alaw") ? &alaw : &tel) = 1;
            ops++;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            if (!v) {
                fprintf(stderr, "nac degrade: %s needs a value (see nac degrade --help)\n", a);
                return 2;
            }
            i++;
            const char **s = !strcmp(a, "--noise") ? &noise_dir : !strcmp(a, "--babble") ? &babble_dir
                             : !strcmp(a, "--music") ? &music_dir : !strcmp(a, "--noise-part") ? &part
                             : !strcmp(a, "--codec2") ? &c2 : NULL;
            if (s) {
                *s = v;
                ops += s != &part;
                continue;
            }
            if (!strcmp(a, "--snr")) {
                if (parse_range(&snr_a, &snr_b, v) && (snr_a = snr_b = strtod(v, NULL), !isfinite(snr_a) || !*v)) {
                    fprintf(stderr, "nac degrade: --snr wants A:B (or one value) in dB, not '%s'\n", v);
                    return 2;
                }
                continue;
            }
            char *end;
            double x = strtod(v, &end);
            if (end == v || *end || !isfinite(x) || x <= 0) {
                fprintf(stderr, "nac degrade: %s wants a positive number, not '%s'\n", a, v);
                return 2;
            }
            ops++;
            if (!strcmp(a, "--bits") && x >= 2 && x <= 16 && x == floor(x)) bits = (int)x;
            else if (!strcmp(a, "--hold") && x <= 1000 && x == floor(x)) hold = (int)x;
            else if (!strcmp(a, "--lowpass")) lowpass = x;
            else if (!strcmp(a, "--highpass")) highpass = x;
            else if (!strcmp(a, "--rate") && x >= 1000 && x <= 384000 && x == floor(x)) out_rate = (int)x;
            else if (!strcmp(a, "--seed") && x == floor(x)) seed = (int)x, ops--;
            else {
                fprintf(stderr, "nac degrade: unknown option or bad value '%s %s' (see nac degrade --help)\n", a, v);
                return 2;
            }
            continue;
        }
        if (npos == 2) {
            fprintf(stderr, "nac degrade: too many arguments (see nac degrade --help)\n");
            return 2;
        }
        pos[npos++] = a;
    }
    if (npos != 2 || ops == 0) {
        fprintf(stderr, "nac degrade: need IN, OUT and at least one degradation (see nac degrade --help)\n");
        return 2;
    }
    if (strcmp(part, "all") && strcmp(part, "train") && strcmp(part, "dev")) {
        fprintf(stderr, "nac degrade: --noise-part is all, train or dev, not '%s'\n", part);
        return 2;
    }
    if (mulaw + alaw + (bits > 0) > 1) {
        fprintf(stderr, "nac degrade: choose one of --bits, --mulaw, --alaw\n");
        return 2;
    }
    nac_error err = {0};
    float *x = NULL;
    size_t n = 0;
    int rate = 0, status = 1;
    if (read_input("degrade", pos[0], &x, &n, &rate))
        return 1;
    if (noise_dir || babble_dir || music_dir) {
        nac_degrade_noise_opts no;
        nac_degrade_noise_opts_default(&no, noise_dir, babble_dir, music_dir);
        no.snr_lo = snr_a;
        no.snr_hi = snr_b;
        no.seed = (uint64_t)seed * 2654435761u + 7u;
        if (!strcmp(part, "train"))
            no.to = 0.75;
        else if (!strcmp(part, "dev"))
            no.from = 0.75;
        static const char *const kinds[] = {"noise", "babble", "music", "synthetic noise"};
        int kind;
        double snr;
        if (nac_degrade_add_noise(x, n, rate, &no, &kind, &snr, &err))
            goto fail;
        fprintf(stderr, "nac degrade: %s at %.2f dB SNR\n", kinds[kind], snr);
    }
    if ((lowpass > 0 && nac_degrade_lowpass(x, x, n, rate, lowpass, &err)) ||
        (highpass > 0 && nac_degrade_highpass(x, x, n, rate, highpass, &err)))
        goto fail;
    if (out_rate || tel || c2) {
        int r = c2 || tel ? 8000 : out_rate;
        if ((c2 || tel) && out_rate && out_rate != 8000) {
            fprintf(stderr, "nac degrade: --telephone and --codec2 work at --rate 8000\n");
            goto done;
        }
        float *y = NULL;
        size_t m = 0;
        if (nac_degrade_narrowband(&y, &m, x, n, rate, r, tel, &err))
            goto fail;
        free(x);
        x = y;
        n = m;
        rate = r;
    }
    if (bits)
        nac_degrade_bits(x, x, n, bits);
    if (mulaw)
        nac_degrade_mulaw(x, x, n);
    if (alaw)
        nac_degrade_alaw(x, x, n);
    if (hold)
        nac_degrade_hold(x, x, n, hold);
    if (c2) {
        float *y = NULL;
        size_t m = 0;
        for (const char *p = c2; *p; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) {
                fprintf(stderr, "nac degrade: bad Codec 2 mode '%s'\n", c2);
                goto done;
            }
        if (codec2(&y, &m, x, n, c2, &err))
            goto fail;
        free(x);
        x = y;
        n = m;
    }
    if (nac_audio_write_all(pos[1], x, n, rate, &err))
        goto fail;
    status = 0;
    goto done;
fail:
    fprintf(stderr, "nac degrade: %s\n", nac_error_message(&err));
done:
    free(x);
    return status;
}
