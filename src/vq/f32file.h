/* Raw float32 feature files (Codec 2 style): no header, little-endian, rows of K floats. The API
 * is public (include/nac/vq.h, "raw float32 feature files"). */
#ifndef NAC_VQ_F32FILE_H
#define NAC_VQ_F32FILE_H

#include "core/status.h"
#include "nac/vq.h"

#endif
