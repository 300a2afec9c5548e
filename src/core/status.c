/* Status code table and per-call error detail. */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_text[] = {
    "success",
    "invalid argument",
    "out of memory",
    "input/output error",
    "unrecognised format",
    "corrupt data",
    "truncated input",
    "unsupported feature or version",
    "empty input",
    "non-finite number",
    "model missing or incompatible",
    "invalid call for the current state",
    "internal error",
};

const char *nac_strerror(int status)
{
    int i = -status;
    if (i < 0 || i >= (int)(sizeof status_text / sizeof status_text[0]))
        return "unknown error";
    return status_text[i];
}

int nac_error_set(nac_error *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void nac_error_clear(nac_error *e)
{
    if (e) {
        e->code = NAC_OK;
        e->msg[0] = '\0';
    }
}

const char *nac_error_message(const nac_error *e)
{
    if (!e)
        return "unknown error";
    return e->msg[0] ? e->msg : nac_strerror(e->code);
}
