/* nac train end to end on a tiny model: an interrupted and resumed run ends bit-identical to an
 * uninterrupted one (parameters, AdamW moments and VQ state). */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "format/weights.h"

TEST(train_resume_is_bit_identical)
{
    const char *tmp = nac_test_tmp_dir(), *bin = nac_test_bin();
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s/tiny.cfg", tmp);
    FILE *f = fopen(cfg, "w");
    CHECK(f != NULL);
    fprintf(f, "channels = 16\nhidden = 24\nenc_hi = 1\nenc_lo = 1\ndec_lo = 1\ndec_hi = 1\n"
               "latent_dim = 16\nrvq.stages = 4\nrvq.codebook_size = 16\n");
    fclose(f);
    const char *common = "--batch 2 --seconds 0.4 --save-every 1000 --print-every 1000 --warmup 2 --seed 3";
    CHECK(nac_test_sh("%s train --data %s --out %s/a.nacw --config %s --steps 6 %s 2>/dev/null", bin, nac_test_fixture_dir(),
             tmp, cfg, common) == 0);
    CHECK(nac_test_sh("%s train --data %s --out %s/b.nacw --config %s --steps 3 %s 2>/dev/null", bin, nac_test_fixture_dir(),
             tmp, cfg, common) == 0);
    CHECK(nac_test_sh("%s train --data %s --out %s/b.nacw --steps 6 %s 2>/dev/null", bin, nac_test_fixture_dir(), tmp,
             common) == 0);
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/a.nacw.ckpt", tmp);
    snprintf(pb, sizeof pb, "%s/b.nacw.ckpt", tmp);
    nac_weights *a = NULL, *b = NULL;
    nac_error e;
    CHECKF(nac_weights_load(&a, pa, &e) == NAC_OK, "%s", e.msg);
    CHECKF(nac_weights_load(&b, pb, &e) == NAC_OK, "%s", e.msg);
    CHECK(nac_weights_count(a) == nac_weights_count(b) && nac_weights_count(a) > 10);
    CHECK(!strcmp(nac_weights_config(a, "train.step"), "6") && !strcmp(nac_weights_config(b, "train.step"), "6"));
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
