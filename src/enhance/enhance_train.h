/* Training of the enhancement models: pairs made on the fly (the clean crop is the label, a
 * degraded copy the input), AdamW with warm-up and cosine decay, gradient clipping, checkpoints
 * (MODEL.ckpt: parameters, moments, step, rng, wall time) that resume exactly, a CSV log and
 * validation on fixed development pairs. The library never prints: progress lines go to a callback. */
#ifndef NAC_ENHANCE_ENHANCE_TRAIN_H
#define NAC_ENHANCE_ENHANCE_TRAIN_H

#include <signal.h>

#include "core/rng.h"
#include "degrade/noise.h"
#include "model/dataset.h"
#include "nac/enhance.h"

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
    int snr_log;                   /* the SNR term in log form (default for dequantize) */
} nac_enh_train_opts;

void nac_enh_train_opts_default(nac_enh_train_opts *o, int task);

/* Makes one training pair: clean (T) a crop of speech at a random level, deg (T) its degraded
 * copy for task (denoise: noise from bank at an SNR in [snr_lo, snr_hi]; dequantize: mu-law,
 * A-law, 6-10 bit linear or sample-and-hold 2-4; bwe: 8 kHz or telephone band and back to 16 kHz).
 * scratch: 2 T floats. Returns a short name of the condition. */
const char *nac_enh_make_pair(float *deg, float *clean, float *scratch, int task, const nac_dataset *speech,
                              const nac_noise_bank *bank, double snr_lo, double snr_hi, nac_rng *rng, int T);

typedef void (*nac_enh_report)(void *ctx, const char *line);

/* Runs (or resumes) a training. stop (may be NULL) is polled every step: when it becomes nonzero
 * the run checkpoints and returns NAC_OK. report gets progress and validation lines (may be NULL). */
int nac_enh_train_run(const nac_enh_train_opts *o, nac_enh_report report, void *ctx, volatile sig_atomic_t *stop,
                      nac_error *err);

#endif
