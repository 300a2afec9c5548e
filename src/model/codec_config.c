/* Codec configuration: defaults, key/value parsing and listing. */
#include "model/codec_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nac_codec_config_default(nac_codec_config *c)
{
    memset(c, 0, sizeof *c);
    c->sample_rate = 16000;
    c->n_fft = 320;
    c->hop = 160;
    c->down = 2;
    c->channels = 192;
    c->hidden = 384;
    c->kernel = 7;
    c->enc_hi = 2;
    c->enc_lo = 2;
    c->dec_lo = 2;
    c->dec_hi = 4;
    c->latent_dim = 128;
    nac_rvq_config_default(&c->rvq);
    c->rvq.n_stages = 48;
    c->rvq.dim = 128;
    c->rvq.codebook_size = 1024;
    c->rvq.code_dim = 8;
    /* Restart entries used less than once per 20 batches: without it the first model trained
     * used 165 of 1024 entries in stage 1 and under 30 in later stages. */
    c->rvq.dead_threshold = 0.05f;
}

/* One table maps keys to int fields, so parsing, listing and checking cannot disagree. */
typedef struct {
    const char *key;
    size_t offset;
    int lo, hi;
} int_field;

#define F(key, field, lo, hi) {key, offsetof(nac_codec_config, field), lo, hi}
static const int_field int_fields[] = {
    F("sample_rate", sample_rate, 8000, 48000),
    F("n_fft", n_fft, 16, 4096),
    F("hop", hop, 8, 4096),
    F("down", down, 1, 16),
    F("channels", channels, 4, 2048),
    F("hidden", hidden, 4, 8192),
    F("kernel", kernel, 1, 31),
    F("enc_hi", enc_hi, 0, 32),
    F("enc_lo", enc_lo, 0, 32),
    F("dec_lo", dec_lo, 0, 32),
    F("dec_hi", dec_hi, 0, 32),
    F("latent_dim", latent_dim, 1, NAC_RVQ_MAX_DIM),
    F("phase_head", phase_head, 0, 1),
    F("rvq.stages", rvq.n_stages, 1, NAC_RVQ_MAX_STAGES),
    F("rvq.codebook_size", rvq.codebook_size, 2, 65536),
    F("rvq.code_dim", rvq.code_dim, 0, NAC_RVQ_MAX_DIM),
    F("rvq.ema", rvq.ema, 0, 1),
};
#undef F

typedef struct {
    const char *key;
    size_t offset;
} float_field;

static const float_field float_fields[] = {
    {"rvq.ema_decay", offsetof(nac_codec_config, rvq.ema_decay)},
    {"rvq.commitment_weight", offsetof(nac_codec_config, rvq.commitment_weight)},
    {"rvq.codebook_weight", offsetof(nac_codec_config, rvq.codebook_weight)},
    {"rvq.dead_threshold", offsetof(nac_codec_config, rvq.dead_threshold)},
};

int nac_codec_config_check(const nac_codec_config *c, nac_error *err)
{
    for (size_t i = 0; i < sizeof int_fields / sizeof int_fields[0]; i++) {
        int v = *(const int *)((const char *)c + int_fields[i].offset);
        if (v < int_fields[i].lo || v > int_fields[i].hi)
            return nac_error_set(err, NAC_ERR_ARG, "config %s = %d is outside [%d, %d]", int_fields[i].key,
                                 v, int_fields[i].lo, int_fields[i].hi);
    }
    if (c->n_fft % 2 || c->hop > c->n_fft)
        return nac_error_set(err, NAC_ERR_ARG, "config n_fft %d / hop %d: n_fft must be even and >= hop",
                             c->n_fft, c->hop);
    if (c->rvq.dim != c->latent_dim)
        return nac_error_set(err, NAC_ERR_ARG, "config rvq dim %d differs from latent_dim %d", c->rvq.dim,
                             c->latent_dim);
    return NAC_OK;
}

int nac_codec_config_set(nac_codec_config *c, const char *key, const char *value, nac_error *err)
{
    char *end;
    for (size_t i = 0; i < sizeof int_fields / sizeof int_fields[0]; i++) {
        if (strcmp(key, int_fields[i].key))
            continue;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < int_fields[i].lo || v > int_fields[i].hi)
            return nac_error_set(err, NAC_ERR_ARG, "config %s: '%s' is not an integer in [%d, %d]", key, value,
                                 int_fields[i].lo, int_fields[i].hi);
        *(int *)((char *)c + int_fields[i].offset) = (int)v;
        if (!strcmp(key, "latent_dim"))
            c->rvq.dim = (int)v;
        return NAC_OK;
    }
    for (size_t i = 0; i < sizeof float_fields / sizeof float_fields[0]; i++) {
        if (strcmp(key, float_fields[i].key))
            continue;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !(v >= 0 && v < 1e6))
            return nac_error_set(err, NAC_ERR_ARG, "config %s: '%s' is not a non-negative number", key, value);
        *(float *)((char *)c + float_fields[i].offset) = (float)v;
        return NAC_OK;
    }
    return nac_error_set(err, NAC_ERR_ARG, "unknown config key '%s'", key);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

int nac_codec_config_load(nac_codec_config *c, const char *path, nac_error *err)
{
    char line[512];
    int lineno = 0, st = NAC_OK;
    FILE *f = fopen(path, "r");
    if (!f)
        return nac_error_set(err, NAC_ERR_IO, "%s: cannot open config: %s", path, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            st = nac_error_set(err, NAC_ERR_FORMAT, "%s:%d: expected 'key = value'", path, lineno);
            break;
        }
        *eq = '\0';
        nac_error e2;
        st = nac_codec_config_set(c, trim(s), trim(eq + 1), &e2);
        if (st) {
            nac_error_set(err, st, "%s:%d: %s", path, lineno, e2.msg);
            break;
        }
    }
    fclose(f);
    return st ? st : nac_codec_config_check(c, err);
}

int nac_codec_config_each(const nac_codec_config *c, nac_codec_config_visit fn, void *ctx)
{
    char buf[64];
    for (size_t i = 0; i < sizeof int_fields / sizeof int_fields[0]; i++) {
        snprintf(buf, sizeof buf, "%d", *(const int *)((const char *)c + int_fields[i].offset));
        int st = fn(ctx, int_fields[i].key, buf);
        if (st)
            return st;
    }
    for (size_t i = 0; i < sizeof float_fields / sizeof float_fields[0]; i++) {
        snprintf(buf, sizeof buf, "%.9g", (double)*(const float *)((const char *)c + float_fields[i].offset));
        int st = fn(ctx, float_fields[i].key, buf);
        if (st)
            return st;
    }
    return NAC_OK;
}
