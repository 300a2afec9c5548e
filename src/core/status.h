/* Status codes with detail: a nac_error (include/nac/nac.h) carries the code and a message for one
 * handle or call. Never global: callers pass their own nac_error (or NULL when they only want the
 * code). The helpers are public (include/nac/error.h). */
#ifndef NAC_CORE_STATUS_H
#define NAC_CORE_STATUS_H

#include "nac/error.h"
#include "nac/nac.h"

#endif
