/* Tests of src/enhance: gradient checks of the spectral loss and of the whole network (tiny
 * config, with the bandwidth-extension excitation), streaming equal to the batch forward and
 * independent of the chunking (1, 37, 320 samples), continuity at frame boundaries, save/load,
 * bad input, and the built-in models against their degraded input on the committed clip. */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "audio/audio_file.h"
#include "core/rng.h"
#include "degrade/degrade.h"
#include "dsp/resample.h"
#include "enhance/enhance_net.h"
#include "format/weights.h"
#include "metrics/metrics.h"
#include "nac/enhance.h"

/* Margins of the built-in models on the committed clip (measured values in models/enhance.md). */
#define DENOISE_MIN_GAIN_DB 4.0
#define DEQUANT_MIN_GAIN_DB 0.6
#define BWE_MIN_LSD_GAIN_DB 8.0

static void tiny_config(nac_enh_config *c, int task)
{
    nac_enh_config_default(c, task);
    c->n_fft = 32;
    c->hop = 16;
    c->channels = 6;
    c->hidden = 8;
    c->blocks = 2;
    c->kernel = 3;
    c->in_kernel = 2;
    if (task == NAC_ENHANCE_BWE) {
        c->excite_lo = 4;
        c->excite_hi = 10;
    }
}

TEST(enhance_spec_loss_gradcheck)
{
    nac_rng r;
    nac_rng_seed(&r, 3);
    enum { N = 23 };
    float yr[N], yi[N], sr[N], si[N], dr[N], di[N], tr[N], ti[N];
    for (int i = 0; i < N; i++) {
        yr[i] = (float)nac_rng_normal(&r);
        yi[i] = (float)nac_rng_normal(&r);
        sr[i] = (float)nac_rng_normal(&r);
        si[i] = (float)nac_rng_normal(&r);
    }
    nac_enh_spec_loss(dr, di, yr, yi, sr, si, N, 0.7f);
    double worst = 0;
    for (int i = 0; i < N; i++)
        for (int part = 0; part < 2; part++) {
            float *v = part ? yi : yr, keep = v[i], h = 1e-3f;
            v[i] = keep + h;
            double lp = nac_enh_spec_loss(tr, ti, yr, yi, sr, si, N, 0.7f);
            v[i] = keep - h;
            double lm = nac_enh_spec_loss(tr, ti, yr, yi, sr, si, N, 0.7f);
            v[i] = keep;
            double num = (lp - lm) / (2.0 * h), an = part ? di[i] : dr[i];
            double e = fabs(an - num) / (1e-4 + 1e-2 * fmax(fabs(an), fabs(num)));
            worst = e > worst ? e : worst;
        }
    CHECKF(worst <= 1, "spectral loss gradient off by %.2f tolerances", worst);
}

static void net_gradcheck(nac_test *t_, int task, int snr_log)
{
    nac_enh_config c;
    tiny_config(&c, task);
    nac_enh_net *n = NULL;
    nac_enh_train *w = NULL;
    nac_error err;
    CHECK(nac_enh_net_create(&n, &c, 0, &err) == NAC_OK);
    nac_enh_net_init(n, 5);
    nac_rng r;
    nac_rng_seed(&r, 9);
    for (size_t i = 0; i < n->p.total; i++) /* move away from the identity start so every path matters */
        n->p.data[i] += (float)(0.2 * nac_rng_normal(&r));
    enum { B = 2, T = 96 };
    float x[B * T], s[B * T];
    for (int i = 0; i < B * T; i++) {
        s[i] = (float)(0.5 * nac_rng_normal(&r));
        x[i] = s[i] + (float)(0.3 * nac_rng_normal(&r));
    }
    CHECK(nac_enh_train_create(&w, n, B, T, &err) == NAC_OK);
    nn_params_zero_grad(&n->p);
    nac_enh_train_forward(w, x, NULL);
    nac_enh_train_backward(w, s, 0.5f, 0.7f, snr_log);
    float *an = malloc(n->p.total * sizeof *an);
    memcpy(an, n->p.grad, n->p.total * sizeof *an);
    /* a backward twice doubles the gradients */
    nac_enh_train_forward(w, x, NULL);
    nac_enh_train_backward(w, s, 0.5f, 0.7f, snr_log);
    double worst2 = 0;
    for (size_t i = 0; i < n->p.total; i++)
        worst2 = fmax(worst2, fabs(n->p.grad[i] - 2 * an[i]) / (1e-6 + 1e-4 * fabs(an[i])));
    double worst = 0;
    const char *where = "";
    for (int k = 0; k < n->p.n; k++) {
        const nn_tensor *tt = &n->p.t[k];
        for (int j = 0; j < 6; j++) {
            size_t i = tt->offset + (size_t)nac_rng_below(&r, tt->numel);
            float keep = n->p.data[i], h = 1e-2f;
            n->p.data[i] = keep + h;
            nac_enh_train_forward(w, x, NULL);
            nn_params_zero_grad(&n->p);
            double lp = nac_enh_train_backward(w, s, 0.5f, 0.7f, snr_log);
            n->p.data[i] = keep - h;
            nac_enh_train_forward(w, x, NULL);
            double lm = nac_enh_train_backward(w, s, 0.5f, 0.7f, snr_log);
            n->p.data[i] = keep;
            double num = (lp - lm) / (2.0 * h);
            double e = fabs(an[i] - num) / (2e-4 + 3e-2 * fmax(fabs(an[i]), fabs(num)));
            if (e > worst) {
                worst = e;
                where = tt->name;
            }
        }
    }
    free(an);
    nac_enh_train_destroy(w);
    nac_enh_net_destroy(n);
    CHECKF(worst2 <= 1, "a second backward does not double the gradients (%.2f)", worst2);
    CHECKF(worst <= 1, "network gradient off by %.2f tolerances in %s", worst, where);
}

TEST(enhance_net_gradcheck_mask) { net_gradcheck(t_, NAC_ENHANCE_DENOISE, 0); }
TEST(enhance_net_gradcheck_log_snr) { net_gradcheck(t_, NAC_ENHANCE_DEQUANTIZE, 1); }
TEST(enhance_net_gradcheck_excitation) { net_gradcheck(t_, NAC_ENHANCE_BWE, 0); }

/* A tiny model of task (random weights away from the identity) saved to a file and loaded. */
static nac_enhance_model *tiny_model(nac_enh_net **net_out, int task, int full_size)
{
    nac_enh_config c;
    if (full_size)
        nac_enh_config_default(&c, task);
    else
        tiny_config(&c, task);
    nac_enh_net *n = NULL;
    nac_enhance_model *m = NULL;
    if (nac_enh_net_create(&n, &c, 0, NULL))
        return NULL;
    nac_enh_net_init(n, 21);
    nac_rng r;
    nac_rng_seed(&r, 22);
    for (size_t i = 0; i < n->p.total; i++)
        n->p.data[i] += (float)(0.05 * nac_rng_normal(&r));
    char path[512];
    snprintf(path, sizeof path, "%s/enh_tiny_%d_%d.nacw", nac_test_tmp_dir(), task, full_size);
    if (nac_enh_net_save(n, path, 0, NAC_DTYPE_F32, NULL, NULL) || nac_enhance_model_load(&m, path, NULL))
        m = NULL;
    if (net_out)
        *net_out = n;
    else
        nac_enh_net_destroy(n);
    return m;
}

TEST(enhance_stream_equals_batch)
{
    for (int task = 0; task < 3; task++) {
        nac_enh_net *n = NULL;
        nac_enhance_model *m = tiny_model(&n, task, 1);
        CHECK(m && n);
        enum { T = 160 * 90 };
        static float x[T], y[T], ys[T];
        nac_rng r;
        nac_rng_seed(&r, 30);
        for (int i = 0; i < T; i++)
            x[i] = (float)(0.3 * sin(0.02 * i + 1e-5 * i * i) + 0.05 * nac_rng_normal(&r));
        nac_enh_train *w = NULL;
        CHECK(nac_enh_train_create(&w, n, 1, T, NULL) == NAC_OK);
        nac_enh_train_forward(w, x, y);
        CHECK(nac_enhance_buffer(m, ys, x, T, NULL) == NAC_OK);
        double worst = 0;
        for (int i = 160; i < T; i++)
            worst = fmax(worst, fabs(ys[i - 160] - y[i]));
        nac_enh_train_destroy(w);
        nac_enh_net_destroy(n);
        nac_enhance_model_destroy(m);
        CHECKF(worst <= 1e-6, "task %d: streaming differs from the batch forward by %g", task, worst);
    }
}

/* Pushes x through a fresh enhancer in chunks of `chunk` samples (0: one pass), then flushes. */
static size_t run_chunks(const nac_enhance_model *m, float *y, size_t cap, const float *x, size_t n, size_t chunk)
{
    nac_enhancer *e = NULL;
    if (nac_enhancer_create(&e, m, NULL))
        return 0;
    size_t w = 0, got;
    for (size_t i = 0; i < n;) {
        size_t k = chunk && chunk < n - i ? chunk : n - i;
        if (nac_enhancer_push(e, y + w, cap - w, &got, x + i, k, NULL)) {
            nac_enhancer_destroy(e);
            return 0;
        }
        w += got;
        i += k;
    }
    if (nac_enhancer_flush(e, y + w, cap - w, &got, NULL) == NAC_OK)
        w += got;
    nac_enhancer_destroy(e);
    return w;
}

static float *read_clip(size_t *n)
{
    char p[512];
    float *x = NULL;
    snprintf(p, sizeof p, "%s/speech_thorsten_de.flac", nac_test_fixture_dir());
    if (nac_audio_read_all(&x, n, NULL, p, NULL))
        return NULL;
    return x;
}

TEST(enhance_chunking_bit_identical)
{
    size_t n = 0;
    float *x = read_clip(&n);
    CHECK(x && n > 16000);
    n = 16000 + 77; /* 1 s: the built-in models, each chunking (one thread: streaming is single-threaded work) */
#ifdef _OPENMP
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    for (int task = 0; task < 3; task++) {
        nac_enhance_model *m = NULL;
        CHECK(nac_enhance_model_load_builtin(&m, (nac_enhance_task)task, NULL) == NAC_OK);
        size_t cap = n + 1000;
        float *ref = malloc(cap * sizeof *ref), *y = malloc(cap * sizeof *y);
        size_t nr = run_chunks(m, ref, cap, x, n, 0);
        CHECK(nr >= n + 160 && nr % 160 == 0);
        static const size_t chunks[] = {1, 37, 320};
        for (int c = 0; c < 3; c++) {
            memset(y, 0, cap * sizeof *y);
            size_t ny = run_chunks(m, y, cap, x, n, chunks[c]);
            CHECKF(ny == nr && !memcmp(y, ref, nr * sizeof *y), "task %d, chunks of %zu: output differs", task,
                   chunks[c]);
        }
        free(ref);
        free(y);
        nac_enhance_model_destroy(m);
    }
    free(x);
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
}

/* Discontinuity score of y at each of the hop phases: the mean over frames of |second difference|
 * at the phase (two samples, where a step shows) over its mean in the 18 samples around; returns
 * the largest phase's score over the median phase's. A step at frame boundaries stands out. */
static double boundary_ratio(const float *y, size_t n, int hop)
{
    double score[512], sorted[512];
    for (int p = 0; p < hop; p++) {
        double acc = 0;
        int cnt = 0;
        for (size_t b = (size_t)hop + (size_t)p; b + 12 < n; b += (size_t)hop) {
            double at = 0, around = 0;
            for (size_t i = b - 8; i < b + 10; i++) {
                double d = fabs((double)y[i] - 2.0 * y[i - 1] + y[i - 2]);
                if (i == b || i == b + 1)
                    at += d / 2;
                else
                    around += d / 16;
            }
            acc += at / (around + 1e-9);
            cnt++;
        }
        score[p] = sorted[p] = cnt ? acc / cnt : 0;
    }
    double mx = 0;
    for (int p = 0; p < hop; p++)
        mx = fmax(mx, score[p]);
    for (int i = 1; i < hop; i++) /* insertion sort for the median */
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    return mx / (sorted[hop / 2] + 1e-30);
}

TEST(enhance_no_discontinuity_at_frame_boundaries)
{
    enum { N = 16000 * 4 };
    static float sweep[N], y[N];
    for (int i = 0; i < N; i++) { /* 100 Hz -> 6 kHz sweep */
        double t = i / 16000.0;
        sweep[i] = (float)(0.3 * sin(2 * M_PI * (100 * t + 0.5 * (5900.0 / 4) * t * t)));
    }
    size_t n = 0;
    float *speech = read_clip(&n);
    CHECK(speech);
    float *ys = malloc(n * sizeof *ys);
    for (int task = 0; task < 3; task++) {
        nac_enhance_model *m = NULL;
        CHECK(nac_enhance_model_load_builtin(&m, (nac_enhance_task)task, NULL) == NAC_OK);
        CHECK(nac_enhance_buffer(m, y, sweep, N, NULL) == NAC_OK);
        double r1 = boundary_ratio(y, N, 160);
        CHECK(nac_enhance_buffer(m, ys, speech, n, NULL) == NAC_OK);
        double r2 = boundary_ratio(ys, n, 160);
        nac_enhance_model_destroy(m);
        CHECKF(r1 < 1.3 && r2 < 1.3, "task %d: a frame phase stands out (sweep %.2f, speech %.2f times the median)",
               task, r1, r2);
    }
    /* the measure can fail: a step of 1% of full scale at each boundary stands out */
    for (int i = 0; i < N; i++)
        y[i] = sweep[i] + (i / 160 % 2 ? 0.01f : 0.0f);
    CHECKF(boundary_ratio(y, N, 160) > 1.3, "injected steps not detected (%.2f)", boundary_ratio(y, N, 160));
    free(speech);
    free(ys);
}

TEST(enhance_save_load_roundtrip)
{
    nac_enh_net *n = NULL, *n2 = NULL;
    nac_enhance_model *m = tiny_model(&n, NAC_ENHANCE_BWE, 0);
    CHECK(m && n);
    char path[512];
    snprintf(path, sizeof path, "%s/enh_rt.nacw", nac_test_tmp_dir());
    CHECK(nac_enh_net_save(n, path, 1, NAC_DTYPE_F32, NULL, NULL) == NAC_OK);
    nac_weights *w = NULL;
    CHECK(nac_weights_load(&w, path, NULL) == NAC_OK);
    CHECK(nac_enh_net_from_weights(&n2, w, 1, NULL) == NAC_OK);
    CHECK(n2->p.total == n->p.total && n2->p.n == n->p.n);
    for (int k = 0; k < n->p.n; k++) /* every tensor bit for bit (the arena's alignment padding is not saved) */
        CHECK(!memcmp(n2->p.data + n->p.t[k].offset, n->p.data + n->p.t[k].offset, n->p.t[k].numel * sizeof(float)));
    CHECK(n2->cfg.excite_hi == n->cfg.excite_hi && n2->cfg.task == NAC_ENHANCE_BWE);
    nac_weights_destroy(w);
    nac_enh_net_destroy(n2);
    nac_enh_net_destroy(n);
    nac_enhance_model_destroy(m);
}

TEST(enhance_bad_input)
{
    nac_enhance_model *m = NULL;
    nac_error e = {0};
    CHECK(nac_enhance_model_load_builtin(&m, NAC_ENHANCE_DENOISE, &e) == NAC_OK);
    CHECK(nac_enhance_model_check_task(m, NAC_ENHANCE_BWE, &e) == NAC_ERR_MODEL && strstr(e.msg, "denoise"));
    float x[400] = {0}, y[800];
    size_t got = 99;
    CHECK(nac_enhance_buffer(m, y, x, 0, &e) == NAC_ERR_EMPTY);
    nac_enhancer *h = NULL;
    CHECK(nac_enhancer_create(&h, m, &e) == NAC_OK);
    x[17] = NAN;
    CHECK(nac_enhancer_push(h, y, 800, &got, x, 400, &e) == NAC_ERR_NUMERIC && got == 0);
    x[17] = 0;
    CHECK(nac_enhancer_push(h, y, 100, &got, x, 400, &e) == NAC_ERR_ARG);
    CHECK(nac_enhancer_push(h, y, 800, &got, x, 400, &e) == NAC_OK && got == 320);
    nac_enhancer_destroy(h);
    nac_enhancer_destroy(NULL);
    nac_enhance_model_destroy(m);
    nac_enhance_model_destroy(NULL);
    /* a codec model is not an enhancement model; truncated and corrupted files fail cleanly */
    char path[512];
    snprintf(path, sizeof path, "%s/../../models/default.nacw", nac_test_fixture_dir());
    CHECK(nac_enhance_model_load(&m, path, &e) == NAC_ERR_MODEL && strstr(e.msg, "codec"));
    nac_enhance_model *t = tiny_model(NULL, NAC_ENHANCE_DENOISE, 0);
    CHECK(t);
    nac_enhance_model_destroy(t);
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/enh_tiny_0_0.nacw", nac_test_tmp_dir());
    snprintf(dst, sizeof dst, "%s/enh_bad.nacw", nac_test_tmp_dir());
    CHECK(nac_test_sh("head -c 1000 %s > %s", src, dst) == 0);
    CHECK(nac_enhance_model_load(&m, dst, &e) < 0 && m == NULL);
    CHECK(nac_test_sh("cp %s %s && printf 'XXXX' | dd of=%s bs=1 seek=3000 conv=notrunc 2>/dev/null", src, dst, dst) == 0);
    CHECK(nac_enhance_model_load(&m, dst, &e) == NAC_ERR_CORRUPT && m == NULL);
    CHECK(nac_test_sh("cp %s %s && printf 'Q' | dd of=%s bs=1 seek=0 conv=notrunc 2>/dev/null", src, dst, dst) == 0);
    CHECK(nac_enhance_model_load(&m, dst, &e) < 0 && m == NULL);
}

TEST(enhance_cli)
{
    const char *bin = nac_test_bin(), *tmp = nac_test_tmp_dir(), *fx = nac_test_fixture_dir();
    CHECK(nac_test_sh("%s degrade %s/speech_thorsten_de.flac %s/enh_nb.wav --rate 8000 2>/dev/null && "
                      "%s enhance %s/enh_nb.wav %s/enh_wb.wav --task bwe -q", bin, fx, tmp, bin, tmp, tmp) == 0);
    float *y = NULL;
    size_t n = 0;
    nac_audio_info info;
    char p[512];
    snprintf(p, sizeof p, "%s/enh_wb.wav", tmp);
    CHECK(nac_audio_read_all(&y, &n, &info, p, NULL) == NAC_OK);
    CHECK(info.sample_rate == 16000 && n > 80000 && n < 84000);
    free(y);
    /* usage errors 2; wrong task for a model, codec model, empty input: 1 */
    CHECK(nac_test_sh("%s enhance %s/enh_nb.wav %s/enh_x.wav 2>/dev/null", bin, tmp, tmp) == 2);
    CHECK(nac_test_sh("%s enhance %s/enh_nb.wav %s/enh_x.wav --task sharpen 2>/dev/null", bin, tmp, tmp) == 2);
    CHECK(nac_test_sh("%s enhance %s/enh_nb.wav %s/enh_x.wav --task bwe --model %s/../../models/default.nacw 2>/dev/null", bin,
                      tmp, tmp, fx) == 1);
    CHECK(nac_test_sh(": > %s/enh_empty.wav; %s enhance %s/enh_empty.wav %s/enh_x.wav --task denoise 2>/dev/null", tmp, bin, tmp,
                      tmp) == 1);
    /* nac info names each kind of model file, and a foreign "NAC?" file by its magic */
    CHECK(nac_test_sh("%s info %s/../../models/enhance_bwe.nacw | grep -q 'enhancement (bwe)' && "
                      "%s info %s/../../models/default.nacw | grep -q ': codec' && "
                      "%s info default | grep -q 'training steps'", bin, fx, bin, fx, bin) == 0);
    CHECK(nac_test_sh("%s info %s/../../models/vbr_default.bin 2>&1 | grep -q \"bad magic 'NACV'\"", bin, fx) == 0);
    /* clean / degraded / restored stacked in one picture */
    CHECK(nac_test_sh("%s plot compare %s/speech_thorsten_de.flac %s/enh_nb.wav %s/enh_wb.wav %s/enh_stack.png && "
                      "test \"$(head -c 4 %s/enh_stack.png | tail -c 3)\" = PNG", bin, fx, tmp, tmp, tmp, tmp) == 0);
    CHECK(nac_test_sh("%s plot compare %s/speech_thorsten_de.flac %s/enh_nb.wav %s/enh_wb.wav %s/enh_x.png %s/enh_y.png 2>/dev/null",
                      bin, fx, tmp, tmp, tmp, tmp) == 2);
}

/* Training 6 steps in one run equals 3 steps, a stop, and 3 more from the checkpoint (parameters
 * and moments bit for bit): the resume is exact. */
TEST(enhance_train_resumes_exactly)
{
    const char *bin = nac_test_bin(), *tmp = nac_test_tmp_dir(), *fx = nac_test_fixture_dir();
    const char *common = "--task denoise --threads 1 --batch 2 --seconds 0.5 --channels 8 --hidden 8 --blocks 1 "
                         "--kernel 3 --save-every 100 --warmup 2";
    CHECK(nac_test_sh("%s train %s --data %s --noise %s --out %s/enh_resume_a.nacw --steps 6 2>/dev/null", bin, common, fx, fx,
                      tmp) == 0);
    CHECK(nac_test_sh("%s train %s --data %s --noise %s --out %s/enh_resume_b.nacw --steps 3 2>/dev/null && "
                      "%s train %s --data %s --noise %s --out %s/enh_resume_b.nacw --steps 6 2>/dev/null",
                      bin, common, fx, fx, tmp, bin, common, fx, fx, tmp) == 0);
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/enh_resume_a.nacw.ckpt", tmp);
    snprintf(pb, sizeof pb, "%s/enh_resume_b.nacw.ckpt", tmp);
    nac_weights *wa = NULL, *wb = NULL;
    CHECK(nac_weights_load(&wa, pa, NULL) == NAC_OK);
    CHECK(nac_weights_load(&wb, pb, NULL) == NAC_OK);
    size_t n = nac_weights_count(wa);
    CHECK(n == nac_weights_count(wb) && n > 10);
    int same = 1;
    for (size_t i = 0; i < n; i++) {
        const nac_tensor_info *a = nac_weights_tensor(wa, i), *b = nac_weights_find(wb, a->name);
        same &= b && a->nbytes == b->nbytes && !memcmp(nac_weights_data(wa, a), nac_weights_data(wb, b), a->nbytes);
    }
    CHECK(!strcmp(nac_weights_config(wa, "train.step"), "6") && !strcmp(nac_weights_config(wb, "train.step"), "6"));
    nac_weights_destroy(wa);
    nac_weights_destroy(wb);
    CHECKF(same, "resumed training differs from an uninterrupted one");
    /* a wrong task for a checkpoint is refused */
    CHECK(nac_test_sh("%s train %s --data %s --out %s/enh_resume_a.nacw --steps 7 --task bwe 2>/dev/null", bin, common, fx,
                      tmp) == 1);
}

/* --init: a new run starts from the built-in model's weights (fine-tuning), keeping its
 * architecture; a model of another task, an architecture option beside it, or a missing file is
 * refused. With a learning rate of 1e-12 the two steps leave the weights where they were. */
TEST(enhance_train_init_from_model)
{
    const char *bin = nac_test_bin(), *tmp = nac_test_tmp_dir(), *fx = nac_test_fixture_dir();
    const char *common = "--task denoise --threads 1 --batch 2 --seconds 0.5 --warmup 1 --lr 1e-12 --min-lr 1e-12 "
                         "--steps 2";
    CHECK(nac_test_sh("%s train %s --data %s --noise %s --out %s/enh_init.nacw --init builtin 2>%s/enh_init.log", bin,
                      common, fx, fx, tmp, tmp) == 0);
    CHECK(nac_test_sh("grep -q 'starting from the weights of the built-in model' %s/enh_init.log", tmp) == 0);
    nac_enhance_model *a = NULL, *b = NULL;
    char p[512];
    snprintf(p, sizeof p, "%s/enh_init.nacw", tmp);
    CHECK(nac_enhance_model_load(&a, p, NULL) == NAC_OK);
    CHECK(nac_enhance_model_load_builtin(&b, NAC_ENHANCE_DENOISE, NULL) == NAC_OK);
    nac_enhance_info ia, ib;
    nac_enhance_model_get_info(a, &ia);
    nac_enhance_model_get_info(b, &ib);
    /* the same network and, to f16 rounding, the same weights: the same output on the clip */
    float *x = NULL, *ya = NULL, *yb = NULL;
    size_t n = 0;
    int same_out = 0;
    if (ia.n_params == ib.n_params && (snprintf(p, sizeof p, "%s/speech_thorsten_de.flac", fx), nac_audio_read_all(&x, &n, NULL, p, NULL)) == NAC_OK) {
        n = n > 16000 ? 16000 : n;
        ya = malloc(n * sizeof *ya), yb = malloc(n * sizeof *yb);
        if (ya && yb && !nac_enhance_buffer(a, ya, x, n, NULL) && !nac_enhance_buffer(b, yb, x, n, NULL)) {
            double d = 0, e = 0;
            for (size_t i = 0; i < n; i++)
                d += (ya[i] - yb[i]) * (ya[i] - yb[i]), e += yb[i] * yb[i];
            same_out = d <= 1e-6 * e;
        }
    }
    free(x), free(ya), free(yb);
    nac_enhance_model_destroy(a);
    nac_enhance_model_destroy(b);
    CHECKF(same_out, "the fine-tuned model left the built-in one (params %zu vs %zu)", ia.n_params, ib.n_params);
    CHECK(nac_test_sh("%s train %s --data %s --noise %s --out %s/enh_init2.nacw --init builtin --channels 8 2>/dev/null",
                      bin, common, fx, fx, tmp) != 0);
    CHECK(nac_test_sh("%s train %s --data %s --noise %s --out %s/enh_init3.nacw --init %s/../../models/enhance_bwe.nacw "
                      "2>%s/enh_init3.log", bin, common, fx, fx, tmp, fx, tmp) == 1);
    CHECK(nac_test_sh("grep -q 'is a bwe model, not denoise' %s/enh_init3.log", tmp) == 0);
    CHECK(nac_test_sh("%s train %s --data %s --noise %s --out %s/enh_init4.nacw --init %s/none.nacw 2>/dev/null", bin,
                      common, fx, fx, tmp, tmp) == 1);
}

/* Each built-in model against its degraded input on the committed clip (5.2 s of speech), by a
 * margin that the untrained (identity) network and a muting one cannot reach. */
TEST(enhance_builtin_beats_degraded)
{
    size_t n = 0;
    float *x = read_clip(&n);
    CHECK(x);
    float *deg = malloc(n * sizeof *deg), *y = malloc(n * sizeof *y), *noise = malloc(n * sizeof *noise);
    nac_rng r;
    nac_rng_seed(&r, 77);
    for (size_t i = 0; i < n; i++)
        noise[i] = (float)nac_rng_normal(&r);
    nac_enhance_model *m = NULL;
    nac_metrics a, b;
    /* denoise: white noise at 5 dB SNR */
    CHECK(nac_degrade_mix(deg, x, noise, n, 5.0, NULL, NULL) == NAC_OK);
    CHECK(nac_enhance_model_load_builtin(&m, NAC_ENHANCE_DENOISE, NULL) == NAC_OK);
    CHECK(nac_enhance_buffer(m, y, deg, n, NULL) == NAC_OK);
    nac_enhance_model_destroy(m);
    nac_metrics_opts o;
    nac_metrics_opts_default(&o);
    o.align = 0;
    CHECK(nac_metrics_compute(&a, x, n, deg, n, 16000, &o, NULL) == NAC_OK);
    CHECK(nac_metrics_compute(&b, x, n, y, n, 16000, &o, NULL) == NAC_OK);
    CHECKF(b.si_sdr > a.si_sdr + DENOISE_MIN_GAIN_DB && b.estoi >= a.estoi,
           "denoise: SI-SDR %.2f -> %.2f dB, ESTOI %.3f -> %.3f", a.si_sdr, b.si_sdr, a.estoi, b.estoi);
    /* dequantize: 8-bit mu-law */
    nac_degrade_mulaw(deg, x, n);
    CHECK(nac_enhance_model_load_builtin(&m, NAC_ENHANCE_DEQUANTIZE, NULL) == NAC_OK);
    CHECK(nac_enhance_buffer(m, y, deg, n, NULL) == NAC_OK);
    nac_enhance_model_destroy(m);
    CHECK(nac_metrics_compute(&a, x, n, deg, n, 16000, &o, NULL) == NAC_OK);
    CHECK(nac_metrics_compute(&b, x, n, y, n, 16000, &o, NULL) == NAC_OK);
    CHECKF(b.snr > a.snr + DEQUANT_MIN_GAIN_DB, "dequantize: SNR %.2f -> %.2f dB", a.snr, b.snr);
    /* bwe: 8 kHz and back (plain resampling) against the model's extension */
    float *nb = NULL, *wb = NULL;
    size_t nn = 0, nw = 0;
    CHECK(nac_degrade_narrowband(&nb, &nn, x, n, 16000, 8000, 0, NULL) == NAC_OK);
    CHECK(nac_resample_all(&wb, &nw, nb, nn, 8000, 16000, NULL) == NAC_OK && nw == n);
    CHECK(nac_enhance_model_load_builtin(&m, NAC_ENHANCE_BWE, NULL) == NAC_OK);
    CHECK(nac_enhance_buffer(m, y, wb, n, NULL) == NAC_OK);
    nac_enhance_model_destroy(m);
    CHECK(nac_metrics_compute(&a, x, n, wb, n, 16000, &o, NULL) == NAC_OK);
    CHECK(nac_metrics_compute(&b, x, n, y, n, 16000, &o, NULL) == NAC_OK);
    CHECKF(b.lsd < a.lsd - BWE_MIN_LSD_GAIN_DB && b.mel_distance < 0.5 * a.mel_distance,
           "bwe: LSD %.2f -> %.2f dB, mel distance %.3f -> %.3f", a.lsd, b.lsd, a.mel_distance, b.mel_distance);
    free(nb);
    free(wb);
    free(x);
    free(deg);
    free(y);
    free(noise);
}
