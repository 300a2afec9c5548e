/* The codec trainer (include/nac/train.h): data loading and augmentation, the step (multi-scale
 * mel + multi-resolution STFT + VQ + optional phase and adversarial losses, AdamW, clipping, VQ
 * maintenance), validation (STOI, mel distance), checkpoints that resume exactly, and the CSV log.
 * Data parallel: the global batch is cut into shards computed whole by one rank each and reduced in
 * shard order (train/shard.h), so the step does not depend on the number of ranks. */
#include "nac/train.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/rng.h"
#include "core/status.h"
#include "metrics/metrics.h"
#include "model/codec_io.h"
#include "model/codec_net.h"
#include "model/dataset.h"
#include "model/disc.h"
#include "nn/loss_spectral.h"
#include "nn/optim.h"
#include "train/comm.h"
#include "train/report.h"
#include "train/shard.h"

/* The built-in model's file bytes (model/default_model.c), for --init default. Weak, because the
 * build's model_freeze tool links the library's objects without the built-in model; the programs
 * that use the built-in model link it, and the reference then binds. */
extern void nac_default_model_bytes(const void **data, size_t *size) __attribute__((weak));

enum { ST_MEL, ST_STFT, ST_VQ, ST_COMMIT, ST_PHASE, ST_IF, ST_GD, N_STATS };

struct nac_trainer {
    nac_train_opts o;
    nac_train_report report;
    void *ctx;
    nac_comm comm;
    nac_codec_net *n;
    nac_codec_train *ws, *val_ws;
    nn_melspec_loss *mel;
    nn_mrstft_loss *stft;
    nac_dataset ds, val_ds;
    int val_T, val_stages;
    double stage_bps;
    int B, S, Bs, T, Tc, fs, delay;   /* global batch, shards, examples per shard, samples */
    int s0, s1;                      /* this rank's shards */
    float *x, *yc, *xc, *dyc, *dy, *xy, *phase_w;
    int *n_active;                   /* (B): every example's stages, drawn by every rank */
    float *acc, *local;              /* reduction: one process (P) / MPI (k, P) */
    /* VQ rows of the whole batch in shard order (sharded runs) and their exchange buffers */
    int vq_rows;                     /* rows per shard */
    int *g_nact;
    float *g_X;
    int32_t *g_idx;
    unsigned char *vq_send, *vq_recv;
    size_t vq_bytes;                 /* per shard */
    double *stat_send, *stat_recv;
    nac_disc *disc;
    long disc_step;
    char disc_path[4096], ckpt[4096], logpath[4096];
    FILE *log;
    nn_adamw opt;
    long step;
    double train_seconds;
    nac_rng rng;
    nac_train_stats last;            /* the last step's values */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void nac_train_opts_default(nac_train_opts *o)
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
}

int nac_train_mpi_built(void) { return nac_comm_built(); }

/* A note line, from rank 0 only. */
#define note(t, ...)                                                                                             \
    do {                                                                                                         \
        if ((t)->comm.rank == 0)                                                                                 \
            nac_train_note((t)->report, (t)->ctx, __VA_ARGS__);                                                  \
    } while (0)

static void note_file(void *ctx, const char *path, const char *what)
{
    nac_trainer *t = ctx;
    note(t, "skipping %s: %s", path, what);
}

static void note_graft(void *ctx, const char *name, const char *what)
{
    nac_trainer *t = ctx;
    note(t, "%s: %s", name, what);
}

/* ---- checkpoints ---------------------------------------------------------------------------- */

int nac_trainer_save(nac_trainer *t, nac_error *err)
{
    if (t->comm.rank != 0)
        return NAC_OK;
    char step[32], secs[32], rng[80], seed[16], shards[16];
    snprintf(step, sizeof step, "%ld", t->step);
    snprintf(secs, sizeof secs, "%.1f", t->train_seconds);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, t->rng.s[0], t->rng.s[1],
             t->rng.s[2], t->rng.s[3]);
    snprintf(seed, sizeof seed, "%d", t->o.seed);
    snprintf(shards, sizeof shards, "%d", t->S);
    /* train.shards only when sharded: a one-shard checkpoint stays byte-identical to earlier nac's */
    const char *extra[] = {"train.step", step, "train.seconds", secs, "train.rng", rng, "train.seed", seed,
                           t->S > 1 ? "train.shards" : NULL, shards, NULL};
    nac_codec_save_opts so = {1, t->o.compact ? NAC_DTYPE_BF16 : NAC_DTYPE_F32, NAC_DTYPE_F32, t->o.compact, extra};
    int st = nac_codec_net_save(t->n, t->ckpt, &so, err);
    if (st)
        return st;
    /* the inference model: half-precision weights (half the size; decoding is unaffected) */
    nac_codec_save_opts mo = {0, NAC_DTYPE_F32, NAC_DTYPE_F16, 0, extra};
    if ((st = nac_codec_net_save(t->n, t->o.out, &mo, err)))
        return st;
    if (t->disc && (st = nac_disc_save(t->disc, t->disc_path, t->disc_step, err)))
        return st;
    t->last.step = t->step;
    t->last.hours = t->train_seconds / 3600;
    if (t->report)
        t->report(t->ctx, NAC_TRAIN_SAVED, NULL, &t->last);
    return NAC_OK;
}

static int load_state(nac_trainer *t, const nac_weights *w, int *shards, nac_error *err)
{
    long long step = 0, sh = 0;
    double secs = 0;
    const char *rng = nac_weights_config(w, "train.rng");
    if (nac_weights_config_int(w, "train.step", &step, err) || !rng || strlen(rng) != 64)
        return nac_error_set(err, NAC_ERR_FORMAT, "checkpoint lacks train.step or train.rng");
    nac_weights_config_float(w, "train.seconds", &secs, NULL);
    if (nac_weights_config(w, "train.shards") && nac_weights_config_int(w, "train.shards", &sh, NULL) == NAC_OK &&
        sh >= 1 && sh <= 4096)
        *shards = (int)sh;
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, rng + 16 * i, 16);
        part[16] = '\0';
        t->rng.s[i] = strtoull(part, NULL, 16);
    }
    t->step = (long)step;
    t->train_seconds = secs;
    return NAC_OK;
}

/* On resuming at step: drops the log rows of steps after it (they were run after the last
 * checkpoint and are run again), so every step appears once. A missing log is fine. */
static int trim_log(const char *path, long step, nac_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NAC_OK;
    char tmp[4200], line[1024];
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

/* ---- set-up --------------------------------------------------------------------------------- */

/* The model: resume, fine-tune or new. Sets *resumed and *shards (from the checkpoint). */
static int make_model(nac_trainer *t, int *resumed, int *shards, nac_error *err)
{
    const nac_train_opts *o = &t->o;
    nac_weights *wf = NULL;
    struct stat sb;
    int st = NAC_OK;
    *resumed = 0;
    if (stat(t->ckpt, &sb) == 0) {
        int had = 0;
        if ((st = nac_weights_load(&wf, t->ckpt, err)) || (st = nac_codec_net_from_weights(&t->n, wf, 1, &had, err)) ||
            (st = load_state(t, wf, shards, err)))
            goto done;
        *resumed = 1;
        note(t, "resuming from %s at step %ld (%.2f h trained)%s", t->ckpt, t->step, t->train_seconds / 3600,
             had ? "" : " without optimiser state");
        if (o->config)
            note(t, "note: --config ignored when resuming");
    } else if (o->init) {
        const void *bytes = NULL;
        size_t size = 0;
        if (strcmp(o->init, "default"))
            st = nac_weights_load(&wf, o->init, err);
        else if (!nac_default_model_bytes)
            st = nac_error_set(err, NAC_ERR_UNSUPPORTED, "this program does not link the built-in model");
        else {
            nac_default_model_bytes(&bytes, &size);
            st = nac_weights_load_mem(&wf, bytes, size, err);
        }
        if (st)
            goto done;
        if (o->config) { /* the init model's config changed by FILE: copy what still fits */
            nac_codec_config cfg;
            if ((st = nac_codec_config_from_weights(&cfg, wf, err)) || (st = nac_codec_config_load(&cfg, o->config, err)) ||
                (st = nac_codec_net_create(&t->n, &cfg, 1, err)))
                goto done;
            nac_codec_net_init(t->n, (uint64_t)o->seed);
            if ((st = nac_codec_net_graft(t->n, wf, note_graft, t, err)))
                goto done;
        } else if ((st = nac_codec_net_from_weights(&t->n, wf, 1, NULL, err))) {
            goto done;
        }
        memset(t->n->p.m, 0, t->n->p.total * sizeof(float));
        memset(t->n->p.v, 0, t->n->p.total * sizeof(float));
        nac_rng_seed(&t->rng, (uint64_t)o->seed * 7919u + 17u);
        note(t, "fine-tuning from %s", o->init);
    } else {
        nac_codec_config cfg;
        nac_codec_config_default(&cfg);
        if (o->config && (st = nac_codec_config_load(&cfg, o->config, err)))
            goto done;
        if ((st = nac_codec_net_create(&t->n, &cfg, 1, err)))
            goto done;
        nac_codec_net_init(t->n, (uint64_t)o->seed);
        nac_rng_seed(&t->rng, (uint64_t)o->seed * 7919u + 17u);
    }
done:
    nac_weights_destroy(wf);
    return st;
}

static void *zalloc(size_t n, size_t size, int *ok)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        *ok = 0;
    return p;
}

int nac_trainer_create(nac_trainer **out, const nac_train_opts *o, nac_train_report report, void *ctx,
                       nac_error *err)
{
    *out = NULL;
    if (!o || !o->data || !o->out)
        return nac_error_set(err, NAC_ERR_ARG, "training needs a data folder and an output path");
    if (o->batch < 1 || o->seconds <= 0 || o->save_every < 1 || o->print_every < 1 || o->val_every < 1 ||
        o->shards < 0)
        return nac_error_set(err, NAC_ERR_ARG, "batch, seconds, save_every, print_every, val_every must be positive");
    if (!(o->p_full >= 0 && o->p_full <= 1 && o->p_any >= 0 && o->p_any <= 1))
        return nac_error_set(err, NAC_ERR_ARG, "--p-full and --p-any are shares between 0 and 1");
    nac_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    t->o = *o;
    if (t->o.disc_lr < 0)
        t->o.disc_lr = t->o.lr;
    t->report = report;
    t->ctx = ctx;
    t->opt = (nn_adamw){0.8f, 0.99f, 1e-8f, 0.01f};
    int st = nac_comm_init(&t->comm, err), ok = 1;
    if (st)
        goto fail;
    snprintf(t->ckpt, sizeof t->ckpt, "%s.ckpt", o->out);
    snprintf(t->disc_path, sizeof t->disc_path, "%s.disc", o->out);
    snprintf(t->logpath, sizeof t->logpath, "%s", o->log ? o->log : o->out);
    if (!o->log) {
        char *dot = strrchr(t->logpath, '.');
        if (dot && !strchr(dot, '/'))
            *dot = '\0';
        strncat(t->logpath, ".csv", sizeof t->logpath - strlen(t->logpath) - 1);
    }
    if (o->threads > 0)
        omp_set_num_threads(o->threads);

    int resumed = 0, ck_shards = 0;
    if ((st = make_model(t, &resumed, &ck_shards, err)))
        goto fail;
    /* shards: the option, else the checkpoint's when the ranks divide it, else one per rank */
    t->S = o->shards > 0 ? o->shards : ck_shards > 0 && ck_shards % t->comm.size == 0 ? ck_shards : t->comm.size;
    t->B = o->batch;
    if (t->S % t->comm.size || t->B % t->S) {
        st = nac_error_set(err, NAC_ERR_ARG, "--shards %d must be a multiple of the %d ranks and divide --batch %d",
                           t->S, t->comm.size, t->B);
        goto fail;
    }
    if (o->w_adv > 0 && t->S > 1) {
        st = nac_error_set(err, NAC_ERR_ARG, "the adversarial stage (--adv-weight) runs with one shard on one process");
        goto fail;
    }
    t->Bs = t->B / t->S;
    nac_shard_range(&t->s0, &t->s1, t->S, t->comm.rank, t->comm.size);

    nac_codec_net *n = t->n;
    if (o->dead_threshold >= 0)
        n->cfg.rvq.dead_threshold = n->rvq.cfg.dead_threshold = (float)o->dead_threshold;
    const nac_codec_config *c = &n->cfg;
    t->fs = nac_codec_frame_size(c);
    t->delay = nac_codec_delay(c);
    t->T = (int)lround(o->seconds * c->sample_rate / t->fs) * t->fs;
    if (t->T < 2 * t->fs)
        t->T = 2 * t->fs;
    t->Tc = t->T - t->delay;
    note(t, "model %zu parameters (%d channels, %d blocks, %d VQ stages of %d); batch %d x %.2f s", n->p.total,
         c->channels, n->n_blocks, c->rvq.n_stages, c->rvq.codebook_size, t->B, (double)t->T / c->sample_rate);
    if (t->comm.size > 1 || t->S > 1)
        note(t, "data parallel: %d ranks, %d shards of %d examples", t->comm.size, t->S, t->Bs);
    if ((st = nac_dataset_load(&t->ds, o->data, c->sample_rate, 0, note_file, t, err)))
        goto fail;
    note(t, "%d files, %.1f minutes of audio in %s", t->ds.n_files, (double)t->ds.total / c->sample_rate / 60, o->data);
    if (o->val && t->comm.rank == 0) {
        if ((st = nac_dataset_load(&t->val_ds, o->val, c->sample_rate, o->val_files, note_file, t, err)))
            goto fail;
        t->val_T = 4 * c->sample_rate / t->fs * t->fs + ((t->delay + t->fs - 1) / t->fs) * t->fs;
        if ((st = nac_codec_train_create(&t->val_ws, n, 1, t->val_T, err)))
            goto fail;
    }
    int Bs = t->Bs, T = t->T, Tc = t->Tc, k = t->s1 - t->s0;
    if ((st = nac_codec_train_create(&t->ws, n, Bs, T, err)))
        goto fail;
    nn_melspec_config mc;
    nn_melspec_config_default(&mc, c->sample_rate);
    nn_mrstft_config sc;
    nn_mrstft_config_default(&sc);
    if ((st = nn_melspec_loss_create(&t->mel, &mc, Bs, Tc, err)) || (st = nn_mrstft_loss_create(&t->stft, &sc, Bs, Tc, err)))
        goto fail;
    if (o->w_adv > 0) {
        struct stat sb;
        if (stat(t->disc_path, &sb) == 0) {
            if ((st = nac_disc_load(&t->disc, t->disc_path, 2 * Bs, Tc, &t->disc_step, NULL, err)))
                goto fail;
            note(t, "discriminator resumed from %s (%ld updates)", t->disc_path, t->disc_step);
        } else {
            nac_disc_config dc;
            nac_disc_config_default(&dc);
            if ((st = nac_disc_create(&t->disc, &dc, 2 * Bs, Tc, 1, err)))
                goto fail;
            nac_disc_init(t->disc, (uint64_t)o->seed * 104729u + 5u);
        }
        note(t, "adversarial stage from step %ld: adv %g, fm %g, discriminator %zu parameters", o->adv_start, o->w_adv,
             o->w_fm, nac_disc_params(t->disc)->total);
        t->xy = zalloc((size_t)2 * Bs * Tc, sizeof *t->xy, &ok);
    }
    t->x = zalloc((size_t)k * Bs * T, sizeof *t->x, &ok);
    t->dy = zalloc((size_t)Bs * T, sizeof *t->dy, &ok);
    t->yc = zalloc((size_t)Bs * Tc, sizeof *t->yc, &ok);
    t->xc = zalloc((size_t)Bs * Tc, sizeof *t->xc, &ok);
    t->dyc = zalloc((size_t)Bs * Tc, sizeof *t->dyc, &ok);
    t->n_active = zalloc((size_t)t->B, sizeof *t->n_active, &ok);
    t->phase_w = zalloc((size_t)Bs, sizeof *t->phase_w, &ok);
    t->stat_send = zalloc((size_t)k * N_STATS, sizeof *t->stat_send, &ok);
    t->stat_recv = zalloc((size_t)t->S * N_STATS, sizeof *t->stat_recv, &ok);
    if (t->S > 1) {
        /* the VQ rows of every shard, in shard order; their per-shard size from one forward's layout */
        int Tl = T / t->fs, Sq = c->rvq.n_stages, Dc = c->rvq.code_dim > 0 ? c->rvq.code_dim : c->rvq.dim;
        t->vq_rows = Bs * Tl;
        size_t R = (size_t)t->vq_rows * t->S;
        t->vq_bytes = (size_t)t->vq_rows * (sizeof(int) + (size_t)Sq * Dc * sizeof(float) + (size_t)Sq * sizeof(int32_t));
        t->g_nact = zalloc(R, sizeof *t->g_nact, &ok);
        t->g_X = zalloc(R * Sq * Dc, sizeof *t->g_X, &ok);
        t->g_idx = zalloc(R * Sq, sizeof *t->g_idx, &ok);
        if (t->comm.size > 1) {
            t->vq_send = zalloc((size_t)k * t->vq_bytes, 1, &ok);
            t->vq_recv = zalloc((size_t)t->S * t->vq_bytes, 1, &ok);
            t->local = zalloc((size_t)k * n->p.total, sizeof *t->local, &ok);
        } else {
            t->acc = zalloc(n->p.total, sizeof *t->acc, &ok);
        }
    }
    if (!ok) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (t->comm.rank == 0) {
        if (resumed && (st = trim_log(t->logpath, t->step, err)))
            goto fail;
        t->log = fopen(t->logpath, resumed ? "a" : "w");
        if (!t->log) {
            st = nac_error_set(err, NAC_ERR_IO, "%s: cannot open log: %s", t->logpath, strerror(errno));
            goto fail;
        }
        if (!resumed)
            fprintf(t->log,
                    "step,hours,loss,mel,stft,vq_commit,phase,ifreq,gdelay,grad_norm,lr,steps_per_s,val_stoi,val_mel%s\n",
                    t->disc ? ",adv,fm,disc" : "");
        fflush(t->log);
    }
    double bits_per_stage = ceil(log2((double)c->rvq.codebook_size));
    t->stage_bps = bits_per_stage * c->sample_rate / t->fs;
    int vs = (int)floor(o->val_kbps * 1000.0 / t->stage_bps + 1e-9);
    t->val_stages = vs < 1 ? 1 : vs > c->rvq.n_stages ? c->rvq.n_stages : vs;
    t->last.ranks = t->comm.size;
    t->last.shards = t->S;
    t->last.batch = t->B;
    t->last.steps = o->steps;
    t->last.val_stoi = t->last.val_mel = NAN;
    t->last.ema_mel = t->last.ema_stft = t->last.ema_phase = t->last.ema_if = NAN;
    *out = t;
    return NAC_OK;
fail:
    if (st == NAC_OK)
        st = nac_error_set(err, NAC_ERR_INTERNAL, "trainer set-up failed");
    nac_trainer_destroy(t);
    return st;
}

void nac_trainer_destroy(nac_trainer *t)
{
    if (!t)
        return;
    if (t->log)
        fclose(t->log);
    free(t->x);
    free(t->dy);
    free(t->yc);
    free(t->xc);
    free(t->dyc);
    free(t->xy);
    free(t->n_active);
    free(t->phase_w);
    free(t->acc);
    free(t->local);
    free(t->g_nact);
    free(t->g_X);
    free(t->g_idx);
    free(t->vq_send);
    free(t->vq_recv);
    free(t->stat_send);
    free(t->stat_recv);
    nac_disc_destroy(t->disc);
    nn_melspec_loss_destroy(t->mel);
    nn_mrstft_loss_destroy(t->stft);
    nac_codec_train_destroy(t->ws);
    nac_codec_train_destroy(t->val_ws);
    nac_dataset_free(&t->val_ds);
    nac_dataset_free(&t->ds);
    nac_codec_net_destroy(t->n);
    nac_comm_finalize(&t->comm);
    free(t);
}

long nac_trainer_step_count(const nac_trainer *t) { return t->step; }

void nac_trainer_ranks(const nac_trainer *t, int *rank, int *size)
{
    if (rank)
        *rank = t->comm.rank;
    if (size)
        *size = t->comm.size;
}

void nac_trainer_abort(nac_trainer *t, int code)
{
    if (t)
        nac_comm_abort(&t->comm, code);
}

/* ---- validation ------------------------------------------------------------------------------ */

int nac_trainer_validate(nac_trainer *t, double *stoi, double *mel, nac_error *err)
{
    *stoi = *mel = NAN;
    if (!t->val_ws)
        return NAC_OK;
    nac_codec_net *n = t->n;
    int delay = t->delay, fs = t->fs, n_q = t->val_stages;
    float *x = calloc((size_t)t->val_T, sizeof *x);
    double s_sum = 0, m_sum = 0;
    int count = 0, st = NAC_OK;
    if (!x)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    for (int f = 0; f < t->val_ds.n_files; f++) {
        size_t lim = (size_t)t->val_T - (size_t)delay, len = t->val_ds.len[f] < lim ? t->val_ds.len[f] : lim;
        int T = (int)(((len + (size_t)delay + (size_t)fs - 1) / (size_t)fs) * (size_t)fs);
        memset(x, 0, (size_t)t->val_T * sizeof *x);
        memcpy(x, t->val_ds.audio[f], len * sizeof *x);
        const float *y;
        nac_rvq_losses vq;
        if ((st = nac_codec_train_forward(t->val_ws, x, &n_q, 1, T, &y, &vq, err)))
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

/* ---- the step -------------------------------------------------------------------------------- */

/* Quantizer dropout: all S stages (p_full), else with p_any any count 1..S (the in-between rates
 * of --vbr), else one of the trained rates. With p_any 0 the draws are those of earlier versions. */
static int draw_stages(nac_rng *rng, int S, double p_full, double p_any)
{
    static const int rates[] = {3, 6, 12, 24, 48};
    if (nac_rng_uniform(rng) < p_full)
        return S;
    if (p_any > 0 && nac_rng_uniform(rng) < p_any)
        return 1 + (int)nac_rng_below(rng, (uint64_t)S);
    int k = (int)nac_rng_below(rng, 5);
    return rates[k] < S ? rates[k] : S;
}

/* One shard's VQ rows into the batch's arrays (shard order). */
static void put_vq_rows(nac_trainer *t, int s, const int *nact, const float *X, const int32_t *idx)
{
    const nac_rvq_config *c = &t->n->rvq.cfg;
    int Sq = c->n_stages, Dc = c->code_dim > 0 ? c->code_dim : c->dim;
    size_t Nl = (size_t)t->vq_rows, R = Nl * t->S;
    memcpy(t->g_nact + s * Nl, nact, Nl * sizeof *nact);
    for (int q = 0; q < Sq; q++) {
        memcpy(t->g_X + ((size_t)q * R + s * Nl) * Dc, X + (size_t)q * Nl * Dc, Nl * Dc * sizeof *X);
        memcpy(t->g_idx + (size_t)q * R + s * Nl, idx + (size_t)q * Nl, Nl * sizeof *idx);
    }
}

/* This shard's VQ rows: straight into the batch's arrays (one process) or packed for the exchange. */
static int keep_vq_rows(nac_trainer *t, int s, nac_error *err)
{
    int N;
    const int *nact;
    const float *X;
    const int32_t *idx;
    int st = nac_codec_train_vq_saved(t->ws, &N, &nact, &X, &idx, err);
    if (st)
        return st;
    if (N != t->vq_rows)
        return nac_error_set(err, NAC_ERR_INTERNAL, "VQ rows %d, expected %d", N, t->vq_rows);
    if (t->comm.size == 1) {
        put_vq_rows(t, s, nact, X, idx);
        return NAC_OK;
    }
    const nac_rvq_config *c = &t->n->rvq.cfg;
    size_t nx = (size_t)c->n_stages * N * (c->code_dim > 0 ? c->code_dim : c->dim), ni = (size_t)c->n_stages * N;
    unsigned char *p = t->vq_send + (size_t)(s - t->s0) * t->vq_bytes;
    memcpy(p, nact, (size_t)N * sizeof *nact);
    memcpy(p + (size_t)N * sizeof *nact, X, nx * sizeof *X);
    memcpy(p + (size_t)N * sizeof *nact + nx * sizeof *X, idx, ni * sizeof *idx);
    return NAC_OK;
}

static int gather_vq_rows(nac_trainer *t, nac_error *err)
{
    if (t->comm.size == 1)
        return NAC_OK;
    int k = t->s1 - t->s0, st = nac_comm_allgather(&t->comm, t->vq_recv, t->vq_send, (size_t)k * t->vq_bytes, err);
    if (st)
        return st;
    const nac_rvq_config *c = &t->n->rvq.cfg;
    size_t N = (size_t)t->vq_rows, nx = (size_t)c->n_stages * N * (c->code_dim > 0 ? c->code_dim : c->dim);
    for (int s = 0; s < t->S; s++) {
        const unsigned char *p = t->vq_recv + (size_t)s * t->vq_bytes;
        put_vq_rows(t, s, (const int *)p, (const float *)(p + N * sizeof(int)),
                    (const int32_t *)(p + N * sizeof(int) + nx * sizeof(float)));
    }
    return NAC_OK;
}

/* Forward, losses and backward of shard s (rows x (Bs, T)); its gradient is left in n->p.grad. */
static int shard_pass(nac_trainer *t, int s, const float *x, int logged, double *stats, double adv[3], nac_error *err)
{
    const nac_train_opts *o = &t->o;
    nac_codec_net *n = t->n;
    int Bs = t->Bs, T = t->T, Tc = t->Tc, delay = t->delay, st;
    const int *nact = t->n_active + (size_t)s * Bs;
    const float *y;
    nac_rvq_losses vq;
    if ((st = nac_codec_train_forward(t->ws, x, nact, Bs, T, &y, &vq, err)))
        return st;
    nac_codec_align(t->yc, t->xc, y, x, Bs, T, delay);
    memset(t->dyc, 0, (size_t)Bs * Tc * sizeof *t->dyc);
    stats[ST_MEL] = nn_melspec_loss_forward_backward(t->mel, t->dyc, t->yc, t->xc, Bs, Tc, (float)o->w_mel);
    stats[ST_STFT] = nn_mrstft_loss_forward_backward(t->stft, t->dyc, t->yc, t->xc, Bs, Tc, (float)o->w_stft);
    for (int b = 0; b < Bs; b++)
        t->phase_w[b] = nact[b] >= o->phase_stages ? 1.0f : 0.0f;
    /* phase terms: every step when trained, on logged steps only when just watched */
    stats[ST_PHASE] = o->w_phase > 0 || logged ? nac_codec_train_phase_loss(t->ws, NN_PHASE_ABS, t->phase_w, (float)o->w_phase) : 0;
    stats[ST_IF] = o->w_if > 0 || logged ? nac_codec_train_phase_loss(t->ws, NN_PHASE_TIME, NULL, (float)o->w_if) : 0;
    stats[ST_GD] = o->w_gd > 0 || logged ? nac_codec_train_phase_loss(t->ws, NN_PHASE_FREQ, NULL, (float)o->w_gd) : 0;
    stats[ST_VQ] = vq.total;
    stats[ST_COMMIT] = vq.commitment;
    adv[0] = adv[1] = adv[2] = 0;
    if (t->disc && t->step >= o->adv_start) {
        /* D step on (x, sg(y)), then the generator terms from the updated D, added into dyc */
        nn_params *dp = nac_disc_params(t->disc);
        float dlr = nn_lr_at(t->step, o->warmup, o->steps, (float)o->disc_lr,
                             (float)(o->lr > 0 ? o->min_lr * o->disc_lr / o->lr : o->min_lr));
        memcpy(t->xy, t->xc, (size_t)Bs * Tc * sizeof *t->xy);
        memcpy(t->xy + (size_t)Bs * Tc, t->yc, (size_t)Bs * Tc * sizeof *t->xy);
        if ((st = nac_disc_forward(t->disc, t->xy, 2 * Bs, Tc, err)))
            return st;
        adv[2] = nac_disc_loss_d(t->disc, Bs);
        nn_params_zero_grad(dp);
        if ((st = nac_disc_backward(t->disc, NULL, 1, 0, 2 * Bs, err)))
            return st;
        nn_grad_clip(dp, o->clip);
        t->disc_step++;
        nn_adamw_step(dp, &t->opt, dlr, t->disc_step);
        if ((st = nac_disc_forward(t->disc, t->xy, 2 * Bs, Tc, err)))
            return st;
        nac_disc_loss_g(t->disc, Bs, (float)o->w_adv, (float)o->w_fm, &adv[0], &adv[1]);
        if ((st = nac_disc_backward(t->disc, t->dyc, 0, Bs, Bs, err)))
            return st;
        if (!isfinite(adv[0]) || !isfinite(adv[1]) || !isfinite(adv[2]))
            return nac_error_set(err, NAC_ERR_NUMERIC, "adversarial loss is not finite at step %ld", t->step);
    }
    nac_codec_unalign_grad(t->dy, t->dyc, Bs, T, delay);
    nn_params_zero_grad(&n->p);
    return nac_codec_train_backward(t->ws, t->dy, err);
}

int nac_trainer_step(nac_trainer *t, nac_error *err)
{
    const nac_train_opts *o = &t->o;
    nac_codec_net *n = t->n;
    int B = t->B, Bs = t->Bs, T = t->T, k = t->s1 - t->s0, st;
    size_t P = n->p.total;
    double t0 = now(), c0 = t->comm.seconds;
    /* every rank replays the whole batch's draws and keeps its own shards' rows */
    nac_dataset_batch_rows(t->x, &t->ds, &t->rng, B, T, -35.0f, -15.0f, t->s0 * Bs, t->s1 * Bs);
    for (int b = 0; b < B; b++)
        t->n_active[b] = draw_stages(&t->rng, n->cfg.rvq.n_stages, o->p_full, o->p_any);
    uint64_t vq_seed = nac_rng_u64(&t->rng);
    int logged = (t->step + 1) % o->print_every == 0;
    double adv[3] = {0, 0, 0};
    for (int s = t->s0; s < t->s1; s++) {
        int j = s - t->s0;
        if ((st = shard_pass(t, s, t->x + (size_t)j * Bs * T, logged, t->stat_send + (size_t)j * N_STATS, adv, err)))
            return st;
        if (t->S == 1)
            continue; /* the classic step: the gradient stays where backward put it */
        if (t->comm.size == 1)
            nac_shard_add(t->acc, n->p.grad, P, j == 0);
        else
            memcpy(t->local + (size_t)j * P, n->p.grad, P * sizeof *t->local);
        if ((st = keep_vq_rows(t, s, err)))
            return st;
    }
    /* losses of every shard, then their mean in shard order: the same numbers on every rank */
    if ((st = nac_comm_allgather(&t->comm, t->stat_recv, t->stat_send, (size_t)k * N_STATS * sizeof(double), err)))
        return st;
    double m[N_STATS];
    for (int i = 0; i < N_STATS; i++) {
        double sum = 0;
        for (int s = 0; s < t->S; s++)
            sum += t->stat_recv[(size_t)s * N_STATS + i];
        m[i] = t->S > 1 ? sum / t->S : sum;
    }
    for (int i = 0; i < N_STATS; i++)
        if (!isfinite(m[i]))
            return nac_error_set(err, NAC_ERR_NUMERIC,
                                 "loss is not finite at step %ld (mel %g, stft %g, vq %g, phase %g %g %g)", t->step,
                                 m[ST_MEL], m[ST_STFT], m[ST_VQ], m[ST_PHASE], m[ST_IF], m[ST_GD]);
    if (t->S > 1) {
        if (t->comm.size == 1) {
            nac_shard_finish(t->acc, P, t->S);
            memcpy(n->p.grad, t->acc, P * sizeof *t->acc);
        } else if ((st = nac_comm_reduce_shards(&t->comm, n->p.grad, t->local, k, P, t->S, err)) ||
                   (st = gather_vq_rows(t, err))) {
            return st;
        }
    }
    double gnorm = nn_grad_clip(&n->p, o->clip);
    float lr = nn_lr_at(t->step, o->warmup, o->steps, (float)o->lr, (float)o->min_lr);
    t->step++;
    nn_adamw_step(&n->p, &t->opt, lr, t->step);
    st = t->S == 1 ? nac_codec_train_update_vq(t->ws, vq_seed, err)
                   : nac_codec_net_update_vq_rows(n, t->vq_rows * t->S, t->g_nact, t->g_X, t->g_idx, vq_seed, err);
    if (st)
        return st;
    t->train_seconds += now() - t0;

    nac_train_stats *r = &t->last;
    r->step = t->step;
    r->hours = t->train_seconds / 3600;
    r->mel = m[ST_MEL];
    r->stft = m[ST_STFT];
    r->vq_commit = m[ST_COMMIT];
    r->phase = m[ST_PHASE];
    r->ifreq = m[ST_IF];
    r->gdelay = m[ST_GD];
    r->grad_norm = gnorm;
    r->lr = lr;
    r->adversarial = t->disc != NULL;
    r->adv = adv[0];
    r->fm = adv[1];
    r->disc = adv[2];
    r->loss = o->w_mel * m[ST_MEL] + o->w_stft * m[ST_STFT] + m[ST_VQ] + o->w_adv * adv[0] + o->w_fm * adv[1] +
              o->w_phase * m[ST_PHASE] + o->w_if * m[ST_IF] + o->w_gd * m[ST_GD];
    r->ema_mel = isnan(r->ema_mel) ? m[ST_MEL] : 0.98 * r->ema_mel + 0.02 * m[ST_MEL];
    r->ema_stft = isnan(r->ema_stft) ? m[ST_STFT] : 0.98 * r->ema_stft + 0.02 * m[ST_STFT];
    if (o->w_phase > 0 || logged)
        r->ema_phase = isnan(r->ema_phase) ? m[ST_PHASE] : 0.9 * r->ema_phase + 0.1 * m[ST_PHASE];
    if (o->w_if > 0 || logged)
        r->ema_if = isnan(r->ema_if) ? m[ST_IF] : 0.9 * r->ema_if + 0.1 * m[ST_IF];
    r->comm_s_per_step = t->comm.seconds - c0;
    return NAC_OK;
}

/* ---- the loop -------------------------------------------------------------------------------- */

/* 1 when every rank may go on: no stop request and time left on any of them. */
static int agree_continue(nac_trainer *t, int mine, int *go, nac_error *err)
{
    int all[4096];
    if (t->comm.size > (int)(sizeof all / sizeof all[0]))
        return nac_error_set(err, NAC_ERR_ARG, "at most %zu ranks", sizeof all / sizeof all[0]);
    int st = nac_comm_allgather(&t->comm, all, &mine, sizeof mine, err);
    if (st)
        return st;
    *go = 1;
    for (int r = 0; r < t->comm.size; r++)
        *go &= all[r];
    return NAC_OK;
}

int nac_trainer_run(nac_trainer *t, volatile sig_atomic_t *stop, nac_error *err)
{
    const nac_train_opts *o = &t->o;
    const nac_codec_config *c = &t->n->cfg;
    double t_start = now(), t_last = t_start, comm_last = t->comm.seconds;
    long step_last = t->step;
    int st = NAC_OK;
    for (;;) {
        int go = t->step < o->steps && !(stop && *stop) && !(o->time_limit > 0 && now() - t_start > o->time_limit);
        if ((st = agree_continue(t, go, &go, err)) || !go)
            break;
        if ((st = nac_trainer_step(t, err)))
            return st;
        nac_train_stats *r = &t->last;
        r->val_stoi = r->val_mel = NAN;
        int do_val = t->val_ws && (t->step % o->val_every == 0 || t->step == o->steps);
        if (do_val && (st = nac_trainer_validate(t, &r->val_stoi, &r->val_mel, err)))
            return st;
        if (t->step % o->print_every == 0 || do_val) {
            double tn = now(), sps = (double)(t->step - step_last) / (tn - t_last);
            r->steps_per_s = sps;
            r->audio_s_per_s = sps * t->B * t->T / c->sample_rate;
            r->eta_hours = sps > 0 ? (double)(o->steps - t->step) / sps / 3600 : 0;
            r->comm_s_per_step = (t->comm.seconds - comm_last) / (double)(t->step - step_last);
            r->val_kbps = t->val_stages * t->stage_bps / 1000;
            if (t->log) {
                fprintf(t->log, "%ld,%.4f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.4f,%.3g,%.3f,%.4f,%.4f", t->step,
                        r->hours, r->loss, r->mel, r->stft, r->vq_commit, r->phase, r->ifreq, r->gdelay, r->grad_norm,
                        r->lr, sps, r->val_stoi, r->val_mel);
                if (t->disc)
                    fprintf(t->log, ",%.5f,%.5f,%.5f", r->adv, r->fm, r->disc);
                fputc('\n', t->log);
                fflush(t->log);
            }
            if (t->report && t->comm.rank == 0) {
                t->report(t->ctx, NAC_TRAIN_PROGRESS, NULL, r);
                if (do_val)
                    t->report(t->ctx, NAC_TRAIN_VALIDATION, NULL, r);
            }
            t_last = tn;
            step_last = t->step;
            comm_last = t->comm.seconds;
        }
        if (t->step % o->save_every == 0 && (st = nac_trainer_save(t, err)))
            return st;
    }
    if (st)
        return st;
    return nac_trainer_save(t, err);
}
