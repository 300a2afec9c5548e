/* A model image: a codec model as inference holds it in memory (the packed copies of the
 * convolution weights, the f32 parameters of every other tensor, the packed RVQ lookup tables),
 * laid out so that a model is made from it without reading, converting or checking a weight. The
 * build freezes the built-in model into one (scripts/model_freeze.c) and assembles it into the
 * library's read-only data, so nac_model_load_default costs a few allocations and the pages are
 * shared between processes. The raw floats of packed tensors, which inference never reads, are
 * left out (nn_params_borrow's compact arena).
 *
 * Layout (native byte order and float format, checked by a tag; every section 64-byte aligned):
 *   0   header (128 bytes): magic "NACIMG02", byte-order tag, layout tag (packing constants), model
 *       hash, tensor count, whether the packed copies are halves, kept floats, training steps, arena floats,
 *       config bytes, RVQ lookup floats, size
 *   128 config text, "key=value\n" lines of the codec config
 *       packed sizes: one uint64 per tensor, the elements of its packed copy (0: none)
 *       kept: the f32 parameters of the tensors without a packed copy, in tensor order
 *       packed copies, in tensor order, each starting on 64 bytes
 *       the RVQ lookup tables
 * An image belongs to the build that made it (the layout follows the engine's packing); it is not a
 * file format. */
#ifndef NAC_MODEL_MODEL_IMAGE_H
#define NAC_MODEL_MODEL_IMAGE_H

#include <stddef.h>

#include "nac/nac.h"

/* Writes the image of m (a model loaded from a weight file) to path. */
int nac_model_image_write(const nac_model *m, const char *path, nac_error *err);

/* A model that reads its weights in place from image (size bytes, 64-byte aligned, never changed,
 * outliving the model). NAC_ERR_FORMAT for something that is not an image of this build. */
int nac_model_image_load(nac_model **out, const void *image, size_t size, nac_error *err);

#endif
