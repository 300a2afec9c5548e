/* libFuzzer target: the transform coder's packet decoder (src/tcx/tcx.c), on a stream of payloads:
 * each is a 2-byte big-endian length and that many bytes; a payload that does not parse must fail
 * cleanly, and one that does must give finite samples. Concealment runs between payloads. The
 * decoder is made once (its MDCT tables dominate a run otherwise); what it carries between inputs
 * (overlap, noise state) does not steer parsing. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "tcx/tcx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static float pcm[NAC_TCX_MAX_PACKET_FRAMES * NAC_TCX_FRAME];
    static nac_tcx_decoder *d;
    if (!d && nac_tcx_decoder_create(&d, NULL))
        abort();
    size_t pos = 0;
    while (pos + 2 <= size) {
        size_t n = (size_t)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (n > size - pos)
            n = size - pos;
        int frames = 0, st = nac_tcx_decode_packet(d, pcm, &frames, data + pos, n, NULL);
        if (st != NAC_OK && st != NAC_ERR_FORMAT)
            abort();
        if (st == NAC_OK)
            for (int i = 0; i < frames * NAC_TCX_FRAME; i++)
                if (!isfinite(pcm[i]))
                    abort();
        pos += n;
        nac_tcx_conceal(d, pcm, 1);
    }
    return 0;
}
