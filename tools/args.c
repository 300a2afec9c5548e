/* Helpers shared by the subcommands: the two positional paths IN and OUT, the check that an
 * output does not overwrite its input, and what nac encode does to input samples in every mode. */
#include "cmd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int nac_cli_positional(const char *cmd, const char *help, const char *a, const char **in, const char **out)
{
    if (a[0] == '-' && a[1] != '\0') {
        fprintf(stderr, "nac %s: unknown option or missing value '%s' (see %s)\n", cmd, a, help);
        return 2;
    }
    if (!*in)
        *in = a;
    else if (!*out)
        *out = a;
    else {
        fprintf(stderr, "nac %s: too many arguments (see %s)\n", cmd, help);
        return 2;
    }
    return 0;
}

int nac_cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!strcmp(a, "-") || !strcmp(b, "-") || stat(a, &sa) || stat(b, &sb))
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int nac_cli_refuse_same_file(const char *cmd, const char *in, const char *out)
{
    if (!nac_cli_same_file(in, out))
        return 0;
    fprintf(stderr, "nac %s: the output %s is the input; refusing to overwrite it\n", cmd, out);
    return 2;
}

int nac_cli_condition_input(float *x, size_t n, size_t first, size_t *clipped, int rate, const char *path,
                            nac_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return nac_error_set(err, NAC_ERR_NUMERIC, "%s: sample %zu (%.2f s) is %s; nac codes finite samples only",
                                 path, first + i, (double)(first + i) / rate, isnan(x[i]) ? "NaN" : "infinite");
        if (x[i] > 1.0f || x[i] < -1.0f) {
            x[i] = x[i] > 0 ? 1.0f : -1.0f;
            (*clipped)++;
        }
    }
    return NAC_OK;
}
