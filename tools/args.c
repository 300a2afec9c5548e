/* Argument helpers shared by the subcommands: the two positional paths IN and OUT, and the check
 * that an output does not overwrite its input. */
#include "cmd.h"

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
