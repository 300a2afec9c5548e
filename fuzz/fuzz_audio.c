/* libFuzzer target: the audio-file reader (libsndfile behind src/audio/audio_file.c: WAV, FLAC,
 * Ogg ...), through a memfd so that the path-based reader runs unchanged. Reads at most 2 s. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audio/audio_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("audio", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    nac_audio_reader *r = NULL;
    if (nac_audio_reader_open(&r, path, NULL) == NAC_OK) {
        static float x[4096];
        size_t got, total = 0;
        while (total < 96000 && nac_audio_reader_read(r, x, 4096, &got, NULL) == NAC_OK && got > 0)
            total += got;
        nac_audio_reader_close(r);
    }
    close(fd);
    return 0;
}
