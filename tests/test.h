/* The test runner's interface. A test is `TEST(name) { ... }` at the start of a line in any
 * tests/ source file; the Makefile registers it. Checks record the first failure and return. */
#ifndef NAC_TEST_H
#define NAC_TEST_H

#include <math.h>
#include <stdio.h>

typedef struct nac_test {
    int failed;
    int skipped;
    char why[512];
} nac_test;

typedef struct nac_test_case {
    const char *name;
    void (*fn)(nac_test *t_);
} nac_test_case;

void nac_test_fail(nac_test *t, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Directory holding committed fixtures (tests/fixtures), and ../shared/data, resolved by the runner. */
const char *nac_test_fixture_dir(void);
const char *nac_test_data_dir(void);
/* Reads the fixture file `name` (in nac_test_fixture_dir()), which must hold exactly n raw
 * little-endian float32 values, into out. Returns 0, or -1 if it is missing or of another length. */
int nac_test_read_f32(float *out, size_t n, const char *name);
/* Reads a whole file into *out (malloc'd, the caller frees it, also on failure). Returns its
 * length, or -1. */
long nac_test_read_file(const char *path, unsigned char **out);
/* A scratch directory unique to this run (created by the runner, removed at exit). */
const char *nac_test_tmp_dir(void);

/* The nac binary under test: $NAC_BIN (set by `make test`), or build/nac. */
const char *nac_test_bin(void);
/* Runs a shell command made printf-style; returns its exit status, or -1 if it could not run or
 * died from a signal (a crash, also when reported by the shell as 128 + signal). */
int nac_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TEST(name) void nac_test_##name(nac_test *t_)

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            nac_test_fail(t_, __FILE__, __LINE__, "%s", #cond);                 \
            return;                                                              \
        }                                                                        \
    } while (0)

#define CHECKF(cond, ...)                                                        \
    do {                                                                         \
        if (!(cond)) {                                                           \
            nac_test_fail(t_, __FILE__, __LINE__, __VA_ARGS__);                  \
            return;                                                              \
        }                                                                        \
    } while (0)

/* |a - b| <= tol, with both values in the message. */
#define CHECK_NEAR(a, b, tol)                                                    \
    do {                                                                         \
        double a_ = (a), b_ = (b);                                               \
        if (!(fabs(a_ - b_) <= (tol))) {                                         \
            nac_test_fail(t_, __FILE__, __LINE__, "%s = %.9g, %s = %.9g, tol %g", \
                          #a, a_, #b, b_, (double)(tol));                        \
            return;                                                              \
        }                                                                        \
    } while (0)

#define SKIP(...)                                                                \
    do {                                                                         \
        t_->skipped = 1;                                                         \
        snprintf(t_->why, sizeof t_->why, __VA_ARGS__);                          \
        return;                                                                  \
    } while (0)

#endif
