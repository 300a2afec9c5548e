/* nac train: the command-line front end of the trainer in the library (include/nac/train.h): options,
 * signals and the progress line. Enhancement models (--task) go to nac_cmd_train_enhance. */
#include "cmd.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nac/train.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

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
            "  --p-any P          share of those that draw any stage count instead (default 0): trains\n"
            "                     the rates between, which --vbr --kbps uses (2, 2.5, 4, 5 kbps ...)\n"
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
            "  --threads N        OpenMP threads (default: all cores; under mpirun: per rank)\n"
            "  --shards N         cut each batch into N shards whose gradients are summed in a fixed\n"
            "                     order (default: one per MPI rank, or the checkpoint's): any number of\n"
            "                     ranks dividing N gives the same result, bit for bit\n"
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
            "data parallel (a build with make MPI=1): mpirun -np N nac train ... runs N ranks; each computes\n"
            "its shards of every batch, rank 0 validates, logs and writes the files (docs/training.md).\n\n"
            "examples:\n"
            "  nac train --data ../shared/data/train --val ../shared/data/dev --out my.nacw --time-limit 3600\n"
            "  mpirun -np 4 --hostfile hosts nac train --data /shared/train --out /shared/my.nacw --threads 1\n");
}

static int parse(nac_train_opts *o, int argc, char **argv)
{
    nac_train_opts_default(o);
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
        NUM("--shards", shards) NUM("--seconds", seconds) NUM("--lr", lr) NUM("--min-lr", min_lr)
        NUM("--warmup", warmup) NUM("--clip", clip) NUM("--mel-weight", w_mel) NUM("--stft-weight", w_stft)
        NUM("--p-full", p_full) NUM("--p-any", p_any) NUM("--phase-weight", w_phase) NUM("--phase-stages", phase_stages)
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
    if (o->batch < 1 || o->seconds <= 0 || o->save_every < 1 || o->print_every < 1 || o->val_every < 1) {
        fprintf(stderr, "nac train: --batch, --seconds, --save-every, --print-every, --val-every must be positive\n");
        return 2;
    }
    return 0;
}

/* Progress on stderr: one line rewritten in place on a terminal, one line per report otherwise. */
typedef struct progress {
    int tty;
    double hours; /* of training in all, at the last save */
} progress;

static void report(void *ctx, nac_train_event ev, const char *note, const nac_train_stats *s)
{
    progress *p = ctx;
    int tty = p->tty;
    switch (ev) {
    case NAC_TRAIN_NOTE:
        fprintf(stderr, "nac train: %s\n", note);
        break;
    case NAC_TRAIN_PROGRESS:
        fprintf(stderr,
                "%sstep %ld  mel %.4f  stft %.4f  phase %.3f  if %.3f  vq %.4f  |g| %.2f  lr %.2e  %.2f steps/s (%.1f s audio/s)  ETA %.1f h",
                tty ? "\r" : "", s->step, s->ema_mel, s->ema_stft, s->ema_phase, s->ema_if, s->vq_commit, s->grad_norm,
                s->lr, s->steps_per_s, s->audio_s_per_s, s->eta_hours);
        if (s->ranks > 1)
            fprintf(stderr, "  comm %.1f ms/step", 1e3 * s->comm_s_per_step);
        fputs(tty ? "   " : "\n", stderr);
        if (s->adversarial)
            fprintf(stderr, "%sstep %ld  adv %.4f  fm %.4f  disc %.4f%s", tty ? "\n" : "", s->step, s->adv, s->fm, s->disc,
                    tty ? "" : "\n");
        break;
    case NAC_TRAIN_VALIDATION:
        fprintf(stderr, "%sstep %ld  validation at %g kbps: STOI %.4f  mel distance %.4f\n", tty ? "\n" : "", s->step,
                s->val_kbps, s->val_stoi, s->val_mel);
        break;
    case NAC_TRAIN_SAVED:
        p->hours = s->hours;
        break;
    }
}

int nac_cmd_train(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) /* enhancement models have their own trainer (src/enhance) */
        if (!strcmp(argv[i], "--task"))
            return nac_cmd_train_enhance(argc, argv);
    nac_train_opts o;
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc == 1 ? 0 : rc;
    int tty = isatty(2), rank = 0, size = 1;
    progress pr = {tty, 0};
    nac_error err = {0};
    nac_trainer *t = NULL;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int st = nac_trainer_create(&t, &o, report, &pr, &err);
    if (st == NAC_ERR_ARG) { /* options that do not fit together (shards, batch, ...): a usage error */
        fprintf(stderr, "nac train: %s\n", err.msg[0] ? err.msg : nac_strerror(st));
        return 2;
    }
    if (st == NAC_OK) {
        nac_trainer_ranks(t, &rank, &size);
        st = nac_trainer_run(t, &stop_requested, &err);
    }
    if (st) {
        const char *msg = err.msg[0] ? err.msg : nac_strerror(st);
        if (size > 1)
            fprintf(stderr, "%snac train: rank %d of %d: %s; ending the job\n", tty ? "\n" : "", rank, size, msg);
        else
            fprintf(stderr, "%snac train: %s\n", tty ? "\n" : "", msg);
        nac_trainer_abort(t, 1);
        nac_trainer_destroy(t);
        return 1;
    }
    if (rank == 0)
        fprintf(stderr, "%snac train: saved %s and %s.ckpt at step %ld (%.2f h of training in all)\n", tty ? "\n" : "",
                o.out, o.out, nac_trainer_step_count(t), pr.hours);
    nac_trainer_destroy(t);
    return 0;
}
