/* Listening tests after ITU-R BS.1534-3 (MUSHRA), adapted to 16 kHz speech, and demo pages.
 * Stimuli: the hidden reference, a 3.5 kHz low-pass (low anchor), a 7 kHz low-pass (mid anchor)
 * and coded versions (nac through the library, Opus and Codec 2 through Debian's tools), all
 * aligned to the reference, cut to its length and matched to its active-speech level.
 * Ratings come back as CSV (listener,item,condition,score); the report drops listeners who rate
 * the hidden reference below 90 on more than 15% of their items and gives each condition's mean
 * with a 95% confidence interval (Student t). Nothing here prints: progress goes to a callback. */
#ifndef NAC_LISTEN_LISTEN_H
#define NAC_LISTEN_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "core/status.h"

#define NAC_LISTEN_RATE 16000 /* every stimulus is 16 kHz mono 16-bit WAV */
#define NAC_LISTEN_NAME 48    /* longest condition, item or listener name + 1 */

/* ---- conditions (condition.c) ---------------------------------------------------------------- */

typedef enum nac_listen_kind {
    NAC_LISTEN_REFERENCE, /* the hidden reference: the input itself */
    NAC_LISTEN_LOWPASS,   /* anchor: zero-phase low-pass at value Hz */
    NAC_LISTEN_NAC,       /* the neural codec at value kbps */
    NAC_LISTEN_OPUS,      /* opusenc --bitrate value (kbps), opusdec --rate 16000 */
    NAC_LISTEN_CODEC2     /* c2enc/c2dec in mode `mode` at 8 kHz */
} nac_listen_kind;

typedef struct nac_listen_condition {
    nac_listen_kind kind;
    double value;                /* kbps (nac, opus), bits/s (codec2), cutoff Hz (low-pass) */
    char mode[12];               /* codec2 mode as c2enc names it ("3200", "700C") */
    char name[NAC_LISTEN_NAME];  /* as written in results: "nac:6", "anchor_3.5k", "reference" */
} nac_listen_condition;

/* Parses a comma-separated list such as "nac:1.5,nac:6,opus:12,codec2:3200,lowpass:5000" into
 * out (cap entries), *n of them. Names are normalised ("nac:6.0" -> "nac:6"); duplicates,
 * unknown codecs, bad rates (opus 6..256 kbps, nac a positive multiple of 0.5 kbps up to 24,
 * codec2 one of 3200 2400 1600 1400 1300 1200 700C 450) are NAC_ERR_ARG naming the entry. */
int nac_listen_conditions_parse(nac_listen_condition *out, int cap, int *n, const char *spec, nac_error *err);
/* The three conditions every item has: reference, anchor_3.5k, anchor_7k. */
void nac_listen_fixed_conditions(nac_listen_condition out[3]);
/* The external program a condition needs ("opusenc", "c2enc"), or NULL. */
const char *nac_listen_condition_tool(const nac_listen_condition *c);
/* 1 if prog is an executable file in $PATH. */
int nac_listen_tool_available(const char *prog);

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

/* ---- ratings (results.c) ----------------------------------------------------------------------- */

typedef struct nac_listen_rating {
    char listener[NAC_LISTEN_NAME];
    char item[NAC_LISTEN_NAME];
    char condition[NAC_LISTEN_NAME];
    double score; /* 0..100 */
} nac_listen_rating;

typedef struct nac_listen_ratings {
    nac_listen_rating *r; /* (n), owned */
    size_t n, cap;
} nac_listen_ratings;

/* Appends the ratings of CSV text (len bytes; `name` labels errors, "file.csv:12: ..."). The
 * header names the columns listener, item, condition, score in any order (others ignored);
 * RFC 4180 quoting, CRLF or LF, a UTF-8 BOM, blank lines are accepted. A row with another
 * number of fields, a score outside 0..100, an empty or over-long name, or a second rating of
 * the same listener, item and condition is NAC_ERR_FORMAT; an open quote at the end
 * NAC_ERR_TRUNCATED. On error nothing is appended. */
int nac_listen_ratings_parse(nac_listen_ratings *rs, const char *text, size_t len, const char *name, nac_error *err);
/* As above from a file (at most 64 MiB). */
int nac_listen_ratings_read(nac_listen_ratings *rs, const char *path, nac_error *err);
void nac_listen_ratings_free(nac_listen_ratings *rs);

/* ---- statistics (stats.c) ---------------------------------------------------------------------- */

typedef struct nac_listen_listener {
    char name[NAC_LISTEN_NAME];
    int items;      /* items with a hidden-reference rating */
    int ref_low;    /* of those, items where it was rated below the threshold */
    int kept;       /* 1 if the listener passes post-screening */
} nac_listen_listener;

/* BS.1534-3 post-screening: a listener is dropped who rates the hidden reference (condition
 * ref_name) below ref_min on more than max_fraction of the items, or never rates it. *out
 * (malloc'd, *n entries, in order of first appearance). */
int nac_listen_postscreen(nac_listen_listener **out, size_t *n, const nac_listen_ratings *rs, const char *ref_name,
                          double ref_min, double max_fraction, nac_error *err);

typedef struct nac_listen_summary {
    char condition[NAC_LISTEN_NAME];
    size_t n;           /* ratings (listener x item) */
    double mean, sd;    /* sample standard deviation (n - 1) */
    double ci95;        /* half-width t(0.975, n - 1) sd / sqrt(n); NaN for n < 2 */
} nac_listen_summary;

/* Per-condition statistics over the ratings of kept listeners, sorted by mean, best first.
 * *out malloc'd. NAC_ERR_EMPTY if no listener is kept. */
int nac_listen_summarise(nac_listen_summary **out, size_t *n, const nac_listen_ratings *rs,
                         const nac_listen_listener *ls, size_t nl, nac_error *err);
/* Quantile of Student's t distribution with df > 0 degrees of freedom at probability p in (0,1). */
double nac_listen_t_quantile(double p, double df);
/* Its distribution function. */
double nac_listen_t_cdf(double t, double df);

/* Bar chart with 95% intervals on the MUSHRA scale (0..100, bands Bad .. Excellent) as PNG. */
int nac_listen_chart(const char *path, const nac_listen_summary *s, size_t n, const char *title, nac_error *err);

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

/* ---- building a test or a demo (make.c) -------------------------------------------------------- */

typedef void (*nac_listen_progress)(void *ctx, const char *msg);

typedef struct nac_listen_make_opts {
    const char *const *files;          /* reference audio files (files), any format and rate */
    int n_files;
    const char *out_dir;               /* created if missing */
    const nac_listen_condition *conds; /* the codecs under test (n_conds); fixed ones are added */
    int n_conds;
    uint64_t seed;
    double max_seconds;                /* longer references are cut (default 10 if 0) */
    const nac_model *model;            /* for nac conditions */
    nac_listen_progress progress;      /* may be NULL */
    void *ctx;
} nac_listen_make_opts;

/* Writes out_dir/index.html, mushra.css, mushra.js, items.js (the configuration), audio/ with
 * one WAV per item and condition plus the open reference, all with names from
 * nac_listen_names, and README.txt. */
int nac_listen_make(const nac_listen_make_opts *o, nac_error *err);
/* Writes out_dir/index.html with, per file, players for the original and each condition, the
 * measured bitrate, the objective metrics (src/metrics) and a comparison spectrogram
 * (src/plot) per condition; audio/ and img/ beside it. Conditions: o->conds only. */
int nac_listen_demo(const nac_listen_make_opts *o, nac_error *err);

/* ---- serving (serve.c) ------------------------------------------------------------------------- */

/* Maps a request target ("/audio/s0a1b2c3d4e.wav?x=1") to a path relative to the served folder
 * ("audio/s0a1b2c3d4e.wav"; "/" gives "index.html") in out (cap bytes). Percent-decodes; drops
 * the query and fragment. Returns 0, or -1 for a target that is not a plain path below the
 * folder: not starting with '/', "..", ".", hidden names, empty segments, backslashes, NUL or
 * control bytes, bad escapes, too long. */
int nac_listen_safe_path(char *out, size_t cap, const char *target);
/* Content type for a file name by its extension ("application/octet-stream" if unknown). */
const char *nac_listen_mime(const char *name);

#endif
