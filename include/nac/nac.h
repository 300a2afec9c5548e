/* nac: neural audio codec and vector-quantisation toolkit. Public API.
 * Every function that can fail returns a nac_status (0 = NAC_OK, negative = error);
 * results come back through out-parameters. Handles are opaque. */
#ifndef NAC_NAC_H
#define NAC_NAC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NAC_VERSION_STRING "0.1.0"

typedef enum nac_status {
    NAC_OK = 0,
    NAC_ERR_ARG = -1,         /* invalid argument */
    NAC_ERR_NOMEM = -2,       /* allocation failed */
    NAC_ERR_IO = -3,          /* file could not be opened, read or written */
    NAC_ERR_FORMAT = -4,      /* input is not in the expected format */
    NAC_ERR_CORRUPT = -5,     /* checksum mismatch or inconsistent content */
    NAC_ERR_TRUNCATED = -6,   /* input ends early */
    NAC_ERR_UNSUPPORTED = -7, /* valid but not supported (version, feature) */
    NAC_ERR_EMPTY = -8,       /* input holds no data */
    NAC_ERR_NUMERIC = -9,     /* NaN or infinity where a finite number is required */
    NAC_ERR_MODEL = -10,      /* model missing, mismatched or incompatible */
    NAC_ERR_STATE = -11,      /* call not valid in the handle's current state */
    NAC_ERR_INTERNAL = -12    /* a bug in nac */
} nac_status;

/* Short description of a status code; never NULL. */
const char *nac_strerror(int status);

/* Detail of a failed call: the caller owns it and passes it as the last argument (or NULL). */
typedef struct nac_error {
    int code;
    char msg[384];
} nac_error;

/* ---- models -------------------------------------------------------------------------------------
 * A model is immutable once loaded: share one between any number of encoders and decoders, in any
 * threads. It must outlive them. */
typedef struct nac_model nac_model;

typedef struct nac_model_info {
    int sample_rate;     /* Hz of the PCM the encoder takes and the decoder gives (16000) */
    int frame_size;      /* samples per coded frame (320: 50 frames per second) */
    int delay;           /* samples of codec delay: decoded sample n + delay matches input sample n */
    int n_stages;        /* residual VQ stages (bits_per_stage bits each, per frame) */
    int bits_per_stage;  /* 10 for 1024-entry codebooks */
    uint32_t hash;       /* identifies the weights (CRC-32 of the model file) */
    long long train_steps; /* training steps of the model, -1 if unknown */
} nac_model_info;

/* Loads a model file (see docs/format.md). Returns NAC_OK; NAC_ERR_IO, NAC_ERR_FORMAT,
 * NAC_ERR_CORRUPT, NAC_ERR_TRUNCATED, NAC_ERR_UNSUPPORTED or NAC_ERR_MODEL with detail in err. */
int nac_model_load(nac_model **out, const char *path, nac_error *err);
/* The model built into the library. */
int nac_model_load_default(nac_model **out, nac_error *err);
/* From memory; data is not copied and must outlive the model. */
int nac_model_load_mem(nac_model **out, const void *data, size_t size, nac_error *err);
void nac_model_destroy(nac_model *m);
void nac_model_get_info(const nac_model *m, nac_model_info *info);
/* Stages for a bitrate in kbps (stages * bits_per_stage * frames per second <= kbps * 1000), at
 * least 1 and at most n_stages. */
int nac_model_stages_for_kbps(const nac_model *m, double kbps);

/* ---- encoder ------------------------------------------------------------------------------------
 * Streaming: push PCM (model rate, mono, float in [-1, 1]) in chunks of any size; each call returns
 * the codes of the frames it completed. Output is identical for any chunking. No allocation after
 * create. One encoder is used by one thread at a time; distinct encoders are independent. */
typedef struct nac_encoder nac_encoder;

/* n_stages: 1..model stages (the bitrate; see nac_model_stages_for_kbps). */
int nac_encoder_create(nac_encoder **out, const nac_model *m, int n_stages, nac_error *err);
void nac_encoder_destroy(nac_encoder *e);
/* Most frames a push of n samples can complete, to size the codes buffer. */
size_t nac_encoder_max_frames(const nac_encoder *e, size_t n);
/* Consumes pcm (n samples); writes codes (frames, n_stages) for each completed frame, *frames
 * of them (at most max_frames: NAC_ERR_ARG if the buffer is too small, consuming nothing). */
int nac_encoder_push(nac_encoder *e, int32_t *codes, size_t max_frames, size_t *frames, const float *pcm,
                     size_t n, nac_error *err);
/* Ends the stream: zero-pads the partial frame and adds the frames needed to cover the codec delay,
 * so that decoding all frames and dropping the first `delay` samples gives back every input
 * sample. Writes up to max_frames (at least nac_encoder_max_frames(e, delay + frame_size)). */
int nac_encoder_flush(nac_encoder *e, int32_t *codes, size_t max_frames, size_t *frames, nac_error *err);
/* Back to the initial state (a new stream). */
void nac_encoder_reset(nac_encoder *e);
/* Threads (OpenMP) this encoder's calls may use: default 1, so a per-frame call never starts a
 * parallel team; more helps long batched pushes. The codes are identical for any count. The count
 * applies for the span of each call only (the caller's OpenMP setting is restored). */
void nac_encoder_set_threads(nac_encoder *e, int threads);

/* ---- decoder ------------------------------------------------------------------------------------ */
typedef struct nac_decoder nac_decoder;

int nac_decoder_create(nac_decoder **out, const nac_model *m, nac_error *err);
void nac_decoder_destroy(nac_decoder *d);
/* Decodes n_frames frames of codes (n_frames, n_stages) using the first n_stages stages (1..model
 * stages; fewer than the encoder used lowers the rate). pcm gets n_frames * frame_size samples.
 * lost (n_frames) may be NULL; a frame with lost[i] != 0 (or codes == NULL) is concealed: the last
 * good latent is repeated and the output fades out (x0.7 per lost frame) until good frames return. */
int nac_decoder_decode(nac_decoder *d, float *pcm, const int32_t *codes, const uint8_t *lost, size_t n_frames,
                       int n_stages, nac_error *err);
/* As nac_decoder_decode with a stage count per frame (a stream with adaptive stage counts): codes
 * (n_frames, stride), and frame f decodes its first counts[f] codes (1..stride; stride at most the
 * model's stages). The samples are those of decoding each frame alone with its count. */
int nac_decoder_decode_counts(nac_decoder *d, float *pcm, const int32_t *codes, int stride, const uint8_t *counts,
                              size_t n_frames, nac_error *err);
void nac_decoder_reset(nac_decoder *d);
/* As nac_encoder_set_threads, for the decoder (samples identical for any count). */
void nac_decoder_set_threads(nac_decoder *d, int threads);

/* ---- streams: what a .nac stream says about itself --------------------------------------------
 * The container (docs/format.md): a 9-byte header, metadata, then packets, each with a sync word,
 * a sequence number, a length and a CRC. These types are shared by the packet API and the file
 * reader and writer below. */

#define NAC_LENGTH_UNKNOWN UINT64_MAX /* nac_stream_info.length of a live stream */
#define NAC_MAX_STAGES 64
#define NAC_MAX_ENCODER 255           /* bytes of the encoder-version string */
#define NAC_FORMAT_VERSION 2          /* the container version nac writes (it reads 1 and 2) */
#define NAC_END 1                     /* not an error: returned at the end of a stream */

/* What the packets' payload is. */
enum nac_mode {
    NAC_MODE_NEURAL = 0,    /* the neural codec's residual-VQ codes (0.5-24 kbps) */
    NAC_MODE_TRANSFORM = 1, /* the transform coder of the high rates (8-25.5 kbps) */
    NAC_MODE_VOCODER = 2    /* the harmonic vocoder (0.7, 1.2, 1.6 kbps) */
};

typedef struct nac_stream_info {
    uint8_t version;            /* container version: 0 when writing means NAC_FORMAT_VERSION; readers set 1 or 2 */
    uint8_t mode;               /* enum nac_mode */
    uint8_t bitrate;            /* nominal, units of 100 bit/s (15 = 1.5 kbps); 0 = not stated */
    uint32_t source_rate;       /* Hz of the original audio, 1000..655350 */
    uint16_t channels;          /* of the original audio (nac codes a mono mix), 1..255 */
    uint64_t length;            /* samples per channel at source_rate, or NAC_LENGTH_UNKNOWN */
    uint32_t codec_rate;        /* Hz the codec runs at (16000) */
    uint32_t frame_size;        /* codec-rate samples per frame (320 = 20 ms; the vocoder 640) */
    uint32_t delay;             /* codec-rate samples: decoded sample i + delay is input sample i */
    uint16_t n_stages;          /* codes per frame, 1..NAC_MAX_STAGES */
    uint8_t stage_bits[NAC_MAX_STAGES]; /* bits of each code, 1..24 */
    uint32_t model_hash;        /* the model (or coder) that made the codes */
    uint16_t frames_per_packet; /* 0 = not stated */
    uint32_t vbr_table;         /* 0: constant rate; else the hash of the probability table that
                                 * range-codes the neural codes, or of that table with adaptive
                                 * stage counts (nac_packet_encoder with vbr) */
    char encoder[NAC_MAX_ENCODER + 1]; /* NUL-terminated UTF-8, may be empty (version 2: optional) */
} nac_stream_info;

/* One packet of a stream, as a reader returns it (data points into the reader's buffer, valid
 * until its next call) or as nac_packet_parse finds it (data points into the caller's bytes). */
typedef struct nac_packet {
    uint32_t seq;         /* sequence number (version 2 stores it modulo 65536; readers unwrap it) */
    uint32_t lost;        /* packets missing just before this one: to conceal first */
    int reordered;        /* 1 for two neighbours that came swapped and are returned in order */
    const uint8_t *data;  /* payload */
    size_t size;          /* payload bytes */
    uint64_t offset;      /* byte offset of the packet in the stream (readers) */
} nac_packet;

/* The detailed message of err if one was set, otherwise nac_strerror(err->code); never NULL. */
const char *nac_error_message(const nac_error *err);

/* ---- packets ------------------------------------------------------------------------------------
 * The packet API: PCM in, self-contained .nac packets out (sync word, sequence number, length,
 * payload, CRC: docs/format.md 2.3), and back, with concealment of lost or damaged packets. A
 * packet can travel alone (a datagram) or in a .nac file (the file API below). Example client:
 * docs/packets.md. Threads: a packet encoder or decoder is used by one thread at a time; distinct
 * ones are independent and may share one model. */

#define NAC_TRANSFORM_MIN_KBPS 8.0   /* the transform coder's rates */
#define NAC_TRANSFORM_MAX_KBPS 25.5
#define NAC_TRANSFORM_AUTO_KBPS 12.0 /* nac encode uses it from this rate (the neural codec below) */
#define NAC_TRANSFORM_MAX_PACKET_FRAMES 250

#define NAC_VBR_LOSSLESS 1 /* nac_packet_config.vbr */
#define NAC_VBR_ADAPTIVE 2

typedef struct nac_packet_config {
    int mode;               /* NAC_MODE_NEURAL or NAC_MODE_TRANSFORM (the vocoder mode codes whole files:
                             * `nac encode --kbps 0.7`; its streams decode here) */
    double kbps;            /* neural: 0.5 to 24 in steps of 0.5 (one VQ stage each); transform: 8 to 25.5;
                             * with vbr: the target average (any rate from 0.5 to the model's top) */
    int frames_per_packet;  /* 0: one second, or about 6000 bits where that is longer (4 s at 1.5 kbps);
                             * 1..250 (transform) or 1..1000 (neural) */
    int vbr;                /* neural only, 0: constant rate. NAC_VBR_LOSSLESS: range-code the
                             * constant-rate codes with the built-in probability tables (docs/format.md
                             * 2.3.3): the same audio in shorter packets, at a stage count chosen for kbps.
                             * NAC_VBR_ADAPTIVE (from 1.5 kbps; below it acts as NAC_VBR_LOSSLESS):
                             * besides, each frame codes only as many stages (3, 6, 12 ... up to the
                             * stream's) as its latent needs, with a rate control that holds the average
                             * at kbps, packet framing included (2.3.4) */
    uint32_t source_rate;   /* recorded in the stream info: the rate of the audio before it was
                             * resampled to the codec rate (0: the codec rate) */
    uint16_t channels;      /* recorded: channels of the original (0: 1) */
    uint64_t length;        /* recorded: samples per channel at source_rate, or NAC_LENGTH_UNKNOWN
                             * (0 is taken as unknown too) */
    int version;            /* container version of the packets: 0 (the current, 2) or 1 */
} nac_packet_config;

/* The stage counts a frame of a neural stream may code: into counts (room for NAC_MAX_STAGES),
 * increasing; returns how many. 1 (the stream's n_stages) unless the stream has adaptive stage
 * counts (NAC_VBR_ADAPTIVE); 0 for a stream that is not neural. Thread-safe. */
int nac_stream_stage_counts(const nac_stream_info *info, int *counts);

typedef struct nac_packet_encoder nac_packet_encoder;

/* m: the neural model (must outlive the encoder; NULL for the transform mode). Checks cfg
 * (NAC_ERR_ARG naming the field) and fills the stream info. Returns NAC_OK, NAC_ERR_ARG,
 * NAC_ERR_MODEL (a VBR table for another model) or NAC_ERR_NOMEM. */
int nac_packet_encoder_create(nac_packet_encoder **out, const nac_model *m, const nac_packet_config *cfg,
                              nac_error *err);
/* NULL is a no-op. */
void nac_packet_encoder_destroy(nac_packet_encoder *e);
/* What a receiver needs (a file writer takes it as is). Owned by e, valid while e lives. */
const nac_stream_info *nac_packet_encoder_info(const nac_packet_encoder *e);
/* Consumes n samples of pcm: mono, info.codec_rate Hz, float in [-1, 1] (the neural mode
 * high-passes them at 50 Hz). Packets it completes wait for nac_packet_encoder_next. Output is
 * identical for any chunking. Returns NAC_OK, NAC_ERR_NUMERIC (a non-finite sample),
 * NAC_ERR_STATE (after flush) or NAC_ERR_NOMEM. */
int nac_packet_encoder_push(nac_packet_encoder *e, const float *pcm, size_t n, nac_error *err);
/* Ends the stream: codes the rest, padded so that the decoder puts out every pushed sample after
 * its delay, as the last (shorter) packet. Then only next works. NAC_OK or as push. */
int nac_packet_encoder_flush(nac_packet_encoder *e, nac_error *err);
/* The oldest packet not yet taken: NAC_OK with *data (owned by e, valid until the next call on e)
 * and *size; NAC_END when none is waiting. Packets are numbered 0, 1, 2, ... */
int nac_packet_encoder_next(nac_packet_encoder *e, const uint8_t **data, size_t *size);

/* One framed packet in data[0..size-1] (exactly one: a datagram) of a stream described by info:
 * checks its sync word, length and CRC and fills *pkt (payload pointing into data; seq as stored:
 * version 2 keeps 16 bits, so the receiver unwraps it against the number it expects). Returns
 * NAC_OK, NAC_ERR_CORRUPT (damaged: conceal it), NAC_ERR_TRUNCATED or NAC_ERR_ARG. Thread-safe. */
int nac_packet_parse(nac_packet *pkt, const nac_stream_info *info, const uint8_t *data, size_t size,
                     nac_error *err);

/* Frames payload[0..len-1] as packet number seq of the stream info describes (sync word,
 * sequence number, length, CRC of its container version) into out (cap bytes), *size its bytes:
 * for payloads of a coder of one's own, such as the vocoder mode of `nac encode`, to send or give
 * to nac_file_writer_write. Returns NAC_OK or NAC_ERR_ARG (len above NAC_MAX_PAYLOAD, or cap below
 * len + NAC_MAX_PACKET_OVERHEAD). Thread-safe. */
#define NAC_MAX_PAYLOAD 65535
#define NAC_MAX_PACKET_OVERHEAD 12
int nac_packet_frame(uint8_t *out, size_t cap, size_t *size, const nac_stream_info *info, uint32_t seq,
                     const uint8_t *payload, size_t len, nac_error *err);

typedef struct nac_packet_decoder nac_packet_decoder;

/* A decoder for the stream info describes (from nac_file_reader_info or the sender's
 * nac_packet_encoder_info). m: the neural model that made the stream (must outlive the decoder;
 * NULL for the transform and vocoder modes). n_stages: 0 for all, or fewer stages than the stream
 * holds (a lower rate; neural only). Returns NAC_OK, NAC_ERR_MODEL (another model: "pass the
 * encoder's model"), NAC_ERR_UNSUPPORTED (a stream this version cannot decode), NAC_ERR_ARG or
 * NAC_ERR_NOMEM. */
int nac_packet_decoder_create(nac_packet_decoder **out, const nac_model *m, const nac_stream_info *info,
                              int n_stages, nac_error *err);
void nac_packet_decoder_destroy(nac_packet_decoder *d);
/* Frames one lost packet stands for: the stream's frames per packet, else the size of the last
 * good packet, else 50. */
size_t nac_packet_decoder_packet_frames(const nac_packet_decoder *d);
/* Takes one packet's payload (pkt from nac_packet_parse or nac_file_reader_next; pkt->lost is
 * not acted on: conceal those first), or a lost packet (pkt NULL: conceals
 * nac_packet_decoder_packet_frames frames). Its audio is then read with nac_packet_decoder_read;
 * what was not read of an earlier packet is dropped. *frames (may be NULL) gets the frames
 * queued. A payload that does not decode (damaged past its CRC, or a crafted one) is concealed
 * instead and NAC_ERR_CORRUPT returned with the reason: the audio is still there to read.
 * Returns NAC_OK, NAC_ERR_CORRUPT or NAC_ERR_NOMEM. */
int nac_packet_decoder_decode(nac_packet_decoder *d, const nac_packet *pkt, size_t *frames, nac_error *err);
/* Queues n_frames concealed frames (lost packets counted by sequence numbers: lost x
 * nac_packet_decoder_packet_frames). The neural decoder repeats the last latent and fades out,
 * the transform decoder fades the last envelope in noise, the vocoder goes silent. */
int nac_packet_decoder_conceal(nac_packet_decoder *d, size_t n_frames, nac_error *err);
/* Up to max samples (at least one frame's worth) of the queued audio into pcm, whole frames;
 * *n = 0 when nothing is left. Mono, info.codec_rate Hz; the stream starts with info.delay
 * samples of codec delay. The vocoder mode puts out nothing until nac_packet_decoder_finish
 * (its synthesis runs over the whole stream). NAC_OK, NAC_ERR_ARG or NAC_ERR_NOMEM. */
int nac_packet_decoder_read(nac_packet_decoder *d, float *pcm, size_t max, size_t *n, nac_error *err);
/* End of stream: the vocoder mode synthesises what it holds (then read it); no-op otherwise. */
int nac_packet_decoder_finish(nac_packet_decoder *d, nac_error *err);

/* ---- .nac files ---------------------------------------------------------------------------------
 * A header and metadata (the stream info), then packets. Readers take any bytes: damage is
 * reported and skipped, lost, repeated, late and swapped packets are told apart (docs/format.md
 * 2.4), in time linear in the input. One thread at a time per handle. */

typedef struct nac_file_writer nac_file_writer;

/* Creates path ("-": standard output; never seeked, a pipe works) and writes the header and
 * metadata of info (version 0: the current). Returns NAC_OK, NAC_ERR_ARG (info out of range),
 * NAC_ERR_IO or NAC_ERR_NOMEM. */
int nac_file_writer_open(nac_file_writer **out, const char *path, const nac_stream_info *info, nac_error *err);
/* Appends one packet as nac_packet_encoder_next gave it (NAC_ERR_ARG if it is not exactly one
 * valid packet of the file's version). NAC_OK, NAC_ERR_ARG or NAC_ERR_IO. */
int nac_file_writer_write(nac_file_writer *w, const uint8_t *packet, size_t size, nac_error *err);
/* Flushes, closes the file and frees w (NULL: no-op, NAC_OK). NAC_ERR_IO if any write failed: the
 * file is then incomplete (the caller may remove it). */
int nac_file_writer_close(nac_file_writer *w, nac_error *err);

typedef struct nac_file_reader nac_file_reader;

/* Opens path ("-": standard input, read sequentially) and reads the header and metadata.
 * Returns NAC_OK, NAC_ERR_IO, NAC_ERR_FORMAT (not a .nac stream, bad metadata),
 * NAC_ERR_UNSUPPORTED (a newer version), NAC_ERR_TRUNCATED, NAC_ERR_CORRUPT (metadata CRC) or
 * NAC_ERR_NOMEM; err names the problem (not the path). */
int nac_file_reader_open(nac_file_reader **out, const char *path, nac_error *err);
/* The same from memory (not copied: data must outlive the reader). */
int nac_file_reader_open_mem(nac_file_reader **out, const void *data, size_t size, nac_error *err);
/* Owned by r. */
const nac_stream_info *nac_file_reader_info(const nac_file_reader *r);
/* The next packet: NAC_OK (pkt->data valid until the next call; pkt->lost packets are missing
 * before it: conceal them); NAC_ERR_CORRUPT (damaged bytes skipped, or packets dropped by the
 * sequence rules; err says what: go on reading); NAC_ERR_TRUNCATED (the input ends inside a
 * packet); NAC_END; NAC_ERR_IO. */
int nac_file_reader_next(nac_file_reader *r, nac_packet *pkt, nac_error *err);
/* Bytes consumed so far (after NAC_END: the stream's size). */
uint64_t nac_file_reader_offset(const nac_file_reader *r);
/* Closes the file (not standard input) and frees r; NULL is a no-op. */
void nac_file_reader_close(nac_file_reader *r);

#ifdef __cplusplus
}
#endif
#endif
