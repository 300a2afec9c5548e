/* Causal transposed 1-D convolution (upsampling by stride). Layouts: x (B, IC, T), y (B, OC, T*s),
 * w (IC, OC, K) as PyTorch ConvTranspose1d, K >= stride.
 * full[b,o,t*s+j] += x[b,i,t] * w[i,o,j]; y = the first T*s samples of full, plus bias.
 * Each output element sums its terms oldest input frame first, channel i ascending, starting from the
 * carry (or 0), then adds the bias, so streaming with carry is bit-identical to one pass. */
#ifndef NAC_NN_CONVTR1D_H
#define NAC_NN_CONVTR1D_H

typedef struct nn_convtr1d {
    int ic, oc, k, stride;
} nn_convtr1d;

/* Carry length K - stride (the overlap that spills into the next chunk). */
int nn_convtr1d_carry_len(const nn_convtr1d *c);

/* Returns 1 if c is well formed (positive sizes, k >= stride), 0 otherwise. */
int nn_convtr1d_valid(const nn_convtr1d *c);

/* Multiply-adds of one forward call. */
double nn_convtr1d_macs(const nn_convtr1d *c, int B, int T);

/* y (B, OC, T*s). carry (B, OC, K-s): on entry, partial sums added to y[..., 0:K-s] (the tail of the
 * previous chunk; zero it at stream start); on exit, the part of full beyond T*s (without bias).
 * carry == NULL: offline, the tail is dropped. b (OC) or NULL. Threads: OpenMP over outputs. Heap scratch
 * only for batches or T >= 64 (short streaming chunks allocate nothing); out of memory gives equal results
 * on a slower path. */
void nn_convtr1d_forward(float *y, const float *x, float *carry, const float *w, const float *b,
                         const nn_convtr1d *c, int B, int T);

/* Gradients of the offline forward (carry == NULL). Accumulates into dx (B, IC, T) (may be NULL),
 * dw (IC, OC, K), db (OC) (may be NULL); dy (B, OC, T*s). */
void nn_convtr1d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                          const nn_convtr1d *c, int B, int T);

#endif
