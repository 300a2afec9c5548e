/* What a loaded VQ-VAE is (nac/vqvae.h): its sizes and its codebooks, for users of the public
 * header, who do not see the model's struct. */
#include "vqvae/vqvae.h"

void nac_vqvae_get_info(const nac_vqvae *m, nac_vqvae_info *info)
{
    *info = (nac_vqvae_info){m->cfg.k, m->cfg.ncat, m->cfg.dim, m->cfg.stages, m->cfg.entries, m->step};
}

const float *nac_vqvae_codebook(const nac_vqvae *m, int s)
{
    if (!m || s < 0 || s >= m->cfg.stages)
        return NULL;
    int ci = nn_params_find(&m->p, "vq.codebook");
    if (ci < 0)
        return NULL;
    /* (S, M, D): the model's code_dim is D */
    return m->p.data + m->p.t[ci].offset + (size_t)s * m->cfg.entries * m->cfg.dim;
}
