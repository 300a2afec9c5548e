/* nac: neural audio codec and vector-quantisation toolkit. Public API.
 * Every function that can fail returns a nac_status (0 = NAC_OK, negative = error);
 * results come back through out-parameters. Handles are opaque. */
#ifndef NAC_NAC_H
#define NAC_NAC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NAC_VERSION_STRING "0.1.0"

typedef enum nac_status {
    NAC_OK = 0,
    NAC_ERR_ARG = -1,         /* invalid argument */
    NAC_ERR_NOMEM = -2,       /* allocation failed */
    NAC_ERR_IO = -3,          /* file could not be opened, read or written */
    NAC_ERR_FORMAT = -4,      /* input is not in the expected format */
    NAC_ERR_CORRUPT = -5,     /* checksum mismatch or inconsistent content */
    NAC_ERR_TRUNCATED = -6,   /* input ends early */
    NAC_ERR_UNSUPPORTED = -7, /* valid but not supported (version, feature) */
    NAC_ERR_EMPTY = -8,       /* input holds no data */
    NAC_ERR_NUMERIC = -9,     /* NaN or infinity where a finite number is required */
    NAC_ERR_MODEL = -10,      /* model missing, mismatched or incompatible */
    NAC_ERR_STATE = -11,      /* call not valid in the handle's current state */
    NAC_ERR_INTERNAL = -12    /* a bug in nac */
} nac_status;

/* Short description of a status code; never NULL. */
const char *nac_strerror(int status);

#ifdef __cplusplus
}
#endif
#endif
