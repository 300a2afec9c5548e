/* The public toolkit calls that the headers added on top of the existing modules: noise from
 * folders in one call (nac/degrade.h), seeded permutations (nac/listen.h) and the error helpers
 * (nac/error.h); the VQ-VAE's info and codebooks (nac/vqvae.h) are tested in test_vqvae.c. */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "listen/listen.h"
#include "nac/audio.h"
#include "nac/degrade.h"
#include "nac/error.h"
#include "nac/metrics.h"

TEST(degrade_add_noise_is_seeded_and_hits_its_snr)
{
    enum { N = 8000 };
    const char *tmp = nac_test_tmp_dir();
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/noise_dir", tmp);
    CHECK(mkdir(dir, 0755) == 0);
    static float noise[3 * N], clean[N], a[N], b[N], c[N];
    nac_rng r;
    nac_rng_seed(&r, 11);
    for (int i = 0; i < 3 * N; i++)
        noise[i] = (float)(0.1 * nac_rng_normal(&r));
    for (int i = 0; i < N; i++)
        clean[i] = (float)(0.3 * sin(0.05 * i) * (1 + sin(0.001 * i)));
    snprintf(path, sizeof path, "%s/n.wav", dir);
    nac_error e = {0};
    CHECKF(nac_audio_write_all(path, noise, 3 * N, 16000, &e) == 0, "%s", e.msg);

    nac_degrade_noise_opts o;
    nac_degrade_noise_opts_default(&o, dir, NULL, NULL);
    o.snr_lo = 0;
    o.snr_hi = 10;
    o.seed = 5;
    int kind = -1;
    double snr_a = -99, snr_b = -99, snr_c = -99, measured;
    memcpy(a, clean, sizeof a);
    memcpy(b, clean, sizeof b);
    memcpy(c, clean, sizeof c);
    CHECKF(nac_degrade_add_noise(a, N, 16000, &o, &kind, &snr_a, &e) == 0, "%s", e.msg);
    CHECK(kind == NAC_NOISE_FILE); /* recordings only: no babble or music folder, no synthetic */
    CHECK(snr_a >= 0 && snr_a <= 10);
    CHECK(nac_snr(&measured, clean, a, N, NULL) == 0);
    CHECK_NEAR(measured, snr_a, 1e-3);
    CHECK(nac_degrade_add_noise(b, N, 16000, &o, NULL, &snr_b, NULL) == 0);
    CHECK(snr_b == snr_a && memcmp(a, b, sizeof a) == 0);
    o.seed = 6;
    CHECK(nac_degrade_add_noise(c, N, 16000, &o, NULL, &snr_c, NULL) == 0);
    CHECK(snr_c != snr_a && memcmp(a, c, sizeof a) != 0);

    /* errors: no folder, a bad share or SNR range, a missing folder, nothing to add noise to */
    nac_degrade_noise_opts bad = o;
    bad.noise_dir = NULL;
    CHECK(nac_degrade_add_noise(c, N, 16000, &bad, NULL, NULL, &e) == NAC_ERR_ARG);
    bad = o;
    bad.from = 0.8;
    bad.to = 0.5;
    CHECK(nac_degrade_add_noise(c, N, 16000, &bad, NULL, NULL, &e) == NAC_ERR_ARG);
    bad = o;
    bad.snr_hi = NAN;
    CHECK(nac_degrade_add_noise(c, N, 16000, &bad, NULL, NULL, &e) == NAC_ERR_ARG);
    bad = o;
    bad.noise_dir = "/nonexistent/noise";
    CHECK(nac_degrade_add_noise(c, N, 16000, &bad, NULL, NULL, &e) < 0);
    CHECK(e.msg[0] != '\0');
    CHECK(nac_degrade_add_noise(c, 0, 16000, &o, NULL, NULL, &e) == NAC_ERR_EMPTY);
}

TEST(listen_permutation_is_the_seeded_shuffle)
{
    int p[37], q[37], seen[37] = {0};
    nac_rng r;
    nac_rng_seed(&r, 1234);
    nac_listen_shuffle(q, 37, &r);
    nac_listen_permutation(p, 37, 1234);
    CHECK(memcmp(p, q, sizeof p) == 0);
    for (int i = 0; i < 37; i++)
        CHECK(p[i] >= 0 && p[i] < 37 && !seen[p[i]]++);
    nac_listen_permutation(q, 37, 1235);
    CHECK(memcmp(p, q, sizeof p) != 0);
}

TEST(error_helpers)
{
    nac_error e;
    CHECK(nac_error_set(&e, NAC_ERR_IO, "cannot open %s", "x.wav") == NAC_ERR_IO);
    CHECK(e.code == NAC_ERR_IO && !strcmp(nac_error_message(&e), "cannot open x.wav"));
    nac_error_clear(&e);
    CHECK(e.code == NAC_OK && !strcmp(nac_error_message(&e), nac_strerror(NAC_OK)));
    e.code = NAC_ERR_NOMEM;
    CHECK(!strcmp(nac_error_message(&e), nac_strerror(NAC_ERR_NOMEM)));
    CHECK(nac_error_message(NULL) != NULL);
    CHECK(nac_error_set(NULL, NAC_ERR_ARG, "ignored") == NAC_ERR_ARG);
    char longer[1000];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    CHECK(nac_error_set(&e, NAC_ERR_ARG, "%s", longer) == NAC_ERR_ARG);
    CHECK(strlen(e.msg) == sizeof e.msg - 1);
}
