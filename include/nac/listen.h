/* nac listen: listening tests after ITU-R BS.1534-3 (MUSHRA), adapted to 16 kHz speech, and demo
 * pages, as `nac listen make / demo / report / serve` use them. Stimuli: the hidden reference, a
 * 3.5 kHz low-pass (low anchor), a 7 kHz low-pass (mid anchor) and coded versions (nac through the
 * library, Opus and Codec 2 through Debian's opus-tools and codec2 programs), all aligned to the
 * reference, cut to its length and matched to its active-speech level. Ratings come back as CSV
 * (listener,item,condition,score); the report drops listeners who rate the hidden reference below
 * 90 on more than 15% of their items and gives each condition's mean with a 95% confidence
 * interval (Student t).
 * Conventions as in nac.h: functions return a nac_status (0 = NAC_OK, negative = error) with
 * detail in the caller's nac_error (may be NULL). Nothing here prints: progress goes to a callback.
 * Threading: no global state; calls on different data may run concurrently (nac_listen_make and
 * nac_listen_demo run external programs and write into their own out_dir). */
#ifndef NAC_LISTEN_H
#define NAC_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NAC_LISTEN_RATE 16000 /* every stimulus is 16 kHz mono 16-bit WAV */
#define NAC_LISTEN_NAME 48    /* longest condition, item or listener name + 1 */

/* ---- conditions -------------------------------------------------------------------------------- */

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

/* perm (n) = a uniformly random permutation of 0..n-1, the same for the same seed on every machine
 * (a seeded choice of items, for example). */
void nac_listen_permutation(int *perm, int n, uint64_t seed);

/* ---- ratings ----------------------------------------------------------------------------------- */

typedef struct nac_listen_rating {
    char listener[NAC_LISTEN_NAME];
    char item[NAC_LISTEN_NAME];
    char condition[NAC_LISTEN_NAME];
    double score; /* 0..100 */
} nac_listen_rating;

/* A growing set of ratings: start from a zeroed struct; nac_listen_ratings_free releases it. */
typedef struct nac_listen_ratings {
    nac_listen_rating *r; /* (n), owned by the set */
    size_t n, cap;
} nac_listen_ratings;

/* Appends the ratings of CSV text (len bytes; `name` labels errors, "file.csv:12: ..."). The
 * header names the columns listener, item, condition, score in any order (others ignored);
 * RFC 4180 quoting, CRLF or LF, a UTF-8 BOM, blank lines are accepted. A row with another
 * number of fields, a score outside 0..100, an empty or over-long name, or a second rating of
 * the same listener, item and condition is NAC_ERR_FORMAT; an open quote at the end
 * NAC_ERR_TRUNCATED. On error nothing is appended. */
int nac_listen_ratings_parse(nac_listen_ratings *rs, const char *text, size_t len, const char *name, nac_error *err);
/* As above from a file (at most 64 MiB): NAC_ERR_IO when it cannot be read. */
int nac_listen_ratings_read(nac_listen_ratings *rs, const char *path, nac_error *err);
/* Frees the ratings and zeroes *rs (ready for reuse). */
void nac_listen_ratings_free(nac_listen_ratings *rs);

/* ---- statistics -------------------------------------------------------------------------------- */

typedef struct nac_listen_listener {
    char name[NAC_LISTEN_NAME];
    int items;      /* items with a hidden-reference rating */
    int ref_low;    /* of those, items where it was rated below the threshold */
    int kept;       /* 1 if the listener passes post-screening */
} nac_listen_listener;

/* BS.1534-3 post-screening: a listener is dropped who rates the hidden reference (condition
 * ref_name) below ref_min on more than max_fraction of the items, or never rates it. *out
 * (malloc'd: the caller frees it with free(); *n entries, in order of first appearance).
 * NAC_ERR_NOMEM. */
int nac_listen_postscreen(nac_listen_listener **out, size_t *n, const nac_listen_ratings *rs, const char *ref_name,
                          double ref_min, double max_fraction, nac_error *err);

typedef struct nac_listen_summary {
    char condition[NAC_LISTEN_NAME];
    size_t n;           /* ratings (listener x item) */
    double mean, sd;    /* sample standard deviation (n - 1) */
    double ci95;        /* half-width t(0.975, n - 1) sd / sqrt(n); NaN for n < 2 */
} nac_listen_summary;

/* Per-condition statistics over the ratings of kept listeners, sorted by mean, best first.
 * *out malloc'd (the caller frees it with free()). NAC_ERR_EMPTY if no listener is kept. */
int nac_listen_summarise(nac_listen_summary **out, size_t *n, const nac_listen_ratings *rs,
                         const nac_listen_listener *ls, size_t nl, nac_error *err);
/* Bar chart of s (n conditions) with 95% intervals on the MUSHRA scale (0..100, bands Bad ..
 * Excellent) as a PNG file; title may be NULL. NAC_ERR_ARG, NAC_ERR_NOMEM, NAC_ERR_IO. */
int nac_listen_chart(const char *path, const nac_listen_summary *s, size_t n, const char *title, nac_error *err);

/* ---- building a test or a demo ------------------------------------------------------------------ */

/* One line of progress (no newline), from the calling thread. */
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
 * one WAV per item and condition plus the open reference, all with seeded names that say nothing
 * of what they name, and README.txt. The strings and arrays of o are only read during the call;
 * progress is called from the calling thread. NAC_ERR_ARG, NAC_ERR_IO (a file, or an external
 * program missing or failing), NAC_ERR_NOMEM, or an error of the audio files. */
int nac_listen_make(const nac_listen_make_opts *o, nac_error *err);
/* Writes out_dir/index.html with, per file, players for the original and each condition, the
 * measured bitrate, the objective metrics (nac/metrics.h) and a comparison spectrogram
 * (nac/plot.h) per condition; audio/ and img/ beside it. Conditions: o->conds only. Ownership,
 * threading and errors as nac_listen_make. */
int nac_listen_demo(const nac_listen_make_opts *o, nac_error *err);

/* ---- serving ----------------------------------------------------------------------------------- */

/* Maps a request target ("/audio/s0a1b2c3d4e.wav?x=1") to a path relative to the served folder
 * ("audio/s0a1b2c3d4e.wav"; "/" gives "index.html") in out (cap bytes). Percent-decodes; drops
 * the query and fragment. Returns 0, or -1 for a target that is not a plain path below the
 * folder: not starting with '/', "..", ".", hidden names, empty segments, backslashes, NUL or
 * control bytes, bad escapes, too long. */
int nac_listen_safe_path(char *out, size_t cap, const char *target);
/* Content type for a file name by its extension ("application/octet-stream" if unknown): a static
 * string, never NULL. */
const char *nac_listen_mime(const char *name);

#ifdef __cplusplus
}
#endif
#endif
