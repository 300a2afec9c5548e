/* Building a listening test (stimuli, configuration, page) and a demo page from reference files. */
#include "listen/listen.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/audio_file.h"
#include "dsp/resample.h"
#include "metrics/metrics.h"
#include "plot/spectrogram.h"

#define MAX_CONDS 32
#define PEAK 0.98f     /* stimuli stay below this after level matching */
#define FADE_S 0.01    /* fade in and out so that loops and starts do not click */
#define MIN_SECONDS 0.5

/* ---------------------------------------------------------------- small helpers */

static void say(const nac_listen_make_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const nac_listen_make_opts *o, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    if (!o->progress)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    o->progress(o->ctx, buf);
}

static int make_dir(const char *path, nac_error *err)
{
    struct stat sb;
    if (mkdir(path, 0755) == 0)
        return NAC_OK;
    if (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return NAC_OK;
    return nac_error_set(err, NAC_ERR_IO, "%s: cannot create folder: %s", path, strerror(errno));
}

int nac_listen_write_file(const char *dir, const char *name, const void *data, size_t size, nac_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return nac_error_set(err, NAC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || w != size)
        return nac_error_set(err, NAC_ERR_IO, "%s: write failed", path);
    return NAC_OK;
}

/* A growing text buffer for the generated files. */
typedef struct text {
    char *s;
    size_t n, cap;
    int oom;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = t->cap - t->n;
        va_start(ap, fmt);
        int k = t->oom ? 0 : vsnprintf(t->s ? t->s + t->n : NULL, room, fmt, ap);
        va_end(ap);
        if (t->oom || k < 0)
            return;
        if ((size_t)k < room) {
            t->n += (size_t)k;
            return;
        }
        size_t cap = (t->cap + (size_t)k + 1) * 2;
        char *p = realloc(t->s, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->s = p;
        t->cap = cap;
    }
}

/* s as a JSON string (quotes included). */
static void put_json(text *t, const char *s)
{
    put(t, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(t, "\\%c", c);
        else if (c < 32 || c == '<' || c == '>' || c == '&')
            put(t, "\\u%04x", c); /* also keeps "</script>" out of the page */
        else
            put(t, "%c", c);
    }
    put(t, "\"");
}

static void put_html(text *t, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': put(t, "&lt;"); break;
        case '>': put(t, "&gt;"); break;
        case '&': put(t, "&amp;"); break;
        case '"': put(t, "&quot;"); break;
        case '\'': put(t, "&#39;"); break;
        default: put(t, "%c", *s);
        }
    }
}

/* Item name from a file name: the base name without extension, in [A-Za-z0-9._-]. */
static void item_id(char *dst, size_t cap, const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t k = 0;
    const char *dot = strrchr(b, '.');
    for (const char *p = b; *p && (!dot || p < dot || dot == b) && k + 1 < cap && k < 40; p++) {
        char c = *p;
        dst[k++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                           c == '_' || c == '.'
                       ? c
                       : '_';
    }
    if (k == 0)
        dst[k++] = 'x';
    dst[k] = '\0';
}

/* Makes ids[i] unique by appending _2, _3, ... */
static void unique_ids(char (*ids)[NAC_LISTEN_NAME], int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0, suffix = 2; j < i; j++)
            if (!strcmp(ids[i], ids[j])) {
                char base[NAC_LISTEN_NAME];
                snprintf(base, sizeof base, "%.40s", ids[i]);
                snprintf(ids[i], NAC_LISTEN_NAME, "%.40s_%d", base, suffix++ % 100000);
                j = -1;
            }
}

/* Reads a reference as 16 kHz mono, cut to max_s seconds. */
static int load_ref(float **x, size_t *n, int *cut, const char *path, double max_s, nac_error *err)
{
    nac_audio_info info;
    float *a = NULL;
    size_t na = 0;
    int st = nac_audio_read_all(&a, &na, &info, path, err);
    *x = NULL;
    *n = 0;
    *cut = 0;
    if (st)
        return st;
    if (info.sample_rate != NAC_LISTEN_RATE) {
        float *r = NULL;
        size_t nr = 0;
        st = nac_resample_all(&r, &nr, a, na, info.sample_rate, NAC_LISTEN_RATE, err);
        free(a);
        if (st)
            return st;
        a = r;
        na = nr;
    }
    size_t max = (size_t)(max_s * NAC_LISTEN_RATE);
    if (na > max) {
        na = max;
        *cut = 1;
    }
    if (na < (size_t)(MIN_SECONDS * NAC_LISTEN_RATE)) {
        free(a);
        return nac_error_set(err, NAC_ERR_TRUNCATED, "%s: shorter than %.1f s", path, MIN_SECONDS);
    }
    *x = a;
    *n = na;
    return NAC_OK;
}

static int make_tmp(char *dir, size_t cap, nac_error *err)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, cap, "%s/nac_listen.XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(dir))
        return nac_error_set(err, NAC_ERR_IO, "cannot create a temporary folder in %s: %s",
                             base && base[0] ? base : "/tmp", strerror(errno));
    return NAC_OK;
}

static int check_opts(const nac_listen_make_opts *o, nac_error *err)
{
    if (!o || !o->files || o->n_files < 1 || !o->out_dir || !o->conds || o->n_conds < 1)
        return nac_error_set(err, NAC_ERR_ARG, "listen: no files or no conditions");
    if (o->n_conds + 3 > MAX_CONDS)
        return nac_error_set(err, NAC_ERR_ARG, "listen: at most %d conditions", MAX_CONDS - 3);
    if (o->n_files > 200)
        return nac_error_set(err, NAC_ERR_ARG, "listen: at most 200 items");
    if (o->max_seconds < 0 || o->max_seconds > 600)
        return nac_error_set(err, NAC_ERR_ARG, "listen: item length limit must be in 0..600 s");
    return NAC_OK;
}

/* ---------------------------------------------------------------- the test */

int nac_listen_make(const nac_listen_make_opts *o, nac_error *err)
{
    nac_listen_condition conds[MAX_CONDS];
    float *x[MAX_CONDS] = {0}, *ref = NULL;
    char (*ids)[NAC_LISTEN_NAME] = NULL, (*names)[16] = NULL, tmp[1024] = "", dir[4096];
    text cfg = {0};
    int st, nc;
    nac_rng rng;

    if ((st = check_opts(o, err)))
        return st;
    nc = o->n_conds + 3;
    nac_listen_fixed_conditions(conds);
    memcpy(conds + 3, o->conds, (size_t)o->n_conds * sizeof *conds);
    double max_s = o->max_seconds > 0 ? o->max_seconds : 10;
    ids = calloc((size_t)o->n_files, sizeof *ids);
    names = calloc((size_t)o->n_files * (size_t)(nc + 1), sizeof *names);
    if (!ids || !names) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < o->n_files; i++)
        item_id(ids[i], NAC_LISTEN_NAME, o->files[i]);
    unique_ids(ids, o->n_files);
    nac_rng_seed(&rng, o->seed);
    nac_listen_names(names, o->n_files * (nc + 1), &rng);
    snprintf(dir, sizeof dir, "%s/audio", o->out_dir);
    if ((st = make_dir(o->out_dir, err)) || (st = make_dir(dir, err)) || (st = make_tmp(tmp, sizeof tmp, err)))
        goto done;

    put(&cfg, "/* Generated by nac listen make; read by mushra.js. */\nwindow.NAC_LISTEN = {\n");
    put(&cfg, "  \"version\": 1,\n  \"seed\": %llu,\n  \"conditions\": [", (unsigned long long)o->seed);
    for (int c = 0; c < nc; c++) {
        put(&cfg, c ? ", " : "");
        put_json(&cfg, conds[c].name);
    }
    put(&cfg, "],\n  \"items\": [\n");
    for (int i = 0; i < o->n_files; i++) {
        size_t n = 0;
        int cut, perm[MAX_CONDS];
        double kbps;
        say(o, "item %d/%d: %s", i + 1, o->n_files, o->files[i]);
        if ((st = load_ref(&ref, &n, &cut, o->files[i], max_s, err)))
            goto done;
        if (cut)
            say(o, "note: %s cut to %.1f s", o->files[i], max_s);
        for (int c = 0; c < nc; c++) {
            if (!(x[c] = malloc(n * sizeof *x[c]))) {
                st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
                goto done;
            }
            if ((st = nac_listen_condition_run(x[c], &kbps, &conds[c], ref, n, o->model, tmp, err))) {
                char m[sizeof err->msg];
                snprintf(m, sizeof m, "%s", nac_error_message(err));
                st = nac_error_set(err, st, "%s, %s: %s", o->files[i], conds[c].name, m);
                goto done;
            }
        }
        if ((st = nac_listen_match_levels(x, nc, n, NAC_LISTEN_RATE, PEAK, NULL, err))) {
            char m[sizeof err->msg];
            snprintf(m, sizeof m, "%s", nac_error_message(err));
            st = nac_error_set(err, st, "%s: %s", o->files[i], m);
            goto done;
        }
        char (*nm)[16] = names + (size_t)i * (size_t)(nc + 1);
        char file[64];
        for (int c = 0; c < nc; c++) {
            nac_listen_fade(x[c], n, (size_t)(FADE_S * NAC_LISTEN_RATE));
            snprintf(file, sizeof file, "%s.wav", nm[c]);
            snprintf(dir, sizeof dir, "%s/audio/%s", o->out_dir, file);
            if ((st = nac_audio_write_all(dir, x[c], n, NAC_LISTEN_RATE, err)))
                goto done;
        }
        /* the open reference: the hidden one's samples under a name of its own */
        snprintf(dir, sizeof dir, "%s/audio/%s.wav", o->out_dir, nm[nc]);
        if ((st = nac_audio_write_all(dir, x[0], n, NAC_LISTEN_RATE, err)))
            goto done;
        put(&cfg, "    {\"id\": ");
        put_json(&cfg, ids[i]);
        put(&cfg, ", \"duration\": %.3f, \"reference\": \"audio/%s.wav\",\n     \"stimuli\": [", (double)n / NAC_LISTEN_RATE,
            nm[nc]);
        nac_listen_shuffle(perm, nc, &rng);
        for (int k = 0; k < nc; k++) {
            put(&cfg, "%s{\"file\": \"audio/%s.wav\", \"condition\": ", k ? ",\n                 " : "", nm[perm[k]]);
            put_json(&cfg, conds[perm[k]].name);
            put(&cfg, "}");
        }
        put(&cfg, "]}%s\n", i + 1 < o->n_files ? "," : "");
        for (int c = 0; c < nc; c++) {
            free(x[c]);
            x[c] = NULL;
        }
        free(ref);
        ref = NULL;
    }
    put(&cfg, "  ]\n};\n");
    if (cfg.oom) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t na;
    const nac_listen_asset *a = nac_listen_test_assets(&na);
    for (size_t k = 0; k < na; k++)
        if ((st = nac_listen_write_file(o->out_dir, a[k].name, a[k].data, a[k].size, err)))
            goto done;
    static const char readme[] =
        "A MUSHRA listening test made by `nac listen make`.\n\n"
        "Serve this folder over HTTP and open it in a browser (a page opened as a file cannot load its audio):\n\n"
        "    nac listen serve .            (or: python3 -m http.server)\n\n"
        "Each listener enters a name, rates every item and downloads a CSV at the end. Collect the CSV files and\n"
        "run `nac listen report results/*.csv --out report.png`. items.js names the condition behind each file:\n"
        "do not show it to listeners.\n";
    if ((st = nac_listen_write_file(o->out_dir, "items.js", cfg.s, cfg.n, err)) ||
        (st = nac_listen_write_file(o->out_dir, "README.txt", readme, sizeof readme - 1, err)))
        goto done;
    st = NAC_OK;
done:
    for (int c = 0; c < MAX_CONDS; c++)
        free(x[c]);
    free(ref);
    free(ids);
    free(names);
    free(cfg.s);
    if (tmp[0])
        rmdir(tmp);
    return st;
}

/* ---------------------------------------------------------------- the demo page */

/* File-name form of a condition name: "opus:12" -> "opus-12". */
static void slug(char *dst, size_t cap, const char *name)
{
    size_t k = 0;
    for (; *name && k + 1 < cap; name++)
        dst[k++] = *name == ':' ? '-' : *name;
    dst[k] = '\0';
}

static void put_metric(text *t, double v, const char *fmt)
{
    if (isfinite(v)) {
        put(t, "<td>");
        put(t, fmt, v);
        put(t, "</td>");
    } else {
        put(t, "<td>%s</td>", isinf(v) && v > 0 ? "&infin;" : "&ndash;");
    }
}

int nac_listen_demo(const nac_listen_make_opts *o, nac_error *err)
{
    char (*ids)[NAC_LISTEN_NAME] = NULL, tmp[1024] = "", path[4096], file[256], sl[NAC_LISTEN_NAME];
    float *ref = NULL, *y = NULL;
    text h = {0};
    int st;
    if ((st = check_opts(o, err)))
        return st;
    double max_s = o->max_seconds > 0 ? o->max_seconds : 10;
    if (!(ids = calloc((size_t)o->n_files, sizeof *ids)))
        return nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < o->n_files; i++)
        item_id(ids[i], NAC_LISTEN_NAME, o->files[i]);
    unique_ids(ids, o->n_files);
    snprintf(path, sizeof path, "%s/audio", o->out_dir);
    if ((st = make_dir(o->out_dir, err)) || (st = make_dir(path, err)))
        goto done;
    snprintf(path, sizeof path, "%s/img", o->out_dir);
    if ((st = make_dir(path, err)) || (st = make_tmp(tmp, sizeof tmp, err)))
        goto done;

    put(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>nac demo</title>\n<link rel=\"stylesheet\" href=\"demo.css\">\n</head>\n<body>\n<main>\n"
            "<h1>nac: listen and look</h1>\n"
            "<p>Each file as it was and through each codec, with the bitrate measured from the coded size, "
            "objective metrics (<code>nac eval</code>: STOI and ESTOI, higher is better; mel distance, lower "
            "is better; SI-SDR in dB) and spectrograms of the original, the coded version and their "
            "difference (red: the codec added energy, blue: it lost some). Made by <code>nac listen "
            "demo</code>.</p>\n");
    for (int i = 0; i < o->n_files; i++) {
        size_t n = 0;
        int cut;
        nac_plot_opts po;
        say(o, "file %d/%d: %s", i + 1, o->n_files, o->files[i]);
        if ((st = load_ref(&ref, &n, &cut, o->files[i], max_s, err)))
            goto done;
        if (!(y = malloc(n * sizeof *y))) {
            st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
            goto done;
        }
        snprintf(file, sizeof file, "%s_original.wav", ids[i]);
        snprintf(path, sizeof path, "%s/audio/%s", o->out_dir, file);
        if ((st = nac_audio_write_all(path, ref, n, NAC_LISTEN_RATE, err)))
            goto done;
        put(&h, "<section>\n<h2>");
        put_html(&h, ids[i]);
        put(&h, " <small>(%.1f s%s)</small></h2>\n", (double)n / NAC_LISTEN_RATE, cut ? ", cut" : "");
        put(&h, "<div class=\"scroll\"><table>\n<thead><tr><th scope=\"col\">version</th><th scope=\"col\">kbps</th>"
                "<th scope=\"col\">listen</th><th scope=\"col\">STOI</th><th scope=\"col\">ESTOI</th>"
                "<th scope=\"col\">mel dist.</th><th scope=\"col\">SI-SDR</th><th scope=\"col\">picture</th>"
                "</tr></thead>\n<tbody>\n");
        snprintf(file, sizeof file, "%s_original.png", ids[i]);
        snprintf(path, sizeof path, "%s/img/%s", o->out_dir, file);
        nac_plot_opts_init(&po);
        po.title = ids[i];
        if ((st = nac_plot_spectrogram(path, ref, n, NAC_LISTEN_RATE, &po, err)))
            goto done;
        put(&h, "<tr><th scope=\"row\">original</th><td>256 <small>(PCM)</small></td><td><audio controls "
                "preload=\"none\" src=\"audio/");
        put_html(&h, ids[i]);
        put(&h, "_original.wav\"></audio></td><td colspan=\"4\"></td><td><a href=\"img/");
        put_html(&h, file);
        put(&h, "\">spectrogram</a></td></tr>\n");
        for (int c = 0; c < o->n_conds; c++) {
            const nac_listen_condition *cd = &o->conds[c];
            double kbps = 0;
            nac_metrics m;
            nac_metrics_opts mo;
            say(o, "  %s", cd->name);
            if ((st = nac_listen_condition_run(y, &kbps, cd, ref, n, o->model, tmp, err))) {
                char msg[sizeof err->msg];
                snprintf(msg, sizeof msg, "%s", nac_error_message(err));
                st = nac_error_set(err, st, "%s, %s: %s", o->files[i], cd->name, msg);
                goto done;
            }
            slug(sl, sizeof sl, cd->name);
            snprintf(file, sizeof file, "%s_%s.wav", ids[i], sl);
            snprintf(path, sizeof path, "%s/audio/%s", o->out_dir, file);
            if ((st = nac_audio_write_all(path, y, n, NAC_LISTEN_RATE, err)))
                goto done;
            nac_metrics_opts_default(&mo);
            mo.align = 0; /* the condition's output is already aligned */
            int mst = nac_metrics_compute(&m, ref, n, y, n, NAC_LISTEN_RATE, &mo, NULL);
            if (mst)
                m.snr = m.si_sdr = m.stoi = m.estoi = m.mel_distance = NAN;
            put(&h, "<tr><th scope=\"row\">");
            put_html(&h, cd->name);
            put(&h, "</th><td>%.3g", kbps);
            if (cd->kind == NAC_LISTEN_OPUS || cd->kind == NAC_LISTEN_CODEC2)
                put(&h, cd->kind == NAC_LISTEN_OPUS ? " <small>(Ogg file)</small>" : " <small>(file)</small>");
            put(&h, "</td><td><audio controls preload=\"none\" src=\"audio/");
            put_html(&h, file);
            put(&h, "\"></audio></td>");
            put_metric(&h, m.stoi, "%.3f");
            put_metric(&h, m.estoi, "%.3f");
            put_metric(&h, m.mel_distance, "%.3f");
            put_metric(&h, m.si_sdr, "%.1f");
            snprintf(file, sizeof file, "%s_%s.png", ids[i], sl);
            snprintf(path, sizeof path, "%s/img/%s", o->out_dir, file);
            char title[128];
            snprintf(title, sizeof title, "%s: %s", ids[i], cd->name);
            nac_plot_opts_init(&po);
            po.title = title;
            po.ref_label = "original";
            po.deg_label = cd->name;
            if ((st = nac_plot_compare(path, ref, n, y, n, NAC_LISTEN_RATE, &po, err)))
                goto done;
            put(&h, "<td><a href=\"img/");
            put_html(&h, file);
            put(&h, "\">spectrograms</a></td></tr>\n");
        }
        put(&h, "</tbody></table></div>\n<div class=\"figures\">\n");
        for (int c = -1; c < o->n_conds; c++) {
            if (c >= 0)
                slug(sl, sizeof sl, o->conds[c].name);
            snprintf(file, sizeof file, "%s_%s.png", ids[i], c < 0 ? "original" : sl);
            put(&h, "<figure><a href=\"img/");
            put_html(&h, file);
            put(&h, "\"><img loading=\"lazy\" src=\"img/");
            put_html(&h, file);
            put(&h, "\" alt=\"spectrogram of %s, %s\"></a><figcaption>", ids[i], c < 0 ? "original" : o->conds[c].name);
            put_html(&h, c < 0 ? "original" : o->conds[c].name);
            put(&h, "</figcaption></figure>\n");
        }
        put(&h, "</div>\n</section>\n");
        free(ref);
        free(y);
        ref = y = NULL;
    }
    put(&h, "</main>\n</body>\n</html>\n");
    if (h.oom) {
        st = nac_error_set(err, NAC_ERR_NOMEM, "out of memory");
        goto done;
    }
    const nac_listen_asset *css = nac_listen_demo_css();
    if ((st = nac_listen_write_file(o->out_dir, "index.html", h.s, h.n, err)) ||
        (st = nac_listen_write_file(o->out_dir, css->name, css->data, css->size, err)))
        goto done;
    st = NAC_OK;
done:
    free(ids);
    free(ref);
    free(y);
    free(h.s);
    if (tmp[0])
        rmdir(tmp);
    return st;
}
