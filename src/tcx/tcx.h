/* The transform coder of the high rates (coding mode 1 of the .nac container): an MDCT of 10 ms
 * hop, a band-energy envelope per 20 ms frame, and the coefficients quantised with one step per
 * packet, shaped by the envelope (step ~ band rms^0.3), coded by an adaptive range coder and
 * filled with noise where they quantise to zero. The encoder searches the step that fills a
 * constant-size packet, so the error falls with every added bit by construction. Runs at 16 kHz;
 * latency 30 ms (20 ms frame + 10 ms overlap); output delayed by NAC_TCX_DELAY samples.
 * Payload layout: docs/format.md, section "Transform payload". */
#ifndef NAC_TCX_TCX_H
#define NAC_TCX_TCX_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define NAC_TCX_RATE 16000
#define NAC_TCX_HOP 160                /* MDCT hop */
#define NAC_TCX_FRAME 320              /* samples per frame: two MDCT blocks, one envelope */
#define NAC_TCX_DELAY NAC_TCX_HOP      /* decoded sample i + delay is input sample i */
#define NAC_TCX_BANDS 24
#define NAC_TCX_MAX_PACKET_FRAMES 250  /* frames per packet, 5 s */
#define NAC_TCX_MIN_KBPS 8.0
#define NAC_TCX_MAX_KBPS 25.5           /* the header states the rate in 100 bit/s units, u8 */
#define NAC_TCX_HASH 0x54435831u       /* the container's model hash of this mode ("TCX1") */
#define NAC_TCX_AUTO_KBPS 12.0         /* from this rate on, nac codes with the transform coder (it follows
                                          the waveform there; the neural codec wins below) */

/* Frames a stream of n samples is coded in: enough, zero-padded, for the decoder (NAC_TCX_DELAY
 * behind) to put out every one of the n samples. */
size_t nac_tcx_stream_frames(size_t n);
/* Payload bytes of a packet of `frames` frames at kbps: floor(kbps * 2.5 * frames). */
size_t nac_tcx_packet_bytes(double kbps, int frames);

typedef struct nac_tcx_encoder nac_tcx_encoder;

/* kbps in NAC_TCX_MIN_KBPS..NAC_TCX_MAX_KBPS. Returns NAC_OK, NAC_ERR_ARG or NAC_ERR_NOMEM. */
int nac_tcx_encoder_create(nac_tcx_encoder **out, double kbps, nac_error *err);
void nac_tcx_encoder_destroy(nac_tcx_encoder *e);
/* Codes the next `frames` frames (1..NAC_TCX_MAX_PACKET_FRAMES) of pcm (frames * NAC_TCX_FRAME
 * samples at 16 kHz) into out, exactly nac_tcx_packet_bytes(kbps, frames) bytes (*size). Returns
 * NAC_OK, NAC_ERR_NUMERIC (a non-finite sample) or NAC_ERR_ARG (frame count; a rate that cannot
 * hold even the envelope). */
int nac_tcx_encode_packet(nac_tcx_encoder *e, uint8_t *out, size_t *size, const float *pcm, int frames,
                          nac_error *err);

typedef struct nac_tcx_decoder nac_tcx_decoder;

int nac_tcx_decoder_create(nac_tcx_decoder **out, nac_error *err);
void nac_tcx_decoder_destroy(nac_tcx_decoder *d);
/* Decodes one packet into pcm (room for NAC_TCX_MAX_PACKET_FRAMES * NAC_TCX_FRAME samples);
 * *frames gets its frame count. Returns NAC_OK or NAC_ERR_FORMAT (a payload no encoder writes;
 * then nothing is output and the caller conceals). */
int nac_tcx_decode_packet(nac_tcx_decoder *d, float *pcm, int *frames, const uint8_t *in, size_t size,
                          nac_error *err);
/* Fills `frames` frames of pcm for lost packets: the last envelope, fading 6 dB per frame, in noise. */
void nac_tcx_conceal(nac_tcx_decoder *d, float *pcm, int frames);

#endif
