/* Initial counts of the transform coder's adaptive models (generated: scripts/gen_tcx_tables.py). */
#ifndef NAC_TCX_TABLES_H
#define NAC_TCX_TABLES_H

#include <stdint.h>

#define NAC_TCX_CONTEXTS 14 /* coefficient contexts: expected magnitude in 3 dB steps */
#define NAC_TCX_SYMBOLS 16  /* magnitudes 0..14, and 15 = escape */
#define NAC_TCX_DELTAS 41   /* envelope steps -20..20 */

extern const uint16_t nac_tcx_coef_init[NAC_TCX_CONTEXTS][NAC_TCX_SYMBOLS];
extern const uint16_t nac_tcx_delta_init[NAC_TCX_DELTAS];

#endif
