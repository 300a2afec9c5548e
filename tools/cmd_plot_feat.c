/* nac plot latent / nac plot frame: pictures of VQ-VAE latents and of single feature frames
 * (dispatched from cmd_plot.c; drawing in src/plot/features.c). */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nac/error.h"
#include "nac/plot.h"
#include "nac/vq.h"
#include "nac/vqvae.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nac plot latent MODEL IN.f32 OUT.png [--title T]\n"
            "       nac plot frame IN.f32 OUT.png --frame N [--compare Q.f32] [--k K] [--with-pitch] [--title T]\n\n"
            "  latent  runs the VQ-VAE MODEL's encoder over the feature file IN.f32 and draws the PCA of its\n"
            "          latents (the two axes of largest variance) as a 2-D histogram (log counts), with the\n"
            "          stage-1 codebook entries as white dots: how well the codebook covers the encoder space\n"
            "  frame   draws row N (from 0) of IN.f32 (rows of K float32, default K 20) over k, and with\n"
            "          --compare the same row of Q.f32 (e.g. the VQ-VAE's or a VQ's output), the error\n"
            "          between them shaded and its dB^2 in the title; --with-pitch for rows of K + 3\n"
            "          (`nac features --with-pitch`): the first K values are drawn\n\n"
            "example:\n"
            "  nac plot latent vqvae.nacw train.f32 latent.png\n"
            "  nac plot frame dev.f32 frame.png --frame 120 --compare dev_vq.f32\n"
            "  nac plot frame speech_p.f32 frame.png --with-pitch --frame 120 --compare speech_q.f32\n");
}

static int latent(int argc, char **argv)
{
    const char *pos[3], *title = NULL;
    int npos = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--title") && i + 1 < argc)
            title = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "nac plot latent: unknown option or missing value '%s' (try --help)\n", argv[i]);
            return 2;
        } else if (npos < 3)
            pos[npos++] = argv[i];
        else {
            fprintf(stderr, "nac plot latent: too many arguments (try --help)\n");
            return 2;
        }
    }
    if (npos != 3) {
        usage(stderr);
        return 2;
    }
    nac_error err = {0};
    nac_vqvae *m = NULL;
    float *x = NULL, *y = NULL, *z = NULL;
    size_t T;
    int rc = 1;
    nac_vqvae_info mi;
    if (nac_vqvae_load(&m, pos[0], 0, &err))
        goto fail;
    nac_vqvae_get_info(m, &mi);
    if (nac_vq_f32_read(&x, &T, pos[1], mi.k, 0, &err))
        goto fail;
    size_t Tg = nac_vqvae_latent_rows(m, T);
    y = malloc(T * (size_t)mi.k * sizeof(float));
    z = malloc(Tg * (size_t)mi.dim * sizeof(float));
    if (!y || !z) {
        nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    nac_vqvae_fwd o = {0};
    o.latent_out = z;
    if (nac_vqvae_run(y, m, x, T, &o, &err))
        goto fail;
    if (nac_plot_latent(pos[2], z, Tg, mi.dim, nac_vqvae_codebook(m, 0), mi.entries, title, &err))
        goto fail;
    rc = 0;
fail:
    if (rc)
        fprintf(stderr, "nac plot latent: %s\n", nac_error_message(&err));
    nac_vqvae_destroy(m);
    free(x);
    free(y);
    free(z);
    return rc;
}

static int frame(int argc, char **argv)
{
    const char *pos[2], *cmp = NULL, *title = NULL;
    int npos = 0;
    long fr = -1, K = 20;
    int extra = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--with-pitch")) {
            extra = 3;
        } else if (!strcmp(a, "--frame") || !strcmp(a, "--k") || !strcmp(a, "--compare") || !strcmp(a, "--title")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "nac plot frame: %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--compare"))
                cmp = v;
            else if (!strcmp(a, "--title"))
                title = v;
            else {
                char *end;
                errno = 0;
                long n = strtol(v, &end, 10);
                if (errno || end == v || *end || n < (a[2] == 'f' ? 0 : 1) || n > 100000000) {
                    fprintf(stderr, "nac plot frame: %s needs a whole number, not '%s'\n", a, v);
                    return 2;
                }
                *(a[2] == 'f' ? &fr : &K) = n;
            }
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "nac plot frame: unknown option '%s' (try --help)\n", a);
            return 2;
        } else if (npos < 2)
            pos[npos++] = a;
        else {
            fprintf(stderr, "nac plot frame: too many arguments (try --help)\n");
            return 2;
        }
    }
    if (npos != 2 || fr < 0) {
        usage(stderr);
        return 2;
    }
    nac_error err = {0};
    float *x = NULL, *q = NULL;
    size_t T, Tq;
    int rc = 1;
    int W = (int)K + extra; /* row width; the first K values are drawn */
    if (nac_vq_f32_read(&x, &T, pos[0], W, 0, &err))
        goto fail;
    if (cmp && nac_vq_f32_read(&q, &Tq, cmp, W, 0, &err))
        goto fail;
    if ((size_t)fr >= T || (cmp && (size_t)fr >= Tq)) {
        nac_error_set(&err, NAC_ERR_ARG, "frame %ld is past the end (%s has %zu rows)", fr,
                      (size_t)fr >= T ? pos[0] : cmp, (size_t)fr >= T ? T : Tq);
        goto fail;
    }
    char buf[512];
    if (!title) {
        const char *b = strrchr(pos[0], '/');
        snprintf(buf, sizeof buf, "%s, frame %ld", b ? b + 1 : pos[0], fr);
        title = buf;
    }
    if (nac_plot_frame(pos[1], x + (size_t)fr * W, q ? q + (size_t)fr * W : NULL, (int)K, title, &err))
        goto fail;
    rc = 0;
fail:
    if (rc)
        fprintf(stderr, "nac plot frame: %s\n", nac_error_message(&err));
    free(x);
    free(q);
    return rc;
}

int nac_cmd_plot_features(int argc, char **argv)
{
    return !strcmp(argv[1], "latent") ? latent(argc, argv) : frame(argc, argv);
}
