/* The .nac container: big-endian. A 9-byte header ("NAC", version, metadata length, bitrate),
 * a TLV metadata list ending in a CRC, then packets of opaque payload bytes (the codec's
 * bit-packed codes), each with a sync word, a sequence number, a length and a CRC-32, so that a
 * reader can detect lost packets and resynchronise after damage. Byte layout: docs/format.md. */
#ifndef NAC_FORMAT_NACFILE_H
#define NAC_FORMAT_NACFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/status.h"

#define NAC_NACFILE_VERSION NAC_FORMAT_VERSION /* the version written when info.version is 0 */
#define NAC_NACFILE_HEADER_SIZE 9
#define NAC_NACFILE_SYNC0 0xA5
#define NAC_NACFILE_SYNC1 0x5A
#define NAC_NACFILE_PACKET_OVERHEAD 12  /* version 1: sync 2 + sequence 4 + length 2 + CRC 4 */
#define NAC_NACFILE_MAX_OVERHEAD 11     /* version 2 at most: sync 2 + sequence 2 + length 3 + CRC 4 */
#define NAC_NACFILE_SHORT_PAYLOAD 4000  /* version 2: payloads up to this size carry a CRC-16, longer a CRC-32 */
#define NAC_NACFILE_MAX_PAYLOAD 65535
#define NAC_NACFILE_MAX_STAGES NAC_MAX_STAGES
#define NAC_NACFILE_MAX_ENCODER NAC_MAX_ENCODER
#define NAC_NACFILE_MAX_SOURCE_RATE 655350 /* Hz: the most a WAV or FLAC file can state */
#define NAC_NACFILE_MAX_GAP_SECONDS 60     /* longest packet; longest gap of a stream of unknown length */
#define NAC_NACFILE_LENGTH_UNKNOWN NAC_LENGTH_UNKNOWN
/* Returned (a positive value, not an error) by nac_nacfile_reader_next at the end of the input. */
#define NAC_NACFILE_END NAC_END

/* Version-1 metadata tags (TLV: u8 tag, u16 length, value). Unknown tags are skipped by readers. */
enum {
    NAC_TAG_SOURCE_RATE = 0x01,       /* u32: sample rate of the original audio, Hz */
    NAC_TAG_CHANNELS = 0x02,          /* u16: channels of the original audio */
    NAC_TAG_LENGTH = 0x03,            /* u64: samples per channel at the source rate */
    NAC_TAG_CODEC_RATE = 0x04,        /* u32: sample rate the codec runs at, Hz */
    NAC_TAG_FRAME_SIZE = 0x05,        /* u32: codec-rate samples per latent frame (hop) */
    NAC_TAG_STAGES = 0x06,            /* u16: quantiser stages */
    NAC_TAG_STAGE_BITS = 0x07,        /* u8 per stage: bits of each stage's code */
    NAC_TAG_MODEL_HASH = 0x08,        /* u32: identifies the model (CRC-32 of its weight file) */
    NAC_TAG_DELAY = 0x09,             /* u32: codec delay in codec-rate samples */
    NAC_TAG_ENCODER = 0x0A,           /* UTF-8: encoder name and version */
    NAC_TAG_FRAMES_PER_PACKET = 0x0B, /* u16, optional: latent frames in each packet */
    NAC_TAG_MODE = 0x0C,              /* u8, optional: coding mode (NAC_MODE_*); absent = 0 */
    NAC_TAG_VBR_TABLE = 0x0D,         /* version 2 only: u32 hash of the VBR probability table */
    NAC_TAG_CRC = 0xFF                /* u32, last: CRC-32 of every byte of the stream before it */
};
/* Version 2 uses the same numbers as field ids (docs/format.md 2.2). */

#define NAC_MODE_COUNT 3

/* What a .nac stream says about itself (include/nac/nac.h). */
typedef nac_stream_info nac_nacfile_info;

/* Checks the fields of info for the ranges of docs/format.md. Returns NAC_OK or NAC_ERR_ARG with the reason. */
int nac_nacfile_info_check(const nac_nacfile_info *info, nac_error *err);

/* ---- writer ---------------------------------------------------------------------------- */

typedef struct nac_nacfile_writer nac_nacfile_writer;

/* Checks info and writes the header and metadata to f (a file or a pipe: nothing is ever
 * rewritten, no seek). f is not owned and must outlive the writer. Returns NAC_OK, NAC_ERR_ARG,
 * NAC_ERR_IO or NAC_ERR_NOMEM. */
int nac_nacfile_writer_create(nac_nacfile_writer **out, FILE *f, const nac_nacfile_info *info, nac_error *err);
/* As nac_nacfile_writer_create, writing into a growing buffer (see nac_nacfile_writer_buffer). */
int nac_nacfile_writer_create_mem(nac_nacfile_writer **out, const nac_nacfile_info *info, nac_error *err);
/* Appends one packet: sync word, seq, len, payload[0..len-1], CRC. len <= 65535.
 * Returns NAC_OK, NAC_ERR_ARG, NAC_ERR_IO, NAC_ERR_NOMEM or NAC_ERR_STATE (after finish). */
int nac_nacfile_writer_write(nac_nacfile_writer *w, uint32_t seq, const uint8_t *payload, size_t len,
                             nac_error *err);
/* Appends a packet framed by nac_nacfile_packet_frame with the writer's version (checked with
 * nac_nacfile_packet_parse: NAC_ERR_ARG if it is not exactly one valid packet). */
int nac_nacfile_writer_write_framed(nac_nacfile_writer *w, const uint8_t *packet, size_t size, nac_error *err);
/* The container version the writer writes (1 or 2). */
int nac_nacfile_writer_version(const nac_nacfile_writer *w);
/* Flushes and checks that every write succeeded (does not close f). Returns NAC_OK or NAC_ERR_IO. */
int nac_nacfile_writer_finish(nac_nacfile_writer *w, nac_error *err);
/* The bytes written so far by a memory writer (owned by w, valid until the next write or destroy);
 * NULL and 0 for a FILE writer. */
void nac_nacfile_writer_buffer(const nac_nacfile_writer *w, const uint8_t **data, size_t *size);
/* NULL is a no-op. */
void nac_nacfile_writer_destroy(nac_nacfile_writer *w);

/* ---- reader ---------------------------------------------------------------------------- */

typedef struct nac_nacfile_reader nac_nacfile_reader;

/* One packet (include/nac/nac.h). */
typedef nac_packet nac_nacfile_packet;

/* Frames payload[0..len-1] as one packet of the given container version (1 or 2) with sequence
 * number seq (version 2 keeps seq mod 65536) into out (at least len + NAC_NACFILE_PACKET_OVERHEAD
 * bytes); returns the packet's size. len <= NAC_NACFILE_MAX_PAYLOAD. */
size_t nac_nacfile_packet_frame(uint8_t *out, int version, uint32_t seq, const uint8_t *payload, size_t len);
/* Parses exactly one framed packet of the given version in data[0..size-1]: *pkt gets its
 * (unwrapped: the 16 bits of version 2 as stored) sequence number and payload (pointing into data;
 * lost, reordered and offset 0). NAC_OK; NAC_ERR_TRUNCATED (size shorter than the packet says),
 * NAC_ERR_CORRUPT (no sync word, bad length or CRC, bytes after the packet). */
int nac_nacfile_packet_parse(nac_nacfile_packet *pkt, int version, const uint8_t *data, size_t size, nac_error *err);

/* Reads and validates the header and metadata from f (a file, a pipe or stdin; read
 * sequentially, never seeked). f is not owned and must outlive the reader. Returns NAC_OK,
 * NAC_ERR_FORMAT (bad magic, malformed metadata, missing required tag, insane value),
 * NAC_ERR_UNSUPPORTED (newer version), NAC_ERR_TRUNCATED, NAC_ERR_CORRUPT (metadata CRC),
 * NAC_ERR_IO or NAC_ERR_NOMEM. */
int nac_nacfile_reader_create(nac_nacfile_reader **out, FILE *f, nac_error *err);
/* As nac_nacfile_reader_create from size bytes at data (not copied: must outlive the reader). */
int nac_nacfile_reader_create_mem(nac_nacfile_reader **out, const void *data, size_t size, nac_error *err);
/* The stream's header and metadata. */
const nac_nacfile_info *nac_nacfile_reader_info(const nac_nacfile_reader *r);
/* Reads the next packet. Returns
 *   NAC_OK: *pkt holds a packet whose CRC checks;
 *   NAC_ERR_CORRUPT: bytes that are not a valid packet were skipped; the reader has already
 *     resynchronised on the next sync word whose packet CRC checks, and the next call returns that
 *     packet (its lost field counts the packets lost, from the sequence numbers); or valid packets
 *     were dropped by the sequence rules of docs/format.md 2.4 (repeated, late, or numbered beyond
 *     what the stream allows), one report per run of them;
 *   NAC_ERR_TRUNCATED: the input ends inside a packet (reported once; then NAC_NACFILE_END);
 *   NAC_NACFILE_END: no more packets;
 *   NAC_ERR_IO: reading f failed.
 * err gets the offsets of the damage. */
int nac_nacfile_reader_next(nac_nacfile_reader *r, nac_nacfile_packet *pkt, nac_error *err);
/* Bytes of the stream consumed so far. */
uint64_t nac_nacfile_reader_offset(const nac_nacfile_reader *r);
/* NULL is a no-op. */
void nac_nacfile_reader_destroy(nac_nacfile_reader *r);

#endif
