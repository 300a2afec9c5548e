/* Tests of src/listen: the ratings CSV reader (also cut short and damaged), post-screening,
 * Student t and confidence intervals, active-speech levels and their matching, the anchors'
 * low-pass, seeded shuffles and names, condition lists, safe server paths; and the CLI end to
 * end (make, report, serve) on the committed speech clip. */
#include "test.h"

#include "core/rng.h"
#include "audio/audio_file.h"
#include "dsp/lowpass.h"
#include "listen/listen.h"
#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- CSV */

static const char good_csv[] = "\xEF\xBB\xBF"
                               "item,listener,score,condition,seconds\r\n"
                               "i1,\"Doe, Jane\",100,reference,3.5\r\n"
                               "i1,\"Doe, Jane\",12.5,anchor_3.5k,3.5\r\n"
                               "\r\n"
                               "i1,\"say \"\"hi\"\"\",0,nac:6,1\n"
                               "i2,bob,55,nac:6,2\n";

TEST(listen_csv_parse)
{
    nac_listen_ratings rs = {0};
    nac_error e;
    CHECKF(nac_listen_ratings_parse(&rs, good_csv, sizeof good_csv - 1, "t.csv", &e) == NAC_OK, "%s", e.msg);
    CHECK(rs.n == 4);
    CHECK(!strcmp(rs.r[0].listener, "Doe, Jane") && !strcmp(rs.r[0].item, "i1"));
    CHECK(!strcmp(rs.r[0].condition, "reference") && rs.r[0].score == 100);
    CHECK(rs.r[1].score == 12.5);
    CHECK(!strcmp(rs.r[2].listener, "say \"hi\"") && rs.r[2].score == 0);
    CHECK(!strcmp(rs.r[3].listener, "bob") && !strcmp(rs.r[3].condition, "nac:6"));
    /* a second file appends */
    CHECK(nac_listen_ratings_parse(&rs, "listener,item,condition,score\ncarol,i1,nac:6,70", 47, "u.csv", &e) == 0);
    CHECK(rs.n == 5 && rs.r[4].score == 70);
    nac_listen_ratings_free(&rs);
}

static int parse_str(nac_listen_ratings *rs, const char *s, nac_error *e)
{
    return nac_listen_ratings_parse(rs, s, strlen(s), "x.csv", e);
}

TEST(listen_csv_bad)
{
    static const struct {
        const char *text;
        int code;
        const char *says;
    } cases[] = {
        {"", NAC_ERR_EMPTY, "no header"},
        {"listener,item,condition\na,b,c\n", NAC_ERR_FORMAT, "no 'score'"},
        {"listener,item,condition,score\na,i,c\n", NAC_ERR_FORMAT, "3 fields"},
        {"listener,item,condition,score\na,i,c,50,9\n", NAC_ERR_FORMAT, "5 fields"},
        {"listener,item,condition,score\na,i,c,101\n", NAC_ERR_FORMAT, "0..100"},
        {"listener,item,condition,score\na,i,c,-1\n", NAC_ERR_FORMAT, "0..100"},
        {"listener,item,condition,score\na,i,c,nan\n", NAC_ERR_FORMAT, "0..100"},
        {"listener,item,condition,score\na,i,c,5x\n", NAC_ERR_FORMAT, "0..100"},
        {"listener,item,condition,score\na,i,c,\n", NAC_ERR_FORMAT, "0..100"},
        {"listener,item,condition,score\n,i,c,5\n", NAC_ERR_FORMAT, "empty listener"},
        {"listener,item,condition,score\n\"a,i,c,5\n", NAC_ERR_TRUNCATED, "not closed"},
        {"listener,item,condition,score\na\"b,i,c,5\n", NAC_ERR_FORMAT, "quote inside"},
        {"listener,item,condition,score\n\"a\"b,i,c,5\n", NAC_ERR_FORMAT, "after a closing quote"},
        {"listener,item,condition,score\na,i,c,5\na,i,c,6\n", NAC_ERR_FORMAT, "second rating"},
        {"listener,item,condition,score\na,i\tj,c,5\n", NAC_ERR_FORMAT, "control character"},
        {"listener,item,condition,score\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,i,c,5\n", NAC_ERR_FORMAT,
         "longer than"},
    };
    nac_listen_ratings rs = {0};
    nac_error e;
    /* one good rating first: a failing parse must leave it alone */
    CHECK(parse_str(&rs, "listener,item,condition,score\nz,i,c,1\n", &e) == 0 && rs.n == 1);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int st = parse_str(&rs, cases[k].text, &e);
        CHECKF(st == cases[k].code, "case %zu: status %d, want %d (%s)", k, st, cases[k].code, e.msg);
        CHECKF(strstr(e.msg, cases[k].says) != NULL, "case %zu: message '%s' lacks '%s'", k, e.msg, cases[k].says);
        CHECKF(strstr(e.msg, "x.csv") != NULL, "case %zu: message '%s' does not name the file", k, e.msg);
        CHECK(rs.n == 1);
    }
    nac_listen_ratings_free(&rs);
}

/* Every prefix of a good file, and every byte of it replaced: a status, never a crash, and never
 * more ratings than the whole file has. */
TEST(listen_csv_truncated_corrupted)
{
    size_t len = sizeof good_csv - 1;
    char *buf = malloc(len);
    int cut_ok = 0, cut_bad = 0;
    CHECK(buf);
    for (size_t n = 0; n <= len; n++) {
        nac_listen_ratings rs = {0};
        nac_error e;
        int st = nac_listen_ratings_parse(&rs, good_csv, n, "cut.csv", &e);
        if (st == 0) {
            cut_ok++;
            CHECKF(rs.n <= 4, "prefix %zu gave %zu ratings", n, rs.n);
        } else {
            cut_bad++;
            CHECKF(rs.n == 0 && e.msg[0], "prefix %zu: status %d with %zu ratings", n, st, rs.n);
        }
        nac_listen_ratings_free(&rs);
    }
    CHECK(cut_ok > 0 && cut_bad > 0);
    static const char junk[] = {'"', ',', '\n', '\r', '\0', '\x7f', 'x', '9', '-'};
    for (size_t i = 0; i < len; i++)
        for (size_t j = 0; j < sizeof junk; j++) {
            nac_listen_ratings rs = {0};
            nac_error e;
            memcpy(buf, good_csv, len);
            buf[i] = junk[j];
            int st = nac_listen_ratings_parse(&rs, buf, len, "bad.csv", &e);
            CHECKF(st <= 0, "byte %zu", i);
            CHECKF(rs.n <= 5, "byte %zu = %d gave %zu ratings", i, junk[j], rs.n);
            for (size_t k = 0; k < rs.n; k++)
                CHECK(rs.r[k].score >= 0 && rs.r[k].score <= 100);
            nac_listen_ratings_free(&rs);
        }
    free(buf);
}

TEST(listen_csv_file)
{
    char path[512];
    nac_listen_ratings rs = {0};
    nac_error e;
    snprintf(path, sizeof path, "%s/r.csv", nac_test_tmp_dir());
    FILE *f = fopen(path, "wb");
    CHECK(f);
    fwrite("listener,item,condition,score\na,i,c,5\n\0", 1, 40, f);
    fclose(f);
    CHECK(nac_listen_ratings_read(&rs, path, &e) == NAC_ERR_FORMAT && strstr(e.msg, "binary"));
    CHECK(nac_listen_ratings_read(&rs, "/nonexistent/r.csv", &e) == NAC_ERR_IO);
    f = fopen(path, "wb");
    CHECK(f);
    fputs("listener,item,condition,score\na,i,c,5\n", f);
    fclose(f);
    CHECK(nac_listen_ratings_read(&rs, path, &e) == 0 && rs.n == 1);
    nac_listen_ratings_free(&rs);
}

/* ---------------------------------------------------------------- statistics */

static void add(nac_listen_ratings *rs, const char *l, int item, const char *c, double s)
{
    char text[256];
    snprintf(text, sizeof text, "listener,item,condition,score\n%s,i%d,%s,%g\n", l, item, c, s);
    nac_listen_ratings_parse(rs, text, strlen(text), "t", NULL);
}

static const nac_listen_listener *find(const nac_listen_listener *ls, size_t n, const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (!strcmp(ls[k].name, name))
            return &ls[k];
    return NULL;
}

TEST(listen_postscreen)
{
    nac_listen_ratings rs = {0};
    nac_listen_listener *ls = NULL;
    size_t n = 0;
    nac_error e;
    /* 20 items: 15% of them is 3. ok: never low; three: 3 low (kept, not "more than");
     * four: 4 low (dropped); norf: no reference ratings (dropped) */
    for (int i = 0; i < 20; i++) {
        add(&rs, "ok", i, "reference", 100);
        add(&rs, "three", i, "reference", i < 3 ? 89.9 : 90);
        add(&rs, "four", i, "reference", i < 4 ? 50 : 100);
        add(&rs, "norf", i, "nac:6", 50);
        add(&rs, "ok", i, "nac:6", 40);
    }
    CHECK(rs.n == 100);
    CHECKF(nac_listen_postscreen(&ls, &n, &rs, "reference", 90, 0.15, &e) == 0, "%s", e.msg);
    CHECK(n == 4);
    const nac_listen_listener *ok = find(ls, n, "ok"), *three = find(ls, n, "three"), *four = find(ls, n, "four"),
                              *norf = find(ls, n, "norf");
    CHECK(ok && three && four && norf);
    CHECK(ok->kept && ok->items == 20 && ok->ref_low == 0);
    CHECK(three->kept && three->ref_low == 3);
    CHECK(!four->kept && four->ref_low == 4);
    CHECK(!norf->kept && norf->items == 0);

    nac_listen_summary *s = NULL;
    size_t ns = 0;
    CHECK(nac_listen_summarise(&s, &ns, &rs, ls, n, &e) == 0);
    /* kept: ok and three. reference: 20 x 100, 3 x 89.9, 17 x 90; nac:6 only from ok (40) */
    CHECK(ns == 2 && !strcmp(s[0].condition, "reference") && !strcmp(s[1].condition, "nac:6"));
    CHECK(s[0].n == 40 && s[1].n == 20);
    CHECK_NEAR(s[0].mean, (2000 + 3 * 89.9 + 17 * 90) / 40, 1e-9);
    CHECK_NEAR(s[1].mean, 40, 1e-12);
    CHECK_NEAR(s[1].sd, 0, 1e-12);
    free(s);
    free(ls);

    /* nobody kept */
    nac_listen_ratings_free(&rs);
    add(&rs, "x", 1, "reference", 10);
    CHECK(nac_listen_postscreen(&ls, &n, &rs, "reference", 90, 0.15, &e) == 0 && n == 1 && !ls[0].kept);
    CHECK(nac_listen_summarise(&s, &ns, &rs, ls, n, &e) == NAC_ERR_EMPTY);
    free(ls);
    nac_listen_ratings_free(&rs);
}

TEST(listen_t_and_ci)
{
    /* Student t 97.5% quantiles from the standard tables */
    static const double df[] = {1, 2, 3, 5, 10, 30, 120};
    static const double q[] = {12.7062047362, 4.3026527297, 3.1824463053, 2.5705818366,
                               2.2281388520, 2.0422724563, 1.9799304050};
    for (size_t i = 0; i < sizeof df / sizeof df[0]; i++)
        CHECK_NEAR(nac_listen_t_quantile(0.975, df[i]), q[i], 1e-8 * q[i]);
    CHECK_NEAR(nac_listen_t_quantile(0.975, 1e7), 1.959963985, 1e-6);
    CHECK_NEAR(nac_listen_t_quantile(0.025, 4), -2.7764451052, 1e-8);
    CHECK_NEAR(nac_listen_t_cdf(0, 7), 0.5, 1e-15);
    CHECK_NEAR(nac_listen_t_cdf(1, 1), 0.75, 1e-12); /* Cauchy: 1/2 + atan(1)/pi */
    CHECK_NEAR(nac_listen_t_cdf(2, 2), 0.5 + 2 / (2 * sqrt(6.0)), 1e-12); /* 1/2 + t / (2 sqrt(2 + t^2)) */
    CHECK(isnan(nac_listen_t_quantile(0, 3)) && isnan(nac_listen_t_quantile(0.5, 0)));

    /* 60, 70, 80: mean 70, sd 10, half-width t(0.975, 2) * 10 / sqrt 3 */
    nac_listen_ratings rs = {0};
    nac_listen_listener *ls = NULL;
    nac_listen_summary *s = NULL;
    size_t nl, ns;
    nac_error e;
    add(&rs, "a", 1, "reference", 100);
    add(&rs, "a", 1, "x", 60);
    add(&rs, "a", 2, "reference", 100);
    add(&rs, "a", 2, "x", 70);
    add(&rs, "a", 3, "reference", 100);
    add(&rs, "a", 3, "x", 80);
    add(&rs, "a", 1, "once", 33);
    CHECK(nac_listen_postscreen(&ls, &nl, &rs, "reference", 90, 0.15, &e) == 0);
    CHECK(nac_listen_summarise(&s, &ns, &rs, ls, nl, &e) == 0 && ns == 3);
    CHECK(!strcmp(s[1].condition, "x"));
    CHECK_NEAR(s[1].mean, 70, 1e-12);
    CHECK_NEAR(s[1].sd, 10, 1e-12);
    CHECK_NEAR(s[1].ci95, 4.3026527297 * 10 / sqrt(3.0), 1e-7);
    CHECK(!strcmp(s[2].condition, "once") && s[2].n == 1 && isnan(s[2].ci95));
    char png[512];
    snprintf(png, sizeof png, "%s/chart.png", nac_test_tmp_dir());
    CHECK(nac_listen_chart(png, s, ns, "t", &e) == 0);
    struct stat sb;
    CHECK(stat(png, &sb) == 0 && sb.st_size > 1000);
    free(s);
    free(ls);
    nac_listen_ratings_free(&rs);
}

/* ---------------------------------------------------------------- levels and anchors */

static double rms_db(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return 10 * log10(s / (double)n);
}

TEST(listen_loudness)
{
    const int sr = 16000;
    const size_t n = 3 * (size_t)sr;
    float *ref = calloc(n, sizeof *ref), *deg = calloc(n, sizeof *deg), *spiky = calloc(n, sizeof *spiky);
    nac_rng r;
    nac_error e;
    double db, db2;
    CHECK(ref && deg && spiky);
    nac_rng_seed(&r, 5);
    /* 1 s of a 0.5-amplitude tone between 1 s of silence on each side */
    for (size_t i = (size_t)sr; i < 2 * (size_t)sr; i++)
        ref[i] = 0.5f * (float)sin(2 * M_PI * 440 * (double)i / sr);
    CHECK(nac_listen_active_level(&db, ref, ref, n, sr, &e) == 0);
    CHECK_NEAR(db, 10 * log10(0.125), 0.02); /* the silence does not count */
    CHECK(rms_db(ref, n) < db - 4.5);
    /* a degraded copy: 0.1 times the tone plus noise in the pauses, measured where ref is active */
    for (size_t i = 0; i < n; i++)
        deg[i] = 0.1f * ref[i] + (ref[i] == 0 ? 0.05f * (float)nac_rng_normal(&r) : 0);
    CHECK(nac_listen_active_level(&db2, ref, deg, n, sr, &e) == 0);
    CHECK_NEAR(db2, db - 20, 0.05);
    /* matching: both at the reference's level; then a spike forces one common reduction */
    memcpy(spiky, ref, n * sizeof *spiky);
    for (size_t i = (size_t)sr; i < 2 * (size_t)sr; i++)
        spiky[i] *= 0.5f;
    spiky[(size_t)sr + 100] = 0.9f; /* after x2 to match: 1.8, far above the peak limit */
    float *x[3] = {ref, deg, spiky};
    double g[3];
    CHECK(nac_listen_match_levels(x, 3, n, sr, 0.98f, g, &e) == 0);
    double l0, l1, l2, peak = 0;
    CHECK(nac_listen_active_level(&l0, ref, ref, n, sr, &e) == 0);
    CHECK(nac_listen_active_level(&l1, ref, deg, n, sr, &e) == 0);
    CHECK(nac_listen_active_level(&l2, ref, spiky, n, sr, &e) == 0);
    CHECK_NEAR(l1, l0, 0.01);
    CHECK_NEAR(l2, l0, 0.05);
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < n; i++)
            peak = fmax(peak, fabs(x[c][i]));
    CHECK(peak <= 0.98 + 1e-6 && peak > 0.97);
    CHECK(g[0] < -5); /* the reference came down too */
    /* a silent reference is an error, not a division by zero */
    memset(deg, 0, n * sizeof *deg);
    CHECK(nac_listen_active_level(&db, deg, deg, n, sr, &e) == NAC_ERR_EMPTY);
    /* fades: ends at 0, the middle untouched */
    for (size_t i = 0; i < n; i++)
        deg[i] = 1;
    nac_listen_fade(deg, n, 160);
    CHECK(deg[0] < 0.001f && deg[n - 1] < 0.001f && deg[n / 2] == 1 && deg[160] == 1);
    free(ref);
    free(deg);
    free(spiky);
}

TEST(listen_lowpass_anchor)
{
    const int sr = 16000;
    const size_t n = 8000;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    nac_error e;
    CHECK(x && y);
    static const struct {
        double f, cut, lo_db, hi_db;
    } cases[] = {{1000, 3500, -0.05, 0.05}, {3000, 3500, -0.3, 0.05}, {4500, 3500, -200, -60},
                 {6000, 7000, -0.1, 0.05}, {7600, 7000, -200, -60}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (size_t i = 0; i < n; i++)
            x[i] = 0.5f * (float)sin(2 * M_PI * cases[k].f * (double)i / sr);
        CHECK(nac_lowpass(y, x, n, sr, cases[k].cut, 300, &e) == 0);
        /* the middle, away from the edges: gain, and no delay (zero phase) */
        double g = rms_db(y + 1000, n - 2000) - rms_db(x + 1000, n - 2000);
        CHECKF(g >= cases[k].lo_db && g <= cases[k].hi_db, "%g Hz through %g Hz: %.3f dB", cases[k].f, cases[k].cut, g);
        if (cases[k].hi_db > -1) {
            double err = 0;
            for (size_t i = 1000; i < n - 1000; i++)
                err = fmax(err, fabs(y[i] - x[i]));
            CHECKF(err < 0.02, "%g Hz: largest difference %g (delayed?)", cases[k].f, err);
        }
    }
    CHECK(nac_lowpass(y, x, n, sr, 9000, 300, &e) == NAC_ERR_ARG);
    CHECK(nac_lowpass(y, x, n, sr, 3500, 1, &e) == NAC_ERR_ARG);
    free(x);
    free(y);
}

/* ---------------------------------------------------------------- randomisation and names */

TEST(listen_shuffle_seeded)
{
    int p[10], q[10], count[24] = {0};
    nac_rng r;
    nac_rng_seed(&r, 42);
    nac_listen_shuffle(p, 10, &r);
    nac_rng_seed(&r, 42);
    nac_listen_shuffle(q, 10, &r);
    CHECK(!memcmp(p, q, sizeof p)); /* same seed, same order */
    int seen = 0;
    for (int i = 0; i < 10; i++)
        seen |= 1 << p[i];
    CHECK(seen == 0x3FF); /* a permutation */
    nac_rng_seed(&r, 43);
    nac_listen_shuffle(q, 10, &r);
    CHECK(memcmp(p, q, sizeof p) != 0);
    /* all 24 orders of 4 about equally often: 24000 shuffles, chi-square with 23 degrees of
     * freedom below 49.7 (p = 0.001) */
    nac_rng_seed(&r, 7);
    for (int t = 0; t < 24000; t++) {
        int a[4], code = 0;
        nac_listen_shuffle(a, 4, &r);
        /* Lehmer code of the permutation */
        for (int i = 0; i < 4; i++) {
            int smaller = 0;
            for (int j = i + 1; j < 4; j++)
                smaller += a[j] < a[i];
            code = code * (4 - i) + smaller;
        }
        count[code]++;
    }
    double chi2 = 0;
    for (int k = 0; k < 24; k++)
        chi2 += (count[k] - 1000.0) * (count[k] - 1000.0) / 1000.0;
    CHECKF(chi2 < 49.7, "chi-square %.1f", chi2);
}

TEST(listen_names_obfuscated)
{
    static char a[600][16], b[600][16];
    nac_rng r;
    nac_rng_seed(&r, 1);
    nac_listen_names(a, 600, &r);
    nac_rng_seed(&r, 1);
    nac_listen_names(b, 600, &r);
    CHECK(!memcmp(a, b, sizeof a));
    for (int i = 0; i < 600; i++) {
        CHECKF(strlen(a[i]) == 11 && a[i][0] == 's' && strspn(a[i] + 1, "0123456789abcdef") == 10, "'%s'", a[i]);
        for (int j = 0; j < i; j++)
            CHECKF(strcmp(a[i], a[j]), "names %d and %d are both %s", i, j, a[i]);
    }
    nac_rng_seed(&r, 2);
    nac_listen_names(b, 600, &r);
    CHECK(memcmp(a, b, sizeof a) != 0);
}

TEST(listen_conditions)
{
    nac_listen_condition c[16];
    int n;
    nac_error e;
    CHECKF(nac_listen_conditions_parse(c, 16, &n, "nac:1.5, nac:6.0,opus:12,codec2:700c,lowpass:5000", &e) == 0, "%s",
           e.msg);
    CHECK(n == 5);
    CHECK(!strcmp(c[0].name, "nac:1.5") && c[0].kind == NAC_LISTEN_NAC && c[0].value == 1.5);
    CHECK(!strcmp(c[1].name, "nac:6"));
    CHECK(!strcmp(c[2].name, "opus:12") && c[2].kind == NAC_LISTEN_OPUS);
    CHECK(!strcmp(c[3].name, "codec2:700C") && !strcmp(c[3].mode, "700C"));
    CHECK(!strcmp(c[4].name, "lowpass:5000") && c[4].kind == NAC_LISTEN_LOWPASS);
    CHECK(!strcmp(nac_listen_condition_tool(&c[2]), "opusenc") && !nac_listen_condition_tool(&c[0]));
    static const char *const bad[] = {"", "nac", "nac:", ":6", "nac:1.2", "nac:30", "opus:2", "codec2:1000",
                                      "mp3:128", "nac:6,nac:6.0", "lowpass:3500", "nac:6,", "nac:x"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        CHECKF(nac_listen_conditions_parse(c, 16, &n, bad[k], &e) == NAC_ERR_ARG, "'%s' accepted", bad[k]);
}

TEST(listen_safe_path)
{
    static const struct {
        const char *target, *want;
    } ok[] = {{"/", "index.html"},
              {"/items.js", "items.js"},
              {"/audio/s0123456789.wav?x=1#y", "audio/s0123456789.wav"},
              {"/a%20b.txt", "a b.txt"},
              {"/sub/", "sub/index.html"}};
    static const char *const bad[] = {"",        "items.js",      "/../etc/passwd", "/a/../../b", "/%2e%2e/x",
                                      "/.git/config", "/a//b",     "/a\\b",          "/a%00b",     "/a%zzb",
                                      "/a%2",    "/./x",          "/a/.",           "/x\x01y"};
    char out[256];
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        CHECKF(nac_listen_safe_path(out, sizeof out, ok[k].target) == 0, "'%s' refused", ok[k].target);
        CHECKF(!strcmp(out, ok[k].want), "'%s' -> '%s'", ok[k].target, out);
    }
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        CHECKF(nac_listen_safe_path(out, sizeof out, bad[k]) < 0, "'%s' accepted as '%s'", bad[k], out);
    CHECK(nac_listen_safe_path(out, 20, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") < 0);
    CHECK(!strcmp(nac_listen_mime("x.WAV"), "audio/wav") && !strcmp(nac_listen_mime("x"), "application/octet-stream"));
}

/* ---------------------------------------------------------------- the command line */

static int http_status(int port, const char *target, const char *extra)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), code = -1;
    struct sockaddr_in a;
    char buf[256];
    struct timeval tv = {5, 0};
    if (s < 0)
        return -1;
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
        snprintf(buf, sizeof buf, "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", target, extra);
        if (send(s, buf, strlen(buf), 0) > 0) {
            ssize_t n = recv(s, buf, sizeof buf - 1, 0);
            if (n > 12) {
                buf[n] = '\0';
                code = atoi(buf + 9);
            }
        }
    }
    close(s);
    return code;
}

TEST(listen_cli)
{
    const char *tmp = nac_test_tmp_dir(), *nac = nac_test_bin();
    char path[1024];
    FILE *f;
    const char *speech = "tests/fixtures/speech_thorsten_de.flac";
    CHECK(nac_test_sh("%s listen make %s --conditions nac:6 --max-seconds 2 --seed 9 --out %s/lt >/dev/null 2>&1", nac,
                      speech, tmp) == 0);
    /* the page, the configuration, and 3 fixed + 1 condition + the open reference */
    CHECK(nac_test_sh("test -s %s/lt/index.html && test -s %s/lt/mushra.js && test -s %s/lt/items.js", tmp, tmp,
                      tmp) == 0);
    CHECK(nac_test_sh("test $(ls %s/lt/audio | wc -l) -eq 5", tmp) == 0);
    /* names tell nothing: no codec, anchor or reference in any file name */
    CHECK(nac_test_sh("ls %s/lt/audio | grep -Eiq 'nac|ref|anchor|opus|codec|low'", tmp) == 1);
    /* same length: every stimulus file has the same size */
    CHECK(nac_test_sh("test $(for f in %s/lt/audio/*.wav; do wc -c < $f; done | sort -u | wc -l) -eq 1", tmp) == 0);
    CHECK(nac_test_sh("grep -q '\"condition\": \"nac:6\"' %s/lt/items.js", tmp) == 0);
    /* the same seed gives the same test */
    CHECK(nac_test_sh("%s listen make %s --conditions nac:6 --max-seconds 2 --seed 9 --out %s/lt2 >/dev/null 2>&1 && "
                      "cmp -s %s/lt/items.js %s/lt2/items.js",
                      nac, speech, tmp, tmp, tmp) == 0);

    /* usage errors */
    CHECK(nac_test_sh("%s listen make %s 2>/dev/null", nac, speech) == 2);
    CHECK(nac_test_sh("%s listen make %s --out %s/x --conditions mp3:128 2>/dev/null", nac, speech, tmp) == 2);
    CHECK(nac_test_sh("%s listen frobnicate 2>/dev/null", nac) == 2);
    CHECK(nac_test_sh("%s listen report 2>/dev/null", nac) == 2);
    CHECK(nac_test_sh("%s listen make /nonexistent --out %s/x 2>/dev/null", nac, tmp) == 1);

    /* report: two listeners, one dropped by post-screening */
    snprintf(path, sizeof path, "%s/res.csv", tmp);
    f = fopen(path, "w");
    CHECK(f);
    fputs("listener,item,condition,score\n", f);
    for (int i = 0; i < 4; i++)
        fprintf(f, "good,i%d,reference,100\ngood,i%d,nac:6,%d\nbad,i%d,reference,%d\nbad,i%d,nac:6,90\n", i, i,
                60 + i, i, i < 2 ? 50 : 100, i);
    fclose(f);
    CHECK(nac_test_sh("%s listen report %s --out %s/rep.png > %s/rep.txt", nac, path, tmp, tmp) == 0);
    CHECK(nac_test_sh("grep -q '1 of 2 listeners kept' %s/rep.txt && grep -Eq 'nac:6 +4 +61.5' %s/rep.txt && "
                      "test -s %s/rep.png",
                      tmp, tmp, tmp) == 0);
    f = fopen(path, "a");
    CHECK(f);
    fputs("good,i9,nac:6", f); /* cut short */
    fclose(f);
    CHECK(nac_test_sh("%s listen report %s 2>%s/err.txt >/dev/null", nac, path, tmp) == 1);
    CHECK(nac_test_sh("grep -q 'res.csv:18: 3 fields' %s/err.txt", tmp) == 0);

    /* serve: a port of its own, safe paths, then stopped */
    CHECK(nac_test_sh("%s listen serve %s/lt --port 0 -q > %s/serve.txt 2>/dev/null & echo $! > %s/serve.pid", nac,
                      tmp, tmp, tmp) == 0);
    int port = 0;
    long pid = 0;
    for (int t = 0; t < 100 && !port; t++) {
        char line[256] = "";
        usleep(50000);
        snprintf(path, sizeof path, "%s/serve.txt", tmp);
        if ((f = fopen(path, "r"))) {
            if (fgets(line, sizeof line, f)) {
                char *p = strstr(line, "127.0.0.1:");
                if (p)
                    port = atoi(p + 10);
            }
            fclose(f);
        }
    }
    snprintf(path, sizeof path, "%s/serve.pid", tmp);
    if ((f = fopen(path, "r"))) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    int s_index = port ? http_status(port, "/", "") : -1, s_items = port ? http_status(port, "/items.js", "") : -1;
    int s_up = port ? http_status(port, "/../../etc/passwd", "") : -1;
    int s_enc = port ? http_status(port, "/%2e%2e/x", "") : -1;
    int s_missing = port ? http_status(port, "/nothing.wav", "") : -1;
    int s_range = port ? http_status(port, "/items.js", "Range: bytes=0-9\r\n") : -1;
    int s_bad_range = port ? http_status(port, "/items.js", "Range: bytes=99999999-\r\n") : -1;
    if (pid > 0)
        kill((pid_t)pid, SIGTERM);
    CHECKF(port > 0 && pid > 0, "the server printed no port");
    CHECK(s_index == 200 && s_items == 200);
    CHECK(s_up == 400 && s_enc == 400 && s_missing == 404);
    CHECK(s_range == 206 && s_bad_range == 416);
}

/* Every condition's output lines up with the reference (what the page's switching relies on):
 * the delay found by nac eval's search is within 1 ms (5 ms for the neural codec, whose phase is
 * its own); Opus, which keeps the waveform, also
 * correlates at lag 0. Opus and Codec 2 are skipped where their tools are not installed. */
TEST(listen_conditions_aligned)
{
    float *x = NULL, *y = NULL;
    size_t n = 0;
    nac_error e;
    nac_model *m = NULL;
    nac_listen_condition c[5];
    int nc;
    char skipped[128] = "";
    CHECK(nac_audio_read_all(&x, &n, NULL, "tests/fixtures/speech_thorsten_de.flac", &e) == 0);
    CHECK((y = malloc(n * sizeof *y)) != NULL);
    CHECK(nac_model_load_default(&m, &e) == 0);
    CHECK(nac_listen_conditions_parse(c, 5, &nc, "nac:6,nac:24,opus:12,codec2:3200,lowpass:5000", &e) == 0);
    for (int k = 0; k < nc; k++) {
        const char *tool = nac_listen_condition_tool(&c[k]);
        double kbps = -1;
        long d = 99999;
        if (tool && !nac_listen_tool_available(tool)) {
            snprintf(skipped + strlen(skipped), sizeof skipped - strlen(skipped), "%s%s not installed",
                     skipped[0] ? ", " : "", tool);
            continue;
        }
        CHECKF(nac_listen_condition_run(y, &kbps, &c[k], x, n, m, nac_test_tmp_dir(), &e) == 0, "%s: %s", c[k].name,
               e.msg);
        CHECK(nac_align_delay(&d, x, n, y, n, 16000, 0.2, &e) == 0);
        /* The neural codec makes up its phase: its waveform correlates with the input at about 0.2,
         * and the weak peak sits a few ms either side of 0 depending on the model (-64 samples for the
         * model of step 53521, 0 for 45000), though its known delay is removed by construction and
         * its output equals the CLI's (below). Waveform coders must land within 1 ms. */
        long tol = c[k].kind == NAC_LISTEN_NAC && c[k].value < NAC_TRANSFORM_AUTO_KBPS ? 80 : 16;
        CHECKF(labs(d) <= tol, "%s: still %ld samples off", c[k].name, d);
        if (c[k].kind == NAC_LISTEN_LOWPASS)
            CHECK(kbps == 0);
        else
            CHECKF(kbps > 0.5 * c[k].value / (c[k].kind == NAC_LISTEN_CODEC2 ? 1000 : 1) &&
                       kbps < 2 * c[k].value / (c[k].kind == NAC_LISTEN_CODEC2 ? 1000 : 1),
                   "%s: measured %.2f kbps", c[k].name, kbps);
        if (c[k].kind == NAC_LISTEN_NAC) {
            /* the library path gives what nac encode | nac decode gives (16-bit there), for the
             * neural codec (6) and the transform coder (24) */
            float *z = NULL;
            size_t nz = 0;
            const char *tmp = nac_test_tmp_dir();
            CHECK(nac_test_sh("%s encode -q tests/fixtures/speech_thorsten_de.flac %s/al.nac --kbps %g && "
                              "%s decode -q %s/al.nac %s/al.wav", nac_test_bin(), tmp, c[k].value, nac_test_bin(), tmp,
                              tmp) == 0);
            char path[512];
            snprintf(path, sizeof path, "%s/al.wav", tmp);
            CHECK(nac_audio_read_all(&z, &nz, NULL, path, &e) == 0);
            double worst = nz == n ? 0 : 1;
            for (size_t i = 0; i < n && i < nz; i++)
                worst = fmax(worst, fabs((double)z[i] - y[i]));
            free(z);
            CHECKF(worst <= 1.0 / 32768, "%s differs from nac encode | decode by %g", c[k].name, worst);
        }
        if (c[k].kind == NAC_LISTEN_OPUS) {
            double xy = 0, xx = 0, yy = 0;
            for (size_t i = 0; i < n; i++) {
                xy += (double)x[i] * y[i];
                xx += (double)x[i] * x[i];
                yy += (double)y[i] * y[i];
            }
            CHECKF(xy / sqrt(xx * yy) > 0.8, "opus: correlation %.3f at lag 0", xy / sqrt(xx * yy));
        }
    }
    if (skipped[0])
        snprintf(t_->why, sizeof t_->why, "%s", skipped);
    nac_model_destroy(m);
    free(x);
    free(y);
}
