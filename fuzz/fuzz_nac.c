/* libFuzzer target: the .nac reader and the decoder with the built-in model, as nac decode uses
 * them. The first input byte is a mode: bit 0 repairs the checksums first (the metadata CRC and
 * every packet's CRC, walking the packets by their length fields; container versions 1 and 2), so that mutations reach the
 * metadata rules, the sequence rules and the decoder instead of stopping at a CRC mismatch; bit 1
 * decodes the packets (a sanitized decoder is slow: without it the reader runs 1000s of inputs/s). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crc16.h"
#include "core/crc32.h"
#include "format/nacfile.h"
#include "nac/nac.h"
#include "vq/rvq.h"

#define MAX_FRAMES 10 /* decoded or concealed per input (0.2 s): a sanitized decoder runs about at real time */

static void repair(uint8_t *b, size_t n)
{
    if (n < NAC_NACFILE_HEADER_SIZE)
        return;
    int v1 = b[3] == 1;
    size_t meta = nac_get_be32(b + 4), end = NAC_NACFILE_HEADER_SIZE + meta;
    if (meta < (v1 ? 7u : 2u) || end > n)
        return;
    if (v1)
        nac_put_be32(b + end - 4, nac_crc32(0, b, end - 4));
    else
        nac_put_be16(b + end - 2, nac_crc16(NAC_CRC16_INIT, b, end - 2));
    for (size_t p = end; p + 7 <= n;) {
        if (b[p] != NAC_NACFILE_SYNC0 || b[p + 1] != NAC_NACFILE_SYNC1) {
            p++;
            continue;
        }
        size_t hdr = 8, len = nac_get_be16(b + p + 6), check = 4;
        if (!v1) { /* a varint length of up to 3 bytes, then a CRC-16 up to 4000 bytes */
            len = 0;
            for (hdr = 4; hdr < 7; hdr++) {
                len |= (size_t)(b[p + hdr] & 0x7F) << (7 * (hdr - 4));
                if (!(b[p + hdr] & 0x80))
                    break;
            }
            hdr++;
            check = len <= NAC_NACFILE_SHORT_PAYLOAD ? 2 : 4;
        }
        if (p + hdr + len + check > n)
            break;
        if (check == 2)
            nac_put_be16(b + p + hdr + len, nac_crc16(NAC_CRC16_INIT, b + p + 2, hdr - 2 + len));
        else
            nac_put_be32(b + p + hdr + len, nac_crc32(0, b + p + 2, hdr - 2 + len));
        p += hdr + len + check;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nac_model *m;
    static nac_model_info mi;
    static nac_decoder *d; /* reset for each input: creating one costs more than decoding a few frames */
    if (!m) {
        if (nac_model_load_default(&m, NULL) || nac_decoder_create(&d, m, NULL))
            abort();
        nac_model_get_info(m, &mi);
    }
    if (size < 1)
        return 0;
    int fix = data[0] & 1;
    uint8_t *b = malloc(size);
    memcpy(b, data + 1, size - 1);
    if (fix)
        repair(b, size - 1);
    nac_nacfile_reader *r = NULL;
    int32_t *codes = NULL;
    float *pcm = NULL;
    if (nac_nacfile_reader_create_mem(&r, b, size - 1, NULL))
        goto done;
    const nac_nacfile_info *in = nac_nacfile_reader_info(r);
    /* as nac decode: only a stream of this model is decoded; the reader's rules apply to any */
    int decode = (data[0] & 2) && in->model_hash == mi.hash && (int)in->frame_size == mi.frame_size && in->n_stages <= mi.n_stages &&
                 in->mode == NAC_MODE_NEURAL;
    for (unsigned s = 0; decode && s < in->n_stages; s++)
        decode = in->stage_bits[s] == mi.bits_per_stage;
    size_t S = in->n_stages, fpp = in->frames_per_packet ? in->frames_per_packet : 50;
    size_t cap = 65535 * 8 / (S * (size_t)mi.bits_per_stage) + 1;
    if (decode) {
        codes = malloc(cap * S * sizeof *codes);
        pcm = malloc((cap > fpp ? cap : fpp) * (size_t)mi.frame_size * sizeof *pcm);
        if (!codes || !pcm)
            abort();
        nac_decoder_reset(d);
    }
    size_t budget = MAX_FRAMES;
    for (;;) {
        nac_nacfile_packet p;
        int rc = nac_nacfile_reader_next(r, &p, NULL);
        if (rc == NAC_NACFILE_END || (rc < 0 && rc != NAC_ERR_CORRUPT && rc != NAC_ERR_TRUNCATED))
            break;
        if (rc != NAC_OK || !decode)
            continue;
        for (uint32_t k = 0; k < p.lost && budget >= fpp; k++, budget -= fpp)
            if (nac_decoder_decode(d, pcm, NULL, NULL, fpp, (int)S, NULL))
                abort();
        size_t frames = p.size * 8 / (S * (size_t)mi.bits_per_stage);
        if (frames > budget)
            frames = budget;
        budget -= frames;
        if (nac_rvq_unpack(codes, p.data, p.size, frames * S, mi.bits_per_stage, NULL) ||
            nac_decoder_decode(d, pcm, codes, NULL, frames, (int)S, NULL))
            abort(); /* valid packets of this model always decode */
    }
done:
    nac_nacfile_reader_destroy(r);
    free(codes);
    free(pcm);
    free(b);
    return 0;
}
