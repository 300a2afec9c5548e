/* A tensor table (nn/params.h) in a weight file (format/weights.h): each parameter under its
 * table name, its AdamW moments as "adam.m.<name>" and "adam.v.<name>". Shared by every model
 * that saves a table (the codec, the discriminator). */
#ifndef NAC_NN_PARAMS_IO_H
#define NAC_NN_PARAMS_IO_H

#include "format/weights.h"
#include "nn/params.h"

typedef struct nn_params_names nn_params_names; /* the moments' names, which the writer points to */

/* Adds p's parameters as params_dtype and, when p has moments, the first (with_m) and second
 * (with_v) moments as moments_dtype. The writer keeps pointers to the data and to the names in
 * *names: keep both until the last save, then nn_params_names_free(*names). */
int nn_params_write(nac_weights_writer *w, const nn_params *p, nac_dtype params_dtype, nac_dtype moments_dtype,
                    int with_m, int with_v, nn_params_names **names, nac_error *err);
void nn_params_names_free(nn_params_names *names);

/* NAC_OK when every tensor of p's plan (nn_params_add, before nn_params_alloc) is in w with its
 * shape, else NAC_ERR_MODEL naming the first that is missing or of another shape. Loaders call it
 * before allocating, so that a file of a few config keys never costs the memory of the network it
 * describes: what is allocated is then bounded by the size of the file itself. */
int nn_params_check_file(const nn_params *p, const nac_weights *w, nac_error *err);
/* The same for one tensor outside a table (a VQ state): name in w with ndim dimensions of shape. */
int nn_weights_check_tensor(const nac_weights *w, const char *name, int ndim, const size_t *shape, nac_error *err);

/* Reads p's parameters (every one must be there with its shape) and, when with_moments and p has
 * moment arrays, each moment kind the file holds (told by *had_m, *had_v; either may be NULL). */
int nn_params_read(nn_params *p, const nac_weights *w, int with_moments, int *had_m, int *had_v, nac_error *err);

#endif
