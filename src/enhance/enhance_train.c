/* The enhancement trainer (see enhance_train.h). */
#include "enhance/enhance_train.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "degrade/degrade.h"
#include "dsp/resample.h"
#include "enhance/enhance_net.h"
#include "format/weights.h"
#include "metrics/metrics.h"
#include "nn/optim.h"

void nac_enh_train_opts_default(nac_enh_train_opts *o, int task)
{
    memset(o, 0, sizeof *o);
    o->task = task;
    o->steps = 20000;
    o->batch = 16;
    o->seconds = 1.0;
    o->lr = 2e-3;
    o->min_lr = 1e-4;
    o->warmup = 200;
    o->clip = 5;
    o->w_cplx = 1;
    o->w_snr = 1;
    o->snr_log = 0;
    if (task == NAC_ENHANCE_DEQUANTIZE) { /* high input SNRs: the log form keeps their errors in view */
        o->w_snr = 0.5;
        o->snr_log = 1;
    }
    if (task == NAC_ENHANCE_BWE) { /* the new band's phase is made up: match magnitudes only */
        o->w_cplx = 0;
        o->w_snr = 0;
    }
    o->seed = 1;
    o->save_every = 200;
    o->val_every = 500;
    o->val_files = 16;
    o->print_every = 10;
    o->snr_lo = -5;
    o->snr_hi = 25;
    o->noise_split = 0.75;
}

/* ---- pairs ----------------------------------------------------------------------------------- */

static void narrow(float *deg, const float *clean, int T, int telephone)
{
    float *nb = NULL, *wb = NULL;
    size_t nn = 0, nw = 0;
    memset(deg, 0, (size_t)T * sizeof *deg);
    if (nac_degrade_narrowband(&nb, &nn, clean, (size_t)T, 16000, 8000, telephone, NULL) == NAC_OK &&
        nac_resample_all(&wb, &nw, nb, nn, 8000, 16000, NULL) == NAC_OK)
        memcpy(deg, wb, (nw < (size_t)T ? nw : (size_t)T) * sizeof *deg);
    free(nb);
    free(wb);
}

const char *nac_enh_make_pair(float *deg, float *clean, float *scratch, int task, const nac_dataset *speech,
                              const nac_noise_bank *bank, double snr_lo, double snr_hi, nac_rng *rng, int T)
{
    size_t n = (size_t)T;
    switch (task) {
    case NAC_ENHANCE_DENOISE: {
        nac_dataset_batch(clean, speech, rng, 1, T, -35.0f, -15.0f);
        nac_noise_draw(scratch, scratch + n, bank, rng, n);
        double snr = snr_lo + (snr_hi - snr_lo) * nac_rng_uniform(rng);
        if (nac_degrade_mix(deg, clean, scratch, n, snr, NULL, NULL) != NAC_OK)
            memcpy(deg, clean, n * sizeof *deg);
        return "noise";
    }
    case NAC_ENHANCE_DEQUANTIZE: {
        nac_dataset_batch(clean, speech, rng, 1, T, -40.0f, -12.0f);
        double u = nac_rng_uniform(rng);
        if (u < 0.3) {
            nac_degrade_mulaw(deg, clean, n);
            return "mulaw";
        }
        if (u < 0.6) {
            nac_degrade_alaw(deg, clean, n);
            return "alaw";
        }
        if (u < 0.85) {
            nac_degrade_bits(deg, clean, n, 6 + (int)nac_rng_below(rng, 5));
            return "bits";
        }
        nac_degrade_hold(deg, clean, n, 2 + (int)nac_rng_below(rng, 3));
        return "hold";
    }
    default: {
        nac_dataset_batch(clean, speech, rng, 1, T, -35.0f, -15.0f);
        int tel = nac_rng_uniform(rng) < 0.5;
        narrow(deg, clean, T, tel);
        return tel ? "telephone" : "8k";
    }
    }
}

/* ---- run ------------------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void say(nac_enh_report report, void *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(nac_enh_report report, void *ctx, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    if (!report)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    report(ctx, line);
}

typedef struct val_set {
    int V, T;
    float *deg, *clean, *y;
    nac_enh_train *ws;
    double in_sisdr;
} val_set;

static double mean_sisdr(const float *clean, const float *y, int V, int T, int delay)
{
    double sum = 0;
    int count = 0;
    for (int v = 0; v < V; v++) {
        double s;
        if (nac_si_sdr(&s, clean + (size_t)v * T, y + (size_t)v * T + delay, (size_t)(T - delay), NULL) == NAC_OK &&
            isfinite(s)) {
            sum += s;
            count++;
        }
    }
    return count ? sum / count : NAN;
}

static int save_all(const nac_enh_net *n, long step, double secs, const nac_rng *rng, const nac_enh_train_opts *o,
                    const char *ckpt, nac_error *err)
{
    char s_step[32], s_secs[32], s_rng[80], s_seed[16];
    snprintf(s_step, sizeof s_step, "%ld", step);
    snprintf(s_secs, sizeof s_secs, "%.1f", secs);
    snprintf(s_rng, sizeof s_rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, rng->s[0], rng->s[1],
             rng->s[2], rng->s[3]);
    snprintf(s_seed, sizeof s_seed, "%d", o->seed);
    const char *extra[] = {"train.step", s_step, "train.seconds", s_secs, "train.rng", s_rng, "train.seed", s_seed, NULL};
    int st = nac_enh_net_save(n, ckpt, 1, NAC_DTYPE_F32, extra, err);
    return st ? st : nac_enh_net_save(n, o->out, 0, NAC_DTYPE_F16, extra, err);
}

static int load_state(long *step, double *secs, nac_rng *rng, const nac_weights *w, nac_error *err)
{
    long long s = 0;
    const char *r = nac_weights_config(w, "train.rng");
    if (nac_weights_config_int(w, "train.step", &s, err) || !r || strlen(r) != 64)
        return nac_error_set(err, NAC_ERR_FORMAT, "checkpoint lacks train.step or train.rng");
    *secs = 0;
    nac_weights_config_float(w, "train.seconds", secs, NULL);
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, r + 16 * i, 16);
        part[16] = '\0';
        rng->s[i] = strtoull(part, NULL, 16);
    }
    *step = (long)s;
    return NAC_OK;
}

/* Drops log rows after step (they are run again after resuming). */
static void trim_log(const char *path, long step)
{
    FILE *f = fopen(path, "r");
    char tmp[4300], line[1024];
    if (!f)
        return;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *o = fopen(tmp, "w");
    if (!o) {
        fclose(f);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        char *end;
        long s = strtol(line, &end, 10);
        if (end == line || *end != ',' || s <= step)
            fputs(line, o);
    }
    fclose(f);
    if (fclose(o) == 0)
        rename(tmp, path);
}

/* The weights a new run starts from (--init): a model file, or "builtin" for the task's. */
static int load_init(nac_weights **w, const char *init, int task, nac_error *err)
{
    if (strcmp(init, "builtin"))
        return nac_weights_load(w, init, err);
    const void *b;
    size_t size;
    int st = nac_enh_builtin_bytes(task, &b, &size, err);
    return st ? st : nac_weights_load_mem(w, b, size, err);
}

int nac_enh_train_run(const nac_enh_train_opts *o, nac_enh_report report, void *ctx, volatile sig_atomic_t *stop,
                      nac_error *err)
{
    nac_enh_net *n = NULL;
    nac_enh_train *ws = NULL;
    nac_weights *wf = NULL;
    nac_dataset speech = {0}, noise = {0}, music = {0}, vspeech = {0};
    val_set val = {0};
    float *deg = NULL, *clean = NULL, *scratch = NULL;
    FILE *log = NULL;
    nac_rng rng;
    long step = 0;
    double secs = 0;
    int st = NAC_OK, resumed = 0;
    char ckpt[4200], logpath[4200];
    if (!o->data || !o->out)
        return nac_error_set(err, NAC_ERR_ARG, "training needs --data and --out");
    if (o->task == NAC_ENHANCE_DENOISE && !o->noise)
        return nac_error_set(err, NAC_ERR_ARG, "denoise training needs --noise DIR");
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", o->out);
    if (o->log) {
        snprintf(logpath, sizeof logpath, "%s", o->log);
    } else {
        snprintf(logpath, sizeof logpath, "%s", o->out);
        char *dot = strrchr(logpath, '.');
        if (dot && !strchr(dot, '/'))
            *dot = '\0';
        strncat(logpath, ".csv", sizeof logpath - strlen(logpath) - 1);
    }
    if (o->threads > 0)
        omp_set_num_threads(o->threads);

    struct stat sb;
    if (stat(ckpt, &sb) == 0) {
        if ((st = nac_weights_load(&wf, ckpt, err)) || (st = nac_enh_net_from_weights(&n, wf, 1, err)) ||
            (st = load_state(&step, &secs, &rng, wf, err)))
            goto done;
        if (n->cfg.task != o->task) {
            st = nac_error_set(err, NAC_ERR_MODEL, "%s is a %s checkpoint, not %s", ckpt,
                               nac_enhance_task_name(n->cfg.task), nac_enhance_task_name(o->task));
            goto done;
        }
        resumed = 1;
        say(report, ctx, "resuming from %s at step %ld (%.2f h trained)", ckpt, step, secs / 3600);
    } else if (o->init) {
        if (o->channels || o->hidden || o->blocks || o->kernel) {
            st = nac_error_set(err, NAC_ERR_ARG, "--init keeps the architecture of its model: leave out --channels, "
                                                 "--hidden, --blocks and --kernel");
            goto done;
        }
        if ((st = load_init(&wf, o->init, o->task, err)) || (st = nac_enh_net_from_weights(&n, wf, 1, err)))
            goto done;
        if (n->cfg.task != o->task) {
            st = nac_error_set(err, NAC_ERR_MODEL, "%s is a %s model, not %s", o->init,
                               nac_enhance_task_name(n->cfg.task), nac_enhance_task_name(o->task));
            goto done;
        }
        nac_rng_seed(&rng, (uint64_t)o->seed * 7919u + 23u);
        say(report, ctx, "starting from the weights of %s", strcmp(o->init, "builtin") ? o->init : "the built-in model");
    } else {
        nac_enh_config c;
        nac_enh_config_default(&c, o->task);
        if (o->channels > 0)
            c.channels = o->channels;
        if (o->hidden > 0)
            c.hidden = o->hidden;
        if (o->blocks > 0)
            c.blocks = o->blocks;
        if (o->kernel > 0)
            c.kernel = o->kernel;
        if ((st = nac_enh_net_create(&n, &c, 1, err)))
            goto done;
        nac_enh_net_init(n, (uint64_t)o->seed);
        nac_rng_seed(&rng, (uint64_t)o->seed * 7919u + 23u);
    }
    nac_weights_destroy(wf);
    wf = NULL;
    const nac_enh_config *c = &n->cfg;
    int hop = c->hop, B = o->batch, T = (int)lround(o->seconds * c->sample_rate / hop) * hop;
    if (T < 4 * hop)
        T = 4 * hop;
    say(report, ctx, "%s model: %zu parameters (%d channels, %d blocks of %d, kernel %d); batch %d x %.2f s",
        nac_enhance_task_name(c->task), nac_enh_net_params(n), c->channels, c->blocks, c->hidden, c->kernel, B,
        (double)T / c->sample_rate);
    if ((st = nac_dataset_load(&speech, o->data, c->sample_rate, 0, NULL, NULL, err)))
        goto done;
    if (o->noise && (st = nac_dataset_load(&noise, o->noise, c->sample_rate, 0, NULL, NULL, err)))
        goto done;
    if (o->music && (st = nac_dataset_load(&music, o->music, c->sample_rate, 0, NULL, NULL, err)))
        goto done;
    say(report, ctx, "%d speech files (%.1f min), %d noise files, %d music files", speech.n_files,
        (double)speech.total / c->sample_rate / 60, noise.n_files, music.n_files);
    nac_noise_bank bank, vbank;
    nac_noise_bank_init(&bank, noise.n_files ? &noise : NULL, music.n_files ? &music : NULL, &speech);
    bank.to = o->noise_split;
    if ((st = nac_enh_train_create(&ws, n, B, T, err)))
        goto done;
    deg = calloc((size_t)B * T, sizeof *deg);
    clean = calloc((size_t)B * T, sizeof *clean);
    val.T = 4 * c->sample_rate / hop * hop;
    scratch = calloc(2 * (size_t)(T > val.T ? T : val.T), sizeof *scratch);
    if (!deg || !clean || !scratch) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (o->val) {
        /* fixed development pairs: dev speech, the held-out part of the noise, babble from dev speech */
        if ((st = nac_dataset_load(&vspeech, o->val, c->sample_rate, 0, NULL, NULL, err)))
            goto done;
        nac_noise_bank_init(&vbank, noise.n_files ? &noise : NULL, music.n_files ? &music : NULL, &vspeech);
        vbank.from = o->noise_split;
        val.V = o->val_files > 0 ? o->val_files : 16;
        val.deg = calloc((size_t)val.V * val.T, sizeof(float));
        val.clean = calloc((size_t)val.V * val.T, sizeof(float));
        val.y = calloc((size_t)val.V * val.T, sizeof(float));
        if (!val.deg || !val.clean || !val.y) {
            st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
            goto done;
        }
        nac_rng vr;
        nac_rng_seed(&vr, 12345);
        for (int v = 0; v < val.V; v++)
            nac_enh_make_pair(val.deg + (size_t)v * val.T, val.clean + (size_t)v * val.T, scratch, c->task, &vspeech,
                              &vbank, -5, 20, &vr, val.T);
        if ((st = nac_enh_train_create(&val.ws, n, val.V, val.T, err)))
            goto done;
        double sum = 0;
        int cnt = 0;
        for (int v = 0; v < val.V; v++) {
            double s;
            if (nac_si_sdr(&s, val.clean + (size_t)v * val.T, val.deg + (size_t)v * val.T, (size_t)val.T, NULL) ==
                    NAC_OK &&
                isfinite(s)) {
                sum += s;
                cnt++;
            }
        }
        val.in_sisdr = cnt ? sum / cnt : NAN;
        say(report, ctx, "validation: %d pairs of %.1f s from %s, input SI-SDR %.2f dB", val.V,
            (double)val.T / c->sample_rate, o->val, val.in_sisdr);
    }
    if (resumed)
        trim_log(logpath, step);
    if (!(log = fopen(logpath, resumed ? "a" : "w"))) {
        st = nac_error_set(err, NAC_ERR_IO, "%s: cannot open log: %s", logpath, strerror(errno));
        goto done;
    }
    if (!resumed)
        fprintf(log, "step,hours,loss,grad_norm,lr,steps_per_s,val_loss,val_sisdr_in,val_sisdr_out\n");

    nn_adamw opt = {0.9f, 0.999f, 1e-8f, 0.01f};
    double t_start = now(), t_last = t_start, ema = NAN;
    long step_last = step;
    while (step < o->steps && !(stop && *stop)) {
        if (o->time_limit > 0 && now() - t_start > o->time_limit)
            break;
        double t0 = now();
        for (int b = 0; b < B; b++)
            nac_enh_make_pair(deg + (size_t)b * T, clean + (size_t)b * T, scratch, c->task, &speech, &bank, o->snr_lo,
                              o->snr_hi, &rng, T);
        nac_enh_train_forward(ws, deg, NULL);
        nn_params_zero_grad(&n->p);
        double loss = nac_enh_train_backward(ws, clean, (float)o->w_cplx, (float)o->w_snr, o->snr_log);
        if (!isfinite(loss)) {
            st = nac_error_set(err, NAC_ERR_NUMERIC, "loss is not finite at step %ld", step);
            goto done;
        }
        double gnorm = nn_grad_clip(&n->p, o->clip);
        float lr = nn_lr_at(step, o->warmup, o->steps, (float)o->lr, (float)o->min_lr);
        step++;
        nn_adamw_step(&n->p, &opt, lr, step);
        secs += now() - t0;
        ema = isnan(ema) ? loss : 0.98 * ema + 0.02 * loss;
        double vl = NAN, vs = NAN;
        int do_val = val.ws && (step % o->val_every == 0 || step == o->steps);
        if (do_val) {
            nac_enh_train_forward(val.ws, val.deg, val.y);
            nn_params_zero_grad(&n->p); /* the validation backward only measures the loss */
            vl = nac_enh_train_backward(val.ws, val.clean, (float)o->w_cplx, (float)o->w_snr, o->snr_log);
            nn_params_zero_grad(&n->p);
            vs = mean_sisdr(val.clean, val.y, val.V, val.T, c->n_fft - c->hop);
        }
        if (step % o->print_every == 0 || do_val) {
            double t = now(), sps = (double)(step - step_last) / (t - t_last);
            fprintf(log, "%ld,%.4f,%.5f,%.4f,%.3g,%.3f,%.5f,%.3f,%.3f\n", step, secs / 3600, loss, gnorm, (double)lr, sps,
                    vl, val.in_sisdr, vs);
            fflush(log);
            say(report, ctx, "step %ld  loss %.4f  |g| %.2f  lr %.2e  %.2f steps/s (%.1f s audio/s)", step, ema, gnorm,
                (double)lr, sps, sps * B * T / c->sample_rate);
            if (do_val)
                say(report, ctx, "step %ld  validation: loss %.4f  SI-SDR %.2f dB (input %.2f dB)", step, vl, vs,
                    val.in_sisdr);
            t_last = t;
            step_last = step;
        }
        if (step % o->save_every == 0 && (st = save_all(n, step, secs, &rng, o, ckpt, err)))
            goto done;
    }
    if ((st = save_all(n, step, secs, &rng, o, ckpt, err)))
        goto done;
    say(report, ctx, "saved %s and %s at step %ld (%.2f h of training in all)", o->out, ckpt, step, secs / 3600);
done:
    if (log)
        fclose(log);
    free(deg);
    free(clean);
    free(scratch);
    free(val.deg);
    free(val.clean);
    free(val.y);
    nac_enh_train_destroy(val.ws);
    nac_enh_train_destroy(ws);
    nac_dataset_free(&speech);
    nac_dataset_free(&noise);
    nac_dataset_free(&music);
    nac_dataset_free(&vspeech);
    nac_weights_destroy(wf);
    nac_enh_net_destroy(n);
    return st;
}
