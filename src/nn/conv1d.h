/* Causal 1-D convolution with stride, dilation and groups (depthwise: groups == ic == oc).
 * Layouts: x (B, IC, T), y (B, OC, T/stride), w (OC, IC/groups, K) as PyTorch Conv1d.
 * Each output element is a fixed-order chain: bias (or 0), then + w*x over (c, j) in index order,
 * so values are bit-identical whatever T, the chunking (hist), B and the thread count. */
#ifndef NAC_NN_CONV1D_H
#define NAC_NN_CONV1D_H

#include <stddef.h>

#include "nn/gemm.h"

typedef struct nn_conv1d {
    int ic, oc, k, stride, dil, groups;
} nn_conv1d;

/* y[b,o,t] = bias[o] + sum_{c<ic/groups, j<k} w[o,c,j] * x[b, g*(ic/groups)+c, t*stride + stride-1 - (k-1-j)*dil],
 * g = o / (oc/groups); x at negative time comes from hist (or is 0 when hist == NULL).
 * T % stride == 0, Tout = T/stride. Equals PyTorch F.conv1d(F.pad(x, (P, 0)), w, b, stride, dilation=dil,
 * groups=groups) with P = (k-1)*dil + 1 - stride when P >= 0. */

/* History length H = max(0, (k-1)*dil + 1 - stride): input samples a streaming call needs from the past. */
int nn_conv1d_hist_len(const nn_conv1d *c);

/* Returns 1 if c is well formed (positive sizes, k <= 256, ic and oc divisible by groups), 0 otherwise. */
int nn_conv1d_valid(const nn_conv1d *c);

/* Multiply-adds of one forward call (for GFLOP/s reports: 2 flops each). */
double nn_conv1d_macs(const nn_conv1d *c, int B, int T);

/* y (B, OC, T/stride) = conv(x (B, IC, T)) with the past from hist (B, IC, H) or zeros when hist == NULL.
 * w (OC, IC/groups, K); b (OC) or NULL. y must not alias x. Threads: OpenMP over outputs. Temporary
 * scratch is taken from the heap only for long inputs (batches, or 64 output frames and more); a single
 * short streaming chunk allocates nothing. Out of memory falls back to slower paths with equal results. */
void nn_conv1d_forward(float *y, const float *x, const float *hist, const float *w, const float *b,
                       const nn_conv1d *c, int B, int T);
/* The same with the weights also given packed (wpk from nn_conv1d_pack_weights, perhaps as halves,
 * or none): inference packs once at model load instead of on every call. Same values. */
void nn_conv1d_forward_packed(float *y, const float *x, const float *hist, const float *w, nn_packed wpk,
                              const float *b, const nn_conv1d *c, int B, int T);

/* Floats of the packed weights of c (0 for depthwise convolutions, which use w directly), and the
 * packing: dst (nn_conv1d_packed_floats) from w (OC, IC/groups, K). */
size_t nn_conv1d_packed_floats(const nn_conv1d *c);
void nn_conv1d_pack_weights(float *dst, const float *w, const nn_conv1d *c);

/* Gradients of the offline forward with zero history (k <= 256). Accumulates (+=) into dx (B, IC, T),
 * dw (OC, IC/groups, K) and db (OC), each of which may be NULL (skipped); dy (B, OC, T/stride). Allocates heap scratch of about
 * the size of x and dy (falls back to slower paths when that fails); identical for any thread count. */
void nn_conv1d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        const nn_conv1d *c, int B, int T);

/* hist (B, IC, H) <- the last H samples of the concatenation [hist, x (B, IC, T)]. */
void nn_conv1d_hist_update(float *hist, const float *x, const nn_conv1d *c, int B, int T);

#endif
