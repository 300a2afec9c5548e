/* nac error detail: helpers around the nac_error of nac.h, for programs that report their own
 * failures the way the library does (the nac command line does). A nac_error belongs to its caller;
 * nothing here is global. Threading: each call touches only the nac_error it is given. */
#ifndef NAC_ERROR_H
#define NAC_ERROR_H

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records code and a printf-style message (truncated to fit msg) in e, if e is not NULL, and
 * returns code: `return nac_error_set(err, NAC_ERR_IO, "cannot open %s", path);` */
int nac_error_set(nac_error *e, int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Sets e (if not NULL) to NAC_OK with no message. */
void nac_error_clear(nac_error *e);

/* The message of e: its detail if one was set, otherwise nac_strerror(e->code); "unknown error"
 * for NULL. Never NULL; the pointer lives as long as e. */
const char *nac_error_message(const nac_error *e);

#ifdef __cplusplus
}
#endif
#endif
