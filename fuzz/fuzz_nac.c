/* libFuzzer target: the .nac file reader and the packet decoder (include/nac/nac.h) with the
 * built-in model, as nac decode uses them. The first input byte is a mode: bit 0 repairs the
 * checksums first (the metadata CRC and every packet's CRC, walking the packets by their length
 * fields; container versions 1 and 2), so that mutations reach the metadata rules, the sequence
 * rules and the decoders instead of stopping at a CRC mismatch; bit 1 decodes the packets (a
 * sanitized decoder is slow: without it the reader runs 1000s of inputs/s). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crc16.h"
#include "core/crc32.h"
#include "format/nacfile.h"
#include "nac/nac.h"

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
    if (!m && nac_model_load_default(&m, NULL))
        abort();
    if (size < 1)
        return 0;
    int fix = data[0] & 1;
    uint8_t *b = malloc(size);
    memcpy(b, data + 1, size - 1);
    if (fix)
        repair(b, size - 1);
    nac_file_reader *r = NULL;
    nac_packet_decoder *d = NULL;
    float *pcm = NULL;
    if (nac_file_reader_open_mem(&r, b, size - 1, NULL))
        goto done;
    const nac_stream_info *in = nac_file_reader_info(r);
    /* as nac decode, through the packet API: a stream this nac can decode is decoded (any mode);
     * the reader's rules apply to any */
    int decode = (data[0] & 2) && nac_packet_decoder_create(&d, m, in, 0, NULL) == NAC_OK;
    size_t cap = 10 * (size_t)in->frame_size;
    if (decode && !(pcm = malloc(cap * sizeof *pcm)))
        abort();
    size_t budget = MAX_FRAMES;
    for (;;) {
        nac_packet p;
        int rc = nac_file_reader_next(r, &p, NULL);
        if (rc == NAC_END || (rc < 0 && rc != NAC_ERR_CORRUPT && rc != NAC_ERR_TRUNCATED))
            break;
        if (rc != NAC_OK || !decode || budget == 0)
            continue;
        if (in->mode == NAC_MODE_VOCODER && p.size > 64)
            continue; /* the vocoder synthesises every frame it was given at the end: keep that small */
        size_t frames = 0, n = 0, lost = p.lost * nac_packet_decoder_packet_frames(d);
        if (lost && nac_packet_decoder_conceal(d, lost < budget ? lost : budget, NULL))
            abort();
        budget -= lost < budget ? lost : budget;
        do
            if (nac_packet_decoder_read(d, pcm, cap, &n, NULL))
                abort();
        while (n);
        if (budget == 0)
            continue;
        int st = nac_packet_decoder_decode(d, &p, &frames, NULL);
        if (st < 0 && st != NAC_ERR_CORRUPT)
            abort(); /* a payload that does not decode is concealed, never an error */
        for (size_t left = frames < budget ? frames : budget; left > 0; left -= n / in->frame_size) {
            if (nac_packet_decoder_read(d, pcm, cap, &n, NULL))
                abort();
            if (n == 0)
                break;
        }
        budget -= frames < budget ? frames : budget;
    }
    if (decode && nac_packet_decoder_finish(d, NULL) < 0 && in->mode != NAC_MODE_VOCODER)
        abort();
done:
    nac_packet_decoder_destroy(d);
    nac_file_reader_close(r);
    free(pcm);
    free(b);
    return 0;
}
