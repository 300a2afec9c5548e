/* Sample-rate conversion through soxr (SOXR_HQ: 20-bit, linear phase), float32 mono, streaming
 * and whole-buffer. soxr trims its own filter delay, so output sample k sits at input time
 * k * in_rate / out_rate (aligned; measured error at lag 0 well below that at lags +-1).
 * A resampler is for one thread at a time. */
#ifndef NAC_DSP_RESAMPLE_H
#define NAC_DSP_RESAMPLE_H

#include <stddef.h>

#include "core/status.h"

typedef struct nac_resampler nac_resampler;

int nac_resampler_create(nac_resampler **out, double in_rate, double out_rate, nac_error *err);
void nac_resampler_destroy(nac_resampler *r);
/* Feeds n input samples (n = 0 with in == NULL flushes the tail at end of stream) and writes up
 * to cap output samples to out, *got of them. Call again with in = NULL, n = 0 until *got = 0
 * after the last input. Any cap works: input that does not fit yet is copied and kept for the
 * next call (in need not outlive the call). Input after the flush is NAC_ERR_STATE. */
int nac_resampler_process(nac_resampler *r, float *out, size_t cap, size_t *got,
                          const float *in, size_t n, nac_error *err);

/* Whole buffer: *out (malloc'd) gets round(n * out_rate / in_rate) samples, aligned with in
 * (soxr's delay removed). Equal rates copy. */
int nac_resample_all(float **out, size_t *out_n, const float *in, size_t n,
                     double in_rate, double out_rate, nac_error *err);

#endif
