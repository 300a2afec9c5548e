/* VBR payloads of the neural codec (docs/format.md 2.3.3, 2.3.4): a bit saying the packet is full (else
 * the frame count in 16 bits), then every code, frame by frame and stage by stage, range-coded
 * (src/core/range_coder.c): from a packet's second frame on, a flag "the previous frame's index"
 * where the stage's table has a repeat frequency, else the index with a static table per stage
 * learned from training data (models/vbr_default.bin, embedded in the library; stages past the
 * table are coded as 10 plain bits). Static tables keep every packet self-contained: a lost
 * packet costs no following one. With adaptive stage counts each frame first says how many of
 * its stages it codes. */
#include "packet/packet.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crc32.h"
#include "core/range_coder.h"

#define ENTRIES 1024
#define TABLE_HEAD 20     /* magic, version, model hash, stages, entries */
#define STAGE_BYTES (2 + ENTRIES * 2) /* repeat frequency, then the entries' frequencies */
#define MAX_TABLE_STAGES 64

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl nac_vbr_table_begin\n"
        ".hidden nac_vbr_table_begin\n"
        "nac_vbr_table_begin:\n"
        ".incbin \"models/vbr_default.bin\"\n"
        ".globl nac_vbr_table_end\n"
        ".hidden nac_vbr_table_end\n"
        "nac_vbr_table_end:\n"
        ".previous\n");

extern const unsigned char nac_vbr_table_begin[], nac_vbr_table_end[];

static struct {
    int stages;                                 /* 0: the table is unusable */
    uint32_t hash;
    uint32_t cum[MAX_TABLE_STAGES][ENTRIES + 1]; /* cumulative frequencies, total NAC_RC_MAX_TOTAL */
    uint32_t repeat[MAX_TABLE_STAGES];          /* frequency of "the previous frame's index" (0: no flag) */
    double bits[MAX_TABLE_STAGES];              /* each stage's expected bits per code */
} T;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Reads and checks the embedded table: "NACV", version 2, model hash, stages, entries (u32 LE),
 * then per stage a u16 LE repeat frequency (0..65535) and entries u16 LE frequencies, each >= 1,
 * summing to 65536. */
static void load_table(void)
{
    const uint8_t *b = nac_vbr_table_begin;
    size_t n = (size_t)(nac_vbr_table_end - nac_vbr_table_begin);
    if (n < TABLE_HEAD || memcmp(b, "NACV", 4) || nac_get_le32(b + 4) != 2 || nac_get_le32(b + 16) != ENTRIES)
        return;
    uint32_t S = nac_get_le32(b + 12);
    if (S < 1 || S > MAX_TABLE_STAGES || n != TABLE_HEAD + (size_t)S * STAGE_BYTES)
        return;
    for (uint32_t s = 0; s < S; s++) {
        const uint8_t *st = b + TABLE_HEAD + (size_t)s * STAGE_BYTES;
        uint32_t c = 0;
        double h = 0;
        T.repeat[s] = nac_get_le16(st);
        T.cum[s][0] = 0;
        for (int i = 0; i < ENTRIES; i++) {
            uint32_t f = nac_get_le16(st + 2 + (size_t)i * 2);
            if (f == 0)
                return;
            c += f;
            T.cum[s][i + 1] = c;
            h -= f / 65536.0 * log2(f / 65536.0);
        }
        if (c != NAC_RC_MAX_TOTAL)
            return;
        double p = T.repeat[s] / 65536.0; /* a repeat costs the flag; else the flag and the index */
        T.bits[s] = p > 0 ? -p * log2(p) - (1 - p) * log2(1 - p) + (1 - p) * h : h;
    }
    T.hash = nac_crc32(0, b, n);
    T.stages = (int)S;
}

uint32_t nac_vbr_table_hash(void)
{
    pthread_once(&once, load_table);
    return T.stages ? T.hash : 0;
}

/* Whether stage s of frame f of a packet has the "previous frame's index" flag: from the second
 * frame on, where the previous frame coded stage s too (S_prev stages) and the table gives the
 * stage a repeat frequency. */
static int has_repeat_flag(size_t f, int s, int S_prev) { return f > 0 && s < S_prev && s < T.stages && T.repeat[s]; }

/* ---- adaptive stage counts (docs/format.md 2.3.4) ------------------------------------------------ */

#define ADAPTIVE_TAG "nac adaptive stage counts 1"
static const int adaptive_counts[] = {3, 6, 12, 24, 48};

uint32_t nac_vbr_adaptive_hash(void)
{
    pthread_once(&once, load_table);
    return T.stages ? nac_crc32(T.hash, ADAPTIVE_TAG, sizeof ADAPTIVE_TAG - 1) : 0;
}

int nac_vbr_stage_set(int S, int *set)
{
    int k = 0;
    for (size_t i = 0; i < sizeof adaptive_counts / sizeof *adaptive_counts && adaptive_counts[i] < S; i++)
        set[k++] = adaptive_counts[i];
    set[k++] = S;
    return k;
}

/* The frequencies of a frame's stage-count symbol: adaptive within a packet (every packet starts
 * flat), integers only, so encoder and decoder agree on every platform. */
typedef struct count_model {
    uint32_t f[NAC_VBR_MAX_SET], total;
    int k;
} count_model;

static void count_model_init(count_model *m, int k)
{
    memset(m, 0, sizeof *m);
    m->k = k;
    for (int j = 0; j < k; j++)
        m->f[j] = 1;
    m->total = (uint32_t)k;
}

static uint32_t count_model_start(const count_model *m, int j)
{
    uint32_t c = 0;
    for (int i = 0; i < j; i++)
        c += m->f[i];
    return c;
}

static void count_model_update(count_model *m, int j)
{
    m->f[j] += 32;
    m->total += 32;
    if (m->total > 4096) {
        m->total = 0;
        for (int i = 0; i < m->k; i++)
            m->total += m->f[i] = (m->f[i] + 1) / 2;
    }
}

double nac_vbr_frame_bits(const int32_t *c, const int32_t *prev, int S, int S_prev)
{
    pthread_once(&once, load_table);
    double bits = 0;
    for (int s = 0; s < S; s++) {
        if (s >= T.stages) {
            bits += 10;
            continue;
        }
        uint32_t r = T.repeat[s];
        if (prev && has_repeat_flag(1, s, S_prev)) {
            if (c[s] == prev[s]) {
                bits -= log2(r / 65536.0);
                continue;
            }
            bits -= log2(1 - r / 65536.0);
        }
        bits -= log2((T.cum[s][c[s] + 1] - T.cum[s][c[s]]) / 65536.0);
    }
    return bits;
}

int nac_vbr_table_stages(void)
{
    pthread_once(&once, load_table);
    return T.stages;
}

int nac_vbr_stages_for_kbps(double kbps, int max_stages)
{
    pthread_once(&once, load_table);
    double bits = 0;
    int S = 0;
    while (S < max_stages) { /* the most stages whose expected rate stays within kbps (at 50 frames/s) */
        double b = S < T.stages ? T.bits[S] : 10;
        if ((bits + b) * 50 / 1000 > kbps + 1e-9)
            break;
        bits += b;
        S++;
    }
    return S ? S : 1;
}

double nac_vbr_expected_bits(int S)
{
    pthread_once(&once, load_table);
    double bits = 0;
    for (int s = 0; s < S; s++)
        bits += s < T.stages ? T.bits[s] : 10;
    return bits;
}

int nac_vbr_encode(uint8_t *out, size_t cap, size_t *size, const int32_t *codes, size_t F, size_t fpp, int S,
                   const uint8_t *fs, nac_error *err)
{
    pthread_once(&once, load_table);
    if (!T.stages)
        return nac_error_set(err, NAC_ERR_UNSUPPORTED, "the built-in VBR table is missing or damaged");
    if (F > 0xFFFF)
        return nac_error_set(err, NAC_ERR_ARG, "a VBR packet holds at most 65535 frames");
    int set[NAC_VBR_MAX_SET], k = fs ? nac_vbr_stage_set(S, set) : 0;
    count_model cm;
    count_model_init(&cm, k ? k : 1);
    nac_rc_encoder rc;
    nac_rc_encoder_init(&rc, out, cap);
    nac_rc_encode_bits(&rc, F == fpp, 1); /* a full packet, or the frame count follows */
    if (F != fpp)
        nac_rc_encode_bits(&rc, (uint32_t)F, 16);
    for (size_t f = 0; f < F; f++) {
        int Sf = S, Sp = S; /* this frame's stages, and the previous frame's */
        if (fs) {
            int j = 0;
            while (j < k && set[j] != fs[f])
                j++;
            if (j == k)
                return nac_error_set(err, NAC_ERR_ARG, "frame %zu: %d stages is not one of the stream's counts", f,
                                     (int)fs[f]);
            nac_rc_encode(&rc, count_model_start(&cm, j), cm.f[j], cm.total);
            count_model_update(&cm, j);
            Sf = fs[f];
            Sp = f > 0 ? fs[f - 1] : 0;
        }
        for (int s = 0; s < Sf; s++) {
            int32_t c = codes[f * (size_t)S + (size_t)s];
            if (c < 0 || c >= ENTRIES)
                return nac_error_set(err, NAC_ERR_ARG, "code %d of stage %d is not a 10-bit index", (int)c, s);
            if (s >= T.stages) {
                nac_rc_encode_bits(&rc, (uint32_t)c, 10);
                continue;
            }
            uint32_t r = T.repeat[s];
            if (has_repeat_flag(f, s, Sp)) { /* the previous frame's index again? (not across packets) */
                int same = c == codes[(f - 1) * (size_t)S + (size_t)s];
                nac_rc_encode(&rc, same ? 0 : r, same ? r : NAC_RC_MAX_TOTAL - r, NAC_RC_MAX_TOTAL);
                if (same)
                    continue;
            }
            nac_rc_encode(&rc, T.cum[s][c], T.cum[s][c + 1] - T.cum[s][c], NAC_RC_MAX_TOTAL);
        }
    }
    *size = nac_rc_encoder_finish(&rc);
    if (*size > cap)
        return nac_error_set(err, NAC_ERR_ARG, "a VBR packet of %zu bytes does not fit %zu", *size, cap);
    return NAC_OK;
}

int nac_vbr_decode(int32_t *codes, size_t max_frames, size_t *F, const uint8_t *in, size_t size, size_t fpp, int S,
                   uint8_t *fs, nac_error *err)
{
    pthread_once(&once, load_table);
    *F = 0;
    if (!T.stages)
        return nac_error_set(err, NAC_ERR_UNSUPPORTED, "the built-in VBR table is missing or damaged");
    int set[NAC_VBR_MAX_SET], k = fs ? nac_vbr_stage_set(S, set) : 0;
    count_model cm;
    count_model_init(&cm, k ? k : 1);
    nac_rc_decoder rc;
    nac_rc_decoder_init(&rc, in, size);
    size_t n = nac_rc_decode_bits(&rc, 1) ? fpp : nac_rc_decode_bits(&rc, 16);
    if (n > max_frames)
        return nac_error_set(err, NAC_ERR_CORRUPT, "VBR packet claims %zu frames, at most %zu fit", n, max_frames);
    for (size_t f = 0; f < n; f++) {
        int Sf = S, Sp = S;
        if (fs) {
            uint32_t v = nac_rc_decode_freq(&rc, cm.total);
            int j = 0;
            while (j < k - 1 && count_model_start(&cm, j + 1) <= v)
                j++;
            nac_rc_decode_update(&rc, count_model_start(&cm, j), cm.f[j]);
            count_model_update(&cm, j);
            fs[f] = (uint8_t)(Sf = set[j]);
            Sp = f > 0 ? fs[f - 1] : 0;
            memset(codes + f * (size_t)S + Sf, 0, (size_t)(S - Sf) * sizeof *codes);
        }
        for (int s = 0; s < Sf; s++) {
            int32_t c;
            if (s >= T.stages) {
                c = (int32_t)nac_rc_decode_bits(&rc, 10);
            } else if (has_repeat_flag(f, s, Sp) && nac_rc_decode_freq(&rc, NAC_RC_MAX_TOTAL) < T.repeat[s]) {
                nac_rc_decode_update(&rc, 0, T.repeat[s]);
                c = codes[(f - 1) * (size_t)S + (size_t)s]; /* the previous frame's index */
            } else {
                if (has_repeat_flag(f, s, Sp))
                    nac_rc_decode_update(&rc, T.repeat[s], NAC_RC_MAX_TOTAL - T.repeat[s]);
                const uint32_t *cum = T.cum[s];
                uint32_t v = nac_rc_decode_freq(&rc, NAC_RC_MAX_TOTAL);
                int lo = 0, hi = ENTRIES - 1; /* the symbol whose interval holds v */
                while (lo < hi) {
                    int mid = (lo + hi + 1) / 2;
                    if (cum[mid] <= v)
                        lo = mid;
                    else
                        hi = mid - 1;
                }
                nac_rc_decode_update(&rc, cum[lo], cum[lo + 1] - cum[lo]);
                c = lo;
            }
            codes[f * (size_t)S + (size_t)s] = c;
        }
    }
    /* No check of where the bytes end: the encoder drops trailing zero bytes (the decoder reads
     * zeros past the end), so a payload of any length decodes to codes in range; damage is the
     * CRC's to find. */
    *F = n;
    return NAC_OK;
}
