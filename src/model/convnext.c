/* Causal ConvNeXt block: forward, backward and streaming history (see convnext.h). */
#include "model/convnext.h"

#include "core/alloc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/activation.h"
#include "nn/conv1d.h"
#include "nn/norm.h"

static int add(nn_params *p, const char *prefix, const char *name, int ndim, int d0, int d1, int d2,
               nn_init init, float scale, int decay, nac_error *err)
{
    char full[64];
    int shape[3] = {d0, d1, d2};
    snprintf(full, sizeof full, "%s.%s", prefix, name);
    return nn_params_add(p, full, ndim, shape, init, scale, decay, err);
}

int nac_convnext_register(nac_convnext *blk, nn_params *p, const char *prefix, int C, int H, int K,
                          float scale_init, nac_error *err)
{
    int *idx[9] = {&blk->dw_w, &blk->dw_b, &blk->ln_g, &blk->ln_b, &blk->pw1_w,
                   &blk->pw1_b, &blk->pw2_w, &blk->pw2_b, &blk->scale};
    blk->C = C;
    blk->H = H;
    blk->K = K;
    /* Uniform bounds as PyTorch's Conv1d default: 1/sqrt(fan_in). */
    *idx[0] = add(p, prefix, "dw.w", 3, C, 1, K, NN_INIT_UNIFORM, 1.0f / sqrtf((float)K), 1, err);
    *idx[1] = add(p, prefix, "dw.b", 1, C, 0, 0, NN_INIT_ZERO, 0, 0, err);
    *idx[2] = add(p, prefix, "ln.g", 1, C, 0, 0, NN_INIT_ONE, 0, 0, err);
    *idx[3] = add(p, prefix, "ln.b", 1, C, 0, 0, NN_INIT_ZERO, 0, 0, err);
    *idx[4] = add(p, prefix, "pw1.w", 3, H, C, 1, NN_INIT_UNIFORM, 1.0f / sqrtf((float)C), 1, err);
    *idx[5] = add(p, prefix, "pw1.b", 1, H, 0, 0, NN_INIT_ZERO, 0, 0, err);
    *idx[6] = add(p, prefix, "pw2.w", 3, C, H, 1, NN_INIT_UNIFORM, 1.0f / sqrtf((float)H), 1, err);
    *idx[7] = add(p, prefix, "pw2.b", 1, C, 0, 0, NN_INIT_ZERO, 0, 0, err);
    *idx[8] = add(p, prefix, "scale", 1, C, 0, 0, NN_INIT_CONST, scale_init, 0, err);
    for (int i = 0; i < 9; i++)
        if (*idx[i] < 0)
            return *idx[i];
    return NAC_OK;
}

size_t nac_convnext_act_floats(const nac_convnext *blk, int B, int T)
{
    size_t bt = (size_t)B * (size_t)T;
    return bt * (3 * (size_t)blk->C + 2 * (size_t)blk->H + 2);
}

void nac_convnext_acts_bind(nac_convnext_acts *a, float *mem, const nac_convnext *blk, int B, int T)
{
    size_t bt = (size_t)B * (size_t)T, c = (size_t)blk->C * bt, h = (size_t)blk->H * bt;
    a->dw = mem;
    a->ln = a->dw + c;
    a->h2 = a->ln + c;
    a->h1 = a->h2 + c;
    a->g = a->h1 + h;
    a->stats = a->g + h;
}

size_t nac_convnext_scratch_floats(const nac_convnext *blk, int B, int T)
{
    size_t m = (size_t)(blk->C > blk->H ? blk->C : blk->H);
    return 2 * m * (size_t)B * (size_t)T;
}

size_t nac_convnext_hist_floats(const nac_convnext *blk) { return (size_t)blk->C * (size_t)(blk->K - 1); }

static nn_conv1d dw_conv(const nac_convnext *b) { return (nn_conv1d){b->C, b->C, b->K, 1, 1, b->C}; }
static nn_conv1d pw1_conv(const nac_convnext *b) { return (nn_conv1d){b->C, b->H, 1, 1, 1, 1}; }
static nn_conv1d pw2_conv(const nac_convnext *b) { return (nn_conv1d){b->H, b->C, 1, 1, 1, 1}; }

int nac_convnext_pack(nn_params *p, const nac_convnext *blk, nac_error *err)
{
    nn_conv1d pw[2] = {pw1_conv(blk), pw2_conv(blk)};
    int idx[2] = {blk->pw1_w, blk->pw2_w};
    for (int i = 0; i < 2; i++) {
        size_t nf = nn_conv1d_packed_floats(&pw[i]);
        float *buf = nac_alloc(nf * sizeof(float));
        if (!buf)
            return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        nn_conv1d_pack_weights(buf, nn_params_data(p, idx[i]), &pw[i]);
        int st = nn_params_set_packed(p, idx[i], buf, nf, err);
        if (st)
            return st;
    }
    return NAC_OK;
}

/* y = x + s h (one row of T). */
static void residual_row(float *y, const float *x, const float *h, float s, int T)
{
    for (int t = 0; t < T; t++)
        y[t] = x[t] + s * h[t];
}

void nac_convnext_forward(float *y, nac_convnext_acts *a, const float *x, const float *hist, nn_params *p,
                          const nac_convnext *blk, int B, int T)
{
    nn_conv1d dw = dw_conv(blk), pw1 = pw1_conv(blk), pw2 = pw2_conv(blk);
    int C = blk->C;
    size_t hn = (size_t)B * (size_t)blk->H * (size_t)T;
    nn_conv1d_forward(a->dw, x, hist, nn_params_data(p, blk->dw_w), nn_params_data(p, blk->dw_b), &dw, B, T);
    nn_layernorm_forward(a->ln, a->stats, a->dw, nn_params_data(p, blk->ln_g), nn_params_data(p, blk->ln_b), B, C,
                         T, NAC_CODEC_LN_EPS);
    nn_conv1d_forward_packed(a->h1, a->ln, NULL, nn_params_data(p, blk->pw1_w), nn_params_packed(p, blk->pw1_w),
                             nn_params_data(p, blk->pw1_b), &pw1, B, T);
    nn_gelu_forward(a->g, a->h1, hn);
    nn_conv1d_forward_packed(a->h2, a->g, NULL, nn_params_data(p, blk->pw2_w), nn_params_packed(p, blk->pw2_w),
                             nn_params_data(p, blk->pw2_b), &pw2, B, T);
    const float *s = nn_params_data(p, blk->scale);
    long rows = (long)B * C;
    if ((double)rows * T > 16384) {
#pragma omp parallel for schedule(static)
        for (long r = 0; r < rows; r++)
            residual_row(y + r * T, x + r * T, a->h2 + r * T, s[r % C], T);
    } else { /* a streaming frame: no OpenMP team at all */
        for (long r = 0; r < rows; r++)
            residual_row(y + r * T, x + r * T, a->h2 + r * T, s[r % C], T);
    }
}

void nac_convnext_hist_update(float *hist, const float *x, const nac_convnext *blk, int B, int T)
{
    nn_conv1d dw = dw_conv(blk);
    nn_conv1d_hist_update(hist, x, &dw, B, T);
}

void nac_convnext_backward(float *dx, const float *dy, const nac_convnext_acts *a, const float *x, float *scratch,
                           nn_params *p, const nac_convnext *blk, int B, int T)
{
    nn_conv1d dw = dw_conv(blk), pw1 = pw1_conv(blk), pw2 = pw2_conv(blk);
    int C = blk->C;
    size_t bt = (size_t)B * (size_t)T, cn = (size_t)C * bt, hn = (size_t)blk->H * bt;
    size_t m = (size_t)(blk->C > blk->H ? blk->C : blk->H) * bt;
    float *bufa = scratch, *bufb = scratch + m;
    const float *s = nn_params_data(p, blk->scale);
    float *ds = nn_params_grad(p, blk->scale);

    /* residual and layer scale: dx += dy; dh2 = s * dy; ds += sum dy * h2 (per channel, fixed order) */
    float *dh2 = bufa;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double acc = 0;
        for (int b = 0; b < B; b++) {
            size_t o = ((size_t)b * (size_t)C + (size_t)c) * (size_t)T;
            for (int t = 0; t < T; t++) {
                float g = dy[o + (size_t)t];
                dx[o + (size_t)t] += g;
                dh2[o + (size_t)t] = s[c] * g;
                acc += (double)g * (double)a->h2[o + (size_t)t];
            }
        }
        ds[c] += (float)acc;
    }
    float *dg = bufb;
    memset(dg, 0, hn * sizeof *dg);
    nn_conv1d_backward(dg, nn_params_grad(p, blk->pw2_w), nn_params_grad(p, blk->pw2_b), dh2, a->g,
                       nn_params_data(p, blk->pw2_w), &pw2, B, T);
    float *dh1 = bufa;
    memset(dh1, 0, hn * sizeof *dh1);
    nn_gelu_backward(dh1, dg, a->h1, hn);
    float *dln = bufb;
    memset(dln, 0, cn * sizeof *dln);
    nn_conv1d_backward(dln, nn_params_grad(p, blk->pw1_w), nn_params_grad(p, blk->pw1_b), dh1, a->ln,
                       nn_params_data(p, blk->pw1_w), &pw1, B, T);
    float *ddw = bufa;
    memset(ddw, 0, cn * sizeof *ddw);
    nn_layernorm_backward(ddw, nn_params_grad(p, blk->ln_g), nn_params_grad(p, blk->ln_b), dln, a->dw, a->stats,
                          nn_params_data(p, blk->ln_g), B, C, T);
    nn_conv1d_backward(dx, nn_params_grad(p, blk->dw_w), nn_params_grad(p, blk->dw_b), ddw, x,
                       nn_params_data(p, blk->dw_w), &dw, B, T);
}
