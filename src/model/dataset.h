/* Training audio in memory: every audio file under a folder, mono at the model's rate, drawn as
 * random crops with gain augmentation. Memory: 4 bytes per sample (164 minutes at 16 kHz: 630 MB). */
#ifndef NAC_MODEL_DATASET_H
#define NAC_MODEL_DATASET_H

#include <stddef.h>

#include "core/rng.h"
#include "core/status.h"

typedef struct nac_dataset {
    int sample_rate;
    int n_files;
    float **audio;     /* per file, owned */
    size_t *len;       /* samples per file */
    char **path;       /* per file, owned */
    size_t total;      /* samples in all files */
    int skipped;       /* files that could not be read (reported through the callback) */
} nac_dataset;

/* Called for each file that is skipped (unreadable) or note-worthy; may be NULL. */
typedef void (*nac_dataset_note)(void *ctx, const char *path, const char *what);

/* Loads every file under dir (recursively; extensions wav, flac, ogg, oga, aif, aiff, au) sorted
 * by path, resampled to sample_rate. max_files > 0 limits the count (for validation sets).
 * NAC_ERR_EMPTY when nothing readable is found. */
int nac_dataset_load(nac_dataset *ds, const char *dir, int sample_rate, int max_files, nac_dataset_note note,
                     void *ctx, nac_error *err);
void nac_dataset_free(nac_dataset *ds);

/* Fills x (B, T) with random crops (file chosen with probability proportional to its length;
 * shorter files zero-padded), each scaled to an RMS level drawn uniformly in [lo_db, hi_db] dBFS
 * (peak kept below 0.99). */
void nac_dataset_batch(float *x, const nac_dataset *ds, nac_rng *rng, int B, int T, float lo_db, float hi_db);
/* The rank-aware sampler of data-parallel training: makes every draw of a batch of B (so rng ends
 * where nac_dataset_batch leaves it) but fills only rows [b0, b1) of it, into x (b1 - b0, T).
 * Rows equal those of the whole batch bit for bit: each rank replays the shared seeded stream and
 * keeps its own share. */
void nac_dataset_batch_rows(float *x, const nac_dataset *ds, nac_rng *rng, int B, int T, float lo_db, float hi_db,
                            int b0, int b1);

#endif
