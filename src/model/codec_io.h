/* Saving and loading a codec network through the weight format (src/format/weights.h):
 * config keys "codec.<key>" (src/model/codec_config.h), one tensor per parameter under its table
 * name, the VQ state as "rvq.state", and for checkpoints the AdamW moments as "adam.m.<name>" and
 * "adam.v.<name>" (float32 for exact resumption, or bfloat16 for compact checkpoints). */
#ifndef NAC_MODEL_CODEC_IO_H
#define NAC_MODEL_CODEC_IO_H

#include <stddef.h>

#include "format/weights.h"
#include "model/codec_net.h"

typedef struct nac_codec_save_opts {
    int with_optimizer;     /* store AdamW moments */
    nac_dtype moments_dtype; /* NAC_DTYPE_F32 (exact) or NAC_DTYPE_BF16 (half the size) */
    nac_dtype params_dtype;  /* NAC_DTYPE_F32 normally */
    int skip_first_moment;   /* store only adam.v (compact checkpoints: m restarts from 0) */
    const char *const *extra; /* NULL-terminated key, value, key, value, ... (may be NULL) */
} nac_codec_save_opts;

int nac_codec_net_save(const nac_codec_net *n, const char *path, const nac_codec_save_opts *opts, nac_error *err);

/* Reads the codec config of a loaded weight file (defaults for absent keys; NAC_ERR_MODEL when it
 * is not a codec file). */
int nac_codec_config_from_weights(nac_codec_config *cfg, const nac_weights *w, nac_error *err);
/* Creates a net from w (with_optimizer as nn_params_alloc: NN_PARAMS_INFERENCE for no gradients);
 * with_optimizer > 0 also allocates moments and loads them when present
 * (*had_moments tells, may be NULL). */
int nac_codec_net_from_weights(nac_codec_net **out, const nac_weights *w, int with_optimizer, int *had_moments,
                               nac_error *err);

/* Fills an initialised net n (of another config than w's, typically grown) from w, no moments:
 * a tensor of w with the same name and shape is copied; one whose first dimension differs but
 * whose other dimensions agree gives the leading rows both have (a head that gained outputs keeps
 * the old ones); every other tensor keeps its initialisation. The VQ state is copied when its size
 * agrees. note(ctx, name, what) is told of each tensor not copied whole (may be NULL). */
typedef void (*nac_codec_graft_note)(void *ctx, const char *name, const char *what);
int nac_codec_net_graft(nac_codec_net *n, const nac_weights *w, nac_codec_graft_note note, void *ctx, nac_error *err);

#endif
