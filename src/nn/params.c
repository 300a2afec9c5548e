/* Parameter table and its arenas (data, grad, AdamW m and v), llm.c style: every tensor is a slice
 * of one 64-byte-aligned block, each slice starting on a 64-byte boundary. */
#include "nn/params.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define ALIGN_FLOATS 16 /* 64 bytes */

int nn_params_add(nn_params *p, const char *name, int ndim, const int *shape, nn_init init, float scale,
                  int decay, nac_error *err)
{
    if (!p || !name || !shape)
        return nac_error_set(err, NAC_ERR_ARG, "nn_params_add: NULL argument");
    if (p->data)
        return nac_error_set(err, NAC_ERR_ARG, "nn_params_add(%s): table already allocated", name);
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof p->t[0].name)
        return nac_error_set(err, NAC_ERR_ARG, "nn_params_add: name '%s' empty or longer than 63", name);
    if (ndim < 1 || ndim > 4)
        return nac_error_set(err, NAC_ERR_ARG, "nn_params_add(%s): ndim %d not in 1..4", name, ndim);
    if ((int)init < NN_INIT_ZERO || (int)init > NN_INIT_UNIFORM)
        return nac_error_set(err, NAC_ERR_ARG, "nn_params_add(%s): unknown init %d", name, (int)init);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return nac_error_set(err, NAC_ERR_ARG, "nn_params_add(%s): shape[%d] = %d", name, i, shape[i]);
        numel *= (size_t)shape[i];
    }
    if (nn_params_find(p, name) >= 0)
        return nac_error_set(err, NAC_ERR_ARG, "nn_params_add: duplicate tensor name '%s'", name);
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        nn_tensor *t = realloc(p->t, (size_t)cap * sizeof *t);
        if (!t)
            return nac_error_set(err, NAC_ERR_NOMEM, "nn_params_add: out of memory");
        p->t = t;
        p->cap = cap;
    }
    nn_tensor *t = &p->t[p->n];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, len + 1);
    t->ndim = ndim;
    for (int i = 0; i < 4; i++)
        t->shape[i] = i < ndim ? shape[i] : 1;
    t->offset = p->total;
    t->numel = numel;
    t->init = init;
    t->scale = scale;
    t->decay = decay != 0;
    p->total += (numel + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    return p->n++;
}

int nn_params_alloc(nn_params *p, int with_optimizer, nac_error *err)
{
    if (!p || p->data || p->total == 0)
        return nac_error_set(err, NAC_ERR_STATE, "nn_params_alloc: table empty or already allocated");
    p->data = nac_calloc(p->total, sizeof(float));
    if (with_optimizer >= 0)
        p->grad = nac_calloc(p->total, sizeof(float));
    if (with_optimizer > 0) {
        p->m = nac_calloc(p->total, sizeof(float));
        p->v = nac_calloc(p->total, sizeof(float));
    }
    if (!p->data || (with_optimizer >= 0 && !p->grad) || (with_optimizer > 0 && (!p->m || !p->v))) {
        nac_free(p->data);
        nac_free(p->grad);
        nac_free(p->m);
        nac_free(p->v);
        p->data = p->grad = p->m = p->v = NULL;
        return nac_error_set(err, NAC_ERR_NOMEM, "nn_params_alloc: %zu floats", p->total);
    }
    return NAC_OK;
}

void nn_params_init(nn_params *p, nac_rng *rng)
{
    for (int i = 0; i < p->n; i++) {
        const nn_tensor *t = &p->t[i];
        float *d = p->data + t->offset;
        for (size_t k = 0; k < t->numel; k++) {
            switch (t->init) {
            case NN_INIT_ZERO: d[k] = 0.0f; break;
            case NN_INIT_ONE: d[k] = 1.0f; break;
            case NN_INIT_CONST: d[k] = t->scale; break;
            case NN_INIT_NORMAL: d[k] = (float)(t->scale * nac_rng_normal(rng)); break;
            case NN_INIT_UNIFORM: d[k] = (float)(t->scale * (2.0 * nac_rng_uniform(rng) - 1.0)); break;
            }
        }
    }
}

int nn_params_find(const nn_params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->t[i].name, name) == 0)
            return i;
    return -1;
}

float *nn_params_data(nn_params *p, int idx) { return p->data + p->t[idx].offset; }

static int packed_table(nn_params *p, nac_error *err)
{
    if (!p->packed)
        p->packed = calloc((size_t)p->n, sizeof *p->packed);
    if (!p->packed_count)
        p->packed_count = calloc((size_t)p->n, sizeof *p->packed_count);
    return p->packed && p->packed_count ? NAC_OK : nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
}

int nn_params_set_packed(nn_params *p, int idx, float *buf, size_t floats, nac_error *err)
{
    int st = p->borrowed || p->packed_half ? nac_error_set(err, NAC_ERR_STATE, "nn_params_set_packed: table frozen")
                                           : packed_table(p, err);
    if (st) {
        nac_free(buf);
        return st;
    }
    nac_free(p->packed[idx]);
    p->packed[idx] = buf;
    p->packed_count[idx] = floats;
    return NAC_OK;
}

int nn_params_pack_half(nn_params *p, nac_error *err)
{
    if (!p->packed || p->borrowed || p->packed_half)
        return 0;
    uint16_t **h = calloc((size_t)p->n, sizeof *h);
    int exact = 1, nomem = !h;
    for (int i = 0; !nomem && exact && i < p->n; i++) {
        if (!p->packed[i])
            continue;
        if (!(h[i] = nac_alloc(p->packed_count[i] * sizeof **h)))
            nomem = 1;
        else
            exact = nn_pack_to_half(h[i], p->packed[i], p->packed_count[i]);
    }
    int use = !nomem && exact;
    for (int i = 0; h && i < p->n; i++) {
        if (use) {
            nac_free(p->packed[i]);
            p->packed[i] = h[i];
        } else {
            nac_free(h[i]);
        }
    }
    free(h);
    if (nomem)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    p->packed_half = use;
    return use;
}

int nn_params_borrow(nn_params *p, const float *kept, size_t kept_floats, const void *const *packed,
                     const size_t *packed_count, int half, nac_error *err)
{
    if (!p || p->data || p->total == 0)
        return nac_error_set(err, NAC_ERR_STATE, "nn_params_borrow: table empty or already allocated");
    size_t want = 0;
    for (int i = 0; i < p->n; i++)
        want += packed[i] ? 0 : p->t[i].numel;
    if (want != kept_floats)
        return nac_error_set(err, NAC_ERR_FORMAT, "nn_params_borrow: %zu floats for %zu of unpacked tensors", kept_floats,
                             want);
    int st = packed_table(p, err);
    if (st)
        return st;
    size_t at = 0;
    for (int i = 0; i < p->n; i++) {
        p->packed[i] = (void *)packed[i];
        p->packed_count[i] = packed[i] ? packed_count[i] : 0;
        /* the compact arena: unpacked tensors back to back; a packed one's raw floats are absent */
        p->t[i].offset = packed[i] ? 0 : at;
        at += packed[i] ? 0 : p->t[i].numel;
    }
    p->data = (float *)kept; /* read-only from here on: the table never writes it */
    p->packed_half = half != 0;
    p->borrowed = 1;
    return NAC_OK;
}

nn_packed nn_params_packed(const nn_params *p, int idx)
{
    return (nn_packed){p->packed ? p->packed[idx] : NULL, p->packed_half};
}

float *nn_params_grad(nn_params *p, int idx) { return p->grad + p->t[idx].offset; }

void nn_params_zero_grad(nn_params *p)
{
    if (p->grad)
        memset(p->grad, 0, p->total * sizeof(float));
}

void nn_params_free(nn_params *p)
{
    if (!p)
        return;
    for (int i = 0; p->packed && !p->borrowed && i < p->n; i++)
        nac_free(p->packed[i]);
    free(p->packed);
    free(p->packed_count);
    free(p->t);
    if (!p->borrowed)
        nac_free(p->data);
    nac_free(p->grad);
    nac_free(p->m);
    nac_free(p->v);
    memset(p, 0, sizeof *p);
}
