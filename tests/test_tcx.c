/* Tests of the high-rate transform coder and its parts: the range coder round-trips random symbol
 * streams under random and extreme tables, the MDCT reconstructs exactly, packets have exactly
 * the rate's size and their error falls as the rate grows, garbage payloads fail cleanly, and the
 * CLI's transform mode follows the waveform of real speech. */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_file.h"
#include "core/range_coder.h"
#include "core/rng.h"
#include "dsp/mdct.h"
#include "metrics/metrics.h"
#include "tcx/tcx.h"

TEST(range_coder_round_trips_random_streams)
{
    enum { SYMS = 20000, MAXN = 64 };
    nac_rng rng;
    nac_rng_seed(&rng, 11);
    uint8_t *buf = malloc(SYMS * 4);
    int *sym = malloc(SYMS * sizeof *sym), *kind = malloc(SYMS * sizeof *kind);
    for (int trial = 0; trial < 12; trial++) {
        /* a random table of n symbols; trials 0-3 put almost all the mass on one symbol */
        int n = 2 + (int)nac_rng_below(&rng, MAXN - 1);
        uint32_t f[MAXN], cum[MAXN + 1], total = 0;
        for (int i = 0; i < n; i++)
            f[i] = trial < 4 ? (i == trial % n ? 60000u : 1u) : 1u + (uint32_t)nac_rng_below(&rng, 2000);
        cum[0] = 0;
        for (int i = 0; i < n; i++)
            cum[i + 1] = total += f[i];
        nac_rc_encoder e;
        nac_rc_encoder_init(&e, buf, SYMS * 4);
        for (int k = 0; k < SYMS; k++) {
            kind[k] = (int)nac_rng_below(&rng, 4) == 0; /* a quarter are raw bits */
            if (kind[k]) {
                sym[k] = (int)nac_rng_below(&rng, 1u << 13);
                nac_rc_encode_bits(&e, (uint32_t)sym[k], 13);
            } else {
                /* draw from the table itself so extreme tables give extreme streams */
                uint32_t u = (uint32_t)nac_rng_below(&rng, total);
                int s = 0;
                while (cum[s + 1] <= u)
                    s++;
                sym[k] = s;
                nac_rc_encode(&e, cum[s], f[s], total);
            }
        }
        size_t size = nac_rc_encoder_finish(&e);
        CHECK(size <= SYMS * 4);
        nac_rc_decoder d;
        nac_rc_decoder_init(&d, buf, size);
        int bad = -1;
        for (int k = 0; k < SYMS && bad < 0; k++) {
            if (kind[k]) {
                if ((int)nac_rc_decode_bits(&d, 13) != sym[k])
                    bad = k;
            } else {
                uint32_t v = nac_rc_decode_freq(&d, total);
                int s = 0;
                while (cum[s + 1] <= v)
                    s++;
                nac_rc_decode_update(&d, cum[s], f[s]);
                if (s != sym[k])
                    bad = k;
            }
        }
        CHECKF(bad < 0, "trial %d (%d symbols): symbol %d differs", trial, n, bad);
    }
    /* an overflowing buffer is reported by the size, and nothing past it is written */
    uint8_t small[9] = {0};
    nac_rc_encoder e;
    nac_rc_encoder_init(&e, small, 8);
    for (int k = 0; k < 200; k++)
        nac_rc_encode_bits(&e, (uint32_t)k * 2654435761u, 16);
    CHECK(nac_rc_encoder_finish(&e) > 8 && small[8] == 0);
    free(buf);
    free(sym);
    free(kind);
}

TEST(mdct_overlap_add_reconstructs_exactly)
{
    enum { N = 160, BLOCKS = 40 };
    nac_mdct *m = NULL;
    CHECK(nac_mdct_create(&m, N, NULL) == NAC_OK);
    CHECK(nac_mdct_create(&(nac_mdct *){NULL}, 1, NULL) == NAC_ERR_ARG);
    nac_rng rng;
    nac_rng_seed(&rng, 5);
    float x[(BLOCKS + 2) * N], y[(BLOCKS + 2) * N], c[N];
    for (int i = 0; i < (BLOCKS + 2) * N; i++)
        x[i] = (float)nac_rng_normal(&rng);
    memset(y, 0, sizeof y);
    double energy_in = 0, energy_c = 0;
    for (int j = 0; j < BLOCKS; j++) {
        nac_mdct_forward(m, c, x + j * N);
        for (int k = 0; k < N; k++)
            energy_c += (double)c[k] * c[k];
        nac_mdct_inverse_add(m, y + j * N, c);
    }
    double worst = 0;
    for (int i = N; i < BLOCKS * N; i++) { /* every sample covered by two blocks */
        double e = fabs((double)x[i] - y[i]);
        worst = e > worst ? e : worst;
        energy_in += (double)x[i] * x[i];
    }
    CHECKF(worst < 1e-4, "worst reconstruction error %g", worst);
    /* orthonormal: the coefficients carry the energy of the samples (up to the two edge halves) */
    CHECKF(fabs(energy_c / energy_in - 1.0) < 0.1, "energy ratio %g", energy_c / energy_in);
    nac_mdct_destroy(m);
}

/* SNR in dB of y against x, with y delayed by NAC_TCX_DELAY. */
static double delayed_snr(const float *x, const float *y, size_t n)
{
    double s = 0, e = 0;
    for (size_t i = 0; i + NAC_TCX_DELAY < n; i++) {
        double d = (double)x[i] - y[i + NAC_TCX_DELAY];
        s += (double)x[i] * x[i];
        e += d * d;
    }
    return 10 * log10(s / (e + 1e-30));
}

static const char *speech(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/speech_thorsten_de.flac", nac_test_fixture_dir());
    return path;
}

TEST(tcx_packets_fill_the_rate_and_error_falls_with_it)
{
    float *x = NULL;
    size_t n = 0;
    CHECK(nac_audio_read_all(&x, &n, NULL, speech(), NULL) == NAC_OK);
    int frames = 25; /* half-second packets */
    size_t per = (size_t)frames * NAC_TCX_FRAME, np = n / per;
    float *y = malloc(np * per * sizeof *y);
    uint8_t *pkt = malloc(nac_tcx_packet_bytes(NAC_TCX_MAX_KBPS, frames));
    static const double rates[] = {8, 10, 12, 16, 20, 25};
    double prev = -100;
    char msg[200] = "SNR";
    for (int r = 0; r < 6; r++) {
        nac_tcx_encoder *e = NULL;
        nac_tcx_decoder *d = NULL;
        CHECK(nac_tcx_encoder_create(&e, rates[r], NULL) == NAC_OK && nac_tcx_decoder_create(&d, NULL) == NAC_OK);
        for (size_t p = 0; p < np; p++) {
            size_t size = 0;
            int got = 0;
            CHECK(nac_tcx_encode_packet(e, pkt, &size, x + p * per, frames, NULL) == NAC_OK);
            CHECKF(size == nac_tcx_packet_bytes(rates[r], frames), "%g kbps: packet of %zu bytes", rates[r], size);
            CHECK(nac_tcx_decode_packet(d, y + p * per, &got, pkt, size, NULL) == NAC_OK && got == frames);
        }
        double snr = delayed_snr(x, y, np * per);
        CHECKF(snr > prev + 1.0, "%g kbps: SNR %.2f dB, not above %.2f + 1 dB", rates[r], snr, prev);
        prev = snr;
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, " %g:%.1f", rates[r], snr);
        nac_tcx_encoder_destroy(e);
        nac_tcx_decoder_destroy(d);
    }
    CHECKF(prev > 25.0, "25 kbps: SNR %.2f dB", prev);
    snprintf(t_->why, sizeof t_->why, "%s dB", msg);
    CHECK(nac_tcx_encoder_create(&(nac_tcx_encoder *){NULL}, 4, NULL) == NAC_ERR_ARG);
    CHECK(nac_tcx_encoder_create(&(nac_tcx_encoder *){NULL}, NAN, NULL) == NAC_ERR_ARG);
    free(x);
    free(y);
    free(pkt);
}

TEST(tcx_rejects_bad_input_and_survives_garbage_payloads)
{
    nac_tcx_encoder *e = NULL;
    nac_tcx_decoder *d = NULL;
    CHECK(nac_tcx_encoder_create(&e, 12, NULL) == NAC_OK && nac_tcx_decoder_create(&d, NULL) == NAC_OK);
    float x[10 * NAC_TCX_FRAME] = {0}, *y = malloc(NAC_TCX_MAX_PACKET_FRAMES * NAC_TCX_FRAME * sizeof *y);
    uint8_t pkt[4096];
    size_t size;
    x[77] = NAN;
    CHECK(nac_tcx_encode_packet(e, pkt, &size, x, 10, NULL) == NAC_ERR_NUMERIC);
    x[77] = 0;
    CHECK(nac_tcx_encode_packet(e, pkt, &size, x, 0, NULL) == NAC_ERR_ARG);
    CHECK(nac_tcx_encode_packet(e, pkt, &size, x, 10, NULL) == NAC_OK); /* silence codes fine */
    int got = 0;
    CHECK(nac_tcx_decode_packet(d, y, &got, pkt, size, NULL) == NAC_OK && got == 10);
    double peak = 0;
    for (int i = 0; i < 10 * NAC_TCX_FRAME; i++)
        peak = fabs(y[i]) > peak ? fabs(y[i]) : peak;
    CHECKF(peak < 1e-6, "silence decodes to a peak of %g", peak);
    /* random payloads and cut ones: either decoded (bounded output) or refused; never a crash */
    nac_rng rng;
    nac_rng_seed(&rng, 3);
    int refused = 0, decoded = 0;
    for (int t = 0; t < 300; t++) {
        size_t n = (size_t)nac_rng_below(&rng, sizeof pkt);
        for (size_t i = 0; i < n; i++)
            pkt[i] = (uint8_t)nac_rng_u32(&rng);
        if (t % 3 == 0 && n > 2)
            pkt[0] = (uint8_t)(1 + nac_rng_below(&rng, 20));
        int st = nac_tcx_decode_packet(d, y, &got, pkt, n, NULL);
        CHECK(st == NAC_OK || st == NAC_ERR_FORMAT);
        if (st == NAC_OK) {
            decoded++;
            for (int i = 0; i < got * NAC_TCX_FRAME; i++)
                CHECK(isfinite(y[i]));
        } else {
            refused++;
        }
    }
    CHECK(decoded > 0 && refused > 0);
    nac_tcx_conceal(d, y, 3);
    for (int i = 0; i < 3 * NAC_TCX_FRAME; i++)
        CHECK(isfinite(y[i]));
    free(y);
    nac_tcx_encoder_destroy(e);
    nac_tcx_decoder_destroy(d);
}

TEST(tcx_cli_conceals_damage_and_keeps_the_length)
{
    const char *tmp = nac_test_tmp_dir();
    char nac[512], wav[512];
    snprintf(nac, sizeof nac, "%s/tcx.nac", tmp);
    snprintf(wav, sizeof wav, "%s/tcx.wav", tmp);
    CHECK(nac_test_sh("%s encode -q %s %s --kbps 16 --packet-frames 10", nac_test_bin(), speech(), nac) == 0);
    FILE *f = fopen(nac, "r+b");
    CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size / 2, SEEK_SET); /* a packet in the middle */
    int c = fgetc(f);
    fseek(f, size / 2, SEEK_SET);
    fputc(c ^ 0x10, f);
    fclose(f);
    CHECK(nac_test_sh("%s decode -q %s %s 2>/dev/null", nac_test_bin(), nac, wav) == 3);
    float *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    CHECK(nac_audio_read_all(&x, &nx, NULL, speech(), NULL) == NAC_OK);
    CHECK(nac_audio_read_all(&y, &ny, NULL, wav, NULL) == NAC_OK);
    CHECKF(nx == ny, "decoded %zu samples of %zu", ny, nx);
    /* the undamaged rest still follows the waveform */
    double sdr = -100;
    if (nx == ny && nx > 16000)
        nac_si_sdr(&sdr, x, y, 16000, NULL);
    CHECKF(sdr > 15, "first second: SI-SDR %.1f dB", sdr);
    /* usage errors */
    CHECK(nac_test_sh("%s encode -q %s %s --kbps 30 2>/dev/null", nac_test_bin(), speech(), nac) == 2);
    CHECK(nac_test_sh("%s encode -q %s %s --kbps 7 --mode transform 2>/dev/null", nac_test_bin(), speech(), nac) == 2);
    CHECK(nac_test_sh("%s encode -q %s %s --kbps 12 --mode fancy 2>/dev/null", nac_test_bin(), speech(), nac) == 2);
    free(x);
    free(y);
}
