/* Model images: write (at build time) and load in place (src/model/model_image.h). */
#include "model/model_image.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "model/codec_model.h"
#include "nn/gemm.h"
#include "vq/search.h"

#define IMAGE_MAGIC "NACIMG02"
#define IMAGE_ORDER 0x01020304u
#define IMAGE_ALIGN 64
#define IMAGE_LAYOUT ((uint32_t)(NN_MR | NN_NR << 8 | NN_KC << 16) ^ (uint32_t)(NAC_VQ_TILE_ROWS | NAC_VQ_PANEL << 8) << 4)

typedef struct image_header {
    char magic[8];
    uint32_t order, layout, hash, n_tensors, packed_half, reserved;
    uint64_t kept_floats; /* the arena floats of tensors without a packed copy, which the image holds */
    int64_t train_steps;
    uint64_t arena_floats, config_bytes, rvq_floats, size;
} image_header;

static size_t align_up(size_t n) { return (n + IMAGE_ALIGN - 1) / IMAGE_ALIGN * IMAGE_ALIGN; }

#define HEADER_SLOT align_up(sizeof(image_header))

/* ---- writing --------------------------------------------------------------------------------- */

typedef struct config_text {
    char *buf;
    size_t len, cap;
} config_text;

static int put_config(void *ctx, const char *key, const char *value)
{
    config_text *t = ctx;
    size_t need = t->len + strlen(key) + strlen(value) + 3;
    if (need > t->cap) {
        size_t cap = need * 2;
        char *b = realloc(t->buf, cap);
        if (!b)
            return NAC_ERR_NOMEM;
        t->buf = b;
        t->cap = cap;
    }
    t->len += (size_t)sprintf(t->buf + t->len, "%s=%s\n", key, value);
    return NAC_OK;
}

/* Zeros after a section of n bytes, up to the next 64-byte boundary of the image. */
static int pad(FILE *f, size_t n)
{
    static const char zeros[IMAGE_ALIGN];
    return fwrite(zeros, 1, align_up(n) - n, f) == align_up(n) - n ? 0 : -1;
}

/* Writes n bytes and their padding. */
static int put_section(FILE *f, const void *data, size_t n) { return fwrite(data, 1, n, f) == n ? pad(f, n) : -1; }

int nac_model_image_write(const nac_model *m, const char *path, nac_error *err)
{
    const nn_params *p = &m->net->p;
    config_text cfg = {0};
    uint64_t *sizes = calloc((size_t)p->n, sizeof *sizes);
    if (!sizes || nac_codec_config_each(&m->net->cfg, put_config, &cfg)) {
        free(sizes);
        free(cfg.buf);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    }
    size_t rvq_floats;
    const float *rvq = nac_rvq_coder_packed(m->coder, &rvq_floats);
    image_header h = {.order = IMAGE_ORDER,
                      .layout = IMAGE_LAYOUT,
                      .hash = m->info.hash,
                      .n_tensors = (uint32_t)p->n,
                      .packed_half = (uint32_t)p->packed_half,
                      .train_steps = m->info.train_steps,
                      .arena_floats = p->total,
                      .config_bytes = cfg.len,
                      .rvq_floats = rvq_floats};
    memcpy(h.magic, IMAGE_MAGIC, 8);
    size_t elem = p->packed_half ? sizeof(uint16_t) : sizeof(float);
    for (int i = 0; i < p->n; i++) {
        sizes[i] = p->packed && p->packed[i] ? p->packed_count[i] : 0;
        h.kept_floats += sizes[i] ? 0 : p->t[i].numel;
    }
    size_t size = HEADER_SLOT + align_up(cfg.len) + align_up((size_t)p->n * sizeof *sizes) +
                  align_up(h.kept_floats * sizeof(float)) + align_up(rvq_floats * sizeof(float));
    for (int i = 0; i < p->n; i++)
        size += align_up(sizes[i] * elem);
    h.size = size;
    int st = NAC_OK;
    FILE *f = fopen(path, "wb");
    if (!f) {
        st = nac_error_set(err, NAC_ERR_IO, "cannot create %s", path);
        goto done;
    }
    int bad = put_section(f, &h, sizeof h) || put_section(f, cfg.buf, cfg.len) ||
              put_section(f, sizes, (size_t)p->n * sizeof *sizes);
    for (int i = 0; !bad && i < p->n; i++) /* the kept tensors, back to back, then the padding */
        bad = !sizes[i] && fwrite(p->data + p->t[i].offset, sizeof(float), p->t[i].numel, f) != p->t[i].numel;
    bad = bad || pad(f, h.kept_floats * sizeof(float));
    for (int i = 0; !bad && i < p->n; i++)
        bad = sizes[i] && put_section(f, p->packed[i], sizes[i] * elem);
    bad = bad || put_section(f, rvq, rvq_floats * sizeof(float));
    if (fclose(f) || bad)
        st = nac_error_set(err, NAC_ERR_IO, "cannot write %s", path);
done:
    free(sizes);
    free(cfg.buf);
    return st;
}

/* ---- loading --------------------------------------------------------------------------------- */

/* The codec config from the image's "key=value\n" lines. */
static int parse_config(nac_codec_config *cfg, const char *text, size_t len, nac_error *err)
{
    nac_codec_config_default(cfg);
    while (len) {
        const char *nl = memchr(text, '\n', len), *eq = memchr(text, '=', len);
        char key[64], value[192];
        if (!nl || !eq || eq > nl || (size_t)(eq - text) >= sizeof key || (size_t)(nl - eq - 1) >= sizeof value)
            return nac_error_set(err, NAC_ERR_FORMAT, "model image: bad config line");
        memcpy(key, text, (size_t)(eq - text));
        key[eq - text] = 0;
        memcpy(value, eq + 1, (size_t)(nl - eq - 1));
        value[nl - eq - 1] = 0;
        int st = nac_codec_config_set(cfg, key, value, err);
        if (st)
            return st;
        len -= (size_t)(nl + 1 - text);
        text = nl + 1;
    }
    return nac_codec_config_check(cfg, err);
}

int nac_model_image_load(nac_model **out, const void *image, size_t size, nac_error *err)
{
    const unsigned char *base = image;
    image_header h;
    *out = NULL;
    if (size < HEADER_SLOT || ((uintptr_t)image & (IMAGE_ALIGN - 1)))
        return nac_error_set(err, NAC_ERR_FORMAT, "model image: too short or misaligned");
    memcpy(&h, base, sizeof h);
    if (memcmp(h.magic, IMAGE_MAGIC, 8) || h.order != IMAGE_ORDER || h.layout != IMAGE_LAYOUT || h.size != size || h.packed_half > 1 ||
        h.config_bytes > size || h.n_tensors > size / sizeof(uint64_t))
        return nac_error_set(err, NAC_ERR_FORMAT, "model image: not an image of this build");
    nac_codec_config cfg;
    int st = h.config_bytes <= size - HEADER_SLOT ? parse_config(&cfg, (const char *)base + HEADER_SLOT, h.config_bytes, err)
                                                : nac_error_set(err, NAC_ERR_FORMAT, "model image: truncated");
    if (st)
        return st;
    nac_model *m = calloc(1, sizeof *m);
    const void **packed = calloc(h.n_tensors ? h.n_tensors : 1, sizeof *packed);
    size_t *packed_count = calloc(h.n_tensors ? h.n_tensors : 1, sizeof *packed_count);
    size_t elem = h.packed_half ? sizeof(uint16_t) : sizeof(float);
    if (!m || !packed || !packed_count) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = nac_codec_net_plan(&m->net, &cfg, err)))
        goto fail;
    const nn_params *p = &m->net->p;
    size_t at = HEADER_SLOT + align_up(h.config_bytes);
    const unsigned char *sizes = base + at;
    at += align_up((size_t)h.n_tensors * sizeof(uint64_t));
    const float *kept = (const float *)(base + at);
    if ((uint32_t)p->n != h.n_tensors || p->total != h.arena_floats || at > size ||
        h.kept_floats > (size - at) / sizeof(float)) {
        st = nac_error_set(err, NAC_ERR_FORMAT, "model image: does not match its config");
        goto fail;
    }
    at += align_up(h.kept_floats * sizeof(float));
    for (uint32_t i = 0; i < h.n_tensors; i++) {
        uint64_t n;
        memcpy(&n, sizes + i * sizeof n, sizeof n);
        if (n > (size - at) / elem) {
            st = nac_error_set(err, NAC_ERR_FORMAT, "model image: truncated");
            goto fail;
        }
        packed[i] = n ? base + at : NULL;
        packed_count[i] = (size_t)n;
        at += align_up((size_t)n * elem);
    }
    if (h.rvq_floats > (size - at) / sizeof(float)) {
        st = nac_error_set(err, NAC_ERR_FORMAT, "model image: truncated");
        goto fail;
    }
    if ((st = nac_codec_net_bind(m->net, kept, h.kept_floats, packed, packed_count, (int)h.packed_half, err)))
        goto fail;
    const float *arena = kept;
    if (!(m->coder = nac_rvq_coder_borrow(arena, &m->net->rvq, (const float *)(base + at), h.rvq_floats, err))) {
        st = err ? err->code : NAC_ERR_MODEL;
        goto fail;
    }
    nac_model_info_make(&m->info, &cfg, h.hash, h.train_steps);
    free(packed);
    free(packed_count);
    *out = m;
    return NAC_OK;
fail:
    free(packed);
    free(packed_count);
    nac_model_destroy(m);
    return st;
}
