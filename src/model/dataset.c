/* Training audio in memory and random crops. */
#include "model/dataset.h"

#include <dirent.h>
#include <sys/stat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audio/audio_file.h"
#include "dsp/resample.h"

typedef struct {
    char **paths;
    int n, cap;
} path_list;

static int is_audio(const char *p)
{
    static const char *const ext[] = {".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".au"};
    const char *dot = strrchr(p, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot, ext[i]))
            return 1;
    return 0;
}

static int push_path(path_list *l, const char *path)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        char **p = realloc(l->paths, (size_t)cap * sizeof *p);
        if (!p)
            return NAC_ERR_NOMEM;
        l->paths = p;
        l->cap = cap;
    }
    if (!(l->paths[l->n] = strdup(path)))
        return NAC_ERR_NOMEM;
    l->n++;
    return NAC_OK;
}

/* Collects audio files under dir, depth-first; symbolic links are not followed. */
static int walk(path_list *l, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int st = NAC_OK;
    if (!d)
        return NAC_ERR_IO;
    while (!st && (e = readdir(d))) {
        char path[4096];
        struct stat sb;
        if (e->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path || lstat(path, &sb))
            continue;
        if (S_ISDIR(sb.st_mode) && depth < 32)
            st = walk(l, path, depth + 1);
        else if (S_ISREG(sb.st_mode) && is_audio(path))
            st = push_path(l, path);
    }
    closedir(d);
    return st == NAC_ERR_IO && depth > 0 ? NAC_OK : st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void nac_dataset_free(nac_dataset *ds)
{
    if (!ds)
        return;
    for (int i = 0; i < ds->n_files; i++) {
        free(ds->audio[i]);
        free(ds->path[i]);
    }
    free(ds->audio);
    free(ds->len);
    free(ds->path);
    memset(ds, 0, sizeof *ds);
}

int nac_dataset_load(nac_dataset *ds, const char *dir, int sample_rate, int max_files, nac_dataset_note note,
                     void *ctx, nac_error *err)
{
    path_list list = {0};
    int st = NAC_OK;
    memset(ds, 0, sizeof *ds);
    ds->sample_rate = sample_rate;
    if ((st = walk(&list, dir, 0))) {
        st = st == NAC_ERR_NOMEM ? nac_error_set(err, st, "out of memory")
                                 : nac_error_set(err, st, "%s: cannot open folder", dir);
        goto done;
    }
    qsort(list.paths, (size_t)list.n, sizeof *list.paths, cmp_str);
    int want = max_files > 0 && max_files < list.n ? max_files : list.n;
    ds->audio = calloc((size_t)want + 1, sizeof *ds->audio);
    ds->len = calloc((size_t)want + 1, sizeof *ds->len);
    ds->path = calloc((size_t)want + 1, sizeof *ds->path);
    if (!ds->audio || !ds->len || !ds->path) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < list.n && ds->n_files < want; i++) {
        float *x = NULL, *y = NULL;
        size_t n = 0, m = 0;
        nac_audio_info info;
        nac_error e2;
        if (nac_audio_read_all(&x, &n, &info, list.paths[i], &e2)) {
            ds->skipped++;
            if (note)
                note(ctx, list.paths[i], nac_error_message(&e2));
            continue;
        }
        if (info.sample_rate != sample_rate) {
            if (nac_resample_all(&y, &m, x, n, info.sample_rate, sample_rate, &e2)) {
                free(x);
                ds->skipped++;
                if (note)
                    note(ctx, list.paths[i], nac_error_message(&e2));
                continue;
            }
            free(x);
            x = y;
            n = m;
        }
        ds->audio[ds->n_files] = x;
        ds->len[ds->n_files] = n;
        ds->path[ds->n_files] = list.paths[i];
        list.paths[i] = NULL;
        ds->total += n;
        ds->n_files++;
    }
    if (ds->n_files == 0)
        st = nac_error_set(err, NAC_ERR_EMPTY, "%s: no readable audio files (wav, flac, ogg, ...) found", dir);
done:
    for (int i = 0; i < list.n; i++)
        free(list.paths[i]);
    free(list.paths);
    if (st)
        nac_dataset_free(ds);
    return st;
}

void nac_dataset_batch_rows(float *x, const nac_dataset *ds, nac_rng *rng, int B, int T, float lo_db, float hi_db,
                            int b0, int b1)
{
    for (int b = 0; b < B; b++) {
        /* every row's draws are made (the stream does not depend on which rows are kept) */
        uint64_t pick = nac_rng_below(rng, ds->total); /* file with probability proportional to length */
        int f = 0;
        while (pick >= ds->len[f]) {
            pick -= ds->len[f];
            f++;
        }
        size_t len = ds->len[f];
        size_t off = len > (size_t)T ? nac_rng_below(rng, len - (size_t)T + 1) : 0;
        double target_db = lo_db + (hi_db - lo_db) * nac_rng_uniform(rng);
        if (b < b0 || b >= b1)
            continue;
        float *row = x + (size_t)(b - b0) * (size_t)T;
        size_t n = len - off < (size_t)T ? len - off : (size_t)T;
        memcpy(row, ds->audio[f] + off, n * sizeof *row);
        memset(row + n, 0, ((size_t)T - n) * sizeof *row);
        double e = 0, peak = 0;
        for (int t = 0; t < T; t++) {
            e += (double)row[t] * row[t];
            if (fabs(row[t]) > peak)
                peak = fabs(row[t]);
        }
        double rms = sqrt(e / T);
        if (rms < 1e-5)
            continue;
        double g = pow(10.0, target_db / 20.0) / rms;
        if (g * peak > 0.99)
            g = 0.99 / peak;
        for (int t = 0; t < T; t++)
            row[t] = (float)(row[t] * g);
    }
}

void nac_dataset_batch(float *x, const nac_dataset *ds, nac_rng *rng, int B, int T, float lo_db, float hi_db)
{
    nac_dataset_batch_rows(x, ds, rng, B, T, lo_db, hi_db, 0, B);
}
