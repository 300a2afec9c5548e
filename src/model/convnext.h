/* Causal ConvNeXt block (Liu et al. 2022, as in Vocos), the codec's building unit:
 *   y = x + s * pw2(gelu(pw1(layernorm_C(dwconv_k(x)))))
 * dwconv: depthwise causal conv (C, 1, K); layernorm over channels at each step; pw1 (H, C, 1),
 * pw2 (C, H, 1); s (C) a learned per-channel layer scale. Layout (B, C, T). */
#ifndef NAC_MODEL_CONVNEXT_H
#define NAC_MODEL_CONVNEXT_H

#include "nn/params.h"

#define NAC_CODEC_LN_EPS 1e-6f /* every layernorm of the codec */

typedef struct nac_convnext {
    int C, H, K;
    int dw_w, dw_b, ln_g, ln_b, pw1_w, pw1_b, pw2_w, pw2_b, scale; /* tensor indices */
} nac_convnext;

/* Saved activations of one forward, each (B, C or H, T); stats (B, T, 2). */
typedef struct nac_convnext_acts {
    float *dw, *stats, *ln, *h1, *g, *h2;
} nac_convnext_acts;

/* Registers the block's tensors as "<prefix>.dw.w" etc. */
int nac_convnext_register(nac_convnext *blk, nn_params *p, const char *prefix, int C, int H, int K,
                          float scale_init, nac_error *err);

/* Floats of activations for (B, T): the sum of the sizes of nac_convnext_acts' arrays. */
size_t nac_convnext_act_floats(const nac_convnext *blk, int B, int T);
/* Points a's arrays into mem (nac_convnext_act_floats floats). */
void nac_convnext_acts_bind(nac_convnext_acts *a, float *mem, const nac_convnext *blk, int B, int T);
/* Floats of scratch the backward needs: 2 * max(C, H) * B * T. */
size_t nac_convnext_scratch_floats(const nac_convnext *blk, int B, int T);
/* Floats of streaming history per batch row: C * (K - 1). */
size_t nac_convnext_hist_floats(const nac_convnext *blk);

/* y (B, C, T) from x (B, C, T); hist (B, C, K-1) is the depthwise conv's past (NULL = zeros) and
 * is NOT updated here (call nac_convnext_hist_update after). y must not alias x. */
/* Packs the block's pointwise weights into p (nn_params_set_packed) for inference; the weights must not
 * change afterwards. Returns 0 or NAC_ERR_NOMEM. */
int nac_convnext_pack(nn_params *p, const nac_convnext *blk, nac_error *err);
void nac_convnext_forward(float *y, nac_convnext_acts *a, const float *x, const float *hist, nn_params *p,
                          const nac_convnext *blk, int B, int T);
void nac_convnext_hist_update(float *hist, const float *x, const nac_convnext *blk, int B, int T);
/* dx (B, C, T) += gradient; parameter gradients accumulate into p's grad arena. */
void nac_convnext_backward(float *dx, const float *dy, const nac_convnext_acts *a, const float *x, float *scratch,
                           nn_params *p, const nac_convnext *blk, int B, int T);

#endif
