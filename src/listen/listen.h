/* Listening tests and demo pages (BS.1534-3 / MUSHRA at 16 kHz). What the command line uses is
 * public (include/nac/listen.h); this header adds the pieces the library's own files share:
 * running one condition, speech levels, seeded names, the page assets, Student's t. */
#ifndef NAC_LISTEN_LISTEN_H
#define NAC_LISTEN_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "core/status.h"
#include "nac/listen.h"

/* ---- conditions (condition.c) ---------------------------------------------------------------- */

/* Runs condition c on ref (n samples at NAC_LISTEN_RATE) into out (n samples), aligned to ref
 * (delay searched up to 0.2 s) and zero-padded or cut to n. model: needed for NAC_LISTEN_NAC.
 * tmp_dir: an existing directory for external tools' files (removed again). *kbps gets the
 * measured bitrate (encoded bytes over duration; 0 for reference and anchors); may be NULL.
 * NAC_ERR_IO when an external tool is missing or fails (with its first line of stderr). */
int nac_listen_condition_run(float *out, double *kbps, const nac_listen_condition *c, const float *ref, size_t n,
                             const nac_model *model, const char *tmp_dir, nac_error *err);

/* ---- levels (level.c) --------------------------------------------------------------------------
 * Active speech after the idea of ITU-T P.56 (simplified: 20 ms frames, no envelope): the level L
 * is the mean power of the reference's frames whose power is at least L - 15.9 dB (a fixed
 * point, found by iteration). Another signal's level is its mean power over the same frames,
 * so noise that a codec adds in pauses does not count. */

/* Active-speech level of x over the frames where ref is active, in dB relative to full-scale
 * power (a full-scale square wave is 0 dB). ref, x (n). NAC_ERR_EMPTY if ref is silent. */
int nac_listen_active_level(double *db, const float *ref, const float *x, size_t n, int sample_rate,
                            nac_error *err);
/* Scales x[1..count-1] to the active-speech level of x[0] (the reference), each (n); then, if
 * any sample's magnitude would exceed peak (e.g. 0.98), scales all of them, x[0] included, down
 * by one common factor. gains_db (count) gets each signal's total gain; may be NULL. */
int nac_listen_match_levels(float *const *x, int count, size_t n, int sample_rate, float peak, double *gains_db,
                            nac_error *err);
/* Raised-cosine fade-in and fade-out of len samples at both ends (len clamped to n / 2). */
void nac_listen_fade(float *x, size_t n, size_t len);

/* ---- randomisation and names (shuffle.c) ------------------------------------------------------ */

/* perm (n) = a uniformly random permutation of 0..n-1 (Fisher-Yates on r). */
void nac_listen_shuffle(int *perm, int n, nac_rng *r);
/* names (count, 16): distinct names "s" + 10 lowercase hex digits from r, which say nothing of
 * what they name. */
void nac_listen_names(char (*names)[16], int count, nac_rng *r);

/* ---- statistics (stats.c) ---------------------------------------------------------------------- */

/* Quantile of Student's t distribution with df > 0 degrees of freedom at probability p in (0,1). */
double nac_listen_t_quantile(double p, double df);
/* Its distribution function. */
double nac_listen_t_cdf(double t, double df);

/* ---- page assets (assets.c) --------------------------------------------------------------------
 * The page's files (src/listen/assets/), embedded in the library. */
typedef struct nac_listen_asset {
    const char *name;
    const unsigned char *data;
    size_t size;
} nac_listen_asset;

/* The test page's files (index.html, mushra.css, mushra.js), *n of them. */
const nac_listen_asset *nac_listen_test_assets(size_t *n);
/* The demo page's style sheet. */
const nac_listen_asset *nac_listen_demo_css(void);
/* Writes data (size bytes) to dir/name. NAC_ERR_IO naming the path. */
int nac_listen_write_file(const char *dir, const char *name, const void *data, size_t size, nac_error *err);

#endif
