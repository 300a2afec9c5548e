/* The bytes of the built-in model file (models/default.nacw), embedded in the library. */
#ifndef NAC_MODEL_DEFAULT_MODEL_H
#define NAC_MODEL_DEFAULT_MODEL_H

#include <stddef.h>

void nac_default_model_bytes(const void **data, size_t *size);

#endif
