/* The single test runner: runs every registered test (or those whose name contains argv[1]),
 * prints PASS/FAIL/SKIP per test and ends with exactly "N passed, N failed". */
#include "test.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const nac_test_case nac_test_cases[];

static char tmp_dir[256];

void nac_test_fail(nac_test *t, const char *file, int line, const char *fmt, ...)
{
    int n;
    va_list ap;
    if (t->failed)
        return;
    t->failed = 1;
    n = snprintf(t->why, sizeof t->why, "%s:%d: ", file, line);
    if (n < 0 || n >= (int)sizeof t->why)
        return;
    va_start(ap, fmt);
    vsnprintf(t->why + n, sizeof t->why - (size_t)n, fmt, ap);
    va_end(ap);
}

const char *nac_test_fixture_dir(void)
{
    const char *d = getenv("NAC_FIXTURES");
    return d ? d : "tests/fixtures";
}

const char *nac_test_data_dir(void)
{
    const char *d = getenv("NAC_DATA");
    return d ? d : "../shared/data";
}

const char *nac_test_tmp_dir(void) { return tmp_dir; }

int nac_test_read_f32(float *out, size_t n, const char *name)
{
    char path[512];
    unsigned char b[4];
    int rc = 0;
    snprintf(path, sizeof path, "%s/%s", nac_test_fixture_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (fread(b, 1, 4, f) != 4) {
            rc = -1;
        } else {
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&out[i], &u, 4);
        }
    }
    if (rc == 0 && fread(b, 1, 1, f) != 0)
        rc = -1; /* longer than expected */
    fclose(f);
    return rc;
}

long nac_test_read_file(const char *path, unsigned char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    *out = malloc(n > 0 ? (size_t)n : 1);
    if (!*out || fread(*out, 1, (size_t)n, f) != (size_t)n)
        n = -1;
    fclose(f);
    return n;
}

const char *nac_test_bin(void)
{
    const char *b = getenv("NAC_BIN");
    return b ? b : "build/nac";
}

int nac_test_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc == -1 || WIFSIGNALED(rc) || (WIFEXITED(rc) && WEXITSTATUS(rc) >= 128))
        return -1;
    return WEXITSTATUS(rc);
}

static void remove_tmp(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", tmp_dir);
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    const char *filter = argc > 1 ? argv[1] : NULL;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/nac_tests.XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    atexit(remove_tmp);
    for (const nac_test_case *c = nac_test_cases; c->name; c++) {
        nac_test t = {0};
        struct timespec t0, t1;
        if (filter && !strstr(c->name, filter))
            continue;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        c->fn(&t);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        if (t.failed) {
            printf("FAIL %s (%s)\n", c->name, t.why);
            failed++;
        } else if (t.skipped) {
            printf("SKIP %s (%s)\n", c->name, t.why);
            skipped++;
        } else {
            if (t.why[0])
                printf("PASS %s (%.2fs; %s)\n", c->name, sec, t.why);
            else
                printf("PASS %s (%.2fs)\n", c->name, sec);
            passed++;
        }
        fflush(stdout);
    }
    if (skipped) /* on its own line: the last line is always "N passed, N failed" */
        printf("%d skipped (see SKIP lines above)\n", skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
