/* nac vq: vector-quantisation toolkit on raw float32 feature files (Codec 2 layout: no header,
 * little-endian, rows of K floats). `train` builds a codebook (k-means++ or LBG), `quantize`
 * runs multi-stage VQ with M-best search from stdin to stdout. */
#include "cmd.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "nac/error.h"
#include "nac/vq.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Bytes of memory available now (MemAvailable), or 0 if unknown. */
static size_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %zu kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int set_threads(const char *cmd, const char *arg)
{
    long n;
    if (parse_int(arg, 1, 1024, &n)) {
        fprintf(stderr, "nac vq %s: --threads needs a number from 1 to 1024, not '%s'\n", cmd, arg);
        return -1;
    }
#ifdef _OPENMP
    omp_set_num_threads((int)n);
#endif
    return 0;
}

/* ---- train --------------------------------------------------------------------------- */

static void train_usage(FILE *f)
{
    fprintf(f,
            "usage: nac vq train IN.f32 K M OUT.f32 [--split | --kmeans++] [--iters N] [--residual RES.f32]\n"
            "                    [--init START.f32] [--restarts N] [--candidates L] [--seed S] [--threads N]\n\n"
            "Trains an M-entry codebook of K-dimensional vectors on IN.f32 (raw little-endian float32, rows\n"
            "of K values, no header) and writes it to OUT.f32 in the same layout (M rows of K).\n\n"
            "  --kmeans++        greedy k-means++ seeding, then Lloyd iterations (default)\n"
            "  --restarts N      k-means++ only: N seedings and Lloyd runs, keep the lowest error (default 1)\n"
            "  --candidates L    k-means++ only: D^2-sampled candidates per new entry, the one lowering the\n"
            "                    error most is kept (default 2 + 2 ln M; 1 is classic k-means++)\n"
            "  --split           LBG: start from the mean, split cells until M entries, Lloyd at each size\n"
            "  --init START.f32  start Lloyd iterations from this codebook (M rows of K)\n"
            "  --iters N         Lloyd iterations (per codebook size with --split; default 20)\n"
            "  --residual RES    also write each vector minus its nearest entry (to train a next stage)\n"
            "  --seed S          random seed (default 1)\n"
            "  --threads N       worker threads (results do not depend on it)\n\n"
            "Per iteration it prints, on stderr, the mean squared error per element (dB^2 when the\n"
            "features are in dB) and the number of empty cells (refilled by splitting the most\n"
            "populated cell).\n\n"
            "example:\n"
            "  nac vq train features.f32 20 1024 stage1.f32 --residual res1.f32\n"
            "  nac vq train res1.f32 20 1024 stage2.f32 --split --iters 10\n"
            "  nac vq train latents.f32 10 4096 vq1.f32 --iters 30 --restarts 3\n");
}

static void print_iter(void *ctx, const nac_vq_iter_info *it)
{
    double t0 = *(double *)ctx;
    if (it->iter == 0 && it->restart)
        fprintf(stderr, "  restart %d\n", it->restart + 1);
    fprintf(stderr, "  entries %5d  iter %3d  mse %.6g  empty %d  (%.2f s)\n", it->n_entries, it->iter, it->mse,
            it->n_empty, now() - t0);
}

static int cmd_train(int argc, char **argv)
{
    const char *pos[4];
    int npos = 0;
    const char *res_path = NULL, *init_path = NULL;
    nac_vq_train_opts o;
    nac_vq_train_opts_default(&o);
    int method_set = 0, kpp_opts = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            train_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--split") || !strcmp(a, "--kmeans++")) {
            if (method_set++) {
                fprintf(stderr, "nac vq train: give only one of --split and --kmeans++\n");
                return 2;
            }
            o.init = a[2] == 's' ? NAC_VQ_INIT_SPLIT : NAC_VQ_INIT_KMEANSPP;
        } else if (!strcmp(a, "--iters") || !strcmp(a, "--residual") || !strcmp(a, "--seed") ||
                   !strcmp(a, "--threads") || !strcmp(a, "--init") || !strcmp(a, "--restarts") ||
                   !strcmp(a, "--candidates")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "nac vq train: %s needs a value\n", a);
                return 2;
            }
            const char *val = argv[++i];
            if (!strcmp(a, "--iters")) {
                if (parse_int(val, 0, 1000000, &v)) {
                    fprintf(stderr, "nac vq train: --iters needs a number from 0 to 1000000, not '%s'\n", val);
                    return 2;
                }
                o.iters = (int)v;
            } else if (!strcmp(a, "--seed")) {
                char *end;
                errno = 0;
                unsigned long long s = strtoull(val, &end, 10);
                if (errno || end == val || *end) {
                    fprintf(stderr, "nac vq train: --seed needs a non-negative integer, not '%s'\n", val);
                    return 2;
                }
                o.seed = s;
            } else if (!strcmp(a, "--restarts") || !strcmp(a, "--candidates")) {
                if (parse_int(val, 1, a[2] == 'r' ? 1000 : 64, &v)) {
                    fprintf(stderr, "nac vq train: %s needs a number from 1 to %d, not '%s'\n", a,
                            a[2] == 'r' ? 1000 : 64, val);
                    return 2;
                }
                if (a[2] == 'r')
                    o.restarts = (int)v;
                else
                    o.candidates = (int)v;
                kpp_opts = 1;
            } else if (!strcmp(a, "--threads")) {
                if (set_threads("train", val))
                    return 2;
            } else if (!strcmp(a, "--residual")) {
                res_path = val;
            } else {
                init_path = val;
            }
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "nac vq train: unknown option '%s' (try nac vq train --help)\n", a);
            return 2;
        } else if (npos < 4) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "nac vq train: too many arguments (try nac vq train --help)\n");
            return 2;
        }
    }
    if (npos != 4) {
        train_usage(stderr);
        return 2;
    }
    long K, M;
    if (parse_int(pos[1], 1, 65536, &K)) {
        fprintf(stderr, "nac vq train: K must be a number from 1 to 65536, not '%s'\n", pos[1]);
        return 2;
    }
    if (parse_int(pos[2], 1, 1 << 24, &M)) {
        fprintf(stderr, "nac vq train: M must be a number from 1 to %d, not '%s'\n", 1 << 24, pos[2]);
        return 2;
    }
    if (kpp_opts && (init_path || o.init != NAC_VQ_INIT_KMEANSPP)) {
        fprintf(stderr, "nac vq train: --restarts and --candidates apply to k-means++ seeding only\n");
        return 2;
    }
    if (init_path && method_set) {
        fprintf(stderr, "nac vq train: --init replaces --split/--kmeans++; give one of them\n");
        return 2;
    }
    nac_error err = {0};
    float *x = NULL, *cb = NULL, *start = NULL;
    int32_t *labels = NULL;
    int rc = 1;
    /* the training data, labels and work arrays must fit: refuse files that cannot */
    size_t avail = mem_available(), max_bytes = 0;
    if (avail) {
        double per_byte = 1.0 + 12.0 / (4.0 * K) + (res_path ? 1.0 : 0.0);
        max_bytes = (size_t)(0.9 * (double)avail / per_byte);
    }
    double t0 = now();
    size_t N;
    if (nac_vq_f32_read(&x, &N, pos[0], (int)K, max_bytes, &err))
        goto fail;
    fprintf(stderr, "nac vq train: %zu vectors of K=%ld from %s, M=%ld, %s, %d iterations\n", N, K, pos[0], M,
            init_path ? "given start" : o.init == NAC_VQ_INIT_SPLIT ? "LBG splitting" : "k-means++", o.iters);
    cb = malloc((size_t)M * K * sizeof(float));
    labels = malloc(N * sizeof *labels);
    if (!cb || !labels) {
        nac_error_set(&err, NAC_ERR_NOMEM, "out of memory for %ld x %ld codebook and %zu labels", M, K, N);
        goto fail;
    }
    if (init_path) {
        size_t Mi;
        if (nac_vq_f32_read(&start, &Mi, init_path, (int)K, 0, &err))
            goto fail;
        if (Mi != (size_t)M) {
            nac_error_set(&err, NAC_ERR_FORMAT, "%s has %zu rows of K=%ld, expected M=%ld", init_path, Mi, K, M);
            goto fail;
        }
        memcpy(cb, start, (size_t)M * K * sizeof(float));
        o.init = NAC_VQ_INIT_GIVEN;
    }
    double t1 = now();
    o.progress = print_iter;
    o.ctx = &t1;
    double mse;
    if (nac_vq_train(cb, &mse, labels, x, N, (int)K, (int)M, &o, &err))
        goto fail;
    double t2 = now();
    fprintf(stderr, "final mse %.6g  (training %.2f s, total %.2f s)\n", mse, t2 - t1, t2 - t0);
    if (nac_vq_f32_write(pos[3], cb, (size_t)M, (int)K, &err))
        goto fail;
    if (res_path) {
        for (size_t i = 0; i < N; i++) {
            const float *c = cb + (size_t)labels[i] * K;
            for (long d = 0; d < K; d++)
                x[i * K + d] -= c[d];
        }
        if (nac_vq_f32_write(res_path, x, N, (int)K, &err))
            goto fail;
    }
    rc = 0;
fail:
    if (rc)
        fprintf(stderr, "nac vq train: %s\n", nac_error_message(&err));
    free(x);
    free(cb);
    free(start);
    free(labels);
    return rc;
}

/* ---- quantize ------------------------------------------------------------------------ */

static void quantize_usage(FILE *f)
{
    fprintf(f,
            "usage: nac vq quantize -k K -q CB1.f32[,CB2.f32,...] [--mbest M] [--indices IDX] [--threads N]\n"
            "                       < IN.f32 > OUT.f32\n\n"
            "Multi-stage VQ: reads rows of K float32 from stdin, quantises each with the stage codebooks\n"
            "in turn (each stage codes the residual of the ones before), keeping the M best partial paths\n"
            "between stages (M-best search; --mbest 1 is greedy, default 5), and writes the quantised rows\n"
            "to stdout. Prints on stderr the mean squared error per element left after each stage.\n\n"
            "  --indices IDX   also write the chosen entries, one little-endian int32 per stage per row\n\n"
            "example:\n"
            "  nac vq quantize -k 20 -q stage1.f32,stage2.f32 --mbest 5 < features.f32 > quantised.f32\n");
}

static int cmd_quantize(int argc, char **argv)
{
    long K = 0, mbest = 5;
    const char *cb_list = NULL, *idx_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            quantize_usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "nac vq quantize: %s: unknown option or missing value (try --help)\n", a);
            return 2;
        }
        const char *val = argv[++i];
        if (!strcmp(a, "-k")) {
            if (parse_int(val, 1, 65536, &K)) {
                fprintf(stderr, "nac vq quantize: -k needs a number from 1 to 65536, not '%s'\n", val);
                return 2;
            }
        } else if (!strcmp(a, "-q")) {
            cb_list = val;
        } else if (!strcmp(a, "--mbest")) {
            if (parse_int(val, 1, NAC_MSVQ_MAX_MBEST, &mbest)) {
                fprintf(stderr, "nac vq quantize: --mbest needs a number from 1 to %d, not '%s'\n",
                        NAC_MSVQ_MAX_MBEST, val);
                return 2;
            }
        } else if (!strcmp(a, "--indices")) {
            idx_path = val;
        } else if (!strcmp(a, "--threads")) {
            if (set_threads("quantize", val))
                return 2;
        } else {
            fprintf(stderr, "nac vq quantize: unknown option '%s' (try --help)\n", a);
            return 2;
        }
    }
    if (!K || !cb_list) {
        quantize_usage(stderr);
        return 2;
    }
    nac_error err = {0};
    int rc = 1, S = 0;
    float *cbs[NAC_MSVQ_MAX_STAGES] = {0};
    int Ms[NAC_MSVQ_MAX_STAGES];
    nac_msvq *q = NULL;
    float *x = NULL, *out = NULL;
    int32_t *idx = NULL;
    uint8_t *ibuf = NULL;
    FILE *fi = NULL;
    char *list = strdup(cb_list);
    if (!list) {
        nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (S == NAC_MSVQ_MAX_STAGES) {
            nac_error_set(&err, NAC_ERR_ARG, "more than %d stages", NAC_MSVQ_MAX_STAGES);
            goto fail;
        }
        size_t M;
        if (nac_vq_f32_read(&cbs[S], &M, p, (int)K, 0, &err))
            goto fail;
        if (M > (1u << 24)) {
            nac_error_set(&err, NAC_ERR_ARG, "%s: %zu entries is too many", p, M);
            goto fail;
        }
        Ms[S++] = (int)M;
    }
    if (!S) {
        nac_error_set(&err, NAC_ERR_ARG, "-q names no codebook");
        goto fail;
    }
    if (!(q = nac_msvq_create((const float *const *)cbs, Ms, S, (int)K, &err)))
        goto fail;
    if (idx_path && !(fi = fopen(idx_path, "wb"))) {
        nac_error_set(&err, NAC_ERR_IO, "cannot create %s: %s", idx_path, strerror(errno));
        goto fail;
    }
    enum { CHUNK = 32768 };
    x = malloc((size_t)CHUNK * K * sizeof(float));
    out = malloc((size_t)CHUNK * K * sizeof(float));
    idx = malloc((size_t)CHUNK * S * sizeof *idx);
    ibuf = malloc((size_t)CHUNK * S * 4);
    if (!x || !out || !idx || !ibuf) {
        nac_error_set(&err, NAC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    double se[NAC_MSVQ_MAX_STAGES] = {0}, in_se = 0, t0 = now();
    size_t total = 0;
    for (;;) {
        size_t n;
        if (nac_vq_f32_read_rows(x, &n, stdin, (int)K, CHUNK, total, "stdin", &err))
            goto fail;
        if (!n)
            break;
        for (size_t i = 0; i < n * K; i++)
            in_se += (double)x[i] * x[i];
        if (nac_msvq_quantize(out, idx, se, x, q, n, (int)mbest, &err))
            goto fail;
        if (nac_vq_f32_write_rows(stdout, out, n, (int)K, "stdout", &err))
            goto fail;
        if (fi) {
            for (size_t i = 0; i < n * S; i++)
                for (int b = 0; b < 4; b++)
                    ibuf[4 * i + b] = (uint8_t)((uint32_t)idx[i] >> (8 * b));
            if (fwrite(ibuf, 4, n * S, fi) != n * S) {
                nac_error_set(&err, NAC_ERR_IO, "cannot write %s: %s", idx_path, strerror(errno));
                goto fail;
            }
        }
        total += n;
    }
    if (fflush(stdout)) {
        nac_error_set(&err, NAC_ERR_IO, "cannot write stdout: %s", strerror(errno));
        goto fail;
    }
    if (!total) {
        nac_error_set(&err, NAC_ERR_EMPTY, "stdin is empty: no vectors to quantise");
        goto fail;
    }
    double ne = (double)total * K;
    fprintf(stderr, "nac vq quantize: %zu vectors, K=%ld, %d stages, M-best %ld, %.2f s\n", total, K, S, mbest,
            now() - t0);
    fprintf(stderr, "  input    mse %.6g\n", in_se / ne);
    for (int s = 0; s < S; s++)
        fprintf(stderr, "  stage %-2d mse %.6g  (%d entries)\n", s + 1, se[s] / ne, Ms[s]);
    rc = 0;
fail:
    if (rc)
        fprintf(stderr, "nac vq quantize: %s\n", nac_error_message(&err));
    if (fi && fclose(fi) && !rc) {
        fprintf(stderr, "nac vq quantize: cannot write %s\n", idx_path);
        rc = 1;
    }
    for (int s = 0; s < S; s++)
        free(cbs[s]);
    nac_msvq_destroy(q);
    free(x);
    free(out);
    free(idx);
    free(ibuf);
    free(list);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f, "usage: nac vq <train|quantize> ...   (nac vq <subcommand> --help for details)\n\n"
               "  train     train a codebook (k-means++ or LBG) on a raw float32 feature file\n"
               "  quantize  multi-stage VQ with M-best search, stdin to stdout\n\n"
               "Files are raw little-endian float32, rows of K values, no header (as Codec 2).\n\n"
               "example:\n"
               "  nac vq train features.f32 20 512 cb1.f32 --residual res1.f32\n"
               "  nac vq train res1.f32 20 512 cb2.f32\n"
               "  nac vq quantize -k 20 -q cb1.f32,cb2.f32 --mbest 5 < features.f32 > q.f32\n");
}

int nac_cmd_vq(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "train"))
        return cmd_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "quantize"))
        return cmd_quantize(argc - 1, argv + 1);
    fprintf(stderr, "nac vq: unknown subcommand '%s' (try nac vq --help)\n", argv[1]);
    return 2;
}
