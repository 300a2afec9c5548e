/* Status codes with detail: a nac_error (include/nac/nac.h) carries the code and a message for one handle or call.
 * Never global: callers pass their own nac_error (or NULL when they only want the code). */
#ifndef NAC_CORE_STATUS_H
#define NAC_CORE_STATUS_H

#include "nac/nac.h"

/* Records code and a printf-style message in e (if e is not NULL) and returns code.
 * Usage: return nac_error_set(err, NAC_ERR_IO, "cannot open %s", path); */
int nac_error_set(nac_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears e (if not NULL). */
void nac_error_clear(nac_error *e);

/* The detailed message if one was set, otherwise nac_strerror(code). Never NULL. */
const char *nac_error_message(const nac_error *e);

#endif
