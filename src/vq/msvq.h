/* Multi-stage vector quantisation with M-best search (as Codec 2's vq_mbest). The API is public
 * (include/nac/vq.h, "multi-stage VQ"); the codebooks are packed for vq/search.h at creation. */
#ifndef NAC_VQ_MSVQ_H
#define NAC_VQ_MSVQ_H

#include "core/status.h"
#include "nac/vq.h"

#endif
