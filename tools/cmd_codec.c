/* nac encode decode info: not yet implemented. */
#include "cmd.h"

#include <stdio.h>

int nac_cmd_encode(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "nac %s: not implemented yet\n", argv[0]);
    return 1;
}

int nac_cmd_decode(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "nac %s: not implemented yet\n", argv[0]);
    return 1;
}

int nac_cmd_info(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "nac %s: not implemented yet\n", argv[0]);
    return 1;
}

