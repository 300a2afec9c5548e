/* Internal: what a nac_model holds (include/nac/nac.h keeps it opaque). Shared by the two ways of
 * making one: from a weight file (codec_stream.c) and from a model image (model_image.c). */
#ifndef NAC_MODEL_CODEC_MODEL_H
#define NAC_MODEL_CODEC_MODEL_H

#include "model/codec_net.h"
#include "nac/nac.h"
#include "vq/rvq.h"

struct nac_model {
    nac_codec_net *net;    /* owned; its parameters may be borrowed from an image */
    nac_rvq_coder *coder;  /* owned; its tables may be borrowed from an image */
    nac_model_info info;
};

/* The public description of a model of config c. */
void nac_model_info_make(nac_model_info *info, const nac_codec_config *c, uint32_t hash, long long train_steps);

#endif
