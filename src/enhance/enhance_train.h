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
#include "nac/train.h"

/* The options are public (include/nac/train.h, nac_enhance_train_opts); the public entry points
 * nac_enhance_train_opts_default / nac_enhance_train_run wrap the two functions below. */
typedef nac_enhance_train_opts nac_enh_train_opts;

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
