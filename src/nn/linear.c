/* Fully connected layer on the blocked GEMM: y (N, OUT) = x (N, IN) W^T + b, W (OUT, IN). */
#include "nn/linear.h"

#include <stddef.h>

#include "nn/gemm.h"

#define PAR_MIN 32768.0 /* elements below which threads cost more than they save */

void nn_linear_forward(float *y, const float *x, const float *w, const float *b, int N, int IN, int OUT)
{
    int par = (double)N * OUT > PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OUT; o++)
            y[(size_t)n * OUT + o] = b ? b[o] : 0.0f;
    nn_strided a = {x, 0, (size_t)IN, 1};
    nn_strided bw = {w, 0, (size_t)IN, 1}; /* B(k = in, n = out) = w[out*IN + in] */
    nn_gemm g = {.batch = 1, .M = N, .N = OUT, .K = IN, .pack_a = nn_pack_a_strided, .pack_b = nn_pack_b_strided,
                 .actx = &a, .bctx = &bw, .c = y, .c_batch = 0, .c_row = (size_t)OUT, .c_col = 1};
    nn_gemm_run(&g);
}

void nn_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        int N, int IN, int OUT)
{
    int par = (double)N * OUT > PAR_MIN;
    if (dx) {
        nn_strided a = {dy, 0, (size_t)OUT, 1};
        nn_strided bw = {w, 0, 1, (size_t)IN}; /* B(k = out, n = in) */
        nn_gemm g = {.batch = 1, .M = N, .N = IN, .K = OUT, .pack_a = nn_pack_a_strided,
                     .pack_b = nn_pack_b_strided, .actx = &a, .bctx = &bw, .c = dx, .c_batch = 0,
                     .c_row = (size_t)IN, .c_col = 1};
        nn_gemm_run(&g);
    }
    if (dw) {
        nn_strided a = {dy, 0, 1, (size_t)OUT}; /* A(m = out, k = n) */
        nn_strided bx = {x, 0, 1, (size_t)IN}; /* B(k = n, n = in) */
        nn_gemm g = {.batch = 1, .M = OUT, .N = IN, .K = N, .pack_a = nn_pack_a_strided,
                     .pack_b = nn_pack_b_strided, .actx = &a, .bctx = &bx, .c = dw, .c_batch = 0,
                     .c_row = (size_t)IN, .c_col = 1};
        nn_gemm_run(&g);
    }
    if (db) {
#pragma omp parallel for schedule(static) if (par)
        for (int o = 0; o < OUT; o++) {
            double tot = 0.0;
            for (int n = 0; n < N; n++)
                tot += dy[(size_t)n * OUT + o];
            db[o] += (float)tot;
        }
    }
}
