/* Tensor table <-> weight file (see params_io.h). */
#include "nn/params_io.h"

#include <stdio.h>
#include <stdlib.h>

struct nn_params_names {
    char (*name)[NAC_WEIGHTS_MAX_NAME + 8]; /* 2 per tensor: adam.m.*, adam.v.* */
};

static void shape_of(size_t *shape, const nn_tensor *t)
{
    for (int d = 0; d < t->ndim; d++)
        shape[d] = (size_t)t->shape[d];
}

void nn_params_names_free(nn_params_names *names)
{
    if (names)
        free(names->name);
    free(names);
}

int nn_params_write(nac_weights_writer *w, const nn_params *p, nac_dtype params_dtype, nac_dtype moments_dtype,
                    int with_m, int with_v, nn_params_names **names, nac_error *err)
{
    nn_params_names *nm = calloc(1, sizeof *nm);
    if (nm)
        nm->name = calloc((size_t)p->n * 2 + 1, sizeof *nm->name);
    *names = nm;
    if (!nm || !nm->name)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    with_m = with_m && p->m;
    with_v = with_v && p->v;
    for (int i = 0; i < p->n; i++) {
        const nn_tensor *t = &p->t[i];
        size_t shape[4];
        shape_of(shape, t);
        char *mn = nm->name[2 * i], *vn = nm->name[2 * i + 1];
        snprintf(mn, sizeof nm->name[0], "adam.m.%s", t->name);
        snprintf(vn, sizeof nm->name[0], "adam.v.%s", t->name);
        int st = nac_weights_writer_add(w, t->name, params_dtype, t->ndim, shape, p->data + t->offset, err);
        if (!st && with_m)
            st = nac_weights_writer_add(w, mn, moments_dtype, t->ndim, shape, p->m + t->offset, err);
        if (!st && with_v)
            st = nac_weights_writer_add(w, vn, moments_dtype, t->ndim, shape, p->v + t->offset, err);
        if (st)
            return st;
    }
    return NAC_OK;
}

int nn_weights_check_tensor(const nac_weights *w, const char *name, int ndim, const size_t *shape, nac_error *err)
{
    const nac_tensor_info *f = nac_weights_find(w, name);
    int same = f && f->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = f->shape[d] == shape[d];
    return same ? NAC_OK
                : nac_error_set(err, NAC_ERR_MODEL, "model does not match its config: tensor %s is %s", name,
                                f ? "of another shape" : "missing");
}

int nn_params_check_file(const nn_params *p, const nac_weights *w, nac_error *err)
{
    for (int i = 0; i < p->n; i++) {
        size_t shape[4];
        shape_of(shape, &p->t[i]);
        int st = nn_weights_check_tensor(w, p->t[i].name, p->t[i].ndim, shape, err);
        if (st)
            return st;
    }
    return NAC_OK;
}

int nn_params_read(nn_params *p, const nac_weights *w, int with_moments, int *had_m, int *had_v, nac_error *err)
{
    char mn[NAC_WEIGHTS_MAX_NAME + 8], vn[NAC_WEIGHTS_MAX_NAME + 8];
    int m = 0, v = 0;
    if (with_moments && p->n > 0) { /* a file has each kind for every tensor or for none */
        snprintf(mn, sizeof mn, "adam.m.%s", p->t[0].name);
        snprintf(vn, sizeof vn, "adam.v.%s", p->t[0].name);
        m = p->m && nac_weights_find(w, mn);
        v = p->v && nac_weights_find(w, vn);
    }
    for (int i = 0; i < p->n; i++) {
        const nn_tensor *t = &p->t[i];
        size_t shape[4];
        shape_of(shape, t);
        snprintf(mn, sizeof mn, "adam.m.%s", t->name);
        snprintf(vn, sizeof vn, "adam.v.%s", t->name);
        int st = nac_weights_read_f32(w, t->name, p->data + t->offset, t->ndim, shape, err);
        if (!st && m)
            st = nac_weights_read_f32(w, mn, p->m + t->offset, t->ndim, shape, err);
        if (!st && v)
            st = nac_weights_read_f32(w, vn, p->v + t->offset, t->ndim, shape, err);
        if (st)
            return st;
    }
    if (had_m)
        *had_m = m;
    if (had_v)
        *had_v = v;
    return NAC_OK;
}
