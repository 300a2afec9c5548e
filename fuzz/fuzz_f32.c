/* libFuzzer target: the raw float32 feature reader (src/vq/f32file.c), whole-file and row by row,
 * through a memfd so that the path-based reader runs unchanged. The first byte picks K. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/alloc.h"
#include "vq/f32file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int K = 1 + data[0] % 64;
    int fd = memfd_create("f32", 0);
    if (fd < 0 || write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
        abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    float *x = NULL;
    size_t n = 0;
    if (nac_vq_f32_read(&x, &n, path, K, 1 << 20, NULL) == NAC_OK && n == 0)
        abort(); /* success means rows */
    nac_free(x);
    FILE *f = fopen(path, "rb");
    if (f) {
        float rows[8 * 64];
        size_t got, row0 = 0;
        while (nac_vq_f32_read_rows(rows, &got, f, K, 8, row0, "fuzz", NULL) == NAC_OK && got > 0)
            row0 += got;
        fclose(f);
    }
    close(fd);
    return 0;
}
