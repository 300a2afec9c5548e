/* Noise from folders in one call (nac/degrade.h): load the folders, draw one noise crop from a
 * seeded noise bank, mix it at a drawn SNR. `nac degrade --noise` is this call. */
#include "degrade/degrade.h"
#include "degrade/noise.h"

#include <math.h>
#include <stdlib.h>

void nac_degrade_noise_opts_default(nac_degrade_noise_opts *o, const char *noise_dir, const char *babble_dir,
                                    const char *music_dir)
{
    *o = (nac_degrade_noise_opts){noise_dir, babble_dir, music_dir, 0.0, 1.0, 5.0, 5.0, 1};
}

int nac_degrade_add_noise(float *x, size_t n, int sample_rate, const nac_degrade_noise_opts *o, int *kind,
                          double *snr_db, nac_error *err)
{
    if (!x || !o || sample_rate <= 0)
        return nac_error_set(err, NAC_ERR_ARG, "nac_degrade_add_noise: NULL argument or bad rate");
    if (n == 0)
        return nac_error_set(err, NAC_ERR_EMPTY, "no samples to add noise to");
    if (!o->noise_dir && !o->babble_dir && !o->music_dir)
        return nac_error_set(err, NAC_ERR_ARG, "no noise, babble or music folder given");
    if (!(o->from >= 0 && o->from < o->to && o->to <= 1))
        return nac_error_set(err, NAC_ERR_ARG, "noise share [%g, %g) is not within [0, 1)", o->from, o->to);
    if (!isfinite(o->snr_lo) || !isfinite(o->snr_hi) || o->snr_hi < o->snr_lo)
        return nac_error_set(err, NAC_ERR_ARG, "bad SNR range %g:%g dB", o->snr_lo, o->snr_hi);
    nac_dataset nz = {0}, bz = {0}, mz = {0};
    float *tmp = NULL;
    nac_rng rng;
    int st;
    nac_rng_seed(&rng, o->seed);
    if ((o->noise_dir && (st = nac_dataset_load(&nz, o->noise_dir, sample_rate, 0, NULL, NULL, err))) ||
        (o->babble_dir && (st = nac_dataset_load(&bz, o->babble_dir, sample_rate, 0, NULL, NULL, err))) ||
        (o->music_dir && (st = nac_dataset_load(&mz, o->music_dir, sample_rate, 0, NULL, NULL, err))))
        goto done;
    nac_noise_bank bank;
    nac_noise_bank_init(&bank, o->noise_dir ? &nz : NULL, o->music_dir ? &mz : NULL, o->babble_dir ? &bz : NULL);
    bank.p_synth = 0;
    bank.from = o->from;
    bank.to = o->to;
    if (!(tmp = malloc(2 * n * sizeof *tmp))) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto done;
    }
    int k = nac_noise_draw(tmp, tmp + n, &bank, &rng, n);
    double snr = o->snr_lo + (o->snr_hi - o->snr_lo) * nac_rng_uniform(&rng);
    if ((st = nac_degrade_mix(x, x, tmp, n, snr, NULL, err)))
        goto done;
    if (kind)
        *kind = k;
    if (snr_db)
        *snr_db = snr;
done:
    free(tmp);
    nac_dataset_free(&nz);
    nac_dataset_free(&bz);
    nac_dataset_free(&mz);
    return st;
}
