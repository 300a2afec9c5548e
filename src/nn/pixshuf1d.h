/* Sub-pixel (pixel-shuffle) upsampling in 1-D: y[b,c,t*r+i] = x[b,c*r+i,t].
 * x (B, C*r, T), y (B, C, T*r). */
#ifndef NAC_NN_PIXSHUF1D_H
#define NAC_NN_PIXSHUF1D_H

void nn_pixshuf1d_forward(float *y, const float *x, int B, int C, int T, int r);
/* dx (B, C*r, T) += unshuffle(dy (B, C, T*r)). */
void nn_pixshuf1d_backward(float *dx, const float *dy, int B, int C, int T, int r);

#endif
