/* nac listen: MUSHRA listening tests (make, serve, report) and demo pages (demo); the work is in
 * src/listen/, the local HTTP server here. */
#include "cmd.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "nac/error.h"
#include "nac/listen.h"
#include "nac/nac.h"

#define DEFAULT_CONDITIONS "nac:1.5,nac:6,nac:24,opus:6,opus:12,codec2:3200"
#define MAX_CONDITIONS 29

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nac listen make DIR|FILES... --out TEST/ [options]\n"
            "       nac listen serve TEST/ [--port P] [-q]\n"
            "       nac listen report RESULTS.csv... [--out report.png] [options]\n"
            "       nac listen demo DIR|FILES... --out DEMO/ [options]\n"
            "\n"
            "Listening tests after ITU-R BS.1534-3 (MUSHRA), adapted to 16 kHz speech.\n"
            "\n"
            "  make    builds a test in TEST/: per item (one reference file) the hidden reference, a 3.5 kHz\n"
            "          low-pass (low anchor), a 7 kHz low-pass (mid anchor) and each condition, aligned,\n"
            "          cut to the same length, matched to the reference's active-speech level and saved\n"
            "          under names that do not tell the condition; plus the page (index.html, mushra.js,\n"
            "          mushra.css) and its configuration (items.js). Listeners get their own seeded order\n"
            "          of items and versions.\n"
            "  serve   serves a folder at http://127.0.0.1:P/ (this machine only) so a browser can run the\n"
            "          test (opened as a file, the page cannot load its audio). Ctrl-C stops it.\n"
            "  report  reads the listeners' CSV files (listener,item,condition,score), drops listeners\n"
            "          who rate the hidden reference below 90 on more than 15%% of their items\n"
            "          (BS.1534-3 post-screening), prints each condition's mean and 95%% confidence\n"
            "          interval (Student t) and draws them as a PNG chart.\n"
            "  demo    a page in DEMO/ with players for each file as it was and through each condition,\n"
            "          the bitrate measured from the coded size, the metrics of nac eval, and comparison\n"
            "          spectrograms (nac plot compare).\n"
            "\n"
            "DIR is searched recursively for .wav, .flac and .ogg files; any rate, mixed to mono, resampled\n"
            "to 16 kHz.\n"
            "\n"
            "options of make and demo:\n"
            "  --out DIR           output folder (created)\n"
            "  --conditions LIST   codecs under test, comma-separated (default\n"
            "                      \"" DEFAULT_CONDITIONS "\"):\n"
            "                      nac:KBPS (0.5 .. 24, the built-in or --model model), opus:KBPS (opusenc,\n"
            "                      Debian's opus-tools), codec2:MODE (c2enc, Debian's codec2: 3200 2400\n"
            "                      1600 1400 1300 1200 700C 450), lowpass:HZ. With the default list,\n"
            "                      codecs whose tools are not installed are left out with a note.\n"
            "  --items N           use N of the files found, chosen with the seed (default: 8 from\n"
            "                      folders, every file named one by one)\n"
            "  --seed S            seed of the choice of files, the file names and the orders (default 1)\n"
            "  --max-seconds S     cut longer files (default 10)\n"
            "  --model FILE        a model trained with nac train (default: the built-in model)\n"
            "options of serve:\n"
            "  --port P            TCP port on 127.0.0.1 (default 8000; 0: any free port)\n"
            "  -q                  no request log\n"
            "options of report:\n"
            "  --out FILE.png      the chart (default: none)\n"
            "  --reference NAME    the hidden reference's condition name (default reference)\n"
            "  --ref-min S         post-screening threshold (default 90)\n"
            "  --max-fraction F    share of items allowed below it (default 0.15)\n"
            "  --title T           the chart's title\n"
            "\n"
            "examples:\n"
            "  nac listen make ../shared/data/dev --items 3 --out test/\n"
            "  nac listen make a.wav b.flac --conditions nac:3,nac:6,opus:6 --out test/ --seed 7\n"
            "  nac listen serve test/ --port 8000        # then open http://127.0.0.1:8000/\n"
            "  nac listen report results/*.csv --out report.png\n"
            "  nac listen demo ../shared/data/dev --items 4 --out demo/\n");
}

/* ---------------------------------------------------------------- argument helpers */

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

typedef struct file_list {
    char **p;
    int n, cap;
} file_list;

static int list_add(file_list *l, const char *path)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **p = realloc(l->p, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        l->p = p;
        l->cap = cap;
    }
    if (!(l->p[l->n] = strdup(path)))
        return -1;
    l->n++;
    return 0;
}

static void list_free(file_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->p[i]);
    free(l->p);
    l->p = NULL;
    l->n = l->cap = 0;
}

static int is_audio_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && name[0] != '.' && (!strcasecmp(dot, ".wav") || !strcasecmp(dot, ".flac") || !strcasecmp(dot, ".ogg"));
}

/* Adds the audio files under dir (recursively; hidden names skipped). */
static int walk(file_list *l, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) {
        fprintf(stderr, "nac listen: %s: cannot open folder: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d))) {
        char path[PATH_MAX];
        struct stat sb;
        if (e->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path || stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode) && depth < 16) {
            if (walk(l, path, depth + 1) < 0) {
                closedir(d);
                return -1;
            }
        } else if (S_ISREG(sb.st_mode) && is_audio_name(e->d_name) && list_add(l, path) < 0) {
            closedir(d);
            fprintf(stderr, "nac listen: out of memory\n");
            return -1;
        }
    }
    closedir(d);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void say(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "nac listen: %s\n", msg);
}

/* ---------------------------------------------------------------- make and demo */

static int cmd_build(int argc, char **argv, int demo)
{
    const char *cmd = demo ? "demo" : "make";
    const char *out = NULL, *conds_arg = NULL, *model_path = NULL;
    double items = 8, max_s = 10;
    int items_given = 0, any_dir = 0;
    uint64_t seed = 1;
    file_list in = {0}, files = {0};
    nac_listen_condition conds[MAX_CONDITIONS], use[MAX_CONDITIONS];
    int nconds = 0, nuse = 0, rc = 1;
    nac_model *model = NULL;
    nac_error err = {0};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            list_free(&in);
            return 0;
        } else if (!strcmp(a, "--out") || !strcmp(a, "--conditions") || !strcmp(a, "--items") ||
                   !strcmp(a, "--seed") || !strcmp(a, "--max-seconds") || !strcmp(a, "--model")) {
            if (!v) {
                fprintf(stderr, "nac listen %s: %s needs a value (try nac listen --help)\n", cmd, a);
                goto usage_error;
            }
            i++;
            int bad = 0;
            if (!strcmp(a, "--out"))
                out = v;
            else if (!strcmp(a, "--conditions"))
                conds_arg = v;
            else if (!strcmp(a, "--model"))
                model_path = v;
            else if (!strcmp(a, "--items"))
                bad = parse_double(v, 1, 200, &items) || items != floor(items) || !(items_given = 1);
            else if (!strcmp(a, "--seed"))
                bad = parse_u64(v, &seed);
            else
                bad = parse_double(v, 1, 600, &max_s);
            if (bad) {
                fprintf(stderr, "nac listen %s: invalid value '%s' for %s (try nac listen --help)\n", cmd, v, a);
                goto usage_error;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "nac listen %s: unknown option '%s' (try nac listen --help)\n", cmd, a);
            goto usage_error;
        } else if (list_add(&in, a) < 0) {
            fprintf(stderr, "nac listen: out of memory\n");
            goto done;
        }
    }
    if (in.n == 0 || !out) {
        fprintf(stderr, "nac listen %s: expected DIR or FILES and --out %s/ (try nac listen --help)\n", cmd,
                demo ? "DEMO" : "TEST");
        goto usage_error;
    }
    if (nac_listen_conditions_parse(conds, MAX_CONDITIONS, &nconds, conds_arg ? conds_arg : DEFAULT_CONDITIONS,
                                    &err) < 0) {
        fprintf(stderr, "nac listen %s: %s\n", cmd, nac_error_message(&err));
        goto usage_error;
    }
    /* codecs whose tools are missing: left out of the default list, an error when asked for */
    for (int c = 0; c < nconds; c++) {
        const char *tool = nac_listen_condition_tool(&conds[c]);
        if (tool && !nac_listen_tool_available(tool)) {
            const char *pkg = conds[c].kind == NAC_LISTEN_OPUS ? "opus-tools" : "codec2";
            if (conds_arg) {
                fprintf(stderr, "nac listen %s: %s needs %s, which is not installed (apt-get install %s)\n", cmd,
                        conds[c].name, tool, pkg);
                goto done;
            }
            fprintf(stderr, "nac listen %s: note: leaving out %s: %s is not installed (apt-get install %s)\n", cmd,
                    conds[c].name, tool, pkg);
            continue;
        }
        use[nuse++] = conds[c];
    }
    if (nuse == 0) {
        fprintf(stderr, "nac listen %s: no condition left to test\n", cmd);
        goto done;
    }

    for (int i = 0; i < in.n; i++) {
        struct stat sb;
        if (stat(in.p[i], &sb) != 0) {
            fprintf(stderr, "nac listen %s: %s: %s\n", cmd, in.p[i], strerror(errno));
            goto done;
        }
        if (S_ISDIR(sb.st_mode)) {
            any_dir = 1;
            if (walk(&files, in.p[i], 0) < 0)
                goto done;
        } else if (list_add(&files, in.p[i]) < 0) {
            fprintf(stderr, "nac listen: out of memory\n");
            goto done;
        }
    }
    if (files.n == 0) {
        fprintf(stderr, "nac listen %s: no .wav, .flac or .ogg files found\n", cmd);
        goto done;
    }
    qsort(files.p, (size_t)files.n, sizeof *files.p, by_name);
    if (!items_given && !any_dir) { /* files named one by one: all of them */
        if (files.n > 200) {
            fprintf(stderr, "nac listen %s: %d files: at most 200 items (choose with --items)\n", cmd, files.n);
            goto usage_error;
        }
        items = files.n;
    }
    if (files.n > (int)items) {
        fprintf(stderr, "nac listen %s: using %d of the %d files found (chosen with seed %llu; --items to change)\n",
                cmd, (int)items, files.n, (unsigned long long)seed);
        /* a seeded choice, then back in name order */
        int *perm = malloc((size_t)files.n * sizeof *perm);
        char **keep = malloc((size_t)items * sizeof *keep);
        if (!perm || !keep) {
            free(perm);
            free(keep);
            fprintf(stderr, "nac listen: out of memory\n");
            goto done;
        }
        nac_listen_permutation(perm, files.n, seed ^ 0x6c697374656eULL);
        for (int k = 0; k < (int)items; k++) {
            keep[k] = files.p[perm[k]];
            files.p[perm[k]] = NULL;
        }
        for (int k = 0; k < files.n; k++)
            free(files.p[k]);
        free(files.p);
        free(perm);
        files.p = keep;
        files.n = files.cap = (int)items;
        qsort(files.p, (size_t)files.n, sizeof *files.p, by_name);
    }

    int need_model = 0;
    for (int c = 0; c < nuse; c++)
        need_model |= use[c].kind == NAC_LISTEN_NAC;
    if (need_model && (model_path ? nac_model_load(&model, model_path, &err) : nac_model_load_default(&model, &err))) {
        fprintf(stderr, "nac listen %s: %s\n", cmd, nac_error_message(&err));
        goto done;
    }
    fprintf(stderr, "nac listen %s: %d file%s, conditions", cmd, files.n, files.n == 1 ? "" : "s");
    for (int c = 0; c < nuse; c++)
        fprintf(stderr, " %s", use[c].name);
    fprintf(stderr, "%s\n", demo ? "" : " + reference, anchor_3.5k, anchor_7k");

    nac_listen_make_opts o = {0};
    o.files = (const char *const *)files.p;
    o.n_files = files.n;
    o.out_dir = out;
    o.conds = use;
    o.n_conds = nuse;
    o.seed = seed;
    o.max_seconds = max_s;
    o.model = model;
    o.progress = say;
    if ((demo ? nac_listen_demo(&o, &err) : nac_listen_make(&o, &err)) < 0) {
        fprintf(stderr, "nac listen %s: %s\n", cmd, nac_error_message(&err));
        goto done;
    }
    if (demo)
        printf("demo page: %s/index.html (serve it: nac listen serve %s)\n", out, out);
    else
        printf("listening test: %s/ (serve it: nac listen serve %s, then open the address it prints)\n", out, out);
    rc = 0;
    goto done;
usage_error:
    rc = 2;
done:
    nac_model_destroy(model);
    list_free(&in);
    list_free(&files);
    return rc;
}

/* ---------------------------------------------------------------- report */

static int cmd_report(int argc, char **argv)
{
    const char *out = NULL, *ref = "reference", *title = NULL;
    double ref_min = 90, max_fraction = 0.15;
    nac_listen_ratings rs = {0};
    nac_listen_listener *ls = NULL;
    nac_listen_summary *s = NULL;
    size_t nl = 0, ns = 0;
    int nfiles = 0, rc = 1;
    nac_error err = {0};

    for (int pass = 0; pass < 2; pass++)
        for (int i = 1; i < argc; i++) {
            const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
            if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                usage(stdout);
                return 0;
            } else if (!strcmp(a, "--out") || !strcmp(a, "--reference") || !strcmp(a, "--ref-min") ||
                       !strcmp(a, "--max-fraction") || !strcmp(a, "--title")) {
                if (!v) {
                    fprintf(stderr, "nac listen report: %s needs a value\n", a);
                    return 2;
                }
                i++;
                if (pass)
                    continue;
                int bad = 0;
                if (!strcmp(a, "--out"))
                    out = v;
                else if (!strcmp(a, "--reference"))
                    ref = v;
                else if (!strcmp(a, "--title"))
                    title = v;
                else if (!strcmp(a, "--ref-min"))
                    bad = parse_double(v, 0, 100, &ref_min);
                else
                    bad = parse_double(v, 0, 1, &max_fraction);
                if (bad) {
                    fprintf(stderr, "nac listen report: invalid value '%s' for %s\n", v, a);
                    return 2;
                }
            } else if (a[0] == '-' && a[1]) {
                fprintf(stderr, "nac listen report: unknown option '%s' (try nac listen --help)\n", a);
                return 2;
            } else if (pass == 0) {
                nfiles++;
            } else if (nac_listen_ratings_read(&rs, a, &err) < 0) {
                fprintf(stderr, "nac listen report: %s\n", nac_error_message(&err));
                goto done;
            }
        }
    if (nfiles == 0) {
        fprintf(stderr, "nac listen report: expected result CSV files (try nac listen --help)\n");
        return 2;
    }
    if (nac_listen_postscreen(&ls, &nl, &rs, ref, ref_min, max_fraction, &err) < 0) {
        fprintf(stderr, "nac listen report: %s\n", nac_error_message(&err));
        goto done;
    }
    size_t kept = 0, items = 0;
    printf("post-screening (BS.1534-3): drop a listener who rates '%s' below %g on more than %g%% of items\n",
           ref, ref_min, 100 * max_fraction);
    printf("  %-24s %6s %10s  %s\n", "listener", "items", "ref low", "");
    for (size_t k = 0; k < nl; k++) {
        printf("  %-24s %6d %10d  %s\n", ls[k].name, ls[k].items, ls[k].ref_low,
               ls[k].kept ? "kept" : ls[k].items ? "dropped" : "dropped (never rated the reference)");
        kept += ls[k].kept != 0;
        items = (size_t)ls[k].items > items ? (size_t)ls[k].items : items;
    }
    if (nac_listen_summarise(&s, &ns, &rs, ls, nl, &err) < 0) {
        fprintf(stderr, "nac listen report: %s\n", nac_error_message(&err));
        goto done;
    }
    printf("\n%zu of %zu listeners kept\n\n  %-20s %5s %7s %7s  %s\n", kept, nl, "condition", "n", "mean", "sd",
           "95% CI");
    for (size_t c = 0; c < ns; c++) {
        if (isfinite(s[c].ci95))
            printf("  %-20s %5zu %7.1f %7.1f  [%.1f, %.1f]\n", s[c].condition, s[c].n, s[c].mean, s[c].sd,
                   s[c].mean - s[c].ci95, s[c].mean + s[c].ci95);
        else
            printf("  %-20s %5zu %7.1f %7s  (one rating: no interval)\n", s[c].condition, s[c].n, s[c].mean, "-");
    }
    if (out) {
        char t[160];
        if (!title) {
            snprintf(t, sizeof t, "MUSHRA: %zu listener%s, up to %zu items", kept, kept == 1 ? "" : "s", items);
            title = t;
        }
        if (nac_listen_chart(out, s, ns, title, &err) < 0) {
            fprintf(stderr, "nac listen report: %s\n", nac_error_message(&err));
            goto done;
        }
        printf("\nchart: %s\n", out);
    }
    rc = 0;
done:
    nac_listen_ratings_free(&rs);
    free(ls);
    free(s);
    return rc;
}

/* ---------------------------------------------------------------- serve */

typedef struct server {
    char root[PATH_MAX]; /* realpath of the served folder */
    int quiet;
    atomic_int active;
} server;

typedef struct conn {
    server *srv;
    int fd;
} conn;

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static void reply_status(int fd, int code, const char *reason, int head)
{
    char buf[512];
    int body = snprintf(buf, sizeof buf, "%d %s\n", code, reason);
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
                     "Connection: close\r\n%s\r\n",
                     code, reason, body, code == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (send_all(fd, hdr, (size_t)n) == 0 && !head)
        send_all(fd, buf, (size_t)body);
}

/* "bytes=A-B", "bytes=A-", "bytes=-N" against size; 1 with *a..*b set, 0 if absent, -1 if unsatisfiable. */
static int parse_range(const char *req, long long size, long long *a, long long *b)
{
    const char *h = strcasestr(req, "\r\nRange:");
    if (!h)
        return 0;
    h += 8;
    while (*h == ' ')
        h++;
    if (strncmp(h, "bytes=", 6))
        return 0;
    h += 6;
    char *end;
    if (*h == '-') {
        long long k = strtoll(h + 1, &end, 10);
        if (end == h + 1 || k <= 0)
            return -1;
        *a = k >= size ? 0 : size - k;
        *b = size - 1;
    } else {
        *a = strtoll(h, &end, 10);
        if (end == h || *end != '-')
            return 0;
        h = end + 1;
        *b = (*h >= '0' && *h <= '9') ? strtoll(h, &end, 10) : size - 1;
        if (*b >= size)
            *b = size - 1;
    }
    if (*a < 0 || *a > *b || *a >= size)
        return -1;
    return 1;
}

static void serve_one(server *srv, int fd)
{
    char req[8192], rel[1024], path[PATH_MAX + 1100], real[PATH_MAX];
    size_t n = 0;
    int code = 0;
    const char *method = "?";
    char target[2048] = "?";
    while (n + 1 < sizeof req) {
        ssize_t k = recv(fd, req + n, sizeof req - 1 - n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[n] = '\0';
    if (n == 0)
        return;
    char m[16];
    if (sscanf(req, "%15s %2047s", m, target) != 2 || !strstr(req, "\r\n\r\n")) {
        reply_status(fd, code = 400, "Bad Request", 0);
        goto log;
    }
    method = m;
    int head = !strcmp(m, "HEAD");
    if (strcmp(m, "GET") && !head) {
        reply_status(fd, code = 405, "Method Not Allowed", 0);
        goto log;
    }
    if (nac_listen_safe_path(rel, sizeof rel, target) < 0) {
        reply_status(fd, code = 400, "Bad Request", head);
        goto log;
    }
    snprintf(path, sizeof path, "%s/%s", srv->root, rel);
    size_t rl = strlen(srv->root);
    struct stat sb;
    /* symbolic links may not lead out of the served folder */
    if (!realpath(path, real) || strncmp(real, srv->root, rl) || (real[rl] != '/' && real[rl] != '\0')) {
        reply_status(fd, code = 404, "Not Found", head);
        goto log;
    }
    if (stat(real, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        char hdr[2300];
        int k = snprintf(hdr, sizeof hdr, "HTTP/1.1 301 Moved Permanently\r\nLocation: /%s/\r\nContent-Length: 0\r\n"
                                          "Connection: close\r\n\r\n", rel);
        code = 301;
        send_all(fd, hdr, (size_t)k);
        goto log;
    }
    int f = open(real, O_RDONLY | O_CLOEXEC);
    if (f < 0 || fstat(f, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (f >= 0)
            close(f);
        reply_status(fd, code = 404, "Not Found", head);
        goto log;
    }
    long long a = 0, b = (long long)sb.st_size - 1;
    int range = sb.st_size > 0 ? parse_range(req, (long long)sb.st_size, &a, &b) : 0;
    char hdr[1024];
    int k;
    if (range < 0) {
        k = snprintf(hdr, sizeof hdr, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%lld\r\n"
                                      "Content-Length: 0\r\nConnection: close\r\n\r\n", (long long)sb.st_size);
        code = 416;
        send_all(fd, hdr, (size_t)k);
        close(f);
        goto log;
    }
    code = range ? 206 : 200;
    k = snprintf(hdr, sizeof hdr,
                 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %lld\r\nAccept-Ranges: bytes\r\n"
                 "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
                 range ? "206 Partial Content" : "200 OK", nac_listen_mime(rel), b - a + 1);
    if (range)
        k += snprintf(hdr + k, sizeof hdr - (size_t)k, "Content-Range: bytes %lld-%lld/%lld\r\n", a, b,
                      (long long)sb.st_size);
    k += snprintf(hdr + k, sizeof hdr - (size_t)k, "Connection: close\r\n\r\n");
    if (send_all(fd, hdr, (size_t)k) == 0 && !head && sb.st_size > 0 && lseek(f, a, SEEK_SET) == a) {
        char buf[65536];
        long long left = b - a + 1;
        while (left > 0) {
            ssize_t r = read(f, buf, left < (long long)sizeof buf ? (size_t)left : sizeof buf);
            if (r <= 0 || send_all(fd, buf, (size_t)r) < 0)
                break;
            left -= r;
        }
    }
    close(f);
log:
    if (!srv->quiet) {
        for (char *p = target; *p; p++)
            if ((unsigned char)*p < 32 || *p == 127)
                *p = '?';
        fprintf(stderr, "%s %s %d\n", method, target, code);
    }
}

static void *conn_thread(void *arg)
{
    conn *c = arg;
    serve_one(c->srv, c->fd);
    close(c->fd);
    atomic_fetch_sub(&c->srv->active, 1);
    free(c);
    return NULL;
}

static int cmd_serve(int argc, char **argv)
{
    const char *dir = NULL;
    double port = 8000;
    static server srv;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--port")) {
            if (i + 1 >= argc || parse_double(argv[i + 1], 0, 65535, &port) || port != floor(port)) {
                fprintf(stderr, "nac listen serve: --port wants a number in 0..65535\n");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "-q")) {
            srv.quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "nac listen serve: unknown option '%s' (try nac listen --help)\n", a);
            return 2;
        } else if (!dir) {
            dir = a;
        } else {
            fprintf(stderr, "nac listen serve: one folder only ('%s')\n", a);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "nac listen serve: expected the folder to serve (try nac listen --help)\n");
        return 2;
    }
    struct stat sb;
    if (!realpath(dir, srv.root) || stat(srv.root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "nac listen serve: %s is not a folder\n", dir);
        return 1;
    }
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (s < 0) {
        fprintf(stderr, "nac listen serve: socket: %s\n", strerror(errno));
        return 1;
    }
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* this machine only */
    socklen_t alen = sizeof addr;
    if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(s, 64) != 0 ||
        getsockname(s, (struct sockaddr *)&addr, &alen) != 0) {
        fprintf(stderr, "nac listen serve: cannot listen on 127.0.0.1:%d: %s%s\n", (int)port, strerror(errno),
                errno == EADDRINUSE ? " (try another --port, or --port 0)" : "");
        close(s);
        return 1;
    }
    printf("serving %s at http://127.0.0.1:%d/ (Ctrl-C to stop)\n", srv.root, ntohs(addr.sin_port));
    fflush(stdout);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
                if (errno == EMFILE || errno == ENFILE)
                    usleep(100000);
                continue;
            }
            fprintf(stderr, "nac listen serve: accept: %s\n", strerror(errno));
            break;
        }
        /* a client that connects and says nothing (a browser's preconnect) holds only its own thread */
        struct timeval tv = {10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        tv.tv_sec = 30;
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        conn *c = malloc(sizeof *c);
        pthread_t th;
        if (!c || atomic_load(&srv.active) >= 64) {
            free(c);
            close(fd);
            continue;
        }
        c->srv = &srv;
        c->fd = fd;
        atomic_fetch_add(&srv.active, 1);
        if (pthread_create(&th, &at, conn_thread, c) != 0) {
            atomic_fetch_sub(&srv.active, 1);
            close(fd);
            free(c);
        }
    }
    pthread_attr_destroy(&at);
    close(s);
    return 1;
}

/* ---------------------------------------------------------------- dispatch */

int nac_cmd_listen(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *m = argv[1];
    if (!strcmp(m, "-h") || !strcmp(m, "--help") || !strcmp(m, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(m, "make"))
        return cmd_build(argc - 1, argv + 1, 0);
    if (!strcmp(m, "demo"))
        return cmd_build(argc - 1, argv + 1, 1);
    if (!strcmp(m, "report"))
        return cmd_report(argc - 1, argv + 1);
    if (!strcmp(m, "serve"))
        return cmd_serve(argc - 1, argv + 1);
    fprintf(stderr, "nac listen: unknown command '%s': make, serve, report or demo (try nac listen --help)\n", m);
    return 2;
}
