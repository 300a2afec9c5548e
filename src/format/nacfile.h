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

#define NAC_NACFILE_VERSION 1
#define NAC_NACFILE_HEADER_SIZE 9
#define NAC_NACFILE_SYNC0 0xA5
#define NAC_NACFILE_SYNC1 0x5A
#define NAC_NACFILE_PACKET_OVERHEAD 12  /* sync 2 + sequence 4 + length 2 + CRC 4 */
#define NAC_NACFILE_MAX_PAYLOAD 65535
#define NAC_NACFILE_MAX_STAGES 64
#define NAC_NACFILE_MAX_ENCODER 255     /* bytes of the encoder-version string */
#define NAC_NACFILE_MAX_SOURCE_RATE 655350 /* Hz: the most a WAV or FLAC file can state */
#define NAC_NACFILE_MAX_GAP_SECONDS 60     /* longest packet; longest gap of a stream of unknown length */
#define NAC_NACFILE_LENGTH_UNKNOWN UINT64_MAX /* length tag value of a stream of unknown length */
/* Returned (a positive value, not an error) by nac_nacfile_reader_next at the end of the input. */
#define NAC_NACFILE_END 1

/* Metadata tags. Unknown tags are skipped by readers. */
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
    NAC_TAG_CRC = 0xFF                /* u32, last: CRC-32 of every byte of the stream before it */
};

/* Coding modes (tag 0x0C): what the packets' payload is. */
enum {
    NAC_MODE_NEURAL = 0,    /* the neural codec's residual-VQ codes (tag absent) */
    NAC_MODE_TRANSFORM = 1, /* the transform coder of the high rates */
    NAC_MODE_VOCODER = 2,   /* the vocoder-feature mode of 0.7-1.6 kbps */
    NAC_MODE_COUNT
};

/* What a .nac stream says about itself. */
typedef struct nac_nacfile_info {
    uint32_t source_rate;       /* Hz, 1000..NAC_NACFILE_MAX_SOURCE_RATE */
    uint16_t channels;          /* 1..255 */
    uint64_t length;            /* samples per channel at source_rate, or NAC_NACFILE_LENGTH_UNKNOWN */
    uint32_t codec_rate;        /* Hz, 1000..768000 */
    uint32_t frame_size;        /* codec-rate samples per frame, 1..codec_rate (e.g. 320 at 16 kHz) */
    uint16_t n_stages;          /* 1..NAC_NACFILE_MAX_STAGES */
    uint8_t stage_bits[NAC_NACFILE_MAX_STAGES]; /* [0..n_stages-1], each 1..24 */
    uint32_t model_hash;
    uint32_t delay;             /* codec-rate samples, at most 10 s worth */
    uint16_t frames_per_packet; /* 0 = not stated (tag absent); frames_per_packet * frame_size <= 60 s */
    uint8_t mode;               /* NAC_MODE_*; 0 when tag 0x0C is absent */
    uint8_t bitrate;            /* nominal, units of 100 bit/s (60 = 6 kbps); 0 = not stated */
    char encoder[NAC_NACFILE_MAX_ENCODER + 1]; /* NUL-terminated UTF-8 */
} nac_nacfile_info;

/* Checks the fields of info for the ranges above. Returns NAC_OK or NAC_ERR_ARG with the reason. */
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
/* Flushes and checks that every write succeeded (does not close f). Returns NAC_OK or NAC_ERR_IO. */
int nac_nacfile_writer_finish(nac_nacfile_writer *w, nac_error *err);
/* The bytes written so far by a memory writer (owned by w, valid until the next write or destroy);
 * NULL and 0 for a FILE writer. */
void nac_nacfile_writer_buffer(const nac_nacfile_writer *w, const uint8_t **data, size_t *size);
/* NULL is a no-op. */
void nac_nacfile_writer_destroy(nac_nacfile_writer *w);

/* ---- reader ---------------------------------------------------------------------------- */

typedef struct nac_nacfile_reader nac_nacfile_reader;

/* One packet. data points into the reader and is valid until its next call. */
typedef struct nac_nacfile_packet {
    uint32_t seq;         /* sequence number */
    uint32_t lost;        /* packets missing just before this one (seq - expected), within the bounds of
                           * docs/format.md 2.4: to conceal */
    int reordered;        /* 1 for both packets of two neighbours that came in swapped order and are
                           * returned in order (the second call's packet has the lower offset) */
    const uint8_t *data;  /* payload */
    size_t size;          /* payload bytes */
    uint64_t offset;      /* byte offset of the packet's sync word in the stream */
} nac_nacfile_packet;

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
/* NULL is a no-op. */
void nac_nacfile_reader_destroy(nac_nacfile_reader *r);

#endif
