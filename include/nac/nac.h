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
void nac_decoder_reset(nac_decoder *d);
/* As nac_encoder_set_threads, for the decoder (samples identical for any count). */
void nac_decoder_set_threads(nac_decoder *d, int threads);

#ifdef __cplusplus
}
#endif
#endif
