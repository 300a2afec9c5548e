/* nac training: the trainer of the codec (the loop of `nac train`) as a library handle, on one
 * process or data-parallel over MPI. Conventions as in nac.h: functions return a nac_status (0 =
 * NAC_OK, negative = error) with detail in the caller's nac_error; the handle is opaque.
 *
 * A trainer owns everything it creates: the network, its optimiser state, the training audio in
 * memory, the workspaces and the CSV log. It writes MODEL (inference weights), MODEL.ckpt
 * (parameters, AdamW moments, step, random state: a resumed run continues exactly) and MODEL.csv;
 * files are written to a temporary name and renamed, so an interrupted save leaves the last
 * checkpoint whole. The library never prints: notes, progress and validation reach the caller
 * through the report callback, on rank 0 only.
 *
 * Threads: a trainer is used from one thread at a time; its steps run OpenMP inside (opts.threads,
 * or the OpenMP default), with results identical for any thread count.
 *
 * Data parallel (a build with `make MPI=1`, started by `mpirun -np N nac train ...`): every rank
 * creates a trainer with the same options; each step is then collective (every rank calls the
 * same functions in the same order). A global batch of `batch` examples is cut into `shards`
 * shards (default: the number of ranks; a multiple of it); each rank draws its own shards' examples
 * from the seeded sampler that all ranks replay, computes their gradients, and the shard gradients
 * are summed in shard order. A run with N ranks is therefore bit-identical to one process with the
 * same batch and shards. Rank 0 validates, logs and writes the files; a resumed run may use another
 * N. With shards = 1 on one process the step is the classic one (bit-identical to earlier nac).
 * When any call fails on one rank of several, call nac_trainer_abort so the others do not wait. */
#ifndef NAC_TRAIN_H
#define NAC_TRAIN_H

#include <signal.h>
#include <stddef.h>

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nac_train_opts {
    const char *data;       /* training audio folder (required; every rank reads it whole) */
    const char *val;        /* validation audio folder, or NULL */
    const char *init;       /* start from this model's weights ("default": the built-in one), or NULL */
    const char *out;        /* model path (required); checkpoint out.ckpt */
    const char *config;     /* architecture file ('key = value' lines) of a new run, or NULL */
    const char *log;        /* CSV log path; NULL: out with .csv for its extension */
    long steps;             /* train until this step (100000) */
    double time_limit;      /* stop with a checkpoint after this many seconds of wall time (0: none) */
    int threads;            /* OpenMP threads (0: the OpenMP default) */
    int batch;              /* global batch in examples (16) */
    int shards;             /* shards of the batch (0: the number of ranks; stored in the checkpoint) */
    double seconds;         /* crop length (1.0) */
    double lr, min_lr;      /* peak and final learning rate (5e-4, 5e-5) */
    int warmup;             /* warm-up steps (500) */
    double clip;            /* gradient-norm clipping (10) */
    double w_mel, w_stft;   /* loss weights (15, 1) */
    double p_full;          /* share of examples with all VQ stages (0.25) */
    double p_any;           /* share of the others drawing any stage count 1..S (0: only 3, 6, 12,
                             * 24, 48, the rates of the built-in model's training) */
    double w_phase, w_if, w_gd; /* phase-loss weights (0) */
    int phase_stages;       /* the phase loss applies from this many stages (24) */
    double dead_threshold;  /* VQ dead-code threshold (-1: the model's) */
    int seed;               /* initialisation and data order (1) */
    int save_every;         /* checkpoint interval (200) */
    int val_every, val_files; /* validation interval (1000) and files (16) */
    double val_kbps;        /* validation bitrate (6) */
    int print_every;        /* progress and log interval (10) */
    int compact;            /* small checkpoints (bf16 second moments, no first moments) */
    double w_adv, w_fm, disc_lr; /* adversarial stage (0 = off; 2; -1 = lr); one process only */
    long adv_start;
} nac_train_opts;

/* The defaults above. */
void nac_train_opts_default(nac_train_opts *o);

typedef enum nac_train_event {
    NAC_TRAIN_NOTE = 0,     /* a line of text (starting the run, a skipped file, resuming, ...) */
    NAC_TRAIN_PROGRESS = 1, /* every print_every steps: stats filled, one CSV row written */
    NAC_TRAIN_VALIDATION = 2, /* after a validation: stats.val_* filled */
    NAC_TRAIN_SAVED = 3     /* checkpoint and model written */
} nac_train_event;

typedef struct nac_train_stats {
    long step, steps;       /* steps done, target */
    double hours;           /* training wall time over all sessions */
    double loss, mel, stft, vq_commit, phase, ifreq, gdelay; /* this step's losses (batch means) */
    double ema_mel, ema_stft, ema_phase, ema_if; /* smoothed for display */
    double grad_norm, lr;
    double steps_per_s, audio_s_per_s, eta_hours;
    double comm_s_per_step; /* seconds per step spent in communication since the last report */
    int adversarial;        /* adv, fm, disc are valid */
    double adv, fm, disc;
    double val_stoi, val_mel, val_kbps; /* NAN when not validated at this step */
    int ranks, shards, batch;
} nac_train_stats;

/* Called on rank 0 only. note is a line for NOTE events (else NULL); stats is valid for the call. */
typedef void (*nac_train_report)(void *ctx, nac_train_event ev, const char *note, const nac_train_stats *stats);

typedef struct nac_trainer nac_trainer;

/* Sets up a run: resumes from out.ckpt when it exists, else fine-tunes from init, else starts a new
 * model; loads the audio; under mpirun joins the job (MPI_Init). report (may be NULL) with ctx.
 * NAC_ERR_ARG (bad options: batch not a multiple of shards, shards not a multiple of the ranks,
 * the adversarial stage with several shards), NAC_ERR_IO, NAC_ERR_FORMAT, NAC_ERR_MODEL,
 * NAC_ERR_EMPTY (no audio), NAC_ERR_NOMEM. *out is NULL on failure. */
int nac_trainer_create(nac_trainer **out, const nac_train_opts *o, nac_train_report report, void *ctx,
                       nac_error *err);
/* One optimiser step on the next batch (collective). NAC_ERR_NUMERIC when a loss is not finite
 * (on every rank alike), NAC_ERR_IO for a failed exchange. */
int nac_trainer_step(nac_trainer *t, nac_error *err);
/* STOI and mean mel distance of the current model on the validation files at val_kbps (NAN without
 * --val). Rank 0 computes; other ranks get NAN without waiting. */
int nac_trainer_validate(nac_trainer *t, double *stoi, double *mel, nac_error *err);
/* Writes out.ckpt and out (rank 0; a no-op elsewhere). NAC_ERR_IO. */
int nac_trainer_save(nac_trainer *t, nac_error *err);
/* The loop of `nac train`: steps until opts.steps, the time limit or *stop (may be NULL) becoming
 * nonzero on any rank, with progress rows, validation every val_every steps, checkpoints every
 * save_every steps and at the end. */
int nac_trainer_run(nac_trainer *t, volatile sig_atomic_t *stop, nac_error *err);
/* Steps done so far; this process's rank and the number of ranks (1 without MPI). */
long nac_trainer_step_count(const nac_trainer *t);
void nac_trainer_ranks(const nac_trainer *t, int *rank, int *size);
/* Ends the whole job after an error on one rank (MPI_Abort with code); returns when there is only
 * one rank. For front ends, which decide how a process ends. */
void nac_trainer_abort(nac_trainer *t, int code);
/* Frees everything (leaves MPI: MPI_Finalize). NULL is a no-op. */
void nac_trainer_destroy(nac_trainer *t);
/* 1 when libnac was built with MPI (make MPI=1). */
int nac_train_mpi_built(void);

/* ---- the VQ-VAE on feature files (`nac vqvae train`) ----------------------------------------
 * Random sequences of a raw float32 feature file (rows of k features), AdamW with warm-up and
 * cosine decay, k-means initialisation of the codebooks at vq_start, checkpoints in the model file
 * (with the AdamW moments) every save_every steps and at the end; resume continues from it. One
 * process (no MPI); OpenMP inside. Progress lines come as NAC_TRAIN_NOTE events. */
typedef struct nac_vqvae_train_opts {
    const char *in, *val, *out; /* training features, held-out features (or NULL), model path */
    int k, ncat, dim, hidden, stages, entries, ema; /* architecture of a new model (defaults: 20 1 10 128 2 512 0) */
    double noise_var;       /* Gaussian noise on the latent in training (0) */
    long steps;             /* 4000 */
    int batch, seq;         /* sequences per step (32) of seq latent steps (32) */
    double lr;              /* peak learning rate (1e-3) */
    long vq_start;          /* steps as a plain autoencoder before the VQ (-1: steps / 10) */
    double time_limit;      /* seconds (0: none) */
    long save_every;        /* 500 */
    int resume;             /* continue from out */
    unsigned long long seed; /* 1 */
    int threads;            /* OpenMP threads (0: default) */
} nac_vqvae_train_opts;

void nac_vqvae_train_opts_default(nac_vqvae_train_opts *o);
/* Trains (or resumes) until steps, the time limit or *stop (may be NULL) becoming nonzero; saves
 * at the end. NAC_ERR_ARG (options, too little data), NAC_ERR_IO, NAC_ERR_FORMAT, NAC_ERR_MODEL,
 * NAC_ERR_NUMERIC, NAC_ERR_NOMEM. Threads: one call per thread at a time. */
int nac_vqvae_train_run(const nac_vqvae_train_opts *o, nac_train_report report, void *ctx,
                        volatile sig_atomic_t *stop, nac_error *err);

#ifdef __cplusplus
}
#endif

#endif
