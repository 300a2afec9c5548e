/* Quantisers, sample-and-hold, FIR band limits, narrowband conversion and noise mixing
 * (see degrade.h). */
#include "degrade/degrade.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/resample.h"

static int16_t to_i16(float x)
{
    float v = roundf(x * 32768.0f);
    if (!(v > -32768.0f)) /* NaN too */
        return v != v ? 0 : -32768;
    return v > 32767.0f ? 32767 : (int16_t)v;
}

void nac_degrade_bits(float *y, const float *x, size_t n, int bits)
{
    if (bits < 2)
        bits = 2;
    if (bits > 16)
        bits = 16;
    float levels = (float)(1 << (bits - 1)), step = 1.0f / levels;
    for (size_t i = 0; i < n; i++) {
        float q = roundf(x[i] * levels);
        if (q != q)
            q = 0;
        q = q < -levels ? -levels : q > levels - 1 ? levels - 1 : q;
        y[i] = q * step;
    }
}

/* ---- G.711 ----------------------------------------------------------------------------------
 * mu-law: 14-bit magnitude m plus bias 33 lies in segment e (m+33 in [32 << e, 64 << e)); the
 * code holds sign, e and the 4 bits below the leading one, inverted. A-law: 13-bit magnitude,
 * segment 0 linear, e >= 1 logarithmic; the code is XORed with 0x55. Decoding gives the
 * middle of the interval. */

uint8_t nac_mulaw_encode(int16_t s)
{
    int sign = s < 0 ? 0x80 : 0;
    int m = s < 0 ? -(int)s : s;
    m >>= 2;
    if (m > 8158)
        m = 8158;
    m += 33;
    int e = 0;
    while (e < 7 && m >= (64 << e))
        e++;
    int mant = (m >> (e + 1)) & 15;
    return (uint8_t)~(sign | (e << 4) | mant);
}

int16_t nac_mulaw_decode(uint8_t code)
{
    int c = (uint8_t)~code, e = (c >> 4) & 7, mant = c & 15;
    int m = ((2 * mant + 33) << e) - 33;
    int v = m << 2;
    return (int16_t)((c & 0x80) ? -v : v);
}

uint8_t nac_alaw_encode(int16_t s)
{
    int sign = s < 0 ? 0 : 0x80; /* A-law: bit 7 set for positive */
    int m = s < 0 ? -(int)s - 1 : s;
    m >>= 3;
    if (m > 4095)
        m = 4095;
    int e = 0, mant;
    if (m < 32) {
        mant = m >> 1;
    } else {
        e = 1;
        while (e < 7 && m >= (32 << e))
            e++;
        mant = (m >> e) & 15;
    }
    return (uint8_t)((sign | (e << 4) | mant) ^ 0x55);
}

int16_t nac_alaw_decode(uint8_t code)
{
    int c = code ^ 0x55, e = (c >> 4) & 7, mant = c & 15;
    int m = e == 0 ? 2 * mant + 1 : (2 * mant + 33) << (e - 1);
    int v = m << 3;
    return (int16_t)((c & 0x80) ? v : -v);
}

void nac_degrade_mulaw(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)nac_mulaw_decode(nac_mulaw_encode(to_i16(x[i]))) / 32768.0f;
}

void nac_degrade_alaw(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)nac_alaw_decode(nac_alaw_encode(to_i16(x[i]))) / 32768.0f;
}

void nac_degrade_hold(float *y, const float *x, size_t n, int hold)
{
    if (hold < 1)
        hold = 1;
    float v = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % (size_t)hold == 0)
            v = x[i];
        y[i] = v;
    }
}

/* ---- FIR band limits ------------------------------------------------------------------------- */

int nac_degrade_lowpass(float *y, const float *x, size_t n, int sample_rate, double hz, nac_error *err)
{
    if (sample_rate <= 0 || !(hz > 0) || hz >= 0.5 * sample_rate)
        return nac_error_set(err, NAC_ERR_ARG, "low-pass cutoff %g Hz must lie between 0 and %g Hz", hz,
                             0.5 * sample_rate);
    int L = (int)ceil(0.008 * sample_rate);
    float *h = malloc((size_t)(2 * L + 1) * sizeof *h), *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!h || !tmp) {
        free(h);
        free(tmp);
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    }
    double fc = hz / sample_rate, sum = 0;
    for (int k = -L; k <= L; k++) {
        double s = k == 0 ? 2 * fc : sin(2 * M_PI * fc * k) / (M_PI * k);
        double w = 0.42 + 0.5 * cos(M_PI * k / (L + 1)) + 0.08 * cos(2 * M_PI * k / (L + 1));
        h[k + L] = (float)(s * w);
        sum += s * w;
    }
    for (int k = 0; k <= 2 * L; k++)
        h[k] = (float)(h[k] / sum); /* unit gain at DC */
    for (size_t i = 0; i < n; i++) {
        double acc = 0;
        long lo = (long)i - L < 0 ? -(long)i : -L, hi = i + (size_t)L >= n ? (long)(n - 1 - i) : L;
        for (long k = lo; k <= hi; k++)
            acc += (double)h[k + L] * x[(long)i + k];
        tmp[i] = (float)acc;
    }
    memcpy(y, tmp, n * sizeof *y);
    free(h);
    free(tmp);
    return NAC_OK;
}

int nac_degrade_highpass(float *y, const float *x, size_t n, int sample_rate, double hz, nac_error *err)
{
    float *lp = malloc((n ? n : 1) * sizeof *lp);
    if (!lp)
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    int st = nac_degrade_lowpass(lp, x, n, sample_rate, hz, err);
    if (!st)
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] - lp[i];
    free(lp);
    return st;
}

int nac_degrade_narrowband(float **out, size_t *out_n, const float *x, size_t n, int sample_rate, int out_rate,
                           int telephone, nac_error *err)
{
    *out = NULL;
    *out_n = 0;
    if (out_rate <= 0 || sample_rate <= 0)
        return nac_error_set(err, NAC_ERR_ARG, "bad sample rate %d -> %d", sample_rate, out_rate);
    int st = nac_resample_all(out, out_n, x, n, sample_rate, out_rate, err);
    if (st || !telephone)
        return st;
    if (out_rate <= 6800)
        st = nac_error_set(err, NAC_ERR_ARG, "the telephone band needs a rate above 6800 Hz, not %d", out_rate);
    if (!st)
        st = nac_degrade_lowpass(*out, *out, *out_n, out_rate, 3400, err);
    if (!st)
        st = nac_degrade_highpass(*out, *out, *out_n, out_rate, 300, err);
    if (st) {
        free(*out);
        *out = NULL;
        *out_n = 0;
    }
    return st;
}

int nac_degrade_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

int nac_degrade_mix(float *y, const float *clean, const float *noise, size_t n, double snr_db, double *gain,
                    nac_error *err)
{
    if (!nac_degrade_finite(clean, n) || !nac_degrade_finite(noise, n) || !isfinite(snr_db))
        return nac_error_set(err, NAC_ERR_NUMERIC, "non-finite sample or SNR in the mixture");
    double ps = 0, pn = 0;
    for (size_t i = 0; i < n; i++) {
        ps += (double)clean[i] * clean[i];
        pn += (double)noise[i] * noise[i];
    }
    if (ps <= 0 || pn <= 0)
        return nac_error_set(err, NAC_ERR_EMPTY, "%s is silent: no SNR can be set", ps <= 0 ? "speech" : "noise");
    double g = sqrt(ps / (pn * pow(10.0, snr_db / 10.0)));
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(clean[i] + g * noise[i]);
    if (gain)
        *gain = g;
    return NAC_OK;
}
