/* nac train end to end on a tiny model: an interrupted and resumed run ends bit-identical to an
 * uninterrupted one (parameters, AdamW moments and VQ state). */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "format/weights.h"
#include "model/dataset.h"
#include "nac/train.h"
#include "train/comm.h"
#include "train/shard.h"

/* Writes the tiny codec config (2 x 2 blocks of 16 channels, 4 VQ stages of 16) to tmp/name plus
 * extra lines; path receives its path. 0 on success. */
static int tiny_config(char *path, size_t size, const char *name, const char *extra)
{
    snprintf(path, size, "%s/%s", nac_test_tmp_dir(), name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "channels = 16\nhidden = 24\nenc_hi = 1\nenc_lo = 1\ndec_lo = 1\ndec_hi = 1\n"
               "latent_dim = 16\nrvq.stages = 4\nrvq.codebook_size = 16\n%s", extra);
    return fclose(f);
}

/* Checkpoints tmp/a and tmp/b hold the same step, random state and tensors, bit for bit (only the
 * wall-time field may differ). */
static void same_checkpoint(nac_test *t_, const char *a_name, const char *b_name, const char *step)
{
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/%s", nac_test_tmp_dir(), a_name);
    snprintf(pb, sizeof pb, "%s/%s", nac_test_tmp_dir(), b_name);
    nac_weights *a = NULL, *b = NULL;
    nac_error e;
    CHECKF(nac_weights_load(&a, pa, &e) == NAC_OK, "%s", e.msg);
    CHECKF(nac_weights_load(&b, pb, &e) == NAC_OK, "%s", e.msg);
    CHECK(nac_weights_count(a) == nac_weights_count(b) && nac_weights_count(a) > 10);
    CHECK(!strcmp(nac_weights_config(a, "train.step"), step) && !strcmp(nac_weights_config(b, "train.step"), step));
    CHECK(!strcmp(nac_weights_config(a, "train.rng"), nac_weights_config(b, "train.rng")));
    for (size_t i = 0; i < nac_weights_count(a); i++) {
        const nac_tensor_info *ta = nac_weights_tensor(a, i), *tb = nac_weights_find(b, ta->name);
        CHECKF(tb && tb->nbytes == ta->nbytes, "tensor %s missing or resized", ta->name);
        CHECKF(memcmp(nac_weights_data(a, ta), nac_weights_data(b, tb), ta->nbytes) == 0, "tensor %s differs",
               ta->name);
    }
    nac_weights_destroy(a);
    nac_weights_destroy(b);
}

TEST(train_resume_is_bit_identical)
{
    const char *tmp = nac_test_tmp_dir(), *bin = nac_test_bin();
    char cfg[512];
    CHECK(tiny_config(cfg, sizeof cfg, "tiny.cfg", "") == 0);
    const char *common = "--batch 2 --seconds 0.4 --save-every 1000 --print-every 1000 --warmup 2 --seed 3";
    CHECK(nac_test_sh("%s train --data %s --out %s/a.nacw --config %s --steps 6 %s 2>/dev/null", bin, nac_test_fixture_dir(),
             tmp, cfg, common) == 0);
    CHECK(nac_test_sh("%s train --data %s --out %s/b.nacw --config %s --steps 3 %s 2>/dev/null", bin, nac_test_fixture_dir(),
             tmp, cfg, common) == 0);
    CHECK(nac_test_sh("%s train --data %s --out %s/b.nacw --steps 6 %s 2>/dev/null", bin, nac_test_fixture_dir(), tmp,
             common) == 0);
    same_checkpoint(t_, "a.nacw.ckpt", "b.nacw.ckpt", "6");
}

/* ---- data parallel ------------------------------------------------------------------------ */

/* The rank-aware sampler: rows [b0, b1) of a batch equal those rows of the whole batch, and the
 * random state ends where the whole batch leaves it (so every rank stays in step). */
TEST(train_sampler_rows_match_batch)
{
    nac_dataset ds;
    nac_error e;
    CHECKF(nac_dataset_load(&ds, nac_test_fixture_dir(), 16000, 0, NULL, NULL, &e) == NAC_OK, "%s", e.msg);
    enum { B = 6, T = 3200 };
    float *all = malloc(sizeof(float) * B * T), *part = malloc(sizeof(float) * 2 * T);
    CHECK(all && part);
    nac_rng r1, r2;
    nac_rng_seed(&r1, 77);
    nac_rng_seed(&r2, 77);
    nac_dataset_batch(all, &ds, &r1, B, T, -35.0f, -15.0f);
    nac_dataset_batch_rows(part, &ds, &r2, B, T, -35.0f, -15.0f, 3, 5);
    CHECK(memcmp(part, all + 3 * T, sizeof(float) * 2 * T) == 0);
    CHECK(memcmp(&r1, &r2, sizeof r1) == 0);
    double e3 = 0;
    for (int i = 0; i < T; i++)
        e3 += (double)part[i] * part[i];
    CHECK(e3 > 0); /* real audio, not zeros */
    nac_rng_seed(&r2, 77);
    nac_dataset_batch_rows(part, &ds, &r2, B, T, -35.0f, -15.0f, 0, 0); /* a rank with no rows */
    CHECK(memcmp(&r1, &r2, sizeof r1) == 0);
    free(all);
    free(part);
    nac_dataset_free(&ds);
}

/* The shard reduction adds in shard order whatever the rank layout: 1e8 + 1 - 1e8 is 0 in that
 * order (1 is lost against 1e8) but would be 1 in another. Shard ranges tile the shards. */
TEST(train_shard_reduction_fixed_order)
{
    const float g[3][2] = {{1e8f, 3.0f}, {1.0f, 5.0f}, {-1e8f, 7.0f}};
    float acc[2];
    for (int s = 0; s < 3; s++)
        nac_shard_add(acc, g[s], 2, s == 0);
    nac_shard_finish(acc, 2, 3);
    CHECK(acc[0] == 0.0f);
    CHECK(acc[1] == 5.0f);
    float out[2];
    nac_comm c;
    CHECK(nac_comm_init(&c, NULL) == NAC_OK && c.size == 1);
    CHECK(nac_comm_reduce_shards(&c, out, &g[0][0], 3, 2, 3, NULL) == NAC_OK);
    CHECK(memcmp(out, acc, sizeof acc) == 0);
    nac_comm_finalize(&c);
    int next = 0;
    for (int r = 0; r < 4; r++) {
        int s0, s1;
        nac_shard_range(&s0, &s1, 8, r, 4);
        CHECK(s0 == next && s1 == s0 + 2);
        next = s1;
    }
    CHECK(next == 8);
}

#define MPIRUN "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 mpirun"

/* mpirun -np 2 gives the checkpoint of one process with the same batch and shards, byte for byte;
 * a run stopped at -np 2 and resumed at -np 1 (the shards come from the checkpoint) too. */
TEST(train_mpi_two_ranks_match_one)
{
    if (!nac_train_mpi_built())
        SKIP("built without MPI (make MPI=1)");
    if (nac_test_sh("command -v mpirun >/dev/null 2>&1"))
        SKIP("no mpirun (apt-get install openmpi-bin)");
    const char *tmp = nac_test_tmp_dir(), *bin = nac_test_bin();
    char cfg[512];
    CHECK(tiny_config(cfg, sizeof cfg, "mpi_tiny.cfg", "rvq.dead_threshold = 0.5\n") == 0);
    char common[1024];
    snprintf(common, sizeof common,
             "--data %s --config %s --batch 4 --seconds 0.4 --save-every 1000 --print-every 1000 --warmup 2 --seed 3 "
             "--threads 1",
             nac_test_fixture_dir(), cfg);
    CHECK(nac_test_sh(MPIRUN " -np 2 %s train %s --steps 6 --out %s/np2.nacw 2>/dev/null >&2", bin, common, tmp) == 0);
    CHECK(nac_test_sh("%s train %s --steps 6 --shards 2 --out %s/np1.nacw 2>/dev/null", bin, common, tmp) == 0);
    CHECK(nac_test_sh(MPIRUN " -np 2 %s train %s --steps 3 --out %s/res.nacw 2>/dev/null >&2", bin, common, tmp) == 0);
    CHECK(nac_test_sh("%s train %s --steps 6 --out %s/res.nacw 2>/dev/null", bin, common, tmp) == 0);
    same_checkpoint(t_, "np1.nacw.ckpt", "np2.nacw.ckpt", "6");
    same_checkpoint(t_, "np1.nacw.ckpt", "res.nacw.ckpt", "6");
    char b[512];
    snprintf(b, sizeof b, "%s/np2.nacw.ckpt", tmp);
    nac_weights *w = NULL;
    nac_error e;
    CHECKF(nac_weights_load(&w, b, &e) == NAC_OK, "%s", e.msg);
    const char *sh = nac_weights_config(w, "train.shards");
    CHECK(sh && !strcmp(sh, "2"));
    nac_weights_destroy(w);
}

/* A rank killed mid-run ends the job with a non-zero status, and the checkpoint on disk is whole
 * (the run starts from a 2-step checkpoint, so there is one whenever the kill lands). */
TEST(train_mpi_dead_rank_ends_job)
{
    if (!nac_train_mpi_built())
        SKIP("built without MPI (make MPI=1)");
    if (nac_test_sh("command -v mpirun >/dev/null 2>&1"))
        SKIP("no mpirun (apt-get install openmpi-bin)");
    const char *tmp = nac_test_tmp_dir(), *bin = nac_test_bin();
    char cfg[512], ck[512], args[2048];
    CHECK(tiny_config(cfg, sizeof cfg, "dead_tiny.cfg", "") == 0);
    snprintf(ck, sizeof ck, "%s/dead.nacw.ckpt", tmp);
    snprintf(args, sizeof args,
             "train --data %s --config %s --batch 2 --seconds 0.4 --save-every 1 --threads 1 --out %s/dead.nacw",
             nac_test_fixture_dir(), cfg, tmp);
    CHECK(nac_test_sh(MPIRUN " -np 2 %s %s --steps 2 >/dev/null 2>&1", bin, args) == 0);
    /* rank 1 is killed after 2 s; rank 0 saves every step meanwhile */
    int rc = nac_test_sh(MPIRUN " -np 2 sh -c 'if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then exec timeout -s KILL 2 %s "
                         "%s --steps 1000000; else exec %s %s --steps 1000000; fi' >%s/dead.log 2>&1",
                         bin, args, bin, args, tmp);
    CHECKF(rc != 0, "the job went on without rank 1");
    CHECK(nac_test_sh("grep -q 'rank 1' %s/dead.log", tmp) == 0); /* mpirun names the dead rank */
    nac_weights *w = NULL;
    nac_error e;
    CHECKF(nac_weights_load(&w, ck, &e) == NAC_OK, "checkpoint after the failure: %s", e.msg);
    long long step = 0;
    CHECK(nac_weights_config_int(w, "train.step", &step, NULL) == NAC_OK && step >= 2);
    nac_weights_destroy(w);
}

/* The public trainer: create, steps, save and the option checks, through include/nac/train.h only. */
TEST(train_api_create_step_save)
{
    const char *tmp = nac_test_tmp_dir();
    char cfg[512], out[512], ck[512];
    CHECK(tiny_config(cfg, sizeof cfg, "api_tiny.cfg", "") == 0);
    snprintf(out, sizeof out, "%s/api.nacw", tmp);
    snprintf(ck, sizeof ck, "%s/api.nacw.ckpt", tmp);
    nac_train_opts o;
    nac_train_opts_default(&o);
    o.data = nac_test_fixture_dir();
    o.out = out;
    o.config = cfg;
    o.batch = 4;
    o.seconds = 0.4;
    o.threads = 1;
    o.shards = 3; /* does not divide the batch */
    nac_trainer *t = NULL;
    nac_error e = {0};
    CHECK(nac_trainer_create(&t, &o, NULL, NULL, &e) == NAC_ERR_ARG && t == NULL && strstr(e.msg, "--shards"));
    o.shards = 2;
    CHECKF(nac_trainer_create(&t, &o, NULL, NULL, &e) == NAC_OK, "%s", e.msg);
    int rank = -1, size = 0;
    nac_trainer_ranks(t, &rank, &size);
    CHECK(rank == 0 && size == 1);
    for (int i = 0; i < 2; i++)
        CHECKF(nac_trainer_step(t, &e) == NAC_OK, "%s", e.msg);
    CHECK(nac_trainer_step_count(t) == 2);
    double stoi = 0, mel = 0;
    CHECK(nac_trainer_validate(t, &stoi, &mel, &e) == NAC_OK && isnan(stoi) && isnan(mel)); /* no --val */
    CHECKF(nac_trainer_save(t, &e) == NAC_OK, "%s", e.msg);
    nac_trainer_destroy(t);
    nac_trainer_destroy(NULL);
    nac_weights *w = NULL;
    CHECKF(nac_weights_load(&w, ck, &e) == NAC_OK, "%s", e.msg);
    CHECK(!strcmp(nac_weights_config(w, "train.step"), "2") && !strcmp(nac_weights_config(w, "train.shards"), "2"));
    nac_weights_destroy(w);
    o.data = "/nonexistent/folder";
    o.out = "/nonexistent/folder/x.nacw";
    CHECK(nac_trainer_create(&t, &o, NULL, NULL, &e) != NAC_OK && t == NULL);
}

/* A build without MPI started by mpirun with several ranks refuses (each copy would train alone
 * and write the same files). */
TEST(train_plain_build_refuses_mpirun)
{
    if (nac_train_mpi_built())
        SKIP("built with MPI");
    const char *tmp = nac_test_tmp_dir();
    CHECK(nac_test_sh("OMPI_COMM_WORLD_SIZE=2 %s train --data %s --out %s/plain.nacw --steps 1 2>%s/plain.err; "
                      "test $? -eq 1",
                      nac_test_bin(), nac_test_fixture_dir(), tmp, tmp) == 0);
    CHECK(nac_test_sh("grep -q 'make MPI=1' %s/plain.err", tmp) == 0);
    CHECK(nac_test_sh("test ! -e %s/plain.nacw.ckpt", tmp) == 0);
}

/* Fine-tuning starts from the built-in model's weights (--init default). */
TEST(train_init_default)
{
    const char *tmp = nac_test_tmp_dir();
    CHECK(nac_test_sh("%s train --data %s --init default --out %s/ft.nacw --steps 1 --batch 1 --seconds 0.4 --threads 1 "
                      "2>%s/ft.err",
                      nac_test_bin(), nac_test_fixture_dir(), tmp, tmp) == 0);
    CHECK(nac_test_sh("grep -q 'fine-tuning from default' %s/ft.err", tmp) == 0);
    char p[512];
    snprintf(p, sizeof p, "%s/ft.nacw.ckpt", tmp);
    nac_weights *w = NULL;
    nac_error e;
    CHECKF(nac_weights_load(&w, p, &e) == NAC_OK, "%s", e.msg);
    CHECK(!strcmp(nac_weights_config(w, "train.step"), "1") && nac_weights_count(w) > 100);
    nac_weights_destroy(w);
}
