/* Noise for training and test mixtures, drawn deterministically from a seeded rng: crops of
 * recorded noise files, babble (3 to 6 crops of other speech summed), music, and coloured
 * synthetic noise; each draw is filtered (random spectral tilt and one-pole low/high-pass) and
 * given a slow level modulation, so scarce recordings go further.
 * Each recording is used only within [from, to) of its length: split one folder into disjoint
 * training and development parts by time (e.g. [0, 0.75) and [0.75, 1)). */
#ifndef NAC_DEGRADE_NOISE_H
#define NAC_DEGRADE_NOISE_H

#include <stddef.h>

#include "core/rng.h"
#include "model/dataset.h"
#include "nac/degrade.h"

typedef struct nac_noise_bank {
    const nac_dataset *noise;  /* recordings (may be NULL) */
    const nac_dataset *music;  /* music (may be NULL) */
    const nac_dataset *speech; /* babble source (may be NULL) */
    double from, to;           /* share of each noise/music file used: [from, to) of its length */
    double p_noise, p_babble, p_music, p_synth; /* kind weights (normalised over available kinds) */
    int augment;               /* filtering and level modulation on (1) or off (0) */
} nac_noise_bank;

/* Defaults: [0, 1), weights 0.55 noise, 0.2 babble, 0.1 music, 0.15 synthetic, augment on. */
void nac_noise_bank_init(nac_noise_bank *b, const nac_dataset *noise, const nac_dataset *music,
                         const nac_dataset *speech);

/* Kinds a draw may have been: NAC_NOISE_* of nac/degrade.h. */

/* out (T) <- one noise draw (unit-free level: mix with nac_degrade_mix). scratch (T) is work space.
 * Returns the kind. Never silent: a silent crop is replaced by synthetic noise. */
int nac_noise_draw(float *out, float *scratch, const nac_noise_bank *b, nac_rng *rng, size_t T);

#endif
