/* Codec network <-> weight file. */
#include "model/codec_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/params_io.h"

typedef struct {
    nac_weights_writer *w;
    nac_error *err;
} cfg_ctx;

static int put_cfg(void *ctx, const char *key, const char *value)
{
    cfg_ctx *c = ctx;
    char full[96];
    snprintf(full, sizeof full, "codec.%s", key);
    return nac_weights_writer_set(c->w, full, value, c->err);
}

int nac_codec_net_save(const nac_codec_net *n, const char *path, const nac_codec_save_opts *opts, nac_error *err)
{
    nac_weights_writer *w = NULL;
    nn_params_names *names = NULL;
    int st = nac_weights_writer_create(&w, err);
    if (st)
        return st;
    cfg_ctx ctx = {w, err};
    if ((st = nac_weights_writer_set(w, "format", "nac-codec", err)) ||
        (st = nac_codec_config_each(&n->cfg, put_cfg, &ctx)))
        goto done;
    for (const char *const *e = opts && opts->extra ? opts->extra : NULL; e && e[0]; e += 2)
        if ((st = nac_weights_writer_set(w, e[0], e[1], err)))
            goto done;
    int with_opt = opts && opts->with_optimizer;
    if ((st = nn_params_write(w, &n->p, opts ? opts->params_dtype : NAC_DTYPE_F32,
                              opts ? opts->moments_dtype : NAC_DTYPE_F32, with_opt && !opts->skip_first_moment,
                              with_opt, &names, err)))
        goto done;
    if (n->rvq.state_floats) {
        size_t shape[1] = {n->rvq.state_floats};
        if ((st = nac_weights_writer_add(w, "rvq.state", NAC_DTYPE_F32, 1, shape, n->rvq_state, err)))
            goto done;
    }
    st = nac_weights_writer_save(w, path, err);
done:
    nn_params_names_free(names);
    nac_weights_writer_destroy(w);
    return st;
}

int nac_codec_config_from_weights(nac_codec_config *cfg, const nac_weights *w, nac_error *err)
{
    const char *fmt = nac_weights_config(w, "format");
    nac_codec_config_default(cfg);
    if (!fmt || strcmp(fmt, "nac-codec"))
        return nac_error_set(err, NAC_ERR_MODEL, "not a nac codec model (format '%s')", fmt ? fmt : "missing");
    for (size_t i = 0; i < nac_weights_config_count(w); i++) {
        const char *key = nac_weights_config_key(w, i);
        if (strncmp(key, "codec.", 6))
            continue;
        nac_error e2;
        int st = nac_codec_config_set(cfg, key + 6, nac_weights_config_value(w, i), &e2);
        if (st)
            return nac_error_set(err, NAC_ERR_MODEL, "model config: %s", e2.msg);
    }
    int st = nac_codec_config_check(cfg, err);
    return st ? NAC_ERR_MODEL : NAC_OK;
}

int nac_codec_net_from_weights(nac_codec_net **out, const nac_weights *w, int with_optimizer, int *had_moments,
                               nac_error *err)
{
    nac_codec_config cfg;
    nac_codec_net *n = NULL;
    int st = nac_codec_config_from_weights(&cfg, w, err);
    if (had_moments)
        *had_moments = 0;
    if (st || (st = nac_codec_net_plan(&n, &cfg, err)))
        return st;
    /* every tensor the config declares must be in the file before the arenas are allocated */
    if ((st = nn_params_check_file(&n->p, w, err)))
        goto fail_plan;
    if ((st = nac_codec_net_alloc(n, with_optimizer, err)))
        goto fail_plan;
    int moments = 0;
    if ((st = nn_params_read(&n->p, w, with_optimizer > 0, NULL, &moments, err)))
        goto fail;
    if (n->rvq.state_floats) {
        size_t shape[1] = {n->rvq.state_floats};
        if (nac_weights_find(w, "rvq.state")) {
            if ((st = nac_weights_read_f32(w, "rvq.state", n->rvq_state, 1, shape, err)))
                goto fail;
        } else {
            nac_rvq_state_init(n->rvq_state, n->p.data, &n->rvq);
        }
    }
    if (had_moments)
        *had_moments = moments;
    *out = n;
    return NAC_OK;
fail:
    nac_codec_net_destroy(n);
    if (st != NAC_ERR_NOMEM && err) {
        char detail[sizeof err->msg];
        memcpy(detail, err->msg, sizeof detail);
        return nac_error_set(err, NAC_ERR_MODEL, "model does not match its config: %s", detail);
    }
    return st == NAC_ERR_NOMEM ? st : NAC_ERR_MODEL;
fail_plan:
    nac_codec_net_destroy(n);
    return st;
}

int nac_codec_net_graft(nac_codec_net *n, const nac_weights *w, nac_codec_graft_note note, void *ctx, nac_error *err)
{
    nac_codec_config old;
    int st = nac_codec_config_from_weights(&old, w, err);
    if (st)
        return st;
    for (int i = 0; i < n->p.n; i++) {
        const nn_tensor *t = &n->p.t[i];
        const nac_tensor_info *src = nac_weights_find(w, t->name);
        float *dst = n->p.data + t->offset;
        if (!src) {
            if (note)
                note(ctx, t->name, "new: initialised");
            continue;
        }
        int same_tail = src->ndim == t->ndim && t->ndim >= 1;
        for (int d = 1; same_tail && d < t->ndim; d++)
            same_tail = src->shape[d] == (size_t)t->shape[d];
        if (!same_tail) {
            if (note)
                note(ctx, t->name, "other shape: initialised");
            continue;
        }
        float *tmp = malloc(src->count * sizeof *tmp);
        if (!tmp)
            return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        if ((st = nac_weights_read_f32(w, t->name, tmp, src->ndim, src->shape, err))) {
            free(tmp);
            return st;
        }
        size_t row = t->numel / (size_t)t->shape[0], rows = src->shape[0] < (size_t)t->shape[0] ? src->shape[0]
                                                                                              : (size_t)t->shape[0];
        memcpy(dst, tmp, rows * row * sizeof *dst);
        free(tmp);
        if (note && rows != (size_t)t->shape[0])
            note(ctx, t->name, "grown: leading rows copied, the rest initialised");
        else if (note && src->shape[0] != (size_t)t->shape[0])
            note(ctx, t->name, "shrunk: leading rows copied");
    }
    const nac_tensor_info *rs = nac_weights_find(w, "rvq.state");
    if (rs && n->rvq.state_floats && rs->count == n->rvq.state_floats) {
        size_t shape[1] = {n->rvq.state_floats};
        if ((st = nac_weights_read_f32(w, "rvq.state", n->rvq_state, 1, shape, err)))
            return st;
    } else {
        nac_rvq_state_init(n->rvq_state, n->p.data, &n->rvq);
    }
    return NAC_OK;
}
