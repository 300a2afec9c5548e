/* Training of the enhancement models: pairs made on the fly (the clean crop is the label, a
 * degraded copy the input), AdamW with warm-up and cosine decay, gradient clipping, checkpoints
 * (MODEL.ckpt: parameters, moments, step, rng, wall time) that resume exactly, a CSV log and
 * validation on fixed development pairs. The library never prints: progress lines go to a callback.
 * The options and the run are public (include/nac/enhance.h, "training"); this header adds the
 * pair maker that the trainer and the tests share. */
#ifndef NAC_ENHANCE_ENHANCE_TRAIN_H
#define NAC_ENHANCE_ENHANCE_TRAIN_H

#include "core/rng.h"
#include "degrade/noise.h"
#include "model/dataset.h"
#include "nac/enhance.h"

/* Makes one training pair: clean (T) a crop of speech at a random level, deg (T) its degraded
 * copy for task (denoise: noise from bank at an SNR in [snr_lo, snr_hi]; dequantize: mu-law,
 * A-law, 6-10 bit linear or sample-and-hold 2-4; bwe: 8 kHz or telephone band and back to 16 kHz).
 * scratch: 2 T floats. Returns a short name of the condition. */
const char *nac_enh_make_pair(float *deg, float *clean, float *scratch, int task, const nac_dataset *speech,
                              const nac_noise_bank *bank, double snr_lo, double snr_hi, nac_rng *rng, int T);

#endif
