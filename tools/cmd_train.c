/* nac train: trains or fine-tunes a codec model on a folder of audio, with checkpoints that resume
 * exactly, validation, a progress line and a CSV log. */
#include "cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "metrics/metrics.h"
#include "model/codec_io.h"
#include "model/codec_net.h"
#include "model/dataset.h"
#include "model/default_model.h"
#include "model/disc.h"
#include "nn/loss_spectral.h"
#include "nn/optim.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct train_opts {
    const char *data, *val, *init, *out, *config, *log;
    long steps;
    int threads, batch, save_every, val_every, val_files, compact, seed, warmup;
    double seconds, lr, min_lr, time_limit, clip, w_mel, w_stft, p_full, dead_threshold;
    double w_adv, w_fm, disc_lr, w_phase, w_if, w_gd, val_kbps;
    int phase_stages;
    long adv_start;
    int print_every;
} train_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nac train --data DIR --out MODEL [options]\n\n"
            "Trains a codec model on every audio file under DIR (wav, flac, ogg, ...; any rate, resampled\n"
            "to the model's). Writes MODEL (the inference model) and MODEL.ckpt (parameters, optimiser\n"
            "state, step and random state) every --save-every steps and on Ctrl-C. If MODEL.ckpt exists the\n"
            "run resumes from it exactly where it stopped.\n\n"
            "options:\n"
            "  --data DIR         training audio (required)\n"
            "  --val DIR          validation audio: STOI and mel distance every --val-every steps\n"
            "  --val-kbps K       bitrate of the validation (default 6)\n"
            "  --out MODEL        output model path (required); checkpoint MODEL.ckpt, log MODEL.csv\n"
            "  --init MODEL       start from this model's weights (fine-tuning); 'default' = the built-in one\n"
            "  --config FILE      architecture ('key = value' lines, see docs/model.md) of a new run; with\n"
            "                     --init, changes to the init model's (tensors that still fit are copied)\n"
            "  --steps N          train until step N (default 100000)\n"
            "  --time-limit SEC   stop (with a checkpoint) after SEC seconds of wall time\n"
            "  --batch B          examples per step (default 16)\n"
            "  --seconds S        crop length in seconds (default 1.0)\n"
            "  --lr LR            peak learning rate (default 5e-4), --min-lr (default 5e-5)\n"
            "  --warmup N         warm-up steps (default 500)\n"
            "  --clip X           gradient-norm clipping (default 10)\n"
            "  --mel-weight W     multi-scale mel L1 weight (default 15), --stft-weight W (default 1)\n"
            "  --p-full P         share of examples trained with all VQ stages (default 0.25; the rest\n"
            "                     draw 3, 6, 12, 24 or 48 stages: quantizer dropout)\n"
            "  --phase-weight W   phase loss (1 - cos of the phase error per STFT bin, weighted by\n"
            "                     |X|^0.6; 1 = unrelated phase) on the examples coded with at least\n"
            "                     --phase-stages stages (default 24 = 12 kbps): asks for the waveform's\n"
            "                     own phase where the bitrate can carry it (default 0 = off)\n"
            "  --if-weight W      the same loss on the phase's advance from frame to frame (the\n"
            "                     instantaneous frequency), all examples (default 0 = off)\n"
            "  --gd-weight W      the same on the phase difference between neighbouring bins (the group\n"
            "                     delay), all examples (default 0 = off)\n"
            "  --dead-threshold X restart VQ codebook entries whose decayed usage (assignments per\n"
            "                     batch) falls below X (0: never); stored in the model, default: the\n"
            "                     model's (0.05 for new models)\n"
            "  --threads N        OpenMP threads (default: all cores)\n"
            "  --seed S           seed of initialisation and data order (default 1)\n"
            "  --save-every N     checkpoint interval in steps (default 200)\n"
            "  --val-every N      validation interval (default 1000), --val-files N (default 16)\n"
            "  --adv-weight W     adversarial stage: weight of the hinge generator loss against a multi-\n"
            "                     resolution STFT discriminator (default 0 = off); its state goes to MODEL.disc\n"
            "                     (resumed when present)\n"
            "  --fm-weight W      feature-matching weight when --adv-weight > 0 (default 2)\n"
            "  --adv-start N      adversarial terms (and discriminator updates) from step N on (default 0)\n"
            "  --disc-lr LR       discriminator peak learning rate, same schedule (default: --lr)\n"
            "  --compact          small checkpoint: second moments in bfloat16 and no first moments (a\n"
            "                     third of the size; resuming is then close to, not bit-identical with,\n"
            "                     an uninterrupted run)\n"
            "  --log FILE         CSV log (default MODEL.csv)\n"
            "  --task T           train an enhancement model (denoise, dequantize, bwe) instead: see\n"
            "                     nac train --task denoise --help\n\n"
            "example:\n"
            "  nac train --data ../shared/data/train --val ../shared/data/dev --out my.nacw --time-limit 3600\n");
}

static int parse(train_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->steps = 100000;
    o->batch = 16;
    o->seconds = 1.0;
    o->lr = 5e-4;
    o->min_lr = 5e-5;
    o->warmup = 500;
    o->clip = 10;
    o->w_mel = 15;
    o->w_stft = 1;
    o->p_full = 0.25;
    o->dead_threshold = -1;
    o->seed = 1;
    o->save_every = 200;
    o->val_every = 1000;
    o->val_files = 16;
    o->print_every = 10;
    o->w_fm = 2;
    o->disc_lr = -1;
    o->phase_stages = 24;
    o->val_kbps = 6;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define STR(name, field)                                                                                         \
    if (!strcmp(a, name)) {                                                                                      \
        if (!v)                                                                                                  \
            goto missing;                                                                                        \
        o->field = v;                                                                                            \
        i++;                                                                                                     \
        continue;                                                                                                \
    }
#define NUM(name, field)                                                                                         \
    if (!strcmp(a, name)) {                                                                                      \
        char *end;                                                                                               \
        if (!v)                                                                                                  \
            goto missing;                                                                                        \
        double x = strtod(v, &end);                                                                              \
        if (end == v || *end || !isfinite(x) || x < 0) {                                                         \
            fprintf(stderr, "nac train: %s wants a non-negative number, not '%s'\n", a, v);                     \
            return 2;                                                                                            \
        }                                                                                                        \
        o->field = (__typeof__(o->field))x;                                                                      \
        i++;                                                                                                     \
        continue;                                                                                                \
    }
        STR("--data", data) STR("--val", val) STR("--init", init) STR("--out", out) STR("--config", config)
        STR("--log", log) NUM("--steps", steps) NUM("--threads", threads) NUM("--batch", batch)
        NUM("--seconds", seconds) NUM("--lr", lr) NUM("--min-lr", min_lr) NUM("--warmup", warmup)
        NUM("--clip", clip) NUM("--mel-weight", w_mel) NUM("--stft-weight", w_stft) NUM("--p-full", p_full)
        NUM("--phase-weight", w_phase) NUM("--phase-stages", phase_stages)
        NUM("--if-weight", w_if) NUM("--gd-weight", w_gd) NUM("--dead-threshold", dead_threshold)
        NUM("--seed", seed) NUM("--save-every", save_every) NUM("--val-every", val_every) NUM("--val-kbps", val_kbps)
        NUM("--val-files", val_files) NUM("--time-limit", time_limit) NUM("--print-every", print_every)
        NUM("--adv-weight", w_adv) NUM("--fm-weight", w_fm) NUM("--adv-start", adv_start) NUM("--disc-lr", disc_lr)
        if (!strcmp(a, "--compact")) {
            o->compact = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        fprintf(stderr, "nac train: unknown option '%s' (see nac train --help)\n", a);
        return 2;
    missing:
        fprintf(stderr, "nac train: %s needs a value\n", a);
        return 2;
#undef STR
#undef NUM
    }
    if (!o->data || !o->out) {
        fprintf(stderr, "nac train: --data and --out are required (see nac train --help)\n");
        return 2;
    }
    if (o->disc_lr < 0)
        o->disc_lr = o->lr;
    if (o->batch < 1 || o->seconds <= 0 || o->save_every < 1 || o->print_every < 1) {
        fprintf(stderr, "nac train: --batch, --seconds, --save-every must be positive\n");
        return 2;
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void note_file(void *ctx, const char *path, const char *what)
{
    (void)ctx;
    fprintf(stderr, "nac train: skipping %s: %s\n", path, what);
}

/* ---- checkpoint state beyond the network ------------------------------------------------------- */

typedef struct run_state {
    long step;
    double train_seconds; /* wall time spent training, over all sessions */
    nac_rng rng;
} run_state;

static int save_all(const nac_codec_net *n, const run_state *rs, const train_opts *o, const char *ckpt,
                    nac_error *err)
{
    char step[32], secs[32], rng[80], seed[16];
    snprintf(step, sizeof step, "%ld", rs->step);
    snprintf(secs, sizeof secs, "%.1f", rs->train_seconds);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, rs->rng.s[0], rs->rng.s[1],
             rs->rng.s[2], rs->rng.s[3]);
    snprintf(seed, sizeof seed, "%d", o->seed);
    const char *extra[] = {"train.step", step, "train.seconds", secs, "train.rng", rng, "train.seed", seed, NULL};
    nac_codec_save_opts so = {1, o->compact ? NAC_DTYPE_BF16 : NAC_DTYPE_F32, NAC_DTYPE_F32, o->compact, extra};
    int st = nac_codec_net_save(n, ckpt, &so, err);
    if (st)
        return st;
    /* the inference model: half-precision weights (half the size; decoding is unaffected) */
    nac_codec_save_opts mo = {0, NAC_DTYPE_F32, NAC_DTYPE_F16, 0, extra};
    return nac_codec_net_save(n, o->out, &mo, err);
}

/* The discriminator of the adversarial stage: MODEL.disc, with its own AdamW moments and step. */
typedef struct adv_state {
    nac_disc *d;
    long step;
    char path[4096];
} adv_state;

static int save_disc(const adv_state *a, nac_error *err)
{
    return a->d ? nac_disc_save(a->d, a->path, a->step, err) : NAC_OK;
}

static int load_state(run_state *rs, const nac_weights *w, nac_error *err)
{
    long long step = 0;
    double secs = 0;
    const char *rng = nac_weights_config(w, "train.rng");
    if (nac_weights_config_int(w, "train.step", &step, err) || !rng || strlen(rng) != 64)
        return nac_error_set(err, NAC_ERR_FORMAT, "checkpoint lacks train.step or train.rng");
    nac_weights_config_float(w, "train.seconds", &secs, NULL);
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, rng + 16 * i, 16);
        part[16] = '\0';
        rs->rng.s[i] = strtoull(part, NULL, 16);
    }
    rs->step = (long)step;
    rs->train_seconds = secs;
    return NAC_OK;
}

/* On resuming at step: drops the log rows of steps after it (they were run after the last
 * checkpoint and are run again), so every step appears once. A missing log is fine. */
static int trim_log(const char *path, long step, nac_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NAC_OK;
    char tmp[4096], line[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *o = fopen(tmp, "w");
    if (!o) {
        fclose(f);
        return nac_error_set(err, NAC_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    }
    while (fgets(line, sizeof line, f)) {
        char *end;
        long s = strtol(line, &end, 10);
        if (end == line || *end != ',' || s <= step)
            fputs(line, o);
    }
    fclose(f);
    if (fclose(o) != 0 || rename(tmp, path) != 0)
        return nac_error_set(err, NAC_ERR_IO, "%s: cannot rewrite the log", path);
    return NAC_OK;
}

/* ---- validation ---------------------------------------------------------------------------------- */

typedef struct val_set {
    nac_dataset ds;
    nac_codec_train *ws;
    int T; /* samples per file after cropping/padding to whole latent frames */
} val_set;

static int validate(double *stoi, double *mel, val_set *v, nac_codec_net *n, int n_q, nac_error *err)
{
    int delay = nac_codec_delay(&n->cfg), fs = nac_codec_frame_size(&n->cfg);
    float *x = calloc((size_t)v->T, sizeof *x);
    double s_sum = 0, m_sum = 0;
    int count = 0, st = NAC_OK;
    if (!x)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    for (int f = 0; f < v->ds.n_files; f++) {
        size_t len = v->ds.len[f] < (size_t)v->T - (size_t)delay ? v->ds.len[f] : (size_t)v->T - (size_t)delay;
        int T = (int)(((len + (size_t)delay + (size_t)fs - 1) / (size_t)fs) * (size_t)fs);
        memset(x, 0, (size_t)v->T * sizeof *x);
        memcpy(x, v->ds.audio[f], len * sizeof *x);
        const float *y;
        nac_rvq_losses vq;
        if ((st = nac_codec_train_forward(v->ws, x, &n_q, 1, T, &y, &vq, err)))
            break;
        double s = 0, m = 0;
        if (nac_stoi(&s, x, y + delay, len, n->cfg.sample_rate, NULL) == NAC_OK &&
            nac_mel_distance(&m, x, y + delay, len, n->cfg.sample_rate, NULL) == NAC_OK) {
            s_sum += s;
            m_sum += m;
            count++;
        }
    }
    free(x);
    *stoi = count ? s_sum / count : NAN;
    *mel = count ? m_sum / count : NAN;
    return st;
}

/* ---- the loop ------------------------------------------------------------------------------------ */

static int draw_stages(nac_rng *rng, int S, double p_full)
{
    static const int rates[] = {3, 6, 12, 24, 48};
    if (nac_rng_uniform(rng) < p_full)
        return S;
    int k = (int)nac_rng_below(rng, 5);
    return rates[k] < S ? rates[k] : S;
}

static void note_graft(void *ctx, const char *name, const char *what)
{
    (void)ctx;
    fprintf(stderr, "nac train: %s: %s\n", name, what);
}

int nac_cmd_train(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) /* enhancement models have their own trainer (src/enhance) */
        if (!strcmp(argv[i], "--task"))
            return nac_cmd_train_enhance(argc, argv);
    train_opts o;
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc == 1 ? 0 : rc;
    nac_error err = {0};
    nac_codec_net *n = NULL;
    nac_codec_train *ws = NULL;
    nn_melspec_loss *mel = NULL;
    nn_mrstft_loss *stft = NULL;
    nac_weights *wf = NULL;
    nac_dataset ds = {0};
    val_set val = {0};
    float *x = NULL, *yc = NULL, *xc = NULL, *dyc = NULL, *dy = NULL, *xy = NULL;
    adv_state adv = {0};
    int *n_active = NULL;
    float *phase_w = NULL;
    FILE *log = NULL;
    run_state rs = {0};
    int st = NAC_OK, status = 1;
    char ckpt[4096], logpath[4096];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", o.out);
    snprintf(logpath, sizeof logpath, "%s", o.log ? o.log : o.out);
    if (!o.log) {
        char *dot = strrchr(logpath, '.');
        if (dot && !strchr(dot, '/'))
            *dot = '\0';
        strncat(logpath, ".csv", sizeof logpath - strlen(logpath) - 1);
    }
    if (o.threads > 0)
        omp_set_num_threads(o.threads);

    /* model: resume, fine-tune or new */
    struct stat sb;
    int resumed = 0;
    if (stat(ckpt, &sb) == 0) {
        int had = 0;
        if ((st = nac_weights_load(&wf, ckpt, &err)) || (st = nac_codec_net_from_weights(&n, wf, 1, &had, &err)) ||
            (st = load_state(&rs, wf, &err)))
            goto fail;
        resumed = 1;
        fprintf(stderr, "nac train: resuming from %s at step %ld (%.2f h trained)%s\n", ckpt, rs.step,
                rs.train_seconds / 3600, had ? "" : " without optimiser state");
        if (o.config)
            fprintf(stderr, "nac train: note: --config ignored when resuming\n");
    } else if (o.init) {
        const void *bytes;
        size_t size;
        nac_default_model_bytes(&bytes, &size);
        st = strcmp(o.init, "default") ? nac_weights_load(&wf, o.init, &err) : nac_weights_load_mem(&wf, bytes, size, &err);
        if (st)
            goto fail;
        if (o.config) { /* the init model's config changed by FILE: copy what still fits */
            nac_codec_config cfg;
            if ((st = nac_codec_config_from_weights(&cfg, wf, &err)) ||
                (st = nac_codec_config_load(&cfg, o.config, &err)) || (st = nac_codec_net_create(&n, &cfg, 1, &err)))
                goto fail;
            nac_codec_net_init(n, (uint64_t)o.seed);
            if ((st = nac_codec_net_graft(n, wf, note_graft, NULL, &err)))
                goto fail;
        } else if ((st = nac_codec_net_from_weights(&n, wf, 1, NULL, &err))) {
            goto fail;
        }
        memset(n->p.m, 0, n->p.total * sizeof(float));
        memset(n->p.v, 0, n->p.total * sizeof(float));
        nac_rng_seed(&rs.rng, (uint64_t)o.seed * 7919u + 17u);
        fprintf(stderr, "nac train: fine-tuning from %s\n", o.init);
    } else {
        nac_codec_config cfg;
        nac_codec_config_default(&cfg);
        if (o.config && (st = nac_codec_config_load(&cfg, o.config, &err)))
            goto fail;
        if ((st = nac_codec_net_create(&n, &cfg, 1, &err)))
            goto fail;
        nac_codec_net_init(n, (uint64_t)o.seed);
        nac_rng_seed(&rs.rng, (uint64_t)o.seed * 7919u + 17u);
    }
    nac_weights_destroy(wf);
    wf = NULL;

    if (o.dead_threshold >= 0)
        n->cfg.rvq.dead_threshold = n->rvq.cfg.dead_threshold = (float)o.dead_threshold;
    const nac_codec_config *c = &n->cfg;
    int fs = nac_codec_frame_size(c), delay = nac_codec_delay(c), B = o.batch;
    int T = (int)lround(o.seconds * c->sample_rate / fs) * fs;
    if (T < 2 * fs)
        T = 2 * fs;
    int Tc = T - delay;
    fprintf(stderr, "nac train: model %zu parameters (%d channels, %d blocks, %d VQ stages of %d); batch %d x %.2f s\n",
            n->p.total, c->channels, n->n_blocks, c->rvq.n_stages, c->rvq.codebook_size, B, (double)T / c->sample_rate);
    if ((st = nac_dataset_load(&ds, o.data, c->sample_rate, 0, note_file, NULL, &err)))
        goto fail;
    fprintf(stderr, "nac train: %d files, %.1f minutes of audio in %s\n", ds.n_files,
            (double)ds.total / c->sample_rate / 60, o.data);
    if (o.val) {
        if ((st = nac_dataset_load(&val.ds, o.val, c->sample_rate, o.val_files, note_file, NULL, &err)))
            goto fail;
        val.T = 4 * c->sample_rate / fs * fs + ((delay + fs - 1) / fs) * fs;
        if ((st = nac_codec_train_create(&val.ws, n, 1, val.T, &err)))
            goto fail;
    }
    if ((st = nac_codec_train_create(&ws, n, B, T, &err)))
        goto fail;
    nn_melspec_config mc;
    nn_melspec_config_default(&mc, c->sample_rate);
    nn_mrstft_config sc;
    nn_mrstft_config_default(&sc);
    if ((st = nn_melspec_loss_create(&mel, &mc, B, Tc, &err)) || (st = nn_mrstft_loss_create(&stft, &sc, B, Tc, &err)))
        goto fail;
    snprintf(adv.path, sizeof adv.path, "%s.disc", o.out);
    if (o.w_adv > 0) {
        if (stat(adv.path, &sb) == 0) {
            if ((st = nac_disc_load(&adv.d, adv.path, 2 * B, Tc, &adv.step, NULL, &err)))
                goto fail;
            fprintf(stderr, "nac train: discriminator resumed from %s (%ld updates)\n", adv.path, adv.step);
        } else {
            nac_disc_config dc;
            nac_disc_config_default(&dc);
            if ((st = nac_disc_create(&adv.d, &dc, 2 * B, Tc, 1, &err)))
                goto fail;
            nac_disc_init(adv.d, (uint64_t)o.seed * 104729u + 5u);
        }
        fprintf(stderr, "nac train: adversarial stage from step %ld: adv %g, fm %g, discriminator %zu parameters\n",
                o.adv_start, o.w_adv, o.w_fm, nac_disc_params(adv.d)->total);
        if (!(xy = calloc((size_t)2 * B * Tc, sizeof *xy))) {
            st = nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    x = calloc((size_t)B * T, sizeof *x);
    dy = calloc((size_t)B * T, sizeof *dy);
    yc = calloc((size_t)B * Tc, sizeof *yc);
    xc = calloc((size_t)B * Tc, sizeof *xc);
    dyc = calloc((size_t)B * Tc, sizeof *dyc);
    n_active = calloc((size_t)B, sizeof *n_active);
    phase_w = calloc((size_t)B, sizeof *phase_w);
    if (!x || !dy || !yc || !xc || !dyc || !n_active || !phase_w) {
        st = nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (resumed && (st = trim_log(logpath, rs.step, &err)))
        goto fail;
    log = fopen(logpath, resumed ? "a" : "w");
    if (!log) {
        st = nac_error_set(&err, NAC_ERR_IO, "%s: cannot open log: %s", logpath, strerror(errno));
        goto fail;
    }
    if (!resumed)
        fprintf(log, "step,hours,loss,mel,stft,vq_commit,phase,ifreq,gdelay,grad_norm,lr,steps_per_s,val_stoi,val_mel%s\n",
                adv.d ? ",adv,fm,disc" : "");

    double bits_per_stage = ceil(log2((double)c->rvq.codebook_size));
    double stage_bps = bits_per_stage * c->sample_rate / nac_codec_frame_size(c);
    int val_stages = (int)floor(o.val_kbps * 1000.0 / stage_bps + 1e-9);
    val_stages = val_stages < 1 ? 1 : val_stages > c->rvq.n_stages ? c->rvq.n_stages : val_stages;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    nn_adamw opt = {0.8f, 0.99f, 1e-8f, 0.01f};
    double t_start = now(), t_last = t_start, ema_mel = NAN, ema_stft = NAN, ema_phase = NAN, ema_if = NAN;
    long step_last = rs.step;
    int tty = isatty(2);
    while (rs.step < o.steps && !stop_requested) {
        if (o.time_limit > 0 && now() - t_start > o.time_limit)
            break;
        double t0 = now();
        nac_dataset_batch(x, &ds, &rs.rng, B, T, -35.0f, -15.0f);
        for (int b = 0; b < B; b++)
            n_active[b] = draw_stages(&rs.rng, c->rvq.n_stages, o.p_full);
        uint64_t vq_seed = nac_rng_u64(&rs.rng);
        const float *y;
        nac_rvq_losses vq;
        if ((st = nac_codec_train_forward(ws, x, n_active, B, T, &y, &vq, &err)))
            goto fail;
        nac_codec_align(yc, xc, y, x, B, T, delay);
        memset(dyc, 0, (size_t)B * Tc * sizeof *dyc);
        double l_mel = nn_melspec_loss_forward_backward(mel, dyc, yc, xc, B, Tc, (float)o.w_mel);
        double l_stft = nn_mrstft_loss_forward_backward(stft, dyc, yc, xc, B, Tc, (float)o.w_stft);
        for (int b = 0; b < B; b++)
            phase_w[b] = n_active[b] >= o.phase_stages ? 1.0f : 0.0f;
        /* phase terms: every step when trained, on logged steps only when just watched */
        int logged = (rs.step + 1) % o.print_every == 0;
        double l_phase = o.w_phase > 0 || logged ? nac_codec_train_phase_loss(ws, NN_PHASE_ABS, phase_w, (float)o.w_phase) : 0;
        double l_if = o.w_if > 0 || logged ? nac_codec_train_phase_loss(ws, NN_PHASE_TIME, NULL, (float)o.w_if) : 0;
        double l_gd = o.w_gd > 0 || logged ? nac_codec_train_phase_loss(ws, NN_PHASE_FREQ, NULL, (float)o.w_gd) : 0;
        if (!isfinite(l_mel) || !isfinite(l_stft) || !isfinite(vq.total) || !isfinite(l_phase) || !isfinite(l_if) ||
            !isfinite(l_gd)) {
            st = nac_error_set(&err, NAC_ERR_NUMERIC,
                               "loss is not finite at step %ld (mel %g, stft %g, vq %g, phase %g %g %g)", rs.step,
                               l_mel, l_stft, vq.total, l_phase, l_if, l_gd);
            goto fail;
        }
        double l_adv = 0, l_fm = 0, l_disc = 0;
        if (adv.d && rs.step >= o.adv_start) {
            /* D step on (x, sg(y)), then the generator terms from the updated D, added into dyc */
            nn_params *dp = nac_disc_params(adv.d);
            float dlr = nn_lr_at(rs.step, o.warmup, o.steps, (float)o.disc_lr,
                                 (float)(o.lr > 0 ? o.min_lr * o.disc_lr / o.lr : o.min_lr));
            memcpy(xy, xc, (size_t)B * Tc * sizeof *xy);
            memcpy(xy + (size_t)B * Tc, yc, (size_t)B * Tc * sizeof *xy);
            if ((st = nac_disc_forward(adv.d, xy, 2 * B, Tc, &err)))
                goto fail;
            l_disc = nac_disc_loss_d(adv.d, B);
            nn_params_zero_grad(dp);
            if ((st = nac_disc_backward(adv.d, NULL, 1, 0, 2 * B, &err)))
                goto fail;
            nn_grad_clip(dp, o.clip);
            adv.step++;
            nn_adamw_step(dp, &opt, dlr, adv.step);
            if ((st = nac_disc_forward(adv.d, xy, 2 * B, Tc, &err)))
                goto fail;
            nac_disc_loss_g(adv.d, B, (float)o.w_adv, (float)o.w_fm, &l_adv, &l_fm);
            if ((st = nac_disc_backward(adv.d, dyc, 0, B, B, &err)))
                goto fail;
            if (!isfinite(l_disc) || !isfinite(l_adv) || !isfinite(l_fm)) {
                st = nac_error_set(&err, NAC_ERR_NUMERIC, "adversarial loss is not finite at step %ld", rs.step);
                goto fail;
            }
        }
        nac_codec_unalign_grad(dy, dyc, B, T, delay);
        nn_params_zero_grad(&n->p);
        if ((st = nac_codec_train_backward(ws, dy, &err)))
            goto fail;
        double gnorm = nn_grad_clip(&n->p, o.clip);
        float lr = nn_lr_at(rs.step, o.warmup, o.steps, (float)o.lr, (float)o.min_lr);
        rs.step++;
        nn_adamw_step(&n->p, &opt, lr, rs.step);
        if ((st = nac_codec_train_update_vq(ws, vq_seed, &err)))
            goto fail;
        rs.train_seconds += now() - t0;

        ema_mel = isnan(ema_mel) ? l_mel : 0.98 * ema_mel + 0.02 * l_mel;
        ema_stft = isnan(ema_stft) ? l_stft : 0.98 * ema_stft + 0.02 * l_stft;
        if (o.w_phase > 0 || logged)
            ema_phase = isnan(ema_phase) ? l_phase : 0.9 * ema_phase + 0.1 * l_phase;
        if (o.w_if > 0 || logged)
            ema_if = isnan(ema_if) ? l_if : 0.9 * ema_if + 0.1 * l_if;
        double vs = NAN, vm = NAN;
        int do_val = val.ws && (rs.step % o.val_every == 0 || rs.step == o.steps);
        if (do_val && (st = validate(&vs, &vm, &val, n, val_stages, &err)))
            goto fail;
        double loss = o.w_mel * l_mel + o.w_stft * l_stft + vq.total + o.w_adv * l_adv + o.w_fm * l_fm +
                      o.w_phase * l_phase + o.w_if * l_if + o.w_gd * l_gd;
        if (rs.step % o.print_every == 0 || do_val) {
            double t = now(), sps = (double)(rs.step - step_last) / (t - t_last);
            double eta = sps > 0 ? (double)(o.steps - rs.step) / sps : 0;
            fprintf(log, "%ld,%.4f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.4f,%.3g,%.3f,%.4f,%.4f", rs.step,
                    rs.train_seconds / 3600, loss, l_mel, l_stft, vq.commitment, l_phase, l_if, l_gd, gnorm, (double)lr, sps, vs, vm);
            if (adv.d)
                fprintf(log, ",%.5f,%.5f,%.5f", l_adv, l_fm, l_disc);
            fputc('\n', log);
            fflush(log);
            fprintf(stderr, "%sstep %ld  mel %.4f  stft %.4f  phase %.3f  if %.3f  vq %.4f  |g| %.2f  lr %.2e  %.2f steps/s (%.1f s audio/s)  ETA %.1f h%s",
                    tty ? "\r" : "", rs.step, ema_mel, ema_stft, ema_phase, ema_if, vq.commitment, gnorm, (double)lr, sps,
                    sps * B * T / c->sample_rate, eta / 3600, tty ? "   " : "\n");
            if (adv.d && rs.step > o.adv_start)
                fprintf(stderr, "%sstep %ld  adv %.4f  fm %.4f  disc %.4f%s", tty ? "\n" : "", rs.step, l_adv, l_fm,
                        l_disc, tty ? "" : "\n");
            if (do_val)
                fprintf(stderr, "%sstep %ld  validation at %g kbps: STOI %.4f  mel distance %.4f\n", tty ? "\n" : "",
                        rs.step, val_stages * stage_bps / 1000, vs, vm);
            t_last = t;
            step_last = rs.step;
        }
        if (rs.step % o.save_every == 0 && ((st = save_all(n, &rs, &o, ckpt, &err)) || (st = save_disc(&adv, &err))))
            goto fail;
    }
    if ((st = save_all(n, &rs, &o, ckpt, &err)) || (st = save_disc(&adv, &err)))
        goto fail;
    fprintf(stderr, "%snac train: saved %s and %s at step %ld (%.2f h of training in all)\n", tty ? "\n" : "", o.out,
            ckpt, rs.step, rs.train_seconds / 3600);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "%snac train: %s\n", isatty(2) ? "\n" : "", nac_error_message(&err));
done:
    if (log)
        fclose(log);
    free(x);
    free(dy);
    free(yc);
    free(xc);
    free(dyc);
    free(xy);
    nac_disc_destroy(adv.d);
    free(n_active);
    free(phase_w);
    nn_melspec_loss_destroy(mel);
    nn_mrstft_loss_destroy(stft);
    nac_codec_train_destroy(ws);
    nac_codec_train_destroy(val.ws);
    nac_dataset_free(&val.ds);
    nac_dataset_free(&ds);
    nac_weights_destroy(wf);
    nac_codec_net_destroy(n);
    (void)st;
    return status;
}
