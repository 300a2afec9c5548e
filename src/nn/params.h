/* The parameter table: one list of named tensors (shape, init, weight decay) drives allocation, init,
 * save/load and gradient checks. Storage is llm.c-style: one 64-byte-aligned arena each for data,
 * grad and the AdamW moments m, v; every tensor starts on a 64-byte boundary. */
#ifndef NAC_NN_PARAMS_H
#define NAC_NN_PARAMS_H

#include <stddef.h>

#include "core/rng.h"
#include "core/status.h"
#include "nn/gemm.h"

typedef enum nn_init { NN_INIT_ZERO, NN_INIT_ONE, NN_INIT_CONST, NN_INIT_NORMAL, NN_INIT_UNIFORM } nn_init;

/* scale: std for NORMAL, bound for UNIFORM (values in [-scale, scale)), value for CONST.
 * decay: 1 if AdamW weight decay applies. offset, numel: position and size in the arenas (floats). */
typedef struct nn_tensor {
    char name[64];
    int ndim;
    int shape[4];
    size_t offset, numel;
    nn_init init;
    float scale;
    int decay;
} nn_tensor;

/* Zero-initialise (nn_params p = {0};) before the first add. data/grad/m/v are NULL until alloc
 * (m, v stay NULL without an optimizer). */
typedef struct nn_params {
    nn_tensor *t;
    int n, cap;
    size_t total;
    float *data, *grad, *m, *v;
    void **packed;         /* (n) per tensor, NULL or a packed copy for inference (nn_params_set_packed) */
    size_t *packed_count;  /* (n) elements of each packed copy, 0 where there is none */
    int packed_half;       /* the packed copies hold IEEE halves (nn_params_pack_half), not floats */
    int borrowed;          /* data and the packed copies are read-only memory the table does not own
                              (a model image: nn_params_borrow) */
} nn_params;

/* Appends a tensor. Returns its index >= 0, or NAC_ERR_ARG (bad name/shape, duplicate name, table
 * already allocated), NAC_ERR_NOMEM. 1 <= ndim <= 4, every shape[i] >= 1. */
int nn_params_add(nn_params *p, const char *name, int ndim, const int *shape, nn_init init, float scale,
                  int decay, nac_error *err);
/* Allocates the arenas (zero-filled): data and grad, plus m and v if with_optimizer > 0; data only
 * when with_optimizer < 0 (NN_PARAMS_INFERENCE: a model that is never trained).
 * Returns 0, NAC_ERR_STATE (already allocated or empty table) or NAC_ERR_NOMEM. */
int nn_params_alloc(nn_params *p, int with_optimizer, nac_error *err);
#define NN_PARAMS_INFERENCE (-1)
/* Fills data in table order from rng (deterministic for a seed). */
void nn_params_init(nn_params *p, nac_rng *rng);
/* Index of the tensor called name, or -1. */
int nn_params_find(const nn_params *p, const char *name);
float *nn_params_data(nn_params *p, int idx);
/* Gives tensor idx a packed copy of its data, of `floats` floats (nac_alloc'd; the table owns it
 * from now on; the data must not change afterwards). Returns 0 or NAC_ERR_NOMEM (buf is freed). */
int nn_params_set_packed(nn_params *p, int idx, float *buf, size_t floats, nac_error *err);
/* Once every packed copy is set: stores them as IEEE halves if every packed value is exactly one (a
 * model stored in f16), halving what a streaming call reads. Returns 1 if it did, 0 if not (the
 * floats stay), or NAC_ERR_NOMEM. */
int nn_params_pack_half(nn_params *p, nac_error *err);
/* Instead of nn_params_alloc, for inference only: where packed[i] is not NULL, tensor i is read
 * through its packed copy of packed_count[i] elements (halves if half, else floats) and its raw
 * floats are absent (nn_params_data gives a pointer that must not be read); kept holds the other
 * tensors' floats back to back in table order (kept_floats in all: the tensors' offsets are
 * rewritten to it). All of it is read-only memory that outlives the table (a model image in the
 * library's read-only data). Nothing is copied; p must never be trained or written. Returns 0,
 * NAC_ERR_STATE (already allocated), NAC_ERR_FORMAT (kept_floats is not the unpacked tensors'
 * size) or NAC_ERR_NOMEM. */
int nn_params_borrow(nn_params *p, const float *kept, size_t kept_floats, const void *const *packed,
                     const size_t *packed_count, int half, nac_error *err);
/* The packed copy of tensor idx (data NULL when there is none). */
nn_packed nn_params_packed(const nn_params *p, int idx);
float *nn_params_grad(nn_params *p, int idx);
void nn_params_zero_grad(nn_params *p);
/* Frees table and arenas; p is zeroed. NULL is a no-op. */
void nn_params_free(nn_params *p);

#endif
