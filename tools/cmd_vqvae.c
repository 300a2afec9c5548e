/* nac vqvae: a VQ-VAE on raw float32 feature files (rate-K vectors in dB). `train` fits one (the
 * trainer in the library, include/nac/train.h), `run` passes feature files through it (dumping or injecting latents) and reports the error in
 * dB^2 per file, overall and per gender. */
#include "cmd.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nac/error.h"
#include "nac/train.h"
#include "nac/vq.h"
#include "nac/vqvae.h"

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

/* Option table: name, minimum, maximum, integer?, where to store. */
typedef struct opt_num {
    const char *name;
    double lo, hi;
    int integer;
    double *val;
} opt_num;

/* Parses argv[*i] as one of the numeric options; 1 if it was one, 0 if not, -1 on error (printed). */
static int take_num(const char *cmd, const opt_num *o, int n, int argc, char **argv, int *i)
{
    for (int k = 0; k < n; k++) {
        if (strcmp(argv[*i], o[k].name))
            continue;
        if (*i + 1 >= argc) {
            fprintf(stderr, "nac vqvae %s: %s needs a value\n", cmd, o[k].name);
            return -1;
        }
        const char *v = argv[++*i];
        double d;
        long l;
        if (o[k].integer ? parse_long(v, (long)o[k].lo, (long)o[k].hi, &l) : parse_double(v, o[k].lo, o[k].hi, &d)) {
            fprintf(stderr, "nac vqvae %s: %s needs a %s from %g to %g, not '%s'\n", cmd, o[k].name,
                    o[k].integer ? "whole number" : "number", o[k].lo, o[k].hi, v);
            return -1;
        }
        *o[k].val = o[k].integer ? (double)l : d;
        return 1;
    }
    return 0;
}

/* ---- train ------------------------------------------------------------------------------- */

static void train_usage(FILE *f)
{
    fprintf(f,
            "usage: nac vqvae train IN.f32 --out MODEL [--k K] [--ncat N] [--dim D] [--stages S] [--entries M]\n"
            "                       [--noise-var V] [--hidden H] [--ema] [--steps N] [--batch B] [--seq T]\n"
            "                       [--lr LR] [--vq-start N] [--val DEV.f32] [--time SEC] [--save-every N]\n"
            "                       [--resume] [--seed S] [--threads N]\n\n"
            "Trains a VQ-VAE on IN.f32 (raw little-endian float32, rows of K features, e.g. rate-K vectors\n"
            "in dB from `nac features` or `c2enc 700C --mlfeat`, see docs/vqvae.md). ncat frames form one\n"
            "latent step; causal convolutions encode them to a D-dim latent (tanh), a residual VQ of S\n"
            "stages x M entries quantises it (straight-through; k-means initialised at --vq-start from the\n"
            "encoder's outputs; dead entries restarted), and a causal decoder reconstructs the frames.\n"
            "The loss is the squared error in dB^2 (plus the VQ's commitment/codebook terms).\n\n"
            "  --k K           features per row (20)          --ncat N      frames per latent step (1)\n"
            "  --dim D         latent dimension (10)          --hidden H    convolution channels (128)\n"
            "  --stages S      VQ stages, 0 = none (2)        --entries M   entries per stage (512)\n"
            "  --noise-var V   Gaussian noise of variance V added to the latent in training (0), a\n"
            "                  stand-in for a quantiser (latents are in [-1, 1])\n"
            "  --ema           EMA codebooks instead of the codebook loss\n"
            "  --steps N       training steps (4000)          --batch B     sequences per step (32)\n"
            "  --seq T         latent steps per sequence (32) --lr LR       peak learning rate (0.001)\n"
            "  --vq-start N    steps as a plain autoencoder before k-means init of the VQ (steps/10)\n"
            "  --val DEV.f32   held-out features: dB^2 printed at every checkpoint\n"
            "  --time SEC      stop (and save) after SEC seconds\n"
            "  --save-every N  checkpoint MODEL every N steps (500); the file holds the AdamW moments\n"
            "  --resume        continue from MODEL's checkpoint (same data and options)\n\n"
            "Progress (stderr): step, training dB^2 (averaged since the last line), VQ loss, entries in\n"
            "use per stage, steps/s.\n\n"
            "example:\n"
            "  nac vqvae train train.f32 --k 20 --ncat 1 --dim 10 --stages 2 --entries 512 --out vqvae.nacw\n"
            "  nac vqvae train train.f32 --dim 10 --stages 0 --noise-var 1e-3 --out ae.nacw   # no VQ\n");
}

static void train_report(void *ctx, nac_train_event ev, const char *note, const nac_train_stats *s)
{
    (void)ctx;
    (void)s;
    if (ev == NAC_TRAIN_NOTE)
        fprintf(stderr, "%s\n", note);
}

static volatile sig_atomic_t train_stop;

static void on_signal(int sig)
{
    (void)sig;
    train_stop = 1;
}

static int cmd_train(int argc, char **argv)
{
    nac_vqvae_train_opts to;
    nac_vqvae_train_opts_default(&to);
    double k = to.k, ncat = to.ncat, dim = to.dim, hidden = to.hidden, stages = to.stages, entries = to.entries;
    double noise = 0, steps = (double)to.steps, batch = to.batch, seq = to.seq, lr = to.lr, vq_start = -1, tlimit = 0;
    double save_every = (double)to.save_every, seed = 1, threads = 0;
    opt_num nums[] = {{"--k", 1, 256, 1, &k},          {"--ncat", 1, 16, 1, &ncat},
                      {"--dim", 1, 256, 1, &dim},      {"--hidden", 1, 2048, 1, &hidden},
                      {"--stages", 0, 48, 1, &stages}, {"--entries", 2, 65536, 1, &entries},
                      {"--noise-var", 0, 100, 0, &noise}, {"--steps", 1, 1e8, 1, &steps},
                      {"--batch", 1, 4096, 1, &batch}, {"--seq", 1, 100000, 1, &seq},
                      {"--lr", 1e-7, 1, 0, &lr},       {"--vq-start", 0, 1e8, 1, &vq_start},
                      {"--time", 1, 1e7, 0, &tlimit},  {"--save-every", 1, 1e8, 1, &save_every},
                      {"--seed", 0, 1e15, 1, &seed},   {"--threads", 1, 1024, 1, &threads}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = take_num("train", nums, (int)(sizeof nums / sizeof *nums), argc, argv, &i);
        if (r < 0)
            return 2;
        if (r)
            continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            train_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--ema")) {
            to.ema = 1;
        } else if (!strcmp(a, "--resume")) {
            to.resume = 1;
        } else if (!strcmp(a, "--out") || !strcmp(a, "--val")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "nac vqvae train: %s needs a value\n", a);
                return 2;
            }
            *(a[2] == 'o' ? &to.out : &to.val) = argv[++i];
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "nac vqvae train: unknown option '%s' (try nac vqvae train --help)\n", a);
            return 2;
        } else if (!to.in) {
            to.in = a;
        } else {
            fprintf(stderr, "nac vqvae train: too many arguments (try nac vqvae train --help)\n");
            return 2;
        }
    }
    if (!to.in || !to.out) {
        train_usage(stderr);
        return 2;
    }
    to.k = (int)k, to.ncat = (int)ncat, to.dim = (int)dim, to.hidden = (int)hidden, to.stages = (int)stages;
    to.entries = (int)entries, to.noise_var = noise, to.steps = (long)steps, to.batch = (int)batch;
    to.seq = (int)seq, to.lr = lr, to.vq_start = (long)vq_start, to.time_limit = tlimit;
    to.save_every = (long)save_every, to.seed = (unsigned long long)seed, to.threads = (int)threads;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    nac_error err = {0};
    int st = nac_vqvae_train_run(&to, train_report, NULL, &train_stop, &err);
    if (st) {
        fprintf(stderr, "nac vqvae train: %s\n", err.msg[0] ? err.msg : nac_strerror(st));
        return 1;
    }
    return 0;
}

/* ---- run --------------------------------------------------------------------------------- */

static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: nac vqvae run MODEL IN.f32 OUT.f32 [--write-latent L.f32 | --read-latent L.f32]\n"
            "                     [--with-pitch | --extra E] [--noise-var V] [--no-vq] [--seed S]\n"
            "       nac vqvae run MODEL --list FILES.tsv [--out-dir DIR] [--write-latent DIR | --read-latent DIR]\n"
            "                     [--with-pitch] [--no-vq] [--noise-var V]\n\n"
            "Passes feature files through a VQ-VAE and prints the error in dB^2 (mean squared difference\n"
            "of the output and the input features) per file, overall, and for female and male speakers.\n\n"
            "  --write-latent L  also write the encoder's latents (before noise and VQ): rows of D float32,\n"
            "                    one per ncat frames, for training external VQs (`nac vq train`)\n"
            "  --read-latent L   decode these latents instead (e.g. quantised by `nac vq quantize`):\n"
            "                    encoder and VQ are skipped; L must hold ceil(frames / ncat) rows of D\n"
            "  --no-vq           bypass the model's VQ (the autoencoder alone)\n"
            "  --with-pitch      rows of K + 3 (`nac features --with-pitch`: energy, F0, voicing after the\n"
            "                    K features): the K go through the model, the 3 are copied, so OUT.f32\n"
            "                    goes straight to `nac synth`; --extra E for E copied columns\n"
            "  --noise-var V     add Gaussian noise of variance V to the latent (seeded by --seed)\n"
            "  --list FILES.tsv  a tab-separated list with a header naming a 'path' column and optionally\n"
            "                    a 'gender' column (F, M; 'M?' counts as M), e.g. from\n"
            "                    bench/c2_features.py; relative paths are taken from the current folder\n"
            "  --out-dir DIR     with --list: write each output as DIR/<input path with / as _>\n"
            "                    (with --list, --write-latent and --read-latent name folders, and each\n"
            "                    file's latents are named the same way)\n\n"
            "example:\n"
            "  nac vqvae run vqvae.nacw dev.f32 dev_out.f32 --write-latent dev_l.f32\n"
            "  nac vqvae run vqvae.nacw dev.f32 dev_vq.f32 --read-latent dev_l_hat.f32\n"
            "  nac vqvae run vqvae.nacw --list build/c2feat/dev.tsv\n"
            "  nac vqvae run vqvae.nacw speech_p.f32 speech_q.f32 --with-pitch && nac synth speech_q.f32 q.wav\n");
}

typedef struct tally {
    double se[3];  /* all, F, M */
    double n[3];
    int files[3];
} tally;

static int gender_slot(const char *g)
{
    return !g ? 0 : g[0] == 'F' || g[0] == 'f' ? 1 : g[0] == 'M' || g[0] == 'm' ? 2 : 0;
}

/* One file: returns 0 or prints nothing and sets err. */
static int run_one(tally *t, const nac_vqvae *m, const char *in, const char *out, const char *gender,
                   const char *wlat, const char *rlat, int extra, const nac_vqvae_fwd *base, nac_error *err)
{
    nac_vqvae_info info;
    nac_vqvae_get_info(m, &info);
    int K = info.k, D = info.dim, W = K + extra, st;
    float *x = NULL, *y = NULL, *lat = NULL, *row = NULL;
    size_t T, Tg, nl;
    if ((st = nac_vq_f32_read(&row, &T, in, W, 0, err)))
        goto done;
    if (!(x = malloc(T * (size_t)K * sizeof(float)))) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < T; i++) /* the K features; extra columns pass through */
        memcpy(x + i * K, row + i * W, (size_t)K * sizeof(float));
    Tg = nac_vqvae_latent_rows(m, T);
    nac_vqvae_fwd o = *base;
    if (rlat) {
        if ((st = nac_vq_f32_read(&lat, &nl, rlat, D, 0, err)))
            goto done;
        if (nl != Tg) {
            st = nac_error_set(err, NAC_ERR_FORMAT, "%s has %zu latent rows of D=%d; %s needs %zu", rlat, nl, D, in,
                               Tg);
            goto done;
        }
        o.latent_in = lat;
    } else if (wlat) {
        if (!(lat = malloc(Tg * (size_t)D * sizeof(float)))) {
            st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
            goto done;
        }
        o.latent_out = lat;
    }
    if (!(y = malloc(T * (size_t)K * sizeof(float)))) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = nac_vqvae_run(y, m, x, T, &o, err)))
        goto done;
    double se = 0;
    for (size_t i = 0; i < T * (size_t)K; i++)
        se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
    printf("%-60s %s %7zu frames  %8.3f dB^2\n", in, gender ? gender : "-", T, se / ((double)T * K));
    int g = gender_slot(gender);
    for (int s = 0; s < 3; s++)
        if (s == 0 || s == g) {
            t->se[s] += se;
            t->n[s] += (double)T * K;
            t->files[s]++;
        }
    for (size_t i = 0; i < T; i++)
        memcpy(row + i * W, y + i * K, (size_t)K * sizeof(float));
    if (out && (st = nac_vq_f32_write(out, row, T, W, err)))
        goto done;
    if (wlat && !rlat && (st = nac_vq_f32_write(wlat, lat, Tg, D, err)))
        goto done;
done:
    free(x);
    free(y);
    free(lat);
    free(row);
    return st;
}

static void print_tally(const tally *t)
{
    static const char *names[3] = {"overall", "female", "male"};
    for (int s = 0; s < 3; s++)
        if (t->files[s])
            printf("%-8s %4d files  %8.3f dB^2\n", names[s], t->files[s], t->se[s] / t->n[s]);
}

/* Splits a TSV line in place into at most n fields. */
static int split_tabs(char *line, char **f, int n)
{
    int k = 0;
    line[strcspn(line, "\r\n")] = 0;
    for (char *p = line; k < n;) {
        f[k++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = 0;
        p = tab + 1;
    }
    return k;
}

static int cmd_run(int argc, char **argv)
{
    const char *pos[3], *wlat = NULL, *rlat = NULL, *list = NULL, *outdir = NULL;
    int npos = 0, novq = 0;
    double noise = 0, seed = 1, extra = 0;
    opt_num nums[] = {{"--noise-var", 0, 100, 0, &noise}, {"--seed", 0, 1e15, 1, &seed}, {"--extra", 0, 1000, 1, &extra}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = take_num("run", nums, 3, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r)
            continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            run_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--no-vq")) {
            novq = 1;
        } else if (!strcmp(a, "--with-pitch")) {
            extra = 3;
        } else if (!strcmp(a, "--write-latent") || !strcmp(a, "--read-latent") || !strcmp(a, "--list") ||
                   !strcmp(a, "--out-dir")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "nac vqvae run: %s needs a value\n", a);
                return 2;
            }
            const char **dst = a[2] == 'w' ? &wlat : a[2] == 'r' ? &rlat : a[2] == 'l' ? &list : &outdir;
            *dst = argv[++i];
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "nac vqvae run: unknown option '%s' (try nac vqvae run --help)\n", a);
            return 2;
        } else if (npos < 3) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "nac vqvae run: too many arguments (try nac vqvae run --help)\n");
            return 2;
        }
    }
    if (wlat && rlat) {
        fprintf(stderr, "nac vqvae run: give --write-latent or --read-latent, not both\n");
        return 2;
    }
    if (list ? npos != 1 : npos != 3 || outdir) {
        run_usage(stderr);
        return 2;
    }
    nac_error err;
    nac_error_clear(&err);
    nac_vqvae *m = NULL;
    FILE *fl = NULL;
    int rc = 1;
    tally t = {{0}, {0}, {0}};
    if (nac_vqvae_load(&m, pos[0], 0, &err))
        goto fail;
    nac_vqvae_fwd o = {0};
    o.quantise = !novq;
    o.noise_var = (float)noise;
    o.seed = (uint64_t)seed;
    if (!list) {
        if (run_one(&t, m, pos[1], pos[2], NULL, wlat, rlat, (int)extra, &o, &err))
            goto fail;
    } else {
        if (!(fl = fopen(list, "r"))) {
            nac_error_set(&err, NAC_ERR_IO, "cannot open %s: %s", list, strerror(errno));
            goto fail;
        }
        const char *mk[2] = {outdir, wlat};
        for (int j = 0; j < 2; j++)
            if (mk[j] && mkdir(mk[j], 0777) && errno != EEXIST) {
                nac_error_set(&err, NAC_ERR_IO, "cannot create %s: %s", mk[j], strerror(errno));
                goto fail;
            }
        char line[8192], *f[64];
        int ip = -1, ig = -1, lineno = 1;
        if (!fgets(line, sizeof line, fl)) {
            nac_error_set(&err, NAC_ERR_EMPTY, "%s is empty", list);
            goto fail;
        }
        int nf = split_tabs(line, f, 64);
        for (int j = 0; j < nf; j++) {
            if (!strcmp(f[j], "path"))
                ip = j;
            if (!strcmp(f[j], "gender"))
                ig = j;
        }
        if (ip < 0) {
            nac_error_set(&err, NAC_ERR_FORMAT, "%s: the header line names no 'path' column", list);
            goto fail;
        }
        while (fgets(line, sizeof line, fl)) {
            lineno++;
            nf = split_tabs(line, f, 64);
            if (nf == 1 && !f[0][0])
                continue;
            if (ip >= nf) {
                nac_error_set(&err, NAC_ERR_FORMAT, "%s line %d has no path column", list, lineno);
                goto fail;
            }
            /* output names: the input's path with '/' as '_' (base names repeat across folders) */
            char outp[4096], latp[4096], base[2048];
            const char *src = f[ip];
            while (!strncmp(src, "./", 2) || !strncmp(src, "../", 3))
                src += src[1] == '/' ? 2 : 3;
            snprintf(base, sizeof base, "%s", src);
            for (char *c = base; *c; c++)
                if (*c == '/')
                    *c = '_';
            snprintf(outp, sizeof outp, "%s/%s", outdir ? outdir : ".", base);
            snprintf(latp, sizeof latp, "%s/%s", wlat ? wlat : rlat ? rlat : ".", base);
            if (run_one(&t, m, f[ip], outdir ? outp : NULL, ig >= 0 && ig < nf ? f[ig] : NULL, wlat ? latp : NULL,
                        rlat ? latp : NULL, (int)extra, &o, &err))
                goto fail;
        }
        if (!t.files[0]) {
            nac_error_set(&err, NAC_ERR_EMPTY, "%s lists no files", list);
            goto fail;
        }
    }
    print_tally(&t);
    rc = 0;
fail:
    if (rc)
        fprintf(stderr, "nac vqvae run: %s\n", nac_error_message(&err));
    if (fl)
        fclose(fl);
    nac_vqvae_destroy(m);
    return rc;
}

/* ---- entry ------------------------------------------------------------------------------- */

int nac_cmd_vqvae(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "train"))
        return cmd_train(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    FILE *f = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout : stderr;
    fprintf(f, "usage: nac vqvae train IN.f32 --out MODEL [options]   train a VQ-VAE on feature vectors\n"
               "       nac vqvae run MODEL IN.f32 OUT.f32 [options]   run it, dump or inject latents, dB^2\n"
               "(nac vqvae train --help, nac vqvae run --help for details)\n");
    return f == stdout ? 0 : 2;
}
