/* Noise draws for mixtures (see noise.h). */
#include "degrade/noise.h"

#include <math.h>
#include <string.h>

void nac_noise_bank_init(nac_noise_bank *b, const nac_dataset *noise, const nac_dataset *music,
                         const nac_dataset *speech)
{
    memset(b, 0, sizeof *b);
    b->noise = noise;
    b->music = music;
    b->speech = speech;
    b->from = 0;
    b->to = 1;
    b->p_noise = 0.55;
    b->p_babble = 0.2;
    b->p_music = 0.1;
    b->p_synth = 0.15;
    b->augment = 1;
}

/* A crop of T samples from the [from, to) part of a random file (chosen by length), looped when
 * the part is shorter than T. */
static void crop(float *out, const nac_dataset *ds, double from, double to, nac_rng *rng, size_t T)
{
    size_t total = 0;
    for (int f = 0; f < ds->n_files; f++)
        total += ds->len[f];
    uint64_t pick = nac_rng_below(rng, total ? total : 1);
    int f = 0;
    while (f < ds->n_files - 1 && pick >= ds->len[f]) {
        pick -= ds->len[f];
        f++;
    }
    size_t lo = (size_t)(from * (double)ds->len[f]), hi = (size_t)(to * (double)ds->len[f]);
    if (hi > ds->len[f])
        hi = ds->len[f];
    if (hi <= lo) {
        memset(out, 0, T * sizeof *out);
        return;
    }
    size_t span = hi - lo, pos = lo + (size_t)nac_rng_below(rng, span);
    for (size_t t = 0; t < T; t++) {
        out[t] = ds->audio[f][pos];
        if (++pos >= hi)
            pos = lo;
    }
}

static double energy(const float *x, size_t T)
{
    double e = 0;
    for (size_t t = 0; t < T; t++)
        e += (double)x[t] * x[t];
    return e;
}

static void synth(float *out, nac_rng *rng, size_t T)
{
    /* white, or brown-ish through a leaky integrator */
    double leak = nac_rng_uniform(rng) < 0.5 ? 0 : 0.9 + 0.099 * nac_rng_uniform(rng), s = 0;
    for (size_t t = 0; t < T; t++) {
        s = leak * s + nac_rng_normal(rng);
        out[t] = (float)s;
    }
}

int nac_noise_draw(float *out, float *scratch, const nac_noise_bank *b, nac_rng *rng, size_t T)
{
    double w[4] = {b->noise && b->noise->n_files ? b->p_noise : 0, b->speech && b->speech->n_files ? b->p_babble : 0,
                   b->music && b->music->n_files ? b->p_music : 0, b->p_synth};
    double sum = w[0] + w[1] + w[2] + w[3], u = nac_rng_uniform(rng) * sum;
    int kind = NAC_NOISE_SYNTH;
    for (int k = 0; k < 4; k++) {
        if (u < w[k] && w[k] > 0) {
            kind = k;
            break;
        }
        u -= w[k];
    }
    switch (kind) {
    case NAC_NOISE_FILE:
        crop(out, b->noise, b->from, b->to, rng, T);
        break;
    case NAC_NOISE_MUSIC:
        crop(out, b->music, 0, 1, rng, T);
        break;
    case NAC_NOISE_BABBLE: {
        int talkers = 3 + (int)nac_rng_below(rng, 4);
        memset(out, 0, T * sizeof *out);
        for (int k = 0; k < talkers; k++) {
            crop(scratch, b->speech, 0, 1, rng, T);
            double e = energy(scratch, T), g = e > 0 ? 1.0 / sqrt(e / (double)T) : 0;
            for (size_t t = 0; t < T; t++)
                out[t] += (float)(g * scratch[t]);
        }
        break;
    }
    default:
        synth(out, rng, T);
        break;
    }
    if (energy(out, T) <= 1e-12) {
        kind = NAC_NOISE_SYNTH;
        synth(out, rng, T);
    }
    if (!b->augment)
        return kind;
    /* spectral tilt: mix of a one-pole low-pass and its complement, then a slow level swing */
    double c = 0.02 + 0.5 * nac_rng_uniform(rng), mix = nac_rng_uniform(rng), lp = 0;
    double depth = 0.5 * nac_rng_uniform(rng), rate = 0.05 + 1.0 * nac_rng_uniform(rng), phase = 6.2832 * nac_rng_uniform(rng);
    int filt = nac_rng_uniform(rng) < 0.7;
    for (size_t t = 0; t < T; t++) {
        double x = out[t];
        lp += c * (x - lp);
        double y = filt ? mix * lp + (1 - mix) * (x - lp) : x;
        double env = 1 + depth * sin(phase + 6.2832 * rate * (double)t / 16000.0);
        out[t] = (float)(y * env);
    }
    if (energy(out, T) <= 1e-12)
        synth(out, rng, T);
    return kind;
}
