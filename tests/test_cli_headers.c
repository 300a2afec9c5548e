/* The command line is a thin front end over the public API: every tools/ source includes only
 * public headers ("nac/<name>.h"), the tools' own headers (a file in tools/) and system headers
 * (<...>). A file that includes an internal header (src/...) is listed with the offending lines. */
#include "test.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Files allowed to include internal headers: none (every command is built on the public API). A
 * file that must wait for the library to grow a public function goes here, with the reason. */
static const char *const allowed[] = {NULL};

static int is_allowed(const char *name)
{
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0] && allowed[i]; i++)
        if (!strcmp(name, allowed[i]))
            return 1;
    return 0;
}

/* 1 when the quoted include target is public or one of the tools' own headers. */
static int include_ok(const char *target)
{
    if (!strncmp(target, "nac/", 4) && !strchr(target + 4, '/') && strlen(target) > 6 &&
        !strcmp(target + strlen(target) - 2, ".h"))
        return 1;
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "tools/%s", target);
    return !strchr(target, '/') && !stat(path, &st) && S_ISREG(st.st_mode);
}

/* Appends " name: line;" for each bad include of the file path to out; returns how many. */
static int scan(const char *path, const char *name, char *out, size_t cap)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int bad = 0;
    while (fgets(line, sizeof line, f)) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p++ != '#')
            continue;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "include", 7))
            continue;
        p += 7;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '<')
            continue; /* system header */
        char target[256] = "";
        if (*p != '"' || sscanf(p + 1, "%255[^\"]", target) != 1 || !include_ok(target)) {
            line[strcspn(line, "\r\n")] = '\0';
            size_t len = strlen(out);
            snprintf(out + len, cap - len, " %s: %s;", name, line);
            bad++;
        }
    }
    fclose(f);
    return bad;
}

static int tools_source(const char *name)
{
    size_t n = strlen(name);
    return n > 2 && name[0] != '.' && (!strcmp(name + n - 2, ".c") || !strcmp(name + n - 2, ".h"));
}

TEST(cli_includes_only_public_headers)
{
    DIR *d = opendir("tools");
    if (!d)
        SKIP("no tools/ here (run from the repository root)");
    static char report[8192];
    report[0] = '\0';
    int bad = 0, files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!tools_source(e->d_name))
            continue;
        files++;
        char path[512];
        snprintf(path, sizeof path, "tools/%s", e->d_name);
        if (!is_allowed(e->d_name))
            bad += scan(path, e->d_name, report, sizeof report);
    }
    closedir(d);
    CHECKF(files >= 5, "only %d sources found in tools/", files);
    CHECKF(bad == 0, "tools/ includes %d internal header(s):%s", bad, report);
}

/* The check itself: an internal include is caught, public, own and system headers are not. */
TEST(cli_includes_check_catches_internal_header)
{
    struct stat st;
    if (stat("tools/cmd.h", &st))
        SKIP("no tools/ here (run from the repository root)");
    char path[512], report[1024] = "";
    snprintf(path, sizeof path, "%s/fake_cmd.c", nac_test_tmp_dir());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("#include \"cmd.h\"\n#include <stdio.h>\n#include \"nac/vq.h\"\n"
          "#include \"vq/kmeans.h\"\n  #  include \"core/rng.h\" /* spaced */\n"
          "/* #include \"in/a_comment.h\" is not a directive */\n",
          f);
    fclose(f);
    CHECKF(scan(path, "fake_cmd.c", report, sizeof report) == 2, "%s", report);
    CHECKF(strstr(report, "fake_cmd.c: #include \"vq/kmeans.h\"") && strstr(report, "core/rng.h"), "%s", report);
    CHECK(include_ok("nac/nac.h"));
    CHECK(include_ok("nac/vq.h"));
    CHECK(include_ok("cmd.h"));
    CHECK(!include_ok("vq/kmeans.h"));
    CHECK(!include_ok("core/status.h"));
    CHECK(!include_ok("nac/../core/rng.h"));
    CHECK(!include_ok("missing.h"));
    CHECK(!include_ok("nac/x.c"));
}
