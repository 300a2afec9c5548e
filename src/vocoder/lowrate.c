/* The low-rate vocoder coder: 40 ms frames of 4 feature rows. Each mode is a list of fields, each
 * coding one quantity of one row of the frame: a VQ stage of the rate-K vector (the built-in
 * 512-entry stages, or their first 2^bits entries, searched M-best), the energy (uniform in dB, or
 * an offset from the energy interpolated between the absolutely coded rows), the pitch (0 unvoiced,
 * else log-uniform 50..500 Hz) or a voicing bit. The decoder interpolates every quantity over the
 * rows where it was not coded (linearly; F0 in log; voicing from the nearer coded row). */
#include "nac/vocoder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crc32.h"
#include "core/status.h"
#include "vocoder/codebooks.h"
#include "vq/msvq.h"

#define K 20
#define D (K + NAC_VOCODER_EXTRA)
#define R NAC_VOCODER_FRAME_ROWS
#define MBEST 5
#define E_MIN 5.0  /* dB: energy quantiser range */
#define E_MAX 65.0
#define MAX_FIELDS 16

enum { F_VQ, F_ENERGY, F_EDELTA, F_PITCH, F_VOICING, F_SPARE };

#define E_DELTA_STEP 5.0 /* dB: step of an energy coded as an offset from the interpolated one */

typedef struct field {
    int kind, row, stage, bits;
} field;

typedef struct mode {
    double kbps;
    const char *name;
    int n_fields;
    field f[MAX_FIELDS];
} mode;

static const mode modes[] = {
    {0.7, "0.7", 5, {{F_VQ, 3, 0, 9}, {F_VQ, 3, 1, 8}, {F_ENERGY, 3, 0, 4}, {F_EDELTA, 1, 0, 2}, {F_PITCH, 3, 0, 5}}},
    {1.2, "1.2", 10, {{F_VQ, 3, 0, 9}, {F_VQ, 3, 1, 9}, {F_VQ, 3, 2, 9}, {F_ENERGY, 1, 0, 5}, {F_ENERGY, 3, 0, 5},
                      {F_PITCH, 3, 0, 7}, {F_VOICING, 0, 0, 1}, {F_VOICING, 1, 0, 1}, {F_VOICING, 2, 0, 1},
                      {F_SPARE, 0, 0, 1}}},
    {1.6, "1.6", 13, {{F_VQ, 1, 0, 9}, {F_VQ, 1, 1, 9}, {F_VQ, 3, 0, 9}, {F_VQ, 3, 1, 9}, {F_ENERGY, 1, 0, 5},
                      {F_ENERGY, 3, 0, 5}, {F_EDELTA, 0, 0, 2}, {F_EDELTA, 2, 0, 2}, {F_PITCH, 1, 0, 5},
                      {F_PITCH, 3, 0, 6}, {F_VOICING, 0, 0, 1}, {F_VOICING, 2, 0, 1}, {F_SPARE, 0, 0, 1}}},
};
#define N_MODES (int)(sizeof modes / sizeof modes[0])

struct nac_vocoder_codec {
    const mode *m;
    int bits;
    int n_stages;              /* VQ stages a coded row uses */
    float *cb;                 /* (3, 512, K) */
    nac_msvq *q;
    uint32_t hash;
};

/* ---- scalar quantisers ------------------------------------------------------------------------ */

static int32_t energy_code(float e, int bits)
{
    int32_t top = (1 << bits) - 1;
    double u = (e - E_MIN) / (E_MAX - E_MIN) * top;
    return u <= 0 ? 0 : u >= top ? top : (int32_t)lround(u);
}

static float energy_value(int32_t c, int bits)
{
    return (float)(E_MIN + (E_MAX - E_MIN) * c / ((1 << bits) - 1));
}

/* offsets from the interpolated energy: (c - 2^(bits-1)) E_DELTA_STEP dB, so 0 is one of them */
static int32_t edelta_code(float d, int bits)
{
    int32_t top = (1 << bits) - 1;
    double u = d / E_DELTA_STEP + (1 << (bits - 1));
    return u <= 0 ? 0 : u >= top ? top : (int32_t)lround(u);
}

static float edelta_value(int32_t c, int bits)
{
    return (float)((c - (1 << (bits - 1))) * E_DELTA_STEP);
}

/* 0 unvoiced; 1..2^bits - 1 log-uniform from F0_MIN to F0_MAX */
static int32_t pitch_code(float f0, int bits)
{
    if (!(f0 > 0))
        return 0;
    int32_t top = (1 << bits) - 1;
    double u = log(f0 / NAC_VOCODER_F0_MIN) / log(NAC_VOCODER_F0_MAX / NAC_VOCODER_F0_MIN) * (top - 1);
    return 1 + (u <= 0 ? 0 : u >= top - 1 ? top - 1 : (int32_t)lround(u));
}

static float pitch_value(int32_t c, int bits)
{
    if (c == 0)
        return 0;
    int32_t top = (1 << bits) - 1;
    return (float)(NAC_VOCODER_F0_MIN * pow(NAC_VOCODER_F0_MAX / NAC_VOCODER_F0_MIN, (double)(c - 1) / (top - 1)));
}

/* ---- create ----------------------------------------------------------------------------------- */

static int create_mode(nac_vocoder_codec **out, const mode *m, nac_error *err)
{
    nac_vocoder_codec *c = calloc(1, sizeof *c);
    if (!c)
        return nac_error_set(err, NAC_ERR_NOMEM, "vocoder codec: out of memory");
    c->m = m;
    for (int i = 0; i < m->n_fields; i++) {
        c->bits += m->f[i].bits;
        if (m->f[i].kind == F_VQ && m->f[i].stage + 1 > c->n_stages)
            c->n_stages = m->f[i].stage + 1;
    }
    const uint8_t *bytes;
    size_t size;
    nac_vocoder_codebook_bytes(&bytes, &size);
    size_t nf = (size_t)NAC_VOCODER_CB_STAGES * NAC_VOCODER_CB_ENTRIES * K;
    if (size != nf * 4) {
        free(c);
        return nac_error_set(err, NAC_ERR_INTERNAL, "vocoder codec: built-in codebooks have %zu bytes, want %zu",
                             size, nf * 4);
    }
    c->cb = malloc(nf * sizeof *c->cb);
    if (!c->cb) {
        free(c);
        return nac_error_set(err, NAC_ERR_NOMEM, "vocoder codec: out of memory");
    }
    for (size_t i = 0; i < nf; i++)
        c->cb[i] = nac_get_le_f32(bytes + 4 * i);
    const float *cbs[NAC_VOCODER_CB_STAGES];
    int M[NAC_VOCODER_CB_STAGES];
    for (int s = 0; s < NAC_VOCODER_CB_STAGES; s++) {
        cbs[s] = c->cb + (size_t)s * NAC_VOCODER_CB_ENTRIES * K;
        M[s] = NAC_VOCODER_CB_ENTRIES;
    }
    /* a stage coded with fewer than 9 bits uses the first 2^bits entries */
    for (int i = 0; i < m->n_fields; i++)
        if (m->f[i].kind == F_VQ)
            M[m->f[i].stage] = 1 << m->f[i].bits;
    if (!(c->q = nac_msvq_create(cbs, M, c->n_stages, K, err))) {
        nac_vocoder_codec_destroy(c);
        return err ? err->code : NAC_ERR_NOMEM;
    }
    /* the hash: the mode's name and field table, and the stages it uses */
    uint8_t tab[4 * MAX_FIELDS];
    for (int i = 0; i < m->n_fields; i++) {
        tab[4 * i] = (uint8_t)m->f[i].kind, tab[4 * i + 1] = (uint8_t)m->f[i].row;
        tab[4 * i + 2] = (uint8_t)m->f[i].stage, tab[4 * i + 3] = (uint8_t)m->f[i].bits;
    }
    uint32_t h = nac_crc32(0, "nac vocoder ", 12);
    h = nac_crc32(h, m->name, strlen(m->name));
    h = nac_crc32(h, tab, 4 * (size_t)m->n_fields);
    c->hash = nac_crc32(h, bytes, (size_t)c->n_stages * NAC_VOCODER_CB_ENTRIES * K * 4);
    *out = c;
    return NAC_OK;
}

int nac_vocoder_codec_create(nac_vocoder_codec **out, double kbps, nac_error *err)
{
    *out = NULL;
    for (int i = 0; i < N_MODES; i++)
        if (fabs(kbps - modes[i].kbps) < 1e-9)
            return create_mode(out, &modes[i], err);
    return nac_error_set(err, NAC_ERR_ARG, "vocoder codec: %g kbps is no mode (0.7, 1.2 or 1.6)", kbps);
}

int nac_vocoder_codec_from_hash(nac_vocoder_codec **out, uint32_t hash, nac_error *err)
{
    *out = NULL;
    for (int i = 0; i < N_MODES; i++) {
        nac_vocoder_codec *c = NULL;
        int st = create_mode(&c, &modes[i], err);
        if (st)
            return st;
        if (c->hash == hash) {
            *out = c;
            return NAC_OK;
        }
        nac_vocoder_codec_destroy(c);
    }
    return nac_error_set(err, NAC_ERR_MODEL, "no vocoder mode of this nac has hash %08x", hash);
}

void nac_vocoder_codec_destroy(nac_vocoder_codec *c)
{
    if (!c)
        return;
    nac_msvq_destroy(c->q);
    free(c->cb);
    free(c);
}

void nac_vocoder_codec_get_info(const nac_vocoder_codec *c, nac_vocoder_codec_info *info)
{
    memset(info, 0, sizeof *info);
    info->bits_per_frame = c->bits;
    info->kbps = c->m->kbps;
    info->hash = c->hash;
    info->n_fields = c->m->n_fields;
    for (int i = 0; i < c->m->n_fields; i++)
        info->field_bits[i] = c->m->f[i].bits;
}

/* ---- encode ----------------------------------------------------------------------------------- */

/* What the encoder codes for the rate-K vector of row r: rows r-1, r, r+1 weighted 1/4, 1/2, 1/4
 * (a low-pass before the decoder's 4:1 decimation and interpolation; measured on dev it kept STOI
 * better than the row itself or the least-squares fit to the interpolated rows). */
static void smooth_target(float *out, const float *x, size_t T, size_t r)
{
    size_t c = r < T ? r : T - 1, a = c > 0 ? c - 1 : 0, b = c + 1 < T ? c + 1 : c;
    for (int k = 0; k < K; k++)
        out[k] = 0.25f * x[a * D + k] + 0.5f * x[c * D + k] + 0.25f * x[b * D + k];
}

int nac_vocoder_codec_encode(int32_t **codes, size_t *n_frames, const nac_vocoder_codec *c, const float *feat,
                             size_t T, nac_error *err)
{
    *codes = NULL;
    *n_frames = 0;
    if (!feat || T == 0)
        return nac_error_set(err, NAC_ERR_ARG, "vocoder codec: no rows to encode");
    const mode *m = c->m;
    size_t F = (T + R - 1) / R;
    int32_t *out = malloc(F * (size_t)m->n_fields * sizeof *out);
    if (!out)
        return nac_error_set(err, NAC_ERR_NOMEM, "vocoder codec: out of memory");
    /* the last energy coded absolutely, and its row (for the offsets) */
    float qe_prev = 0;
    long pe_prev = -1;
    for (size_t f = 0; f < F; f++) {
        int32_t *cf = out + f * m->n_fields;
        int32_t idx[R][NAC_VOCODER_CB_STAGES];
        int done[R] = {0}, has_e[R] = {0};
        float qe[R] = {0};
        for (int i = 0; i < m->n_fields; i++) {
            const field *fd = &m->f[i];
            size_t t = f * R + fd->row;
            const float *row = feat + (t < T ? t : T - 1) * D;
            switch (fd->kind) {
            case F_VQ:
                if (!done[fd->row]) {
                    float target[K];
                    smooth_target(target, feat, T, t);
                    int st = nac_msvq_quantize(NULL, idx[fd->row], NULL, target, c->q, 1, MBEST, err);
                    if (st) {
                        free(out);
                        return st;
                    }
                    done[fd->row] = 1;
                }
                cf[i] = idx[fd->row][fd->stage];
                break;
            case F_ENERGY:
                cf[i] = energy_code(row[K], fd->bits);
                qe[fd->row] = energy_value(cf[i], fd->bits);
                has_e[fd->row] = 1;
                break;
            case F_EDELTA: {
                /* the decoder's interpolation between the absolute energies around this row */
                long pr = pe_prev - (long)(f * R);
                float a = qe_prev, b;
                for (int j = fd->row - 1; j >= 0; j--)
                    if (has_e[j]) {
                        pr = j, a = qe[j];
                        break;
                    }
                int nr = -1;
                for (int j = fd->row + 1; j < R; j++)
                    if (has_e[j]) {
                        nr = j;
                        break;
                    }
                b = nr >= 0 ? qe[nr] : a;
                if (pe_prev < 0 && pr < 0)
                    a = b;
                float w = nr >= 0 ? (float)(fd->row - pr) / (float)(nr - pr) : 0;
                cf[i] = edelta_code(row[K] - ((1 - w) * a + w * b), fd->bits);
                break;
            }
            case F_PITCH: cf[i] = pitch_code(row[K + 2] > 0 ? row[K + 1] : 0, fd->bits); break;
            case F_VOICING: cf[i] = row[K + 2] > 0; break;
            default: cf[i] = 0;
            }
        }
        for (int j = R - 1; j >= 0; j--)
            if (has_e[j]) {
                qe_prev = qe[j];
                pe_prev = (long)(f * R) + j;
                break;
            }
    }
    *codes = out;
    *n_frames = F;
    return NAC_OK;
}

/* ---- decode ----------------------------------------------------------------------------------- */

/* Fills the rows of x (T, stride) column col where have[t] is 0 by linear interpolation between the
 * nearest rows that have it (held constant beyond the first and last); all 0 leaves value v0. */
static void interp_col(float *x, size_t T, int stride, int col, const unsigned char *have, float v0)
{
    long prev = -1;
    for (size_t t = 0; t <= T; t++) {
        if (t < T && !have[t])
            continue;
        size_t lo = prev < 0 ? 0 : (size_t)prev + 1;
        for (size_t u = lo; u < t; u++) {
            float a = prev < 0 ? (t < T ? x[t * stride + col] : v0) : x[(size_t)prev * stride + col];
            float b = t < T ? x[t * stride + col] : a;
            float w = prev < 0 || t == T ? 0 : (float)(u - (size_t)prev) / (float)(t - (size_t)prev);
            x[u * stride + col] = (1 - w) * a + w * b;
        }
        prev = (long)t;
    }
}

int nac_vocoder_codec_decode(float **feat, size_t *T_out, const nac_vocoder_codec *c, const int32_t *codes,
                             size_t F, nac_error *err)
{
    *feat = NULL;
    *T_out = 0;
    const mode *m = c->m;
    if (!codes || F == 0)
        return nac_error_set(err, NAC_ERR_ARG, "vocoder codec: no frames to decode");
    size_t T = F * R;
    float *x = calloc(T * D, sizeof *x);
    unsigned char *hv = calloc(T, 1), *he = calloc(T, 1), *hp = calloc(T, 1), *hvo = calloc(T, 1);
    float *lf0 = calloc(T, sizeof *lf0), *dv = calloc(T, sizeof *dv);
    unsigned char *hf = calloc(T, 1), *hd = calloc(T, 1);
    int st = NAC_OK;
    if (!x || !hv || !he || !hp || !hvo || !lf0 || !hf || !dv || !hd) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "vocoder codec: out of memory (%zu frames)", F);
        goto done;
    }
    for (size_t f = 0; f < F; f++) {
        const int32_t *cf = codes + f * m->n_fields;
        for (int i = 0; i < m->n_fields; i++) {
            const field *fd = &m->f[i];
            size_t t = f * R + fd->row;
            float *row = x + t * D;
            if (cf[i] < 0 || cf[i] >= (1 << fd->bits)) {
                st = nac_error_set(err, NAC_ERR_CORRUPT, "vocoder codec: frame %zu field %d: code %d out of range", f,
                                   i, cf[i]);
                goto done;
            }
            switch (fd->kind) {
            case F_VQ: {
                const float *e = c->cb + ((size_t)fd->stage * NAC_VOCODER_CB_ENTRIES + (size_t)cf[i]) * K;
                for (int k = 0; k < K; k++)
                    row[k] += e[k];
                hv[t] = 1;
                break;
            }
            case F_ENERGY:
                row[K] = energy_value(cf[i], fd->bits);
                he[t] = 1;
                break;
            case F_EDELTA:
                hd[t] = 1;
                dv[t] = edelta_value(cf[i], fd->bits);
                break;
            case F_PITCH: {
                float f0 = pitch_value(cf[i], fd->bits);
                hp[t] = hvo[t] = 1;
                row[K + 2] = f0 > 0;
                if (f0 > 0) {
                    lf0[t] = logf(f0);
                    hf[t] = 1;
                }
                break;
            }
            case F_VOICING:
                row[K + 2] = (float)cf[i];
                hvo[t] = 1;
                break;
            default: break;
            }
        }
    }
    for (int k = 0; k < K; k++)
        interp_col(x, T, D, k, hv, 0);
    interp_col(x, T, D, K, he, (float)E_MIN);
    /* offsets on the interpolated energy, then those rows count as coded for the rest */
    for (size_t t = 0; t < T; t++)
        if (hd[t]) {
            x[t * D + K] += dv[t];
            he[t] = 1;
        }
    interp_col(x, T, D, K, he, (float)E_MIN);
    interp_col(lf0, T, 1, 0, hf, logf(100));
    /* voicing where not coded: that of the nearer row that has it (voiced on a tie if either is) */
    for (size_t t = 0; t < T; t++) {
        if (hvo[t])
            continue;
        long p = (long)t - 1, n = (long)t + 1;
        while (p >= 0 && !hvo[p])
            p--;
        while ((size_t)n < T && !hvo[n])
            n++;
        float vp = p >= 0 ? x[(size_t)p * D + K + 2] : -1, vn = (size_t)n < T ? x[(size_t)n * D + K + 2] : -1;
        long dp = p >= 0 ? (long)t - p : 1L << 30, dn = (size_t)n < T ? n - (long)t : 1L << 30;
        float v = dp < dn ? vp : dn < dp ? vn : (vp > 0 || vn > 0);
        x[t * D + K + 2] = v > 0;
    }
    for (size_t t = 0; t < T; t++) {
        float *row = x + t * D;
        row[K + 1] = row[K + 2] > 0 ? expf(lf0[t]) : 0;
        if (row[K + 1] > 0 && row[K + 1] < NAC_VOCODER_F0_MIN)
            row[K + 1] = NAC_VOCODER_F0_MIN;
        if (row[K + 1] > NAC_VOCODER_F0_MAX)
            row[K + 1] = NAC_VOCODER_F0_MAX;
    }
    *feat = x;
    *T_out = T;
    x = NULL;
done:
    free(x), free(hv), free(he), free(hp), free(hvo), free(lf0), free(hf), free(dv), free(hd);
    return st;
}

/* ---- bit packing ------------------------------------------------------------------------------ */

size_t nac_vocoder_packed_bytes(const nac_vocoder_codec *c, size_t n_frames)
{
    return (n_frames * (size_t)c->bits + 7) / 8;
}

void nac_vocoder_pack(uint8_t *out, const nac_vocoder_codec *c, const int32_t *codes, size_t n_frames)
{
    memset(out, 0, nac_vocoder_packed_bytes(c, n_frames));
    size_t bit = 0;
    for (size_t f = 0; f < n_frames; f++)
        for (int i = 0; i < c->m->n_fields; i++) {
            int b = c->m->f[i].bits;
            uint32_t v = (uint32_t)codes[f * c->m->n_fields + i];
            for (int j = b - 1; j >= 0; j--, bit++)
                if ((v >> j) & 1)
                    out[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
        }
}

void nac_vocoder_unpack(int32_t *codes, size_t *n_frames, const nac_vocoder_codec *c, const uint8_t *data,
                        size_t size)
{
    size_t F = size * 8 / (size_t)c->bits, bit = 0;
    for (size_t f = 0; f < F; f++)
        for (int i = 0; i < c->m->n_fields; i++) {
            uint32_t v = 0;
            for (int j = 0; j < c->m->f[i].bits; j++, bit++)
                v = (v << 1) | ((data[bit / 8] >> (7 - bit % 8)) & 1);
            codes[f * c->m->n_fields + i] = (int32_t)v;
        }
    *n_frames = F;
}
