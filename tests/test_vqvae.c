/* Tests of src/vqvae and `nac vqvae`: gradient checks (autoencoder, and decoder + codebook with the
 * VQ), loss falling on a fixed batch, latent dump/inject round trip, save/load, bad input files. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "nn/optim.h"
#include "plot/features.h"
#include "vq/f32file.h"
#include "vqvae/vqvae.h"

/* Smooth feature-like rows (B*T, K): a few slow sinusoids per dimension plus noise, in dB. */
static void features(float *x, size_t rows, int K, uint64_t seed)
{
    nac_rng r;
    nac_rng_seed(&r, seed);
    double ph[4];
    for (int j = 0; j < 4; j++)
        ph[j] = 6.28 * nac_rng_uniform(&r);
    for (size_t t = 0; t < rows; t++)
        for (int k = 0; k < K; k++)
            x[t * K + k] = (float)(10 * sin(0.21 * t + ph[0] + 0.3 * k) + 5 * cos(0.07 * t * (1 + k % 3) + ph[1]) +
                                   0.5 * nac_rng_normal(&r));
}

static nac_vqvae *tiny(int stages, int ema)
{
    nac_vqvae_config c;
    nac_vqvae_config_default(&c);
    c.k = 3;
    c.ncat = 2;
    c.dim = 2;
    c.hidden = 5;
    c.kernel = 2;
    c.stages = stages;
    c.entries = 4;
    c.ema = ema;
    c.dead = 0;
    nac_vqvae *m = NULL;
    nac_error e;
    if (nac_vqvae_create(&m, &c, 1, 3, &e))
        return NULL;
    return m;
}

/* Loss of the batch at the current parameters (double for the finite differences). */
static double loss_at(nac_vqvae_work *w, const float *x, int B, int Tg, int quantise)
{
    nac_vqvae_fwd o = {0};
    o.quantise = quantise;
    nac_vqvae_loss l;
    if (nac_vqvae_forward(NULL, &l, w, x, B, Tg, &o, NULL))
        return NAN;
    return l.total;
}

/* Central differences on every parameter whose name starts with one of prefixes (all if NULL). */
static void gradcheck(nac_test *t_, int stages, const char *const *prefixes)
{
    enum { B = 2, Tg = 3 };
    nac_vqvae *m = tiny(stages, 0);
    CHECK(m);
    int K = m->cfg.k, T = Tg * m->cfg.ncat;
    float x[B * 3 * 2 * 3];
    features(x, (size_t)B * T, K, 5);
    nac_vqvae_set_norm(m, x, (size_t)B * T);
    nac_vqvae_work *w = NULL;
    CHECK(nac_vqvae_work_create(&w, m, B, Tg, NULL) == 0);
    if (stages) { /* codebooks from the data, so every entry is in use and codes are stable */
        CHECK(nac_vqvae_kmeans_init(w, x, B, Tg, 5, 1, NULL) == 0);
    }
    nn_params_zero_grad(&m->p);
    CHECK(isfinite(loss_at(w, x, B, Tg, 1)));
    CHECK(nac_vqvae_backward(w, NULL) == 0);
    float *g1 = malloc(m->p.total * sizeof(float));
    CHECK(g1);
    memcpy(g1, m->p.grad, m->p.total * sizeof(float));
    CHECK(nac_vqvae_backward(w, NULL) == 0); /* accumulates: twice the gradient */
    for (size_t i = 0; i < m->p.total; i++)
        CHECKF(fabsf(m->p.grad[i] - 2 * g1[i]) <= 1e-6f * (1 + fabsf(g1[i])), "second backward: %g vs 2 x %g",
               m->p.grad[i], g1[i]);
    double worst = 0;
    const char *wname = "";
    int checked = 0;
    for (int ti = 0; ti < m->p.n; ti++) {
        const nn_tensor *tt = &m->p.t[ti];
        int take = !prefixes;
        for (int j = 0; prefixes && prefixes[j]; j++)
            take |= !strncmp(tt->name, prefixes[j], strlen(prefixes[j]));
        if (!take)
            continue;
        for (size_t e = 0; e < tt->numel; e++) {
            float *p = m->p.data + tt->offset + e, p0 = *p, h = 1e-3f;
            *p = p0 + h;
            double lp = loss_at(w, x, B, Tg, 1);
            *p = p0 - h;
            double lm = loss_at(w, x, B, Tg, 1);
            *p = p0;
            double num = (lp - lm) / (2.0 * h), ana = g1[tt->offset + e];
            double err = fabs(num - ana) / (1e-3 + 1e-2 * fmax(fabs(num), fabs(ana)));
            if (err > worst) {
                worst = err;
                wname = tt->name;
            }
            checked++;
        }
    }
    CHECK(checked > 50);
    CHECKF(worst <= 1.0, "worst gradient error %.3g of the tolerance in %s", worst, wname);
    snprintf(t_->why, sizeof t_->why, "%d parameters, worst %.2f of the tolerance", checked, worst);
    free(g1);
    nac_vqvae_work_destroy(w);
    nac_vqvae_destroy(m);
}

TEST(vqvae_gradcheck_autoencoder) { gradcheck(t_, 0, NULL); }

/* With the VQ the encoder's gradient is straight-through and the codebook learns from the codebook
 * loss alone (neither is the true gradient; vq/rvq's tests check them): check the decoder, whose
 * gradient is exact while no code changes. */
TEST(vqvae_gradcheck_decoder_with_vq)
{
    static const char *const pre[] = {"dec.", NULL};
    gradcheck(t_, 1, pre);
}

TEST(vqvae_loss_falls_on_fixed_batch)
{
    enum { B = 4, Tg = 16 };
    nac_vqvae_config c;
    nac_vqvae_config_default(&c);
    c.k = 8;
    c.ncat = 2;
    c.dim = 4;
    c.hidden = 16;
    c.stages = 2;
    c.entries = 8;
    nac_vqvae *m = NULL;
    nac_error e;
    CHECKF(nac_vqvae_create(&m, &c, 1, 7, &e) == 0, "%s", e.msg);
    size_t rows = (size_t)B * Tg * c.ncat;
    float *x = malloc(rows * c.k * sizeof(float));
    CHECK(x);
    features(x, rows, c.k, 9);
    nac_vqvae_set_norm(m, x, rows);
    nac_vqvae_work *w = NULL;
    CHECK(nac_vqvae_work_create(&w, m, B, Tg, NULL) == 0);
    nn_adamw opt = {0.9f, 0.99f, 1e-8f, 0};
    double first = 0, last = 0;
    for (int s = 0; s < 300; s++) {
        if (s == 100)
            CHECK(nac_vqvae_kmeans_init(w, x, B, Tg, 10, 3, NULL) == 0);
        nac_vqvae_fwd o = {0};
        o.quantise = s >= 100;
        nac_vqvae_loss l;
        nn_params_zero_grad(&m->p);
        CHECK(nac_vqvae_forward(NULL, &l, w, x, B, Tg, &o, NULL) == 0);
        CHECK(nac_vqvae_backward(w, NULL) == 0);
        nn_adamw_step(&m->p, &opt, 3e-3f, s + 1);
        CHECK(nac_vqvae_update_vq(w, (uint64_t)s, NULL) == 0);
        if (s == 0)
            first = l.mse;
        last = l.mse;
    }
    CHECKF(last < 0.3 * first, "dB^2 went from %.3f to %.3f in 300 steps", first, last);
    snprintf(t_->why, sizeof t_->why, "%.2f -> %.2f dB^2", first, last);
    free(x);
    nac_vqvae_work_destroy(w);
    nac_vqvae_destroy(m);
}

/* Writing the latents and reading them back gives the same output (bit for bit, without the VQ);
 * a saved and reloaded model gives the same output as the original. Through the library and the CLI. */
TEST(vqvae_latent_roundtrip_and_save_load)
{
    nac_vqvae *m = tiny(2, 1), *m2 = NULL;
    CHECK(m);
    enum { T = 23 }; /* not a multiple of ncat: the last step is padded */
    int K = m->cfg.k, D = m->cfg.dim;
    size_t Tg = nac_vqvae_latent_rows(m, T);
    CHECK(Tg == 12);
    float x[T * 3], y1[T * 3], y2[T * 3], y3[T * 3], lat[12 * 2];
    features(x, T, K, 4);
    nac_vqvae_set_norm(m, x, T);
    nac_vqvae_fwd o = {0};
    o.latent_out = lat;
    CHECK(nac_vqvae_run(y1, m, x, T, &o, NULL) == 0);
    nac_vqvae_fwd r = {0};
    r.latent_in = lat;
    CHECK(nac_vqvae_run(y2, m, x, T, &r, NULL) == 0);
    CHECK(memcmp(y1, y2, sizeof y1) == 0);
    for (int i = 0; i < 12 * D; i++)
        CHECK(lat[i] > -1 && lat[i] < 1);
    char path[512];
    snprintf(path, sizeof path, "%s/vqvae_rt.nacw", nac_test_tmp_dir());
    nac_error e;
    CHECKF(nac_vqvae_save(m, path, 1, &e) == 0, "%s", e.msg);
    CHECKF(nac_vqvae_load(&m2, path, 1, &e) == 0, "%s", e.msg);
    nac_vqvae_fwd q = {0};
    q.quantise = 1;
    CHECK(nac_vqvae_run(y1, m, x, T, &q, NULL) == 0);
    CHECK(nac_vqvae_run(y3, m2, x, T, &q, NULL) == 0);
    CHECK(memcmp(y1, y3, sizeof y1) == 0);
    CHECK(m2->p.total == m->p.total && memcmp(m2->p.data, m->p.data, m->p.total * sizeof(float)) == 0);
    CHECK(memcmp(m2->rvq_state, m->rvq_state, m->rvq.state_floats * sizeof(float)) == 0);

    /* the CLI: dump latents, inject them, same features out */
    const char *tmp = nac_test_tmp_dir(), *nac = nac_test_bin();
    char xin[512];
    snprintf(xin, sizeof xin, "%s/vqvae_x.f32", tmp);
    CHECK(nac_vq_f32_write(xin, x, T, K, NULL) == 0);
    CHECK(nac_test_sh("%s vqvae run %s %s %s/a.f32 --no-vq --write-latent %s/l.f32 >/dev/null", nac, path, xin, tmp,
                      tmp) == 0);
    CHECK(nac_test_sh("%s vqvae run %s %s %s/b.f32 --read-latent %s/l.f32 >/dev/null", nac, path, xin, tmp, tmp) == 0);
    CHECK(nac_test_sh("cmp -s %s/a.f32 %s/b.f32", tmp, tmp) == 0);
    CHECK(nac_test_sh("test $(stat -c %%s %s/l.f32) -eq %d", tmp, (int)(Tg * D * 4)) == 0);
    nac_vqvae_destroy(m);
    nac_vqvae_destroy(m2);
}

/* Bad feature, latent and model files: exit 1 with one clear line, never a crash. */
TEST(vqvae_bad_inputs)
{
    nac_vqvae *m = tiny(1, 0);
    CHECK(m);
    const char *tmp = nac_test_tmp_dir(), *nac = nac_test_bin();
    char model[512];
    snprintf(model, sizeof model, "%s/vqvae_bad.nacw", tmp);
    CHECK(nac_vqvae_save(m, model, 0, NULL) == 0);
    nac_vqvae_destroy(m);
    float x[10 * 3];
    features(x, 10, 3, 1);
    char good[512];
    snprintf(good, sizeof good, "%s/good.f32", tmp);
    CHECK(nac_vq_f32_write(good, x, 10, 3, NULL) == 0);
    struct {
        const char *make, *expect;
    } cases[] = {
        {"head -c 50 %s/good.f32 > %s/in.f32", "whole number of rows"}, /* truncated inside a row */
        {": > %s/in.f32", "empty"},
        {"cp %s/good.f32 %s/in.f32 && printf '\\000\\000\\300\\177' | dd of=%s/in.f32 bs=1 seek=20 conv=notrunc "
         "2>/dev/null",
         "is NaN"}, /* a NaN */
        {"rm -f %s/in.f32", "cannot open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        CHECK(nac_test_sh(cases[i].make, tmp, tmp, tmp) == 0);
        int rc = nac_test_sh("%s vqvae run %s %s/in.f32 %s/out.f32 >/dev/null 2>%s/err.txt", nac, model, tmp, tmp, tmp);
        CHECKF(rc == 1, "case %zu: exit %d", i, rc);
        CHECKF(nac_test_sh("grep -qi '%s' %s/err.txt && test $(wc -l < %s/err.txt) -eq 1", cases[i].expect, tmp,
                           tmp) == 0,
               "case %zu: the message does not say '%s'", i, cases[i].expect);
    }
    /* a latent file of the wrong length, a corrupted and a truncated model, a usage error */
    CHECK(nac_test_sh("head -c 16 %s > %s/lat.f32", good, tmp) == 0);
    CHECK(nac_test_sh("%s vqvae run %s %s %s/o.f32 --read-latent %s/lat.f32 2>%s/err.txt", nac, model, good, tmp, tmp,
                      tmp) == 1);
    CHECK(nac_test_sh("grep -q 'latent rows' %s/err.txt", tmp) == 0);
    CHECK(nac_test_sh("cp %s %s/c.nacw && printf 'XXXX' | dd of=%s/c.nacw bs=1 seek=300 conv=notrunc 2>/dev/null",
                      model, tmp, tmp) == 0);
    CHECK(nac_test_sh("%s vqvae run %s/c.nacw %s %s/o.f32 2>/dev/null", nac, tmp, good, tmp) == 1);
    CHECK(nac_test_sh("head -c 200 %s > %s/t.nacw", model, tmp) == 0);
    CHECK(nac_test_sh("%s vqvae run %s/t.nacw %s %s/o.f32 2>/dev/null", nac, tmp, good, tmp) == 1);
    CHECK(nac_test_sh("%s vqvae run %s %s 2>/dev/null", nac, model, good) == 2);
    CHECK(nac_test_sh("%s vqvae train %s --out %s/x.nacw --k 3 --dim 0 2>/dev/null", nac, good, tmp) == 2);
}

/* The pictures: PNG files from the library calls and the CLI, errors for a frame past the end. */
TEST(vqvae_plots)
{
    enum { N = 500, D = 4, K = 20 };
    float z[N * D], cb[8 * D], x[3 * K], q[3 * K];
    nac_rng r;
    nac_rng_seed(&r, 2);
    for (int i = 0; i < N * D; i++)
        z[i] = (float)(nac_rng_normal(&r) * (1 + i % D));
    memcpy(cb, z, sizeof cb);
    features(x, 3, K, 8);
    for (int i = 0; i < 3 * K; i++)
        q[i] = x[i] + 0.5f;
    const char *tmp = nac_test_tmp_dir(), *nac = nac_test_bin();
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/latent.png", tmp);
    snprintf(p2, sizeof p2, "%s/frame.png", tmp);
    nac_error e;
    CHECKF(nac_plot_latent(p1, z, N, D, cb, 8, NULL, &e) == 0, "%s", e.msg);
    CHECKF(nac_plot_frame(p2, x, q, K, "t", &e) == 0, "%s", e.msg);
    CHECK(nac_test_sh("head -c 8 %s | od -An -tx1 | grep -q '89 50 4e 47'", p1) == 0);
    CHECK(nac_test_sh("head -c 8 %s | od -An -tx1 | grep -q '89 50 4e 47'", p2) == 0);
    CHECK(nac_plot_latent(p1, z, 1, D, NULL, 0, NULL, &e) == NAC_ERR_ARG);
    char xf[512], qf[512];
    snprintf(xf, sizeof xf, "%s/px.f32", tmp);
    snprintf(qf, sizeof qf, "%s/pq.f32", tmp);
    CHECK(nac_vq_f32_write(xf, x, 3, K, NULL) == 0 && nac_vq_f32_write(qf, q, 3, K, NULL) == 0);
    CHECK(nac_test_sh("%s plot frame %s %s/f.png --frame 2 --compare %s", nac, xf, tmp, qf) == 0);
    CHECK(nac_test_sh("%s plot frame %s %s/f.png --frame 3 2>%s/err.txt", nac, xf, tmp, tmp) == 1);
    CHECK(nac_test_sh("grep -q 'past the end' %s/err.txt", tmp) == 0);
    CHECK(nac_test_sh("%s plot frame %s %s/f.png 2>/dev/null", nac, xf, tmp) == 2);
}

/* nac vqvae train: a short run with a checkpoint, resumed to more steps (the architecture comes
 * from the checkpoint), then run on the same file. */
TEST(vqvae_cli_train_resume)
{
    enum { T = 600, K = 3 };
    float x[T * K];
    features(x, T, K, 12);
    const char *tmp = nac_test_tmp_dir(), *nac = nac_test_bin();
    char xf[512], mf[512];
    snprintf(xf, sizeof xf, "%s/tr.f32", tmp);
    snprintf(mf, sizeof mf, "%s/tr.nacw", tmp);
    CHECK(nac_vq_f32_write(xf, x, T, K, NULL) == 0);
    CHECK(nac_test_sh("%s vqvae train %s --k 3 --ncat 2 --dim 2 --hidden 8 --stages 1 --entries 4 --steps 20 "
                      "--vq-start 5 --batch 4 --seq 8 --save-every 10 --out %s 2>/dev/null",
                      nac, xf, mf) == 0);
    CHECK(nac_test_sh("%s vqvae train %s --k 3 --steps 30 --batch 4 --seq 8 --resume --out %s 2>%s/log.txt", nac, xf,
                      mf, tmp) == 0);
    CHECK(nac_test_sh("grep -q 'resuming .* at step 20' %s/log.txt && grep -q '10 steps in' %s/log.txt", tmp, tmp) ==
          0);
    nac_vqvae *m = NULL;
    CHECK(nac_vqvae_load(&m, mf, 0, NULL) == 0);
    CHECK(m->step == 30 && m->cfg.ncat == 2 && m->cfg.entries == 4);
    nac_vqvae_destroy(m);
    CHECK(nac_test_sh("%s vqvae run %s %s %s/tr_out.f32 | grep -q 'overall .* dB^2'", nac, mf, xf, tmp) == 0);
    CHECK(nac_test_sh("%s info %s > %s/info.txt && grep -q 'VQ-VAE' %s/info.txt && grep -q '1 VQ stages of 4 entries: "
                      "2.0 bits' %s/info.txt && grep -q 'training steps 30' %s/info.txt",
                      nac, mf, tmp, tmp, tmp, tmp) == 0);
}

/* --list: per-file lines, overall / female / male totals, per-file latents dumped to a folder and
 * injected back (same outputs as the plain run, file by file). */
TEST(vqvae_cli_list_and_genders)
{
    nac_vqvae *m = tiny(0, 0);
    CHECK(m);
    const char *tmp = nac_test_tmp_dir(), *nac = nac_test_bin();
    char model[512], list[512];
    snprintf(model, sizeof model, "%s/list.nacw", tmp);
    snprintf(list, sizeof list, "%s/files.tsv", tmp);
    float x[40 * 3];
    features(x, 40, 3, 3);
    nac_vqvae_set_norm(m, x, 40);
    CHECK(nac_vqvae_save(m, model, 0, NULL) == 0);
    nac_vqvae_destroy(m);
    FILE *f = fopen(list, "w");
    CHECK(f);
    fprintf(f, "speaker\tpath\tgender\n");
    for (int i = 0; i < 3; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/d%d/feat.f32", tmp, i); /* same base name in three folders */
        CHECK(nac_test_sh("mkdir -p %s/d%d", tmp, i) == 0);
        CHECK(nac_vq_f32_write(p, x + i * 9, 40 - 3 * i, 3, NULL) == 0);
        fprintf(f, "s%d\t%s\t%s\n", i, p, i == 1 ? "M?" : "F");
    }
    fclose(f);
    CHECK(nac_test_sh("%s vqvae run %s --list %s --no-vq --write-latent %s/lat --out-dir %s/o1 > %s/l1.txt", nac,
                      model, list, tmp, tmp, tmp) == 0);
    CHECK(nac_test_sh("grep -q '^overall *3 files' %s/l1.txt && grep -q '^female *2 files' %s/l1.txt && "
                      "grep -q '^male *1 files' %s/l1.txt",
                      tmp, tmp, tmp) == 0);
    CHECK(nac_test_sh("test $(ls %s/lat | wc -l) -eq 3 && test $(ls %s/o1 | wc -l) -eq 3", tmp, tmp) == 0);
    CHECK(nac_test_sh("%s vqvae run %s --list %s --read-latent %s/lat --out-dir %s/o2 > %s/l2.txt", nac, model, list,
                      tmp, tmp, tmp) == 0);
    CHECK(nac_test_sh("cd %s/o1 && for g in *; do cmp -s $g ../o2/$g || exit 1; done", tmp) == 0);
    CHECK(nac_test_sh("cmp -s %s/l1.txt %s/l2.txt", tmp, tmp) == 0);
    /* a list without a path column, and one naming a missing file */
    CHECK(nac_test_sh("printf 'file\\tgender\\nx\\tF\\n' > %s/bad.tsv", tmp) == 0);
    CHECK(nac_test_sh("%s vqvae run %s --list %s/bad.tsv 2>&1 | grep -q \"no 'path' column\"", nac, model, tmp) == 0);
    CHECK(nac_test_sh("printf 'path\\n%s/none.f32\\n' > %s/bad2.tsv", tmp, tmp) == 0);
    CHECK(nac_test_sh("%s vqvae run %s --list %s/bad2.tsv >/dev/null 2>&1", nac, model, tmp) == 1);
}

/* The public view of a model (nac/vqvae.h): its sizes, and each stage's codebook in place. */
TEST(vqvae_info_and_codebooks)
{
    nac_vqvae *m = tiny(2, 0);
    CHECK(m != NULL);
    m->step = 17;
    nac_vqvae_info info;
    nac_vqvae_get_info(m, &info);
    CHECK(info.k == 3 && info.ncat == 2 && info.dim == 2 && info.stages == 2 && info.entries == 4 && info.step == 17);
    int ci = nn_params_find(&m->p, "vq.codebook");
    CHECK(ci >= 0);
    const float *cb = nn_params_data(&m->p, ci);
    CHECK(nac_vqvae_codebook(m, 0) == cb && nac_vqvae_codebook(m, 1) == cb + 4 * 2);
    CHECK(nac_vqvae_codebook(m, 2) == NULL && nac_vqvae_codebook(m, -1) == NULL);
    CHECK(nac_vqvae_latent_rows(m, 7) == 4);
    nac_vqvae_destroy(m);
    m = tiny(0, 0); /* an autoencoder has no codebook */
    CHECK(m != NULL && nac_vqvae_codebook(m, 0) == NULL);
    nac_vqvae_destroy(m);
}
