/* nac enhance: restoring degraded speech (denoising, de-quantisation, bandwidth extension) with
 * small causal spectral models, streaming. Conventions as in nac.h: functions return a nac_status
 * (0 = NAC_OK, negative = error) with detail in the caller's nac_error; handles are opaque.
 *
 * A model is immutable once loaded: share one between any number of enhancers, in any threads;
 * it must outlive them. An enhancer is one stream for one thread at a time: push PCM at the
 * model's rate (16 kHz, mono, float in [-1, 1]) in chunks of any size and get restored PCM back.
 * The output does not depend on the chunking (bit-identical), and a push allocates nothing.
 * Output sample k + delay restores input sample k (delay: nac_enhance_info). */
#ifndef NAC_ENHANCE_H
#define NAC_ENHANCE_H

#include <stddef.h>
#include <stdint.h>

#include "nac/nac.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nac_enhance_task {
    NAC_ENHANCE_DENOISE = 0,    /* remove additive background noise */
    NAC_ENHANCE_DEQUANTIZE = 1, /* undo 8-bit mu-law / A-law / linear quantisation, sample-and-hold */
    NAC_ENHANCE_BWE = 2         /* bandwidth extension: 8 kHz (telephone) audio -> 16 kHz */
} nac_enhance_task;

/* "denoise", "dequantize", "bwe"; "?" for an unknown value. Never NULL. */
const char *nac_enhance_task_name(int task);
/* The task called name (also "dequantise"); NAC_ERR_ARG for an unknown name. */
int nac_enhance_task_parse(nac_enhance_task *out, const char *name);

typedef struct nac_enhance_model nac_enhance_model;

typedef struct nac_enhance_info {
    nac_enhance_task task;
    int sample_rate;      /* Hz of the PCM in and out (16000) */
    int hop;              /* samples per frame: output comes in whole frames (160) */
    int delay;            /* samples: output k + delay restores input k (160) */
    int latency;          /* algorithmic latency in samples: delay plus the frame wait (320 = 20 ms) */
    size_t n_params;      /* parameters of the network */
    long long train_steps; /* -1 if unknown */
    uint32_t hash;        /* CRC-32 of the model file */
} nac_enhance_info;

/* Loads a model file written by `nac train --task ...`. NAC_ERR_IO, NAC_ERR_FORMAT, NAC_ERR_CORRUPT,
 * NAC_ERR_TRUNCATED, NAC_ERR_UNSUPPORTED, or NAC_ERR_MODEL (not an enhancement model: e.g. a codec
 * model) with detail in err. */
int nac_enhance_model_load(nac_enhance_model **out, const char *path, nac_error *err);
/* From memory; data is not copied and must outlive the model. */
int nac_enhance_model_load_mem(nac_enhance_model **out, const void *data, size_t size, nac_error *err);
/* The model built into the library for task. */
int nac_enhance_model_load_builtin(nac_enhance_model **out, nac_enhance_task task, nac_error *err);
void nac_enhance_model_destroy(nac_enhance_model *m);
void nac_enhance_model_get_info(const nac_enhance_model *m, nac_enhance_info *info);
/* NAC_OK when m was trained for task, else NAC_ERR_MODEL ("model is a denoise model, not bwe"). */
int nac_enhance_model_check_task(const nac_enhance_model *m, nac_enhance_task task, nac_error *err);

typedef struct nac_enhancer nac_enhancer;

int nac_enhancer_create(nac_enhancer **out, const nac_enhance_model *m, nac_error *err);
void nac_enhancer_destroy(nac_enhancer *e);
/* Most samples a push of n samples can return: n + hop - 1 rounded down to whole hops. */
size_t nac_enhancer_max_output(const nac_enhancer *e, size_t n);
/* Consumes pcm (n samples, any n including 0) and writes the restored samples of every frame it
 * completes to out, *got of them (a multiple of hop). cap must be at least
 * nac_enhancer_max_output(e, n) (NAC_ERR_ARG otherwise, consuming nothing). A non-finite sample
 * is NAC_ERR_NUMERIC, consuming nothing. */
int nac_enhancer_push(nac_enhancer *e, float *out, size_t cap, size_t *got, const float *pcm, size_t n,
                      nac_error *err);
/* Ends the stream: pads with zeros so that every input sample has come out (delay + the partial
 * frame): writes up to nac_enhancer_max_output(e, delay + hop) samples. The enhancer is then reset. */
int nac_enhancer_flush(nac_enhancer *e, float *out, size_t cap, size_t *got, nac_error *err);
/* Back to the initial state (a new stream). */
void nac_enhancer_reset(nac_enhancer *e);

/* Whole-signal convenience: restores x (n samples at the model rate) into y (n samples, aligned:
 * y[k] restores x[k], the delay removed). Uses one enhancer internally. */
int nac_enhance_buffer(const nac_enhance_model *m, float *y, const float *x, size_t n, nac_error *err);

#ifdef __cplusplus
}
#endif
#endif
