/* nac enhance: restoring degraded speech (denoising, de-quantisation, bandwidth extension) with
 * small causal spectral models, streaming. Conventions as in nac.h: functions return a nac_status
 * (0 = NAC_OK, negative = error) with detail in the caller's nac_error; handles are opaque.
 *
 * A model is immutable once loaded: share one between any number of enhancers, in any threads;
 * it must outlive them. An enhancer is one stream for one thread at a time: push PCM at the
 * model's rate (16 kHz, mono, float in [-1, 1]) in chunks of any size and get restored PCM back.
 * The output does not depend on the chunking (bit-identical), and a push allocates nothing.
 * Output sample k + delay restores input sample k (delay: nac_enhance_info). */
#ifndef NAC_ENHANCE_H
#define NAC_ENHANCE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nac_enhance_task {
    NAC_ENHANCE_DENOISE = 0,    /* remove additive background noise */
    NAC_ENHANCE_DEQUANTIZE = 1, /* undo 8-bit mu-law / A-law / linear quantisation, sample-and-hold */
    NAC_ENHANCE_BWE = 2         /* bandwidth extension: 8 kHz (telephone) audio -> 16 kHz */
} nac_enhance_task;

/* "denoise", "dequantize", "bwe"; "?" for an unknown value. Never NULL. */
const char *nac_enhance_task_name(int task);
/* The task called name (also "dequantise"); NAC_ERR_ARG for an unknown name. */
int nac_enhance_task_parse(nac_enhance_task *out, const char *name);

typedef struct nac_enhance_model nac_enhance_model;

typedef struct nac_enhance_info {
    nac_enhance_task task;
    int sample_rate;      /* Hz of the PCM in and out (16000) */
    int hop;              /* samples per frame: output comes in whole frames (160) */
    int delay;            /* samples: output k + delay restores input k (160) */
    int latency;          /* algorithmic latency in samples: delay plus the frame wait (320 = 20 ms) */
    size_t n_params;      /* parameters of the network */
    long long train_steps; /* -1 if unknown */
    uint32_t hash;        /* CRC-32 of the model file */
} nac_enhance_info;

/* Loads a model file written by `nac train --task ...`. NAC_ERR_IO, NAC_ERR_FORMAT, NAC_ERR_CORRUPT,
 * NAC_ERR_TRUNCATED, NAC_ERR_UNSUPPORTED, or NAC_ERR_MODEL (not an enhancement model: e.g. a codec
 * model) with detail in err. */
int nac_enhance_model_load(nac_enhance_model **out, const char *path, nac_error *err);
/* From memory; data is not copied and must outlive the model. */
int nac_enhance_model_load_mem(nac_enhance_model **out, const void *data, size_t size, nac_error *err);
/* The model built into the library for task. */
int nac_enhance_model_load_builtin(nac_enhance_model **out, nac_enhance_task task, nac_error *err);
void nac_enhance_model_destroy(nac_enhance_model *m);
void nac_enhance_model_get_info(const nac_enhance_model *m, nac_enhance_info *info);
/* NAC_OK when m was trained for task, else NAC_ERR_MODEL ("model is a denoise model, not bwe"). */
int nac_enhance_model_check_task(const nac_enhance_model *m, nac_enhance_task task, nac_error *err);

typedef struct nac_enhancer nac_enhancer;

int nac_enhancer_create(nac_enhancer **out, const nac_enhance_model *m, nac_error *err);
void nac_enhancer_destroy(nac_enhancer *e);
/* Most samples a push of n samples can return: n + hop - 1 rounded down to whole hops. */
size_t nac_enhancer_max_output(const nac_enhancer *e, size_t n);
/* Consumes pcm (n samples, any n including 0) and writes the restored samples of every frame it
 * completes to out, *got of them (a multiple of hop). cap must be at least
 * nac_enhancer_max_output(e, n) (NAC_ERR_ARG otherwise, consuming nothing). A non-finite sample
 * is NAC_ERR_NUMERIC, consuming nothing. */
int nac_enhancer_push(nac_enhancer *e, float *out, size_t cap, size_t *got, const float *pcm, size_t n,
                      nac_error *err);
/* Ends the stream: pads with zeros so that every input sample has come out (delay + the partial
 * frame): writes up to nac_enhancer_max_output(e, delay + hop) samples. The enhancer is then reset. */
int nac_enhancer_flush(nac_enhancer *e, float *out, size_t cap, size_t *got, nac_error *err);
/* Back to the initial state (a new stream). */
void nac_enhancer_reset(nac_enhancer *e);

/* Whole-signal convenience: restores x (n samples at the model rate) into y (n samples, aligned:
 * y[k] restores x[k], the delay removed). Uses one enhancer internally. */
int nac_enhance_buffer(const nac_enhance_model *m, float *y, const float *x, size_t n, nac_error *err);

/* ---- training ----------------------------------------------------------------------------------
 * Training of an enhancement model (what `nac train --task` runs): pairs made on the fly (a clean
 * crop of speech is the label, a degraded copy the input: noise from folders at an SNR drawn from
 * a range, 8-bit quantisers and sample-and-hold, or narrowband copies), AdamW with warm-up and
 * cosine decay, gradient clipping, checkpoints (MODEL.ckpt: parameters, moments, step, rng, wall
 * time) that resume exactly, a CSV log and validation on fixed development pairs. */

/* Every field is set by nac_enh_train_opts_default; the strings are only read during the run. */
typedef struct nac_enh_train_opts {
    int task;                      /* nac_enhance_task */
    const char *data, *val;        /* speech folders (val may be NULL) */
    const char *noise, *music;     /* noise and music folders (denoise; may be NULL) */
    const char *out, *log;         /* model path (checkpoint out.ckpt); log path (NULL: out with .csv) */
    long steps;
    double time_limit;             /* seconds of wall time, 0 = none */
    int batch, warmup, seed, save_every, val_every, val_files, print_every, threads;
    double seconds, lr, min_lr, clip, w_cplx, w_snr;
    double snr_lo, snr_hi;         /* denoise: training SNR range in dB */
    double noise_split;            /* noise files: training uses [0, split) of each, validation [split, 1) */
    int channels, hidden, blocks, kernel; /* architecture of a new model (0: defaults) */
    const char *init;              /* a new run (no checkpoint yet) starts from this model's weights
                                    * instead of random ones: a model file of the same task, or
                                    * "builtin" (the library's model for the task); NULL: random.
                                    * Fine-tuning: its architecture is kept (the four fields above
                                    * must be 0), the optimizer and step start afresh */
    int snr_log;                   /* the SNR term in log form (default for dequantize) */
} nac_enh_train_opts;

/* The defaults for task (nac_enhance_task): the training recipe of the built-in model, no paths. */
void nac_enh_train_opts_default(nac_enh_train_opts *o, int task);

/* Progress and validation lines, one at a time, without a newline. */
typedef void (*nac_enh_report)(void *ctx, const char *line);

/* Runs a training (from random weights, or from o->init), or resumes it exactly from o->out with
 * ".ckpt" appended when that exists (o->init is then ignored): loads
 * the folders, trains until o->steps or o->time_limit, and writes o->out, its checkpoint and the
 * log. stop (may be NULL) is polled every step (a signal handler may set it): when it becomes
 * nonzero the run checkpoints and returns NAC_OK. report (may be NULL) gets progress and
 * validation lines, from the calling thread. Threading: the steps run on an OpenMP team; o->threads
 * > 0 sets the calling thread's OpenMP thread count (omp_set_num_threads), 0 leaves it. One run per
 * output path at a time. Errors: NAC_ERR_ARG (options), NAC_ERR_IO, NAC_ERR_EMPTY (a folder without
 * audio), NAC_ERR_FORMAT or NAC_ERR_MODEL (a checkpoint that does not fit), NAC_ERR_NUMERIC (the
 * loss diverged), NAC_ERR_NOMEM. */
int nac_enh_train_run(const nac_enh_train_opts *o, nac_enh_report report, void *ctx, volatile sig_atomic_t *stop,
                      nac_error *err);

#ifdef __cplusplus
}
#endif
#endif
