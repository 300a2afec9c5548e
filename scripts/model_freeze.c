/* Build tool: freezes a codec weight file into a model image (src/model/model_image.h) that the
 * library assembles into its read-only data, so the built-in model loads without a copy.
 * Usage: model_freeze in.nacw out.img */
#include <stdio.h>

#include "core/status.h"
#include "model/model_image.h"

int main(int argc, char **argv)
{
    nac_model *m = NULL;
    nac_error err;
    if (argc != 3) {
        fprintf(stderr, "usage: model_freeze in.nacw out.img\n");
        return 2;
    }
    if (nac_model_load(&m, argv[1], &err) || nac_model_image_write(m, argv[2], &err)) {
        fprintf(stderr, "model_freeze: %s\n", nac_error_message(&err));
        nac_model_destroy(m);
        return 1;
    }
    nac_model_destroy(m);
    return 0;
}
