/* nac vq: not yet implemented. */
#include "cmd.h"

#include <stdio.h>

int nac_cmd_vq(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "nac %s: not implemented yet\n", argv[0]);
    return 1;
}

